"""The tightness suite's pieces: closed forms of the constructive worst cases against the runner,
the slack factors, the search space, and the saved instance files."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from experiments.reproduction import sweep
from experiments.reproduction.suites import tightness
from experiments.validation.spec import InstanceSpec, build, load_instance
from experiments.validation.validate import validate
from tests.tolerances import CLOSED_FORM_REL

THEOREMS = ("sgd", "lars", "lamb_beta2_zero", "lamb_beta2_pos")


@pytest.mark.parametrize("theorem", THEOREMS)
def test_constructive_rows_match_their_closed_forms(theorem):
    Ts = [1, 2, 3, 5, 8, 12, 50] if theorem != "lamb_beta2_pos" else [1]
    rows = validate(build(tightness.constructive_spec(theorem)), theorem, Ts, 2)
    assert rows["in_hypothesis"].all(), rows["failed_assumptions"].tolist()
    for r in rows.itertuples():
        paper, sharp = tightness.constructive_ratio(theorem, int(r.T))
        assert r.ratio == pytest.approx(paper, rel=CLOSED_FORM_REL), r.T
        assert r.ratio_sharp == pytest.approx(sharp, rel=CLOSED_FORM_REL), r.T
        if theorem in ("lars", "lamb_beta2_zero"):
            # control: the sharp closed form does not describe the paper-form ratio
            assert r.ratio != pytest.approx(sharp, rel=1e-3)


def test_closed_form_limits():
    assert tightness.constructive_ratio("lars", 1) == (0.5, 1.0)
    assert tightness.constructive_ratio("lars", 16) is None  # square T: lands on the minimiser
    big = tightness.constructive_ratio("lamb_beta2_zero", 10**6 + 1)
    assert big[1] == pytest.approx(1.0, abs=1e-6) and big[0] == pytest.approx(0.5, abs=1e-6)
    pos = tightness.constructive_ratio("lamb_beta2_pos", 1)[0]
    beta2 = tightness.CONSTRUCTIVE_BETA2
    assert pos == pytest.approx(4 / (3 * math.sqrt(3)) * math.sqrt(1 - beta2), rel=1e-12)
    # the T = 1 ratio of the cosine is largest at sin(x/2) = 1/√3 (a grid of starting points)
    xs = np.linspace(0.01, math.pi - 0.01, 2001)
    r = np.sin(xs) ** 2 / (2 * np.abs(np.sin(xs / 2)))
    assert xs[np.argmax(r)] == pytest.approx(2 * math.asin(1 / math.sqrt(3)), abs=2e-3)
    assert tightness.constructive_ratio("lamb_beta2_pos", 2) is None


def test_slack_factors_multiply_to_bound_over_measure():
    rows = validate(build(tightness.constructive_spec("lars")), "lars", [5], 1)
    spec = InstanceSpec(
        family="separable_cosine", layer_sizes=(2, 2), L=(1.0, 4.0), noise="rademacher",
        sigma=(0.3, 0.1), x1_scale=1.0, phi=(0.5, 1.5), beta2=0.3,
    )  # fmt: skip
    for thm in ("lars", "lamb_beta2_pos", "sgd"):
        rows = validate(build(spec), thm, [8], 4)
        row = rows.iloc[0].to_dict() | {"alpha_l": 0.5, "alpha_u": 1.5, "beta2": 0.3}
        f = tightness.slack_factors(row)
        # the named steps' factors are what they can lose at most (≥ 1); rest is the remainder
        assert all(f[k] >= 1 - 1e-12 for k in ("phi_range", "squaring", "beta2")), f
        prod = f["phi_range"] * f["squaring"] * f["beta2"] * f["rest"]
        assert prod == pytest.approx(row["bound"] / row["measure"], rel=1e-12)
    assert tightness.slack_factors({**row, "theorem": "lars"})["phi_range"] == pytest.approx(9.0)


def test_search_space_stays_inside_the_hypotheses():
    rng = np.random.default_rng(0)
    for thm in THEOREMS:
        space = tightness.structures(thm)
        assert len(space) == len(set(space))
        for k in range(6):
            c = tightness.random_candidate(rng, thm, 64)
            for _ in range(3):
                c = tightness.perturb(rng, c, 64)
            spec = tightness.candidate_spec(thm, c, f"c{k}")
            assert (spec.family, spec.layer_sizes, spec.noise) in space
            assert spec.phi[0] <= spec.phi[1] and 1 <= c["T"] <= 64
            if thm.startswith("lamb"):
                assert len(set(spec.layer_sizes)) == 1  # Theorem 3: equal layers


def test_best_instances_are_written_as_loadable_json(tmp_path):
    spec = tightness.constructive_spec("lars")
    best = pd.DataFrame(
        [{"instance_file": tightness.instance_file("lars", "constructive"),
          "instance_json": json.dumps(spec.to_dict())}]
    )  # fmt: skip
    files = tightness.files({"tightness_best": best})
    written = sweep.write_files(tmp_path, files)
    assert written == ["instances/tightness/lars-constructive.json"]
    assert load_instance(tmp_path / written[0]) == spec
    for bad in ("/etc/x.json", "../x.json", "tables/x.csv"):
        with pytest.raises(ValueError, match="is invalid: expected a relative path"):
            sweep.write_files(tmp_path, {bad: "{}"})
