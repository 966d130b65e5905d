"""The FastAPI application of ``biolake serve``: :func:`create_app`.

Layout of the app:

* ``/api/…`` — the REST API (:mod:`biolake.service.api`), OpenAPI at ``/openapi.json``;
* ``/docs`` — Swagger UI, its JavaScript and CSS served by the app from the
  ``swagger-ui-bundle-v2`` package (Apache-2.0), no CDN;
* ``/``, ``/datasets``, ``/runs``, ``/jobs``, ``/sql``, ``/login`` — the web pages
  (:mod:`biolake.service.pages`);
* the job queue (:mod:`biolake.service.jobs`): its workers start and stop with the app
  (lifespan) when ``config.workers`` > 0;
* ``/static/…`` — the pages' own CSS and the docs' initializer script.

Every request passes :class:`biolake.service.security.Guard` (auth, host/origin checks,
security headers, access log, 500s without tracebacks). Errors are JSON
``{"error": "one line"}`` for the API (InputError → 422, refused SQL → 403, SQL errors →
400, unknown names → 404, too large uploads → 413) and an error page for browsers.

Examples
--------
>>> from fastapi.testclient import TestClient          # doctest: +SKIP
>>> app = create_app(ServiceConfig(lake="lake/"))     # doctest: +SKIP
>>> TestClient(app, base_url="http://localhost").get("/api/datasets").json()  # doctest: +SKIP
[]
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from biolake import __version__
from biolake.errors import InputError
from biolake.service import api, pages
from biolake.service.config import ServiceConfig
from biolake.service.datasets import ServiceLake, UploadTooLarge
from biolake.service.jobs import JobQueue, JobStore
from biolake.service.security import Guard
from biolake.service.sql import QueryError, QueryRefused

__all__ = ["DOCS_CSP", "create_app", "static_files"]

#: Swagger UI sets inline styles on its elements; scripts still come only from this server.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)

_MEDIA = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".png": "image/png"}


@functools.lru_cache(maxsize=1)
def static_files() -> dict[str, Path]:
    """The assets the app serves under ``/static/``: URL path → file (a fixed list)."""
    import swagger_ui_bundle

    own = Path(str(resources.files("biolake.service") / "static"))
    swagger = Path(str(swagger_ui_bundle.swagger_ui_path))
    files = {f"/static/{p.name}": p for p in own.iterdir() if p.suffix in _MEDIA}
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        files[f"/static/swagger/{name}"] = swagger / name
    return files


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path in ("/api", "/openapi.json")) and "text/html" in request.headers.get(
        "accept", ""
    )


def _error(request: Request, status: int, message: str, extra: dict[str, Any] | None = None) -> Response:
    if _wants_page(request):
        return pages.render(request, "error.html", status_code=status, title="Error", message=message)
    return JSONResponse({"error": message, **(extra or {})}, status_code=status)


def create_app(config: ServiceConfig) -> FastAPI:
    """The service over the lake of ``config`` (opened, or created if missing).

    Parameters
    ----------
    config
        Lake, tokens and limits (see :class:`~biolake.service.config.ServiceConfig`).

    Returns
    -------
    fastapi.FastAPI
        An ASGI app; serve it with uvicorn (``biolake serve`` does).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Start the job workers (``config.workers``) with the server, stop them with it."""
        queue = None
        if config.workers > 0:
            queue = JobQueue(
                app.state.lake.root, workers=config.workers, retry=config.job_retry, job_memory=config.job_memory
            ).start()
        app.state.job_queue = queue
        try:
            yield
        finally:
            if queue is not None:
                queue.stop()

    app = FastAPI(
        title="biolake",
        version=__version__,
        description="The biolake lake over HTTP: datasets, read-only SQL, jobs, runs and their reports.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.lake = ServiceLake.open(config.lake)
    app.state.jobs = JobStore(app.state.lake.root)
    app.state.job_queue = None
    app.state.sql_slots = threading.BoundedSemaphore(max(1, config.sql_concurrency))

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError) -> Response:
        details = {k: v for k, v in exc.to_dict().items() if k != "error" and v is not None}
        return _error(request, 422, str(exc), details)

    @app.exception_handler(QueryRefused)
    async def _refused(request: Request, exc: QueryRefused) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(QueryError)
    async def _query_error(request: Request, exc: QueryError) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(UploadTooLarge)
    async def _too_large(request: Request, exc: UploadTooLarge) -> Response:
        return _error(request, 413, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        return _error(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return _error(request, 422, "; ".join(parts) or "invalid request")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        """Swagger UI, served from this app's own assets."""
        response = pages.render(request, "docs.html", title="biolake API")
        response.headers["Content-Security-Policy"] = DOCS_CSP
        return response

    @app.get("/static/{path:path}", include_in_schema=False)
    def static(path: str) -> Response:
        """One of the fixed assets of :func:`static_files`."""
        file = static_files().get(f"/static/{path}")
        if file is None:
            raise StarletteHTTPException(404, "not found")
        return FileResponse(file, media_type=_MEDIA[file.suffix], headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        """The Swagger favicon (browsers ask for it)."""
        return FileResponse(static_files()["/static/swagger/favicon-32x32.png"], media_type="image/png")

    app.include_router(api.router)
    app.include_router(pages.router)
    app.add_middleware(Guard, config=config)
    return app
