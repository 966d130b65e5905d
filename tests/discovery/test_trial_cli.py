"""``biolake discovery trial design|size``: lake runs, the CLI, report sections and the demo step."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from biolake.discovery.trials import design
from biolake.discovery.trials.design import design_job
from biolake.discovery.trials.size import sample_size, size_job
from biolake.lake import Lake


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_design_job__writes_table_summary_and_run_record(tmp_path: Path) -> None:
    """R: ``getDesignCharacteristics(getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF", beta = 0.1))``."""
    lake = Lake.open(tmp_path / "lake")
    out, summary = tmp_path / "gsd.parquet", tmp_path / "gsd_summary.csv"
    run_id, name, _, chars = design_job(lake, out=out, kmax=3, type_of_design="asOF", beta=0.1, summary=summary)
    pd.testing.assert_frame_equal(pd.read_parquet(out), design(kmax=3, type_of_design="asOF").table())
    s = pd.read_csv(summary)
    assert list(s.columns) == ["inflation_factor", "expected_n_h0", "expected_n_h01", "expected_n_h1"]
    assert s.iloc[0]["inflation_factor"] == pytest.approx(chars["inflation_factor"], rel=1e-15)
    record = lake.run_record(run_id)
    assert record.command == "discovery trial design"
    assert record.params["characteristics"]["inflation_factor"] == pytest.approx(chars["inflation_factor"])
    assert record.outputs == ["gsd", "gsd_summary"] and name == "gsd"
    assert lake.info("gsd").attrs["characteristics"]["expected_n_h1"] == pytest.approx(chars["expected_n_h1"])


def test_cli_trial_design__writes_the_issue_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """R: ``getDesignGroupSequential(kMax = 3, alpha = 0.025, sided = 1, typeOfDesign = "asHSD", gammaA = -2,
    informationRates = c(0.3, 0.6, 1))``."""
    out, summary = tmp_path / "d.csv", tmp_path / "s.tsv"
    argv = ["--lake", str(tmp_path / "lake"), "discovery", "trial", "design", "--kmax", "3", "--alpha", "0.025"]
    argv += ["--sided", "1", "--type-of-design", "asHSD", "--gamma", "-2", "--information-rates", "0.3,0.6,1"]
    code, _, err = _cli([*argv, "--beta", "0.2", "--out", str(out), "--summary", str(summary)], capsys)
    assert code == 0, err
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "look",
        "information_rate",
        "critical_value",
        "nominal_alpha",
        "cumulative_alpha_spent",
    ]
    expected = design(kmax=3, type_of_design="asHSD", gamma=-2, information_rates=[0.3, 0.6, 1]).table()
    pd.testing.assert_frame_equal(table, expected, check_exact=False, rtol=1e-15)
    assert pd.read_csv(summary, sep="\t").shape == (1, 4)


def test_cli_trial_design__beta_spending_adds_futility_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """R: ``getDesignGroupSequential(kMax = 4, typeOfDesign = "asP", typeBetaSpending = "bsKD", gammaB = 2,
    bindingFutility = TRUE)``."""
    out = tmp_path / "f.csv"
    argv = ["--lake", str(tmp_path / "lake"), "discovery", "trial", "design", "--kmax", "4", "--type-of-design"]
    argv += ["asP", "--type-beta-spending", "bsKD", "--gamma-b", "2", "--binding-futility", "--out", str(out)]
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    table = pd.read_csv(out)
    assert list(table.columns)[5:] == ["futility_bound", "cumulative_beta_spent"]
    expected = design(kmax=4, type_of_design="asP", type_beta_spending="bsKD", gamma_b=2.0, binding_futility=True)
    pd.testing.assert_frame_equal(table, expected.table(), check_exact=False, rtol=1e-15)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kmax", "0"], "error: --kmax: must be at least 1, got 0\n"),
        (["--alpha", "1.5"], "error: --alpha: must be in (0, 1), got 1.5\n"),
        (["--sided", "3"], "error: --sided: must be 1 or 2, got 3\n"),
        (["--kmax", "25"], "error: The 'kmax' parameter of design must be an integer from 1 to 20; got 25\n"),
        (
            ["--information-rates", "0.5,x,1"],
            "error: --information-rates: expected comma-separated numbers, got '0.5,x,1'\n",
        ),
    ],
)
def test_cli_trial_design__bad_option_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """R: ``getDesignGroupSequential(kMax = 0)`` and ``(alpha = 1.5)`` fail with an argument error."""
    out = tmp_path / "d.csv"
    code, _, err = _cli(
        ["--lake", str(tmp_path / "lake"), "discovery", "trial", "design", *args, "--out", str(out)], capsys
    )
    assert code == 2
    assert err == message
    assert not out.exists()


def test_cli_trial_size__means(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """R: ``getSampleSizeMeans(alternative = 0.3, stDev = 1.2, beta = 0.1, alpha = 0.05, sided = 2,
    allocationRatioPlanned = 2, normalApproximation = FALSE)``, each arm rounded up."""
    out = tmp_path / "n.csv"
    argv = ["--lake", str(tmp_path / "lake"), "discovery", "trial", "size", "--endpoint", "means"]
    argv += ["--alternative", "0.3", "--stdev", "1.2", "--power", "0.9", "--alpha", "0.05", "--sided", "2"]
    code, _, err = _cli([*argv, "--allocation-ratio", "2", "--out", str(out)], capsys)
    assert code == 0, err
    expected = sample_size(
        endpoint="means", alternative=0.3, stdev=1.2, power=0.9, alpha=0.05, sided=2, allocation_ratio=2
    )
    pd.testing.assert_frame_equal(pd.read_csv(out), expected)


def test_cli_trial_size__rates_and_survival(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """R: ``getSampleSizeRates(pi1 = 0.5, pi2 = 0.3)`` and ``getSampleSizeSurvival(hazardRatio = 0.7,
    lambda2 = 0.05, dropoutRate1 = 0.1, dropoutRate2 = 0.1, dropoutTime = 12)``."""
    base = ["--lake", str(tmp_path / "lake"), "discovery", "trial", "size"]
    code, _, err = _cli(
        [*base, "--endpoint", "rates", "--pi1", "0.5", "--pi2", "0.3", "--out", str(tmp_path / "r.csv")], capsys
    )
    assert code == 0, err
    assert pd.read_csv(tmp_path / "r.csv").iloc[0].tolist() == [93, 93, 186]
    argv = [*base, "--endpoint", "survival", "--hazard-ratio", "0.7", "--lambda2", "0.05"]
    code, _, err = _cli(
        [*argv, "--dropout-rate1", "0.1", "--dropout-rate2", "0.1", "--out", str(tmp_path / "s.csv")], capsys
    )
    assert code == 0, err
    expected = sample_size(endpoint="survival", hazard_ratio=0.7, lambda2=0.05, dropout_rate1=0.1, dropout_rate2=0.1)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "s.csv"), expected)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--alternative", "0.5", "--power", "1.5"], "error: --power: must be in (0, 1), got 1.5\n"),
        (["--alternative", "0.5", "--allocation-ratio", "0"], "error: --allocation-ratio: must be > 0, got 0\n"),
        ([], "error: --alternative: is required for --endpoint means\n"),
        (["--endpoint", "rates", "--pi1", "0.4"], "error: --pi2: is required for --endpoint rates\n"),
        (["--endpoint", "counts"], "error: --endpoint: must be means, rates or survival, got 'counts'\n"),
    ],
)
def test_cli_trial_size__bad_option_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """R: ``getSampleSizeMeans(beta = -0.5)`` / ``getSampleSizeRates(pi1 = 0.4)`` without pi2 … are refused."""
    code, _, err = _cli(
        ["--lake", str(tmp_path / "lake"), "discovery", "trial", "size", *args, "--out", "x.csv"], capsys
    )
    assert code == 2
    assert err == message


def _charts(section: object) -> list[dict[str, object]]:
    from biolake.report.html import _Chart

    return [json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart)]  # type: ignore[attr-defined]


def test_report_section__design_has_table_and_boundary_plot(tmp_path: Path) -> None:
    """R: ``plot(getDesignGroupSequential(kMax = 4, sided = 2, alpha = 0.05))`` (boundaries on the z scale)."""
    from biolake.report.runs import build_run_report

    lake = Lake.open(tmp_path / "lake")
    run_id, *_ = design_job(lake, out=tmp_path / "d.csv", kmax=4, sided=2, alpha=0.05)
    section = next(s for s in build_run_report(lake, run_id).sections if s.title == "discovery trial design")
    assert [s.title for s in section.subsections] == ["Boundaries", "Boundary plot"]
    (spec,) = _charts(section)
    rows = next(iter(spec["datasets"].values()))  # type: ignore[union-attr]
    assert len(rows) == 8  # upper and lower boundary, 4 looks each
    assert {layer["mark"]["type"] for layer in spec["layer"]} == {"line", "point"}  # type: ignore[index]


def test_report_section__boundary_plot_shows_futility_bounds(tmp_path: Path) -> None:
    """R: ``plot(getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF", typeBetaSpending = "bsOF"))``."""
    from biolake.report.runs import build_run_report

    lake = Lake.open(tmp_path / "lake")
    run_id, *_ = design_job(lake, out=tmp_path / "d.csv", kmax=3, type_of_design="asOF", type_beta_spending="bsOF")
    section = next(s for s in build_run_report(lake, run_id).sections if s.title == "discovery trial design")
    (spec,) = _charts(section)
    rows = next(iter(spec["datasets"].values()))  # type: ignore[union-attr]
    kinds = [row["boundary"] for row in rows]
    assert kinds.count("efficacy (reject H0)") == 3 and kinds.count("futility (stop for futility)") == 2


def test_report_section__size_has_power_curve(tmp_path: Path) -> None:
    """R: ``getPowerMeans(alternative = 0.5, maxNumberOfSubjects = seq(...))`` drawn as a power curve."""
    from biolake.report.runs import build_run_report

    lake = Lake.open(tmp_path / "lake")
    run_id, _, table = size_job(lake, out=tmp_path / "n.csv", endpoint="means", alternative=0.5, stdev=1.0)
    section = next(s for s in build_run_report(lake, run_id).sections if s.title == "discovery trial size")
    assert [s.title for s in section.subsections] == ["Sample size", "Power curve"]
    (spec,) = _charts(section)
    assert spec["layer"][0]["encoding"]["y"]["field"] == "power"  # type: ignore[index]
    assert table.iloc[0]["n_total"] == 128


def test_demo_step__runs_design_and_size(tmp_path: Path) -> None:
    """R: the demo's ``getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF")`` and
    ``getSampleSizeMeans(alternative = 0.5, beta = 0.1, allocationRatioPlanned = 2)``."""
    from biolake.lake.progress import NullProgress
    from biolake.report.demo import _STEPS
    from biolake.report.sections import trials as sections

    assert any(step is sections._trials_demo for _, step in _STEPS)
    lake = Lake.open(tmp_path / "lake")
    run_ids = sections._trials_demo(lake, tmp_path, NullProgress())
    assert [lake.run_record(r).command for r in run_ids] == ["discovery trial design", "discovery trial size"]
    assert len(lake.to_pandas("trial_design")) == 3
