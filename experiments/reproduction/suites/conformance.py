"""Conformance: lamb_ref's named variants against golden trajectories recorded from the public
libraries (optax, TF-Addons, timm, torch-optimizer, Keras 3), both backends, float64.

The golden data ship with the package (``lamb_ref/data``); :mod:`lamb_ref.conformance` replays
each recorded case with the matching named variant and reports the largest deviation.
"""

from __future__ import annotations

import pandas as pd

from experiments.reproduction.claims import Claim, as_bool, verdict_from_fraction
from experiments.reproduction.protocol import Context, Experiment


def units(ctx: Context) -> int:
    return 1


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    from lamb_ref import conformance

    ctx.progress("replaying golden library trajectories")
    return {"conformance": pd.DataFrame(conformance.table())}


def claims(tables: dict[str, pd.DataFrame]) -> list[Claim]:
    df = tables.get("conformance", pd.DataFrame())
    out = []
    for library, g in df.groupby("library", sort=True) if len(df) else []:
        ok = as_bool(g["agrees"])
        worst = max(g["max_abs_diff_numpy"].max(), g["max_abs_diff_jax"].max())
        name = library.split("==")[0]
        out.append(
            Claim(
                f"conformance_{name.replace('-', '_')}",
                "IMPLEMENTATIONS.md (golden trajectories)",
                f"lamb_ref's named variants reproduce {library}'s LAMB/LARS trajectories",
                verdict_from_fraction(int(ok.sum()), len(g)),
                f"{int(ok.sum())}/{len(g)} cases agree on both backends "
                f"({', '.join(sorted(set(g['variant'])))}); largest |Δx| {worst:.2e}; "
                "table conformance.csv",
                "",
            )
        )
    return out


EXPERIMENT = Experiment(
    "conformance",
    "lamb_ref vs optax/TF-Addons/timm/torch-optimizer/Keras 3 golden trajectories",
    run,
    units,
    claims,
)
