"""``biolake discovery trial simulate|enrollment``: the CLI, lake runs and report sections."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.discovery.trials import design
from biolake.discovery.trials.simulate import SIMULATION_COLUMNS, exact_operating_characteristics
from biolake.lake import Lake


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def _charts(section: object) -> list[dict[str, object]]:
    from biolake.report.html import _Chart

    return [json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart)]  # type: ignore[attr-defined]


def test_cli_trial_simulate__writes_per_look_table_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """R: ``getPowerMeans(getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF", typeBetaSpending = "bsOF"),
    alternative = c(0, 0.5), maxNumberOfSubjects = 130, normalApproximation = TRUE)`` is the exact side
    (rejectPerStage 1.035e-4, 5.94e-3, 1.60e-2 under H0); the simulated side is within 4 MC SE of it."""
    out, summary = tmp_path / "sim.csv", tmp_path / "sim_summary.csv"
    argv = ["--lake", str(tmp_path / "lake"), "discovery", "trial", "simulate", "--kmax", "3"]
    argv += ["--type-of-design", "asOF", "--type-beta-spending", "bsOF", "--endpoint", "means", "--alternative", "0.5"]
    argv += ["--n-max", "130", "--iterations", "50000", "--seed", "1", "--out", str(out), "--summary", str(summary)]
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    table = pd.read_csv(out)
    assert list(table.columns) == list(SIMULATION_COLUMNS)
    h0 = table[table.hypothesis == "H0"]
    np.testing.assert_allclose(h0.exact_stop_efficacy, [0.0001035057, 0.0059385449, 0.0159987383], rtol=1e-6)
    assert np.all(np.abs(h0.stop_efficacy - h0.exact_stop_efficacy) <= 4 * h0.stop_efficacy_se + 1e-4)
    s = pd.read_csv(summary)
    assert s.hypothesis.tolist() == ["H0", "H1"]
    assert s.exact_rejection.tolist() == pytest.approx([0.02204079, 0.77404576], abs=1e-7)
    assert s.exact_expected_n.tolist() == pytest.approx([73.8574, 103.6346], abs=1e-4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kmax", "0"], "error: --kmax: must be at least 1, got 0\n"),
        (["--endpoint", "counts"], "error: --endpoint: must be means, rates or survival, got 'counts'\n"),
        (["--endpoint", "survival"], "error: --hazard-ratio: is required for --endpoint survival\n"),
        (["--iterations", "5"], "error: The 'iterations' parameter of simulate must be an integer >= 100; got 5\n"),
    ],
)
def test_cli_trial_simulate__bad_option_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Bad options are refused in one line (rpact refuses kMax = 0 and unknown endpoints too)."""
    argv = ["--lake", str(tmp_path / "lake"), "discovery", "trial", "simulate", *args, "--out", str(tmp_path / "s.csv")]
    code, _, err = _cli(argv, capsys)
    assert code == 2
    assert err == message


def test_report_section__simulate_has_characteristics_and_stopping_bars(tmp_path: Path) -> None:
    """The section shows the summary, the per-look table and stacked bars of the stopping probabilities."""
    from biolake.discovery.trials.simulate import simulate_job
    from biolake.report.runs import build_run_report

    lake = Lake.open(tmp_path / "lake")
    d = design(kmax=3, type_of_design="asOF", type_beta_spending="bsOF")
    run_id, *_ = simulate_job(lake, d, out=tmp_path / "s.csv", iterations=2000, seed=1)
    section = next(s for s in build_run_report(lake, run_id).sections if s.title == "discovery trial simulate")
    assert [s.title for s in section.subsections] == ["Operating characteristics", "Per look", "Stopping probabilities"]
    (spec,) = _charts(section)
    rows = next(iter(spec["datasets"].values()))  # type: ignore[union-attr]
    assert len(rows) == 12  # 2 hypotheses × 3 looks × 2 reasons
    sums: dict[str, float] = {}
    for row in rows:
        sums[row["hypothesis"]] = sums.get(row["hypothesis"], 0.0) + row["p"]
    assert sums == pytest.approx({"H0": 1.0, "H1": 1.0})
    eff, fut = exact_operating_characteristics(d, 0.0)
    assert eff.sum() + fut.sum() == pytest.approx(1.0)


def test_cli_trial_enrollment__summary_curve_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """All 10 sites open at 0, fixed rates 2/month: T_100 ~ Gamma(100, rate 20), median 4.9834 months."""
    from biolake.report.runs import build_run_report

    out, curve = tmp_path / "enr.csv", tmp_path / "band.tsv"
    argv = ["--lake", str(tmp_path / "lake"), "discovery", "trial", "enrollment", "--sites", "10", "--rate", "2"]
    argv += ["--shape", "inf", "--target", "100", "--iterations", "4000", "--out", str(out), "--curve", str(curve)]
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    s = pd.read_csv(out)
    assert list(s.columns) == [
        "target",
        "sites",
        "time_median",
        "time_lower",
        "time_upper",
        "time_mean",
        "level",
        "iterations",
    ]
    assert s.time_median.iloc[0] == pytest.approx(4.9834, abs=0.05)
    assert s.time_mean.iloc[0] == pytest.approx(5.0, abs=0.03)
    band = pd.read_csv(curve, sep="\t")
    assert list(band.columns) == ["time", "n_lower", "n_median", "n_upper", "n_mean"]
    assert np.all(np.diff(band.n_median) >= 0)
    lake = Lake.open(tmp_path / "lake")
    run_id = lake.info("enr").run_id
    section = next(s for s in build_run_report(lake, run_id).sections if s.title == "discovery trial enrollment")
    assert [s.title for s in section.subsections] == ["Time to target", "Recruitment band"]
    (spec,) = _charts(section)
    assert {layer["mark"]["type"] for layer in spec["layer"]} == {"area", "line", "rule"}  # type: ignore[index]


def test_cli_trial_enrollment__bad_site_start_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--site-start with the wrong number of times is one line."""
    argv = ["--lake", str(tmp_path / "lake"), "discovery", "trial", "enrollment", "--sites", "3", "--rate", "1"]
    code, _, err = _cli([*argv, "--target", "10", "--site-start", "0,1", "--out", str(tmp_path / "e.csv")], capsys)
    assert code == 2
    assert err == "error: --site-start: expected 3 times (one per site), got 2\n"


def test_demo_step__runs_simulate_enrollment_and_match(tmp_path: Path) -> None:
    """The demo's simulation (rpact: the asOF + bsOF design's exact power 0.8 at its own maximum size for
    δ = 0.5), recruitment and screening runs, each with its report section."""
    from biolake.lake.progress import NullProgress
    from biolake.report.demo import _STEPS
    from biolake.report.runs import build_run_report
    from biolake.report.sections import trials as sections

    assert any(step is sections._trials_simulation_demo for _, step in _STEPS)
    lake = Lake.open(tmp_path / "lake")
    run_ids = sections._trials_simulation_demo(lake, tmp_path, NullProgress())
    commands = [lake.run_record(r).command for r in run_ids]
    assert commands == ["discovery trial simulate", "discovery trial enrollment", "discovery trial match"]
    summary = lake.run_record(run_ids[0]).params["summary"]
    assert summary[1]["exact_rejection"] == pytest.approx(0.8, abs=1e-9)
    for run_id, command in zip(run_ids, commands, strict=True):
        titles = [s.title for s in build_run_report(lake, run_id).sections]
        assert command in titles
    funnel = pd.read_csv(tmp_path / "trial_eligible.csv")
    assert len(funnel) == lake.run_record(run_ids[2]).params["funnel"][-1]["remaining"]


def test_enrollment_job__band_kept_in_the_lake_without_curve_file(tmp_path: Path) -> None:
    """Without --curve the band is the lake dataset <name>_curve and the report still plots it;
    its mean count at t is Σλ·t = 5 sites × 1/month × t (shape inf: fixed rates)."""
    from biolake.discovery.trials.enrollment import enrollment_job
    from biolake.report.runs import build_run_report

    lake = Lake.open(tmp_path / "lake")
    run_id, name, _, band = enrollment_job(
        lake, out=tmp_path / "e.csv", sites=5, rate=1.0, target=50, shape=float("inf"), iterations=2000
    )
    stored = lake.to_pandas(f"{name}_curve")
    pd.testing.assert_frame_equal(stored, band)
    np.testing.assert_allclose(stored.n_mean, 5 * stored.time, rtol=0.05, atol=0.2)
    section = next(s for s in build_run_report(lake, run_id).sections if s.title == "discovery trial enrollment")
    assert [s.title for s in section.subsections] == ["Time to target", "Recruitment band"]
