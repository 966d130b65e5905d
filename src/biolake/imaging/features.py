"""IBSI 1 radiomics feature kernels: plain functions over numpy arrays, no I/O.

Every function here takes arrays already prepared by :mod:`biolake.imaging.radiomics`
(the intensity image, the morphological and intensity masks, the discretised grey
levels) and returns a ``{ibsi_tag: value}`` dictionary named exactly as the IBSI 1
reference tables name the features (``morph_volume``, ``stat_mean``,
``cm_joint_max_3D_comb`` …).

Arrays are in ``(z, y, x)`` order and ``spacing`` is ``(sz, sy, sx)`` in mm. This module
holds the morphological, local-intensity, statistical, histogram and IVH families; the
texture families live in :mod:`biolake.imaging._texture` (GLCM, GLRLM) and
:mod:`biolake.imaging._zones` (GLSZM, GLDZM, NGTDM, NGLDM) and are re-exported here.
Texture matrices are built by numba kernels (GIL released) in one pass over the ROI's
voxels for every direction at once (co-occurrences, runs), zones by one flood fill shared
by GLSZM and GLDZM, neighbourhoods by one pass shared by NGTDM and NGLDM; every feature is
computed for a whole batch of matrices at once (all slices × directions of an aggregation
method). Moran's I and Geary's C are exact (an FFT quadratic form, see
:func:`_moran_geary`); the local intensity peak sums sphere rows by prefix sums.

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

from collections.abc import Sequence

import numba
import numpy as np

from biolake.imaging._texture import AGGREGATIONS, Features, _plogp, glcm_features, glrlm_features
from biolake.imaging._zones import gldzm_features, glszm_features, ngldm_features, ngtdm_features

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


def _box(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bounding box ``[lo, hi)`` of a non-empty mask, by projections (no coordinate list)."""
    lo, hi = [], []
    for axis in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        lo.append(hit[0])
        hi.append(hit[-1] + 1)
    return np.array(lo), np.array(hi)


def _even_fast_len(n: int) -> int:
    """The smallest even FFT-friendly length ≥ 2n − 1 (a correlation over n points without wrap-around)."""
    import scipy.fft as sfft

    k = max(2 * n - 1, 2)
    while True:
        k = sfft.next_fast_len(k, real=True)
        if k % 2 == 0:
            return k
        k += 1


def _moran_geary(values: np.ndarray, mask: np.ndarray, spacing: np.ndarray) -> tuple[float, float]:
    """Moran's I and Geary's C with weights 1/distance, exactly, by FFT over the ROI's box.

    The weights depend only on the offset between two voxels, so every double sum over
    voxel pairs ``Σ_ij a_i w(j − i) b_j`` is a quadratic form that Parseval's theorem
    turns into ``Σ_k conj(A_k) B_k W_k / N`` on a grid of at least 2n − 1 points per axis
    (no wrap-around between voxels of the box). The kernel ``1/|offset|`` is even along
    every axis, so its DFT ``W`` is real: a DCT-I of one octant. Three forward FFTs
    (mask, deviations, squared deviations), pruned to the non-zero rows, and no inverse;
    the sums over the spectrum by a numba kernel, block by block.
    """
    import scipy.fft as sfft

    lo, hi = _box(mask)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    mb = mask[box]
    fshape = [_even_fast_len(k) for k in mb.shape]
    n0, n1, n2 = mb.shape
    # the fields (mask, deviations, squared deviations), zero-padded along x
    fields = np.zeros((3, n0, n1, fshape[2]))
    m = fields[0, :, :, :n2]
    m[mb] = 1.0
    x = values[box][mb].astype(np.float64)
    n = float(x.size)
    dev = fields[1, :, :, :n2]
    dev[mb] = x - x.mean()
    np.square(dev, out=fields[2, :, :, :n2])
    ss = float(fields[2].sum())
    octant = [np.arange(f // 2 + 1) * s for f, s in zip(fshape, spacing, strict=True)]
    d2 = octant[0][:, None, None] ** 2 + octant[1][None, :, None] ** 2 + octant[2][None, None, :] ** 2
    d2[0, 0, 0] = 1.0
    kernel = 1.0 / np.sqrt(d2)
    kernel[0, 0, 0] = 0.0  # no self-weight
    fk = sfft.dctn(kernel, type=1, workers=-1)  # the DFT at frequencies 0 … f/2 of every axis
    # zero-padded transforms, pruned: each axis only over the rows that are not all zero;
    # the y axis block by block of z frequencies, reduced at once (bounded memory)
    spec = sfft.rfft(fields, axis=3, workers=-1)
    del fields, m, dev
    h2 = spec.shape[3]
    padded = np.zeros((3, fshape[0], n1, h2), np.complex128)
    padded[:, :n0] = spec
    del spec
    spec = sfft.fft(padded, axis=1, overwrite_x=True, workers=-1)
    step = max(1, (1 << 23) // (3 * fshape[1] * h2 * 16))
    block = np.zeros((3, step, fshape[1], h2), np.complex128)
    sums = np.zeros(3)
    for start in range(0, fshape[0], step):
        w = min(step, fshape[0] - start)
        block[:, :w, :n1] = spec[:, start : start + w]
        done = sfft.fft(block[:, :w], axis=2, workers=-1)
        sums += _parseval_sums(fk, done, fshape[0], fshape[1], start)
    w_total, cross, d2wm = sums / float(np.prod(fshape))
    if ss == 0 or w_total == 0:
        return float("nan"), float("nan")
    moran = n / w_total * cross / ss
    geary = (n - 1) / (2 * w_total) * (2 * d2wm - 2 * cross) / ss
    return float(moran), float(geary)


@numba.njit(cache=True, nogil=True)
def _parseval_sums(fk: np.ndarray, block: np.ndarray, f0: int, f1: int, start: int) -> np.ndarray:  # pragma: no cover
    """``Σ W|M|², Σ W|D|², Σ W Re(conj(D²)·M)`` over a block of the half spectrum.

    ``fk`` holds the kernel's real DFT at frequencies 0 … f/2 of every axis (the others
    mirror them); ``block`` the spectra of (mask, deviations, squared deviations) at
    frequencies ``start …`` of axis 0, all frequencies of axis 1 and 0 … f2/2 of axis 2
    (rfft: the frequencies strictly between 0 and f2/2 count twice).
    """
    out = np.zeros(3)
    _, n0, n1, n2 = block.shape
    for a in range(n0):
        ka = start + a
        ia = min(ka, f0 - ka)
        for b in range(n1):
            ib = min(b, f1 - b)
            for c in range(n2):
                w = fk[ia, ib, c]
                if 0 < c < n2 - 1:
                    w *= 2.0
                mm = block[0, a, b, c]
                dd = block[1, a, b, c]
                ee = block[2, a, b, c]
                out[0] += w * (mm.real * mm.real + mm.imag * mm.imag)
                out[1] += w * (dd.real * dd.real + dd.imag * dd.imag)
                out[2] += w * (ee.real * mm.real + ee.imag * mm.imag)
    return out


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
    box_voxels = int(np.prod(2 * np.subtract(*_box(int_mask)[::-1]))) if ivals.size else 0
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
    spacing = np.asarray(spacing, dtype=np.float64)
    radius = (3.0 / (4.0 * np.pi) * 1000.0) ** (1.0 / 3.0)
    half = np.floor(radius / spacing).astype(int)
    grids = np.meshgrid(*[np.arange(-h, h + 1) * s for h, s in zip(half, spacing, strict=True)], indexing="ij")
    kernel = sum(g**2 for g in grids) <= radius**2
    if not int_mask.any():
        return {"loc_peak_loc": float("nan"), "loc_peak_glob": float("nan")}
    box_lo, box_hi = _box(int_mask)
    lo = np.maximum(box_lo - half, 0)
    hi = np.minimum(box_hi + half, image.shape)
    crop = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    img = np.ascontiguousarray(image[crop], dtype=np.float64)
    m = np.ascontiguousarray(int_mask[crop], dtype=np.bool_)
    # the sphere as rows along x: offsets (dz, dy) and half-width w (x offsets −w … w)
    widths = kernel.sum(axis=2)
    rz, ry = np.nonzero(widths)
    rows = np.column_stack([rz - half[0], ry - half[1], (widths[rz, ry] - 1) // 2]).astype(np.int64)
    loc = _sphere_means(img, m, rows)  # the ROI's voxels in C order, as img[m]
    vals = img[m]
    peak_loc = float(loc[vals == vals.max()].max())
    return {"loc_peak_loc": peak_loc, "loc_peak_glob": float(loc.max())}


@numba.njit(cache=True, nogil=True)
def _sphere_means(img: np.ndarray, mask: np.ndarray, rows: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Mean of the image over a sphere (given as rows along x) around every ROI voxel.

    Sums of rows come from prefix sums along x (exact for integer intensities); voxels of
    the sphere outside the array are not counted.
    """
    nz, ny, nx = img.shape
    prefix = np.zeros((nz, ny, nx + 1))
    n = 0
    for z in range(nz):
        for y in range(ny):
            acc = 0.0
            for x in range(nx):
                acc += img[z, y, x]
                prefix[z, y, x + 1] = acc
                if mask[z, y, x]:
                    n += 1
    out = np.empty(n)
    k = 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if not mask[z, y, x]:
                    continue
                total = 0.0
                count = 0
                for r in range(rows.shape[0]):
                    qz = z + rows[r, 0]
                    qy = y + rows[r, 1]
                    if qz < 0 or qz >= nz or qy < 0 or qy >= ny:
                        continue
                    a = max(x - rows[r, 2], 0)
                    b = min(x + rows[r, 2] + 1, nx)
                    total += prefix[qz, qy, b] - prefix[qz, qy, a]
                    count += b - a
                out[k] = total / count
                k += 1
    return out


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


def _histogram_stats(values: np.ndarray, counts: np.ndarray, prefix: str) -> Features:
    """:func:`_stats` of data given as distinct ascending ``values`` with ``counts`` (grey levels).

    The same definitions (percentiles as numpy's linear method on the sorted data) in
    O(number of levels) after the histogram.
    """
    x = values.astype(np.float64)
    w = counts.astype(np.float64)
    n = w.sum()
    mean = float((w * x).sum() / n)
    dev = x - mean
    m2 = float((w * dev**2).sum() / n)
    cum = np.cumsum(counts)

    def sorted_at(k: np.ndarray) -> np.ndarray:  # the k-th smallest voxel value
        return x[np.searchsorted(cum, k, side="right")]

    virtual = np.array([10, 25, 50, 75, 90]) / 100 * (int(n) - 1)
    below = np.floor(virtual)
    a = sorted_at(below.astype(np.int64))
    b = sorted_at(np.minimum(below + 1, int(n) - 1).astype(np.int64))
    t = virtual - below
    diff = b - a
    p10, p25, p50, p75, p90 = np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)  # numpy's lerp
    robust = (x >= p10) & (x <= p90)
    xr, wr = x[robust], w[robust]
    with np.errstate(invalid="ignore"):  # no level between p10 and p90 (tiny ROIs): NaN
        mean_r = (wr * xr).sum() / wr.sum()
        rmad = (wr * np.abs(xr - mean_r)).sum() / wr.sum()
    out = {
        "mean": mean,
        "var": m2,
        "skew": float((w * dev**3).sum() / n / m2**1.5) if m2 > 0 else 0.0,
        "kurt": float((w * dev**4).sum() / n / m2**2 - 3) if m2 > 0 else 0.0,
        "median": p50,
        "min": x[0],
        "p10": p10,
        "p90": p90,
        "max": x[-1],
        "iqr": p75 - p25,
        "range": x[-1] - x[0],
        "mad": (w * np.abs(dev)).sum() / n,
        "rmad": rmad,
        "medad": (w * np.abs(x - p50)).sum() / n,
        "cov": np.sqrt(m2) / mean if mean != 0 else float("nan"),
        "qcod": (p75 - p25) / (p75 + p25) if (p75 + p25) != 0 else float("nan"),
    }
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
    x = np.asarray(values, dtype=np.float64)
    if x.size and float(x.max()) - float(x.min()) <= _MAX_HISTOGRAM_BINS and np.array_equal(x, np.round(x)):
        # integer intensities (CT HU): the same statistics from the histogram, no sort
        low = float(x.min())
        counts = np.bincount((x - low).astype(np.int64))
        present = np.flatnonzero(counts)
        out = _histogram_stats(present + low, counts[present], "stat")
        energy = float((counts[present] * (present + low) ** 2).sum())
        out["stat_energy"] = energy
        out["stat_rms"] = float(np.sqrt(energy / x.size))
        return out
    return _stats(x, "stat")


_MAX_HISTOGRAM_BINS = 1 << 20


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
    if x.size == 0:
        return _stats(x, "ih")
    ng = max(int(n_levels), int(x.max()))
    counts = np.bincount(x, minlength=ng + 1)
    present = np.flatnonzero(counts)
    out = _histogram_stats(present, counts[present], "ih")
    hist = counts[1:].astype(np.float64)
    p = hist / hist.sum()
    modes = np.flatnonzero(hist == hist.max()) + 1
    out["ih_mode"] = float(modes[np.argmin(np.abs(modes - out["ih_mean"]))])
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
