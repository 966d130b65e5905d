"""Risk-factor models against R 4.2.2 ``glm``, MASS 7.3-58.2 ``glm.nb`` and epiR 2.0.57 / ``mantelhaen.test``.

Reference outputs: ``tests/data/publichealth/riskfactors/make_riskfactors_reference.R``
(R's fits with ``glm.control(epsilon = 1e-14)``, refitted from the converged
coefficients so that the SEs are evaluated at the estimate; see the README there).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.errors import InputError
from biolake.publichealth.riskfactors import RISK_FACTOR_COLUMNS, risk_factors
from biolake.stats.glm import glm_fit, glm_nb, theta_ml

DATA = Path(__file__).resolve().parents[1] / "data" / "publichealth" / "riskfactors"
TOL = 1e-8


@pytest.fixture(scope="module")
def glm_reference() -> pd.DataFrame:
    return pd.read_csv(DATA / "glm_reference.csv")


def _check(res: pd.DataFrame, ref: pd.DataFrame, data: str, model: str, analysis: str) -> None:
    want = ref[(ref["data"] == data) & (ref["model"] == model)]
    got = res[res["analysis"] == analysis]
    assert got["term"].tolist() == want["term"].tolist()
    np.testing.assert_allclose(got["coef"], want["coef"], rtol=0, atol=TOL)
    np.testing.assert_allclose(got["se"], want["se"], rtol=0, atol=TOL)
    np.testing.assert_allclose(got["p"], want["p"], rtol=1e-6, atol=1e-300)
    np.testing.assert_allclose(got["estimate"], np.exp(want["coef"]), rtol=TOL)
    z = 1.959963984540054
    np.testing.assert_allclose(got["ci_lower"], np.exp(want["coef"] - z * want["se"]), rtol=TOL)
    np.testing.assert_allclose(got["ci_upper"], np.exp(want["coef"] + z * want["se"]), rtol=TOL)


def test_risk_factors__logistic_matches_glm(glm_reference: pd.DataFrame) -> None:
    """R: ``glm(chd69 ~ dibpat0 + age0 + chol0 + sbp0 + smoker + arcus0, binomial, wcgs)`` (na.omit: 14 rows)."""
    res, info = risk_factors(
        DATA / "wcgs.csv", outcome="chd69", exposures=["dibpat0", "age0", "chol0", "sbp0", "smoker", "arcus0"]
    )
    assert list(res.columns) == list(RISK_FACTOR_COLUMNS)
    assert info["rows_used"] == 3140 and (res["n"] == 3140).all()
    assert res["measure"].tolist() == ["odds"] + ["odds_ratio"] * 6
    _check(res, glm_reference, "wcgs", "logistic", "logistic")


def test_risk_factors__logistic_default_control_within_tolerance(glm_reference: pd.DataFrame) -> None:
    """R's default ``glm.control(epsilon = 1e-8)`` stops short of the optimum: SEs within 1e-6 of ours (1.3e-7 here)."""
    res, _ = risk_factors(
        DATA / "wcgs.csv", outcome="chd69", exposures=["dibpat0", "age0", "chol0", "sbp0", "smoker", "arcus0"]
    )
    want = glm_reference[glm_reference["model"] == "logistic_default_control"]
    np.testing.assert_allclose(res["coef"], want["coef"], atol=1e-9)
    np.testing.assert_allclose(res["se"], want["se"], atol=1e-6)


def test_risk_factors__strata_factor_and_mantel_haenszel(glm_reference: pd.DataFrame) -> None:
    """R: ``glm(chd69 ~ dibpat0 + smoker + agegrp, binomial, wcgs)`` and, per exposure over agegrp,
    ``epi.2by2(tab3, method = "cohort.count")`` (OR.mh.wald + bOR.homog, RR.mh.wald + wRR.homog) and
    ``mantelhaen.test(tab3, correct = FALSE)``.
    """
    res, _ = risk_factors(DATA / "wcgs.csv", outcome="chd69", exposures=["dibpat0", "smoker"], strata="agegrp")
    _check(res, glm_reference, "wcgs", "logistic_strata", "logistic")
    mh = pd.read_csv(DATA / "mh_reference.csv")
    mh = mh[(mh["data"] == "wcgs") & (mh["measure"] != "risk_difference")]
    got = res[res["analysis"] == "mantel-haenszel"]
    merged = mh.merge(got, left_on=["exposure", "measure"], right_on=["term", "measure"], suffixes=("_r", ""))
    assert len(merged) == 4
    for col in ("estimate", "ci_lower", "ci_upper", "p", "homogeneity_stat", "homogeneity_p"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_r"], rtol=1e-9, atol=0)
    assert (merged["homogeneity_test"] == merged["homogeneity"]).all()
    assert (merged["homogeneity_df"] == 3).all()
    # stats::mantelhaen.test's own MH odds ratio and CI are the same numbers
    odds = merged[merged["measure"] == "odds_ratio"]
    np.testing.assert_allclose(odds["estimate"], odds["mh_or_stats"], rtol=1e-9)
    np.testing.assert_allclose(odds["ci_lower"], odds["mh_or_lower_stats"], rtol=1e-9)


def test_risk_factors__poisson_offset_matches_glm(glm_reference: pd.DataFrame) -> None:
    """R: ``glm(chd69 ~ dibpat0 + age0 + chol0 + smoker + offset(log(time169)), poisson, wcgs)``."""
    res, info = risk_factors(
        DATA / "wcgs.csv", outcome="chd69", exposures=["dibpat0", "age0", "chol0", "smoker"], person_time="time169"
    )
    assert info["model"] == "poisson"
    assert res["measure"].tolist() == ["rate"] + ["rate_ratio"] * 4
    _check(res, glm_reference, "wcgs", "poisson", "poisson")


def test_risk_factors__poisson_factors_offset_matches_glm(glm_reference: pd.DataFrame) -> None:
    """R: ``glm(Claims ~ District + Group + Age + offset(log(Holders)), poisson, Insurance)`` (MASS; factors
    unordered, levels in code-point order).
    """
    res, _ = risk_factors(
        DATA / "insurance.csv",
        outcome="Claims",
        exposures=["District", "Group", "Age"],
        person_time="Holders",
        factors=["District"],
    )
    _check(res, glm_reference, "insurance", "poisson", "poisson")


def test_risk_factors__negbin_matches_glm_nb(glm_reference: pd.DataFrame) -> None:
    """R: ``MASS::glm.nb(Days ~ Eth + Sex + Age + Lrn, data = quine)``; theta to 1e-10 relative."""
    res, info = risk_factors(DATA / "quine.csv", outcome="Days", exposures=["Eth", "Sex", "Age", "Lrn"], model="negbin")
    _check(res, glm_reference, "quine", "negbin", "negbin")
    want = glm_reference[(glm_reference["data"] == "quine") & (glm_reference["model"] == "negbin")]
    assert info["theta"] == pytest.approx(float(want["theta"].iloc[0]), rel=1e-10)
    pois, _ = risk_factors(DATA / "quine.csv", outcome="Days", exposures=["Eth", "Sex", "Age", "Lrn"], model="poisson")
    _check(pois, glm_reference, "quine", "poisson", "poisson")


def test_theta_ml__hand_computed_moment_start() -> None:
    """With one Newton step allowed (``limit = 1``), theta.ml returns its start n / Σ(y/μ − 1)²."""
    y = np.array([0.0, 2, 5, 1, 9])
    mu = np.full(5, 3.4)
    assert theta_ml(y, mu, limit=1) == pytest.approx(5 / np.sum((y / mu - 1) ** 2), rel=1e-15)


def test_glm_fit__poisson_saturated_hand_values() -> None:
    """Two groups, Poisson with an indicator: exp(coef) are the group means 3 and 6; se² = 1/Σy per group."""
    x = np.column_stack([np.ones(4), [0, 0, 1, 1]])
    y = np.array([2.0, 4, 5, 7])
    fit = glm_fit(x, y, family="poisson")
    np.testing.assert_allclose(np.exp(fit.coef), [3.0, 2.0], rtol=1e-13)
    np.testing.assert_allclose(fit.se, [np.sqrt(1 / 6), np.sqrt(1 / 6 + 1 / 12)], rtol=1e-12)


def test_glm_nb__offset_shifts_intercept_only() -> None:
    """An offset of log(2) for every row lowers the intercept by log 2 and leaves the rest (and theta) unchanged."""
    q = pd.read_csv(DATA / "quine.csv")
    x = np.column_stack([np.ones(len(q)), q["Eth"] == "N", q["Lrn"] == "SL"]).astype(float)
    a = glm_nb(x, q["Days"].to_numpy())
    b = glm_nb(x, q["Days"].to_numpy(), offset=np.full(len(q), np.log(2.0)))
    np.testing.assert_allclose(b.coef, a.coef - [np.log(2.0), 0, 0], atol=1e-10)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-9)
    assert b.theta == pytest.approx(a.theta, rel=1e-9)


def test_risk_factors__collinear_term_is_an_input_error() -> None:
    df = pd.DataFrame({"y": [0, 1, 0, 1, 1, 0], "x": [1, 2, 3, 4, 5, 6], "x2": [2, 4, 6, 8, 10, 12]})
    with pytest.raises(InputError, match="term 'x2' is collinear"):
        risk_factors(df, outcome="y", exposures=["x", "x2"])


def test_risk_factors__mantel_haenszel_only_for_binary_exposures() -> None:
    """A continuous exposure gets model rows only; the MH rows of the binary one do not depend on it."""
    both, _ = risk_factors(DATA / "wcgs.csv", outcome="chd69", exposures=["dibpat0", "age0"], strata="agegrp")
    alone, _ = risk_factors(DATA / "wcgs.csv", outcome="chd69", exposures=["dibpat0"], strata="agegrp")
    mh_both = both[both["analysis"] == "mantel-haenszel"].reset_index(drop=True)
    mh_alone = alone[alone["analysis"] == "mantel-haenszel"].reset_index(drop=True)
    assert mh_both["term"].tolist() == ["dibpat0", "dibpat0"]
    pd.testing.assert_frame_equal(mh_both, mh_alone)
    assert "age0" in both.loc[both["analysis"] == "logistic", "term"].tolist()
