"""Group-sequential boundary probabilities by recursive numerical integration.

The joint distribution of the standardised test statistics Z_1, …, Z_K of a group
sequential trial with information rates t_1 < … < t_K is the canonical one (Jennison &
Turnbull 2000): Z_k = S_k / √t_k with independent normal increments of S. The
probabilities of crossing the boundaries at each look are computed by the recursion of
Armitage, McPherson and Rowe (1969): the sub-density of Z_k on the continuation region is
propagated from look to look by integrating the previous sub-density against the normal
transition kernel.

The grids and the quadrature are those of R ``rpact`` (``getGroupSequentialProbabilitiesCpp``),
so results agree with rpact to rounding: per continuation interval, 91 equidistant points
and the composite 7-point closed Newton–Cotes rule (15 panels); boundaries at or above 8
are truncated to 8 and lower boundaries at or below −6 to −6 (one interval) or −8 (two
intervals).

The decision matrix has 2 rows (lower, upper bound of one continuation interval) or 4
rows (two intervals: rows 0–1 and 2–3), one column per look. The result has one more
row than the decision matrix: row i, column k is P(continue to look k and Z_k < row i's
bound at look k), and the last row is P(continue to look k) (1 at the first look).

numba-compiled (nogil); imports nothing of biolake.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np
from scipy.special import ndtr, ndtri

__all__ = [
    "FUTILITY_BOUND_DEFAULT",
    "UPPER_BOUND_DEFAULT",
    "LastLookSearch",
    "bisection",
    "brent_zero",
    "group_sequential_probabilities",
    "lower_boundary_probabilities",
    "one_minus_pnorm",
    "one_minus_qnorm",
    "r_uniroot",
]

UPPER_BOUND_DEFAULT = 8.0
FUTILITY_BOUND_DEFAULT = -6.0
_PANELS = 15
_GRID = 6 * _PANELS + 1  # 91 grid points per continuation interval
_INV_SQRT_2PI = 0.3989422804014327
_QNORM_EPSILON = 1.0e-100
_QNORM_MAXIMUM = float(-ndtri(_QNORM_EPSILON))
_QNORM_THRESHOLD = float(np.floor(_QNORM_MAXIMUM))
_ROOT_TOLERANCE_FACTOR = 100.0


def one_minus_qnorm(p: float) -> float:
    """Φ⁻¹(1 − p), accurate for small p, limited to ±Φ⁻¹(1 − 1e-100) (as rpact)."""
    p = min(max(p, _QNORM_EPSILON), 1.0) if p > 0 else _QNORM_EPSILON
    result = float(-ndtri(p)) if p < 0.5 else float(ndtri(1.0 - p))
    if result < -_QNORM_THRESHOLD:
        return -_QNORM_MAXIMUM
    if result > _QNORM_THRESHOLD:
        return _QNORM_MAXIMUM
    return result


def one_minus_pnorm(q: float) -> float:
    """1 − Φ(q), accurate in the upper tail (as rpact)."""
    if q == 0:
        return 0.5
    result = 1.0 - float(ndtr(q)) if q < 5 else float(ndtr(-q))
    return result if result > 0 else _QNORM_EPSILON


_PANEL = np.array([492.0, 1296.0, 162.0, 1632.0, 162.0, 1296.0])


@numba.njit(cache=True, nogil=True)
def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@numba.njit(cache=True, nogil=True)
def _clamp(value: float, rows: int, lower_only: bool, first: bool) -> float:  # pragma: no cover (numba)
    """rpact's truncation of one boundary (see the module docstring)."""
    if lower_only:
        if not first and value < FUTILITY_BOUND_DEFAULT:
            return FUTILITY_BOUND_DEFAULT
        return value
    if value >= UPPER_BOUND_DEFAULT:
        value = UPPER_BOUND_DEFAULT
    if not first:
        floor = FUTILITY_BOUND_DEFAULT if rows == 2 else -UPPER_BOUND_DEFAULT
        if value <= floor:
            value = floor
    return value


@numba.njit(cache=True, nogil=True)
def _propagate(
    decision: np.ndarray, t: np.ndarray, lower_only: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover (numba)
    """Looks 1…K−1 of the recursion: their probabilities and the weighted sub-density on look K−1's grid.

    The last column of ``decision`` is not used, so a search over the last look's bounds
    reuses this and calls :func:`_last_look` for each trial value.
    """
    rows, k_max = decision.shape
    out = np.zeros((rows + 1, k_max))
    if lower_only:
        out[0, 0] = _phi(min(decision[0, 0], UPPER_BOUND_DEFAULT))
    else:
        for r in range(rows):
            out[r, 0] = _phi(_clamp(decision[r, 0], rows, False, True))
        out[rows, 0] = 1.0
    intervals = rows // 2
    n = _GRID * intervals
    x = np.empty(n)
    w = np.empty(n)
    dens = np.empty(n)
    dn = np.empty(n)
    x_prev = np.empty(n)
    dn_prev = np.empty(n)
    for k in range(1, k_max):
        for r in range(intervals):
            lo = _clamp(decision[2 * r, k - 1], rows, lower_only, False)
            hi = _clamp(decision[2 * r + 1, k - 1], rows, lower_only, False)
            dx = (hi - lo) / (_GRID - 1)
            for i in range(_GRID):
                x[r * _GRID + i] = lo + i * dx
                if i == 0 or i == _GRID - 1:
                    w[r * _GRID + i] = 246.0 * dx / 840.0
                else:
                    w[r * _GRID + i] = _PANEL[i % 6] * (dx / 840.0)
        if k == 1:
            for i in range(n):
                dens[i] = _INV_SQRT_2PI * math.exp(-0.5 * x[i] * x[i])
        else:
            eps = t[k - 1] - t[k - 2]
            part1 = math.sqrt(t[k - 1] / eps)
            s1 = math.sqrt(t[k - 1])
            s2 = math.sqrt(t[k - 2])
            div = math.sqrt(eps)
            for i in range(n):
                prod1 = x[i] * s1
                acc = 0.0
                for j in range(n):
                    a = (prod1 - x_prev[j] * s2) / div
                    acc += part1 * (_INV_SQRT_2PI * math.exp(-0.5 * a * a)) * dn_prev[j]
                dens[i] = acc
        for i in range(n):
            dn[i] = w[i] * dens[i]
        if k < k_max - 1:
            _integrate(out, x, dn, decision, t, k, lower_only)
            for i in range(n):
                x_prev[i] = x[i]
                dn_prev[i] = dn[i]
    return out, x, dn


@numba.njit(cache=True, nogil=True)
def _integrate(
    out: np.ndarray, x: np.ndarray, dn: np.ndarray, decision: np.ndarray, t: np.ndarray, k: int, lower_only: bool
) -> None:  # pragma: no cover (numba)
    """Column k of the probabilities from the weighted sub-density on look k−1's grid."""
    rows = decision.shape[0]
    sk = math.sqrt(t[k])
    sk1 = math.sqrt(t[k - 1])
    se = math.sqrt(t[k] - t[k - 1])
    for r in range(1 if lower_only else rows):
        bound = _clamp(decision[r, k], rows, lower_only, False)
        acc = 0.0
        for i in range(x.shape[0]):
            acc += _phi((bound * sk - x[i] * sk1) / se) * dn[i]
        out[r, k] = acc
    if not lower_only:
        if rows == 2:
            out[2, k] = out[1, k - 1] - out[0, k - 1]
        else:
            out[4, k] = out[3, k - 1] - out[2, k - 1] + out[1, k - 1] - out[0, k - 1]


@numba.njit(cache=True, nogil=True)
def _recursion(decision: np.ndarray, t: np.ndarray, lower_only: bool) -> np.ndarray:  # pragma: no cover (numba)
    """The Armitage–McPherson–Rowe recursion on rpact's grids (see the module docstring)."""
    out, x, dn = _propagate(decision, t, lower_only)
    k_max = decision.shape[1]
    if k_max > 1:
        _integrate(out, x, dn, decision, t, k_max - 1, lower_only)
    return out


class LastLookSearch:
    """Probabilities of a design whose last look's bounds vary (a root search over them).

    The recursion up to the last look is computed once; each call integrates the last look
    only. ``search(last_column)`` equals ``group_sequential_probabilities`` (or, with
    ``lower_only``, ``lower_boundary_probabilities``) of ``decision`` with its last column
    replaced, to the last bit.
    """

    def __init__(self, decision: np.ndarray, information_rates: np.ndarray, *, lower_only: bool = False) -> None:
        self.decision = np.array(decision, dtype=float)
        self.t = np.ascontiguousarray(information_rates, dtype=float)
        self.lower_only = lower_only
        self.k = self.decision.shape[1] - 1
        self._out, self._x, self._dn = _propagate(self.decision, self.t, lower_only)

    def __call__(self, last_column: np.ndarray) -> np.ndarray:
        """The probabilities with the last look's bounds ``last_column`` (rows of the decision matrix)."""
        self.decision[:, self.k] = last_column
        out = self._out.copy()
        _integrate(out, self._x, self._dn, self.decision, self.t, self.k, self.lower_only)
        return out[0] if self.lower_only else out


def group_sequential_probabilities(decision: np.ndarray, information_rates: np.ndarray) -> np.ndarray:
    """Boundary probabilities of a group sequential design (see the module docstring).

    Parameters
    ----------
    decision
        (2, K) or (4, K) array of boundaries on the z scale (continuation intervals).
    information_rates
        (K,) increasing information rates in (0, 1].

    Returns
    -------
    (rows + 1, K) array of probabilities.

    Examples
    --------
    >>> p = group_sequential_probabilities(np.array([[-6.0, -6.0], [2.5, 2.0]]), np.array([0.5, 1.0]))
    >>> round(float(p[2, 1] - p[1, 1]), 6)  # P(Z1 < 2.5, Z2 >= 2)
    0.019674
    """
    dm = np.ascontiguousarray(decision, dtype=float)
    if dm.ndim != 2 or dm.shape[0] not in (2, 4):
        raise ValueError("the decision matrix must have 2 or 4 rows")
    return _recursion(dm, np.ascontiguousarray(information_rates, dtype=float), False)


def lower_boundary_probabilities(decision: np.ndarray, information_rates: np.ndarray) -> np.ndarray:
    """P(continue to look k and Z_k below the lower bound at k), for each look k (one interval).

    rpact's ``getGroupSequentialProbabilitiesFast`` (used for futility bounds): like
    :func:`group_sequential_probabilities` with a (2, K) matrix, returning its first row, but
    only bounds below −6 are truncated (to −6) and the upper bound only at the first look (to 8).
    """
    dm = np.ascontiguousarray(decision, dtype=float)
    return _recursion(dm, np.ascontiguousarray(information_rates, dtype=float), True)[0]


def bisection(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    tolerance: float,
    *,
    max_iter: int = 100,
    strict: bool = True,
) -> float:
    """rpact's ``bisection2``: f decreasing; the midpoint after the interval is below ``tolerance``.

    With ``strict``, NaN when the last function value is not within 100 × tolerance of 0;
    otherwise the last point evaluated whatever its value (rpact's callers use that point).
    """
    step = 1
    while True:
        value = (lower + upper) / 2
        result = f(value)
        if result > 0:
            lower = value
        else:
            upper = value
        step += 1
        if step > max_iter:
            raise ArithmeticError("no root within tolerance after the given iterations")
        if upper - lower <= tolerance:
            break
    if strict and abs(result / _ROOT_TOLERANCE_FACTOR) > tolerance:
        return float("nan")
    return value


def brent_zero(
    f: Callable[[float], float], lower: float, upper: float, tolerance: float, *, max_iter: int = 100
) -> float:
    """rpact's ``bizero``: Brent's zero finder (netlib ``zeroin``, as R ``uniroot``), and a sign
    bisection of [lower, upper] when Brent's last value is not within 100 × tolerance of 0."""
    root, f_root = _zeroin(f, lower, upper, f(lower), f(upper), tolerance, max_iter)
    if abs(f_root / _ROOT_TOLERANCE_FACTOR) > tolerance or math.isnan(f_root):
        return _sign_bisection(f, lower, upper, tolerance, max_iter)
    return root


def _sign_bisection(f: Callable[[float], float], lower: float, upper: float, tolerance: float, max_iter: int) -> float:
    """rpact's ``bisection``: keep the half whose ends differ in sign; NaN unless the last value is near 0."""
    step = 1
    f_lower = f(lower)
    while True:
        value = (lower + upper) / 2
        result = f(value)
        if (result < 0) == (f_lower < 0):
            lower, f_lower = value, result
        else:
            upper = value
        step += 1
        if step > max_iter:
            raise ArithmeticError("no root within tolerance after the given iterations")
        if upper - lower <= tolerance:
            break
    return float("nan") if abs(result / _ROOT_TOLERANCE_FACTOR) > tolerance else value


def _zeroin(
    f: Callable[[float], float], ax: float, bx: float, fa: float, fb: float, tol: float, max_iter: int
) -> tuple[float, float]:
    """R's ``R_zeroin2`` (src/library/stats/src/zeroin.c); returns (root, f(root))."""
    eps = np.finfo(float).eps
    a, b = ax, bx
    c, fc = a, fa
    if fa == 0.0:
        return a, fa
    if fb == 0.0:
        return b, fb
    for _ in range(max_iter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * eps * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return b, fb
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
    return b, fb


def r_uniroot(f: Callable[[float], float], lower: float, upper: float, tolerance: float) -> float:
    """rpact's ``.getOneDimensionalRoot``: an end point within ``tolerance`` of a zero, else R ``uniroot``."""
    f_lower, f_upper = f(lower), f(upper)
    candidates = [(lower, f_lower), (upper, f_upper)]
    if not np.isnan(f_lower) and not np.isnan(f_upper):
        best = candidates[0] if abs(f_lower) <= abs(f_upper) else candidates[1]
        if abs(best[1]) <= tolerance:
            return best[0]
    if f_lower * f_upper > 0:
        raise ArithmeticError("no sign change of the function in the search interval")
    # R's uniroot(maxiter = 1000) calls R_zeroin2 with the end values already computed
    root, _ = _zeroin(f, lower, upper, f_lower, f_upper, tolerance, 1000)
    return root
