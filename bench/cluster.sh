#!/usr/bin/env bash
# The report on a one-machine Ballista cluster and through an S3 emulator, each beside
# the local run in the same bench run; writes bench/CLUSTER.md (never edit it by hand).
#
#   bench/cluster.sh                    # 10M tickets through the cluster, 1M through S3
#   TICKETS=1000000 bench/cluster.sh    # a quicker run
#
# Cluster: `mspkpi scheduler` and two `mspkpi executor --concurrency 1` on 127.0.0.1,
# against `mspkpi report --threads 2` alone (target: at most 1.5x). S3: moto's server on
# 127.0.0.1 holding S3_TICKETS tickets, against the same data on the local disk. RUNS
# interleaved runs of each, median (min-max); every cluster and S3 report must be
# byte-identical to the local one.
set -euo pipefail
cd "$(dirname "$0")/.."

TICKETS=${TICKETS:-10000000}
S3_TICKETS=${S3_TICKETS:-1000000}
CLIENTS=${CLIENTS:-1000}
MONTHS=${MONTHS:-24}
RUNS=${RUNS:-3}
DATA=${DATA:-target/bench-data-$TICKETS}
S3_DATA=target/bench-data-s3-$S3_TICKETS
OUT=target/bench-cluster
source bench/lib.sh
DIGITS=2
mkdir -p "$OUT"

cargo build --release --quiet
BIN=./target/release/mspkpi
bench_venv "moto[server]>=5.1,<5.3" boto3

[ -d "$DATA/tickets" ] || "$BIN" generate --out "$DATA" --tickets "$TICKETS" --clients "$CLIENTS" --months "$MONTHS" > /dev/null
[ -d "$S3_DATA/tickets" ] || "$BIN" generate --out "$S3_DATA" --tickets "$S3_TICKETS" --clients "$CLIENTS" --months "$MONTHS" > /dev/null

PIDS=()
trap 'kill "${PIDS[@]}" 2> /dev/null || true' EXIT

# seconds OUT [flags...]: the wall time of one report of PERIOD over $REPORT_DATA.
seconds() {
  local out=$1; shift
  rm -rf "$out"
  local s e; s=$(date +%s.%N)
  "$BIN" report --threads 2 --data "$REPORT_DATA" --period "$PERIOD" --out "$out" "$@" > /dev/null 2>> "$OUT/report.log"
  e=$(date +%s.%N); echo "$e - $s" | bc
}

# The cluster.
SCHEDULER=$(free_port)
"$BIN" scheduler --port "$SCHEDULER" 2> "$OUT/scheduler.log" & PIDS+=($!)
wait_port "$SCHEDULER"
for i in 1 2; do
  flight=$(free_port); grpc=$(free_port)
  "$BIN" executor --scheduler "127.0.0.1:$SCHEDULER" --port "$flight" --grpc-port "$grpc" --concurrency 1 2> "$OUT/executor-$i.log" & PIDS+=($!)
  wait_port "$flight"
done
REPORT_DATA=$DATA PERIOD=$(last_period "$DATA")
local_runs=(); cluster_runs=(); identical=yes
for _ in $(seq "$RUNS"); do
  local_runs+=("$(seconds "$OUT/local")")
  cluster_runs+=("$(seconds "$OUT/cluster" --cluster "df://127.0.0.1:$SCHEDULER")")
  diff -rq "$OUT/local" "$OUT/cluster" > /dev/null || identical=NO
done
cluster_ratio=$(ratio_of_medians 'cluster_runs[@]' 'local_runs[@]')

# The S3 emulator.
MOTO=$(free_port)
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO" > "$OUT/moto.log" 2>&1 & PIDS+=($!)
wait_port "$MOTO"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO" AWS_ALLOW_HTTP=true
"$VENV/bin/python" - "$S3_DATA" <<'EOF'
import os, sys, boto3
root = sys.argv[1]
s3 = boto3.client("s3")
s3.create_bucket(Bucket="bench")
for folder, _, files in os.walk(root):
    for name in files:
        path = os.path.join(folder, name)
        s3.upload_file(path, "bench", "data/" + os.path.relpath(path, root))
EOF
REPORT_DATA=$S3_DATA PERIOD=$(last_period "$S3_DATA")
disk_runs=(); s3_runs=(); s3_identical=yes
for _ in $(seq "$RUNS"); do
  REPORT_DATA=$S3_DATA
  disk_runs+=("$(seconds "$OUT/disk")")
  REPORT_DATA=s3://bench/data
  s3_runs+=("$(seconds "$OUT/s3")")
  diff -rq "$OUT/disk" "$OUT/s3" > /dev/null || s3_identical=NO
done
s3_ratio=$(ratio_of_medians 's3_runs[@]' 'disk_runs[@]')

{
  echo "# Cluster and object-store results"
  echo
  echo "Written by \`bench/cluster.sh\`; do not edit by hand."
  echo
  echo "- commit: $COMMIT"
  echo "- machine: $(machine)"
  echo "- command: \`TICKETS=$TICKETS S3_TICKETS=$S3_TICKETS CLIENTS=$CLIENTS MONTHS=$MONTHS RUNS=$RUNS bench/cluster.sh\`"
  echo
  echo "| case | data | wall seconds, median (min-max) |"
  echo "|---|---|---:|"
  echo "| \`report --threads 2\` | $TICKETS tickets, local disk | $(printf '%s\n' "${local_runs[@]}" | median) |"
  echo "| \`report --threads 2 --cluster\`: scheduler + 2 executors \`--concurrency 1\` | $TICKETS tickets, local disk | $(printf '%s\n' "${cluster_runs[@]}" | median) |"
  echo "| \`report --threads 2\` | $S3_TICKETS tickets, local disk | $(printf '%s\n' "${disk_runs[@]}" | median) |"
  echo "| \`report --threads 2\` | $S3_TICKETS tickets, \`s3://\` (moto_server on 127.0.0.1) | $(printf '%s\n' "${s3_runs[@]}" | median) |"
  echo
  echo "Cluster ÷ local: ${cluster_ratio}× (target ≤ 1.5×); the reports byte-identical: $identical."
  echo "S3 emulator ÷ local disk: ${s3_ratio}×; the reports byte-identical: $s3_identical."
  echo
} > bench/CLUSTER.md
cat bench/CLUSTER.md
