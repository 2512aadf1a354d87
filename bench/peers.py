"""Times one KPI query in DuckDB or Polars on mspkpi's generated Parquet files.

python3 bench/peers.py ENGINE QUERY DATA THREADS  -> prints the query's seconds

The query is computed by hand in each engine: FCR per client and month of
resolved_at and NPS per client and month of submitted_at, months in
America/New_York (zoned timestamps), or a scan floor reading the same columns.
"""
import sys
import time

engine, query, data, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
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
