"""Synthetic control on constructed panels whose answer is known, and the impact CLI end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.lake import Lake
from biolake.publichealth._synth import synth_weights
from biolake.publichealth.impact import interrupted_time_series, synthetic_control

DATA = Path(__file__).resolve().parents[1] / "data" / "publichealth" / "impact"


def _panel(effect: float = 3.0, weights: tuple[float, ...] = (0.5, 0.3, 0.2, 0.0, 0.0), seed: int = 1) -> pd.DataFrame:
    """Donors are random walks; the treated unit is an exact convex combination plus ``effect`` from period 13."""
    rng = np.random.default_rng(seed)
    t, j = 20, len(weights)
    donors = rng.normal(0, 1, (t, j)).cumsum(0) + 3 * np.arange(j)
    treated = donors @ np.asarray(weights)
    treated[12:] += effect
    rows = [(f"d{k}", s + 1, donors[s, k]) for k in range(j) for s in range(t)]
    rows += [("T", s + 1, treated[s]) for s in range(t)]
    return pd.DataFrame(rows, columns=["unit", "period", "y"])


def test_synth_weights__recover_an_exact_convex_combination() -> None:
    rng = np.random.default_rng(7)
    donors = rng.normal(size=(15, 6))
    w = np.array([0.0, 0.45, 0.0, 0.35, 0.2, 0.0])
    np.testing.assert_allclose(synth_weights(donors @ w, donors), w, atol=1e-7)


def test_synthetic_control__known_weights_zero_pre_error_and_effect() -> None:
    res = synthetic_control(_panel(), treated="T", intervention=13)
    eff = res.effects.set_index("term").estimate
    np.testing.assert_allclose([eff[f"weight[d{k}]"] for k in range(5)], [0.5, 0.3, 0.2, 0, 0], atol=1e-7)
    assert eff["pre_rmspe"] < 1e-7
    assert eff["att"] == pytest.approx(3.0, abs=1e-6)
    treated = res.series[res.series.role == "treated"]
    np.testing.assert_allclose(treated.gap.to_numpy()[12:], 3.0, atol=1e-6)


def test_synthetic_control__placebo_p_value_is_rank_over_units() -> None:
    # the treated unit fits perfectly before and is off by 3 after: the largest RMSPE ratio of all 6 units
    res = synthetic_control(_panel(), treated="T", intervention=13)
    assert res.effects.set_index("term").p["att"] == pytest.approx(1 / 6)
    assert set(res.series.role) == {"treated", "placebo"}
    assert res.series.unit.nunique() == 6


def test_synthetic_control__unbalanced_panel_is_an_input_error() -> None:
    from biolake.errors import InputError

    panel = _panel().iloc[1:]
    with pytest.raises(InputError, match="not balanced: unit d0"):
        synthetic_control(panel, treated="T", intervention=13)


def test_interrupted_time_series__duplicated_date_is_an_input_error() -> None:
    from biolake.errors import InputError

    df = pd.read_csv(DATA / "its_monthly.csv")
    df = pd.concat([df, df.iloc[[3]]], ignore_index=True)
    with pytest.raises(InputError, match="duplicated row"):
        interrupted_time_series(df, intervention="2019-01-01", model="poisson")


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_cli_impact_its__writes_effects_and_series(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, series = tmp_path / "its.csv", tmp_path / "its_series.parquet"
    argv = [
        "--lake",
        str(tmp_path / "lake"),
        "publichealth",
        "impact",
        "its",
        str(DATA / "its_monthly.csv"),
        "--intervention",
        "2019-01-01",
        "--model",
        "quasipoisson",
        "--season",
        "fourier",
        "--population-col",
        "population",
        "--out",
        str(out),
        "--series-out",
        str(series),
        "-q",
    ]
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    effects = pd.read_csv(out)
    assert list(effects.columns) == ["model", "term", "estimate", "se", "ci_lower", "ci_upper", "p"]
    ref = pd.read_csv(DATA / "ref_its.csv")
    ref = ref[ref.model == "quasipoisson_fourier2_offset"].set_index("term")
    np.testing.assert_allclose(effects.set_index("term").loc[ref.index, "se"], ref.se, rtol=1e-6)
    s = pd.read_parquet(series)
    assert {"observed", "fitted", "counterfactual", "cf_lower", "cf_upper", "post"} <= set(s.columns)
    lake = Lake.open(tmp_path / "lake")
    record = lake.run_record(lake.info("its").run_id or "")
    assert record.command == "publichealth impact its"
    assert sorted(record.outputs) == ["its", "its_series"]


def test_cli_impact_did__negative_treatment_value_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "panel.csv"
    bad.write_text("unit,period,treat,y\na,1,0,1.0\na,2,2,1.5\nb,1,0,0.3\nb,2,0,0.2\n")
    out = tmp_path / "did.csv"
    code, _, err = _cli(
        ["--lake", str(tmp_path / "lake"), "publichealth", "impact", "did", str(bad), "--out", str(out)], capsys
    )
    assert code == 2
    assert err == f"error: {bad}: the treatment column must hold 0/1\n"
    assert not out.exists()
    assert not Lake.open(tmp_path / "lake").names()


def test_interrupted_time_series__missing_month_is_an_input_error() -> None:
    from biolake.errors import InputError

    df = pd.read_csv(DATA / "its_monthly.csv").drop(index=[10])
    with pytest.raises(InputError, match=r"not evenly spaced \(2015-10-01 to 2015-12-01\)"):
        interrupted_time_series(df, intervention="2019-01-01", model="poisson")


def test_interrupted_time_series__numeric_weeks_and_exact_segments() -> None:
    # a noise-free segmented line: level -4 and slope -0.25 are recovered exactly (OLS through the points)
    t = np.arange(1, 31)
    y = 10 + 0.5 * t - 4.0 * (t >= 16) - 0.25 * np.clip(t - 16, 0, None)
    res = interrupted_time_series(pd.DataFrame({"week": t, "y": y}), outcome_col="y", date_col="week", intervention=16)
    est = res.effects.set_index("term").estimate
    np.testing.assert_allclose(est[["(Intercept)", "time", "level", "slope"]], [10, 0.5, -4, -0.25], atol=1e-10)
    post = res.series.post.to_numpy()
    np.testing.assert_allclose(res.series.counterfactual[post], 10 + 0.5 * t[post], atol=1e-10)
