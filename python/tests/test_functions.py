"""The mspkpi functions through datafusion-python: worked examples, SQL semantics
(NULLs, empty groups, FILTER), the DataFrame API, errors, and agreement with the
Rust CLI on generated data."""

import csv
import io
import subprocess
import sys

import datafusion
import pyarrow as pa
import pytest
from datafusion import col, lit

import mspkpi
from conftest import REPO, mspkpi_cli


def one(ctx, sql):
    rows = ctx.sql(sql).to_pylist()
    assert len(rows) == 1, rows
    (value,) = rows[0].values()
    return value


def test_nps_of_70_promoters_20_passives_and_10_detractors_is_60(ctx):
    scores = [10] * 40 + [9] * 30 + [8] * 12 + [7] * 8 + [6] * 5 + [0] * 5
    ctx.from_pydict({"score": scores}, name="answers")
    assert one(ctx, "SELECT nps(score) FROM answers") == pytest.approx(60.0)


def test_sla_of_95_met_of_100_is_95(ctx):
    ctx.from_pydict({"met": [True] * 95 + [False] * 5}, name="decided")
    assert one(ctx, "SELECT sla_compliance(met) FROM decided") == pytest.approx(95.0)


def test_fcr_of_90_first_contact_of_100_resolved_is_90(ctx):
    # Unresolved tickets (NULL contacts) are ignored.
    contacts = [1] * 90 + [2, 3, 4] * 3 + [2] + [None] * 20
    ctx.from_pydict({"contacts": pa.array(contacts, pa.int32())}, name="resolved")
    assert one(ctx, "SELECT fcr_rate(contacts) FROM resolved") == pytest.approx(90.0)


def test_churn_of_3_lost_of_100_active_is_3(ctx):
    import datetime as dt

    onboarded = [dt.date(2025, 1, 1)] * 100
    churned = [dt.date(2026, 10, 8), dt.date(2026, 10, 15), dt.date(2026, 10, 22)] + [None] * 97
    ctx.from_pydict({"onboarded_on": onboarded, "churned_on": churned}, name="clients")
    rate = one(
        ctx,
        "SELECT churn_rate(onboarded_on, churned_on, DATE '2026-10-01', DATE '2026-11-01') FROM clients",
    )
    assert rate == pytest.approx(3.0)


def test_business_minutes_over_a_weekend(ctx):
    # Friday 17:00 to Monday 09:00 with Mon-Fri 08:00-18:00: 60 + 60 minutes.
    minutes = one(
        ctx,
        "SELECT business_minutes(TIMESTAMP '2026-11-20 17:00:00', TIMESTAMP '2026-11-23 09:00:00', "
        "'Mon-Fri 08:00-18:00 UTC')",
    )
    assert minutes == 120.0


def test_a_day_waiting_on_the_customer_pauses_the_sla_clock(ctx):
    # Created Mon 09:00, waiting on the customer Mon 10:00 - Tue 10:00, resolved Tue
    # 12:00, a 240-minute wall-clock target: 3 h unpaused, so met (27 h without pauses).
    import datetime as dt

    ctx.from_pydict(
        {
            "ticket_id": ["T1"] * 4,
            "changed_at": [
                dt.datetime(2026, 11, 16, 9),
                dt.datetime(2026, 11, 16, 10),
                dt.datetime(2026, 11, 17, 10),
                dt.datetime(2026, 11, 17, 12),
            ],
            "kind": ["open", "paused", "open", "resolved"],
        },
        name="history",
    )
    row = ctx.sql(
        "WITH h AS (SELECT sla_pauses(changed_at, kind, kind) AS pauses, "
        "first_resolved_at(changed_at, kind, kind) AS resolved FROM history GROUP BY ticket_id) "
        "SELECT paused_minutes(TIMESTAMP '2026-11-16 09:00:00', resolved, '24x7', pauses) AS paused, "
        "business_minutes(TIMESTAMP '2026-11-16 09:00:00', resolved, '24x7', pauses) AS unpaused, "
        "sla_met(TIMESTAMP '2026-11-16 09:00:00', resolved, 240, TIMESTAMP '2026-12-01 00:00:00', '24x7', pauses) AS met, "
        "sla_met(TIMESTAMP '2026-11-16 09:00:00', resolved, 240, TIMESTAMP '2026-12-01 00:00:00', '24x7') AS met_without "
        "FROM h"
    ).to_pylist()
    assert row == [{"paused": 1440.0, "unpaused": 180.0, "met": True, "met_without": False}]


def test_nulls_are_ignored_and_an_empty_group_gives_null(ctx):
    ctx.from_pydict({"g": ["a", "a", "b"], "score": pa.array([10, None, None], pa.int32())}, name="t")
    rows = ctx.sql("SELECT g, nps(score) AS nps FROM t GROUP BY g ORDER BY g").to_pylist()
    assert rows == [{"g": "a", "nps": 100.0}, {"g": "b", "nps": None}]
    assert one(ctx, "SELECT nps(score) FROM t WHERE false") is None


def test_filter_applies_to_the_aggregate(ctx):
    ctx.from_pydict({"kind": ["nps", "nps", "csat", "nps"], "score": [10, 0, 5, 9]}, name="s")
    assert one(ctx, "SELECT nps(score) FILTER (WHERE kind = 'nps') FROM s") == pytest.approx(100 / 3)
    assert one(ctx, "SELECT csat(score) FILTER (WHERE kind = 'csat') FROM s") == pytest.approx(100.0)


def test_a_sliding_window_frame(ctx):
    ctx.from_pydict({"i": [1, 2, 3, 4], "score": [10, 0, 9, 9]}, name="w")
    rows = ctx.sql(
        "SELECT i, nps(score) OVER (ORDER BY i ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS v FROM w ORDER BY i"
    ).to_pylist()
    assert [r["v"] for r in rows] == [100.0, 0.0, 0.0, 100.0]


def test_dataframe_api_aggregate():
    ctx = datafusion.SessionContext()  # no registration: the objects are called directly
    df = ctx.from_pydict({"client_id": ["A", "A", "B", "B"], "score": [10, 0, 9, 9]})
    rows = (
        df.aggregate([col("client_id")], [mspkpi.nps(col("score")).alias("nps")])
        .sort(col("client_id").sort())
        .to_pylist()
    )
    assert rows == [{"client_id": "A", "nps": 0.0}, {"client_id": "B", "nps": 100.0}]
    minutes = (
        df.limit(1)
        .select(
            mspkpi.business_minutes(
                lit(pa.scalar(0, pa.timestamp("us", "UTC"))),
                lit(pa.scalar(3_600_000_000, pa.timestamp("us", "UTC"))),
                lit("24x7"),
            ).alias("m")
        )
        .to_pylist()
    )
    assert minutes == [{"m": 60.0}]


def test_a_score_out_of_range_raises_with_the_functions_message(ctx):
    ctx.from_pydict({"score": [10, 11]}, name="bad")
    with pytest.raises(Exception, match=r"nps: value 11 is out of range"):
        ctx.sql("SELECT nps(score) FROM bad").collect()
    # The interpreter is still fine, and so is the session.
    assert one(ctx, "SELECT nps(score) FROM bad WHERE score <= 10") == 100.0


def test_results_do_not_depend_on_partitions_or_batch_size():
    scores = [(i * 7) % 11 for i in range(5_000)]
    groups = [f"g{i % 37}" for i in range(5_000)]
    results = []
    for partitions, batch in [(1, 8192), (4, 100), (3, 7)]:
        config = datafusion.SessionConfig().with_target_partitions(partitions).with_batch_size(batch)
        ctx = datafusion.SessionContext(config)
        mspkpi.register(ctx)
        ctx.from_pydict({"g": groups, "score": scores}, name="t")
        results.append(ctx.sql("SELECT g, nps(score) AS v FROM t GROUP BY g ORDER BY g").to_pylist())
    assert results[0] == results[1] == results[2]
    assert len(results[0]) == 37


def test_a_group_by_over_a_generated_sample_equals_the_cli(ctx, sample):
    sql = (
        "SELECT client_id, local_month(submitted_at, 'UTC') AS month, "
        "nps(score) FILTER (WHERE kind = 'nps') AS nps, csat(score) FILTER (WHERE kind = 'csat') AS csat, "
        "count(*) AS n FROM surveys GROUP BY 1, 2 ORDER BY 1, 2"
    )
    ctx.register_parquet("surveys", str(sample / "surveys"))
    python_rows = ctx.sql(sql).to_pylist()
    cli = subprocess.run(
        [mspkpi_cli(), "sql", "--data", sample, "--format", "csv", sql],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    cli_rows = list(csv.DictReader(io.StringIO(cli.stdout)))
    assert len(python_rows) == len(cli_rows) > 20
    for mine, theirs in zip(python_rows, cli_rows):
        assert mine["client_id"] == theirs["client_id"]
        assert str(mine["month"]) == theirs["month"]
        assert mine["n"] == int(theirs["n"])
        for kpi in ("nps", "csat"):
            if theirs[kpi] == "":
                assert mine[kpi] is None
            else:
                assert mine[kpi] == pytest.approx(float(theirs[kpi]), rel=1e-12)


def test_every_function_carries_its_documentation():
    expected = {"nps", "csat", "sla_compliance", "fcr_rate", "churn_rate", "revenue_churn_rate",
                "business_minutes", "sla_met", "business_deadline", "local_month",
                "sla_pauses", "first_resolved_at", "first_reopened_at", "status_summary",
                "paused_minutes"}
    assert set(mspkpi.__all__) == expected | {"register", "report"}
    for name in expected:
        doc = getattr(mspkpi, name).__doc__
        assert doc and f"SQL: {name}(" in doc, name


def test_the_example_script_runs_on_a_sample(sample):
    script = REPO / "examples" / "monthly_nps_sla.py"
    run = subprocess.run([sys.executable, script, sample], check=True, capture_output=True, text=True, timeout=120)
    assert "client_id" in run.stdout and "nps" in run.stdout and "sla" in run.stdout, run.stdout
    assert "C0001" in run.stdout, run.stdout
