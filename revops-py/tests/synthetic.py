"""The synthetic company of the engine tests, and what the core's examples compute
on it.

`company()` writes a 3,000-lead company with the core's `synth` example (seed 7)
once per session; `example_json(name, *args)` runs another core example on it and
returns its JSON output. The examples run through `cargo run --release
--all-features` (the build `.ci/run` has made by then), or, when
`REVOPS_EXAMPLES_DIR` names a folder of built example binaries (e.g.
`target/debug/examples`), from there.
"""

import atexit
import functools
import json
import os
import shutil
import subprocess
import tempfile
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from conftest import ROOT

LEADS = 3000

#: Money columns: read as exact text (a float would be refused, by design).
MONEY = {"amount", "value", "cost"}


def run_example(name: str, *args: str) -> str:
    """The standard output of the core example `name` run with `args`."""
    built = os.environ.get("REVOPS_EXAMPLES_DIR")
    if built:
        command = [str(Path(built) / name), *args]
    else:
        if shutil.which("cargo") is None:
            message = "cargo is not installed: the engine-equality tests need the core's examples"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        command = ["cargo", "run", "-q", "--release", "--all-features", "--example", name, "--", *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{done.stderr}")
    return done.stdout


@functools.cache
def company() -> Path:
    """The folder of the synthetic company's canonical CSV files."""
    folder = Path(tempfile.mkdtemp(prefix="revops-py-synth-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    run_example("synth", "--leads", str(LEADS), "--seed", "7", "--out", str(folder))
    return folder


@functools.cache
def example_json(name: str, *args: str) -> dict:
    """The JSON output of the core example `name` on the synthetic company."""
    return json.loads(run_example(name, "--data", str(company()), "--format", "json", *args))


@functools.cache
def demo_report() -> tuple[dict, str]:
    """The `demo --data` report of the synthetic company: its JSON and its HTML."""
    out = Path(tempfile.mkdtemp(prefix="revops-py-demo-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    run_example("demo", "--data", str(company()), "--out", str(out))
    return json.loads((out / "report.json").read_text()), (out / "report.html").read_text()


def table(name: str) -> pa.Table:
    """A canonical table of the company as pyarrow reads the CSV file (types
    inferred: timestamps, dates, numbers), money columns as exact text."""
    path = company() / f"{name}.csv"
    header = path.read_text().split("\n", 1)[0].split(",")
    types = {c: pa.string() for c in header if c in MONEY}
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))


def as_decimal128(t: pa.Table) -> pa.Table:
    """The table with its money columns cast to decimal128(18, 2)."""
    for i, field in enumerate(t.schema):
        if field.name in MONEY:
            t = t.set_column(i, field.name, t.column(i).cast(pa.decimal128(18, 2)))
    return t


def money(m: dict | None) -> Decimal | None:
    """A money object of the core's JSON (`{"amount": "...", "currency": ...}`)."""
    return None if m is None else Decimal(m["amount"])


def rate(ratio: dict, interval: dict | None) -> tuple:
    """A rate of the core's JSON as the five columns' values."""
    k, n = ratio["numerator"], ratio["denominator"]
    lower, upper = (None, None) if interval is None else (interval["lower"], interval["upper"])
    return (k, n, k / n if n else None, lower, upper)


def row_rate(r: dict) -> tuple:
    """The five rate columns of a result row."""
    return (r["numerator"], r["denominator"], r["value"], r["lower"], r["upper"])
