"""IBSI zone and neighbourhood texture families: GLSZM, GLDZM, NGTDM and NGLDM.

Private module of :mod:`biolake.imaging.features` (which re-exports the public functions).
"""

from __future__ import annotations

from collections.abc import Iterable

import numba
import numpy as np

from biolake.imaging._texture import (
    Features,
    _flat_offsets,
    _neighbour_offsets,
    _padded,
    _sparse_aggregate,
)


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


@numba.njit(cache=True, nogil=True)
def _zone_stats(
    labels: np.ndarray, n_zones: int, dist: np.ndarray, with_dist: bool
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
    """Per zone: its size (or its smallest distance) and the z of one of its voxels."""
    nz, ny, nx = labels.shape
    j = np.zeros(n_zones + 1, np.int64)
    if with_dist:
        j[:] = np.iinfo(np.int64).max
    zpos = np.zeros(n_zones + 1, np.int64)
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                lab = labels[z, y, x]
                if lab == 0:
                    continue
                zpos[lab] = z
                if with_dist:
                    if dist[z, y, x] < j[lab]:
                        j[lab] = dist[z, y, x]
                else:
                    j[lab] += 1
    return j, zpos


def _zone_entries(labels: np.ndarray, zone_level: np.ndarray, n_zones: int, value: np.ndarray | None) -> np.ndarray:
    """Rows ``(z of the zone, grey level, size or distance)`` for every zone."""
    dist = np.zeros((1, 1, 1), np.int64) if value is None else np.ascontiguousarray(value, dtype=np.int64)
    j, zpos = _zone_stats(labels, n_zones, dist, value is not None)
    return np.column_stack([zpos[1:], zone_level[1:], j[1:]]).astype(np.int64)


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
    return zone_features(levels, mask, dims=dims, families=("szm",))


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
    return zone_features(levels, mask, morph_mask, dims=dims, families=("dzm",))


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


def zone_features(
    levels: np.ndarray,
    mask: np.ndarray,
    morph_mask: np.ndarray | None = None,
    *,
    dims: Iterable[str] = ("2D", "2_5D", "3D"),
    families: Iterable[str] = ("szm", "dzm"),
) -> Features:
    """GLSZM and/or GLDZM features from one labelling of the zones (both families share the zones).

    ``morph_mask`` is needed for ``dzm`` (see :func:`gldzm_features`).
    """
    families = tuple(families)
    dims = tuple(dims)
    mask = np.ascontiguousarray(mask, dtype=bool)
    levels = np.ascontiguousarray(np.where(mask, levels, 0), dtype=np.int64)
    nv_slice = mask.sum(axis=(1, 2))
    out: Features = {}
    results: dict[str, Features] = {f: {} for f in families}
    for three_d in (False, True):
        wanted = [d for d in dims if (d == "3D") == three_d]
        if not wanted:
            continue
        labels, zone_level, n_zones = _zones(levels, mask, three_d)
        aggs = [{"2D": "2D_avg", "2_5D": "2_5D_comb", "3D": "3D_comb"}[d] for d in wanted]
        for family in families:
            dist = None if family == "szm" else _distance_map(np.asarray(morph_mask, bool), three_d)
            entries = [_zone_entries(labels, zone_level, n_zones, dist)]
            feats = _sparse_aggregate(entries, nv_slice, family, aggs, not three_d)
            for d in wanted:
                agg = {"2D": "2D_avg", "2_5D": "2_5D_comb", "3D": "3D_comb"}[d]
                for k, v in feats.items():
                    if k.endswith("_" + agg):
                        results[family][k[: -len(agg)] + d] = v
    for family in families:
        out.update(results[family])
    return out


# ---------------------------------------------------------- neighbourhood matrices
@numba.njit(cache=True, nogil=True)
def _neighbourhood(
    p: np.ndarray, nzp: int, nyp: int, nxp: int, offs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """One pass over the ROI's voxels (C order) of the padded flat grey levels: z, grey level,
    the sum and number of the neighbouring grey levels in the ROI (the offsets ``offs``:
    Chebyshev distance 1, 26 in 3-D, 8 in-plane in 2-D), and the dependence (1 + the
    neighbours of the same grey level)."""
    plane = nyp * nxp
    n = 0
    for i in range(p.shape[0]):
        if p[i] > 0:
            n += 1
    zs = np.empty(n, np.int64)
    gs = np.empty(n, np.int64)
    total = np.zeros(n, np.float64)
    count = np.zeros(n, np.int64)
    dep = np.ones(n, np.int64)
    k = 0
    for z in range(1, nzp - 1):
        for y in range(1, nyp - 1):
            base = z * plane + y * nxp
            for x in range(1, nxp - 1):
                i = base + x
                g = p[i]
                if g == 0:
                    continue
                zs[k] = z - 1
                gs[k] = g
                t = 0
                c = 0
                d = 1
                for o in offs:
                    h = p[i + o]
                    if h > 0:
                        t += h
                        c += 1
                        if h == g:
                            d += 1
                total[k] = t
                count[k] = c
                dep[k] = d
                k += 1
    return zs, gs, total, count, dep


def _neighbour_table(
    levels: np.ndarray, mask: np.ndarray, three_d: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    flat, shape = _padded(levels, mask)
    return _neighbourhood(flat, *shape, _flat_offsets(_neighbour_offsets(three_d), shape))


def _cached_table(
    tables: dict, levels: np.ndarray, mask: np.ndarray, three_d: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if three_d not in tables:
        tables[three_d] = _neighbour_table(levels, mask, three_d)
    return tables[three_d]


def neighbourhood_features(
    levels: np.ndarray,
    mask: np.ndarray,
    *,
    dims: Iterable[str] = ("2D", "2_5D", "3D"),
    families: Iterable[str] = ("ngt", "ngl"),
) -> Features:
    """NGTDM and/or NGLDM features from one pass over the neighbourhoods (see :func:`ngtdm_features`)."""
    tables: dict = {}
    out: Features = {}
    for family in families:
        fn = ngtdm_features if family == "ngt" else ngldm_features
        out.update(fn(levels, mask, dims=dims, _tables=tables))
    return out


def ngtdm_features(
    levels: np.ndarray, mask: np.ndarray, *, dims: Iterable[str] = ("2D", "2_5D", "3D"), _tables: dict | None = None
) -> Features:
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
    tables = {} if _tables is None else _tables
    mask = np.asarray(mask, dtype=bool)
    levels = np.where(mask, levels, 0).astype(np.int64)
    ng = int(levels.max(initial=0))
    nz = levels.shape[0]
    out: Features = {}
    for three_d in (False, True):
        wanted = [d for d in dims if (d == "3D") == three_d]
        if not wanted:
            continue
        zs, gs, total, count, _ = _cached_table(tables, levels, mask, three_d)
        valid = count > 0
        g = gs[valid] - 1
        z = zs[valid]
        absdiff = np.abs(gs[valid] - total[valid] / count[valid])
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


def ngldm_features(
    levels: np.ndarray, mask: np.ndarray, *, dims: Iterable[str] = ("2D", "2_5D", "3D"), _tables: dict | None = None
) -> Features:
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
    tables = {} if _tables is None else _tables
    mask = np.asarray(mask, dtype=bool)
    levels = np.where(mask, levels, 0).astype(np.int64)
    nv_slice = mask.sum(axis=(1, 2))
    out: Features = {}
    for three_d in (False, True):
        wanted = [d for d in dims if (d == "3D") == three_d]
        if not wanted:
            continue
        zs, gs, _, _, dep = _cached_table(tables, levels, mask, three_d)
        entries = [np.column_stack([zs, gs, dep])]
        aggs = [{"2D": "2D_avg", "2_5D": "2_5D_comb", "3D": "3D_comb"}[d] for d in wanted]
        feats = _sparse_aggregate(entries, nv_slice, "ngl", aggs, not three_d)
        for d in wanted:
            agg = {"2D": "2D_avg", "2_5D": "2_5D_comb", "3D": "3D_comb"}[d]
            for k, v in feats.items():
                if k.endswith("_" + agg):
                    out[k[: -len(agg)] + d] = v
    return out
