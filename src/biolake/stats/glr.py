"""Poisson GLR detector on many count series at once, as R ``surveillance::glrpois`` (``algo.glrpois``).

The generalized likelihood ratio (GLR) detector of Höhle & Paul (2008) watches a count
series ``x_t ~ Poisson(μ_t)`` with a known in-control mean ``μ0_t`` for a change of the
intercept, ``μ_t = μ0_t · exp(κ)`` from an unknown time ``k`` on. At time ``n`` its
statistic is

    GLR_n = max_{0 ≤ k ≤ n} sup_κ Σ_{t=k}^{n} log f_κ(x_t) / f_0(x_t)
          = max_k  κ̂_k · S_k + (1 − exp κ̂_k) · M_k,

with ``S_k = Σ_{t=k}^{n} x_t``, ``M_k = Σ_{t=k}^{n} μ0_t`` and ``κ̂_k = dir · max(0, dir ·
log(S_k / M_k))`` (``dir`` = +1 to detect increases, −1 decreases). An alarm sounds at
the first ``n`` with ``GLR_n ≥ c.ARL``; the detector then restarts on the data after the
alarm. With a window ``M > 0`` (R's ``M``), only ``max(0, n − M) ≤ k ≤ n − Mtilde`` are
searched, from ``n = Mtilde`` on (R's C ``glr_cusum_window``); without (``M = −1``, R's
default) all ``k ≤ n`` from ``n = Mtilde − 1`` on (``glr_cusum``). These are the loops of
R's C code (surveillance 1.20, ``src/surveillance.c``), with the same summation order.

R's ``ret = "cases"`` upper bound is the smallest count at ``n`` (0, 1, 2, …) for which
the statistic, with everything else unchanged, reaches ``c.ARL`` (``dir·GLR ≥ dir·c.ARL``);
R finds it by counting up and recomputing ``GLR_n``; here each segment ``k … n`` (monotone in
``x_n``, computed exactly as R's term) is searched by doubling and bisection only where it
changes the answer, which gives the same count. Negative or NaN upper bounds become 0, as in R.

When ``μ0`` is not given, it is estimated as R's ``estimateGLRNbHook`` with ``alpha = 0``:
a Poisson GLM ``y ~ 1 [+ t] + Σ_{s=1}^{S} (cos(2sπt/p) + sin(2sπt/p))`` fitted to the
points before the monitored range (``t = 1 … start``, 1-based) and predicted on the range;
the fit is R ``glm.fit``'s IRLS step for step (start ``μ = y + 0.1``, stop when the deviance
changes by less than 1e-8 relative, at most 25 iterations), batched over all series.

Examples
--------
>>> import numpy as np
>>> x = np.array([[4, 6, 5, 3, 5, 4, 6, 5, 4, 5, 12, 14, 5, 4]])
>>> res = glr_pois(x, start=8, mu0=np.full(x.shape, 5.0))
>>> res.alarm[0, 8:].astype(int).tolist()
[0, 0, 0, 1, 0, 0]
>>> res.upper_bound[0, 8:].tolist()  # R: algo.glrpois(d, list(range = 9:14, mu0 = rep(5, 6), ret = "cases"))
[14.0, 14.0, 14.0, 10.0, 14.0, 14.0]
>>> np.round(res.score[0, 8:], 6).tolist()  # R: the same with ret = "value"
[0.0, 0.0, 3.505625, 8.843298, 0.0, 0.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

__all__ = ["GLR_CHANGES", "GLR_DIRECTIONS", "GLR_RETURNS", "GlrResult", "glr_mu0_poisson", "glr_pois"]

GLR_CHANGES = ("intercept",)
GLR_DIRECTIONS = ("inc", "dec")
GLR_RETURNS = ("cases", "value")


@dataclass(frozen=True)
class GlrResult:
    """Per series and time point results of :func:`glr_pois` (arrays shaped like the input).

    Attributes
    ----------
    expected
        The in-control mean ``μ0`` at monitored points (NaN elsewhere).
    upper_bound
        R's ``upperbound`` for the chosen ``ret``: the count needed for an alarm
        (``cases``) or the GLR statistic (``value``).
    alarm
        Where the detector sounds (False where unmonitored).
    score
        The GLR statistic (R's ``upperbound`` with ``ret = "value"``).
    evaluable
        Whether the time point is monitored.
    """

    expected: np.ndarray
    upper_bound: np.ndarray
    alarm: np.ndarray
    score: np.ndarray
    evaluable: np.ndarray


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _glr_at(n: int, x: np.ndarray, mu0: np.ndarray, d: int, big_m: int, m_tilde: int) -> float:  # pragma: no cover
    """GLR_n of the segment starting at 0 (R's C ``glr`` / ``glr_window``), ``x`` as float."""
    max_glr = -1e99
    sx = 0.0
    sm = 0.0
    if big_m > 0:
        for j in range(n - m_tilde + 1, n + 1):
            sx += x[j]
            sm += mu0[j]
        low = max(0, n - big_m)
        hi = n - m_tilde
    else:
        low = 0
        hi = n
    for k in range(hi, low - 1, -1):
        sx += x[k]
        sm += mu0[k]
        v = d * np.log(sx / sm)  # IEEE as C: log(0) = -inf, 0/0 = nan
        kappa = d * (v if v > 0 else 0.0)
        s = kappa * sx + (1.0 - math.exp(kappa)) * sm
        if s > max_glr:
            max_glr = s
    return max_glr


_CAP = 2147483647.0  # R's counts are C ints


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _segment(v: float, sx: float, sm: float, d: int) -> float:  # pragma: no cover
    """One term of ``_glr_at`` for the segment with count sum ``sx + v`` and mean sum ``sm``."""
    s = sx + v  # integer-valued doubles: exact whatever the order of the additions
    w = d * np.log(s / sm)
    kappa = d * (w if w > 0 else 0.0)
    return kappa * s + (1.0 - np.exp(kappa)) * sm


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _cases_at(
    n: int, x: np.ndarray, mu0: np.ndarray, d: int, big_m: int, m_tilde: int, c_arl: float
) -> float:  # pragma: no cover
    """The least count 0, 1, … at ``n`` with ``d·GLR_n ≥ d·c_arl`` (R's counting loop).

    GLR_n is a max over segments ``k … n``, each nondecreasing (``inc``) or nonincreasing
    (``dec``) in the count at ``n``; the segments' sums without ``x[n]`` and their mean sums
    (accumulated in R's order) are formed once, and the least count is the min (``inc``: some
    segment reaches ``c``) or max (``dec``: every segment stays ≤ ``c``) over segments of each
    segment's least count, found by doubling and bisection only where it changes the answer.
    """
    if big_m > 0:
        low = max(0, n - big_m)
        hi = n - m_tilde
    else:
        low = 0
        hi = n
    nseg = hi - low + 1
    if nseg <= 0:
        return math.nan if d == 1 else 0.0
    sxs = np.empty(nseg)
    sms = np.empty(nseg)
    sx = 0.0
    sm = 0.0
    if big_m > 0:
        for j in range(n - m_tilde + 1, n + 1):
            if j != n:
                sx += x[j]
            sm += mu0[j]
    for i in range(nseg):
        k = hi - i
        if k != n:
            sx += x[k]
        sm += mu0[k]
        sxs[i] = sx
        sms[i] = sm
    if d == 1:  # least v with some segment >= c
        best = math.inf
        for i in range(nseg):
            if best == 0.0:
                break
            if best < math.inf:
                if not (_segment(best - 1.0, sxs[i], sms[i], d) >= c_arl):
                    continue
                lo = -1.0
                top = best - 1.0
            else:
                if _segment(0.0, sxs[i], sms[i], d) >= c_arl:
                    best = 0.0
                    continue
                lo = 0.0
                top = 1.0
                while not (_segment(top, sxs[i], sms[i], d) >= c_arl):
                    lo = top
                    top *= 2.0
                    if top > _CAP:
                        break
                if top > _CAP:
                    continue
            while top - lo > 1.0:  # lo fails (or is -1), top holds
                mid = math.floor((lo + top) / 2.0)
                if _segment(mid, sxs[i], sms[i], d) >= c_arl:
                    top = mid
                else:
                    lo = mid
            best = top
        return best if best < math.inf else math.nan
    # dec: least v with every segment <= c. A segment is NaN (ignored by R's max, so "<= c") where
    # its count sum is 0 (v = 0 only), else nonincreasing in v: passes until best stops changing.
    best = 0.0
    changed = True
    while changed:
        changed = False
        for i in range(nseg):
            if not (_segment(best, sxs[i], sms[i], d) > c_arl):
                continue
            lo = best
            step = 1.0
            top = best + step
            while _segment(top, sxs[i], sms[i], d) > c_arl:
                lo = top
                step *= 2.0
                top = best + step
                if top > _CAP:
                    return math.nan
            while top - lo > 1.0:
                mid = math.floor((lo + top) / 2.0)
                if _segment(mid, sxs[i], sms[i], d) > c_arl:
                    lo = mid
                else:
                    top = mid
            best = top
            changed = True
    return best


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _glr_series(
    x: np.ndarray, mu0: np.ndarray, c_arl: float, m_tilde: int, big_m: int, d: int, want_cases: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """R's ``algo.glrnb`` loop (alpha = 0, change = intercept) on one monitored range: value, cases, alarm."""
    nt = len(x)
    val = np.zeros(nt)
    cases = np.zeros(nt)
    alarm = np.zeros(nt, dtype=np.bool_)
    done = 0
    while done < nt:
        xs = x[done:].copy()
        ms = mu0[done:]
        lx = nt - done
        n = m_tilde if big_m > 0 else max(m_tilde - 1, 0)
        stop = lx
        while n < lx:
            g = _glr_at(n, xs, ms, d, big_m, m_tilde)
            val[done + n] = g
            if want_cases:
                cases[done + n] = _cases_at(n, xs, ms, d, big_m, m_tilde, c_arl)
            if g >= c_arl:
                stop = n
                break
            n += 1
        if stop < lx:
            alarm[done + stop] = True
        done += stop + 1
    return val, cases, alarm


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _glr_matrix(
    x: np.ndarray,
    mu0: np.ndarray,
    start: int,
    lengths: np.ndarray,
    c_arl: float,
    m_tilde: int,
    big_m: int,
    d: int,
    want_cases: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    ns, nt = x.shape
    val = np.full((ns, nt), np.nan)
    cases = np.full((ns, nt), np.nan)
    alarm = np.zeros((ns, nt), dtype=np.bool_)
    for i in range(ns):
        end = lengths[i]
        if end <= start:
            continue
        v, c, a = _glr_series(x[i, start:end].copy(), mu0[i, start:end], c_arl, m_tilde, big_m, d, want_cases)
        val[i, start:end] = v
        cases[i, start:end] = c
        alarm[i, start:end] = a
    return val, cases, alarm


def _harmonics(t: np.ndarray, *, freq: int, s: int, trend: bool) -> np.ndarray:
    cols = [np.ones(len(t))]
    if trend:
        cols.append(t.astype(np.float64))
    for j in range(1, s + 1):
        cols += [np.cos(2 * j * np.pi / freq * t), np.sin(2 * j * np.pi / freq * t)]
    return np.column_stack(cols)


def glr_mu0_poisson(
    observed: np.ndarray,
    *,
    start: int,
    freq: int = 52,
    s: int = 1,
    trend: bool = False,
    epsilon: float = 1e-8,
    maxit: int = 25,
) -> np.ndarray:
    """In-control means for every series, as R ``estimateGLRNbHook`` with ``alpha = 0`` (Poisson ``glm``).

    Fits ``y ~ 1 [+ t] + Σ_s cos(2sπt/freq) + sin(2sπt/freq)`` to ``observed[:, :start]``
    (``t = 1 … start``) by R ``glm.fit``'s IRLS (same start and stopping rule) and returns
    the fitted means at ``t = 1 … n_time`` (shape of ``observed``).
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # diverging fits, as R's (no error)
        return _mu0_irls(observed, start=start, freq=freq, s=s, trend=trend, epsilon=epsilon, maxit=maxit)


def _mu0_irls(
    observed: np.ndarray, *, start: int, freq: int, s: int, trend: bool, epsilon: float, maxit: int
) -> np.ndarray:
    y = np.asarray(observed, dtype=np.float64)[:, :start]
    ns = y.shape[0]
    x = _harmonics(np.arange(1, start + 1, dtype=np.float64), freq=freq, s=s, trend=trend)
    eps = np.finfo(np.float64).eps  # R's poisson()$linkinv and $mu.eta: pmax(exp(eta), .Machine$double.eps)
    eta = np.log(y + 0.1)
    mu = np.maximum(np.exp(eta), eps)

    def deviance(mu_: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(y > 0, y * np.log(y / mu_), 0.0)
        return (2 * (term - (y - mu_))).sum(axis=1)

    dev_old = deviance(mu)
    coef = np.zeros((ns, x.shape[1]))
    active = np.ones(ns, dtype=bool)
    for _ in range(maxit):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        m = mu[idx]
        mu_eta = np.maximum(np.exp(eta[idx]), eps)
        z = eta[idx] + (y[idx] - m) / mu_eta
        w = np.sqrt(mu_eta**2 / m)
        finite = np.isfinite(z).all(axis=1) & np.isfinite(w).all(axis=1)
        if not finite.all():  # a diverged fit keeps its last coefficients
            active[idx[~finite]] = False
            idx, z, w = idx[finite], z[finite], w[finite]
            if not len(idx):
                break
        q, r = np.linalg.qr(x[None, :, :] * w[:, :, None])
        rhs = np.einsum("snp,sn->sp", q, z * w)
        try:
            beta = np.linalg.solve(r, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a rank-deficient series: least squares one at a time
            beta = np.stack([np.linalg.lstsq(r[i], rhs[i], rcond=None)[0] for i in range(len(idx))])
        coef[idx] = beta
        eta[idx] = beta @ x.T
        mu[idx] = np.maximum(np.exp(eta[idx]), eps)
        dev = deviance(mu)[idx]
        conv = np.abs(dev - dev_old[idx]) / (np.abs(dev) + 0.1) < epsilon
        dev_old[idx] = dev
        active[idx[conv]] = False
    n_time = np.asarray(observed).shape[1]
    x_all = _harmonics(np.arange(1, n_time + 1, dtype=np.float64), freq=freq, s=s, trend=trend)
    return np.maximum(np.exp(coef @ x_all.T), eps)


def glr_pois(
    observed: np.ndarray,
    *,
    start: int,
    c_arl: float = 5.0,
    mu0: np.ndarray | None = None,
    m_tilde: int = 1,
    big_m: int = -1,
    change: str = "intercept",
    direction: str = "inc",
    ret: str = "cases",
    lengths: np.ndarray | None = None,
    freq: int = 52,
    mu0_s: int = 1,
    mu0_trend: bool = False,
) -> GlrResult:
    """Poisson GLR detector for a matrix of count series, as R ``surveillance::glrpois``.

    Parameters
    ----------
    observed
        Counts, shape ``(n_series, n_time)``; shorter series padded at the end (``lengths``).
    start
        0-based index of the first monitored time point (R's ``range[1] − 1``), ≥ 1.
    c_arl
        Alarm threshold of the GLR statistic (R's ``c.ARL``).
    mu0
        In-control means, shaped like ``observed``; default: R's Poisson GLM hook
        (:func:`glr_mu0_poisson` with ``freq``, ``mu0_s``, ``mu0_trend``).
    m_tilde, big_m
        R's ``Mtilde`` and ``M`` (window; −1 for none).
    change
        ``"intercept"`` (R's default; ``"epi"`` is not implemented).
    direction
        ``"inc"`` or ``"dec"`` (R's ``dir``).
    ret
        ``"cases"`` or ``"value"``: what ``upper_bound`` holds (R's ``ret``).
    lengths
        Length of each series (default: all ``n_time``).

    Returns
    -------
    GlrResult
        Arrays shaped like ``observed``.
    """
    if change not in GLR_CHANGES:
        raise ValueError(f"change must be one of {GLR_CHANGES}; got {change!r}")
    if direction not in GLR_DIRECTIONS:
        raise ValueError(f"direction must be one of {GLR_DIRECTIONS}; got {direction!r}")
    if ret not in GLR_RETURNS:
        raise ValueError(f"ret must be one of {GLR_RETURNS}; got {ret!r}")
    if start < 1:
        raise ValueError(f"start must be >= 1; got {start}")
    if m_tilde < 1:
        raise ValueError(f"m_tilde must be >= 1; got {m_tilde}")
    x = np.ascontiguousarray(observed, dtype=np.float64)
    n_series, n_time = x.shape
    lens = np.full(n_series, n_time, dtype=np.int64) if lengths is None else np.asarray(lengths, dtype=np.int64)
    if mu0 is None:  # fitted only for the series monitored at all (the others' padding stays out)
        mu = np.full(x.shape, np.nan)
        fit = lens > start
        if fit.any():
            mu[fit] = glr_mu0_poisson(x[fit], start=start, freq=freq, s=mu0_s, trend=mu0_trend)
    else:
        mu = np.broadcast_to(np.asarray(mu0, dtype=np.float64), x.shape)
    mu = np.ascontiguousarray(mu)
    d = 1 if direction == "inc" else -1
    val, cases, alarm = _glr_matrix(x, mu, start, lens, float(c_arl), int(m_tilde), int(big_m), d, ret == "cases")
    t = np.arange(n_time)
    evaluable = (t[None, :] >= start) & (t[None, :] < lens[:, None])
    clean = np.where(np.isnan(val) | (val < 0), 0.0, val)
    score = np.where(evaluable, clean, np.nan)
    if ret == "cases":
        upper = np.where(np.isnan(cases) | (cases < 0), 0.0, cases)
        upper = np.where(evaluable, upper, np.nan)
    else:
        upper = score
    return GlrResult(
        expected=np.where(evaluable, mu, np.nan),
        upper_bound=upper,
        alarm=alarm & evaluable,
        score=score,
        evaluable=evaluable,
    )
