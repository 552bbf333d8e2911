"""The entry points: paper_reproduce.py writes its outputs; the README's variant table matches
the variant specs."""

from pathlib import Path

import pandas as pd

from lamb_ref._variant_specs import SPECS

ROOT = Path(__file__).resolve().parent.parent


def test_paper_reproduce_writes_conformance_and_report(tmp_path):
    import paper_reproduce

    assert paper_reproduce.main(["--profile", "smoke", "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "tables" / "conformance.csv")
    assert len(table) == 23 and table["agrees"].all()
    assert "23/23 golden library trajectories reproduced" in (tmp_path / "REPORT.md").read_text()
    rows = pd.read_csv(tmp_path / "theorem_validation.csv")
    inside = rows[rows["in_hypothesis"]]
    assert len(inside) > 0 and inside["holds"].all()
    assert {"rate", "heterogeneity", "noise_density", "tightness", "lemmas"} <= set(rows.experiment)
    for table in ("rate_slopes", "heterogeneity", "tightness_best", "baselines", "trust_ratios"):
        assert len(pd.read_csv(tmp_path / "tables" / f"{table}.csv")) > 0, table


def test_readme_variant_table_matches_specs():
    readme = (ROOT / "README.md").read_text()
    for spec in SPECS.values():
        assert f"| `{spec.name}` | {spec.library} | {spec.differs} |" in readme, spec.name


def test_readme_quick_start_has_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start")[1].split("##")[0]
    commands = [line for line in quick.split("```bash")[1].split("```")[0].splitlines() if line]
    assert [c.split("#")[0].strip() for c in commands] == [
        "python paper_reproduce.py",
        "bash scripts/test.sh",
    ]


def test_readme_theory_section_matches_theorems():
    """The README's listing is `python -m theory` output: bounds and step names must match."""
    from theory import THEOREMS
    from theory import symbols as S

    readme = (ROOT / "README.md").read_text()
    for t in THEOREMS.values():
        assert S.latex(t.bound) in readme, t.key
        for step in t.steps:
            assert f"| {step.name} |" in readme, (t.key, step.name)
