"""One DataFrame-API GROUP BY with mspkpi.nps over DATA/surveys, for bench/python.sh:
prints the result as CSV (sorted by client) on stdout."""

import sys

import datafusion
from datafusion import col, lit

import mspkpi

ctx = datafusion.SessionContext()
surveys = ctx.read_parquet(f"{sys.argv[1]}/surveys")
result = (
    surveys.filter(col("kind") == lit("nps"))
    .aggregate([col("client_id")], [mspkpi.nps(col("score")).alias("nps")])
    .sort(col("client_id").sort())
)
print("client_id,nps")
for batch in result.collect():
    for client, nps in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()):
        print(f"{client},{'' if nps is None else repr(nps)}")
