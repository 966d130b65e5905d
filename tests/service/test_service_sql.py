"""Tests of ``POST /api/sql`` and of the read-only guard behind it (biolake.service.sql)."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest
from service_helpers import assert_clean_error

import biolake as bl
from biolake.service.sql import (
    QueryError,
    QueryRefused,
    check_read_only,
    jsonable,
    read_only_connection,
    run_read_only,
)

REFUSED = [
    "insert into patients values (5, 70, 'd')",
    "INSERT INTO patients SELECT * FROM patients",
    "create table x as select 1",
    "create view v as select 1",
    "create macro m() as 1",
    "drop table patients",
    "delete from patients",
    "update patients set age = 0",
    "alter table patients add column x int",
    "copy patients to '/tmp/biolake-copy-test.csv'",
    "copy (select 1) to '/tmp/biolake-copy-test.csv'",
    "attach '/tmp/biolake-attach-test.duckdb' as other",
    "detach memory",
    "install httpfs",
    "load httpfs",
    "force install httpfs",
    "pragma version",
    "pragma enable_profiling",
    "set enable_external_access = true",
    "set threads = 1",
    "reset memory_limit",
    "use memory",
    "call pragma_version()",
    "checkpoint",
    "export database '/tmp/biolake-export-test'",
    "explain select 1",
    "begin transaction",
    "vacuum",
    "update extensions",
    "select 1; select 2",
    "select 1; drop table patients",
    "select * from read_csv('/etc/passwd')",
    "select * from read_csv_auto('/etc/passwd')",
    "SELECT * FROM READ_CSV(['/etc/passwd'])",
    "select * from sniff_csv('/etc/passwd')",
    "select * from read_text('/etc/passwd')",
    "select * from read_blob('/etc/passwd')",
    "select * from read_json('/etc/passwd')",
    "select * from read_parquet('/etc/passwd')",
    "select * from parquet_metadata('/etc/passwd')",
    "select * from glob('/*')",
    "select * from glob('**')",
    "with t as (select * from read_csv('/etc/passwd')) select * from t",
    "select (select count(*) from read_text('/etc/hostname'))",
    "select * from read_csv('http://127.0.0.1:9/x.csv')",
]


def test_sql__select_answers_columns_and_rows(ro_client):
    response = ro_client.post(
        "/api/sql", json={"query": "select site, count(*) as n from patients group by site order by site"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == ["site", "n"]
    assert body["rows"] == [["a", 2], ["b", 1], ["c", 1]]
    assert body["truncated"] is False


def test_sql__with_query_is_allowed(ro_client):
    query = "with old as (select * from patients where age > 50) select count(*) as n from old"
    assert ro_client.post("/api/sql", json={"query": query}).json()["rows"] == [[2]]


@pytest.mark.parametrize("query", REFUSED)
def test_sql__writes_files_attach_and_extensions_are_403(ro_client, query):
    body = assert_clean_error(ro_client.post("/api/sql", json={"query": query}), 403)
    assert "root:" not in body["error"]


def test_sql__refused_queries_change_nothing(lake_dir):
    lake = bl.Lake.open(lake_dir)
    before = (lake.names(), sorted(str(p) for p in lake_dir.rglob("*") if ".tmp" not in p.parts))
    for query in REFUSED:
        with pytest.raises(QueryRefused):
            run_read_only(lake, query)
    after = (lake.names(), sorted(str(p) for p in lake_dir.rglob("*") if ".tmp" not in p.parts))
    assert after == before
    assert lake.to_pandas("patients").shape == (4, 3)
    for leftover in ("/tmp/biolake-copy-test.csv", "/tmp/biolake-attach-test.duckdb", "/tmp/biolake-export-test"):
        assert not Path(leftover).exists()


def test_sql__external_access_is_really_off():
    """The connection itself refuses files, even for a query the statement check would pass."""

    class _EmptyLake:
        def datasets(self, *, kind=None):
            return []

    with read_only_connection(_EmptyLake()) as con:  # type: ignore[arg-type]
        with pytest.raises(duckdb.PermissionException):
            con.execute("select * from read_csv('/etc/passwd')").fetchall()
        with pytest.raises(duckdb.Error):
            con.execute("set enable_external_access = true")
        with pytest.raises(duckdb.PermissionException):
            con.execute("copy (select 1) to '/tmp/biolake-copy-test.csv'")


def test_sql__syntax_error_is_400(ro_client):
    body = assert_clean_error(ro_client.post("/api/sql", json={"query": "selec 1"}), 400)
    assert body["error"].startswith("SQL error: Parser Error")


def test_sql__unknown_table_is_400(ro_client):
    body = assert_clean_error(ro_client.post("/api/sql", json={"query": "select * from nobody"}), 400)
    assert "nobody" in body["error"]


@pytest.mark.parametrize("payload", [{}, {"query": ""}, {"query": "   "}, {"query": 1}, {"query": "x" * 100_001}])
def test_sql__missing_or_empty_query_is_4xx(ro_client, payload):
    response = ro_client.post("/api/sql", json=payload)
    assert response.status_code in (400, 422)
    assert_clean_error(response, response.status_code)


def test_sql__error_while_the_result_streams_is_400(ro_client):
    query = "select case when range = 5000 then cast('x' || range as int) else range end as v from range(9000)"
    body = assert_clean_error(ro_client.post("/api/sql", json={"query": query}), 400)
    assert body["error"].startswith("SQL error: Conversion Error")


def test_sql__row_limit(make_client):
    client = make_client(sql_max_rows=100)
    body = client.post("/api/sql", json={"query": "select * from range(1000)"}).json()
    assert len(body["rows"]) == 100 and body["truncated"] is True
    body = client.post("/api/sql", json={"query": "select * from range(1000)", "max_rows": 7}).json()
    assert [r[0] for r in body["rows"]] == list(range(7)) and body["truncated"] is True
    body = client.post("/api/sql", json={"query": "select * from range(100)"}).json()
    assert len(body["rows"]) == 100 and body["truncated"] is False


def test_sql__time_limit_stops_a_long_query(make_client):
    client = make_client(sql_timeout_s=1.0)
    query = "select count(*) from range(100000000) a, range(100000) b where a.range + b.range = -1"
    t0 = time.perf_counter()
    body = assert_clean_error(client.post("/api/sql", json={"query": query}), 400)
    assert time.perf_counter() - t0 < 15
    assert "time limit" in body["error"]
    assert client.post("/api/sql", json={"query": "select 1 as one"}).json()["rows"] == [[1]]


def test_check_read_only__accepts_selects():
    for query in [
        "select 1",
        "from patients",
        "values (1)",
        "describe patients",
        "select 1;",
        "(select 1) union all (select 2)",
    ]:
        check_read_only(query)


def test_check_read_only__statement_kinds():
    with pytest.raises(QueryRefused, match="type INSERT"):
        check_read_only("insert into t values (1)")
    with pytest.raises(QueryRefused, match="2 statements"):
        check_read_only("select 1; select 2")
    with pytest.raises(QueryError):
        check_read_only("select from where")


def test_run_read_only__json_values(template_lake):
    lake = bl.Lake.open(template_lake)
    query = (
        "select 1.5::decimal(4, 2) as d, date '2020-01-02' as day, 'nan'::double as n, [1, 2] as l, "
        "{'a': 1} as s, null as z, 'ab'::blob as b"
    )
    result = run_read_only(lake, query)
    assert result.rows == [[1.5, "2020-01-02", None, [1, 2], {"a": 1}, None, "YWI="]]
    assert jsonable(float("inf")) is None


def test_sql__busy_server_answers_503(make_client):
    client = make_client(sql_timeout_s=1.0, sql_concurrency=1)
    slots = client.app.state.sql_slots  # taken here as by a long query
    assert slots.acquire(timeout=1)
    try:
        assert_clean_error(client.post("/api/sql", json={"query": "select 1"}), 503)
    finally:
        slots.release()
    assert client.post("/api/sql", json={"query": "select 1"}).status_code == 200
