"""The experiment registry: every validation experiment is an entry producing tables.

An entry's ``run(ctx)`` returns ``{table_name: DataFrame}``; rows of ``theorem_validation`` from
every entry are concatenated into ``theorem_validation.csv``, other tables are written to
``tables/<name>.csv``. Profiles set the sizes: ``smoke`` (CI, seconds), ``default`` (the main
job, minutes on a laptop), ``full`` (larger; uses a GPU when JAX sees one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from experiments.cache import Cache

PROFILES = ("smoke", "default", "full")


@dataclass
class Context:
    """What an experiment gets: the profile, the result cache, a progress callback and the
    device mesh training runs and validation seeds are split over (None: JAX's default device).
    Each run's arithmetic is the same on any device, but XLA may round a vectorised operation
    differently for another batch per device, and long runs can amplify that (README)."""

    profile: str
    cache: Cache = field(default_factory=lambda: Cache(None))
    progress: Callable[[str], None] = lambda text: None
    mesh: Any = None

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile={self.profile!r} is invalid: expected one of {PROFILES}")

    def pick(self, smoke, default, full):
        """The profile's value among three."""
        return {"smoke": smoke, "default": default, "full": full}[self.profile]


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    run: Callable[[Context], dict[str, pd.DataFrame]]
    units: Callable[[Context], int]  # how many progress steps run(ctx) reports (for ETAs)
    # claims(tables) -> list[experiments.claims.Claim], where tables maps every table name this
    # experiment wrote (as returned by run, "theorem_validation" included) to its DataFrame as
    # read back from CSV. Verdicts must follow from those numbers alone.
    claims: Callable[[dict[str, pd.DataFrame]], list] | None = None


def _registry() -> dict[str, Experiment]:
    from experiments.suites import (
        algebraic,
        baselines,
        bias_correction,
        conformance,
        heterogeneity,
        lb_adamw_tuning,
        lb_appendix_variants,
        lb_batch_scaling,
        lb_lars_vs_lamb,
        lb_loss_vs_accuracy,
        lb_mixed_batch,
        lb_optimizer_table,
        lb_smoothness,
        lb_steps_to_target,
        lb_trust_ratios,
        lemmas,
        noise_density,
        rate,
        tightness,
        trust_ratios,
    )

    entries = [
        conformance.EXPERIMENT,
        algebraic.EXPERIMENT,
        bias_correction.EXPERIMENT,
        rate.EXPERIMENT,
        heterogeneity.EXPERIMENT,
        noise_density.EXPERIMENT,
        tightness.EXPERIMENT,
        lemmas.EXPERIMENT,
        baselines.EXPERIMENT,
        trust_ratios.EXPERIMENT,
        # large-batch training at laptop scale (issue 6); lb_adamw_tuning reuses
        # lb_batch_scaling's cached LAMB runs, so it comes after it
        lb_batch_scaling.EXPERIMENT,
        lb_adamw_tuning.EXPERIMENT,
        lb_lars_vs_lamb.EXPERIMENT,
        lb_mixed_batch.EXPERIMENT,
        lb_optimizer_table.EXPERIMENT,
        lb_loss_vs_accuracy.EXPERIMENT,
        lb_steps_to_target.EXPERIMENT,
        lb_trust_ratios.EXPERIMENT,
        lb_appendix_variants.EXPERIMENT,
        lb_smoothness.EXPERIMENT,
    ]
    return {e.name: e for e in entries}


EXPERIMENTS: dict[str, Experiment] = _registry()
