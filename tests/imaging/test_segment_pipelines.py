"""Segmentation pipelines and preprocessing on hand-made phantoms whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from biolake.cli import main
from biolake.errors import InputError
from biolake.imaging import Volume
from biolake.imaging.demo import synthetic_ct
from biolake.imaging.preprocess import n4_bias_correction, normalize, resample_isotropic, to_sitk, window
from biolake.imaging.segment import segment


def _chest(rng_seed: int = 0) -> tuple[Volume, np.ndarray, np.ndarray]:
    """Air outside, a 0 HU body box, two -900 HU lung boxes (left one with a 60 HU vessel), noise σ 10."""
    rng = np.random.default_rng(rng_seed)
    arr = np.full((12, 40, 50), -1000.0)
    arr[:, 4:36, 3:47] = 0
    right = np.zeros(arr.shape, bool)
    left = np.zeros(arr.shape, bool)
    right[1:11, 8:32, 6:22] = True
    left[1:11, 8:32, 28:44] = True
    arr[right | left] = -900
    arr[:, 18:20, 34:36] = 60  # a vessel through the left lung (inside its box)
    arr += rng.normal(0, 10, arr.shape)
    return Volume(np.round(arr).astype(np.int16), spacing=(1.0, 1.0, 2.5)), right, left


def test_segment__body_is_the_box_with_lungs_filled():
    vol, _, _ = _chest()
    labels, names = segment(vol, method="body")
    expected = np.zeros(vol.shape, bool)
    expected[:, 4:36, 3:47] = True
    assert names == {1: "body"}
    np.testing.assert_array_equal(labels.astype(bool), expected)


def test_segment__lung_fields_are_the_two_air_boxes_right_then_left():
    vol, right, left = _chest()
    labels, names = segment(vol, method="lung", min_volume=100)
    assert names == {1: "lung_right", 2: "lung_left"}
    np.testing.assert_array_equal(labels == 1, right)  # smaller LPS x = patient's right
    np.testing.assert_array_equal(labels == 2, left)  # the vessel is closed into the lung


def test_segment__lung_of_the_synthetic_ct_is_its_analytic_ellipses():
    image, lesion = synthetic_ct(seed=0, shape=(16, 48, 48))
    labels, _ = segment(image, method="lung")
    _, ny, nx = image.shape
    sx, sy, _ = image.spacing
    y, x = np.meshgrid((np.arange(ny) - ny / 2) * sy, (np.arange(nx) - nx / 2) * sx, indexing="ij")
    hx, hy = nx * sx / 2, ny * sy / 2
    for label, side in ((1, -1), (2, 1)):
        ellipse = ((x - side * 0.42 * hx) / (0.33 * hx)) ** 2 + (y / (0.55 * hy)) ** 2 <= 1
        np.testing.assert_array_equal(labels == label, np.broadcast_to(ellipse, image.shape))
    assert np.all(labels[lesion.array == 1] == 1)  # the lesion lies in the right lung field


def test_segment__components_largest_first_small_ones_dropped():
    arr = np.zeros((6, 30, 30), np.int16)
    arr[1:5, 2:12, 2:12] = 200  # 400 voxels
    arr[1:3, 20:25, 20:25] = 150  # 50 voxels
    arr[4, 25, 25] = 300  # 1 voxel = 2 mm³
    vol = Volume(arr, spacing=(1.0, 1.0, 2.0))
    labels, names = segment(vol, method="components", lower=100, min_volume=10)
    assert names == {1: "component_1", 2: "component_2"}
    assert np.bincount(labels.ravel()).tolist() == [arr.size - 450, 400, 50]
    assert labels[2, 5, 5] == 1 and labels[1, 22, 22] == 2
    thr, _ = segment(vol, method="threshold", lower=150, upper=200)  # inclusive limits
    assert int(thr.sum()) == 450


def test_segment__region_grow_takes_only_the_seeded_blob():
    arr = np.zeros((6, 30, 30), np.int16)
    arr[1:5, 2:12, 2:12] = 200
    arr[1:5, 14:20, 14:20] = 210  # touches nothing: 2 voxels of gap
    vol = Volume(arr, spacing=(1.0, 1.0, 2.0))
    labels, names = segment(vol, method="region-grow", seed=(16, 16, 2), lower=100, upper=300)  # seed x, y, z
    expected = np.zeros(arr.shape, bool)
    expected[1:5, 14:20, 14:20] = True
    assert names == {1: "region"}
    np.testing.assert_array_equal(labels.astype(bool), expected)
    with pytest.raises(InputError, match=r"outside the image"):
        segment(vol, method="region-grow", seed=(40, 0, 0), lower=0, upper=1)
    with pytest.raises(InputError, match=r"seed's intensity 0 is outside \[100, 300\]"):
        segment(vol, method="region-grow", seed=(0, 0, 0), lower=100, upper=300)
    with pytest.raises(InputError, match="The 'method' parameter of segment must be one of"):
        segment(vol, method="watershed")


def test_resample_isotropic__linear_ramp_is_reproduced_on_the_new_grid():
    k, j, i = np.meshgrid(np.arange(5), np.arange(8), np.arange(9), indexing="ij")
    vol = Volume((3.0 * i * 0.5 + 2.0 * j * 0.5 + 1.0 * k * 2.0), spacing=(0.5, 0.5, 2.0), origin=(1, 2, 3))
    out = resample_isotropic(vol)
    assert out.spacing == (0.5, 0.5, 0.5) and out.shape == (20, 8, 9) and out.origin == (1, 2, 3)
    kk, jj, ii = np.meshgrid(np.arange(17), np.arange(8), np.arange(9), indexing="ij")  # inside the old grid
    expected = 3.0 * ii * 0.5 + 2.0 * jj * 0.5 + 1.0 * kk * 0.5
    np.testing.assert_allclose(out.array[:17], expected, atol=1e-9)
    ref = sitk.Resample(to_sitk(vol), [9, 8, 20], sitk.Transform(), sitk.sitkLinear, (1, 2, 3), (0.5, 0.5, 0.5))
    np.testing.assert_allclose(out.array[:17], sitk.GetArrayFromImage(ref)[:17], atol=1e-9)


def test_window_normalize__hand_values():
    vol = Volume(np.array([[[-2000.0, -600.0, 0.0, 400.0]]]))
    assert window(vol, level=-600, width=1500).array.ravel().tolist() == [-1350.0, -600.0, 0.0, 150.0]
    assert window(vol, level=-600, width=1500, rescale=True).array.ravel().tolist() == [0.0, 0.5, 0.9, 1.0]
    z = normalize(vol).array.ravel()
    x = np.array([-2000.0, -600.0, 0.0, 400.0])
    np.testing.assert_allclose(z, (x - x.mean()) / x.std(ddof=1))
    np.testing.assert_allclose(normalize(vol, method="minmax").array.ravel(), (x + 2000) / 2400)


def test_n4_bias_correction__removes_a_smooth_multiplicative_field():
    rng = np.random.default_rng(1)
    k, j, i = np.meshgrid(np.arange(16), np.arange(40), np.arange(40), indexing="ij")
    tissue = np.where((i - 20) ** 2 + (j - 20) ** 2 < 17**2, 100.0, 1.0) + rng.normal(0, 1, k.shape)
    field = np.exp(0.4 * (i - 20) / 20 + 0.2 * (j - 20) / 20)
    vol = Volume((tissue * field).astype(np.float32), spacing=(1.5, 1.5, 3.0))
    inside = (i - 20) ** 2 + (j - 20) ** 2 < 15**2
    before = vol.array[inside].std() / vol.array[inside].mean()
    out = n4_bias_correction(vol, mask=inside, shrink=2, iterations=(30, 30))
    after = out.array[inside].std() / out.array[inside].mean()
    assert before > 0.15 and after < before / 3


def _cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0


def test_segment__cli_writes_nifti_and_lake_dataset(tmp_path, capsys):
    image, lesion = synthetic_ct(seed=2, shape=(12, 40, 40), spacing=(1.0, 1.0, 2.0))
    sitk.WriteImage(to_sitk(image), str(tmp_path / "ct.nii.gz"))
    lake = str(tmp_path / "lake")
    k, j, i = (int(np.rint(a.mean())) for a in np.nonzero(lesion.array))
    args = ["imaging", "segment", str(tmp_path / "ct.nii.gz"), "--lake", lake, "-q"]
    assert _cli(*args, "--method", "lung", "--out-mask", "lungs") == 0
    assert _cli(*args, "--method", "body", "--out-mask", str(tmp_path / "body.nii.gz")) == 0
    body = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "body.nii.gz")))
    np.testing.assert_array_equal(body, segment(image, method="body")[0])
    grow = [*args, "--method", "region-grow", "--seed", f"{i},{j},{k}", "--lower", "-300", "--upper", "400"]
    assert _cli(*grow, "--out-mask", str(tmp_path / "lesion.nii.gz")) == 0
    out = tmp_path / "m.csv"
    assert _cli("imaging", "measure", "lake:lungs", "--out", str(out), "--lake", lake, "-q") == 0
    df = pd.read_csv(out)
    lungs = segment(image, method="lung")[0]
    assert df["name"].tolist() == ["lung_right", "lung_left"]
    assert df["voxels"].tolist() == [int((lungs == 1).sum()), int((lungs == 2).sum())]
    assert _cli(*args, "--method", "region-grow", "--seed", "1,2", "--out-mask", "x") == 2
    assert "error: --seed must be three voxel indices x,y,z; got '1,2'" in capsys.readouterr().err


def test_segment__demo_step_segments_measures_and_reports(tmp_path):
    import biolake.report.sections.imaging  # noqa: F401  (registers the demo step)
    from biolake.lake import Lake
    from biolake.lake.progress import NullProgress
    from biolake.report.demo import _STEPS
    from biolake.report.runs import build_run_report

    steps = [fn for title, fn in _STEPS if title.startswith("CT segmentation")]
    assert len(steps) == 1
    lake = Lake.open(tmp_path / "lake")
    (tmp_path / "data").mkdir()
    run_ids = steps[0](lake, tmp_path / "data", NullProgress())
    commands = [lake.run_record(r).command for r in run_ids]
    assert commands == ["imaging segment", "imaging segment", "imaging measure", "imaging measure"]
    lesion = pd.read_csv(tmp_path / "data" / "ct_demo_lesion_measure.csv")
    _, truth = synthetic_ct(seed=7)
    # the region grown from the lesion centre within [-300, 400] HU is the lesion (lung is below -700 HU)
    assert lesion["voxels"].tolist() == [int(truth.array.sum())]
    for r in run_ids:
        html = build_run_report(lake, r).to_html()
        assert "data:image/png;base64," in html and "cannot draw" not in html
