"""The validation runner against its regression fixture and against itself batched.

tests/data/runner_golden.json (scripts/make_runner_golden.py) holds the runner's results on
every objective family, noise kind and analysed optimizer, written when the instance constants
were compile-time constants of each program; the runner now takes them as traced arguments and
must reproduce those results to ``RUNNER_GOLDEN_REL``. Several instances in one call must give
each instance's results alone, and one compiled program must serve them all.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np
import pytest

from experiments.validation import runner
from experiments.validation.optimizers import OptimizerSpec, with_decay
from experiments.validation.runner import simulate_instances, simulate_many
from experiments.validation.spec import InstanceSpec, build
from scripts.make_runner_golden import OPTIMIZERS
from tests.tolerances import RUNNER_GOLDEN_REL

FIXTURE = json.loads((Path(__file__).parent / "data" / "runner_golden.json").read_text())


def _close(got, want, what):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, what
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan), what
    scale = np.maximum(np.abs(want), 1e-300)
    err = np.max(np.abs(got - want)[~nan] / scale[~nan], initial=0.0)
    assert err <= RUNNER_GOLDEN_REL, f"{what}: relative error {err:.3g}"


def _groups():
    out = {}
    for run in FIXTURE["runs"]:
        out.setdefault((run["name"], run["optimizer"]), []).append(run)
    return out


@pytest.mark.parametrize("case", sorted(_groups()), ids=lambda c: f"{c[0]}-{c[1]}")
def test_runner_matches_fixture(case):
    runs = _groups()[case]
    spec = InstanceSpec.from_dict({**runs[0]["instance"], "name": case[0]})
    built = build(spec)
    opt = OPTIMIZERS[case[1]](spec)
    res = simulate_many(
        built,
        opt,
        [r["T"] for r in runs],
        [r["batch_size"] for r in runs],
        [r["etas"] for r in runs],
        FIXTURE["seeds"],
        [jax.random.key(k) for k in runs[0]["keys"]],
    )
    for r, got in zip(runs, res, strict=True):
        for name, want in r["mean"].items():
            _close(got.mean[name], want, f"{case} T={r['T']} mean[{name}]")
        _close(got.final_f, r["final_f"], f"{case} final_f")
        _close(got.final_grad_sq, r["final_grad_sq"], f"{case} final_grad_sq")


def test_traced_run_matches_fixture():
    r = FIXTURE["traced"]
    spec = InstanceSpec.from_dict({**r["instance"], "name": "trace"})
    opt = OPTIMIZERS[r["optimizer"]](spec)
    got = simulate_many(
        build(spec), opt, [r["T"]], [r["T"]], [[0.1]], FIXTURE["seeds"], [jax.random.key(5)],
        trace_every=r["trace_every"],
    )[0]  # fmt: skip
    assert got.trace_t.tolist() == r["trace_t"]
    for name, want in r["trace"].items():
        _close(got.trace[name], want, f"trace[{name}]")
    for name, want in r["mean"].items():
        _close(got.mean[name], want, f"traced mean[{name}]")


def test_step_key_is_the_split_key():
    """step_key(key, t) is jax.random.split(key, n)[t] (the keys the scan runner consumed)."""
    with jax.enable_x64(True):
        key = jax.random.fold_in(jax.random.key(3), 7)
        split = jax.random.split(key, 50)
        for t in (0, 1, 17, 49):
            got = jax.random.key_data(runner.step_key(key, jax.numpy.asarray(t)))
            assert np.array_equal(got, jax.random.key_data(split[t]))
        # the control: a neighbouring counter gives another key
        other = jax.random.key_data(runner.step_key(key, jax.numpy.asarray(18)))
        assert not np.array_equal(other, jax.random.key_data(split[17]))


def _spec(k: int, **over) -> InstanceSpec:
    fields = {
        "family": "separable_cosine",
        "layer_sizes": (3, 3),
        "L": (1.0 + k, 5.0 / (1 + k)),
        "sigma": (0.2 * (k + 1), 0.1),
        "noise": "rademacher",
        "x1_scale": 0.5 + k,
        "seed": k,
        "phi": (0.25 * (k + 1), 2.0 + k),
        "beta2": 0.5 + 0.1 * k,
        "name": f"i{k}",
    }
    return InstanceSpec(**{**fields, **over})


def test_instances_in_one_call_equal_each_alone():
    """Three instances with other L, σ, x_1, φ and β2, vmapped in one call: each instance's
    results are those of its own call (the numbers travel with the instance, none is taken
    from the program's first instance)."""
    specs = [_spec(k) for k in range(3)]
    builts = [build(s) for s in specs]
    opts = [OptimizerSpec("lamb", (("b1", 0.0), ("b2", s.beta2), ("eps", 0.0), ("phi", s.phi)))
            for s in specs]  # fmt: skip
    keys = [jax.random.key(40 + k) for k in range(4)]
    together = simulate_instances(
        builts, opts, [2, 0, 1, 0], [9, 5, 40, 40], [9, 5, 40, 7], [[0.1], [0.2], [0.05], [0.3]],
        4, keys,
    )  # fmt: skip
    for k, (i, T, b, eta) in enumerate([(2, 9, 9, 0.1), (0, 5, 5, 0.2), (1, 40, 40, 0.05),
                                         (0, 40, 7, 0.3)]):  # fmt: skip
        alone = simulate_many(builts[i], opts[i], [T], [b], [[eta]], 4, [keys[k]])[0]
        for name in alone.mean:
            _close(together[k].mean[name], alone.mean[name], f"setting {k} mean[{name}]")
        _close(together[k].final_f, alone.final_f, f"setting {k} final_f")
    # the control: the same settings with the instances swapped differ
    swapped = simulate_instances(builts, opts, [0], [9], [9], [[0.1]], 4, keys[:1])[0]
    assert not np.allclose(swapped.mean["grad_sq"], together[0].mean["grad_sq"])


def test_one_program_serves_every_instance_and_horizon():
    """Instances of one structure with other constants, at other T, reuse one compiled
    program; another layer shape compiles its own."""
    runner.clear_cache()
    for k in range(4):
        spec = _spec(k, noise="gaussian")
        opt = OPTIMIZERS["lars"](spec)
        simulate_many(build(spec), opt, [3 + 5 * k], [2 + k], [[0.1]], 2, [jax.random.key(k)])
    assert len(runner._COMPILED) == 1
    (fn,) = [entry[1] for entry in runner._COMPILED.values()]
    assert fn._cache_size() == 1
    spec = _spec(0, noise="gaussian", layer_sizes=(3, 4))
    simulate_many(build(spec), OPTIMIZERS["lars"](spec), [3], [2], [[0.1]], 2, [jax.random.key(0)])
    assert len(runner._COMPILED) == 2


def test_one_call_refuses_two_structures():
    a, b = _spec(0), _spec(1, family="separable_geman_mcclure")
    opt = OPTIMIZERS["lars"](a)
    with pytest.raises(ValueError, match=r"builts\[1\].*one structure"):
        simulate_instances([build(a), build(b)], [opt, opt], [0, 1], [2, 2], [2, 2],
                           [[0.1], [0.1]], 2, [jax.random.key(0)] * 2)  # fmt: skip


def test_a_suite_compiles_one_program_per_structure():
    """heterogeneity (smoke): 7 instances (2 families × own and uniform-curvature L, the cosine
    control shared) × 3 theorems are 21 validations but 6 structures (one per family and
    optimizer; L, x_1 and φ differ between the instances), hence 6 compiled programs; the
    runner with compiled-in constants compiled one per validation."""
    from experiments.reproduction import registry
    from experiments.reproduction.suites import heterogeneity

    runner.clear_cache()
    ctx = registry.Context("smoke")
    tables = registry.EXPERIMENTS["heterogeneity"].run(ctx)
    n_validations = len(tables["theorem_validation"])
    n_instances = len(heterogeneity._specs(ctx.sizes(heterogeneity.GRID))[1])
    assert n_validations == n_instances * 3 == 21
    programs = sum(entry[1]._cache_size() for entry in runner._COMPILED.values())
    assert len(runner._COMPILED) == programs == len(heterogeneity.FAMILIES) * 3 == 6


def test_start_validate_collects_in_float64_outside_an_x64_scope():
    """The rows of a started validation are the same whether collected inside or outside a
    64-bit scope (their bound evaluates f(x_1) with JAX)."""
    from experiments.validation.validate import start_validate, validate

    built = build(_spec(0, noise="gaussian"))
    want = validate(built, "lars", [4], 2)
    with jax.enable_x64(False):
        got = start_validate(built, "lars", [4], 2)()
    assert got["f_gap"].tolist() == want["f_gap"].tolist()
    assert got["bound"].tolist() == want["bound"].tolist()


# -- step-size schedules and traces over several settings (the baselines suite) ----------------


def _lars(spec: InstanceSpec, b1: float = 0.9) -> OptimizerSpec:
    return OptimizerSpec("lars", (("b1", b1), ("phi", spec.phi)))


def test_decay_zero_is_the_constant_step_and_decay_one_is_the_cosine_schedule():
    """w = 0 reproduces the spec without a schedule to RUNNER_GOLDEN_REL; w = 1 is the cosine
    η_t = η·½(1 + cos(πt/T)), checked against SGD on a noise-free quadratic where the iterates
    are x_{t+1} = (1 - η_t c) x_t in closed form; the control: w = 1 differs from w = 0."""
    spec = _spec(0, noise="gaussian")
    built = build(spec)
    key = [jax.random.key(11)]
    plain = simulate_many(built, _lars(spec), [12], [12], [[0.1, 0.3]], 3, key)[0]
    flat = simulate_many(built, with_decay(_lars(spec), 0.0), [12], [12], [[0.1, 0.3]], 3, key)[0]
    cosine = simulate_many(built, with_decay(_lars(spec), 1.0), [12], [12], [[0.1, 0.3]], 3, key)
    for name in plain.mean:
        _close(flat.mean[name], plain.mean[name], f"decay 0 mean[{name}]")
    _close(flat.final_f, plain.final_f, "decay 0 final_f")
    assert not np.allclose(cosine[0].final_f, plain.final_f)

    quad = InstanceSpec(
        family="noisy_quadratic", layer_sizes=(2,), L=(2.0,), sigma=(0.0,), noise="none",
        x1=((1.0, -1.0),), options=(("condition", 1.0),), name="q",
    )  # fmt: skip
    T, eta = 7, 0.3
    sgd = with_decay(OptimizerSpec("sgd"), 1.0)
    got = simulate_many(build(quad), sgd, [T], [T], [[eta]], 1, [jax.random.key(0)])[0]
    t = np.arange(T)
    factors = 1 - eta * 0.5 * (1 + np.cos(np.pi * t / T)) * 2.0
    want = 0.5 * 2.0 * 2 * np.prod(factors) ** 2  # f = ½ Σ c x², c = 2, x = ±Π factors
    _close(got.final_f, [[want]], "cosine schedule final_f")


def test_schedules_share_one_program_and_only_the_decay_is_traced():
    runner.clear_cache()
    spec = _spec(1, noise="gaussian")
    a, b = with_decay(_lars(spec), 0.0), with_decay(_lars(spec), 1.0)
    assert a.structure == b.structure != _lars(spec).structure
    assert a.numbers()["decay"] == 0.0 and "decay" not in _lars(spec).numbers()
    bt = build(spec)
    simulate_instances(
        [bt, bt], [a, b], [0, 1], [6, 6], [6, 1], [[0.1], [0.1]], 2, [jax.random.key(0)] * 2
    )
    assert len(runner._COMPILED) == 1
    with pytest.raises(ValueError, match=r"decay=2"):
        with_decay(_lars(spec), 2.0)


def test_traces_of_several_settings_equal_each_traced_alone():
    """trace_every with several settings of one T: each setting's trace is its own alone; the
    control: settings with different T's are refused."""
    spec = _spec(2, noise="gaussian")
    bt = build(spec)
    opts = [with_decay(_lars(spec), 0.0), with_decay(_lars(spec), 1.0)]
    keys = [jax.random.key(3), jax.random.key(4)]
    together = simulate_instances(
        [bt, bt], opts, [0, 1], [8, 8], [8, 2], [[0.1, 0.2], [0.1, 0.2]], 2, keys, trace_every=2
    )
    for k, (opt, b) in enumerate(zip(opts, (8, 2), strict=True)):
        alone = simulate_many(bt, opt, [8], [b], [[0.1, 0.2]], 2, [keys[k]], trace_every=2)[0]
        assert together[k].trace_t.tolist() == alone.trace_t.tolist() == [1, 3, 5, 7]
        for name in alone.trace:
            _close(together[k].trace[name], alone.trace[name], f"setting {k} trace[{name}]")
    with pytest.raises(ValueError, match=r"one T for every setting"):
        simulate_instances(
            [bt, bt], opts, [0, 1], [8, 4], [8, 4], [[0.1], [0.1]], 2, keys, trace_every=2
        )
