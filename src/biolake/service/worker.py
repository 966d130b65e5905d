"""A job worker process: ``python -m biolake.service.worker --lake DIR [--job-memory BYTES]``.

Started by :class:`biolake.service.jobs.JobQueue` (``biolake serve --workers N``). It loops:
claim the oldest queued job, run it, record how it ended. A job runs as its own process —
the CLI, ``python -m biolake --lake DIR --quiet AREA COMMAND …`` — in a new session (so
cancelling kills its whole process group), with the job's directory as working
directory, stdout and stderr appended to ``LAKE/jobs/ID/job.log`` (after a ``$ biolake …``
line showing the command as the client gave it), an address-space limit
(``RLIMIT_AS``) when ``--job-memory`` is given, and ``BIOLAKE_PROGRESS_FILE`` set so its
progress bars become JSON lines the worker turns into the job's progress.

How a job ends:

* exit 0 → ``succeeded``; its outputs are the datasets of the runs the job's process
  recorded in the catalog (found by pid and start time);
* a cancel request → the process group gets SIGTERM, then SIGKILL after 3 s → ``cancelled``;
* any other exit → ``failed`` with the CLI's one-line error (its last ``error: …`` line,
  without the prefix; the job directory's path is shown as ``.``), or, past the memory
  limit, ``the job ran out of memory …``, or ``killed by signal …``.

On SIGTERM the worker stops its running job and puts it back in the queue, then exits;
it also exits when its parent (the server) is gone, after its current job.

``python -m biolake.service.worker test sleep …`` is a test hook (:data:`test_app`), run
only when ``BIOLAKE_SERVICE_TEST_HOOKS=1``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from biolake.service.jobs import JobStore, job_event, kill_group

__all__ = ["Worker", "main", "test_app"]

_CANCEL_GRACE_S = 3.0
_MEMORY_SIGNS = re.compile(r"MemoryError|Cannot allocate memory|bad_alloc|out of memory|failed to allocate", re.I)

test_app = typer.Typer(help="Test hooks of the job service (only with BIOLAKE_SERVICE_TEST_HOOKS=1).")


@test_app.callback()
def _test_hooks() -> None:
    """Test hooks of the job service (a group, so each hook is ``test.NAME``)."""


@test_app.command("sleep")
def sleep_command(
    seconds: Annotated[float, typer.Option(min=0, max=120, help="How long to run.")] = 1.0,
    steps: Annotated[int, typer.Option(min=1, max=1000, help="Progress updates.")] = 10,
    allocate_mb: Annotated[int, typer.Option(min=0, help="Allocate and touch this many MiB first.")] = 0,
    fail: Annotated[str | None, typer.Option(help="End with this one-line error (exit 2).")] = None,
) -> None:
    """Sleep, reporting progress; optionally allocate memory or fail (a test hook)."""
    from biolake.errors import InputError
    from biolake.lake.progress import get_progress

    if allocate_mb:
        block = bytearray(allocate_mb << 20)
        block[:: 1 << 12] = b"x" * len(block[:: 1 << 12])
    with get_progress(quiet=True).task("sleeping", total=steps) as task:
        for i in range(steps):
            time.sleep(seconds / steps)
            task.update(i + 1)
    if fail:
        raise InputError(fail, file="test")


def _run_test_hooks(argv: list[str]) -> None:
    from biolake.errors import InputError

    if os.environ.get("BIOLAKE_SERVICE_TEST_HOOKS") != "1":
        sys.stderr.write("error: the test hooks are off (set BIOLAKE_SERVICE_TEST_HOOKS=1)\n")
        sys.exit(2)
    command = typer.main.get_command(test_app)
    try:
        command.main(args=argv, prog_name="test", standalone_mode=False)
    except InputError as exc:
        sys.stderr.write(exc.one_line() + "\n")
        sys.exit(2)
    except MemoryError as exc:
        sys.stderr.write(f"error: unexpected MemoryError: {exc}\n")
        sys.exit(1)
    sys.exit(0)


def _limit_child(memory: int | None) -> None:
    """In the job's process before exec: cap its memory, die with the worker."""
    if memory:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:  # Linux: SIGKILL the job if the worker dies
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _human(n: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return f"{n} bytes"


def error_line(
    log_text: str, *, job_dir: Path, memory: int | None, returncode: int, aliases: dict[str, str] | None = None
) -> str:
    """Why a job failed, in one line (see the module docstring); server paths shown as the client gave them."""
    lines = [line.strip() for line in log_text.splitlines() if line.strip() and not line.startswith("$ ")]
    errors = [line for line in lines if line.startswith("error: ")]
    message = errors[-1].removeprefix("error: ") if errors else ""
    for server_path, given in sorted((aliases or {}).items(), key=lambda kv: -len(kv[0])):
        message = message.replace(server_path, given)
    message = message.replace(str(job_dir) + os.sep, "").replace(str(job_dir), ".")
    if memory and (_MEMORY_SIGNS.search(log_text) or (returncode == -signal.SIGKILL and not message)):
        detail = f" ({message})" if message else ""
        return f"the job ran out of memory: it may use at most {_human(memory)} (serve --job-memory){detail}"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return message or f"the job's process was killed by signal {name}"
    return message or (lines[-1][:500] if lines else f"the job's process exited with code {returncode}")


class Worker:
    """One worker's loop (see the module docstring)."""

    def __init__(self, lake_root: str | os.PathLike[str], *, job_memory: int | None = None, poll_s: float = 0.2):
        self.store = JobStore(lake_root)
        self.job_memory = job_memory
        self.poll_s = poll_s
        self.stopping = False
        self.parent = os.getppid()

    def _stop(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def serve(self) -> None:
        """Run jobs until SIGTERM/SIGINT, or until the parent is gone."""
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        while not self.stopping and os.getppid() == self.parent:
            job = self.store.claim(os.getpid())
            if job is None:
                time.sleep(self.poll_s)
                continue
            self.run(job)

    def _command(self, job: dict[str, Any]) -> list[str]:
        args = json.loads(job["args"])
        if job["module"] == "biolake":
            return [sys.executable, "-m", "biolake", "--lake", str(self.store.lake_root), "--quiet", *args]
        return [sys.executable, "-m", job["module"], *args]

    def run(self, job: dict[str, Any]) -> str:
        """Run one claimed job to its end; returns its final status (or ``"queued"`` if put back)."""
        job_id = job["id"]
        job_dir = self.store.job_dir(job_id)
        (job_dir / "out").mkdir(parents=True, exist_ok=True)
        progress_file = job_dir / "progress.jsonl"
        progress_file.unlink(missing_ok=True)
        env = {**os.environ, "BIOLAKE_PROGRESS_FILE": str(progress_file), "PYTHONUNBUFFERED": "1"}
        env.pop("BIOLAKE_TOKEN", None)
        command = self._command(job)
        started = time.time()
        aliases = json.loads(job.get("aliases") or "{}")
        shown = " ".join(shlex.quote(aliases.get(word, word)) for word in json.loads(job["args"]))
        program = "biolake" if job["module"] == "biolake" else f"python -m {job['module']}"
        with open(self.store.log_path(job_id), "ab") as log:
            log.write(f"$ {program} {shown}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                command,
                cwd=job_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=lambda: _limit_child(self.job_memory),
            )
        self.store.set_pid(job_id, proc.pid)
        job_event(
            self.store, "job.started", job_id, analysis=job["analysis"], job_pid=proc.pid, attempt=job["attempts"]
        )
        cancelled = requeue = False
        reader = _ProgressReader(progress_file)
        killed_at: float | None = None
        while True:
            try:
                returncode = proc.wait(timeout=self.poll_s)
                break
            except subprocess.TimeoutExpired:
                pass
            if killed_at is None and (self.stopping or self.store.cancel_requested(job_id)):
                cancelled, requeue = not self.stopping, self.stopping
                kill_group(proc.pid, signal.SIGTERM)
                killed_at = time.monotonic()
            elif killed_at is not None and time.monotonic() - killed_at > _CANCEL_GRACE_S:
                kill_group(proc.pid, signal.SIGKILL)
            update = reader.read()
            if update is not None:
                self.store.set_progress(job_id, *update)
        kill_group(proc.pid, signal.SIGKILL)  # anything the job left running in its group
        if returncode == 0:  # done (even if a cancel or a stop came too late to stop it)
            run_ids, outputs = self._runs_of(proc.pid, started)
            self.store.finish(job_id, "succeeded", outputs=outputs, run_ids=run_ids)
            return "succeeded"
        if requeue:
            self.store.requeue(job_id, "the worker was stopped")
            return "queued"
        if cancelled or self.store.cancel_requested(job_id):
            self.store.finish(job_id, "cancelled")
            return "cancelled"
        text = _tail(self.store.log_path(job_id))
        error = error_line(text, job_dir=job_dir, memory=self.job_memory, returncode=returncode, aliases=aliases)
        run_ids, _ = self._runs_of(proc.pid, started)
        self.store.finish(job_id, "failed", error=error, run_ids=run_ids)
        return "failed"

    def _runs_of(self, pid: int, started: float) -> tuple[list[str], list[str]]:
        """The runs the job's process recorded (by pid and start time) and their output datasets."""
        from biolake.lake import Lake

        lake = Lake(self.store.lake_root)
        if not lake.catalog_path.exists():
            return [], []
        since = datetime.fromtimestamp(started - 1).astimezone()
        try:
            records = lake.runs(limit=500)
        except Exception as exc:  # the job's outcome stands; only its run ids are unknown
            job_event(self.store, "job.runs_unknown", "-", error=" ".join(str(exc).split())[:300])
            return [], []
        runs = [r for r in records if r.pid == pid and r.started >= since]
        runs.sort(key=lambda r: r.started)
        outputs: list[str] = []
        for r in runs:
            outputs += [o for o in r.outputs if o not in outputs]
        return [r.id for r in runs], outputs


class _ProgressReader:
    """Follows a job's ``progress.jsonl``: the latest (fraction, task) when it changed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.last: tuple[float, str | None] | None = None

    def read(self) -> tuple[float, str | None] | None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return None
        end = data.rfind(b"\n")
        if end < 0:
            return None
        self.offset += end + 1
        latest = None
        for line in data[: end + 1].splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            total, done = event.get("total"), event.get("completed")
            if isinstance(total, int | float) and total > 0 and isinstance(done, int | float):
                latest = (min(done / total, 1.0), event.get("task"))
        if latest is None or latest == self.last:
            return None
        self.last = latest
        return latest


def _tail(path: Path, size: int = 64 * 1024) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - size))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> None:
    """Entry point: a worker loop, or the test hooks (``test …``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["test"]:
        _run_test_hooks(args[1:])
    parser = argparse.ArgumentParser(prog="python -m biolake.service.worker", description="A biolake job worker.")
    parser.add_argument("--lake", required=True, help="The lake directory.")
    parser.add_argument("--job-memory", type=int, default=None, help="Address-space limit of a job, in bytes.")
    parser.add_argument("--poll", type=float, default=0.2, help="Seconds between looks at the queue.")
    options = parser.parse_args(args)
    Worker(options.lake, job_memory=options.job_memory, poll_s=options.poll).serve()


if __name__ == "__main__":
    main()
