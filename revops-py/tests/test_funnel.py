"""revops.cohort_report and revops.velocity: the core's funnel engine on the
synthetic company, equal to the `waterfall` example's numbers to the bit, from
pyarrow, pandas and polars tables; bad rows named."""

import json
from datetime import datetime, timedelta, timezone

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import revops
from synthetic import example_json, rate, row_rate, table


def waterfall() -> dict:
    return example_json("waterfall", "--by", "source")


def inputs() -> tuple[pa.Table, pa.Table]:
    return table("leads"), table("stage_events")


def expected_cohort_rows(report: dict) -> list[tuple]:
    """The core's cohort report flattened as cohort_report flattens it."""
    out = []
    tables = [(True, report["total"])] + [(False, t) for t in report["breakdown"]]
    for total, t in tables:
        for row in t["rows"] + [t["all"]]:
            cohort = row["cohort"]["start"] if row["cohort"] else None
            for kind in ["steps", "to_won"]:
                for s in row[kind]:
                    out.append(
                        (total, t["value"], cohort, row["entered"], "step" if kind == "steps" else "to_won",
                         s["from"], s["to"], *rate(s["ratio"], s["interval"]), row["window_elapsed"])
                    )
    return out


def got_cohort_rows(result: pa.Table) -> list[tuple]:
    out = []
    for r in result.to_pylist():
        start = r["cohort_start"].isoformat() if r["cohort_start"] else None
        out.append(
            (r["total"], r["breakdown"], start, r["entered"], r["kind"], r["from"], r["to"],
             *row_rate(r), r["window_elapsed"])
        )
    return out


def test_cohort_report_equals_the_waterfall_example():
    w = waterfall()
    leads, events = inputs()
    result = revops.cohort_report(leads, events, breakdown="source", as_of=w["as_of"])
    assert got_cohort_rows(result) == expected_cohort_rows(w["report"])
    meta = result.schema.metadata
    assert json.loads(meta[b"revops.stages"]) == w["report"]["stages"]
    assert json.loads(meta[b"revops.diagnostics"]) == w["report"]["diagnostics"]
    assert json.loads(meta[b"revops.dimension"]) == "source"
    assert result.schema.field("numerator").type == pa.uint64()
    assert result.schema.field("cohort_start").type == pa.date32()


def test_velocity_equals_the_waterfall_example():
    w = waterfall()
    leads, events = inputs()
    result = revops.velocity(leads, events, as_of=w["as_of"]).to_pylist()
    want = w["velocity"]["total"]["steps"]
    assert [(r["from"], r["to"]) for r in result] == [(s["from"], s["to"]) for s in want]
    for got, s in zip(result, want):
        assert got["total"] and got["breakdown"] is None
        assert got["excluded_inferred"] == s["excluded_inferred"]
        m = s["summary"]
        if m is None:
            assert got["count"] == 0 and got["mean"] is None
            continue
        for k in ["count", "mean", "min", "max", "p25", "median", "p75", "p90"]:
            assert got[k] == m[k], (s["from"], s["to"], k)
        bins = s["histogram"]["bins"]
        assert got["bin_lower"] == [b["lower"] for b in bins]
        assert got["bin_upper"] == [b["upper"] for b in bins]
        assert got["bin_count"] == [b["count"] for b in bins]


def test_pyarrow_pandas_and_polars_inputs_give_identical_results():
    leads, events = inputs()
    as_of = datetime(2025, 12, 31, 23, 15, 5, tzinfo=timezone.utc)
    kwargs = dict(breakdown="segment", granularity="quarter", window=timedelta(days=120), as_of=as_of)
    want = revops.cohort_report(leads, events, **kwargs)
    speed = revops.velocity(leads, events, breakdown="segment", as_of=as_of)
    frames = {
        "pandas": (leads.to_pandas(), events.to_pandas()),
        "polars": (pl.from_arrow(leads), pl.from_arrow(events)),
        "record batches": (
            pa.Table.from_batches(leads.to_batches(max_chunksize=500)),
            pa.Table.from_batches(events.to_batches(max_chunksize=700)),
        ),
    }
    for name, (l, e) in frames.items():
        assert revops.cohort_report(l, e, **kwargs).equals(want), name
        assert revops.velocity(l, e, breakdown="segment", as_of=as_of).equals(speed), name
    # The window in days is the same window.
    assert revops.cohort_report(leads, events, **{**kwargs, "window": 120}).equals(want)


def test_policies_are_the_rust_options():
    leads, events = inputs()
    default = revops.cohort_report(leads, events)
    assert revops.cohort_report(leads, events, skip="backfill", method="wilson", confidence=0.95).equals(default)
    strict = revops.cohort_report(leads, events, skip="strict")
    assert not strict.equals(default)
    mql = revops.cohort_report(leads, events, anchor="mql").to_pylist()
    assert mql[0]["from"] == "mql"
    jeffreys = revops.cohort_report(leads, events, method="jeffreys").to_pylist()
    assert jeffreys[0]["numerator"] == default.to_pylist()[0]["numerator"]
    assert jeffreys[0]["lower"] != default.to_pylist()[0]["lower"]
    steps = revops.velocity(leads, events, steps=[("mql", "won")], quantiles={"sketch": {"alpha": 0.01}})
    assert steps.column("from").to_pylist() == ["mql"]
    with pytest.raises(revops.RevopsError, match="`skip`"):
        revops.cohort_report(leads, events, skip="sometimes")
    with pytest.raises(revops.RevopsError, match="nowhere"):
        revops.cohort_report(leads, events, anchor="nowhere")
    with pytest.raises(revops.RevopsError, match="`as_of`"):
        revops.cohort_report(leads, events, as_of="tomorrow")


def test_bad_rows_raise_naming_the_table_row_and_column():
    leads, events = inputs()
    rows = events.slice(0, 8).to_pylist()
    for r in rows:
        r["at"] = r["at"].isoformat()
    rows[5]["at"] = "soon"
    bad = pa.Table.from_pylist(rows)
    with pytest.raises(revops.RevopsError) as e:
        revops.cohort_report(leads, pa.Table.from_batches(bad.to_batches(max_chunksize=3)))
    assert (e.value.source, e.value.row, e.value.column) == ("stage_events", 5, "at")
    assert str(e.value).startswith("stage_events row 5 (batch 1)")
    unknown = events.slice(0, 4).set_column(1, "stage", pa.array(["mql", "sql", "limbo", "won"]))
    with pytest.raises(revops.RevopsError, match="limbo"):
        revops.velocity(leads, unknown)
    with pytest.raises(revops.RevopsError) as e:
        revops.cohort_report(leads.drop_columns(["created_at"]), events)
    assert e.value.source == "leads" and "created_at" in str(e.value)
    with pytest.raises(TypeError, match="`leads` must be a table"):
        revops.cohort_report([1, 2], events)
