#!/usr/bin/env bash
# Benchmarks mspkpi and writes bench/RESULTS.md (never edit that file by hand).
#
#   bench/run.sh                       # 10M tickets, 1,000 clients, 24 months, 2 threads
#   TICKETS=1000000 ROWS=2000000 bench/run.sh   # a quicker run
#   BIG=1 bench/run.sh                 # also 100M tickets / 10,000 clients (needs ~25 GB of disk)
#   ONLY="pauses import delta" bench/run.sh  # only those parts, their sections replaced
#
# In one process (ROUNDS interleaved rounds, at least 7, median): each KPI aggregate against its
# fastest DataFusion built-in formulation and the cheapest query reading the same
# columns, on an in-memory table of ROWS rows grouped by ~1,000 and ~100,000 keys;
# business_minutes and local_month on the generated tickets. On one thread, the
# GroupsAccumulator kernels against DataFusion's count kernel. As whole processes
# (RUNS runs, median and min/max): the report job with its peak memory beside the
# report's KPI set hand-written for DuckDB (bench/peers.py, timed in-process), the same
# KPIs by hand in DataFusion (mspkpi sql), DuckDB and Polars, and a scan floor. With
# BIG=1, the report with --memory-limit 4G at both scales, and at 100M against 16G.
# Then bench/cluster.sh (the report on a Ballista cluster and through S3) and
# bench/python.sh (the Python package beside the CLI) on the same data, and
# bench/pauses.sh (the report with and without a status history), bench/import.sh
# (import of 1M tickets' CSV beside DuckDB) and bench/delta.sh (import and report over
# Delta tables beside plain folders), on data of their own, whose results close this
# file; CLUSTER=0 / PYTHON=0 / PAUSES=0 / IMPORT=0 / DELTA=0 leave them out.
set -euo pipefail
cd "$(dirname "$0")/.."

TICKETS=${TICKETS:-10000000}
CLIENTS=${CLIENTS:-1000}
MONTHS=${MONTHS:-24}
THREADS=${THREADS:-2}
ROWS=${ROWS:-20000000}
RUNS=${RUNS:-5}
ROUNDS=${ROUNDS:-15}
DATA=${DATA:-target/bench-data-$TICKETS}
OUT=target/bench
source bench/lib.sh
mkdir -p "$OUT"

# part NAME: bench/NAME.md as a section of this file, one heading level down, between
# markers that ONLY= below finds again.
part() {
  local upper
  upper=$(echo "$1" | tr '[:lower:]' '[:upper:]')
  echo "<!-- part:$1 -->"
  sed '1s/^# /### /; /^Written by/d' "bench/${upper}.md"
  echo "<!-- /part:$1 -->"
}

# ONLY="pauses import" bench/run.sh: re-measures those parts (each on data of its own)
# and replaces their sections here, leaving the other sections as they were measured.
if [ -n "${ONLY:-}" ]; then
  for name in $ONLY; do
    case $name in
      pauses|import|delta) ;;
      *) echo "ONLY takes pauses, import and delta (the parts with data of their own), not $name" >&2; exit 1;;
    esac
    CLIENTS=$CLIENTS MONTHS=$MONTHS THREADS=$THREADS RUNS=$RUNS bench/$name.sh > /dev/null
    part "$name" > "$OUT/part.md"
    python3 - "$name" "$OUT/part.md" <<'PY'
import re, sys
name, section = sys.argv[1], open(sys.argv[2]).read()
text = open("bench/RESULTS.md").read()
pattern = re.compile(rf"<!-- part:{name} -->.*?<!-- /part:{name} -->\n", re.S)
text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
open("bench/RESULTS.md", "w").write(text)
PY
  done
  exit 0
fi

cargo build --release --quiet
BIN=./target/release/mspkpi
bench_venv duckdb polars pyarrow
python3() { "$VENV/bin/python" "$@"; }

if [ ! -d "$DATA/tickets" ]; then
  echo "generating $TICKETS tickets into $DATA ..." >&2
  /usr/bin/time -v "$BIN" generate --out "$DATA" --tickets "$TICKETS" --clients "$CLIENTS" --months "$MONTHS" 2> "$OUT/generate.time"
fi
PERIOD=$(last_period "$DATA")

echo "in-process benchmarks ..." >&2
cargo run --release --quiet -p mspkpi-bench --bin kpi-bench -- --rows "$ROWS" --threads "$THREADS" --rounds "$ROUNDS" --data "$DATA" > "$OUT/inprocess.md"
cargo run --release --quiet -p mspkpi-bench --bin kernel-bench -- --rounds "$ROUNDS" > "$OUT/kernels.md"

# report DATA OUT PERIOD [flags...]: sets WALL (s), RSS (KiB) and RENDER (s).
report() {
  local data=$1 out=$2 period=$3; shift 3
  MSPKPI_TIMINGS=1 /usr/bin/time -v "$BIN" report --threads "$THREADS" "$@" --data "$data" --period "$period" --out "$out" 2> "$OUT/report.time" > /dev/null
  time_of "$OUT/report.time"
  RENDER=$(grep '^rendering' "$OUT/report.time" | awk '{print $(NF-1)}')
}

# 100M tickets / 10,000 clients: the report with the same flags at both scales.
big_section() {
  local big=${BIG_DATA:-target/bench-data-100000000}
  if [ ! -d "$big/tickets" ]; then
    echo "generating 100000000 tickets into $big ..." >&2
    "$BIN" generate --out "$big" --tickets 100000000 --clients 10000 --months "$MONTHS" > /dev/null
  fi
  local big_period
  big_period=$("$BIN" sql --data "$big" --format csv "SELECT to_char(CAST(max(created_at) AS DATE) - INTERVAL '1 month', '%Y-%m') AS p FROM tickets" | tail -1)
  echo "### Scale: 10M and 100M tickets with --memory-limit 4G"
  echo
  echo "| data | flags | wall seconds | peak memory | rendering s |"
  echo "|---|---|---:|---:|---:|"
  rm -rf "$OUT/r10" "$OUT/r100" "$OUT/r100-16g"
  report "$DATA" "$OUT/r10" "$PERIOD" --memory-limit 4G; local small=$WALL
  echo "| $TICKETS tickets | --memory-limit 4G | $WALL | $((RSS / 1024)) MiB | $RENDER |"
  report "$big" "$OUT/r100" "$big_period" --memory-limit 4G; local large=$WALL
  echo "| 100000000 tickets | --memory-limit 4G | $WALL | $((RSS / 1024)) MiB | $RENDER |"
  report "$big" "$OUT/r100-16g" "$big_period" --memory-limit 16G
  echo "| 100000000 tickets | --memory-limit 16G | $WALL | $((RSS / 1024)) MiB | $RENDER |"
  echo
  echo "Growth, 100M ÷ 10M at 4G: $(echo "$large / $small" | bc -l | cut -c1-5)×. The 100M reports at 4G and 16G: $(diff -rq "$OUT/r100" "$OUT/r100-16g" > /dev/null && echo byte-identical || echo DIFFERENT)."
  echo
}

seconds() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }

echo "whole-process benchmarks ..." >&2
{
  echo "### Whole processes, $THREADS threads, $RUNS runs: median (min-max) seconds"
  echo
  echo "| case | mspkpi functions | DataFusion built-ins | DuckDB | Polars |"
  echo "|---|---:|---:|---:|---:|"
  FCR_MINE="SELECT client_id, local_month(resolved_at, 'America/New_York') AS m, fcr_rate(contacts) AS fcr FROM tickets WHERE resolved_at IS NOT NULL GROUP BY 1, 2"
  FCR_BUILTIN="SELECT client_id, date_trunc('month', arrow_cast(resolved_at, 'Timestamp(Microsecond, Some(\"America/New_York\"))')) AS m, 100.0 * count(*) FILTER (WHERE contacts = 1) / count(contacts) AS fcr FROM tickets WHERE resolved_at IS NOT NULL GROUP BY 1, 2"
  NPS_MINE="SELECT client_id, local_month(submitted_at, 'America/New_York') AS m, nps(score) AS nps FROM surveys WHERE kind = 'nps' GROUP BY 1, 2"
  NPS_BUILTIN="SELECT client_id, date_trunc('month', arrow_cast(submitted_at, 'Timestamp(Microsecond, Some(\"America/New_York\"))')) AS m, 100.0 * (count(*) FILTER (WHERE score >= 9) - count(*) FILTER (WHERE score <= 6)) / count(score) AS nps FROM surveys WHERE kind = 'nps' GROUP BY 1, 2"
  FLOOR="SELECT count(*), sum(contacts), count(resolved_at) FROM tickets"
  for kpi in fcr nps floor; do
    case $kpi in
      fcr) mine=$FCR_MINE; builtin=$FCR_BUILTIN; label="FCR per client and month";;
      nps) mine=$NPS_MINE; builtin=$NPS_BUILTIN; label="NPS per client and month";;
      floor) mine=$FLOOR; builtin=$FLOOR; label="scan floor (count, sum(contacts), count(resolved_at))";;
    esac
    m=$(for i in $(seq "$RUNS"); do seconds "$BIN" sql --threads "$THREADS" --data "$DATA" --format csv "$mine"; done | median)
    b=$(for i in $(seq "$RUNS"); do seconds "$BIN" sql --threads "$THREADS" --data "$DATA" --format csv "$builtin"; done | median)
    d=$(for i in $(seq "$RUNS"); do seconds python3 bench/peers.py duckdb "$kpi" "$DATA" "$THREADS"; done | median)
    p=$(for i in $(seq "$RUNS"); do POLARS_MAX_THREADS=$THREADS seconds python3 bench/peers.py polars "$kpi" "$DATA" "$THREADS"; done | median)
    echo "| $label | $m | $b | $d | $p |"
  done
  echo
  echo "(Whole processes include start-up: Python's imports for DuckDB and Polars, the catalog's footer checks for mspkpi.)"
  echo
  echo "### The report job for $PERIOD over all clients (md and html), $RUNS runs, beside DuckDB"
  echo
  echo "Each run: \`mspkpi report --threads $THREADS\` (wall clock and peak RSS from /usr/bin/time -v), then the report's KPI set hand-written for DuckDB with $THREADS threads (bench/peers.py: every saved query, wall-clock minutes, timed in-process without Python's start-up)."
  echo
  rm -rf "$OUT/reports"
  times=(); duck=(); ratios=(); renders=()
  peak=0
  for i in $(seq "$RUNS"); do
    report "$DATA" "$OUT/reports" "$PERIOD"
    times+=("$WALL"); renders+=("$RENDER")
    [ "$RSS" -gt "$peak" ] && peak=$RSS
    d=$(python3 bench/peers.py duckdb report "$DATA" "$THREADS" "$PERIOD" 2> "$OUT/duckdb.queries")
    duck+=("$d")
    ratios+=("$(echo "$WALL / $d" | bc -l)")
  done
  echo "| case | wall seconds, median (min-max) | peak memory |"
  echo "|---|---:|---:|"
  echo "| mspkpi report | $(printf '%s\n' "${times[@]}" | median) | $((peak / 1024)) MiB |"
  echo "| DuckDB, the report's KPI set | $(printf '%s\n' "${duck[@]}" | median) | – |"
  echo
  echo "mspkpi ÷ DuckDB, median of the paired runs: $(printf '%s\n' "${ratios[@]}" | median | cut -d' ' -f1). Rendering and writing the $(find "$OUT/reports/$PERIOD" -type f | wc -l) files: $(printf '%s\n' "${renders[@]}" | median) s."
  echo
  echo "Per query, the last run (MSPKPI_TIMINGS=1; DuckDB's on the right):"
  echo
  echo '```'
  paste -d'|' <(grep -E '^(model|saved query|rendering)' "$OUT/report.time") <(cat "$OUT/duckdb.queries") | sed 's/|/    |    /'
  echo '```'
  echo
  if [ -n "${BIG:-}" ]; then
    big_section
  fi
  if [ -f "$OUT/generate.time" ]; then
    echo "Generating the data took $(grep 'Elapsed (wall clock)' "$OUT/generate.time" | awk -F': ' '{print $2}') (peak $(( $(grep 'Maximum resident set size' "$OUT/generate.time" | awk '{print $NF}') / 1024 )) MiB)."
    echo
  fi
} > "$OUT/processes.md"

[ "${CLUSTER:-1}" = 0 ] || DATA=$DATA TICKETS=$TICKETS CLIENTS=$CLIENTS MONTHS=$MONTHS bench/cluster.sh > /dev/null
[ "${PYTHON:-1}" = 0 ] || DATA=$DATA TICKETS=$TICKETS CLIENTS=$CLIENTS MONTHS=$MONTHS bench/python.sh > /dev/null
[ "${PAUSES:-1}" = 0 ] || TICKETS=$TICKETS CLIENTS=$CLIENTS MONTHS=$MONTHS THREADS=$THREADS RUNS=$RUNS bench/pauses.sh > /dev/null
[ "${IMPORT:-1}" = 0 ] || CLIENTS=$CLIENTS MONTHS=$MONTHS THREADS=$THREADS RUNS=$RUNS bench/import.sh > /dev/null
[ "${DELTA:-1}" = 0 ] || SOURCE=$DATA TICKETS=$TICKETS CLIENTS=$CLIENTS MONTHS=$MONTHS THREADS=$THREADS RUNS=$RUNS bench/delta.sh > /dev/null

{
  echo "# Benchmark results"
  echo
  echo "Written by \`bench/run.sh\`; do not edit by hand."
  echo
  echo "- commit: $COMMIT"
  echo "- machine: $(machine)"
  echo "- command: \`TICKETS=$TICKETS CLIENTS=$CLIENTS MONTHS=$MONTHS THREADS=$THREADS ROWS=$ROWS RUNS=$RUNS ROUNDS=$ROUNDS bench/run.sh\`"
  echo "- data: $("$BIN" sql --data "$DATA" --format csv "SELECT (SELECT count(*) FROM tickets) || ' tickets, ' || (SELECT count(*) FROM surveys) || ' survey answers, ' || (SELECT count(*) FROM clients) || ' clients'" | tail -1)"
  echo "- peers: duckdb $(python3 -c 'import duckdb; print(duckdb.__version__)'), polars $(python3 -c 'import polars; print(polars.__version__)'), $(rustc --version)"
  echo
  echo "Ratios: × built-in = mspkpi's time ÷ the fastest DataFusion built-in formulation of the same KPI (target ≤ 0.8); × floor = ÷ the cheapest query reading the same columns with the same GROUP BY (target ≤ 1.3). Each is given as the ratio of the medians and as the median of the per-round ratios (paired: the queries of a round run back to back, so the paired figure is less affected by the machine's speed drifting between rounds). floor ÷ built-in = the floor query's time ÷ the fastest built-in's (paired): an aggregate that reads the same columns cannot do much better than the floor, so where this exceeds 0.8 the 0.8 target is out of reach of any implementation; the grouping itself (see the GROUP BY alone rows) takes most of the time."
  echo
  cat "$OUT/inprocess.md"
  cat "$OUT/kernels.md"
  cat "$OUT/processes.md"
  for name in cluster python pauses import delta; do
    switch=$(echo "$name" | tr '[:lower:]' '[:upper:]')
    if [ "${!switch:-1}" != 0 ]; then
      echo
      part "$name"
    fi
  done
} > bench/RESULTS.md
cat bench/RESULTS.md
