"""Run records: what every job did, with what, and how it went.

A :class:`Run` is a context manager started by :meth:`biolake.Lake.run`. It records the
command, parameters, inputs with their content hashes, package versions, start and
end, peak memory and status. Outputs are *staged* inside the run and committed
together with the run record in one catalog transaction, so a job that fails or is
killed halfway leaves no partial output in the lake.

Examples
--------
>>> with lake.run("ingest table", params={"name": "x"}, inputs=["x.csv"]) as run:  # doctest: +SKIP
...     run.table("x").write(df)
>>> lake.run_record(run.id).status                                           # doctest: +SKIP
'ok'
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import resource
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biolake.lake._fs import content_hash, remove_tree, tree_bytes
from biolake.lake.catalog import validate_name

if TYPE_CHECKING:
    from biolake.lake.arrays import ArrayStage
    from biolake.lake.catalog import Lake
    from biolake.lake.tables import TableStage

__all__ = ["Run", "RunRecord", "package_versions"]

_BASE_PACKAGES = ("biolake", "numpy", "pandas", "pyarrow", "duckdb", "zarr", "dask", "numba")


def package_versions(*, extra: Sequence[str] = ()) -> dict[str, str]:
    """Versions of Python and of the packages a result depends on."""
    out = {"python": platform.python_version()}
    for name in (*_BASE_PACKAGES, *extra):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def peak_rss_bytes() -> int:
    """Peak resident memory of this process and of its waited-for children, in bytes."""
    scale = 1 if sys.platform == "darwin" else 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) * scale


@dataclass
class RunRecord:
    """One run as the catalog keeps it."""

    id: str
    command: str
    params: dict[str, Any]
    inputs: list[dict[str, Any]]
    outputs: list[str]
    versions: dict[str, str]
    started: datetime
    ended: datetime | None
    seconds: float | None
    peak_rss: int | None
    status: str
    error: str | None
    host: str | None = None
    pid: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RunRecord:
        """Build from a catalog row."""
        return cls(
            id=row["id"],
            command=row["command"],
            params=json.loads(row["params"] or "{}"),
            inputs=json.loads(row["inputs"] or "[]"),
            outputs=json.loads(row["outputs"] or "[]"),
            versions=json.loads(row["versions"] or "{}"),
            started=row["started"].replace(tzinfo=UTC),
            ended=row["ended"].replace(tzinfo=UTC) if row["ended"] else None,
            seconds=row["seconds"],
            peak_rss=row["peak_rss"],
            status=row["status"],
            error=row["error"],
            host=row.get("host"),
            pid=row.get("pid"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields."""
        d = dict(self.__dict__)
        d["started"] = self.started.isoformat()
        d["ended"] = self.ended.isoformat() if self.ended else None
        return d


@dataclass
class _Staged:
    name: str
    kind: str
    tmp_path: Path
    encoding: str
    encoding_version: int
    source: str | None
    source_hash: str | None
    attrs: dict[str, Any] = field(default_factory=dict)
    stage: Any = None
    schema: dict[str, Any] = field(default_factory=dict)
    n_rows: int | None = None
    shape: list[int] | None = None


class Run:
    """A run in progress (see the module docstring). Made by :meth:`biolake.Lake.run`."""

    def __init__(self, lake: Lake, command: str, *, params: dict[str, Any], inputs: list[Any]) -> None:
        self.lake = lake
        self.command = command
        self.params = params
        self.input_specs = [str(i) for i in inputs]
        self.id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        self.versions = package_versions()
        self._staged: dict[str, _Staged] = {}
        self._inputs: list[dict[str, Any]] = []
        self._started: datetime | None = None
        self._t0 = 0.0
        self.status = "new"

    # --------------------------------------------------------------- lifecycle
    def __enter__(self) -> Run:
        self._started = datetime.now(UTC)
        self._t0 = time.perf_counter()
        self._inputs = [self._describe_input(spec) for spec in self.input_specs]
        with self.lake._catalog() as con:
            con.execute(
                "INSERT INTO runs (id, command, params, inputs, outputs, versions, started, status, host, pid)"
                " VALUES (?, ?, ?, ?, '[]', ?, ?, 'running', ?, ?)",
                [
                    self.id,
                    self.command,
                    _json(self.params),
                    _json(self._inputs),
                    _json(self.versions),
                    self._started.replace(tzinfo=None),
                    os.uname().nodename,
                    os.getpid(),
                ],
            )
        self.status = "running"
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            try:
                self._commit()
            except BaseException as commit_exc:
                self._fail(commit_exc)
                raise
        else:
            self._fail(exc)

    def _describe_input(self, spec: str) -> dict[str, Any]:
        if spec.startswith("lake:"):
            info = self.lake.info(spec)
            return {"spec": spec, "dataset": info.name, "hash": info.source_hash, "run_id": info.run_id}
        p = Path(spec)
        if p.exists():
            return {"spec": spec, "path": str(p.resolve()), "bytes": tree_bytes(p)}
        return {"spec": spec}

    def set_input_hash(self, spec: str | os.PathLike[str], digest: str) -> None:
        """Record the content hash of an input file (computed by the job while it reads)."""
        for item in self._inputs:
            if item["spec"] == str(spec):
                item["hash"] = digest

    def hash_input(self, spec: str | os.PathLike[str]) -> str:
        """Compute and record the content hash of an input file."""
        digest = content_hash(spec)
        self.set_input_hash(spec, digest)
        return digest

    # ----------------------------------------------------------------- staging
    def table(
        self,
        name: str,
        *,
        source: str | None = None,
        source_hash: str | None = None,
        encoding: str = "parquet",
        encoding_version: int = 1,
        attrs: Mapping[str, Any] | None = None,
    ) -> TableStage:
        """Stage a table dataset; write into the returned :class:`TableStage`."""
        from biolake.lake.tables import TableStage

        staged = self._stage(name, "table", encoding, encoding_version, source, source_hash, attrs)
        staged.stage = TableStage(staged.tmp_path)
        return staged.stage

    def array(
        self,
        name: str,
        *,
        source: str | None = None,
        source_hash: str | None = None,
        encoding: str = "zarr",
        encoding_version: int = 1,
        attrs: Mapping[str, Any] | None = None,
    ) -> ArrayStage:
        """Stage an array dataset (a Zarr group); write into the returned :class:`ArrayStage`."""
        from biolake.lake.arrays import ArrayStage

        staged = self._stage(name, "array", encoding, encoding_version, source, source_hash, attrs)
        staged.stage = ArrayStage(staged.tmp_path)
        return staged.stage

    def result(self, data: Any, out: str | os.PathLike[str], *, schema: Any = None) -> str:
        """Write a result table to the file ``out`` (.parquet/.csv/.tsv) and stage it in the lake.

        One streaming pass feeds both. The dataset is named by :meth:`Lake.result_name`;
        returns that name.
        """
        from biolake.lake.tables import result_format, write_result

        out = Path(out)
        result_format(out)  # fail early on a bad extension
        name = self.lake.result_name(out, taken=set(self._staged))
        stage = self.table(name, source=str(out.resolve()), attrs={"role": "result", "file": str(out.resolve())})
        write_result(data, out, schema=schema, also=stage)
        return name

    def annotate(self, name: str, *, source_hash: str | None = None, attrs: Mapping[str, Any] | None = None) -> None:
        """Set the source hash or add attributes of a staged output before it commits."""
        staged = self._staged[name]
        if source_hash is not None:
            staged.source_hash = source_hash
        if attrs:
            staged.attrs.update(attrs)

    def _stage(
        self,
        name: str,
        kind: str,
        encoding: str,
        encoding_version: int,
        source: str | None,
        source_hash: str | None,
        attrs: Mapping[str, Any] | None,
    ) -> _Staged:
        if self.status != "running":
            raise RuntimeError("stage outputs inside 'with lake.run(...) as run:'")
        validate_name(name)
        if name in self._staged:
            raise ValueError(f"dataset {name!r} is already staged in this run")
        tmp = self.lake.new_tmp_dir()
        staged = _Staged(name, kind, tmp, encoding, encoding_version, source, source_hash, dict(attrs or {}))
        self._staged[name] = staged
        return staged

    # ------------------------------------------------------------------ commit
    def _commit(self) -> None:
        finals: list[tuple[_Staged, Path]] = []
        try:
            for staged in self._staged.values():
                staged.stage.close()
                summary = staged.stage.summary()
                staged.schema = summary["schema"]
                staged.n_rows = summary.get("n_rows")
                staged.shape = summary.get("shape")
                parent = self.lake.tables_dir if staged.kind == "table" else self.lake.arrays_dir
                final = parent / f"{staged.name}.{uuid.uuid4().hex[:12]}"
                os.rename(staged.tmp_path, final)
                finals.append((staged, final))
            ended = datetime.now(UTC)
            old_paths: list[str] = []
            with self.lake._catalog() as con:
                con.execute("BEGIN TRANSACTION")
                for staged, final in finals:
                    row = con.execute("SELECT path FROM datasets WHERE name = ?", [staged.name]).fetchone()
                    if row is not None:
                        old_paths.append(row[0])
                    con.execute(
                        "INSERT OR REPLACE INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            staged.name,
                            staged.kind,
                            staged.encoding,
                            staged.encoding_version,
                            str(final.relative_to(self.lake.root)),
                            _json(staged.schema),
                            staged.n_rows,
                            _json(staged.shape) if staged.shape is not None else None,
                            tree_bytes(final),
                            staged.source,
                            staged.source_hash,
                            ended.replace(tzinfo=None),
                            self.id,
                            _json(staged.attrs),
                        ],
                    )
                self._finish(con, "ok", None, ended)
                con.execute("COMMIT")
        except BaseException:
            for _, final in finals:
                remove_tree(final)
            raise
        for rel in old_paths:
            remove_tree(self.lake.root / rel)
        self.status = "ok"

    def _fail(self, exc: BaseException) -> None:
        for staged in self._staged.values():
            if staged.stage is not None:
                staged.stage.abort()
            remove_tree(staged.tmp_path)
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        try:
            with self.lake._catalog() as con:
                self._finish(con, "failed", message.splitlines()[0] if message else None, datetime.now(UTC))
        finally:
            self.status = "failed"

    def _finish(self, con: Any, status: str, error: str | None, ended: datetime) -> None:
        con.execute(
            "UPDATE runs SET outputs = ?, inputs = ?, ended = ?, seconds = ?, peak_rss = ?, status = ?,"
            " error = ? WHERE id = ?",
            [
                _json(list(self._staged) if status == "ok" else []),
                _json(self._inputs),
                ended.replace(tzinfo=None),
                time.perf_counter() - self._t0,
                peak_rss_bytes(),
                status,
                error,
                self.id,
            ],
        )


def _json(value: Any) -> str:
    return json.dumps(value, default=str)  # insertion order kept: schemas list columns in order
