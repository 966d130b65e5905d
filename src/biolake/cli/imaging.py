"""``biolake imaging <command>``: image analysis (radiomics)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, SchedulerOpt, open_lake, progress, say, state

app = typer.Typer(help="Medical imaging: IBSI radiomics.", no_args_is_help=True)


@app.command("radiomics")
def radiomics(
    image: Annotated[
        str,
        typer.Argument(help="NIfTI file, DICOM file or folder, lake:NAME (every masked image) or lake:NAME/IMAGE_ID."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Result file (.parquet, .csv or .tsv).")],
    mask: Annotated[str | None, typer.Option("--mask", "-m", help="Mask file/folder for a file IMAGE.")] = None,
    config: Annotated[
        str | None,
        typer.Option(help="IBSI 1 configuration: ibsi-a … ibsi-e, or digital_phantom (the params file overrides it)."),
    ] = None,
    params: Annotated[Path | None, typer.Option("--params", "-p", help="YAML settings (see docs/imaging.md).")] = None,
    label: Annotated[list[int] | None, typer.Option("--label", help="Mask label to compute (repeatable).")] = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
    scheduler: SchedulerOpt = None,
) -> None:
    """IBSI-compliant radiomics features: one row per (image, mask, label), written to --out."""
    from biolake.imaging.radiomics import load_settings, run_radiomics

    settings = load_settings(params, config=config)
    opened = open_lake(lake)
    run_id, table = run_radiomics(
        opened,
        image,
        out=out,
        mask=mask,
        labels=label,
        settings=settings,
        config=config,
        scheduler=scheduler or state.scheduler,
        progress=progress(quiet),
    )
    say(f"wrote {out}: {len(table)} row(s), {table.shape[1] - 3} features (run {run_id})", quiet=quiet)
