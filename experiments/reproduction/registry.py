"""The experiment registry: every experiment the toolkit runs, in the order it runs them.

This is the one list of experiment names: the figure list, the README table and the command-line
choices are derived from it (or checked against it by a test).
"""

from __future__ import annotations

from experiments.reproduction.protocol import PROFILES, Context, Experiment
from experiments.reproduction.suites import (
    algebraic,
    baselines,
    bias_correction,
    conformance,
    heterogeneity,
    lb_adamw_tuning,
    lb_appendix_variants,
    lb_batch_scaling,
    lb_goyal_recipes,
    lb_lars_vs_lamb,
    lb_loss_vs_accuracy,
    lb_mixed_batch,
    lb_optimizer_table,
    lb_smoothness,
    lb_steps_to_target,
    lb_trust_ratios,
    lb_workloads,
    lemmas,
    noise_density,
    rate,
    tightness,
    trust_ratios,
)

__all__ = ["EXPERIMENTS", "PROFILES", "Context", "Experiment"]

_ORDER = [
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
    # large-batch training at laptop scale; lb_adamw_tuning reuses lb_lars_vs_lamb's cached
    # LAMB runs, so it comes after it
    lb_batch_scaling.EXPERIMENT,
    lb_lars_vs_lamb.EXPERIMENT,
    lb_adamw_tuning.EXPERIMENT,
    lb_mixed_batch.EXPERIMENT,
    lb_optimizer_table.EXPERIMENT,
    lb_loss_vs_accuracy.EXPERIMENT,
    lb_goyal_recipes.EXPERIMENT,
    lb_steps_to_target.EXPERIMENT,
    lb_trust_ratios.EXPERIMENT,
    lb_appendix_variants.EXPERIMENT,
    lb_smoothness.EXPERIMENT,
    # the workloads' noise scales beside every large-batch experiment's batch range (the
    # teacher stream's measurement is lb_steps_to_target's, from the cache)
    lb_workloads.EXPERIMENT,
]

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in _ORDER}
