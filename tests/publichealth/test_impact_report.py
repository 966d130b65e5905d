"""Report sections of the impact runs: the counterfactual, event-study and synthetic-control charts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.lake import Lake
from biolake.publichealth.impact import impact_job

DATA = Path(__file__).resolve().parents[1] / "data" / "publichealth" / "impact"


def _charts(section: object) -> list[dict[str, object]]:
    from biolake.report.html import _Chart

    return [json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart)]  # type: ignore[attr-defined]


def _section(lake: Lake, run_id: str, title: str) -> object:
    from biolake.report.runs import build_run_report

    return next(s for s in build_run_report(lake, run_id).sections if s.title == title)


def _layer_marks(spec: dict) -> list[str]:
    marks = []
    for layer in spec.get("layer", []):
        mark = layer["mark"]
        marks.append(mark if isinstance(mark, str) else mark["type"])
    return marks


def test_report_section__its_counterfactual_chart(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    run_id, names = impact_job(
        lake,
        "its",
        DATA / "its_monthly.csv",
        out=tmp_path / "its.csv",
        series_out=tmp_path / "its_series.csv",
        intervention="2019-01-01",
        model="poisson",
        season="fourier",
        population_col="population",
    )
    assert names == ["its", "its_series"]
    charts = _charts(_section(lake, run_id, "publichealth impact its"))
    assert len(charts) == 1
    assert _layer_marks(charts[0]) == ["area", "circle", "line", "line"]
    values = next(iter(charts[0]["datasets"].values()))
    assert len(values) == 72
    post = [v for v in values if v["post"]]
    assert len(post) == 24 and all(v["cf_lower"] < v["counterfactual"] < v["cf_upper"] for v in post)


def test_report_section__event_study_and_synth_charts(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    run_id, _ = impact_job(lake, "did", DATA / "did_panel.csv", out=tmp_path / "es.csv", design="event-study")
    charts = _charts(_section(lake, run_id, "publichealth impact did"))
    es = [v for values in charts[0]["datasets"].values() for v in values if "event_time" in v]
    assert sorted(v["event_time"] for v in es) == list(range(-8, 9))
    rng = np.random.default_rng(2)
    donors = rng.normal(size=(12, 4)).cumsum(0)
    treated = donors @ [0.6, 0.4, 0, 0] + np.r_[np.zeros(8), np.full(4, 2.0)]
    rows = [(f"d{k}", t, donors[t, k]) for k in range(4) for t in range(12)] + [("T", t, treated[t]) for t in range(12)]
    panel = tmp_path / "panel.csv"
    pd.DataFrame(rows, columns=["unit", "period", "y"]).to_csv(panel, index=False)
    run_id, _ = impact_job(
        lake, "synth", panel, out=tmp_path / "s.csv", series_out=tmp_path / "s_series.csv", treated="T", intervention=8
    )
    charts = _charts(_section(lake, run_id, "publichealth impact synth"))
    assert len(charts) == 1 and len(charts[0]["hconcat"]) == 2
    effects = pd.read_csv(tmp_path / "s.csv").set_index("term")
    assert effects.estimate["att"] == pytest.approx(2.0, abs=1e-6)
