"""``biolake discovery filter|cluster|model train|model score``: screening filters, clusters and models.

Registered at the end of :mod:`biolake.cli.discovery`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, OutOpt, QuietOpt, SchedulerOpt, open_lake, progress, say, state

LibraryArg = Annotated[str, typer.Argument(help="Molecule library: lake:NAME (from 'biolake ingest molecules').")]

model_app = typer.Typer(
    help="Fingerprint activity models: train with cross-validation, score a library.", no_args_is_help=True
)


def filter_command(
    library: LibraryArg,
    rules: Annotated[
        str, typer.Option(help="Comma-separated: lipinski, veber, ghose, pains (pains_a/b/c), brenk, nih.")
    ] = "lipinski,veber,ghose,pains,brenk,nih",
    out: OutOpt = None,
    scheduler: SchedulerOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Drug-likeness rules and structural alerts (RDKit FilterCatalog) of every molecule.

    Output columns: id, passed, failed_rules, then one column per rule (true = passed).
    """
    from biolake.discovery.filters import filter_library

    df = filter_library(
        open_lake(lake), library, rules=rules, out=out, scheduler=scheduler or state.scheduler, progress=progress(quiet)
    )
    if out is None:
        typer.echo(df.to_csv(index=False), nl=False)
    else:
        say(f"wrote {out}: {int(df['passed'].sum())} of {len(df)} molecules passed", quiet=quiet)


def cluster_command(
    library: LibraryArg,
    threshold: Annotated[float, typer.Option(help="Tanimoto similarity of neighbours (distance 1 - T).")] = 0.6,
    pick: Annotated[int | None, typer.Option("--pick", help="Also pick N diverse molecules (MaxMin).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the MaxMin picker.")] = 42,
    out: OutOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Taylor-Butina clusters of the stored fingerprints (RDKit ClusterData order), MaxMin picks.

    Output columns: id, row, cluster, centroid, cluster_size (+ pick).
    """
    from biolake.discovery.cluster import cluster_library

    df = cluster_library(
        open_lake(lake), library, threshold=threshold, pick=pick, seed=seed, out=out, progress=progress(quiet)
    )
    if out is None:
        typer.echo(df.to_csv(index=False), nl=False)
    else:
        n = int(df["cluster"].max()) + 1 if len(df) else 0
        say(f"wrote {out}: {len(df)} molecules in {n} clusters", quiet=quiet)


@model_app.command("train")
def model_train_command(
    activities: Annotated[Path, typer.Option("--activities", help="CSV/TSV with a SMILES column and the target.")],
    out: Annotated[Path, typer.Option("--out", help="Model file (joblib); the sidecar is OUT.json.")],
    label_col: Annotated[str | None, typer.Option("--label-col", help="0/1 activity column (classification).")] = None,
    value_col: Annotated[str | None, typer.Option("--value-col", help="Numeric activity column (regression).")] = None,
    smiles_col: Annotated[str, typer.Option("--smiles-col", help="SMILES column.")] = "smiles",
    split: Annotated[str, typer.Option(help="scaffold or random cross-validation folds.")] = "scaffold",
    model: Annotated[str, typer.Option(help="rf (random forest) or gbm (gradient boosting).")] = "rf",
    fp: Annotated[str, typer.Option(help="Fingerprint spec (the library's).")] = "morgan2:2048",
    folds: Annotated[int, typer.Option(help="Cross-validation folds.")] = 5,
    n_estimators: Annotated[int, typer.Option(help="Trees / boosting iterations.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    ad_threshold: Annotated[float, typer.Option(help="Applicability-domain threshold (max Tanimoto).")] = 0.35,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Cross-validate and fit a fingerprint model; print the CV metrics."""
    from biolake.discovery.models import train_model

    meta = train_model(
        open_lake(lake),
        activities,
        label_col=label_col,
        value_col=value_col,
        smiles_col=smiles_col,
        split=split,
        model=model,
        fp=fp,
        folds=folds,
        n_estimators=n_estimators,
        seed=seed,
        ad_threshold=ad_threshold,
        out=out,
        progress=progress(quiet),
    )
    metrics = ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in meta["metrics"].items())
    say(f"wrote {out}: {split} CV {metrics}", quiet=quiet)


@model_app.command("score")
def model_score_command(
    library: LibraryArg,
    model: Annotated[Path, typer.Option("--model", help="Model file from 'discovery model train'.")],
    ad_threshold: Annotated[
        float | None, typer.Option(help="Applicability-domain threshold (default: the model's).")
    ] = None,
    out: OutOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Score a library with a model. Output columns: id, score, max_similarity, in_domain."""
    from biolake.discovery.models import score_library

    df = score_library(open_lake(lake), library, model, ad_threshold=ad_threshold, out=out, progress=progress(quiet))
    if out is None:
        typer.echo(df.to_csv(index=False), nl=False)
    else:
        say(f"wrote {out}: {len(df)} molecules, {int(df['in_domain'].sum())} in the applicability domain", quiet=quiet)
