"""Constants measured on a real network flow into the theorems' bounds: the smoothness tools
return exactly the names ``theory.THEOREMS[...].evaluate`` takes, and the snippet of
docs/training.md runs and gives finite positive bounds."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.training import smoothness
from theory import THEOREMS, symbols

DOC = Path(__file__).resolve().parents[1] / "docs" / "training.md"
HEADING = "## From a network's L_i and σ_i to a bound"
# what a profile table cannot give, passed by the caller
CALLER = {"f_gap": 2.3, "T": 16, "alpha_l": 0.5, "alpha_u": 2.0, "G": 5.0, "beta2": 0.9}


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "step": [0, 0, 5, 5],
            "layer": ["a", "b", "a", "b"],
            "size": [2, 3, 2, 3],
            "L": [1.0, 4.0, 3.0, 2.0],
            "sigma": [0.5, 0.1, 0.2, 0.3],
        }
    )


def test_names_are_exactly_theory_constant_names():
    c, summary = smoothness.theory_constants(_table()), smoothness.constants_summary(_table())
    assert type(c) is dict and set(c) == set(smoothness.CONSTANT_KEYS) <= set(
        symbols.CONSTANT_NAMES
    )
    # every symbol of every bound is determined by these entries and the caller's constants
    values = symbols.aggregates(**c, **CALLER)
    for key, thm in THEOREMS.items():
        assert set(thm.symbols) <= set(values), key
    # the summary statistics are the values of theory's aggregate symbols
    by_name = {s.name: v for s, v in values.items()}
    assert set(smoothness.SUMMARY_SYMBOLS.values()) <= set(by_name)
    for name, sym in smoothness.SUMMARY_SYMBOLS.items():
        assert {**c, **summary}[name] == pytest.approx(by_name[sym]), name
    assert summary["tilde_sigma_1"] == pytest.approx(0.5 * np.sqrt(2) + 0.3 * np.sqrt(3))
    assert summary["layers"] == ["a", "b"] and summary["heterogeneity"] == 4.0 / 3.5
    for key, thm in THEOREMS.items():
        bound = thm.evaluate(**c, **CALLER)
        assert math.isfinite(bound) and bound > 0, key
        assert bound == pytest.approx(thm.evaluate_sympy(**c, **CALLER), rel=1e-9), key
    # what used to be passed is refused by name, on theory's side (its check is unchanged)
    with pytest.raises(ValueError, match=r"unknown constant\(s\) \['L_1', 'L_avg'"):
        THEOREMS["lars"].evaluate(**c, **summary, **CALLER)


def test_the_documented_snippet_on_a_tiny_mlp(capsys):
    text = DOC.read_text(encoding="utf-8")
    assert HEADING in text
    code = re.search(r"```python\n(.*?)```", text.split(HEADING, 1)[1], re.S).group(1)
    scope: dict = {}
    exec(compile(code, f"{DOC.name} snippet", "exec"), scope)
    c, bound = scope["constants"], scope["bound"]
    assert math.isfinite(bound) and bound > 0
    assert "Theorem 2 bound" in capsys.readouterr().out
    assert set(c) == set(smoothness.CONSTANT_KEYS)
    assert c["h"] == 4 and c["d"] == 64 * 64 + 64 + 64 * 10 + 10 == len(c["sigma_coord"])
    # the same constants give every theorem a finite positive bound
    extra = {k: scope[k] for k in ("f_gap", "T")}
    for key, thm in THEOREMS.items():
        value = thm.evaluate(**c, **extra, alpha_l=1.0, alpha_u=1.0, G=10.0, beta2=0.99)
        assert math.isfinite(value) and value > 0, key
