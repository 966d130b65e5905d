"""Tests of the guard: tokens, read-only tokens, sessions, host/origin checks, headers, errors, logs."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from service_helpers import READ_TOKEN, WRITE_TOKEN, assert_clean_error

import biolake as bl
from biolake.errors import InputError
from biolake.service.app import create_app
from biolake.service.config import ServiceConfig, check_bind, is_loopback
from biolake.service.security import check_token, make_session, read_session

AUTH = {"Authorization": f"Bearer {WRITE_TOKEN}"}
READ_AUTH = {"Authorization": f"Bearer {READ_TOKEN}"}


@pytest.fixture(scope="module")
def secured_ro(template_lake):
    """Like ``secured`` over the shared template lake: only for requests that change nothing."""
    config = ServiceConfig(lake=template_lake, tokens=(WRITE_TOKEN,), read_tokens=(READ_TOKEN,))
    return TestClient(create_app(config), base_url="http://localhost")


@pytest.fixture
def secured(make_client):
    """A client of a service with a read-write and a read-only token (sends no token itself)."""
    return make_client(tokens=(WRITE_TOKEN,), read_tokens=(READ_TOKEN,))


# ------------------------------------------------------------------------------- tokens


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/datasets"),
        ("GET", "/api/datasets/patients"),
        ("GET", "/api/datasets/patients/preview"),
        ("GET", "/api/datasets/patients/download"),
        ("GET", "/api/runs"),
        ("POST", "/api/sql"),
        ("DELETE", "/api/datasets/patients"),
        ("POST", "/api/datasets?name=x"),
        ("GET", "/api/nothing-here"),
    ],
)
def test_auth__api_needs_the_token(secured_ro, method, path):
    response = secured_ro.request(method, path, json={"query": "select 1"} if path == "/api/sql" else None)
    body = assert_clean_error(response, 401)
    assert "patients" not in json.dumps(body)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [f"Bearer {WRITE_TOKEN}x", f"Bearer {WRITE_TOKEN[:-1]}", "Bearer ", f"Basic {WRITE_TOKEN}", WRITE_TOKEN, "Bearer"],
)
def test_auth__wrong_token_is_401(secured_ro, header):
    assert_clean_error(secured_ro.get("/api/datasets", headers={"Authorization": header}), 401)


def test_auth__right_token_is_accepted(secured):
    assert secured.get("/api/datasets", headers=AUTH).status_code == 200
    assert secured.get("/api/datasets", headers=READ_AUTH).status_code == 200
    assert secured.post("/api/sql", json={"query": "select 1"}, headers=READ_AUTH).status_code == 200


def test_auth__read_only_token_cannot_write(secured, lake_dir):
    files = {"file": ("x.csv", b"a\n1\n")}
    assert_clean_error(secured.post("/api/datasets?name=x", files=files, headers=READ_AUTH), 403)
    assert_clean_error(secured.delete("/api/datasets/patients", headers=READ_AUTH), 403)
    assert bl.Lake.open(lake_dir).names() == ["patients"]
    assert secured.post("/api/datasets?name=x", files=files, headers=AUTH).status_code == 201
    assert secured.delete("/api/datasets/x", headers=AUTH).status_code == 200


def test_auth__docs_and_openapi_need_auth(secured):
    assert secured.get("/openapi.json").status_code == 401
    assert secured.get("/openapi.json", headers=AUTH).status_code == 200
    assert secured.get("/docs", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 303


def test_auth__static_assets_and_login_are_public(secured):
    assert secured.get("/static/style.css").status_code == 200
    assert secured.get("/login").status_code == 200


# ---------------------------------------------------------------------------- sessions


def test_auth__pages_redirect_to_login_and_show_no_data(secured):
    response = secured.get("/datasets", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fdatasets"
    assert "patients" not in response.text
    assert_clean_error(secured.get("/datasets"), 401)  # not a browser: 401


def test_auth__login_sets_a_session_cookie_for_pages_only(secured):
    wrong = secured.post("/login", data={"token": "nope" * 5, "next": "/datasets"}, follow_redirects=False)
    assert wrong.status_code == 401
    assert "biolake_session" not in wrong.headers.get("set-cookie", "")
    response = secured.post("/login", data={"token": WRITE_TOKEN, "next": "/datasets"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/datasets"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = secured.get("/datasets")
    assert page.status_code == 200 and "patients" in page.text
    assert_clean_error(secured.get("/api/datasets"), 401)  # the API takes only Bearer tokens
    secured.post("/logout")
    assert secured.get("/datasets").status_code == 401


def test_auth__read_only_session_cannot_write(secured):
    secured.post("/login", data={"token": READ_TOKEN})
    assert secured.get("/datasets").status_code == 200
    assert_clean_error(secured.delete("/datasets/patients"), 403)


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_auth__login_never_redirects_elsewhere(secured, target):
    response = secured.post("/login", data={"token": WRITE_TOKEN, "next": target}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_session__tampered_or_expired_cookies_are_refused():
    config = ServiceConfig(lake="unused", tokens=(WRITE_TOKEN,))
    value = make_session("read", config, now=1000.0)
    assert read_session(value, config, now=1001.0) == "read"
    assert read_session(value.replace("read", "write", 1), config, now=1001.0) is None
    assert read_session(value, config, now=1000.0 + 13 * 3600) is None
    assert read_session(value[:-1] + ("0" if value[-1] != "0" else "1"), config, now=1001.0) is None
    other = ServiceConfig(lake="unused", tokens=(WRITE_TOKEN,))
    assert read_session(value, other, now=1001.0) is None  # another server's secret
    assert read_session("garbage", config) is None


def test_check_token__roles():
    config = ServiceConfig(lake="unused", tokens=(WRITE_TOKEN,), read_tokens=(READ_TOKEN,))
    assert check_token(WRITE_TOKEN, config) == "write"
    assert check_token(READ_TOKEN, config) == "read"
    assert check_token("", config) is None
    assert check_token(WRITE_TOKEN.upper(), config) is None


# ----------------------------------------------------------------------- binding, config


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_check_bind__loopback_needs_no_token(host):
    assert is_loopback(host)
    check_bind(host, ServiceConfig(lake="unused"))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org"])
def test_check_bind__other_addresses_need_a_token(host):
    with pytest.raises(InputError, match="needs a token"):
        check_bind(host, ServiceConfig(lake="unused"))
    check_bind(host, ServiceConfig(lake="unused", tokens=(WRITE_TOKEN,)))


def test_service_config__short_tokens_are_refused():
    with pytest.raises(InputError, match="at least 16"):
        ServiceConfig(lake="unused", tokens=("short",))


# ------------------------------------------------------------------- host and origin


def test_host_header__only_loopback_names_without_token(client):
    assert_clean_error(client.get("/api/datasets", headers={"Host": "evil.example"}), 400)
    assert client.get("/api/datasets", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/api/datasets", headers={"Host": "[::1]:8000"}).status_code == 200


def test_cross_origin_writes_are_refused(client, lake_dir):
    files = {"file": ("x.csv", b"a\n1\n")}
    response = client.post("/api/datasets?name=x", files=files, headers={"Origin": "http://evil.example"})
    assert_clean_error(response, 403)
    assert_clean_error(client.delete("/api/datasets/patients", headers={"Sec-Fetch-Site": "cross-site"}), 403)
    assert bl.Lake.open(lake_dir).names() == ["patients"]
    for origin in ("null", "http://localhost.evil.example", "http://localhost:8000", "file://localhost"):
        assert_clean_error(client.post("/sql", data={"query": "select 1"}, headers={"Origin": origin}), 403)
    same = client.post("/api/datasets?name=x", files=files, headers={"Origin": "http://localhost"})
    assert same.status_code == 201
    behind_tls_proxy = client.post("/sql", data={"query": "select 1"}, headers={"Origin": "https://localhost"})
    assert behind_tls_proxy.status_code == 200


def test_cors__is_off(client):
    response = client.options(
        "/api/datasets",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers
    response = client.get("/api/datasets", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in response.headers


# --------------------------------------------------------------------- headers, errors


@pytest.mark.parametrize("path", ["/", "/datasets", "/datasets/patients", "/runs", "/sql", "/login", "/api/datasets"])
def test_security_headers__on_every_answer(ro_client, path):
    headers = ro_client.get(path).headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";")[0]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert len(headers["x-request-id"]) == 16


def test_errors__unexpected_failure_is_a_short_500_without_details(client, caplog, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret detail /srv/patients.csv")

    monkeypatch.setattr(bl.Lake, "datasets", boom)
    with caplog.at_level(logging.ERROR, logger="biolake.service"):
        response = client.get("/api/datasets")
    body = assert_clean_error(response, 500)
    assert "secret" not in response.text and "RuntimeError" not in response.text
    request_id = response.headers["x-request-id"]
    assert request_id in body["error"]
    assert any(request_id in r.getMessage() and r.exc_info for r in caplog.records)
    page = client.get("/datasets", headers={"Accept": "text/html"})
    assert page.status_code == 500 and "secret" not in page.text


def test_errors__unknown_route_is_json_404(ro_client):
    assert_clean_error(ro_client.get("/api/nothing"), 404)
    assert_clean_error(ro_client.get("/static/../../etc/passwd"), 404)
    assert_clean_error(ro_client.get("/static/swagger/index.html"), 404)


def test_access_log__one_json_line_per_request(ro_client, caplog):
    with caplog.at_level(logging.INFO, logger="biolake.service.access"):
        response = ro_client.get("/api/datasets/patients", headers={"User-Agent": "pytest"})
    [record] = [r for r in caplog.records if r.name == "biolake.service.access"]
    line = json.loads(record.getMessage())
    assert line["method"] == "GET" and line["path"] == "/api/datasets/patients"
    assert line["status"] == 200 and line["bytes"] == len(response.content)
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["user_agent"] == "pytest" and line["ms"] >= 0


def test_websockets__are_refused(client):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/api/datasets") as ws:
        ws.receive_text()
