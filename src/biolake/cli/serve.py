"""``biolake serve``: the REST API and web pages over a lake (uvicorn)."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, lake_path


class _JsonLines(logging.Formatter):
    """Access-log records are JSON already; other records get a plain prefix."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "biolake.service.access":
            return record.getMessage()
        return super().format(record)


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLines("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("biolake.service", "biolake.service.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False


def parse_memory(text: str) -> int:
    """``4G``, ``512M``, ``1.5GB``, ``100000`` (bytes) → bytes; anything else is an InputError."""
    from biolake.errors import InputError

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise InputError(f"expected a size such as 4G or 512M; got {text!r}", file="--job-memory")
    shift = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[match.group(2).upper()]
    return int(float(match.group(1)) * (1 << shift))


def serve_command(
    lake: LakeOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on; beyond loopback a token is required.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            help="Read-write token (requests send 'Authorization: Bearer TOKEN').",
            envvar="BIOLAKE_TOKEN",
            show_envvar=True,
        ),
    ] = None,
    read_token: Annotated[
        list[str] | None, typer.Option("--read-token", help="A read-only token (no uploads or deletions); repeatable.")
    ] = None,
    max_upload_mb: Annotated[int, typer.Option(help="Largest accepted upload, in MiB.")] = 1024,
    sql_timeout: Annotated[float, typer.Option(help="Seconds before a SQL query is stopped.")] = 30.0,
    sql_max_rows: Annotated[int, typer.Option(help="Rows one SQL query returns at most.")] = 10_000,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    workers: Annotated[int, typer.Option(help="Job worker processes (each runs one job at a time); 0: none.")] = 2,
    retry: Annotated[bool, typer.Option("--retry", help="Run a job once more if its worker process died.")] = False,
    job_memory: Annotated[
        str | None, typer.Option(help="Memory (address space) one job may use, e.g. 4G or 512M [default: no limit].")
    ] = None,
    data_dir: Annotated[
        list[Path] | None,
        typer.Option("--data-dir", help="Directory job input files may come from; repeatable [default: LAKE/uploads]."),
    ] = None,
) -> None:
    """Serve the lake: REST API under /api (docs at /docs) and web pages at /.

    Listens on 127.0.0.1 by default. To listen on another address, give a token
    (--token or BIOLAKE_TOKEN): every request must then send it as a Bearer token, or
    log in on the /login page. Jobs (POST /api/jobs) run in --workers worker processes.
    """
    import uvicorn

    from biolake.errors import check_param
    from biolake.service.app import create_app
    from biolake.service.config import ServiceConfig, check_bind

    check_param("serve", "port", port, 0 < port < 65536, "a port number (1-65535)")
    check_param("serve", "max_upload_mb", max_upload_mb, max_upload_mb > 0, "> 0")
    check_param("serve", "sql_timeout", sql_timeout, sql_timeout > 0, "> 0")
    check_param("serve", "sql_max_rows", sql_max_rows, sql_max_rows > 0, "> 0")
    check_param("serve", "workers", workers, 0 <= workers <= 64, "between 0 and 64")
    config = ServiceConfig(
        lake=lake_path(lake),
        tokens=(token,) if token else (),
        read_tokens=tuple(read_token or ()),
        max_upload_bytes=max_upload_mb << 20,
        sql_timeout_s=sql_timeout,
        sql_max_rows=sql_max_rows,
        workers=workers,
        job_retry=retry,
        job_memory=parse_memory(job_memory) if job_memory else None,
        job_data_dirs=tuple(data_dir) if data_dir else None,
    )
    check_bind(host, config)
    _setup_logging(log_level)
    app = create_app(config)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"biolake serving {config.lake} on http://{shown}:{port}/ (API docs at /docs)", err=True)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level=log_level.lower(), server_header=False)
