#!/usr/bin/env bash
# What Delta tables cost: import into Delta tables beside import into plain Parquet
# folders (the same generated history, through the identity mapping), then the report
# over each; writes bench/DELTA.md (never edit it by hand). Targets: the report over
# Delta at most 1.05x the plain one, the import into Delta at most 1.2x.
#
#   bench/delta.sh                      # 10M tickets, 1,000 clients, 24 months, 2 threads
#   TICKETS=1000000 bench/delta.sh      # a quicker run
#
# RUNS interleaved runs of each pair (delta, parquet, delta, ...), wall time and peak RSS
# of the whole process (/usr/bin/time -v), median (min-max), and the median of the
# paired ratios. Each import writes a new folder, so each is a first import.
set -euo pipefail
cd "$(dirname "$0")/.."

TICKETS=${TICKETS:-10000000}
CLIENTS=${CLIENTS:-1000}
MONTHS=${MONTHS:-24}
THREADS=${THREADS:-2}
RUNS=${RUNS:-5}
SOURCE=${SOURCE:-target/bench-data-$TICKETS}
OUT=target/bench-delta
source bench/lib.sh
mkdir -p "$OUT"

PROFILE=${PROFILE:-release}
cargo build --profile "$PROFILE" --quiet
BIN=./target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")/mspkpi

if [ ! -d "$SOURCE/tickets" ]; then
  echo "generating $TICKETS tickets into $SOURCE ..." >&2
  "$BIN" generate --out "$SOURCE" --tickets "$TICKETS" --clients "$CLIENTS" --months "$MONTHS" > /dev/null
fi
PERIOD=$(last_period "$SOURCE")

# The identity mapping: each table as its Parquet source holds it.
MAPPING=$OUT/mapping
mkdir -p "$MAPPING"
sources=()
for table in tickets clients time_entries surveys sla_targets; do
  printf -- '-- reads: source_%s\nSELECT * EXCLUDE (_source_row, _source_file) FROM source_%s\n' "$table" "$table" > "$MAPPING/$table.sql"
  sources+=(--source "source_$table=$SOURCE/$table")
done

# timed LOG COMMAND...: runs it under /usr/bin/time -v; sets WALL (s) and RSS (KiB).
timed() {
  local log=$1; shift
  /usr/bin/time -v "$@" > /dev/null 2> "$log"
  time_of "$log"
}

import_delta=(); import_plain=(); import_ratios=()
for _ in $(seq "$RUNS"); do
  for format in delta parquet; do
    rm -rf "$OUT/data-$format"
    timed "$OUT/import.time" "$BIN" import --threads "$THREADS" --format "$format" --mapping "$MAPPING" "${sources[@]}" --out "$OUT/data-$format"
    if [ "$format" = delta ]; then d=$WALL; import_delta+=("$WALL"); else import_plain+=("$WALL"); import_ratios+=("$(echo "$d / $WALL" | bc -l)"); fi
  done
done

report_delta=(); report_plain=(); report_ratios=(); delta_peak=0; plain_peak=0
for _ in $(seq "$RUNS"); do
  for format in delta parquet; do
    rm -rf "$OUT/report-$format"
    timed "$OUT/report.time" "$BIN" report --threads "$THREADS" --data "$OUT/data-$format" --period "$PERIOD" --out "$OUT/report-$format"
    if [ "$format" = delta ]; then
      d=$WALL; report_delta+=("$WALL"); [ "$RSS" -gt "$delta_peak" ] && delta_peak=$RSS
    else
      report_plain+=("$WALL"); report_ratios+=("$(echo "$d / $WALL" | bc -l)"); [ "$RSS" -gt "$plain_peak" ] && plain_peak=$RSS
    fi
  done
done
same=$(diff -r "$OUT/report-delta" "$OUT/report-parquet" > /dev/null && echo "byte-identical" || echo "DIFFERENT")

import_ratio=$(ratio_of_medians 'import_delta[@]' 'import_plain[@]')
report_ratio=$(ratio_of_medians 'report_delta[@]' 'report_plain[@]')
import_paired=$(printf '%s\n' "${import_ratios[@]}" | median | cut -d' ' -f1)
report_paired=$(printf '%s\n' "${report_ratios[@]}" | median | cut -d' ' -f1)
verdict() { echo "$1 <= $2" | bc -l | sed 's/1/met/; s/0/MISSED/'; }

cat > bench/DELTA.md <<MD
# Delta tables beside plain Parquet folders

Written by \`bench/delta.sh\`; do not edit by hand.

- commit: $COMMIT
- machine: $(machine)
- command: \`PROFILE=$PROFILE TICKETS=$TICKETS CLIENTS=$CLIENTS MONTHS=$MONTHS THREADS=$THREADS RUNS=$RUNS bench/delta.sh\`

\`mspkpi import --threads $THREADS --format delta|parquet\` of \`generate\`'s history
($TICKETS tickets, $CLIENTS clients, $MONTHS months) through the identity mapping into a
new folder, then \`mspkpi report --threads $THREADS --period $PERIOD\` over each folder.
$RUNS interleaved runs of each pair, wall seconds of the whole process, median
(min-max). The two reports are $same.

| run | Delta tables | plain Parquet | Delta ÷ plain (medians) | paired | target |
|---|---:|---:|---:|---:|---|
| import | $(printf '%s\n' "${import_delta[@]}" | median) | $(printf '%s\n' "${import_plain[@]}" | median) | ${import_ratio}x | ${import_paired}x | ≤ 1.2x: $(verdict "$import_ratio" 1.2) |
| report | $(printf '%s\n' "${report_delta[@]}" | median) | $(printf '%s\n' "${report_plain[@]}" | median) | ${report_ratio}x | ${report_paired}x | ≤ 1.05x: $(verdict "$report_ratio" 1.05) |

Peak memory of the report: $((delta_peak / 1024)) MiB over Delta, $((plain_peak / 1024)) MiB over plain folders.
MD
cat bench/DELTA.md
