#!/usr/bin/env bash
# The Python package beside the CLI: one GROUP BY with nps over the same surveys file,
# as a DataFrame-API aggregate in datafusion-python (mspkpi.nps) and as SQL in
# `mspkpi sql`, both release builds on this machine's cores; writes bench/PYTHON.md
# (never edit it by hand).
#
#   bench/python.sh                     # 10M tickets' surveys
#   TICKETS=1000000 bench/python.sh     # a quicker run
#
# RUNS interleaved runs of each, wall time of the whole process (interpreter start and
# imports included on the Python side, process start on the CLI's), median (min-max);
# the two results must be equal.
set -euo pipefail
cd "$(dirname "$0")/.."

TICKETS=${TICKETS:-10000000}
CLIENTS=${CLIENTS:-1000}
MONTHS=${MONTHS:-24}
RUNS=${RUNS:-5}
DATA=${DATA:-target/bench-data-$TICKETS}
OUT=target/bench-python
source bench/lib.sh
DIGITS=2
mkdir -p "$OUT"

cargo build --release --quiet
BIN=./target/release/mspkpi
bench_venv "datafusion>=55,<56" "pyarrow>=16" "maturin>=1.9.4,<2"
(cd python && VIRTUAL_ENV="$PWD/../$VENV" "../$VENV/bin/maturin" develop --release --locked -q)

[ -d "$DATA/tickets" ] || "$BIN" generate --out "$DATA" --tickets "$TICKETS" --clients "$CLIENTS" --months "$MONTHS" > /dev/null
SQL="SELECT client_id, nps(score) AS nps FROM surveys WHERE kind = 'nps' GROUP BY client_id ORDER BY client_id"
answers=$("$BIN" sql --data "$DATA" --format csv "SELECT count(*) FROM surveys WHERE kind = 'nps'" | tail -1)

seconds() { local s e; s=$(date +%s.%N); "$@" > "$OUT/last.csv" 2> "$OUT/last.err"; e=$(date +%s.%N); echo "$e - $s" | bc; }
python_runs=(); query_runs=(); import_runs=(); cli_runs=()
for _ in $(seq "$RUNS"); do
  python_runs+=("$(seconds "$VENV/bin/python" bench/python_nps.py "$DATA")"); cp "$OUT/last.csv" "$OUT/python.csv"
  query_runs+=("$(cat "$OUT/last.err")")
  import_runs+=("$(seconds "$VENV/bin/python" -c 'import datafusion, mspkpi')")
  cli_runs+=("$(seconds "$BIN" sql --data "$DATA" --format csv "$SQL")"); cp "$OUT/last.csv" "$OUT/cli.csv"
done
# Equal values: the CLI prints floats as Arrow does, Python as repr; compare as numbers.
python3 - "$OUT/python.csv" "$OUT/cli.csv" <<'PY'
import csv, sys
mine, theirs = (list(csv.DictReader(open(p))) for p in sys.argv[1:])
assert len(mine) == len(theirs) > 0, (len(mine), len(theirs))
for a, b in zip(mine, theirs):
    assert a["client_id"] == b["client_id"] and (a["nps"] == b["nps"] == "" or float(a["nps"]) == float(b["nps"])), (a, b)
PY
py=$(printf '%s\n' "${python_runs[@]}" | median); cli=$(printf '%s\n' "${cli_runs[@]}" | median)
query=$(printf '%s\n' "${query_runs[@]}" | DIGITS=3 median); imports=$(printf '%s\n' "${import_runs[@]}" | median)
ratio=$(ratio_of_medians 'python_runs[@]' 'cli_runs[@]')
datafusion_version=$("$VENV/bin/python" -c 'import datafusion; print(datafusion.__version__)')

cat > bench/PYTHON.md <<MD
# Python beside the CLI

Written by \`bench/python.sh\`; do not edit by hand.

- commit: $COMMIT
- machine: $(machine)
- command: \`TICKETS=$TICKETS CLIENTS=$CLIENTS MONTHS=$MONTHS RUNS=$RUNS bench/python.sh\`

One GROUP BY with \`nps\` over the surveys of a generated history of $TICKETS tickets
($CLIENTS clients, $MONTHS months; $answers NPS answers), release builds, $RUNS
interleaved runs, wall time of the whole process, median (min-max):

| run | seconds |
|---|---|
| datafusion-python $datafusion_version, DataFrame API: \`surveys.filter(kind = 'nps').aggregate([client_id], [mspkpi.nps(score)])\` | $py |
| the same Python process: the query alone (reading the file to the collected result) | $query |
| \`python -c "import datafusion, mspkpi"\` (interpreter start and imports) | $imports |
| \`mspkpi sql "$SQL"\` | $cli |

Python / CLI, whole processes: ${ratio}x; most of the difference is the interpreter's
start and the imports. Both results are equal, client by client.
MD
cat bench/PYTHON.md
