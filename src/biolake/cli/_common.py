"""Options and helpers shared by every command of the CLI."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from biolake.errors import InputError
from biolake.lake import Lake, default_lake_path
from biolake.lake.progress import Progress, get_progress

__all__ = [
    "LakeOpt",
    "OutOpt",
    "QuietOpt",
    "SchedulerOpt",
    "open_lake",
    "progress",
    "state",
    "write_out",
]


class _State:
    """Options given before the command (``biolake --lake DIR --quiet lake ls``)."""

    lake: Path | None = None
    quiet: bool = False
    debug: bool = False
    scheduler: str | None = None


state = _State()

LakeOpt = Annotated[
    Path | None,
    typer.Option("--lake", help="Lake directory [default: $BIOLAKE_LAKE or ./biolake-lake].", show_default=False),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or messages.")]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Write the result to FILE (.parquet, .csv or .tsv) and register it in the lake."),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Where to run: threads (default), processes, synchronous, or a Dask scheduler tcp://host:8786.",
    ),
]


def lake_path(lake: Path | None) -> Path:
    """The lake directory from the command's ``--lake``, the global one, or the default."""
    return lake or state.lake or default_lake_path()


def open_lake(lake: Path | None, *, create: bool = True) -> Lake:
    """Open the lake named by the options (see :func:`lake_path`)."""
    return Lake.open(lake_path(lake), create=create)


def progress(quiet: bool) -> Progress:
    """Progress bars unless quiet (here or globally) or stderr is not a terminal."""
    return get_progress(quiet=quiet or state.quiet)


def say(message: str, *, quiet: bool = False) -> None:
    """A message for people on stderr (stdout is kept for results)."""
    if not (quiet or state.quiet):
        typer.echo(message, err=True)


def write_out(run: Any, data: Any, out: Path, *, schema: Any = None) -> str:
    """Write a result to ``out`` and register it in the lake (see :meth:`Run.result`)."""
    return run.result(data, out, schema=schema)


def check_input_exists(spec: str) -> None:
    """A file input must exist (``lake:NAME`` inputs are checked by the lake)."""
    if not spec.startswith("lake:") and not os.path.exists(spec):
        raise InputError("no such file", file=spec)


def stdout_is_tty() -> bool:
    """Whether results go to a terminal (then they are shown as a table)."""
    return sys.stdout.isatty()
