"""``python -m figures TABLES_DIR FIGURES_DIR [NAME ...]``: draw the figures whose tables exist."""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")  # files only; never open a window

from figures import FIGURES, render_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures", description=__doc__)
    parser.add_argument("tables_dir", help="folder with <table>.csv files")
    parser.add_argument("figures_dir", help="output folder for <name>.png and <name>.pdf")
    parser.add_argument("names", nargs="*", help=f"figures to draw (default all: {list(FIGURES)})")
    args = parser.parse_args(argv)
    result = render_all(args.tables_dir, args.figures_dir, args.names or None)
    for name, res in result.items():
        print(
            f"{name}: {', '.join(res['files']) if 'files' in res else 'skipped: ' + res['skipped']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
