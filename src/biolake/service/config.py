"""Settings of the biolake service: where the lake is, who may do what, and the limits.

A :class:`ServiceConfig` is built by ``biolake serve`` from its options (or by a test)
and handed to :func:`biolake.service.create_app`. :func:`check_bind` refuses to listen
beyond loopback without a token.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from biolake.errors import InputError

__all__ = ["TOKEN_ENV_VAR", "ServiceConfig", "check_bind", "is_loopback"]

#: Environment variable holding the read-write token when ``--token`` is not given.
TOKEN_ENV_VAR = "BIOLAKE_TOKEN"

_MIN_TOKEN_CHARS = 16


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only listens on this machine."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class ServiceConfig:
    """What the service serves and how it protects it.

    Attributes
    ----------
    lake
        The lake directory.
    tokens
        Read-write tokens: a request must send one as ``Authorization: Bearer T``
        whenever any token (read-write or read-only) is set.
    read_tokens
        Read-only tokens: may read everything but not upload or delete.
    max_upload_bytes
        Largest accepted upload (bytes of the file as sent).
    sql_max_rows, sql_timeout_s
        Rows returned by one SQL query at most, and seconds before it is interrupted.
    sql_memory_limit
        DuckDB memory limit of one SQL query (e.g. ``"1GB"``).
    sql_concurrency
        SQL queries run at once at most; a query waits up to ``sql_timeout_s`` for its
        turn, then is answered 503.
    preview_max_rows
        Largest ``limit`` of a dataset preview.
    allowed_hosts
        Host names the ``Host`` header may carry. ``None``: any host when a token is
        set, else only loopback names (this defeats DNS rebinding of a token-less
        local server).
    session_secret
        Key signing the browser session cookies (random per process by default, so
        sessions end when the server restarts).
    workers
        Job worker processes started with the app (0: jobs are queued but none runs;
        see :mod:`biolake.service.jobs`).
    job_retry
        Run a job once more when its worker process died while running it.
    job_memory
        Address-space limit of one job's process in bytes (``RLIMIT_AS``), or None.
    job_data_dirs
        Directories job input files may come from (besides ``LAKE/jobs``); default
        ``LAKE/uploads``. See :mod:`biolake.service.analyses` for the path rule.
    """

    lake: Path
    tokens: tuple[str, ...] = ()
    read_tokens: tuple[str, ...] = ()
    max_upload_bytes: int = 1 << 30
    sql_max_rows: int = 10_000
    sql_timeout_s: float = 30.0
    sql_memory_limit: str = "1GB"
    sql_concurrency: int = 2
    preview_max_rows: int = 1_000
    allowed_hosts: tuple[str, ...] | None = None
    session_secret: bytes = field(default_factory=lambda: os.urandom(32), repr=False)
    workers: int = 0
    job_retry: bool = False
    job_memory: int | None = None
    job_data_dirs: tuple[Path, ...] | None = None

    def __post_init__(self) -> None:
        self.lake = Path(self.lake)
        self.tokens = tuple(t for t in self.tokens if t)
        self.read_tokens = tuple(t for t in self.read_tokens if t)
        if self.job_data_dirs is None:
            self.job_data_dirs = (self.lake / "uploads",)
        self.job_data_dirs = tuple(Path(d) for d in self.job_data_dirs)
        for token in (*self.tokens, *self.read_tokens):
            if len(token) < _MIN_TOKEN_CHARS or token != token.strip():
                raise InputError(
                    f"a token must have at least {_MIN_TOKEN_CHARS} characters and no surrounding spaces",
                    file="--token",
                )

    @property
    def auth_required(self) -> bool:
        """Whether requests must authenticate (some token is set)."""
        return bool(self.tokens or self.read_tokens)


def check_bind(host: str, config: ServiceConfig) -> None:
    """Refuse (InputError) to listen on a non-loopback ``host`` when no token is set."""
    if not is_loopback(host) and not config.auth_required:
        raise InputError(
            f"listening on {host} (beyond this machine) needs a token: pass --token or set {TOKEN_ENV_VAR}",
            file="--host",
        )
