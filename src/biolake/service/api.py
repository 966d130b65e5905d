"""The REST API under ``/api``: datasets, read-only SQL, runs and their reports.

Every route is thin: it validates names (:func:`biolake.lake.validate_name`, run ids by
pattern), calls the lake or :mod:`biolake.service.sql` and answers JSON. Errors are
answered by the handlers of :mod:`biolake.service.app`: an
:class:`~biolake.errors.InputError` is 422 with ``{"error": "one line", …}``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

from biolake.errors import InputError
from biolake.io import ingest_table
from biolake.lake import DatasetInfo, Lake, validate_name
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
