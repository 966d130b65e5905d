"""Survival kernels and functions: properties, hand-checked cases, input handling and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from biolake.errors import InputError
from biolake.precision.survival import coxph, kaplan_meier, logrank, survival_analysis
from biolake.precision.survival.km import kaplan_meier_table
from biolake.precision.survival.zph import km_time_transform
from biolake.stats.coxph import cox_score_residuals, coxph_efron, efron_information


def _cohort(n: int = 400, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 8, n).round(0)
    arm = rng.choice(["placebo", "drug"], n)
    site = rng.choice(["B", "A", "C"], n)
    lp = 0.03 * (age - 60) - 0.5 * (arm == "drug") + 0.3 * (site == "C")
    t = np.ceil(rng.exponential(50 * np.exp(-lp)))
    c = np.ceil(rng.uniform(5, 120, n))
    return pd.DataFrame(
        {"time": np.minimum(t, c), "status": (t <= c).astype(int), "age": age, "arm": arm, "site": site}
    )


def test_efron_information__score_and_information_are_derivatives() -> None:
    """The score is the gradient of the Efron log likelihood and the information its negative Hessian
    (R: ``coxph(..., iter.max = 0)``'s ``u`` and ``solve(var)`` at the initial values)."""
    df = _cohort()
    x = np.column_stack([df["age"] - 60, (df["arm"] == "drug").astype(float)])
    t, e = df["time"].to_numpy(), df["status"].to_numpy()
    beta = np.array([0.02, -0.3])
    _, u, imat = efron_information(t, e, x, beta)
    h = 1e-6
    for j in range(2):
        step = np.zeros(2)
        step[j] = h
        lp, up, _ = efron_information(t, e, x, beta + step)
        lm, um, _ = efron_information(t, e, x, beta - step)
        assert (lp - lm) / (2 * h) == pytest.approx(u[j], rel=1e-6)
        np.testing.assert_allclose(-(up - um) / (2 * h), imat[:, j], rtol=1e-5)


def test_cox_score_residuals__sum_to_the_score() -> None:
    df = _cohort()
    x = np.column_stack([df["age"], (df["arm"] == "drug").astype(float)])
    t, e = df["time"].to_numpy(), df["status"].to_numpy()
    beta = np.array([0.01, -0.2])
    resid = cox_score_residuals(t, e, x, beta)
    _, u, _ = efron_information(t, e, x, beta)
    np.testing.assert_allclose(resid.sum(axis=0), u, rtol=1e-9, atol=1e-9)


def test_coxph_efron__row_order_does_not_matter() -> None:
    df = _cohort()
    x = np.column_stack([df["age"], (df["arm"] == "drug").astype(float)])
    t, e = df["time"].to_numpy(), df["status"].to_numpy()
    fit = coxph_efron(t, e, x)
    perm = np.random.default_rng(1).permutation(len(t))
    fit2 = coxph_efron(t[perm], e[perm], x[perm])
    np.testing.assert_allclose(fit.coef, fit2.coef, rtol=1e-12)
    np.testing.assert_allclose(fit.var, fit2.var, rtol=1e-10)
    np.testing.assert_allclose(fit.robust_var, fit2.robust_var, rtol=1e-10)
    assert fit.converged and fit.n == len(t) and fit.n_events == int(e.sum())


def test_coxph_efron__no_ties_is_breslow_and_converges() -> None:
    """Without tied event times Efron and Breslow coincide (R: ``coxph(..., ties = "breslow")``)."""
    rng = np.random.default_rng(3)
    t = rng.permutation(200).astype(float) + 1
    e = rng.integers(0, 2, 200)
    x = rng.normal(size=(200, 2))
    fit = coxph_efron(t, e, x)
    ll, u, _ = efron_information(t, e, x, fit.coef)
    assert ll == pytest.approx(fit.loglik[1], rel=1e-13)
    np.testing.assert_allclose(u, 0, atol=1e-6)


def test_kaplan_meier_table__hand_computed() -> None:
    """R: ``summary(survfit(Surv(c(1, 2, 2, 3, 4), c(1, 1, 0, 1, 0)) ~ 1))``: surv 0.8, 0.6, 0.3;
    std.err 0.1789, 0.2191, 0.2387."""
    km = kaplan_meier_table(np.array([1.0, 2, 2, 3, 4]), np.array([1, 1, 0, 1, 0]))
    np.testing.assert_allclose(km["survival"], [0.8, 0.6, 0.3])
    greenwood = np.sqrt(np.cumsum([1 / (5 * 4), 1 / (4 * 3), 1 / (2 * 1)]))
    np.testing.assert_allclose(km["std_err"], km["survival"] * greenwood)
    np.testing.assert_allclose(km["ci_upper"], np.minimum(1, km["survival"] * np.exp(1.959963984540054 * greenwood)))
    assert list(km["group"]) == ["all"] * 3


def test_kaplan_meier__last_death_gives_missing_se() -> None:
    km = kaplan_meier_table(np.array([1.0, 2]), np.array([1, 1]))
    assert km["survival"].iloc[-1] == 0
    assert np.isnan(km[["std_err", "ci_lower", "ci_upper"]].iloc[-1]).all()


def test_km_time_transform__left_continuous() -> None:
    g = km_time_transform(np.array([1.0, 2, 2, 3]), np.array([1, 1, 0, 1]))
    np.testing.assert_allclose(g, [0.0, 0.25, 0.25, 1 - 0.75 * 2 / 3])


def test_coxph__text_covariate_one_hot_first_sorted_level_baseline() -> None:
    df = _cohort()
    res = coxph(df, time="time", event="status", covars=["age", "arm", "site"])
    assert list(res.table["term"]) == ["age", "armplacebo", "siteB", "siteC"]
    assert [name for name, _ in res.terms] == ["age", "arm", "site"]
    x = np.column_stack([df["age"], df["arm"] == "placebo", df["site"] == "B", df["site"] == "C"]).astype(float)
    fit = coxph_efron(df["time"], df["status"], x)
    np.testing.assert_allclose(res.table["coef"], fit.coef, rtol=1e-13)
    t = res.table
    np.testing.assert_allclose(t["ci_lower"], np.exp(t["coef"] - 1.959963984540054 * t["se"]))
    np.testing.assert_allclose(t["z"], t["coef"] / t["se"])


def test_coxph__missing_rows_dropped_and_event_coding_1_2() -> None:
    df = _cohort()
    df.loc[[3, 10], "age"] = np.nan
    coded = df.assign(status=df["status"] + 1)
    a = coxph(df, time="time", event="status", covars=["age", "arm"])
    b = coxph(coded, time="time", event="status", covars=["age", "arm"], event_coding="1,2")
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.fit.n == len(df) - 2


def test_survival_analysis__group_missing_only_leaves_km_and_logrank() -> None:
    df = _cohort()
    df["arm_m"] = df["arm"].where(df.index % 7 != 0)
    res = survival_analysis(df, time="time", event="status", covars=["age"], group="arm_m")
    assert res.info["used"] == len(df)
    assert res.km.groupby("group")["n_risk"].max().sum() == int(df["arm_m"].notna().sum())
    full = coxph(df, time="time", event="status", covars=["age"])
    pd.testing.assert_frame_equal(res.cox, full.table)
    lr = logrank(df.dropna(subset=["arm_m"]), time="time", event="status", group="arm_m")
    assert res.logrank is not None and res.logrank.chisq == pytest.approx(lr.chisq, rel=1e-12)


def test_kaplan_meier__numeric_group_labels_in_numeric_order() -> None:
    df = pd.DataFrame({"t": [1.0, 2, 3, 4, 5, 6], "d": [1] * 6, "g": [10, 2, 10, 2, 1, 1]})
    km = kaplan_meier(df, time="t", event="d", group="g")
    assert list(dict.fromkeys(km["group"])) == ["1", "2", "10"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"event_coding": (0, 1)}, r"event must be 0 \(censored\) or 1 \(event\); got 2 \(use --event-coding 1,2"),
        ({"covars": ["nope"]}, r"no column 'nope'"),
        ({"event_coding": "1;2"}, r"The 'event_coding' parameter of coxph must be two different numbers"),
    ],
)
def test_coxph__bad_input_is_input_error(kwargs: dict, message: str) -> None:
    df = _cohort().assign(status=lambda d: d["status"] + 1)
    args = {"time": "time", "event": "status", "covars": ["age"], **kwargs}
    with pytest.raises(InputError, match=message):
        coxph(df, **args)


def test_coxph__constant_or_collinear_covariate_is_input_error() -> None:
    df = _cohort().assign(one=1.0)
    with pytest.raises(InputError, match="covariate one is constant"):
        coxph(df, time="time", event="status", covars=["age", "one"])
    df["age2"] = 2 * df["age"]
    with pytest.raises(InputError, match="collinear"):
        coxph(df, time="time", event="status", covars=["age", "age2"])


def test_coxph__negative_time_is_input_error() -> None:
    df = _cohort()
    df.loc[5, "time"] = -1
    with pytest.raises(InputError, match=r"record 6: column time: time must be a finite number >= 0"):
        coxph(df, time="time", event="status", covars=["age"])
