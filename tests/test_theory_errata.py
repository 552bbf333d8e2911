"""Errata and bound comparisons, checked against independent algebra."""

import pytest
import sympy as sp

from theory import THEOREMS, comparisons, symbols
from theory.errata import ERRATA

INSTANCE = dict(
    f_gap=1.0,
    L=[1.0, 2.0, 3.0, 10.0],
    sigma=[0.1, 0.2, 0.3, 0.4],
    sigma_coord=[0.05] * 8,
    G=2.0,
    d=8,
    h=4,
    alpha_l=0.5,
    alpha_u=2.0,
    beta2=0.9,
)


def test_every_erratum_holds_and_has_a_sentence_and_provenance():
    assert set(ERRATA) == {
        "assumption2_forces_separability",
        "lamb_beta2_zero_noise_denominator",
        "appendix_c_exponents",
        "sgd_equation_typo",
    }
    for e in ERRATA.values():
        assert e.holds, e.key
        assert len(e.sentence) > 40 and e.provenance


def test_assumption2_literal_reading_fails_on_a_coupled_quadratic_but_block_descent_holds():
    d = ERRATA["assumption2_forces_separability"].demonstration
    assert d["literal_lhs"] > d["literal_rhs"] == 0
    assert all(ev >= 0 for ev in d["margin_eigenvalues"] if ev.is_number) or all(
        sp.simplify(ev).is_nonnegative for ev in d["margin_eigenvalues"]
    )
    # independent check: Hessian of the example minus diag(1+|c|) at c = 1/2 is NSD
    hess = sp.Matrix([[1, sp.Rational(1, 2)], [sp.Rational(1, 2), 1]])
    margin = sp.diag(sp.Rational(3, 2), sp.Rational(3, 2)) - hess
    assert all(ev >= 0 for ev in margin.eigenvals())


def test_lamb_noise_denominator_derived_is_tighter():
    d = ERRATA["lamb_beta2_zero_noise_denominator"].demonstration
    assert sp.simplify(d["derived_over_printed"] - symbols.h / symbols.d) == 0
    assert d["example_h4_d16"] == sp.Rational(1, 4)
    assert d["gap_zero_iff_k"] == [0]


def test_appendix_c_exponents_are_the_square_roots_of_the_papers():
    d = ERRATA["appendix_c_exponents"].demonstration
    psi_L, psi_g, psi_s = (sp.Symbol(n, positive=True) for n in ("psi_L", "psi_g", "psi_sigma"))
    subs = {
        sym: {"psi_L": psi_L, "psi_g": psi_g, "psi_sigma": psi_s}[sym.name]
        for sym in d["derived_factor_L"].free_symbols | d["derived_factor_sigma"].free_symbols
    }
    assert sp.simplify(d["derived_factor_L"].subs(subs) - sp.sqrt(psi_L) / psi_g) == 0
    assert sp.simplify(d["derived_factor_sigma"].subs(subs) - psi_s / psi_g) == 0
    assert d["paper_is_derived_squared"]


def test_sgd_typo_ascends_the_regulariser():
    d = ERRATA["sgd_equation_typo"].demonstration
    assert d["printed_growth_at_point"] > 0 > d["intended_change_at_point"]
    assert d["printed_fixed_point_at_point"] != d["minimiser_at_point"]


def test_lars_to_sgd_ratio_closed_form():
    ratio = comparisons.bound_ratio("lars")
    # no noise, dense gradients (psi_g = 1): ratio = 2 (alpha_u/alpha_l)^2 / r_L
    no_noise = sp.simplify(ratio.subs(symbols.sigma_sq, 0).subs(comparisons.PSI_G, 1))
    assert (
        sp.simplify(no_noise - 2 * (symbols.alpha_u / symbols.alpha_l) ** 2 / comparisons.R_L) == 0
    )
    assert comparisons.layerwise_wins(
        "lars",
        r_L=3.5,
        psi_g=1.0,
        psi_sigma=0.25,
        f_gap=1.0,
        L_inf=4.0,
        sigma_sq=0.0,
        alpha_l=1.0,
        alpha_u=1.0,
        h=4,
        T=100,
    )
    assert not comparisons.layerwise_wins(
        "lars",
        r_L=1.5,
        psi_g=1.0,
        psi_sigma=0.25,
        f_gap=1.0,
        L_inf=4.0,
        sigma_sq=0.0,
        alpha_l=1.0,
        alpha_u=1.0,
        h=4,
        T=100,
    )
    assert comparisons.winning_region("lars")["decreasing_in_r_L"]


@pytest.mark.parametrize("method", ["sgd", "lars", "lamb_beta2_zero", "lamb_beta2_pos"])
def test_steps_to_epsilon_is_the_smallest_certifying_T(method):
    if method not in THEOREMS:
        pytest.skip(f"{method} theorem not registered")
    eps = 0.5 * THEOREMS[method].evaluate(**INSTANCE, T=10)
    T = comparisons.steps_to_epsilon_value(method, eps, **INSTANCE)
    assert THEOREMS[method].evaluate(**INSTANCE, T=T) <= eps
    assert T == 1 or THEOREMS[method].evaluate(**INSTANCE, T=T - 1) > eps


def test_comparisons_refuse_out_of_range_densities():
    with pytest.raises(ValueError, match="r_L"):
        comparisons.ratio_value(
            "lars",
            r_L=0.5,
            psi_g=1.0,
            psi_sigma=0.5,
            f_gap=1.0,
            L_inf=1.0,
            sigma_sq=0.0,
            alpha_l=1.0,
            alpha_u=1.0,
            h=4,
            T=10,
        )
