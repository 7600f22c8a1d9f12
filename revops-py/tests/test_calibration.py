"""revops.calibration: scikit-learn's numbers (the oracle of tests/data/) from
pyarrow, NumPy, pandas and polars arrays; outcomes as booleans, text or 0/1; bad
rows named."""

import json
import math

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import revops
from conftest import oracle


def close(got: float, want: float) -> bool:
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)


def scores(table: pa.Table) -> dict:
    return json.loads(table.schema.metadata[b"revops.scores"])


def test_scikit_learn_oracle():
    want = oracle("calibration.json")
    curves = 0
    for v in want["vectors"]:
        won = [bool(y) for y in v["y"]]
        for key, curve in v["calibration_curve"].items():
            strategy, bins = key.split("_")
            t = revops.calibration(v["p"], won, strategy=strategy, bins=int(bins))
            rows = t.to_pylist()
            assert [r["count"] for r in rows] == curve["counts"], (v["id"], key)
            for r, true, pred in zip(rows, curve["prob_true"], curve["prob_pred"]):
                assert close(r["value"], true), (v["id"], key)
                assert close(r["mean_predicted"], pred), (v["id"], key)
                assert r["denominator"] == r["count"]
                assert r["lower"] <= r["value"] <= r["upper"]
            s = scores(t)
            assert close(s["ece"], curve["ece"]) and close(s["mce"], curve["mce"]), key
            curves += 1
        s = scores(revops.calibration(v["p"], won))
        for m in ["brier", "log_loss", "roc_auc"]:
            assert close(s[m], v[m]), (v["id"], m, s[m], v[m])
        assert s["won"] + s["lost"] == len(v["p"]) and s["open"] == 0
    assert curves == 18


def test_array_kinds_and_outcome_forms_give_identical_results():
    v = oracle("calibration.json")["vectors"][2]
    p, y = v["p"], v["y"]
    want = revops.calibration(p, [bool(x) for x in y])
    text = ["won" if x else "LOST" for x in y]
    for name, (probabilities, outcomes) in {
        "pyarrow": (pa.array(p), pa.array([bool(x) for x in y])),
        "chunked": (pa.chunked_array([p[:50], p[50:]]), pa.chunked_array([text[:7], text[7:]])),
        "numpy 0/1": (np.array(p), np.array(y, dtype=np.int8)),
        "pandas": (pd.Series(p), pd.Series(text, dtype="string")),
        "polars": (pl.Series(p), pl.Series([bool(x) for x in y])),
        "polars text": (pl.Series(p), pl.Series(text)),
    }.items():
        got = revops.calibration(probabilities, outcomes)
        assert got.equals(want), name
        assert scores(got) == scores(want), name


def test_open_outcomes_are_counted_and_left_out():
    closed = revops.calibration([0.2, 0.9], [False, True], bins=2)
    with_open = revops.calibration([0.2, 0.9, 0.5], [False, True, None], bins=2)
    assert with_open.equals(closed)
    assert scores(with_open)["open"] == 1
    assert scores(revops.calibration([0.2, 0.5], ["lost", "open"], bins=2))["open"] == 1


def test_policies_are_the_rust_options():
    p, y = [0.1, 0.2, 0.3, 0.35, 0.9], [False, False, True, False, True]
    uniform = revops.calibration(p, y, bins=2)
    assert uniform.column("count").to_pylist() == [4, 1]
    quantile = revops.calibration(p, y, bins=2, strategy="quantile")
    assert quantile.column("count").to_pylist() == [3, 2]
    narrow = revops.calibration(p, y, bins=2, confidence=0.5).to_pylist()[0]
    wide = uniform.to_pylist()[0]
    assert wide["lower"] < narrow["lower"] and narrow["upper"] < wide["upper"]
    with pytest.raises(revops.RevopsError, match="`strategy`"):
        revops.calibration(p, y, strategy="even")
    with pytest.raises(revops.RevopsError, match="bins"):
        revops.calibration(p, y, bins=0)
    with pytest.raises(revops.RevopsError, match="confidence"):
        revops.calibration(p, y, confidence=1.5)


def test_bad_rows_raise_naming_the_row():
    with pytest.raises(revops.RevopsError, match="row 1: a probability is required"):
        revops.calibration([0.2, None], [True, False])
    with pytest.raises(revops.RevopsError, match="row 2: an outcome is"):
        revops.calibration([0.2, 0.3, 0.4], ["won", "lost", "maybe"])
    with pytest.raises(revops.RevopsError, match="row 0: an outcome is"):
        revops.calibration([0.2], [2])
    with pytest.raises(revops.RevopsError, match="#1"):
        revops.calibration([0.2, 1.5], [True, False])
    with pytest.raises(revops.RevopsError, match="one outcome per probability"):
        revops.calibration([0.2, 0.5], [True])
    with pytest.raises(TypeError, match="`probabilities` must be an array"):
        revops.calibration(object(), [True])
