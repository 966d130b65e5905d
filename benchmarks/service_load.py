"""Load and fault test of ``biolake serve``: many clients, many jobs, a ``kill -9`` mid-queue.

``python -m benchmarks service_load [--jobs 1000] [--clients 50] [--workers 2] [--kill server,group] …``

1. Makes a fresh lake under ``benchmarks/work/service_load/`` and starts ``biolake serve``
   on a free loopback port with ``--workers N --retry`` and ``BIOLAKE_SERVICE_TEST_HOOKS=1``,
   which adds the light job ``test.sleep`` (``python -m biolake.service.worker test sleep
   --seconds S``: a real worker process, a real job process, progress reported).
2. ``--clients`` threads, each with its own ``httpx.Client``, submit ``--jobs`` jobs between
   them (``POST /api/jobs``), then poll the status of each of their unfinished jobs
   (``GET /api/jobs/ID``) every ``--poll`` seconds until every one has ended. Every call's
   latency is recorded; a call that gets no answer (the server is down) is counted and
   retried after ``--poll`` seconds.
3. Once every job is submitted and ``--kill-at`` of them have ended, the server is killed
   with SIGKILL: ``--kill server`` kills only the server's process (its workers notice
   the parent is gone, finish the job they hold and exit); ``--kill group`` kills the
   server *and* its workers (their jobs die with them: ``PR_SET_PDEATHSIG``), the harder
   case, where the jobs that were running must be recovered (``--retry``: queued once more).
   After ``--down`` seconds the server is started again on the same lake and port.
4. When every client has seen each of its jobs end, the server is stopped and the queue's
   own records are checked: ``LAKE/jobs/queue.sqlite3`` (one row per job: status,
   attempts) and ``LAKE/jobs/events.jsonl`` (``job.queued``, ``job.started``, one terminal
   event per job). Every submitted id must be in the queue exactly once, have succeeded,
   and have exactly one terminal event; no job the clients did not submit may exist.
5. Writes ``benchmarks/results/service_load.md``: submit throughput, p50/p99 latency of
   submit and status calls, the job throughput and the fault outcome. Exits 1 if a check fails.

The clients are Python threads in one process (the GIL is shared), so the latencies
include some client-side waiting; the server and its workers run in other processes.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks._common import WORK_DIR, fmt_seconds, machine_facts, markdown_table, write_results

NAME = "service_load"
HERE = WORK_DIR / NAME
TERMINAL = ("succeeded", "failed", "cancelled")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``biolake serve`` in its own process group (so ``--kill group`` can reach its workers)."""

    def __init__(self, lake: Path, port: int, workers: int, log: Path) -> None:
        self.lake, self.port, self.workers, self.log = lake, port, workers, log
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts: list[float] = []

    def start(self, timeout: float = 120.0) -> float:
        """Start the server; returns the seconds until it answered."""
        env = {k: v for k, v in os.environ.items() if k != "BIOLAKE_TOKEN"}
        env["BIOLAKE_SERVICE_TEST_HOOKS"] = "1"
        command = [sys.executable, "-m", "biolake", "--lake", str(self.lake), "serve", "--port", str(self.port)]
        command += ["--workers", str(self.workers), "--retry", "--log-level", "warning"]
        t0 = time.perf_counter()
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
                start_new_session=True,
            )
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with code {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(self.base + "/static/style.css", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"the server did not answer within {timeout:.0f} s")
            time.sleep(0.1)
        self.starts.append(time.perf_counter() - t0)
        return self.starts[-1]

    def kill(self, mode: str) -> None:
        """SIGKILL the server (``server``) or its whole process group (``group``)."""
        assert self.proc is not None
        if mode == "group":
            os.killpg(self.proc.pid, signal.SIGKILL)
        else:
            self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        """A graceful stop (SIGTERM; SIGKILL of the group after 30 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@dataclass
class Client:
    """One client thread: its jobs and what its calls measured."""

    index: int
    n_jobs: int
    ids: list[str] = field(default_factory=list)
    submit_s: list[float] = field(default_factory=list)
    status_s: list[float] = field(default_factory=list)
    submit_errors: int = 0
    status_errors: int = 0
    unexpected: list[str] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)
    submitted_at: float = 0.0


def _submit(client: Client, http: httpx.Client, body: dict, poll: float) -> None:
    for _ in range(client.n_jobs):
        while True:
            t0 = time.perf_counter()
            try:
                answer = http.post("/api/jobs", json=body)
            except httpx.TransportError:
                client.submit_errors += 1  # no answer: nothing was queued (the kill comes after the submits)
                time.sleep(poll)
                continue
            client.submit_s.append(time.perf_counter() - t0)
            if answer.status_code != 202:
                client.unexpected.append(f"POST /api/jobs: {answer.status_code} {answer.text[:200]}")
                return
            client.ids.append(answer.json()["id"])
            break
    client.submitted_at = time.perf_counter()


def _poll(client: Client, http: httpx.Client, poll: float, deadline: float) -> None:
    pending = list(client.ids)
    while pending and time.perf_counter() < deadline:
        still = []
        for job_id in pending:
            t0 = time.perf_counter()
            try:
                answer = http.get(f"/api/jobs/{job_id}")
            except httpx.TransportError:
                client.status_errors += 1
                still.append(job_id)
                continue
            client.status_s.append(time.perf_counter() - t0)
            if answer.status_code != 200:
                client.unexpected.append(f"GET /api/jobs/{job_id}: {answer.status_code} {answer.text[:200]}")
                still.append(job_id)
                continue
            status = answer.json()["status"]
            if status in TERMINAL:
                client.seen[job_id] = status
            else:
                still.append(job_id)
        pending = still
        if pending:
            time.sleep(poll)


def _client_thread(client: Client, base: str, body: dict, poll: float, deadline: float, go: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=httpx.Timeout(30.0, connect=5.0)) as http:
        go.wait()
        _submit(client, http, body, poll)
        _poll(client, http, poll, deadline)


def _queue_counts(lake: Path) -> dict[str, int]:
    path = lake / "jobs" / "queue.sqlite3"
    if not path.exists():
        return {}
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return dict(con.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall())
    finally:
        con.close()


def _queue_rows(lake: Path) -> list[dict]:
    con = sqlite3.connect(f"file:{lake / 'jobs' / 'queue.sqlite3'}?mode=ro", uri=True, timeout=30)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT id, status, attempts, created, ended, error FROM jobs")]
    finally:
        con.close()


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value * 1000:.1f} ms"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks service_load", description=__doc__.split("\n")[0])
    p.add_argument("--jobs", type=int, default=1000, help="Jobs submitted in all (default 1000).")
    p.add_argument("--clients", type=int, default=50, help="Concurrent client threads (default 50).")
    p.add_argument("--workers", type=int, default=2, help="serve --workers (default 2).")
    p.add_argument("--seconds", type=float, default=0.0, help="How long each test.sleep job sleeps (default 0).")
    p.add_argument("--poll", type=float, default=1.0, help="Seconds between a client's polling rounds (default 1).")
    p.add_argument(
        "--kill", default="server,group", help="What SIGKILL hits, per scenario: server, group, none (comma-separated)."
    )
    p.add_argument("--kill-at", type=float, default=0.3, help="Kill once this fraction of jobs ended (default 0.3).")
    p.add_argument("--down", type=float, default=2.0, help="Seconds the server stays down (default 2).")
    p.add_argument("--timeout", type=float, default=3600.0, help="Give up after this many seconds (default 3600).")
    p.add_argument("--results", default=None, help="Results file name (default service_load).")
    p.add_argument("--keep", action="store_true", help="Keep the lake under benchmarks/work/service_load/.")
    return p.parse_args(argv)


def _scenario(args: argparse.Namespace, kill: str) -> tuple[list[str], list[tuple[str, bool, object]]]:
    """One run of the load with one kind of fault; returns its markdown sections and its checks."""
    here = HERE / kill
    here.mkdir(parents=True)
    lake, log = here / "lake", here / "server.log"
    subprocess.run(
        [sys.executable, "-m", "biolake", "--lake", str(lake), "lake", "init"], check=True, capture_output=True
    )
    server = Server(lake, _free_port(), args.workers, log)
    first_start = server.start()
    warm = httpx.get(server.base + "/api/analyses", timeout=120)  # builds the analysis registry (not timed)
    assert warm.status_code == 200, warm.text
    print(f"  [{kill}] server up in {first_start:.1f} s on {server.base}", flush=True)

    body = {"analysis": "test.sleep", "params": {"seconds": args.seconds, "steps": 1}}
    share = [args.jobs // args.clients + (i < args.jobs % args.clients) for i in range(args.clients)]
    clients = [Client(i, n) for i, n in enumerate(share)]
    go = threading.Event()
    deadline = time.perf_counter() + args.timeout
    threads = [
        threading.Thread(target=_client_thread, args=(c, server.base, body, args.poll, deadline, go), daemon=True)
        for c in clients
    ]
    for t in threads:
        t.start()
    t_start = time.perf_counter()
    go.set()

    fault: dict[str, object] = {"mode": kill}
    try:
        while any(len(c.ids) < c.n_jobs and not c.unexpected for c in clients):  # submit phase
            time.sleep(0.05)
        t_submitted = max(c.submitted_at for c in clients if c.submitted_at) if clients else t_start
        print(f"  {sum(len(c.ids) for c in clients)} jobs submitted in {t_submitted - t_start:.1f} s", flush=True)
        if kill != "none":
            while time.perf_counter() < deadline:
                counts = _queue_counts(lake)
                if sum(counts.get(s, 0) for s in TERMINAL) >= args.kill_at * args.jobs:
                    break
                time.sleep(0.2)
            fault["before"] = _queue_counts(lake)
            fault["killed_after_s"] = time.perf_counter() - t_start
            server.kill(kill)
            print(f"  SIGKILL ({kill}) with the queue at {fault['before']}", flush=True)
            time.sleep(args.down)
            fault["restart_s"] = server.start()
            fault["after_restart"] = _queue_counts(lake)
            print(f"  restarted in {fault['restart_s']:.1f} s: {fault['after_restart']}", flush=True)
        for t in threads:
            t.join(timeout=max(1.0, deadline - time.perf_counter()))
        t_end = time.perf_counter()
    finally:
        server.stop()
    time.sleep(1.0)  # workers orphaned by a server-only kill finish their job and exit

    # ---------------------------------------------------------------- checks on the queue's records
    submitted = [i for c in clients for i in c.ids]
    rows = {r["id"]: r for r in _queue_rows(lake)}
    events = [json.loads(line) for line in (lake / "jobs" / "events.jsonl").read_text().splitlines() if line]
    by_job: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for e in events:
        by_job[e["job"]][e["event"]] += 1
    terminal_events = {j: sum(c[f"job.{s}"] for s in TERMINAL) for j, c in by_job.items()}
    statuses = collections.Counter(rows[i]["status"] for i in submitted if i in rows)
    attempts = collections.Counter(rows[i]["attempts"] for i in submitted if i in rows)
    starts = collections.Counter(by_job[i]["job.started"] for i in submitted)
    requeued = sum(by_job[i]["job.requeued"] for i in submitted)
    seen_by_clients = sum(len(c.seen) for c in clients)
    checks = [
        ("every client submitted its jobs", len(submitted) == args.jobs, f"{len(submitted)} of {args.jobs}"),
        ("submitted ids are distinct", len(set(submitted)) == len(submitted), f"{len(set(submitted))} distinct"),
        ("every submitted job is in the queue (none lost)", all(i in rows for i in submitted), f"{len(rows)} rows"),
        (
            "no job in the queue that no client submitted",
            set(rows) <= set(submitted),
            f"{len(set(rows) - set(submitted))}",
        ),
        ("every job succeeded", statuses.get("succeeded", 0) == len(submitted), dict(statuses)),
        (
            "exactly one terminal event per job (finished exactly once)",
            all(terminal_events.get(i, 0) == 1 for i in submitted),
            dict(collections.Counter(terminal_events.get(i, 0) for i in submitted)),
        ),
        ("every client saw each of its jobs end", seen_by_clients == len(submitted), f"{seen_by_clients}"),
        (
            "no unexpected answer",
            not any(c.unexpected for c in clients),
            [u for c in clients for u in c.unexpected][:3],
        ),
        ("no traceback in the server log", "Traceback" not in log.read_text(errors="replace"), str(log.name)),
    ]
    for label, ok, detail in checks:
        print(f"  [{kill}] {'ok ' if ok else 'FAIL'} {label}: {detail}", flush=True)

    submit_s = [s for c in clients for s in c.submit_s]
    status_s = [s for c in clients for s in c.status_s]
    submit_wall = t_submitted - t_start
    ended = [rows[i]["ended"] for i in submitted if i in rows and rows[i]["ended"]]
    created = [rows[i]["created"] for i in submitted if i in rows]
    from datetime import datetime

    job_span = (
        (datetime.fromisoformat(max(ended)) - datetime.fromisoformat(min(created))).total_seconds() if ended else None
    )
    title = {"server": "SIGKILL of the server process", "group": "SIGKILL of the server and its workers"}
    body_md = [
        f"## {title.get(kill, 'No fault')}",
        "### Throughput and latency",
        markdown_table(
            ["measure", "value"],
            [
                ("submit phase", f"{len(submit_s)} submits in {fmt_seconds(submit_wall)}"),
                ("submit throughput", f"{len(submit_s) / submit_wall:.0f} jobs/s" if submit_wall > 0 else "–"),
                ("submit latency p50 / p99", f"{_ms(_pct(submit_s, 0.5))} / {_ms(_pct(submit_s, 0.99))}"),
                ("status calls answered", f"{len(status_s)}"),
                ("status latency p50 / p99", f"{_ms(_pct(status_s, 0.5))} / {_ms(_pct(status_s, 0.99))}"),
                ("calls without an answer (server down)", f"{sum(c.status_errors + c.submit_errors for c in clients)}"),
                ("first job created → last job ended", fmt_seconds(job_span)),
                ("jobs run per second", f"{len(ended) / job_span:.2f}" if job_span else "–"),
                ("whole run (clients)", fmt_seconds(t_end - t_start)),
                ("server start (first)", fmt_seconds(first_start)),
            ],
            align="lr",
        ),
        "### Fault",
    ]
    if kill == "none":
        body_md.append("No fault injected (`--kill none`).")
    else:
        body_md.append(
            markdown_table(
                ["measure", "value"],
                [
                    ("SIGKILL hit", "the server process only" if kill == "server" else "the server and its workers"),
                    ("killed after", fmt_seconds(fault["killed_after_s"])),  # type: ignore[arg-type]
                    ("queue at the kill", json.dumps(fault["before"])),
                    ("server down for", fmt_seconds(args.down)),
                    ("restart until it answered", fmt_seconds(fault["restart_s"])),  # type: ignore[arg-type]
                    ("queue right after the restart", json.dumps(fault["after_restart"])),
                    ("final statuses of the submitted jobs", json.dumps(dict(statuses))),
                    ("attempts per job (count of jobs)", json.dumps(dict(sorted(attempts.items())))),
                    ("`job.started` events per job (count of jobs)", json.dumps(dict(sorted(starts.items())))),
                    ("`job.requeued` events", str(requeued)),
                ],
                align="lr",
            )
        )
    body_md += [
        "### Checks (from `LAKE/jobs/queue.sqlite3` and `LAKE/jobs/events.jsonl`)",
        markdown_table(
            ["check", "result", "detail"],
            [(label, "ok" if ok else "FAIL", str(detail)) for label, ok, detail in checks],
            align="lll",
        ),
    ]
    return body_md, checks


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    kills = [k.strip() for k in args.kill.split(",") if k.strip()]
    if args.jobs < 1 or args.clients < 1 or args.workers < 1:
        print("error: --jobs, --clients and --workers must be >= 1", file=sys.stderr)
        return 2
    if not kills or any(k not in ("server", "group", "none") for k in kills):
        print(f"error: --kill takes server, group or none (comma-separated); got {args.kill!r}", file=sys.stderr)
        return 2
    shutil.rmtree(HERE, ignore_errors=True)
    HERE.mkdir(parents=True)
    reduced = " (reduced size)" if args.jobs < 1000 or args.clients < 50 else ""
    body_md = [
        f"`python -m benchmarks service_load --jobs {args.jobs} --clients {args.clients} --workers {args.workers} "
        f"--kill {','.join(kills)} --kill-at {args.kill_at} --poll {args.poll}`{reduced}",
        f"Per scenario: {args.jobs} jobs, {args.clients} clients, {args.workers} workers, a fresh lake. Each job is "
        f"the test hook `test.sleep --seconds {args.seconds:g} --steps 1` (its worker starts `python -m "
        "biolake.service.worker test sleep` for it, so a job costs one Python process start). Clients are threads "
        "with one `httpx.Client` each, submitting all their jobs, then polling each unfinished one every "
        f"{args.poll:g} s; the server is `biolake serve --retry` on loopback, warmed by one `GET /api/analyses` "
        f"before the clock starts. The server is killed once every job is submitted and {args.kill_at:.0%} of them "
        f"have ended, and started again {args.down:g} s later on the same lake and port.",
    ]
    all_checks = []
    for kill in kills:
        section, checks = _scenario(args, kill)
        body_md += section
        all_checks += checks
    facts = machine_facts(("biolake", "fastapi", "uvicorn", "httpx"))
    path = write_results(args.results or NAME, "Service load and fault test", "\n\n".join(body_md), facts)
    print(f"  wrote {path}", flush=True)
    if not args.keep:
        shutil.rmtree(HERE, ignore_errors=True)
    return 0 if all(ok for _, ok, _ in all_checks) else 1


if __name__ == "__main__":
    sys.exit(main())
