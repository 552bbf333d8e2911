"""Claims of the theorem-validation suites, each verdict derived from the suite's tables only.

Each claim is declared at import as a :class:`experiments.reproduction.claims.ClaimSpec` (the
``*_SPECS`` constants and :func:`bound_specs`); every function takes ``{table_name: DataFrame}``
(the tables the suite wrote, read back from CSV) and returns one
:class:`experiments.reproduction.claims.Claim` row per declaration, through
:meth:`ClaimSpec.judge`, with the outcome of the declared negative control. Validation rows enter
a verdict only through :func:`experiments.reproduction.claims.in_hypothesis_rows`, so a run outside
a theorem's hypotheses can never make its claim ``reproduced``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.reproduction.claims import (
    Claim,
    ClaimSpec,
    as_bool,
    control_outcome,
    in_hypothesis_rows,
    verdict_from_fraction,
)

THEOREM_SOURCE = {
    "sgd": "Theorem 1 (SGD, Ghadimi & Lan 2013)",
    "lars": "Theorem 2 (LARS)",
    "lamb_beta2_zero": "Theorem 3 (LAMB, β2 = 0)",
    "lamb_beta2_pos": "Theorem 3 (LAMB, 0 < β2 < 1)",
}
RATE = {"sgd": "1/T", "lars": "1/T", "lamb_beta2_zero": "1/T", "lamb_beta2_pos": "1/√T"}
# The rate rule classifies a measured log-log slope by the nearest candidate rate: the bound's
# rate, or one 0.5 slower (1/T vs 1/√T). The decision boundary is halfway, 0.25 above the bound's
# slope, which follows from the two candidates alone. (An earlier slack of 0.1 was chosen after
# seeing the finite-T transient of a default run; docs/validation.md says so.)
SLOPE_SLACK = 0.25
# The bound-holds control: a bound tight within 2x must fail when halved (its sharp form, see
# bound_holds).
HALVED_BOUND = 0.5
# The rate control: a rate slower by this much in log-log slope (1/T vs 1/sqrt(T)).
SLOWER_RATE = 0.5


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def bound_specs(experiment: str, figure: str) -> tuple[ClaimSpec, ...]:
    """Per theorem: the declared rule "measured ≤ bound on every in-hypothesis row"."""
    return tuple(
        ClaimSpec(
            claim_id=f"{experiment}_{thm}_bound_holds",
            source=source,
            statement=f"{source}: the measured criterion stays below the explicit bound at the "
            "prescribed step and batch size",
            table=f"theorem_validation_{experiment}",
            metric="ratio = measured criterion / explicit bound, per in-hypothesis row "
            "(mean over seeds)",
            rule="reproduced if ratio ≤ 1 on every in-hypothesis row; partially if some row "
            "exceeds 1 but no excess is significant (bootstrap 95% CI over seeds reaches 1) or "
            "some rows hold; not_reproduced if none holds",
            threshold_reason="the theorem states an upper bound, so 1 is the statement itself; "
            "the CI keeps seed noise from counting as a violation",
            control="the same rows against the sharp bound halved (measured/sharp bound ≤ 0.5 "
            "on every row; the sharp bound is the proof's last line before its final squaring "
            "step, the paper form where there is none): a bound tight within 2× must fail this",
            figure=figure,
        )
        for thm, source in THEOREM_SOURCE.items()
    )


def bound_holds(tables: dict[str, pd.DataFrame], experiment: str, figure: str) -> list[Claim]:
    """Per theorem: measured criterion ≤ explicit bound on every in-hypothesis row."""
    rows = in_hypothesis_rows(tables.get("theorem_validation", pd.DataFrame()))
    out = []
    for spec, thm in zip(bound_specs(experiment, figure), THEOREM_SOURCE, strict=True):
        g = rows[rows["theorem"] == thm] if len(rows) else rows
        holds = as_bool(g["holds"]) if len(g) else pd.Series(dtype=bool)
        signif = as_bool(g["violation_significant"]) if len(g) else holds
        n, n_ok = len(g), int(holds.sum())
        verdict = verdict_from_fraction(n_ok, n)
        if n and verdict != "reproduced" and not signif.any():
            # violations inside the bootstrap CI are not evidence against the bound
            verdict = "partially"
        if n:
            evidence = (
                f"{n_ok}/{n} in-hypothesis rows hold ({g['instance'].nunique()} instances, "
                f"T = {int(g['T'].min())}..{int(g['T'].max())}, {int(g['n_seeds'].min())}+ seeds "
                f"each); measured/bound {_fmt(g['ratio'].min())}..{_fmt(g['ratio'].max())}"
                + (
                    f" (against the sharp bound {_fmt(g['ratio_sharp'].min())}.."
                    f"{_fmt(g['ratio_sharp'].max())})"
                    if "ratio_sharp" in g
                    else ""
                )
                + f"; table theorem_validation_{experiment}.csv"
            )
            # the paper form of Theorems 2-3 (β2 = 0) is twice the sharp one when a term
            # vanishes, so its own half can never be violated there: halve the sharp form
            sharp = g["ratio_sharp"] if "ratio_sharp" in g else g["ratio"]
            halved = int((sharp <= HALVED_BOUND).sum())
            control = control_outcome(
                halved < n,
                f"{halved}/{n} rows also satisfy the halved sharp bound (largest measured/sharp "
                f"bound {_fmt(sharp.max())})",
            )
        else:
            evidence = f"no in-hypothesis rows for {thm} in theorem_validation_{experiment}.csv"
            control = control_outcome(False, "no rows to test the halved bound on")
        out.append(spec.judge(verdict, evidence, control))
    return out


RATE_SPECS = tuple(
    ClaimSpec(
        claim_id=f"rate_{thm}_decay",
        source=source,
        statement=f"With b = T and the prescribed η the criterion decays at the bound's rate "
        f"{RATE[thm]}",
        table="rate_slopes",
        metric="log-log slope of the measured criterion over T (least squares over every T), "
        "per in-hypothesis instance, beside the bound's slope",
        rule=f"reproduced if slope_measured ≤ slope_bound + {SLOPE_SLACK} on every instance "
        "(partially on some)",
        threshold_reason=f"{SLOPE_SLACK} is halfway between the bound's slope and a rate one "
        "step slower (1/T vs 1/√T differ by 0.5): the slope is classified by the nearest "
        "candidate rate, a boundary that follows from the two candidates, not from data",
        control="the measured slopes made 0.5 shallower (a rate one step slower, e.g. 1/√T "
        "instead of 1/T) must be rejected by the same rule on every instance",
        figure="rate",
    )
    for thm, source in THEOREM_SOURCE.items()
)


def rate_claims(tables: dict[str, pd.DataFrame]) -> list[Claim]:
    out = bound_holds(tables, "rate", "rate")
    slopes = tables.get("rate_slopes", pd.DataFrame())
    if len(slopes):
        slopes = slopes[as_bool(slopes["in_hypothesis"])]
    for spec, thm in zip(RATE_SPECS, THEOREM_SOURCE, strict=True):
        g = slopes[slopes["theorem"] == thm] if len(slopes) else slopes
        ok = (g["slope_measured"] <= g["slope_bound"] + SLOPE_SLACK) if len(g) else g
        slower = (
            (g["slope_measured"] + SLOWER_RATE <= g["slope_bound"] + SLOPE_SLACK) if len(g) else g
        )
        parts = [
            f"{r.instance}: {_fmt(r.slope_measured)} [{_fmt(r.slope_ci_low)}, "
            f"{_fmt(r.slope_ci_high)}] vs bound {_fmt(r.slope_bound)}"
            for r in g.itertuples()
        ]
        evidence = (
            "log-log slope over T (bootstrap 95% CI over seeds): "
            + "; ".join(parts)
            + f"; reproduced when slope ≤ bound slope + {SLOPE_SLACK}; table rate_slopes.csv"
            if len(g)
            else "no in-hypothesis slopes in rate_slopes.csv"
        )
        n_slower = int(slower.sum()) if len(g) else 0
        control = control_outcome(
            len(g) > 0 and n_slower == 0,
            f"a slope 0.5 shallower passes the rule on {n_slower}/{len(g)} instances",
        )
        out.append(
            spec.judge(
                verdict_from_fraction(int(ok.sum()) if len(g) else 0, len(g)), evidence, control
            )
        )
    out.append(_rate_criterion(slopes))
    return out


RATE_CRITERION_SPEC = ClaimSpec(
    claim_id="rate_lamb_beta2_criterion",
    source="Theorem 3 (its two cases: 1/T for β2 = 0, 1/√T for 0 < β2 < 1)",
    statement="Theorem 3's slower rate for 0 < β2 < 1 belongs to its criterion, not to β2: on "
    "the common criterion E‖∇f(x_a)‖² LAMB decays at the same rate with β2 = 0 and β2 > 0",
    table="rate_slopes",
    metric="slope_grad_sq (log-log slope over T of E‖∇f(x_a)‖² of the same runs) of LAMB with "
    "β2 = 0 and with β2 > 0, per instance",
    rule=f"reproduced if the two slopes differ by at most {SLOPE_SLACK} on every instance "
    "(partially on some)",
    threshold_reason=f"{SLOPE_SLACK} is the rate rule's boundary: slopes closer than halfway "
    "between 1/T and 1/√T are the same rate",
    control="each case on its own theorem's criterion ((E‖∇f‖₁/√d)² for β2 = 0, E‖∇f‖² for "
    f"β2 > 0) must differ by more than {SLOPE_SLACK}: otherwise the comparison could not tell "
    "the two criteria apart",
    figure="rate",
)


def _rate_criterion(slopes: pd.DataFrame) -> Claim:
    spec = RATE_CRITERION_SPEC
    need = {"slope_grad_sq", "slope_measured", "theorem", "instance"}
    pairs = []
    if len(slopes) and need <= set(slopes):
        zero = slopes[slopes["theorem"] == "lamb_beta2_zero"].set_index("instance")
        pos = slopes[slopes["theorem"] == "lamb_beta2_pos"].set_index("instance")
        pairs = [(i, zero.loc[i], pos.loc[i]) for i in zero.index.intersection(pos.index)]
    if not pairs:
        return spec.judge(
            "not_applicable",
            "no instance with both LAMB cases in rate_slopes.csv",
            control_outcome(False, "no pairs to compare"),
        )
    same = [abs(z["slope_grad_sq"] - p["slope_grad_sq"]) <= SLOPE_SLACK for _, z, p in pairs]
    own = [abs(z["slope_measured"] - p["slope_measured"]) <= SLOPE_SLACK for _, z, p in pairs]
    parts = "; ".join(
        f"{i}: E‖∇f‖² slope {_fmt(z['slope_grad_sq'])} (β2 = 0) vs {_fmt(p['slope_grad_sq'])} "
        f"(β2 > 0); own criteria {_fmt(z['slope_measured'])} vs {_fmt(p['slope_measured'])}"
        for i, z, p in pairs
    )
    return spec.judge(
        verdict_from_fraction(sum(same), len(pairs)),
        f"{sum(same)}/{len(pairs)} instances within {SLOPE_SLACK}: {parts}; table rate_slopes.csv",
        control_outcome(
            not any(own),
            f"on their own criteria the slopes are within {SLOPE_SLACK} on {sum(own)}/"
            f"{len(pairs)} instances",
        ),
    )


NOISE_DENSITY_SPEC = ClaimSpec(
    claim_id="noise_density_layerwise",
    source="Theorems 2 and 3 (noise terms ‖σ‖_1², ‖σ̃‖_1²) and Appendix C (ψ_σ)",
    statement="At equal total noise ‖σ‖², LARS and LAMB (β2 = 0) do better when the noise is "
    "concentrated in few layers than when it is spread (their bounds pay ‖σ‖_1²)",
    table="noise_density",
    metric="measure (the theorem's criterion, mean over seeds) of LARS and LAMB (β2 = 0), "
    "concentrated vs spread layout, per (noise level, method) pair of in-hypothesis rows",
    rule="reproduced if concentrated < spread in every pair, partially in some, not_reproduced "
    "in none",
    threshold_reason="a strict comparison of seed means with no margin: the bounds predict an "
    "ordering (a noise term up to h times smaller), no margin was derived, and seed noise is not "
    "taken into account (CIs are in the table)",
    control="the comparison with the layouts swapped (spread < concentrated in every pair) "
    "must fail",
    figure="noise_density",
)


def noise_density_claims(tables: dict[str, pd.DataFrame]) -> list[Claim]:
    df = tables.get("noise_density", pd.DataFrame())
    df = df[as_bool(df["in_hypothesis"])] if len(df) else df
    layerwise = df[df["theorem"].isin(["lars", "lamb_beta2_zero"])] if len(df) else df
    pairs, ok, swapped, parts = 0, 0, 0, []
    for (level, thm), g in layerwise.groupby(["noise_level", "theorem"]) if len(df) else []:
        conc = g[g["layout"] == "concentrated"]["measure"]
        spread = g[g["layout"] == "spread"]["measure"]
        if len(conc) and len(spread):
            pairs += 1
            ok += int(conc.iloc[0] < spread.iloc[0])
            swapped += int(spread.iloc[0] < conc.iloc[0])
            parts.append(f"{thm} σ={_fmt(level)}: {_fmt(conc.iloc[0])} vs {_fmt(spread.iloc[0])}")
    return [
        NOISE_DENSITY_SPEC.judge(
            verdict_from_fraction(ok, pairs),
            f"measured criterion concentrated < spread in {ok}/{pairs} (method, noise) pairs: "
            + "; ".join(parts)
            + "; table noise_density.csv",
            control_outcome(
                pairs > 0 and swapped < pairs,
                f"with the layouts swapped the ordering holds in {swapped}/{pairs} pairs",
            ),
        )
    ]


# Tightness goals per theorem, fixed before any search ran (the issue that asked for known worst
# cases set them): each is below the closed-form ratio of the theorem's constructive family
# (experiments.reproduction.suites.tightness.constructive_ratio: 1 for Theorem 1; ½ for
# Theorems 2-3 with β2 = 0, where σ = 0 leaves the squaring step's factor 2; 4/(3√3)·√(1 − β2)
# ≈ 0.770 for Theorem 3 with β2 > 0 at T = 1), so the search must at least reach what is derived.
TIGHTNESS_GOAL = {"sgd": 0.95, "lars": 0.45, "lamb_beta2_zero": 0.45, "lamb_beta2_pos": 0.6}
# Closed forms vs the runner: both are float64 evaluations of a few hundred operations on the
# same iterates, so 1e-9 relative is far above rounding and far below any modelling error.
CLOSED_FORM_REL = 1e-9

TIGHTNESS_SPECS = (
    *(
        ClaimSpec(
            claim_id=f"tightness_{thm}_worst_case",
            source=f"{source} (its explicit constant)",
            statement=f"The explicit bound of {source} is nearly attained inside its hypotheses: "
            f"some instance reaches measured/bound ≥ {TIGHTNESS_GOAL[thm]:g}",
            table="tightness_best",
            metric="largest in-hypothesis measured/bound ratio (paper-form bound) over the "
            "constructive family, the grid and the adversarial search",
            rule=f"reproduced if the largest ratio ≥ {TIGHTNESS_GOAL[thm]:g}, not_reproduced "
            "otherwise (the bound itself is judged by the bound rule)",
            threshold_reason="fixed before the search, below the closed-form ratio of the "
            "theorem's constructive family (1 for Theorem 1, ½ for Theorems 2-3 with β2 = 0, "
            "4/(3√3)·√(1 − β2) ≈ 0.770 for β2 > 0 at T = 1)",
            control="the sharp bound (before the final squaring step) with its constant halved "
            "must be violated on the best instance: measured/sharp bound > 0.5 there",
            figure="tightness",
        )
        for thm, source in THEOREM_SOURCE.items()
    ),
    ClaimSpec(
        claim_id="tightness_closed_forms",
        source="toolkit (closed forms of the constructive worst cases)",
        statement="The runner reproduces the closed-form ratios of the constructive families",
        table="tightness",
        metric="measured/bound and measured/sharp bound of the constructive rows with a closed "
        "form, against it",
        rule=f"reproduced if every such row agrees with its closed form to {CLOSED_FORM_REL:g} "
        "relative (both forms), partially if some do",
        threshold_reason="both sides are float64 evaluations of the same iterates; 1e-9 is far "
        "above rounding and far below any modelling error",
        control="the paper-form ratio set against the sharp closed form (the squaring factor "
        "ignored) must disagree on the rows of Theorems 2-3",
        figure="tightness",
    ),
)


def _tightness_worst_case(best: pd.DataFrame) -> list[Claim]:
    out = []
    for spec, thm in zip(TIGHTNESS_SPECS, THEOREM_SOURCE, strict=False):
        g = best[best["theorem"] == thm] if len(best) else best
        if not len(g):
            out.append(
                spec.judge(
                    "not_applicable",
                    "no in-hypothesis rows in tightness_best.csv",
                    control_outcome(False, "no best instance to test the halved bound on"),
                )
            )
            continue
        top = g.loc[g["ratio"].idxmax()]
        per_search = "; ".join(
            f"{r.search} {_fmt(r.ratio)} (sharp {_fmt(r.ratio_sharp)}, T = {int(r.T)}, "
            f"{r.instance_file})"
            for r in g.itertuples()
        )
        factors = (
            f"slack factors on the best: φ range ×{_fmt(top['factor_phi_range'])}, squaring "
            f"×{_fmt(top['factor_squaring'])}, β2 ×{_fmt(top['factor_beta2'])}, rest "
            f"×{_fmt(top['factor_rest'])}"
        )
        out.append(
            spec.judge(
                "reproduced" if top["ratio"] >= TIGHTNESS_GOAL[thm] else "not_reproduced",
                f"largest ratio {_fmt(top['ratio'])} ({top['search']}, {top['family']}, "
                f"T = {int(top['T'])}, {int(top['n_seeds'])} seeds; goal "
                f"{TIGHTNESS_GOAL[thm]:g}); per search: {per_search}; {factors}; "
                "table tightness_best.csv",
                control_outcome(
                    bool(top["ratio_sharp"] > HALVED_BOUND),
                    f"measured/sharp bound on the best instance is {_fmt(top['ratio_sharp'])}: "
                    "the halved sharp bound "
                    + ("is violated" if top["ratio_sharp"] > HALVED_BOUND else "still holds"),
                ),
            )
        )
    return out


def _closed_forms(rows: pd.DataFrame) -> Claim:
    spec = TIGHTNESS_SPECS[-1]
    if "closed_form_ratio" in rows:
        rows = rows[np.isfinite(rows["closed_form_ratio"].astype(float))]
    else:
        rows = rows.iloc[:0]
    if not len(rows):
        return spec.judge(
            "not_applicable",
            "no constructive rows with a closed form in tightness.csv",
            control_outcome(False, "no rows to test the control on"),
        )

    def agree(measured, form):
        return np.abs(measured - form) <= CLOSED_FORM_REL * np.abs(form)

    ok = agree(rows["ratio"], rows["closed_form_ratio"]) & agree(
        rows["ratio_sharp"], rows["closed_form_ratio_sharp"]
    )
    layer = rows[rows["theorem"].isin(["lars", "lamb_beta2_zero"])]
    fooled = int(agree(layer["ratio"], layer["closed_form_ratio_sharp"]).sum())
    worst = np.max(np.abs(rows["ratio"] / rows["closed_form_ratio"] - 1))
    return spec.judge(
        verdict_from_fraction(int(ok.sum()), len(rows)),
        f"{int(ok.sum())}/{len(rows)} constructive rows agree with their closed form (largest "
        f"relative difference {worst:.2g}; T = {sorted(set(rows['T'].astype(int)))}); "
        "table tightness.csv",
        control_outcome(
            len(layer) > 0 and fooled == 0,
            f"against the sharp closed form the paper-form ratio agrees on {fooled}/{len(layer)} "
            "rows of Theorems 2-3",
        ),
    )


def tightness_claims(tables: dict[str, pd.DataFrame]) -> list[Claim]:
    out = bound_holds(tables, "tightness", "tightness")
    out.extend(_tightness_worst_case(tables.get("tightness_best", pd.DataFrame())))
    rows = tables.get("tightness", pd.DataFrame())
    out.append(_closed_forms(rows[rows["search"] == "constructive"] if len(rows) else rows))
    return out


def _lemma_spec(claim_id: str, source: str, statement: str, metric: str) -> ClaimSpec:
    return ClaimSpec(
        claim_id=claim_id,
        source=source,
        statement=statement,
        table="lemma_checks",
        metric=metric,
        rule="reproduced if the row holds (measured ≤ bound) on every in-hypothesis row, "
        "partially on some, not_reproduced on none",
        threshold_reason="the bound is the inequality itself, with no slack; the measured "
        "side is a point estimate (its 95% interval is in the table, not used)",
        control="the same rows against the bound halved (ratio ≤ 0.5 on every row) must fail: "
        "a bound tight within 2× fails this",
        figure="lemmas",
    )


LEMMA_SPECS = (
    _lemma_spec(
        "lemma_normalisation_bias",
        "Theorem 2, proof (Appendix A): normalisation-bias step, explicit constant derived by "
        "the toolkit",
        "‖∇_i f‖·‖g/‖g‖ − ∇_i f/‖∇_i f‖‖ ≤ 2‖g − ∇_i f‖ (Theorem 2's proof), in expectation "
        "≤ 2σ_i/√b",
        "ratio = E[lhs] / (2σ_i/√b) on the worst layer, per (noise, batch size) row; holds",
    ),
    _lemma_spec(
        "lemma_sign_disagreement",
        "Theorem 3 (β2 = 0), proof (Appendix B): sign-disagreement step, explicit form derived "
        "by the toolkit",
        "P(sign ḡ_j ≠ sign ∇_j f) ≤ σ̃_j/(√b|∇_j f|) (Theorem 3's proof, β2 = 0)",
        "ratio = disagreement frequency / (σ̃_j/(√b|∇_j f|)) on the worst coordinate, per "
        "(noise, batch size) row; holds also requires every coordinate within its bound",
    ),
)


def lemma_claims(tables: dict[str, pd.DataFrame]) -> list[Claim]:
    df = in_hypothesis_rows(tables.get("lemma_checks", pd.DataFrame()))
    out = []
    for spec in LEMMA_SPECS:
        g = df[df["theorem"] == spec.claim_id] if len(df) else df
        if not len(g):
            out.append(
                spec.judge(
                    "not_applicable",
                    f"no in-hypothesis rows for {spec.claim_id} in lemma_checks.csv",
                    control_outcome(False, "no rows to test the halved bound on"),
                )
            )
            continue
        holds = as_bool(g["holds"])
        halved = int((g["ratio"] <= HALVED_BOUND).sum())
        out.append(
            spec.judge(
                verdict_from_fraction(int(holds.sum()), len(g)),
                f"{int(holds.sum())}/{len(g)} rows hold; measured/bound "
                f"{_fmt(g['ratio'].min())}..{_fmt(g['ratio'].max())}; table lemma_checks.csv",
                control_outcome(
                    halved < len(g),
                    f"{halved}/{len(g)} rows also satisfy the halved bound (largest ratio "
                    f"{_fmt(g['ratio'].max())})",
                ),
            )
        )
    return out
