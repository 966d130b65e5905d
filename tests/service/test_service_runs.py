"""Tests of the run endpoints: list, show, HTML report."""

from __future__ import annotations

import pytest
from service_helpers import assert_clean_error

import biolake as bl


def _only_run_id(template_lake) -> str:
    [run] = bl.Lake.open(template_lake).runs()
    return run.id


def test_list_runs__newest_first(ro_client, template_lake):
    body = ro_client.get("/api/runs").json()
    assert [r["id"] for r in body] == [_only_run_id(template_lake)]
    assert body[0]["command"] == "write_table"
    assert body[0]["outputs"] == ["patients"]


def test_list_runs__limit_is_validated(ro_client):
    assert_clean_error(ro_client.get("/api/runs?limit=0"), 422)


def test_show_run__by_id_and_prefix(ro_client, template_lake):
    run_id = _only_run_id(template_lake)
    assert ro_client.get(f"/api/runs/{run_id}").json()["id"] == run_id
    assert ro_client.get(f"/api/runs/{run_id[:10]}").json()["id"] == run_id


def test_show_run__unknown_is_404(ro_client):
    assert_clean_error(ro_client.get("/api/runs/19990101T000000-deadbeef"), 404)


@pytest.mark.parametrize("run_id", ["%25", "_", "a_b", "%27%20or%201%3D1", "..", "%2e%2e"])
def test_show_run__wildcards_and_traversal_are_refused(ro_client, run_id):
    response = ro_client.get(f"/api/runs/{run_id}")
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.text


def test_run_report__html_sent_sandboxed(ro_client, template_lake):
    run_id = _only_run_id(template_lake)
    response = ro_client.get(f"/api/runs/{run_id}/report")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")
    assert run_id in response.text
    csp = response.headers["content-security-policy"]
    assert csp.startswith("sandbox allow-scripts") and "connect-src 'none'" in csp
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
