"""Fixtures of the revops-py tests: the oracle values of `tests/data/` and the real
datasets of `../shared/data/` (as the Rust tests find them: tests/it/fixtures.rs)."""

import json
import os
import warnings
from pathlib import Path

import pytest

#: The workspace root (the core crate), two levels above this file.
ROOT = Path(__file__).resolve().parents[2]


def oracle(name: str) -> dict:
    """The oracle file `tests/data/<name>` of the core crate (always present)."""
    return json.loads((ROOT / "tests" / "data" / name).read_text())


def shared(rel: str) -> Path:
    """A real dataset under `../shared/data/`: fails when it is absent and `CI` is
    set (in CI every test must run), otherwise skips with a notice naming it."""
    path = ROOT.parent / "shared" / "data" / rel
    if path.exists():
        return path
    message = f"{path} is absent"
    if os.environ.get("CI"):
        pytest.fail(f"{message} and CI is set: the real-data tests must run in CI")
    warnings.warn(f"skipped: {message} (set CI to make this a failure)")
    pytest.skip(f"{message} (set CI to make this a failure)")
