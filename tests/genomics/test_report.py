"""Tests of the genomics report sections and demo step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from biolake.genomics.qc import qc
from biolake.lake import Lake
from biolake.lake.progress import NullProgress
from biolake.report.demo import _STEPS
from biolake.report.html import Section
from biolake.report.runs import build_run_report, section_builders
from biolake.report.sections.genomics import hwe_qq_points


def _contents(section: Section) -> tuple[str, list[dict[str, object]]]:
    """Every text of a section (titles, captions, cells, key-values) and its chart specs, without rendering."""
    texts: list[str] = [section.title]
    charts: list[dict[str, object]] = []
    for block in section.blocks:
        if isinstance(block, Section):
            sub_text, sub_charts = _contents(block)
            texts.append(sub_text)
            charts += sub_charts
            continue
        texts.append(str(getattr(block, "caption", "") or ""))
        texts += list(getattr(block, "paragraphs", []))
        if block.kind == "key_values":
            texts += [f"{k}: {v}" for k, v, _ in block.rows]
        elif block.kind == "table":
            texts += [cell.text for row in block.rows for cell in row]
        elif block.kind == "chart":
            charts.append(json.loads(block.spec_json))
    return "\n".join(texts), charts


def _section(lake: Lake, run_id: str, title: str) -> tuple[str, list[dict[str, object]]]:
    report = build_run_report(lake, run_id)
    return _contents(next(s for s in report.sections if s.title == title))


def test_genomics_qc_section__charts_and_extreme_variants(sim_lake: Lake, tmp_path: Path) -> None:
    res = qc(sim_lake, "sim", out=tmp_path / "rep_v.parquet", samples_out=tmp_path / "rep_s.parquet", hwe=1e-6)
    assert section_builders("genomics qc")
    text, charts = _section(sim_lake, res.run_id, "genomics qc")
    assert "Variants furthest from Hardy–Weinberg equilibrium" in text
    assert "Samples with the lowest call rate" in text
    assert "rs1000004" in text  # 224 heterozygotes of 250: p = 9.78e-46, the most extreme variant
    assert "sim_filtered: 1470 variants x 250 samples" in text
    assert len(charts) == 3
    assert "HWE exact test: QQ plot" in json.dumps(charts)


def test_ingest_plink_section__variants_per_contig(sim_lake: Lake) -> None:
    run_id = sim_lake.info("sim").run_id
    assert run_id is not None
    text, _ = _section(sim_lake, run_id, "ingest plink")
    assert "Variants per contig" in text
    assert "1500 variants x 250 samples" in text


def test_hwe_qq_points__keeps_smallest_and_thins_the_rest(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    p = np.linspace(1e-9, 1.0, 10_000)
    lake.write_table("pvals", pd.DataFrame({"hwe_p": p[::-1]}))
    points = hwe_qq_points(lake, "pvals")
    assert len(points) == 2_000 + 800  # every one of the smallest 2,000, then every 10th
    assert points["observed"].iloc[0] == -np.log10(1e-9)
    assert points["expected"].iloc[0] == -np.log10(0.5 / 10_000)
    assert np.all(np.diff(points["observed"].to_numpy()) <= 0)


def test_genomics_demo__ingests_and_runs_qc(tmp_path: Path) -> None:
    step = next(fn for title, fn in _STEPS if title.startswith("Genomics"))
    lake = Lake.open(tmp_path / "lake")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    run_ids = step(lake, data_dir, NullProgress())
    assert [lake.run_record(r).command for r in run_ids] == ["ingest plink", "genomics qc"]
    assert lake.exists("cohort") and lake.exists("cohort_filtered")
    assert len(lake.to_pandas("cohort_variant_qc")) == 5_000
