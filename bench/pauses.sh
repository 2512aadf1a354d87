#!/usr/bin/env bash
# What a status history costs the report job: the report over generated data with
# `--status-history`, beside the same data with its two status folders (ticket_status,
# statuses) removed; writes bench/PAUSES.md (never edit it by hand). Target: at most
# 1.4x.
#
#   bench/pauses.sh                     # 10M tickets, 1,000 clients, 24 months, 2 threads
#   TICKETS=1000000 bench/pauses.sh     # a quicker run
#
# RUNS interleaved runs of each (with, without, with, ...), wall time and peak RSS of
# the whole process (/usr/bin/time -v), median (min-max), and the median of the paired
# ratios. The second folder hard-links the first one's files, so both read the same
# bytes for the five other tables.
set -euo pipefail
cd "$(dirname "$0")/.."

TICKETS=${TICKETS:-10000000}
CLIENTS=${CLIENTS:-1000}
MONTHS=${MONTHS:-24}
THREADS=${THREADS:-2}
RUNS=${RUNS:-5}
WITH=${WITH:-target/bench-data-$TICKETS-status-history}
WITHOUT=$WITH-removed
OUT=target/bench-pauses
source bench/lib.sh
mkdir -p "$OUT"

# PROFILE=dev measures the dev profile's build (optimised too, quicker to build).
PROFILE=${PROFILE:-release}
cargo build --profile "$PROFILE" --quiet
BIN=./target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")/mspkpi

if [ ! -d "$WITH/ticket_status" ]; then
  echo "generating $TICKETS tickets with their status history into $WITH ..." >&2
  rm -rf "$WITH"
  /usr/bin/time -v "$BIN" generate --status-history --out "$WITH" --tickets "$TICKETS" --clients "$CLIENTS" --months "$MONTHS" > /dev/null 2> "$OUT/generate.time"
fi
rm -rf "$WITHOUT"
cp -al "$WITH" "$WITHOUT"
rm -rf "$WITHOUT/ticket_status" "$WITHOUT/statuses"
PERIOD=$(last_period "$WITH")
status_rows=$("$BIN" sql --data "$WITH" --format csv "SELECT count(*) FROM ticket_status" | tail -1)

# report DATA OUT: sets WALL (s) and RSS (KiB).
report() {
  rm -rf "$2"
  /usr/bin/time -v "$BIN" report --threads "$THREADS" --data "$1" --period "$PERIOD" --out "$2" 2> "$OUT/report.time" > /dev/null
  time_of "$OUT/report.time"
}

with_runs=(); without_runs=(); ratios=(); with_peak=0; without_peak=0
for _ in $(seq "$RUNS"); do
  report "$WITH" "$OUT/with"; with_runs+=("$WALL"); [ "$RSS" -gt "$with_peak" ] && with_peak=$RSS
  w=$WALL
  report "$WITHOUT" "$OUT/without"; without_runs+=("$WALL"); [ "$RSS" -gt "$without_peak" ] && without_peak=$RSS
  ratios+=("$(echo "$w / $WALL" | bc -l)")
done
ratio=$(ratio_of_medians 'with_runs[@]' 'without_runs[@]')
paired=$(printf '%s\n' "${ratios[@]}" | median | cut -d' ' -f1)
verdict=$(echo "$ratio <= 1.4" | bc -l | sed 's/1/met/; s/0/MISSED/')
files=$(find "$OUT/with/$PERIOD" -type f | wc -l)
# Every report without a status history says so where the two new KPIs would be.
missing=$(find "$OUT/without/$PERIOD" -name '*.md' ! -name index.md ! -name team.md -exec grep -L "no status history" {} + | wc -l)
generated=""
if [ -f "$OUT/generate.time" ]; then
  generated="Generating the data with its status history took $(grep 'Elapsed (wall clock)' "$OUT/generate.time" | awk -F': ' '{print $2}') (peak $(( $(grep 'Maximum resident set size' "$OUT/generate.time" | awk '{print $NF}') / 1024 )) MiB)."
fi

cat > bench/PAUSES.md <<MD
# The report with and without a status history

Written by \`bench/pauses.sh\`; do not edit by hand.

- commit: $COMMIT
- machine: $(machine)
- command: \`PROFILE=$PROFILE TICKETS=$TICKETS CLIENTS=$CLIENTS MONTHS=$MONTHS THREADS=$THREADS RUNS=$RUNS bench/pauses.sh\`

\`mspkpi report --threads $THREADS --period $PERIOD\` over \`generate --status-history\`
($TICKETS tickets, $CLIENTS clients, $MONTHS months; $status_rows status rows), and over
the same folder with \`ticket_status/\` and \`statuses/\` removed. $RUNS interleaved runs,
wall seconds of the whole process, median (min-max); $files files per report.

| data | wall seconds | peak memory |
|---|---:|---:|
| with the status history | $(printf '%s\n' "${with_runs[@]}" | median) | $((with_peak / 1024)) MiB |
| the status folders removed | $(printf '%s\n' "${without_runs[@]}" | median) | $((without_peak / 1024)) MiB |

With ÷ without: ${ratio}x (ratio of the medians), ${paired}x (median of the paired runs);
target at most 1.4x: $verdict. Reports without the history that lack the "no status
history" sentence: $missing.

$generated
MD
cat bench/PAUSES.md
