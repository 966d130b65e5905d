"""IBSI 1 radiomics feature kernels: plain functions over numpy arrays, no I/O.

Every function here takes arrays already prepared by :mod:`biolake.imaging.radiomics`
(the intensity image, the morphological and intensity masks, the discretised grey
levels) and returns a ``{ibsi_tag: value}`` dictionary named exactly as the IBSI 1
reference tables name the features (``morph_volume``, ``stat_mean``,
``cm_joint_max_3D_comb`` …).

Arrays are in ``(z, y, x)`` order and ``spacing`` is ``(sz, sy, sx)`` in mm. Texture
matrices are built without Python loops over voxels: co-occurrences and neighbourhood
counts with shifted-array comparisons and :func:`numpy.bincount`, zones with
:func:`scipy.ndimage.label`, runs with a small numba kernel, and every feature is computed
for a whole batch of matrices at once (all slices × directions of an aggregation method).

Conventions that IBSI leaves open follow MIRP: percentiles by numpy's default linear
method, the PCA covariance divided by n − 1, and the mesh by scikit-image's Lewiner
``marching_cubes`` at level 0.5 on the morphological mask padded by one voxel.

Examples
--------
>>> import numpy as np
>>> levels = np.array([[[1, 1, 2], [2, 2, 1]]])
>>> mask = np.ones(levels.shape, bool)
>>> round(glcm_features(levels, mask, n_levels=2, aggregations=("3D_comb",))["cm_energy_3D_comb"], 4)
0.2686
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numba
import numpy as np

__all__ = [
    "AGGREGATIONS",
    "glcm_features",
    "gldzm_features",
    "glrlm_features",
    "glszm_features",
    "intensity_histogram_features",
    "intensity_volume_histogram_features",
    "local_intensity_features",
    "morphology_features",
    "ngldm_features",
    "ngtdm_features",
    "statistics_features",
]

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
def _shifted_pairs(a: np.ndarray, d: Sequence[int]) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """Slices ``(src, dst)`` so that ``a[dst]`` is the neighbour at offset ``d`` of ``a[src]``."""
    src, dst = [], []
    for n, k in zip(a.shape, d, strict=True):
        if k >= 0:
            src.append(slice(0, n - k))
            dst.append(slice(k, n))
        else:
            src.append(slice(-k, n))
            dst.append(slice(0, n + k))
    return tuple(src), tuple(dst)


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


# ======================================================================= morphology
def _mesh(mask: np.ndarray, spacing: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    from skimage.measure import marching_cubes

    padded = np.pad(mask.astype(np.float32), 1)
    verts, faces, _, _ = marching_cubes(padded, level=0.5, spacing=tuple(float(s) for s in spacing), method="lewiner")
    return verts, faces


def _ellipsoid_area(a: float, b: float, c: float, terms: int = 20) -> float:
    """Surface of an ellipsoid with semi-axes a ≥ b ≥ c by IBSI's 20-term Legendre series (its definition)."""
    from scipy.special import eval_legendre

    if a <= 0:
        return float("nan")
    # spheroids (a = b or b = c) are the limit α → 0 or β → 0 of the series, which stays
    # finite: a tiny α (β) evaluates it within rounding
    alpha = max(np.sqrt(max(0.0, 1 - b**2 / a**2)), 1e-9)
    beta = max(np.sqrt(max(0.0, 1 - c**2 / a**2)), 1e-9)
    nu = np.arange(terms + 1)
    x = (alpha**2 + beta**2) / (2 * alpha * beta)
    series = ((alpha * beta) ** nu / (1 - 4 * nu**2) * eval_legendre(nu, x)).sum()
    return float(4 * np.pi * a * b * series)


def _moran_geary(values: np.ndarray, mask: np.ndarray, spacing: np.ndarray) -> tuple[float, float]:
    """Moran's I and Geary's C with weights 1/distance, exactly, by FFT over the ROI's box.

    The weights depend only on the offset between two voxels, so every double sum over
    voxel pairs is a correlation of ROI-masked fields with the kernel ``1/|offset|``.
    """
    import scipy.fft as sfft

    idx = np.argwhere(mask)
    lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    m = mask[box].astype(np.float64)
    x = np.where(mask[box], values[box], 0.0).astype(np.float64)
    n = m.sum()
    dev = (x - x[m > 0].mean()) * m
    shape = m.shape
    grids = np.meshgrid(*[np.arange(-(k - 1), k) * s for k, s in zip(shape, spacing, strict=True)], indexing="ij")
    dist = np.sqrt(sum(g**2 for g in grids))
    kernel = np.divide(1.0, dist, out=np.zeros_like(dist), where=dist > 0)
    # circular correlation of length >= 2n - 1 has no wrap-around at the n outputs needed
    fshape = [sfft.next_fast_len(b, real=True) for b in kernel.shape]
    axes = (0, 1, 2)
    fk = sfft.rfftn(kernel, fshape, axes=axes, workers=-1)
    inner = tuple(slice(k - 1, k - 1 + a) for a, k in zip(shape, shape, strict=True))

    def correlate(field: np.ndarray) -> np.ndarray:
        full = sfft.irfftn(sfft.rfftn(field, fshape, axes=axes, workers=-1) * fk, fshape, axes=axes, workers=-1)
        return full[inner]

    wm = correlate(m)
    wd = correlate(dev)
    w_total = float((m * wm).sum())
    ss = float((dev**2).sum())
    if ss == 0 or w_total == 0:
        return float("nan"), float("nan")
    cross = float((dev * wd).sum())
    moran = n / w_total * cross / ss
    geary = (n - 1) / (2 * w_total) * (2 * float((dev**2 * wm).sum()) - 2 * cross) / ss
    return float(moran), float(geary)


def morphology_features(
    image: np.ndarray,
    morph_mask: np.ndarray,
    int_mask: np.ndarray,
    spacing: Sequence[float],
    *,
    max_voxels_autocorrelation: int = 64_000_000,
) -> Features:
    """IBSI morphological features (family ``morph``), mesh-based and voxel-based.

    Parameters
    ----------
    image
        Intensities, ``(z, y, x)``.
    morph_mask
        The morphological mask (the ROI before re-segmentation).
    int_mask
        The intensity mask (after re-segmentation): used by the centre-of-mass shift,
        the integrated intensity and Moran's I / Geary's C.
    spacing
        Voxel size ``(sz, sy, sx)`` in mm.
    max_voxels_autocorrelation
        Moran's I and Geary's C (weights 1/distance over all voxel pairs) are computed
        exactly by FFT over twice the ROI's bounding box; NaN when that holds more voxels.

    Returns
    -------
    dict
        ``morph_volume``, ``morph_vol_approx``, ``morph_area_mesh`` … ``morph_geary_c``.
        The oriented and minimum-volume enclosing boxes/ellipsoids (no IBSI reference
        value) are not computed.
    """
    from scipy.spatial import ConvexHull
    from scipy.spatial.distance import pdist

    spacing = np.asarray(spacing, dtype=np.float64)
    morph_mask = np.asarray(morph_mask, dtype=bool)
    int_mask = np.asarray(int_mask, dtype=bool)
    verts, faces = _mesh(morph_mask, spacing)
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    volume = abs(float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0)
    area = float(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum())
    n_vox = int(morph_mask.sum())
    vol_approx = n_vox * float(np.prod(spacing))
    out: Features = {
        "morph_volume": volume,
        "morph_vol_approx": vol_approx,
        "morph_area_mesh": area,
        "morph_av": area / volume,
        "morph_comp_1": volume / (np.sqrt(np.pi) * area**1.5),
        "morph_comp_2": 36 * np.pi * volume**2 / area**3,
        "morph_sph_dispr": area / (36 * np.pi * volume**2) ** (1 / 3),
        "morph_sphericity": (36 * np.pi * volume**2) ** (1 / 3) / area,
        "morph_asphericity": (area**3 / (36 * np.pi * volume**2)) ** (1 / 3) - 1,
    }
    pos = np.argwhere(morph_mask) * spacing
    ipos = np.argwhere(int_mask) * spacing
    ivals = image[int_mask].astype(np.float64)
    if ivals.size and ivals.sum() != 0:
        weighted = (ipos * ivals[:, None]).sum(axis=0) / ivals.sum()
        out["morph_com"] = float(np.linalg.norm(pos.mean(axis=0) - weighted))
    else:
        out["morph_com"] = float("nan")
    try:
        hull = ConvexHull(verts)
        hull_pts = verts[hull.vertices]
        out["morph_diam"] = float(pdist(hull_pts).max())
        hull_volume, hull_area = float(hull.volume), float(hull.area)
    except Exception:  # flat or tiny ROIs have no 3-D hull
        out["morph_diam"] = float(pdist(verts).max()) if len(verts) > 1 else 0.0
        hull_volume = hull_area = float("nan")
    if len(pos) > 1:
        eig = np.sort(np.linalg.eigvalsh(np.cov(pos, rowvar=False)))[::-1]
        eig = np.clip(eig, 0, None)
    else:
        eig = np.zeros(3)
    lmaj, lmin, lleast = (float(e) for e in eig)
    out["morph_pca_maj_axis"] = 4 * np.sqrt(lmaj)
    out["morph_pca_min_axis"] = 4 * np.sqrt(lmin)
    out["morph_pca_least_axis"] = 4 * np.sqrt(lleast)
    out["morph_pca_elongation"] = float(np.sqrt(lmin / lmaj)) if lmaj > 0 else float("nan")
    out["morph_pca_flatness"] = float(np.sqrt(lleast / lmaj)) if lmaj > 0 else float("nan")
    ext = verts.max(axis=0) - verts.min(axis=0)
    out["morph_vol_dens_aabb"] = volume / float(np.prod(ext))
    out["morph_area_dens_aabb"] = area / float(2 * (ext[0] * ext[1] + ext[1] * ext[2] + ext[0] * ext[2]))
    sa, sb, sc = 2 * np.sqrt(lmaj), 2 * np.sqrt(lmin), 2 * np.sqrt(lleast)
    out["morph_vol_dens_aee"] = volume / (4 * np.pi * sa * sb * sc / 3) if sc > 0 else float("nan")
    out["morph_area_dens_aee"] = area / _ellipsoid_area(sa, sb, sc)
    out["morph_vol_dens_conv_hull"] = volume / hull_volume
    out["morph_area_dens_conv_hull"] = area / hull_area
    out["morph_integ_int"] = volume * float(ivals.mean()) if ivals.size else float("nan")
    box_voxels = int(np.prod(2 * (np.ptp(np.argwhere(int_mask), axis=0) + 1))) if ivals.size else 0
    if ivals.size > 1 and box_voxels <= max_voxels_autocorrelation:
        out["morph_moran_i"], out["morph_geary_c"] = _moran_geary(image, int_mask, spacing)
    else:
        out["morph_moran_i"] = out["morph_geary_c"] = float("nan")
    return {k: float(v) for k, v in out.items()}


# ================================================================== local intensity
def local_intensity_features(image: np.ndarray, int_mask: np.ndarray, spacing: Sequence[float]) -> Features:
    """IBSI local intensity features: local and global intensity peak (``loc_*``).

    The mean intensity in a sphere of 1 cm³ (radius 6.2 mm) around each voxel, over the
    image voxels inside the sphere (outside the ROI too; outside the image ignored).

    Parameters
    ----------
    image
        Intensities, ``(z, y, x)``.
    int_mask
        The intensity mask.
    spacing
        Voxel size ``(sz, sy, sx)`` in mm.

    Returns
    -------
    dict
        ``loc_peak_loc`` (the highest local mean among the voxels of maximum
        intensity) and ``loc_peak_glob`` (the highest local mean over the ROI).
    """
    from scipy.signal import fftconvolve

    spacing = np.asarray(spacing, dtype=np.float64)
    radius = (3.0 / (4.0 * np.pi) * 1000.0) ** (1.0 / 3.0)
    half = np.floor(radius / spacing).astype(int)
    grids = np.meshgrid(*[np.arange(-h, h + 1) * s for h, s in zip(half, spacing, strict=True)], indexing="ij")
    kernel = (sum(g**2 for g in grids) <= radius**2).astype(np.float64)
    idx = np.argwhere(int_mask)
    if idx.size == 0:
        return {"loc_peak_loc": float("nan"), "loc_peak_glob": float("nan")}
    lo = np.maximum(idx.min(axis=0) - half, 0)
    hi = np.minimum(idx.max(axis=0) + half + 1, image.shape)
    crop = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    img = image[crop].astype(np.float64)
    m = int_mask[crop]
    ones = np.ones_like(img)
    total = fftconvolve(img, kernel, mode="same")
    count = fftconvolve(ones, kernel, mode="same")
    local = total / np.round(count)
    vals = img[m]
    loc = local[m]
    peak_loc = float(loc[vals == vals.max()].max())
    return {"loc_peak_loc": peak_loc, "loc_peak_glob": float(loc.max())}


# ======================================================================= statistics
def _stats(x: np.ndarray, prefix: str) -> Features:
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        names = [
            "mean",
            "var",
            "skew",
            "kurt",
            "median",
            "min",
            "p10",
            "p90",
            "max",
            "iqr",
            "range",
            "mad",
            "rmad",
            "medad",
            "cov",
            "qcod",
            "energy",
            "rms",
        ]
        return {f"{prefix}_{n}": float("nan") for n in names}
    mean = x.mean()
    dev = x - mean
    m2 = float((dev**2).mean())
    p10, p25, p50, p75, p90 = np.percentile(x, [10, 25, 50, 75, 90])
    robust = x[(x >= p10) & (x <= p90)]
    out = {
        "mean": mean,
        "var": m2,
        "skew": float((dev**3).mean() / m2**1.5) if m2 > 0 else 0.0,
        "kurt": float((dev**4).mean() / m2**2 - 3) if m2 > 0 else 0.0,
        "median": p50,
        "min": x.min(),
        "p10": p10,
        "p90": p90,
        "max": x.max(),
        "iqr": p75 - p25,
        "range": x.max() - x.min(),
        "mad": np.abs(dev).mean(),
        "rmad": np.abs(robust - robust.mean()).mean(),
        "medad": np.abs(x - p50).mean(),
        "cov": np.sqrt(m2) / mean if mean != 0 else float("nan"),
        "qcod": (p75 - p25) / (p75 + p25) if (p75 + p25) != 0 else float("nan"),
    }
    if prefix == "stat":
        out["energy"] = float((x**2).sum())
        out["rms"] = float(np.sqrt((x**2).mean()))
    return {f"{prefix}_{k}": float(v) for k, v in out.items()}


def statistics_features(values: np.ndarray) -> Features:
    """IBSI intensity-based statistical features (``stat_*``) of the ROI's intensities.

    Parameters
    ----------
    values
        The intensities of the voxels of the intensity mask (1-D).

    Returns
    -------
    dict
        ``stat_mean`` … ``stat_rms`` (variance and moments with denominator n;
        kurtosis is the excess kurtosis, as IBSI defines it).
    """
    return _stats(values, "stat")


def intensity_histogram_features(levels: np.ndarray, *, n_levels: int) -> Features:
    """IBSI intensity histogram features (``ih_*``) of the discretised grey levels.

    Parameters
    ----------
    levels
        Discretised grey levels (integers ≥ 1) of the intensity mask voxels.
    n_levels
        The number of grey levels ``Ng`` (the histogram has bins 1 … Ng).

    Returns
    -------
    dict
        The statistics of :func:`statistics_features` on the grey levels (without
        energy and RMS) plus mode, entropy, uniformity and the histogram gradients.
    """
    x = np.asarray(levels, dtype=np.int64)
    out = _stats(x, "ih")
    if x.size == 0:
        return out
    ng = max(int(n_levels), int(x.max()))
    hist = np.bincount(x, minlength=ng + 1)[1:].astype(np.float64)
    p = hist / hist.sum()
    modes = np.flatnonzero(hist == hist.max()) + 1
    out["ih_mode"] = float(modes[np.argmin(np.abs(modes - x.mean()))])
    out["ih_entropy"] = float(-_plogp(p).sum())
    out["ih_uniformity"] = float((p**2).sum())
    if ng > 1:
        grad = np.gradient(hist)  # central differences inside, one-sided at the ends (IBSI)
    else:
        grad = np.zeros(1)
    out["ih_max_grad"] = float(grad.max())
    out["ih_max_grad_g"] = float(np.argmax(grad) + 1)
    out["ih_min_grad"] = float(grad.min())
    out["ih_min_grad_g"] = float(np.argmin(grad) + 1)
    order = [
        [
            "mean",
            "var",
            "skew",
            "kurt",
            "median",
            "min",
            "p10",
            "p90",
            "max",
            "mode",
            "iqr",
            "range",
            "mad",
            "rmad",
            "medad",
            "cov",
            "qcod",
            "entropy",
            "uniformity",
        ],
        ["max_grad", "max_grad_g", "min_grad", "min_grad_g"],
    ]
    return {f"ih_{k}": out[f"ih_{k}"] for k in order[0] + order[1]}


def intensity_volume_histogram_features(
    values: np.ndarray, *, bin_width: float = 1.0, value_range: tuple[float, float] | None = None
) -> Features:
    """IBSI intensity-volume histogram features (``ivh_*``).

    Parameters
    ----------
    values
        The (discretised) intensities of the intensity mask voxels: grey levels, or
        intensities on a grid of step ``bin_width``.
    bin_width
        Step of the intensity grid the volume fractions are evaluated on.
    value_range
        ``(min, max)`` used for the intensity fraction; default the ROI's min and max.

    Returns
    -------
    dict
        ``ivh_v10``, ``ivh_v90`` (volume fraction at ≥ 10 % / 90 % intensity fraction),
        ``ivh_i10``, ``ivh_i90`` (lowest intensity held by at most 10 % / 90 % of the
        volume), their differences and ``ivh_auc`` (area under the curve of volume
        fraction against intensity fraction, by the trapezoidal rule).
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    names = ("v10", "v90", "i10", "i90", "diff_v10_v90", "diff_i10_i90", "auc")
    if x.size == 0:
        return {f"ivh_{k}": float("nan") for k in names}
    lo, hi = (x[0], x[-1]) if value_range is None else value_range
    n_steps = int(np.round((hi - lo) / bin_width))
    grid = lo + bin_width * np.arange(n_steps + 1)
    # fraction of the volume with intensity >= i
    nu = 1.0 - np.searchsorted(x, grid - 1e-9 * max(1.0, abs(bin_width)), side="left") / x.size
    gamma = (grid - lo) / (hi - lo) if hi > lo else np.zeros_like(grid)

    def v_at(frac: float) -> float:
        k = np.flatnonzero(gamma >= frac - 1e-12)
        return float(nu[k[0]]) if k.size else 0.0

    def i_at(frac: float) -> float:
        k = np.flatnonzero(nu <= frac + 1e-12)
        return float(grid[k[0]]) if k.size else float(grid[-1] + bin_width)

    v10, v90, i10, i90 = v_at(0.1), v_at(0.9), i_at(0.1), i_at(0.9)
    auc = float(np.trapezoid(nu, gamma)) if hi > lo else float("nan")
    return {
        "ivh_v10": v10,
        "ivh_v90": v90,
        "ivh_i10": i10,
        "ivh_i90": i90,
        "ivh_diff_v10_v90": v10 - v90,
        "ivh_diff_i10_i90": i10 - i90,
        "ivh_auc": auc,
    }


# ========================================================================== texture
def _check_aggregations(aggregations: Iterable[str]) -> tuple[str, ...]:
    aggs = tuple(aggregations)
    for a in aggs:
        if a not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {a!r}: use {', '.join(AGGREGATIONS)}")
    return aggs


def _cooccurrence(levels: np.ndarray, mask: np.ndarray, d: Sequence[int], ng: int, per_slice: bool) -> np.ndarray:
    """Symmetric co-occurrence counts for offset ``d``: ``(nz, ng, ng)`` or ``(ng, ng)``."""
    src, dst = _shifted_pairs(levels, d)
    ok = mask[src] & mask[dst]
    a = levels[src][ok] - 1
    b = levels[dst][ok] - 1
    if per_slice:
        z = np.nonzero(ok)[0] + src[0].start
        nz = levels.shape[0]
        m = np.bincount((z * ng + a) * ng + b, minlength=nz * ng * ng).reshape(nz, ng, ng)
        return m + m.transpose(0, 2, 1)
    m = np.bincount(a * ng + b, minlength=ng * ng).reshape(ng, ng)
    return m + m.T


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
        per = np.stack([_cooccurrence(levels, mask, d, ng, True) for d in _DIRS_2D], axis=1)  # (nz, 4, ng, ng)
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
        per3 = np.stack([_cooccurrence(levels, mask, d, ng, False) for d in _DIRS_3D])
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
    ub = uniq // (ni * nj)
    ui = ((uniq // nj) % ni).astype(np.float64)
    uj = (uniq % nj).astype(np.float64)
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
def _runs(levels: np.ndarray, mask: np.ndarray, dz: int, dy: int, dx: int) -> np.ndarray:  # pragma: no cover
    """Every run along (dz, dy, dx): rows ``(z of the first voxel, grey level, length)``."""
    nz, ny, nx = levels.shape
    out = np.empty((mask.sum(), 3), dtype=np.int64)
    n = 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if not mask[z, y, x]:
                    continue
                g = levels[z, y, x]
                pz, py, px = z - dz, y - dy, x - dx
                if 0 <= pz < nz and 0 <= py < ny and 0 <= px < nx and mask[pz, py, px] and levels[pz, py, px] == g:
                    continue  # not the start of a run
                length = 1
                qz, qy, qx = z + dz, y + dy, x + dx
                while 0 <= qz < nz and 0 <= qy < ny and 0 <= qx < nx and mask[qz, qy, qx] and levels[qz, qy, qx] == g:
                    length += 1
                    qz += dz
                    qy += dy
                    qx += dx
                out[n, 0] = z
                out[n, 1] = g
                out[n, 2] = length
                n += 1
    return out[:n]


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
    if any(not a.startswith("3D") for a in aggs):
        entries = [_runs(levels, mask, *d) for d in _DIRS_2D]
        out.update(_sparse_aggregate(entries, nv_slice, "rlm", aggs, True))
    if any(a.startswith("3D") for a in aggs):
        entries = [_runs(levels, mask, *d) for d in _DIRS_3D]
        out.update(_sparse_aggregate(entries, nv_slice, "rlm", aggs, False))
    return out


@numba.njit(cache=True, nogil=True)
def _label_zones(
    levels: np.ndarray, mask: np.ndarray, three_d: bool
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """Label connected zones of equal grey level (26- or in-plane 8-connectivity) by flood fill."""
    nz, ny, nx = levels.shape
    labels = np.zeros(levels.shape, np.int64)
    zone_level = np.zeros(mask.sum() + 1, np.int64)
    stack = np.empty((mask.sum(), 3), np.int64)
    dz_lo = -1 if three_d else 0
    dz_hi = 1 if three_d else 0
    n = 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if not mask[z, y, x] or labels[z, y, x] != 0:
                    continue
                n += 1
                g = levels[z, y, x]
                zone_level[n] = g
                labels[z, y, x] = n
                top = 0
                stack[0, 0], stack[0, 1], stack[0, 2] = z, y, x
                top = 1
                while top > 0:
                    top -= 1
                    cz, cy, cx = stack[top, 0], stack[top, 1], stack[top, 2]
                    for dz in range(dz_lo, dz_hi + 1):
                        qz = cz + dz
                        if qz < 0 or qz >= nz:
                            continue
                        for dy in range(-1, 2):
                            qy = cy + dy
                            if qy < 0 or qy >= ny:
                                continue
                            for dx in range(-1, 2):
                                qx = cx + dx
                                if qx < 0 or qx >= nx:
                                    continue
                                if mask[qz, qy, qx] and labels[qz, qy, qx] == 0 and levels[qz, qy, qx] == g:
                                    labels[qz, qy, qx] = n
                                    stack[top, 0], stack[top, 1], stack[top, 2] = qz, qy, qx
                                    top += 1
    return labels, zone_level[: n + 1]


def _zones(levels: np.ndarray, mask: np.ndarray, three_d: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Connected zones of equal grey level: a label image and each zone's grey level."""
    labels, zone_level = _label_zones(
        np.ascontiguousarray(levels, dtype=np.int64), np.ascontiguousarray(mask, dtype=np.bool_), three_d
    )
    return labels, zone_level, len(zone_level) - 1


def _zone_entries(labels: np.ndarray, zone_level: np.ndarray, n_zones: int, value: np.ndarray | None) -> np.ndarray:
    """Rows ``(z of the zone, grey level, size or distance)`` for every zone."""
    flat = labels.ravel()
    sel = flat > 0
    lab = flat[sel]
    if value is None:
        j = np.bincount(lab, minlength=n_zones + 1)[1:]
    else:
        j = np.full(n_zones + 1, np.iinfo(np.int64).max)
        np.minimum.at(j, lab, value.ravel()[sel])
        j = j[1:]
    zpos = np.zeros(n_zones + 1, np.int64)
    zz = np.nonzero(labels)[0]
    zpos[labels[labels > 0]] = zz
    return np.column_stack([zpos[1:], zone_level[1:], j]).astype(np.int64)


def glszm_features(levels: np.ndarray, mask: np.ndarray, *, dims: Iterable[str] = ("2D", "2_5D", "3D")) -> Features:
    """IBSI grey level size zone matrix features (``szm_*``).

    Parameters
    ----------
    levels
        Discretised grey levels (integers ≥ 1), ``(z, y, x)``.
    mask
        The intensity mask.
    dims
        Among ``2D`` (per slice, averaged), ``2_5D`` (slices merged) and ``3D``.

    Returns
    -------
    dict
        ``szm_<feature>_<dims>`` for the 16 IBSI GLSZM features.
    """
    return _zone_family(levels, mask, None, "szm", tuple(dims))


def gldzm_features(
    levels: np.ndarray,
    mask: np.ndarray,
    morph_mask: np.ndarray,
    *,
    dims: Iterable[str] = ("2D", "2_5D", "3D"),
) -> Features:
    """IBSI grey level distance zone matrix features (``dzm_*``).

    The distance of a zone is the smallest city-block distance of its voxels to the
    edge of the ROI (an edge voxel is at distance 1), from the morphological mask.

    Parameters
    ----------
    levels
        Discretised grey levels (integers ≥ 1), ``(z, y, x)``.
    mask
        The intensity mask (zones).
    morph_mask
        The morphological mask (distances).
    dims
        Among ``2D``, ``2_5D`` and ``3D``.

    Returns
    -------
    dict
        ``dzm_<feature>_<dims>`` for the 16 IBSI GLDZM features.
    """
    return _zone_family(levels, mask, np.asarray(morph_mask, bool), "dzm", tuple(dims))


def _distance_map(mask: np.ndarray, three_d: bool) -> np.ndarray:
    from scipy import ndimage

    padded = np.pad(mask, 1)
    if three_d:
        structure = ndimage.generate_binary_structure(3, 1)
    else:
        structure = np.zeros((3, 3, 3), bool)
        structure[1] = ndimage.generate_binary_structure(2, 1)
    dist = ndimage.distance_transform_cdt(padded, metric=structure)
    return dist[1:-1, 1:-1, 1:-1].astype(np.int64)


def _zone_family(
    levels: np.ndarray, mask: np.ndarray, morph_mask: np.ndarray | None, family: str, dims: tuple[str, ...]
) -> Features:
    mask = np.asarray(mask, dtype=bool)
    levels = np.where(mask, levels, 0).astype(np.int64)
    nv_slice = mask.sum(axis=(1, 2))
    out: Features = {}
    for three_d in (False, True):
        wanted = [d for d in dims if (d == "3D") == three_d]
        if not wanted:
            continue
        labels, zone_level, n_zones = _zones(levels, mask, three_d)
        dist = None if morph_mask is None else _distance_map(morph_mask, three_d)
        entries = [_zone_entries(labels, zone_level, n_zones, dist)]
        aggs = [{"2D": "2D_avg", "2_5D": "2_5D_comb", "3D": "3D_comb"}[d] for d in wanted]
        feats = _sparse_aggregate(entries, nv_slice, family, aggs, not three_d)
        for d in wanted:
            agg = {"2D": "2D_avg", "2_5D": "2_5D_comb", "3D": "3D_comb"}[d]
            for k, v in feats.items():
                if k.endswith("_" + agg):
                    out[k[: -len(agg)] + d] = v
    return out


# ---------------------------------------------------------- neighbourhood matrices
def _neighbour_sums(levels: np.ndarray, mask: np.ndarray, three_d: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per voxel: the sum of neighbouring grey levels in the ROI and their number."""
    total = np.zeros(levels.shape, np.float64)
    count = np.zeros(levels.shape, np.int64)
    lv = np.where(mask, levels, 0).astype(np.float64)
    for d in _neighbour_offsets(three_d):
        src, dst = _shifted_pairs(levels, d)
        total[src] += lv[dst]
        count[src] += mask[dst]
    return total, count


def ngtdm_features(levels: np.ndarray, mask: np.ndarray, *, dims: Iterable[str] = ("2D", "2_5D", "3D")) -> Features:
    """IBSI neighbourhood grey tone difference matrix features (``ngt_*``).

    Parameters
    ----------
    levels
        Discretised grey levels (integers ≥ 1), ``(z, y, x)``.
    mask
        The intensity mask.
    dims
        Among ``2D`` (8 in-plane neighbours, per slice, averaged), ``2_5D`` (slices
        merged) and ``3D`` (26 neighbours).

    Returns
    -------
    dict
        ``ngt_coarseness``, ``ngt_contrast``, ``ngt_busyness``, ``ngt_complexity`` and
        ``ngt_strength`` per dims.
    """
    mask = np.asarray(mask, dtype=bool)
    levels = np.where(mask, levels, 0).astype(np.int64)
    ng = int(levels.max(initial=0))
    nz = levels.shape[0]
    out: Features = {}
    for three_d in (False, True):
        wanted = [d for d in dims if (d == "3D") == three_d]
        if not wanted:
            continue
        total, count = _neighbour_sums(levels, mask, three_d)
        valid = mask & (count > 0)
        g = levels[valid] - 1
        z = np.nonzero(valid)[0]
        absdiff = np.abs(levels[valid] - total[valid] / count[valid])
        n = np.bincount(z * ng + g, minlength=nz * ng).reshape(nz, ng).astype(np.float64)
        s = np.bincount(z * ng + g, weights=absdiff, minlength=nz * ng).reshape(nz, ng)
        for d in wanted:
            if d == "2D":
                n_b, s_b = n, s
            else:
                n_b, s_b = n.sum(axis=0)[None], s.sum(axis=0)[None]
            vals = [_ngtdm_one(nn, ss) for nn, ss in zip(n_b, s_b, strict=True) if nn.sum() > 0]
            for k, name in enumerate(("coarseness", "contrast", "busyness", "complexity", "strength")):
                out[f"ngt_{name}_{d}"] = float(np.mean([v[k] for v in vals])) if vals else float("nan")
    return out


def _ngtdm_one(n: np.ndarray, s: np.ndarray) -> tuple[float, float, float, float, float]:
    nvc = n.sum()
    p = n / nvc
    i = np.arange(1, len(n) + 1, dtype=np.float64)
    present = p > 0
    pi, ii, si = p[present], i[present], s[present]
    ngp = present.sum()
    ps = (pi * si).sum()
    coarseness = 1.0 / ps if ps > 0 else 1e6
    dij = ii[:, None] - ii[None, :]
    ppij = pi[:, None] * pi[None, :]
    contrast = (ppij * dij**2).sum() / (ngp * (ngp - 1)) * si.sum() / nvc if ngp > 1 else 0.0
    denom = np.abs(ii[:, None] * pi[:, None] - ii[None, :] * pi[None, :]).sum()
    busyness = ps / denom if denom > 0 else 0.0
    complexity = (
        np.abs(dij) * (pi[:, None] * si[:, None] + pi[None, :] * si[None, :]) / (pi[:, None] + pi[None, :])
    ).sum() / nvc
    strength = ((pi[:, None] + pi[None, :]) * dij**2).sum() / si.sum() if si.sum() > 0 else 0.0
    return float(coarseness), float(contrast), float(busyness), float(complexity), float(strength)


def ngldm_features(levels: np.ndarray, mask: np.ndarray, *, dims: Iterable[str] = ("2D", "2_5D", "3D")) -> Features:
    """IBSI neighbouring grey level dependence matrix features (``ngl_*``), α = 0, distance 1.

    Parameters
    ----------
    levels
        Discretised grey levels (integers ≥ 1), ``(z, y, x)``.
    mask
        The intensity mask.
    dims
        Among ``2D``, ``2_5D`` and ``3D``.

    Returns
    -------
    dict
        ``ngl_<feature>_<dims>`` for the 17 IBSI NGLDM features.
    """
    mask = np.asarray(mask, dtype=bool)
    levels = np.where(mask, levels, 0).astype(np.int64)
    nv_slice = mask.sum(axis=(1, 2))
    out: Features = {}
    for three_d in (False, True):
        wanted = [d for d in dims if (d == "3D") == three_d]
        if not wanted:
            continue
        dep = np.ones(levels.shape, np.int64)
        for d in _neighbour_offsets(three_d):
            src, dst = _shifted_pairs(levels, d)
            dep[src] += mask[dst] & (levels[dst] == levels[src])
        z = np.nonzero(mask)[0]
        entries = [np.column_stack([z, levels[mask], dep[mask]])]
        aggs = [{"2D": "2D_avg", "2_5D": "2_5D_comb", "3D": "3D_comb"}[d] for d in wanted]
        feats = _sparse_aggregate(entries, nv_slice, "ngl", aggs, not three_d)
        for d in wanted:
            agg = {"2D": "2D_avg", "2_5D": "2_5D_comb", "3D": "3D_comb"}[d]
            for k, v in feats.items():
                if k.endswith("_" + agg):
                    out[k[: -len(agg)] + d] = v
    return out
