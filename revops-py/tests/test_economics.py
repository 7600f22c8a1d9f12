"""revops.unit_economics: the core's cost engine on the synthetic company, equal to
the `unit_economics` example's numbers (exact money), from pyarrow, pandas and
polars tables; bad rows named."""

from decimal import Decimal

import polars as pl
import pyarrow as pa
import pytest

import revops
from synthetic import as_decimal128, example_json, money, table


def inputs() -> tuple:
    return table("spend"), table("leads"), table("stage_events"), table("conversions")


def expected_rows(ue: dict) -> list[tuple]:
    out = []
    for total, r in [(False, r) for r in ue["rows"]] + [(True, ue["total"])]:
        out.append(
            (
                total,
                r["key"]["channel"],
                money(r["spend"]),
                r["spend"]["currency"],
                *(Decimal(u) for u in r["units"]),
                *(money(c["value"]) for c in r["cost_per"]),
                money(r["revenue"]),
                r["roas"]["value"],
                r["roi"]["value"],
            )
        )
    return out


def got_rows(result: pa.Table, units: list[str]) -> list[tuple]:
    out = []
    for r in result.to_pylist():
        out.append(
            (
                r["total"],
                r["channel"],
                r["spend"],
                r["currency"],
                *(r[u] for u in units),
                *(r[f"cost_per_{u}"] for u in units),
                r["revenue"],
                r["roas"],
                r["roi"],
            )
        )
    return out


def test_unit_economics_equals_the_example_exactly():
    ue = example_json("unit_economics")["by_lead_source"]
    result = revops.unit_economics(*inputs())
    assert ue["units"] == ["leads", "mql", "sql", "won"]
    got, want = got_rows(result, ue["units"]), expected_rows(ue)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        # Money and units exactly (Decimal equality); ROAS and ROI are the core's
        # exact ratios as the nearest float.
        assert g[:-2] == w[:-2], (g, w)
        for x, y in zip(g[-2:], w[-2:]):
            assert (x is None) == (y is None)
            if x is not None:
                assert x == float(Decimal(y))
    assert result.schema.field("spend").type == pa.decimal128(38, 9)
    # Every channel's spend adds up exactly to the total.
    rows = result.to_pylist()
    assert sum((r["spend"] for r in rows[:-1]), Decimal(0)) == rows[-1]["spend"]


def test_pyarrow_pandas_and_polars_inputs_give_identical_results():
    spend, leads, events, conversions = inputs()
    want = revops.unit_economics(spend, leads, events, conversions, by_period=True, granularity="quarter")
    for name, tables in {
        "pandas": [t.to_pandas() for t in inputs()],
        "polars": [pl.from_arrow(t) for t in inputs()],
        "decimal128 money": [as_decimal128(spend), leads, events, as_decimal128(conversions)],
    }.items():
        got = revops.unit_economics(*tables, by_period=True, granularity="quarter")
        assert got.equals(want), name
    quarters = [r["period"] for r in want.to_pylist() if r["period"]]
    assert quarters and all("Q" in q for q in quarters)


def test_policies_are_the_rust_options():
    spend, leads, events, conversions = inputs()
    default = revops.unit_economics(spend, leads, events, conversions)
    assert revops.unit_economics(
        spend, leads, events, conversions, stages=["mql", "sql", "won"], currency="USD", granularity="month"
    ).equals(default)
    by_campaign = revops.unit_economics(spend, leads, events, conversions, by_campaign=True)
    assert by_campaign.num_rows > default.num_rows
    assert by_campaign.to_pylist()[-1]["spend"] == default.to_pylist()[-1]["spend"]
    no_revenue = revops.unit_economics(spend, leads, events, stages=["sql"])
    assert no_revenue.to_pylist()[-1]["revenue"] == Decimal(0)
    assert "cost_per_sql" in no_revenue.column_names and "cost_per_mql" not in no_revenue.column_names
    with pytest.raises(revops.RevopsError, match="EUR|currency"):
        revops.unit_economics(spend, leads, events, currency="EUR")
    with pytest.raises(revops.RevopsError, match="nowhere"):
        revops.unit_economics(spend, leads, events, stages=["nowhere"])


def test_bad_rows_raise_naming_the_table_row_and_column():
    spend, leads, events, _ = inputs()
    with pytest.raises(revops.RevopsError) as e:
        revops.unit_economics(spend.set_column(4, "amount", spend.column("amount").cast(pa.float64())), leads, events)
    assert (e.value.source, e.value.row, e.value.column) == ("spend", 0, "amount")
    amounts = spend.column("amount").to_pylist()
    amounts[11] = "12,5"
    with pytest.raises(revops.RevopsError) as e:
        revops.unit_economics(spend.set_column(4, "amount", pa.array(amounts)), leads, events)
    assert (e.value.source, e.value.row, e.value.column) == ("spend", 11, "amount")
