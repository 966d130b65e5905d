"""Dice, Jaccard, volume similarity, Hausdorff and HD95 against SimpleITK, brute force and hand cases.

SimpleITK (an independent implementation, ITK's C++ filters) is the reference, run in the test::

    f = sitk.LabelOverlapMeasuresImageFilter(); f.Execute(pred_img, truth_img)
    f.GetDiceCoefficient(); f.GetJaccardCoefficient(); f.GetVolumeSimilarity()
    h = sitk.HausdorffDistanceImageFilter(); h.Execute(pred_img, truth_img); h.GetHausdorffDistance()

HD95 and ASSD (which SimpleITK lacks) are checked against a brute-force computation: surface
voxels found by looking at each voxel's face neighbours, all pairwise distances by
``scipy.spatial.distance.cdist``.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage
from scipy.spatial.distance import cdist

from biolake.cli import main
from biolake.errors import InputError
from biolake.imaging import Volume
from biolake.imaging.overlap import hausdorff, overlap_measures


def _blobs(seed: int, shape=(18, 26, 22)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.random(shape), 2) > 0.5


def _sitk(arr: np.ndarray, spacing) -> sitk.Image:
    img = sitk.GetImageFromArray(arr.astype(np.uint8))
    img.SetSpacing(tuple(float(s) for s in spacing))
    return img


def _surface_points(mask: np.ndarray, spacing_zyx) -> np.ndarray:
    """Coordinates (mm) of voxels with a face neighbour outside the mask (outside the array counts)."""
    padded = np.pad(mask, 1)
    inner = np.ones_like(mask)
    for axis in range(mask.ndim):
        for step in (-1, 1):
            inner &= np.roll(padded, step, axis=axis)[tuple(slice(1, -1) for _ in range(mask.ndim))]
    return np.argwhere(mask & ~inner) * np.asarray(spacing_zyx)


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (0.7, 0.9, 2.5)])
def test_overlap_measures__equal_simpleitk_label_overlap_and_hausdorff(spacing):
    a, b = _blobs(1), _blobs(2)
    row = overlap_measures(a.astype(np.uint8), b.astype(np.uint8), spacing=spacing).iloc[0]
    ia, ib = _sitk(a, spacing), _sitk(b, spacing)
    f = sitk.LabelOverlapMeasuresImageFilter()
    f.Execute(ia, ib)
    h = sitk.HausdorffDistanceImageFilter()
    h.Execute(ia, ib)
    assert row.dice == pytest.approx(f.GetDiceCoefficient(), abs=1e-12)
    assert row.jaccard == pytest.approx(f.GetJaccardCoefficient(), abs=1e-12)
    assert row.volume_similarity == pytest.approx(f.GetVolumeSimilarity(), abs=1e-12)
    assert row.hausdorff_mm == pytest.approx(h.GetHausdorffDistance(), rel=1e-9)
    assert row.volume_pred_mm3 == pytest.approx(a.sum() * np.prod(spacing))


def test_overlap_measures__hd95_and_assd_equal_brute_force_surface_distances():
    spacing = (0.8, 1.1, 2.0)
    a, b = _blobs(3), _blobs(4)
    row = overlap_measures(a.astype(np.uint8), b.astype(np.uint8), spacing=spacing).iloc[0]
    pa, pb = _surface_points(a, spacing[::-1]), _surface_points(b, spacing[::-1])
    d = cdist(pa, pb)
    dab, dba = d.min(axis=1), d.min(axis=0)
    assert row.hd95_mm == pytest.approx(max(np.percentile(dab, 95), np.percentile(dba, 95)), rel=1e-9)
    assert row.assd_mm == pytest.approx(np.r_[dab, dba].mean(), rel=1e-9)


def test_overlap_measures__multi_label_rows_match_simpleitk_per_label():
    a = _blobs(5).astype(np.uint8) + 2 * _blobs(6).astype(np.uint8)  # labels 0..3
    b = _blobs(7).astype(np.uint8) + 2 * _blobs(8).astype(np.uint8)
    table = overlap_measures(a, b, spacing=(1.0, 1.0, 1.0))
    assert table["label"].tolist() == [1, 2, 3]
    f = sitk.LabelOverlapMeasuresImageFilter()
    f.Execute(_sitk(a, (1, 1, 1)), _sitk(b, (1, 1, 1)))
    for _, row in table.iterrows():
        assert row.dice == pytest.approx(f.GetDiceCoefficient(int(row.label)), abs=1e-12)


def test_overlap_measures__shifted_cube_by_hand():
    a = np.zeros((8, 8, 10), np.uint8)
    b = np.zeros_like(a)
    a[2:6, 2:6, 2:6] = 1
    b[2:6, 2:6, 4:8] = 1  # shifted by 2 voxels along x (0.5 mm each)
    row = overlap_measures(a, b, spacing=(0.5, 1.0, 1.0)).iloc[0]
    assert row.dice == 0.5  # 2·32 / (64 + 64)
    assert row.jaccard == pytest.approx(1 / 3)  # 32 / 96
    assert row.hausdorff_mm == 1.0  # 2 voxels × 0.5 mm
    assert row.volume_similarity == 0.0


def test_overlap_measures__one_outlier_voxel_moves_hausdorff_not_hd95():
    a = np.zeros((30, 120), np.uint8)
    a[0, :100] = 1  # a line of 100 pixels: every pixel is on the surface
    b = a.copy()
    b[29, 0] = 1  # one stray pixel 29 mm away
    row = overlap_measures(a, b, spacing=(1.0, 1.0)).iloc[0]
    assert row.hausdorff_mm == 29.0
    assert row.hd95_mm == 0.0  # 100 of 101 distances are 0; P95 (linear) of B→A is 0
    assert row.assd_mm == pytest.approx(29.0 / 201)
    assert row.dice == pytest.approx(200 / 201)


def test_overlap_measures__empty_masks_follow_the_conventions():
    a = np.zeros((4, 5, 6), np.uint8)
    b = a.copy()
    b[1, 1, 1] = 1
    row = overlap_measures(a, b, spacing=(1, 1, 1)).iloc[0]
    assert row.dice == 0.0 and np.isinf(row.hausdorff_mm) and np.isinf(row.hd95_mm)
    row = overlap_measures(a, a, spacing=(1, 1, 1), labels=[1]).iloc[0]
    assert np.isnan(row.dice) and np.isnan(row.hausdorff_mm) and row.voxels_truth == 0
    assert np.isnan(hausdorff(a, a, spacing_zyx=(1, 1, 1)))


def test_overlap_measures__shape_mismatch_is_an_input_error():
    with pytest.raises(InputError, match="shape"):
        overlap_measures(np.zeros((3, 4, 5)), np.zeros((3, 4, 6)), spacing=(1, 1, 1))


def _write(path, arr, spacing=(1.0, 1.0, 2.0)):
    from biolake.imaging.preprocess import to_sitk

    sitk.WriteImage(to_sitk(Volume(arr, spacing=spacing)), str(path))


def _cli(*args: object) -> int:
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0


def test_evaluate__cli_writes_the_table_and_rejects_other_grids(tmp_path, capsys):
    a, b = _blobs(9).astype(np.uint8), _blobs(10).astype(np.uint8)
    _write(tmp_path / "pred.nii.gz", a)
    _write(tmp_path / "truth.nii.gz", b)
    out = tmp_path / "eval.csv"
    lake = str(tmp_path / "lake")
    code = _cli("--lake", lake, "--quiet", "imaging", "evaluate", tmp_path / "pred.nii.gz", "--truth",
                tmp_path / "truth.nii.gz", "--out", out)  # fmt: skip
    assert code == 0
    import pandas as pd

    row = pd.read_csv(out).iloc[0]
    f = sitk.LabelOverlapMeasuresImageFilter()
    f.Execute(_sitk(a, (1, 1, 2)), _sitk(b, (1, 1, 2)))
    assert row.dice == pytest.approx(f.GetDiceCoefficient(), abs=1e-12)
    _write(tmp_path / "other.nii.gz", b, spacing=(1.0, 1.0, 3.0))
    code = _cli("--lake", lake, "--quiet", "imaging", "evaluate", tmp_path / "pred.nii.gz", "--truth",
                tmp_path / "other.nii.gz", "--out", out)  # fmt: skip
    assert code == 2
    assert "does not match" in capsys.readouterr().err
