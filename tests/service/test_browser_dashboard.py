"""The dashboard in a real browser: Playwright (the ``playwright`` Python package, whose wheel
ships its own driver) drives Debian's Chromium headless (``/usr/bin/chromium``, installed by
``.ci/run``; never ``playwright install``) against ``biolake serve`` under uvicorn on loopback.

One scenario, as an analyst would go: log in with the token, see the dashboard, upload a
table, launch EARS C1 on it from the launch form, watch the job finish on its live page,
open its run and see the report's plot drawn, and read the alarm in the result table.
Screenshots go to ``$BIOLAKE_TEST_ARTIFACTS`` (if set) or the test's ``tmp_path``.

The dashboard has no upload form (the datasets page lists, filters and previews); the
upload is the API's ``POST /api/datasets`` sent through the browser context's request
client (same cookie jar), and the datasets page must then show the table.

Expected alarm values by hand (R ``surveillance::earsC(method = "C1", baseline = 7,
alpha = 0.001)``): the statistic of day t compares its count with the mean and standard
deviation of the 7 days before it; upper bound = mean + qnorm(1 - alpha) * sd.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import NormalDist, mean, stdev

import httpx
import pytest
from service_helpers import WRITE_TOKEN

import biolake as bl

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
COUNTS = [3, 4, 5, 6, 7, 3, 4, 5, 40, 4, 5, 6, 30, 5]
START = dt.date(2024, 1, 1)

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium (/usr/bin/chromium) is not installed")


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


def artifacts_dir(tmp_path: Path) -> Path:
    """Where screenshots go: ``$BIOLAKE_TEST_ARTIFACTS`` if set, else the test's tmp_path."""
    root = Path(os.environ.get("BIOLAKE_TEST_ARTIFACTS") or tmp_path / "artifacts")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _ears_c1_by_hand(counts: list[int], *, baseline: int = 7, alpha: float = 0.001) -> dict[int, tuple[float, bool]]:
    """Day index → (upper bound, alarm), EARS C1 computed from its definition."""
    z = NormalDist().inv_cdf(1 - alpha)
    out = {}
    for t in range(baseline, len(counts)):
        window = counts[t - baseline : t]
        upper = mean(window) + z * stdev(window)
        out[t] = (upper, counts[t] > upper)
    return out


def test_dashboard__login_upload_launch_watch_and_plot_in_chromium(tmp_path):
    lake_dir = tmp_path / "lake"
    bl.Lake.open(lake_dir)
    shots = artifacts_dir(tmp_path)
    log = tmp_path / "server.log"
    csv = "date,count\n" + "".join(f"{START + dt.timedelta(days=i)},{c}\n" for i, c in enumerate(COUNTS))
    expected = _ears_c1_by_hand(COUNTS)
    [alarm_day] = [t for t, (_, alarm) in expected.items() if alarm]
    assert alarm_day == 8  # the 40 on 2024-01-09; the 30 on 2024-01-13 stays under its wide bound

    with _server(lake_dir, log, "--token", WRITE_TOKEN, "--workers", "1") as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
            context.set_default_timeout(30_000)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            # without a session the dashboard sends the browser to the login page, showing no data
            page.goto("/")
            assert page.url.startswith(base + "/login")
            assert page.locator("input[name=token]").is_visible()
            page.screenshot(path=shots / "01-login.png")
            page.fill("input[name=token]", "not-the-token")
            page.click("form.login button[type=submit]")
            assert page.locator("p.error").inner_text() == "That token is not valid."
            page.fill("input[name=token]", WRITE_TOKEN)
            page.click("form.login button[type=submit]")
            page.wait_for_url(base + "/")
            assert page.locator("h1").inner_text() == f"Lake {lake_dir.name}"
            page.screenshot(path=shots / "02-dashboard-empty.png", full_page=True)

            # upload through the browser's request client, then find the table on the datasets page
            auth = {"Authorization": f"Bearer {WRITE_TOKEN}"}
            upload = {"file": {"name": "cases.csv", "mimeType": "text/csv", "buffer": csv.encode()}}
            created = context.request.post("/api/datasets?name=cases", multipart=upload, headers=auth)
            assert created.status == 201, created.text()
            page.goto("/datasets")
            page.fill("input[name=q]", "cas")
            page.click("form.search button[type=submit]")
            page.wait_for_url("**/datasets?q=cas")
            page.click("#datasets a[href='/datasets/cases']")
            page.wait_for_url("**/datasets/cases")
            assert page.locator("#preview tbody tr").count() == len(COUNTS)
            page.screenshot(path=shots / "03-dataset.png", full_page=True)

            # launch EARS C1 from the form generated from the analysis's parameter schema
            page.goto("/jobs/new?analysis=publichealth.surveil")
            page.fill("#p-counts", "lake:cases")
            page.fill("#p-out", "alarms.csv")
            page.fill("#p-method", "ears-c1")  # a text field: the CLI option is a str
            page.screenshot(path=shots / "04-launch-form.png", full_page=True)
            page.click("#job-submit")
            page.wait_for_url("**/jobs/*")
            job_id = page.url.rsplit("/", 1)[1]
            assert len(job_id) == 32
            # a job process takes seconds to start: the page opens on a job not yet ended
            assert page.locator("#job-status").inner_text() in ("queued", "running")

            # the page's script re-fetches the live part until the job ends
            page.wait_for_function(
                "() => ['succeeded', 'failed', 'cancelled'].includes("
                "(document.getElementById('job-status') || {}).textContent)",
                timeout=60_000,
            )
            status = page.locator("#job-status").inner_text()
            page.screenshot(path=shots / "05-job-finished.png", full_page=True)
            assert status == "succeeded", page.locator("#job-log").inner_text()
            assert page.locator("#job a[href='/datasets/alarms']").inner_text() == "alarms"

            # its run: the report in a sandboxed frame draws its Vega charts
            page.click("#job a[href^='/runs/']:not([target])")
            page.wait_for_url("**/runs/*")
            report = page.frame_locator("iframe.report")
            chart = report.locator(".vega-embed svg").first  # the reports draw with Vega's SVG renderer
            chart.wait_for(state="visible", timeout=45_000)
            box = chart.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50
            assert chart.locator("g.role-mark").count() > 0  # marks were drawn, not only axes
            page.screenshot(path=shots / "06-run-page.png")
            chart.scroll_into_view_if_needed()
            chart.screenshot(path=shots / "07-run-plot.png")

            # the result table on its dataset page: the alarm is the one computed by hand
            page.goto("/datasets/alarms")
            header = [h.strip() for h in page.locator("#preview thead th").all_inner_texts()]
            rows = [
                dict(zip(header, (c.strip() for c in r.locator("td").all_inner_texts()), strict=True))
                for r in page.locator("#preview tbody tr").all()
            ]
            assert len(rows) == len(expected)
            for row in rows:
                t = (dt.date.fromisoformat(row["date"][:10]) - START).days
                upper, alarm = expected[t]
                assert float(row["upper_bound"]) == pytest.approx(upper, rel=1e-6)
                assert row["alarm"].lower() == str(alarm).lower()
            page.screenshot(path=shots / "08-alarms.png", full_page=True)
            assert errors == []
        finally:
            browser.close()
    text = log.read_text()
    assert "Traceback" not in text
    assert sorted(p.name for p in shots.glob("*.png"))[:8] == [
        "01-login.png",
        "02-dashboard-empty.png",
        "03-dataset.png",
        "04-launch-form.png",
        "05-job-finished.png",
        "06-run-page.png",
        "07-run-plot.png",
        "08-alarms.png",
    ]


def screenshot_dashboard(lake_dir: Path, out: Path) -> Path:
    """Save a screenshot of the dashboard home of ``lake_dir`` (how docs/img/dashboard.png is made)."""
    from playwright.sync_api import sync_playwright

    with _server(lake_dir, out.with_suffix(".server.log"), "--workers", "0") as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800}).new_page()
            page.goto("/")
            page.screenshot(path=out)
        finally:
            browser.close()
    out.with_suffix(".server.log").unlink(missing_ok=True)
    return out


if __name__ == "__main__":  # python tests/service/test_browser_dashboard.py demo-lake docs/img/dashboard.png
    print(screenshot_dashboard(Path(sys.argv[1]), Path(sys.argv[2])))
