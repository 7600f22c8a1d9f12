#!/usr/bin/env bash
# revops next to DuckDB on the same files: CSV -> cohort report, Parquet -> cohort
# report, and `demo --data` for reference. Wall time and peak memory of the whole
# process, N runs each, interleaved, in one run. See benches/peers/README.md.
#
#   benches/peers/ingest_vs_duckdb.sh [--data DIR] [--leads N] [--runs N]
#                                     [--threads N] [--revops-parquet DIR] [--venv DIR]
#                                     [--no-demo]
#
# --data DIR            a folder of canonical CSV files [default: target/peers/c1m,
#                       made with `synth --leads N --seed 7` when it has no leads.csv]
# --leads N             leads of the synthetic company made for --data [1000000]
# --runs N              runs of each job [default: 3]
# --threads N           DuckDB's threads [default: 2]
# --revops-parquet DIR  the folder of leads.parquet and stage_events.parquet that
#                       both revops (`waterfall --data DIR`) and DuckDB read
#                       [default: DuckDB's conversion of the CSV files]; the revops
#                       Parquet row runs when the examples build with the parquet
#                       feature (see REVOPS PARQUET below)
# --venv DIR            the Python virtual environment with duckdb 2.0.0 to use or
#                       make [default: target/peers-venv]
# --no-demo             leave out `demo --data DIR --out OUT`
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
data=
leads=1000000
runs=3
threads=2
revops_parquet=
venv=target/peers-venv
demo=1
while [[ $# -gt 0 ]]; do
    case $1 in
        --data) data=$2; shift 2 ;;
        --leads) leads=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --revops-parquet) revops_parquet=$2; shift 2 ;;
        --venv) venv=$2; shift 2 ;;
        --no-demo) demo=; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "--runs: a positive whole number" >&2; exit 2; }
[[ $leads =~ ^[1-9][0-9]*$ ]] || { echo "--leads: a positive whole number" >&2; exit 2; }
if [[ -z $data ]]; then
    data=target/peers/c1m
    [[ $leads == 1000000 ]] || data=target/peers/leads-$leads
fi

say() { echo "== $*" >&2; }
py=$venv/bin/python
peer=benches/peers/duckdb_cohort.py

# 1. DuckDB in a virtual environment of its own (never the system's Python).
if ! "$py" -c 'import duckdb; assert duckdb.__version__ == "2.0.0"' 2>/dev/null; then
    say "virtual environment $venv with duckdb 2.0.0"
    python3 -m venv "$venv"
    "$py" -m pip install --quiet --disable-pip-version-check duckdb==2.0.0
fi

# 2. The examples, release build: with revops' Parquet reader when the parquet
# feature builds (then revops reads the Parquet files too), else without.
parquet_feature=1
say "cargo build --release --examples --features parquet"
if ! cargo build --release --examples --features parquet --quiet; then
    say "the parquet feature does not build here: no revops Parquet row"
    parquet_feature=
    cargo build --release --examples --quiet
fi
# The binaries cargo just built (CARGO_TARGET_DIR is honoured, as cargo does).
bin=${CARGO_TARGET_DIR:-target}/release/examples

# 3. The data: the 1M-lead synthetic company, made once.
if [[ ! -f $data/leads.csv || ! -f $data/stage_events.csv ]]; then
    say "making the synthetic company ($leads leads, seed 7) in $data"
    "$bin/synth" --leads "$leads" --seed 7 --out "$data" >&2
fi
data=$(cd "$data" && pwd)
# Everything made from it lives in target/, keyed by the data folder (which may be
# read-only).
work=$root/target/peers/work/$(printf '%s' "$data" | cksum | cut -d' ' -f1)
mkdir -p "$work/two" "$work/parquet" "$work/out"
for f in leads.csv stage_events.csv; do ln -sfn "$data/$f" "$work/two/$f"; done
for f in leads stage_events; do
    if [[ ! -f $work/parquet/$f.parquet || $data/$f.csv -nt $work/parquet/$f.parquet ]]; then
        say "DuckDB converts the CSV files to Parquet (once, not timed) in $work/parquet"
        "$py" "$peer" parquet --data "$data" --to "$work/parquet" --threads "$threads"
        break
    fi
done

# Both read the same Parquet files: those of --revops-parquet DIR when it holds
# leads.parquet and stage_events.parquet, else DuckDB's conversion (which revops
# reads as it is: timestamps without a zone are UTC, strings plain or dictionary).
pq=$work/parquet
if [[ -n $revops_parquet && -f $revops_parquet/leads.parquet && -f $revops_parquet/stage_events.parquet ]]; then
    pq=$(cd "$revops_parquet" && pwd)
fi
if [[ -n $parquet_feature && -z $revops_parquet ]]; then
    revops_parquet=$pq
fi
if [[ -z $parquet_feature ]]; then
    revops_parquet=
fi

# 4. Same job? revops' JSON and DuckDB's counts must agree (not timed).
say "checking that both compute the same cohort x stage counts"
"$bin/waterfall" --data "$work/two" --mode cohort --period month --format json \
    >"$work/out/revops.json"
"$py" "$peer" cohort --data "$data" --format csv --threads "$threads" --out "$work/out/duckdb-csv.json"
"$py" "$peer" check --revops "$work/out/revops.json" --duckdb "$work/out/duckdb-csv.json"
"$py" "$peer" cohort --data "$pq" --format parquet --threads "$threads" \
    --out "$work/out/duckdb-parquet.json"
"$py" "$peer" check --revops "$work/out/revops.json" --duckdb "$work/out/duckdb-parquet.json"
if [[ -n $revops_parquet ]]; then
    "$bin/waterfall" --data "$revops_parquet" --mode cohort --period month --format json \
        >"$work/out/revops-parquet.json"
    "$py" "$peer" check --revops "$work/out/revops-parquet.json" --duckdb "$work/out/duckdb-parquet.json"
fi

# 5. The timed runs: every job once per round, N rounds.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
times=$work/out/times.tsv
: >"$times"
stderr_log=$work/out/stderr.log
# shellcheck source=benches/peers/measure.sh
. benches/peers/measure.sh
csv_job="CSV → cohort report"
pq_job="Parquet → cohort report"
for ((i = 1; i <= runs; i++)); do
    say "round $i of $runs"
    measure "$csv_job" "revops waterfall (all 7 files in the folder)" \
        "$bin/waterfall" --data "$data" --mode cohort --period month --format json
    measure "$csv_job" "revops waterfall (the 2 files it needs)" \
        "$bin/waterfall" --data "$work/two" --mode cohort --period month --format json
    measure "$csv_job" "DuckDB $threads threads" \
        "$py" "$peer" cohort --data "$data" --format csv --threads "$threads" --out /dev/null
    # ---- REVOPS PARQUET -------------------------------------------------------
    # The revops Parquet row: `waterfall --data PARQUET_DIR` (leads.parquet and
    # stage_events.parquet, the files DuckDB reads). It runs when the examples
    # build with the parquet feature; otherwise the row says "to come" and no
    # number is made up.
    if [[ -n $revops_parquet ]]; then
        measure "$pq_job" "revops waterfall" \
            "$bin/waterfall" --data "$revops_parquet" --mode cohort --period month --format json
    else
        printf '%s\t%s\t-\t-\n' "$pq_job" "revops waterfall" >>"$times"
    fi
    # ---------------------------------------------------------------------------
    measure "$pq_job" "DuckDB $threads threads" \
        "$py" "$peer" cohort --data "$pq" --format parquet --threads "$threads" --out /dev/null
    # What DuckDB's rows include before any work: Python, `import duckdb`, a connection.
    measure "start-up only (reference)" "DuckDB $threads threads" \
        "$py" "$peer" startup --threads "$threads"
    if [[ -n $demo ]]; then
        measure "demo --data DIR --out OUT (every engine)" "revops demo" \
            "$bin/demo" --data "$data" --out "$work/out/demo"
    fi
done

# 6. The machine and the table.
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "Parquet files DuckDB read: $pq; revops read: ${revops_parquet:-none (no revops Parquet row)}"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
os=$( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") || uname -s)
echo
echo "Machine: $(nproc) cores ($cpu), $mem, $os, Linux $(uname -r);" \
    "$(rustc --version); DuckDB $("$py" "$peer" machine) (Python $("$py" -c 'import platform; print(platform.python_version())'));" \
    "data: $data ($(du -shL "$data" | cut -f1), leads.csv + stage_events.csv $(du -cshL "$data/leads.csv" "$data/stage_events.csv" | tail -1 | cut -f1))"
echo
echo "Load average (1, 5, 15 min) before the timed runs: $load_before; after: $load_after" \
    "(the load before the runs is other work on the machine: near or above $(nproc), timings are slower and noisier)."
echo
"$py" "$peer" table --times "$times" --runs "$runs"
