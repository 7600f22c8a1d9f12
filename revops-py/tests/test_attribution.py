"""revops.attribution: the core engines' numbers from Python, on pyarrow, pandas and
polars inputs, and the core's errors as exceptions naming the row."""

import ast
import inspect
from decimal import Decimal
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import revops
from conftest import oracle, shared

CA_DATA = "attribution/channelattribution_Data.csv"


def read_ca_pyarrow(path: Path) -> pa.Table:
    """ChannelAttribution's example file: ';'-separated, values read as exact text."""
    return pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(delimiter=";"),
        convert_options=pacsv.ConvertOptions(
            column_types={"total_conversion_value": pa.string()}
        ),
    )


def by_channel(result: pa.Table, model: str) -> dict:
    return {r["channel"]: r for r in result.to_pylist() if r["model"] == model}


def rel(got: float, want: float) -> float:
    return abs(got - want) / max(abs(want), 1e-300)


def exact_total(table: pa.Table) -> Decimal:
    return sum(
        (Decimal(v) for v in table.column("total_conversion_value").to_pylist()),
        Decimal(0),
    )


# ---------------------------------------------------------------- oracles


def test_channelattribution_heuristics_oracle():
    data = read_ca_pyarrow(shared(CA_DATA))
    want = oracle("attribution_channelattribution_data.json")
    assert data.num_rows == want["totals"]["rows"]
    result = revops.attribution(data, ["first_touch", "last_touch", "linear"])
    total = exact_total(data)
    for model, key in [
        ("first_touch", "first_touch"),
        ("last_touch", "last_touch"),
        ("linear", "linear_touch"),
    ]:
        got = by_channel(result, model)
        channels = want["heuristics"]["channels"]
        assert sorted(got) == sorted(channels)
        for name, v in channels.items():
            c = got[name]
            for field in ["conversions", "value"]:
                w = v[f"{key}_{field}"]
                assert rel(c[field], w) <= 1e-9, (model, name, field, c[field], w)
            # Exact revenue is the real-valued share rounded once.
            assert abs(float(c["revenue"]) - c["value"]) <= 0.0005, (model, name)
            assert c["currency"] == "USD"
        # Revenue sums exactly to the data's total value.
        assert sum((c["revenue"] for c in got.values()), Decimal(0)) == total


def test_channelattribution_markov_exact_oracle():
    data = read_ca_pyarrow(shared(CA_DATA))
    want = oracle("attribution_channelattribution_data.json")["markov_order1_exact"]
    got = by_channel(revops.attribution(data, ["markov"]), "markov")
    assert sorted(got) == sorted(want["channels"])
    for name, w in want["channels"].items():
        assert rel(got[name]["conversions"], w["attributed_conversions"]) < 1e-6, name
        assert rel(got[name]["value"], w["attributed_value_re_share"]) < 1e-6, name
    assert sum((c["revenue"] for c in got.values()), Decimal(0)) == exact_total(data)


def test_every_model_on_the_real_data_sums_to_the_total():
    data = read_ca_pyarrow(shared(CA_DATA))
    models = [
        "first_touch", "last_touch", "last_non_direct", "linear", "linear_unique",
        "position_based", "j", "inverse_j", "markov", "markov:2", "shapley",
        "shapley_simplified", "shapley_ordered", "shao_li",
    ]
    result = revops.attribution(data, models)
    assert result.column("model").unique().to_pylist() == models
    total = exact_total(data)
    for m in models:
        rows = [r for r in result.to_pylist() if r["model"] == m]
        assert sum((r["revenue"] for r in rows), Decimal(0)) == total, m
    # The default models are the documented ones.
    default = revops.attribution(data)
    assert default.column("model").unique().to_pylist() == [
        "first_touch", "last_touch", "last_non_direct", "linear", "linear_unique",
        "position_based", "markov", "shapley",
    ]


# ---------------------------------------------------------------- exact values


SMALL = {
    "path": ["a > b", "b", "c>a>b"],
    "total_conversions": [2, 1, 0],
    "total_conversion_value": ["10.00", "5.01", "0"],
    "total_null": [1, 3, 2],
}


def test_small_table_exact_values_and_types():
    result = revops.attribution(pa.table(SMALL), ["first_touch", "linear", "markov"])
    assert result.schema.field("revenue").type == pa.decimal128(38, 9)
    assert result.schema.field("conversions").type == pa.float64()
    first = by_channel(result, "first_touch")
    assert first["a"]["conversions"] == 2.0 and first["a"]["value"] == 10.0
    assert first["a"]["revenue"] == Decimal("10.00")
    assert first["b"]["revenue"] == Decimal("5.01")
    assert first["c"]["revenue"] == Decimal("0")
    linear = by_channel(result, "linear")
    assert linear["a"]["conversions"] == 1.0
    assert linear["a"]["revenue"] == Decimal("5.00")
    assert linear["b"]["revenue"] == Decimal("10.01")
    markov = by_channel(result, "markov")
    assert sum(r["revenue"] for r in markov.values()) == Decimal("15.01")


def test_revenue_is_split_in_the_currency_given():
    result = revops.attribution(
        pa.table({**SMALL, "total_conversion_value": ["10", "5", "0"]}),
        ["linear"],
        currency="JPY",
    )
    assert set(result.column("currency").to_pylist()) == {"JPY"}
    assert sum(result.column("revenue").to_pylist()) == Decimal(15)


def test_separator_keyword():
    data = pa.table({**SMALL, "path": ["a | b", "b", "c|a|b"]})
    piped = revops.attribution(data, ["linear"], separator="|")
    assert piped.equals(revops.attribution(pa.table(SMALL), ["linear"]))


# ---------------------------------------------------------------- inputs


def test_pyarrow_pandas_and_polars_inputs_give_identical_results():
    path = shared(CA_DATA)
    arrow = read_ca_pyarrow(path)
    frames = {
        "pyarrow Table": arrow,
        "pyarrow RecordBatch": arrow.combine_chunks().to_batches()[0],
        "pyarrow Table in many batches": pa.Table.from_batches(
            arrow.to_batches(max_chunksize=777)
        ),
        "pandas": pd.read_csv(
            path, sep=";", dtype={"total_conversion_value": "string"}
        ),
        "pandas with an index": pd.read_csv(
            path, sep=";", dtype={"total_conversion_value": "string"}
        ).set_index("path", drop=False),
        "polars": pl.read_csv(
            path,
            separator=";",
            schema_overrides={"total_conversion_value": pl.String},
        ),
    }
    models = ["first_touch", "linear", "position_based", "markov", "shapley"]
    want = revops.attribution(arrow, models)
    assert want.num_rows > 0
    for name, frame in frames.items():
        got = revops.attribution(frame, models)
        assert got.equals(want), name


def test_a_pandas_frame_without_the_capsule_interface_goes_through_pyarrow():
    # pandas before 2.2 has no __arrow_c_stream__: it is converted column by column
    # with pyarrow.Table.from_pandas (index left out), never row by row.
    def hidden(self):
        raise AttributeError("__arrow_c_stream__")

    OldFrame = type(
        "DataFrame",
        (pd.DataFrame,),
        {"__module__": "pandas.core.frame", "__arrow_c_stream__": property(hidden)},
    )
    old = OldFrame(pd.DataFrame(SMALL).set_index("path", drop=False))
    assert not hasattr(old, "__arrow_c_stream__")
    got = revops.attribution(old, ["linear", "markov"])
    assert got.equals(revops.attribution(pa.table(SMALL), ["linear", "markov"]))


def test_decimal_and_integer_money_columns_read_exactly():
    values = [Decimal("10.00"), Decimal("5.01"), Decimal("0")]
    decimal = pa.table({**SMALL, "total_conversion_value": pa.array(values, pa.decimal128(12, 2))})
    want = revops.attribution(pa.table(SMALL), ["linear"])
    assert revops.attribution(decimal, ["linear"]).equals(want)
    integer = pa.table({**SMALL, "total_conversion_value": [10, 5, 0]})
    assert sum(revops.attribution(integer, ["linear"]).column("revenue").to_pylist()) == 15


# ---------------------------------------------------------------- errors


def test_a_bad_row_raises_naming_the_row_and_column():
    good = pa.table(SMALL)
    bad = pa.table({**SMALL, "path": ["a", None, "b"]})
    # Two batches: the bad row is row 1 of the second, row 4 of the table.
    table = pa.Table.from_batches(good.to_batches() + bad.to_batches())
    with pytest.raises(revops.RevopsError) as e:
        revops.attribution(table)
    assert str(e.value) == (
        "paths row 4 (batch 1), column `path`: empty: a path needs at least one channel"
    )
    assert (e.value.source, e.value.row, e.value.column) == ("paths", 4, "path")
    assert isinstance(e.value, ValueError)


def test_negative_counts_and_float_money_are_refused_by_column():
    with pytest.raises(revops.RevopsError) as e:
        revops.attribution(pa.table({**SMALL, "total_null": [1, -3, 2]}))
    assert e.value.row == 1 and e.value.column == "total_null", str(e.value)
    with pytest.raises(revops.RevopsError) as e:
        revops.attribution(pa.table({**SMALL, "total_conversion_value": [10.0, 5.01, 0.0]}))
    assert e.value.column == "total_conversion_value"
    assert "expected an exact decimal" in str(e.value)
    with pytest.raises(revops.RevopsError) as e:
        revops.attribution(pa.table({"path": ["a"], "total_conversions": [1]}))
    assert "total_conversion_value" in str(e.value)


def test_unknown_models_policies_and_unsupported_models_raise():
    table = pa.table(SMALL)
    with pytest.raises(revops.RevopsError, match="unknown model `bogus`"):
        revops.attribution(table, ["linear", "bogus"])
    with pytest.raises(revops.RevopsError, match="time_decay.*touch times"):
        revops.attribution(table, ["time_decay"])
    with pytest.raises(revops.RevopsError, match="`repeats`"):
        revops.attribution(table, ["markov"], repeats="sometimes")
    with pytest.raises(revops.RevopsError, match="`method`"):
        revops.attribution(table, ["shapley"], method={"guess": {}})
    with pytest.raises(revops.RevopsError, match="USDX|currency"):
        revops.attribution(table, currency="USDX")
    with pytest.raises(TypeError, match="`paths` must be a table"):
        revops.attribution([("a", 1, "1", 0)])


def test_limits_are_keywords_and_refuse_beyond_them():
    table = pa.table(SMALL)
    with pytest.raises(revops.RevopsError, match="max_states"):
        revops.attribution(table, ["markov"], max_states=2)
    with pytest.raises(revops.RevopsError, match="max_channels"):
        revops.attribution(table, ["shapley"], max_channels=2)
    assert revops.attribution(table, ["markov"], max_states=100).num_rows == 3


def test_policies_change_the_result_as_the_rust_options_do():
    table = pa.table(SMALL)

    def conversions(**policies):
        got = by_channel(revops.attribution(table, ["markov"], **policies), "markov")
        return {c: r["conversions"] for c, r in got.items()}

    exact = conversions()
    assert exact["c"] == 0.375
    # One step: only the one-channel path `b` reaches a conversion.
    assert conversions(step_limit=1) == {"a": 0.0, "b": 3.0, "c": 0.0}
    assert conversions(step_limit="longest_path")["c"] == 0.375
    kept = conversions(repeats="keep", nulls="exclude")
    assert kept["c"] == 0.0 and abs(kept["a"] - 1.2) < 1e-12
    sampled = revops.attribution(
        table, ["shapley"], method={"sampling": {"permutations": 100, "seed": 7}}
    )
    exact_shapley = revops.attribution(table, ["shapley"])
    assert not sampled.equals(exact_shapley)
    assert sum(sampled.column("revenue").to_pylist()) == Decimal("15.01")
    again = revops.attribution(
        table, ["shapley"], method={"sampling": {"permutations": 100, "seed": 7}}
    )
    assert again.equals(sampled)


# ---------------------------------------------------------------- stub


def test_the_stub_matches_the_module():
    stub = ast.parse((Path(__file__).resolve().parents[1] / "revops.pyi").read_text())
    funcs = {f.name: f for f in stub.body if isinstance(f, ast.FunctionDef)}
    assert set(funcs) == {
        "attribution", "forecast_errors", "calibration",
        "cohort_report", "velocity", "win_rate", "unit_economics", "report", "report_html",
    }
    for name, f in funcs.items():
        runtime = inspect.signature(getattr(revops, name))
        args = f.args
        names = [a.arg for a in args.args + args.kwonlyargs]
        assert names == list(runtime.parameters), name
        defaults = [ast.literal_eval(d) for d in args.defaults] + [
            ast.literal_eval(d) for d in args.kw_defaults
        ]
        want = [p.default for p in runtime.parameters.values() if p.default is not p.empty]
        assert defaults == want, name
        assert getattr(revops, name).__doc__
