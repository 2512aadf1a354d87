"""One DataFrame-API GROUP BY with mspkpi.nps over DATA/surveys, for bench/python.sh:
prints the result as CSV (sorted by client) on stdout and the query's own seconds
(from reading the file to the collected result) on stderr."""

import sys
import time

import datafusion
from datafusion import col, lit

import mspkpi

started = time.perf_counter()
ctx = datafusion.SessionContext()
surveys = ctx.read_parquet(f"{sys.argv[1]}/surveys")
result = (
    surveys.filter(col("kind") == lit("nps"))
    .aggregate([col("client_id")], [mspkpi.nps(col("score")).alias("nps")])
    .sort(col("client_id").sort())
)
batches = result.collect()
print(f"{time.perf_counter() - started:.4f}", file=sys.stderr)
print("client_id,nps")
for batch in batches:
    for client, nps in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()):
        print(f"{client},{'' if nps is None else repr(nps)}")
