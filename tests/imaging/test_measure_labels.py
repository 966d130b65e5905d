"""``measure_labels`` on phantoms with analytic answers and against SimpleITK's label statistics filters."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from biolake.cli import main
from biolake.errors import InputError
from biolake.imaging import RadiomicsSettings, Volume, radiomics_features
from biolake.imaging.demo import synthetic_ct
from biolake.imaging.measure import MEASURE_COLUMNS, axial_feret_diameter, measure_labels
from biolake.imaging.preprocess import to_sitk


def _sphere(r: float, spacing: tuple[float, float, float]) -> np.ndarray:
    n = [math.ceil(2 * r / s) + 4 for s in spacing]
    x, y, z = ((np.arange(k) - (k - 1) / 2) * s for k, s in zip(n, spacing, strict=True))
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    return (xx**2 + yy**2 + zz**2 <= r * r).astype(np.uint8)


@pytest.mark.parametrize("spacing", [(0.5, 0.5, 0.5), (0.7, 0.7, 1.5)])
def test_measure_labels__sphere_matches_the_analytic_volume_and_diameter(spacing):
    r = 10.0
    m = _sphere(r, spacing)
    row = measure_labels(Volume(np.zeros(m.shape), spacing=spacing), m).iloc[0]
    assert row.volume_mm3 == pytest.approx(4 / 3 * math.pi * r**3, rel=0.005)  # voxelised sphere: < 0.5 %
    # edge-to-edge in-plane diameter: at least 2r, at most 2r + one pixel diagonal
    assert 2 * r <= row.longest_axial_diameter_mm <= 2 * r + math.hypot(spacing[0], spacing[1])
    # the marching-cubes mesh of a voxelised sphere overestimates its area (staircase): within 15 %
    assert row.surface_area_mm2 == pytest.approx(4 * math.pi * r**2, rel=0.15)
    # ... and is the mesh of the IBSI-validated feature morph_area_mesh
    feats = radiomics_features(
        Volume(np.zeros(m.shape), spacing=spacing), m.astype(bool), settings=RadiomicsSettings(families=("morph",))
    )
    assert row.surface_area_mm2 == pytest.approx(feats["morph_area_mesh"], rel=1e-9)
    assert row.volume_mm3 == pytest.approx(feats["morph_vol_approx"], rel=1e-12)


def test_measure_labels__box_exact_volume_centroid_and_feret():
    spacing = (0.8, 1.2, 2.5)
    m = np.zeros((8, 12, 14), np.uint8)
    m[2:5, 3:8, 4:11] = 3  # 3 slices × 5 rows × 7 columns
    img = np.arange(m.size, dtype=np.float64).reshape(m.shape)
    row = measure_labels(Volume(img, spacing=spacing, origin=(10, 20, 30)), m).iloc[0]
    assert row.label == 3 and row.voxels == 105
    assert row.volume_mm3 == pytest.approx(105 * 0.8 * 1.2 * 2.5, rel=1e-15)
    assert row.longest_axial_diameter_mm == pytest.approx(math.hypot(7 * 0.8, 5 * 1.2), rel=1e-12)
    assert (row.centroid_x, row.centroid_y, row.centroid_z) == pytest.approx((10 + 7 * 0.8, 20 + 5 * 1.2, 30 + 3 * 2.5))
    assert [row[c] for c in ("bbox_x0", "bbox_y0", "bbox_z0", "bbox_x1", "bbox_y1", "bbox_z1")] == [4, 3, 2, 10, 7, 4]
    values = img[m == 3]
    assert row["mean"] == pytest.approx(values.mean()) and row["median"] == pytest.approx(np.median(values))
    assert (row["min"], row["max"]) == (values.min(), values.max())
    assert row.diameter_slice == 2  # every slice has the same extent: the first


def test_axial_feret_diameter__l_shape_and_single_pixel():
    m = np.zeros((1, 6, 6), bool)
    m[0, 0, 0] = True
    assert axial_feret_diameter(m, (2.0, 3.0, 1.0)) == (pytest.approx(math.hypot(2, 3)), 0)
    m[0, 0:5, 0] = True
    m[0, 4, 0:4] = True  # an L: corners (0, 0) and (4, 5) in (x, y) pixel edges
    assert axial_feret_diameter(m, (1.0, 1.0, 1.0))[0] == pytest.approx(math.hypot(4, 5))
    assert axial_feret_diameter(np.zeros((2, 3, 3), bool), (1.0, 1.0, 1.0)) == (0.0, -1)


def test_measure_labels__agrees_with_simpleitk_label_filters():
    image, lesion = synthetic_ct(seed=4, shape=(14, 40, 44), spacing=(0.9, 0.8, 2.0))
    image.direction = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # rotated in-plane
    labels = lesion.array.astype(np.uint16) * 7
    labels[3:6, 2:9, 30:40] = 2
    labels[10, 20, 5] = 300  # a single voxel
    mask = Volume(labels, spacing=image.spacing, origin=image.origin, direction=image.direction)
    table = measure_labels(image, mask).set_index("label")
    assert list(table.reset_index().columns) == MEASURE_COLUMNS
    shape = sitk.LabelShapeStatisticsImageFilter()
    shape.Execute(to_sitk(mask))
    stats = sitk.LabelStatisticsImageFilter()
    stats.Execute(to_sitk(image, dtype=np.float64), to_sitk(mask))
    assert sorted(table.index) == sorted(shape.GetLabels()) == [2, 7, 300]
    for label in shape.GetLabels():
        row = table.loc[label]
        assert row.voxels == shape.GetNumberOfPixels(label) == stats.GetCount(label)
        assert row.volume_mm3 == pytest.approx(shape.GetPhysicalSize(label), rel=1e-9)
        assert (row.centroid_x, row.centroid_y, row.centroid_z) == pytest.approx(shape.GetCentroid(label), abs=1e-9)
        x0, y0, z0, nx, ny, nz = shape.GetBoundingBox(label)
        assert (row.bbox_x0, row.bbox_y0, row.bbox_z0) == (x0, y0, z0)
        assert (row.bbox_x1, row.bbox_y1, row.bbox_z1) == (x0 + nx - 1, y0 + ny - 1, z0 + nz - 1)
        assert row["mean"] == pytest.approx(stats.GetMean(label), rel=1e-9, abs=1e-9)
        assert (row["min"], row["max"]) == (stats.GetMinimum(label), stats.GetMaximum(label))
        if label != 300:
            assert row["sd"] == pytest.approx(stats.GetSigma(label), rel=1e-9)
    assert math.isnan(table.loc[300, "sd"])


def test_measure_labels__errors_and_cli(tmp_path, capsys):
    image, lesion = synthetic_ct(seed=5, shape=(10, 32, 32), spacing=(1.0, 1.0, 2.0))
    with pytest.raises(InputError, match=r"label 4 is not in the mask \(labels: \[1\]\)"):
        measure_labels(image, lesion, labels=[4])
    sitk.WriteImage(to_sitk(image), str(tmp_path / "ct.nii.gz"))
    sitk.WriteImage(to_sitk(lesion), str(tmp_path / "lesion.nii.gz"))
    small = Volume(lesion.array[:5], spacing=lesion.spacing, origin=lesion.origin)
    sitk.WriteImage(to_sitk(small), str(tmp_path / "small.nii.gz"))
    base = ["imaging", "measure", str(tmp_path / "ct.nii.gz"), "--lake", str(tmp_path / "lake"), "-q"]

    def cli(*extra: str) -> int:
        try:
            main([*base, *extra])
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 0
        return 0

    assert cli("--mask", str(tmp_path / "lesion.nii.gz"), "--out", str(tmp_path / "m.parquet")) == 0
    df = pd.read_parquet(tmp_path / "m.parquet")
    assert list(df.columns) == ["image", "mask", *MEASURE_COLUMNS]
    assert df["voxels"].tolist() == [int(lesion.array.sum())]
    assert cli("--mask", str(tmp_path / "small.nii.gz"), "--out", str(tmp_path / "x.csv")) == 2
    assert "does not match the image's" in capsys.readouterr().err
    assert cli("--out", str(tmp_path / "x.csv")) == 2
    assert "no --mask given" in capsys.readouterr().err
