"""``biolake ingest proteomics`` and ``biolake genomics proteomics``: protein intensities and limma.

Registered by additive lines in :mod:`biolake.cli.ingest` and :mod:`biolake.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, SchedulerOpt, open_lake, progress, say, state
from biolake.errors import InputError

__all__ = ["ingest_proteomics", "proteomics_command"]


def _contrast(text: str) -> tuple[str, str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(parts):
        raise InputError(f"expected FACTOR,NUMERATOR,DENOMINATOR; got {text!r}", file="--contrast")
    return parts[0], parts[1], parts[2]


def ingest_proteomics(
    file: Annotated[Path, typer.Argument(help="MaxQuant proteinGroups.txt, or a protein x sample CSV/TSV matrix.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name (also NAME_proteins, NAME_samples).")],
    format: Annotated[
        str, typer.Option("--format", help="maxquant, matrix or auto (maxquant when the header has 'Protein IDs').")
    ] = "auto",
    quant: Annotated[str, typer.Option("--quant", help="MaxQuant intensities: lfq, ibaq or intensity.")] = "lfq",
    keep_flagged: Annotated[
        bool, typer.Option("--keep-flagged", help="Keep contaminant, reverse and only-identified-by-site rows.")
    ] = False,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Ingest protein intensities as dataset NAME (zeros and NA are missing values)."""
    from biolake.io.proteomics import ingest_proteomics as ingest

    info = ingest(
        open_lake(lake),
        file,
        name=name,
        format=format,
        quant=quant,
        keep_flagged=keep_flagged,
        progress=progress(quiet),
    )
    removed = info.attrs.get("removed") or {}
    extra = ""
    if removed:
        extra = (
            f"; removed {removed.get('total', 0)} rows (contaminant {removed.get('contaminant', 0)}, reverse"
            f" {removed.get('reverse', 0)}, only identified by site {removed.get('only_identified_by_site', 0)})"
        )
    say(
        f"ingested {info.name}: {info.shape[0]} proteins x {info.shape[1]} samples{extra} (run {info.run_id})",
        quiet=quiet,
    )


def proteomics_command(
    dataset: Annotated[
        str, typer.Argument(help="Protein matrix in the lake: lake:NAME (see 'biolake ingest proteomics').")
    ],
    samples: Annotated[Path, typer.Option("--samples", help="Samples table (CSV or TSV): sample column + factors.")],
    design: Annotated[str, typer.Option("--design", help="Design formula, e.g. '~ batch + condition'.")],
    contrast: Annotated[str, typer.Option("--contrast", help="FACTOR,NUMERATOR,DENOMINATOR, e.g. condition,B,A.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Result file (.parquet, .csv or .tsv), also in the lake.")],
    transform: Annotated[str, typer.Option("--transform", help="log2, or none for log-scale data.")] = "log2",
    normalize: Annotated[str, typer.Option("--normalize", help="median, quantile or none.")] = "median",
    impute: Annotated[str, typer.Option("--impute", help="minprob (seeded, left-censored) or none.")] = "none",
    min_valid: Annotated[
        int, typer.Option("--min-valid", help="Keep proteins with >= N values in at least one group (0: >= 2 values).")
    ] = 0,
    trend: Annotated[
        bool, typer.Option("--trend", help="Intensity-dependent prior variance (eBayes trend=TRUE).")
    ] = False,
    robust: Annotated[bool, typer.Option("--robust", help="Robust prior df (eBayes robust=TRUE).")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the minprob imputation.")] = 0,
    sample_col: Annotated[str, typer.Option("--sample-col", help="Sample id column of the samples table.")] = "sample",
    chunk_rows: Annotated[int | None, typer.Option("--chunk-rows", help="Proteins per block.")] = None,
    scheduler: SchedulerOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Differential protein abundance by limma (lmFit + eBayes).

    Columns: protein log_fc ave_expr t pvalue padj b.
    """
    from biolake.genomics.proteomics import proteomics_job

    run_id, res = proteomics_job(
        open_lake(lake),
        dataset,
        samples=samples,
        design=design,
        contrast=_contrast(contrast),
        out=out,
        transform=transform,
        normalize=normalize,
        impute=impute,
        min_valid=min_valid,
        trend=trend,
        robust=robust,
        seed=seed,
        sample_col=sample_col,
        chunk_rows=chunk_rows,
        scheduler=scheduler or state.scheduler,
        progress=progress(quiet),
    )
    n_sig = int((res.table["padj"] < 0.05).sum())
    say(
        f"wrote {out}: {len(res.table)} proteins ({res.n_filtered} filtered), {n_sig} with padj < 0.05 (run {run_id})",
        quiet=quiet,
    )
