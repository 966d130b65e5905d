"""Logistic regression of one trait on a block of genotype columns at once: Newton–Raphson as matrix products.

The model and the numbers are those of :mod:`biolake.stats.logistic` (``plink2 --glm``
logistic, double precision); this module fits the well-behaved variants of a block
together instead of one by one, and leaves the others to the per-variant code.

Algorithm (per tile of ``V`` variants, ``X`` = ``[1 | covariates]`` with ``k`` columns):

1. start every variant at the null model (``γ₀`` = the fit of ``y`` on ``X`` alone,
   ``β = 0``): the maximum of a concave log-likelihood does not depend on the start,
   and from there Newton needs 3–4 steps instead of about 8 from ``0``; at that start
   ``π₀`` is the same for every variant, so the first step needs only ``G·[w₀X | r₀]``
   (one small product) and the missing calls' contributions (:func:`_first_step`);
2. per Newton step, for all active variants together: ``η = Γ·Xᵀ + β∘G`` (one matrix
   product), ``π = 1/(1 + e^{−η})``, ``w = π(1 − π)`` and ``r = y − π`` (zero for a
   missing call: the sample leaves that variant's fit); the Hessian blocks
   ``XᵀW_vX`` of every variant are the rows of ``W·K`` (``K``: the ``k(k+1)/2`` products
   of pairs of covariate columns per sample) — one matrix product —, ``XᵀW_v g_v`` and
   the score ``Xᵀr_v`` the rows of ``[W∘G; R]·X`` (a second one), ``g_vᵀW_v g_v`` and
   ``g_vᵀr_v`` compiled sums; then a batched ``(k+1) × (k+1)`` solve;
3. a variant whose step ``Σ|Δ|`` is below ``tol`` (1e-10) takes it and leaves the tile
   with ``se = √(H⁻¹)_ββ`` of the Hessian just computed (at most ``tol`` away from the
   estimate; the per-variant code recomputes it there: the two agree to about 1e-10).

A variant is *not accepted* here (``ok`` is False; the caller fits it with
:func:`biolake.stats.logistic._logistic_rows`, plink2's rules from a start at 0) when it
did not converge within ``max_iter`` steps, when ``|β|`` exceeds ``beta_max`` (a
(quasi-)separated or extreme fit, where plink2's failure rules depend on the path from
``0``), when a Hessian is not positive definite, or when the result would be
``INVALID_RESULT``. Separation (no ALT allele among the cases or the controls) and Firth
fits are the caller's too.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> g = rng.integers(0, 3, size=(3, 200)).astype(np.int8)
>>> y = (rng.random(200) < 0.4).astype(float)
>>> x = np.ones((200, 1))
>>> res = logistic_batch(g, y, x, null_coef(y, x))
>>> bool(res["ok"].all())
True
"""

from __future__ import annotations

import contextlib

import numba
import numpy as np

__all__ = ["logistic_batch", "null_coef"]

_TILE_ELEMENTS = 1 << 21  # variants × samples per tile (each of the four work arrays: 16 MiB)
_FAST = {"reassoc", "contract", "arcp", "nsz"}  # reordered sums (SIMD), NaN/inf semantics kept


def null_coef(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The null model's coefficients: logistic regression of the 0/1 ``y`` on ``x`` (samples × k) by Newton."""
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    coef = np.zeros(x.shape[1])
    for _ in range(60):
        pi = 1.0 / (1.0 + np.exp(-(x @ coef)))
        h = (x * (pi * (1.0 - pi))[:, None]).T @ x
        step = np.linalg.solve(h, x.T @ (y - pi))
        coef += step
        if np.abs(step).sum() < 1e-12:
            break
    return coef


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _add_genotype(eta: np.ndarray, dosage: np.ndarray, beta: np.ndarray) -> None:  # pragma: no cover - compiled
    """``eta[v] ← −(eta[v] + β_v·g_v)`` (missing calls count as 0; they get zero weight later)."""
    a, n = eta.shape
    for v in range(a):
        b = beta[v]
        for i in range(n):
            d = dosage[v, i]
            eta[v, i] = -(eta[v, i] + b * (d if d > 0 else 0))


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _weights(
    t: np.ndarray, dosage: np.ndarray, y: np.ndarray, w: np.ndarray, wgr: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """From ``t = e^{−η}``: ``w = π(1−π)``, ``wgr = [w∘g; y − π]`` (0 if missing); ``Σ w g²``, ``Σ g (y − π)``."""
    a, n = t.shape
    hgg = np.zeros(a)
    sgr = np.zeros(a)
    for v in range(a):
        s1 = 0.0
        s2 = 0.0
        for i in range(n):
            d = dosage[v, i]
            m = 1.0 if d >= 0 else 0.0
            g = d if d > 0 else 0
            pi = 1.0 / (1.0 + t[v, i])
            wi = m * pi * (1.0 - pi)
            ri = m * (y[i] - pi)
            w[v, i] = wi
            wgr[v, i] = wi * g
            wgr[a + v, i] = ri
            s1 += wi * g * g
            s2 += ri * g
        hgg[v] = s1
        sgr[v] = s2
    return hgg, sgr


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _first_step(
    dosage: np.ndarray, w0: np.ndarray, missed: np.ndarray, gf: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """What the first Newton step (from the null model: the same ``π₀``, ``w₀`` for every variant) needs per variant.

    Writes ``gf`` (the genotypes as float, 0 for a missing call); returns ``Σ g² w₀`` over
    the calls and ``Σ missed[i]`` over the missing calls (``missed[i]`` =
    ``[w₀x_i x_iᵀ (pairs) | r₀_i x_i]``, what a missing call removes from the sums).
    """
    a, n = dosage.shape
    nm = missed.shape[1]
    hgg = np.zeros(a)
    msum = np.zeros((a, nm))
    for v in range(a):
        s2 = 0.0
        n_miss = 0
        for i in range(n):
            d = dosage[v, i]
            g = d if d > 0 else 0
            n_miss += d < 0
            gf[v, i] = g
            s2 += g * g * w0[i]
        hgg[v] = s2
        if n_miss == 0:
            continue
        macc = msum[v]
        for i in range(n):
            if dosage[v, i] < 0:
                row = missed[i]
                for c in range(nm):
                    macc[c] += row[c]
    return hgg, msum


def _pair_products(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``K`` (samples × k(k+1)/2, column ``(a, b)`` = ``x_a·x_b`` for ``a ≤ b``) and the pairs' indices."""
    iu, ju = np.triu_indices(x.shape[1])
    return np.ascontiguousarray(x[:, iu] * x[:, ju]), iu, ju


def _null_sums(y: np.ndarray, x: np.ndarray, kmat: np.ndarray, gamma0: np.ndarray) -> tuple[np.ndarray, ...]:
    """At the null model for :func:`_first_step`: ``[w₀x | r₀]ᵀ``, ``w₀``, missed rows, ``XᵀW₀X`` (pairs), ``Xᵀr₀``."""
    pi = 1.0 / (1.0 + np.exp(-(x @ gamma0)))
    w0, r0 = pi * (1.0 - pi), y - pi
    called_t = np.ascontiguousarray(np.column_stack([w0[:, None] * x, r0]).T)
    missed = np.ascontiguousarray(np.column_stack([w0[:, None] * kmat, r0[:, None] * x]))
    return called_t, w0, missed, w0 @ kmat, r0 @ x


def _solve(h: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Batched ``h⁻¹·rhs``; NaN rows where ``h`` is singular (the others solved all the same)."""
    try:
        return np.linalg.solve(h, rhs[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        out = np.full_like(rhs, np.nan)
        for i in range(len(h)):
            with contextlib.suppress(np.linalg.LinAlgError):
                out[i] = np.linalg.solve(h[i], rhs[i])
        return out


def _fit_tile(
    dosage: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    xt: np.ndarray,
    kk: tuple[np.ndarray, np.ndarray, np.ndarray],
    gamma0: np.ndarray,
    max_iter: int,
    tol: float,
    beta_max: float,
    buf: np.ndarray,
    first: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton on the variants of one tile; ``buf`` (4 × tile × samples) holds ``e^{−η}``, ``w`` and ``[w∘g; r]``.

    ``first`` (:func:`_null_sums`) holds what the first step needs.
    """
    m, n = dosage.shape
    k = x.shape[1]
    p = k + 1
    kmat, iu, ju = kk
    kmat_t = np.ascontiguousarray(kmat.T)
    coef = np.zeros((m, p))
    coef[:, :k] = gamma0
    beta = np.full(m, np.nan)
    se = np.full(m, np.nan)
    ok = np.zeros(m, dtype=bool)
    active = np.arange(m)
    for it in range(max_iter + 1):
        if active.size == 0:
            break
        a = active.size
        d = dosage if a == m else dosage[active]
        if it == 0:
            # at the null model π₀ is the same for every variant: sums over the calls and the missing calls
            called_t, w0, missed, hcc0, grad0 = first
            gf = buf[0, :a]
            hgg, msum = _first_step(d, w0, missed, gf)
            gsum = (called_t @ gf.T).T  # Σ g·[w₀x | r₀] over the calls
            hcc = hcc0[None, :] - msum[:, : kmat.shape[1]]
            prod = np.concatenate([gsum[:, :k], grad0[None, :] - msum[:, kmat.shape[1] :]])
            sgr = gsum[:, k]
        else:
            eta, w, wgr = buf[0, :a], buf[1, :a], buf[2:].reshape(-1, n)[: 2 * a]
            np.matmul(coef[active, :k], xt, out=eta)
            _add_genotype(eta, d, coef[active, k])
            np.exp(eta, out=eta)
            hgg, sgr = _weights(eta, d, y, w, wgr)
            hcc = (kmat_t @ w.T).T  # the transposed products run faster in BLAS for these shapes
            prod = (xt @ wgr.T).T
        h = np.empty((a, p, p))
        h[:, iu, ju] = hcc
        h[:, ju, iu] = hcc
        h[:, :k, k] = prod[:a]
        h[:, k, :k] = prod[:a]
        h[:, k, k] = hgg
        grad = np.empty((a, p))
        grad[:, :k] = prod[a:]
        grad[:, k] = sgr
        step = _solve(h, grad)
        delta = np.abs(step).sum(axis=1)  # NaN for a singular Hessian: left to the per-variant fit below
        coef[active] += step
        # converged: this step is below tol, so the Hessian here is that of the estimate (to ~tol)
        done = delta < tol
        if done.any():
            rows = active[done]
            hd = h[done]
            good = np.linalg.eigvalsh(hd)[:, 0] > 0
            hinv = np.full_like(hd, np.nan)
            if good.any():
                hinv[good] = np.linalg.inv(hd[good])
            diag = np.diagonal(hinv, axis1=1, axis2=2)
            valid = good & np.all((diag >= 1e-20) & np.isfinite(diag), axis=1)
            with np.errstate(invalid="ignore"):
                corr = hinv / np.sqrt(diag[:, :, None] * diag[:, None, :])
            low = np.tril_indices(p, -1)
            valid &= ~np.any(corr[:, low[0], low[1]] > 0.99999, axis=1)
            bk = coef[rows, k]
            valid &= np.abs(bk) <= beta_max
            ok[rows] = valid
            beta[rows] = np.where(valid, bk, np.nan)
            se[rows] = np.where(valid, np.sqrt(np.abs(diag[:, k])), np.nan)
            active, delta = active[~done], delta[~done]
        fine = np.isfinite(delta) & (np.abs(coef[active, k]) <= beta_max)
        active = active[fine]
    return beta, se, ok


def logistic_batch(
    dosage: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    gamma0: np.ndarray,
    *,
    max_iter: int = 10,
    tol: float = 1e-10,
    beta_max: float = 4.0,
) -> dict[str, np.ndarray]:
    """Newton fits of every variant (row) of ``dosage`` (int8 ALT counts, −1 missing) for the 0/1 ``y`` on ``[x, g]``.

    ``x`` is the design (samples × k, the intercept included), ``gamma0`` the null
    model's coefficients (:func:`null_coef`). Returns ``beta``, ``se`` and ``ok``
    (False: not fitted here, see the module docstring; ``beta``/``se`` NaN there).
    """
    dosage = np.ascontiguousarray(dosage, dtype=np.int8)
    y = np.ascontiguousarray(y, dtype=np.float64)
    x = np.ascontiguousarray(x, dtype=np.float64)
    m, n = dosage.shape
    xt = np.ascontiguousarray(x.T)
    kk = _pair_products(x)
    gamma0 = np.asarray(gamma0, dtype=np.float64)
    beta = np.full(m, np.nan)
    se = np.full(m, np.nan)
    ok = np.zeros(m, dtype=bool)
    tile = min(m, max(1, _TILE_ELEMENTS // max(n, 1)))
    buf = np.empty((4, tile, n))
    first = _null_sums(y, x, kk[0], gamma0)
    for s in range(0, m, tile):
        sl = slice(s, min(s + tile, m))
        beta[sl], se[sl], ok[sl] = _fit_tile(dosage[sl], y, x, xt, kk, gamma0, max_iter, tol, beta_max, buf, first)
    return {"beta": beta, "se": se, "ok": ok}
