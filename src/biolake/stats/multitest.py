"""Multiple testing and the smoother DESeq2's independent filtering relies on.

* :func:`p_adjust_bh` — Benjamini–Hochberg adjusted p-values, as R's
  ``p.adjust(p, "BH")`` (missing values stay missing and do not count);
* :func:`lowess` — Cleveland's LOWESS exactly as R's ``lowess()`` (``clowess`` in
  R's ``stats`` package): local linear fits with tricube weights over the
  ``f * n`` nearest points, ``iter`` robustness iterations with bisquare weights,
  and linear interpolation between points closer than ``delta``.

Examples
--------
>>> import numpy as np
>>> p_adjust_bh(np.array([0.01, 0.04, np.nan, 0.03]))
array([0.03, 0.04,  nan, 0.04])
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["lowess", "p_adjust_bh"]


def p_adjust_bh(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (R's ``p.adjust(p, method = "BH")``).

    Parameters
    ----------
    pvalues
        P-values; NaN entries are ignored (the number of tests is the number of
        non-NaN values) and stay NaN.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    n = q.size
    if n == 0:
        return out
    order = np.argsort(-q, kind="stable")
    ranks = np.arange(n, 0, -1, dtype=np.float64)
    adj = np.minimum.accumulate(n / ranks * q[order])
    res = np.empty(n)
    res[order] = np.minimum(1.0, adj)
    out[ok] = res
    return out


@numba.njit(cache=True, nogil=True)
def _lowest(x, y, n, xs, nleft, nright, w, userw, rw):  # pragma: no cover - compiled
    # 0-based port of R's lowest(); returns (ys, ok)
    rng = x[n - 1] - x[0]
    h = max(xs - x[nleft], x[nright] - xs)
    h9 = 0.999 * h
    h1 = 0.001 * h
    a = 0.0
    j = nleft
    while j < n:
        w[j] = 0.0
        r = abs(x[j] - xs)
        if r <= h9:
            if r <= h1:
                w[j] = 1.0
            else:
                q = r / h
                q = 1.0 - q * q * q
                w[j] = q * q * q
            if userw:
                w[j] *= rw[j]
            a += w[j]
        elif x[j] > xs:
            break
        j += 1
    nrt = j - 1
    if a <= 0.0:
        return 0.0, False
    for j in range(nleft, nrt + 1):
        w[j] /= a
    if h > 0.0:
        a = 0.0
        for j in range(nleft, nrt + 1):
            a += w[j] * x[j]
        b = xs - a
        c = 0.0
        for j in range(nleft, nrt + 1):
            c += w[j] * (x[j] - a) * (x[j] - a)
        if np.sqrt(c) > 0.001 * rng:
            b /= c
            for j in range(nleft, nrt + 1):
                w[j] *= b * (x[j] - a) + 1.0
    ys = 0.0
    for j in range(nleft, nrt + 1):
        ys += w[j] * y[j]
    return ys, True


@numba.njit(cache=True, nogil=True)
def _clowess(x, y, f, nsteps, delta):  # pragma: no cover - compiled
    n = x.shape[0]
    ys = np.empty(n)
    if n < 2:
        ys[0] = y[0]
        return ys
    rw = np.zeros(n)
    res = np.zeros(n)
    ns = max(2, min(n, int(f * n + 1e-7)))
    it = 1
    while it <= nsteps + 1:
        nleft = 0
        nright = ns - 1
        last = -1
        i = 0
        while True:
            if nright < n - 1:
                d1 = x[i] - x[nleft]
                d2 = x[nright + 1] - x[i]
                if d1 > d2:
                    nleft += 1
                    nright += 1
                    continue
            val, ok = _lowest(x, y, n, x[i], nleft, nright, res, it > 1, rw)
            ys[i] = val if ok else y[i]
            if last < i - 1:
                denom = x[i] - x[last]
                for j in range(last + 1, i):
                    alpha = (x[j] - x[last]) / denom
                    ys[j] = alpha * ys[i] + (1.0 - alpha) * ys[last]
            last = i
            cut = x[last] + delta
            i = last + 1
            while i < n:
                if x[i] > cut:
                    break
                if x[i] == x[last]:
                    ys[i] = ys[last]
                    last = i
                i += 1
            i = max(last + 1, i - 1)
            if last >= n - 1:
                break
        for k in range(n):
            res[k] = y[k] - ys[k]
        sc = 0.0
        for k in range(n):
            sc += abs(res[k])
        sc /= n
        if it > nsteps:
            break
        for k in range(n):
            rw[k] = abs(res[k])
        srt = np.sort(rw)
        m1 = n // 2
        if n % 2 == 0:
            m2 = n - m1 - 1
            cmad = 3.0 * (srt[m1] + srt[m2])
        else:
            cmad = 6.0 * srt[m1]
        if cmad < 1e-7 * sc:
            break
        c9 = 0.999 * cmad
        c1 = 0.001 * cmad
        for k in range(n):
            r = abs(res[k])
            if r <= c1:
                rw[k] = 1.0
            elif r <= c9:
                q = r / cmad
                q = 1.0 - q * q
                rw[k] = q * q
            else:
                rw[k] = 0.0
        it += 1
    return ys


def lowess(x: np.ndarray, y: np.ndarray, *, f: float = 2.0 / 3.0, iterations: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Robust locally weighted regression of ``y`` on ``x`` (R's ``lowess(x, y, f, iter)``).

    Parameters
    ----------
    x, y
        The points (any order; they are sorted by ``x``, ties kept in input order).
    f
        Smoother span: the fraction of points in each local fit.
    iterations
        Robustness iterations.

    Returns
    -------
    tuple of numpy.ndarray
        The sorted ``x`` and the fitted values at them.

    Examples
    --------
    >>> xs, fit = lowess(np.arange(10.0), np.arange(10.0) * 2, f=0.5)
    >>> np.allclose(fit, xs * 2)
    True
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    order = np.argsort(xa, kind="stable")
    xs = np.ascontiguousarray(xa[order])
    yv = np.ascontiguousarray(ya[order])
    delta = 0.01 * (xs[-1] - xs[0]) if xs.size else 0.0
    return xs, _clowess(xs, yv, float(f), int(iterations), float(delta))
