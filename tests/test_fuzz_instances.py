"""Property-based: malformed instance JSON gets a one-line ValueError naming a key, never another
exception; whatever is accepted lies inside the documented ranges (docs/validation.md, "Ranges
and caps"), and a few accepted specs, built and validated, never read as a fake violation."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experiments.validation import objectives as o
from experiments.validation.noise import MAX_TABLE_ENTRIES, NOISE_KINDS
from experiments.validation.objectives import FAMILIES
from experiments.validation.spec import JSON_KEYS, SEED_LIMIT, InstanceSpec, build
from experiments.validation.validate import validate

BASES = [
    {"family": "separable_cosine", "layer_sizes": [3, 3], "L": [1.0, 4.0], "sigma": [0.3, 0.6],
     "noise": "rademacher", "x1_scale": 1.5, "seed": 3, "phi": [0.5, 2.0], "beta2": 0.9},
    {"family": "chain_cosine", "layer_sizes": [2, 2], "L": [1.0, 2.0], "sigma_coord": [0.1] * 4,
     "x1": [[1.0, 0.5], [0.0, -1.0]], "options": {"coupling": 0.3}},
    {"family": "noisy_quadratic", "layer_sizes": [4], "L": [3.0], "sigma": [1.0],
     "noise": "finite_sum", "n_samples": 16, "x1_scale": 1.0, "options": {"condition": 10.0}},
    {"family": "teacher_student_tanh", "layer_sizes": [4, 2], "noise": "none", "x1_scale": 0.5,
     "options": {"inputs": 2, "hidden": 2, "n_samples": 8}},
    {"family": "coupled_cosine", "layer_sizes": [2, 3], "L": [1.0, 1.0], "sigma": [0.0, 0.1],
     "noise": "gaussian", "x1_scale": 2.0, "options": {"m": 3}, "phi": [0.1, 0.1]},
]  # fmt: skip

EXTREME = [0, -1, 1, 2**31, 2**32, 2**64, 10**400, 1e9, 1e-13, 1e-300, 1e150, 1e300, -0.0, 0.5,
           1e6, 1e-6, 1e-4, 2.0**20, math.nan, math.inf, -math.inf]  # fmt: skip
NAMES = list(FAMILIES) + list(NOISE_KINDS) + ["", "x", "\n", "coupling", "m", "inputs"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.integers(0, 9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(EXTREME),
    st.text(max_size=4),
    st.sampled_from(NAMES),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.sampled_from(NAMES), inner, max_size=3)
    ),
    max_leaves=10,
)
numbers = st.one_of(st.sampled_from(EXTREME), st.floats(-1e7, 1e7), st.integers(-5, 5))


@st.composite
def instances(draw):
    data = dict(draw(st.sampled_from(BASES)))
    h, d = len(data["layer_sizes"]), sum(data["layer_sizes"])
    if draw(st.integers(0, 9)) == 0:  # an extra key, now and then (it is refused first)
        data[draw(st.sampled_from(["sigmas", "T", "x", "", "Family"]))] = draw(values)
    for key in draw(st.lists(st.sampled_from(JSON_KEYS), max_size=4, unique=True)):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            data.pop(key, None)  # a missing (or never given) key
        elif kind == 1:
            data[key] = draw(values)  # anything: wrong types, nulls, nesting, strings
        else:  # plausible shapes with hostile numbers (reaches the range checks)
            n = draw(st.sampled_from([h, h + 1, 0, 1, d]))
            data[key] = draw(
                st.one_of(
                    numbers,
                    st.lists(numbers, min_size=n, max_size=n),
                    st.lists(st.lists(numbers, min_size=2, max_size=3), min_size=h, max_size=h),
                )
            )
    return data


def in_documented_ranges(s: InstanceSpec) -> None:
    """Every field of an accepted spec inside the ranges and caps (objectives.py)."""
    assert isinstance(s.family, str) and s.family in FAMILIES
    sizes = s.layer_sizes
    max_layer, max_dim = o.FAMILY_SIZE_CAPS.get(s.family, (o.MAX_LAYER_SIZE, o.MAX_DIM))
    assert isinstance(sizes, tuple) and 1 <= len(sizes) <= o.MAX_LAYERS
    assert all(type(n) is int and 1 <= n <= max_layer for n in sizes) and sum(sizes) <= max_dim
    d = sum(sizes)
    if s.family == "teacher_student_tanh":
        assert s.L is None
    else:
        assert len(s.L) == len(sizes)
        assert all(o.L_RANGE[0] <= v <= o.L_RANGE[1] for v in s.L)
    sig = s.sigma if s.sigma is not None else s.sigma_coord
    if sig is not None:
        assert len(sig) in (len(sizes), d) and all(0 <= v <= o.SIGMA_MAX for v in sig)
        if s.L is not None:
            assert max(sig) <= o.NOISE_TO_L_MAX * max(s.L)
    assert s.noise in NOISE_KINDS and (s.noise == "none" or sig is not None)
    if s.noise == "finite_sum":
        assert (
            type(s.n_samples) is int and 2 <= s.n_samples and s.n_samples * d <= MAX_TABLE_ENTRIES
        )
    else:
        assert s.n_samples is None
    assert (s.x1 is None) != (s.x1_scale is None)
    if s.x1 is not None:
        assert [len(r) for r in s.x1] == list(sizes)
        assert all(abs(v) <= o.X1_MAX for r in s.x1 for v in r)
    else:
        assert o.X1_SCALE_MIN <= s.x1_scale <= o.X1_MAX
    assert type(s.seed) is int and 0 <= s.seed < SEED_LIMIT
    if s.phi is not None:
        lo, hi = s.phi
        assert o.PHI_RANGE[0] <= lo <= hi <= o.PHI_RANGE[1]
    assert 0 < s.beta2 < 1
    assert s.name is None or isinstance(s.name, str)
    hash(s)
    json.dumps(s.to_dict(), allow_nan=False)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_malformed_instances_give_one_line_errors(data):
    try:
        s = InstanceSpec.from_dict(data)
    except ValueError as err:  # any other exception type fails the test
        msg = str(err)
        assert msg and "\n" not in msg and len(msg) < 500, msg
        assert any(k in msg for k in (*JSON_KEYS, "instance")), msg
        return
    in_documented_ranges(s)


@st.composite
def accepted(draw):
    """Valid specs spread over the documented ranges, corners included (log-uniform)."""

    def log_between(lo, hi):
        return draw(st.sampled_from([lo, hi]) | st.floats(math.log10(lo), math.log10(hi)).map(
            lambda e: 10.0**e))  # fmt: skip

    family = draw(st.sampled_from(["separable_cosine", "separable_geman_mcclure",
                                   "chain_cosine", "noisy_quadratic"]))  # fmt: skip
    h = draw(st.integers(1, 3))
    L = [log_between(*o.L_RANGE) for _ in range(h)]
    top = min(o.SIGMA_MAX, o.NOISE_TO_L_MAX * max(L))
    sigma = [draw(st.sampled_from([0.0, top]) | st.floats(0.0, top)) for _ in range(h)]
    lo = log_between(*o.PHI_RANGE)
    return {
        "family": family, "layer_sizes": [draw(st.integers(1, 3))] * h, "L": L, "sigma": sigma,
        "noise": draw(st.sampled_from(["gaussian", "rademacher"])),
        "x1_scale": log_between(o.X1_SCALE_MIN, o.X1_MAX), "seed": draw(st.integers(0, 2**32 - 1)),
        "phi": [lo, log_between(lo, o.PHI_RANGE[1])], "beta2": 0.9,
    }  # fmt: skip


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accepted(), st.sampled_from(["sgd", "lars", "lamb_beta2_zero"]))
def test_accepted_specs_give_no_fake_violation(data, theorem):
    s = InstanceSpec.from_dict(data)
    in_documented_ranges(s)
    rows = validate(build(s), theorem, [2, 8], 2)
    for _, r in rows.iterrows():
        if r["in_hypothesis"]:
            assert math.isfinite(r["measure"]) and math.isfinite(r["bound"]), dict(r)
            assert r["holds"] is not None
        elif "numeric_range" in r["failed_assumptions"]:
            assert r["holds"] is None
