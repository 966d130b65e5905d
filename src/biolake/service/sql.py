"""Read-only SQL over the lake for the service: one SELECT, a time limit and a row limit.

Three independent guards stand between a client's query and anything but reading the
lake's tables:

1. **Statement check** (:func:`check_read_only`): the query is parsed by DuckDB's own
   parser (:func:`duckdb.extract_statements`); exactly one statement of type ``SELECT``
   (which covers ``WITH …``, ``FROM …``, ``VALUES``, ``DESCRIBE``, ``SUMMARIZE``) is
   accepted. Anything else — ``INSERT``, ``CREATE``, ``COPY``, ``ATTACH``, ``INSTALL``,
   ``LOAD``, ``PRAGMA``, ``SET``, ``CALL``, ``EXPLAIN``, several statements — is refused
   (:class:`QueryRefused`, HTTP 403).
2. **No file system** (:func:`read_only_connection`): the query runs in a fresh in-memory
   DuckDB where every table dataset is an Arrow dataset registered under its name (read
   by pyarrow, not by DuckDB's file system), then ``enable_external_access`` is switched
   off, extension auto-loading is off and the configuration is locked. So
   ``read_csv('/etc/passwd')``, ``glob``, ``read_text``, ``COPY … TO``, ``ATTACH`` or
   ``INSTALL`` fail with DuckDB's permission error even if they got past (1); that error
   is refused too (403).
3. **Limits** (:func:`run_read_only`): the connection is interrupted after
   ``timeout_s`` seconds (:class:`QueryError`, HTTP 400), at most ``max_rows`` rows are
   fetched (the answer says when there were more), and DuckDB's memory is capped with
   spilling to disk disabled.

Examples
--------
>>> check_read_only("select 1")
>>> check_read_only("drop table patients")
Traceback (most recent call last):
...
biolake.service.sql.QueryRefused: only a single SELECT (or WITH …) query is allowed; got a statement of type DROP
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import math
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from biolake.errors import BiolakeError
from biolake.lake import Lake

__all__ = [
    "MAX_QUERY_CHARS",
    "QueryError",
    "QueryRefused",
    "QueryResult",
    "check_read_only",
    "jsonable",
    "read_only_connection",
    "run_read_only",
]

#: Longest query text accepted.
MAX_QUERY_CHARS = 100_000

_BATCH_ROWS = 2_048


class QueryRefused(BiolakeError):
    """The query would do more than read the lake's tables (HTTP 403)."""


class QueryError(BiolakeError):
    """DuckDB rejected the query, or it ran past the time limit (HTTP 400)."""


@dataclass(frozen=True)
class QueryResult:
    """The answer to a query.

    Attributes
    ----------
    columns, types
        Column names and their Arrow types (as strings).
    rows
        At most ``max_rows`` rows, each a list of JSON-able values.
    truncated
        Whether the query had more rows than were returned.
    seconds
        Wall time of the query.
    """

    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    truncated: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields."""
        return dict(self.__dict__)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(exc).__name__


def check_read_only(query: str) -> None:
    """Accept exactly one SELECT/WITH statement, as DuckDB's parser sees it.

    Raises
    ------
    QueryRefused
        Several statements, or one that is not a SELECT.
    QueryError
        An empty, too long or unparsable query.
    """
    if not isinstance(query, str) or not query.strip():
        raise QueryError("SQL error: the query is empty")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"SQL error: the query is longer than {MAX_QUERY_CHARS} characters")
    try:
        statements = duckdb.extract_statements(query)
        kinds = [statement.type for statement in statements]
    except duckdb.ParserException as exc:
        raise QueryError(f"SQL error: {_first_line(exc)}") from None
    except (duckdb.Error, ValueError) as exc:  # e.g. a statement type the client library does not know
        raise QueryRefused(f"only a single SELECT (or WITH …) query is allowed ({_first_line(exc)})") from None
    if not kinds:
        raise QueryError("SQL error: the query is empty")
    if len(kinds) > 1:
        raise QueryRefused(f"only a single SELECT (or WITH …) query is allowed; got {len(kinds)} statements")
    if kinds[0] != duckdb.StatementType.SELECT:
        raise QueryRefused(
            f"only a single SELECT (or WITH …) query is allowed; got a statement of type {kinds[0].name}"
        )


@contextlib.contextmanager
def read_only_connection(lake: Lake, *, memory_limit: str = "1GB", threads: int = 2) -> Iterator[Any]:
    """An in-memory DuckDB connection that sees the lake's tables and nothing else.

    Every table dataset is registered under its name as a :mod:`pyarrow.dataset`; then
    file-system access, extension loading and configuration changes are switched off.
    """
    import pyarrow.dataset as pads

    con = duckdb.connect(
        ":memory:",
        config={
            "threads": int(threads),
            "memory_limit": memory_limit,
            "temp_directory": "",
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )
    try:
        for info in lake.datasets(kind="table"):
            con.register(info.name, pads.dataset(str(info.path), format="parquet"))
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        yield con
    finally:
        con.close()


def run_read_only(
    lake: Lake,
    query: str,
    *,
    max_rows: int = 10_000,
    timeout_s: float = 30.0,
    memory_limit: str = "1GB",
) -> QueryResult:
    """Run one read-only query over the lake with a time and a row limit.

    Parameters
    ----------
    lake
        The lake whose table datasets are visible, each as a view by its name.
    query
        One SELECT (or WITH …) statement in DuckDB's dialect.
    max_rows
        Rows returned at most; ``truncated`` tells whether there were more.
    timeout_s
        Seconds after which the query is interrupted.
    memory_limit
        DuckDB memory limit (nothing spills to disk).

    Raises
    ------
    QueryRefused
        The query is not a single SELECT or tried to reach files or extensions.
    QueryError
        DuckDB rejected the query, or it ran past ``timeout_s``.
    """
    check_read_only(query)
    timed_out = threading.Event()
    t0 = time.perf_counter()
    with read_only_connection(lake, memory_limit=memory_limit) as con:

        def stop() -> None:
            timed_out.set()
            con.interrupt()

        timer = threading.Timer(timeout_s, stop)
        timer.daemon = True
        timer.start()
        try:
            reader = con.sql(query).to_arrow_reader(_BATCH_ROWS)
            schema = reader.schema
            batches: list[pa.RecordBatch] = []
            n = 0
            while n <= max_rows:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                batches.append(batch)
                n += batch.num_rows
        except duckdb.PermissionException as exc:
            raise QueryRefused(
                f"reading files, attaching databases or loading extensions is not allowed ({_first_line(exc)})"
            ) from None
        except (duckdb.Error, pa.ArrowException, OSError) as exc:
            # An error raised while the result streams reaches here through Arrow's C stream
            # as a plain OSError carrying DuckDB's message.
            if timed_out.is_set():
                raise QueryError(f"SQL error: the query was stopped after {timeout_s:g} s (the time limit)") from None
            if "Permission Error" in str(exc):  # a permission error seen through the Arrow stream
                raise QueryRefused(
                    f"reading files, attaching databases or loading extensions is not allowed ({_first_line(exc)})"
                ) from None
            raise QueryError(f"SQL error: {_first_line(exc)}") from None
        finally:
            timer.cancel()
    table = pa.Table.from_batches(batches, schema=schema)
    truncated = table.num_rows > max_rows
    table = table.slice(0, max_rows)
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = [[jsonable(v) for v in row] for row in zip(*columns, strict=True)] if columns else []
    return QueryResult(
        columns=list(table.column_names),
        types=[str(f.type) for f in table.schema],
        rows=rows,
        truncated=truncated,
        seconds=round(time.perf_counter() - t0, 6),
    )


def jsonable(value: Any) -> Any:
    """A value from Arrow's ``to_pylist`` as JSON: NaN/∞ → null, dates → ISO text, bytes → base64."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):  # an Arrow map
            return {str(k): jsonable(v) for k, v in value}
        return [jsonable(v) for v in value]
    return str(value)
