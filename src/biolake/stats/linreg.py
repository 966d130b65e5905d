"""Linear regression of one trait on many genotype columns at once, as ``plink2 --glm`` (linear).

For every variant ``v`` the model is ``y = X·γ + g_v·β + ε`` fitted on the samples with
a call at ``v`` (``X`` = intercept and covariates, the same for every variant). The
statistics are those of ordinary least squares: ``β̂``, its standard error, the t
statistic on ``obs_ct − p − 1`` degrees of freedom (``p`` = columns of ``X``) and the
two-sided p-value.

Algorithm (the published one is a per-variant least squares fit; this is the same
numbers with array algebra over a block of variants):

1. once: ``X = Q·R`` (thin QR) and ``r = y − Q·Qᵀy`` (the trait with the covariates
   projected out);
2. per block: ``B = G₀·Q`` and ``gy = G₀·r`` — one matrix product ``G₀·[Q | r]`` for all
   variants, ``G₀`` the ALT allele counts with missing calls set to 0;
3. a variant without missing calls has ``s_gg = gᵀg − ‖B_v‖²``, ``s_gy = gy_v`` and
   ``s_yy = rᵀr``; with missing calls the samples' contributions are removed:
   ``A = I − Σ_miss q_i q_iᵀ``, ``c = −Σ_miss q_i r_i``, ``yy = rᵀr − Σ_miss r_i²``
   (a compiled loop over the missing calls only) and ``s_gg = gg − bᵀA⁻¹b``,
   ``s_gy = gy − bᵀA⁻¹c``, ``s_yy = yy − cᵀA⁻¹c`` (batched solves);
4. ``β̂ = s_gy / s_gg``, ``RSS = s_yy − β̂·s_gy``, ``se = √(RSS / df / s_gg)``.

Variants that cannot be tested carry an error code as plink2 prints it
(``CONST_OMITTED_ALLELE``: the genotype is constant; ``SAMPLE_CT<=PREDICTOR_CT``;
``CORR_TOO_HIGH``, ``VIF_INFINITE``, ``VIF_TOO_HIGH``: the genotype is (nearly) collinear
with the covariates, plink2's ``max-corr`` 0.999 and ``vif`` 50 defaults) and NaN
statistics.

Examples
--------
>>> import numpy as np
>>> y = np.array([1.0, 2.1, 2.9, 4.2, 5.1, 5.8])
>>> g = np.array([[0, 1, 1, 2, 2, 2], [0, 0, -1, 1, 1, 2]], dtype=np.int8)
>>> res = linreg_gwas(g, y)
>>> np.round(res["beta"], 4), res["obs_ct"].tolist()
(array([2.12  , 2.2643]), [6, 5])
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from scipy import special

__all__ = [
    "ERRCODES",
    "LinregPrep",
    "PackedPrep",
    "collinearity_errcodes",
    "design_stats",
    "linreg_block",
    "linreg_gwas",
    "linreg_prepare",
    "packed_lanes",
    "packed_prep",
]

#: Error codes as plink2 prints them (index 0: no error).
ERRCODES = (
    "",
    "SAMPLE_CT<=PREDICTOR_CT",
    "CONST_OMITTED_ALLELE",
    "CORR_TOO_HIGH",
    "VIF_INFINITE",
    "VIF_TOO_HIGH",
    "SEPARATION,ALT1",
    "LOGISTIC_CONVERGE_FAIL",
    "FIRTH_CONVERGE_FAIL",
    "INVALID_RESULT",
    "UNFINISHED",
)
ERR_NONE, ERR_SAMPLE_CT, ERR_CONST, ERR_CORR, ERR_VIF_INF, ERR_VIF = range(6)
ERR_SEPARATION, ERR_LOGISTIC, ERR_FIRTH, ERR_INVALID, ERR_UNFINISHED = range(6, 11)

MAX_CORR = 0.999  # plink2 --glm max-corr default
VIF_THRESH = 50.0  # plink2 --glm vif default


class LinregPrep(dict[str, Any]):
    """What :func:`linreg_prepare` computes once per trait.

    ``q`` (n × p, orthonormal) and ``rmat`` (p × p) with ``X = q·rmat``, ``r`` the trait
    residual and ``rr = rᵀr``, ``x`` the design, ``wt = [q | r]ᵀ``, ``base_vif`` the
    covariates' VIFs among themselves.
    """


def linreg_prepare(y: np.ndarray, *, covariates: np.ndarray | None = None) -> LinregPrep:
    """QR of ``[1 | covariates]`` and the trait residual; raises ``ValueError`` if ``X`` is rank deficient."""
    y = np.asarray(y, dtype=np.float64)
    n = y.shape[0]
    cov = np.zeros((n, 0)) if covariates is None else np.asarray(covariates, dtype=np.float64).reshape(n, -1)
    x = np.column_stack([np.ones(n), cov])
    q, rmat = np.linalg.qr(x)
    diag = np.abs(np.diag(rmat))
    if diag.size and diag.min() <= 1e-10 * max(diag.max(), 1.0) * np.sqrt(n):
        raise ValueError("the covariates are collinear (with each other or the intercept)")
    r = y - q @ (q.T @ y)
    r = r - q @ (q.T @ r)  # a second projection: r ⟂ Q to rounding
    base_vif = np.zeros(0)
    if cov.shape[1] > 1:
        corr = np.corrcoef(cov, rowvar=False)
        base_vif = np.diag(np.linalg.inv(corr)).copy()
    elif cov.shape[1] == 1:
        base_vif = np.ones(1)
    return LinregPrep(
        q=np.ascontiguousarray(q),
        r=r,
        rr=float(r @ r),
        x=np.ascontiguousarray(x),
        rmat=rmat,
        wt=np.ascontiguousarray(np.column_stack([q, r]).T),
        base_vif=base_vif,
    )


@numba.njit(cache=True, nogil=True, fastmath=True)
def _scan(dosage: np.ndarray, wt: np.ndarray, x: np.ndarray) -> tuple[Any, ...]:  # pragma: no cover - compiled
    """One pass over a block: counts, ``G₀·w`` and the missing calls' contributions.

    ``wt`` is ``[q | r]`` transposed (rows contiguous, so the products vectorize). Per
    variant: missing calls, Σg, Σg², min and max call, ``Σ g_i w_i``; over its missing
    calls: ``Σ q_i q_iᵀ``, ``Σ q_i r_i``, ``Σ r_i²``, ``Σ x_i`` and ``Σ x_i²``.
    """
    m, n = dosage.shape
    pw = wt.shape[0]
    p = pw - 1
    n_miss = np.zeros(m, dtype=np.int64)
    gsum = np.zeros(m)
    gg = np.zeros(m)
    gmin = np.full(m, 3, dtype=np.int8)
    gmax = np.full(m, -1, dtype=np.int8)
    prod = np.zeros((m, pw))
    a = np.zeros((m, p, p))
    c = np.zeros((m, p))
    yy = np.zeros(m)
    xs = np.zeros((m, p))
    xss = np.zeros((m, p))
    gf = np.empty(n)
    for v in range(m):
        nm = 0
        lo = 3
        hi = -1
        for i in range(n):
            g = dosage[v, i]
            nm += g < 0
            lo = min(lo, g if g >= 0 else 3)
            hi = max(hi, g)
            gf[i] = g if g > 0 else 0
        s1 = 0.0
        s2 = 0.0
        for i in range(n):
            s1 += gf[i]
            s2 += gf[i] * gf[i]
        n_miss[v], gmin[v], gmax[v], gsum[v], gg[v] = nm, lo, hi, s1, s2
        for s in range(pw):
            acc = 0.0
            for i in range(n):
                acc += gf[i] * wt[s, i]
            prod[v, s] = acc
        if nm == 0:
            continue
        for i in range(n):
            if dosage[v, i] < 0:
                ri = wt[p, i]
                yy[v] += ri * ri
                for s in range(p):
                    qs = wt[s, i]
                    c[v, s] += qs * ri
                    xs[v, s] += x[i, s]
                    xss[v, s] += x[i, s] * x[i, s]
                    for t in range(s + 1):
                        a[v, s, t] += qs * wt[t, i]
        for s in range(p):
            for t in range(s):
                a[v, t, s] = a[v, s, t]
    return n_miss, gsum, gg, gmin, gmax, prod, a, c, yy, xs, xss


_LANES = 16  # lanes summed per pass of the packed kernel (four AVX2 registers of doubles)
_GROUP_BATCH = 8  # byte columns (4 samples each) whose tables are built together


def packed_lanes(prep: LinregPrep, samples: np.ndarray | None, n_all: int) -> np.ndarray:
    """Per sample of the packed rows and 2-bit code, the values summed by :func:`_scan_packed`.

    ``lanes[i, c, l]`` for sample ``i`` (index into all ``n_all`` samples of the packed
    rows) and code ``c`` (ALT count 0–2, 3 missing): ``c·w_l(i)`` for the ``p + 1`` rows of
    ``wt``, then ``c``, ``c²`` and the missing indicator; zero for samples outside the
    analysis (``samples`` = the analysis samples' indices, in ``prep`` order).
    """
    wt = prep["wt"]
    pw = wt.shape[0]
    n_lanes = pw + 3
    width = -(-n_lanes // _LANES) * _LANES
    idx = np.arange(n_all) if samples is None else np.asarray(samples, dtype=np.int64)
    lanes = np.zeros((n_all + 3, 4, width))
    codes = np.arange(3, dtype=np.float64)
    lanes[idx, :3, :pw] = codes[None, :, None] * wt.T[:, None, :]
    lanes[idx, :3, pw] = codes
    lanes[idx, :3, pw + 1] = codes * codes
    lanes[idx, 3, pw + 2] = 1.0
    return lanes


@numba.njit(cache=True, nogil=True)
def _scan_packed(
    packed: np.ndarray, lanes: np.ndarray, pw: int, miss_rows: np.ndarray, incl: np.ndarray
) -> tuple[Any, ...]:  # pragma: no cover - compiled
    """:func:`_scan` on 2-bit packed rows (four samples per byte, see :func:`biolake.io.plink.pack_alt_count`).

    Per byte column, a 256-entry table holds the lane values of every combination of its
    four samples' codes (built from pairs: 2 × 16 entries, then 256), so each variant adds
    one table row per byte — a quarter of the additions of the per-sample products, with
    no decoding. Missing calls (counted in a lane) are then visited sample by sample for
    the corrections of :func:`_scan`: each adds its sample's contiguous row of
    ``miss_rows`` (see :class:`PackedPrep`) to the variant's sums.
    """
    m, nb = packed.shape
    width = lanes.shape[2]
    p = pw - 1
    sums = np.zeros((m, width))
    tables = np.empty((_GROUP_BATCH, 256, _LANES))
    pair_lo = np.empty((16, _LANES))
    pair_hi = np.empty((16, _LANES))
    for lb in range(0, width, _LANES):
        for j0 in range(0, nb, _GROUP_BATCH):
            gcount = min(_GROUP_BATCH, nb - j0)
            for g in range(gcount):
                base = 4 * (j0 + g)
                for c0 in range(4):
                    for c1 in range(4):
                        for ln in range(_LANES):
                            pair_lo[c0 + 4 * c1, ln] = lanes[base, c0, lb + ln] + lanes[base + 1, c1, lb + ln]
                            pair_hi[c0 + 4 * c1, ln] = lanes[base + 2, c0, lb + ln] + lanes[base + 3, c1, lb + ln]
                for b in range(256):
                    for ln in range(_LANES):
                        tables[g, b, ln] = pair_lo[b & 15, ln] + pair_hi[b >> 4, ln]
            for v in range(m):
                a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
                a8 = a9 = a10 = a11 = a12 = a13 = a14 = a15 = 0.0
                for g in range(gcount):
                    t = tables[g, packed[v, j0 + g]]
                    a0 += t[0]
                    a1 += t[1]
                    a2 += t[2]
                    a3 += t[3]
                    a4 += t[4]
                    a5 += t[5]
                    a6 += t[6]
                    a7 += t[7]
                    a8 += t[8]
                    a9 += t[9]
                    a10 += t[10]
                    a11 += t[11]
                    a12 += t[12]
                    a13 += t[13]
                    a14 += t[14]
                    a15 += t[15]
                row = sums[v]
                row[lb + 0] += a0
                row[lb + 1] += a1
                row[lb + 2] += a2
                row[lb + 3] += a3
                row[lb + 4] += a4
                row[lb + 5] += a5
                row[lb + 6] += a6
                row[lb + 7] += a7
                row[lb + 8] += a8
                row[lb + 9] += a9
                row[lb + 10] += a10
                row[lb + 11] += a11
                row[lb + 12] += a12
                row[lb + 13] += a13
                row[lb + 14] += a14
                row[lb + 15] += a15
    n_miss = np.zeros(m, dtype=np.int64)
    gsum = np.zeros(m)
    gg = np.zeros(m)
    gmin = np.zeros(m, dtype=np.int8)
    gmax = np.ones(m, dtype=np.int8)
    prod = np.zeros((m, pw))
    a = np.zeros((m, p, p))
    c = np.zeros((m, p))
    yy = np.zeros(m)
    xs = np.zeros((m, p))
    xss = np.zeros((m, p))
    n_incl = 0
    for i in range(incl.shape[0]):
        n_incl += incl[i]
    n_rows = miss_rows.shape[1]
    acc = np.zeros(n_rows)
    for v in range(m):
        for s in range(pw):
            prod[v, s] = sums[v, s]
        gsum[v] = sums[v, pw]
        gg[v] = sums[v, pw + 1]
        nm = np.int64(sums[v, pw + 2] + 0.5)
        n_miss[v] = nm
        obs = n_incl - nm
        if obs == 0:
            gmin[v], gmax[v] = 3, -1  # no call at all
        elif obs * gg[v] == gsum[v] * gsum[v]:
            gmax[v] = 0  # one genotype value only: constant
        if nm == 0:
            continue
        for ln in range(n_rows):
            acc[ln] = 0.0
        for j in range(nb):
            bt = packed[v, j]
            mk = bt & (bt >> 1) & 0x55
            if mk == 0:
                continue
            for k in range(4):
                if (mk >> (2 * k)) & 1:
                    row = miss_rows[4 * j + k]  # zero for samples outside the analysis
                    for ln in range(n_rows):
                        acc[ln] += row[ln]
        ln = 0
        for s in range(p):
            for t in range(s + 1):
                a[v, s, t] = acc[ln]
                a[v, t, s] = acc[ln]
                ln += 1
        for s in range(p):
            c[v, s] = acc[ln + s]
            xs[v, s] = acc[ln + p + 1 + s]
            xss[v, s] = acc[ln + 2 * p + 1 + s]
        yy[v] = acc[ln + p]
    return n_miss, gsum, gg, gmin, gmax, prod, a, c, yy, xs, xss


class PackedPrep:
    """What the packed kernel needs once per trait and sample set (see :func:`packed_prep`)."""

    def __init__(self, prep: LinregPrep, samples: np.ndarray | None, n_all: int) -> None:
        wt, x = prep["wt"], prep["x"]
        idx = np.arange(n_all) if samples is None else np.asarray(samples, dtype=np.int64)
        self.n_all = n_all
        self.lanes = packed_lanes(prep, samples, n_all)
        self.wt_full = np.zeros((wt.shape[0], n_all + 3))
        self.wt_full[:, idx] = wt
        self.x_full = np.zeros((n_all + 3, x.shape[1]))
        self.x_full[idx] = x
        self.incl = np.zeros(n_all + 3, dtype=np.bool_)
        self.incl[idx] = True
        # per sample, what a missing call removes from the sums: q_s·q_t (t ≤ s), q·r, r², x, x²
        q, r = wt[:-1].T, wt[-1]
        si, ti = np.tril_indices(q.shape[1])
        rows = np.column_stack([q[:, si] * q[:, ti], q * r[:, None], r * r, x, x * x])
        self.miss_rows = np.zeros((n_all + 3, rows.shape[1]))
        self.miss_rows[idx] = rows


def packed_prep(prep: LinregPrep, *, samples: np.ndarray | None, n_all: int) -> PackedPrep:
    """Lane tables and full-width weights for :func:`linreg_block` on packed rows of ``n_all`` samples."""
    return PackedPrep(prep, samples, n_all)


def design_stats(
    dosage: np.ndarray | None,
    prep: LinregPrep,
    *,
    check_collinearity: bool = True,
    packed: np.ndarray | None = None,
    packed_prep: PackedPrep | None = None,
) -> dict[str, np.ndarray]:
    """Per-variant sufficient statistics of ``[X, g]`` on each variant's called samples, and error codes.

    Returns ``obs``, ``gsum``, ``s_gg`` (residual sum of squares of ``g`` on ``X``),
    ``s_gy``, ``s_yy`` (as the module docstring) and ``errcode`` (constant genotype, too
    few samples, plink2's ``max-corr``/``vif`` checks). The genotypes are ``dosage`` (int8
    ALT counts of the analysis samples, −1 missing) or ``packed`` rows of all samples with
    their :func:`packed_prep`.
    """
    q, rr, x, rmat = prep["q"], prep["rr"], prep["x"], prep["rmat"]
    p = q.shape[1]
    if packed is not None:
        assert packed_prep is not None
        pk = np.ascontiguousarray(packed, dtype=np.uint8)
        m, n = pk.shape[0], x.shape[0]
        scan = _scan_packed(pk, packed_prep.lanes, p + 1, packed_prep.miss_rows, packed_prep.incl)
    else:
        dosage = np.ascontiguousarray(dosage, dtype=np.int8)
        m, n = dosage.shape
        scan = _scan(dosage, prep["wt"], x)
    n_miss, gsum, gg, gmin, gmax, prod, a_corr, c_corr, yy_corr, xs_corr, xss_corr = scan
    b, gy = prod[:, :p], prod[:, p]
    obs = n - n_miss
    theta = b.copy()  # A⁻¹b: the coefficients of g on Q within the variant's samples
    s_gg = gg - np.einsum("ij,ij->i", b, b)
    s_gy = gy.copy()
    s_yy = np.full(m, rr)
    rows = np.flatnonzero((n_miss > 0) & (obs > p))
    if rows.size:
        a = np.eye(p) - a_corr[rows]
        c = -c_corr[rows]
        bm = b[rows]
        rhs = np.stack([bm, c], axis=2)
        sol = np.full_like(rhs, np.nan)
        # A = Q_SᵀQ_S has eigenvalues in (0, 1] and λ_min ≥ 1 − tr(Σ_miss q_i q_iᵀ): where that bound is
        # far from 0, cond(A) < 1e12 without computing it (an SVD per variant, the slow part with missing calls)
        solvable = 1.0 - np.trace(a_corr[rows], axis1=1, axis2=2) > 1e-6
        if not solvable.all():
            solvable[~solvable] = np.linalg.cond(a[~solvable]) < 1e12
        if solvable.any():
            sol[solvable] = np.linalg.solve(a[solvable], rhs[solvable])
        ainv_b, ainv_c = sol[:, :, 0], sol[:, :, 1]
        theta[rows] = ainv_b
        s_gg[rows] = gg[rows] - np.einsum("ij,ij->i", bm, ainv_b)
        s_gy[rows] = gy[rows] - np.einsum("ij,ij->i", bm, ainv_c)
        s_yy[rows] = rr - yy_corr[rows] - np.einsum("ij,ij->i", c, ainv_c)
    err = np.zeros(m, dtype=np.int8)
    err[gmin == gmax] = ERR_CONST
    err[gmin > gmax] = ERR_CONST  # no call at all
    err[obs <= p + 1] = ERR_SAMPLE_CT
    if check_collinearity and p > 1:
        test = np.flatnonzero(err == 0)
        if test.size:
            sx = x.sum(axis=0)[1:] - xs_corr[test, 1:]
            sxx = (x[:, 1:] ** 2).sum(axis=0) - xss_corr[test, 1:]
            xg = (b[test] @ rmat)[:, 1:]  # Σ_S x_ij g_i = (Rᵀ Q_Sᵀ g)_j
            coef_x = np.linalg.solve(rmat, theta[test].T).T[:, 1:]  # covariate coefficients of g on X in S
            err[test] = collinearity_errcodes(
                sx, sxx, xg, gsum[test], gg[test], obs[test], s_gg[test], coef_x, prep["base_vif"]
            )
    return {"obs": obs, "gsum": gsum, "s_gg": s_gg, "s_gy": s_gy, "s_yy": s_yy, "errcode": err}


def collinearity_errcodes(
    sx: np.ndarray,
    sxx: np.ndarray,
    xg: np.ndarray,
    gsum: np.ndarray,
    gg: np.ndarray,
    obs: np.ndarray,
    s_gg: np.ndarray,
    coef_x: np.ndarray,
    base_vif: np.ndarray,
) -> np.ndarray:
    """plink2's ``max-corr`` (0.999) and ``vif`` (50) checks of ``[covariates, genotype]`` per variant.

    ``sx``, ``sxx``, ``xg`` are the covariates' sums, sums of squares and products with
    ``g`` over the variant's samples; ``coef_x`` the covariate coefficients of ``g``
    regressed on ``[1 | covariates]`` there; ``base_vif`` the covariates' VIFs among
    themselves. The genotype's VIF is exact (``SS_g / s_gg``); a covariate's VIF with
    the genotype added is ``base_vif_j + SS_j · coef_j² / s_gg`` (exact without missing
    calls; with missing calls ``base_vif`` is that of all samples).
    """
    nn = obs.astype(np.float64)
    ss_g = gg - gsum * gsum / nn
    ss_x = sxx - sx * sx / nn[:, None]
    cov_xg = xg - sx * (gsum / nn)[:, None]
    err = np.zeros(len(obs), dtype=np.int8)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov_xg / np.sqrt(ss_x * ss_g[:, None])
        infinite = ~(s_gg > 1e-12 * ss_g)
        vif_g = ss_g / s_gg
        vif_x = base_vif[None, :] + ss_x * coef_x * coef_x / s_gg[:, None]
    err[infinite] = ERR_VIF_INF
    err[~infinite & ((vif_g > VIF_THRESH) | (vif_x > VIF_THRESH).any(axis=1))] = ERR_VIF
    err[(np.abs(corr) > MAX_CORR).any(axis=1)] = ERR_CORR
    return err


def linreg_block(
    dosage: np.ndarray | None,
    prep: LinregPrep,
    *,
    check_collinearity: bool = True,
    packed: np.ndarray | None = None,
    packed_prep: PackedPrep | None = None,
) -> dict[str, np.ndarray]:
    """Statistics of every variant (row) of ``dosage`` (int8 ALT counts, −1 missing; samples as in ``prep``).

    Or of ``packed`` 2-bit rows of all samples (:func:`biolake.io.plink.pack_alt_count`)
    with their :func:`packed_prep` (which selects the analysis samples); the numbers are
    the same to rounding. Returns ``a1_freq``, ``obs_ct``, ``beta``, ``se``, ``stat`` (t),
    ``p`` and ``errcode`` (indices into :data:`ERRCODES`).
    """
    d = design_stats(dosage, prep, check_collinearity=check_collinearity, packed=packed, packed_prep=packed_prep)
    obs, err = d["obs"], d["errcode"]
    df = obs - prep["q"].shape[1] - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = d["s_gy"] / d["s_gg"]
        rss = d["s_yy"] - beta * d["s_gy"]
        se = np.sqrt(rss / df / d["s_gg"])
        t = beta / se
        pval = _t_two_sided(t, df)
        a1_freq = d["gsum"] / (2.0 * obs)
    bad = err != 0
    for arr in (beta, se, t, pval):
        arr[bad] = np.nan
    return {
        "a1_freq": a1_freq,
        "obs_ct": obs.astype(np.int64),
        "beta": beta,
        "se": se,
        "stat": t,
        "p": pval,
        "errcode": err,
    }


def _t_two_sided(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Two-sided p-value of Student's t (``stdtr``), accurate far into the tails."""
    df = np.maximum(df, 1).astype(np.float64)
    at = np.abs(t)
    # P(|T| > t) = I_{df/(df+t²)}(df/2, 1/2): no cancellation for large |t|
    with np.errstate(invalid="ignore", divide="ignore"):
        return special.betainc(df / 2.0, 0.5, df / (df + at * at))


def linreg_gwas(dosage: np.ndarray, y: np.ndarray, *, covariates: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Linear regression of ``y`` on each genotype row of ``dosage`` and the covariates.

    Parameters
    ----------
    dosage : numpy.ndarray
        ALT allele counts, variants × samples (int8; −1 = missing call).
    y : numpy.ndarray
        The trait, one value per sample (no missing values).
    covariates : numpy.ndarray, optional
        Samples × covariates (no missing values); an intercept is always added.

    Returns
    -------
    dict
        ``a1_freq``, ``obs_ct``, ``beta``, ``se``, ``stat``, ``p`` and ``errcode`` per variant
        (see :func:`linreg_block`).

    Examples
    --------
    >>> g = np.array([[0, 1, 2, 1, 0, 2]], dtype=np.int8)
    >>> y = np.array([0.1, 1.2, 1.9, 1.1, -0.2, 2.2])
    >>> float(np.round(linreg_gwas(g, y)["beta"][0], 4))
    1.05
    """
    return linreg_block(np.asarray(dosage, dtype=np.int8), linreg_prepare(y, covariates=covariates))
