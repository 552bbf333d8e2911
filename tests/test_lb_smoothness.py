"""lb_smoothness with both kinds of constants: the bounds table's block-descent columns and their
``*_diag_block`` twins, claims judged on the block-descent constants only, the figure's two
kinds of lines and markers, and the cache key's version and Lanczos size."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from experiments.cache import Cache
from experiments.reproduction.protocol import Context
from experiments.reproduction.suites import lb_smoothness
from figures import lb_smoothness as fig_sm

DATA = Path(__file__).parent / "data" / "figures"
LAYERS = [("a/kernel", 100, 0.5), ("b/kernel", 20, 2.0), ("c/bias", 5, 0.1)]


def _profile(L_bd, L_diag, kappa) -> pd.DataFrame:
    """Two checkpoints (the second halves every constant) of three layers."""
    rows = []
    for step, f in ((0, 1.0), (10, 0.5)):
        for k, ((name, d, s), lb, ld) in enumerate(zip(LAYERS, L_bd, L_diag, strict=True)):
            rows.append({"net": "digits/mlp", "seed": 0, "step": step, "layer": name, "size": d,
                         "L": f * lb, "L_diag_block": f * ld, "kappa": f * kappa, "sigma": s,
                         "weight_norm": 1.0 + k})  # fmt: skip
    return pd.DataFrame(rows)


META = pd.DataFrame([{"net": "digits/mlp", "seed": 0, "T": 50, "f_gap": 2.3, "G": 3.0,
                      "final_eval_loss": 0.1, "final_eval_accuracy": 0.9}])  # fmt: skip


def test_bounds_table_block_descent_and_diagonal_twins():
    diag = np.array([8.0, 1.0, 0.1])
    b = lb_smoothness.bounds_table(_profile(3.0 * diag, diag, 3.0), META)
    # the diagonal twin of every column is the main column of a table built from ‖H_ii‖
    as_main = lb_smoothness.bounds_table(_profile(diag, diag, 1.0), META)
    for col in ("L_avg", "L_inf", "r_L", "bound", "sgd_bound", "ratio_to_sgd"):
        assert np.allclose(b[f"{col}_diag_block"], as_main[col], rtol=1e-12), col
    assert np.allclose(b["L_inf"], 3.0 * b["L_inf_diag_block"])
    assert np.allclose(b["r_L"], b["r_L_diag_block"])  # one scale for every layer: r_L kept
    assert (b["kappa_min"] == 1.5).all() and (b["kappa_max"] == 3.0).all()
    # a profile without the diagonal blocks (hand-made, or measured before version 2): NaN
    bare = lb_smoothness.bounds_table(_profile(diag, diag, 1.0).drop(
        columns=["L_diag_block", "kappa"]), META)  # fmt: skip
    assert bare["ratio_to_sgd_diag_block"].isna().all() and bare["kappa_max"].isna().all()
    assert np.allclose(bare["ratio_to_sgd"], as_main["ratio_to_sgd"])


def _bounds(ratio: float, r_l: float, ratio_diag: float, r_l_diag: float) -> pd.DataFrame:
    """lb_smoothness_bounds rows: block-descent (ratio, r_L) and their diagonal-block twins."""
    rows = []
    for s in (0, 1, 2):
        for thm in ("sgd", "lars", "lamb_beta2_zero"):
            rows.append({"net": "digits/mlp", "seed": s, "phi": "constant", "theorem": thm,
                         "h": 4, "r_L": r_l, "L_inf": 4.0 * r_l, "L_avg": 4.0,
                         "ratio_to_sgd": 1.0 if thm == "sgd" else ratio,
                         "r_L_diag_block": r_l_diag,
                         "ratio_to_sgd_diag_block": 1.0 if thm == "sgd" else ratio_diag,
                         "kappa_min": 3.0, "kappa_max": 15.0,
                         "r_L_crossover": 3.0, "r_L_crossover_noiseless": 2.0})  # fmt: skip
    df = pd.DataFrame(rows)
    return pd.concat([df, df.assign(phi="identity_range", ratio_to_sgd=50.0,
                                    r_L_crossover_noiseless=1e4)])  # fmt: skip


@pytest.mark.parametrize(
    ("bd", "diag", "verdict"),
    [((0.5, 3.9), (1.5, 1.5), "reproduced"), ((1.5, 1.5), (0.5, 3.9), "not_reproduced")],
)
def test_claims_follow_the_block_descent_columns_only(bd, diag, verdict):
    """The diagonal-block twins are reported but never judged: swapping them with the
    block-descent columns flips both verdicts."""
    claims = lb_smoothness.claims({"lb_smoothness_bounds": _bounds(*bd, *diag)})
    lb_smoothness.EXPERIMENT.check_claims(claims)
    assert {c.verdict for c in claims} == {verdict}
    het, favour = claims
    assert f"no theorem's constants: r_L = {diag[1]:.3g} ± 0 (n=3)]" in het.evidence
    assert "κ̂ over checkpoints 3-15" in het.evidence
    assert f"no theorem's constants: bound/SGD = {diag[0]:.3g} ± 0 (n=3)]" in favour.evidence
    assert "block-descent constants L_i = κ̂ p_i" in favour.evidence
    assert "block-descent" in het.rule and "block-descent" in favour.rule


def test_cache_key_has_the_version_and_the_lanczos_steps():
    assert lb_smoothness.VERSION >= 2  # 2: block-descent constants (cached v1 rows lack them)
    for profile, steps in (("smoke", 10), ("default", 20), ("full", 40)):
        ctx = Context(profile, Cache(Path("/nonexistent")))
        assert lb_smoothness.settings(ctx, "digits/mlp")["lanczos_steps"] == steps


def _fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv")


def test_figure_shows_both_kinds_of_constants():
    table, bounds = _fixture("lb_smoothness"), _fixture("lb_smoothness_bounds")
    fig = fig_sm.make(table, bounds=bounds)
    left, _, right = (ax for ax in fig.axes if ax.get_visible())
    nets = ["digits/mlp", "digits/cnn"]
    dashed = [ln for ln in left.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == len(nets)  # ‖H_ii‖ per net, beside the solid L_i
    title = left.get_legend().get_title().get_text()
    assert "block descent" in title and "‖H_ii‖" in title and "κ̂ over checkpoints" in title
    k = table.groupby("net")["kappa"].agg(["min", "max"])
    assert all(f"{n} {k.loc[n, 'min']:.3g}-{k.loc[n, 'max']:.3g}" in title for n in nets)
    assert "loss / param²" in left.get_ylabel()
    # right: per method, filled (block descent) and open (‖H_ii‖) error bars
    open_marks = [ln for ln in right.get_lines() if ln.get_markerfacecolor() == "none"]
    assert len(open_marks) == 2
    assert "open: ‖H_ii‖" in right.get_legend().get_title().get_text()
    with pytest.raises(ValueError, match=r"lb_smoothness.*L_diag_block"):
        fig_sm.make(table.drop(columns=["L_diag_block"]), bounds=bounds)
