"""A user's objective and optimizer through ``validate``: rows name what the run and the
certificate refute, and the end-to-end example runs at small size."""

from __future__ import annotations

import optax

import lamb_ref
from experiments.validation.optimizers import OptimizerSpec
from experiments.validation.spec import InstanceSpec, build
from experiments.validation.validate import validate

PHI = (0.5, 2.0)
SPEC = InstanceSpec(
    family="separable_cosine", layer_sizes=(3, 3), L=(1.0, 4.0), sigma=(0.2, 0.1),
    noise="gaussian", x1_scale=1.0, seed=0, phi=PHI, beta2=0.5, name="custom-validation",
)  # fmt: skip
BUILT = build(SPEC)


def lars_make(lr):
    return lamb_ref.lars(lr, momentum=0.0, phi=PHI)


def test_a_custom_optimizer_under_its_claim_is_in_hypothesis():
    mine = OptimizerSpec.custom("my lars", lars_make, claims="lars", settings={"phi": PHI})
    got = validate(BUILT, "lars", [16], 4, opt=mine).iloc[0]
    # (its random numbers differ from the built-in's row: a row's seed names its optimizer;
    # tests/test_custom_optimizers.py compares the two runs on one key)
    assert got["in_hypothesis"] and got["failed_assumptions"] == "" and got["holds"]
    assert got["optimizer"] == "my lars"
    # the same optimizer asked about another theorem: its claim is named
    other = validate(BUILT, "sgd", [16], 4, opt=mine).iloc[0]
    assert not other["in_hypothesis"]
    assert "claims lars, validated against sgd" in other["failed_assumptions"]


def test_a_step_the_claim_does_not_allow_is_a_failed_assumption_not_a_violation():
    """Adam declared as LARS with φ ≡ 1: its steps are not of norm η, the run shows it."""
    adam = OptimizerSpec.custom("adam", optax.adam, claims="lars", settings={"phi": (1.0, 1.0)})
    row = validate(BUILT, "lars", [16], 4, opt=adam).iloc[0]
    assert not row["in_hypothesis"]
    assert "step norm outside [ηα_l, ηα_u]" in row["failed_assumptions"]


def test_an_optimizer_without_a_claim_is_a_comparison_only():
    plain = OptimizerSpec.custom("optax sgd", optax.sgd)
    row = validate(BUILT, "sgd", [16], 4, opt=plain).iloc[0]
    assert not row["in_hypothesis"]
    assert "optimizer 'optax sgd' declares no theorem's setting" in row["failed_assumptions"]


def test_the_end_to_end_example_runs_at_small_size(capsys):
    from examples.custom_problem import FAMILY, main
    from experiments.validation import custom

    out = main(quick=True)
    assert FAMILY not in custom.registered_families()  # the example cleans up
    assert out["certified"].ok and not out["wrong"].ok
    table = out["table"]
    assert table["in_hypothesis"].all() and table["constants_certified"].all()
    assert (table["ratio"] <= 1).all() and (table["ratio"] > 0).all()
    wrong = out["wrong_rows"].iloc[0]
    assert not wrong["in_hypothesis"] and not wrong["constants_certified"]
    assert "certificate: block_hessian" in wrong["failed_assumptions"]
    assert 0 < out["best"]["ratio"] <= 1
    assert "tightest ratio found" in capsys.readouterr().out
