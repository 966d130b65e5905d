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


def _seed(text: str | None) -> tuple[int, int, int] | None:
    from biolake.errors import InputError

    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().lstrip("-").isdigit() for p in parts):
        raise InputError(f"--seed must be three voxel indices x,y,z; got {text!r}")
    return tuple(int(p) for p in parts)  # type: ignore[return-value]


@app.command("segment")
def segment(
    image: Annotated[str, typer.Argument(help="NIfTI file, DICOM file or folder, or lake:NAME[/IMAGE_ID] (in HU).")],
    method: Annotated[str, typer.Option("--method", help="body, lung, threshold, region-grow or components.")],
    out_mask: Annotated[
        str,
        typer.Option("--out-mask", help="A .nii/.nii.gz file, or the name of a new lake image dataset (image + mask)."),
    ],
    lower: Annotated[float | None, typer.Option("--lower", help="Lower HU limit (inclusive).")] = None,
    upper: Annotated[float | None, typer.Option("--upper", help="Upper HU limit (inclusive).")] = None,
    seed: Annotated[str | None, typer.Option("--seed", help="region-grow: seed voxel index x,y,z.")] = None,
    min_volume: Annotated[
        float | None, typer.Option("--min-volume", help="Drop connected components smaller than this (mm³).")
    ] = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Segment a CT volume (body, lung fields, thresholds, components, region growing) into a label map."""
    from biolake.imaging.segment import run_segment

    opened = open_lake(lake)
    run_id, where, names = run_segment(
        opened,
        image,
        method=method,
        out_mask=out_mask,
        lower=lower,
        upper=upper,
        seed=_seed(seed),
        min_volume=min_volume,
    )
    say(f"wrote {where}: {len(names)} label(s) (run {run_id})", quiet=quiet)


@app.command("measure")
def measure(
    image: Annotated[str, typer.Argument(help="NIfTI file, DICOM file or folder, or lake:NAME[/IMAGE_ID].")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Result file (.parquet, .csv or .tsv).")],
    mask: Annotated[
        str | None,
        typer.Option(
            "--mask", "-m", help="NIfTI label map, DICOM-SEG file or lake:NAME[/IMAGE_ID] (default: the image's own)."
        ),
    ] = None,
    label: Annotated[list[int] | None, typer.Option("--label", help="Label to measure (repeatable).")] = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Per-label volume, intensity statistics, centroid, bounding box, RECIST diameter and surface area."""
    from biolake.imaging.measure import run_measure

    opened = open_lake(lake)
    run_id, table = run_measure(opened, image, out=out, mask=mask, labels=label)
    say(f"wrote {out}: {len(table)} label(s) (run {run_id})", quiet=quiet)


@app.command("track")
def track(
    measurements: Annotated[str, typer.Argument(help="Table of measurements over time (file or lake:NAME).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Result file (.parquet, .csv or .tsv).")],
    patient_col: Annotated[str, typer.Option("--patient-col", help="Patient column.")] = "patient",
    time_col: Annotated[str, typer.Option("--time-col", help="Time column (a number or a date).")] = "time",
    lesion_col: Annotated[str, typer.Option("--lesion-col", help="Lesion column.")] = "lesion",
    volume_col: Annotated[str, typer.Option("--volume-col", help="Volume column (mm³).")] = "volume_mm3",
    diameter_col: Annotated[
        str, typer.Option("--diameter-col", help="Longest axial diameter column (mm).")
    ] = "longest_axial_diameter_mm",
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Per lesion across time: volume change, doubling time; per patient: RECIST 1.1 sum of diameters and response."""
    from biolake.imaging.track import run_track

    opened = open_lake(lake)
    run_id, table = run_track(
        opened,
        measurements,
        out=out,
        patient_col=patient_col,
        time_col=time_col,
        lesion_col=lesion_col,
        volume_col=volume_col,
        diameter_col=diameter_col,
    )
    say(f"wrote {out}: {len(table)} row(s), {table['patient'].nunique()} patient(s) (run {run_id})", quiet=quiet)


from biolake.cli import imaging_models as _imaging_models  # noqa: E402  (classify, unet, evaluate)

app.add_typer(_imaging_models.classify_app, name="classify")
app.add_typer(_imaging_models.unet_app, name="unet")
app.command("evaluate")(_imaging_models.evaluate_command)
