"""The fast paths of the radiomics kernels against direct computations written from the IBSI text.

Local intensity (a sphere of 1 cm³ around every ROI voxel, by row prefix sums), the
intensity-histogram statistics (from the grey-level histogram) and the families that share
one pass (zones for GLSZM + GLDZM, neighbourhoods for NGTDM + NGLDM) are checked on small
random volumes against brute-force loops, numpy/scipy, or the families computed alone.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from biolake.imaging import features as F
from biolake.imaging._zones import neighbourhood_features, zone_features


@pytest.mark.parametrize(("shape", "spacing"), [((5, 9, 8), (2.0, 0.9, 1.1)), ((4, 6, 7), (3.0, 2.5, 2.0))])
def test_local_intensity_features__matches_brute_force_spheres(shape, spacing):
    rng = np.random.default_rng(sum(shape))
    image = np.round(rng.normal(0, 100, size=shape), 1)
    mask = rng.random(shape) > 0.4
    radius = (3 / (4 * np.pi) * 1000) ** (1 / 3)  # 1 cm³
    pos = np.stack(np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, spacing, strict=True)], indexing="ij"), -1)
    means = {}
    for p in zip(*np.nonzero(mask), strict=True):
        near = ((pos - pos[p]) ** 2).sum(-1) <= radius**2
        means[p] = image[near].mean()  # the sphere's voxels in the image (outside the ROI too)
    top = max(image[p] for p in means)
    got = F.local_intensity_features(image, mask, spacing)
    assert got["loc_peak_glob"] == pytest.approx(max(means.values()), rel=1e-12)
    assert got["loc_peak_loc"] == pytest.approx(max(v for p, v in means.items() if image[p] == top), rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_intensity_histogram_features__statistics_match_numpy(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 12, size=int(rng.integers(5, 300)))
    got = F.intensity_histogram_features(x, n_levels=12)
    for q in (10, 90):
        assert got[f"ih_p{q}"] == pytest.approx(np.percentile(x, q), abs=1e-12)
    assert got["ih_median"] == pytest.approx(np.median(x), abs=1e-12)
    assert got["ih_iqr"] == pytest.approx(np.subtract(*np.percentile(x, [75, 25])), abs=1e-12)
    assert got["ih_mean"] == pytest.approx(x.mean(), rel=1e-14)
    assert got["ih_var"] == pytest.approx(x.var(), rel=1e-12)
    assert got["ih_skew"] == pytest.approx(stats.skew(x), rel=1e-9, abs=1e-12)
    assert got["ih_kurt"] == pytest.approx(stats.kurtosis(x), rel=1e-9, abs=1e-12)
    assert got["ih_mad"] == pytest.approx(np.abs(x - x.mean()).mean(), rel=1e-12)
    assert got["ih_medad"] == pytest.approx(np.abs(x - np.median(x)).mean(), rel=1e-12)
    lo, hi = np.percentile(x, [10, 90])
    r = x[(x >= lo) & (x <= hi)]
    assert got["ih_rmad"] == pytest.approx(np.abs(r - r.mean()).mean(), rel=1e-12)
    assert (got["ih_min"], got["ih_max"]) == (x.min(), x.max())


@pytest.mark.parametrize("seed", [0, 1])
def test_zone_and_neighbourhood_features__one_pass_equals_each_family_alone(seed):
    rng = np.random.default_rng(seed)
    levels = rng.integers(1, 4, size=(4, 7, 6))
    mask = rng.random(levels.shape) > 0.25
    morph = mask | (rng.random(levels.shape) > 0.8)
    dims = ("2D", "2_5D", "3D")
    alone = {**F.glszm_features(levels, mask, dims=dims), **F.gldzm_features(levels, mask, morph, dims=dims)}
    assert zone_features(levels, mask, morph, dims=dims) == alone
    alone = {**F.ngtdm_features(levels, mask, dims=dims), **F.ngldm_features(levels, mask, dims=dims)}
    assert neighbourhood_features(levels, mask, dims=dims) == alone
