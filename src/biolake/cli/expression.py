"""``biolake genomics de``: RNA-seq differential expression (``ingest counts`` is in :mod:`biolake.cli.ingest`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, SchedulerOpt, open_lake, progress, say, state
from biolake.cli.genomics import app as genomics_app
from biolake.errors import InputError

__all__ = ["de_command", "parse_contrast"]


def parse_contrast(text: str) -> tuple[str, str, str]:
    """``"condition,treated,control"`` → ``("condition", "treated", "control")``.

    Examples
    --------
    >>> parse_contrast("condition, treated ,control")
    ('condition', 'treated', 'control')
    """
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(parts):
        raise InputError(f"expected FACTOR,NUMERATOR,DENOMINATOR; got {text!r}", file="--contrast")
    return parts[0], parts[1], parts[2]


def de_command(
    counts: Annotated[str, typer.Argument(help="Count matrix in the lake: lake:NAME (see 'biolake ingest counts').")],
    samples: Annotated[Path, typer.Option("--samples", help="Samples table (CSV or TSV): sample column + factors.")],
    design: Annotated[str, typer.Option("--design", help="Design formula, e.g. '~ batch + condition'.")],
    contrast: Annotated[str, typer.Option("--contrast", help="FACTOR,NUMERATOR,DENOMINATOR, e.g. condition,trt,ctl.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Result file (.parquet, .csv or .tsv), also in the lake.")],
    reduced: Annotated[
        str | None, typer.Option("--reduced", help="Reduced formula: likelihood-ratio test instead of Wald.")
    ] = None,
    size_factors: Annotated[str, typer.Option("--size-factors", help="ratio or poscounts.")] = "ratio",
    fit_type: Annotated[
        str, typer.Option("--fit-type", help="Dispersion trend: parametric, local (locfit, as DESeq2) or mean.")
    ] = "parametric",
    alpha: Annotated[float, typer.Option("--alpha", help="FDR level for independent filtering.")] = 0.1,
    min_replicates_for_replace: Annotated[
        float,
        typer.Option(
            "--min-replicates-for-replace", help="Cells with this many replicates need outlier replacement (inf: off)."
        ),
    ] = 7,
    sample_col: Annotated[str, typer.Option("--sample-col", help="Sample id column of the samples table.")] = "sample",
    chunk_genes: Annotated[int | None, typer.Option("--chunk-genes", help="Genes per block.")] = None,
    scheduler: SchedulerOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Differential expression by DESeq2's method.

    Columns: gene base_mean log2_fold_change lfc_se stat pvalue padj.
    """
    from biolake.genomics.de import de_job

    run_id, res = de_job(
        open_lake(lake),
        counts,
        samples=samples,
        design=design,
        contrast=parse_contrast(contrast),
        out=out,
        reduced=reduced,
        size_factors=size_factors,
        fit_type=fit_type,
        alpha=alpha,
        min_replicates_for_replace=min_replicates_for_replace,
        sample_col=sample_col,
        chunk_genes=chunk_genes,
        scheduler=scheduler or state.scheduler,
        progress=progress(quiet),
    )
    n_sig = int((res.table["padj"] < alpha).sum())
    say(f"wrote {out}: {len(res.table)} genes, {n_sig} with padj < {alpha:g} (run {run_id})", quiet=quiet)


genomics_app.command("de")(de_command)
