"""Times one KPI query in DuckDB or Polars on mspkpi's generated Parquet files.

python3 bench/peers.py ENGINE QUERY DATA THREADS  -> prints the query's seconds
python3 bench/peers.py duckdb report DATA THREADS PERIOD -> the report's KPI set

The report's KPI set is every saved query of the report hand-written for DuckDB, with
the same trend window (the period and the eleven months before), the same attribution
(each row in the local month, in the client's zone, of the event that decides it) and
the same SLA target fallback, but wall-clock minutes where mspkpi counts business
minutes: DuckDB has no business-hours calendar. It is timed in-process, from opening
the files to fetching every result, without Python's start-up; each query's seconds go
to stderr.

The query is computed by hand in each engine: FCR per client and month of
resolved_at and NPS per client and month of submitted_at, months in
America/New_York (zoned timestamps), or a scan floor reading the same columns.
"""
import sys
import time

engine, query, data, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


def report_kpis(period):
    """The report's KPI set in DuckDB; returns the seconds it took."""
    import duckdb

    start = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute("SET TimeZone = 'UTC'")
    for table in ["tickets", "clients", "surveys", "time_entries", "sla_targets"]:
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{data}/{table}/*.parquet')")
    p = f"DATE '{period}-01'"
    trend = f"CAST({p} - INTERVAL 11 MONTH AS DATE)"
    # a day wider than the window in any zone, as mspkpi's window_start / window_end
    ws = f"CAST({trend} - INTERVAL 1 DAY AS TIMESTAMPTZ)"
    we = f"CAST({p} + INTERVAL 1 MONTH + INTERVAL 1 DAY AS TIMESTAMPTZ)"
    month = lambda ts, zone: f"CAST(date_trunc('month', timezone({zone}, {ts})) AS DATE)"
    minutes = lambda a, b: f"(epoch({b}) - epoch({a})) / 60.0"
    window = f"BETWEEN {trend} AND {p}"
    queries = {
        "responsiveness": f"""
            SELECT client_id, m, avg(x), median(x), quantile_cont(x, 0.9), count(x) FROM (
              SELECT t.client_id, {month('t.first_response_at', 'c.timezone')} AS m,
                     {minutes('t.created_at', 't.first_response_at')} AS x
              FROM tickets t JOIN clients c USING (client_id)
              WHERE t.first_response_at >= {ws} AND t.first_response_at < {we})
            WHERE m {window} GROUP BY ALL""",
        "resolution": f"""
            SELECT client_id, m, avg(x), median(x), quantile_cont(x, 0.9), count(x) FROM (
              SELECT t.client_id, {month('t.resolved_at', 'c.timezone')} AS m,
                     {minutes('t.created_at', 't.resolved_at')} AS x
              FROM tickets t JOIN clients c USING (client_id)
              WHERE t.resolved_at >= {ws} AND t.resolved_at < {we})
            WHERE m {window} GROUP BY ALL""",
        "sla": f"""
            WITH targets AS (
              SELECT c.client_id, c.timezone, x.priority,
                     coalesce(s.response_minutes, d.response_minutes) AS response_minutes,
                     coalesce(s.resolution_minutes, d.resolution_minutes) AS resolution_minutes
              FROM clients c CROSS JOIN (SELECT DISTINCT priority FROM sla_targets) x
              LEFT JOIN sla_targets s ON s.client_id = c.client_id AND s.priority = x.priority
              LEFT JOIN sla_targets d ON d.client_id IS NULL AND d.priority = x.priority
              WHERE coalesce(s.response_minutes, d.response_minutes) IS NOT NULL),
            judged AS (
              SELECT t.client_id, g.timezone, t.priority, 'response' AS kind, t.created_at,
                     t.first_response_at AS done_at, g.response_minutes AS target
              FROM tickets t JOIN targets g ON g.client_id = t.client_id AND g.priority = t.priority
              WHERE (t.first_response_at IS NULL OR t.first_response_at >= {ws}) AND t.created_at < {we}
              UNION ALL
              SELECT t.client_id, g.timezone, t.priority, 'resolution', t.created_at,
                     t.resolved_at, g.resolution_minutes
              FROM tickets t JOIN targets g ON g.client_id = t.client_id AND g.priority = t.priority
              WHERE (t.resolved_at IS NULL OR t.resolved_at >= {ws}) AND t.created_at < {we}),
            decided AS (
              SELECT *, coalesce(done_at IS NOT NULL AND {minutes('created_at', 'done_at')} <= target, false) AS met
              FROM judged),
            attributed AS (
              SELECT client_id, priority, kind, met,
                     {month("CASE WHEN met THEN done_at ELSE created_at + to_minutes(CAST(target AS BIGINT)) END", 'timezone')} AS m
              FROM decided)
            SELECT client_id, m, coalesce(priority, 'all'),
                   100.0 * count(*) FILTER (WHERE kind = 'response' AND met) / nullif(count(*) FILTER (WHERE kind = 'response'), 0),
                   count(*) FILTER (WHERE kind = 'response'),
                   100.0 * count(*) FILTER (WHERE kind = 'resolution' AND met) / nullif(count(*) FILTER (WHERE kind = 'resolution'), 0),
                   count(*) FILTER (WHERE kind = 'resolution')
            FROM attributed WHERE m {window}
            GROUP BY GROUPING SETS ((client_id, m, priority), (client_id, m))""",
        "fcr": f"""
            SELECT client_id, m, 100.0 * count(*) FILTER (WHERE contacts = 1) / count(contacts), count(contacts) FROM (
              SELECT t.client_id, t.contacts, {month('t.resolved_at', 'c.timezone')} AS m
              FROM tickets t JOIN clients c USING (client_id)
              WHERE t.resolved_at >= {ws} AND t.resolved_at < {we})
            WHERE m {window} GROUP BY ALL""",
        "satisfaction": f"""
            SELECT client_id, m,
                   100.0 * (count(*) FILTER (WHERE kind = 'nps' AND score >= 9) - count(*) FILTER (WHERE kind = 'nps' AND score <= 6))
                         / nullif(count(score) FILTER (WHERE kind = 'nps'), 0),
                   count(score) FILTER (WHERE kind = 'nps'),
                   count(*) FILTER (WHERE kind = 'nps' AND score >= 9),
                   count(*) FILTER (WHERE kind = 'nps' AND score IN (7, 8)),
                   count(*) FILTER (WHERE kind = 'nps' AND score <= 6),
                   100.0 * count(*) FILTER (WHERE kind = 'csat' AND score >= 4) / nullif(count(score) FILTER (WHERE kind = 'csat'), 0),
                   count(score) FILTER (WHERE kind = 'csat')
            FROM (SELECT s.client_id, s.kind, s.score, {month('s.submitted_at', 'c.timezone')} AS m
                  FROM surveys s JOIN clients c USING (client_id)
                  WHERE s.submitted_at >= {ws} AND s.submitted_at < {we})
            WHERE m {window} GROUP BY ALL""",
        "efficiency": f"""
            SELECT client_id, m, sum(minutes) / count(DISTINCT ticket_id), sum(minutes), count(DISTINCT ticket_id) FROM (
              SELECT t.client_id, e.ticket_id, e.minutes, {month('e.started_at', 'c.timezone')} AS m
              FROM time_entries e JOIN tickets t ON t.ticket_id = e.ticket_id JOIN clients c ON c.client_id = t.client_id
              WHERE e.started_at >= {ws} AND e.started_at < {we})
            WHERE m {window} GROUP BY ALL""",
        "team": f"""
            SELECT technician_id, m, sum(minutes) / count(DISTINCT ticket_id), sum(minutes), count(DISTINCT ticket_id) FROM (
              SELECT e.technician_id, e.ticket_id, e.minutes, {month('e.started_at', 'c.timezone')} AS m
              FROM time_entries e JOIN tickets t ON t.ticket_id = e.ticket_id JOIN clients c ON c.client_id = t.client_id
              WHERE e.started_at >= {ws} AND e.started_at < {we})
            WHERE m {window} GROUP BY ALL""",
        "flow": f"""
            WITH events AS (
              SELECT t.client_id, {month('t.created_at', 'c.timezone')} AS m, 1 AS opened, 0 AS closed
              FROM tickets t JOIN clients c USING (client_id)
              UNION ALL
              SELECT t.client_id, {month('coalesce(t.closed_at, t.resolved_at)', 'c.timezone')}, 0, 1
              FROM tickets t JOIN clients c USING (client_id)
              WHERE coalesce(t.closed_at, t.resolved_at) IS NOT NULL),
            monthly AS (SELECT client_id, m, sum(opened) AS opened, sum(closed) AS closed FROM events GROUP BY ALL),
            running AS (SELECT *, sum(opened - closed) OVER (PARTITION BY client_id ORDER BY m) AS backlog FROM monthly)
            SELECT client_id, m, opened, closed, opened / nullif(closed, 0), opened - closed, backlog
            FROM running WHERE m {window}""",
        "breakdown": f"""
            WITH opened AS (
              SELECT t.client_id, {month('t.created_at', 'c.timezone')} AS m, t.priority,
                     coalesce(t.category, 'uncategorised') AS category
              FROM tickets t JOIN clients c USING (client_id)
              WHERE t.created_at >= {ws} AND t.created_at < {we})
            SELECT client_id, m, 'priority', priority, count(*) FROM opened WHERE m {window} GROUP BY ALL
            UNION ALL
            SELECT client_id, m, 'category', category, count(*) FROM opened WHERE m {window} GROUP BY ALL""",
        "churn": f"""
            WITH months AS (SELECT CAST(m AS DATE) AS m FROM range(CAST({trend} AS TIMESTAMP), CAST({p} + INTERVAL 1 MONTH AS TIMESTAMP), INTERVAL 1 MONTH) r(m))
            SELECT months.m,
                   100.0 * count(*) FILTER (WHERE churned_on >= months.m AND churned_on < months.m + INTERVAL 1 MONTH)
                         / nullif(count(*), 0),
                   avg(mrr)
            FROM months JOIN clients c ON c.onboarded_on < months.m AND (c.churned_on IS NULL OR c.churned_on >= months.m)
            GROUP BY months.m""",
    }
    for name, sql in queries.items():
        began = time.perf_counter()
        rows = con.execute(sql).fetchall()
        print(f"duckdb {name}: {time.perf_counter() - began:.2f} s, {len(rows)} rows", file=sys.stderr)
    return time.perf_counter() - start


if query == "report":
    print(f"{report_kpis(sys.argv[5]):.4f}")
    raise SystemExit(0)

start = time.perf_counter()

if engine == "duckdb":
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute("SET TimeZone = 'UTC'")
    sql = {
        "fcr": f"""SELECT client_id, date_trunc('month', resolved_at AT TIME ZONE 'America/New_York') AS m,
                          100.0 * count(*) FILTER (WHERE contacts = 1) / count(contacts) AS fcr
                   FROM read_parquet('{data}/tickets/*.parquet') WHERE resolved_at IS NOT NULL GROUP BY 1, 2""",
        "nps": f"""SELECT client_id, date_trunc('month', submitted_at AT TIME ZONE 'America/New_York') AS m,
                          100.0 * (count(*) FILTER (WHERE score >= 9) - count(*) FILTER (WHERE score <= 6)) / count(score) AS nps
                   FROM read_parquet('{data}/surveys/*.parquet') WHERE kind = 'nps' GROUP BY 1, 2""",
        "floor": f"""SELECT count(*), sum(contacts), count(resolved_at) FROM read_parquet('{data}/tickets/*.parquet')""",
    }[query]
    rows = con.execute(sql).fetchall()
elif engine == "polars":
    import polars as pl

    pl.Config.set_tbl_rows(0)
    if query == "fcr":
        frame = (
            pl.scan_parquet(f"{data}/tickets/*.parquet")
            .filter(pl.col("resolved_at").is_not_null())
            .with_columns(pl.col("resolved_at").dt.convert_time_zone("America/New_York").dt.truncate("1mo").alias("m"))
            .group_by("client_id", "m")
            .agg((100.0 * (pl.col("contacts") == 1).sum() / pl.col("contacts").count()).alias("fcr"))
        )
    elif query == "nps":
        frame = (
            pl.scan_parquet(f"{data}/surveys/*.parquet")
            .filter(pl.col("kind") == "nps")
            .with_columns(pl.col("submitted_at").dt.convert_time_zone("America/New_York").dt.truncate("1mo").alias("m"))
            .group_by("client_id", "m")
            .agg((100.0 * ((pl.col("score") >= 9).sum() - (pl.col("score") <= 6).sum()) / pl.col("score").count()).alias("nps"))
        )
    else:
        frame = pl.scan_parquet(f"{data}/tickets/*.parquet").select(
            pl.len(), pl.col("contacts").sum(), pl.col("resolved_at").count()
        )
    rows = frame.collect()
else:
    raise SystemExit(f"unknown engine {engine}")

print(f"{time.perf_counter() - start:.4f}")
