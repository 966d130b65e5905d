"""The vectorised texture kernels against plain per-voxel loops written from the IBSI text.

The loops below are deliberately naive (one Python iteration per voxel pair, run or zone)
and independent of biolake's code; small random volumes with holes in the ROI exercise
the edges, the mask and every aggregation method.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from biolake.errors import InputError
from biolake.imaging import RadiomicsSettings, Volume, load_settings, radiomics_features
from biolake.imaging import features as F

DIRS_13 = [
    d for d in itertools.product((-1, 0, 1), repeat=3) if d > (0, 0, 0) and d != (0, 0, 0)
]  # 13 unique directions (one of each ± pair)
DIRS_4 = [d for d in DIRS_13 if d[0] == 0]


def _case(seed: int, shape=(4, 6, 7), ng=4):
    rng = np.random.default_rng(seed)
    levels = rng.integers(1, ng + 1, size=shape)
    mask = rng.random(shape) > 0.2
    return levels, mask, ng


def _inside(shape, p):
    return all(0 <= c < n for c, n in zip(p, shape, strict=True))


def _glcm_loop(levels, mask, ng, dirs, slices=None):
    m = np.zeros((ng, ng))
    for p in zip(*np.nonzero(mask), strict=True):
        if slices is not None and p[0] not in slices:
            continue
        for d in dirs:
            for sign in (1, -1):
                q = tuple(a + sign * b for a, b in zip(p, d, strict=True))
                if _inside(levels.shape, q) and mask[q]:
                    m[levels[p] - 1, levels[q] - 1] += 1
    return m


def _glcm_joint_entropy_and_contrast(m):
    p = m / m.sum()
    ng = m.shape[0]
    ent = -sum(p[i, j] * math.log2(p[i, j]) for i in range(ng) for j in range(ng) if p[i, j] > 0)
    con = sum(p[i, j] * (i - j) ** 2 for i in range(ng) for j in range(ng))
    return ent, con


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kernels__glcm_matches_loops_for_every_aggregation(seed):
    levels, mask, ng = _case(seed)
    got = F.glcm_features(levels, mask, n_levels=ng)
    nz = levels.shape[0]
    # 3D merged: all 13 directions in one matrix
    ent, con = _glcm_joint_entropy_and_contrast(_glcm_loop(levels, mask, ng, DIRS_13))
    assert got["cm_joint_entr_3D_comb"] == pytest.approx(ent, rel=1e-12)
    assert got["cm_contrast_3D_comb"] == pytest.approx(con, rel=1e-12)
    # 3D averaged: one matrix per direction
    per = [_glcm_joint_entropy_and_contrast(_glcm_loop(levels, mask, ng, [d])) for d in DIRS_13]
    assert got["cm_joint_entr_3D_avg"] == pytest.approx(np.mean([e for e, _ in per]), rel=1e-12)
    # 2D averaged: one matrix per slice and in-plane direction (empty ones skipped)
    vals = []
    for z in range(nz):
        for d in DIRS_4:
            m = _glcm_loop(levels, mask, ng, [d], slices={z})
            if m.sum():
                vals.append(_glcm_joint_entropy_and_contrast(m)[1])
    assert got["cm_contrast_2D_avg"] == pytest.approx(np.mean(vals), rel=1e-12)
    # 2.5D merged: every slice and in-plane direction in one matrix
    ent, _ = _glcm_joint_entropy_and_contrast(_glcm_loop(levels, mask, ng, DIRS_4))
    assert got["cm_joint_entr_2_5D_comb"] == pytest.approx(ent, rel=1e-12)


def _runs_loop(levels, mask, d):
    runs = []
    for p in zip(*np.nonzero(mask), strict=True):
        prev = tuple(a - b for a, b in zip(p, d, strict=True))
        if _inside(levels.shape, prev) and mask[prev] and levels[prev] == levels[p]:
            continue
        n, q = 1, tuple(a + b for a, b in zip(p, d, strict=True))
        while _inside(levels.shape, q) and mask[q] and levels[q] == levels[p]:
            n += 1
            q = tuple(a + b for a, b in zip(q, d, strict=True))
        runs.append((levels[p], n))
    return runs


@pytest.mark.parametrize("seed", [0, 3])
def test_kernels__glrlm_matches_loops(seed):
    levels, mask, _ = _case(seed)
    got = F.glrlm_features(levels, mask, aggregations=("3D_avg", "3D_comb"))
    all_runs = [r for d in DIRS_13 for r in _runs_loop(levels, mask, d)]
    sre = sum(1 / n**2 for _, n in all_runs) / len(all_runs)
    assert got["rlm_sre_3D_comb"] == pytest.approx(sre, rel=1e-12)
    assert got["rlm_r_perc_3D_comb"] == pytest.approx(len(all_runs) / (13 * mask.sum()), rel=1e-12)
    lre = [np.mean([n**2 for _, n in _runs_loop(levels, mask, d)]) for d in DIRS_13]
    assert got["rlm_lre_3D_avg"] == pytest.approx(np.mean(lre), rel=1e-12)


def _zones_loop(levels, mask, offsets):
    seen = np.zeros(mask.shape, bool)
    zones = []
    for p in zip(*np.nonzero(mask), strict=True):
        if seen[p]:
            continue
        seen[p] = True
        stack, members = [p], []
        while stack:
            c = stack.pop()
            members.append(c)
            for d in offsets:
                q = tuple(a + b for a, b in zip(c, d, strict=True))
                if _inside(mask.shape, q) and mask[q] and not seen[q] and levels[q] == levels[p]:
                    seen[q] = True
                    stack.append(q)
        zones.append((levels[p], members))
    return zones


@pytest.mark.parametrize("seed", [0, 4])
def test_kernels__glszm_and_gldzm_match_loops(seed):
    levels, mask, _ = _case(seed)
    offsets = [d for d in itertools.product((-1, 0, 1), repeat=3) if d != (0, 0, 0)]
    zones = _zones_loop(levels, mask, offsets)
    got = F.glszm_features(levels, mask, dims=("3D",))
    sizes = [len(m) for _, m in zones]
    assert got["szm_lze_3D"] == pytest.approx(np.mean(np.square(sizes)), rel=1e-12)
    assert got["szm_z_perc_3D"] == pytest.approx(len(zones) / mask.sum(), rel=1e-12)
    # distance of a voxel to the ROI edge: 1 + city-block steps to the nearest outside voxel
    padded = np.pad(mask, 1)
    outside = np.argwhere(~padded)

    def dist(p):
        q = np.array(p) + 1
        return int(np.abs(outside - q).sum(axis=1).min())

    dists = [min(dist(p) for p in m) for _, m in zones]
    got_d = F.gldzm_features(levels, mask, mask, dims=("3D",))
    assert got_d["dzm_lde_3D"] == pytest.approx(np.mean(np.square(dists)), rel=1e-12)
    assert got_d["dzm_sde_3D"] == pytest.approx(np.mean(1 / np.square(dists)), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 5])
def test_kernels__ngtdm_and_ngldm_match_loops(seed):
    levels, mask, ng = _case(seed)
    offsets = [d for d in itertools.product((-1, 0, 1), repeat=3) if d != (0, 0, 0)]
    n = np.zeros(ng)
    s = np.zeros(ng)
    dependences = []
    for p in zip(*np.nonzero(mask), strict=True):
        neigh = [
            levels[q]
            for q in (tuple(a + b for a, b in zip(p, d, strict=True)) for d in offsets)
            if _inside(mask.shape, q) and mask[q]
        ]
        dependences.append(1 + sum(v == levels[p] for v in neigh))
        if neigh:
            n[levels[p] - 1] += 1
            s[levels[p] - 1] += abs(levels[p] - np.mean(neigh))
    pr = n / n.sum()
    coarseness = 1 / (pr * s).sum()
    got = F.ngtdm_features(levels, mask, dims=("3D",))
    assert got["ngt_coarseness_3D"] == pytest.approx(coarseness, rel=1e-12)
    got_l = F.ngldm_features(levels, mask, dims=("3D",))
    assert got_l["ngl_hde_3D"] == pytest.approx(np.mean(np.square(dependences)), rel=1e-12)


def test_kernels__moran_and_geary_match_the_double_sum():
    rng = np.random.default_rng(7)
    image = rng.normal(size=(4, 5, 6))
    mask = rng.random(image.shape) > 0.3
    spacing = np.array([2.0, 0.7, 0.9])
    pos = np.argwhere(mask) * spacing
    x = image[mask]
    dev = x - x.mean()
    w = 1 / np.sqrt(((pos[:, None] - pos[None]) ** 2).sum(-1) + np.eye(len(x)))
    np.fill_diagonal(w, 0)
    moran = len(x) / w.sum() * (w * np.outer(dev, dev)).sum() / (dev**2).sum()
    geary = (len(x) - 1) / (2 * w.sum()) * (w * (x[:, None] - x[None]) ** 2).sum() / (dev**2).sum()
    got = F.morphology_features(image, mask, mask, spacing)
    assert got["morph_moran_i"] == pytest.approx(moran, rel=1e-9)
    assert got["morph_geary_c"] == pytest.approx(geary, rel=1e-9)


def test_kernels__statistics_follow_ibsi_definitions():
    x = np.array([1.0, 2, 2, 3, 10])
    got = F.statistics_features(x)
    assert got["stat_var"] == pytest.approx(np.var(x))
    assert got["stat_kurt"] == pytest.approx(((x - x.mean()) ** 4).mean() / np.var(x) ** 2 - 3)
    assert got["stat_p10"] == pytest.approx(np.percentile(x, 10))
    assert got["stat_energy"] == pytest.approx((x**2).sum())


# ------------------------------------------------------------------- settings, errors
def test_settings__validated_at_the_boundary():
    with pytest.raises(InputError, match="'aggregation' parameter of RadiomicsSettings"):
        RadiomicsSettings(aggregation=("4D",))
    with pytest.raises(InputError, match="'discretization'"):
        RadiomicsSettings(discretization={"method": "fixed_bin_number", "n": 0})
    with pytest.raises(InputError, match="'resample'"):
        RadiomicsSettings(resample=(1.0, -2.0, 1.0))


def test_settings__yaml_file_overrides_a_configuration(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("discretization: {method: fixed_bin_number, n: 16}\naggregation: [3D_comb]\nresample: none\n")
    s = load_settings(path, config="C")
    assert s.discretization == {"method": "fixed_bin_number", "n": 16}
    assert s.aggregation == ("3D_comb",)
    assert s.resample is None
    assert s.resegment_range == (-1000.0, 400.0)
    path.write_text("bins: 3\n")
    with pytest.raises(InputError, match=r"params.yaml: unknown setting\(s\) bins"):
        load_settings(path)


def test_radiomics__bad_inputs_are_input_errors():
    image = Volume(np.random.default_rng(0).normal(size=(3, 8, 8)))
    with pytest.raises(InputError, match="mask is empty"):
        radiomics_features(image, np.zeros((3, 8, 8)))
    with pytest.raises(InputError, match="differs from the image"):
        radiomics_features(image, np.ones((2, 8, 8)))
    with pytest.raises(InputError, match="integer grey levels"):
        radiomics_features(image, np.ones((3, 8, 8)), settings=RadiomicsSettings(discretization={"method": "none"}))


def test_radiomics__degenerate_rois_give_nan_for_undefined_features_only():
    """A constant image, a single voxel and a single slice: no warning, NaN only where undefined."""
    from biolake.imaging import FAMILIES

    every = RadiomicsSettings(families=FAMILIES, aggregation=F.AGGREGATIONS)
    constant = radiomics_features(Volume(np.full((3, 8, 8), 5.0)), np.ones((3, 8, 8)), settings=every)
    undefined = {k for k, v in constant.items() if np.isnan(v)}
    assert undefined <= {
        "morph_moran_i",
        "morph_geary_c",
        "ivh_auc",
        *(f"cm_{f}_{a}" for f in ("corr", "info_corr1") for a in F.AGGREGATIONS),
    }
    assert constant["stat_var"] == 0 and constant["ih_entropy"] == 0 and constant["cm_energy_3D_comb"] == 1
    one = np.zeros((3, 8, 8), bool)
    one[1, 3, 3] = True
    single = radiomics_features(Volume(np.random.default_rng(1).normal(size=(3, 8, 8))), one, settings=every)
    assert single["morph_vol_approx"] == 1 and single["szm_z_perc_3D"] == 1
    flat = radiomics_features(
        Volume(np.random.default_rng(2).normal(size=(1, 20, 20)), spacing=(0.5, 0.5, 1.0)),
        np.pad(np.ones((1, 10, 12)), ((0, 0), (5, 5), (4, 4))),
        settings=RadiomicsSettings(aggregation=("2D_avg", "2D_comb")),
    )
    assert flat["morph_vol_approx"] == pytest.approx(120 * 0.25)
    assert not np.isnan(flat["cm_contrast_2D_avg"]) and not np.isnan(flat["morph_area_dens_aee"])
