"""Report section of ``precision pgx`` and its demo step (a PGx report for a sample VCF).

The section shows, from the run's result datasets: the genes called per sample with their
phenotypes (summary first), the non-normal phenotypes, and — when ``--recommendations`` was
written — the CPIC recommendations with their strength and guideline.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

from biolake.lake import Lake, RunRecord
from biolake.lake.progress import Progress
from biolake.report.demo import register_demo
from biolake.report.html import Section
from biolake.report.runs import register_section

__all__ = ["demo_vcf"]

_MAX_ROWS = 500


def _outputs(lake: Lake, run: RunRecord) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in run.outputs:
        if not lake.exists(name):
            continue
        info = lake.info(name)
        if info.run_id == run.id and info.attrs.get("table"):
            found[str(info.attrs["table"])] = name
    return found


@register_section("precision pgx")
def _pgx(lake: Lake, run: RunRecord, section: Section) -> None:
    outputs = _outputs(lake, run)
    if "pgx_phenotypes" not in outputs:
        return
    pheno = lake.to_pandas(outputs["pgx_phenotypes"])
    section.key_values(
        {
            "VCF": run.params.get("vcf", ""),
            "samples": pheno["sample_id"].nunique(),
            "genes": pheno["gene"].nunique(),
            "ambiguous calls (rows flagged)": int(pheno["ambiguous"].sum()),
            "outside calls": run.params.get("outside_calls") or "none",
        }
    )
    section.subsection("Genotypes and phenotypes").table(pheno, max_rows=_MAX_ROWS)
    notable = pheno[~pheno["phenotype"].fillna("").str.contains("Normal|^$|n/a", regex=True)]
    if len(notable):
        section.subsection("Phenotypes that may change prescribing").table(notable, max_rows=_MAX_ROWS)
    if "pgx_recommendations" in outputs:
        recs = lake.to_pandas(outputs["pgx_recommendations"])
        sub = section.subsection("CPIC recommendations")
        if len(recs):
            counts = recs.groupby("classification", dropna=False).size().rename("recommendations").reset_index()
            sub.table(counts, caption="Recommendations by strength")
            sub.table(recs, max_rows=_MAX_ROWS)
        else:
            sub.text("No CPIC recommendation applies.")


def demo_vcf(folder: Path) -> tuple[Path, Path]:
    """Write the demo VCF (PharmCAT's example 2: CYP2C19 *2/*2, CYP2B6 *1/*6) and an outside-call file
    (CYP2D6 *1/*4) into ``folder``; return both paths."""
    src = Path(__file__).resolve().parents[2] / "precision" / "pgx" / "data" / "demo" / "pgx_demo.vcf.gz"
    vcf = folder / "pgx_demo.vcf"
    with gzip.open(src, "rb") as fin, vcf.open("wb") as fout:
        shutil.copyfileobj(fin, fout)
    outside = folder / "pgx_demo_outside_calls.tsv"
    outside.write_text("CYP2D6\t*1/*4\n", encoding="utf-8")
    return vcf, outside


@register_demo("Personalized medicine: pharmacogenomics report for a patient VCF (PharmCAT + CPIC)")
def _pgx_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.precision.pgx.job import pgx_job

    vcf, outside = demo_vcf(data_dir)
    run_id, _ = pgx_job(
        lake,
        vcf,
        out=data_dir / "pgx_phenotypes.tsv",
        recommendations_out=data_dir / "pgx_recommendations.tsv",
        report_out=data_dir / "pgx_report.html",
        outside_calls=outside,
        progress=progress,
    )
    return [run_id]
