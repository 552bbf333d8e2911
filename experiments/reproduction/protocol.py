"""The experiment protocol: what an experiment gets (:class:`Context`) and what it declares
(:class:`Experiment`), and the size profiles.

An entry's ``run(ctx)`` returns ``{table_name: DataFrame}``; rows of ``theorem_validation`` from
every entry are concatenated into ``theorem_validation.csv``, other tables are written to
``tables/<name>.csv``. Profiles set the sizes: ``smoke`` (CI, seconds), ``default`` (the main
job, minutes on a laptop), ``full`` (larger; uses a GPU when JAX sees one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
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
    # claims(tables) -> list[experiments.reproduction.claims.Claim], where tables maps every table
    # name this
    # experiment wrote (as returned by run, "theorem_validation" included) to its DataFrame as
    # read back from CSV. Verdicts must follow from those numbers alone.
    claims: Callable[[dict[str, pd.DataFrame]], list] | None = None

    def execute(self, ctx: Context) -> dict[str, pd.DataFrame]:
        """``run(ctx)`` with JAX's 64-bit types on for this call only.

        The validation suites compute in float64 and the training suites in float32 with explicit
        dtypes (64-bit integers sort their data order); the scope is restored on return, so
        running an experiment leaves ``jax.config`` as the caller had it.
        """
        with jax.enable_x64(True):
            return self.run(ctx)
