"""``biolake report`` and ``biolake demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, lake_path, open_lake, progress, say, state


def report_command(
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("report.html"),
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Write the self-contained HTML report of a run (opens offline)."""
    from biolake.report.runs import build_run_report

    path = build_run_report(open_lake(lake, create=False), run_id).save(output)
    say(f"wrote {path}", quiet=quiet)


def demo_command(
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Where the demo writes its data and reports.")] = Path(
        "demo-report"
    ),
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Build a lake from small generated data, run every analysis and write demo-report/index.html."""
    from biolake.report.demo import run_demo

    chosen = lake or state.lake
    index = run_demo(out_dir, lake=lake_path(chosen) if chosen else None, progress=progress(quiet))
    typer.echo(str(index))
