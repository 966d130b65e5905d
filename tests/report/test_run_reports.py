"""Run reports: generic sections plus the sections areas register."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from biolake import InputError, Lake
from biolake.io import ingest_table
from biolake.report.runs import build_run_report, register_section, section_builders
from biolake.report.sections.tables import column_profile, histogram


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rep")
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "age": rng.integers(20, 80, 2_000),
            "bmi": rng.normal(27, 4, 2_000).round(1),
            "site": rng.choice(["A", "B"], 2_000),
        }
    )
    df.loc[::10, "bmi"] = np.nan
    csv = tmp / "cohort.csv"
    df.to_csv(csv, index=False)
    lake = Lake.open(tmp / "lake")
    info = ingest_table(lake, csv, name="cohort")
    return lake, info, df


def _chart_specs(html: str) -> list[dict]:
    blocks = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, flags=re.S)
    return [json.loads(b.replace("<\\/", "</")) for b in blocks]


def test_build_run_report__generic_sections(ingested):
    lake, info, _ = ingested
    html = build_run_report(lake, info.run_id).to_html()
    for text in ("Summary", "Parameters", "Inputs", "Outputs", "Environment", "cohort", info.run_id):
        assert text in html
    assert not re.search(r'(src|href)\s*=\s*"https?://', html)


def test_column_profile__matches_pandas(ingested):
    lake, _, df = ingested
    prof = column_profile(lake, "cohort").set_index("column")
    assert prof.loc["age", "mean"] == pytest.approx(df["age"].mean(), rel=1e-12)
    assert prof.loc["bmi", "sd"] == pytest.approx(df["bmi"].std(), rel=1e-9)
    assert float(prof.loc["bmi", "null %"]) == pytest.approx(100 * df["bmi"].isna().mean(), abs=0.01)
    assert str(prof.loc["age", "min"]) == str(df["age"].min())


def test_histogram__counts_sum_to_non_null_rows(ingested):
    lake, _, df = ingested
    h = histogram(lake, "cohort", "bmi", bins=20)
    assert h["count"].sum() == df["bmi"].notna().sum()
    assert h["bin_start"].min() == pytest.approx(df["bmi"].min())
    assert h["bin_end"].max() == pytest.approx(df["bmi"].max())


def test_build_run_report__ingest_section_has_histograms(ingested):
    lake, info, df = ingested
    specs = _chart_specs(build_run_report(lake, info.run_id).to_html())
    assert len(specs) == 1
    datasets = specs[0]["datasets"]
    totals = sorted(sum(row["count"] for row in rows) for rows in datasets.values())
    assert totals == sorted([len(df), int(df["bmi"].notna().sum())])


def test_register_section__called_for_its_command(tmp_path):
    lake = Lake.open(tmp_path / "lake")
    calls = []

    @register_section("unit-test command")
    def _section(lake_, run, section):
        calls.append(run.id)
        section.text("hello from the area")

    with lake.run("unit-test command") as run:
        pass
    assert _section in section_builders("unit-test command")
    html = build_run_report(lake, run.id).to_html()
    assert calls == [run.id]
    assert "hello from the area" in html


def test_build_run_report__failed_run(tmp_path):
    lake = Lake.open(tmp_path / "lake")
    with pytest.raises(ValueError), lake.run("broken"):
        raise ValueError("bad thing")
    html = build_run_report(lake, lake.runs()[0].id).to_html()
    assert "ValueError: bad thing" in html
    assert "registered no dataset" in html


def test_build_run_report__unknown_run(tmp_path):
    with pytest.raises(InputError, match="no run with id"):
        build_run_report(Lake.open(tmp_path / "lake"), "nope")
