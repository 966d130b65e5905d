"""The lake: a directory of Parquet tables and Zarr arrays with a DuckDB catalog.

Layout of a lake directory::

    catalog.duckdb          datasets, runs and the layout version
    tables/NAME.UID/        one Parquet dataset (part-*.parquet) per table
    arrays/NAME.UID/        one Zarr group per array dataset
    .tmp/PID-UID/           data being written; renamed into place on commit

A dataset becomes visible only when its catalog row is committed, and the catalog
changes in one transaction per run, so a process killed mid-write leaves nothing
half-written visible. Leftovers of killed processes are removed the next time the
lake is opened.

Examples
--------
>>> import pandas as pd
>>> lake = Lake.open(tmp_path / "lake")                         # doctest: +SKIP
>>> lake.write_table("patients", pd.DataFrame({"age": [40, 51]}))  # doctest: +SKIP
>>> lake.sql("select avg(age) as mean_age from patients")      # doctest: +SKIP
   mean_age
0      45.5
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from biolake.errors import InputError
from biolake.lake._fs import pid_alive, remove_tree

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import zarr

    from biolake.lake.runs import Run, RunRecord

__all__ = ["LAYOUT_VERSION", "DatasetInfo", "Lake", "default_lake_path", "validate_name"]

LAYOUT_VERSION = 1
"""Version of the lake directory layout and catalog schema this biolake writes."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_RESERVED = {"datasets", "runs", "meta"}
_LOCK_TIMEOUT_S = 60.0
_ORPHAN_AGE_S = 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS datasets (
    name VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    encoding VARCHAR NOT NULL,
    encoding_version INTEGER NOT NULL,
    path VARCHAR NOT NULL,
    schema VARCHAR,
    n_rows BIGINT,
    shape VARCHAR,
    bytes BIGINT,
    source VARCHAR,
    source_hash VARCHAR,
    created TIMESTAMP,
    run_id VARCHAR,
    attrs VARCHAR
);
CREATE TABLE IF NOT EXISTS runs (
    id VARCHAR PRIMARY KEY,
    command VARCHAR NOT NULL,
    params VARCHAR,
    inputs VARCHAR,
    outputs VARCHAR,
    versions VARCHAR,
    started TIMESTAMP,
    ended TIMESTAMP,
    seconds DOUBLE,
    peak_rss BIGINT,
    status VARCHAR,
    error VARCHAR,
    host VARCHAR,
    pid INTEGER
);
"""


def default_lake_path() -> Path:
    """``$BIOLAKE_LAKE`` if set, else ``./biolake-lake``."""
    return Path(os.environ.get("BIOLAKE_LAKE") or "biolake-lake")


def validate_name(name: str, *, what: str = "dataset name") -> str:
    """Check a dataset name: a letter or ``_`` then letters, digits, ``_`` (≤ 128).

    Names are SQL identifiers (every table is a view of that name) and never paths,
    so no name can reach outside the lake.
    """
    if not isinstance(name, str) or not _NAME.match(name) or name.lower() in _RESERVED:
        raise InputError(
            f"invalid {what} {name!r}: use a letter or '_' followed by letters, digits "
            f"or '_' (at most 128), and not {sorted(_RESERVED)}"
        )
    return name


@dataclass(frozen=True)
class DatasetInfo:
    """One catalog entry.

    Attributes
    ----------
    name, kind
        Dataset name and ``"table"`` or ``"array"``.
    encoding, encoding_version
        Storage layout (``"parquet"``, ``"zarr"``, or an area's own such as
        ``"vcf-zarr"``) and its version, so a later biolake can read or refuse it.
    path
        Absolute path of the data (a directory of Parquet parts, or a Zarr group).
    schema
        Tables: column name → Arrow type. Arrays: member name → ``{shape, dtype, chunks}``.
    n_rows, shape
        Row count of a table; shape of the main array of an array dataset.
    bytes
        Bytes on disk.
    source, source_hash
        The file it came from and that file's content hash (``sha256:…``), if any.
    created, run_id
        UTC creation time and the run that made it.
    attrs
        Free-form metadata of the area that wrote it.
    """

    name: str
    kind: str
    encoding: str
    encoding_version: int
    path: Path
    schema: dict[str, Any]
    n_rows: int | None
    shape: list[int] | None
    bytes: int
    source: str | None
    source_hash: str | None
    created: datetime
    run_id: str | None
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields."""
        d = dict(self.__dict__)
        d["path"] = str(self.path)
        d["created"] = self.created.isoformat()
        return d


class Lake:
    """A lake directory: open or create it with :meth:`Lake.open`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.catalog_path = root / "catalog.duckdb"
        self.tables_dir = root / "tables"
        self.arrays_dir = root / "arrays"
        self.tmp_dir = root / ".tmp"

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, create: bool = True) -> Lake:
        """Open the lake at ``path`` (default :func:`default_lake_path`), creating it if needed.

        Parameters
        ----------
        path
            The lake directory.
        create
            Create the lake if it does not exist; if false, a missing lake is an
            :class:`~biolake.errors.InputError`.
        """
        root = Path(path) if path is not None else default_lake_path()
        root = root.expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise InputError("is a file, not a lake directory", file=root)
        if not (root / "catalog.duckdb").exists() and not create:
            raise InputError("no lake here (run 'biolake lake init' first)", file=root)
        if root.exists() and any(root.iterdir()) and not (root / "catalog.duckdb").exists():
            known = {"tables", "arrays", ".tmp", "catalog.duckdb.wal"}
            if any(p.name not in known for p in root.iterdir()):
                raise InputError("directory is not empty and holds no lake catalog", file=root)
        lake = cls(root)
        for d in (lake.tables_dir, lake.arrays_dir, lake.tmp_dir):
            d.mkdir(parents=True, exist_ok=True)
        with lake._catalog() as con:
            con.execute(_SCHEMA)
            row = con.execute("SELECT value FROM meta WHERE key = 'layout_version'").fetchone()
            if row is None:
                con.execute("INSERT INTO meta VALUES ('layout_version', ?)", [str(LAYOUT_VERSION)])
            elif int(row[0]) > LAYOUT_VERSION:
                raise InputError(
                    f"lake layout version {row[0]} is newer than this biolake supports "
                    f"({LAYOUT_VERSION}); upgrade biolake",
                    file=root,
                )
        lake.collect_garbage()
        return lake

    def __repr__(self) -> str:
        return f"Lake({str(self.root)!r})"

    @contextlib.contextmanager
    def _catalog(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection to the catalog, retried while another process holds it."""
        deadline = time.monotonic() + _LOCK_TIMEOUT_S
        delay = 0.01
        while True:
            try:
                # always read-write: DuckDB refuses a read-only and a read-write connection
                # to one file in the same process; other processes are waited for below
                con = duckdb.connect(str(self.catalog_path))
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
        try:
            yield con
        finally:
            con.close()

    # ----------------------------------------------------------------- datasets
    def datasets(self, *, kind: str | None = None) -> list[DatasetInfo]:
        """All datasets, sorted by name (optionally only tables or only arrays)."""
        query = "SELECT * FROM datasets"
        params: list[Any] = []
        if kind is not None:
            query += " WHERE kind = ?"
            params.append(kind)
        with self._catalog() as con:
            cur = con.execute(query + " ORDER BY name", params)
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return [self._info(dict(zip(cols, r, strict=True))) for r in rows]

    def names(self) -> list[str]:
        """Dataset names, sorted."""
        return [d.name for d in self.datasets()]

    def exists(self, name: str) -> bool:
        """Whether a dataset of this name is in the catalog."""
        with self._catalog() as con:
            return con.execute("SELECT 1 FROM datasets WHERE name = ?", [name]).fetchone() is not None

    def info(self, name: str) -> DatasetInfo:
        """The catalog entry of a dataset; an unknown name is an InputError."""
        name = _strip_lake_prefix(name)
        with self._catalog() as con:
            cur = con.execute("SELECT * FROM datasets WHERE name = ?", [name])
            cols = [d[0] for d in cur.description]
            row = cur.fetchone()
        if row is None:
            raise InputError(f"no dataset named {name!r} in the lake at {self.root}", file=f"lake:{name}")
        return self._info(dict(zip(cols, row, strict=True)))

    def _info(self, row: Mapping[str, Any]) -> DatasetInfo:
        return DatasetInfo(
            name=row["name"],
            kind=row["kind"],
            encoding=row["encoding"],
            encoding_version=int(row["encoding_version"]),
            path=self.root / row["path"],
            schema=json.loads(row["schema"] or "{}"),
            n_rows=row["n_rows"],
            shape=json.loads(row["shape"]) if row["shape"] else None,
            bytes=int(row["bytes"] or 0),
            source=row["source"],
            source_hash=row["source_hash"],
            created=row["created"].replace(tzinfo=UTC),
            run_id=row["run_id"],
            attrs=json.loads(row["attrs"] or "{}"),
        )

    def drop(self, name: str) -> None:
        """Remove a dataset from the catalog, then its data."""
        info = self.info(name)
        with self._catalog() as con:
            con.execute("DELETE FROM datasets WHERE name = ?", [info.name])
        remove_tree(info.path)

    # ------------------------------------------------------------------- tables
    def iter_batches(
        self, name: str, *, batch_size: int = 65_536, columns: Sequence[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Stream a table dataset as Arrow record batches (bounded memory)."""
        from biolake.lake.tables import iter_parquet_batches

        info = self._require(name, "table")
        yield from iter_parquet_batches(info.path, batch_size=batch_size, columns=columns)

    def read_table(self, name: str, *, columns: Sequence[str] | None = None) -> pa.Table:
        """A whole table dataset as an Arrow table."""
        import pyarrow.dataset as ds

        info = self._require(name, "table")
        return ds.dataset(str(info.path), format="parquet").to_table(columns=columns)

    def to_pandas(self, name: str, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A whole table dataset as a pandas DataFrame."""
        return self.read_table(name, columns=columns).to_pandas()

    def write_table(
        self,
        name: str,
        data: pd.DataFrame | pa.Table | Iterable[pa.RecordBatch],
        *,
        source: str | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> DatasetInfo:
        """Write a table dataset in its own run (``command="write_table"``).

        ``data`` may be a DataFrame, an Arrow table or an iterable of record batches
        (streamed: bounded memory). An existing dataset of the same name is replaced
        when the write commits.
        """
        with self.run("write_table", params={"name": name}) as run:
            stage = run.table(name, source=source, attrs=attrs)
            stage.write(data)
        return self.info(name)

    def result_name(self, out: str | os.PathLike[str], *, taken: set[str] | None = None) -> str:
        """The dataset name a result file is registered under.

        The file's stem made into a valid name. If a dataset of that name exists and is
        not itself a registered result (``attrs["role"] == "result"``), ``_result``
        (then ``_result2`` …) is appended, so a result never replaces an ingested dataset.
        """
        stem = Path(out).name
        for suffix in (".gz", ".parquet", ".pq", ".csv", ".tsv", ".txt"):
            stem = stem.removesuffix(suffix)
        base = re.sub(r"[^A-Za-z0-9_]", "_", stem) or "result"
        if not re.match(r"[A-Za-z_]", base) or base.lower() in _RESERVED:
            base = f"r_{base}"
        base = base[:120]
        taken = taken or set()
        candidate, k = base, 1
        while candidate in taken or (self.exists(candidate) and self.info(candidate).attrs.get("role") != "result"):
            k += 1
            candidate = f"{base}_result" if k == 2 else f"{base}_result{k - 1}"
        return candidate

    # ------------------------------------------------------------------- arrays
    def write_arrays(
        self,
        name: str,
        arrays: Mapping[str, Any],
        *,
        dims: Mapping[str, Sequence[str]] | None = None,
        chunks: Mapping[str, Sequence[int]] | None = None,
        attrs: Mapping[str, Any] | None = None,
        source: str | None = None,
    ) -> DatasetInfo:
        """Write in-memory arrays as one array dataset (a Zarr group), in its own run.

        For arrays larger than memory, stage them in a run and write chunk by chunk
        (:meth:`biolake.lake.arrays.ArrayStage.create`).
        """
        with self.run("write_arrays", params={"name": name}) as run:
            stage = run.array(name, source=source)
            for key, value in arrays.items():
                stage.write(key, value, dims=(dims or {}).get(key), chunks=(chunks or {}).get(key))
            if attrs:
                stage.attrs.update(dict(attrs))
        return self.info(name)

    def open_array(self, name: str) -> zarr.Group:
        """The Zarr group of an array dataset, read-only."""
        import zarr

        info = self._require(name, "array")
        return zarr.open_group(str(info.path), mode="r")

    def _require(self, name: str, kind: str) -> DatasetInfo:
        info = self.info(name)
        if info.kind != kind:
            raise InputError(f"dataset {info.name!r} is a {info.kind}, not a {kind}", file=f"lake:{info.name}")
        return info

    # ---------------------------------------------------------------------- SQL
    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB connection in which every table dataset is a view by its name.

        The catalog itself is not attached, so queries cannot change it.
        """
        con = duckdb.connect(":memory:")
        try:
            for info in self.datasets(kind="table"):
                glob = str(info.path / "*.parquet").replace("'", "''")
                con.execute(f"CREATE VIEW \"{info.name}\" AS SELECT * FROM read_parquet('{glob}')")
            yield con
        finally:
            con.close()

    def sql(self, query: str) -> pd.DataFrame:
        """Run a SQL query over the lake's tables and return a DataFrame.

        Errors in the query (syntax, unknown table or column) are InputErrors.
        """
        with self.connect() as con:
            try:
                return con.execute(query).fetch_df()
            except duckdb.Error as exc:
                raise sql_input_error(exc) from None

    # --------------------------------------------------------------------- runs
    def run(
        self,
        command: str,
        *,
        params: Mapping[str, Any] | None = None,
        inputs: Sequence[str | os.PathLike[str]] | None = None,
    ) -> Run:
        """Start a run record; use as a context manager.

        Outputs staged in the run (:meth:`Run.table`, :meth:`Run.array`) become
        visible together, in one catalog transaction, when the ``with`` block ends
        without error; on error nothing is committed and the run is recorded as failed.
        """
        from biolake.lake.runs import Run

        return Run(self, command, params=dict(params or {}), inputs=list(inputs or []))

    def runs(self, *, limit: int | None = None) -> list[RunRecord]:
        """Run records, newest first."""
        from biolake.lake.runs import RunRecord

        query = "SELECT * FROM runs ORDER BY started DESC"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        with self._catalog() as con:
            cur = con.execute(query)
            cols = [d[0] for d in cur.description]
            return [RunRecord.from_row(dict(zip(cols, r, strict=True))) for r in cur.fetchall()]

    def run_record(self, run_id: str) -> RunRecord:
        """One run record by id (a unique prefix is enough)."""
        from biolake.lake.runs import RunRecord

        with self._catalog() as con:
            cur = con.execute("SELECT * FROM runs WHERE id LIKE ? || '%'", [run_id])
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
        if not rows:
            raise InputError(f"no run with id {run_id!r} in the lake at {self.root}", file=f"run:{run_id}")
        if len(rows) > 1:
            raise InputError(f"run id prefix {run_id!r} is ambiguous ({len(rows)} runs)", file=f"run:{run_id}")
        return RunRecord.from_row(dict(zip(cols, rows[0], strict=True)))

    # ----------------------------------------------------------------- cleaning
    def new_tmp_dir(self) -> Path:
        """A fresh directory under ``.tmp/`` owned by this process."""
        path = self.tmp_dir / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        path.mkdir(parents=True)
        return path

    def collect_garbage(self) -> None:
        """Remove what killed processes left: temporary dirs, unreferenced data, dead runs."""
        for tmp in self.tmp_dir.iterdir() if self.tmp_dir.exists() else []:
            pid = tmp.name.split("-", 1)[0]
            if not pid.isdigit() or not pid_alive(int(pid)):
                remove_tree(tmp)
        with self._catalog() as con:
            referenced = {r[0] for r in con.execute("SELECT path FROM datasets").fetchall()}
            running = con.execute("SELECT id, pid, host FROM runs WHERE status = 'running'").fetchall()
            host = os.uname().nodename
            dead = [r[0] for r in running if r[2] == host and not pid_alive(int(r[1] or 0))]
            for run_id in dead:
                con.execute(
                    "UPDATE runs SET status = 'failed', error = 'the process running it died' WHERE id = ?",
                    [run_id],
                )
        now = time.time()
        for parent in (self.tables_dir, self.arrays_dir):
            for p in parent.iterdir():
                rel = str(p.relative_to(self.root))
                if rel not in referenced and now - p.stat().st_mtime > _ORPHAN_AGE_S:
                    remove_tree(p)


def _strip_lake_prefix(name: str) -> str:
    return name[5:] if isinstance(name, str) and name.startswith("lake:") else name


def sql_input_error(exc: BaseException) -> InputError:
    """An InputError for a failed SQL query: DuckDB's message, first line only."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(f"SQL error: {message}", file="query")
