"""revops.win_rate: the core's pipeline win rate on the synthetic company, equal to
the `demo --data` report's (total and per owner) to the bit, from pyarrow, pandas
and polars tables; bad rows named."""

from datetime import datetime, timezone

import polars as pl
import pyarrow as pa
import pytest

import revops
from synthetic import as_decimal128, demo_report, rate, row_rate, table

COUNTS = ["won", "lost", "no_decision", "stale", "open"]


def expected(w: dict) -> tuple:
    return (*(w[c] for c in COUNTS), *rate(w["ratio"], w["interval"]))


def got(r: dict) -> tuple:
    return (*(r[c] for c in COUNTS), *row_rate(r))


def test_win_rate_equals_the_reports_total_and_per_owner_table():
    report, _ = demo_report()
    pipeline = report["pipeline"]
    history, leads = table("opportunity_history"), table("leads")
    total = revops.win_rate(history, as_of=report["as_of"]).to_pylist()
    assert len(total) == 1 and total[0]["total"] and total[0]["breakdown"] is None
    assert got(total[0]) == expected(pipeline["win_rate"])

    by_owner = revops.win_rate(history, by="owner", leads=leads, as_of=report["as_of"])
    rows = by_owner.to_pylist()
    assert got(rows[0]) == got(total[0])
    want = pipeline["by_owner"]["rows"]
    assert [r["breakdown"] for r in rows[1:]] == [r["value"] for r in want]
    assert [got(r) for r in rows[1:]] == [expected(r["win_rate"]) for r in want]
    assert all(not r["total"] for r in rows[1:])
    assert by_owner.schema.metadata[b"revops.dimension"] == b'"owner"'


def test_pyarrow_pandas_and_polars_inputs_give_identical_results():
    history, leads = table("opportunity_history"), table("leads")
    want = revops.win_rate(history, by="segment", leads=leads)
    for name, (h, l) in {
        "pandas": (history.to_pandas(), leads.to_pandas()),
        "polars": (pl.from_arrow(history), pl.from_arrow(leads)),
        "decimal128 money": (as_decimal128(history), leads),
        "record batches": (pa.Table.from_batches(history.to_batches(max_chunksize=100)), leads),
    }.items():
        assert revops.win_rate(h, by="segment", leads=l).equals(want), name


def test_policies_are_the_rust_options():
    history = table("opportunity_history")
    default = revops.win_rate(history).to_pylist()[0]
    latest = max(history.column("changed_at").to_pylist())
    assert revops.win_rate(history, as_of=latest, basis="closed_only").to_pylist()[0] == default
    created = revops.win_rate(history, basis="all_created").to_pylist()[0]
    assert created["denominator"] == created["won"] + created["lost"] + created["open"] + created["no_decision"]
    stale = revops.win_rate(history, basis={"closed_plus_stale": {"days": 30}}).to_pylist()[0]
    assert stale["stale"] > 0 and stale["denominator"] == stale["won"] + stale["lost"] + stale["stale"]
    window = (datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2025, 7, 1, tzinfo=timezone.utc))
    h1 = revops.win_rate(history, window=window).to_pylist()[0]
    assert h1["denominator"] < default["denominator"]
    assert revops.win_rate(history, window={"start": "2025-01-01", "end": "2025-07-01"}).to_pylist()[0] == h1
    with pytest.raises(revops.RevopsError, match="`basis`"):
        revops.win_rate(history, basis="most")
    with pytest.raises(revops.RevopsError, match="leads"):
        revops.win_rate(history, by="owner")


def test_bad_rows_raise_naming_the_table_row_and_column():
    history = table("opportunity_history").slice(0, 10)
    stages = history.column("stage").to_pylist()
    stages[6] = "limbo"
    with pytest.raises(revops.RevopsError, match="limbo"):
        revops.win_rate(history.set_column(2, "stage", pa.array(stages)))
    amounts = history.column("amount").to_pylist()
    amounts[8] = "-5.00"
    with pytest.raises(revops.RevopsError) as e:
        revops.win_rate(history.set_column(3, "amount", pa.array(amounts)))
    assert (e.value.source, e.value.row) == ("opportunity_history", 8), str(e.value)
    floats = history.set_column(3, "amount", pa.array([1.5] * 10))
    with pytest.raises(revops.RevopsError) as e:
        revops.win_rate(floats)
    assert e.value.column == "amount"
