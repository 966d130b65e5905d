"""``biolake precision prs``: polygenic risk scores of a lake genotype dataset, as ``plink2 --score``.

The command is registered on the ``precision`` Typer app in :mod:`biolake.cli.precision`
(``app.command("prs")(prs_command)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, SchedulerOpt, open_lake, progress, say, state

__all__ = ["prs_command"]


def prs_command(
    genotypes: Annotated[str, typer.Argument(help="Genotype dataset: lake:NAME (from ingest vcf/plink).")],
    weights: Annotated[
        Path,
        typer.Option(
            "--weights",
            help="PGS Catalog scoring file, or a plain table 'id effect_allele NAME…' (one score per column).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Scores (.parquet, .csv or .tsv), also put in the lake.")],
    min_match: Annotated[
        float, typer.Option("--min-match", help="Smallest fraction of weights rows matching the dataset.")
    ] = 0.75,
    keep_ambiguous: Annotated[
        bool, typer.Option("--keep-ambiguous", help="Keep strand-ambiguous A/T and C/G SNVs (default: dropped).")
    ] = False,
    no_mean_imputation: Annotated[
        bool, typer.Option("--no-mean-imputation", help="Missing calls add nothing (plink2 no-mean-imputation).")
    ] = False,
    model: Annotated[
        str, typer.Option("--model", help="additive, dominant or recessive (plink2's --score modifiers).")
    ] = "additive",
    match_log: Annotated[
        Path | None, typer.Option("--match-log", help="Also write the per-variant match log (reason per row).")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Reference genotype dataset lake:NAME: adds a percentile column.")
    ] = None,
    pheno: Annotated[Path | None, typer.Option("--pheno", help="Phenotype file for the association.")] = None,
    pheno_col: Annotated[str | None, typer.Option("--pheno-col", help="The trait's column in --pheno.")] = None,
    sample_col: Annotated[str, typer.Option("--sample-col", help="Sample ID column of --pheno.")] = "IID",
    prevalence: Annotated[
        float | None, typer.Option("--prevalence", help="Population prevalence for R² on the liability scale.")
    ] = None,
    chunk_variants: Annotated[int | None, typer.Option(help="Variants per block [default: stored chunk].")] = None,
    scheduler: SchedulerOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Polygenic scores of every sample (as plink2 --score), several scores at once, streamed block by block.

    Columns: sample_id score allele_ct dosage_sum score_sum score_avg (plink2's ALLELE_CT,
    NAMED_ALLELE_DOSAGE_SUM, SCORE1_SUM, SCORE1_AVG); with --reference also percentile.
    Weights are matched by position + alleles (or ID), with allele and strand flips;
    the match rate is kept in the run record and below --min-match the command fails.
    """
    from biolake.precision.prs import prs

    res = prs(
        open_lake(lake),
        genotypes,
        weights=weights,
        out=out,
        min_match=min_match,
        keep_ambiguous=keep_ambiguous,
        mean_impute=not no_mean_imputation,
        model=model,
        match_log=match_log,
        reference=reference,
        pheno=pheno,
        pheno_col=pheno_col,
        sample_col=sample_col,
        prevalence=prevalence,
        chunk_variants=chunk_variants,
        scheduler=scheduler or state.scheduler,
        progress=progress(quiet),
    )
    say(
        f"wrote {out}: {len(res.scores)} score(s) × {res.n_samples} samples; {res.n_used} of {res.n_rows} "
        f"weights rows used ({res.match_rate:.1%}) (run {res.run_id})",
        quiet=quiet,
    )
