"""``biolake publichealth risk-factors`` on the command line, its report section (forest plot) and demo step."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from biolake.lake import Lake

DATA = Path(__file__).resolve().parents[1] / "data" / "publichealth" / "riskfactors"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_cli_risk_factors__poisson_writes_and_registers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """R: ``glm(chd69 ~ dibpat0 + age0 + chol0 + smoker + offset(log(time169)), poisson, wcgs)``."""
    lake_dir = tmp_path / "lake"
    out = tmp_path / "rate_ratios.csv"
    argv = ["--lake", str(lake_dir), "publichealth", "risk-factors", str(DATA / "wcgs.csv"), "--outcome", "chd69"]
    argv += ["--exposures", "dibpat0,age0,chol0,smoker", "--person-time", "time169", "--out", str(out), "-q"]
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    got = pd.read_csv(out)
    ref = pd.read_csv(DATA / "glm_reference.csv")
    ref = ref[(ref["data"] == "wcgs") & (ref["model"] == "poisson")]
    assert got["term"].tolist() == ref["term"].tolist()
    pd.testing.assert_series_equal(got["coef"], ref["coef"].reset_index(drop=True), atol=1e-8, rtol=0)
    pd.testing.assert_series_equal(got["se"], ref["se"].reset_index(drop=True), atol=1e-8, rtol=0)
    lake = Lake.open(lake_dir)
    info = lake.info("rate_ratios")
    record = lake.run_record(info.run_id or "")
    assert record.command == "publichealth risk-factors"
    assert record.params["model"] == "poisson"
    assert info.attrs["rows_used"] == 3142


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("y,x,t\n1,2,3\n0,1,2\n", ["--exposures", "x,z"], "no column 'z' (columns: y, x, t)"),
        (
            "y,x,t\n1,2,3\nnone,1,2\n",
            ["--exposures", "x", "--model", "poisson"],
            "record 2: column y: count 'none' is not a number",
        ),
        (
            "y,x,t\n1,2,3\n0,1,-2\n",
            ["--exposures", "x", "--person-time", "t"],
            "record 2: column t: person-time -2 must be > 0",
        ),
    ],
)
def test_cli_risk_factors__bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, options: list[str], message: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    out = tmp_path / "x.csv"
    argv = ["--lake", str(tmp_path / "lake"), "publichealth", "risk-factors", str(bad), "--outcome", "y"]
    code, _, err = _cli([*argv, *options, "--out", str(out)], capsys)
    assert code == 2
    assert err == f"error: {bad}: {message}\n"
    assert not out.exists()
    assert not Lake.open(tmp_path / "lake").names()


def test_cli_risk_factors__bad_model_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--lake", str(tmp_path / "lake"), "publichealth", "risk-factors", str(DATA / "quine.csv")]
    code, _, err = _cli(
        [*argv, "--outcome", "Days", "--exposures", "Eth", "--model", "probit", "--out", "x.csv"], capsys
    )
    assert code == 2
    assert (
        err == "error: The 'model' parameter of risk_factors must be one of logistic, poisson, negbin; got 'probit'\n"
    )


def test_report_section__risk_factors_has_forest_plot(tmp_path: Path) -> None:
    from biolake.publichealth.riskfactors import risk_factors_job
    from biolake.report.html import _Chart
    from biolake.report.runs import build_run_report

    lake = Lake.open(tmp_path / "lake")
    run_id, name = risk_factors_job(
        lake,
        DATA / "wcgs.csv",
        out=tmp_path / "ors.csv",
        outcome="chd69",
        exposures=["dibpat0", "smoker"],
        strata="agegrp",
    )
    section = next(s for s in build_run_report(lake, run_id).sections if s.title == "publichealth risk-factors")
    assert [s.title for s in section.subsections] == ["Forest plot"]
    spec = next(json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart))  # type: ignore[attr-defined]
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rule", "point", "rule"]
    assert spec["layer"][1]["encoding"]["x"]["scale"]["type"] == "log"
    labels = [row["label"] for row in next(iter(spec["datasets"].values())) if "label" in row]
    # 2 exposures x (MH OR, MH RR) + the model's 5 non-intercept terms
    assert len(labels) == 9 and "dibpat0 (MH odds_ratio)" in labels and "agegrp55-59" in labels
    assert name == "ors"


def test_demo_step__risk_factors(tmp_path: Path) -> None:
    from biolake.lake.progress import NullProgress
    from biolake.report.demo import _STEPS
    from biolake.report.sections import publichealth_epi as sections

    assert any(step is sections._risk_factors_demo for _, step in _STEPS)
    lake = Lake.open(tmp_path / "lake")
    run_ids = sections._risk_factors_demo(lake, tmp_path, NullProgress())
    commands = [lake.run_record(r).command for r in run_ids]
    assert commands == ["ingest table", "publichealth risk-factors", "publichealth risk-factors"]
    rr = lake.sql("SELECT term, estimate FROM cohort_rate_ratios WHERE term = 'smoker'")
    # simulated with a smoking rate ratio of exp(0.7) ≈ 2.0
    assert 1.5 < rr["estimate"][0] < 2.7
