"""Kernels of ``precision cohort``: stratified Cox (vs R survival), empirical calibration, matching, SMD.

Reference for the stratified Cox model (``tests/data/precision/cohort/make_stratified_cox.R``,
R 4.2.2, survival 3.5.3)::

    library(survival)
    d <- read.csv("stratified_cox_data.csv")   # 200 matched sets of 1 target : 2 comparators
    coxph(Surv(time, event) ~ x + strata(set_id), data = d, ties = "efron")
    coxph(Surv(time, event) ~ x, data = d, ties = "efron")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import stats

from biolake.precision.cohort.calibration import EmpiricalNull, calibrate_ci, calibrate_p, fit_null
from biolake.precision.cohort.outcome import incidence_rate, mdrr, stratified_cox
from biolake.precision.cohort.ps import balance, match_on_ps, stratify_by_ps
from biolake.stats.coxph import coxph_efron

DATA = Path(__file__).parents[1] / "data" / "precision" / "cohort"


def test_stratified_cox__matches_r_coxph_strata_efron() -> None:
    """coef, model SE and log partial likelihood equal R coxph(... + strata(set_id), ties = "efron") to 1e-8."""
    d = pd.read_csv(DATA / "stratified_cox_data.csv")
    ref = pd.read_csv(DATA / "stratified_cox_ref.csv").set_index("model")
    fit = stratified_cox(d["time"], d["event"], d["x"], strata=d["set_id"])
    r = ref.loc["strata_efron"]
    assert fit.coef == pytest.approx(r["coef"], abs=1e-8)
    assert fit.se == pytest.approx(r["se"], abs=1e-8)
    assert fit.loglik == pytest.approx(r["loglik"], abs=1e-7)
    # Breslow differs (R's breslow fit): the tie handling matters on day-resolution times
    assert abs(fit.coef - ref.loc["strata_breslow", "coef"]) > 1e-3


def test_stratified_cox__one_stratum_equals_r_and_stats_coxph() -> None:
    """Without strata the fit is R coxph(Surv(time, event) ~ x) and biolake.stats.coxph_efron."""
    d = pd.read_csv(DATA / "stratified_cox_data.csv")
    r = pd.read_csv(DATA / "stratified_cox_ref.csv").set_index("model").loc["plain_efron"]
    fit = stratified_cox(d["time"], d["event"], d["x"])
    assert fit.coef == pytest.approx(r["coef"], abs=1e-8)
    assert fit.se == pytest.approx(r["se"], abs=1e-8)
    ours = coxph_efron(d["time"].to_numpy(float), d["event"].to_numpy(), d["x"].to_numpy(float)[:, None])
    assert fit.coef == pytest.approx(float(ours.coef[0]), abs=1e-8)


def test_stratified_cox__no_events_in_one_arm_is_nan() -> None:
    """All events among the comparators: the MLE is -inf, reported as NaN (CohortMethod reports NA)."""
    t = np.arange(1.0, 11.0)
    e = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    x = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1.0])
    fit = stratified_cox(t, e, x)
    assert np.isnan(fit.coef) and all(np.isnan(v) for v in fit.hr_ci())


def test_fit_null__closed_form_with_equal_standard_errors() -> None:
    """With equal SEs s the ML null is mean = average, sd² = max(0, population variance − s²)."""
    est = np.array([0.3, -0.1, 0.5, 0.2, 0.9, -0.4, 0.1])
    s = 0.15
    null = fit_null(est, np.full(len(est), s))
    assert null.mean == pytest.approx(est.mean(), abs=1e-6)
    assert null.sd == pytest.approx(np.sqrt(est.var() - s * s), abs=1e-6)
    assert null.n == 7
    # EmpiricalCalibration's own unit test: fitNull(c(1, 2), c(0, 0)) has mean 1.5
    assert fit_null([1.0, 2.0], [0.0, 0.0]).mean == pytest.approx(1.5, abs=1e-3)
    # estimates with missing values are dropped first
    assert fit_null([1.0, 2.0, np.nan], [0.0, 0.0, 0.1]).n == 2


def test_calibrate_p__null_at_zero_is_traditional_p_and_bias_moves_it() -> None:
    """calibrateP with mean 0, sd 0 is 2Φ(−|θ/s|); a null shifted to θ gives p = 1; CI widens by the null sd."""
    theta, se = np.array([0.5, -0.2]), np.array([0.2, 0.1])
    p = calibrate_p(EmpiricalNull(0.0, 0.0, 10), theta, se)
    np.testing.assert_allclose(p, 2 * stats.norm.sf(np.abs(theta / se)), rtol=1e-12)
    assert calibrate_p(EmpiricalNull(0.5, 0.1, 10), np.array([0.5]), np.array([0.2]))[0] == pytest.approx(1.0)
    hr, lo, hi = calibrate_ci(EmpiricalNull(0.1, 0.2, 10), np.array([0.5]), np.array([0.15]))
    z = stats.norm.ppf(0.975)
    assert hr[0] == pytest.approx(np.exp(0.4))
    assert lo[0] == pytest.approx(np.exp(0.4 - z * 0.25)) and hi[0] == pytest.approx(np.exp(0.4 + z * 0.25))


def test_mdrr_and_incidence__hand_calculation() -> None:
    """MDRR = exp(√((z₀.₉₇₅ + z₀.₈)² / (p(1−p)·events))); IR = events / years × 1000."""
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    assert mdrr(100, 300, 40) == pytest.approx(np.exp(np.sqrt(z * z / (0.25 * 0.75 * 40))))
    assert incidence_rate(10, 3652.5) == pytest.approx(1000.0)
    assert np.isnan(incidence_rate(0, 0))


def test_match_on_ps__nearest_within_caliper_by_hand() -> None:
    """Logit PS: targets at 0.0 and 1.0, comparators at 0.05, 0.9, 3.0; caliper 0.2·SD(ddof 1) = 0.2·1.2157 ≈ 0.243."""
    logit = np.array([0.0, 1.0, 0.05, 0.9, 3.0])
    ps = 1 / (1 + np.exp(-logit))
    treat = np.array([1, 1, 0, 0, 0])
    sets = match_on_ps(ps, treat, max_ratio=1, caliper=0.2)
    assert sets.tolist() == [0, 1, 0, 1, -1]
    # a caliper of 0.03 SD (≈ 0.036) keeps no pair (nearest gaps are 0.05 and 0.1)
    assert match_on_ps(ps, treat, caliper=0.03).tolist() == [-1] * 5
    # 1:2 with a wide caliper: the first round pairs as above, the second gives target 1.0 the comparator at 3.0
    # (target 0.0 has no comparator left); order of rounds as CohortMethod's greedy variable-ratio matching
    wide = match_on_ps(ps, treat, max_ratio=2, caliper=10.0)
    assert wide.tolist() == [0, 1, 0, 1, 1]


def test_balance__smd_by_hand_and_att_weights() -> None:
    """SMD = (m_t − m_c)/√((m_t(1−m_t) + m_c(1−m_c))/2); after matching a comparator weighs 1/k in its set."""
    x = sp.csr_matrix(np.array([[1], [1], [0], [1], [0], [0]], dtype=float))
    treat = np.array([1, 1, 0, 0, 0, 0])
    group = np.array([0, 1, 0, 0, 1, -1])  # set 0: one target + two comparators; set 1: one + one; one unmatched
    b = balance(x, treat, group)
    mt, mc = 1.0, 1 / 4
    assert b["std_diff_before"][0] == pytest.approx((mt - mc) / np.sqrt((0 + mc * (1 - mc)) / 2))
    mc_after = (0.5 * 0 + 0.5 * 1 + 1 * 0) / 2  # weights 1/2, 1/2 in set 0, 1 in set 1
    assert b["comparator_mean_after"][0] == pytest.approx(mc_after)
    assert b["std_diff_after"][0] == pytest.approx((1 - mc_after) / np.sqrt(mc_after * (1 - mc_after) / 2))


def test_stratify_by_ps__quintiles_of_everyone() -> None:
    """Five strata at the PS quintiles: 100 distinct scores give 20 per stratum."""
    strata = stratify_by_ps(np.linspace(0.01, 0.99, 100), strata=5)
    assert np.bincount(strata).tolist() == [20] * 5
