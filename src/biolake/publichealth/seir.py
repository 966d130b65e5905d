"""Compartmental (SIR / SEIR) models fitted to incidence by maximum likelihood, with projections.

The models (``N`` the population, ``C`` the cumulative incidence)::

    SIR:   S' = −βSI/N,  I' = βSI/N − γI,           R' = γI,  C' = βSI/N
    SEIR:  S' = −βSI/N,  E' = βSI/N − σE,  I' = σE − γI,  R' = γI,  C' = σE

start at ``S = N − i0, E = 0, I = i0, R = 0, C = 0`` at time 0 and are solved with
``scipy.integrate.solve_ivp`` (LSODA; agrees with R ``deSolve::ode(method = "lsoda")`` to
1e-6, see the tests). Incidence in time step ``t = 1 … T`` (one row of the series) is
``C(t) − C(t − 1)``: new infections for SIR, new infectious cases for SEIR.

:func:`fit_compartmental` maximises the likelihood of the observed counts under Poisson or
negative-binomial (size θ) observation noise over ``log β``, ``log γ``, ``log σ``,
``log i0`` (and ``log θ``); any of ``β, γ, σ`` may be fixed. Confidence intervals are Wald
intervals on the log scale (``exp(log θ̂ ± z·se)``) from the numerical Hessian of the
log-likelihood, mapped back; ``R0 = β/γ`` gets its interval by the delta method on
``log β − log γ``. The projection runs the fitted model ``horizon`` steps beyond the
data; its bands come from simulation: parameter sets drawn from the normal approximation
of the estimates (on the log scale), each solved, and observation noise drawn around
each — a parametric bootstrap of the estimates (Krinsky–Robb), not a refit of simulated data.

Examples
--------
>>> traj = trajectory(np.arange(0, 4), model="sir", beta=0.5, gamma=0.25, population=1000, i0=10)
>>> traj["I"].round(4).tolist()  # R deSolve::ode gives 10.0000 12.7591 16.2281 20.5584
[10.0, 12.7591, 16.2281, 20.5584]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

from biolake.errors import InputError, check_param
from biolake.publichealth._frame import (
    check_counts,
    check_regular,
    check_unique,
    read_frame,
    table_columns,
    time_values,
)

__all__ = [
    "SEIR_MODELS",
    "CompartmentalFit",
    "fit_compartmental",
    "fit_seir",
    "profile_interval",
    "seir_job",
    "simulate_incidence",
    "trajectory",
]

SEIR_MODELS = ("sir", "seir")
OBSERVATIONS = ("poisson", "negbin")
_FIT_SUBSTEPS = 64


def _rhs(model: str, beta: float, sigma: float, gamma: float, n: float) -> Any:
    if model == "sir":

        def f(t: float, s: np.ndarray) -> list[float]:
            inf = beta * s[0] * s[2] / n
            return [-inf, 0.0, inf - gamma * s[2], gamma * s[2], inf]

    else:

        def f(t: float, s: np.ndarray) -> list[float]:
            inf = beta * s[0] * s[2] / n
            return [-inf, inf - sigma * s[1], sigma * s[1] - gamma * s[2], gamma * s[2], sigma * s[1]]

    return f


def _solve(
    times: np.ndarray,
    model: str,
    beta: float,
    gamma: float,
    sigma: float,
    n: float,
    i0: float,
    rtol: float,
    atol: float,
) -> np.ndarray:
    y0 = [n - i0, 0.0, i0, 0.0, 0.0]
    sol = integrate.solve_ivp(
        _rhs(model, beta, sigma, gamma, n),
        (0.0, float(times[-1])),
        y0,
        method="LSODA",
        t_eval=times,
        rtol=rtol,
        atol=atol,
    )
    if not sol.success:
        raise FloatingPointError(sol.message)
    return sol.y


def trajectory(
    times: Sequence[float] | np.ndarray,
    *,
    model: str = "seir",
    beta: float,
    gamma: float,
    sigma: float | None = None,
    population: float,
    i0: float,
    rtol: float = 1e-12,
    atol: float = 1e-8,
) -> pd.DataFrame:
    """The solution of the SIR/SEIR equations at ``times`` (from time 0): columns ``time S E I R C``."""
    check_param("trajectory", "model", model, model in SEIR_MODELS, "'sir' or 'seir'")
    if model == "seir":
        check_param("trajectory", "sigma", sigma, sigma is not None and sigma > 0, "a positive rate for SEIR")
    t = np.asarray(times, dtype=np.float64)
    y = _solve(t, model, beta, gamma, sigma or 0.0, population, i0, rtol, atol)
    return pd.DataFrame({"time": t, "S": y[0], "E": y[1], "I": y[2], "R": y[3], "C": y[4]})


@numba.njit(cache=True, nogil=True)
def _deriv(s: np.ndarray, seir: bool, beta: float, sigma: float, gamma: float, n: float, out: np.ndarray) -> None:
    inf = beta * s[0] * s[2] / n
    out[0] = -inf
    if seir:
        out[1] = inf - sigma * s[1]
        out[2] = sigma * s[1] - gamma * s[2]
        out[4] = sigma * s[1]
    else:
        out[1] = 0.0
        out[2] = inf - gamma * s[2]
        out[4] = inf
    out[3] = gamma * s[2]


@numba.njit(cache=True, nogil=True)
def _rk4_cumulative(
    steps: int, seir: bool, beta: float, sigma: float, gamma: float, n: float, i0: float, sub: int
) -> np.ndarray:  # pragma: no cover - compiled
    """C(0), C(1), …, C(steps) by classical Runge–Kutta with ``sub`` sub-steps per time step."""
    s = np.array([n - i0, 0.0, i0, 0.0, 0.0])
    k1, k2, k3, k4, tmp = np.empty(5), np.empty(5), np.empty(5), np.empty(5), np.empty(5)
    out = np.empty(steps + 1)
    out[0] = 0.0
    h = 1.0 / sub
    for t in range(steps):
        for _ in range(sub):
            _deriv(s, seir, beta, sigma, gamma, n, k1)
            for j in range(5):
                tmp[j] = s[j] + 0.5 * h * k1[j]
            _deriv(tmp, seir, beta, sigma, gamma, n, k2)
            for j in range(5):
                tmp[j] = s[j] + 0.5 * h * k2[j]
            _deriv(tmp, seir, beta, sigma, gamma, n, k3)
            for j in range(5):
                tmp[j] = s[j] + h * k3[j]
            _deriv(tmp, seir, beta, sigma, gamma, n, k4)
            for j in range(5):
                s[j] += h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j])
        out[t + 1] = s[4]
    return out


def _incidence(steps: int, model: str, beta: float, gamma: float, sigma: float, n: float, i0: float) -> np.ndarray:
    """Model incidence per time step for fitting: RK4 with 1/64 sub-steps (smooth in the parameters)."""
    c = _rk4_cumulative(steps, model == "seir", beta, sigma, gamma, n, i0, _FIT_SUBSTEPS)
    if not np.all(np.isfinite(c)):
        raise FloatingPointError("the ODE solution is not finite")
    return np.maximum(np.diff(c), 1e-12)


def simulate_incidence(
    steps: int,
    *,
    model: str = "seir",
    beta: float,
    gamma: float,
    sigma: float | None = None,
    population: float,
    i0: float,
    observation: str = "poisson",
    theta: float = 10.0,
    seed: int | None = None,
) -> np.ndarray:
    """Counts drawn around the model's incidence (Poisson or NB with size ``theta``), for tests and demos."""
    mu = _incidence(steps, model, beta, gamma, sigma or 0.0, population, i0)
    rng = np.random.default_rng(seed)
    if observation == "poisson":
        return rng.poisson(mu).astype(np.float64)
    return rng.negative_binomial(theta, theta / (theta + mu)).astype(np.float64)


@dataclass
class CompartmentalFit:
    """Estimates (natural scale), their log-scale covariance, the fitted incidence and the log-likelihood."""

    names: list[str]
    log_estimate: np.ndarray
    log_cov: np.ndarray
    fitted: np.ndarray
    loglik: float
    fixed: dict[str, float]
    nll: Any = None


def _loglik(y: np.ndarray, mu: np.ndarray, theta: float | None) -> float:
    if theta is None:
        return float(np.sum(special.xlogy(y, mu) - mu - special.gammaln(y + 1)))
    return float(
        np.sum(
            special.gammaln(theta + y)
            - special.gammaln(theta)
            - special.gammaln(y + 1)
            + theta * np.log(theta)
            + special.xlogy(y, mu)
            - (theta + y) * np.log(theta + mu)
        )
    )


def _unpack(p: np.ndarray, names: list[str], fixed: dict[str, float]) -> dict[str, float]:
    values = dict(fixed)
    values.update({k: float(np.exp(v)) for k, v in zip(names, p, strict=True)})
    return values


def _hessian(f: Any, x: np.ndarray, h: float = 2e-3) -> np.ndarray:
    k = len(x)
    hm = np.zeros((k, k))
    f0 = f(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h
        hm[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h**2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = h
            hm[i, j] = hm[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h * h)
    return hm


def _start(y: np.ndarray, model: str, fixed: dict[str, float]) -> dict[str, float]:
    """Starting values: early exponential growth rate → β; i0 from the first counts."""
    gamma = fixed.get("gamma", 0.2)
    sigma = fixed.get("sigma", 1 / 3)
    k = max(3, int(np.argmax(y)) // 2 + 1)
    t = np.arange(k)
    r = float(np.polyfit(t, np.log(y[:k] + 0.5), 1)[0]) if k >= 2 else 0.1
    r = min(max(r, 0.01), 2.0)
    beta = r + gamma if model == "sir" else (r + sigma) * (r + gamma) / sigma
    i0 = max(float(np.mean(y[:2])) / max(gamma, 1e-3), 1.0)
    return {"beta": fixed.get("beta", beta), "gamma": gamma, "sigma": sigma, "i0": i0, "theta": 10.0}


def fit_compartmental(
    y: np.ndarray,
    *,
    model: str = "seir",
    population: float,
    observation: str = "poisson",
    beta: float | None = None,
    gamma: float | None = None,
    sigma: float | None = None,
) -> CompartmentalFit:
    """Maximum-likelihood fit of one incidence series (see the module docstring)."""
    y = np.asarray(y, dtype=np.float64)
    fixed: dict[str, float] = {k: v for k, v in (("beta", beta), ("gamma", gamma), ("sigma", sigma)) if v is not None}
    if model == "sir":
        fixed["sigma"] = 0.0
    names = [p for p in ("beta", "gamma", "sigma") if p not in fixed] + ["i0"]
    if observation == "negbin":
        names.append("theta")
    start = _start(y, model, fixed)
    steps = len(y)

    def nll(p: np.ndarray) -> float:
        v = _unpack(p, names, fixed)
        if v["i0"] >= population:
            return 1e300
        try:
            mu = _incidence(steps, model, v["beta"], v["gamma"], v.get("sigma", 0.0), population, v["i0"])
        except FloatingPointError:
            return 1e300
        val = -_loglik(y, mu, v.get("theta"))
        return val if np.isfinite(val) else 1e300

    best = None
    for factor in (1.0, 0.7, 1.4):
        x0 = np.log([start[p] * (factor if p == "beta" else 1.0) for p in names])
        res = optimize.minimize(
            nll, x0, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000, "maxfev": 8000}
        )
        res = optimize.minimize(nll, res.x, method="BFGS", options={"gtol": 1e-6})
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    hess = _hessian(nll, best.x)
    try:
        cov = np.linalg.inv(hess)
        if np.any(np.diag(cov) < 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        cov = np.full_like(hess, np.nan)
    v = _unpack(best.x, names, fixed)
    fitted = _incidence(steps, model, v["beta"], v["gamma"], v.get("sigma", 0.0), population, v["i0"])
    if model == "sir":
        fixed.pop("sigma", None)
    return CompartmentalFit(
        names=names, log_estimate=best.x, log_cov=cov, fitted=fitted, loglik=-float(best.fun), fixed=fixed, nll=nll
    )


def profile_interval(fit: CompartmentalFit, name: str, *, level: float = 0.95) -> tuple[float, float]:
    """Profile-likelihood interval of one estimated parameter (natural scale).

    The bounds solve ``2 (ℓ̂ − ℓ_p(θ)) = χ²₁(level)``, ``ℓ_p`` maximised over the other
    parameters (Nelder–Mead, warm-started), by bracketing outward from the Wald bounds and
    Brent's method on the log scale (to 1e-5). A side that does not cross is ``inf``/0.
    """
    i = fit.names.index(name)
    target = -fit.loglik + stats.chi2.ppf(level, 1) / 2.0
    others = [j for j in range(len(fit.names)) if j != i]
    warm = {"x": fit.log_estimate[others].copy()}

    def excess(v: float) -> float:
        if not others:
            full = fit.log_estimate.copy()
            full[i] = v
            return float(fit.nll(full)) - target

        def inner(q: np.ndarray) -> float:
            full = np.empty(len(fit.names))
            full[i] = v
            full[others] = q
            return float(fit.nll(full))

        res = optimize.minimize(
            inner, warm["x"], method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 3000}
        )
        warm["x"] = res.x
        return float(res.fun) - target

    se = float(np.sqrt(fit.log_cov[i, i])) if np.isfinite(fit.log_cov[i, i]) else 0.5
    se = se if se > 0 else 0.5
    bounds = []
    for sign in (-1.0, 1.0):
        warm["x"] = fit.log_estimate[others].copy()
        inner_v = float(fit.log_estimate[i])
        step = 2.0 * se
        outer_v = inner_v + sign * step
        found = False
        for _ in range(10):
            if excess(outer_v) > 0:
                found = True
                break
            inner_v, step = outer_v, step * 2
            outer_v = inner_v + sign * step
        if not found:
            bounds.append(0.0 if sign < 0 else np.inf)
            continue
        warm["x"] = fit.log_estimate[others].copy()
        lo, hi = sorted((inner_v, outer_v))
        bounds.append(float(np.exp(optimize.brentq(excess, lo, hi, xtol=1e-5))))
    return bounds[0], bounds[1]


def _effects(fit: CompartmentalFit, level: float) -> pd.DataFrame:
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    se_log = np.sqrt(np.diag(fit.log_cov))
    for i, name in enumerate(fit.names):
        est = float(np.exp(fit.log_estimate[i]))
        rows.append(
            (
                name,
                est,
                est * se_log[i],
                np.exp(fit.log_estimate[i] - z * se_log[i]),
                np.exp(fit.log_estimate[i] + z * se_log[i]),
                "estimated",
            )
        )
    for name, value in fit.fixed.items():
        rows.append((name, value, np.nan, np.nan, np.nan, "fixed"))
    # R0 = beta / gamma by the delta method on the log scale
    idx = {n: i for i, n in enumerate(fit.names)}
    lb = fit.log_estimate[idx["beta"]] if "beta" in idx else np.log(fit.fixed["beta"])
    lg = fit.log_estimate[idx["gamma"]] if "gamma" in idx else np.log(fit.fixed["gamma"])
    g = np.zeros(len(fit.names))
    if "beta" in idx:
        g[idx["beta"]] = 1.0
    if "gamma" in idx:
        g[idx["gamma"]] = -1.0
    se = float(np.sqrt(g @ fit.log_cov @ g)) if g.any() else np.nan
    r0 = float(np.exp(lb - lg))
    rows.append(("R0", r0, r0 * se, np.exp(lb - lg - z * se), np.exp(lb - lg + z * se), "derived"))
    return pd.DataFrame(rows, columns=["term", "estimate", "se", "ci_lower", "ci_upper", "kind"]).assign(p=np.nan)[
        ["term", "estimate", "se", "ci_lower", "ci_upper", "p", "kind"]
    ]


def _projection(
    fit: CompartmentalFit,
    *,
    model: str,
    population: float,
    steps: int,
    observation: str,
    draws: int,
    level: float,
    seed: int,
) -> dict[str, np.ndarray]:
    v = _unpack(fit.log_estimate, fit.names, fit.fixed)
    sig = v.get("sigma", 0.0)
    mean = _incidence(steps, model, v["beta"], v["gamma"], sig, population, v["i0"])
    rng = np.random.default_rng(seed)
    lo_q, hi_q = 0.5 - level / 2, 0.5 + level / 2
    if draws == 0 or not np.all(np.isfinite(fit.log_cov)):
        nan = np.full(steps, np.nan)
        return {"fitted": mean, "mean_lower": nan, "mean_upper": nan, "lower": nan, "upper": nan}
    params = rng.multivariate_normal(fit.log_estimate, fit.log_cov, size=draws, method="eigh")
    sims = np.empty((draws, steps))
    obs = np.empty((draws, steps))
    for d in range(draws):
        p = _unpack(params[d], fit.names, fit.fixed)
        try:
            mu = _incidence(
                steps, model, p["beta"], p["gamma"], p.get("sigma", 0.0), population, min(p["i0"], population * 0.5)
            )
        except FloatingPointError:
            mu = mean
        sims[d] = mu
        if observation == "poisson":
            obs[d] = rng.poisson(mu)
        else:
            th = p["theta"]
            obs[d] = rng.negative_binomial(th, th / (th + mu))
    return {
        "fitted": mean,
        "mean_lower": np.quantile(sims, lo_q, axis=0),
        "mean_upper": np.quantile(sims, hi_q, axis=0),
        "lower": np.quantile(obs, lo_q, axis=0),
        "upper": np.quantile(obs, hi_q, axis=0),
    }


def fit_seir(
    data: Any,
    *,
    population: float,
    model: str = "seir",
    count_col: str = "count",
    date_col: str | None = None,
    by: Sequence[str] = (),
    observation: str = "poisson",
    beta: float | None = None,
    gamma: float | None = None,
    sigma: float | None = None,
    horizon: int = 0,
    draws: int = 200,
    level: float = 0.95,
    ci: str = "wald",
    seed: int = 1,
    lake: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit an SIR/SEIR model to every incidence series and project it ``horizon`` steps ahead.

    Parameters
    ----------
    data
        Incidence in long format (a DataFrame, a CSV/TSV/Parquet file or ``lake:NAME``): one
        row per series and time step, consecutive steps, no gaps.
    population
        ``N`` (the same for every series).
    model, observation
        ``sir`` or ``seir``; ``poisson`` or ``negbin`` observation noise.
    count_col, date_col, by
        Count column; time column (default ``date`` if present, else row order); series keys.
    beta, gamma, sigma
        Fix a rate instead of estimating it (per time step; ``sigma`` only for SEIR).
    horizon, draws, level, seed
        Projection length in time steps, simulated parameter sets for the bands, level of the
        intervals and bands, random seed.
    ci
        ``wald`` (log scale, from the Hessian) or ``profile`` (profile likelihood for the
        estimated parameters; ``R0`` keeps its delta-method interval).

    Returns
    -------
    (effects, series)
        ``effects``: keys, ``term estimate se ci_lower ci_upper p kind`` for ``beta gamma
        sigma i0 (theta) R0`` (``kind``: estimated, fixed or derived; ``p`` empty).
        ``series``: keys, ``t`` (1-based step), the time column, ``observed`` (empty in the
        projection), ``fitted`` (model incidence), ``mean_lower mean_upper`` (band of the
        incidence), ``lower upper`` (prediction band of the counts), ``projected``.
    """
    fn = "fit_seir"
    check_param(fn, "model", model, model in SEIR_MODELS, "'sir' or 'seir'")
    check_param(fn, "observation", observation, observation in OBSERVATIONS, "'poisson' or 'negbin'")
    check_param(
        fn, "population", population, isinstance(population, float | int) and population > 0, "a positive number"
    )
    check_param(fn, "horizon", horizon, isinstance(horizon, int) and horizon >= 0, "an integer >= 0")
    check_param(fn, "draws", draws, isinstance(draws, int) and draws >= 0, "an integer >= 0")
    check_param(fn, "level", level, 0 < level < 1, "a number in (0, 1)")
    check_param(fn, "ci", ci, ci in ("wald", "profile"), "'wald' or 'profile'")
    for name, value in (("beta", beta), ("gamma", gamma), ("sigma", sigma)):
        check_param(fn, name, value, value is None or value > 0, "None or a positive rate")
    if model == "sir" and sigma is not None:
        raise InputError("--sigma applies to the SEIR model only")
    by = [by] if isinstance(by, str) else list(by)
    cols = [*by, count_col]
    if date_col is None and "date" in table_columns(data, lake=lake) and "date" not in by:
        date_col = "date"
    frame, source = read_frame(data, columns=cols + ([date_col] if date_col else []), lake=lake)
    counts = check_counts(frame, count_col, source)
    if date_col is not None:
        times = time_values(frame, date_col, source)
        check_unique(frame, [*by, date_col], source)
    else:
        times = pd.Series(np.arange(len(frame), dtype=np.float64))
    groups = frame.groupby(by, sort=True, dropna=False).indices if by else {(): np.arange(len(frame))}
    effects, series = [], []
    for key, idx in groups.items():
        idx = np.asarray(idx)
        if date_col is not None:
            idx = idx[np.argsort(times.to_numpy()[idx], kind="stable")]
        key = key if isinstance(key, tuple) else (key,)
        label = "the series" if not by else "series " + ", ".join(f"{k}={v}" for k, v in zip(by, key, strict=True))
        if date_col is not None:
            check_regular(times.to_numpy()[idx], source, label)
        y = counts[idx]
        if len(y) < 5 or y.sum() == 0:
            raise InputError(f"{label}: too few time steps or no cases to fit a compartmental model", file=source)
        fit = fit_compartmental(
            y, model=model, population=float(population), observation=observation, beta=beta, gamma=gamma, sigma=sigma
        )
        eff = _effects(fit, level)
        eff["ci_method"] = [{"estimated": ci, "derived": "delta"}.get(k) for k in eff.kind]
        if ci == "profile":
            for name in fit.names:
                lo, hi = profile_interval(fit, name, level=level)
                eff.loc[eff.term == name, ["ci_lower", "ci_upper"]] = [lo, hi]
        proj = _projection(
            fit,
            model=model,
            population=float(population),
            steps=len(y) + horizon,
            observation=observation,
            draws=draws,
            level=level,
            seed=seed,
        )
        t_all = np.arange(1, len(y) + horizon + 1)
        ser = pd.DataFrame({"t": t_all})
        if date_col is not None:
            tv = times.to_numpy()[idx]
            step = tv[-1] - tv[-2] if len(tv) > 1 else 1
            from biolake.publichealth.impact import _time_out

            ser[date_col] = _time_out(np.concatenate([tv, tv[-1] + step * np.arange(1, horizon + 1)]))
        ser["observed"] = np.concatenate([y, np.full(horizon, np.nan)])
        for k in ("fitted", "mean_lower", "mean_upper", "lower", "upper"):
            ser[k] = proj[k]
        ser["projected"] = t_all > len(y)
        for i, (k, v) in enumerate(zip(by, key, strict=True)):
            eff.insert(i, k, v)
            ser.insert(i, k, v)
        eff["loglik"] = fit.loglik
        effects.append(eff)
        series.append(ser)
    return pd.concat(effects, ignore_index=True), pd.concat(series, ignore_index=True)


def seir_job(
    lake: Any,
    data: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    series_out: str | os.PathLike[str] | None = None,
    **options: Any,
) -> tuple[str, list[str]]:
    """:func:`fit_seir` as a lake run ``publichealth seir``: effects to ``out``, series to ``series_out``."""
    from biolake.publichealth.impact import _spec_of

    spec = _spec_of(data)
    params = {"data": spec, "out": str(out), "series_out": None if series_out is None else str(series_out), **options}
    with lake.run("publichealth seir", params=params, inputs=[spec]) as run:
        if not spec.startswith("lake:"):
            run.hash_input(spec)
        effects, series = fit_seir(spec, lake=lake, **options)
        by = list(options.get("by") or [])
        names = [run.result(effects, out)]
        run.annotate(names[0], attrs={"role_impact": "effects", "by": by, "model": options.get("model", "seir")})
        if series_out is not None:
            names.append(run.result(series, series_out))
            run.annotate(names[1], attrs={"role_impact": "series", "by": by, "date_col": options.get("date_col")})
    return run.id, names
