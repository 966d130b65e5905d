"""The web pages: server-rendered Jinja2, no build step, every asset served by the app.

Pages: ``/`` (home: datasets and recent runs), ``/datasets`` (with a name filter),
``/datasets/NAME`` (schema, paged preview, downloads), ``/runs``, ``/runs/ID`` (the
record and its report in a sandboxed frame), ``/sql`` (a query box and a results
table), ``/jobs`` (live list), ``/jobs/new`` (launch form generated from an analysis's
parameter schema), ``/jobs/ID`` (status, progress, outputs, log, cancel), ``/login``
and ``/logout``. Every piece of data is HTML-escaped by Jinja2.
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
from biolake.service.analyses import Analysis, analyses, get_analysis
from biolake.service.api import (
    check_run_id,
    config_of,
    download_response,
    job_file,
    job_files,
    job_log_text,
    job_or_404,
    jobs_of,
    lake_of,
    preview_page,
    run_record,
    run_report_response,
    run_sql,
    submit_job,
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


# ----------------------------------------------------------------------------- jobs
_JOB_LOG_TAIL = 64 * 1024


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, partial: Annotated[int, Query(ge=0, le=1)] = 0) -> HTMLResponse:
    """The latest jobs; ``partial=1``: only the live table (the page's script re-fetches it)."""
    jobs = jobs_of(request).list(limit=200)
    active = any(j["status"] in ("queued", "running") for j in jobs)
    template = "jobs_table.html" if partial else "jobs.html"
    return render(request, template, title="Jobs", jobs=jobs, active=active)


def _form_fields(analysis: Analysis, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The launch form's fields, from the analysis's JSON schema."""
    schema = analysis.schema()
    props, required = schema.get("properties", {}), set(schema.get("required", []))
    fields = []
    for name, prop in props.items():
        options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"] or [prop]
        first = options[0]
        kind = first.get("type", "string")
        choices = first.get("enum")
        if choices is None and "const" in first:
            choices = [o["const"] for o in options if "const" in o]
        fields.append(
            {
                "name": name,
                "kind": "choice" if choices else kind,
                "choices": choices or [],
                "required": name in required,
                "value": values.get(name, prop.get("default")),
                "help": prop.get("description") or "",
                "role": prop.get("x-role", "value"),
            }
        )
    return fields


def _new_job_page(
    request: Request, analysis: Analysis | None, *, values: dict[str, Any], error: str | None, status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "jobs_new.html",
        status_code=status,
        title="Launch a job",
        analyses=list(analyses().values()),
        analysis=analysis,
        fields=_form_fields(analysis, values) if analysis else [],
        error=error,
    )


@router.get("/jobs/new", response_class=HTMLResponse)
def new_job_page(request: Request, analysis: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    """The launch form of an analysis (or the list to choose one from)."""
    chosen = get_analysis(analysis) if analysis else None
    if analysis and chosen is None:
        return _error_page(request, 404, f"no analysis named {analysis!r}")
    return _new_job_page(request, chosen, values={}, error=None)


def _params_from_form(analysis: Analysis, form: dict[str, list[str]]) -> dict[str, Any]:
    """Form fields → JSON parameters: empty fields are left out, checkboxes are booleans, lists one per line."""
    params: dict[str, Any] = {}
    for spec in analysis.params:
        raw = form.get(spec.name)
        if spec.flag:
            if raw or spec.default is True:  # an unchecked box is the flag's default, left unset
                params[spec.name] = bool(raw)
            continue
        if not raw:
            continue
        if spec.multiple:
            items = [line.strip() for value in raw for line in value.splitlines() if line.strip()]
            if items:
                params[spec.name] = items
        elif raw[0].strip() != "":
            params[spec.name] = raw[0].strip()
    return params


@router.post("/jobs", response_class=HTMLResponse)
async def submit_job_page(request: Request) -> Response:
    """Launch the job of the form; on success go to its page, else show the form with the error (422)."""
    from fastapi.concurrency import run_in_threadpool

    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _FORM_LIMIT:
            raise InputError(f"the form is larger than {_FORM_LIMIT} bytes", file="form")
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    name = (form.pop("_analysis", [""]) or [""])[0]
    analysis = get_analysis(name)
    if analysis is None:
        return _error_page(request, 404, f"no analysis named {name!r}")
    params = _params_from_form(analysis, form)
    try:
        job = await run_in_threadpool(submit_job, request, analysis.name, params)
    except InputError as exc:
        return _new_job_page(request, analysis, values=params, error=str(exc), status=422)
    return RedirectResponse(f"/jobs/{job['id']}", status_code=303)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: str, request: Request, partial: Annotated[int, Query(ge=0, le=1)] = 0) -> HTMLResponse:
    """One job: status, progress, outputs, runs, log; ``partial=1``: only the live part."""
    job = job_or_404(request, job_id)
    log = job_log_text(request, job_id, tail=_JOB_LOG_TAIL)
    context = {"job": job, "files": job_files(request, job_id), "log": log}
    template = "jobs_detail_live.html" if partial else "jobs_detail.html"
    return render(request, template, title=f"Job {job_id[:12]}", **context)


@router.post("/jobs/{job_id}/cancel")
def cancel_job_page(job_id: str, request: Request) -> Response:
    """The job page's cancel button."""
    job = job_or_404(request, job_id)
    if job["status"] in ("queued", "running"):
        jobs_of(request).request_cancel(job_id)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/jobs/{job_id}/files/{name}")
def job_file_page(job_id: str, name: str, request: Request) -> Response:
    """An output file of a job (the job page's links)."""
    return job_file(job_id, name, request)
