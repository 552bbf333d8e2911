"""Figures: every figure renders from small real tables, shows the series it promises, and
``render_all`` writes PNG + PDF for present tables, skips missing ones with a reason, and rejects
malformed ones naming the figure, the table and the columns.

Fixtures (``tests/data/figures/*.csv``) are row subsets of a default-profile run's tables, with
their columns unchanged; the long ``per_seed`` lists are cut to their first two values to keep the
files small (no figure reads them). ``bias_correction.csv`` is a row subset of the smoke profile
of ``experiments.reproduction.suites.bias_correction``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest

import figures
from figures import style
from figures.heterogeneity import crossover

DATA = Path(__file__).parent / "data" / "figures"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _tables(name: str) -> dict[str, pd.DataFrame]:
    return {k: pd.read_csv(DATA / f"{t}.csv") for k, t in figures.tables_needed(name).items()}


def _make(name: str, **override):
    tables = {**_tables(name), **override}
    return figures.FIGURES[name].make(tables.pop("table"), **tables)


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def _legend_texts(legend) -> list[str]:
    return [t.get_text() for t in legend.get_texts()] if legend else []


def _dashed(ax) -> list:
    return [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]


def test_every_figure_declares_its_contract():
    required = {
        "rate",
        "heterogeneity",
        "noise_density",
        "tightness",
        "trust_ratios",
        "bias_correction",
        "baselines",
        "lemmas",
    }
    assert required <= set(figures.FIGURES)
    for name, mod in figures.FIGURES.items():
        assert mod.NAME == name
        assert isinstance(mod.TABLE, str) and mod.TABLE
        assert isinstance(mod.EXTRA, dict)
        assert mod.TITLE.strip() and mod.CAPTION.strip().endswith(".")
        assert (DATA / f"{mod.TABLE}.csv").is_file(), f"no fixture for {name}"


def test_rate_panels_lines_and_log_axes():
    fig = _make("rate")
    axes = _visible_axes(fig)
    table = _tables("rate")["table"]
    n_inst = table["instance"].nunique()
    assert len(axes) == table["theorem"].nunique() == 4
    assert [ax.get_title() for ax in axes] == [style.theorem_title(t) for t in style.THEOREM_ORDER]
    for ax in axes:
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert ax.get_xlabel().startswith("T") and ax.get_ylabel()
        labels = _legend_texts(ax.get_legend())
        assert len(labels) == n_inst and all("bound" in s for s in labels)
        assert len(_dashed(ax)) == n_inst  # one dashed bound per instance
        assert len(ax.collections) == n_inst  # one CI band per instance
    assert {"measured (95% CI band)", "bound"} <= set(_legend_texts(fig.legends[0]))
    # bounds are dashed in the method's colour family (the first instance: the colour itself)
    assert _dashed(axes[1])[0].get_color().lower() == style.color("lars").lower()


def test_rate_fitted_slopes_match_the_table():
    table = _tables("rate")["table"]
    fig = _make("rate")
    g = table[(table["theorem"] == "lamb_beta2_pos") & (table["instance"] == "chain_cosine-h4x16")]
    expected = np.polyfit(np.log(g["T"]), np.log(g["measure"]), 1)[0]
    labels = _legend_texts(_visible_axes(fig)[3].get_legend())
    assert f"chain_cosine: {expected:.2f} (bound -0.50)" in labels


def test_rate_marks_rows_outside_the_hypotheses():
    table = _tables("rate")["table"].copy()
    table.loc[table.index[0], "in_hypothesis"] = False
    fig = figures.rate.make(table)
    assert "outside hypotheses" in _legend_texts(fig.legends[0])


def test_heterogeneity_ratio_panels_control_and_both_bound_forms():
    table = _tables("heterogeneity")["table"]
    fig = _make("heterogeneity")
    axes = _visible_axes(fig)
    # one panel per (family, method)
    assert len(axes) == table["family"].nunique() * table["method"].nunique() == 4
    legend = _legend_texts(fig.legends[0])
    for want in ("measured ratio, uniform-curvature control", "bound, paper form",
                 "bound, before squaring", "equal to SGD (ratio 1)"):  # fmt: skip
        assert want in legend
    for ax in axes:
        assert ax.get_yscale() == "log" and "r_L" in ax.get_xlabel()
        styles = {ln.get_linestyle() for ln in ax.get_lines()}
        assert {"-", ":", "--", "-."} <= styles  # measured, control, paper and sharp bounds
        (box,) = [t.get_text() for t in ax.texts if "bound crosses" in t.get_text()]
        assert "paper: $r_L \\approx$ 2" in box and "sharp: $r_L \\approx$ 1.1" in box


def test_crossover_interpolates_the_sign_change():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    assert crossover(x, 3 - x, x) == pytest.approx(1.5)
    assert crossover(x, x + 1, x) is None


def test_noise_density_layouts_per_theorem():
    fig = _make("noise_density")
    axes = _visible_axes(fig)
    assert len(axes) == 4
    for ax in axes:
        assert _legend_texts(ax.get_legend()) == [
            "concentrated: measured",
            "concentrated: bound",
            "spread: measured",
            "spread: bound",
        ]
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        ticks = [float(t) for t in ax.xaxis.get_major_locator()()]
        assert ticks == [0.5, 8.0]


def test_tightness_strip_marks_the_tightest_instance():
    tables = _tables("tightness")
    fig = _make("tightness")
    ax, over_T = _visible_axes(fig)
    # the second panel: the constructive rows over T (the fixture has none: says so)
    assert over_T.get_title() == "Constructive worst cases over T"
    stars = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert len(stars) == tables["best"]["theorem"].nunique() == 4
    best = tables["best"].groupby("theorem")["ratio"].max()
    star_y = sorted(float(ln.get_ydata()[0]) for ln in stars)
    assert star_y == pytest.approx(sorted(best.to_numpy()))
    assert ax.get_yscale() == "log"
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert [t.split("\n")[0] for t in ticks] == [
        style.theorem_title(t) for t in style.THEOREM_ORDER
    ]
    # the tightest instance's name sits under its theorem (its own slot, wrapped), its ratio
    # beside the star, right of the jittered points
    assert all("\ntightest " in t for t in ticks)
    assert all(len(line) <= 24 for t in ticks for line in t.split("\n")[2:])
    for text, star in zip(sorted(ax.texts, key=lambda t: t.xy[0]),
                          sorted(stars, key=lambda s: s.get_xdata()[0]), strict=True):  # fmt: skip
        assert text.get_position()[0] > star.get_xdata()[0] + 0.28
        assert float(text.get_text()) == pytest.approx(star.get_ydata()[0], rel=1e-2)


def test_trust_ratios_one_line_and_band_per_layer():
    table = _tables("trust_ratios")["table"]
    fig = _make("trust_ratios")
    axes = _visible_axes(fig)
    assert len(axes) == table["theorem"].nunique() == 3
    n_layers = table["layer"].nunique()
    from figures.trust_ratios import CLIP_LABEL, plateaus

    for ax in axes:
        layer_lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        assert len(layer_lines) == n_layers and len(ax.collections) == n_layers
        # every layer is visible where layers coincide: distinct dash and marker per layer
        assert len({(ln.get_linestyle(), ln.get_marker()) for ln in layer_lines}) == n_layers
        assert ax.get_yscale() == "log" and ax.get_xlabel() == "step t"
        assert ax.get_legend() is None
    # levels held exactly on every seed (φ at a clip bound) are drawn and labelled
    for ax, thm in zip(axes, style.order(table["theorem"].unique()), strict=True):
        levels = plateaus(table[table["theorem"] == thm])
        marked = [ln for ln in ax.get_lines() if ln.get_label().startswith("_")]
        assert len(marked) == len(levels)
        assert sum(t.get_text().startswith("flat at ") for t in ax.texts) == len(levels)
    lamb0 = plateaus(table[table["theorem"] == "lamb_beta2_zero"])
    assert lamb0 == pytest.approx([0.125, 0.5])
    # one legend for all panels, below them: every layer and the clip-level line
    labels = _legend_texts(fig.legends[0])
    assert len(labels) == n_layers + 1 and labels[-1] == CLIP_LABEL


def test_bias_correction_factor_and_warmup():
    table = _tables("bias_correction")["table"]
    fig = _make("bias_correction")
    left, right = _visible_axes(fig)
    n_pairs = len(table[["beta1", "beta2"]].drop_duplicates())
    assert len([ln for ln in left.get_lines() if ln.get_linestyle() == "-"]) >= n_pairs
    assert len(_dashed(left)) == n_pairs
    assert left.get_xscale() == "log"
    labels = _legend_texts(fig.legends[0])
    assert sum("W = " in s for s in labels) == n_pairs
    assert any("(paper)" in s for s in labels)
    right_labels = _legend_texts(right.get_legend())
    assert any(s.startswith("c(t) ≥ 0.9 by t") for s in right_labels)
    assert any(s.startswith("c(t) ≥ 0.99 by t") for s in right_labels)


def test_baselines_metrics_side_by_side_per_arm():
    table = _tables("baselines")["table"]
    fig = _make("baselines")
    axes = _visible_axes(fig)
    cells = table[["instance", "batch_size"]].drop_duplicates()
    assert len(axes) == 3 * len(cells)  # f - f*, E‖∇f‖², steps to ε per (instance, b)
    labels = _legend_texts(fig.legends[0])
    assert labels[:4] == [
        "SGD (momentum at β1 = 0.9)",
        "LARS",
        "LAMB",
        "Adam (RMSProp-like at β1 = 0)",
    ]
    assert "ε not reached in T" in labels
    arms = table[["beta1", "schedule"]].drop_duplicates()
    for k, ax in enumerate(axes):
        assert [t.get_text() for t in ax.get_xticklabels()][: len(arms)] == [
            f"β1={b:g}\n{s}" for b, s in sorted(arms.itertuples(index=False))
        ]
        # one bar per method and arm, except where steps to ε were not reached (a cross)
        crosses = sum(len(ln.get_xdata()) for ln in ax.get_lines() if ln.get_marker() == "x")
        assert len(ax.patches) + crosses == 4 * len(arms)
        assert ax.get_yscale() == ("linear" if k % 3 == 2 else "log")
    assert axes[0].get_ylabel().startswith("final f − f*")


def test_lemmas_measured_with_intervals_and_bounds():
    fig = _make("lemmas")
    axes = _visible_axes(fig)
    assert len(axes) == 2
    for ax in axes:
        assert len(ax.containers) == 2  # one errorbar series per noise kind
        assert len(_dashed(ax)) == 2
        assert ax.get_xscale() == "log"
    # a measured frequency of exactly 0 keeps the sign panel on a linear axis
    assert axes[0].get_yscale() == "log" and axes[1].get_yscale() == "linear"
    # the legends sit under the panels, off the bound lines
    for ax in axes:
        anchor = ax.get_legend().get_bbox_to_anchor().transformed(ax.transAxes.inverted())
        assert anchor.y0 < 0


def test_lb_trust_ratios_types_many_layers():
    from figures.lb_trust_ratios import layer_type

    table = _tables("lb_trust_ratios")["table"]
    fig = _make("lb_trust_ratios")
    adapted = table[style.as_bool(table["adapted"])]
    bert = sorted(adapted.loc[adapted["net"] == "mlm/bert", "layer"].unique())
    assert layer_type("encoder/layer_0/attention/query/kernel") == "attention q/k/v"
    assert layer_type("encoder/layer_1/intermediate/kernel") == "feed-forward in"
    assert layer_type("embeddings/word_embeddings/embedding") == "embeddings"
    if len(bert) > 8:  # too many to name: coloured by type, with a legend of the types
        labels = _legend_texts(fig.legends[0])
        assert {layer_type(x) for x in bert} <= set(labels)
        for ax in _visible_axes(fig):
            if ax.get_title().endswith("mlm/bert"):
                colours = {ln.get_color() for ln in ax.get_lines()}
                assert len(colours) == len({layer_type(x) for x in bert})


def test_lb_smoothness_axis_spans_at_most_the_shown_decades():
    from figures.lb_smoothness import DECADES

    fig = _make("lb_smoothness")
    for ax in _visible_axes(fig)[:2]:
        lo, hi = ax.get_ylim()
        assert np.log10(hi / lo) <= DECADES + 1


def test_figures_leave_matplotlib_global_state_alone():
    before = dict(mpl.rcParams)
    plt = sys.modules.get("matplotlib.pyplot")  # only inspected, never imported here
    n_open = len(plt.get_fignums()) if plt else 0
    fig = _make("lemmas")
    assert dict(mpl.rcParams) == before
    if plt:
        assert len(plt.get_fignums()) == n_open
    assert fig.texts[0].get_fontsize() == style.RC["figure.titlesize"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("figs")
    return out, figures.render_all(DATA, out)


def test_render_all_writes_png_and_pdf(rendered):
    out, result = rendered
    assert set(result) == set(figures.FIGURES)
    for name, res in result.items():
        assert "files" in res, res
        assert res["files"] == [str(out / f"{name}.png"), str(out / f"{name}.pdf")]
        assert (out / f"{name}.png").read_bytes()[:8] == PNG_MAGIC
        assert (out / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{n}.{ext}" for n in figures.FIGURES for ext in figures.FORMATS
    )  # no temporary files left behind


def test_render_all_skips_missing_and_empty_tables(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    for name in ("heterogeneity", "tightness"):  # tightness without tightness_best
        shutil.copy(DATA / f"{name}.csv", tables)
    header = pd.read_csv(DATA / "lemma_checks.csv").iloc[:0]
    header.to_csv(tables / "lemma_checks.csv", index=False)
    result = figures.render_all(tables, tmp_path / "figs")
    assert result["heterogeneity"] == {
        "files": [str(tmp_path / "figs" / f"heterogeneity.{e}") for e in figures.FORMATS]
    }
    assert "missing table tightness_best" in result["tightness"]["skipped"]
    assert "missing table theorem_validation_rate" in result["rate"]["skipped"]
    assert "empty table lemma_checks" in result["lemmas"]["skipped"]
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "heterogeneity.pdf",
        "heterogeneity.png",
    ]


@pytest.mark.parametrize("name", sorted(figures.FIGURES))
def test_malformed_table_names_figure_table_and_columns(tmp_path, name):
    mod = figures.FIGURES[name]
    for table in figures.tables_needed(name).values():
        shutil.copy(DATA / f"{table}.csv", tmp_path)
    dropped = mod.COLUMNS[0]
    pd.read_csv(DATA / f"{mod.TABLE}.csv").drop(columns=[dropped]).to_csv(
        tmp_path / f"{mod.TABLE}.csv", index=False
    )
    with pytest.raises(ValueError) as err:
        figures.render_all(tmp_path, tmp_path / "figs", [name])
    msg = str(err.value)
    assert repr(name) in msg and repr(mod.TABLE) in msg and repr(dropped) in msg
    assert not (tmp_path / "figs" / f"{name}.png").exists()


def test_render_all_rejects_unknown_names(tmp_path):
    with pytest.raises(ValueError, match="unknown"):
        figures.render_all(DATA, tmp_path, ["no_such_figure"])


def test_style_names_colours_and_labels():
    for name in (
        "sgd lars lamb_beta2_zero lamb_beta2_pos lamb lamb_v3 adam adamw momentum nesterov "
        "adagrad nlamb nnlamb lars_2017 optax_lars"
    ).split():
        assert name in style.COLORS and name in style.LABELS
    assert len(set(style.COLORS.values())) == len(style.COLORS)
    assert style.label("lamb_beta2_pos") == "LAMB (β2>0)"
    assert style.label("lamb(b2=0.9)") == "LAMB (β2=0.9)"
    assert style.color("lamb(b2=0)") == style.COLORS["lamb_beta2_zero"]
    assert style.color("lamb(b2=0.9)") == style.COLORS["lamb_beta2_pos"]
    assert style.color("something_new") == style.FALLBACK_COLOR
    assert style.label("something_new") == "something_new"
