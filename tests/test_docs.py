"""The documentation: README.md stays a short guide, links in README.md and docs/ resolve, no
tracked file cites notes that are not in the repository, and the README's experiment table
lists exactly the registered experiments."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
README_MAX_LINES = 250
# the background notes, spelled so that this file does not cite them itself
NOTES = tuple(f"{stem}.md" for stem in ("DESIGN", "PAPER", "IMPLEMENTATIONS"))

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def _prose(text: str) -> str:
    """Markdown without fenced code blocks and inline code (links there are not links)."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", text, re.M)}


def _tracked_files() -> list[str]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [p for p in out.decode().split("\0") if p]


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(path):
    bad = []
    for target in LINK.findall(_prose(path.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            bad.append(f"{target}: no file {dest.relative_to(ROOT)}")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            bad.append(f"{target}: no heading #{anchor} in {dest.relative_to(ROOT)}")
    assert not bad, bad


def test_docs_exist():
    names = {p.name for p in DOCS}
    expected = {
        "design.md",
        "paper.md",
        "variants.md",
        "validation.md",
        "training.md",
        "scaling.md",
        "performance.md",
        "reproduction.md",
    }
    assert expected <= names, sorted(expected - names)


def test_no_tracked_file_cites_untracked_notes():
    """The background notes are not part of the repository, so nothing may point to them."""
    tracked = _tracked_files()
    present = {Path(p).name for p in tracked}
    cited = [n for n in NOTES if n not in present]
    hits = []
    for rel in tracked:
        path = ROOT / rel
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for lineno, line in enumerate(text.splitlines(), start=1):
            hits += [f"{rel}:{lineno}: {note}" for note in cited if note in line]
    assert not hits, "\n".join(hits)


def _readme_experiment_names() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Experiments\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header[0] == "experiment", header
    assert set(rows[1].replace("|", "").strip()) <= set("-: "), rows[1]
    names = []
    for row in rows[2:]:
        cell = row.strip("|").split("|")[0].strip()
        match = re.fullmatch(r"`([a-z0-9_]+)`", cell)
        assert match, f"first cell {cell!r} is not a `name`"
        names.append(match.group(1))
    return names


def test_readme_experiment_table_matches_registry():
    from experiments.reproduction.registry import EXPERIMENTS

    names = _readme_experiment_names()
    assert len(names) == len(set(names)), names
    assert sorted(names) == sorted(EXPERIMENTS), (
        f"missing {sorted(set(EXPERIMENTS) - set(names))}, "
        f"unknown {sorted(set(names) - set(EXPERIMENTS))}"
    )


def test_readme_experiment_figures_exist():
    """The figure column names a figure module (or '—' for experiments without one)."""
    import figures

    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Experiments\n", 1)[1].split("\n## ", 1)[0]
    for row in (line for line in section.splitlines() if line.startswith("| `")):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2] == "—" or cells[2].strip("`") in figures.FIGURES, row
