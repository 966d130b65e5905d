"""The real server: ``biolake serve`` under uvicorn in a subprocess, and a headless browser."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from service_helpers import WRITE_TOKEN

from biolake.cli import main


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _server(lake_dir: Path, log: Path, *args: str) -> Iterator[str]:
    """``biolake serve`` on a free loopback port; yields its base URL; stops it after."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "BIOLAKE_TOKEN"}
    command = [sys.executable, "-m", "biolake", "--lake", str(lake_dir), "serve", "--port", str(port), *args]
    with open(log, "wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                httpx.get(base + "/static/style.css", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve__real_server_with_a_token(lake_dir, tmp_path):
    log = tmp_path / "server.log"
    with _server(lake_dir, log, "--token", WRITE_TOKEN) as base:
        auth = {"Authorization": f"Bearer {WRITE_TOKEN}"}
        assert httpx.get(base + "/api/datasets").status_code == 401
        [entry] = httpx.get(base + "/api/datasets", headers=auth).json()
        assert entry["name"] == "patients"
        files = {"file": ("doses.csv", b"drug,dose\nA,1.5\nB,2\n")}
        created = httpx.post(base + "/api/datasets?name=doses", files=files, headers=auth)
        assert created.status_code == 201, created.text
        bad = httpx.post(base + "/api/datasets?name=bad", files={"file": ("b.csv", b"x,y\n1\n")}, headers=auth)
        assert bad.status_code == 422 and bad.json()["error"].startswith("b.csv: line 2:")
        answer = httpx.post(base + "/api/sql", json={"query": "select sum(dose) as s from doses"}, headers=auth)
        assert answer.json()["rows"] == [[3.5]]
        refused = httpx.post(base + "/api/sql", json={"query": "select * from read_csv('/etc/passwd')"}, headers=auth)
        assert refused.status_code == 403
        docs = httpx.get(base + "/docs", headers=auth)
        assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text
        assert "server" not in {k.lower() for k in docs.headers}
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert {(line["method"], line["path"], line["status"]) for line in lines} >= {
        ("GET", "/api/datasets", 401),
        ("POST", "/api/datasets", 201),
        ("POST", "/api/sql", 403),
    }
    assert "Traceback" not in log.read_text()


def test_serve__beyond_loopback_without_a_token_exits_2(lake_dir, monkeypatch, capsys):
    monkeypatch.delenv("BIOLAKE_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["--lake", str(lake_dir), "serve", "--host", "0.0.0.0"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().startswith("error: --host: listening on 0.0.0.0")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _dump_dom(url: str, profile: Path, *, wait_ms: int = 0) -> str:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *([f"--virtual-time-budget={wait_ms}"] if wait_ms else []),
        "--dump-dom",
        url,
    ]
    done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    return done.stdout.decode("utf-8", "replace")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_serve__headless_chromium_renders_pages_and_docs(lake_dir, tmp_path):
    with _server(lake_dir, tmp_path / "server.log") as base:
        dom = _dump_dom(base + "/datasets", tmp_path / "profile")
        assert '<table class="data" id="datasets">' in dom
        assert '<a href="/datasets/patients">patients</a>' in dom
        docs = _dump_dom(base + "/docs", tmp_path / "profile", wait_ms=10_000)
        assert "/api/datasets/{name}/preview" in docs  # Swagger UI ran and drew the operations
