"""``biolake precision pgx`` and ``biolake precision pgx-data``: pharmacogenomics from a VCF.

The commands are registered on the ``precision`` Typer app in :mod:`biolake.cli.precision`
(``app.command("pgx")(pgx_command)``, ``app.command("pgx-data")(pgx_data_command)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, open_lake, progress, say

__all__ = ["pgx_command", "pgx_data_command"]


def pgx_command(
    vcf: Annotated[Path, typer.Argument(help="VCF/BCF (GRCh38, PharmCAT-normalised), one or many samples.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Phenotype table (.parquet, .csv or .tsv): sample_id gene diplotype phenotype "
            "activity_score ambiguous; also registered.",
        ),
    ],
    sample: Annotated[
        list[str] | None, typer.Option("--sample", help="Only this sample (repeatable) [default: every sample].")
    ] = None,
    all_samples: Annotated[bool, typer.Option("--all", help="Every sample of the VCF (the default).")] = False,
    recommendations: Annotated[
        Path | None,
        typer.Option(
            "--recommendations",
            help="Also write CPIC recommendations: sample_id drug gene phenotype recommendation classification "
            "guideline.",
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the clinician HTML report (one page per sample).")
    ] = None,
    outside_calls: Annotated[
        Path | None,
        typer.Option(
            "--outside-calls",
            help="PharmCAT outside-call TSV (gene, diplotype[, phenotype[, activity score]]), e.g. CYP2D6; "
            "applied to every sample.",
        ),
    ] = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Star alleles (PharmCAT's NamedAlleleMatcher), phenotypes and CPIC recommendations for each sample."""
    from biolake.errors import InputError
    from biolake.precision.pgx.job import pgx_job

    if sample and all_samples:
        raise InputError("give --sample or --all, not both", file="--sample")
    opened = open_lake(lake)
    run_id, name = pgx_job(
        opened,
        vcf,
        out=out,
        samples=list(sample) if sample else None,
        recommendations_out=recommendations,
        report_out=report,
        outside_calls=outside_calls,
        progress=progress(quiet),
    )
    extra = "".join(f", {p}" for p in (recommendations, report) if p is not None)
    say(f"wrote {out}{extra} (dataset {name}, run {run_id})", quiet=quiet)


def pgx_data_command(
    source: Annotated[
        Path,
        typer.Option(
            "--from",
            help="Folder of newer tables: PharmCAT phenotype GENE.json files, PharmCAT *.report.json files, "
            "or a cpic_recommendations.tsv.",
        ),
    ],
    to: Annotated[
        Path | None, typer.Option("--to", help="Data folder to update [default: the package's PGx data].")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write the changed calls to FILE (.csv/.tsv/.parquet).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report the changes without writing.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Update the shipped phenotype and CPIC recommendation tables; print which calls change."""
    from biolake.lake.tables import write_result
    from biolake.precision.pgx.data_update import update_pgx_data

    changes = update_pgx_data(source, target=to, dry_run=dry_run)
    if out is not None:
        write_result(changes, out)
    if not quiet:
        by_table = changes.groupby(["table", "change"]).size() if len(changes) else {}
        summary = ", ".join(f"{n} {c} {t}" for (t, c), n in dict(by_table).items()) or "no change"
        typer.echo(f"{'would change' if dry_run else 'changed'}: {summary}")
        for row in changes.head(50).itertuples():
            typer.echo(f"  {row.table}\t{row.gene}\t{row.call}\t{row.change}\t{row.before} -> {row.after}")
        if len(changes) > 50:
            typer.echo(f"  … {len(changes) - 50} more" + (f" in {out}" if out else ""))
