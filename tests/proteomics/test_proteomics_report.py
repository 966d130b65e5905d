"""Report section (volcano, MA, PCA) and the demo step of ``genomics proteomics``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from biolake import Lake


def _charts(section: object) -> list[dict]:
    from biolake.report.html import _Chart

    return [json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart)]  # type: ignore[attr-defined]


def test_demo_step__proteomics_volcano_ma_and_pca(tmp_path: Path) -> None:
    from biolake.lake.progress import NullProgress
    from biolake.report.demo import _STEPS
    from biolake.report.runs import build_run_report
    from biolake.report.sections import proteomics as sections

    assert any(step is sections._proteomics_demo for _, step in _STEPS)
    lake = Lake.open(tmp_path / "lake")
    ingest_id, run_id = sections._proteomics_demo(lake, tmp_path, NullProgress())
    assert lake.run_record(ingest_id).command == "ingest proteomics"
    assert lake.run_record(run_id).command == "genomics proteomics"
    res = pd.read_csv(tmp_path / "proteomics_treated_vs_control.csv")
    assert list(res.columns) == ["protein", "log_fc", "ave_expr", "t", "pvalue", "padj", "b"]
    sig = res[res["padj"] < 0.05]
    assert len(sig) > 50 and (sig["log_fc"].abs() > 0.8).all()  # planted changes of +-1.5 (10 % of proteins)
    report = build_run_report(lake, run_id)
    section = next(s for s in report.sections if s.title == "genomics proteomics")
    volcano_ma, pca = _charts(section)
    assert [c["title"] for c in volcano_ma["hconcat"]] == ["Volcano plot", "MA plot"]
    assert volcano_ma["hconcat"][0]["encoding"]["y"]["field"] == "neg_log10_p"
    rows = next(iter(pca["datasets"].values()))
    assert len(rows) == 8 and pca["title"] == "PCA of samples"
    # PC1 separates the groups (planted changes)
    pc1 = {r["sample"]: r["pc1"] for r in rows}
    ctl = [pc1[f"S0{i}"] for i in range(1, 5)]
    trt = [pc1[f"S0{i}"] for i in range(5, 9)]
    assert max(ctl) < min(trt) or max(trt) < min(ctl)
