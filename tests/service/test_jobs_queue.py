"""The persistent job queue: restart, dead workers (failed or retried), the memory cap, error lines.

Jobs here are the ``test.sleep`` hook of :mod:`biolake.service.worker` (on only with
``BIOLAKE_SERVICE_TEST_HOOKS=1``): a light process that sleeps, may allocate memory or fail.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from biolake.cli.serve import parse_memory
from biolake.service.app import create_app
from biolake.service.config import ServiceConfig
from biolake.service.jobs import JobQueue, JobStore, pid_alive
from biolake.service.worker import error_line


@pytest.fixture(autouse=True)
def _hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOLAKE_SERVICE_TEST_HOOKS", "1")


def _submit(client: TestClient, **params: Any) -> str:
    response = client.post("/api/jobs", json={"analysis": "test.sleep", "params": params})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def test_job_queue__queued_jobs_survive_a_restart(tmp_path):
    lake = tmp_path / "lake"
    client = TestClient(create_app(ServiceConfig(lake=lake)), base_url="http://localhost")  # no workers
    first, second = _submit(client, seconds=0), _submit(client, seconds=0)
    assert [j["status"] for j in client.get("/api/jobs").json()] == ["queued", "queued"]
    del client  # "the server stops"; a new queue over the same lake runs what was queued, oldest first
    store = JobStore(lake)
    with JobQueue(lake, workers=1, poll_s=0.05):
        _until(lambda: store.get(second)["status"] == "succeeded")
    jobs = {j: store.get(j) for j in (first, second)}
    assert all(j["status"] == "succeeded" and j["attempts"] == 1 for j in jobs.values())
    assert jobs[first]["started"] < jobs[second]["started"]


def test_job_queue__dead_worker_fails_its_job(tmp_path):
    lake = tmp_path / "lake"
    client = TestClient(create_app(ServiceConfig(lake=lake)), base_url="http://localhost")
    job_id = _submit(client, seconds=60)
    store = JobStore(lake)
    with JobQueue(lake, workers=1, poll_s=0.05) as queue:
        row = _until(lambda: (r := store.internal(job_id)) and r["pid"] and r)
        os.kill(row["worker_pid"], signal.SIGKILL)
        job = _until(lambda: (j := store.get(job_id))["status"] != "running" and j)
        assert job["status"] == "failed"
        assert job["error"] == f"the worker process running the job (pid {row['worker_pid']}) died"
        _until(lambda: not pid_alive(row["pid"]), timeout=10)  # the job's process went with it
        assert queue.worker_pids()[0] != row["worker_pid"]  # a new worker took its place
        after = _submit(client, seconds=0)
        _until(lambda: store.get(after)["status"] == "succeeded")


def test_job_queue__dead_worker_with_retry_runs_the_job_again(tmp_path):
    lake = tmp_path / "lake"
    client = TestClient(create_app(ServiceConfig(lake=lake)), base_url="http://localhost")
    job_id = _submit(client, seconds=1.0)
    store = JobStore(lake)
    with JobQueue(lake, workers=1, retry=True, poll_s=0.05):
        row = _until(lambda: (r := store.internal(job_id)) and r["pid"] and r)
        os.kill(row["worker_pid"], signal.SIGKILL)
        job = _until(lambda: (j := store.get(job_id))["status"] in ("succeeded", "failed") and j)
    assert (job["status"], job["attempts"], job["error"]) == ("succeeded", 2, None)


def test_job_queue__running_job_of_a_killed_server_is_failed_on_restart(tmp_path):
    lake = tmp_path / "lake"
    store = JobStore(lake)
    job_id = store.submit("test.sleep", {}, "biolake.service.worker", ["test", "sleep"])["id"]
    dead = 2**22 + 12345  # above the default pid_max: no such process
    assert store.claim(dead)["id"] == job_id
    with JobQueue(lake, workers=1, poll_s=0.05):
        job = store.get(job_id)
    assert (job["status"], job["error"]) == ("failed", f"the worker process running the job (pid {dead}) died")


def test_job_queue__memory_cap_fails_the_job_clearly(tmp_path):
    lake = tmp_path / "lake"
    client = TestClient(create_app(ServiceConfig(lake=lake)), base_url="http://localhost")
    big = _submit(client, seconds=0, allocate_mb=1024)
    store = JobStore(lake)
    with JobQueue(lake, workers=1, job_memory=parse_memory("512M"), poll_s=0.05):
        job = _until(lambda: (j := store.get(big))["status"] in ("succeeded", "failed") and j)
    assert job["status"] == "failed"
    assert job["error"].startswith("the job ran out of memory: it may use at most 512M (serve --job-memory)")
    assert "MemoryError" in job["error"]


def test_error_line__server_paths_shown_as_given():
    job_dir = Path("/lake/jobs/abc")
    log = "some output\nerror: /srv/data/x.csv: line 3: bad\n"
    line = error_line(log, job_dir=job_dir, memory=None, returncode=2, aliases={"/srv/data/x.csv": "x.csv"})
    assert line == "x.csv: line 3: bad"
    assert (
        error_line("", job_dir=job_dir, memory=None, returncode=-9) == "the job's process was killed by signal SIGKILL"
    )
    assert error_line("boom\n", job_dir=job_dir, memory=None, returncode=1) == "boom"


@pytest.mark.parametrize(("text", "expected"), [("4G", 4 << 30), ("512M", 512 << 20), ("1.5GB", 3 << 29), ("100", 100)])
def test_parse_memory__sizes(text, expected):
    assert parse_memory(text) == expected


def test_parse_memory__bad_size_is_an_input_error():
    from biolake.errors import InputError

    with pytest.raises(InputError, match="--job-memory: expected a size such as 4G"):
        parse_memory("lots")
