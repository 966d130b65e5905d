"""The REST API under ``/api``: datasets, read-only SQL, runs and their reports.

Every route is thin: it validates names (:func:`biolake.lake.validate_name`, run ids by
pattern), calls the lake or :mod:`biolake.service.sql` and answers JSON. Errors are
answered by the handlers of :mod:`biolake.service.app`: an
:class:`~biolake.errors.InputError` is 422 with ``{"error": "one line", …}``.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

from biolake.errors import InputError
from biolake.io import ingest_table
from biolake.lake import DatasetInfo, Lake, validate_name
from biolake.service.analyses import PathRules, analyses, get_analysis
from biolake.service.config import ServiceConfig
from biolake.service.datasets import (
    UploadReceiver,
    UploadTooLarge,
    dataset_dict,
    preview,
    public_input_error,
    stream_csv,
    stream_parquet,
    table_schema,
)
from biolake.service.jobs import JOB_STATUSES, JobStore
from biolake.service.sql import MAX_QUERY_CHARS, QueryResult, jsonable, run_read_only

__all__ = ["REPORT_CSP", "router"]

#: Reports are self-contained pages with inline scripts (Vega): they run sandboxed, in an
#: opaque origin that can reach nothing (no cookies, no API, no network).
REPORT_CSP = (
    "sandbox allow-scripts allow-downloads allow-popups; default-src 'none'; "
    "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; "
    "font-src data:; connect-src 'none'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)

_RUN_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")

# Documents the Bearer scheme in OpenAPI (Swagger's "Authorize"); the check itself is in Guard.
_bearer = HTTPBearer(auto_error=False, description="A token given to `biolake serve --token`.")
router = APIRouter(prefix="/api", dependencies=[Depends(_bearer)])


class ErrorOut(BaseModel):
    """An error: one line."""

    error: str


class SqlIn(BaseModel):
    """A read-only query."""

    query: str = Field(max_length=MAX_QUERY_CHARS, description="One SELECT (or WITH …) statement, DuckDB dialect.")
    max_rows: int | None = Field(default=None, ge=1, description="Rows returned at most (capped by the server).")


class SqlOut(BaseModel):
    """The answer to a query."""

    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    truncated: bool
    seconds: float


class PreviewOut(BaseModel):
    """A page of a table's rows."""

    name: str
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    offset: int
    limit: int
    total: int | None


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No or wrong token"},
    403: {"model": ErrorOut, "description": "Not allowed"},
    404: {"model": ErrorOut, "description": "Not found"},
    422: {"model": ErrorOut, "description": "Bad input"},
}


def lake_of(request: Request) -> Lake:
    """The service's lake."""
    return request.app.state.lake


def config_of(request: Request) -> ServiceConfig:
    """The service's configuration."""
    return request.app.state.config


def table_info(lake: Lake, name: str) -> DatasetInfo:
    """The catalog entry of a dataset named in a request: 422 if invalid, 404 if unknown."""
    validate_name(name)
    if not lake.exists(name):
        raise HTTPException(404, f"no dataset named {name!r}")
    return lake.info(name)


def check_run_id(run_id: str) -> str:
    """A run id (or prefix) from a request: letters, digits and '-' only (no SQL wildcards)."""
    if not _RUN_ID.match(run_id):
        raise InputError(f"invalid run id {run_id!r}: use letters, digits and '-'", file="run")
    return run_id


def run_record(lake: Lake, run_id: str) -> Any:
    """A run record by id or unique prefix: 404 if there is none."""
    check_run_id(run_id)
    try:
        return lake.run_record(run_id)
    except InputError as exc:
        if "no run with id" in exc.problem:
            raise HTTPException(404, f"no run with id {run_id!r}") from None
        raise


def run_report_response(lake: Lake, run_id: str) -> HTMLResponse:
    """The HTML report of a run, sent sandboxed (see :data:`REPORT_CSP`)."""
    from biolake.report.runs import build_run_report

    record = run_record(lake, run_id)
    html = build_run_report(lake, record.id).to_html()
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP, "X-Frame-Options": "SAMEORIGIN"})


def download_response(lake: Lake, name: str, fmt: str) -> StreamingResponse:
    """A table dataset streamed as CSV, TSV or Parquet, as an attachment."""
    info = table_info(lake, name)
    if info.kind != "table":
        raise InputError(f"dataset {name!r} is an array; only tables can be downloaded", file=f"lake:{name}")
    if fmt == "parquet":
        body, media = stream_parquet(info), "application/vnd.apache.parquet"
    elif fmt in ("csv", "tsv"):
        body = stream_csv(info, delimiter="," if fmt == "csv" else "\t")
        media = "text/csv; charset=utf-8" if fmt == "csv" else "text/tab-separated-values; charset=utf-8"
    else:
        raise InputError(f"unknown format {fmt!r}: use csv, tsv or parquet", file="format")
    return StreamingResponse(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{info.name}.{fmt}"'}
    )


def run_sql(request: Request, query: str, *, max_rows: int) -> QueryResult:
    """Run a read-only query with the service's limits, at most ``sql_concurrency`` at once (503 if busy)."""
    config = config_of(request)
    slots = request.app.state.sql_slots
    if not slots.acquire(timeout=config.sql_timeout_s):
        raise HTTPException(503, "too many SQL queries are running; try again later")
    try:
        return run_read_only(
            lake_of(request),
            query,
            max_rows=min(max_rows, config.sql_max_rows),
            timeout_s=config.sql_timeout_s,
            memory_limit=config.sql_memory_limit,
        )
    finally:
        slots.release()


def preview_page(lake: Lake, name: str, *, offset: int, limit: int) -> dict[str, Any]:
    """A page of a table's rows as JSON-able fields."""
    info = table_info(lake, name)
    if info.kind != "table":
        raise InputError(f"dataset {name!r} is an array, not a table; it has no rows to preview", file=f"lake:{name}")
    table = preview(info, offset=offset, limit=limit)
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = [[jsonable(v) for v in row] for row in zip(*columns, strict=True)] if columns else []
    return {
        "name": info.name,
        "columns": list(table.column_names),
        "types": [str(f.type) for f in table.schema],
        "rows": rows,
        "offset": offset,
        "limit": limit,
        "total": info.n_rows,
    }


# ------------------------------------------------------------------------ datasets
@router.get("/datasets", tags=["datasets"], responses=_ERRORS)
def list_datasets(request: Request) -> list[dict[str, Any]]:
    """All datasets of the lake (catalog entries), sorted by name."""
    lake = lake_of(request)
    return [dataset_dict(info, lake) for info in lake.datasets()]


@router.get("/datasets/{name}", tags=["datasets"], responses=_ERRORS)
def dataset_info(name: str, request: Request) -> dict[str, Any]:
    """One dataset's catalog entry, with its schema (column → type)."""
    lake = lake_of(request)
    return dataset_dict(table_info(lake, name), lake)


@router.get("/datasets/{name}/schema", tags=["datasets"], responses=_ERRORS)
def dataset_schema(name: str, request: Request) -> dict[str, Any]:
    """A dataset's columns (tables) or arrays (array datasets)."""
    info = table_info(lake_of(request), name)
    if info.kind == "table":
        columns = [{"name": k, "type": v} for k, v in table_schema(info).items()]
        return {"name": info.name, "kind": info.kind, "columns": columns}
    return {"name": info.name, "kind": info.kind, "arrays": info.schema}


@router.get("/datasets/{name}/preview", tags=["datasets"], response_model=PreviewOut, responses=_ERRORS)
def dataset_preview(
    name: str,
    request: Request,
    offset: Annotated[int, Query(ge=0, description="First row (0-based).")] = 0,
    limit: Annotated[int, Query(ge=1, description="Rows (at most the server's preview limit).")] = 100,
) -> dict[str, Any]:
    """Rows ``offset`` … ``offset + limit`` of a table, in stored order."""
    cap = config_of(request).preview_max_rows
    if limit > cap:
        raise InputError(f"limit must be at most {cap}; got {limit}", file="limit")
    return preview_page(lake_of(request), name, offset=offset, limit=limit)


@router.get("/datasets/{name}/download", tags=["datasets"], responses=_ERRORS)
def dataset_download(
    name: str,
    request: Request,
    format: Annotated[str, Query(pattern="^(csv|tsv|parquet)$", description="csv, tsv or parquet.")] = "csv",
) -> StreamingResponse:
    """The whole table, streamed as CSV, TSV or Parquet."""
    return download_response(lake_of(request), name, format)


@router.delete("/datasets/{name}", tags=["datasets"], responses=_ERRORS)
def dataset_delete(name: str, request: Request) -> dict[str, Any]:
    """Remove a dataset (catalog entry, then its data)."""
    lake = lake_of(request)
    info = table_info(lake, name)
    lake.drop(info.name)
    return {"deleted": info.name}


@router.post(
    "/datasets",
    tags=["datasets"],
    status_code=201,
    responses={**_ERRORS, 409: {"model": ErrorOut}, 413: {"model": ErrorOut}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def dataset_upload(
    request: Request,
    name: Annotated[str, Query(description="Dataset name.")],
    replace: Annotated[bool, Query(description="Replace an existing dataset of that name.")] = False,
    delimiter: Annotated[str | None, Query(max_length=4, description="Field delimiter (default by extension).")] = None,
    sample_rows: Annotated[int, Query(description="Rows used to infer types; -1 for the whole file.")] = 20_480,
) -> JSONResponse:
    """Upload a CSV/TSV (.gz too) or Parquet file (multipart part ``file``) as dataset ``name``.

    The body is streamed to a temporary file inside the lake (refused with 413 past the
    size limit), then ingested exactly as ``biolake ingest table`` does; a malformed file
    is answered 422 with the ingest's one-line error, and nothing is left in the lake.
    """
    lake = lake_of(request)
    config = config_of(request)
    validate_name(name)
    if not replace and await run_in_threadpool(lake.exists, name):
        raise HTTPException(409, f"dataset {name!r} exists; pass replace=true to replace it")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > config.max_upload_bytes + 64 * 1024:
        raise UploadTooLarge(f"the file is larger than the limit of {config.max_upload_bytes} bytes")
    receiver = UploadReceiver(lake, request.headers.get("content-type", ""), max_bytes=config.max_upload_bytes)
    try:
        async for chunk in request.stream():
            receiver.feed(chunk)
        path = receiver.finish()
        shown = receiver.filename or path.name
        try:
            info = await run_in_threadpool(
                ingest_table, lake, path, name=name, delimiter=delimiter, sample_rows=sample_rows
            )
        except InputError as exc:
            raise public_input_error(exc, tmp_file=path, shown_name=shown) from None
    finally:
        receiver.cleanup()
    return JSONResponse(dataset_dict(info, lake), status_code=201)


# ------------------------------------------------------------------------------ SQL
@router.post(
    "/sql",
    tags=["sql"],
    response_model=SqlOut,
    responses={**_ERRORS, 400: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
def sql(body: SqlIn, request: Request) -> dict[str, Any]:
    """Run one read-only query (SELECT or WITH …) over the lake's tables.

    Anything else — writes, ATTACH, COPY, reading files, installing or loading
    extensions, several statements — is refused with 403. A query DuckDB rejects, or
    one that runs past the time limit, is answered 400.
    """
    config = config_of(request)
    return run_sql(request, body.query, max_rows=body.max_rows or config.sql_max_rows).to_dict()


# ----------------------------------------------------------------------------- runs
@router.get("/runs", tags=["runs"], responses=_ERRORS)
def list_runs(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Newest first, at most this many.")] = 100,
) -> list[dict[str, Any]]:
    """Run records, newest first."""
    return [r.to_dict() for r in lake_of(request).runs(limit=limit)]


@router.get("/runs/{run_id}", tags=["runs"], responses=_ERRORS)
def show_run(run_id: str, request: Request) -> dict[str, Any]:
    """One run record (a unique id prefix is enough)."""
    return run_record(lake_of(request), run_id).to_dict()


@router.get("/runs/{run_id}/report", tags=["runs"], response_class=HTMLResponse, responses=_ERRORS)
def run_report(run_id: str, request: Request) -> HTMLResponse:
    """The self-contained HTML report of a run."""
    return run_report_response(lake_of(request), run_id)


# ----------------------------------------------------------------------------- jobs
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_OUT_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$")
_LOG_TAIL = 256 * 1024


class JobIn(BaseModel):
    """A job to run: an analysis (see ``GET /api/analyses``) and its parameters."""

    analysis: str = Field(max_length=200, description="Analysis name, e.g. 'publichealth.surveil'.")
    params: dict[str, Any] = Field(default_factory=dict, description="Parameters, as the analysis's schema says.")


class JobOut(BaseModel):
    """A job and how it is going."""

    id: str
    analysis: str
    params: dict[str, Any]
    status: str = Field(description="queued, running, succeeded, failed or cancelled.")
    progress: float = Field(description="0 to 1.")
    task: str | None = Field(description="What the job is doing now (its progress task).")
    error: str | None = Field(description="Why it failed: one line.")
    outputs: list[str] = Field(description="Datasets the job wrote to the lake.")
    run_id: str | None = Field(description="The (last) run the job recorded in the lake.")
    run_ids: list[str]
    created: str
    started: str | None
    ended: str | None
    attempts: int
    cancel_requested: bool


def jobs_of(request: Request) -> JobStore:
    """The service's job queue file."""
    return request.app.state.jobs


def job_or_404(request: Request, job_id: str) -> dict[str, Any]:
    """A job by id: 404 if the id is malformed or unknown."""
    job = jobs_of(request).get(job_id) if _JOB_ID.match(job_id) else None
    if job is None:
        raise HTTPException(404, f"no job with id {job_id[:64]!r}")
    return job


def submit_job(request: Request, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Validate an analysis's parameters and queue it: 404 for an unknown analysis, 422 for bad params."""
    analysis = get_analysis(name)
    if analysis is None:
        raise HTTPException(404, f"no analysis named {name[:200]!r} (see GET /api/analyses)")
    values = analysis.validate(params)
    store = jobs_of(request)
    job_id = store.new_id()
    rules = PathRules(lake_of(request).root, store.job_dir(job_id), config_of(request).job_data_dirs or ())
    arguments = analysis.arguments(values, rules)
    return store.submit(analysis.name, values, analysis.module, arguments, job_id=job_id, aliases=rules.shown)


def job_files(request: Request, job_id: str) -> list[dict[str, Any]]:
    """The files a job wrote to its ``out/`` directory."""
    out = jobs_of(request).job_dir(job_id) / "out"
    if not out.is_dir():
        return []
    return [{"name": f.name, "bytes": f.stat().st_size} for f in sorted(out.iterdir()) if f.is_file()]


def job_log_text(request: Request, job_id: str, *, tail: int = _LOG_TAIL) -> str:
    """The end of a job's log (its stdout and stderr), at most ``tail`` bytes; server paths are
    shown as the client gave them (the job's directory as ``.``, the lake as ``LAKE``)."""
    store = jobs_of(request)
    path = store.log_path(job_id)
    if not path.exists():
        return ""
    with open(path, "rb") as fh:
        size = path.stat().st_size
        fh.seek(max(0, size - tail))
        text = fh.read().decode("utf-8", "replace")
    row = store.internal(job_id) or {}
    aliases = json.loads(row.get("aliases") or "{}")
    for server_path, given in sorted(aliases.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(server_path, given)
    job_dir = str(store.job_dir(job_id))
    return text.replace(job_dir + "/", "").replace(job_dir, ".").replace(str(store.lake_root), "LAKE")


@router.get("/analyses", tags=["jobs"], responses=_ERRORS)
def list_analyses() -> list[dict[str, Any]]:
    """Every analysis a job may run (the CLI's commands), with its parameters' JSON schema."""
    return [a.to_dict() for a in analyses().values()]


@router.get("/analyses/{name}", tags=["jobs"], responses=_ERRORS)
def show_analysis(name: str) -> dict[str, Any]:
    """One analysis and its parameters' JSON schema."""
    analysis = get_analysis(name)
    if analysis is None:
        raise HTTPException(404, f"no analysis named {name[:200]!r}")
    return analysis.to_dict()


@router.post("/jobs", tags=["jobs"], status_code=202, response_model=JobOut, responses=_ERRORS)
def create_job(body: JobIn, request: Request) -> dict[str, Any]:
    """Queue a job: ``{"analysis": "NAME", "params": {…}}`` → 202 with the job (``id``, ``status``…).

    The parameters are checked against the analysis's schema and the path rule (outputs
    are plain file names; input files come from the allowed data directories); a bad
    parameter is answered 422 with one line, an unknown analysis 404.
    """
    return submit_job(request, body.analysis, body.params)


@router.get("/jobs", tags=["jobs"], response_model=list[JobOut], responses=_ERRORS)
def list_jobs(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Newest first, at most this many.")] = 100,
    status: Annotated[str | None, Query(description="Only jobs of this status.")] = None,
) -> list[dict[str, Any]]:
    """Jobs, newest first."""
    if status is not None and status not in JOB_STATUSES:
        raise InputError(f"unknown status {status!r}: use one of {', '.join(JOB_STATUSES)}", file="status")
    return jobs_of(request).list(limit=limit, status=status)


@router.get("/jobs/{job_id}", tags=["jobs"], response_model=JobOut, responses=_ERRORS)
def show_job(job_id: str, request: Request) -> dict[str, Any]:
    """One job: status, progress (0–1), error (one line), outputs (datasets) and run ids."""
    return job_or_404(request, job_id)


@router.post(
    "/jobs/{job_id}/cancel", tags=["jobs"], response_model=JobOut, responses={**_ERRORS, 409: {"model": ErrorOut}}
)
def cancel_job(job_id: str, request: Request) -> JSONResponse:
    """Cancel a job: a queued one at once (200, ``cancelled``); a running one's process group
    is killed by its worker (202, ``cancel_requested``); a finished one answers 409."""
    job = job_or_404(request, job_id)
    if job["status"] not in ("queued", "running"):
        raise HTTPException(409, f"job {job_id} has already ended ({job['status']})")
    job = jobs_of(request).request_cancel(job_id) or job
    return JSONResponse(job, status_code=200 if job["status"] == "cancelled" else 202)


@router.get("/jobs/{job_id}/logs", tags=["jobs"], response_class=PlainTextResponse, responses=_ERRORS)
def job_logs(
    job_id: str,
    request: Request,
    tail: Annotated[int, Query(ge=1, le=16 << 20, description="Bytes from the end of the log.")] = _LOG_TAIL,
) -> PlainTextResponse:
    """The job's log: what its process wrote to stdout and stderr (the end of it)."""
    job_or_404(request, job_id)
    return PlainTextResponse(job_log_text(request, job_id, tail=tail))


@router.get("/jobs/{job_id}/files", tags=["jobs"], responses=_ERRORS)
def list_job_files(job_id: str, request: Request) -> list[dict[str, Any]]:
    """The output files of a job (its ``out`` parameters), by name and size."""
    job_or_404(request, job_id)
    return job_files(request, job_id)


@router.get("/jobs/{job_id}/files/{name}", tags=["jobs"], responses=_ERRORS)
def job_file(job_id: str, name: str, request: Request) -> FileResponse:
    """Download one output file of a job."""
    job_or_404(request, job_id)
    if not _OUT_FILE.match(name) or name not in {f["name"] for f in job_files(request, job_id)}:
        raise HTTPException(404, f"job {job_id} has no output file {name[:200]!r}")
    return FileResponse(jobs_of(request).job_dir(job_id) / "out" / name, filename=name)
