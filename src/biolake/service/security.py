"""The service's guard: authentication, host/origin checks, security headers, request ids, access log.

:class:`Guard` is a plain ASGI middleware that wraps every HTTP request:

* gives it a request id (``X-Request-ID`` on the response, in the access log and in
  500 answers);
* refuses ``Host`` headers other than loopback names when no token is set (DNS
  rebinding) and cross-origin writes (``Origin`` or ``Sec-Fetch-Site``), so a web page
  elsewhere cannot make a browser upload into or delete from a local lake;
* authenticates when a token is configured: ``/api`` takes only
  ``Authorization: Bearer T`` (401 without); pages and the API docs also take the
  signed session cookie set by the login page (a browser is redirected there); tokens
  are compared with :func:`hmac.compare_digest`; a read-only token gets 403 on writes;
* answers an unexpected exception with a short JSON error and the request id (the
  traceback goes to the server log only);
* adds security headers (CSP, ``X-Content-Type-Options``, ``X-Frame-Options``,
  ``Referrer-Policy``) unless the route set its own;
* writes one JSON access-log line per request to the ``biolake.service.access`` logger.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from biolake.service.config import ServiceConfig, is_loopback

__all__ = [
    "PAGE_CSP",
    "SESSION_COOKIE",
    "Guard",
    "check_token",
    "make_session",
    "read_session",
]

access_log = logging.getLogger("biolake.service.access")
error_log = logging.getLogger("biolake.service")

SESSION_COOKIE = "biolake_session"
SESSION_SECONDS = 12 * 3600

#: Content-Security-Policy of the dashboard pages: everything from this server, no inline script.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)

_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_READ_POSTS = {"/api/sql", "/sql", "/login", "/logout"}
_PUBLIC_PATHS = {"/login", "/logout", "/favicon.ico"}
_PUBLIC_PREFIXES = ("/static/",)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def check_token(presented: str, config: ServiceConfig) -> str | None:
    """The role of a presented token: ``"write"``, ``"read"`` or None (every token is compared)."""
    given = presented.encode()
    role = None
    for token in config.read_tokens:
        if hmac.compare_digest(given, token.encode()):
            role = role or "read"
    for token in config.tokens:
        if hmac.compare_digest(given, token.encode()):
            role = "write"
    return role


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


def make_session(role: str, config: ServiceConfig, *, now: float | None = None) -> str:
    """A signed session cookie value for ``role`` that expires after 12 hours."""
    expires = int((now if now is not None else time.time()) + SESSION_SECONDS)
    payload = f"{role}.{expires}"
    return f"{payload}.{_sign(config.session_secret, payload)}"


def read_session(value: str, config: ServiceConfig, *, now: float | None = None) -> str | None:
    """The role of a valid, unexpired session cookie value, else None."""
    role, _, rest = value.partition(".")
    expires, _, signature = rest.partition(".")
    if role not in ("read", "write") or not expires.isdigit():
        return None
    if not hmac.compare_digest(signature.encode(), _sign(config.session_secret, f"{role}.{expires}").encode()):
        return None
    if int(expires) < (now if now is not None else time.time()):
        return None
    return role


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookies(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in header.split(";"):
        key, sep, value = item.strip().partition("=")
        if sep:
            out.setdefault(key, value)
    return out


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, config: ServiceConfig) -> None:
        self.app = app
        self.config = config

    # ------------------------------------------------------------------ checks
    def _host_allowed(self, host: str) -> bool:
        allowed = self.config.allowed_hosts
        if allowed is None:
            return self.config.auth_required or is_loopback(_host_name(host))
        return "*" in allowed or _host_name(host).lower() in {h.lower() for h in allowed}

    def _cross_origin(self, scope: Scope, headers: dict[str, str]) -> bool:
        if headers.get("sec-fetch-site") == "cross-site":
            return True
        origin = headers.get("origin")
        if origin is None:
            return False
        # Compare host and port only: behind a TLS-terminating proxy the scheme differs.
        scheme, sep, netloc = origin.partition("://")
        return not sep or scheme.lower() not in ("http", "https") or netloc.lower() != headers.get("host", "").lower()

    def _role(self, path: str, headers: dict[str, str]) -> str | None:
        if not self.config.auth_required:
            return "write"
        auth = headers.get("authorization", "")
        scheme, _, credentials = auth.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return check_token(credentials.strip(), self.config)
        if not path.startswith("/api/") and path != "/api":
            cookie = _cookies(headers.get("cookie", "")).get(SESSION_COOKIE)
            if cookie:
                return read_session(cookie, self.config)
        return None

    # -------------------------------------------------------------------- ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # the service has none: refuse before anything else
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        scope["biolake.request_id"] = request_id
        t0 = time.perf_counter()
        headers = _headers(scope)
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        state: dict[str, Any] = {"status": 0, "bytes": 0, "started": False}
        role: str | None = None

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                raw = list(message.get("headers", []))
                present = {k.decode("latin-1").lower() for k, _ in raw}
                for key, value in self._security_headers(request_id):
                    if key not in present:
                        raw.append((key.encode("latin-1"), value.encode("latin-1")))
                message["headers"] = raw
            elif message["type"] == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            refusal = self._refusal(scope, headers, path, method)
            if refusal is not None:
                await self._answer(send_wrapped, *refusal)
                return
            role = self._role(path, headers)
            scope["biolake.role"] = role
            public = path in _PUBLIC_PATHS or path.startswith(_PUBLIC_PREFIXES)
            if role is None and not public:
                await self._unauthenticated(scope, send_wrapped, path, headers)
                return
            if role == "read" and method in _WRITE_METHODS and path not in _READ_POSTS:
                await self._answer(send_wrapped, 403, {"error": "this token may only read (no uploads or deletions)"})
                return
            await self.app(scope, receive, send_wrapped)
        except Exception:
            error_log.exception("request %s %s %s failed", request_id, method, path)
            if not state["started"]:
                await self._answer(
                    send_wrapped,
                    500,
                    {"error": f"internal error (request id {request_id}; details are in the server log)"},
                )
        finally:
            self._log(scope, headers, request_id, role, state, t0)

    def _refusal(self, scope: Scope, headers: dict[str, str], path: str, method: str) -> tuple[int, dict] | None:
        if not self._host_allowed(headers.get("host", "")):
            return 400, {"error": "unexpected Host header (this server answers only to its loopback names)"}
        if method in _WRITE_METHODS and self._cross_origin(scope, headers):
            return 403, {"error": "cross-origin request refused"}
        return None

    async def _unauthenticated(self, scope: Scope, send: Send, path: str, headers: dict[str, str]) -> None:
        wants_html = "text/html" in headers.get("accept", "")
        is_page = not (path.startswith("/api/") or path == "/api")
        if is_page and wants_html and scope.get("method") == "GET":
            query = scope.get("query_string", b"").decode("latin-1")
            target = path + (f"?{query}" if query else "")
            location = "/login?next=" + quote(target, safe="")
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self._answer(
            send,
            401,
            {"error": "authentication required: send 'Authorization: Bearer TOKEN'"},
            extra=[(b"www-authenticate", b'Bearer realm="biolake"')],
        )

    @staticmethod
    async def _answer(
        send: Send, status: int, body: dict[str, Any], *, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": raw + list(extra or [])})
        await send({"type": "http.response.body", "body": data})

    @staticmethod
    def _security_headers(request_id: str) -> list[tuple[str, str]]:
        return [
            ("x-request-id", request_id),
            ("content-security-policy", PAGE_CSP),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "same-origin"),  # "no-referrer" makes browsers send "Origin: null" on form posts
            ("cross-origin-opener-policy", "same-origin"),
            ("cache-control", "no-store"),
        ]

    @staticmethod
    def _log(
        scope: Scope, headers: dict[str, str], request_id: str, role: str | None, state: dict[str, Any], t0: float
    ) -> None:
        client = scope.get("client")
        record = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "request_id": request_id,
            "client": client[0] if client else None,
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": state["status"],
            "bytes": state["bytes"],
            "ms": round((time.perf_counter() - t0) * 1000, 2),
            "auth": role,
            "user_agent": headers.get("user-agent", "")[:200],
        }
        access_log.info(json.dumps(record))
