"""Progress reporting for long jobs, without tying jobs to a terminal.

Jobs take a ``progress`` argument (a :class:`Progress`) and call
``task = progress.task("Ingesting x.csv", total=n_bytes)`` then ``task.update(done)``
or ``task.advance(k)``. The CLI passes a :class:`RichProgress` (bars on stderr, only
when it is a terminal and ``--quiet`` is not given); library callers get
:class:`NullProgress` by default. The service passes its own to record job progress.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["NullProgress", "Progress", "ProgressTask", "RichProgress", "get_progress"]
__all__ += ["PROGRESS_FILE_ENV", "JsonLinesProgress"]

#: When set (the service's job workers set it), :func:`get_progress` appends JSON lines here.
PROGRESS_FILE_ENV = "BIOLAKE_PROGRESS_FILE"


class ProgressTask:
    """One task of a :class:`Progress`; the no-op base is what :class:`NullProgress` gives."""

    def update(self, completed: float, *, total: float | None = None) -> None:
        """Set how much is done (and optionally the new total)."""

    def advance(self, amount: float = 1) -> None:
        """Add ``amount`` to what is done."""

    def close(self) -> None:
        """Mark the task finished."""


class Progress:
    """Interface of progress reporters (see the module docstring)."""

    @contextmanager
    def task(self, description: str, *, total: float | None = None) -> Iterator[ProgressTask]:
        """A task shown while the ``with`` block runs."""
        yield ProgressTask()


class NullProgress(Progress):
    """Reports nothing."""


class _RichTask(ProgressTask):
    def __init__(self, bar: Any, task_id: Any) -> None:
        self.bar = bar
        self.task_id = task_id

    def update(self, completed: float, *, total: float | None = None) -> None:
        self.bar.update(self.task_id, completed=completed, total=total)

    def advance(self, amount: float = 1) -> None:
        self.bar.advance(self.task_id, amount)


class RichProgress(Progress):
    """Progress bars on stderr with rich (transient: they vanish when done)."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)

    @contextmanager
    def task(self, description: str, *, total: float | None = None) -> Iterator[ProgressTask]:
        from rich.progress import (
            BarColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import (
            Progress as _Bar,
        )

        bar = _Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        with bar:
            task_id = bar.add_task(description, total=total)
            yield _RichTask(bar, task_id)


class _JsonTask(ProgressTask):
    def __init__(self, fh: Any, description: str, total: float | None) -> None:
        self.fh, self.description, self.total, self.completed, self.written = fh, description, total, 0.0, 0.0

    def _write(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.written >= 0.2:
            self.written = now
            line = {"task": self.description, "completed": self.completed, "total": self.total}
            self.fh.write(json.dumps(line) + "\n")
            self.fh.flush()

    def update(self, completed: float, *, total: float | None = None) -> None:
        self.completed, self.total = completed, total if total is not None else self.total
        self._write()

    def advance(self, amount: float = 1) -> None:
        self.update(self.completed + amount)


class JsonLinesProgress(Progress):
    """Appends ``{"task", "completed", "total"}`` JSON lines to a file (at most 5 a second per task)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path

    @contextmanager
    def task(self, description: str, *, total: float | None = None) -> Iterator[ProgressTask]:
        with open(self.path, "a", encoding="utf-8") as fh:
            task = _JsonTask(fh, description, total)
            task._write(force=True)
            yield task
            task._write(force=True)


def get_progress(*, quiet: bool = False) -> Progress:
    """Rich bars when stderr is a terminal and not ``quiet``; otherwise nothing.

    With ``$BIOLAKE_PROGRESS_FILE`` set, JSON lines to that file instead (even if quiet).
    """
    if os.environ.get(PROGRESS_FILE_ENV):
        return JsonLinesProgress(os.environ[PROGRESS_FILE_ENV])
    if quiet or not sys.stderr.isatty():
        return NullProgress()
    return RichProgress()
