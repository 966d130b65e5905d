"""``biolake runs ls|show``: run records."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, open_lake

app = typer.Typer(help="Run records: what ran, with what, how it went.", no_args_is_help=True)


@app.command("ls")
def ls(
    lake: LakeOpt = None,
    limit: Annotated[int, typer.Option(help="Show at most this many (newest first).")] = 50,
) -> None:
    """List runs, newest first: id, status, command, seconds, outputs."""
    for r in open_lake(lake).runs(limit=limit):
        secs = f"{r.seconds:.1f}s" if r.seconds is not None else "-"
        typer.echo(f"{r.id}  {r.status:<7}  {r.command:<20}  {secs:>8}  {','.join(r.outputs)}")


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).")], lake: LakeOpt = None
) -> None:
    """Show one run record as JSON."""
    typer.echo(json.dumps(open_lake(lake).run_record(run_id).to_dict(), indent=2, default=str))
