"""Every public golden trajectory (optax, TF-Addons, timm, torch-optimizer, Keras 3) replayed
in both backends."""

import pytest

from lamb_ref import conformance
from lamb_ref.variants import NAMES
from tests.tolerances import GOLDEN_ABS

GOLDEN = conformance.load_golden()


def test_golden_file_is_complete():
    assert len(GOLDEN["cases"]) == 23
    assert {c["variant"] for c in GOLDEN["cases"]} <= set(NAMES)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["id"] for c in GOLDEN["cases"]])
def test_golden_trajectory(case, backend):
    err = conformance.case_error(case, GOLDEN["problem"], backend)
    assert err <= GOLDEN_ABS, f"{case['id']} ({case['library']}) off by {err:.3e} in {backend}"


def test_golden_detects_a_wrong_variant():
    """The comparison has teeth: replaying a case with a neighbouring variant fails it."""
    case = next(c for c in GOLDEN["cases"] if c["id"] == "torch_optimizer_lamb_debias")
    wrong = {**case, "variant": "torch_optimizer"}
    assert conformance.case_error(wrong, GOLDEN["problem"], "numpy") > 1e-3


def test_conformance_table_and_cli(tmp_path, capsys):
    path = tmp_path / "conformance.csv"
    assert conformance.main(["--csv", str(path)]) == 0
    out = capsys.readouterr().out
    assert "23/23 golden cases agree" in out
    # the matrix view: one row per golden variant, a column per library, "-" where untested
    matrix = out.split("Variant x library")[1].splitlines()[1:]
    header, body = matrix[0].split(), [line.split() for line in matrix[1:] if line.strip()]
    assert header[1:] == ["keras", "optax", "tensorflow-addons", "timm", "torch-optimizer"]
    assert {row[0] for row in body} == {c["variant"] for c in GOLDEN["cases"]}
    lars_2017 = next(row for row in body if row[0] == "lars_2017")
    assert lars_2017[1:4] == ["-", "-", "-"] and float(lars_2017[4]) <= GOLDEN_ABS
    import pandas as pd

    df = pd.read_csv(path)
    assert len(df) == 23 and df["agrees"].all()
