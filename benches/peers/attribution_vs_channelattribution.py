"""The Python side of attribution_vs_channelattribution.sh: one job per process
(so each process's peak memory is its own), a check that both tools compute the
same heuristics, and the table.

    python attribution_vs_channelattribution.py revops --paths F --models M [--out J]
    python attribution_vs_channelattribution.py ca --paths F [--out J]
    python attribution_vs_channelattribution.py startup
    python attribution_vs_channelattribution.py check --revops J --ca J [--rust J]
    python attribution_vs_channelattribution.py table --times T --runs N
"""

import argparse
import json
import statistics
import sys
import time

#: ChannelAttribution's heuristics and revops' models of the same name.
HEURISTICS = {"first_touch": "first_touch", "last_touch": "last_touch", "linear": "linear_touch"}


def run_revops(args) -> None:
    """`revops.attribution` on the path table: read with pyarrow (the value column
    as text, so it stays exact), then one call."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    import revops

    start = time.perf_counter()
    table = pacsv.read_csv(
        args.paths,
        convert_options=pacsv.ConvertOptions(
            column_types={"total_conversion_value": pa.string()}
        ),
    )
    read = time.perf_counter()
    result = revops.attribution(paths=table, models=args.models.split(","), separator=">")
    done = time.perf_counter()
    out = {"read_s": read - start, "call_s": done - read, "models": {}}
    for r in result.to_pylist():
        out["models"].setdefault(r["model"], {})[r["channel"]] = {
            "conversions": r["conversions"],
            "value": r["value"],
            "revenue": str(r["revenue"]),
        }
    write(args.out, out)


def run_ca(args) -> None:
    """ChannelAttribution's heuristic_models and markov_model (order 1, its
    defaults: simulated, one core) on the same table read by pandas."""
    import pandas as pd
    import ChannelAttribution as ca

    start = time.perf_counter()
    data = pd.read_csv(args.paths)
    read = time.perf_counter()
    heuristics = ca.heuristic_models(
        data, "path", "total_conversions", var_value="total_conversion_value",
        sep=">", flg_pro=False,
    )
    markov = ca.markov_model(
        data, "path", "total_conversions", var_value="total_conversion_value",
        var_null="total_null", order=1, sep=">", verbose=False, flg_pro=False,
    )
    done = time.perf_counter()
    out = {"read_s": read - start, "call_s": done - read, "models": {}}
    for model, key in HEURISTICS.items():
        out["models"][model] = {
            r["channel_name"].strip(): {
                "conversions": float(r[f"{key}_conversions"]),
                "value": float(r[f"{key}_value"]),
            }
            for _, r in heuristics.iterrows()
        }
    out["models"]["markov"] = {
        r["channel_name"].strip(): {
            "conversions": float(r["total_conversions"]),
            "value": float(r["total_conversion_value"]),
        }
        for _, r in markov.iterrows()
    }
    write(args.out, out)


def startup(_args) -> None:
    """What every Python row includes before any work: the interpreter and the
    imports."""
    import pyarrow.csv  # noqa: F401
    import revops  # noqa: F401


def write(path, out) -> None:
    if path:
        with open(path, "w") as f:
            json.dump(out, f)


def check(args) -> None:
    """The heuristics must agree (relative 1e-6); Markov is printed as the largest
    relative difference (ChannelAttribution simulates; revops solves exactly); the
    Rust example's conversions must equal revops-py's to the bit."""
    rv = json.load(open(args.revops))["models"]
    ca = json.load(open(args.ca))["models"]
    for model in HEURISTICS:
        assert sorted(rv[model]) == sorted(ca[model]), (model, sorted(rv[model]), sorted(ca[model]))
        for ch, c in ca[model].items():
            for field in ["conversions", "value"]:
                got, want = rv[model][ch][field], c[field]
                assert abs(got - want) <= 1e-6 * max(abs(want), 1.0), (model, ch, field, got, want)
    worst = max(
        abs(rv["markov"][ch]["conversions"] - c["conversions"]) / max(c["conversions"], 1e-9)
        for ch, c in ca["markov"].items()
    )
    print(f"   heuristics agree (first, last, linear: conversions and value within 1e-6); "
          f"Markov: largest relative difference per channel {worst:.2%} "
          "(ChannelAttribution simulates, revops solves exactly)", file=sys.stderr)
    if args.rust:
        rust = json.load(open(args.rust))["models"]
        for m in rust:
            name = m["model"]
            for c in m["channels"]:
                got = rv[name][c["channel"]]["conversions"]
                assert got == c["conversions"], (name, c["channel"], got, c["conversions"])
        print("   the Rust example's conversions equal revops-py's to the bit", file=sys.stderr)


def table(args) -> None:
    rows = {}
    for line in open(args.times):
        job, tool, wall, kb = line.rstrip("\n").split("\t")
        rows.setdefault((job, tool), []).append((float(wall), int(kb)))
    med = {k: statistics.median(w for w, _ in v) for k, v in rows.items()}
    print("| job | tool | median wall s (min–max) | peak MB |")
    print("|---|---|---|---|")
    for (job, tool), v in rows.items():
        walls = [w for w, _ in v]
        peak = max(kb for _, kb in v) / 1024
        print(f"| {job} | {tool} | {med[(job, tool)]:.2f} ({min(walls):.2f}–{max(walls):.2f}) | {peak:.0f} |")
    find = lambda prefix: next((k for k in med if k[1].startswith(prefix)), None)  # noqa: E731
    rust, py, ca = find("revops example"), find("revops-py"), find("ChannelAttribution")
    print()
    if rust and py:
        print(f"Python call over the Rust example (median wall, whole process): "
              f"{med[py] / med[rust]:.2f}x (goal <= 1.2x)")
    if py and ca:
        print(f"ChannelAttribution over revops-py (median wall): {med[ca] / med[py]:.1f}x; "
              f"peak memory {max(k for _, k in rows[ca]) / max(k for _, k in rows[py]):.1f}x")


#: Each subcommand: its function and its flags (name, required).
COMMANDS = {
    "revops": (run_revops, [("--paths", True), ("--models", True), ("--out", False)]),
    "ca": (run_ca, [("--paths", True), ("--out", False)]),
    "startup": (startup, []),
    "check": (check, [("--revops", True), ("--ca", True), ("--rust", False)]),
    "table": (table, [("--times", True), ("--runs", True)]),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, (run, flags) in COMMANDS.items():
        s = sub.add_parser(name)
        for flag, required in flags:
            s.add_argument(flag, required=required)
        s.set_defaults(run=run)
    args = p.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
