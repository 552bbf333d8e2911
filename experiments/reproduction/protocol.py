"""The experiment protocol: what an experiment gets (:class:`Context`) and what it declares
(:class:`Experiment`), and the size profiles.

An entry's ``run(ctx)`` returns ``{table_name: DataFrame}``; rows of ``theorem_validation`` from
every entry are concatenated into ``theorem_validation.csv``, other tables are written to
``tables/<name>.csv``; an entry's ``files(tables)`` adds other files derived from its tables.
Profiles set the sizes: ``smoke`` (CI, seconds), ``default`` (the main
job, minutes on a laptop), ``full`` (larger; uses a GPU when JAX sees one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import jax
import pandas as pd

from experiments.cache import Cache
from experiments.reproduction.claims import Claim, ClaimSpec

PROFILES = ("smoke", "default", "full")


@dataclass
class Context:
    """What an experiment gets: the profile, the result cache, a progress callback and the
    device mesh training runs and validation seeds are split over (None: JAX's default device).
    Each run's arithmetic is the same on any device, but XLA may round a vectorised operation
    differently for another batch per device, and long runs can amplify that (docs/scaling.md)."""

    profile: str
    cache: Cache = field(default_factory=lambda: Cache(None))
    progress: Callable[[str], None] = lambda text: None
    mesh: Any = None

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile={self.profile!r} is invalid: expected one of {PROFILES}")

    def sizes(self, grid: Grid) -> SimpleNamespace:
        """The profile's sizes of ``grid`` as attributes (``ctx.sizes(GRID).seeds``)."""
        return SimpleNamespace(**getattr(grid, self.profile))


@dataclass(frozen=True)
class Grid:
    """An experiment's sizes per profile, declared as data at import time.

    Each profile maps the same names to values (``Grid(smoke={"seeds": 8}, default={"seeds":
    32}, full={"seeds": 128})``), so the three profiles can be read side by side and the number
    of progress units is computed from the same values the run uses.
    """

    smoke: Mapping[str, Any]
    default: Mapping[str, Any]
    full: Mapping[str, Any]

    def __post_init__(self) -> None:
        keys = {p: set(getattr(self, p)) for p in PROFILES}
        if len({frozenset(k) for k in keys.values()}) != 1:
            raise ValueError(f"Grid profiles name different sizes: {keys}")


@dataclass(frozen=True)
class Experiment:
    """One experiment, declared as data.

    Attributes:
        name: the experiment's name (the one list of names is the registry).
        description: one line.
        run: ``run(ctx) -> {table_name: DataFrame}``.
        units: how many progress steps ``run(ctx)`` reports (for ETAs).
        claims: ``claims(tables) -> list[Claim]``, where ``tables`` maps every table name this
            experiment wrote (``theorem_validation`` included) to its DataFrame as read back from
            CSV. Verdicts follow from those numbers alone, one row per declared spec.
        claim_specs: the claims, declared before any run (:class:`ClaimSpec`).
        tables: the names of the tables ``run`` returns.
        figure: the figure's file stem ('' if none).
        grid: the sizes per profile (:class:`Grid`), if the experiment has any.
        files: ``files(tables) -> {relative path: text}``: further files derived from the
            tables alone (e.g. the instance JSON of a table's row, so a command can rerun it),
            written under the output folder; paths are relative, inside it, and POSIX-style.
    """

    name: str
    description: str
    run: Callable[[Context], dict[str, pd.DataFrame]]
    units: Callable[[Context], int]
    claims: Callable[[dict[str, pd.DataFrame]], list[Claim]] | None = None
    claim_specs: tuple[ClaimSpec, ...] = ()
    tables: tuple[str, ...] = ()
    figure: str = ""
    grid: Grid | None = None
    files: Callable[[dict[str, pd.DataFrame]], dict[str, str]] | None = None

    def __post_init__(self) -> None:
        if (self.claims is None) != (not self.claim_specs):
            raise ValueError(
                f"experiment {self.name!r}: a claims function and claim_specs go together "
                "(every claim is declared before it is judged)"
            )

    def check_claims(self, rows: list[Claim]) -> None:
        """Raise unless every row comes from a declared spec with its declared rule, and every
        declared spec produced at least one row."""
        specs = {s.claim_id: s for s in self.claim_specs}
        used = set()
        for row in rows:
            spec = specs.get(row.claim_id) or next(
                (s for cid, s in specs.items() if row.claim_id.startswith(cid)), None
            )
            if spec is None:
                raise ValueError(f"{self.name}: claim {row.claim_id!r} was not declared")
            if row.rule != spec.rule_text():
                raise ValueError(f"{self.name}: claim {row.claim_id!r} departs from its rule")
            used.add(spec.claim_id)
        missing = sorted(set(specs) - used)
        if missing:
            raise ValueError(f"{self.name}: declared claim(s) {missing} produced no row")

    def execute(self, ctx: Context) -> dict[str, pd.DataFrame]:
        """``run(ctx)`` with JAX's 64-bit types on for this call only.

        The validation suites compute in float64 and the training suites in float32 with explicit
        dtypes (64-bit integers sort their data order); the scope is restored on return, so
        running an experiment leaves ``jax.config`` as the caller had it.
        """
        with jax.enable_x64(True):
            return self.run(ctx)
