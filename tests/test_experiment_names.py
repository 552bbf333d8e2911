"""The experiment names are listed once (the registry); the figure list and each experiment's
declarations are checked against it."""

from __future__ import annotations

from pathlib import Path

import figures
from experiments.reproduction.registry import EXPERIMENTS
from experiments.reproduction.sweep import table_file


def test_every_declared_figure_exists_and_every_figure_is_declared():
    declared = {e.figure for e in EXPERIMENTS.values() if e.figure}
    assert declared == set(figures.FIGURES)


# Experiments kept for a figure only, their claim retired with the reason in docs/validation.md
# ("Method comparisons"): the synthetic trust-ratio spread is fixed by the instance.
DESCRIPTIVE = {"trust_ratios"}


def test_experiments_declare_tables_and_claims():
    for name, exp in EXPERIMENTS.items():
        assert exp.tables, f"{name} declares no tables"
        assert bool(exp.claim_specs) != (name in DESCRIPTIVE), f"{name}: claims or DESCRIPTIVE"
        for spec in exp.claim_specs:
            assert spec.figure in ("", exp.figure) or spec.figure in figures.FIGURES, spec


def test_claim_ids_unique_across_the_registry():
    ids = [s.claim_id for e in EXPERIMENTS.values() for s in e.claim_specs]
    assert len(ids) == len(set(ids))
    # a family prefix (one spec standing for several rows) must not shadow another spec
    for a in ids:
        assert not any(b != a and b.startswith(a) for b in ids), a


def test_figure_tables_are_tables_some_experiment_writes():
    written = {
        Path(table_file(name, table)).stem
        for name, exp in EXPERIMENTS.items()
        for table in exp.tables
    }
    for name in figures.FIGURES:
        for table in figures.tables_needed(name).values():
            assert table in written, (name, table)


def test_entry_point_profiles_are_the_protocols():
    import paper_reproduce
    from experiments.reproduction.protocol import PROFILES

    parser = paper_reproduce.build_parser()
    profile = next(a for a in parser._actions if "--profile" in a.option_strings)
    assert tuple(profile.choices) == PROFILES
