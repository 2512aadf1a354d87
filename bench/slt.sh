#!/usr/bin/env bash
# DataFusion's own SQL logic tests (datafusion-sqllogictest 55.2.0's test_files/, from
# cargo's registry) through DataFusion's session, mspkpi's and mspkpi on Ballista;
# writes bench/SLT.md (never edit it by hand).
#
#   bench/slt.sh    # the whole corpus on an in-process cluster, then tests/slt_corpus.rs's
#                   # CI files on a scheduler and an executor as processes
#
# The harness is tests/slt_corpus.rs; `cargo test --test slt_corpus` runs its CI files.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
OUT=target/bench-slt
mkdir -p "$OUT"
export RUST_LOG=${RUST_LOG:-error}

cargo build --quiet --bin mspkpi
BIN=./target/debug/mspkpi

# The whole corpus, the cluster in the harness's process.
MSPKPI_SLT_FILES=all MSPKPI_SLT_RESULTS=bench/SLT.md cargo test --quiet --test slt_corpus 2> "$OUT/all.log" | tail -1

# The CI files on processes, started in the folder the harness copies the corpus to
# (the files' paths are relative to it).
DIR=$(mktemp -d)
WORK="$DIR/datafusion/sqllogictest"
mkdir -p "$WORK"
PIDS=()
trap 'kill "${PIDS[@]}" 2> /dev/null || true; rm -rf "$DIR"' EXIT
SCHEDULER=$(free_port)
(cd "$WORK" && exec "$OLDPWD/$BIN" scheduler --port "$SCHEDULER") 2> "$OUT/scheduler.log" & PIDS+=($!)
wait_port "$SCHEDULER"
flight=$(free_port); grpc=$(free_port)
(cd "$WORK" && exec "$OLDPWD/$BIN" executor --scheduler "127.0.0.1:$SCHEDULER" --port "$flight" --grpc-port "$grpc" --concurrency 2) 2> "$OUT/executor.log" & PIDS+=($!)
wait_port "$flight"
sleep 1
MSPKPI_SLT_DIR="$DIR" MSPKPI_SLT_CLUSTER="df://127.0.0.1:$SCHEDULER" MSPKPI_SLT_RESULTS="$OUT/processes.md" \
  cargo test --quiet --test slt_corpus 2> "$OUT/processes.log" | tail -1
{
  echo
  echo "# The CI files on a scheduler and an executor as processes"
  echo
  sed -n '/^| | count |/,/^$/p' "$OUT/processes.md"
  sed -n '/^## Divergences/,/^## Per file/p' "$OUT/processes.md" | sed '$d' | sed 's/^## /### /'
} >> bench/SLT.md
echo "wrote bench/SLT.md"
