"""Helpers shared by the benchmarks: measured subprocess runs and markdown result files.

:func:`run_measured` runs one command and measures its wall time and the peak resident
memory of its whole process tree: a sampler thread sums the RSS of the process and all
its descendants every ``interval`` seconds (psutil) and keeps the maximum; after the
process ends, the kernel's own high-water mark (``ru_maxrss`` of the reaped child, i.e.
what ``getrusage(RUSAGE_CHILDREN)`` reports for it) is kept as a cross-check. The
sampled tree sum can miss a spike shorter than the interval; ``ru_maxrss`` cannot, but
it is the maximum of the single largest process, not a sum.

:func:`write_results` writes ``benchmarks/results/<name>.md`` with the machine's facts.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.metadata
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

__all__ = [
    "BENCH_DIR",
    "RESULTS_DIR",
    "ROOT",
    "WORK_DIR",
    "GiB",
    "Measurement",
    "MiB",
    "fmt_bytes",
    "fmt_ratio",
    "fmt_seconds",
    "machine_facts",
    "markdown_table",
    "run_measured",
    "tool",
    "write_results",
]

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
WORK_DIR = BENCH_DIR / "work"  # git-ignored: generated inputs, lakes, outputs

GiB = 1 << 30
MiB = 1 << 20


@dataclass
class Measurement:
    """One measured run of a command."""

    label: str
    argv: list[str]
    wall_s: float
    peak_rss: int
    """Largest sampled sum of RSS over the process tree, bytes."""
    ru_maxrss: int
    """Kernel high-water mark of RSS of the largest single process of the tree, bytes."""
    returncode: int | None
    status: str
    """``ok``, ``exit N``, ``signal NAME``, ``timeout (> N s)`` or ``out of memory (> N GiB)``."""
    stdout: str = ""
    stderr: str = ""
    samples: int = 0
    cpu_s: float = 0.0
    """User + system CPU seconds of the process and its waited-for descendants."""
    children_maxrss: int = 0
    """``getrusage(RUSAGE_CHILDREN).ru_maxrss`` after the wait (largest of *all* children so far), bytes."""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def peak(self) -> int:
        """The larger of the sampled tree peak and the kernel's single-process peak."""
        return max(self.peak_rss, self.ru_maxrss)

    def summary(self) -> str:
        return (
            f"{self.label}: {self.status}, {fmt_seconds(self.wall_s)} (CPU {fmt_seconds(self.cpu_s)}), "
            f"peak RSS {fmt_bytes(self.peak_rss)} (ru_maxrss {fmt_bytes(self.ru_maxrss)}, {self.samples} samples)"
        )


def _tree_rss(proc: psutil.Process) -> int:
    try:
        procs = [proc, *proc.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            total += p.memory_info().rss
    return total


class _Sampler(threading.Thread):
    """Samples the tree RSS of ``pid`` until stopped; kills its process group past a limit."""

    def __init__(self, pid: int, start: float, interval: float, timeout: float | None, rss_limit: int | None) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.proc = psutil.Process(pid)
        self.start_time = start
        self.interval = interval
        self.timeout = timeout
        self.rss_limit = rss_limit
        self.peak = 0
        self.samples = 0
        self.killed: str | None = None
        self._stop_event = threading.Event()

    def kill(self, reason: str) -> None:
        if self.killed is None:
            self.killed = reason
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)  # the session started for this command

    def run(self) -> None:
        while not self._stop_event.is_set():
            rss = _tree_rss(self.proc)
            self.samples += 1
            self.peak = max(self.peak, rss)
            if self.rss_limit is not None and rss > self.rss_limit:
                self.kill(f"out of memory (> {self.rss_limit / GiB:.1f} GiB)")
            if self.timeout is not None and time.perf_counter() - self.start_time > self.timeout:
                self.kill(f"timeout (> {self.timeout:.0f} s)")
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_measured(
    argv: Sequence[str | os.PathLike[str]],
    *,
    label: str | None = None,
    timeout: float | None = None,
    rss_limit: int | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    interval: float = 0.05,
    echo: bool = True,
) -> Measurement:
    """Run ``argv`` and measure wall time and peak RSS of its process tree.

    Parameters
    ----------
    argv
        The command.
    label
        Name of the run in messages and tables (default: the command).
    timeout
        Seconds after which the process group is killed; the status says ``timeout``.
    rss_limit
        Bytes of tree RSS above which the process group is killed; the status says
        ``out of memory`` (a guard, so a peer tool cannot take the machine down).
    env
        Extra environment variables (added to this process's environment).
    cwd
        Working directory.
    interval
        Seconds between RSS samples.
    echo
        Print a one-line summary when done.

    Returns
    -------
    Measurement
        Never raises for a failing command; look at ``status``.
    """
    args = [str(a) for a in argv]
    label = label or " ".join(args)
    full_env = {**os.environ, **(env or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=full_env, cwd=cwd, start_new_session=True)
        sampler = _Sampler(proc.pid, start, interval, timeout, rss_limit)
        sampler.start()
        try:
            _, wait_status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            sampler.kill("interrupted")
            proc.wait()
            sampler.stop()
            raise
        wall = time.perf_counter() - start
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(wait_status)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the session started for it, if any
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    rc = proc.returncode
    if sampler.killed is not None:
        status = sampler.killed
    elif rc == 0:
        status = "ok"
    elif rc < 0:
        status = f"signal {signal.Signals(-rc).name}"
        if -rc == signal.SIGKILL:
            status += " (out of memory?)"
    else:
        status = f"exit {rc}"
    m = Measurement(
        label=label,
        argv=args,
        wall_s=wall,
        peak_rss=sampler.peak,
        ru_maxrss=usage.ru_maxrss * 1024,
        returncode=rc,
        status=status,
        stdout=stdout,
        stderr=stderr,
        samples=sampler.samples,
        cpu_s=usage.ru_utime + usage.ru_stime,
        children_maxrss=children,
    )
    if echo:
        print("  " + m.summary(), flush=True)
        if not m.ok and stderr.strip():
            print("    " + "\n    ".join(stderr.strip().splitlines()[-5:]), flush=True)
    return m


def tool(name: str) -> str:
    """The path of a console script of this venv (beside ``sys.executable``), else from PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found beside {sys.executable} or on PATH")
    return found


# -- formatting ---------------------------------------------------------------------------


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "–"
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f} B"


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "–"
    if s >= 120:
        return f"{s / 60:.1f} min"
    return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]], align: str | None = None) -> str:
    """A GitHub markdown table; ``align`` is one letter per column (``l``, ``r``, ``c``)."""
    align = align or "l" + "r" * (len(headers) - 1)
    marks = {"l": ":--", "r": "--:", "c": ":-:"}
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join(marks[a] for a in align) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)


# -- machine facts ------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_facts(packages: Sequence[str] = ("biolake", "duckdb", "pyarrow", "pandas", "numpy", "psutil")) -> dict:
    """CPU, memory, OS, Python and package versions of this machine, now."""
    vm = psutil.virtual_memory()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    disk = shutil.disk_usage(WORK_DIR if WORK_DIR.exists() else BENCH_DIR)
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cpu count": f"{os.cpu_count()} logical, {psutil.cpu_count(logical=False)} physical",
        "usable cpus": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "ram": f"{fmt_bytes(vm.total)} total, {fmt_bytes(vm.available)} available at start",
        "swap": fmt_bytes(psutil.swap_memory().total),
        "load average (1/5/15 min) at start": " / ".join(f"{x:.2f}" for x in load) if load else "–",
        "free disk (work dir)": fmt_bytes(disk.free),
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": ", ".join(f"{p} {_version(p)}" for p in packages),
    }


def write_results(
    name: str,
    title: str,
    body: str,
    facts: Mapping[str, str] | None = None,
    results_dir: Path | None = None,
) -> Path:
    """Write ``benchmarks/results/<name>.md`` (or into ``results_dir``): title, body, machine facts."""
    facts = facts or machine_facts()
    results_dir = results_dir or RESULTS_DIR
    results_dir.mkdir(parents=True, exist_ok=True)
    text = "\n\n".join(
        [
            f"# {title}",
            body.strip(),
            "## Machine",
            markdown_table(["fact", "value"], facts.items(), align="ll"),
        ]
    )
    path = results_dir / f"{name}.md"
    path.write_text(text.rstrip() + "\n", encoding="utf-8")
    return path
