"""revops.forecast_errors: utilsforecast's numbers (the oracle of tests/data/) from
pyarrow, pandas and polars tables, and bad rows named."""

import math

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import revops
from conftest import oracle

METRICS = ["mae", "mse", "rmse", "mape", "smape", "bias", "cfe", "wape"]


def oracle_table() -> tuple[pa.Table, dict]:
    """The oracle's series as a forecasts table, each with one point not known yet."""
    want = oracle("forecast_errors.json")
    rows = {"series": [], "period": [], "forecast": [], "actual": []}
    for case in want["series"]:
        for i, (f, y) in enumerate(zip(case["forecast"], case["actual"])):
            rows["series"].append(case["series"])
            rows["period"].append(f"t{i:02}")
            rows["forecast"].append(float(f))
            rows["actual"].append(float(y))
        rows["series"].append(case["series"])
        rows["period"].append("t99")
        rows["forecast"].append(1.0)
        rows["actual"].append(None)
    return pa.table(rows), want


def close(got: float, want: float) -> bool:
    return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12)


def test_utilsforecast_oracle_per_series_and_pooled():
    table, want = oracle_table()
    result = revops.forecast_errors(table)
    rows = result.to_pylist()
    assert [r["series"] for r in rows] == [c["series"] for c in want["series"]] + [None]
    for case, got in zip(want["series"], rows):
        assert got["n"] == len(case["actual"])
        assert got["missing_actual"] == 1
        for m in METRICS:
            assert close(got[m], case[m]), (case["series"], m, got[m], case[m])
    pooled = rows[-1]
    assert pooled["n"] == sum(len(c["actual"]) for c in want["series"])
    assert pooled["missing_actual"] == len(want["series"])
    assert close(pooled["cfe"], sum(c["cfe"] for c in want["series"]))
    assert result.schema.field("n").type == pa.uint64()
    assert result.schema.field("mape").type == pa.float64()


def test_pyarrow_pandas_and_polars_inputs_give_identical_results():
    table, _ = oracle_table()
    want = revops.forecast_errors(table)
    for name, frame in {
        "pandas": table.to_pandas(),
        "polars": pl.from_arrow(table),
        "record batch": table.combine_chunks().to_batches()[0],
        "many batches": pa.Table.from_batches(table.to_batches(max_chunksize=3)),
    }.items():
        assert revops.forecast_errors(frame).equals(want), name


def test_policies_are_the_rust_options():
    table = pa.table(
        {"series": ["a", "a"], "period": ["t1", "t2"], "forecast": [110.0, 5.0], "actual": [100.0, 0.0]}
    )
    skip = revops.forecast_errors(table).to_pylist()[0]
    assert (skip["mape"], skip["mape_n"], skip["zero_actual"]) == (0.1, 1, 1)
    with pytest.raises(revops.RevopsError) as e:
        revops.forecast_errors(table, zero_actual="error")
    assert "actual is 0, so MAPE is undefined" in str(e.value)
    assert "t2" in str(e.value) or "#1" in str(e.value), str(e.value)
    # accuracy 115/100 = 1.15: good by default, over with a tighter band.
    assert skip["band"] == "good"
    tight = revops.forecast_errors(table, bands={"under": 0.9, "over": 1.1}).to_pylist()[0]
    assert tight["band"] == "over"
    with pytest.raises(revops.RevopsError, match="`bands`"):
        revops.forecast_errors(table, bands={"under": 1.2, "over": 1.1})
    with pytest.raises(revops.RevopsError, match="`zero_actual`"):
        revops.forecast_errors(table, zero_actual="ignore")


def test_a_bad_row_raises_naming_the_row_and_column():
    good = pa.table({"series": ["a"], "period": ["t1"], "forecast": [1.0], "actual": [1.0]})
    bad = pa.table({"series": ["a", None], "period": ["t2", "t3"], "forecast": [1.0, 2.0], "actual": [1.0, 2.0]})
    with pytest.raises(revops.RevopsError) as e:
        revops.forecast_errors(pa.Table.from_batches(good.to_batches() + bad.to_batches()))
    assert (e.value.source, e.value.row, e.value.column) == ("forecasts", 2, "series")
    assert str(e.value).startswith("forecasts row 2 (batch 1), column `series`")
    with pytest.raises(revops.RevopsError) as e:
        revops.forecast_errors(pa.table({"series": ["a"], "period": ["t1"], "forecast": [1.0]}))
    assert "actual" in str(e.value)
    with pytest.raises(TypeError, match="`forecasts` must be a table"):
        revops.forecast_errors({"series": ["a"]})
