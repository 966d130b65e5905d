"""The multi-item gamma-Poisson shrinker (DuMouchel 1999), as R openEBGM computes it.

Model: each pair's count ``N ~ Poisson(λ E)`` with ``E`` its expected count and the prior
``λ ~ P·Gamma(α1, β1) + (1 − P)·Gamma(α2, β2)`` (shape, rate). Marginally ``N`` is a
mixture of two negative binomials, ``NB(size α, prob β/(β + E))``. Only pairs with
``N ≥ N*`` (``N* = 1``: every listed pair) are seen, so the likelihood uses the
negative binomials truncated below ``N*`` (openEBGM's ``negLL``/``negLLsquash``).

* :func:`fit_prior` maximises that likelihood over θ = (α1, β1, α2, β2, P). openEBGM's
  ``autoHyper`` runs ``nlminb`` (then ``nlm``, then BFGS) from several starting points
  without constraints and keeps the best convergent estimate inside the parameter space.
  Here the same five starting points of openEBGM's vignette are optimised by BFGS with
  the analytic gradient on (log α, log β, logit P), which keeps every iterate inside the
  space; the estimate with the smallest negative log-likelihood is kept. With more than
  ``max_points`` pairs the data are first squashed as openEBGM's ``autoSquash`` does
  (pairs with the same ``N`` binned by ``E`` into weighted super-points, the largest
  ``E`` kept as they are).
* :func:`posterior` gives, per pair, ``Qn`` (posterior weight of the first component),
  ``ebgm`` = exp(E[log λ | N]) (openEBGM ``ebgm``: the geometric mean of the posterior)
  and ``eb05``/``eb95``, the 5 % and 95 % quantiles of the posterior mixture
  ``Qn·Gamma(α1 + N, β1 + E) + (1 − Qn)·Gamma(α2 + N, β2 + E)`` (openEBGM
  ``quantBisect``, which stops at 2 decimals; here solved to ~1e-12 relative by a
  safeguarded Newton iteration on log x).

Examples
--------
>>> import numpy as np
>>> theta = Prior(3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557)  # openEBGM vignette 4
>>> post = posterior(theta, np.array([16]), np.array([0.40643623]))
>>> [round(float(post[k][0]), 3) for k in ("ebgm", "eb05", "eb95")]  # openEBGM: 23.26 15.68 33.48
[23.261, 15.686, 33.477]
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numba
import numpy as np
from numba import njit, prange
from scipy import optimize, special
from threadpoolctl import threadpool_limits

from biolake.errors import check_param
from biolake.stats.gammamix import gammaln_nb, mixture_quantile_one, psi_nb

__all__ = ["DEFAULT_STARTS", "Prior", "fit_prior", "neg_log_likelihood", "posterior", "squash"]

DEFAULT_STARTS: tuple[tuple[float, float, float, float, float], ...] = (
    (0.2, 0.1, 2.0, 4.0, 1 / 3),
    (0.1, 0.1, 10.0, 10.0, 0.2),
    (0.3, 0.5, 6.0, 6.0, 0.5),
    (0.5, 0.3, 12.0, 12.0, 0.8),
    (0.2, 0.2, 5.0, 5.0, 0.4),
)
"""Starting points (α1, β1, α2, β2, P) of openEBGM's vignettes."""


@dataclass(frozen=True)
class Prior:
    """The fitted two-component gamma prior (shape, rate) and how it was found."""

    alpha1: float
    beta1: float
    alpha2: float
    beta2: float
    p: float
    neg_log_lik: float = math.nan
    points: int = 0
    squashed: bool = False
    starts_converged: int = 0

    @property
    def theta(self) -> np.ndarray:
        """(α1, β1, α2, β2, P) as an array."""
        return np.array([self.alpha1, self.beta1, self.alpha2, self.beta2, self.p])

    def to_dict(self) -> dict[str, float | int | bool]:
        """The fields as JSON-able values."""
        return asdict(self)


def _log_nb_terms(a: float, b: float, data: _Points, n_star: int):
    """log of the truncated NB pmf and its derivatives in a and b."""
    n, e = data.n, data.e
    log_be = np.log(b + e)
    log_p = math.log(b) - log_be  # log prob, prob = b/(b+E)
    # gammaln(a+n) - gammaln(a) and digamma(a+n) - digamma(a) on the distinct counts only
    lg_u = special.gammaln(a + data.values) - special.gammaln(a)
    dg_u = special.digamma(a + data.values) - special.digamma(a)
    log_f = lg_u[data.inverse] - data.lgn1 + a * log_p + n * (data.log_e - log_be)
    dlf_da = dg_u[data.inverse] + log_p
    dlf_db = a / b - (a + n) / (b + e)
    if n_star == 1:
        log_f0 = a * log_p  # P(N = 0)
        f0 = np.exp(log_f0)
        tail = -np.expm1(log_f0)  # 1 - f0
        ratio = f0 / tail
        log_tail = np.log(tail)
        dlt_da = -ratio * log_p
        dlt_db = -ratio * a * e / (b * (b + e))
    elif n_star == 0:
        return log_f, dlf_da, dlf_db
    else:
        # general truncation: P(N >= n_star) = I_{1-prob}(n_star, a); derivatives by differences
        h = 1e-7
        tail = special.betainc(n_star, a, e / (b + e))
        log_tail = np.log(tail)
        dlt_da = (np.log(special.betainc(n_star, a + h, e / (b + e))) - log_tail) / h
        dlt_db = (np.log(special.betainc(n_star, a, e / (b + h + e))) - log_tail) / h
    return log_f - log_tail, dlf_da - dlt_da, dlf_db - dlt_db


@dataclass
class _Points:
    n: np.ndarray
    e: np.ndarray
    w: np.ndarray

    def __post_init__(self) -> None:
        self.values, self.inverse = np.unique(self.n, return_inverse=True)
        self.lgn1 = special.gammaln(self.n + 1)
        self.log_e = np.log(self.e)


def _objective(x: np.ndarray, data: _Points, n_star: int):
    with np.errstate(all="ignore"):
        return _objective_terms(x, data, n_star)


def _objective_terms(x: np.ndarray, data: _Points, n_star: int):
    a1, b1, a2, b2 = np.exp(x[:4])
    p = 1.0 / (1.0 + math.exp(-x[4]))
    w = data.w
    lg1, g1a, g1b = _log_nb_terms(a1, b1, data, n_star)
    lg2, g2a, g2b = _log_nb_terms(a2, b2, data, n_star)
    m = np.maximum(lg1, lg2)
    t1 = p * np.exp(lg1 - m)
    t2 = (1 - p) * np.exp(lg2 - m)
    s = t1 + t2
    log_l = m + np.log(s)
    r1 = t1 / s  # posterior weight of component 1
    r2 = 1 - r1
    value = -float(np.dot(w, log_l))
    if not np.isfinite(value):
        return 1e300, np.zeros(5)
    grad = np.empty(5)
    grad[0] = -float(np.dot(w, r1 * g1a)) * a1
    grad[1] = -float(np.dot(w, r1 * g1b)) * b1
    grad[2] = -float(np.dot(w, r2 * g2a)) * a2
    grad[3] = -float(np.dot(w, r2 * g2b)) * b2
    # d log L / dP = (g1 - g2) / L = r1/p - r2/(1-p)
    grad[4] = -float(np.dot(w, r1 / p - r2 / (1 - p))) * p * (1 - p)
    return value, grad


def neg_log_likelihood(
    theta: np.ndarray | Prior,
    n: np.ndarray,
    e: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    n_star: int = 1,
) -> float:
    """openEBGM's ``negLL``/``negLLsquash``: −log-likelihood of θ for counts truncated below ``n_star``.

    Parameters
    ----------
    theta
        (α1, β1, α2, β2, P) or a :class:`Prior`.
    n, e
        Observed and expected counts of the pairs (or of squashed super-points).
    weights
        Weight of each point (1 when not given).
    n_star
        Smallest count listed (pairs below it are not in the data).

    Returns
    -------
    float
        The negative log-likelihood.
    """
    th = theta.theta if isinstance(theta, Prior) else np.asarray(theta, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    w = np.ones_like(n) if weights is None else np.asarray(weights, dtype=np.float64)
    x = np.r_[np.log(th[:4]), math.log(th[4] / (1 - th[4]))]
    return _objective(x, _Points(n, e, w), n_star)[0]


def squash(
    n: np.ndarray,
    e: np.ndarray,
    *,
    keep_pts: tuple[int, ...] = (100, 75, 50, 25),
    cut_offs: tuple[float, ...] = (500, 1e3, 1e4, 1e5, 5e5, 1e6, 5e6),
    num_super_pts: tuple[int, ...] = (50, 75, 150, 500, 750, 1000, 2000, 5000),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Squash (N, E) points as openEBGM's ``autoSquash``: per count, bins of similar E become one weighted point.

    For each count value with more than ``max(keep_pts) + 1`` points (counts in
    increasing order), the points are sorted by E; the ``keep_pts[i]`` largest stay as
    they are, the rest are cut into consecutive bins of ``max(⌊(m − keep)/S⌋, 2)``
    points (S from ``num_super_pts`` by the ``cut_offs`` the number to squash falls
    under) whose mean E and size become a super-point.

    Returns
    -------
    tuple of numpy.ndarray
        ``n``, ``e`` and ``weight`` of the squashed points.
    """
    n = np.asarray(n, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    values, counts = np.unique(n, return_counts=True)
    big = values[counts > max(keep_pts) + 1]
    out_n, out_e, out_w = [], [], []
    handled = np.isin(n, big)
    out_n.append(n[~handled])
    out_e.append(e[~handled])
    out_w.append(np.ones(int((~handled).sum())))
    for i, value in enumerate(big):
        es = np.sort(e[n == value])
        keep = keep_pts[min(i, len(keep_pts) - 1)]
        to_squash = len(es) - keep
        idx = int(np.searchsorted(np.array([*cut_offs, np.inf]), to_squash, side="right"))
        supers = num_super_pts[idx]
        bin_size = max(int((len(es) - keep) // supers), 2)
        head, tail = es[:to_squash], es[to_squash:]
        starts = np.arange(0, to_squash, bin_size)
        sums = np.add.reduceat(head, starts)
        sizes = np.diff(np.r_[starts, to_squash]).astype(np.float64)
        out_n.append(np.full(len(starts) + len(tail), value))
        out_e.append(np.r_[sums / sizes, tail])
        out_w.append(np.r_[sizes, np.ones(len(tail))])
    return np.concatenate(out_n), np.concatenate(out_e), np.concatenate(out_w)


def _optimise(
    data: _Points, n_star: int, starts: tuple[tuple[float, ...], ...], all_starts: bool
) -> list[tuple[float, np.ndarray]]:
    # one BLAS thread: the 1-D dot products of the likelihood are too short for OpenBLAS's threads,
    # whose spinning cost 20x the CPU time of the fit on a busy machine
    results: list[tuple[float, np.ndarray]] = []
    for start in starts:
        s = np.asarray(start, dtype=np.float64)
        x0 = np.r_[np.log(s[:4]), math.log(s[4] / (1 - s[4]))]
        res = optimize.minimize(
            _objective,
            x0,
            args=(data, n_star),
            jac=True,
            method="BFGS",
            options={"gtol": 1e-9, "maxiter": 2000},
        )
        if np.all(np.isfinite(res.x)) and np.isfinite(res.fun) and res.fun < 1e299:
            results.append((float(res.fun), res.x))
            best = min(v for v, _ in results)
            if not all_starts and sum(1 for v, _ in results if abs(v - best) <= 1e-6 * abs(best)) >= 2:
                break
    return results


def fit_prior(
    n: np.ndarray,
    e: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    n_star: int = 1,
    starts: tuple[tuple[float, float, float, float, float], ...] = DEFAULT_STARTS,
    max_points: int = 20_000,
    all_starts: bool = False,
) -> Prior:
    """Maximum-likelihood fit of the two-component gamma prior (openEBGM ``autoHyper``).

    Parameters
    ----------
    n, e
        Observed (≥ ``n_star``) and expected counts of every pair.
    weights
        Point weights (already squashed data); by default 1.
    n_star
        Smallest count in the data (openEBGM's ``N_star``).
    starts
        Starting points (α1, β1, α2, β2, P); the best optimum over them is kept.
    max_points
        With more points than this (and no ``weights``), squash first (:func:`squash`).
    all_starts
        Optimise from every starting point; by default stop as soon as two starting
        points reach the same optimum (−log L within 1e-6 relative), as openEBGM's
        ``autoHyper`` accepts an estimate that another start confirms.

    Returns
    -------
    Prior
        The estimate, its negative log-likelihood, the number of points fitted and how
        many starting points reached the same optimum (−log L within 1e-6 relative).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> e = rng.gamma(0.5, 0.2, 4000)
    >>> lam = np.where(rng.random(4000) < 0.1, rng.gamma(2, 0.2, 4000), rng.gamma(3, 1 / 3, 4000))
    >>> n = rng.poisson(lam * e)
    >>> prior = fit_prior(n[n > 0], e[n > 0])
    >>> prior.points > 0
    True
    """
    n = np.asarray(n, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    check_param("fit_prior", "n", "arrays of different lengths", n.shape == e.shape, "as long as e")
    check_param("fit_prior", "n", "no pairs", n.size > 0, "at least one pair")
    check_param("fit_prior", "n_star", n_star, isinstance(n_star, int) and n_star >= 0, "an integer ≥ 0")
    check_param("fit_prior", "e", "non-positive expected counts", bool(np.all(e > 0)), "positive")
    check_param("fit_prior", "n", f"counts below n_star={n_star}", bool(np.all(n >= n_star)), f"≥ {n_star}")
    squashed = False
    if weights is None:
        if n.size > max_points:
            n, e, w = squash(n, e)
            squashed = True
        else:
            w = np.ones_like(n)
    else:
        w = np.asarray(weights, dtype=np.float64)
    data = _Points(n, e, w)
    with threadpool_limits(1, user_api="blas"):
        results = _optimise(data, n_star, starts, all_starts)
    check_param("fit_prior", "n", "data where no start converged", bool(results), "data the prior can be fitted to")
    best_value, best_x = min(results, key=lambda r: r[0])
    agree = sum(1 for v, _ in results if abs(v - best_value) <= 1e-6 * abs(best_value))
    a1, b1, a2, b2 = np.exp(best_x[:4])
    p = 1.0 / (1.0 + math.exp(-best_x[4]))
    return Prior(
        float(a1),
        float(b1),
        float(a2),
        float(b2),
        float(p),
        neg_log_lik=best_value,
        points=int(n.size),
        squashed=squashed,
        starts_converged=agree,
    )


def _wilson_hilferty(q: float, shape: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Approximate Gamma(shape, rate) quantile (Wilson–Hilferty; small-x series where that fails)."""
    z = special.ndtri(q)
    c = 1.0 / (9.0 * shape)
    cube = 1.0 - c + z * np.sqrt(c)
    small = np.exp((math.log(q) + np.log(shape) + special.gammaln(shape)) / shape)
    return np.where(cube > 0.2, shape * cube**3, small) / rate


def _mixture_quantile(q: float, w: np.ndarray, s1, r1, s2, r2) -> np.ndarray:
    """Quantile q of w·Gamma(s1, r1) + (1 − w)·Gamma(s2, r2), elementwise (NumPy; the reference of the tests).

    :func:`posterior` runs the same iteration per point, compiled
    (:func:`biolake.stats.gammamix.mixture_quantile_one`).

    Safeguarded Newton iterations on y = log x from the Wilson–Hilferty quantile of the
    dominant component: the bracket [lo, hi] of the root is narrowed at every step and a
    step leaving it is replaced by bisection (or a unit step in y while it is unbounded).
    Converges to |Δy| ≤ 1e-12, i.e. ~1e-12 relative in x.
    """
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        return _mixture_quantile_newton(q, w, s1, r1, s2, r2)


def _mixture_quantile_newton(q: float, w: np.ndarray, s1, r1, s2, r2) -> np.ndarray:
    y = np.log(np.where(w >= 0.5, _wilson_hilferty(q, s1, r1), _wilson_hilferty(q, s2, r2)))
    lo = np.full_like(y, -np.inf)
    hi = np.full_like(y, np.inf)
    c1 = s1 * np.log(r1) - special.gammaln(s1) + np.log(w)
    c2 = s2 * np.log(r2) - special.gammaln(s2) + np.log1p(-w)
    idx = np.arange(y.size)
    for _ in range(200):
        if idx.size == 0:
            break
        yi = y[idx]
        x = np.exp(yi)
        wi = w[idx]
        f = wi * special.gammainc(s1[idx], r1[idx] * x) + (1 - wi) * special.gammainc(s2[idx], r2[idx] * x) - q
        # d F / d y = x · pdf(x)
        dens = np.exp(c1[idx] + s1[idx] * yi - r1[idx] * x) + np.exp(c2[idx] + s2[idx] * yi - r2[idx] * x)
        lo_i = np.where(f < 0, yi, lo[idx])
        hi_i = np.where(f > 0, yi, hi[idx])
        step = yi - f / dens
        inside = np.isfinite(step) & (step > lo_i) & (step < hi_i)
        bounded = np.isfinite(lo_i) & np.isfinite(hi_i)
        fallback = np.where(bounded, 0.5 * (lo_i + hi_i), np.where(f < 0, yi + 1.0, yi - 1.0))
        new = np.where(inside, step, fallback)
        done = (np.abs(new - yi) <= 1e-12 * np.maximum(1.0, np.abs(yi))) | (f == 0) | (hi_i - lo_i <= 1e-13)
        y[idx], lo[idx], hi[idx] = new, lo_i, hi_i
        idx = idx[~done]
    return np.exp(y)


@njit(nogil=True, parallel=True, cache=True, error_model="numpy")
def _posterior_points(a1, b1, a2, b2, p, n, e, qn, ebgm, eb05, eb95):  # pragma: no cover - compiled
    lp1 = math.log(p)
    lp2 = math.log1p(-p)
    lga1 = gammaln_nb(a1)
    lga2 = gammaln_nb(a2)
    for i in prange(len(n)):
        ni, ei = n[i], e[i]
        lgn1 = gammaln_nb(ni + 1.0)
        l1 = lp1 + (gammaln_nb(a1 + ni) - lga1 - lgn1 + a1 * math.log(b1 / (b1 + ei)) + ni * math.log(ei / (b1 + ei)))
        l2 = lp2 + (gammaln_nb(a2 + ni) - lga2 - lgn1 + a2 * math.log(b2 / (b2 + ei)) + ni * math.log(ei / (b2 + ei)))
        q = 1.0 / (1.0 + math.exp(l2 - l1))
        s1, r1, s2, r2 = a1 + ni, b1 + ei, a2 + ni, b2 + ei
        qn[i] = q
        ebgm[i] = math.exp(q * (psi_nb(s1) - math.log(r1)) + (1.0 - q) * (psi_nb(s2) - math.log(r2)))
        eb05[i] = mixture_quantile_one(0.05, q, s1, r1, s2, r2)
        eb95[i] = mixture_quantile_one(0.95, q, s1, r1, s2, r2)


def _posterior_chunk(theta: np.ndarray, n: np.ndarray, e: np.ndarray, threads: int = 1) -> dict[str, np.ndarray]:
    out = {k: np.empty(len(n)) for k in ("qn", "ebgm", "eb05", "eb95")}
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        a1, b1, a2, b2, p = (float(v) for v in theta)
        _posterior_points(a1, b1, a2, b2, p, np.ascontiguousarray(n), np.ascontiguousarray(e), *out.values())
    finally:
        numba.set_num_threads(before)
    return out


def posterior(prior: Prior | np.ndarray, n: np.ndarray, e: np.ndarray, *, threads: int = 2) -> dict[str, np.ndarray]:
    """Posterior ``qn``, ``ebgm``, ``eb05``, ``eb95`` of every pair (openEBGM ``Qn``, ``ebgm``, ``quantBisect``).

    Parameters
    ----------
    prior
        The prior (a :class:`Prior` or θ = (α1, β1, α2, β2, P)).
    n, e
        Observed and expected counts of the pairs.
    threads
        Threads of the compiled per-pair computation (numba, without the GIL).

    Returns
    -------
    dict of numpy.ndarray
        ``qn``, ``ebgm``, ``eb05``, ``eb95`` (float64), one entry per pair.
    """
    theta = prior.theta if isinstance(prior, Prior) else np.asarray(prior, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    check_param("posterior", "n", "arrays of different lengths", n.shape == e.shape, "as long as e")
    check_param("posterior", "threads", threads, isinstance(threads, int) and threads >= 1, "an integer ≥ 1")
    keys = ("qn", "ebgm", "eb05", "eb95")
    if n.size == 0:
        return {k: np.empty(0) for k in keys}
    # many pairs share (n, E) (rare drugs and events): compute each distinct point once
    order = np.lexsort((e, n))
    ns, es = n[order], e[order]
    new = np.r_[True, (ns[1:] != ns[:-1]) | (es[1:] != es[:-1])]
    group = np.cumsum(new) - 1
    inverse = np.empty(n.size, dtype=np.int64)
    inverse[order] = group
    n, e = ns[new], es[new]
    post = _posterior_chunk(theta, n, e, threads)
    return {k: post[k][inverse] for k in keys}
