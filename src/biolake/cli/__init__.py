"""The ``biolake`` command line: ``biolake <area> <command>``.

Every command is thin: it parses options and calls the library. Errors are printed
as one line on stderr: bad input exits 2 (``error: FILE: line N: problem``), anything
else exits 1 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

import biolake.cli.expression  # noqa: F401  (registers 'genomics de')
from biolake import __version__
from biolake.cli import discovery, genomics, imaging, ingest, lake, publichealth, runs
from biolake.cli import gwas as _gwas  # noqa: F401  (registers 'genomics gwas')
from biolake.cli import precision as precision_cli
from biolake.cli._common import state
from biolake.cli.report import demo_command, report_command
from biolake.cli.serve import serve_command
from biolake.errors import InputError

__all__ = ["app", "main"]

app = typer.Typer(
    name="biolake",
    help="biolake: big-data analytics for biotechnology.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"biolake {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    lake_dir: Annotated[
        Path | None,
        typer.Option("--lake", help="Lake directory [default: $BIOLAKE_LAKE or ./biolake-lake].", show_default=False),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or messages.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks of unexpected errors.")] = False,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="threads, processes, synchronous or tcp://host:8786.")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """biolake: big-data analytics for biotechnology."""
    state.lake = lake_dir
    state.quiet = quiet
    state.debug = debug
    state.scheduler = scheduler


app.add_typer(lake.app, name="lake")
app.add_typer(ingest.app, name="ingest")
app.add_typer(runs.app, name="runs")
app.add_typer(genomics.app, name="genomics")
app.add_typer(publichealth.app, name="publichealth")
app.add_typer(discovery.app, name="discovery")
app.add_typer(imaging.app, name="imaging")
app.add_typer(precision_cli.app, name="precision")
app.command("report")(report_command)
app.command("demo")(demo_command)
app.command("serve")(serve_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; exits with 0, 1 or 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="biolake", standalone_mode=False)
    except InputError as exc:
        _error(exc.one_line())
        sys.exit(2)
    except KeyboardInterrupt:
        _error("error: interrupted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:
        if type(exc).__name__ in ("Abort",):
            _error("error: interrupted")
            sys.exit(130)
        if type(exc).__name__ == "Exit" and isinstance(getattr(exc, "exit_code", None), int):
            sys.exit(exc.exit_code)
        if callable(getattr(exc, "format_message", None)) and isinstance(getattr(exc, "exit_code", None), int):
            # a usage error of the command line parser (click, or the click that typer vendors)
            message = " ".join(exc.format_message().split())
            if message:  # no message: the help was shown because no command was given
                ctx = getattr(exc, "ctx", None)
                where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                _error(f"error: {message}{where}")
            sys.exit(2)
        if debug:
            import traceback

            traceback.print_exc()
        message = " ".join(str(exc).split()) or type(exc).__name__
        _error(f"error: unexpected {type(exc).__name__}: {message} (run with --debug for the traceback)")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _error(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


from biolake.cli import proteomics as _proteomics  # noqa: E402  (registers 'genomics proteomics')

genomics.app.command("proteomics")(_proteomics.proteomics_command)
