"""``biolake genomics gwas``: association tests of a genotype dataset (as plink2 --glm)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, SchedulerOpt, open_lake, progress, say, state
from biolake.cli.genomics import app


@app.command("gwas")
def gwas(
    genotypes: Annotated[str, typer.Argument(help="Genotype dataset: lake:NAME or NAME.")],
    pheno: Annotated[Path, typer.Option("--pheno", help="Phenotype file (header; comma/tab/space; plink2 #FID IID).")],
    pheno_col: Annotated[str, typer.Option("--pheno-col", help="The trait's column in --pheno.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Results (.parquet, .csv or .tsv), also put in the lake.")],
    covar: Annotated[
        Path | None, typer.Option("--covar", help="Covariate file [default: --pheno when --covar-cols is given].")
    ] = None,
    covar_cols: Annotated[str | None, typer.Option("--covar-cols", help="Covariate columns, comma-separated.")] = None,
    sample_col: Annotated[str, typer.Option("--sample-col", help="Sample ID column of the files.")] = "IID",
    model: Annotated[str, typer.Option("--model", help="linear (quantitative) or logistic (case/control).")] = "linear",
    firth: Annotated[
        str, typer.Option("--firth", help="Logistic: no, fallback (plink2 default) or always.")
    ] = "fallback",
    chunk_variants: Annotated[int | None, typer.Option(help="Variants per block [default: stored chunk].")] = None,
    scheduler: SchedulerOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Test every variant for association with a trait, as plink2 --glm (linear or logistic, Firth fallback).

    Columns: chrom pos id ref alt a1 a1_freq obs_ct beta se stat p errcode (logistic: `or` after beta).
    """
    from biolake.genomics.gwas import gwas as run_gwas

    res = run_gwas(
        open_lake(lake),
        genotypes,
        pheno=pheno,
        pheno_col=pheno_col,
        covar=covar,
        covar_cols=covar_cols,
        sample_col=sample_col,
        model=model,
        firth=firth,
        out=out,
        chunk_variants=chunk_variants,
        scheduler=scheduler or state.scheduler,
        progress=progress(quiet),
    )
    say(
        f"wrote {out}: {res.n_variants} variants, {res.n_samples} samples, {res.n_covariates} covariates "
        f"(run {res.run_id})",
        quiet=quiet,
    )
