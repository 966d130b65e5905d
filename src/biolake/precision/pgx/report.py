"""The clinician's PGx report: one page per sample, a summary table first (built with biolake.report).

Each sample's page has

1. a summary: gene, diplotype, phenotype, activity score, and the drugs with a CPIC recommendation;
2. the CPIC recommendations (drug, gene, phenotype, recommendation, strength, guideline);
3. the details a reviewer needs: each allele's function and activity value, where the call came from
   (VCF or outside call), ambiguous and inferred calls, positions missing from the VCF, alleles that
   could not be evaluated and the matcher's warnings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import pandas as pd

from biolake.precision.pgx.phenotype import PhenotypeCall, format_activity
from biolake.report.html import Report

__all__ = ["pgx_report", "sample_summary"]

_PAGE_BREAK = '<div style="page-break-before: always; break-before: page"></div>'
_NOTE = (
    "Genotype-guided prescribing information from CPIC guidelines. Phenotypes are predicted from the genotype "
    "at the positions the VCF covers; positions missing from the VCF are listed per gene, and a call with several "
    "possible diplotypes lists each. CYP2D6 and HLA genes are reported only from outside calls. This report does "
    "not replace clinical judgement."
)


def sample_summary(calls: Sequence[PhenotypeCall], recs: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The summary table of one sample: one row per gene and possible diplotype."""
    drugs: dict[str, set[str]] = defaultdict(set)
    for r in recs:
        for gene in str(r["gene"]).split(";"):
            drugs[gene].add(str(r["drug"]))
    rows = []
    for c in sorted(calls, key=lambda c: c.gene):
        rows.append(
            {
                "gene": c.gene,
                "diplotype": c.diplotype + (" (possible)" if c.ambiguous else "") + (" (inferred)" * c.inferred),
                "phenotype": c.phenotype,
                "activity score": format_activity(c.activity_score),
                "source": c.source,
                "missing positions": len(c.positions_missing),
                "drugs with CPIC recommendations": ", ".join(sorted(drugs.get(c.gene, ()))),
            }
        )
    return pd.DataFrame(rows)


def _details(calls: Sequence[PhenotypeCall]) -> pd.DataFrame:
    rows = []
    for c in sorted(calls, key=lambda c: c.gene):
        rows.append(
            {
                "gene": c.gene,
                "allele 1": c.allele1 or "",
                "function 1": c.function1,
                "activity 1": format_activity(c.activity1),
                "allele 2": c.allele2 or "",
                "function 2": c.function2,
                "activity 2": format_activity(c.activity2),
                "positions used": len(c.positions_used),
                "positions missing": ", ".join(c.positions_missing[:12]) + (" …" * (len(c.positions_missing) > 12)),
                "alleles not evaluable": len(c.uncallable_alleles),
                "warnings": " | ".join(c.warnings),
            }
        )
    return pd.DataFrame(rows)


def pgx_report(samples: Sequence[tuple[Sequence[PhenotypeCall], Sequence[dict[str, Any]]]], *, vcf: str = "") -> Report:
    """The HTML report of several samples (``(phenotype calls, recommendation rows)`` per sample)."""
    report = Report("Pharmacogenomics report", subtitle=f"{len(samples)} sample(s) from {vcf}" if vcf else None)
    overview = report.section("Samples")
    overview.text(_NOTE)
    rows = []
    for calls, recs in samples:
        if not calls:
            continue
        actionable = sorted({c.gene for c in calls if c.phenotype not in ("", "n/a") and "Normal" not in c.phenotype})
        rows.append(
            {
                "sample": calls[0].sample_id,
                "genes called": sum(1 for c in calls if c.allele1 is not None or c.phenotype not in ("", "n/a")),
                "non-normal phenotypes": ", ".join(actionable),
                "drugs with recommendations": len({r["drug"] for r in recs}),
            }
        )
    overview.table(pd.DataFrame(rows), caption="One page per sample follows", max_rows=10_000)
    for calls, recs in samples:
        if not calls:
            continue
        sid = calls[0].sample_id
        page = report.section(f"Sample {sid}")
        page.html(_PAGE_BREAK)
        page.subsection("Summary").table(
            sample_summary(calls, recs), caption="Genotypes and predicted phenotypes", max_rows=1_000
        )
        rec_frame = pd.DataFrame(
            [
                {
                    "drug": r["drug"],
                    "gene": r["gene"],
                    "phenotype": r["phenotype"],
                    "recommendation": r["recommendation"],
                    "strength": r["classification"],
                    "guideline": r["guideline"],
                }
                for r in recs
            ]
        )
        sub = page.subsection("CPIC prescribing recommendations")
        if len(rec_frame):
            sub.table(rec_frame, max_rows=1_000)
        else:
            sub.text("No CPIC recommendation applies to the genes called.")
        page.subsection("Call details").table(
            _details(calls), caption="Allele functions and activity values, missing positions, warnings", max_rows=1_000
        )
    return report
