"""Negative binomial GLMs and dispersions, gene by gene, compiled with numba.

The kernels follow DESeq2's C++ code (``src/DESeq2.cpp``: ``fitBeta``, ``fitDisp``,
``fitDispGrid``) step for step, written anew here: every function takes a whole block
of genes (rows) and loops over them in compiled code with the GIL released, so a
backend can run several blocks at once.

* :func:`fit_nb_glm` — NB GLM by IRLS with a ridge penalty ``lambda`` (natural-log
  scale), DESeq2's deviance convergence rule, the hat diagonals and the
  sandwich covariance ``(X'WX + Λ)⁻¹ X'WX (X'WX + Λ)⁻¹``;
* :func:`fit_nb_dispersion` — the (Cox–Reid adjusted) log likelihood of the dispersion,
  optionally with a normal prior on the log dispersion, maximised by DESeq2's
  backtracking (Armijo) line search on ``log(alpha)``;
* :func:`fit_nb_dispersion_grid` — the same objective maximised over a coarse then a
  fine grid (DESeq2's fallback for genes whose line search did not converge);
* :func:`nb_log_likelihood` — row sums of the NB log density (R's ``dnbinom_mu``,
  saddle-point form, accurate for very small dispersions).

Speed without leaving DESeq2's path: the line search makes the same steps as DESeq2's
(same trial points, same accept/reject decisions up to rounding), but one evaluation of the
log posterior costs one log and one division a sample (``log(mu + 1/alpha) = log(1 + mu alpha)
- log(alpha)``), ``lgamma``/``digamma`` of ``y + 1/alpha`` are taken once per distinct count of
the gene, and ``X'WX`` of the Cox–Reid term is summed per design cell (distinct design row).
The IRLS takes the constant part of its deviance once per distinct count, ``log(mu / nf)``
from the linear predictor, one ``log1p`` a sample for the deviance, and accepts one broadcast
row of normalization factors without copying it.

Examples
--------
>>> import numpy as np
>>> y = np.array([[10.0, 12, 30, 33]])
>>> x = np.array([[1.0, 0], [1, 0], [1, 1], [1, 1]])
>>> nf = np.ones((1, 4))
>>> fit = fit_nb_glm(y, x, nf, np.array([0.01]), np.array([[2.0, 1.0]]), np.full(2, 1e-6))
>>> np.round(fit["beta"][0] / np.log(2), 3)  # log2 scale: mean of group 1, log2 fold change
array([3.459, 1.518])
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "digamma",
    "fit_nb_dispersion",
    "fit_nb_dispersion_grid",
    "fit_nb_glm",
    "nb_log_likelihood",
    "nb_log_pmf",
    "trigamma",
]

_LN_2PI = math.log(2.0 * math.pi)
_LN_SQRT_2PI = 0.5 * _LN_2PI


# ----------------------------------------------------------------- special functions
@numba.njit(cache=True, nogil=True)
def digamma(x: float) -> float:  # pragma: no cover - compiled
    """The digamma function for ``x > 0`` (recurrence to ``x >= 10``, then the asymptotic series)."""
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    r = 1.0 / (x * x)
    series = r * (
        1.0 / 12
        - r * (1.0 / 120 - r * (1.0 / 252 - r * (1.0 / 240 - r * (1.0 / 132 - r * (691.0 / 32760 - r * (1.0 / 12))))))
    )
    return acc + math.log(x) - 0.5 / x - series


@numba.njit(cache=True, nogil=True)
def trigamma(x: float) -> float:  # pragma: no cover - compiled
    """The trigamma function for ``x > 0`` (recurrence to ``x >= 10``, then the asymptotic series)."""
    acc = 0.0
    while x < 10.0:
        acc += 1.0 / (x * x)
        x += 1.0
    r = 1.0 / (x * x)
    series = (
        1.0
        / x
        * (
            1.0
            + 1.0 / (2.0 * x)
            + r * (1.0 / 6 - r * (1.0 / 30 - r * (1.0 / 42 - r * (1.0 / 30 - r * (5.0 / 66 - r * (691.0 / 2730))))))
        )
    )
    return acc + series


@numba.njit(cache=True, nogil=True)
def _stirlerr(n: float) -> float:  # pragma: no cover - compiled
    # log(n!) - log(sqrt(2 pi n) (n/e)^n), as R's nmath/stirlerr.c (series above 15)
    if n <= 15.0:
        return math.lgamma(n + 1.0) - (n + 0.5) * math.log(n) + n - _LN_SQRT_2PI
    nn = n * n
    s0, s1, s2, s3, s4 = 1.0 / 12, 1.0 / 360, 1.0 / 1260, 1.0 / 1680, 1.0 / 1188
    if n > 500.0:
        return (s0 - s1 / nn) / n
    if n > 80.0:
        return (s0 - (s1 - s2 / nn) / nn) / n
    if n > 35.0:
        return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n
    return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n


@numba.njit(cache=True, nogil=True)
def _bd0(x: float, np_: float) -> float:  # pragma: no cover - compiled
    # deviance term x log(x/np) + np - x, accurate when x ~ np (Loader 2000)
    if abs(x - np_) < 0.1 * (x + np_):
        v = (x - np_) / (x + np_)
        s = (x - np_) * v
        if abs(s) < 2.2250738585072014e-308:
            return s
        ej = 2.0 * x * v
        v = v * v
        for j in range(1, 1000):
            ej *= v
            s1 = s + ej / (2 * j + 1)
            if s1 == s:
                return s1
            s = s1
    return x * math.log(x / np_) + np_ - x


@numba.njit(cache=True, nogil=True)
def _dbinom_raw_log(x: float, n: float, p: float, q: float) -> float:  # pragma: no cover - compiled
    if p == 0.0:
        return 0.0 if x == 0.0 else -np.inf
    if q == 0.0:
        return 0.0 if x == n else -np.inf
    if x == 0.0:
        if n == 0.0:
            return 0.0
        return -_bd0(n, n * q) - n * p if p < 0.1 else n * math.log(q)
    if x == n:
        return -_bd0(n, n * p) - n * q if q < 0.1 else n * math.log(p)
    if x < 0.0 or x > n:
        return -np.inf
    lc = _stirlerr(n) - _stirlerr(x) - _stirlerr(n - x) - _bd0(x, n * p) - _bd0(n - x, n * q)
    lf = _LN_2PI + math.log(x) + math.log1p(-x / n)
    return lc - 0.5 * lf


@numba.njit(cache=True, nogil=True)
def nb_log_pmf(x: float, size: float, mu: float) -> float:  # pragma: no cover - compiled
    """Log NB density with mean ``mu`` and ``size = 1/dispersion`` (as R's ``dnbinom(x, size, mu=, log=TRUE)``)."""
    if x == 0.0:
        if size < mu:
            return size * math.log(size / (size + mu))
        return size * math.log1p(-mu / (size + mu))
    if x < 1e-10 * size:
        p = math.log(size / (1.0 + size / mu)) if size < mu else math.log(mu / (1.0 + mu / size))
        return x * p - mu - math.lgamma(x + 1.0) + math.log1p(x * (x - 1.0) / (2.0 * size))
    ans = _dbinom_raw_log(size, x + size, size / (size + mu), mu / (size + mu))
    return math.log(size / (size + x)) + ans


@numba.njit(cache=True, nogil=True)
def _nb_log_likelihood(y, mu, alpha):  # pragma: no cover - compiled
    n, m = y.shape
    out = np.empty(n)
    for i in range(n):
        size = 1.0 / alpha[i]
        s = 0.0
        for j in range(m):
            s += nb_log_pmf(y[i, j], size, mu[i, j])
        out[i] = s
    return out


def nb_log_likelihood(y: np.ndarray, mu: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Per row, the sum over columns of the NB log density of ``y`` given ``mu`` and dispersion ``alpha``.

    Parameters
    ----------
    y, mu
        Counts and means, shape (genes, samples).
    alpha
        Dispersion per gene, shape (genes,).

    Returns
    -------
    numpy.ndarray
        Log likelihood per gene.

    Examples
    --------
    >>> round(float(nb_log_likelihood(np.array([[0.0, 3.0]]), np.array([[1.0, 2.0]]), np.array([0.5]))[0]), 6)
    -2.890372
    """
    return _nb_log_likelihood(
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(mu, dtype=np.float64),
        np.ascontiguousarray(alpha, dtype=np.float64),
    )


# ----------------------------------------------------------------- small dense algebra
@numba.njit(cache=True, nogil=True)
def _cholesky(a, L):  # pragma: no cover - compiled
    """Lower Cholesky factor of the SPD matrix ``a`` into ``L``; False if not positive definite."""
    p = a.shape[0]
    for j in range(p):
        s = a[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return False
        L[j, j] = math.sqrt(s)
        for i in range(j + 1, p):
            t = a[i, j]
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t / L[j, j]
        for i in range(j):
            L[i, j] = 0.0
    return True


@numba.njit(cache=True, nogil=True)
def _chol_inverse(L, inv):  # pragma: no cover - compiled
    """Inverse of ``L L'`` from its Cholesky factor."""
    p = L.shape[0]
    linv = np.zeros((p, p))
    for j in range(p):
        linv[j, j] = 1.0 / L[j, j]
        for i in range(j + 1, p):
            s = 0.0
            for k in range(j, i):
                s -= L[i, k] * linv[k, j]
            linv[i, j] = s / L[i, i]
    for i in range(p):
        for j in range(p):
            s = 0.0
            for k in range(max(i, j), p):
                s += linv[k, i] * linv[k, j]
            inv[i, j] = s


@numba.njit(cache=True, nogil=True)
def _chol_solve(L, b, out):  # pragma: no cover - compiled
    p = L.shape[0]
    z = np.empty(p)
    for i in range(p):
        s = b[i]
        for k in range(i):
            s -= L[i, k] * z[k]
        z[i] = s / L[i, i]
    for i in range(p - 1, -1, -1):
        s = z[i]
        for k in range(i + 1, p):
            s -= L[k, i] * out[k]
        out[i] = s / L[i, i]


@numba.njit(cache=True, nogil=True)
def _tally(y, u, c, idx, hist):  # pragma: no cover - compiled
    """Distinct values of the row ``y`` into ``u`` (ascending), their multiplicities into ``c`` and, per sample,
    the index of its value into ``idx``.

    A histogram when ``y`` holds whole numbers whose range fits ``hist`` (left zeroed), else a sort; returns how many.
    """
    m = y.shape[0]
    lo = y[0]
    hi = y[0]
    whole = True
    for j in range(m):
        if y[j] < lo:
            lo = y[j]
        elif y[j] > hi:
            hi = y[j]
        if y[j] != math.floor(y[j]):
            whole = False
    k = 0
    span = hi - lo
    if whole and span < hist.shape[0]:
        for j in range(m):
            hist[int(y[j] - lo)] += 1
        for v in range(int(span) + 1):
            if hist[v] > 0:
                u[k] = lo + v
                c[k] = hist[v]
                hist[v] = k
                k += 1
        for j in range(m):
            idx[j] = hist[int(y[j] - lo)]
        for j in range(m):
            hist[int(y[j] - lo)] = 0
        return k
    order = np.argsort(y)
    for t in range(m):
        j = order[t]
        if k > 0 and y[j] == u[k - 1]:
            c[k - 1] += 1
        else:
            u[k] = y[j]
            c[k] = 1
            k += 1
        idx[j] = k - 1
    return k


# ----------------------------------------------------------------------- NB GLM (IRLS)
@numba.njit(cache=True, nogil=True)
def _fit_nb_glm(y, x, nf, alpha, beta_init, lam, contrast, tol, maxit, minmu):  # pragma: no cover - compiled
    n, m = y.shape
    p = x.shape[1]
    beta_out = np.empty((n, p))
    var_out = np.empty((n, p))
    hat = np.empty((n, m))
    iters = np.zeros(n, dtype=np.int64)
    deviance = np.empty(n)
    c_est = np.empty(n)
    c_se = np.empty(n)
    mu = np.empty(m)
    eta = np.empty(m)
    lnf = np.empty(m)
    w = np.empty(m)
    z = np.empty(m)
    a = np.empty((p, p))
    L = np.empty((p, p))
    inv = np.empty((p, p))
    rhs = np.empty(p)
    beta = np.empty(p)
    u = np.empty(m)
    cnt = np.empty(m)
    idx = np.empty(m, dtype=np.int64)
    hist = np.zeros(8 * m + 64, dtype=np.int64)
    log_minmu = math.log(minmu)
    for i in range(n):
        for k in range(p):
            beta[k] = beta_init[i, k]
        yi = y[i]
        size = 1.0 / alpha[i]
        log_alpha = math.log(alpha[i])
        # the log likelihood's terms that do not depend on mu, once per gene and distinct count
        lgs = math.lgamma(size)
        nu = _tally(yi, u, cnt, idx, hist)
        const = 0.0
        for k in range(nu):
            const += cnt[k] * (math.lgamma(u[k] + size) - lgs - math.lgamma(u[k] + 1.0))
        ri = i if nf.shape[0] > 1 else 0  # one row of normalization factors for all genes
        if i == 0 or ri > 0:
            for j in range(m):
                lnf[j] = math.log(nf[ri, j])
        for j in range(m):
            e = 0.0
            for k in range(p):
                e += x[j, k] * beta[k]
            eta[j] = e
            mu[j] = max(nf[ri, j] * math.exp(e), minmu)
        dev = 0.0
        dev_old = 0.0
        for t in range(maxit):
            iters[i] += 1
            for j in range(m):
                w[j] = mu[j] / (1.0 + alpha[i] * mu[j])
                # log(mu / nf) is the linear predictor unless mu was clamped to minmu
                lmn = eta[j] if mu[j] > minmu else log_minmu - lnf[j]
                z[j] = lmn + (y[i, j] - mu[j]) / mu[j]
            for r in range(p):
                s = 0.0
                for j in range(m):
                    s += x[j, r] * w[j] * z[j]
                rhs[r] = s
                for c in range(r + 1):
                    s = 0.0
                    for j in range(m):
                        s += x[j, r] * w[j] * x[j, c]
                    a[r, c] = s
                    a[c, r] = s
                a[r, r] += lam[r]
            if not _cholesky(a, L):
                iters[i] = maxit
                break
            _chol_solve(L, rhs, beta)
            large = False
            for k in range(p):
                if abs(beta[k]) > 30.0 or math.isnan(beta[k]):
                    large = True
            if large:
                iters[i] = maxit
                break
            # size log(size / (size + mu)) + y log(mu / (size + mu)) with one log1p a sample:
            # log(size / (size + mu)) = -log1p(mu alpha), log(mu / (size + mu)) = log(mu) + log(alpha) - log1p(mu alpha)
            ll = const
            for j in range(m):
                e = 0.0
                for k in range(p):
                    e += x[j, k] * beta[k]
                eta[j] = e
                v = nf[ri, j] * math.exp(e)
                if v > minmu:
                    mu[j] = v
                    lmu = e + lnf[j]
                else:
                    mu[j] = minmu
                    lmu = log_minmu
                am = alpha[i] * mu[j]
                l1 = math.log(1.0 + am) if am > 1e-3 else math.log1p(am)  # log is twice as quick; exact there
                ll -= size * l1
                if y[i, j] > 0.0:
                    ll += y[i, j] * (lmu + log_alpha - l1)
            dev = -2.0 * ll
            conv = abs(dev - dev_old) / (abs(dev) + 0.1)
            if math.isnan(conv):
                iters[i] = maxit
                break
            if t > 0 and conv < tol:
                break
            dev_old = dev
        deviance[i] = dev
        for k in range(p):
            beta_out[i, k] = beta[k]
        # covariance, hat diagonals and contrast at the final mu
        for j in range(m):
            w[j] = mu[j] / (1.0 + alpha[i] * mu[j])
        for r in range(p):
            for c in range(r + 1):
                s = 0.0
                for j in range(m):
                    s += x[j, r] * w[j] * x[j, c]
                a[r, c] = s
                a[c, r] = s
        for r in range(p):
            a[r, r] += lam[r]
        ok = _cholesky(a, L)
        if not ok:
            for k in range(p):
                var_out[i, k] = np.nan
            for j in range(m):
                hat[i, j] = np.nan
            c_est[i] = np.nan
            c_se[i] = np.nan
            continue
        _chol_inverse(L, inv)
        for j in range(m):
            s = 0.0
            for r in range(p):
                for c in range(p):
                    s += x[j, r] * inv[r, c] * x[j, c]
            hat[i, j] = w[j] * s
        for r in range(p):
            a[r, r] -= lam[r]  # back to X'WX
        # sigma = inv a inv
        ce = 0.0
        cv = 0.0
        for r in range(p):
            ce += contrast[r] * beta[r]
        for r in range(p):
            for c in range(p):
                s = 0.0
                for k in range(p):
                    for l in range(p):  # noqa: E741
                        s += inv[r, k] * a[k, l] * inv[l, c]
                if r == c:
                    var_out[i, r] = s
                cv += contrast[r] * s * contrast[c]
        c_est[i] = ce
        c_se[i] = math.sqrt(cv) if cv > 0.0 else 0.0
    return beta_out, var_out, hat, iters, deviance, c_est, c_se


def fit_nb_glm(
    y: np.ndarray,
    x: np.ndarray,
    nf: np.ndarray,
    alpha: np.ndarray,
    beta_init: np.ndarray,
    lam: np.ndarray,
    *,
    contrast: np.ndarray | None = None,
    tol: float = 1e-8,
    maxit: int = 100,
    minmu: float = 0.5,
) -> dict[str, np.ndarray]:
    """Fit one negative binomial GLM per row of ``y`` by IRLS (DESeq2's ``fitBeta``).

    Parameters
    ----------
    y
        Counts, shape (genes, samples).
    x
        Design matrix, shape (samples, coefficients).
    nf
        Normalization factors (size factors broadcast per gene), shape (genes, samples), or (1, samples): one
        row for every gene (a broadcast row is passed as that, not copied).
    alpha
        Dispersion per gene.
    beta_init
        Starting coefficients on the natural-log scale, shape (genes, coefficients).
    lam
        Ridge penalty per coefficient on the natural-log scale (DESeq2: ``1e-6 / log(2)**2``).
    contrast
        Optional contrast vector; its estimate and standard error are returned.
    tol
        Convergence: ``|dev - dev_old| / (|dev| + 0.1) < tol``.
    maxit
        Maximum iterations; a gene that reaches it (or whose coefficients exceed 30 in
        absolute value) is reported with ``iter == maxit``. ``maxit=0`` only evaluates
        the covariance at ``beta_init``.
    minmu
        Lower bound of the fitted means inside the iterations.

    Returns
    -------
    dict
        ``beta`` and ``beta_var`` (natural-log scale), ``hat`` (hat-matrix diagonals),
        ``iter``, ``deviance``, ``contrast`` and ``contrast_se``.
    """
    p = x.shape[1]
    c = np.zeros(p) if contrast is None else np.asarray(contrast, dtype=np.float64)
    nf = np.asarray(nf)
    if nf.ndim == 2 and nf.shape[0] > 1 and nf.strides[0] == 0:  # one row broadcast to every gene
        nf = nf[:1]
    beta, var, hat, iters, dev, c_est, c_se = _fit_nb_glm(
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(nf, dtype=np.float64),
        np.ascontiguousarray(alpha, dtype=np.float64),
        np.ascontiguousarray(beta_init, dtype=np.float64),
        np.ascontiguousarray(lam, dtype=np.float64),
        c,
        float(tol),
        int(maxit),
        float(minmu),
    )
    return {
        "beta": beta,
        "beta_var": var,
        "hat": hat,
        "iter": iters,
        "deviance": dev,
        "contrast": c_est,
        "contrast_se": c_se,
    }


# --------------------------------------------------------------------- dispersions
@numba.njit(cache=True, nogil=True)
def _cr_parts(x, mu, alpha, b, db, L, inv):  # pragma: no cover - compiled
    # b = X' diag(w) X and db = X' diag(dw) X with w = 1/(1/mu + alpha)
    m, p = x.shape
    for r in range(p):
        for c in range(r + 1):
            s = 0.0
            d = 0.0
            for j in range(m):
                wj = 1.0 / (1.0 / mu[j] + alpha)
                s += x[j, r] * wj * x[j, c]
                d += x[j, r] * (-wj * wj) * x[j, c]
            b[r, c] = s
            b[c, r] = s
            db[r, c] = d
            db[c, r] = d
    return _cholesky(b, L)


@numba.njit(cache=True, nogil=True)
def _log_posterior(log_alpha, y, mu, x, prior_mean, prior_var, use_prior, use_cr, b, db, L, inv):  # pragma: no cover
    alpha = math.exp(log_alpha)
    cr = 0.0
    if use_cr:
        if _cr_parts(x, mu, alpha, b, db, L, inv):
            logdet = 0.0
            for k in range(x.shape[1]):
                logdet += 2.0 * math.log(L[k, k])
            cr = -0.5 * logdet
        else:
            cr = np.inf  # det <= 0: log(det) is -inf or NaN in DESeq2
    a1 = 1.0 / alpha
    lg = math.lgamma(a1)
    ll = 0.0
    for j in range(y.shape[0]):
        ll += math.lgamma(y[j] + a1) - lg - y[j] * math.log(mu[j] + a1) - a1 * math.log(1.0 + mu[j] * alpha)
    prior = 0.0
    if use_prior:
        prior = -0.5 * (log_alpha - prior_mean) ** 2 / prior_var
    return ll + prior + cr


@numba.njit(cache=True, nogil=True)
def _lp_sums(
    a, y, mu, cell, xc, u, idx, nu, g, l1s, pm, pv, use_prior, use_cr, s1, s2, b, db, L, pd
):  # pragma: no cover - compiled
    """The log posterior of ``a = log(alpha)`` (DESeq2's ``log_posterior``) in one pass over the samples.

    With ``t = 1/(1 + mu alpha)`` and ``l1 = log(1 + mu alpha)``: ``log(mu + 1/alpha) = l1 - a``, so a sample
    costs one log and one division; ``lgamma(y + 1/alpha)`` is taken once per distinct count (``u``, ``idx``).
    The terms are summed sample by sample in DESeq2's order; ``X'WX`` is summed per design cell (``xc``: a
    cell's design row, ``cell``: each sample's cell). Leaves what the derivative needs at the same point:
    ``l1`` per sample in ``l1s``, ``X'WX`` in ``b``/``L``, ``X' dW/dalpha X`` in ``db``, and in ``pd[0]``
    whether ``X'WX`` is positive definite.
    """
    alpha = math.exp(a)
    r = 1.0 / alpha
    ncell, p = xc.shape
    lg = math.lgamma(r)
    for k in range(nu):
        g[k] = math.lgamma(u[k] + r)
    for cc in range(ncell):
        s1[cc] = 0.0
        s2[cc] = 0.0
    ll = 0.0
    for j in range(y.shape[0]):
        ma = mu[j] * alpha
        l1 = math.log(1.0 + ma)
        l1s[j] = l1
        ll += g[idx[j]] - lg - y[j] * (l1 - a) - r * l1
        w = mu[j] / (1.0 + ma)
        s1[cell[j]] += w
        s2[cell[j]] += w * w
    cr = 0.0
    if use_cr:
        for i in range(p):
            for k in range(i + 1):
                v = 0.0
                d = 0.0
                for cc in range(ncell):
                    xx = xc[cc, i] * xc[cc, k]
                    v += s1[cc] * xx
                    d -= s2[cc] * xx
                b[i, k] = v
                b[k, i] = v
                db[i, k] = d
                db[k, i] = d
        if _cholesky(b, L):
            pd[0] = 1.0
            logdet = 0.0
            for k in range(p):
                logdet += 2.0 * math.log(L[k, k])
            cr = -0.5 * logdet
        else:
            pd[0] = 0.0
            cr = np.inf  # det <= 0: log(det) is -inf or NaN in DESeq2
    prior = 0.0
    if use_prior:
        prior = -0.5 * (a - pm) ** 2 / pv
    return ll + prior + cr


@numba.njit(cache=True, nogil=True)
def _dlp_sums(a, y, mu, u, idx, nu, g, l1s, pm, pv, use_prior, use_cr, db, L, inv, pd):  # pragma: no cover
    """d log posterior / d log(alpha) (DESeq2's ``dlog_posterior``) at the point of the last :func:`_lp_sums`.

    Summed sample by sample as DESeq2 does (``digamma(y + 1/alpha)`` once per distinct count).
    """
    alpha = math.exp(a)
    r = 1.0 / alpha
    cr = 0.0
    if use_cr:
        if pd[0] > 0.0:
            _chol_inverse(L, inv)
            tr = 0.0
            p = inv.shape[0]
            for i in range(p):
                for k in range(p):
                    tr += inv[i, k] * db[k, i]
            cr = -0.5 * tr
        else:
            cr = np.nan
    dg = digamma(r)
    for k in range(nu):
        g[k] = digamma(u[k] + r)
    s = 0.0
    for j in range(y.shape[0]):
        ma = mu[j] * alpha
        s += dg + l1s[j] - ma / (1.0 + ma) - g[idx[j]] + y[j] / (mu[j] + r)
    prior = 0.0
    if use_prior:
        prior = -1.0 * (a - pm) / pv
    return (r * r * s + cr) * alpha + prior


@numba.njit(cache=True, nogil=True)
def _fit_nb_dispersion(
    y, mu, cell, xc, log_alpha0, prior_mean, prior_var, min_log_alpha, kappa_0, tol, maxit, use_prior, use_cr
):  # pragma: no cover - compiled
    n, m = y.shape
    p = xc.shape[1]
    ncell = xc.shape[0]
    log_alpha = log_alpha0.copy()
    iters = np.zeros(n, dtype=np.int64)
    initial_lp = np.empty(n)
    last_lp = np.empty(n)
    b = np.empty((p, p))
    db = np.empty((p, p))
    L = np.empty((p, p))
    inv = np.empty((p, p))
    s1 = np.empty(ncell)
    s2 = np.empty(ncell)
    pd = np.zeros(1)
    u = np.empty(m)
    c = np.empty(m)
    g = np.empty(m)
    l1s = np.empty(m)
    idx = np.empty(m, dtype=np.int64)
    hist = np.zeros(8 * m + 64, dtype=np.int64)
    epsilon = 1.0e-4
    for i in range(n):
        yr = y[i]
        mr = mu[i]
        nu = _tally(yr, u, c, idx, hist)
        pm = prior_mean[i]
        pv = prior_var
        a = log_alpha[i]
        lp = _lp_sums(a, yr, mr, cell, xc, u, idx, nu, g, l1s, pm, pv, use_prior, use_cr, s1, s2, b, db, L, pd)
        dlp = _dlp_sums(a, yr, mr, u, idx, nu, g, l1s, pm, pv, use_prior, use_cr, db, L, inv, pd)
        kappa = kappa_0
        initial_lp[i] = lp
        accepted = 0
        for _t in range(maxit):
            iters[i] += 1
            a_propose = a + kappa * dlp
            if a_propose < -30.0:
                kappa = (-30.0 - a) / dlp
            if a_propose > 10.0:
                kappa = (10.0 - a) / dlp
            a_new = a + kappa * dlp
            lp_kappa = _lp_sums(
                a_new, yr, mr, cell, xc, u, idx, nu, g, l1s, pm, pv, use_prior, use_cr, s1, s2, b, db, L, pd
            )
            theta_kappa = -1.0 * lp_kappa
            theta_hat_kappa = -1.0 * lp - kappa * epsilon * dlp * dlp
            if theta_kappa <= theta_hat_kappa:
                accepted += 1
                a = a_new
                lpnew = lp_kappa  # DESeq2 evaluates it again at the same point
                change = lpnew - lp
                if change < tol:
                    lp = lpnew
                    break
                if a < min_log_alpha:
                    break
                lp = lpnew
                dlp = _dlp_sums(a, yr, mr, u, idx, nu, g, l1s, pm, pv, use_prior, use_cr, db, L, inv, pd)
                kappa = min(kappa * 1.1, kappa_0)
                if accepted % 5 == 0:
                    kappa = kappa / 2.0
            else:
                kappa = kappa / 2.0
        last_lp[i] = lp
        log_alpha[i] = a
    return log_alpha, iters, initial_lp, last_lp


def _design_cells(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a design (cells) and each sample's cell."""
    xc, cell = np.unique(x, axis=0, return_inverse=True)
    return np.ascontiguousarray(xc), cell.ravel().astype(np.int64)


def fit_nb_dispersion(
    y: np.ndarray,
    x: np.ndarray,
    mu: np.ndarray,
    log_alpha: np.ndarray,
    *,
    prior_mean: np.ndarray | None = None,
    prior_var: float = 1.0,
    min_log_alpha: float = math.log(1e-9),
    kappa_0: float = 1.0,
    tol: float = 1e-6,
    maxit: int = 100,
    use_cr: bool = True,
) -> dict[str, np.ndarray]:
    """Maximise the Cox–Reid adjusted (optionally penalised) NB likelihood of each gene's dispersion.

    DESeq2's ``fitDisp``: a backtracking line search on ``a = log(alpha)`` along the
    gradient, Armijo rule with ``epsilon = 1e-4``, step ``kappa`` halved on rejection,
    grown by 10 % (capped at ``kappa_0``) after acceptance and halved every 5th acceptance;
    stops when the log posterior rises by less than ``tol`` or ``a < min_log_alpha``.

    Parameters
    ----------
    y, mu
        Counts and fitted means, shape (genes, samples).
    x
        Design matrix (for the Cox–Reid term), shape (samples, coefficients).
    log_alpha
        Starting log dispersions.
    prior_mean
        Mean of the normal prior on the log dispersion per gene; ``None`` for no prior (MLE).
    prior_var
        Variance of that prior.
    min_log_alpha, kappa_0, tol, maxit
        DESeq2's controls (``log(minDisp/10)``, 1, 1e-6, 100).
    use_cr
        Include the Cox–Reid adjustment ``-0.5 log det(X'WX)``.

    Returns
    -------
    dict
        ``log_alpha``, ``iter``, ``initial_lp`` and ``last_lp`` per gene.
    """
    n = y.shape[0]
    use_prior = prior_mean is not None
    pm = np.zeros(n) if prior_mean is None else np.ascontiguousarray(prior_mean, dtype=np.float64)
    xc, cell = _design_cells(np.asarray(x, dtype=np.float64))
    la, iters, lp0, lp1 = _fit_nb_dispersion(
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(mu, dtype=np.float64),
        cell,
        xc,
        np.ascontiguousarray(log_alpha, dtype=np.float64),
        pm,
        float(prior_var),
        float(min_log_alpha),
        float(kappa_0),
        float(tol),
        int(maxit),
        use_prior,
        bool(use_cr),
    )
    return {"log_alpha": la, "iter": iters, "initial_lp": lp0, "last_lp": lp1}


@numba.njit(cache=True, nogil=True)
def _fit_nb_dispersion_grid(y, x, mu, grid, prior_mean, prior_var, use_prior, use_cr):  # pragma: no cover
    n = y.shape[0]
    p = x.shape[1]
    g = grid.shape[0]
    delta = grid[1] - grid[0]
    out = np.empty(n)
    b = np.empty((p, p))
    db = np.empty((p, p))
    L = np.empty((p, p))
    inv = np.empty((p, p))
    for i in range(n):
        best = -np.inf
        a_hat = grid[0]
        for t in range(g):
            v = _log_posterior(grid[t], y[i], mu[i], x, prior_mean[i], prior_var, use_prior, use_cr, b, db, L, inv)
            if v > best or t == 0:
                best = v
                a_hat = grid[t]
        best = -np.inf
        fine0 = a_hat - delta
        step = 2.0 * delta / (g - 1)
        a_best = fine0
        for t in range(g):
            a = fine0 + t * step if t < g - 1 else a_hat + delta
            v = _log_posterior(a, y[i], mu[i], x, prior_mean[i], prior_var, use_prior, use_cr, b, db, L, inv)
            if v > best or t == 0:
                best = v
                a_best = a
        out[i] = a_best
    return out


def fit_nb_dispersion_grid(
    y: np.ndarray,
    x: np.ndarray,
    mu: np.ndarray,
    *,
    max_disp: float,
    prior_mean: np.ndarray | None = None,
    prior_var: float = 1.0,
    use_cr: bool = True,
) -> np.ndarray:
    """Dispersions maximising the same objective as :func:`fit_nb_dispersion` over a grid.

    DESeq2's ``fitDispGrid``: 20 points of ``log(alpha)`` from ``log(1e-8)`` to
    ``log(max_disp)``, then 20 points within one grid step of the best one.

    Parameters
    ----------
    y, x, mu, prior_mean, prior_var, use_cr
        As for :func:`fit_nb_dispersion`.
    max_disp
        Upper end of the grid (DESeq2: ``max(10, n_samples)``).

    Returns
    -------
    numpy.ndarray
        Dispersion (not log) per gene.
    """
    n = y.shape[0]
    grid = np.linspace(math.log(1e-8), math.log(max_disp), 20)
    use_prior = prior_mean is not None
    pm = np.zeros(n) if prior_mean is None else np.ascontiguousarray(prior_mean, dtype=np.float64)
    la = _fit_nb_dispersion_grid(
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(mu, dtype=np.float64),
        grid,
        pm,
        float(prior_var),
        use_prior,
        bool(use_cr),
    )
    return np.exp(la)
