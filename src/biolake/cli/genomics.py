"""``biolake genomics qc`` and ``biolake ingest plink``: genotype data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli import ingest
from biolake.cli._common import LakeOpt, QuietOpt, SchedulerOpt, open_lake, progress, say, state

app = typer.Typer(help="Genomics: variant QC, GWAS, differential expression.", no_args_is_help=True)


@ingest.app.command("plink")
def plink(
    prefix: Annotated[str, typer.Argument(help="PREFIX of PREFIX.bed/.bim/.fam (or PREFIX.bed).")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name in the lake.")],
    variant_chunk: Annotated[
        int | None, typer.Option(help="Variants per stored chunk [default: about 8 M calls per chunk].")
    ] = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Ingest a PLINK 1 fileset as genotype dataset NAME (VCF Zarr layout) and table NAME_variants."""
    from biolake.io.plink import ingest_plink

    info = ingest_plink(open_lake(lake), prefix, name=name, variant_chunk=variant_chunk, progress=progress(quiet))
    n_variants, n_samples = (info.shape or [0, 0])[:2]
    say(f"ingested {info.name}: {n_variants} variants x {n_samples} samples (run {info.run_id})", quiet=quiet)


@ingest.app.command("vcf")
def vcf(
    file: Annotated[Path, typer.Argument(help=".vcf, .vcf.gz (bgzip) or .bcf file.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name in the lake.")],
    variant_chunk: Annotated[
        int | None, typer.Option(help="Variants per stored chunk [default: about 8 M calls per chunk].")
    ] = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Ingest a VCF/BCF as genotype dataset NAME (VCF Zarr layout; multi-allelic sites split) and NAME_variants."""
    from biolake.io.vcf import ingest_vcf

    info = ingest_vcf(open_lake(lake), file, name=name, variant_chunk=variant_chunk, progress=progress(quiet))
    n_variants, n_samples = (info.shape or [0, 0])[:2]
    say(f"ingested {info.name}: {n_variants} variants x {n_samples} samples (run {info.run_id})", quiet=quiet)


@app.command("qc")
def qc(
    genotypes: Annotated[str, typer.Argument(help="Genotype dataset: lake:NAME or NAME.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Per-variant results (.parquet, .csv or .tsv), also put in the lake.")
    ],
    samples_out: Annotated[
        Path | None, typer.Option("--samples-out", help="Per-sample results (.parquet, .csv or .tsv).")
    ] = None,
    hwe_midp: Annotated[bool, typer.Option("--hwe-midp", help="Mid-p HWE p-values (plink2 --hardy midp).")] = False,
    maf: Annotated[float | None, typer.Option(help="Remove variants with minor allele frequency below X.")] = None,
    geno: Annotated[float | None, typer.Option(help="Remove variants with missing call rate above X.")] = None,
    mind: Annotated[float | None, typer.Option(help="Remove samples with missing call rate above X (first).")] = None,
    hwe: Annotated[float | None, typer.Option(help="Remove variants with HWE exact test p below P.")] = None,
    filtered_name: Annotated[
        str | None, typer.Option(help="Name of the filtered genotype dataset [default: NAME_filtered].")
    ] = None,
    chunk_variants: Annotated[int | None, typer.Option(help="Variants per block [default: stored chunk].")] = None,
    scheduler: SchedulerOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Per-variant (and per-sample) QC as plink2 --freq --hardy --missing --het; optional filters.

    Variant columns: chrom pos id ref alt alt_freq obs_ct missing_rate het_obs het_exp hwe_p.
    Sample columns: sample_id missing_ct call_rate het_rate o_hom e_hom f_obs_ct f.
    """
    from biolake.genomics.qc import qc as run_qc

    res = run_qc(
        open_lake(lake),
        genotypes,
        out=out,
        samples_out=samples_out,
        midp=hwe_midp,
        maf=maf,
        geno=geno,
        mind=mind,
        hwe=hwe,
        filtered_name=filtered_name,
        chunk_variants=chunk_variants,
        scheduler=scheduler or state.scheduler,
        progress=progress(quiet),
    )
    say(f"wrote {out}" + (f" and {samples_out}" if samples_out else "") + f" (run {res.run_id})", quiet=quiet)
    if res.filtered:
        say(
            f"filtered dataset {res.filtered}: {res.n_variants_kept} of {res.n_variants} variants, "
            f"{res.n_samples_kept} of {res.n_samples} samples",
            quiet=quiet,
        )
