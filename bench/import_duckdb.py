"""The connectwise preset's mapping in DuckDB, for bench/import.sh: each of the five
CSV exports read with every column as text, mapped by the same SQL (DuckDB's spelling
of it) and written with COPY (SELECT ...) TO '...parquet' (zstd). Prints the seconds,
from connecting to the last file written, without Python's start-up.

python3 bench/import_duckdb.py CSV_DIR OUT_DIR THREADS
"""
import os
import sys
import time

import duckdb

csv_dir, out, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
LOCAL = "'%m/%d/%Y %I:%M %p'"
TEMPLATE = "'%Y-%m-%d %H:%M:%S'"


def source(name):
    return f"read_csv('{os.path.join(csv_dir, name)}', all_varchar = true, header = true)"


MAPPINGS = {
    "tickets": f"""
        SELECT CAST(id AS VARCHAR) AS ticket_id,
               "company.identifier" AS client_id,
               "owner.identifier" AS technician_id,
               CASE
                   WHEN "priority.name" LIKE 'Priority 1%' THEN 'P1'
                   WHEN "priority.name" LIKE 'Priority 2%' THEN 'P2'
                   WHEN "priority.name" LIKE 'Priority 3%' THEN 'P3'
                   WHEN "priority.name" LIKE 'Priority 4%' THEN 'P4'
                   ELSE "priority.name"
               END AS priority,
               "type.name" AS category,
               strptime("dateEntered", {LOCAL}) AS created_at,
               strptime("dateResponded", {LOCAL}) AS first_response_at,
               strptime("dateResolved", {LOCAL}) AS resolved_at,
               strptime("closedDate", {LOCAL}) AS closed_at,
               CAST(NULL AS INT) AS contacts
        FROM {source('Service Tickets.csv')}""",
    "time_entries": f"""
        SELECT CAST("chargeToId" AS VARCHAR) AS ticket_id,
               "member.identifier" AS technician_id,
               strptime("timeStart", {LOCAL}) AS started_at,
               CAST("actualHours" AS DOUBLE) * 60 AS minutes
        FROM {source('time_entries.csv')}
        WHERE "chargeToType" = 'ServiceTicket'""",
    "surveys": f"""
        SELECT survey_id, client_id, ticket_id,
               strptime(submitted_at, {TEMPLATE}) AS submitted_at,
               lower(kind) AS kind, CAST(score AS INT) AS score
        FROM {source('surveys.csv')}""",
    "clients": f"""
        SELECT client_id, name, timezone, calendar,
               CAST(strptime(onboarded_on, '%Y-%m-%d') AS DATE) AS onboarded_on,
               CAST(strptime(churned_on, '%Y-%m-%d') AS DATE) AS churned_on,
               CAST(mrr AS DOUBLE) AS mrr, CAST(sla_goal_percent AS DOUBLE) AS sla_goal_percent
        FROM {source('clients.csv')}""",
    "sla_targets": f"""
        SELECT client_id, priority,
               CAST(response_minutes AS INT) AS response_minutes,
               CAST(resolution_minutes AS INT) AS resolution_minutes,
               CASE lower(trim(business_hours))
                   WHEN 'true' THEN true WHEN 'yes' THEN true
                   WHEN 'false' THEN false WHEN 'no' THEN false
               END AS business_hours
        FROM {source('sla_targets.csv')}""",
}

start = time.perf_counter()
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
os.makedirs(out, exist_ok=True)
for table, sql in MAPPINGS.items():
    target = os.path.join(out, f"{table}.parquet")
    con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
print(f"{time.perf_counter() - start:.3f}")
