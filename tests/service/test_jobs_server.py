"""``biolake serve --workers …`` for real (uvicorn in a subprocess): jobs run, the jobs page refreshes
itself in headless Chromium (its script runs under the page CSP), and a stopped server requeues."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import httpx

import biolake as bl
from biolake.service.jobs import JobStore, pid_alive


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return value


def test_serve__live_jobs_page_and_a_stopped_server_requeues_the_running_job(tmp_path):
    lake_dir, data = tmp_path / "lake", tmp_path / "data"
    bl.Lake.open(lake_dir)
    data.mkdir()
    port = _free_port()
    env = {**os.environ, "BIOLAKE_SERVICE_TEST_HOOKS": "1"}
    env.pop("BIOLAKE_TOKEN", None)
    command = [sys.executable, "-m", "biolake", "--lake", str(lake_dir), "serve", "--port", str(port)]
    command += ["--workers", "1", "--job-memory", "2G", "--data-dir", str(data)]
    log = tmp_path / "server.log"
    with open(log, "wb") as err:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
    base = f"http://127.0.0.1:{port}"
    store = JobStore(lake_dir)
    try:

        def up() -> bool:
            assert server.poll() is None, log.read_text()
            try:
                return httpx.get(base + "/static/style.css", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        _wait(up, timeout=60)
        slow = {"analysis": "test.sleep", "params": {"seconds": 60}}
        response = httpx.post(base + "/api/jobs", json=slow)
        assert response.status_code == 202
        second = response.json()["id"]
        row = _wait(lambda: (r := store.internal(second)) and r["pid"] and r)
        if CHROMIUM:  # the page's script re-fetches the live table while a job runs
            _chromium_dump(base + "/jobs", tmp_path / "profile")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    # the worker stopped the running job and put it back in the queue; nothing is left running
    job = store.get(second)
    assert (job["status"], job["attempts"]) == ("queued", 1)
    assert not pid_alive(row["pid"]) and not pid_alive(row["worker_pid"])
    events = [json.loads(line) for line in (lake_dir / "jobs" / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events if e["job"] == second] == ["job.queued", "job.started", "job.requeued"]
    assert "Traceback" not in log.read_text()
    if CHROMIUM:
        pages = [
            json.loads(line) for line in log.read_text().splitlines() if line.startswith("{") and '"/jobs"' in line
        ]
        chrome = [p for p in pages if "HeadlessChrome" in p["user_agent"] and p["status"] == 200]
        assert len(chrome) >= 2 and min(p["bytes"] for p in chrome[1:]) < chrome[0]["bytes"]  # page, then fragments


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium_dump(url: str, profile) -> str:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    dom = done.stdout.decode("utf-8", "replace")
    assert 'id="jobs-live"' in dom
    return dom
