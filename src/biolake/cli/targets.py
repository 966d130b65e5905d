"""``biolake discovery targets``: rank drug targets from GWAS, expression, proteomics and user evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, open_lake, say

__all__ = ["targets_command"]


def targets_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Ranked targets (.parquet, .csv or .tsv), also registered.")],
    evidence: Annotated[
        list[str] | None,
        typer.Option("--evidence", help="NAME=FILE: a table with columns gene, score (in [0, 1]); repeatable."),
    ] = None,
    weight: Annotated[
        list[str] | None, typer.Option("--weight", help="NAME=W: weight of a source (default 1); repeatable.")
    ] = None,
    gwas: Annotated[
        str | None, typer.Option("--gwas", help="GWAS results: a file or lake:NAME with chrom, pos, p (id, beta).")
    ] = None,
    gtf: Annotated[str | None, typer.Option("--gtf", help="Gene annotation: GTF or GFF3 (.gz too).")] = None,
    de: Annotated[
        str | None, typer.Option("--de", help="Differential expression: gene, log2_fold_change, padj.")
    ] = None,
    proteomics: Annotated[
        str | None, typer.Option("--proteomics", help="Proteomics: protein (or gene), log_fc, padj.")
    ] = None,
    clump_kb: Annotated[float, typer.Option("--clump-kb", help="Clumping window (kb).")] = 500.0,
    clump_p: Annotated[float, typer.Option("--clump-p", help="Lead (index) variant p-value threshold.")] = 5e-8,
    clump_p2: Annotated[float, typer.Option("--clump-p2", help="Locus member p-value threshold (PLINK p2).")] = 1e-2,
    ld_ref: Annotated[
        str | None, typer.Option("--ld-ref", help="lake:NAME genotype dataset: LD clumping as PLINK --clump.")
    ] = None,
    clump_r2: Annotated[float, typer.Option("--clump-r2", help="LD clumping r² threshold (with --ld-ref).")] = 0.1,
    window_kb: Annotated[float, typer.Option("--window-kb", help="Genes within this distance of a lead.")] = 500.0,
    gene_distance: Annotated[
        str, typer.Option("--gene-distance", help="Distance to the gene 'body' (0 inside) or its 'tss'.")
    ] = "body",
    assign: Annotated[
        str, typer.Option("--assign", help="'window': every gene in the window; 'nearest': the nearest only.")
    ] = "window",
    half_life_kb: Annotated[
        float, typer.Option("--half-life-kb", help="GWAS score halves every this many kb from the gene.")
    ] = 50.0,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Rank targets by combining evidence per gene as the Open Targets Platform does.

    Per source, the harmonic sum Σ sᵢ/i² of the evidence scores sorted descending divided
    by Σ_{i≤1000} 1/i²; the gene's score is the same sum over weight × source scores.
    Output columns: gene gene_name score rank n_evidence, then one column per source.
    """
    from biolake.discovery.targets.job import parse_pairs, targets_job

    sources = parse_pairs(evidence or [], "--evidence")
    weights = parse_pairs(weight or [], "--weight", numeric=True)
    result = targets_job(
        open_lake(lake),
        out=out,
        evidence=sources,
        weights=weights,
        gwas=gwas,
        gtf=gtf,
        de=de,
        proteomics=proteomics,
        clump_kb=clump_kb,
        clump_p=clump_p,
        clump_p2=clump_p2,
        ld_ref=ld_ref,
        clump_r2=clump_r2,
        window_kb=window_kb,
        gene_distance=gene_distance,
        assign=assign,
        half_life_kb=half_life_kb,
    )
    top = result.targets["gene"].iloc[0] if len(result.targets) else "-"
    say(
        f"wrote {out} (dataset {result.name}, run {result.run_id}): {len(result.targets)} genes, top {top}", quiet=quiet
    )
