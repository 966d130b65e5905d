"""The web pages: server-rendered Jinja2, no build step, every asset served by the app.

Pages: ``/`` (home: datasets and recent runs), ``/datasets`` (with a name filter),
``/datasets/NAME`` (schema, paged preview, downloads), ``/runs``, ``/runs/ID`` (the
record and its report in a sandboxed frame), ``/sql`` (a query box and a results
table), ``/login`` and ``/logout``. Every piece of data is HTML-escaped by Jinja2.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Annotated, Any
from urllib.parse import parse_qs

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from biolake import __version__
from biolake.errors import BiolakeError, InputError
from biolake.service.api import (
    check_run_id,
    config_of,
    download_response,
    lake_of,
    preview_page,
    run_record,
    run_report_response,
    run_sql,
    table_info,
)
from biolake.service.datasets import dataset_dict
from biolake.service.security import SESSION_COOKIE, SESSION_SECONDS, check_token, make_session
from biolake.service.sql import MAX_QUERY_CHARS, QueryError, QueryRefused

__all__ = ["render", "router"]

router = APIRouter(include_in_schema=False)

_PAGE_ROWS = 50
_SQL_PAGE_ROWS = 1_000
_FORM_LIMIT = 4 * MAX_QUERY_CHARS


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("biolake.service", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page template with the common context (version, whether a login is in use)."""
    config = config_of(request)
    page = (
        _environment()
        .get_template(template)
        .render(
            version=__version__,
            auth=config.auth_required,
            role=request.scope.get("biolake.role"),
            path=request.url.path,
            **context,
        )
    )
    return HTMLResponse(page, status_code=status_code)


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status_code=status, title="Error", message=message)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """The dashboard home: datasets and the latest runs."""
    lake = lake_of(request)
    datasets = [dataset_dict(d, lake) for d in lake.datasets()]
    runs = [r.to_dict() for r in lake.runs(limit=10)]
    return render(request, "home.html", title="biolake", datasets=datasets, runs=runs, lake=lake.root.name)


@router.get("/datasets", response_class=HTMLResponse)
def datasets_page(
    request: Request, q: Annotated[str, Query(max_length=200, description="Name filter.")] = ""
) -> HTMLResponse:
    """All datasets, optionally those whose name contains ``q``."""
    lake = lake_of(request)
    needle = q.strip().lower()
    datasets = [dataset_dict(d, lake) for d in lake.datasets() if needle in d.name.lower()]
    return render(request, "datasets.html", title="Datasets", datasets=datasets, q=q)


@router.get("/datasets/{name}", response_class=HTMLResponse)
def dataset_page(
    name: str,
    request: Request,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """One dataset: its catalog entry, schema and a page of rows."""
    lake = lake_of(request)
    info = table_info(lake, name)
    page = preview_page(lake, name, offset=offset, limit=_PAGE_ROWS) if info.kind == "table" else None
    return render(
        request,
        "dataset.html",
        title=info.name,
        info=dataset_dict(info, lake),
        page=page,
        page_rows=_PAGE_ROWS,
    )


@router.get("/datasets/{name}/download")
def dataset_download_page(
    name: str, request: Request, format: Annotated[str, Query(pattern="^(csv|tsv|parquet)$")] = "csv"
) -> StreamingResponse:
    """The download link of the dataset page (the same stream as the API's)."""
    return download_response(lake_of(request), name, format)


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request) -> HTMLResponse:
    """The latest runs, newest first."""
    runs = [r.to_dict() for r in lake_of(request).runs(limit=200)]
    return render(request, "runs.html", title="Runs", runs=runs)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(run_id: str, request: Request) -> HTMLResponse:
    """One run: its record, and its report in a sandboxed frame."""
    record = run_record(lake_of(request), check_run_id(run_id))
    return render(request, "run.html", title=f"Run {record.id}", run=record.to_dict())


@router.get("/runs/{run_id}/report", response_class=HTMLResponse)
def run_report_page(run_id: str, request: Request) -> HTMLResponse:
    """The run's HTML report (framed by the run page; sandboxed)."""
    return run_report_response(lake_of(request), run_id)


async def _form(request: Request) -> dict[str, str]:
    """A small ``application/x-www-form-urlencoded`` body, read with a size limit."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _FORM_LIMIT:
            raise InputError(f"the form is larger than {_FORM_LIMIT} bytes", file="form")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


@router.get("/sql", response_class=HTMLResponse)
def sql_page(request: Request) -> HTMLResponse:
    """The query box."""
    return render(request, "sql.html", title="SQL", query="", result=None, error=None, tables=_tables(request))


def _tables(request: Request) -> list[dict[str, Any]]:
    return [{"name": d.name, "columns": list(d.schema)} for d in lake_of(request).datasets(kind="table")]


@router.post("/sql", response_class=HTMLResponse)
async def sql_run_page(request: Request) -> HTMLResponse:
    """Run the query of the form and show its result (or the error)."""
    from fastapi.concurrency import run_in_threadpool

    form = await _form(request)
    query = form.get("query", "")
    result, error, status = None, None, 200
    try:
        result = await run_in_threadpool(run_sql, request, query, max_rows=_SQL_PAGE_ROWS)
    except QueryRefused as exc:
        error, status = str(exc), 403
    except QueryError as exc:
        error, status = str(exc), 400
    tables = await run_in_threadpool(_tables, request)
    return render(
        request, "sql.html", status_code=status, title="SQL", query=query, result=result, error=error, tables=tables
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: Annotated[str, Query(max_length=2000)] = "/") -> HTMLResponse:
    """The login form (only useful when the server has a token)."""
    return render(request, "login.html", title="Log in", next=_local(next), failed=False)


def _local(target: str) -> str:
    """``target`` if it is a path on this server, else ``/`` (no open redirects)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the token of the form; on success set the session cookie and go on."""
    form = await _form(request)
    config = config_of(request)
    target = _local(form.get("next", "/"))
    role = check_token(form.get("token", ""), config) if config.auth_required else "write"
    if role is None:
        await asyncio.sleep(0.5)  # slows down guessing
        return render(request, "login.html", status_code=401, title="Log in", next=target, failed=True)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        make_session(role, config),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """Forget the session cookie."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def page_error(request: Request, exc: BaseException, status: int) -> HTMLResponse:
    """An error answered as a page (for requests made by a browser)."""
    message = str(exc) if isinstance(exc, BiolakeError) else getattr(exc, "detail", "error")
    return _error_page(request, status, str(message))
