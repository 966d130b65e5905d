"""Survival analysis against R ``survival`` 3.5-3 on its bundled lung, veteran and pbc data.

The data and R's outputs come from
``tests/data/reference/precision/make_survival_reference.R`` (``coxph(..., ties = "efron",
robust = TRUE)``, ``summary(survfit(...))``, ``survdiff``, ``cox.zph``). Cox coefficients,
model and robust SE, z, p; Kaplan–Meier survival, std.err and CIs; the log-rank chi-square
and p; the cox.zph chi-squares and p agree to relative 1e-10 (the issue asks for 1e-8; measured ≤ 2e-13);
counts and iteration numbers are identical, and so are Harrell's concordance and its pair
counts (``concordance``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.precision.survival import concordance_index, coxph, kaplan_meier, logrank, survival_analysis

DATA = Path(__file__).resolve().parents[1] / "data" / "precision" / "survival"
RTOL = 1e-10  # the issue asks for 1e-8; measured differences are ~1e-13 at most


def _num(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values.replace("NA", np.nan)).to_numpy(dtype=float)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    lung = pd.read_csv(DATA / "lung.csv")
    lung["ecog_text"] = lung["ph.ecog"].map(lambda v: None if pd.isna(v) else str(int(v)))
    pbc = pd.read_csv(DATA / "pbc.csv")
    pbc["dead"] = (pbc["status"] == 2).astype(int)
    pbc["log_bili"] = np.log(pbc["bili"])
    return {"lung": lung, "veteran": pd.read_csv(DATA / "veteran.csv"), "pbc": pbc}


def _ref(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, dtype=str, keep_default_na=False)


def _close(ours: np.ndarray, theirs: np.ndarray, rtol: float = RTOL) -> None:
    ours = np.asarray(ours, dtype=float)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    ok = ~np.isnan(theirs)
    np.testing.assert_allclose(ours[ok], theirs[ok], rtol=rtol, atol=0)


def _check_cox(case: str, frames: dict[str, pd.DataFrame], data: str, event: str, covars: list[str], **kw) -> None:
    ref = _ref("cox_reference.csv")
    ref = ref[ref["case"] == case]
    res = coxph(frames[data], time="time", event=event, covars=covars, **kw)
    t = res.table
    assert list(t["term"]) == list(ref["term"])
    for col in ("coef", "se", "robust_se", "z", "p"):
        _close(t[col].to_numpy(), _num(ref[col]))
    np.testing.assert_allclose(t["hazard_ratio"], np.exp(_num(ref["coef"])), rtol=RTOL)
    assert res.fit.iterations == int(ref["iter"].iloc[0])
    assert res.fit.n == int(ref["n"].iloc[0]) and res.fit.n_events == int(ref["nevent"].iloc[0])
    np.testing.assert_allclose(res.fit.loglik[1], float(ref["loglik"].iloc[0]), rtol=1e-12)


def test_coxph__lung_basic_matches_r(frames):
    """R: ``coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung, ties = "efron", robust = TRUE)``
    (status coded 1/2; one row with a missing ph.ecog dropped)."""
    _check_cox("lung_basic", frames, "lung", "status", ["age", "sex", "ph.ecog"], event_coding=(1, 2))


def test_coxph__lung_many_missing_matches_r(frames):
    """R: ``coxph(Surv(time, status) ~ age + sex + ph.ecog + ph.karno + pat.karno + meal.cal + wt.loss,
    data = lung, robust = TRUE)`` (61 rows with a missing value dropped)."""
    covars = ["age", "sex", "ph.ecog", "ph.karno", "pat.karno", "meal.cal", "wt.loss"]
    _check_cox("lung_many", frames, "lung", "status", covars, event_coding="1,2")


def test_coxph__lung_text_factor_matches_r(frames):
    """R: ``coxph(Surv(time, status) ~ age + sex + factor(ph.ecog), data = lung, robust = TRUE)``
    (ph.ecog as text: one-hot, level "0" the baseline, terms ecog_text1 .. ecog_text3)."""
    _check_cox("lung_factor", frames, "lung", "status", ["age", "sex", "ecog_text"], event_coding=(1, 2))


def test_coxph__veteran_factor_and_ties_matches_r(frames):
    """R: ``coxph(Surv(time, status) ~ trt + celltype + karno + diagtime + age + prior, data = veteran,
    robust = TRUE)`` with celltype's levels sorted (adeno the baseline); many tied times."""
    covars = ["trt", "celltype", "karno", "diagtime", "age", "prior"]
    _check_cox("veteran_all", frames, "veteran", "status", covars)


def test_coxph__veteran_single_covariate_matches_r(frames):
    """R: ``coxph(Surv(time, status) ~ karno, data = veteran, robust = TRUE)``."""
    _check_cox("veteran_karno", frames, "veteran", "status", ["karno"])


def test_coxph__pbc_mixed_matches_r(frames):
    """R: ``coxph(Surv(time, status == 2) ~ age + sex + bili + albumin + protime + edema + stage, data = pbc,
    robust = TRUE)`` (sex text f/m, f the baseline; missing protime/stage rows dropped)."""
    covars = ["age", "sex", "bili", "albumin", "protime", "edema", "stage"]
    _check_cox("pbc_main", frames, "pbc", "dead", covars)


def test_coxph__pbc_trial_matches_r(frames):
    """R: ``coxph(Surv(time, status == 2) ~ trt + age + log_bili, data = pbc, robust = TRUE)``
    (the 106 non-trial patients with a missing trt dropped)."""
    _check_cox("pbc_trt", frames, "pbc", "dead", ["trt", "age", "log_bili"])


KM_CASES = {
    "lung_all": ("lung", "status", None, (1, 2)),
    "lung_sex": ("lung", "status", "sex", (1, 2)),
    "lung_ecog": ("lung", "status", "ph.ecog", (1, 2)),
    "veteran_celltype": ("veteran", "status", "celltype", (0, 1)),
    "veteran_trt": ("veteran", "status", "trt", (0, 1)),
    "pbc_trt": ("pbc", "dead", "trt", (0, 1)),
    "pbc_stage": ("pbc", "dead", "stage", (0, 1)),
}


@pytest.mark.parametrize("case", sorted(KM_CASES))
def test_kaplan_meier__matches_r(case, frames):
    """R: ``summary(survfit(Surv(time, event) ~ group, data = d))`` (conf.type "log"); per case in KM_CASES,
    e.g. ``survfit(Surv(time, status) ~ sex, data = lung)``; compare n.risk, n.event, surv, std.err,
    lower, upper (NA where the estimate reaches 0)."""
    data, event, group, coding = KM_CASES[case]
    ref = _ref("km_reference.csv")
    ref = ref[ref["case"] == case]
    km = kaplan_meier(frames[data], time="time", event=event, group=group, event_coding=coding)
    assert len(km) == len(ref)
    assert list(km["group"]) == list(ref["group"])
    np.testing.assert_array_equal(km["time"], _num(ref["time"]))
    np.testing.assert_array_equal(km["n_risk"], ref["n_risk"].astype(int))
    np.testing.assert_array_equal(km["n_event"], ref["n_event"].astype(int))
    for col in ("survival", "std_err", "ci_lower", "ci_upper"):
        _close(km[col].to_numpy(), _num(ref[col]))


@pytest.mark.parametrize("case", sorted(c for c, v in KM_CASES.items() if v[2]))
def test_logrank__matches_r(case, frames):
    """R: ``survdiff(Surv(time, event) ~ group, data = d)``; chisq and ``pchisq(chisq, df, lower.tail = FALSE)``."""
    data, event, group, coding = KM_CASES[case]
    ref = _ref("logrank_reference.csv")
    ref = ref[ref["case"] == case]
    res = logrank(frames[data], time="time", event=event, group=group, event_coding=coding)
    assert res.df == int(ref["df"].iloc[0])
    _close(np.array([res.chisq, res.p]), _num(pd.concat([ref["chisq"], ref["p"]])))


ZPH_CASES = {
    "lung_basic": ("lung", "status", ["age", "sex", "ph.ecog"], (1, 2)),
    "lung_many": ("lung", "status", ["age", "sex", "ph.ecog", "ph.karno", "pat.karno", "meal.cal", "wt.loss"], (1, 2)),
    "lung_factor": ("lung", "status", ["age", "sex", "ecog_text"], (1, 2)),
    "veteran_all": ("veteran", "status", ["trt", "celltype", "karno", "diagtime", "age", "prior"], (0, 1)),
    "veteran_karno": ("veteran", "status", ["karno"], (0, 1)),
    "pbc_main": ("pbc", "dead", ["age", "sex", "bili", "albumin", "protime", "edema", "stage"], (0, 1)),
    "pbc_trt": ("pbc", "dead", ["trt", "age", "log_bili"], (0, 1)),
}


@pytest.mark.parametrize("case", sorted(ZPH_CASES))
def test_survival_analysis__zph_matches_r(case, frames):
    """R: ``cox.zph(coxph(Surv(time, event) ~ covariates, data = d))`` (transform "km", terms, global):
    chisq, df and p of every term and GLOBAL (a factor is one term with df = levels - 1)."""
    data, event, covars, coding = ZPH_CASES[case]
    ref = _ref("zph_reference.csv")
    ref = ref[ref["case"] == case]
    res = survival_analysis(frames[data], time="time", event=event, covars=covars, event_coding=coding)
    z = res.zph
    assert z is not None
    assert list(z["term"]) == [t.replace("ecog_text", "ecog_text") for t in ref["term"]]
    np.testing.assert_array_equal(z["df"], ref["df"].astype(int))
    _close(z["chisq"].to_numpy(), _num(ref["chisq"]))
    _close(z["p"].to_numpy(), _num(ref["p"]))


@pytest.mark.parametrize("case", sorted(ZPH_CASES))
def test_concordance_index__cox_fit_matches_r(case, frames):
    """R: ``concordance(coxph(Surv(time, event) ~ covariates, data = d))``: the concordance and the
    counts (concordant, discordant, tied.x, tied.y, tied.xy) of the linear predictor, identical."""
    data, event, covars, coding = ZPH_CASES[case]
    ref = _ref("concordance_reference.csv").set_index("case").loc[case]
    res = survival_analysis(frames[data], time="time", event=event, covars=covars, event_coding=coding, zph=False)
    for key in ("concordant", "discordant", "tied_x", "tied_y", "tied_xy"):
        assert res.info[f"concordance_{key}"] == int(ref[key]), key
    assert res.info["concordance"] == pytest.approx(float(ref["concordance"]), rel=1e-15)


def test_concordance_index__predictor_matches_r(frames):
    """R: ``concordance(Surv(time, status) ~ age, data = lung)`` (higher age = longer survival, reverse = FALSE)."""
    lung = frames["lung"]
    ref = _ref("concordance_reference.csv").set_index("case").loc["lung_age"]
    c = concordance_index(lung["time"], lung["status"] - 1, lung["age"], reverse=False)
    assert (c["concordant"], c["discordant"], c["tied_x"], c["tied_y"], c["tied_xy"]) == (8706, 10717, 591, 27, 1)
    assert c["concordance"] == pytest.approx(float(ref["concordance"]), rel=1e-15)
