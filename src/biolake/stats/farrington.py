"""The improved Farrington algorithm on many count series at once, as R ``surveillance::farringtonFlexible``.

Farrington et al. (1996), improved by Noufaily et al. (2013). For each monitored time
point ``k`` of a series, R's ``farringtonFlexible`` (surveillance 1.20):

1. **Reference data.** The reference time points are ``k`` and the points 1 … ``b``
   years back: ``k − i·freq`` for a series indexed by row number (R's ``epoch``), and for
   a date-indexed weekly series the date ``i`` years back (R's ``seq(date, by = "-1 year")``,
   29 February → 1 March) moved to the same weekday as ``k``, whichever of the two
   candidate weeks is nearer. Windows of ``±w`` points around each reference point form
   block ``noPeriods``; with ``noPeriods > 1`` the points between two windows are cut into
   ``noPeriods − 1`` blocks of near-equal length (R's ``blocks``) and every point from the
   oldest window on is used, with a factor for its block. The points ``k − pastWeeksNotIncluded
   … k`` are left out.
2. **Model.** A quasi-Poisson GLM (log link) ``count ~ 1 + time [+ block] [+ offset(log
   population)]`` by IRLS exactly as R's ``glm.fit`` (start ``μ = y + 0.1``, convergence
   ``|Δdev| / (|dev| + 0.1) < 1e-8``, at most 25 iterations); the dispersion
   ``φ = max(1, Pearson χ² / df)``. With ``reweight``, Anscombe residuals scaled by
   ``√(φ (1 − h))`` above ``weightsThreshold`` get weights ``∝ s⁻²`` (others a constant,
   all averaging 1) and the model is refitted with them.
3. **Trend.** The time trend is kept when ``b ≥ 3``, its t-test p-value is below
   ``pThresholdTrend`` and the predicted count does not exceed the largest reference
   count; otherwise the model is refitted without it. A model that does not converge
   with the trend is fitted without it; one that does not converge at all gives NA.
4. **Threshold** at ``k`` from the prediction ``η₀`` (with R's standard error of the
   prediction, which uses the dispersion of the final fit untruncated):

   * ``delta``: ``μ₀ = exp η₀``, ``τ = φ + se(μ₀)² / μ₀``; for the power 2/3,
     ``U = (μ₀^{2/3} + z · √(4/9 · μ₀^{1/3} τ))^{3/2}`` (``1/2`` and ``none`` likewise),
     ``z = Φ⁻¹(1 − α)``; ``expected = μ₀``;
   * ``nbPlugin``: ``U`` is the ``1 − α`` quantile of a negative binomial with mean
     ``exp η₀`` and variance ``φ`` times the mean (Poisson when ``φ = 1``);
   * ``muan``: the same with mean ``exp(η₀ + z · se(η₀))``; ``expected = exp η₀``.

   ``score = (y − fit) / (U − fit)`` with R's ``fit`` (``μ₀`` for delta, ``η₀`` otherwise),
   ``pvalue`` the upper tail probability of ``y`` (R's ``pvalue``).
5. **Alarm** when at least ``limit54[0]`` cases were counted in the last ``limit54[1]``
   points (else upper bound and expected are NA) and ``score > 1`` and ``y > 0``.

All cells (series × time point) that share the layout of their reference data (for a
series indexed by row number: all of them) are fitted together: one batched IRLS over
cells, each cell stopping at its own iteration as R does.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass

import numba
import numpy as np
from scipy import special, stats

from biolake.stats.logistic import _chol_inverse

__all__ = [
    "FARRINGTON_POWER_TRANSFORMS",
    "FARRINGTON_THRESHOLD_METHODS",
    "FarringtonLayoutError",
    "FarringtonResult",
    "farrington_first_index",
    "farrington_flexible",
    "reference_layout",
]

FARRINGTON_THRESHOLD_METHODS = ("delta", "nbPlugin", "muan")
FARRINGTON_POWER_TRANSFORMS = ("2/3", "1/2", "none")
_EPOCH = _dt.date(1970, 1, 1)
_EPS = 1e-8  # glm.control()$epsilon
_MAXIT = 25  # glm.control()$maxit
_BATCH = 20_000  # cells per batched fit (memory)
_DBL_EPS = float(np.finfo(float).eps)


def _linkinv(eta: np.ndarray) -> np.ndarray:
    """R's ``poisson()$linkinv`` (and ``mu.eta``): ``pmax(exp(eta), .Machine$double.eps)``."""
    with np.errstate(over="ignore"):
        return np.maximum(np.exp(eta), _DBL_EPS)


class FarringtonLayoutError(ValueError):
    """The reference data cannot be laid out as R does (R stops with an error)."""


@dataclass(frozen=True)
class FarringtonResult:
    """Per series and time point results of :func:`farrington_flexible` (arrays shaped like the input).

    Unmonitored points and R's NA hold NaN (floats) and False (``alarm``).

    Attributes
    ----------
    expected
        R's ``control$expected``: ``μ₀`` (delta) or ``exp η₀`` (nbPlugin, muan); NaN
        where there are too few recent cases (``limit54``) or no fit.
    upper_bound
        R's ``upperbound``.
    alarm
        R's ``alarm`` (NA → False).
    score
        R's ``control$score``: ``(y − fit) / (upper − fit)``.
    pvalue
        R's ``control$pvalue``: upper tail probability of the count.
    phi
        The dispersion ``max(1, φ̂)`` of the final model.
    trend
        The time-trend coefficient (per time point) where the trend was kept, else NaN.
    evaluable
        Whether the point is monitored (enough history).
    """

    expected: np.ndarray
    upper_bound: np.ndarray
    alarm: np.ndarray
    score: np.ndarray
    pvalue: np.ndarray
    phi: np.ndarray
    trend: np.ndarray
    evaluable: np.ndarray


def farrington_first_index(*, b: int, w: int, freq: int) -> int:
    """0-based index of the first monitored point (R's default ``range[1] − 1 = freq·b + w``)."""
    return freq * b + w


# --------------------------------------------------------------------------- reference data


def _years_back(day: int, years: int) -> int:
    """R's ``seq(date, by = "-1 year")[years + 1]`` in days since 1970-01-01 (29 Feb → 1 Mar)."""
    d = _EPOCH + _dt.timedelta(days=int(day))
    try:
        back = d.replace(year=d.year - years)
    except ValueError:  # 29 February in a common year: POSIXlt normalises to 1 March
        back = _dt.date(d.year - years, 3, 1)
    return (back - _EPOCH).days


def _r_range(a: int, b: int) -> range:
    """R's ``a:b`` (decreasing when ``a > b``)."""
    return range(a, b + 1) if a <= b else range(a, b - 1, -1)


def reference_layout(
    k: int,
    *,
    b: int,
    w: int,
    no_periods: int,
    past_weeks_not_included: int,
    freq: int,
    day: int | None = None,
    step: int = 7,
    t0: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (0-based, ascending) of the reference data of point ``k`` and their block factors.

    ``day``/``step``/``t0``: for a date-indexed series, the date of ``k`` and of the first
    point (days since 1970-01-01) and the days per point (7 weekly, 1 daily); ``None``
    for a series indexed by row number. Positions before the series' start are dropped
    (R silently drops its index 0).
    """
    if day is None:
        refs = [k - i * freq for i in range(b + 1)]
    else:
        refs = []
        for i in range(b + 1):
            ref = _years_back(day, i)
            if step == 7:  # R: the same weekday as `day`, the nearer of two candidate weeks
                to_get = (day + 4) % 7  # %w: 0 = Sunday; 1970-01-01 was a Thursday
                actual = (ref + 4) % 7
                a = ref - (actual - to_get)
                bb = a + (-7 if a > ref else 7)
                ref = a if abs(a - ref) <= abs(bb - ref) else bb
            if (ref - t0) % step:
                raise FarringtonLayoutError(f"reference day {ref} is not on the series' grid")
            refs.append(k - (day - ref) // step)
    n = k + 1
    factors = np.full(n + 2 * w + 2, np.nan)  # index = position + 1 (R's 1-based index; 0 is dropped)

    def assign(rng: range, value: float) -> None:
        for i in rng:
            if 1 <= i < len(factors):  # R drops index 0 (and would fail on negative ones)
                factors[i] = value

    p = no_periods
    r1 = [r + 1 for r in refs]  # 1-based
    now = k + 1
    assign(_r_range(now - w, now), p)
    for i in range(1, b + 1):
        ref_week = r1[i]
        assign(_r_range(ref_week - w, ref_week + w), p)
        if p != 1:
            period = r1[i - 1] - 2 * w - 1 - ref_week
            if period < p - (2 * w + 1):
                raise FarringtonLayoutError(
                    f"noPeriods = {p} is too large for the {period} points between reference windows "
                    "(R: Number of factors too big!)"
                )
            lengths = [period // (p - 1)] * (p - 1)
            for j in range(period % (p - 1)):
                lengths[j] += 1
            cum = np.concatenate([[0], np.cumsum(lengths)])
            for j in range(1, p):
                assign(_r_range(ref_week + w + 1 + int(cum[j - 1]), ref_week + w + 1 + int(cum[j]) - 1), j)
    for i in _r_range(now - past_weeks_not_included, now):
        if 0 <= i < len(factors):
            factors[i] = np.nan
    factors = factors[1 : n + 1]  # positions 0 … k
    pos = np.flatnonzero(~np.isnan(factors))
    return pos, factors[pos].astype(np.int64)


# --------------------------------------------------------------------------- batched GLM


@dataclass
class _Fit:
    """A batch of quasi-Poisson fits (one per cell) with R's ``glm`` summaries."""

    converged: np.ndarray  # (m,)
    beta: np.ndarray  # (m, p)
    mu: np.ndarray  # (m, n)
    work_w: np.ndarray  # (m, n) working weights of the last IRLS step (R's model$weights)
    inv: np.ndarray  # (m, p, p) (X' W X)^-1 of the last step
    disp: np.ndarray  # (m,) summary.glm dispersion (Pearson / df)
    df_r: np.ndarray  # (m,) residual degrees of freedom


@numba.njit(cache=True, nogil=True)
def _poisson_dev_row(y: np.ndarray, mu: np.ndarray, pw: np.ndarray) -> float:  # pragma: no cover - compiled
    dev = 0.0
    for i in range(y.shape[0]):
        t = -(y[i] - mu[i])
        if y[i] > 0:
            t += y[i] * math.log(y[i] / mu[i])
        dev += 2.0 * pw[i] * t
    return dev


@numba.njit(cache=True, nogil=True)
def _irls_cells(
    y: np.ndarray,
    x: np.ndarray,
    offset: np.ndarray,
    pw: np.ndarray,
    beta: np.ndarray,
    mu: np.ndarray,
    work_w: np.ndarray,
    inv: np.ndarray,
    converged: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """R's ``glm.fit`` (quasi-Poisson, log link) for each row of ``y``; outputs filled in place."""
    m, n = y.shape
    p = x.shape[1]
    eta = np.empty(n)
    eta_new = np.empty(n)
    mu_new = np.empty(n)
    a = np.empty((p, p))
    ainv = np.empty((p, p))
    rhs = np.empty(p)
    b = np.empty(p)
    old = np.empty(p)
    for c in range(m):
        for i in range(n):
            mu[c, i] = y[c, i] + 0.1  # poisson()$initialize
            eta[i] = math.log(mu[c, i])
        devold = _poisson_dev_row(y[c], mu[c], pw[c])
        for it in range(_MAXIT):
            a[:, :] = 0.0
            rhs[:] = 0.0
            for i in range(n):
                wi = pw[c, i] * mu[c, i]  # mu.eta^2 / variance = mu for the log link
                zi = eta[i] - offset[c, i] + (y[c, i] - mu[c, i]) / mu[c, i]
                work_w[c, i] = wi
                for j in range(p):
                    xw = x[i, j] * wi
                    rhs[j] += xw * zi
                    for k in range(j + 1):
                        a[j, k] += xw * x[i, k]
            for j in range(p):
                for k in range(j):
                    a[k, j] = a[j, k]
            ok, _ = _chol_inverse(a, ainv)
            if not ok:  # singular: R would pivot a column out; report no convergence
                for j in range(p):
                    beta[c, j] = np.nan
                converged[c] = False
                break
            for j in range(p):
                s = 0.0
                for k in range(p):
                    s += ainv[j, k] * rhs[k]
                b[j] = s
            bad = True
            for _half in range(_MAXIT + 1):
                finite = True
                for i in range(n):
                    e = offset[c, i]
                    for j in range(p):
                        e += x[i, j] * b[j]
                    eta_new[i] = e
                    mu_new[i] = max(math.exp(e), _DBL_EPS)  # poisson()$linkinv
                    if not math.isfinite(mu_new[i]):
                        finite = False
                dev = _poisson_dev_row(y[c], mu_new, pw[c])
                bad = not (finite and math.isfinite(dev))
                if not bad or it == 0:
                    break
                for j in range(p):  # R: step halving towards the previous coefficients
                    b[j] = (b[j] + old[j]) / 2.0
            for j in range(p):
                beta[c, j] = b[j]
                old[j] = b[j]
                for k in range(p):
                    inv[c, j, k] = ainv[j, k]
            for i in range(n):
                eta[i] = eta_new[i]
                mu[c, i] = mu_new[i]
            if abs(dev - devold) / (abs(dev) + 0.1) < _EPS:
                converged[c] = True
                break
            devold = dev


def _irls(y: np.ndarray, x: np.ndarray, offset: np.ndarray, pw: np.ndarray) -> _Fit:
    """R's ``glm.fit`` for ``quasipoisson(log)``, one fit per row of ``y``, each stopping on its own."""
    m, n = y.shape
    p = x.shape[1]
    beta = np.full((m, p), np.nan)
    mu = np.empty((m, n))
    work_w = np.zeros((m, n))
    inv = np.zeros((m, p, p))
    converged = np.zeros(m, dtype=np.bool_)
    _irls_cells(
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(offset, dtype=np.float64),
        np.ascontiguousarray(pw, dtype=np.float64),
        beta,
        mu,
        work_w,
        inv,
        converged,
    )
    with np.errstate(all="ignore"):
        df_r = (pw > 0).sum(axis=1) - p
        pearson = np.where(pw > 0, work_w * ((y - mu) / mu) ** 2, 0.0).sum(axis=1)
        disp = np.where(df_r > 0, pearson / df_r, np.nan)
    return _Fit(converged=converged, beta=beta, mu=mu, work_w=work_w, inv=inv, disp=disp, df_r=df_r)


def _r_max1(v: np.ndarray) -> np.ndarray:
    """R's ``max(v, 1)`` (NaN stays NaN)."""
    return np.where(np.isnan(v), np.nan, np.maximum(v, 1.0))


@numba.njit(cache=True, nogil=True)
def _anscombe_weights(
    y: np.ndarray,
    x: np.ndarray,
    mu: np.ndarray,
    work_w: np.ndarray,
    inv: np.ndarray,
    phi: np.ndarray,
    threshold: float,
    omega: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """R's ``anscombe.residuals`` (hat values from the last IRLS step) and ``algo.farrington.assign.weights``."""
    m, n = y.shape
    p = x.shape[1]
    s = np.empty(n)
    for c in range(m):
        total = 0.0
        for i in range(n):
            h = 0.0
            for j in range(p):
                for k in range(p):
                    h += x[i, j] * inv[c, j, k] * x[i, k]
            h *= work_w[c, i]
            a = 1.5 * (y[c, i] ** (2.0 / 3.0) * mu[c, i] ** (-1.0 / 6.0) - math.sqrt(mu[c, i]))
            s[i] = a / math.sqrt(phi[c] * (1.0 - h))
            total += s[i] ** -2.0 if s[i] > threshold else 1.0
        gamma = n / total
        for i in range(n):
            omega[c, i] = gamma * s[i] ** -2.0 if s[i] > threshold else gamma


def _flexible_fit(
    y: np.ndarray, x: np.ndarray, offset: np.ndarray, *, reweight: bool, weights_threshold: float
) -> tuple[_Fit, np.ndarray, np.ndarray]:
    """R's ``algo.farrington.fitGLM.flexible`` without its fallback: (final fit, phi, first fit converged)."""
    first = _irls(y, x, offset, np.ones_like(y))
    phi = _r_max1(first.disp)
    if not reweight:
        return first, phi, first.converged
    omega = np.empty_like(y)
    _anscombe_weights(y, x, first.mu, first.work_w, first.inv, phi, float(weights_threshold), omega)
    second = _irls(y, x, offset, omega)
    phi2 = _r_max1(second.disp)
    # R then sets model$weights <- omega, so the summary.glm dispersion that predict() and the
    # trend's t-test use afterwards is sum(omega * working residual^2) / df
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = np.where(omega > 0, omega * ((y - second.mu) / second.mu) ** 2, 0.0).sum(axis=1)
        second.disp = np.where(second.df_r > 0, pearson / second.df_r, np.nan)
    return second, phi2, first.converged


# --------------------------------------------------------------------------- thresholds


def _qnbinom(p: float, size: np.ndarray, prob: float | np.ndarray, *, poisson: bool = False) -> np.ndarray:
    """R's ``qnbinom(p, size, prob)`` / ``qpois(p, size)``: smallest x with P(X ≤ x) ≥ p (R's fuzz)."""
    target = p * (1 - 64 * np.finfo(float).eps)
    if poisson:
        start = stats.poisson.ppf(p, size)
    else:
        start = stats.nbinom.ppf(p, size, prob)
    x = np.where(np.isfinite(start), start, 0.0)

    def cdf(q: np.ndarray) -> np.ndarray:
        q = np.maximum(q, 0.0)
        if poisson:
            return special.gammaincc(q + 1.0, size)
        return special.betainc(size, q + 1.0, prob)

    for _ in range(1000):  # walk to the smallest x with cdf(x) >= target
        down = (x > 0) & (cdf(x - 1.0) >= target)
        up = cdf(x) < target
        if not (down.any() or up.any()):
            break
        x = np.where(down, x - 1.0, np.where(up, x + 1.0, x))
    return x


def _threshold(
    method: str,
    *,
    eta0: np.ndarray,
    se_eta: np.ndarray,
    phi: np.ndarray,
    y: np.ndarray,
    alpha: float,
    pow_trans: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(fit, upper, score, pvalue) as R's ``algo.farrington.threshold.farrington`` / ``.noufaily``."""
    z = stats.norm.ppf(1.0 - alpha)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if method == "delta":
            mu0 = _linkinv(eta0)  # predict(type = "response")
            se_fit = se_eta * mu0
            tau = phi + se_fit**2 / mu0
            if pow_trans == "none":
                se, e = np.sqrt(mu0 * tau), 1.0
            elif pow_trans == "1/2":
                se, e = np.sqrt(0.25 * tau), 0.5
            else:
                se, e = np.sqrt(4.0 / 9.0 * mu0 ** (1.0 / 3.0) * tau), 2.0 / 3.0
            upper = (mu0**e + z * se) ** (1.0 / e)
            pvalue = stats.norm.sf(y**e, loc=mu0**e, scale=se)
            fit = mu0
        else:
            muq = np.exp(eta0) if method == "nbPlugin" else np.exp(eta0 + z * se_eta)
            finite = np.isfinite(muq)
            nb = finite & (phi > 1)
            pois = finite & ~(phi > 1)
            upper = np.full_like(eta0, np.nan)
            pvalue = np.full_like(eta0, np.nan)
            if nb.any():
                size = muq[nb] / (phi[nb] - 1.0)
                prob = 1.0 / phi[nb]
                upper[nb] = _qnbinom(1.0 - alpha, size, prob)
                yy = y[nb]
                pvalue[nb] = np.where(yy >= 1, special.betainc(np.maximum(yy, 1.0), size, 1.0 - prob), 1.0)
            if pois.any():
                upper[pois] = _qnbinom(1.0 - alpha, muq[pois], 0.0, poisson=True)
                yy = y[pois]
                pvalue[pois] = np.where(yy >= 1, special.gammainc(np.maximum(yy, 1.0), muq[pois]), 1.0)
            fit = eta0
        score = (y - fit) / (upper - fit)
    return fit, upper, score, pvalue


# --------------------------------------------------------------------------- one layout


def _design(
    wtime: np.ndarray, factors: np.ndarray, *, trend: bool, factors_bool: bool, base: int
) -> tuple[np.ndarray, list[int]]:
    """Design matrix: intercept, time, and a dummy per block level other than ``base``.

    R's treatment contrasts take the first level as the base; the fitted values (and every
    output) do not depend on that choice, and taking the predicted level ``noPeriods`` as
    the base keeps the prediction well conditioned when another block has only zeros (its
    coefficient then runs off to −∞).
    """
    cols = [np.ones(len(wtime))]
    if trend:
        cols.append(wtime)
    lev_cols: list[int] = []
    if factors_bool:
        levels = [int(v) for v in np.unique(factors)]
        if base not in levels:
            base = levels[0]
        lev_cols = [lev for lev in levels if lev != base]
        cols += [(factors == lev).astype(np.float64) for lev in lev_cols]
    return np.column_stack(cols), lev_cols


def _x0(wnow: float, no_periods: int, lev_cols: list[int], *, trend: bool) -> np.ndarray:
    row = [1.0] + ([wnow] if trend else []) + [1.0 if lev == no_periods else 0.0 for lev in lev_cols]
    return np.array(row)


def _fit_layout(
    y: np.ndarray,
    logpop: np.ndarray | None,
    logpop_now: np.ndarray | None,
    y_now: np.ndarray,
    recent: np.ndarray,
    wtime: np.ndarray,
    wnow: float,
    factors: np.ndarray,
    opts: dict,
) -> dict[str, np.ndarray]:
    """Farrington for a batch of cells with the same reference layout (rows of ``y``)."""
    m = y.shape[0]
    factors_bool = opts["no_periods"] != 1
    offset = logpop if logpop is not None else np.zeros_like(y)
    off_now = logpop_now if logpop_now is not None else np.zeros(m)
    rw = {"reweight": opts["reweight"], "weights_threshold": opts["weights_threshold"]}
    phi = np.full(m, np.nan)
    eta0 = np.full(m, np.nan)
    se_eta = np.full(m, np.nan)
    coef_t = np.full(m, np.nan)
    ok = np.zeros(m, dtype=bool)
    need_plain = np.ones(m, dtype=bool)
    if opts["trend"]:
        xt, lev_t = _design(wtime, factors, trend=True, factors_bool=factors_bool, base=opts["no_periods"])
        x0t = _x0(wnow, opts["no_periods"], lev_t, trend=True)
        fit, phit, conv = _flexible_fit(y, xt, offset, **rw)
        eta_t = fit.beta @ x0t + off_now
        with np.errstate(invalid="ignore", over="ignore"):
            var_t = np.einsum("j,cjk,k->c", x0t, fit.inv, x0t)
            se_coef = np.sqrt(fit.disp * fit.inv[:, 1, 1])
            tval = fit.beta[:, 1] / se_coef
            pval = np.where(fit.df_r > 0, 2.0 * stats.t.sf(np.abs(tval), np.maximum(fit.df_r, 1)), np.nan)
            keep = conv & (opts["b"] >= 3) & (pval < opts["p_threshold_trend"]) & (_linkinv(eta_t) <= y.max(axis=1))
        eta0[keep] = eta_t[keep]
        with np.errstate(invalid="ignore"):
            se_eta[keep] = np.sqrt(fit.disp[keep] * var_t[keep])
        phi[keep] = phit[keep]
        coef_t[keep] = fit.beta[keep, 1]
        ok[keep] = True
        need_plain = ~keep
    idx = np.flatnonzero(need_plain)
    if len(idx):
        xn, lev_n = _design(wtime, factors, trend=False, factors_bool=factors_bool, base=opts["no_periods"])
        x0n = _x0(wnow, opts["no_periods"], lev_n, trend=False)
        fit, phin, conv = _flexible_fit(y[idx], xn, offset[idx], **rw)
        eta_n = fit.beta @ x0n + off_now[idx]
        with np.errstate(invalid="ignore"):
            se_n = np.sqrt(fit.disp * np.einsum("j,cjk,k->c", x0n, fit.inv, x0n))
        good = idx[conv]
        eta0[good], se_eta[good], phi[good] = eta_n[conv], se_n[conv], phin[conv]
        ok[good] = True
    _, upper, score, pvalue = _threshold(
        opts["threshold_method"],
        eta0=eta0,
        se_eta=se_eta,
        phi=phi,
        y=y_now,
        alpha=opts["alpha"],
        pow_trans=opts["pow_trans"],
    )
    enough = recent >= opts["limit54"][0]
    with np.errstate(invalid="ignore", over="ignore"):
        fitted = _linkinv(eta0) if opts["threshold_method"] == "delta" else np.exp(eta0)
        expected = np.where(ok & enough & ~np.isnan(upper), fitted, np.nan)
        upper_out = np.where(ok & enough, upper, np.nan)
        alarm = ok & enough & (score > 1) & (y_now != 0)
    return {
        "expected": expected,
        "upper_bound": upper_out,
        "alarm": alarm,
        "score": np.where(ok, score, np.nan),
        "pvalue": np.where(ok, pvalue, np.nan),
        "phi": phi,
        "trend": coef_t,
    }


# --------------------------------------------------------------------------- public kernel


def farrington_flexible(
    observed: np.ndarray,
    *,
    b: int = 5,
    w: int = 3,
    alpha: float = 0.05,
    no_periods: int = 1,
    weights_threshold: float = 2.58,
    past_weeks_not_included: int | None = None,
    p_threshold_trend: float = 0.05,
    threshold_method: str = "delta",
    pow_trans: str = "2/3",
    trend: bool = True,
    reweight: bool = True,
    limit54: tuple[int, int] = (5, 4),
    population: np.ndarray | None = None,
    lengths: np.ndarray | None = None,
    freq: int = 52,
    t0: np.ndarray | None = None,
    step: int = 7,
) -> FarringtonResult:
    """``farringtonFlexible`` for a matrix of count series (see the module docstring).

    Parameters
    ----------
    observed
        Counts, shape ``(n_series, n_time)``; shorter series padded at the end (``lengths``).
    b, w, alpha, no_periods, weights_threshold, past_weeks_not_included, p_threshold_trend
        R's ``b``, ``w``, ``alpha``, ``noPeriods``, ``weightsThreshold``,
        ``pastWeeksNotIncluded`` (default ``w``) and ``pThresholdTrend``.
    threshold_method, pow_trans, trend, reweight, limit54
        R's ``thresholdMethod``, ``powertrans``, ``trend``, ``reweight``, ``limit54``.
    population
        Population of each series and time point (shape of ``observed``): R's
        ``populationOffset = TRUE`` with ``offset(log(population))``; None for no offset.
    lengths
        Length of each series (default: all ``n_time``).
    freq
        Time points per year (R's ``freq``): the first monitored point is ``freq·b + w``,
        and without dates the reference points are ``freq`` apart.
    t0, step
        For date-indexed series: day (since 1970-01-01) of each series' first point and
        days per point (7 weekly, 1 daily); None for series indexed by row number.

    Returns
    -------
    FarringtonResult
        Arrays shaped like ``observed``.

    Examples
    --------
    A seasonal series of 300 weeks with a spike at week 291 (R: ``x <- round(10 + 5 * sin(2 * pi *
    (0:299) / 52)); x[291] <- 30; farringtonFlexible(sts(observed = x))`` gives upper bounds
    14.181, 13.447, 12.709 at weeks 289–291 and one alarm, at week 291):

    >>> import numpy as np
    >>> x = np.round(10 + 5 * np.sin(2 * np.pi * np.arange(300) / 52))[None, :]
    >>> x[0, 290] = 30
    >>> res = farrington_flexible(x)
    >>> np.round(res.upper_bound[0, 288:291], 3)
    array([14.181, 13.447, 12.709])
    >>> np.flatnonzero(res.alarm[0]) + 1
    array([291])
    """
    if threshold_method not in FARRINGTON_THRESHOLD_METHODS:
        raise ValueError(f"threshold_method must be one of {FARRINGTON_THRESHOLD_METHODS}; got {threshold_method!r}")
    if pow_trans not in FARRINGTON_POWER_TRANSFORMS:
        raise ValueError(f"pow_trans must be one of {FARRINGTON_POWER_TRANSFORMS}; got {pow_trans!r}")
    x = np.asarray(observed, dtype=np.float64)
    n_series, n_time = x.shape
    lengths = np.full(n_series, n_time) if lengths is None else np.asarray(lengths, dtype=np.int64)
    pwni = w if past_weeks_not_included is None else int(past_weeks_not_included)
    opts = {
        "b": b,
        "no_periods": no_periods,
        "reweight": reweight,
        "weights_threshold": weights_threshold,
        "trend": trend,
        "p_threshold_trend": p_threshold_trend,
        "threshold_method": threshold_method,
        "alpha": alpha,
        "pow_trans": pow_trans,
        "limit54": limit54,
    }
    out = {c: np.full(x.shape, np.nan) for c in ("expected", "upper_bound", "score", "pvalue", "phi", "trend")}
    alarm = np.zeros(x.shape, dtype=bool)
    first = farrington_first_index(b=b, w=w, freq=freq)
    t = np.arange(n_time)
    evaluable = (t[None, :] >= first) & (t[None, :] < lengths[:, None])
    rows, cols = np.nonzero(evaluable)
    if not len(rows):
        return FarringtonResult(alarm=alarm, evaluable=evaluable, **out)
    cum = np.concatenate([np.zeros((n_series, 1)), np.cumsum(x, axis=1)], axis=1)
    n_recent = limit54[1]
    recent_all = cum[rows, cols + 1] - cum[rows, np.maximum(cols + 1 - n_recent, 0)]
    # group cells by the layout of their reference data (relative to k)
    groups: dict[tuple, np.ndarray] = {}
    layouts: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    kw = {"b": b, "w": w, "no_periods": no_periods, "past_weeks_not_included": pwni, "freq": freq}
    if t0 is None:  # indexed by row number: one layout for every cell
        pos, fac = reference_layout(first, **kw)
        layouts[("rows",)] = (first - pos, fac)
        groups[("rows",)] = np.arange(len(rows))
    else:  # date-indexed: the layout depends on the date (and near a series' start on k)
        t0 = np.asarray(t0, dtype=np.int64)
        days = t0[rows] + cols * step
        uniq, inverse = np.unique(days, return_inverse=True)
        by_day = []
        for day in uniq.tolist():
            # the layout relative to k does not depend on k while no position is dropped
            k_far = freq * (b + 2) + 2 * w + 2
            pos, fac = reference_layout(k_far, day=day, step=step, t0=day - k_far * step, **kw)
            by_day.append((k_far - pos, fac))
        max_off = np.array([o.max() for o, _ in by_day])[inverse]
        codes: dict[tuple, int] = {}
        for o, f in by_day:
            key = (o.tobytes(), f.tobytes())
            layouts.setdefault(key, (o, f))
            codes.setdefault(key, len(codes))
        day_code = np.array([codes[(o.tobytes(), f.tobytes())] for o, f in by_day])
        key_index = day_code[inverse]
        for i in np.flatnonzero(max_off > cols).tolist():  # reference data reaching before the start
            k = int(cols[i])
            pos, fac = reference_layout(k, day=int(days[i]), step=step, t0=int(t0[rows[i]]), **kw)
            key = ((k - pos).tobytes(), fac.tobytes())
            layouts.setdefault(key, (k - pos, fac))
            key_index[i] = codes.setdefault(key, len(codes))
        order = np.argsort(key_index, kind="stable")
        present, starts = np.unique(key_index[order], return_index=True)
        names = list(codes)
        for code, part in zip(present.tolist(), np.split(order, starts[1:]), strict=True):
            groups[names[code]] = part
    logpop = None if population is None else np.log(np.asarray(population, dtype=np.float64))
    for key, members in groups.items():
        offs, fac = layouts[key]
        wtime = (offs.max() - offs).astype(np.float64)
        centre = wtime.mean()
        members_arr = np.asarray(members)
        for start in range(0, len(members_arr), _BATCH):
            sel = members_arr[start : start + _BATCH]
            r, k = rows[sel], cols[sel]
            gather = k[:, None] - offs[None, :]
            y = x[r[:, None], gather]
            res = _fit_layout(
                y,
                None if logpop is None else logpop[r[:, None], gather],
                None if logpop is None else logpop[r, k],
                x[r, k],
                recent_all[sel],
                wtime - centre,
                float(offs.max()) - centre,
                fac,
                opts,
            )
            for c in out:
                out[c][r, k] = res[c]
            alarm[r, k] = res["alarm"]
    return FarringtonResult(alarm=alarm, evaluable=evaluable, **out)
