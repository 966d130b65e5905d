"""Sample sizes of fixed two-arm trials, as R ``rpact``'s getSampleSizeMeans/Rates/Survival.

* ``means``: two-sample t test (rpact ``getSampleSizeMeans(normalApproximation = FALSE)``):
  n2 solves P(T > t_{1−α/sided, n(1+r)−2} | ncp = √(n2·r/(1+r))·|δ − δ0|/σ) = β with
  R's ``uniroot`` (Brent, tolerance 1e-4) as rpact does, n1 = r·n2; with
  ``normal_approximation`` the closed form (1+r)²/r·(z_{α/sided} + z_β)²/((δ−δ0)/σ)².
* ``rates``: normal approximation with Farrington–Manning restricted estimates under H0
  (difference, or ratio with ``risk_ratio``), rpact ``getSampleSizeRates``.
* ``survival``: Schoenfeld (or Freedman, Hsieh–Freedman) number of events, and subjects
  = events / P(event) with uniform accrual over ``accrual_time``, follow-up
  ``follow_up_time``, exponential survival (``lambda2`` or ``pi2`` at ``event_time``,
  ``hazard_ratio``) and exponential dropout (Lachin–Foulkes), rpact ``getSampleSizeSurvival``.

``allocation_ratio`` is n1/n2 (rpact's ``allocationRatioPlanned``; group 1 = treatment);
``alpha`` is the total type I error, split over both tails when ``sided`` is 2 (rpact with
``twoSidedPower = FALSE``). Each arm is rounded up: n1 = ⌈nFixed1⌉, n2 = ⌈nFixed2⌉,
n_total = n1 + n2; for survival ``events`` = ⌈eventsFixed⌉.

Examples
--------
>>> sample_size(endpoint="means", alternative=0.5, stdev=1, power=0.8, alpha=0.025)
   n1  n2  n_total
0  64  64      128
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import ndtr

from biolake.errors import check_param
from biolake.stats.groupseq import one_minus_qnorm, r_uniroot

__all__ = ["ENDPOINTS", "SIZE_COLUMNS", "fixed_sample_size", "power_curve", "sample_size", "size_job"]

ENDPOINTS = ("means", "rates", "survival")
SIZE_COLUMNS = ("n1", "n2", "n_total")
SURVIVAL_METHODS = ("Schoenfeld", "Freedman", "HsiehFreedman")


def _pt(q: float, df: float, ncp: float) -> float:
    return float(stats.nct.cdf(q, df, ncp))


def _qt(p: float, df: float) -> float:
    return float(stats.t.ppf(p, df))


def _t_power_gap(n2: float, *, alpha: float, sided: int, beta: float, r: float, effect: float) -> float:
    """rpact's function of n2 whose root is the t-test sample size: P(T ≤ crit) − β."""
    df = max(0.001, n2 * (1 + r) - 2)
    if df <= 0.001:  # R: qt(1 - a, 0.001) is Inf and pt(Inf, ...) is 1
        return 1.0 - beta
    crit = _qt(1 - alpha / sided, df)
    return _pt(crit, df, math.sqrt(n2) * math.sqrt(r / (1 + r)) * effect) - beta


def _means(
    *,
    alternative: float,
    stdev: float,
    alpha: float,
    beta: float,
    sided: int,
    r: float,
    theta_h0: float,
    normal_approximation: bool,
) -> tuple[float, float]:
    effect = abs(alternative - theta_h0) / stdev
    if normal_approximation:
        n = (1 + r) ** 2 / r * (one_minus_qnorm(alpha / sided) + one_minus_qnorm(beta)) ** 2 / effect**2
    else:
        up = 2.0
        while True:
            df = up * (1 + r) - 2
            if _pt(_qt(1 - alpha / sided, df), df, math.sqrt(up) * math.sqrt(r / (1 + r)) * effect) <= beta:
                break
            up *= 2
        n2 = r_uniroot(
            lambda x: _t_power_gap(x, alpha=alpha, sided=sided, beta=beta, r=r, effect=effect), 0.001, up, 1e-4
        )
        n = n2 * (1 + r)
    n1 = float(n) * r / (1 + r)
    return n1, n1 / r


def _farrington_manning(p1: float, p2: float, theta: float, r: float, risk_ratio: bool) -> tuple[float, float]:
    if not risk_ratio:
        if theta == 0:
            ml = (r * p1 + p2) / (1 + r)
            return ml, ml
        a = 1 + 1 / r
        b = -(1 + 1 / r + p1 + p2 / r + theta * (1 / r + 2))
        c = theta**2 + theta * (2 * p1 + 1 / r + 1) + p1 + p2 / r
        d = -theta * (1 + theta) * p1
        v = b**3 / (3 * a) ** 3 - b * c / (6 * a**2) + d / (2 * a)
        if v == 0:
            u = math.sqrt(b**2 / (3 * a) ** 2 - c / (3 * a))
            w = math.pi / 2
        else:
            u = math.copysign(1.0, v) * math.sqrt(b**2 / (3 * a) ** 2 - c / (3 * a))
            w = (math.pi + math.acos(v / u**3)) / 3
        ml1 = min(max(0.0, 2 * u * math.cos(w) - b / (3 * a)), 1.0)
        return ml1, min(max(0.0, ml1 - theta), 1.0)
    if theta == 1:
        ml = (r * p1 + p2) / (1 + r)
        return ml, ml
    a = 1 + 1 / r
    b = -((1 + p2 / r) * theta + 1 / r + p1)
    c = (p1 + p2 / r) * theta
    ml1 = (-b - math.sqrt(b * b - 4 * a * c)) / (2 * a)
    return ml1, ml1 / theta


def _rates(
    *, pi1: float, pi2: float, alpha: float, beta: float, sided: int, r: float, theta_h0: float, risk_ratio: bool
) -> tuple[float, float]:
    ml1, ml2 = _farrington_manning(pi1, pi2, theta_h0, r, risk_ratio)
    za, zb = one_minus_qnorm(alpha / sided), one_minus_qnorm(beta)
    scale = theta_h0**2 if risk_ratio else 1.0
    n1 = (
        za * math.sqrt(ml1 * (1 - ml1) + ml2 * (1 - ml2) * r * scale)
        + zb * math.sqrt(pi1 * (1 - pi1) + pi2 * (1 - pi2) * r * scale)
    ) ** 2 / ((pi1 - theta_h0 * pi2) if risk_ratio else (pi1 - pi2 - theta_h0)) ** 2
    return n1, n1 / r


def _events(
    *, hazard_ratio: float, theta_h0: float, alpha: float, beta: float, sided: int, r: float, method: str
) -> float:
    z2 = (one_minus_qnorm(alpha / sided) + one_minus_qnorm(beta)) ** 2
    if method == "Schoenfeld":
        return z2 / (math.log(hazard_ratio) - math.log(theta_h0)) ** 2 * (1 + r) ** 2 / r
    if method == "Freedman":
        return z2 * (1 + hazard_ratio * r) ** 2 / (1 - hazard_ratio) ** 2 / r
    return z2 * (1 + hazard_ratio) ** 2 / (1 - hazard_ratio) ** 2 * (1 + r) ** 2 / (4 * r)


def _event_probability(lam: float, phi: float, accrual: float, follow_up: float) -> float:
    """P(event observed) with uniform entry over [0, accrual], analysis at accrual + follow_up,
    exponential hazard ``lam`` and exponential dropout hazard ``phi``."""
    h = lam + phi
    mean_survival = (math.exp(-h * follow_up) - math.exp(-h * (accrual + follow_up))) / (h * accrual)
    return lam / h * (1 - mean_survival)


def _survival(
    *,
    hazard_ratio: float,
    lambda2: float,
    alpha: float,
    beta: float,
    sided: int,
    r: float,
    theta_h0: float,
    method: str,
    accrual_time: float,
    follow_up_time: float,
    dropout_rate1: float,
    dropout_rate2: float,
    dropout_time: float,
) -> tuple[float, float, float]:
    events = _events(
        hazard_ratio=hazard_ratio, theta_h0=theta_h0, alpha=alpha, beta=beta, sided=sided, r=r, method=method
    )
    phi1 = -math.log(1 - dropout_rate1) / dropout_time
    phi2 = -math.log(1 - dropout_rate2) / dropout_time
    p1 = _event_probability(lambda2 * hazard_ratio, phi1, accrual_time, follow_up_time)
    p2 = _event_probability(lambda2, phi2, accrual_time, follow_up_time)
    omega = (r * p1 + p2) / (1 + r)
    n = events / omega
    n2 = n / (1 + r)
    return n2 * r, n2, events


def _real(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) and math.isfinite(v)


def fixed_sample_size(
    *,
    endpoint: str = "means",
    alpha: float = 0.025,
    power: float = 0.8,
    sided: int = 1,
    allocation_ratio: float = 1.0,
    alternative: float | None = None,
    stdev: float = 1.0,
    theta_h0: float | None = None,
    normal_approximation: bool = False,
    pi1: float | None = None,
    pi2: float | None = None,
    risk_ratio: bool = False,
    hazard_ratio: float | None = None,
    lambda2: float | None = None,
    event_time: float = 12.0,
    type_of_computation: str = "Schoenfeld",
    accrual_time: float = 12.0,
    follow_up_time: float = 6.0,
    dropout_rate1: float = 0.0,
    dropout_rate2: float = 0.0,
    dropout_time: float = 12.0,
) -> dict[str, float]:
    """The unrounded sizes: ``n1_fixed n2_fixed`` (and ``events_fixed`` for survival), as rpact's nFixed1/2.

    Parameters are those of :func:`sample_size`.
    """
    f = "sample_size"
    check_param(f, "endpoint", endpoint, endpoint in ENDPOINTS, "one of " + ", ".join(ENDPOINTS))
    check_param(f, "alpha", alpha, _real(alpha) and 0 < alpha < 1, "a number in (0, 1)")
    check_param(f, "sided", sided, sided in (1, 2) and not isinstance(sided, bool), "1 or 2")
    check_param(f, "power", power, _real(power) and alpha / sided < power < 1, "a number in (alpha / sided, 1)")
    check_param(
        f, "allocation_ratio", allocation_ratio, _real(allocation_ratio) and allocation_ratio > 0, "a number > 0"
    )
    beta = 1 - float(power)
    r = float(allocation_ratio)
    if endpoint == "means":
        th0 = 0.0 if theta_h0 is None else theta_h0
        check_param(f, "theta_h0", theta_h0, _real(th0), "a finite number")
        check_param(
            f,
            "alternative",
            alternative,
            _real(alternative) and alternative != th0,
            "a finite number other than theta_h0",
        )
        check_param(f, "stdev", stdev, _real(stdev) and stdev > 0, "a number > 0")
        n1, n2 = _means(
            alternative=float(alternative),
            stdev=float(stdev),
            alpha=alpha,
            beta=beta,
            sided=sided,
            r=r,
            theta_h0=float(th0),
            normal_approximation=bool(normal_approximation),
        )  # type: ignore[arg-type]
        return {"n1_fixed": n1, "n2_fixed": n2}
    if endpoint == "rates":
        th0 = (1.0 if risk_ratio else 0.0) if theta_h0 is None else theta_h0
        check_param(f, "pi1", pi1, _real(pi1) and 0 < pi1 < 1, "a probability in (0, 1)")
        check_param(f, "pi2", pi2, _real(pi2) and 0 < pi2 < 1, "a probability in (0, 1)")
        ok = _real(th0) and (th0 > 0 if risk_ratio else -1 < th0 < 1)
        check_param(f, "theta_h0", theta_h0, ok, "a ratio > 0" if risk_ratio else "a difference in (-1, 1)")
        differs = pi1 != th0 * pi2 if risk_ratio else pi1 - pi2 != th0  # type: ignore[operator]
        check_param(f, "pi1", pi1, differs, "a rate with an effect different from theta_h0")
        n1, n2 = _rates(
            pi1=float(pi1),
            pi2=float(pi2),
            alpha=alpha,
            beta=beta,
            sided=sided,
            r=r,
            theta_h0=float(th0),
            risk_ratio=bool(risk_ratio),
        )  # type: ignore[arg-type]
        return {"n1_fixed": n1, "n2_fixed": n2}
    th0 = 1.0 if theta_h0 is None else theta_h0
    check_param(f, "theta_h0", theta_h0, _real(th0) and th0 > 0, "a hazard ratio > 0")
    check_param(
        f,
        "hazard_ratio",
        hazard_ratio,
        _real(hazard_ratio) and hazard_ratio > 0 and hazard_ratio != th0,
        "a number > 0 other than theta_h0",
    )
    check_param(
        f,
        "type_of_computation",
        type_of_computation,
        type_of_computation in SURVIVAL_METHODS,
        "one of " + ", ".join(SURVIVAL_METHODS),
    )
    check_param(f, "pi2", pi2, pi2 is None or lambda2 is None, "not given together with lambda2")
    if lambda2 is None:
        p2 = 0.2 if pi2 is None else pi2
        check_param(f, "pi2", pi2, _real(p2) and 0 < p2 < 1, "a probability in (0, 1)")
        check_param(f, "event_time", event_time, _real(event_time) and event_time > 0, "a number > 0")
        lambda2 = -math.log(1 - p2) / event_time
    check_param(f, "lambda2", lambda2, _real(lambda2) and lambda2 > 0, "a hazard > 0")
    check_param(f, "accrual_time", accrual_time, _real(accrual_time) and accrual_time > 0, "a number > 0")
    check_param(f, "follow_up_time", follow_up_time, _real(follow_up_time) and follow_up_time >= 0, "a number >= 0")
    for name, value in (("dropout_rate1", dropout_rate1), ("dropout_rate2", dropout_rate2)):
        check_param(f, name, value, _real(value) and 0 <= value < 1, "a probability in [0, 1)")
    check_param(f, "dropout_time", dropout_time, _real(dropout_time) and dropout_time > 0, "a number > 0")
    n1, n2, events = _survival(
        hazard_ratio=float(hazard_ratio),  # type: ignore[arg-type]
        lambda2=float(lambda2),
        alpha=alpha,
        beta=beta,
        sided=sided,
        r=r,
        theta_h0=float(th0),
        method=type_of_computation,
        accrual_time=float(accrual_time),
        follow_up_time=float(follow_up_time),
        dropout_rate1=float(dropout_rate1),
        dropout_rate2=float(dropout_rate2),
        dropout_time=float(dropout_time),
    )
    return {"n1_fixed": n1, "n2_fixed": n2, "events_fixed": events}


def _ceil(x: float) -> int:
    return math.ceil(x)


def sample_size(**options: Any) -> pd.DataFrame:
    """Sample size of a fixed two-arm trial, each arm rounded up (one row).

    All options are keyword-only, rpact's arguments in snake case
    (:func:`fixed_sample_size` gives the sizes before rounding).

    Parameters
    ----------
    endpoint
        ``means``, ``rates`` or ``survival``.
    alpha, power, sided, allocation_ratio
        Total type I error, 1 − β, 1 or 2 sides, n1/n2.
    alternative, stdev, theta_h0, normal_approximation
        Means: the difference δ under H1, σ, δ under H0 (0), normal approximation instead of t.
    pi1, pi2, risk_ratio, theta_h0
        Rates: event rates of groups 1 and 2; test the ratio instead of the difference.
    hazard_ratio, lambda2 | pi2 + event_time, type_of_computation, accrual_time,
    follow_up_time, dropout_rate1, dropout_rate2, dropout_time
        Survival (rpact's defaults: pi2 0.2 at event time 12, accrual 12, follow-up 6).

    Returns
    -------
    pandas.DataFrame
        Columns ``n1 n2 n_total`` (and ``events`` for survival).
    """
    fixed = fixed_sample_size(**options)
    n1, n2 = _ceil(fixed["n1_fixed"]), _ceil(fixed["n2_fixed"])
    row: dict[str, int] = {"n1": n1, "n2": n2, "n_total": n1 + n2}
    if "events_fixed" in fixed:
        row["events"] = _ceil(fixed["events_fixed"])
    return pd.DataFrame([row])


def power_curve(options: dict[str, Any], *, points: int = 41) -> pd.DataFrame:
    """Power (normal approximation of the test's information) against the total sample size.

    Scales the design's information: power(n) = Φ(√(n/n*)·(z_{α/sided} + z_β) − z_{α/sided})
    where n* is the unrounded total of :func:`fixed_sample_size`; n from n*/4 to 2n*.
    For survival the x axis is the number of events.
    """
    fixed = fixed_sample_size(**options)
    alpha = float(options.get("alpha", 0.025))
    sided = int(options.get("sided", 1))
    power = float(options.get("power", 0.8))
    total = fixed.get("events_fixed", fixed["n1_fixed"] + fixed["n2_fixed"])
    za = one_minus_qnorm(alpha / sided)
    drift = za + one_minus_qnorm(1 - power)
    n = np.linspace(total / 4, 2 * total, points)
    return pd.DataFrame({"n": n, "power": ndtr(np.sqrt(n / total) * drift - za)})


def size_job(lake: Any, *, out: str | os.PathLike[str], **options: Any) -> tuple[str, str, pd.DataFrame]:
    """:func:`sample_size` as a lake run: the one-row table to ``out`` (and the lake).

    Returns the run id, the result dataset's name and the table.
    """
    table = sample_size(**options)
    fixed = fixed_sample_size(**options)
    params = {**options, "out": str(out), "fixed": fixed}
    with lake.run("discovery trial size", params=params, inputs=[]) as run:
        name = run.result(table, out)
    return run.id, name, table
