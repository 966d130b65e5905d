"""SIR/SEIR: the ODE solution against R deSolve, and maximum-likelihood fits recovering known parameters.

Reference trajectories (``tests/data/publichealth/impact/make_impact_reference.R``)::

    seir <- function(t, s, p) with(as.list(c(s, p)), {
      inf <- beta * S * I / N
      list(c(-inf, inf - sigma * E, sigma * E - gamma * I, gamma * I, sigma * E)) })
    ode(c(S = N - 10, E = 0, I = 10, R = 0, C = 0), 0:120, seir,
        c(beta = 0.6, sigma = 1/3, gamma = 1/5, N = 1e6), method = "lsoda", rtol = 1e-12, atol = 1e-8)
    # SIR: beta = 0.45, gamma = 1/4, I(0) = 5
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.publichealth.seir import (
    _rk4_cumulative,
    fit_compartmental,
    fit_seir,
    profile_interval,
    simulate_incidence,
    trajectory,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "publichealth" / "impact"
CASES = [
    ("seir", "ref_seir_trajectory.csv", dict(beta=0.6, sigma=1 / 3, gamma=1 / 5, i0=10)),
    ("sir", "ref_sir_trajectory.csv", dict(beta=0.45, gamma=1 / 4, i0=5)),
]


@pytest.mark.parametrize(("model", "file", "params"), CASES)
def test_trajectory__matches_desolve(model: str, file: str, params: dict) -> None:
    ref = pd.read_csv(DATA / file)
    got = trajectory(ref.time, model=model, population=1e6, **params)
    for col in "SEIRC":
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("model", "file", "params"), CASES)
def test_rk4_incidence__matches_desolve(model: str, file: str, params: dict) -> None:
    # the fitting solver (RK4, 64 sub-steps) against deSolve: incidence C(t) - C(t-1)
    ref = pd.read_csv(DATA / file)
    c = _rk4_cumulative(
        120, model == "seir", params["beta"], params.get("sigma", 0.0), params["gamma"], 1e6, params["i0"], 64
    )
    np.testing.assert_allclose(np.diff(c), np.diff(ref.C.to_numpy()), rtol=1e-6, atol=1e-6)


def test_fit_seir__recovers_sir_parameters_from_simulated_incidence() -> None:
    y = simulate_incidence(100, model="sir", beta=0.45, gamma=0.25, population=1e5, i0=5, seed=3)
    effects, series = fit_seir(pd.DataFrame({"count": y}), model="sir", population=1e5, horizon=10, draws=100)
    est = effects.set_index("term")
    for term, truth in (("beta", 0.45), ("gamma", 0.25), ("i0", 5.0), ("R0", 1.8)):
        assert est.ci_lower[term] < truth < est.ci_upper[term], term
        assert est.estimate[term] == pytest.approx(truth, rel=0.05), term
    assert len(series) == 110 and series.projected.sum() == 10
    assert series.observed[series.projected].isna().all()
    assert (series.lower <= series.upper).all()


def test_fit_seir__negbin_seir_with_fixed_sigma_and_dates() -> None:
    y = simulate_incidence(
        80, model="seir", beta=0.6, gamma=0.2, sigma=1 / 3, population=1e5, i0=5, seed=4, observation="negbin", theta=20
    )
    df = pd.DataFrame({"date": pd.date_range("2024-03-01", periods=80).date, "count": y.astype(int)})
    effects, series = fit_seir(df, model="seir", population=1e5, sigma=1 / 3, observation="negbin", horizon=5, draws=50)
    est = effects.set_index("term")
    assert est.kind["sigma"] == "fixed" and est.estimate["sigma"] == pytest.approx(1 / 3)
    for term, truth in (("beta", 0.6), ("gamma", 0.2), ("R0", 3.0)):
        assert est.ci_lower[term] < truth < est.ci_upper[term], term
    assert 10 < est.estimate["theta"] < 40  # the NB size (20) is estimated loosely from 80 points
    assert str(series.date.iloc[-1]) == "2024-05-24"


def test_profile_interval__bounds_solve_the_likelihood_ratio_equation() -> None:
    # independent check: refit with beta fixed at each bound (i0 free); 2 (l_max - l_bound) = chi2_1(0.95)
    y = simulate_incidence(60, model="sir", beta=0.45, gamma=0.25, population=1e5, i0=5, seed=5)
    fit = fit_compartmental(y, model="sir", population=1e5, gamma=0.25)
    lo, hi = profile_interval(fit, "beta", level=0.95)
    assert lo < np.exp(fit.log_estimate[0]) < hi
    for bound in (lo, hi):
        at = fit_compartmental(y, model="sir", population=1e5, gamma=0.25, beta=bound)
        assert 2 * (fit.loglik - at.loglik) == pytest.approx(3.841458820694124, abs=2e-3)


def test_cli_seir__writes_effects_and_projection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from biolake.cli import main

    y = simulate_incidence(50, model="sir", beta=0.5, gamma=0.25, population=1e4, i0=3, seed=6)
    inc = tmp_path / "inc.csv"
    pd.DataFrame({"region": "A", "date": pd.date_range("2024-01-01", periods=50).date, "count": y.astype(int)}).to_csv(
        inc, index=False
    )
    out, series = tmp_path / "seir.csv", tmp_path / "seir_series.csv"
    argv = [
        "--lake",
        str(tmp_path / "lake"),
        "publichealth",
        "seir",
        str(inc),
        "--model",
        "sir",
        "--population",
        "10000",
        "--by",
        "region",
        "--horizon",
        "7",
        "--draws",
        "20",
        "--out",
        str(out),
        "--series-out",
        str(series),
        "-q",
    ]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code in (0, None), capsys.readouterr().err
    effects = pd.read_csv(out)
    assert list(effects.columns[:7]) == ["region", "term", "estimate", "se", "ci_lower", "ci_upper", "p"]
    assert effects.term.tolist() == ["beta", "gamma", "i0", "R0"]
    s = pd.read_csv(series)
    assert len(s) == 57 and s.projected.sum() == 7 and s.date.iloc[-1] == "2024-02-26"
