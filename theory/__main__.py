"""``python -m theory [--samples N]``: each theorem with its explicit constants and every proof
step's verification, as Markdown (docs/theory.md is this output)."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from theory import THEOREMS, symbols
from theory.steps import Step, verify


def report(samples: int = 2000) -> tuple[str, bool]:
    """The Markdown report and whether every step verified."""
    lines, all_ok = [], True
    for t in THEOREMS.values():
        lines += [
            f"#### `{t.key}`: {t.source}",
            "",
            f"*{t.provenance}.* {t.statement}",
            "",
            f"- step size: $\\eta = {symbols.latex(t.eta)}$; "
            f"batch size: $b = {symbols.latex(t.batch_size)}$",
            f"- setting: {'; '.join(f'{k}: {v}' for k, v in t.setting.items())}",
            f"- bound: $${t.lhs_latex} \\le {symbols.latex(t.bound)}$$",
            f"- assumptions: {'; '.join(a.statement for a in t.assumptions)}",
            "",
            "| # | proof step | relation | verified by |",
            "|---|---|---|---|",
        ]
        for k, (step, res) in enumerate(t.verify(samples=samples), start=1):
            all_ok &= res.ok
            mark = res.method if res.ok else f"**FAILED** ({res.detail})"
            lines.append(f"| {k} | {step.name} | `{step.relation}` | {mark} |")
        lines += [""] + [f"> {n}" for n in t.notes] + ([""] if t.notes else [])
    lines += [
        "#### Lemmas the steps use",
        "",
        "Steps encode these lemmas' conclusions as substitutions; each is verified before the "
        "steps that use it (lemmas that are also theorem steps are listed above).",
        "",
        "| lemma | relation | verified by | detail |",
        "|---|---|---|---|",
    ]
    in_theorems = {id(s) for t in THEOREMS.values() for s in t.steps}
    for lemma in (x for x in used_lemmas() if id(x) not in in_theorems):
        res = verify(lemma, samples=samples)
        all_ok &= res.ok
        detail = _cell(res.detail.split("; uses:")[0])
        mark = res.method if res.ok else f"**FAILED** ({_cell(res.detail)})"
        lines.append(f"| {_cell(lemma.name)} | `{lemma.relation}` | {mark} | {detail} |")
    return "\n".join(lines), all_ok


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def used_lemmas() -> list[Step]:
    """Every step reachable through ``uses`` from the theorems' steps, dependencies first."""
    seen: dict[int, Step] = {}

    def visit(step: Step) -> None:
        for lemma in step.uses:
            if id(lemma) not in seen:
                visit(lemma)
                seen[id(lemma)] = lemma

    for t in THEOREMS.values():
        for step in t.steps:
            visit(step)
    return list(seen.values())


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr, exit 2 (theory imports nothing from experiments)."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(f"{message} (see {self.prog} --help)".split())
        print(f"{self.prog}: error: {text}", file=sys.stderr, flush=True)
        raise SystemExit(2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and check ``argv`` (exit 2 with one line on stderr when invalid)."""
    parser = _Parser(prog="python -m theory", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--samples", type=int, default=2000, help="instances per numeric falsification search"
    )
    args = parser.parse_args(argv)
    if args.samples < 1:
        parser.error(f"--samples={args.samples} is invalid: expected an integer >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    text, ok = report(args.samples)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
