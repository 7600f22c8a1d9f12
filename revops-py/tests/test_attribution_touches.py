"""revops.attribution over touches and conversions: the synthetic company's numbers
equal the Rust engine's (the `attribution` example on the same CSV files, written
by the `synth` example: see synthetic.py), pyarrow, pandas and polars inputs give identical tables,
and bad records raise naming the table, row and column."""

from decimal import Decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import revops
from synthetic import company, example_json, table

#: Every model family: rule models (with touch times and stage milestones), exact
#: Markov of orders 1 and 2, and the Shapley family.
MODELS = [
    "first_touch", "last_touch", "last_non_direct", "linear", "position_based",
    "time_decay", "w_shaped", "markov", "markov:2", "shapley", "shapley_simplified",
    "shapley_ordered", "shao_li",
]
RULES = MODELS[:7]
TABLES = ["touches", "conversions", "stage_events"]


def rows_of(result: pa.Table, model: str) -> dict:
    return {r["channel"]: r for r in result.to_pylist() if r["model"] == model}


def test_the_synthetic_company_equals_the_rust_engine():
    t = {n: table(n) for n in TABLES}
    result = revops.attribution(
        t["touches"], t["conversions"], models=MODELS, stage_events=t["stage_events"]
    )
    assert result.column("model").unique().to_pylist() == MODELS
    reference = example_json("attribution", "--models", ",".join(MODELS))
    want = {m["model"]: m["channels"] for m in reference["models"]}
    assert list(want) == MODELS
    total = sum(
        (Decimal(v) for v in t["conversions"].column("value").to_pylist() if v is not None),
        Decimal(0),
    )
    assert total > 0
    for model in MODELS:
        got = rows_of(result, model)
        channels = {c["channel"]: c for c in want[model]}
        assert sorted(got) == sorted(channels), model
        for name, c in channels.items():
            # Counts to the bit: the JSON float reads back as the same double.
            assert got[name]["conversions"] == c["conversions"], (model, name)
            if model in RULES:
                # Exact money: the engine's revenue, to the cent.
                assert got[name]["revenue"] == Decimal(c["revenue"]["amount"]), (model, name)
                assert got[name]["currency"] == c["revenue"]["currency"]
        # Every model's revenue sums exactly to the converted value.
        assert sum((r["revenue"] for r in got.values()), Decimal(0)) == total, model


def test_pyarrow_pandas_and_polars_inputs_give_identical_results():
    t = {n: table(n) for n in TABLES}
    models = ["first_touch", "time_decay", "w_shaped", "markov", "shapley"]
    want = revops.attribution(
        t["touches"], t["conversions"], models=models, stage_events=t["stage_events"]
    )
    assert want.num_rows > 0

    # Every column as text: pandas would read an all-empty column (the touches'
    # `cost` and `currency` here) as float NaN, which is no text column.
    def pandas(name):
        return pd.read_csv(company() / f"{name}.csv", dtype="string")

    def polars(name):
        return pl.read_csv(company() / f"{name}.csv", infer_schema=False)

    inputs = {
        "pyarrow Table in many batches": {
            n: pa.Table.from_batches(v.to_batches(max_chunksize=999)) for n, v in t.items()
        },
        "pyarrow RecordBatch": {n: v.combine_chunks().to_batches()[0] for n, v in t.items()},
        "pandas": {n: pandas(n) for n in t},
        "polars": {n: polars(n) for n in t},
    }
    for kind, frames in inputs.items():
        got = revops.attribution(
            frames["touches"], frames["conversions"], models=models,
            stage_events=frames["stage_events"],
        )
        assert got.equals(want), kind
    # Keywords give the same as positions.
    keywords = revops.attribution(
        touches=t["touches"], conversions=t["conversions"], models=models,
        stage_events=t["stage_events"],
    )
    assert keywords.equals(want)


# ---------------------------------------------------------------- small tables

TOUCHES = {
    "subject_id": ["L1", "L1", "L2", "L3"],
    "channel": ["search", "email", "email", "display"],
    "campaign": [None, "spring", None, None],
    "at": ["2026-03-01T09:00:00Z", "2026-03-03T10:00:00Z", "2026-03-02", "2026-03-04"],
}
CONVERSIONS = {
    "subject_id": ["L1", "L2"],
    "at": ["2026-03-05", "2026-03-06"],
    "value": ["100.01", "50"],
    "currency": ["EUR", "EUR"],
}


def test_small_tables_exact_values_and_currency_from_the_data():
    result = revops.attribution(pa.table(TOUCHES), pa.table(CONVERSIONS), models=["linear"])
    linear = rows_of(result, "linear")
    assert linear["search"]["revenue"] == Decimal("50.00")
    assert linear["email"]["revenue"] == Decimal("100.01")
    assert linear["display"]["revenue"] == Decimal("0")
    assert set(result.column("currency").to_pylist()) == {"EUR"}
    assert linear["email"]["conversions"] == 1.5
    # The same journeys as a path table give the same numbers.
    paths = pa.table({
        "path": ["search > email", "email", "display"],
        "total_conversions": [1, 1, 0],
        "total_conversion_value": ["100.01", "50", "0"],
        "total_null": [0, 0, 1],
    })
    models = ["first_touch", "linear", "markov", "shapley"]
    from_touches = revops.attribution(pa.table(TOUCHES), pa.table(CONVERSIONS), models=models)
    from_paths = revops.attribution(paths=paths, models=models, currency="EUR")
    assert from_touches.equals(from_paths)


def test_journey_policies_are_keywords():
    touches, conversions = pa.table(TOUCHES), pa.table(CONVERSIONS)
    # A two-day lookback leaves L1's search touch (four days before) out.
    short = rows_of(
        revops.attribution(touches, conversions, models=["linear"], lookback=2), "linear"
    )
    # L2's only touch is four days before its conversion: unattributed.
    assert "search" not in short and short["email"]["conversions"] == 1.0
    # L3's touch without a conversion is a non-converting journey either way; a
    # touch after L2's conversion becomes one under trailing="non_converting".
    late = {"subject_id": ["L2"], "channel": ["social"], "campaign": [None], "at": ["2026-03-09"]}
    more = pa.table({k: TOUCHES[k] + late[k] for k in TOUCHES})
    dropped = revops.attribution(more, conversions, models=["markov"])
    kept = revops.attribution(more, conversions, models=["markov"], trailing="non_converting")
    assert "social" not in rows_of(dropped, "markov")
    assert rows_of(kept, "markov")["social"]["conversions"] == 0.0
    with pytest.raises(revops.RevopsError, match="`repeat`"):
        revops.attribution(touches, conversions, repeat="sometimes")
    with pytest.raises(revops.RevopsError, match="lookback"):
        revops.attribution(touches, conversions, lookback=-1)
    # A declared currency must be the data's.
    with pytest.raises(revops.RevopsError, match="USD|currency"):
        revops.attribution(touches, conversions, currency="USD")


def test_the_path_table_forms_still_work():
    paths = pa.table({
        "path": ["a > b", "b"], "total_conversions": [2, 1],
        "total_conversion_value": ["10.00", "5.01"], "total_null": [1, 3],
    })
    want = revops.attribution(paths=paths, models=["linear", "markov"])
    assert revops.attribution(paths, ["linear", "markov"]).equals(want)
    assert revops.attribution(paths, models=["linear", "markov"]).equals(want)
    with pytest.raises(TypeError, match="`models` given twice"):
        revops.attribution(paths, ["linear"], models=["markov"])


def test_missing_or_mixed_inputs_raise_type_errors():
    touches, conversions = pa.table(TOUCHES), pa.table(CONVERSIONS)
    with pytest.raises(TypeError, match="`conversions` is missing"):
        revops.attribution(touches)
    with pytest.raises(TypeError, match="needs `touches` and `conversions`, or `paths`"):
        revops.attribution()
    with pytest.raises(TypeError, match="not both"):
        revops.attribution(touches, conversions, paths=touches)
    with pytest.raises(TypeError, match="`conversions` must be a table"):
        revops.attribution(touches, 42)


# ---------------------------------------------------------------- errors


def test_a_bad_touch_raises_naming_the_table_row_and_column():
    good = pa.table(TOUCHES)
    bad = pa.table({**TOUCHES, "at": ["2026-03-01", "2026-03-02", "yesterday", "2026-03-04"]})
    table = pa.Table.from_batches(good.to_batches() + bad.to_batches())
    with pytest.raises(revops.RevopsError) as e:
        revops.attribution(table, pa.table(CONVERSIONS))
    assert (e.value.source, e.value.row, e.value.column) == ("touches", 6, "at")
    assert str(e.value).startswith("touches row 6 (batch 1), column `at`:"), str(e.value)
    for frame in [bad.to_pandas(), pl.from_arrow(bad)]:
        with pytest.raises(revops.RevopsError) as e:
            revops.attribution(frame, pa.table(CONVERSIONS))
        assert (e.value.source, e.value.row, e.value.column) == ("touches", 2, "at")


def test_bad_conversions_raise_naming_the_record():
    touches = pa.table(TOUCHES)
    with pytest.raises(revops.RevopsError) as e:
        revops.attribution(touches, pa.table({**CONVERSIONS, "value": ["1", "-2"]}))
    assert (e.value.source, e.value.row, e.value.column) == ("conversions", 1, "value")
    with pytest.raises(revops.RevopsError) as e:
        revops.attribution(touches, pa.table({**CONVERSIONS, "value": [1.5, 2.0]}))
    assert e.value.column == "value" and "expected an exact decimal" in str(e.value)
    # Two currencies: the journey builder names the second conversion and its subject.
    with pytest.raises(revops.RevopsError) as e:
        revops.attribution(touches, pa.table({**CONVERSIONS, "currency": ["EUR", "USD"]}))
    message = str(e.value)
    assert "conversion #1" in message and "L2" in message and "USD" in message, message
    with pytest.raises(revops.RevopsError, match="subject_id"):
        revops.attribution(touches, pa.table({"at": ["2026-03-05"], "value": ["1"], "currency": ["EUR"]}))
    with pytest.raises(revops.RevopsError, match="time_decay.*touch times"):
        revops.attribution(paths=pa.table({
            "path": ["a"], "total_conversions": [1], "total_conversion_value": ["1"],
            "total_null": [0],
        }), models=["time_decay"])
    with pytest.raises(revops.RevopsError, match="milestone model needs stage events"):
        revops.attribution(touches, pa.table(CONVERSIONS), models=["w_shaped"])
