"""``biolake imaging classify train|predict``, ``imaging unet train|apply`` and ``imaging evaluate``.

Registered on the ``imaging`` app by :mod:`biolake.cli.imaging` (``classify_app``, ``unet_app``,
``evaluate_command``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, open_lake, progress, say

__all__ = ["classify_app", "evaluate_command", "unet_app"]

classify_app = typer.Typer(help="Lesion classification from radiomics features (scikit-learn).", no_args_is_help=True)
unet_app = typer.Typer(help="A small 2-D/3-D U-Net (PyTorch, the 'deep' extra).", no_args_is_help=True)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@classify_app.command("train")
def classify_train(
    features: Annotated[
        str, typer.Option("--features", help="Feature table: CSV/TSV/Parquet file or lake:NAME (one row per lesion).")
    ],
    target: Annotated[str, typer.Option("--target", help="Outcome column: 0/1, or two values with --positive.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file (joblib) to write; MODEL.json is its sidecar.")],
    features_cols: Annotated[
        str | None, typer.Option("--features-cols", help="Feature columns, comma-separated.")
    ] = None,
    all_features: Annotated[
        bool, typer.Option("--all", help="Every column except the target, image/mask/label and --id columns.")
    ] = False,
    model: Annotated[str, typer.Option("--model", help="logistic, rf or gbm.")] = "logistic",
    positive: Annotated[
        str | None, typer.Option("--positive", help="The target value of the positive class (e.g. malignant).")
    ] = None,
    id_cols: Annotated[
        str | None, typer.Option("--id", help="Identifier columns (comma-separated): not features, kept in outputs.")
    ] = None,
    cv: Annotated[int, typer.Option("--cv", help="Stratified cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of folds, models and bootstrap.")] = 0,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Bootstrap resamples for the metrics' 95 % intervals (0: none).")
    ] = 200,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Train a classifier with stratified cross-validation: ROC-AUC, calibration, accuracy (out of fold)."""
    from biolake.imaging.classify import run_classify_train

    opened = open_lake(lake)
    run_id, meta = run_classify_train(
        opened,
        features,
        out=out,
        target=target,
        features=_split(features_cols) or None,
        all_features=all_features,
        model=model,
        positive=positive,
        id_cols=_split(id_cols),
        cv=cv,
        seed=seed,
        bootstrap=bootstrap,
        progress=progress(quiet),
    )
    summary = ", ".join(
        f"{m['metric']} {m['estimate']:.4g}"
        for m in meta["metrics"]
        if m["metric"] in ("roc_auc", "brier", "calibration_slope", "accuracy")
    )
    say(f"wrote {out} and {out}.json (run {run_id}); cross-validated {summary}", quiet=quiet)


@classify_app.command("predict")
def classify_predict(
    model_file: Annotated[Path, typer.Argument(metavar="MODEL", help="Model file written by classify train.")],
    features: Annotated[str, typer.Option("--features", help="Feature table: CSV/TSV/Parquet file or lake:NAME.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Predictions file (.parquet, .csv or .tsv).")],
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Probability of the positive class and the predicted class per row (columns row … probability predicted)."""
    from biolake.imaging.classify import run_classify_predict

    opened = open_lake(lake)
    run_id, table = run_classify_predict(opened, model_file, features, out=out)
    say(f"wrote {out}: {len(table)} row(s) (run {run_id})", quiet=quiet)


def evaluate_command(
    pred: Annotated[str, typer.Argument(help="Predicted label map: NIfTI file or lake:NAME[/IMAGE_ID] (its mask).")],
    truth: Annotated[str, typer.Option("--truth", help="Reference label map: NIfTI file or lake:NAME[/IMAGE_ID].")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Result file (.parquet, .csv or .tsv).")],
    label: Annotated[list[int] | None, typer.Option("--label", help="Label to compare (repeatable).")] = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Dice, Jaccard, volume similarity, Hausdorff distance and HD95 of a segmentation, per label."""
    from biolake.imaging.overlap import run_evaluate

    opened = open_lake(lake)
    run_id, table = run_evaluate(opened, pred, truth=truth, out=out, labels=label)
    first = table.iloc[0]
    say(
        f"wrote {out}: {len(table)} label(s) (run {run_id}); label {int(first['label'])}: dice {first['dice']:.4f}, "
        f"hausdorff {first['hausdorff_mm']:.3g} mm, hd95 {first['hd95_mm']:.3g} mm",
        quiet=quiet,
    )


def _patch(text: str | None, dim: int) -> tuple[int, ...] | None:
    from biolake.errors import InputError

    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() for p in parts) or len(parts) not in (1, dim):
        raise InputError(f"--patch must be one size or {dim} sizes (z,y,x order), comma-separated; got {text!r}")
    sizes = [int(p) for p in parts]
    return tuple(sizes * dim if len(sizes) == 1 else sizes)


@unet_app.command("train")
def unet_train(
    images: Annotated[
        str, typer.Argument(help="lake:NAME (images with masks), a NIfTI file, or a folder of NIfTI files.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file to write (.pt); MODEL.json is its sidecar.")],
    masks: Annotated[
        str | None,
        typer.Option(
            "--masks", help="Label map file, or folder of label maps named as the images (default for lake: its masks)."
        ),
    ] = None,
    dim: Annotated[int, typer.Option("--dim", help="2 (axial slices) or 3 (sub-volumes).")] = 3,
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs.")] = 20,
    steps: Annotated[int, typer.Option("--steps", help="Batches per epoch.")] = 20,
    patch: Annotated[
        str | None, typer.Option("--patch", help="Patch size: one number or z,y,x (y,x for --dim 2).")
    ] = None,
    batch: Annotated[int, typer.Option("--batch", help="Patches per batch.")] = 4,
    base: Annotated[int, typer.Option("--base", help="Channels of the first level (doubled per level).")] = 8,
    depth: Annotated[int, typer.Option("--depth", help="Down-sampling levels.")] = 2,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 3e-3,
    label: Annotated[int | None, typer.Option("--label", help="Train on this label only (default: mask > 0).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the weights and the patch sampling.")] = 0,
    device: Annotated[str, typer.Option("--device", help="auto (CUDA when present), cpu or cuda.")] = "auto",
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Train a small U-Net (Dice + cross-entropy loss) on images and their masks; no weights downloaded."""
    from biolake.imaging.unet import UNetConfig, run_unet_train

    config = UNetConfig(
        dim=dim,
        patch=_patch(patch, dim) or ((32, 32, 32) if dim == 3 else (64, 64)),
        base=base,
        depth=depth,
        epochs=epochs,
        steps=steps,
        batch=batch,
        lr=lr,
        seed=seed,
        label=label,
    )
    opened = open_lake(lake)
    run_id, meta = run_unet_train(
        opened, images, out=out, masks=masks, config=config, device=device, progress=progress(quiet)
    )
    say(
        f"wrote {out} (run {run_id}): {len(meta['training_images'])} image(s), {meta['seconds']:.1f} s on "
        f"{meta['device']}, final loss {meta['history'][-1]:.4f}",
        quiet=quiet,
    )


@unet_app.command("apply")
def unet_apply(
    model_file: Annotated[Path, typer.Argument(metavar="MODEL", help="Model file written by unet train.")],
    image: Annotated[str, typer.Argument(help="NIfTI file, DICOM file or folder, or lake:NAME[/IMAGE_ID].")],
    out: Annotated[
        str, typer.Option("--out", "-o", help="A .nii/.nii.gz file, or the name of a new lake image dataset.")
    ],
    device: Annotated[str, typer.Option("--device", help="auto (CUDA when present), cpu or cuda.")] = "auto",
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Segment an image with a trained U-Net (sliding window); writes a label map (1 = foreground)."""
    from biolake.imaging.unet import run_unet_apply

    opened = open_lake(lake)
    run_id, where, voxels = run_unet_apply(opened, model_file, image, out=out, device=device)
    say(f"wrote {where}: {voxels} foreground voxel(s) (run {run_id})", quiet=quiet)
