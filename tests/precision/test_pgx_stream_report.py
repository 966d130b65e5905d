"""``pgx_job`` streams the report's per-sample inputs to disk (memory independent of the sample count):
the report must be the one built from every sample held in memory.

Reference: :func:`biolake.precision.pgx.report.pgx_report` over the in-memory list
``[(calls, recommend(calls)) for calls in pgx_sample_calls(vcf)]`` — the construction ``pgx_job``
used before streaming — compared after removing the generation time stamp.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from biolake.lake import Lake
from biolake.precision.pgx.job import _PageSpill, pgx_job, pgx_sample_calls
from biolake.precision.pgx.recommendations import recommend
from biolake.precision.pgx.report import pgx_report
from biolake.report.sections.pgx import demo_vcf


def _three_samples(folder: Path) -> Path:
    """The demo VCF with its sample column repeated as three samples (the last one a no-call everywhere)."""
    vcf, _ = demo_vcf(folder)
    out = folder / "three.vcf"
    lines = []
    for line in vcf.read_text().splitlines():
        if line.startswith("##"):
            lines.append(line)
        elif line.startswith("#"):
            lines.append(line + "\tSECOND\tTHIRD")
        else:
            fields = line.split("\t")
            lines.append(line + "\t" + fields[9] + "\t" + "./." + fields[9][3:])
    out.write_text("\n".join(lines) + "\n")
    return out


def _strip_time(html: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "TIME", html)


def test_pgx_job__streamed_report_equals_in_memory(tmp_path: Path) -> None:
    vcf = _three_samples(tmp_path)
    html = tmp_path / "pgx.html"
    pgx_job(Lake.open(tmp_path / "lake"), vcf, out=tmp_path / "pgx.tsv", report_out=html)
    samples = [(calls, recommend(calls)) for calls in pgx_sample_calls(vcf)]
    assert len(samples) == 3
    expected = tmp_path / "expected.html"
    pgx_report(samples, vcf=str(vcf)).save(expected)
    assert _strip_time(html.read_text()) == _strip_time(expected.read_text())
    assert "Sample SECOND" in html.read_text() and "Sample THIRD" in html.read_text()
    pheno = pd.read_csv(tmp_path / "pgx.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert pheno["sample_id"].unique().tolist() == [samples[0][0][0].sample_id, "SECOND", "THIRD"]


def test_page_spill__round_trip_in_order(tmp_path: Path) -> None:
    spill = _PageSpill(tmp_path / "pages.pickle")
    assert len(spill) == 0 and list(spill) == []
    items = [([], [{"drug": f"d{i}", "n": i}]) for i in range(5)]
    for item in items:
        spill.add(item)
    assert len(spill) == 5
    assert list(spill) == items
    assert list(spill) == items  # read twice, as pgx_report does
