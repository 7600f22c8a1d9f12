#!/usr/bin/env bash
# revops next to ChannelAttribution on the same path table, from Python: the
# `revops` wheel (revops.attribution) and ChannelAttribution's heuristic_models +
# markov_model, plus the Rust `attribution` example on the same file (the overhead
# of the Python call). Wall time and peak memory of each, one process per job, N
# runs each, interleaved, in one run. See benches/peers/README.md.
#
#   benches/peers/attribution_vs_channelattribution.sh [--paths FILE] [--runs N]
#                                                      [--venv DIR]
#
# --paths FILE  a path table (path,total_conversions,total_conversion_value,total_null,
#               comma-separated, channels joined by ">") [default:
#               target/peers/paths-1m/paths.csv, made with `synth --paths 1000000`]
# --runs N      runs of each job [default: 3]
# --venv DIR    the Python virtual environment to use or make [default:
#               target/peers-ca-venv]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
paths=
runs=3
venv=target/peers-ca-venv
while [[ $# -gt 0 ]]; do
    case $1 in
        --paths) paths=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --venv) venv=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "--runs: a positive whole number" >&2; exit 2; }

say() { echo "== $*" >&2; }
py=$venv/bin/python
peer=benches/peers/attribution_vs_channelattribution.py
target=${CARGO_TARGET_DIR:-target}
work=$root/target/peers/attribution
mkdir -p "$work"
# The models both tools compute: ChannelAttribution's three heuristics and its
# first-order Markov model.
models=first_touch,last_touch,linear,markov

# 1. A virtual environment of its own (never the system's Python): maturin and
# pyarrow for the revops wheel, ChannelAttribution (built from source where pip
# has no wheel for the platform: it needs a C++ compiler) and matplotlib, which
# ChannelAttribution 2.2.5 imports without declaring it.
if [[ ! -x $py ]]; then
    say "virtual environment $venv"
    python3 -m venv "$venv"
    "$py" -m pip install --quiet --disable-pip-version-check --upgrade pip
fi
if ! "$py" -c 'import maturin, pyarrow, pandas' 2>/dev/null; then
    "$py" -m pip install --quiet --disable-pip-version-check maturin pyarrow pandas
fi
ca=1
if ! "$py" -c 'import ChannelAttribution' 2>/dev/null; then
    say "pip install ChannelAttribution==2.2.5 matplotlib"
    if ! "$py" -m pip install --disable-pip-version-check ChannelAttribution==2.2.5 matplotlib \
        >"$work/pip-channelattribution.log" 2>&1; then
        say "ChannelAttribution did not install: its rows stay empty. pip said:"
        tail -n 25 "$work/pip-channelattribution.log" >&2
        ca=
    fi
fi

# 2. The Rust example and the wheel, release builds.
say "cargo build --release --all-features --example attribution"
cargo build --release --all-features --example attribution --quiet
bin=$target/release/examples
say "maturin build --release (revops-py) and pip install"
rm -rf "$work/wheels"
"$venv/bin/maturin" build --release --quiet -m revops-py/Cargo.toml --out "$work/wheels" >&2
"$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
    "$work"/wheels/revops-*.whl

# 3. The data: a million journeys, made once.
if [[ -z $paths ]]; then
    paths=target/peers/paths-1m/paths.csv
    if [[ ! -f $paths ]]; then
        say "making 1,000,000 journeys (synth --paths) in $(dirname "$paths")"
        cargo build --release --all-features --example synth --quiet
        "$bin/synth" --paths 1000000 --out "$(dirname "$paths")" >&2
    fi
fi
paths=$(cd "$(dirname "$paths")" && pwd)/$(basename "$paths")

# 4. Same job? The heuristics must agree, the Rust example's conversions must equal
# the wheel's to the bit (not timed).
say "checking that the tools compute the same heuristics"
rust_cmd=("$bin/attribution" --paths "$paths" --path-separator ">" --models "$models" --format json)
py_cmd=("$py" "$peer" revops --paths "$paths" --models "$models")
ca_cmd=("$py" "$peer" ca --paths "$paths")
"${rust_cmd[@]}" >"$work/rust.json"
"${py_cmd[@]}" --out "$work/revops.json"
if [[ -n $ca ]]; then
    "${ca_cmd[@]}" --out "$work/ca.json"
    "$py" "$peer" check --revops "$work/revops.json" --ca "$work/ca.json" --rust "$work/rust.json"
fi

# 5. The timed runs: every job once per round, N rounds.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
times=$work/times.tsv
: >"$times"
stderr_log=$work/stderr.log
# shellcheck source=benches/peers/measure.sh
. benches/peers/measure.sh
job="1M journeys → first, last, linear, Markov"
for ((i = 1; i <= runs; i++)); do
    say "round $i of $runs"
    measure "$job" "revops example (Rust, --paths)" "${rust_cmd[@]}"
    measure "$job" "revops-py (revops.attribution)" "${py_cmd[@]}"
    if [[ -n $ca ]]; then
        measure "$job" "ChannelAttribution (heuristic_models + markov_model)" "${ca_cmd[@]}"
    fi
    measure "start-up only (reference)" "Python + import pyarrow, revops" "$py" "$peer" startup
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# 6. The machine and the table.
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
echo
echo "Machine: $(nproc) cores ($cpu), $mem, Linux $(uname -r); $(rustc --version);" \
    "Python $("$py" -c 'import platform; print(platform.python_version())')," \
    "ChannelAttribution $("$py" -c 'import importlib.metadata as m; print(m.version("ChannelAttribution"))' 2>/dev/null || echo absent)," \
    "pyarrow $("$py" -c 'import pyarrow; print(pyarrow.__version__)');" \
    "data: $paths ($(($(wc -l <"$paths") - 1)) rows, $(du -shL "$paths" | cut -f1))"
echo "Load average (1, 5, 15 min) before the timed runs: $load_before; after: $load_after" \
    "(near or above $(nproc): other work on the machine, timings slower and noisier)."
echo "In-process seconds of the check run (read, call): revops-py" \
    "$("$py" -c "import json; d = json.load(open('$work/revops.json')); print(f\"{d['read_s']:.2f}, {d['call_s']:.2f}\")")" \
    "${ca:+; ChannelAttribution $("$py" -c "import json; d = json.load(open('$work/ca.json')); print(f\"{d['read_s']:.2f}, {d['call_s']:.2f}\")")}"
echo
"$py" "$peer" table --times "$times" --runs "$runs"
