#!/usr/bin/env bash
# `mspkpi import` of a ConnectWise CSV export beside DuckDB's COPY (SELECT ...) TO
# parquet of the same mapping (bench/import_duckdb.py), on the same files and threads;
# writes bench/IMPORT.md (never edit it by hand). Target: import's mapping at most 2x
# DuckDB's. Import's validate step is timed apart and reported beside it.
#
#   bench/import.sh                     # 1M tickets, 1,000 clients, 24 months, 2 threads
#   TICKETS=100000 bench/import.sh      # a quicker run
#
# The export: `mspkpi generate --psa-csv`, times in UTC (so --timezone UTC). RUNS
# interleaved runs of each, median (min-max) seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

TICKETS=${TICKETS:-1000000}
CLIENTS=${CLIENTS:-1000}
MONTHS=${MONTHS:-24}
THREADS=${THREADS:-2}
RUNS=${RUNS:-5}
DATA=target/bench-import-$TICKETS
OUT=target/bench-import
source bench/lib.sh
mkdir -p "$OUT"

# PROFILE=dev measures the dev profile's build (optimised too, quicker to build).
PROFILE=${PROFILE:-release}
cargo build --profile "$PROFILE" --quiet
BIN=./target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")/mspkpi
bench_venv duckdb
CSV=$DATA/connectwise-csv
if [ ! -f "$CSV/Service Tickets.csv" ]; then
  echo "generating $TICKETS tickets and their ConnectWise CSV export into $DATA ..." >&2
  rm -rf "$DATA"
  "$BIN" generate --out "$DATA/generated" --tickets "$TICKETS" --clients "$CLIENTS" --months "$MONTHS" --psa-csv "$CSV" 2> /dev/null
fi
rows=$(($(wc -l < "$CSV/Service Tickets.csv") - 1))
megabytes=$(du -cm "$CSV"/*.csv | tail -1 | cut -f1)

mapping_runs=(); validate_runs=(); wall_runs=(); duck_runs=(); ratios=()
for _ in $(seq "$RUNS"); do
  rm -rf "$OUT/imported" "$OUT/duckdb"
  s=$(date +%s.%N)
  "$BIN" import --threads "$THREADS" --mapping connectwise --timezone UTC \
    --source "tickets=$CSV/Service Tickets.csv" --source "$CSV/time_entries.csv" --source "$CSV/surveys.csv" \
    --source "$CSV/clients.csv" --source "$CSV/sla_targets.csv" --out "$OUT/imported" > "$OUT/import.txt"
  e=$(date +%s.%N)
  wall_runs+=("$(echo "$e - $s" | bc)")
  mapping=$(grep '^mapping ' "$OUT/import.txt" | awk '{print $2}')
  mapping_runs+=("$mapping"); validate_runs+=("$(grep '^mapping ' "$OUT/import.txt" | awk '{print $5}')")
  d=$("$VENV/bin/python" bench/import_duckdb.py "$CSV" "$OUT/duckdb" "$THREADS")
  duck_runs+=("$d"); ratios+=("$(echo "$mapping / $d" | bc -l)")
done
grep -q "0 error(s)" "$OUT/import.txt"
ratio=$(ratio_of_medians 'mapping_runs[@]' 'duck_runs[@]')
paired=$(printf '%s\n' "${ratios[@]}" | median | cut -d' ' -f1)
verdict=$(echo "$ratio <= 2" | bc -l | sed 's/1/met/; s/0/MISSED/')

cat > bench/IMPORT.md <<MD
# Import beside DuckDB

Written by \`bench/import.sh\`; do not edit by hand.

- commit: $COMMIT
- machine: $(machine)
- command: \`PROFILE=$PROFILE TICKETS=$TICKETS CLIENTS=$CLIENTS MONTHS=$MONTHS THREADS=$THREADS RUNS=$RUNS bench/import.sh\`
- peers: duckdb $("$VENV/bin/python" -c 'import duckdb; print(duckdb.__version__)')

The ConnectWise CSV export of a generated history (\`generate --psa-csv\`: $rows tickets,
$megabytes MB of CSV over five files) imported with \`--mapping connectwise --threads
$THREADS\`, and the same mapping in DuckDB with $THREADS threads (\`read_csv(...,
all_varchar = true)\` and \`COPY (SELECT ...) TO '....parquet'\` per table). $RUNS
interleaved runs, median (min-max) seconds:

| run | seconds |
|---|---:|
| mspkpi import: reading the CSV, the mappings and their checks, writing Parquet | $(printf '%s\n' "${mapping_runs[@]}" | median) |
| mspkpi import: its validate step | $(printf '%s\n' "${validate_runs[@]}" | median) |
| mspkpi import: the whole process | $(printf '%s\n' "${wall_runs[@]}" | median) |
| DuckDB: the five COPY statements | $(printf '%s\n' "${duck_runs[@]}" | median) |

Import's mapping ÷ DuckDB: ${ratio}x (ratio of the medians), ${paired}x (median of the
paired runs); target at most 2x: $verdict.
MD
cat bench/IMPORT.md
