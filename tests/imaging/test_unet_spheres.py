"""The U-Net path (``imaging unet train|apply``) on synthetic volumes whose answer is known by construction.

Bright spheres (intensity 1, radius 4–6 voxels) in Gaussian noise (σ 0.3) on 20³ volumes: a
few seconds of CPU training must segment held-out volumes with Dice ≥ 0.9, the Dice computed
here by hand (``2 |A ∩ B| / (|A| + |B|)``) and by ``imaging evaluate``. Needs PyTorch (the
``deep`` extra); skipped without it.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

import SimpleITK as sitk  # noqa: E402

from biolake.cli import main  # noqa: E402
from biolake.errors import InputError  # noqa: E402
from biolake.imaging import Volume  # noqa: E402
from biolake.imaging.preprocess import to_sitk  # noqa: E402
from biolake.imaging.unet import (  # noqa: E402
    UNetConfig,
    build_unet,
    load_unet,
    predict_volume,
    save_unet,
    select_device,
    train_unet,
)

FAST = {"patch": (16, 16, 16), "base": 8, "depth": 2, "lr": 1e-2, "seed": 0}


@pytest.fixture(autouse=True)
def _one_thread():
    """The machine's cores are shared: train on one thread, restore afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def spheres(seed: int, shape=(20, 20, 20), noise: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    mask = np.zeros(shape, bool)
    for _ in range(rng.integers(1, 3)):
        c = rng.uniform(6, np.array(shape) - 6)
        r = rng.uniform(4, 6)
        mask |= (z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= r * r
    image = mask * 1.0 + rng.normal(0, noise, shape)
    return image.astype(np.float32), mask.astype(np.uint8)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def _write(arr: np.ndarray, path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(to_sitk(Volume(arr, spacing=(1.0, 1.0, 1.0))), str(path))


def _cli(*args: object) -> int:
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0


def test_unet__cli_3d_train_apply_evaluate_reaches_dice_090_on_held_out_volumes(tmp_path, capsys):
    for k in range(4):
        image, mask = spheres(k)
        _write(image, tmp_path / "train" / "images" / f"case{k}.nii.gz")
        _write(mask, tmp_path / "train" / "masks" / f"case{k}.nii.gz")
    lake = tmp_path / "lake"
    model = tmp_path / "spheres.pt"
    code = _cli("--lake", lake, "--quiet", "imaging", "unet", "train", tmp_path / "train" / "images", "--masks",
                tmp_path / "train" / "masks", "--out", model, "--dim", "3", "--patch", "16", "--epochs", "10",
                "--steps", "10", "--batch", "2", "--lr", "0.01", "--seed", "0", "--device", "cpu")  # fmt: skip
    assert code == 0, capsys.readouterr().err
    meta = json.loads((tmp_path / "spheres.pt.json").read_text())
    assert meta["device"] == "cpu" and len(meta["history"]) == 10
    assert meta["training_images"] == [f"img_case{k}" for k in range(4)]
    assert meta["history"][-1] < meta["history"][0] / 4  # Dice + BCE loss falls from ≈ 1.1
    for k in range(100, 103):
        image, mask = spheres(k)
        _write(image, tmp_path / "test" / f"case{k}.nii.gz")
        _write(mask, tmp_path / "truth" / f"case{k}.nii.gz")
        pred = tmp_path / "pred" / f"case{k}.nii.gz"
        assert _cli("--lake", lake, "--quiet", "imaging", "unet", "apply", model,
                    tmp_path / "test" / f"case{k}.nii.gz", "--out", pred) == 0  # fmt: skip
        predicted = sitk.GetArrayFromImage(sitk.ReadImage(str(pred)))
        assert set(np.unique(predicted)) <= {0, 1}
        assert _dice(predicted, mask) >= 0.9
        out = tmp_path / f"eval{k}.csv"
        assert _cli("--lake", lake, "--quiet", "imaging", "evaluate", pred, "--truth",
                    tmp_path / "truth" / f"case{k}.nii.gz", "--out", out) == 0  # fmt: skip
        row = pd.read_csv(out).iloc[0]
        assert row.dice == pytest.approx(_dice(predicted, mask), abs=1e-12)
        assert row.hd95_mm <= 2.0  # boundary errors of at most a voxel or two


def test_train_unet__2d_slices_reach_dice_090():
    train = [spheres(k) for k in range(4)]
    config = UNetConfig(dim=2, epochs=10, steps=10, batch=8, **{**FAST, "patch": (16, 16)})
    model, history = train_unet([a for a, _ in train], [m for _, m in train], config, device="cpu")
    assert len(history) == 10
    for k in (200, 201):
        image, mask = spheres(k)
        prob = predict_volume(model, image, config, device="cpu")
        assert prob.shape == image.shape and prob.min() >= 0 and prob.max() <= 1
        assert _dice(prob >= 0.5, mask) >= 0.9


def test_train_unet__seeded_runs_are_identical_and_the_model_file_round_trips(tmp_path):
    image, mask = spheres(5)
    config = UNetConfig(dim=3, epochs=1, steps=2, batch=1, **FAST)
    m1, h1 = train_unet([image], [mask], config, device="cpu")
    m2, h2 = train_unet([image], [mask], config, device="cpu")
    assert h1 == h2
    for (k, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    path = tmp_path / "m.pt"
    save_unet(path, m1, config, meta={"history": h1})
    loaded, cfg = load_unet(path)
    assert cfg == config
    other, _ = spheres(6, shape=(13, 22, 18))  # not a multiple of the patch: padded and cropped back
    p1 = predict_volume(m1, other, config, device="cpu")
    np.testing.assert_array_equal(p1, predict_volume(loaded, other, cfg, device="cpu"))
    assert p1.shape == (13, 22, 18)
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(InputError, match="not a biolake U-Net model file"):
        load_unet(tmp_path / "junk.pt")


def test_build_unet__shapes_and_device_selection():
    net = build_unet(UNetConfig(dim=3, patch=(8, 16, 16), base=4, depth=2))
    assert tuple(net(torch.zeros(2, 1, 8, 16, 16)).shape) == (2, 1, 8, 16, 16)
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert select_device("cpu").type == "cpu"
    with pytest.raises(InputError, match="multiple of 2"):
        UNetConfig(dim=3, patch=(12, 16, 16), depth=3).validate()


def test_training_pairs__lake_dataset_gives_each_image_with_its_own_mask(tmp_path):
    from biolake.imaging.unet import training_pairs
    from biolake.lake import Lake

    expected = {}
    for k in range(2):
        image, mask = spheres(k)
        _write(image, tmp_path / "images" / f"s{k}.nii.gz")
        _write(mask, tmp_path / "masks" / f"s{k}.nii.gz")
        expected[round(float(image.sum()), 1)] = mask
    lake = tmp_path / "lake"
    assert _cli("--lake", lake, "--quiet", "ingest", "images", tmp_path / "images", "--mask-dir",
                tmp_path / "masks", "--name", "sph") == 0  # fmt: skip
    pairs = training_pairs(Lake.open(lake), "lake:sph", None)
    assert len(pairs) == 2
    for _, vol, msk in pairs:  # pseudonymous ids: match each image to its mask by content
        np.testing.assert_array_equal(msk.array, expected[round(float(vol.array.sum()), 1)])
    with pytest.raises(InputError, match="--masks is required"):
        training_pairs(Lake.open(lake), str(tmp_path / "images" / "s0.nii.gz"), None)
