"""revops.report and revops.report_html: the core's consolidated report of the
synthetic company, equal to what `demo --data` writes (report.json, report.html),
from the folder and from a dict of pyarrow, pandas or polars tables; bad rows
named."""

from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

import revops
from synthetic import company, demo_report, table

NAMES = ["leads", "stage_events", "touches", "conversions", "spend", "opportunity_history", "forecasts"]


def test_report_of_the_folder_equals_the_demo_report():
    want_json, want_html = demo_report()
    assert revops.report(company()) == want_json
    assert revops.report(str(company())) == want_json
    assert revops.report_html(company()) == want_html


def test_report_of_tables_equals_the_report_of_the_folder():
    want_json, want_html = demo_report()
    tables = {name: table(name) for name in NAMES}
    assert revops.report(tables) == want_json
    assert revops.report_html(tables) == want_html
    assert revops.report({k: t.to_pandas() for k, t in tables.items()}) == want_json
    assert revops.report({k: pl.from_arrow(t) for k, t in tables.items()}) == want_json


def test_options_are_the_rust_options():
    tables = {name: table(name) for name in ["leads", "stage_events", "opportunity_history"]}
    r = revops.report(tables, breakdown=None, cohort_granularity="month", backtest=False, as_of="2025-06-30")
    assert r["as_of"] == "2025-06-30T00:00:00Z"
    assert r["funnel"]["cohort"]["dimension"] is None
    assert r["funnel"]["cohort"]["granularity"] == "month"
    assert r["forecast"] is None or r["forecast"]["projection_backtest"] is None
    sections = {o["section"] for o in r["omitted"]}
    assert "attribution" in sections
    default = revops.report(tables)
    assert default["funnel"]["cohort"]["dimension"] == "source"
    assert revops.report(tables, parallel=False) == default
    assert revops.report(company(), target="1000000 USD", backtest=False)["plan"]["target_basis"] == "given"
    with pytest.raises(revops.RevopsError, match="`method`"):
        revops.report(tables, method="guess")
    with pytest.raises(TypeError, match="`breakdwon`"):
        revops.report(tables, breakdwon="owner")


def test_bad_input_raises_naming_the_record():
    touches = table("touches").slice(0, 20)
    channels = touches.column("channel").to_pylist()
    channels[17] = None
    with pytest.raises(revops.RevopsError) as e:
        revops.report({"touches": touches.set_column(1, "channel", pa.array(channels, pa.string()))})
    assert (e.value.source, e.value.row, e.value.column) == ("touches", 17, "channel")
    with pytest.raises(revops.RevopsError, match="not a canonical table"):
        revops.report({"deals": touches})
    with pytest.raises(revops.RevopsError, match="revops-py-nowhere"):
        revops.report(Path("/nonexistent/revops-py-nowhere"))
    with pytest.raises(TypeError, match="folder path or a dict"):
        revops.report(42)


def test_a_polars_frame_with_an_all_null_column_is_read():
    # polars exports a Null column with a buffer arrow-rs refuses; the input goes
    # through pyarrow then (it failed before, naming the C Data interface).
    frame = pl.DataFrame({"series": ["a", "a"], "period": ["t1", "t2"], "forecast": [1.0, 2.0], "actual": [None, None]})
    assert frame.schema["actual"] == pl.Null
    want = revops.forecast_errors(frame.to_arrow())
    assert revops.forecast_errors(frame).equals(want)
    assert want.to_pylist()[0]["missing_actual"] == 2
