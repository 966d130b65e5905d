"""IBSI texture kernels shared by the families: directions, the GLCM and GLRLM families, and
the sparse (grey level, size/length/distance/dependence) matrices the zone-like families share.

Private module of :mod:`biolake.imaging.features` (which re-exports the public functions).
Arrays are ``(z, y, x)``; grey levels are integers ≥ 1, 0 outside the ROI.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numba
import numpy as np

AGGREGATIONS = ("2D_avg", "2D_comb", "2_5D_avg", "2_5D_comb", "3D_avg", "3D_comb")
"""IBSI texture aggregation methods (column suffixes of the GLCM and GLRLM families)."""

Features = dict[str, float]

# 13 unique 3-D directions (dz, dy, dx) at Chebyshev distance 1; the first 4 are in-plane.
_DIRS_2D = ((0, 0, 1), (0, 1, 1), (0, 1, 0), (0, 1, -1))
_DIRS_3D = (
    *_DIRS_2D,
    (1, 0, 0),
    (1, 0, 1),
    (1, 0, -1),
    (1, 1, 0),
    (1, -1, 0),
    (1, 1, 1),
    (1, 1, -1),
    (1, -1, 1),
    (1, -1, -1),
)


# ============================================================================ helpers
def _neighbour_offsets(three_d: bool) -> list[tuple[int, int, int]]:
    """All offsets at Chebyshev distance 1 (26 in 3-D, 8 in-plane in 2-D)."""
    out = []
    for dz in (-1, 0, 1) if three_d else (0,):
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if (dz, dy, dx) != (0, 0, 0):
                    out.append((dz, dy, dx))
    return out


def _safe_div(a: Any, b: Any) -> Any:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1), np.nan)


def _plogp(p: np.ndarray) -> np.ndarray:
    out = np.zeros_like(p, dtype=np.float64)
    nz = p > 0
    out[nz] = p[nz] * np.log2(p[nz])
    return out


# ========================================================================== texture
def _check_aggregations(aggregations: Iterable[str]) -> tuple[str, ...]:
    aggs = tuple(aggregations)
    for a in aggs:
        if a not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {a!r}: use {', '.join(AGGREGATIONS)}")
    return aggs


def _padded(levels: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Grey levels (0 outside the ROI) inside a border of zeros, flattened: the kernels walk
    flat offsets without bounds checks (a neighbour outside the array is a 0)."""
    nz, ny, nx = levels.shape
    padded = np.zeros((nz + 2, ny + 2, nx + 2), np.int64)
    padded[1:-1, 1:-1, 1:-1] = np.where(mask, levels, 0)
    return padded.ravel(), padded.shape  # type: ignore[return-value]


def _flat_offsets(dirs: Sequence[Sequence[int]], shape: tuple[int, int, int]) -> np.ndarray:
    """Offsets (dz, dy, dx) as steps in the flattened padded array."""
    d = np.asarray(dirs, np.int64).reshape(-1, 3)
    return d[:, 0] * shape[1] * shape[2] + d[:, 1] * shape[2] + d[:, 2]


@numba.njit(cache=True, nogil=True)
def _cooccurrences(
    p: np.ndarray, nzp: int, nyp: int, nxp: int, offs: np.ndarray, ng: int, per_slice: bool
) -> np.ndarray:  # pragma: no cover
    """Co-occurrence counts of every direction in one pass: ``(nz or 1, n_dir, ng, ng)``, one-sided."""
    n_dir = offs.shape[0]
    out = np.zeros((nzp - 2 if per_slice else 1, n_dir, ng, ng), np.int64)
    plane = nyp * nxp
    for z in range(1, nzp - 1):
        b = z - 1 if per_slice else 0
        for y in range(1, nyp - 1):
            base = z * plane + y * nxp
            for x in range(1, nxp - 1):
                i = base + x
                g = p[i]
                if g == 0:
                    continue
                for k in range(n_dir):
                    h = p[i + offs[k]]
                    if h > 0:
                        out[b, k, g - 1, h - 1] += 1
    return out


def _cooccurrence_matrices(
    levels: np.ndarray, mask: np.ndarray, dirs: Sequence[Sequence[int]], ng: int, per_slice: bool
) -> np.ndarray:
    """Symmetric co-occurrence counts ``(nz, n_dir, ng, ng)`` (per slice) or ``(n_dir, ng, ng)``."""
    flat, shape = _padded(levels, mask)
    m = _cooccurrences(flat, *shape, _flat_offsets(dirs, shape), int(ng), per_slice)
    m = m + m.transpose(0, 1, 3, 2)
    return m if per_slice else m[0]


def _glcm_batch(counts: np.ndarray) -> dict[str, np.ndarray]:
    """GLCM features of a batch of matrices ``(B, ng, ng)`` (each non-empty)."""
    counts = counts.astype(np.float64)
    b, ng, _ = counts.shape
    p = counts / counts.sum(axis=(1, 2), keepdims=True)
    i = np.arange(1, ng + 1, dtype=np.float64)
    ii, jj = np.meshgrid(i, i, indexing="ij")
    pi = p.sum(axis=2)
    pj = p.sum(axis=1)
    mu_i = (pi * i).sum(axis=1)
    mu_j = (pj * i).sum(axis=1)
    var_i = (pi * (i[None] - mu_i[:, None]) ** 2).sum(axis=1)
    var_j = (pj * (i[None] - mu_j[:, None]) ** 2).sum(axis=1)
    k_diff = np.abs(ii - jj).astype(np.int64)
    k_sum = (ii + jj).astype(np.int64)
    p_diff = np.zeros((b, ng))
    p_sum = np.zeros((b, 2 * ng + 1))
    for k in range(ng):
        p_diff[:, k] = p[:, k_diff == k].sum(axis=1)
    for k in range(2, 2 * ng + 1):
        p_sum[:, k] = p[:, k_sum == k].sum(axis=1)
    kd = np.arange(ng, dtype=np.float64)
    ks = np.arange(2 * ng + 1, dtype=np.float64)
    diff_avg = (p_diff * kd).sum(axis=1)
    sum_avg = (p_sum * ks).sum(axis=1)
    mu = mu_i  # symmetric matrices: mu_i == mu_j
    hxy = -_plogp(p).sum(axis=(1, 2))
    hx = -_plogp(pi).sum(axis=1)
    hy = -_plogp(pj).sum(axis=1)
    pipj = pi[:, :, None] * pj[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pipj = np.where(pipj > 0, np.log2(np.where(pipj > 0, pipj, 1)), 0.0)
    hxy1 = -(p * log_pipj).sum(axis=(1, 2))
    hxy2 = -(pipj * log_pipj).sum(axis=(1, 2))
    diff2 = (ii - jj) ** 2
    absdiff = np.abs(ii - jj)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_var = (p_diff[:, 1:] / kd[1:] ** 2).sum(axis=1)
    corr_num = (p * (ii - mu_i[:, None, None]) * (jj - mu_j[:, None, None])).sum(axis=(1, 2))
    dev = ii + jj - mu_i[:, None, None] - mu_j[:, None, None]
    return {
        "joint_max": p.max(axis=(1, 2)),
        "joint_avg": (p * ii).sum(axis=(1, 2)),
        "joint_var": (p * (ii - mu[:, None, None]) ** 2).sum(axis=(1, 2)),
        "joint_entr": hxy,
        "diff_avg": diff_avg,
        "diff_var": (p_diff * (kd[None] - diff_avg[:, None]) ** 2).sum(axis=1),
        "diff_entr": -_plogp(p_diff).sum(axis=1),
        "sum_avg": sum_avg,
        "sum_var": (p_sum * (ks[None] - sum_avg[:, None]) ** 2).sum(axis=1),
        "sum_entr": -_plogp(p_sum).sum(axis=1),
        "energy": (p**2).sum(axis=(1, 2)),
        "contrast": (p * diff2).sum(axis=(1, 2)),
        "dissimilarity": (p * absdiff).sum(axis=(1, 2)),
        "inv_diff": (p / (1 + absdiff)).sum(axis=(1, 2)),
        "inv_diff_norm": (p / (1 + absdiff / ng)).sum(axis=(1, 2)),
        "inv_diff_mom": (p / (1 + diff2)).sum(axis=(1, 2)),
        "inv_diff_mom_norm": (p / (1 + diff2 / ng**2)).sum(axis=(1, 2)),
        "inv_var": inv_var,
        "corr": _safe_div(corr_num, np.sqrt(var_i * var_j)),
        "auto_corr": (p * ii * jj).sum(axis=(1, 2)),
        "clust_tend": (p * dev**2).sum(axis=(1, 2)),
        "clust_shade": (p * dev**3).sum(axis=(1, 2)),
        "clust_prom": (p * dev**4).sum(axis=(1, 2)),
        "info_corr1": _safe_div(hxy - hxy1, np.maximum(hx, hy)),
        "info_corr2": np.sqrt(np.clip(1 - np.exp(-2 * (hxy2 - hxy)), 0, None)),
    }


def _nanmean(values: np.ndarray) -> float:
    """Mean of the finite values (a feature undefined for some matrices), NaN if none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


def glcm_features(
    levels: np.ndarray,
    mask: np.ndarray,
    *,
    n_levels: int,
    aggregations: Iterable[str] = AGGREGATIONS,
) -> Features:
    """IBSI grey level co-occurrence matrix features (``cm_*``), distance 1.

    Parameters
    ----------
    levels
        Discretised grey levels (1 … ``n_levels``), ``(z, y, x)``.
    mask
        The intensity mask.
    n_levels
        Number of grey levels ``Ng``.
    aggregations
        Among ``2D_avg 2D_comb 2_5D_avg 2_5D_comb 3D_avg 3D_comb``.

    Returns
    -------
    dict
        ``cm_<feature>_<aggregation>`` for the 25 IBSI GLCM features.
    """
    aggs = _check_aggregations(aggregations)
    mask = np.asarray(mask, dtype=bool)
    levels = np.where(mask, levels, 1).astype(np.int64)
    ng = int(n_levels)
    out: Features = {}
    if any(a.startswith(("2D", "2_5D")) for a in aggs):
        per = _cooccurrence_matrices(levels, mask, _DIRS_2D, ng, True)  # (nz, 4, ng, ng)
        for agg in aggs:
            if agg == "2D_avg":
                mats = per.reshape(-1, ng, ng)
            elif agg == "2D_comb":
                mats = per.sum(axis=1)
            elif agg == "2_5D_avg":
                mats = per.sum(axis=0)
            elif agg == "2_5D_comb":
                mats = per.sum(axis=(0, 1))[None]
            else:
                continue
            keep = mats.sum(axis=(1, 2)) > 0
            feats = _glcm_batch(mats[keep]) if keep.any() else {}
            for name, vals in feats.items():
                out[f"cm_{name}_{agg}"] = _nanmean(vals)
    if any(a.startswith("3D") for a in aggs):
        per3 = _cooccurrence_matrices(levels, mask, _DIRS_3D, ng, False)
        for agg in aggs:
            if agg == "3D_avg":
                mats = per3
            elif agg == "3D_comb":
                mats = per3.sum(axis=0)[None]
            else:
                continue
            keep = mats.sum(axis=(1, 2)) > 0
            feats = _glcm_batch(mats[keep]) if keep.any() else {}
            for name, vals in feats.items():
                out[f"cm_{name}_{agg}"] = _nanmean(vals)
    return out


# ------------------------------------------------------- zone-like matrices (sparse)
_ZONE_NAMES = {
    "rlm": "sre lre lgre hgre srlge srhge lrlge lrhge glnu glnu_norm rlnu rlnu_norm r_perc gl_var rl_var rl_entr",
    "szm": "sze lze lgze hgze szlge szhge lzlge lzhge glnu glnu_norm zsnu zsnu_norm z_perc gl_var zs_var zs_entr",
    "dzm": "sde lde lgze hgze sdlge sdhge ldlge ldhge glnu glnu_norm zdnu zdnu_norm z_perc gl_var zd_var zd_entr",
    "ngl": "lde hde lgce hgce ldlge ldhge hdlge hdhge glnu glnu_norm dcnu dcnu_norm dc_perc gl_var dc_var dc_entr",
}


_DENSE_KEYS = 1 << 24


def _zone_batch(
    batch: np.ndarray, i: np.ndarray, j: np.ndarray, n_batch: int, n_vox: np.ndarray, family: str
) -> dict[str, np.ndarray]:
    """Features of sparse ``(batch, grey level i, size/length/distance j)`` entries, one per item.

    Each (batch, i, j) triple is one run/zone/voxel; the matrices are the counts of the
    triples. Returns arrays of length ``n_batch``.
    """
    nj = int(j.max(initial=0)) + 1
    ni = int(i.max(initial=0)) + 1
    key = (batch.astype(np.int64) * ni + i) * nj + j
    if n_batch * ni * nj <= _DENSE_KEYS:  # count in a dense table: no sort
        dense = np.bincount(key, minlength=n_batch * ni * nj)
        uniq = np.flatnonzero(dense)
        counts = dense[uniq]
    else:
        uniq, counts = np.unique(key, return_counts=True)
    return _matrix_features(uniq // (ni * nj), (uniq // nj) % ni, uniq % nj, counts, n_batch, ni, nj, n_vox, family)


def _dense_features(mats: np.ndarray, n_vox: np.ndarray, family: str) -> dict[str, np.ndarray]:
    """Features of dense count matrices ``(B, ni, nj)`` (row i = grey level, column j = length/size …)."""
    n_batch, ni, nj = mats.shape
    ub, ui, uj = np.nonzero(mats)
    return _matrix_features(ub, ui, uj, mats[ub, ui, uj], n_batch, ni, nj, n_vox, family)


def _matrix_features(
    ub: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    counts: np.ndarray,
    n_batch: int,
    ni: int,
    nj: int,
    n_vox: np.ndarray,
    family: str,
) -> dict[str, np.ndarray]:
    """Features from the non-zero cells ``(batch, i, j) → count`` of a batch of matrices, sorted by cell."""
    ub = ub.astype(np.int64)
    ui = i.astype(np.float64)
    uj = j.astype(np.float64)
    c = counts.astype(np.float64)

    def bsum(w: np.ndarray) -> np.ndarray:
        return np.bincount(ub, weights=w, minlength=n_batch)

    ns = bsum(c)
    gl_marg = np.bincount(ub * ni + ui.astype(np.int64), weights=c, minlength=n_batch * ni).reshape(n_batch, ni)
    j_marg = np.bincount(ub * nj + uj.astype(np.int64), weights=c, minlength=n_batch * nj).reshape(n_batch, nj)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = c / ns[ub]
    mu_i = bsum(p * ui)
    mu_j = bsum(p * uj)
    names = _ZONE_NAMES[family].split()
    with np.errstate(divide="ignore", invalid="ignore"):  # empty items (no voxel) give NaN, dropped later
        out = _zone_values(ns, ui, uj, c, p, ub, mu_i, mu_j, gl_marg, j_marg, n_vox, bsum)
    out = dict(zip(names, out, strict=True))
    if family == "ngl":
        out["dc_energy"] = bsum(p**2)
    return out


def _zone_values(
    ns: np.ndarray,
    ui: np.ndarray,
    uj: np.ndarray,
    c: np.ndarray,
    p: np.ndarray,
    ub: np.ndarray,
    mu_i: np.ndarray,
    mu_j: np.ndarray,
    gl_marg: np.ndarray,
    j_marg: np.ndarray,
    n_vox: np.ndarray,
    bsum: Any,
) -> list[np.ndarray]:
    return [
        bsum(c / uj**2) / ns,
        bsum(c * uj**2) / ns,
        bsum(c / ui**2) / ns,
        bsum(c * ui**2) / ns,
        bsum(c / (ui**2 * uj**2)) / ns,
        bsum(c * ui**2 / uj**2) / ns,
        bsum(c * uj**2 / ui**2) / ns,
        bsum(c * ui**2 * uj**2) / ns,
        (gl_marg**2).sum(axis=1) / ns,
        (gl_marg**2).sum(axis=1) / ns**2,
        (j_marg**2).sum(axis=1) / ns,
        (j_marg**2).sum(axis=1) / ns**2,
        ns / n_vox,
        bsum(p * (ui - mu_i[ub]) ** 2),
        bsum(p * (uj - mu_j[ub]) ** 2),
        -bsum(p * np.log2(p)),
    ]


@numba.njit(cache=True, nogil=True)
def _run_matrices(
    p: np.ndarray, nzp: int, nyp: int, nxp: int, offs: np.ndarray, per_slice: bool, ni: int, nj: int
) -> np.ndarray:  # pragma: no cover
    """Run-length counts of every direction in one pass: ``(nz or 1, n_dir, ni, nj)``.

    A run is counted at its first voxel (whose predecessor along the direction has another
    grey level, 0 outside the ROI); row = grey level, column = length.
    """
    n_dir = offs.shape[0]
    out = np.zeros((nzp - 2 if per_slice else 1, n_dir, ni, nj), np.int64)
    plane = nyp * nxp
    for z in range(1, nzp - 1):
        b = z - 1 if per_slice else 0
        for y in range(1, nyp - 1):
            base = z * plane + y * nxp
            for x in range(1, nxp - 1):
                i = base + x
                g = p[i]
                if g == 0:
                    continue
                for k in range(n_dir):
                    o = offs[k]
                    if p[i - o] == g:
                        continue  # not the start of a run
                    length = 1
                    q = i + o
                    while p[q] == g:
                        length += 1
                        q += o
                    out[b, k, g, length] += 1
    return out


def _dense_aggregate(per: np.ndarray, nv_slice: np.ndarray, family: str, aggs: Sequence[str], two_d: bool) -> Features:
    """Aggregate dense counts ``(nz or 1, n_dir, ni, nj)`` into IBSI avg/comb features."""
    out: Features = {}
    n_dir = per.shape[1]
    nv = float(nv_slice.sum())
    for agg in aggs:
        if (two_d and agg.startswith("3D")) or (not two_d and not agg.startswith("3D")):
            continue
        if agg == "2D_avg":
            mats, n_vox = per.reshape(-1, *per.shape[2:]), np.repeat(nv_slice, n_dir).astype(np.float64)
        elif agg == "2D_comb":
            mats, n_vox = per.sum(axis=1), nv_slice.astype(np.float64) * n_dir
        elif agg in ("2_5D_avg", "3D_avg"):
            mats, n_vox = per.sum(axis=0), np.full(n_dir, nv)
        else:  # *_comb over the whole volume
            mats, n_vox = per.sum(axis=(0, 1))[None], np.array([nv * n_dir])
        feats = _dense_features(mats, n_vox, family)
        keep = mats.any(axis=(1, 2))
        for name, v in feats.items():
            out[f"{family}_{name}_{agg}"] = float(np.mean(v[keep])) if keep.any() else float("nan")
    return out


def _sparse_aggregate(
    entries: list[np.ndarray], nv_slice: np.ndarray, family: str, aggs: Sequence[str], two_d: bool
) -> Features:
    """Aggregate sparse entries ``(z, i, j)`` per direction into IBSI avg/comb features."""
    out: Features = {}
    n_dir = len(entries)
    nz = nv_slice.shape[0]
    nv = float(nv_slice.sum())
    for agg in aggs:
        if (two_d and agg.startswith("3D")) or (not two_d and not agg.startswith("3D")):
            continue
        if agg == "2D_avg":
            batch = np.concatenate([e[:, 0] * n_dir + k for k, e in enumerate(entries)])
            n_batch, n_vox = nz * n_dir, np.repeat(nv_slice, n_dir).astype(np.float64)
        elif agg == "2D_comb":
            batch = np.concatenate([e[:, 0] for e in entries])
            n_batch, n_vox = nz, nv_slice.astype(np.float64) * n_dir
        elif agg in ("2_5D_avg", "3D_avg"):
            batch = np.concatenate([np.full(len(e), k) for k, e in enumerate(entries)])
            n_batch, n_vox = n_dir, np.full(n_dir, nv)
        else:  # *_comb over the whole volume
            batch = np.concatenate([np.zeros(len(e), np.int64) for e in entries])
            n_batch, n_vox = 1, np.array([nv * n_dir])
        i = np.concatenate([e[:, 1] for e in entries])
        j = np.concatenate([e[:, 2] for e in entries])
        feats = _zone_batch(batch.astype(np.int64), i, j, n_batch, n_vox, family)
        keep = np.bincount(batch.astype(np.int64), minlength=n_batch) > 0
        for name, v in feats.items():
            out[f"{family}_{name}_{agg}"] = float(np.mean(v[keep])) if keep.any() else float("nan")
    return out


def glrlm_features(
    levels: np.ndarray,
    mask: np.ndarray,
    *,
    aggregations: Iterable[str] = AGGREGATIONS,
) -> Features:
    """IBSI grey level run length matrix features (``rlm_*``).

    Parameters
    ----------
    levels
        Discretised grey levels (integers ≥ 1), ``(z, y, x)``.
    mask
        The intensity mask.
    aggregations
        Among ``2D_avg 2D_comb 2_5D_avg 2_5D_comb 3D_avg 3D_comb``.

    Returns
    -------
    dict
        ``rlm_<feature>_<aggregation>`` for the 16 IBSI GLRLM features.
    """
    aggs = _check_aggregations(aggregations)
    mask = np.ascontiguousarray(mask, dtype=np.bool_)
    levels = np.ascontiguousarray(np.where(mask, levels, 0), dtype=np.int64)
    nv_slice = mask.sum(axis=(1, 2))
    out: Features = {}
    ni = int(levels.max(initial=0)) + 1
    nj = max(levels.shape) + 1
    flat, shape = _padded(levels, mask)
    if any(not a.startswith("3D") for a in aggs):
        per = _run_matrices(flat, *shape, _flat_offsets(_DIRS_2D, shape), True, ni, nj)
        out.update(_dense_aggregate(per, nv_slice, "rlm", aggs, True))
    if any(a.startswith("3D") for a in aggs):
        per = _run_matrices(flat, *shape, _flat_offsets(_DIRS_3D, shape), False, ni, nj)
        out.update(_dense_aggregate(per, nv_slice, "rlm", aggs, False))
    return out
