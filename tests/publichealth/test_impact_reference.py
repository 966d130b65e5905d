"""Interrupted time series and difference-in-differences against R (sandwich, lmtest, MASS).

The reference outputs were made by ``tests/data/publichealth/impact/make_impact_reference.R``
(versions in ``versions.txt``) from the simulated inputs it wrote beside them. In R::

    ols <- lm(rate ~ time + level + slope + x, data = d)
    NeweyWest(ols, lag = 3, prewhite = FALSE, adjust = FALSE)     # and adjust = TRUE, lag = 0
    coeftest(ols, vcov. = V); coefci(ols, vcov. = V)
    glm(count ~ time + level + slope + sin1 + cos1 + sin2 + cos2 + offset(log(population)),
        family = poisson | quasipoisson, control = glm.control(epsilon = 1e-12, maxit = 100))
    glm.nb(count ~ time + level + slope + sin1 + cos1 + offset(log(population)), control = ctl)
    glm(count ~ time + level + slope + factor(month) + x, family = poisson)
    predict(pf, newdata = cf, type = "link", se.fit = TRUE)       # counterfactual band
    tw <- lm(y ~ treat + factor(unit) + factor(period), data = panel)
    vcovCL(tw, cluster = ~unit, type = "HC1")                     # and "HC0"
    lm(y ~ rel_m8 + ... + rel_8 + factor(unit) + factor(period)) with vcovCL(type = "HC1")

with ``level = 1{date >= 2019-01-01}``, ``slope = (time - t0) * level``, ``sin_k/cos_k`` of
``2 pi k time / 12``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.publichealth.impact import difference_in_differences, interrupted_time_series
from biolake.stats.hac import cluster_robust, newey_west

DATA = Path(__file__).resolve().parents[1] / "data" / "publichealth" / "impact"
ITS = DATA / "its_monthly.csv"
PANEL = DATA / "did_panel.csv"


def _ref(file: str, model: str) -> pd.DataFrame:
    ref = pd.read_csv(DATA / file)
    return ref[ref.model == model].set_index("term")


def _compare(effects: pd.DataFrame, ref: pd.DataFrame, *, tol: float) -> None:
    got = effects.set_index("term").loc[ref.index]
    np.testing.assert_allclose(got.estimate.to_numpy(), ref.estimate.to_numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(got.se.to_numpy(), ref.se.to_numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize(
    ("model", "lag", "adjust"),
    [("ols_nw3_adjust_FALSE", 3, False), ("ols_nw3_adjust_TRUE", 3, True), ("ols_nw0_adjust_FALSE", 0, False)],
)
def test_interrupted_time_series__ols_newey_west_matches_r(model: str, lag: int, adjust: bool) -> None:
    res = interrupted_time_series(
        ITS, outcome_col="rate", intervention="2019-01-01", covariates=["x"], lag=lag, hac_adjust=adjust
    )
    _compare(res.effects, _ref("ref_its.csv", model), tol=1e-8)


def test_interrupted_time_series__ols_tests_and_intervals_match_lmtest() -> None:
    res = interrupted_time_series(ITS, outcome_col="rate", intervention="2019-01-01", covariates=["x"], lag=3)
    ref = pd.read_csv(DATA / "ref_its_ols_tests.csv").set_index("term")
    got = res.effects.set_index("term").loc[ref.index]
    np.testing.assert_allclose(got.p.to_numpy(), ref.p.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(
        got[["ci_lower", "ci_upper"]].to_numpy(), ref[["ci_lower", "ci_upper"]].to_numpy(), rtol=1e-8
    )


@pytest.mark.parametrize(
    ("model", "options"),
    [
        ("poisson_fourier2_offset", dict(model="poisson", season="fourier", harmonics=2, population_col="population")),
        (
            "quasipoisson_fourier2_offset",
            dict(model="quasipoisson", season="fourier", harmonics=2, population_col="population"),
        ),
        ("negbin_fourier1_offset", dict(model="negbin", season="fourier", harmonics=1, population_col="population")),
        ("poisson_month_x", dict(model="poisson", season="month", covariates=["x"])),
    ],
)
def test_interrupted_time_series__glm_matches_r(model: str, options: dict) -> None:
    res = interrupted_time_series(ITS, outcome_col="count", intervention="2019-01-01", **options)
    ref = _ref("ref_its.csv", model)
    _compare(res.effects, ref, tol=1e-6)


def test_interrupted_time_series__counterfactual_band_matches_r_predict() -> None:
    res = interrupted_time_series(
        ITS,
        outcome_col="count",
        intervention="2019-01-01",
        model="poisson",
        season="fourier",
        population_col="population",
    )
    ref = pd.read_csv(DATA / "ref_its_counterfactual.csv")
    post = res.series.post.to_numpy()
    for col in ("counterfactual", "cf_lower", "cf_upper"):
        np.testing.assert_allclose(res.series[col].to_numpy()[post], ref[col].to_numpy()[post], rtol=1e-6)
    assert res.series.cf_lower[~post].isna().all()


def test_interrupted_time_series__by_series_fits_each_series() -> None:
    one = pd.read_csv(ITS)
    two = pd.concat([one.assign(region="A"), one.assign(region="B", rate=one.rate * 2)])
    res = interrupted_time_series(
        two, outcome_col="rate", date_col="date", by=["region"], intervention="2019-01-01", covariates=["x"], lag=3
    )
    ref = _ref("ref_its.csv", "ols_nw3_adjust_FALSE")
    _compare(res.effects[res.effects.region == "A"], ref, tol=1e-8)
    b = res.effects[res.effects.region == "B"].set_index("term").loc[ref.index]
    np.testing.assert_allclose(b.estimate, 2 * ref.estimate, rtol=1e-8)  # OLS is linear in y


@pytest.mark.parametrize(("model", "hc_type"), [("twfe_hc1", "HC1"), ("twfe_hc0", "HC0")])
def test_difference_in_differences__twfe_matches_vcovcl(model: str, hc_type: str) -> None:
    res = difference_in_differences(PANEL, hc_type=hc_type)
    _compare(res.effects, _ref("ref_did.csv", model), tol=1e-8)


def test_difference_in_differences__event_study_matches_vcovcl() -> None:
    res = difference_in_differences(PANEL, design="event-study")
    ref = _ref("ref_did.csv", "event_study_hc1")
    _compare(res.effects, ref, tol=1e-8)
    reference = res.effects.set_index("term").loc["rel_m1"]
    assert reference.estimate == 0 and np.isnan(reference.se)
    assert res.effects.event_time.is_monotonic_increasing


def test_newey_west__lag1_matches_r_on_a_hand_example() -> None:
    # R: x <- 0:5; y <- 1 + 2*x + c(.5,-.2,.1,-.4,.3,-.3); NeweyWest(lm(y ~ x), lag = 1, prewhite = FALSE)
    x = np.column_stack([np.ones(6), np.arange(6.0)])
    y = x @ [1.0, 2.0] + np.array([0.5, -0.2, 0.1, -0.4, 0.3, -0.3])
    resid = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    expected = np.array([[0.019552964, -0.005440233], [-0.005440233, 0.002061808]])
    np.testing.assert_allclose(newey_west(x, resid, lag=1), expected, rtol=0, atol=1e-9)  # R printed 7 digits


def test_cluster_robust__single_observation_clusters_equal_hc1_white() -> None:
    # with one observation per cluster, vcovCL(HC1) = G/(G-1) * (n-1)/(n-k) * White's HC0 = n/(n-k) * HC0 when G = n
    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(30), rng.normal(size=30)])
    e = rng.normal(size=30)
    bread = np.linalg.inv(x.T @ x)
    hc0 = bread @ (x.T * e**2) @ x @ bread
    np.testing.assert_allclose(cluster_robust(x, e, np.arange(30)), hc0 * 30 / 28, rtol=1e-12)
