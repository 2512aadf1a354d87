#!/usr/bin/env bash
# The corruption fuzz at scale, with the release binary, and its outcome table in
# bench/FUZZ.md (never edit that file by hand).
#
#   bench/fuzz.sh                  # 10,000 cases
#   CASES=2000 bench/fuzz.sh       # a quicker run
#
# Each case damages one file (or table) of a generated data directory in one of eleven
# seeded ways and runs the release binary's validate, sql (every column of every table)
# and report on it; see fuzz_corrupted_data_directories in tests/integration/bad_input.rs.
# The target is zero in the columns crash, panic text, hang, partial output and unnamed
# error.
set -euo pipefail
cd "$(dirname "$0")/.."

CASES=${CASES:-10000}
COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)')"
OUT=target/bench
mkdir -p "$OUT"

cargo build --release --quiet --bin mspkpi
start=$(date +%s)
MSPKPI_FUZZ_BINARY="$PWD/target/release/mspkpi" MSPKPI_FUZZ_CASES="$CASES" MSPKPI_FUZZ_TABLE="$OUT/fuzz.md" \
  cargo test --quiet --test integration bad_input::fuzz_corrupted_data_directories -- --exact
seconds=$(( $(date +%s) - start ))

{
  echo "# Corruption fuzz: $CASES cases"
  echo
  echo "Written by \`bench/fuzz.sh\` at $COMMIT on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), release binary, 2 cases at a time, in $seconds s."
  echo "Each row counts the runs of one command on one class of damage; \"ran\" means the"
  echo "command succeeded (the damage left the data readable, or changed values silently)."
  echo
  cat "$OUT/fuzz.md"
} > bench/FUZZ.md
echo "wrote bench/FUZZ.md" >&2
