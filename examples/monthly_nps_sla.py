"""Monthly NPS and resolution SLA per client, with mspkpi's functions in datafusion-python.

    cargo run -- demo                               # writes the sample to mspkpi-demo/data
    pip install ./python                            # or: cd python && maturin develop
    python examples/monthly_nps_sla.py mspkpi-demo/data

The SLA here is a flat 8-hour wall-clock resolution target judged at the end of the
data, to keep the example short; the report job's SLA uses each client's targets and
business calendar (queries/sla.sql).

The demo's data is plain Parquet, as `generate` writes it. A data directory written by
`mspkpi import` holds Delta tables, whose folders keep the files of older versions too:
read those with a Delta reader (`deltalake.DeltaTable(f"{data}/tickets").to_pyarrow_dataset()`,
registered with `ctx.register_dataset`), never with `read_parquet` of the folder.
"""

import sys

import datafusion
from datafusion import col, lit
from datafusion import functions as f

import mspkpi

data = sys.argv[1] if len(sys.argv) > 1 else "mspkpi-demo/data"
ctx = datafusion.SessionContext()
tickets = ctx.read_parquet(f"{data}/tickets")
surveys = ctx.read_parquet(f"{data}/surveys")


def month(column):
    return mspkpi.local_month(col(column), lit("UTC")).alias("month")


nps = surveys.filter(col("kind") == lit("nps")).aggregate(
    [col("client_id"), month("submitted_at")],
    [mspkpi.nps(col("score")).alias("nps"), f.count(col("score")).alias("answers")],
)
as_of = tickets.aggregate([], [f.max(col("created_at")).alias("as_of")]).collect()[0]["as_of"][0]
sla = tickets.aggregate(
    [col("client_id"), month("created_at")],
    [
        mspkpi.sla_compliance(col("created_at"), col("resolved_at"), lit(480), lit(as_of)).alias("sla"),
        f.count(col("ticket_id")).alias("tickets"),
    ],
)
# Every client-month with tickets, with its NPS where it had answers. Both frames come
# from unnamed reads, so the right side's keys are renamed before the join.
answers = nps.with_column_renamed("client_id", "answer_client").with_column_renamed("month", "answer_month")
monthly = (
    sla.join(answers, left_on=["client_id", "month"], right_on=["answer_client", "answer_month"], how="left")
    .drop("answer_client", "answer_month")
    .sort(col("client_id").sort(), col("month").sort())
)
monthly.show(num=40)
