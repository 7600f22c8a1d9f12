#!/usr/bin/env python3
"""The peer side of `ingest_vs_duckdb.sh`: DuckDB doing the job of
`waterfall --mode cohort --period month`, plus the helpers the script needs.

Subcommands
  cohort  --data DIR --format csv|parquet [--threads N] [--out FILE]
          Reads leads and stage_events from DIR (leads.csv / stage_events.csv, or
          leads.parquet / stage_events.parquet), and computes what revops' cohort
          report and velocity report compute for the demand waterfall:
            * one cycle per (lead, cycle): the first cycle starts at the lead's
              creation, a later cycle at its first progression event;
            * first entry per (lead, cycle, stage);
            * a cycle reaches a progression stage when it has an entry for that stage
              or a later one (revops' default skip policy back-fills skipped open
              stages; won is the last progression stage, so "won or later" = won);
            * counts per cohort month (UTC) of the cycle's start and stage;
            * the median lag inquiry -> mql in seconds over the cycles with an actual
              event for both, in that order (revops' velocity leaves out steps whose
              endpoint was back-filled).
          Writes the result as JSON (to --out, or stdout).
  parquet --data DIR --to DIR [--threads N]
          Converts leads.csv and stage_events.csv to Parquet (once, outside the timing).
  check   --revops FILE --duckdb FILE
          Compares the cohort x stage counts and the inquiry -> mql median of revops'
          `waterfall --format json` output with this script's output; exits 1 when
          they differ.
  table   --times FILE [--runs N]
          Prints the Markdown table from the timing lines the shell script collected.
  startup [--threads N]
          Starts DuckDB and does nothing (what every DuckDB row includes).
  machine
          Prints the DuckDB version.

The cycles come from the `cycle` column of stage_events.csv (the synthetic company
writes the cycle revops derives: a terminal stage closes a cycle, the next progression
event opens one). That is the cheaper way for DuckDB; `check` verifies the counts agree.
"""

import argparse
import json
import statistics
import sys
from collections import defaultdict

# The demand waterfall's progression stages, in rank order (src/funnel/definition.rs).
STAGES = ["inquiry", "mql", "sal", "sql", "opportunity", "won"]

# Column types: declared, so no sniffing is timed and timestamps stay UTC.
LEAD_COLUMNS = {
    "subject_id": "VARCHAR",
    "created_at": "TIMESTAMP",
    "source": "VARCHAR",
    "campaign": "VARCHAR",
    "account": "VARCHAR",
    "owner": "VARCHAR",
    "segment": "VARCHAR",
    "industry": "VARCHAR",
    "region": "VARCHAR",
}
EVENT_COLUMNS = {
    "subject_id": "VARCHAR",
    "stage": "VARCHAR",
    "at": "TIMESTAMP",
    "cycle": "INTEGER",
    "reason": "VARCHAR",
}


def connect(threads):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads={int(threads)}")
    con.execute("SET TimeZone='UTC'")
    return con


def csv_source(path, columns):
    cols = ", ".join(f"'{k}': '{v}'" for k, v in columns.items())
    # The synthetic company writes RFC 3339 with a trailing Z.
    return (
        f"read_csv('{path}', header=true, columns={{{cols}}}, "
        f"timestampformat='%Y-%m-%dT%H:%M:%SZ')"
    )


def sources(data, fmt):
    if fmt == "csv":
        return (
            csv_source(f"{data}/leads.csv", LEAD_COLUMNS),
            csv_source(f"{data}/stage_events.csv", EVENT_COLUMNS),
        )
    return (
        f"read_parquet('{data}/leads.parquet')",
        f"read_parquet('{data}/stage_events.parquet')",
    )


def cohort_sql(leads, events):
    ranks = ", ".join(f"('{s}', {r})" for r, s in enumerate(STAGES))
    reached = ",\n  ".join(
        f"count(*) FILTER (WHERE top >= {r}) AS r{r}" for r in range(len(STAGES))
    )
    return f"""
WITH
ranks(stage, rank) AS (VALUES {ranks}),
leads AS (SELECT subject_id, created_at FROM {leads}),
firsts AS (                      -- first entry per lead, cycle and progression stage
  SELECT e.subject_id, e.cycle, r.rank, min(e."at") AS t
  FROM {events} e JOIN ranks r ON e.stage = r.stage
  GROUP BY ALL
),
cycles AS (
  SELECT subject_id, cycle, max(rank) AS top, min(t) AS t_start,
         min(t) FILTER (WHERE rank = 0) AS t_inquiry,
         min(t) FILTER (WHERE rank = 1) AS t_mql
  FROM firsts GROUP BY ALL
),
counted AS (                     -- every lead's first cycle, then its later cycles
  SELECT l.created_at AS t_start, coalesce(c.top, -1) AS top, c.t_inquiry, c.t_mql
  FROM leads l LEFT JOIN cycles c ON c.subject_id = l.subject_id AND c.cycle = 1
  UNION ALL
  SELECT c.t_start, c.top, c.t_inquiry, c.t_mql
  FROM cycles c SEMI JOIN leads l ON c.subject_id = l.subject_id
  WHERE c.cycle > 1
),
lags AS (
  SELECT median(epoch(t_mql) - epoch(t_inquiry)) AS median, count(*) AS n
  FROM counted WHERE t_mql >= t_inquiry
)
SELECT strftime(date_trunc('month', t_start), '%Y-%m-%d') AS cohort, count(*) AS entered,
  {reached},
  (SELECT median FROM lags) AS lag_median, (SELECT n FROM lags) AS lag_count
FROM counted GROUP BY ALL ORDER BY cohort
"""


def cmd_cohort(a):
    con = connect(a.threads)
    leads, events = sources(a.data, a.format)
    rows = con.execute(cohort_sql(leads, events)).fetchall()
    out = {
        "stages": STAGES,
        "rows": [
            {"cohort": r[0], "entered": r[1], "reached": list(r[2 : 2 + len(STAGES)])}
            for r in rows
        ],
        "inquiry_mql_median_s": rows[0][-2] if rows else None,
        "inquiry_mql_count": rows[0][-1] if rows else 0,
    }
    text = json.dumps(out)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        print(text)


def cmd_parquet(a):
    con = connect(a.threads)
    for name, columns in (("leads", LEAD_COLUMNS), ("stage_events", EVENT_COLUMNS)):
        src = csv_source(f"{a.data}/{name}.csv", columns)
        con.execute(
            f"COPY (SELECT * FROM {src}) TO '{a.to}/{name}.parquet' (FORMAT parquet)"
        )


def revops_counts(path):
    """Cohort rows and the inquiry -> mql median of `waterfall --format json`."""
    with open(path) as f:
        d = json.load(f)
    r = d["report"]
    rows = [
        {
            "cohort": row["cohort"]["start"],
            "entered": row["entered"],
            "reached": row["reached"],
        }
        for row in r["total"]["rows"]
    ]
    step = d["velocity"]["total"]["steps"][0]
    assert (step["from"], step["to"]) == ("inquiry", "mql"), step
    summary = step["summary"] or {}
    return r["stages"], rows, summary.get("median"), summary.get("count", 0)


def cmd_check(a):
    stages, rows, median, count = revops_counts(a.revops)
    with open(a.duckdb) as f:
        duck = json.load(f)
    problems = []
    if stages != duck["stages"]:
        problems.append(f"stages differ: revops {stages}, DuckDB {duck['stages']}")
    ours = {r["cohort"]: r for r in rows}
    theirs = {r["cohort"]: r for r in duck["rows"]}
    for cohort in sorted(set(ours) | set(theirs)):
        x, y = ours.get(cohort), theirs.get(cohort)
        if x is None or y is None:
            problems.append(f"cohort {cohort}: only in {'DuckDB' if x is None else 'revops'}")
        elif (x["entered"], x["reached"]) != (y["entered"], y["reached"]):
            problems.append(
                f"cohort {cohort}: revops entered {x['entered']} reached {x['reached']}, "
                f"DuckDB entered {y['entered']} reached {y['reached']}"
            )
    if count != duck["inquiry_mql_count"] or median != duck["inquiry_mql_median_s"]:
        problems.append(
            f"inquiry -> mql: revops median {median} s over {count}, "
            f"DuckDB median {duck['inquiry_mql_median_s']} s over {duck['inquiry_mql_count']}"
        )
    if problems:
        print("MISMATCH between revops and DuckDB:", *problems[:20], sep="\n  ")
        sys.exit(1)
    cycles = sum(r["entered"] for r in rows)
    print(
        f"check: same counts: {len(rows)} cohorts x {len(stages)} stages over {cycles} cycles, "
        f"inquiry -> mql median {median} s over {count} cycles"
    )


def cmd_table(a):
    """Timing lines: `job<TAB>tool<TAB>wall_s<TAB>peak_kb` (one per run);
    a line with wall `-` marks a row still to come."""
    runs = defaultdict(list)
    order = []
    for line in open(a.times):
        job, tool, wall, kb = line.rstrip("\n").split("\t")
        key = (job, tool)
        if key not in runs:
            order.append(key)
        if wall != "-":
            runs[key].append((float(wall), int(kb)))
        else:
            runs[key]
    peer = {job: runs[(job, t)] for job, t in order if t.startswith("DuckDB")}

    def med(xs):
        return statistics.median(x[0] for x in xs)

    print("| job | tool | median wall s (min–max) | peak MB (max) | ratio revops/DuckDB (wall, peak) |")
    print("|---|---|---|---|---|")
    for job, tool in order:
        xs = runs[(job, tool)]
        if not xs:
            print(f"| {job} | {tool} | — (to come) | — | — |")
            continue
        walls = [x[0] for x in xs]
        peak = max(x[1] for x in xs) / 1024
        ratio = "—"
        p = peer.get(job)
        if tool.startswith("revops") and p:
            ratio = f"{med(xs) / med(p):.2f}×, {peak / (max(x[1] for x in p) / 1024):.2f}×"
        print(
            f"| {job} | {tool} | {med(xs):.2f} ({min(walls):.2f}–{max(walls):.2f}) "
            f"| {peak:.0f} | {ratio} |"
        )
    print(f"\n{a.runs} run{'s' if a.runs != 1 else ''} of each, interleaved; wall and peak RSS of the whole process "
          "(`/usr/bin/time -f '%e %M'`); MB = 2^20 bytes.")


def cmd_startup(a):
    connect(a.threads).execute("SELECT 1").fetchall()


def cmd_machine(_a):
    import duckdb

    print(duckdb.__version__)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cohort")
    c.add_argument("--data", required=True)
    c.add_argument("--format", choices=["csv", "parquet"], default="csv")
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--out")
    c.set_defaults(run=cmd_cohort)
    q = sub.add_parser("parquet")
    q.add_argument("--data", required=True)
    q.add_argument("--to", required=True)
    q.add_argument("--threads", type=int, default=2)
    q.set_defaults(run=cmd_parquet)
    k = sub.add_parser("check")
    k.add_argument("--revops", required=True)
    k.add_argument("--duckdb", required=True)
    k.set_defaults(run=cmd_check)
    t = sub.add_parser("table")
    t.add_argument("--times", required=True)
    t.add_argument("--runs", type=int, default=3)
    t.set_defaults(run=cmd_table)
    s = sub.add_parser("startup")
    s.add_argument("--threads", type=int, default=2)
    s.set_defaults(run=cmd_startup)
    m = sub.add_parser("machine")
    m.set_defaults(run=cmd_machine)
    a = p.parse_args()
    a.run(a)


if __name__ == "__main__":
    main()
