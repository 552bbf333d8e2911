"""Instance specs are validated completely before anything is computed, and rows never read as
theorem violations when the float64 range is left (docs/validation.md, "Ranges and caps").

The cases are a hostile tester's: constants that used to give NaN measures in hypothesis with
``holds`` False (L = 1e-13, σ = 1e150), an OverflowError after the run (L = 1e300), tracebacks
for malformed JSON, and no size caps.
"""

from __future__ import annotations

import dataclasses
import json
import math

import jax
import numpy as np
import pytest

from experiments.validation import hypotheses, objectives, sincos
from experiments.validation import spec as spec_mod
from experiments.validation import validate as validate_mod
from experiments.validation.optimizers import for_theorem
from experiments.validation.runner import simulate
from experiments.validation.spec import (
    InstanceError,
    InstanceSpec,
    RunSizeError,
    build,
    check_run,
    load_instance,
)
from experiments.validation.validate import summarise, validate

BASE = {
    "family": "separable_cosine",
    "layer_sizes": [4, 4],
    "L": [1.0, 2.0],
    "sigma": [0.5, 0.5],
    "noise": "gaussian",
    "x1_scale": 2.0,
    "phi": [0.5, 2.0],
    "beta2": 0.9,
}


def refused(data, *needles: str) -> str:
    """The one-line InstanceError message for ``data``, which must contain every needle."""
    with pytest.raises(InstanceError) as info:
        InstanceSpec.from_dict(data)
    msg = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "\n" not in msg and len(msg) < 400, msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


# -- the tester's cases: one line naming the key, the value and the limit ---------------------
TESTER = [
    ({"L": [1e-13, 1e-13]}, ("L[0]=1e-13", "1e-06")),
    ({"sigma": [1e150, 1e150]}, ("sigma[0]=1e+150", "1e+06")),
    ({"L": [1e300, 1e300]}, ("L[0]=1e+300", "1e+06")),
    ({"family": ["separable_cosine"]}, ("family=['separable_cosine']", "separable_cosine")),
    ({"phi": [None, 2.0]}, ("phi[0]=None",)),
    ({"phi": [0.5, None]}, ("phi[1]=None",)),
    ({"beta2": None}, ("beta2=None", "(0, 1)")),
    ({"x1_scale": "2.0"}, ("x1_scale='2.0'",)),
    ({"x1_scale": None, "x1": [1.0, 2.0]}, ("x1[0]=1.0", "4 numbers")),
    ({"x1_scale": None, "x1": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]}, ("x1=", "2 per-layer")),
    ({"seed": 2**80}, ("seed=1208925819614629174706176", "4294967295")),
    ({"seed": 1.5}, ("seed=1.5",)),
    (
        {"layer_sizes": [10**9], "L": [1.0], "sigma": [1.0]},
        ("layer_sizes[0]=1000000000", "1048576"),
    ),
    ({"layer_sizes": [1e9], "L": [1.0], "sigma": [1.0]}, ("layer_sizes[0]=1000000000.0",)),
    ({"L": [1.0, 10**400]}, ("L[1]=", "1e+06")),
    ({"L": [1.0, math.nan]}, ("L[1]=nan",)),
    ({"sigma": [0.5, math.inf]}, ("sigma[1]=inf",)),
    ({"L": [1.0, True]}, ("L[1]=True",)),
    ({"noise": None}, ("noise=None",)),
    ({"noise": ["gaussian"]}, ("noise=['gaussian']",)),
    ({"family": None}, ("family=None",)),
    ({"layer_sizes": None}, ("layer_sizes=None",)),
    ({"layer_sizes": "44"}, ("layer_sizes='44'",)),
    ({"options": [1, 2]}, ("options=[1, 2]",)),
    ({"options": {"coupling": 0.3}}, ("options['coupling']=0.3", "takes options []")),
    ({"name": ["x"]}, ("name=['x']",)),
    ({"name": "two\nlines"}, ("name='two\\nlines'",)),
    ({"sigmas": [1, 2]}, ("instance keys=['sigmas']", "allowed keys")),
]


@pytest.mark.parametrize(("overrides", "needles"), TESTER)
def test_tester_cases_get_one_line_naming_the_key(overrides, needles):
    refused({**BASE, **overrides}, *needles)


def test_non_object_and_missing_keys():
    refused([BASE], "instance=")
    refused({k: v for k, v in BASE.items() if k != "family"}, "family=None", "required")
    refused({**BASE, 3: 1}, "instance keys=")


# -- the documented ranges and caps ----------------------------------------------------------
RANGES = [
    ({"L": [1e-7, 1.0]}, "L[0]=1e-07"),
    ({"L": [1.0, 2e6]}, "L[1]=2000000.0"),
    ({"sigma": [2e6, 0.0]}, "sigma[0]=2000000.0"),
    ({"L": [1e-6, 1e-6], "sigma": [1.0, 2.0]}, "NOISE_TO_L_MAX=1e+06"),
    ({"x1_scale": 1e-5}, "x1_scale=1e-05"),
    ({"x1_scale": 2e6}, "x1_scale=2000000.0"),
    ({"x1_scale": None, "x1": [[0.0] * 4, [0.0, 0.0, 0.0, -2e6]]}, "x1[1][3]=-2000000.0"),
    ({"phi": [1e-7, 1.0]}, "phi[0]=1e-07"),
    ({"phi": [2.0, 1.0]}, "alpha_l <= alpha_u"),
    ({"phi": [1.0]}, "phi=[1.0]"),
    ({"beta2": 1.0}, "beta2=1.0"),
    ({"beta2": 0}, "beta2=0"),
    ({"noise": "finite_sum"}, "n_samples=None"),
    ({"noise": "finite_sum", "n_samples": 10**8}, "MAX_TABLE_ENTRIES"),
    ({"n_samples": 4}, "n_samples=4"),
    ({"noise": "none"}, "noise='none' needs zeros"),
    ({"sigma": None, "sigma_coord": [0.1] * 7}, "sigma_coord="),
    ({"sigma_coord": [0.1] * 8}, "not both"),
]


@pytest.mark.parametrize(("overrides", "needle"), RANGES)
def test_ranges_are_enforced(overrides, needle):
    refused({**BASE, **overrides}, needle)


def test_size_caps_name_the_limit():
    one = {"L": [1.0], "sigma": [1.0]}
    refused({**BASE, **one, "layer_sizes": [2**20 + 1]}, "layer_sizes[0]=1048577", "1048576")
    many = [2**20] * 5
    refused({**BASE, "layer_sizes": many, "L": [1.0] * 5, "sigma": [1.0] * 5}, "total d=5242880")
    h = spec_mod.MAX_LAYERS + 1
    refused({**BASE, "layer_sizes": [1] * h, "L": [1.0] * h, "sigma": [1.0] * h}, "MAX_LAYERS=256")
    coupled = {**BASE, "family": "coupled_cosine"}
    refused({**coupled, "layer_sizes": [1025, 1025]}, "layer_sizes[0]=1025", "1024")
    refused({**coupled, "layer_sizes": [1024, 1024], "options": {"m": 4096}}, "options['m']=4096")
    ts = {**BASE, "family": "teacher_student_tanh", "L": None, "layer_sizes": [64, 8]}
    InstanceSpec.from_dict(ts)  # the defaults: inputs = hidden = 8
    refused({**ts, "L": [1.0, 1.0]}, "L=[1.0, 1.0]", "estimated")
    big = {"n_samples": 4096, "hidden": 64}  # n·k·p = 2^21 > TS_MAX_WORK
    refused(
        {**ts, "options": big, "layer_sizes": [512, 64]}, "options['n_samples']=4096", "1048576"
    )
    refused({**ts, "layer_sizes": [8, 8]}, "layer_sizes=(8, 8)", "(64, 8)")
    refused({**BASE, "family": "chain_cosine", "layer_sizes": [4, 3]}, "all layer sizes equal")


def test_accepted_specs_are_hashable_and_roundtrip():
    data = {**BASE, "family": "chain_cosine", "options": {"coupling": 0.3}, "seed": 2**32 - 1}
    s = InstanceSpec.from_dict(data)
    assert hash(s) == hash(InstanceSpec.from_dict(json.loads(json.dumps(s.to_dict()))))
    listy = InstanceSpec(family="separable_cosine", layer_sizes=[2], L=[1.0], sigma=[0.1],
                         x1_scale=1.0)  # fmt: skip
    assert isinstance(listy.layer_sizes, tuple) and hash(listy)


def test_load_instance_errors_are_one_line(tmp_path):
    cases = {
        "missing.json": None,
        "bad.json": "{not json",
        "deep.json": "[" * 100_000 + "]" * 100_000,
        "bigint.json": json.dumps({**BASE, "seed": 0}).replace(
            '"seed": 0', '"seed": ' + "9" * 5000
        ),
        "flat_x1.json": json.dumps({**BASE, "x1_scale": None, "x1": [1.0] * 8}),
    }
    for name, text in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        with pytest.raises(InstanceError) as info:
            load_instance(path)
        assert "\n" not in str(info.value), name


def test_range_derivation_fits_inside_the_exact_sincos_range():
    """The bound of the comment in objectives.py: x_1, SGD's drift (≤ T) and noise (50 sd),
    LARS/LAMB's √(4dT), times coupled_cosine's √d, stays inside sincos.LIMIT."""
    o = objectives
    x = 7 * o.X1_MAX + o.T_MAX + math.sqrt(4 * o.MAX_DIM * o.T_MAX) + 50 * o.NOISE_TO_L_MAX
    assert x * math.sqrt(o.FAMILY_SIZE_CAPS["coupled_cosine"][1]) < sincos.LIMIT / 100


# -- run caps (validate and the CLI) -----------------------------------------------------------
SMALL = InstanceSpec.from_dict(BASE)


def test_run_caps_name_the_limit(monkeypatch):
    b = build(SMALL)
    with pytest.raises(RunSizeError, match=r"T=2000000000 is invalid: .*T_MAX=1048576"):
        validate(b, "sgd", [4, 2_000_000_000], 2)
    with pytest.raises(RunSizeError, match=r"seeds=100000 is invalid: .*MAX_SEEDS=16384"):
        validate(b, "sgd", [4], 100_000)
    monkeypatch.setattr(spec_mod, "available_memory", lambda: 2**20)
    with pytest.raises(RunSizeError) as info:
        validate(b, "sgd", [4], 1000)  # 1000 x (8 x 8 x 16 + 4 x 16) B = 1.04 MiB > 0.5 MiB
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("seeds=1000 is invalid") and "0.5 MiB" in msg
    check_run(SMALL, [4], 16)  # small runs fit
    fs = InstanceSpec.from_dict({**BASE, "noise": "finite_sum", "n_samples": 8})
    check_run(fs, [8], 2)
    with pytest.raises(RunSizeError, match=r"T=16 is invalid: .*n_samples=8"):
        check_run(fs, [4, 16], 2)


# -- rows: a non-finite measure or bound is never in hypothesis ------------------------------
def _run(b, theorem="sgd", T=4):
    opt = for_theorem(theorem, b.spec.phi, b.spec.beta2)
    eta = validate_mod.prescribed_eta(theorem, b, T)
    return opt, simulate(b, opt, T, T, [eta], 3, jax.random.key(0))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # the bootstrap of inf
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_measure_is_out_of_hypothesis(value):
    b = build(SMALL)
    opt, res = _run(b)
    good = summarise(b, "sgd", opt, res, 0)
    assert good["in_hypothesis"] and good["holds"] and good["failed_assumptions"] == ""
    nan = np.full_like(res.mean["grad_sq"], value)  # what an iterate beyond sincos.LIMIT gives
    res = dataclasses.replace(res, mean={**res.mean, "grad_sq": nan})
    row = summarise(b, "sgd", opt, res, 0)
    assert not row["in_hypothesis"] and row["holds"] is None
    assert "numeric_range" in row["failed_assumptions"] and "measure=" in row["failed_assumptions"]
    assert math.isnan(row["ratio"]) and row["violation_significant"] is None


def test_overflowing_bound_is_out_of_hypothesis(monkeypatch):
    b = build(SMALL)
    opt, res = _run(b, "lars")

    def overflow(theorem, consts, form="paper"):
        raise OverflowError(34, "Numerical result out of range")

    monkeypatch.setattr(validate_mod, "bound_value", overflow)
    row = summarise(b, "lars", opt, res, 0)
    assert not row["in_hypothesis"] and row["holds"] is None
    assert "numeric_range (bound=inf not finite)" in row["failed_assumptions"]
    assert row["bound_sharp"] == float("inf") and math.isnan(row["ratio_sharp"])


def test_numeric_range_rule():
    assert hypotheses.numeric_range(True, [], 1.0, 2.0) == (True, [])
    assert hypotheses.numeric_range(False, ["x"], 1.0, 2.0) == (False, ["x"])
    # a NaN bound with an assumption already failing (G not certified): nothing added
    assert hypotheses.numeric_range(False, ["G"], 1.0, math.nan) == (False, ["G"])
    ok, failed = hypotheses.numeric_range(False, ["G"], math.nan, 1.0)
    assert not ok and failed[0] == "G" and failed[1].startswith("numeric_range")
    ok, failed = hypotheses.numeric_range(True, [], 1.0, math.inf)
    assert not ok and failed == ["numeric_range (bound=inf not finite)"]


# -- the corners of the range give finite rows, never a fake violation -----------------------
CORNERS = [
    # σ/L∞ at NOISE_TO_L_MAX, the smallest L: SGD's noise displacement is largest here
    ({"L": [1e-6, 1e-6], "sigma": [1.0, 1.0]}, "sgd"),
    ({"L": [1e6, 1e6], "sigma": [1e6, 1e6], "x1_scale": 1e6}, "sgd"),
    ({"L": [1e-6, 1e6], "phi": [1e-6, 1e6], "x1_scale": 1e-4}, "lars"),
    ({"family": "noisy_quadratic", "L": [1e6, 1e6], "x1_scale": 1e6, "phi": [1e-6, 1e6]}, "lars"),
    (
        {"family": "coupled_cosine", "L": [1e-6, 1e-6], "sigma": [1.0, 1.0], "noise": "rademacher"},
        "lamb_beta2_pos",
    ),
]


@pytest.mark.parametrize(("overrides", "theorem"), CORNERS)
def test_range_corners_give_finite_rows(overrides, theorem):
    rows = validate(build(InstanceSpec.from_dict({**BASE, **overrides})), theorem, [2, 16], 2)
    for _, r in rows.iterrows():
        assert math.isfinite(r["measure"]) and math.isfinite(r["bound"]), dict(r)
        assert r["in_hypothesis"] and r["holds"], dict(r)


def test_standard_instances_still_validate():
    from experiments.reproduction.suites._instances import THEOREMS, for_theorem, standard

    for family in ("separable_cosine", "separable_geman_mcclure", "chain_cosine",
                   "coupled_cosine", "noisy_quadratic"):  # fmt: skip
        for h, width in ((4, 4), (4, 16), (8, 64), (16, 16)):
            for thm in THEOREMS:
                s = for_theorem(standard(family, h, width), thm)
                assert InstanceSpec.from_dict(s.to_dict()) == s
    rows = validate(build(standard("separable_cosine", 4, 4)), "lars", [4], 2)
    assert rows["in_hypothesis"].all() and rows["holds"].all()
    assert np.isfinite(rows["measure"]).all()
