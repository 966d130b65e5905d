"""The job API and pages: analyses from the CLI, validation, real jobs run by real worker processes.

The workers run ``python -m biolake …`` per job. ``test.sleep`` is a test hook of
:mod:`biolake.service.worker`, offered only with ``BIOLAKE_SERVICE_TEST_HOOKS=1``.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from scipy.stats import norm
from service_helpers import READ_TOKEN, WRITE_TOKEN, assert_clean_error

import biolake as bl
from biolake.service.app import create_app
from biolake.service.config import ServiceConfig
from biolake.service.jobs import JobStore, pid_alive

# 21 daily counts: 20 ordinary days, then an outbreak day
COUNTS = [3, 4, 5, 6, 7, 3, 4, 5, 6, 7, 3, 4, 5, 6, 7, 3, 4, 5, 6, 7, 40]
CASES_CSV = "date,count\n" + "".join(f"2024-01-{i + 1:02d},{c}\n" for i, c in enumerate(COUNTS))


def wait_for(client: TestClient, job_id: str, statuses: tuple[str, ...], timeout: float = 30.0) -> dict[str, Any]:
    """Poll the job until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    """A service with 2 real worker processes over a fresh lake; data files in an allowed data dir."""
    root = tmp_path_factory.mktemp("jobs")
    data = root / "data"
    data.mkdir()
    (data / "cases.csv").write_text(CASES_CSV)
    (data / "bad.csv").write_text("a,b\n1,2\n3\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BIOLAKE_SERVICE_TEST_HOOKS", "1")
        config = ServiceConfig(lake=root / "lake", workers=2, job_data_dirs=(data,))
        with TestClient(create_app(config), base_url="http://localhost") as client:
            yield client, root / "lake"


def test_list_analyses__derived_from_the_cli(ro_client, monkeypatch):
    monkeypatch.delenv("BIOLAKE_SERVICE_TEST_HOOKS", raising=False)
    body = ro_client.get("/api/analyses").json()
    names = {a["name"] for a in body}
    assert {"ingest.table", "genomics.qc", "genomics.gwas", "publichealth.surveil", "discovery.similar"} <= names
    assert not {n for n in names if n.split(".")[0] in ("serve", "demo", "report", "lake", "runs", "test")}
    assert "precision.pgx-data" not in names  # it rewrites the installed package's tables
    [surveil] = [a for a in body if a["name"] == "publichealth.surveil"]
    props = surveil["params"]["properties"]
    # as in src/biolake/cli/publichealth.py: COUNTS and --out required, --method ears-c1, --baseline 7
    assert sorted(surveil["params"]["required"]) == ["counts", "out"]
    assert props["method"]["default"] == "ears-c1"
    assert (props["baseline"]["type"], props["baseline"]["default"]) == ("integer", 7)
    assert (props["fill_gaps"]["type"], props["fill_gaps"]["default"]) == ("boolean", False)
    assert (props["out"]["x-role"], props["counts"]["x-role"], props["by"]["x-role"]) == ("output", "input", "value")
    assert "lake" not in props and "quiet" not in props and "scheduler" not in props
    assert surveil["params"]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"out": "a.csv"}, "params.counts: Field required"),
        ({"counts": "lake:cases", "out": "a.csv", "baseline": "seven"}, "params.baseline:"),
        ({"counts": "lake:cases", "out": "a.csv", "nope": 1}, "params.nope: Extra inputs are not permitted"),
        ({"counts": "/etc/passwd", "out": "a.csv"}, "params.counts: '/etc/passwd' is outside"),
        ({"counts": "../../../../etc/passwd", "out": "a.csv"}, "params.counts: '../../../../etc/passwd' leads outside"),
        ({"counts": "lake:cases", "out": "../a.csv"}, "params.out: '../a.csv' is not a plain file name"),
        ({"counts": "lake:cases", "out": "/tmp/a.csv"}, "params.out: '/tmp/a.csv' is not a plain file name"),
        ({"counts": "lake:x;y", "out": "a.csv"}, "params.counts: 'lake:x;y' is not a valid lake:NAME"),
        ({"counts": "lake:cases", "out": "a.csv", "by": "/etc/shadow"}, "params.by: '/etc/shadow' leads outside"),
    ],
)
def test_create_job__bad_params_are_422(client, params, where):
    response = client.post("/api/jobs", json={"analysis": "publichealth.surveil", "params": params})
    body = assert_clean_error(response, 422)
    assert where in body["error"]
    assert client.get("/api/jobs").json() == []


def test_create_job__infinite_floats_stay_json(client):
    # genomics de: --min-replicates-for-replace inf turns outlier replacement off (as DESeq2's Inf)
    params = {"counts": "lake:c", "samples": "s.csv", "design": "~ condition", "contrast": "condition,t,c"}
    params |= {"out": "de.csv", "min_replicates_for_replace": "inf"}
    response = client.post("/api/jobs", json={"analysis": "genomics.de", "params": params})
    assert response.status_code == 202, response.text
    assert response.json()["params"]["min_replicates_for_replace"] == "inf"
    [job] = client.get("/api/jobs").json()
    assert job["params"]["design"] == "~ condition"


def test_create_job__unknown_analysis_is_404(client):
    body = assert_clean_error(client.post("/api/jobs", json={"analysis": "lake.rm", "params": {}}), 404)
    assert body["error"].startswith("no analysis named 'lake.rm'")
    assert_clean_error(client.get("/api/jobs/..%2F..%2Fcatalog"), 404)
    assert_clean_error(client.get("/api/jobs/" + "0" * 32), 404)


def test_jobs__token_required(make_client):
    anonymous = make_client(tokens=(WRITE_TOKEN,), read_tokens=(READ_TOKEN,))
    job = {"analysis": "discovery.trial.size", "params": {"out": "n.csv"}}
    assert_clean_error(anonymous.post("/api/jobs", json=job), 401)
    assert_clean_error(anonymous.get("/api/jobs"), 401)
    assert_clean_error(anonymous.get("/api/analyses"), 401)
    reader = make_client(
        tokens=(WRITE_TOKEN,), read_tokens=(READ_TOKEN,), headers={"Authorization": f"Bearer {READ_TOKEN}"}
    )
    assert reader.get("/api/jobs").json() == []
    assert_clean_error(reader.post("/api/jobs", json=job), 403)
    writer = make_client(tokens=(WRITE_TOKEN,), headers={"Authorization": f"Bearer {WRITE_TOKEN}"})
    response = writer.post("/api/jobs", json=job)
    assert response.status_code == 202 and response.json()["status"] == "queued"


def test_jobs__ingest_then_surveil_succeed_with_outputs_in_the_lake(live):
    client, lake_dir = live
    response = client.post(
        "/api/jobs", json={"analysis": "ingest.table", "params": {"file": "cases.csv", "name": "cases"}}
    )
    assert response.status_code == 202
    ingest = wait_for(client, response.json()["id"], ("succeeded", "failed"))
    assert (ingest["status"], ingest["outputs"], ingest["progress"], ingest["error"]) == (
        "succeeded",
        ["cases"],
        1.0,
        None,
    )
    params = {"counts": "lake:cases", "out": "alarms.csv", "method": "ears-c1"}
    job_id = client.post("/api/jobs", json={"analysis": "publichealth.surveil", "params": params}).json()["id"]
    job = wait_for(client, job_id, ("succeeded", "failed"))
    assert job["status"] == "succeeded", client.get(f"/api/jobs/{job_id}/logs").text
    assert job["outputs"] == ["alarms"] and job["params"] == params
    lake = bl.Lake.open(lake_dir)
    assert lake.run_record(job["run_id"]).outputs == ["alarms"]
    alarms = lake.to_pandas("alarms").sort_values("date")
    # EARS C1 by hand: baseline = the 7 days before; bound = mean + z(1 - 0.001) * sd
    last7 = np.array(COUNTS[-8:-1], dtype=float)
    bound = last7.mean() + norm.ppf(0.999) * last7.std(ddof=1)
    final = alarms.iloc[-1]
    assert final["count"] == 40 and bool(final["alarm"])
    assert final["expected"] == pytest.approx(last7.mean(), rel=1e-12)
    assert final["upper_bound"] == pytest.approx(bound, rel=1e-9)
    assert not alarms.iloc[:-1]["alarm"].any()
    files = client.get(f"/api/jobs/{job_id}/files").json()
    assert [f["name"] for f in files] == ["alarms.csv"]
    text = client.get(f"/api/jobs/{job_id}/files/alarms.csv").text
    assert len(pd.read_csv(io.StringIO(text))) == len(alarms)
    assert_clean_error(client.get(f"/api/jobs/{job_id}/files/..%2Fjob.log"), 404)
    events = [json.loads(line) for line in (lake_dir / "jobs" / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events if e["job"] == job_id] == ["job.queued", "job.started", "job.succeeded"]


def test_jobs__bad_input_file_fails_with_the_cli_one_line_error(live):
    client, lake_dir = live
    body = {"analysis": "ingest.table", "params": {"file": "bad.csv", "name": "bad"}}
    job = wait_for(client, client.post("/api/jobs", json=body).json()["id"], ("succeeded", "failed"))
    # the CLI says: error: bad.csv: line 3: expected 2 fields, found 1 (the client's name, not the server path)
    assert job["status"] == "failed"
    assert job["error"] == "bad.csv: line 3: expected 2 fields, found 1"
    log = client.get(f"/api/jobs/{job['id']}/logs").text
    assert log.splitlines() == ["$ biolake ingest table --name bad -- bad.csv", "error: " + job["error"]]
    assert str(lake_dir.parent) not in log  # no server paths
    assert not bl.Lake.open(lake_dir).exists("bad")


def test_jobs__failing_hook_job_reports_its_one_line_error(live):
    client, _ = live
    job_id = client.post(
        "/api/jobs", json={"analysis": "test.sleep", "params": {"seconds": 0, "fail": "column 'x' is missing"}}
    ).json()["id"]
    job = wait_for(client, job_id, ("succeeded", "failed"))
    assert (job["status"], job["error"]) == ("failed", "test: column 'x' is missing")
    log = client.get(f"/api/jobs/{job_id}/logs").text
    assert log.startswith("$ python -m biolake.service.worker test sleep --seconds 0.0 --fail ")
    assert log.splitlines()[-1] == "error: test: column 'x' is missing"


def test_jobs__progress_from_the_jobs_progress_events(live):
    client, _ = live
    job_id = client.post("/api/jobs", json={"analysis": "test.sleep", "params": {"seconds": 1.5, "steps": 5}}).json()[
        "id"
    ]
    seen = set()
    deadline = time.monotonic() + 30
    while (job := client.get(f"/api/jobs/{job_id}").json())["status"] in ("queued", "running"):
        seen.add(job["progress"])
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["status"] == "succeeded" and job["progress"] == 1.0 and job["task"] == "sleeping"
    # the hook reports k/5 done after each of its 5 steps
    between = {p for p in seen if 0 < p < 1}
    assert between and all(round(p * 5, 9) == round(p * 5) for p in between)


def test_cancel_job__running_job_killed_and_cancelled(live):
    client, lake_dir = live
    job_id = client.post("/api/jobs", json={"analysis": "test.sleep", "params": {"seconds": 60}}).json()["id"]
    wait_for(client, job_id, ("running",))
    store = JobStore(lake_dir)
    deadline = time.monotonic() + 10
    while not (pid := store.internal(job_id)["pid"]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert pid_alive(pid)
    response = client.post(f"/api/jobs/{job_id}/cancel")
    assert response.status_code == 202 and response.json()["cancel_requested"] is True
    job = wait_for(client, job_id, ("cancelled", "failed", "succeeded"), timeout=10)
    assert job["status"] == "cancelled"
    assert not pid_alive(pid)
    assert_clean_error(client.post(f"/api/jobs/{job_id}/cancel"), 409)


def test_cancel_job__queued_job_never_runs(client):
    job_id = client.post("/api/jobs", json={"analysis": "discovery.trial.size", "params": {"out": "n.csv"}}).json()[
        "id"
    ]
    response = client.post(f"/api/jobs/{job_id}/cancel")
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert client.get("/api/jobs?status=queued").json() == []


def test_jobs_pages__launch_form_list_and_detail(client):
    form = client.get("/jobs/new?analysis=publichealth.surveil", headers={"Accept": "text/html"})
    assert form.status_code == 200
    for name in ("counts", "out", "method", "baseline", "fill_gaps"):
        assert f'name="{name}"' in form.text
    assert 'id="p-fill_gaps"' in form.text and 'type="checkbox"' in form.text
    assert "<script>" not in form.text and "script-src 'self'" in form.headers["content-security-policy"]
    bad = client.post(
        "/jobs",
        data={"_analysis": "publichealth.surveil", "counts": "lake:cases", "out": "../x.csv"},
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "is not a plain file name" in bad.text
    good = client.post(
        "/jobs",
        data={"_analysis": "publichealth.surveil", "counts": "lake:cases", "out": "a.csv", "baseline": "5", "by": ""},
        follow_redirects=False,
    )
    assert good.status_code == 303
    job_id = good.headers["location"].removeprefix("/jobs/")
    job = client.get(f"/api/jobs/{job_id}").json()
    # unchecked boxes: False for flags whose default is True (the form shows them checked), else left out
    [schema] = [a["params"] for a in client.get("/api/analyses").json() if a["name"] == "publichealth.surveil"]
    on_by_default = {k for k, v in schema["properties"].items() if v.get("type") == "boolean" and v["default"]}
    assert job["params"] == {
        "counts": "lake:cases",
        "out": "a.csv",
        "baseline": 5,
        **dict.fromkeys(on_by_default, False),
    }
    listing = client.get("/jobs", headers={"Accept": "text/html"}).text
    assert f'<a href="/jobs/{job_id}">' in listing and 'data-active="1"' in listing and "/static/jobs.js" in listing
    detail = client.get(f"/jobs/{job_id}", headers={"Accept": "text/html"}).text
    assert 'id="job-status">queued<' in detail and 'id="job-cancel"' in detail
    assert client.get("/static/jobs.js").status_code == 200
