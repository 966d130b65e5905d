"""Local quadratic regression as R ``locfit`` computes it (one predictor, Gaussian family).

DESeq2's ``fitType = "local"`` dispersion trend is
``locfit(log(disp) ~ log(mean), weights = mean)`` followed by ``predict``: locfit's
defaults — nearest-neighbour fraction ``alpha = 0.7``, degree 2, tricube weights — but
the fit is *not* evaluated at each new point. locfit fits at the vertices of an adaptive
tree over the data range and interpolates between them. This module reproduces that
procedure step by step from locfit's C sources (Loader, *Local Regression and
Likelihood*, 1999; R package locfit 1.5-9), so that the trend agrees with R's to
rounding:

1. the *parametric component*: a global quadratic fitted by weighted least squares with
   the prior weights, centred at the weighted mean of x; it is subtracted at the vertices
   and added back at prediction time;
2. the tree (``ev = rbox(cut = 0.8)``): vertices at the data range's ends; a cell is
   halved while its length exceeds ``cut`` times the smaller bandwidth of its two
   vertices;
3. at each vertex x₀: the bandwidth ``h`` = the distance to the ⌊n·alpha⌋-th nearest
   data point; tricube kernel weights ``(1 - (d/h)³)³`` times the prior weights; the
   local polynomial ``β₀ + β₁(x - x₀) + β₂(x - x₀)²/2`` by one Newton step from the
   weighted mean (exact for least squares), solved as locfit solves it — eigen-
   decomposition of the correlation-scaled normal matrix, eigenvalues at or below
   ``1e-8`` × the largest left undivided; the vertex keeps the value ``β₀`` and slope
   ``β₁`` minus those of the parametric component;
4. prediction: descend the tree to the cell holding x, cubic Hermite interpolation of the
   vertex values and slopes (linear extrapolation outside the data range), plus the
   parametric component at x.

Examples
--------
>>> import numpy as np
>>> x = np.linspace(0, 10, 200)
>>> fit = locfit_1d(x, np.sin(x), weights=np.ones(200))
>>> bool(abs(fit.predict(np.array([5.0]))[0] - np.sin(5.0)) < 0.05)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from biolake.errors import check_param

__all__ = ["LocalFit", "locfit_1d"]

_E_TOL = 1.0e-8  # locfit's m_eigen.c
_E_MAXIT = 20


@numba.njit(cache=True)
def _eig_dec(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """locfit's Jacobi eigen-decomposition (``eig_dec``) of ``x`` (overwritten).

    Rotations stop once every off-diagonal element satisfies ``x_ij² <= 1e-15 |x_ii x_jj|``;
    the diagonal left then is what locfit divides by, so the rule is reproduced literally
    rather than taken from LAPACK. Returns the diagonal and the rotation ``P``.
    """
    d = x.shape[0]
    p = np.eye(d)
    for _ in range(_E_MAXIT):
        moved = False
        for i in range(d):
            for j in range(i + 1, d):
                if x[i, j] * x[i, j] > 1.0e-15 * abs(x[i, i] * x[j, j]):
                    c = (x[j, j] - x[i, i]) / 2
                    s = -x[i, j]
                    r = math.sqrt(c * c + s * s)
                    c /= r
                    s = math.sqrt((1 - c) / 2) * (1.0 if s > 0 else -1.0)
                    c = math.sqrt((1 + c) / 2)
                    for k in range(d):
                        u = x[i, k]
                        v = x[j, k]
                        x[i, k] = u * c + v * s
                        x[j, k] = v * c - u * s
                    for k in range(d):
                        u = x[k, i]
                        v = x[k, j]
                        x[k, i] = u * c + v * s
                        x[k, j] = v * c - u * s
                    x[i, j] = 0.0
                    x[j, i] = 0.0
                    for k in range(d):
                        u = p[k, i]
                        v = p[k, j]
                        p[k, i] = u * c + v * s
                        p[k, j] = v * c - u * s
                    moved = True
        if not moved:
            break
    diag = np.empty(d)
    for i in range(d):
        diag[i] = x[i, i]
    return diag, p


@numba.njit(cache=True)
def _local_quadratic(
    x: np.ndarray, y: np.ndarray, pw: np.ndarray, kern: np.ndarray, ind: np.ndarray, m: int, x0: float
) -> np.ndarray:  # pragma: no cover - compiled
    """locfit's Gaussian local fit at ``x0`` over the points ``ind[:m]`` with kernel weights ``kern``.

    Sums are accumulated point by point in locfit's order (``reginit``, ``likereg``,
    ``addouter``), then one Newton step solved by ``jacob_solve`` with ``JAC_EIGD``.
    """
    s0 = 0.0
    s1 = 0.0
    for a in range(m):
        i = ind[a]
        s1 += kern[a] * (pw[i] * y[i])
        s0 += kern[a] * pw[i]
    cf0 = s1 / s0
    z = np.zeros((3, 3))
    f1 = np.zeros(3)
    xv = np.empty(3)
    for a in range(m):
        i = ind[a]
        dx = x[i] - x0
        xv[0] = 1.0
        xv[1] = dx
        xv[2] = dx * dx / 2
        th = 0.0 + (((0.0 + cf0 * xv[0]) + 0.0 * xv[1]) + 0.0 * xv[2])
        dll = pw[i] * (y[i] - th)
        ww = kern[a]
        for j in range(3):
            f1[j] += xv[j] * ww * dll
        c = ww * pw[i]
        for r in range(3):
            for q in range(3):
                z[r, q] += c * xv[r] * xv[q]
    dg = np.empty(3)
    for r in range(3):
        dg[r] = 0.0 if z[r, r] <= 0 else 1 / math.sqrt(z[r, r])
    for r in range(3):
        for q in range(3):
            z[r, q] *= dg[r] * dg[q]
    diag, p = _eig_dec(z)
    tol = _E_TOL * diag.max()
    v = np.empty(3)
    for r in range(3):
        v[r] = f1[r] * dg[r]
    w = np.zeros(3)
    for r in range(3):
        for q in range(3):
            w[r] += p[q, r] * v[q]
    for r in range(3):
        if diag[r] > tol:
            w[r] /= diag[r]
    coef = np.empty(3)
    for r in range(3):
        acc = 0.0
        for q in range(3):
            acc += p[r, q] * w[q]
        coef[r] = acc * dg[r]
    coef[0] = cf0 + 1.0 * coef[0]
    coef[1] = 0.0 + 1.0 * coef[1]
    coef[2] = 0.0 + 1.0 * coef[2]
    return coef


def _neighbourhood(x0: float, x: np.ndarray, k: int, ordered: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """locfit's ``nbhd``/``nbhd1``: the points with positive tricube weight, in locfit's order."""
    dist = np.abs(x - x0)
    h = float(np.partition(dist, k - 1)[k - 1]) if k >= 1 else 0.0
    if h > 0:
        u = dist / h
        t = 1 - u * u * u
        kern = np.where(u > 1, 0.0, t * t * t)
    else:
        kern = (dist == 0).astype(np.float64)
    if not ordered:
        ind = np.flatnonzero(kern > 0)
        return ind, kern[ind], h
    n = x.size
    if x0 <= x[0]:
        zc = 0
    elif x0 >= x[n - 1]:
        zc = n - 1
    else:
        r = int(np.searchsorted(x, x0, side="right"))
        left = r - 1
        zc = r if (x0 - x[left]) > (x[r] - x0) else left
    if x[zc] > x0:
        zc -= 1
    order = []
    for i in range(zc, -1, -1):
        if kern[i] > 0:
            order.append(i)
        else:
            break
    for i in range(zc + 1, n):
        if kern[i] > 0:
            order.append(i)
        else:
            break
    ind = np.array(order, dtype=np.int64)
    return ind, kern[ind], h


@dataclass(frozen=True)
class LocalFit:
    """A fitted locfit tree: predict with :meth:`predict` (picklable, no R needed)."""

    vertex_x: np.ndarray
    """Vertex positions."""
    vertex_value: np.ndarray
    """Local fit at each vertex, minus the parametric component."""
    vertex_slope: np.ndarray
    """Local slope at each vertex, minus the parametric component's."""
    vertex_h: np.ndarray
    """Nearest-neighbour bandwidth at each vertex."""
    cells: np.ndarray
    """Tree nodes: ``[lower vertex, upper vertex, left child, right child]`` (-1: a leaf)."""
    pc_centre: float
    pc_coef: np.ndarray
    """Parametric component: coefficients of ``1, dx, dx²/2`` with ``dx = x - pc_centre``."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The fitted curve at ``x`` (locfit's ``predict``, interpolated on the tree)."""
        x = np.asarray(x, dtype=np.float64)
        flat = x.ravel()
        node = np.zeros(flat.size, dtype=np.int64)
        while True:
            left = self.cells[node, 2]
            inner = left >= 0
            if not inner.any():
                break
            lo_x = self.vertex_x[self.cells[node, 0]]
            hi_x = self.vertex_x[self.cells[node, 1]]
            go_left = 2.0 * (flat - lo_x) < (hi_x - lo_x)
            nxt = np.where(go_left, left, self.cells[node, 3])
            node = np.where(inner, nxt, node)
        v0 = self.cells[node, 0]
        v1 = self.cells[node, 1]
        ll = self.vertex_x[v0]
        ur = self.vertex_x[v1]
        width = ur - ll
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(width == 0, 0.0, (flat - ll) / np.where(width == 0, 1.0, width))
        phi1 = t * t * (3 - 2 * t)
        phi0 = 1 - phi1
        phi2 = t * (1 - t) * (1 - t)
        phi3 = t * t * (t - 1)
        below, above = t < 0, t > 1
        phi0 = np.where(below, 1.0, np.where(above, 0.0, phi0))
        phi1 = np.where(below, 0.0, np.where(above, 1.0, phi1))
        phi2 = np.where(below, t, np.where(above, 0.0, phi2))
        phi3 = np.where(below, 0.0, np.where(above, t - 1, phi3))
        value = (
            phi0 * self.vertex_value[v0]
            + phi1 * self.vertex_value[v1]
            + phi2 * width * self.vertex_slope[v0]
            + phi3 * width * self.vertex_slope[v1]
        )
        dx = flat - self.pc_centre
        c0, c1, c2 = (float(c) for c in self.pc_coef)
        value = value + (((0.0 + c0 * 1.0) + c1 * dx) + c2 * (dx * dx / 2))
        return value.reshape(x.shape)


def _vertex_fit(x0: float, x: np.ndarray, y: np.ndarray, pw: np.ndarray, k: int, ordered: bool) -> tuple:
    """Local quadratic fit at ``x0``: (value, slope, bandwidth)."""
    ind, kern, h = _neighbourhood(x0, x, k, ordered)
    if ind.size == 0 or float(np.sum(kern * pw[ind])) == 0:
        raise ValueError(f"locfit: no data points with non-zero weight at {x0}")
    coef = _local_quadratic(x, y, pw, kern, ind, ind.size, float(x0))
    return float(coef[0]), float(coef[1]), h


def locfit_1d(
    x: np.ndarray,
    y: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    alpha: float = 0.7,
    cut: float = 0.8,
) -> LocalFit:
    """Fit ``locfit(y ~ x, weights = weights, alpha = alpha)`` (degree 2, tricube, Gaussian).

    Parameters
    ----------
    x, y
        The predictor and the response (finite, same length).
    weights
        Prior weights (locfit's ``weights``) [default: 1].
    alpha
        Nearest-neighbour fraction of the bandwidth (locfit's ``alpha``/``nn``).
    cut
        Tree refinement parameter (locfit's ``rbox(cut = )``).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    check_param("locfit_1d", "x", x.shape, x.ndim == 1 and x.size >= 1, "a non-empty 1-d array")
    check_param("locfit_1d", "y", y.shape, y.shape == x.shape, f"an array of the shape of x {x.shape}")
    pw = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    check_param("locfit_1d", "weights", pw.shape, pw.shape == x.shape, f"an array of the shape of x {x.shape}")
    check_param("locfit_1d", "alpha", alpha, 0 < alpha <= 1, "in (0, 1]")
    check_param("locfit_1d", "cut", cut, cut > 0, "positive")
    n = x.size
    k = int(n * alpha + 1e-12)

    sw = 0.0
    sx = 0.0
    for xi, wi in zip(x.tolist(), pw.tolist(), strict=True):
        sw += wi
        sx += xi * wi
    centre = sx / sw
    pc_coef = _local_quadratic(x, y, pw, np.ones(n), np.arange(n, dtype=np.int64), n, centre)
    ordered = bool(np.all(x[1:] >= x[:-1]))

    def pc_value_slope(x0: float) -> tuple[float, float]:
        dx = x0 - centre
        c0, c1, c2 = (float(c) for c in pc_coef)
        return (0.0 + c0 * 1.0) + c1 * dx + c2 * (dx * dx / 2), (0.0 + c0 * 0.0) + c1 * 1.0 + c2 * dx

    vx: list[float] = []
    vval: list[float] = []
    vslope: list[float] = []
    vh: list[float] = []

    def new_vertex(x0: float) -> int:
        value, slope, h = _vertex_fit(x0, x, y, pw, k, ordered)
        pv, ps = pc_value_slope(x0)
        vx.append(x0)
        vval.append(value - pv)
        vslope.append(slope - ps)
        vh.append(h)
        return len(vx) - 1

    lo_lim, hi_lim = float(x.min()), float(x.max())
    nvm = int((5 * (1.0 / alpha if alpha <= 1 else 1.0) / min(1.0, max(cut, 0.01)) + 1) * 2)
    cells: list[list[int]] = []
    v_lo, v_hi = new_vertex(lo_lim), new_vertex(hi_lim)

    def grow(c0: int, c1: int) -> int:
        node = len(cells)
        cells.append([c0, c1, -1, -1])
        ll, ur = vx[c0], vx[c1]
        hs = [h for h in (vh[c0], vh[c1]) if h > 0]
        length = ur - ll
        if hs:
            score = length / min(hs)
        else:
            score = 2 * length / (hi_lim - lo_lim) if hi_lim > lo_lim else 0.0
        if not cut < score:
            return node
        if len(vx) >= nvm:
            raise ValueError("locfit: newsplit: out of vertex space")
        mid = new_vertex((vx[c0] + vx[c1]) / 2)
        left = grow(c0, mid)
        right = grow(mid, c1)
        cells[node][2], cells[node][3] = left, right
        return node

    grow(v_lo, v_hi)
    return LocalFit(
        vertex_x=np.array(vx),
        vertex_value=np.array(vval),
        vertex_slope=np.array(vslope),
        vertex_h=np.array(vh),
        cells=np.array(cells, dtype=np.int64),
        pc_centre=centre,
        pc_coef=pc_coef,
    )
