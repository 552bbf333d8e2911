"""Conformance: lamb_ref's named variants against golden trajectories recorded from the public
libraries (optax, TF-Addons, timm, torch-optimizer, Keras 3), both backends, float64.

The golden data ship with the package (``lamb_ref/data``); :mod:`lamb_ref.conformance` replays
each recorded case with the matching named variant and reports the largest deviation. One claim
per library, declared from the golden file's list of libraries when this module is imported.
"""

from __future__ import annotations

import pandas as pd

from experiments.reproduction.claims import Claim, ClaimSpec, as_bool, verdict_from_fraction
from experiments.reproduction.protocol import Context, Experiment
from lamb_ref.conformance import GOLDEN_TOLERANCE, load_golden

# The libraries the golden file records ("optax==0.2.8", ...), in claim order.
LIBRARIES = tuple(sorted({case["library"] for case in load_golden()["cases"]}))


def _claim_id(library: str) -> str:
    return f"conformance_{library.split('==')[0].replace('-', '_')}"


SPECS = tuple(
    ClaimSpec(
        claim_id=_claim_id(library),
        source="toolkit (golden trajectories recorded from the public libraries)",
        statement=f"lamb_ref's named variants reproduce {library}'s LAMB/LARS trajectories",
        table="conformance",
        metric="agrees per golden case of the library (largest |Δx| over the trajectory "
        f"≤ {GOLDEN_TOLERANCE:g} on both the NumPy and the JAX backend)",
        rule="reproduced if every case of the library agrees, partially if some do, "
        "not_reproduced if none (not_applicable without cases)",
        threshold_reason=f"{GOLDEN_TOLERANCE:g} absolute: an independent float64 NumPy "
        "implementation reproduced the golden data to ≤ 1.1e-16 when they were made, so this "
        "leaves four orders of magnitude for operation-order rounding, while the smallest "
        "semantic difference between the libraries (TF-Addons' float32-rounded hyperparameters) "
        "is 3e-10",
        control="none: the golden trajectories are external recordings and the table stores "
        "only each case's largest error; a perturbed trajectory (1e-6 added) would only compare "
        f"two constants (1e-6 against {GOLDEN_TOLERANCE:g}), not the data. The replay's ability "
        "to fail is tested by tests/test_golden.py (a wrong variant deviates by > 1e-3)",
    )
    for library in LIBRARIES
)


def units(ctx: Context) -> int:
    return 1


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    from lamb_ref import conformance

    ctx.progress("replaying golden library trajectories")
    return {"conformance": pd.DataFrame(conformance.table())}


def claims(tables: dict[str, pd.DataFrame]) -> list[Claim]:
    df = tables.get("conformance", pd.DataFrame())
    out = []
    for library, spec in zip(LIBRARIES, SPECS, strict=True):
        g = df[df["library"] == library] if len(df) else df
        if not len(g):
            out.append(
                spec.judge("not_applicable", f"no cases of {library} in table conformance.csv")
            )
            continue
        ok = as_bool(g["agrees"])
        worst = max(g["max_abs_diff_numpy"].max(), g["max_abs_diff_jax"].max())
        out.append(
            spec.judge(
                verdict_from_fraction(int(ok.sum()), len(g)),
                f"{int(ok.sum())}/{len(g)} cases agree on both backends "
                f"({', '.join(sorted(set(g['variant'])))}); largest |Δx| {worst:.2e}; "
                "table conformance.csv",
            )
        )
    return out


EXPERIMENT = Experiment(
    "conformance",
    "lamb_ref vs optax/TF-Addons/timm/torch-optimizer/Keras 3 golden trajectories",
    run,
    units,
    claims,
    claim_specs=SPECS,
    tables=("conformance",),
)
