"""Your own objective and your own layer-wise optimizer, end to end.

1. An objective the toolkit does not ship, f(x) = Σ_i L_i Σ_j log cosh(x_ij): block i is
   L_i-smooth (∂² log cosh = sech² ≤ 1), |∂_j f| ≤ L_i and f* = 0. It is registered as the
   family ``logcosh``, so instance JSON files (``python -m experiments validate``) can name it.
2. Its constants are certified by sampling (block descent on random pairs and along the run,
   block Hessian norms, the gradient bound, f ≥ f*); an instance whose claimed L is 3× too
   small is rejected, and its rows are out of hypothesis, not "theorem violated".
3. A layer-wise optimizer the toolkit does not ship: LARS's direction with another scaling,
   x^(i) ← x^(i) − η φ(‖x^(i)‖) g^(i)/‖g^(i)‖ with φ(z) = clip(√z, α_l, α_u). It declares
   Theorem 2's setting (β1 = λ = 0, α_l ≤ φ ≤ α_u); every run checks that each layer's step
   norm lies in [η α_l, η α_u].
4. Validated against Theorem 2 at the prescribed η and b = T, set beside the toolkit's LARS
   (Theorem 2) and LAMB with β2 = 0 (Theorem 3) on the same instance.
5. A small search for the instance of the family where the optimizer comes closest to
   Theorem 2's bound (the ``tightness`` experiment's candidate moves).

Run ``python -m examples.custom_problem`` (about a minute on a laptop CPU).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd

from experiments.reproduction.suites import tightness
from experiments.validation import custom
from experiments.validation.certify import certify
from experiments.validation.optimizers import OptimizerSpec
from experiments.validation.spec import InstanceSpec, build
from experiments.validation.validate import validate

PHI = (0.5, 2.0)
FAMILY = "logcosh"


# -- 1. the objective -------------------------------------------------------------------------
def logcosh_value(params, x):
    """f(x) = Σ_i L_i Σ_j log cosh(x_ij), log cosh z = logaddexp(z, −z) − log 2 (no overflow)."""
    return sum(
        params["L"][i] * jnp.sum(jnp.logaddexp(x[name], -x[name]) - jnp.log(2.0))
        for i, name in enumerate(sorted(x))
    )


def logcosh_grad(params, x):
    """∇f: L_i tanh(x_ij) in layer i."""
    return {name: params["L"][i] * jnp.tanh(x[name]) for i, name in enumerate(sorted(x))}


def logcosh(layer_sizes, L, *, seed: int = 0, curvature: float = 1.0):
    """The family's factory: f with curvatures ``curvature``·L_i, claiming the constants L_i.
    With curvature 1 the claim is exact; with curvature 3 the claimed L is 3× too small (what a
    user with a wrong constant would write). The numbers are params, so every instance of one
    layout shares one compiled program (the functions are the same objects)."""
    del seed  # nothing random in f
    L = [float(v) for v in L]
    return custom.objective_from_functions(
        FAMILY,
        [(int(n),) for n in layer_sizes],
        logcosh_value,
        grad=logcosh_grad,
        L=L,
        f_star=0.0,
        grad_bound=L,
        params={"L": curvature * np.asarray(L)},
    )


# -- 3. the optimizer -------------------------------------------------------------------------
def sqrt_phi_lars(learning_rate) -> optax.GradientTransformation:
    """x^(i) ← x^(i) − η clip(√‖x^(i)‖, α_l, α_u) g^(i)/‖g^(i)‖ (β1 = λ = 0)."""

    def update(grads, state, params=None):
        def leaf(g, x):
            phi = jnp.clip(jnp.sqrt(jnp.linalg.norm(x)), *PHI)
            return -learning_rate * phi * g / jnp.linalg.norm(g)

        return jax.tree.map(leaf, grads, params), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


MINE = OptimizerSpec.custom(
    "LARS with φ = clip(√z)", sqrt_phi_lars, claims="lars", settings={"phi": PHI}
)


def instance(L=(1.0, 4.0, 16.0), width: int = 4, **over) -> InstanceSpec:
    fields = {
        "family": FAMILY, "layer_sizes": (width,) * len(L), "L": tuple(L),
        "sigma": (0.3,) * len(L), "noise": "rademacher", "x1_scale": 2.0, "seed": 0,
        "phi": PHI, "name": "logcosh-demo",
    }  # fmt: skip
    return InstanceSpec(**{**fields, **over})


def compare(spec: InstanceSpec, Ts, seeds: int) -> pd.DataFrame:
    """Theorem 2 for the new optimizer and the toolkit's LARS, Theorem 3 (β2 = 0) for LAMB."""
    built = build(spec)
    frames = [
        validate(built, "lars", Ts, seeds, opt=MINE),
        validate(built, "lars", Ts, seeds),
        validate(built, "lamb_beta2_zero", Ts, seeds),
    ]
    cols = ["theorem", "optimizer", "T", "in_hypothesis", "measure", "bound", "ratio",
            "ratio_sharp", "constants_certified", "failed_assumptions"]  # fmt: skip
    return pd.concat(frames, ignore_index=True)[cols]


def search(n_generations: int, population: int, T_max: int, seeds: int) -> pd.Series:
    """The tightest in-hypothesis ratio of the new optimizer on the family (Theorem 2): the
    tightness experiment's random candidates and moves, restricted to ``logcosh``."""
    rng = np.random.default_rng(0)
    space = [(FAMILY, (1,), "rademacher"), (FAMILY, (4, 4, 4), "rademacher")]
    best, pool = None, []
    for gen in range(n_generations):
        parents = [c for _, c in sorted(pool, key=lambda p: -p[0])[:2]]
        cands = [
            tightness.random_candidate(rng, "lars", T_max, space)
            if gen == 0 or k % 2 == 0
            else tightness.perturb(rng, parents[k % len(parents)], T_max)
            for k in range(population)
        ]
        for k, c in enumerate(cands):
            c = {**c, "phi": PHI}  # the optimizer's φ range is its own, not a search variable
            spec = tightness.candidate_spec("lars", c, f"search-{gen}-{k}")
            row = validate(build(spec), "lars", [c["T"]], seeds, opt=MINE).iloc[0]
            if row["in_hypothesis"]:
                pool.append((float(row["ratio"]), c))
                if best is None or row["ratio"] > best["ratio"]:
                    best = row
    return best


def main(quick: bool = False) -> dict:
    """Run every step; ``quick`` shrinks the sizes (the test-suite runs it so)."""
    custom.register_family(
        FAMILY, logcosh, options={"curvature": (float, 0.0, 1e3, True, False)},
        defaults={"curvature": 1.0},
    )  # fmt: skip
    try:
        spec = instance()
        good = certify(build(spec).objective)
        wrong_spec = instance(options=(("curvature", 3.0),), name="logcosh-wrong-L")
        wrong = certify(build(wrong_spec).objective)
        print("certified with its own L:", good.ok)
        print("claimed L 3x too small:", wrong.ok, "-", "; ".join(wrong.failed()))
        Ts, seeds = ([16], 4) if quick else ([16, 64, 256], 16)
        table = compare(spec, Ts, seeds)
        print(table.drop(columns=["failed_assumptions"]).to_string(index=False))
        wrong_rows = validate(build(wrong_spec), "lars", Ts[:1], 4, opt=MINE)
        print("claimed L 3x too small:", wrong_rows.iloc[0]["failed_assumptions"])
        sizes = (2, 4, 64, 4) if quick else (4, 8, 1024, 16)
        best = search(*sizes)
        print(f"tightest ratio found: {best['ratio']:.3f} (sharp {best['ratio_sharp']:.3f}) "
              f"at T = {int(best['T'])} on {best['instance']}")  # fmt: skip
        return {"certified": good, "wrong": wrong, "table": table, "wrong_rows": wrong_rows,
                "best": best}  # fmt: skip
    finally:
        custom.unregister_family(FAMILY)


if __name__ == "__main__":
    main()
