"""The service's persistent job queue and its pool of worker processes.

Where the queue lives
---------------------
In its own SQLite file inside the lake, ``LAKE/jobs/queue.sqlite3`` (WAL mode), not in the
DuckDB catalog: DuckDB lets one process at a time open a database file for writing, so
workers polling the queue would keep the catalog locked from the CLI and from each other,
while SQLite takes row-sized write transactions from many processes (a job is claimed in
one ``BEGIN IMMEDIATE`` transaction, so it runs exactly once). The catalog is not changed:
a job's runs are found there by the job process's pid and start time.

Each job has a directory ``LAKE/jobs/ID/``: ``job.log`` (its stdout and stderr),
``progress.jsonl`` (progress events, see :mod:`biolake.lake.progress`) and ``out/`` (its
output files). Job events are JSON lines in ``LAKE/jobs/events.jsonl`` and on the
``biolake.service.jobs`` logger.

Life of a job: ``queued`` → ``running`` → ``succeeded`` | ``failed`` | ``cancelled``.
Jobs survive a server restart: queued ones run when a worker is up again; a worker
stopped gracefully puts its running job back in the queue; a running job whose worker
died is marked ``failed`` with the reason (or queued once more with ``retry``); its process
group is killed first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["JOB_STATUSES", "JobQueue", "JobStore", "job_event", "pid_alive"]

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")

log = logging.getLogger("biolake.service.jobs")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    analysis TEXT NOT NULL,
    params TEXT NOT NULL,
    module TEXT NOT NULL,
    args TEXT NOT NULL,
    aliases TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    task TEXT,
    error TEXT,
    outputs TEXT NOT NULL DEFAULT '[]',
    run_ids TEXT NOT NULL DEFAULT '[]',
    created TEXT NOT NULL,
    started TEXT,
    ended TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    host TEXT,
    worker_pid INTEGER,
    pid INTEGER,
    cancel INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, seq);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def pid_alive(pid: int | None) -> bool:
    """Whether a process of this pid runs on this machine (a zombie counts as dead)."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def kill_group(pid: int | None, sig: int = signal.SIGKILL) -> None:
    """Signal the process group led by ``pid`` (a job runs in its own session)."""
    if not pid or pid <= 0:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class JobStore:
    """The queue file of a lake: submit, list, claim and finish jobs (any process may use it)."""

    def __init__(self, lake_root: str | os.PathLike[str]) -> None:
        self.lake_root = Path(lake_root).resolve()
        self.root = self.lake_root / "jobs"
        self.path = self.root / "queue.sqlite3"
        self.host = os.uname().nodename
        self._ready = False

    # ------------------------------------------------------------- plumbing
    @contextlib.contextmanager
    def _connect(self, *, create: bool = True) -> Iterator[sqlite3.Connection | None]:
        if not self._ready:
            if not self.path.exists() and not create:
                yield None
                return
            self.root.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA busy_timeout = 60000")
            if not self._ready:
                con.execute("PRAGMA journal_mode = WAL")
                con.executescript(_SCHEMA)
                self._ready = True
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con:
            assert con is not None
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def job_dir(self, job_id: str) -> Path:
        """The job's directory (log, progress, outputs)."""
        return self.root / job_id

    def log_path(self, job_id: str) -> Path:
        """The job's log file: its stdout and stderr."""
        return self.job_dir(job_id) / "job.log"

    @staticmethod
    def new_id() -> str:
        """A fresh job id (32 hex digits)."""
        return uuid.uuid4().hex

    # --------------------------------------------------------------- reading
    @staticmethod
    def _dict(row: sqlite3.Row) -> dict[str, Any]:
        d = dict(row)
        run_ids = json.loads(d.pop("run_ids") or "[]")
        return {
            "id": d["id"],
            "analysis": d["analysis"],
            "params": json.loads(d["params"]),
            "status": d["status"],
            "progress": d["progress"],
            "task": d["task"],
            "error": d["error"],
            "outputs": json.loads(d["outputs"] or "[]"),
            "run_id": run_ids[-1] if run_ids else None,
            "run_ids": run_ids,
            "created": d["created"],
            "started": d["started"],
            "ended": d["ended"],
            "attempts": d["attempts"],
            "cancel_requested": bool(d["cancel"]),
        }

    def get(self, job_id: str) -> dict[str, Any] | None:
        """One job as JSON-able fields, or None."""
        with self._connect(create=False) as con:
            if con is None:
                return None
            row = con.execute("SELECT * FROM jobs WHERE id = ?", [job_id]).fetchone()
        return None if row is None else self._dict(row)

    def internal(self, job_id: str) -> dict[str, Any] | None:
        """The job's whole row (pids, arguments) for workers and tests."""
        with self._connect(create=False) as con:
            if con is None:
                return None
            row = con.execute("SELECT * FROM jobs WHERE id = ?", [job_id]).fetchone()
        return None if row is None else dict(row)

    def list(self, *, limit: int = 100, status: str | None = None) -> list[dict[str, Any]]:
        """Jobs, newest first (optionally of one status)."""
        query, params = "SELECT * FROM jobs", []
        if status is not None:
            query += " WHERE status = ?"
            params.append(status)
        with self._connect(create=False) as con:
            if con is None:
                return []
            rows = con.execute(query + " ORDER BY seq DESC LIMIT ?", [*params, int(limit)]).fetchall()
        return [self._dict(r) for r in rows]

    # --------------------------------------------------------------- writing
    def submit(
        self,
        analysis: str,
        params: Mapping[str, Any],
        module: str,
        args: Sequence[str],
        *,
        job_id: str | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Queue a job; its directory is made now. Returns the job.

        ``aliases`` maps server paths in ``args`` to what the client sent (errors show the latter).
        """
        job_id = job_id or self.new_id()
        (self.job_dir(job_id) / "out").mkdir(parents=True, exist_ok=True)
        row = [job_id, analysis, json.dumps(dict(params)), module, json.dumps(list(args)), json.dumps(aliases or {})]
        with self._write() as con:
            con.execute(
                "INSERT INTO jobs (id, analysis, params, module, args, aliases, status, created)"
                " VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)",
                [*row, _now()],
            )
        job_event(self, "job.queued", job_id, analysis=analysis)
        return self.get(job_id) or {}

    def claim(self, worker_pid: int) -> dict[str, Any] | None:
        """Take the oldest queued job for this worker (one transaction: no job is taken twice)."""
        if not self._ready and not self.path.exists():
            return None
        with self._connect() as con:  # a plain read first: idle workers take no write lock
            assert con is not None
            if con.execute("SELECT 1 FROM jobs WHERE status = 'queued' LIMIT 1").fetchone() is None:
                return None
        with self._write() as con:
            row = con.execute("SELECT id FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1").fetchone()
            if row is None:
                return None
            con.execute(
                "UPDATE jobs SET status = 'running', started = ?, worker_pid = ?, host = ?, pid = NULL,"
                " attempts = attempts + 1, progress = 0, task = NULL WHERE id = ?",
                [_now(), worker_pid, self.host, row["id"]],
            )
            job = dict(con.execute("SELECT * FROM jobs WHERE id = ?", [row["id"]]).fetchone())
        return job

    def set_pid(self, job_id: str, pid: int) -> None:
        """Record the pid of the job's process (also its process group)."""
        with self._write() as con:
            con.execute("UPDATE jobs SET pid = ? WHERE id = ?", [pid, job_id])

    def set_progress(self, job_id: str, progress: float, task: str | None) -> None:
        """Record the progress of a running job (0–1) and its current task."""
        with self._write() as con:
            con.execute(
                "UPDATE jobs SET progress = ?, task = ? WHERE id = ? AND status = 'running'",
                [min(max(float(progress), 0.0), 1.0), task, job_id],
            )

    def cancel_requested(self, job_id: str) -> bool:
        """Whether someone asked to cancel the job."""
        with self._connect() as con:
            assert con is not None
            row = con.execute("SELECT cancel FROM jobs WHERE id = ?", [job_id]).fetchone()
        return bool(row and row["cancel"])

    def finish(
        self,
        job_id: str,
        status: str,
        *,
        error: str | None = None,
        outputs: Sequence[str] = (),
        run_ids: Sequence[str] = (),
    ) -> None:
        """Record the end of a running job."""
        assert status in FINISHED
        with self._write() as con:
            con.execute(
                "UPDATE jobs SET status = ?, error = ?, outputs = ?, run_ids = ?, ended = ?,"
                " progress = CASE WHEN ? = 'succeeded' THEN 1 ELSE progress END WHERE id = ?",
                [status, error, json.dumps(list(outputs)), json.dumps(list(run_ids)), _now(), status, job_id],
            )
        job_event(self, f"job.{status}", job_id, error=error, outputs=list(outputs) or None)

    def requeue(self, job_id: str, reason: str) -> None:
        """Put a running job back in the queue (its worker stopped, or a retry)."""
        with self._write() as con:
            con.execute(
                "UPDATE jobs SET status = 'queued', worker_pid = NULL, pid = NULL, progress = 0, task = NULL,"
                " started = NULL WHERE id = ? AND status = 'running'",
                [job_id],
            )
        job_event(self, "job.requeued", job_id, reason=reason)

    def request_cancel(self, job_id: str) -> dict[str, Any] | None:
        """Cancel a job: a queued one at once; a running one is stopped by its worker (flag)."""
        with self._write() as con:
            con.execute("UPDATE jobs SET cancel = 1 WHERE id = ? AND status IN ('queued', 'running')", [job_id])
            changed = con.execute(
                "UPDATE jobs SET status = 'cancelled', ended = ? WHERE id = ? AND status = 'queued'", [_now(), job_id]
            ).rowcount
        if changed:
            job_event(self, "job.cancelled", job_id)
        return self.get(job_id)

    def recover(self, *, retry: bool, alive: Any = pid_alive) -> list[str]:
        """Jobs ``running`` on this machine whose worker is gone: kill their process group, then
        mark them failed (or queue them once more if ``retry`` and they ran only once)."""
        with self._connect(create=False) as con:
            if con is None:
                return []
            rows = con.execute(
                "SELECT id, worker_pid, pid, attempts, cancel FROM jobs WHERE status = 'running' AND host = ?",
                [self.host],
            ).fetchall()
        recovered = []
        for row in rows:
            if alive(row["worker_pid"]):
                continue
            kill_group(row["pid"])
            reason = f"the worker process running the job (pid {row['worker_pid']}) died"
            if row["cancel"]:
                self.finish(row["id"], "cancelled")
            elif retry and row["attempts"] < 2:
                self.requeue(row["id"], reason + "; retrying once")
            else:
                self.finish(row["id"], "failed", error=reason)
            recovered.append(row["id"])
        return recovered


def job_event(store: JobStore, event: str, job_id: str, **fields: Any) -> None:
    """One structured job log line: to ``LAKE/jobs/events.jsonl`` and the ``biolake.service.jobs`` logger."""
    record = {"time": _now(), "event": event, "job": job_id, "pid": os.getpid()}
    record.update({k: v for k, v in fields.items() if v is not None})
    line = json.dumps(record)
    log.info(line)
    with contextlib.suppress(OSError), open(store.root / "events.jsonl", "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


class JobQueue:
    """The pool of worker processes of one server (``biolake serve --workers N``).

    :meth:`start` recovers the jobs of dead workers, then starts ``workers`` processes
    (``python -m biolake.service.worker``); a monitor thread replaces a worker that dies
    (after recovering its job). :meth:`stop` asks the workers to stop (each puts its
    running job back in the queue) and waits for them.

    Parameters
    ----------
    lake_root
        The lake directory.
    workers
        Worker processes (each runs one job at a time).
    retry
        Queue a job once more when its worker died while running it.
    job_memory
        Address-space limit of each job's process, in bytes (``RLIMIT_AS``).
    poll_s
        How often workers look for queued jobs and cancel requests.
    """

    def __init__(
        self,
        lake_root: str | os.PathLike[str],
        *,
        workers: int = 2,
        retry: bool = False,
        job_memory: int | None = None,
        poll_s: float = 0.2,
    ) -> None:
        self.store = JobStore(lake_root)
        self.n_workers = workers
        self.retry = retry
        self.job_memory = job_memory
        self.poll_s = poll_s
        self.procs: list[subprocess.Popen[bytes]] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "biolake.service.worker",
            "--lake",
            str(self.store.lake_root),
            "--poll",
            str(self.poll_s),
        ]
        if self.job_memory:
            command += ["--job-memory", str(int(self.job_memory))]
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        log.info(json.dumps({"time": _now(), "event": "worker.started", "pid": proc.pid}))
        return proc

    def start(self) -> JobQueue:
        """Recover jobs of dead workers and start the pool and its monitor."""
        self.store.recover(retry=self.retry)
        with self._lock:
            self.procs = [self._spawn() for _ in range(self.n_workers)]
        self._monitor = threading.Thread(target=self._watch, name="biolake-job-monitor", daemon=True)
        self._monitor.start()
        return self

    def _watch(self) -> None:
        while not self._stopping.wait(0.25):
            with self._lock:
                for i, proc in enumerate(self.procs):
                    if proc.poll() is None or self._stopping.is_set():
                        continue
                    log.warning(
                        json.dumps({"time": _now(), "event": "worker.died", "pid": proc.pid, "code": proc.returncode})
                    )
                    self.store.recover(retry=self.retry)
                    self.procs[i] = self._spawn()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the workers: SIGTERM (each requeues its running job), then SIGKILL after ``timeout``."""
        self._stopping.set()
        if self._monitor is not None:
            self._monitor.join(timeout=5)
        with self._lock:
            for proc in self.procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for proc in self.procs:
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.store.recover(retry=True)

    def worker_pids(self) -> list[int]:
        """The pids of the current workers."""
        with self._lock:
            return [p.pid for p in self.procs]

    def __enter__(self) -> JobQueue:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
