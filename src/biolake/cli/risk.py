"""``biolake precision risk train|predict``: clinical risk models (registered on ``risk_app``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, open_lake, progress, say

__all__ = ["risk_predict_command", "risk_train_command"]


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def risk_train_command(
    data: Annotated[str, typer.Option("--data", help="Patients: a CSV/TSV/Parquet file or lake:NAME.")],
    target: Annotated[str, typer.Option("--target", help="Binary outcome column (0/1); for cox/rsf the event column.")],
    model: Annotated[str, typer.Option("--model", help="logistic, lasso, gbm, cox or rsf (random survival forest).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model file (joblib) to write; MODEL.json is its sidecar.")],
    features: Annotated[
        str | None, typer.Option("--features", help="Feature columns, comma-separated; text columns are one-hot.")
    ] = None,
    all_features: Annotated[
        bool, typer.Option("--all", help="Use every column except the outcome, group and temporal ones.")
    ] = False,
    time: Annotated[str | None, typer.Option("--time", help="Follow-up time column (cox, rsf).")] = None,
    event: Annotated[
        str | None, typer.Option("--event", help="Event column, 1 = event, 0 = censored (cox/rsf; default --target).")
    ] = None,
    cv: Annotated[int, typer.Option("--cv", help="Cross-validation folds.")] = 5,
    group: Annotated[
        str | None, typer.Option("--group", help="Keep each patient's/site's rows in one fold (grouped CV).")
    ] = None,
    temporal: Annotated[
        str | None, typer.Option("--temporal", help="Split by this time/date column (train on earlier rows).")
    ] = None,
    missing: Annotated[
        str, typer.Option("--missing", help="Missing feature values: drop, mean, median or indicator.")
    ] = "drop",
    nested_cv: Annotated[
        bool, typer.Option("--nested-cv", help="Choose hyper-parameters (lasso C; gbm depth, rate) by inner CV.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of folds, models and bootstrap.")] = 0,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", help="Bootstrap resamples for the metrics' 95 % intervals (0: none).")
    ] = 200,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Train a risk model with cross-validated metrics and write the model file.

    Binary models report roc_auc, pr_auc, brier, calibration intercept/slope (rms::val.prob)
    and calibration-in-the-large; cox reports Harrell's and Uno's C, time-dependent AUC and
    the integrated Brier score. Out-of-fold predictions and metrics are registered in the lake.
    """
    from biolake.precision.risk import train_job

    opened = open_lake(lake)
    run_id, meta = train_job(
        opened,
        data,
        out=out,
        target=target,
        model=model,
        features=_split(features) or None,
        all_features=all_features,
        time=time,
        event=event,
        cv=cv,
        group=group,
        temporal=temporal,
        missing=missing,
        nested_cv=nested_cv,
        seed=seed,
        bootstrap=bootstrap,
        progress=progress(quiet),
    )
    summary = ", ".join(
        f"{m['metric']} {m['estimate']:.4g}"
        for m in meta["metrics"]
        if m["metric"] in ("roc_auc", "brier", "calibration_slope", "harrell_c", "uno_c")
    )
    say(f"wrote {out} and {out}.json (run {run_id}); cross-validated {summary}", quiet=quiet)


def risk_predict_command(
    model_file: Annotated[Path, typer.Argument(metavar="MODEL", help="Model file written by risk train.")],
    data: Annotated[str, typer.Option("--data", help="Patients: a CSV/TSV/Parquet file or lake:NAME.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Predictions file (.parquet, .csv or .tsv).")],
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Per-patient risk and per-feature contributions from a trained model.

    Columns: row risk linear_predictor, then baseline and contribution_<column> (exact for
    linear models; SHAP values for gbm when the optional shap package is installed).
    """
    from biolake.precision.risk import predict_job

    opened = open_lake(lake)
    run_id, name = predict_job(opened, model_file, data, out=out, progress=progress(quiet))
    say(f"wrote {out} (dataset {name}, run {run_id})", quiet=quiet)
