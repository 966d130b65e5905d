"""limma's linear models and empirical Bayes statistics, as R limma 3.54 computes them.

* :func:`lm_fit` — ``lmFit``: ordinary least squares per row (protein, gene) of a matrix
  with missing values, each row fitted on its observed samples exactly as ``lm.series``
  does (``lm.fit`` per row, columns that are not estimable on a row's samples get NaN,
  as the pivoting of LINPACK's ``dqrdc2`` with tolerance 1e-7 drops them). Rows are
  grouped by their missingness pattern, so every group is one batched solve;
* :func:`trigamma_inverse`, :func:`fit_f_dist` (``fitFDist``, with the natural-spline
  covariate that ``eBayes(trend=TRUE)`` uses), :func:`fit_f_dist_robustly`
  (``fitFDistRobustly``, Winsorized Fisher-z moments, Gauss–Legendre quadrature and
  R's ``uniroot``), :func:`squeeze_var` (``squeezeVar``);
* :func:`ebayes` — ``eBayes`` + ``topTable`` for one coefficient: moderated t, its
  p-value on ``df.residual + df.prior`` degrees of freedom (capped at the pooled df),
  the B statistic (log-odds, ``proportion = 0.01``, ``stdev.coef.lim = c(0.1, 4)``,
  ``tmixture``) and Benjamini–Hochberg adjusted p-values;
* :func:`normalize_quantiles` — ``normalizeQuantiles`` with missing values.

Tail probabilities of t follow R to the last digits far into the tail: ``log P(T > t)``
by the hypergeometric series of the incomplete beta function where scipy underflows,
and ``tmixture``'s ``qt(log.p = TRUE)`` reproduces R's unrefined starting value when
``exp(p)`` is below ``DBL_MIN`` (R skips its Newton steps there, and B depends on it).

The functions are pure numpy/scipy; they take arrays and return arrays.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = rng.normal(size=(200, 6))
>>> x = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
>>> fit = lm_fit(y, x)
>>> res = ebayes(fit["coefficients"][:, 1], fit["stdev_unscaled"][:, 1], fit["sigma"], fit["df_residual"])
>>> sorted(res)[:4]
['b', 'df_prior', 'df_total', 'padj']
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special, stats
from scipy.interpolate import BSpline

from biolake.errors import check_param
from biolake.stats.multitest import lowess, p_adjust_bh

__all__ = [
    "ebayes",
    "fit_f_dist",
    "fit_f_dist_robustly",
    "lm_fit",
    "normalize_quantiles",
    "squeeze_var",
    "trigamma_inverse",
]

_QR_TOL = 1e-7  # lm.fit's tol, used by dqrdc2


# ------------------------------------------------------------------------------ lmFit
def _estimable(x: np.ndarray) -> np.ndarray:
    """Columns ``dqrdc2`` keeps: a column whose part orthogonal to the kept ones is < 1e-7 of its norm goes."""
    keep: list[int] = []
    q = np.zeros((x.shape[0], 0))
    for j in range(x.shape[1]):
        col = x[:, j]
        norm = float(np.linalg.norm(col))
        ref = norm if norm > 0 else 1.0
        resid = col - q @ (q.T @ col)
        resid = resid - q @ (q.T @ resid)
        rn = float(np.linalg.norm(resid))
        if rn >= ref * _QR_TOL and norm > 0:
            keep.append(j)
            q = np.column_stack([q, resid / rn])
    out = np.zeros(x.shape[1], dtype=bool)
    out[keep] = True
    return out


def _fit_pattern(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Least squares of every row of ``y`` (all observed) on ``x``: coef, stdev.unscaled, sigma, df."""
    n, p = y.shape[0], x.shape[1]
    coef = np.full((n, p), np.nan)
    sdu = np.full((n, p), np.nan)
    est = _estimable(x)
    rank = int(est.sum())
    df = x.shape[0] - rank
    if rank == 0:
        return coef, sdu, np.full(n, np.nan), df
    xe = x[:, est]
    q, r = np.linalg.qr(xe)
    b = np.linalg.solve(r, q.T @ y.T).T
    rinv = np.linalg.inv(r)
    cov = rinv @ rinv.T
    coef[:, est] = b
    sdu[:, est] = np.sqrt(np.diag(cov))[None, :]
    if df > 0:
        resid = y - b @ xe.T
        sigma = np.sqrt((resid**2).sum(axis=1) / df)
    else:
        sigma = np.full(n, np.nan)
    return coef, sdu, sigma, df


def _fit_by_pattern(
    y: np.ndarray,
    obs: np.ndarray,
    x: np.ndarray,
    rows: np.ndarray,
    coef: np.ndarray,
    sdu: np.ndarray,
    sigma: np.ndarray,
    df: np.ndarray,
) -> None:
    """Rows grouped by missingness pattern, one QR (with dqrdc2's column dropping) per pattern."""
    packed = np.packbits(obs[rows], axis=1)
    _, inverse = np.unique(packed, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    for group in np.split(rows[order], bounds):
        cols = obs[group[0]]
        if not cols.any():
            continue
        c, s, sg, d = _fit_pattern(y[np.ix_(group, cols)], x[cols])
        coef[group], sdu[group], sigma[group], df[group] = c, s, sg, d


def _fit_batched(
    y: np.ndarray,
    obs: np.ndarray,
    x: np.ndarray,
    coef: np.ndarray,
    sdu: np.ndarray,
    sigma: np.ndarray,
    df: np.ndarray,
    rows: np.ndarray,
) -> np.ndarray:
    """Rows with missing values by batched normal equations ``(Xᵀ D_i X) b = Xᵀ D_i y_i``.

    Rows whose observed design is (nearly) rank deficient are returned for the exact
    per-pattern path (``lm.fit``'s pivoting decides which coefficients are NA there).
    """
    m, p = x.shape
    w = obs.astype(np.float64)
    y0 = np.where(obs, y, 0.0)
    prods = (x[:, :, None] * x[:, None, :]).reshape(m, p * p)
    xtx = (w @ prods).reshape(-1, p, p)
    xty = y0 @ x
    nobs = w.sum(axis=1)
    eig = np.linalg.eigvalsh(xtx)
    ok = (eig[:, 0] > 1e-10 * np.maximum(eig[:, -1], 1e-300)) & (nobs >= p)
    if ok.any():
        a = xtx[ok]
        inv = np.linalg.inv(a)
        b = np.linalg.solve(a, xty[ok][:, :, None])[:, :, 0]
        resid = (y0[ok] - b @ x.T) * w[ok]
        b = b + np.linalg.solve(a, (resid @ x)[:, :, None])[:, :, 0]  # one step of iterative refinement
        resid = (y0[ok] - b @ x.T) * w[ok]
        d = nobs[ok] - p
        rss = (resid**2).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            sg = np.where(d > 0, np.sqrt(rss / d), np.nan)
        idx = rows[ok]
        coef[idx] = b
        sdu[idx] = np.sqrt(np.diagonal(inv, axis1=1, axis2=2))
        sigma[idx] = sg
        df[idx] = d
    return rows[~ok]


def lm_fit(y: np.ndarray, design: np.ndarray) -> dict[str, np.ndarray]:
    """limma's ``lmFit(y, design)`` (no weights): one least-squares fit per row.

    Parameters
    ----------
    y
        Rows × samples; NaN (or inf) entries are missing and each row is fitted on
        its observed samples (``lm.series``).
    design
        Samples × coefficients, full column rank.

    Returns
    -------
    dict
        ``coefficients`` and ``stdev_unscaled`` (rows × coefficients; NaN where a
        coefficient is not estimable on a row's samples), ``sigma`` (NaN when the
        residual df is 0), ``df_residual`` and ``amean`` (``rowMeans(y, na.rm=TRUE)``).

    Examples
    --------
    >>> y = np.array([[1.0, 2.0, 4.0, 5.0], [1.0, np.nan, 3.0, 6.0]])
    >>> x = np.column_stack([np.ones(4), [0, 0, 1, 1]])
    >>> fit = lm_fit(y, x)
    >>> fit["coefficients"].round(3).tolist(), fit["df_residual"].tolist()
    ([[1.5, 3.0], [1.0, 3.5]], [2.0, 1.0])
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(design, dtype=np.float64)
    check_param("lm_fit", "y", y.shape, y.ndim == 2, "a 2-d array (rows x samples)")
    check_param(
        "lm_fit", "design", x.shape, x.ndim == 2 and x.shape[0] == y.shape[1], "a samples x coefficients matrix"
    )
    n, p = y.shape[0], x.shape[1]
    obs = np.isfinite(y)
    coef = np.full((n, p), np.nan)
    sdu = np.full((n, p), np.nan)
    sigma = np.full(n, np.nan)
    df = np.zeros(n)
    complete = obs.all(axis=1)
    if complete.any():
        c, s, sg, d = _fit_pattern(y[complete], x)
        coef[complete], sdu[complete], sigma[complete], df[complete] = c, s, sg, d
    partial = np.flatnonzero(~complete)
    if partial.size:
        rest = _fit_batched(y[partial], obs[partial], x, coef, sdu, sigma, df, partial)
        if rest.size:
            _fit_by_pattern(y, obs, x, rest, coef, sdu, sigma, df)
    with np.errstate(invalid="ignore"):
        amean = np.where(obs, y, 0.0).sum(axis=1) / obs.sum(axis=1)
    return {"coefficients": coef, "stdev_unscaled": sdu, "sigma": sigma, "df_residual": df, "amean": amean}


# ---------------------------------------------------------------------- fitFDist
def trigamma_inverse(x: np.ndarray) -> np.ndarray:
    """limma's ``trigammaInverse``: ``y`` with ``trigamma(y) = x`` by Newton's method.

    Examples
    --------
    >>> round(float(special.polygamma(1, trigamma_inverse(np.array([0.5]))[0])), 12)
    0.5
    """
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    y = np.full(x.shape, np.nan)
    ok = ~np.isnan(x)
    neg = ok & (x < 0)
    big = ok & ~neg & (x > 1e7)
    small = ok & ~neg & ~big & (x < 1e-6)
    mid = ok & ~neg & ~big & ~small
    y[big] = 1.0 / np.sqrt(x[big])
    y[small] = 1.0 / x[small]
    if mid.any():
        xm = x[mid]
        ym = 0.5 + 1.0 / xm
        for _ in range(51):
            tri = special.polygamma(1, ym)
            dif = tri * (1.0 - tri / xm) / special.polygamma(2, ym)
            ym = ym + dif
            if np.max(-dif / ym) < 1e-8:
                break
        y[mid] = ym
    return y


def _quantile7(x: np.ndarray, probs: Any) -> np.ndarray:
    return np.quantile(x, probs)


def _ns_basis(x: np.ndarray, boundary: tuple[float, float], knots: np.ndarray) -> np.ndarray:
    """A basis of R's ``splines::ns(x, knots, Boundary.knots, intercept=TRUE)`` column space (linear outside)."""
    t = np.sort(np.concatenate([np.repeat(boundary, 4), knots]))
    nb = len(t) - 4
    lo, hi = boundary
    splines = [BSpline(t, np.eye(nb)[j], 3, extrapolate=True) for j in range(nb)]
    const = np.array([[s.derivative(2)(b) for s in splines] for b in (lo, hi)])
    _, _, vt = np.linalg.svd(const)
    null = vt[2:].T  # nb x (nb - 2): coefficient vectors with zero 2nd derivative at both ends
    xc = np.clip(x, lo, hi)
    basis = np.column_stack([s(xc) for s in splines])
    for side, b in ((x < lo, lo), (x > hi, hi)):
        if side.any():
            val = np.array([s(b) for s in splines])
            der = np.array([s.derivative(1)(b) for s in splines])
            basis[side] = val[None, :] + (x[side] - b)[:, None] * der[None, :]
    return basis @ null


def fit_f_dist(x: np.ndarray, df1: np.ndarray, *, covariate: np.ndarray | None = None) -> dict[str, Any]:
    """limma's ``fitFDist``: moment estimation of a scaled F distribution's scale and df2.

    ``x`` are variances on ``df1`` degrees of freedom (one value or one per row). With a
    ``covariate`` the scale is a natural cubic spline of it (``eBayes(trend=TRUE)``).

    Returns
    -------
    dict
        ``scale`` (a float, or one per row with a covariate) and ``df2``.
    """
    x = np.asarray(x, dtype=np.float64).copy()
    n = x.size
    df1 = np.broadcast_to(np.asarray(df1, dtype=np.float64), (n,)).copy()
    if n == 0:
        return {"scale": math.nan, "df2": math.nan}
    if n == 1:
        return {"scale": float(x[0]), "df2": 0.0}
    ok = np.isfinite(df1) & (df1 > 1e-15)
    cov = None
    if covariate is not None:
        cov = np.asarray(covariate, dtype=np.float64).copy()
        isfin = np.isfinite(cov)
        if not isfin.all():
            if isfin.any():
                lo, hi = cov[isfin].min(), cov[isfin].max()
                cov[cov == -np.inf] = lo - 1
                cov[cov == np.inf] = hi + 1
            else:
                cov = np.sign(cov)
    with np.errstate(invalid="ignore"):
        ok = ok & np.isfinite(x) & (x > -1e-15)
    nok = int(ok.sum())
    if nok == 1:
        return {"scale": float(x[ok][0]), "df2": 0.0}
    notallok = nok < n
    cov_notok = None
    if notallok:
        x = x[ok]
        df1 = df1[ok]
        if cov is not None:
            cov_notok = cov[~ok]
            cov = cov[ok]
    splinedf = 1
    if cov is not None:
        splinedf = 1 + (nok >= 3) + (nok >= 6) + (nok >= 30)
        splinedf = min(splinedf, len(np.unique(cov)))
        if splinedf < 2:
            out = fit_f_dist(x, df1)
            out["scale"] = np.full(n, out["scale"])
            return out
    x = np.maximum(x, 0.0)
    m = float(np.median(x))
    if m == 0:
        m = 1.0
    x = np.maximum(x, 1e-5 * m)
    z = np.log(x)
    e = z - special.digamma(df1 / 2) + np.log(df1 / 2)
    if cov is None:
        emean: Any = float(np.mean(e))
        evar = float(np.sum((e - emean) ** 2) / (nok - 1))
    else:
        ninner = splinedf - 2
        knots = _quantile7(cov, np.linspace(0, 1, ninner + 2)[1:-1]) if ninner > 0 else np.zeros(0)
        boundary = (float(cov.min()), float(cov.max()))
        design = _ns_basis(cov, boundary, knots)
        coef, _, rank, _ = np.linalg.lstsq(design, e, rcond=None)
        fitted = design @ coef
        evar = float(np.sum((e - fitted) ** 2) / (nok - rank))
        if notallok:
            emean = np.zeros(n)
            emean[ok] = fitted
            emean[~ok] = _ns_basis(cov_notok, boundary, knots) @ coef
        else:
            emean = fitted
    evar = evar - float(np.mean(special.polygamma(1, df1 / 2)))
    if evar > 0:
        df2 = float(2 * trigamma_inverse(np.array([evar]))[0])
        s20 = np.exp(emean + special.digamma(df2 / 2) - math.log(df2 / 2))
    else:
        df2 = math.inf
        s20 = float(np.mean(x)) if cov is None else np.exp(emean)
    return {"scale": float(s20) if np.ndim(s20) == 0 else s20, "df2": df2}


# ---------------------------------------------------------------- fitFDistRobustly
def _zeroin(f: Any, ax: float, bx: float, fa: float, fb: float, tol: float, maxit: int = 1000) -> float:
    """R's ``uniroot`` (``R_zeroin2``, Brent's method) with the same steps."""
    eps = np.finfo(float).eps
    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return b


def _r_trimmed_mean(x: np.ndarray, trim: float) -> float:
    n = x.size
    lo = math.floor(n * trim)  # R: lo = floor(n * trim) + 1 (1-based), hi = n + 1 - lo
    s = np.sort(x)
    return float(s[lo : n - lo].mean())


def _qf(p: np.ndarray, df1: float, df2: float) -> np.ndarray:
    if math.isinf(df2):
        return stats.chi2.ppf(p, df1) / df1
    return stats.f.ppf(p, df1, df2)


def _df(x: np.ndarray, df1: float, df2: float) -> np.ndarray:
    if math.isinf(df2):
        return df1 * stats.chi2.pdf(x * df1, df1)
    return stats.f.pdf(x, df1, df2)


def _winsorized_moments(df1: float, df2: float, tail: np.ndarray, nodes: np.ndarray, weights: np.ndarray) -> tuple:
    fq = _qf(np.array([tail[0], 1 - tail[1]]), df1, df2)
    zq = np.log(fq)
    q = fq / (1 + fq)
    qn = q[0] + (q[1] - q[0]) * nodes
    fnodes = qn / (1 - qn)
    znodes = np.log(fnodes)
    f = _df(fnodes, df1, df2) / (1 - qn) ** 2
    q21 = q[1] - q[0]
    m = q21 * np.sum(weights * f * znodes) + np.sum(zq * tail)
    v = q21 * np.sum(weights * f * (znodes - m) ** 2) + np.sum((zq - m) ** 2 * tail)
    return float(m), float(v)


def _gauss_uniform(n: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """``statmod::gauss.quad.prob(n, "uniform")``: Gauss–Legendre nodes and weights on [0, 1]."""
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return (nodes + 1) / 2, weights / 2


def fit_f_dist_robustly(
    x: np.ndarray,
    df1: np.ndarray,
    *,
    covariate: np.ndarray | None = None,
    winsor_tail_p: tuple[float, float] = (0.05, 0.1),
) -> dict[str, Any]:
    """limma's ``fitFDistRobustly``: the scaled F fit of :func:`fit_f_dist`, robust to outlier variances.

    Returns
    -------
    dict
        ``scale``, ``df2`` and ``df2_shrunk`` (one prior df per row: outliers get less).
    """
    x = np.asarray(x, dtype=np.float64).copy()
    n = x.size
    df1 = np.broadcast_to(np.asarray(df1, dtype=np.float64), (n,)).copy()
    if n < 2:
        return {"scale": math.nan, "df2": math.nan, "df2_shrunk": np.full(n, math.nan)}
    if n == 2:
        out = fit_f_dist(x, df1, covariate=covariate)
        out["df2_shrunk"] = np.full(n, out["df2"])
        return out
    cov = None if covariate is None else np.asarray(covariate, dtype=np.float64)
    ok = ~np.isnan(x) & np.isfinite(df1) & (df1 > 1e-6)
    if not ok.all():
        fit = fit_f_dist_robustly(
            x[ok], df1[ok], covariate=None if cov is None else cov[ok], winsor_tail_p=winsor_tail_p
        )
        df2_shrunk = x.copy()
        df2_shrunk[ok] = fit["df2_shrunk"]
        df2_shrunk[~ok] = fit["df2"]
        if cov is None:
            scale = fit["scale"]
        else:
            scale = x.copy()
            scale[ok] = fit["scale"]
            scale[~ok] = np.exp(_approx_rule2(cov[ok], np.log(fit["scale"]), cov[~ok]))
        return {"scale": scale, "df2": fit["df2"], "df2_shrunk": df2_shrunk}
    m = float(np.median(x))
    if m <= 0:
        raise ValueError("Variances are mostly <= 0")
    small = x < m * 1e-12
    x[small] = m * 1e-12
    nonrobust = fit_f_dist(x, df1, covariate=cov)
    tail = np.broadcast_to(np.asarray(winsor_tail_p, dtype=np.float64), (2,)).copy()
    prob = np.array([tail[0], 1 - tail[1]])
    if np.all(tail < 1 / n):
        nonrobust["df2_shrunk"] = np.full(n, nonrobust["df2"])
        return nonrobust
    df1max = float(df1.max())
    low = df1 < df1max - 1e-14
    if low.any():
        s = nonrobust["scale"] if cov is None else nonrobust["scale"][low]
        f = x[low] / s
        d2 = nonrobust["df2"]
        pupper = stats.f.logsf(f, df1[low], d2)
        plower = stats.f.logcdf(f, df1[low], d2)
        up = pupper < plower
        fnew = f.copy()
        if up.any():
            fnew[up] = stats.f.isf(np.exp(pupper[up]), df1max, d2)
        if (~up).any():
            fnew[~up] = stats.f.ppf(np.exp(plower[~up]), df1max, d2)
        x[low] = fnew * s
    d1 = df1max
    z = np.log(x)
    if cov is None:
        ztrend: Any = _r_trimmed_mean(z, tail[1])
        zresid = z - ztrend
    else:
        order = np.argsort(cov, kind="stable")
        _, lo_fit = lowess(cov, z, f=0.4, iterations=3)
        ztrend = np.empty(n)
        ztrend[order] = lo_fit
        zresid = z - ztrend
    zrq = _quantile7(zresid, prob)
    zwins = np.minimum(np.maximum(zresid, zrq[0]), zrq[1])
    zwmean = float(np.mean(zwins))
    zwvar = float(np.mean((zwins - zwmean) ** 2) * n / (n - 1))
    nodes, weights = _gauss_uniform(128)
    mom_mean, mom_var = _winsorized_moments(d1, math.inf, tail, nodes, weights)
    funval_inf = math.log(zwvar / mom_var)
    if funval_inf <= 0:
        ztc = ztrend + zwmean - mom_mean
        s20 = np.exp(ztc)
        fstat = np.exp(z - ztc)
        tailp = stats.chi2.sf(fstat * d1, d1)
        r = stats.rankdata(fstat)
        emp = (n - r + 0.5) / n
        pno = np.minimum(tailp / emp, 1.0)
        df2_shrunk = np.full(n, math.inf)
        outl = pno < 1
        if outl.any():
            df2_shrunk[outl] = pno[outl] * n * d1
            o = np.argsort(tailp, kind="stable")
            df2_shrunk[o] = np.maximum.accumulate(df2_shrunk[o])
        return {"scale": _scalar(s20), "df2": math.inf, "df2_shrunk": df2_shrunk}

    def fun(v: float) -> float:
        d2 = v / (1 - v)
        _, var = _winsorized_moments(d1, d2, tail, nodes, weights)
        return math.log(zwvar / var)

    if math.isinf(nonrobust["df2"]):
        nonrobust["df2_shrunk"] = np.full(n, nonrobust["df2"])
        return nonrobust
    rbx = nonrobust["df2"] / (1 + nonrobust["df2"])
    funval_low = fun(rbx)
    if funval_low >= 0:
        df2 = nonrobust["df2"]
    else:
        root = _zeroin(fun, rbx, 1.0, funval_low, funval_inf, 1e-8)
        df2 = root / (1 - root)
    mom_mean, _ = _winsorized_moments(d1, df2, tail, nodes, weights)
    ztc = ztrend + zwmean - mom_mean
    s20 = np.exp(ztc)
    fstat = np.exp(z - ztc)
    log_tailp = stats.f.logsf(fstat, d1, df2)
    r = stats.rankdata(fstat)
    log_emp = np.log(n - r + 0.5) - math.log(n)
    log_pno = np.minimum(log_tailp - log_emp, 0.0)
    pno = np.exp(log_pno)
    pout = -np.expm1(log_pno)
    if np.any(log_pno < 0):
        min_log_tailp = float(np.min(log_tailp))
        if min_log_tailp == -math.inf:
            df2_shrunk = pno * df2
        else:
            df2_outlier = math.log(0.5) / min_log_tailp * df2
            new_log_tailp = float(stats.f.logsf(np.max(fstat), d1, df2_outlier))
            df2_outlier = math.log(0.5) / new_log_tailp * df2_outlier
            df2_shrunk = pno * df2 + pout * df2_outlier
        o = np.argsort(log_tailp, kind="stable")
        ordered = df2_shrunk[o]
        mm = np.cumsum(ordered) / np.arange(1, n + 1)
        imin = int(np.argmin(mm))
        ordered[: imin + 1] = mm[imin]
        df2_shrunk = np.empty(n)
        df2_shrunk[o] = np.maximum.accumulate(ordered)
    else:
        df2_shrunk = np.full(n, df2)
    return {"scale": _scalar(s20), "df2": df2, "df2_shrunk": df2_shrunk}


def _scalar(v: Any) -> Any:
    return float(v) if np.ndim(v) == 0 else v


def _approx_rule2(x: np.ndarray, y: np.ndarray, xout: np.ndarray) -> np.ndarray:
    """R's ``approx(x, y, xout, rule = 2, ties = mean)``."""
    ux, inv = np.unique(x, return_inverse=True)
    uy = np.bincount(inv.ravel(), weights=y) / np.bincount(inv.ravel())
    return np.interp(xout, ux, uy)


# -------------------------------------------------------------------- squeezeVar
def squeeze_var(
    var: np.ndarray,
    df: np.ndarray,
    *,
    covariate: np.ndarray | None = None,
    robust: bool = False,
    winsor_tail_p: tuple[float, float] = (0.05, 0.1),
) -> dict[str, Any]:
    """limma's ``squeezeVar``: posterior variances shrunk towards a fitted prior.

    Returns
    -------
    dict
        ``df_prior`` (float, or per row when ``robust``), ``var_prior`` (float, or per
        row with a covariate) and ``var_post`` (per row).
    """
    var = np.asarray(var, dtype=np.float64).copy()
    n = var.size
    df = np.broadcast_to(np.asarray(df, dtype=np.float64), (n,)).copy()
    if n == 0:
        raise ValueError("var is empty")
    if n == 1:
        return {"var_post": var, "var_prior": var, "df_prior": 0.0}
    var[df == 0] = 0.0
    if robust:
        fit = fit_f_dist_robustly(var, df, covariate=covariate, winsor_tail_p=winsor_tail_p)
        df_prior = fit["df2_shrunk"]
    else:
        fit = fit_f_dist(var, df, covariate=covariate)
        df_prior = fit["df2"]
    if np.any(np.isnan(df_prior)):
        raise ValueError("Could not estimate prior df")
    var_prior = fit["scale"]
    dfp = np.broadcast_to(np.asarray(df_prior, dtype=np.float64), (n,))
    vp = np.broadcast_to(np.asarray(var_prior, dtype=np.float64), (n,))
    fin = np.isfinite(dfp)
    with np.errstate(invalid="ignore"):
        var_post = np.where(fin, (df * var + dfp * vp) / (df + dfp), vp)
    return {"df_prior": df_prior, "var_prior": var_prior, "var_post": var_post}


# -------------------------------------------------------------------------- eBayes
def _t_logsf(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """log P(T > t) for Student's t, accurate far in the upper tail (as R's ``pt(log.p = TRUE)``).

    Where scipy's value underflows, ``P(T > t) = I_x(df/2, 1/2) / 2`` with ``x = df / (df + t²)``
    is taken in log space by the hypergeometric series of the incomplete beta function.
    """
    t, df = np.broadcast_arrays(np.asarray(t, dtype=np.float64), np.asarray(df, dtype=np.float64))
    with np.errstate(divide="ignore"):
        out = np.array(stats.t.logsf(t, df), dtype=np.float64, ndmin=1)
    far = (t.ravel() > 0) & ~(out.ravel() > -300)
    if far.any():
        tt, dd = t.ravel()[far], df.ravel()[far]
        a = dd / 2
        x = dd / (dd + tt**2)
        flat = out.ravel()
        flat[far] = (
            math.log(0.5)
            + a * np.log(x)
            + 0.5 * np.log1p(-x)
            - np.log(a)
            - special.betaln(a, 0.5)
            + np.log(special.hyp2f1(a + 0.5, 1.0, a + 1.0, x))
        )
        out = flat.reshape(out.shape)
    return out.reshape(t.shape)


def _r_qt_far(log_p2: float, ndf: float) -> float:
    """R's ``qt(p, ndf, lower.tail = FALSE, log.p = TRUE)`` when ``2 exp(p)`` underflows below DBL_MIN.

    R (nmath/qt.c, Hill 1970) then returns its starting approximation without the Newton
    refinement it applies elsewhere; limma's tmixture sees that value, so it is copied here.
    """
    a = 1 / (ndf - 0.5)
    b = 48 / (a * a)
    c = ((20700 * a / b - 98) * a - 16) * a + 96.36
    d = ((94.5 / (b + c) - 3) / b + 1) * math.sqrt(a * math.pi / 2) * ndf
    x = (math.log(d) + math.log(2.0) + log_p2) / ndf
    y = math.exp(2 * x)
    if y > 0.05 + a:
        x = -float(special.ndtri_exp(log_p2))  # qnorm(log_p2, lower.tail = FALSE, log.p = TRUE)
        y = x * x
        if ndf < 5:
            c += 0.3 * (ndf - 4.5) * (x + 0.6)
        c = (((0.05 * d * x - 5) * x - 7) * x - 2) * x + b + c
        y = (((((0.4 * y + 6.3) * y + 36) * y + 94.5) / c - y - 3) / b + 1) * x
        y = math.expm1(a * y * y)
        return math.sqrt(ndf * y)
    if x < -math.log(2.0) * 53:
        return math.sqrt(ndf) * math.exp(-x)
    y = ((1 / (((ndf + 6) / (ndf * y) - 0.089 * d - 0.822) * (ndf + 2) * 3) + 0.5 / (ndf + 4)) * y - 1) * (ndf + 1) / (
        ndf + 2
    ) + 1 / y
    return math.sqrt(ndf * y)


def _t_isf_log(logp: np.ndarray, df: float) -> np.ndarray:
    """``qt(logp, df, lower.tail = FALSE, log.p = TRUE)`` as R computes it, also where ``exp(logp)`` underflows."""
    logp = np.asarray(logp, dtype=np.float64)
    with np.errstate(under="ignore"):
        p = np.exp(logp)
    out = np.asarray(stats.t.isf(p, df), dtype=np.float64).copy()
    tiny = np.finfo(float).tiny
    with np.errstate(under="ignore"):
        r_far = ~(2 * p > tiny)
    if r_far.any() and abs(df - 2) > 1e-12 and df > 1 + 1e-12:
        out[r_far] = [_r_qt_far(float(v), float(df)) for v in logp[r_far]]
        return out
    far = logp < -600
    if far.any():
        a = df / 2
        c = math.log(0.5) + a * math.log(df) - math.log(a) - float(special.betaln(a, 0.5))
        t = np.exp((c - logp[far]) / df)  # the tail's power law
        for _ in range(100):
            ls = _t_logsf(t, np.full(t.shape, df))
            step = (ls - logp[far]) * np.exp(ls - stats.t.logpdf(t, df))
            t = t + step
            if np.all(np.abs(step) <= 1e-14 * t):
                break
        out[far] = t
    return out


def _tmixture(t: np.ndarray, sdu: np.ndarray, df: np.ndarray, proportion: float, lim: np.ndarray) -> float:
    ok = ~np.isnan(t)
    t, sdu, df = t[ok], sdu[ok], df[ok]
    ngenes = t.size
    ntarget = math.ceil(proportion / 2 * ngenes)
    if ntarget < 1:
        return math.nan
    p = max(ntarget / ngenes, proportion)
    t = np.abs(t)
    maxdf = float(df.max())
    low = df < maxdf
    if low.any():
        t = t.copy()
        t[low] = _t_isf_log(_t_logsf(t[low], df[low]), maxdf)
    o = np.argsort(-t, kind="stable")[:ntarget]
    t = t[o]
    v1 = sdu[o] ** 2
    r = np.arange(1, ntarget + 1)
    with np.errstate(under="ignore"):
        p0 = 2 * np.exp(_t_logsf(t, np.full(t.shape, maxdf)))
    ptarget = ((r - 0.5) / ngenes - (1 - p) * p0) / p
    v0 = np.zeros(ntarget)
    pos = ptarget > p0
    if pos.any():
        qtarget = stats.t.isf(ptarget[pos] / 2, maxdf)
        v0[pos] = v1[pos] * ((t[pos] / qtarget) ** 2 - 1)
    v0 = np.minimum(np.maximum(v0, lim[0]), lim[1])
    return float(np.mean(v0))


def ebayes(
    coefficient: np.ndarray,
    stdev_unscaled: np.ndarray,
    sigma: np.ndarray,
    df_residual: np.ndarray,
    *,
    amean: np.ndarray | None = None,
    trend: bool = False,
    robust: bool = False,
    proportion: float = 0.01,
    stdev_coef_lim: tuple[float, float] = (0.1, 4.0),
    winsor_tail_p: tuple[float, float] = (0.05, 0.1),
) -> dict[str, Any]:
    """limma's ``eBayes`` and ``topTable(sort.by = "none")`` for one coefficient.

    Parameters
    ----------
    coefficient, stdev_unscaled
        Per row: the coefficient and its unscaled standard deviation (from :func:`lm_fit`).
    sigma, df_residual
        Per row: residual standard deviation and degrees of freedom.
    amean
        Average log-expression per row: the covariate of ``trend=True``.
    trend
        ``eBayes(trend=TRUE)``: an intensity-dependent prior variance.
    robust
        ``eBayes(robust=TRUE)``: robust prior df (``fitFDistRobustly``).
    proportion, stdev_coef_lim, winsor_tail_p
        As limma's.

    Returns
    -------
    dict
        ``t``, ``pvalue``, ``padj`` (BH), ``b`` (log-odds), ``df_total``, ``s2_post``,
        ``df_prior``, ``s2_prior``.
    """
    coef = np.asarray(coefficient, dtype=np.float64)
    sdu = np.asarray(stdev_unscaled, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    dfr = np.asarray(df_residual, dtype=np.float64)
    check_param("ebayes", "df_residual", "all zero", bool(np.max(dfr) > 0), "positive for some rows")
    check_param("ebayes", "sigma", "no finite value", bool(np.isfinite(sigma).any()), "finite for some rows")
    if trend:
        check_param("ebayes", "amean", None, amean is not None, "the average log-expression when trend=True")
    covariate = np.asarray(amean, dtype=np.float64) if trend else None
    sq = squeeze_var(sigma**2, dfr, covariate=covariate, robust=robust, winsor_tail_p=winsor_tail_p)
    s2_prior = sq["var_prior"]
    s2_post = sq["var_post"]
    df_prior = sq["df_prior"]
    t = coef / sdu / np.sqrt(s2_post)
    df_pooled = float(np.nansum(dfr))
    df_total = np.minimum(dfr + df_prior, df_pooled)
    with np.errstate(under="ignore"):
        pvalue = 2 * np.exp(_t_logsf(np.abs(t), df_total))
    lim = np.asarray(stdev_coef_lim, dtype=np.float64) ** 2 / float(np.median(s2_prior))
    var_prior = _tmixture(t, sdu, df_total, proportion, lim)
    if math.isnan(var_prior):
        var_prior = 1.0 / s2_prior
    r = (sdu**2 + var_prior) / sdu**2
    t2 = t**2
    infdf = np.broadcast_to(np.asarray(df_prior, dtype=np.float64) > 1e6, t.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = np.where(
            infdf,
            t2 * (1 - 1 / r) / 2,
            (1 + df_total) / 2 * np.log((t2 + df_total) / (t2 / r + df_total)),
        )
    lods = math.log(proportion / (1 - proportion)) - np.log(r) / 2 + kernel
    return {
        "t": t,
        "pvalue": pvalue,
        "padj": p_adjust_bh(pvalue),
        "b": lods,
        "df_total": df_total,
        "s2_post": s2_post,
        "df_prior": df_prior,
        "s2_prior": s2_prior,
    }


# ------------------------------------------------------------- normalizeQuantiles
def normalize_quantiles(a: np.ndarray) -> np.ndarray:
    """limma's ``normalizeQuantiles(A)`` (``ties = TRUE``), missing values (NaN) allowed.

    Each column's values are replaced by the mean quantile at their rank; a column with
    missing values is interpolated onto the common grid first, as limma does.

    Examples
    --------
    >>> normalize_quantiles(np.array([[1.0, 4.0], [2.0, 6.0], [3.0, 5.0]])).tolist()
    [[2.5, 2.5], [3.5, 4.5], [4.5, 3.5]]
    """
    a = np.array(a, dtype=np.float64)
    n, m = a.shape
    if m == 1 or n < 2:
        return a
    grid = np.arange(n) / (n - 1)
    s = np.empty((n, m))
    nobs = np.full(m, n)
    obs = ~np.isnan(a)
    for j in range(m):
        v = np.sort(a[obs[:, j], j])
        k = v.size
        if k < n:
            nobs[j] = k
            s[:, j] = np.interp(grid, np.arange(k) / (k - 1), v) if k > 1 else v[0] if k else np.nan
        else:
            s[:, j] = v
    mean = s.mean(axis=1)
    out = a.copy()
    for j in range(m):
        o = obs[:, j]
        r = stats.rankdata(a[o, j])
        k = int(nobs[j])
        out[o, j] = np.interp((r - 1) / (k - 1), grid, mean) if k > 1 else mean[0]
    return out
