"""Unique-report counts of every drug–event pair by DuckDB aggregation, with stratified expected counts.

Works on the relations that :mod:`biolake.precision.signals.faers` creates
(``pv_report``, ``pv_drug``, ``pv_event``, ``pv_pair``). For every pair named in at least
one report it gives

``n``         reports naming the drug and the event (``a``)
``n_drug``    reports naming the drug (``a + b``)
``n_event``   reports naming the event (``a + c``)
``n_total``   all reports (``N``)
``expected``  ``n_drug · n_event / N`` unstratified; stratified, the sum over strata ``s``
              of ``n_drug,s · n_event,s / N_s`` (openEBGM ``processRaw(stratify = TRUE)``)

Counts are of distinct report ids, so a repeated row counts once.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

__all__ = ["configure_duckdb", "count_pairs"]


def configure_duckdb(
    con: duckdb.DuckDBPyConnection, *, memory_limit: str, threads: int, temp_directory: str | None = None
) -> None:
    """Bound DuckDB's memory and threads; let it spill to ``temp_directory``."""
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    if temp_directory is not None:
        con.execute(f"SET temp_directory = '{temp_directory.replace(chr(39), chr(39) * 2)}'")


def count_pairs(con: duckdb.DuckDBPyConnection, *, stratified: bool, coded: bool = False) -> pa.Table:
    """Counts and expected count of every drug–event pair, sorted by drug then event.

    Parameters
    ----------
    con
        A connection holding ``pv_report``, ``pv_drug``, ``pv_event`` and ``pv_pair``.
    stratified
        Sum the expected counts over the strata of ``stratum`` (else ignore it).
    coded
        ``drug``/``event`` are integer codes into ``pv_drug_dict``/``pv_event_dict``
        (``name``, ``code``, codes in name order): the result carries the names.

    Returns
    -------
    pyarrow.Table
        Columns ``drug``, ``event``, ``n``, ``n_drug``, ``n_event``, ``n_total`` (int64)
        and ``expected`` (float64).
    """
    # count(*) over DISTINCT subqueries (hash aggregates that spill), not count(DISTINCT …)
    n_total = con.execute("SELECT count(*) FROM (SELECT DISTINCT id FROM pv_report)").fetchone()[0]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pv_a AS SELECT drug, event, count(*)::BIGINT AS n FROM pv_pair GROUP BY ALL"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pv_nd AS SELECT drug, count(*)::BIGINT AS n_drug "
        "FROM (SELECT DISTINCT id, drug FROM pv_drug) GROUP BY drug"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pv_ne AS SELECT event, count(*)::BIGINT AS n_event "
        "FROM (SELECT DISTINCT id, event FROM pv_event) GROUP BY event"
    )
    names = "a.drug, a.event"
    dicts = ""
    if coded:
        names = "dd.name AS drug, de.name AS event"
        dicts = "JOIN pv_drug_dict dd ON dd.code = a.drug JOIN pv_event_dict de ON de.code = a.event "
    if stratified:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE pv_nds AS SELECT drug, stratum, count(*)::DOUBLE AS c "
            "FROM (SELECT DISTINCT id, drug, stratum FROM pv_drug) GROUP BY ALL"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE pv_nes AS SELECT event, stratum, count(*)::DOUBLE AS c "
            "FROM (SELECT DISTINCT id, event, stratum FROM pv_event) GROUP BY ALL"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE pv_ns AS SELECT stratum, count(*)::DOUBLE AS c "
            "FROM (SELECT DISTINCT id, stratum FROM pv_report) GROUP BY ALL"
        )
        expected = (
            "(SELECT a.drug, a.event, sum(ds.c / s.c * es.c) AS expected FROM pv_a a "
            "JOIN pv_nds ds ON ds.drug = a.drug JOIN pv_nes es ON es.event = a.event AND es.stratum = ds.stratum "
            "JOIN pv_ns s ON s.stratum = ds.stratum GROUP BY ALL)"
        )
        query = (
            f"SELECT {names}, a.n, nd.n_drug, ne.n_event, {int(n_total)}::BIGINT AS n_total, "
            f"coalesce(x.expected, 0.0) AS expected FROM pv_a a JOIN pv_nd nd ON nd.drug = a.drug "
            f"JOIN pv_ne ne ON ne.event = a.event {dicts}"
            f"LEFT JOIN {expected} x ON x.drug = a.drug AND x.event = a.event ORDER BY a.drug, a.event"
        )
    else:
        query = (
            f"SELECT {names}, a.n, nd.n_drug, ne.n_event, {int(n_total)}::BIGINT AS n_total, "
            f"nd.n_drug::DOUBLE / {int(n_total)} * ne.n_event AS expected FROM pv_a a "
            f"JOIN pv_nd nd ON nd.drug = a.drug JOIN pv_ne ne ON ne.event = a.event {dicts}ORDER BY a.drug, a.event"
        )
    table = con.sql(query).to_arrow_table()
    for name in ("pv_a", "pv_nd", "pv_ne", "pv_nds", "pv_nes", "pv_ns"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    return table
