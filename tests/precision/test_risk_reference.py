"""Risk-model metrics and models against R (survival 3.5-3, rms 6.5-0, riskRegression 2022.11.28, pec 2022.5.4).

The data and R's outputs come from ``tests/data/precision/risk/make_risk_reference.R``
(versions in ``reference_versions.txt``): MASS ``birthwt`` (binary ``low``; a glm fitted on
120 random rows and validated on the other 69) and survival ``lung`` (complete cases of
age, sex, ph.ecog, ph.karno; status recoded 0/1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.precision.risk.validate import Outcome, fit_pipeline
from biolake.precision.survival import concordance_index
from biolake.stats import metrics as mt

DATA = Path(__file__).resolve().parents[1] / "data" / "precision" / "risk"


def _ref(name: str) -> dict[str, float]:
    t = pd.read_csv(DATA / name)
    return dict(zip(t["metric"], t["value"], strict=True))


@pytest.fixture(scope="module")
def validation() -> tuple[np.ndarray, np.ndarray]:
    v = pd.read_csv(DATA / "birthwt_validation.csv")
    return v["y"].to_numpy(dtype=float), v["p"].to_numpy(dtype=float)


@pytest.fixture(scope="module")
def lung() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_csv(DATA / "lung_risk.csv"), pd.read_csv(DATA / "lung_predictions.csv")


def test_roc_auc__pROC_and_val_prob(validation: tuple[np.ndarray, np.ndarray]) -> None:
    """R: ``pROC::auc(roc(y, p, direction = "<"))`` and ``val.prob(p, y)["C (ROC)"]``."""
    y, p = validation
    ref = _ref("birthwt_metrics.csv")
    assert mt.roc_auc(y, p) == pytest.approx(ref["auc_pROC"], abs=1e-12)
    assert mt.roc_auc(y, p) == pytest.approx(ref["C_valprob"], abs=1e-12)


def test_average_precision_and_brier__r_definitions(validation: tuple[np.ndarray, np.ndarray]) -> None:
    """R: ``sum(diff(c(0, tp / sum(y))) * tp / npos)`` over distinct thresholds (decreasing);
    ``val.prob(p, y)["Brier"]``."""
    y, p = validation
    ref = _ref("birthwt_metrics.csv")
    assert mt.average_precision(y, p) == pytest.approx(ref["average_precision"], abs=1e-12)
    assert mt.brier_score(y, p) == pytest.approx(ref["Brier"], abs=1e-12)


def test_calibration__val_prob_intercept_slope(validation: tuple[np.ndarray, np.ndarray]) -> None:
    """R (rms 6.5-0): ``val.prob(p, y)[c("Intercept", "Slope")]`` — both coefficients of one
    ``lrm.fit(qlogis(p), y)`` — and the exact MLE ``glm(y ~ qlogis(p), binomial, epsilon = 1e-15)``;
    calibration-in-the-large ``coef(glm(y ~ offset(qlogis(p)), binomial))``. (lrm.fit stops
    ~4e-12 from the MLE.)"""
    y, p = validation
    ref = _ref("birthwt_metrics.csv")
    c = mt.calibration(y, p)
    assert c["intercept"] == pytest.approx(ref["Intercept"], abs=1e-8)
    assert c["slope"] == pytest.approx(ref["Slope"], abs=1e-8)
    assert c["intercept"] == pytest.approx(ref["glm_intercept"], abs=1e-12)
    assert c["slope"] == pytest.approx(ref["glm_slope"], abs=1e-12)
    assert c["in_the_large"] == pytest.approx(ref["in_the_large"], abs=1e-12)


def test_calibration__perfect_recalibration_of_itself() -> None:
    """Hand calculation: predictions equal to a logistic fit's own fitted values have intercept 0, slope 1."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=300)
    y = (rng.random(300) < 1 / (1 + np.exp(-x))).astype(float)
    beta = mt._logistic_fit(np.column_stack([np.ones(300), x]), y, np.zeros(300))
    p = 1 / (1 + np.exp(-(beta[0] + beta[1] * x)))
    c = mt.calibration(y, p)
    assert c["intercept"] == pytest.approx(0, abs=1e-10)
    assert c["slope"] == pytest.approx(1, abs=1e-10)


def test_net_benefit__decision_curve_formula(validation: tuple[np.ndarray, np.ndarray]) -> None:
    """R: ``mean(p >= t & y == 1) - mean(p >= t & y == 0) * t / (1 - t)``; treat all
    ``mean(y) - (1 - mean(y)) * t / (1 - t)``."""
    y, p = validation
    ref = pd.read_csv(DATA / "birthwt_net_benefit.csv")
    nb = mt.net_benefit(y, p, ref["threshold"].to_numpy())
    np.testing.assert_allclose(nb["model"], ref["model"], atol=1e-14)
    np.testing.assert_allclose(nb["treat_all"], ref["treat_all"], atol=1e-14)


def test_logistic_model__glm_coefficients() -> None:
    """R: ``glm(low ~ age + lwt + race + smoke + ptl + ht + ui + ftv, binomial, birthwt)`` with race
    text (levels black < other < white: black is the baseline, as our one-hot coding)."""
    bw = pd.read_csv(DATA / "birthwt.csv")
    feats = ["age", "lwt", "race", "smoke", "ptl", "ht", "ui", "ftv"]
    pre, model = fit_pipeline(
        bw, Outcome(y=bw["low"].to_numpy()), kind="logistic", features=feats, missing="drop", params=None, seed=0
    )
    ref = pd.read_csv(DATA / "birthwt_glm.csv")
    assert ["(Intercept)", *pre.columns] == list(ref["term"])
    np.testing.assert_allclose(np.r_[model.intercept, model.coef], ref["coef"], rtol=1e-8, atol=1e-10)


def test_cox_model__coxph_coefficients_and_lp(lung: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """R: ``coxph(Surv(time, status) ~ age + sex + ph.ecog + ph.karno, lung)``; ``predict(fit, type = "lp")``
    (centred at the means)."""
    data, pred = lung
    feats = ["age", "sex", "ph.ecog", "ph.karno"]
    outcome = Outcome(time=data["time"].to_numpy(float), event=data["status"].to_numpy())
    pre, model = fit_pipeline(data, outcome, kind="cox", features=feats, missing="drop", params=None, seed=0)
    ref = pd.read_csv(DATA / "lung_cox.csv")
    np.testing.assert_allclose(model.coef, ref["coef"], rtol=1e-10)
    x, _ = pre.transform(data)
    np.testing.assert_allclose(model.linear_predictor(x), pred["lp"], atol=1e-10)


def test_harrell_c__identical_to_concordance(lung: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """R: ``concordance(fit)`` — counts identical, C to rounding."""
    data, pred = lung
    ref = _ref("lung_metrics.csv")
    c = concordance_index(data["time"], data["status"], pred["lp"].to_numpy())
    assert (c["concordant"], c["discordant"], c["tied_x"]) == (
        ref["harrell_concordant"],
        ref["harrell_discordant"],
        ref["harrell_tied_x"],
    )
    assert c["concordance"] == pytest.approx(ref["harrell"], abs=1e-14)


def test_uno_c__concordance_timewt_n_g2(lung: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """R: ``concordance(fit, timewt = "n/G2")`` and with ``ymax = 365`` (τ)."""
    data, pred = lung
    ref = _ref("lung_metrics.csv")
    t, e, lp = data["time"].to_numpy(float), data["status"].to_numpy(), pred["lp"].to_numpy()
    assert mt.uno_c(t, e, lp) == pytest.approx(ref["uno"], abs=1e-12)
    assert mt.uno_c(t, e, lp, tau=365) == pytest.approx(ref["uno_ymax365"], abs=1e-12)
    rev = np.arange(len(t))[::-1]
    assert mt.uno_c(t[rev], e[rev], lp[rev]) == pytest.approx(ref["uno"], abs=1e-12)


def test_time_auc_and_brier__riskRegression_score(lung: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """R: ``Score(list(cox = 1 - S), Surv(time, status) ~ 1, lung, times, metrics = c("auc", "brier"),
    cens.model = "km")`` with ``S`` = ``1 - predictRisk(fit, lung, times)`` (committed)."""
    data, pred = lung
    ref = pd.read_csv(DATA / "lung_time_metrics.csv")
    t, e = data["time"].to_numpy(float), data["status"].to_numpy()
    times = ref["time"].to_numpy(float)
    np.testing.assert_allclose(mt.time_auc(t, e, pred["lp"].to_numpy(), times), ref["auc"], atol=1e-12)
    surv = pred[[f"S_{k:g}" for k in times]].to_numpy()
    np.testing.assert_allclose(mt.brier_survival(t, e, surv, times), ref["brier"], atol=1e-12)


def test_integrated_brier__pec_crps(lung: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """R: ``crps(pec(list(cox = S), Surv(time, status) ~ 1, lung, times = grid, exact = FALSE,
    cens.model = "marginal"), times = 720, start = 0)`` on grid 0, 30, …, 720."""
    data, _ = lung
    grid_s = pd.read_csv(DATA / "lung_surv_grid.csv")
    grid = np.array([float(c[2:]) for c in grid_s.columns])
    t, e = data["time"].to_numpy(float), data["status"].to_numpy()
    brier = mt.brier_survival(t, e, grid_s.to_numpy(), grid)
    np.testing.assert_allclose(brier, pd.read_csv(DATA / "lung_pec_brier.csv")["brier"], atol=1e-12)
    assert mt.integrated_brier(grid, brier, tau=720) == pytest.approx(_ref("lung_metrics.csv")["ibs_720"], abs=1e-12)


def test_censoring_km__hand_calculation() -> None:
    """Hand: times 1(event) 2(cens) 2(event) 3(cens) 4(event): at 2 four are at risk, the event
    leaves first, so G = 1 − 1/3 = 2/3; at 3 two are at risk: G = 2/3 · (1 − 1/2) = 1/3; 4 is an event."""
    uniq, g = mt.censoring_km(np.array([1.0, 2, 2, 3, 4]), np.array([1, 0, 1, 0, 1]))
    np.testing.assert_allclose(uniq, [1, 2, 3, 4])
    np.testing.assert_allclose(g, [1.0, 2 / 3, 1 / 3, 1 / 3], rtol=1e-15)


def test_bootstrap_ci__covers_estimate_and_is_seeded(validation: tuple[np.ndarray, np.ndarray]) -> None:
    """The interval of the AUC contains the estimate; the same seed gives the same interval."""
    y, p = validation
    lo, hi = mt.bootstrap_ci(mt.roc_auc, y, p, n_boot=100, seed=1)
    assert lo < mt.roc_auc(y, p) < hi
    assert (lo, hi) == mt.bootstrap_ci(mt.roc_auc, y, p, n_boot=100, seed=1)
