"""A small 2-D/3-D U-Net for binary segmentation (``biolake imaging unet train|apply``), PyTorch.

PyTorch is optional: install the ``deep`` extra (``pip install 'biolake[deep]'``; a CPU build
is enough). It is imported only when a U-Net is built, trained or applied, so the rest of
biolake works without it; without it these functions raise an :class:`~biolake.errors.InputError`.
No weights are ever downloaded: every model starts from a seeded random initialisation.

* **Network** (Ronneberger et al. 2015, the 3-D variant of Çiçek et al. 2016, as small as a
  laptop CPU trains in seconds): ``depth`` down-sampling levels; each level two 3×3(×3)
  convolutions, each followed by instance normalisation and leaky ReLU (0.01) — the nnU-Net
  building block; 2×2(×2) max-pooling down, transposed convolutions up, skip connections by
  concatenation, ``base · 2^level`` channels, a 1×1(×1) convolution to one logit.
* **Data**: images are z-scored one by one (their own mean and standard deviation, as nnU-Net
  does for MR); the target is ``mask > 0`` (or ``mask == label``). ``dim = 2`` trains on axial
  slices, ``dim = 3`` on sub-volumes. Patches are drawn at random, half of them centred on a
  random foreground voxel (foreground over-sampling); arrays smaller than a patch are padded.
* **Training**: Adam (``lr``), loss = binary cross-entropy on the logits + soft Dice
  ``1 − (2 Σ p t + 1) / (Σ p + Σ t + 1)`` over the batch; ``epochs × steps`` batches of
  ``batch`` patches. Seeded (``torch.manual_seed``, NumPy's generator for the patches): the same
  seed on the same device and thread count gives the same weights.
* **Inference**: sliding window, step = half a patch, the sigmoid probabilities of overlapping
  windows averaged; voxels with probability ≥ 0.5 are foreground (label 1).
* **Device**: ``auto`` takes CUDA when ``torch.cuda.is_available()``, else the CPU.
* **Model file** (``.pt``): ``torch.save`` of ``{"format": "biolake-unet", "version": 1,
  "config": …, "state_dict": …, "history": […]}`` — tensors and plain values only, so it is
  read back with ``torch.load(weights_only=True)`` (no pickle code runs); ``MODEL.json`` is a
  sidecar with the config, the loss per epoch, the training images and package versions.

Evaluate a prediction with :func:`biolake.imaging.overlap.overlap_measures` (Dice, Hausdorff, HD95).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from biolake.errors import InputError, check_param

__all__ = [
    "FORMAT",
    "UNetConfig",
    "build_unet",
    "load_unet",
    "predict_volume",
    "run_unet_apply",
    "run_unet_train",
    "save_unet",
    "select_device",
    "train_unet",
]

FORMAT = "biolake-unet"
DEEP_MISSING = "the deep extra is not installed: pip install 'biolake[deep]'"


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise InputError(DEEP_MISSING) from None
    return torch


def select_device(device: str = "auto") -> Any:
    """``torch.device``: ``auto`` → CUDA when available, else CPU; or ``cpu``/``cuda``/``cuda:N``."""
    torch = _torch()
    check_param("select_device", "device", device, isinstance(device, str) and bool(device), "auto, cpu or cuda")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {device!r} asked for, but CUDA is not available", file="--device")
    try:
        return torch.device(device)
    except RuntimeError:
        raise InputError(f"unknown device {device!r} (auto, cpu or cuda)", file="--device") from None


@dataclass
class UNetConfig:
    """Architecture and training settings (kept in the model file)."""

    dim: int = 3
    patch: tuple[int, ...] = (32, 32, 32)
    """Patch size, ``(z, y, x)`` for 3-D or ``(y, x)`` for 2-D; each a multiple of ``2**depth``."""
    base: int = 8
    depth: int = 2
    epochs: int = 20
    steps: int = 20
    """Batches per epoch."""
    batch: int = 4
    lr: float = 3e-3
    seed: int = 0
    label: int | None = None
    """Train on ``mask == label``; None: ``mask > 0``."""
    normalize: str = "zscore"
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> UNetConfig:
        fn = "UNetConfig"
        check_param(fn, "dim", self.dim, self.dim in (2, 3), "2 or 3")
        self.patch = tuple(int(p) for p in self.patch)
        m = 2**self.depth
        check_param(fn, "depth", self.depth, isinstance(self.depth, int) and 1 <= self.depth <= 5, "1 … 5")
        check_param(
            fn,
            "patch",
            self.patch,
            len(self.patch) == self.dim and all(p >= m and p % m == 0 for p in self.patch),
            f"{self.dim} sizes, each a positive multiple of 2**depth = {m}",
        )
        for name in ("base", "epochs", "steps", "batch"):
            v = getattr(self, name)
            check_param(fn, name, v, isinstance(v, int) and not isinstance(v, bool) and v >= 1, "an integer >= 1")
        check_param(fn, "lr", self.lr, self.lr > 0, "> 0")
        check_param(fn, "normalize", self.normalize, self.normalize == "zscore", "zscore")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["patch"] = list(self.patch)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UNetConfig:
        return cls(**{**d, "patch": tuple(d["patch"])}).validate()


# --------------------------------------------------------------------------- network
def build_unet(config: UNetConfig) -> Any:
    """The U-Net of ``config`` (a ``torch.nn.Module`` mapping ``(N, 1, *patch)`` to one logit per voxel)."""
    torch = _torch()
    nn = torch.nn
    three = config.dim == 3
    conv = nn.Conv3d if three else nn.Conv2d
    norm = nn.InstanceNorm3d if three else nn.InstanceNorm2d
    pool = nn.MaxPool3d if three else nn.MaxPool2d
    upconv = nn.ConvTranspose3d if three else nn.ConvTranspose2d

    def block(cin: int, cout: int) -> Any:
        return nn.Sequential(
            conv(cin, cout, 3, padding=1),
            norm(cout, affine=True),
            nn.LeakyReLU(0.01, inplace=True),
            conv(cout, cout, 3, padding=1),
            norm(cout, affine=True),
            nn.LeakyReLU(0.01, inplace=True),
        )

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            ch = [config.base * 2**i for i in range(config.depth + 1)]
            self.down = nn.ModuleList([block(1 if i == 0 else ch[i - 1], ch[i]) for i in range(config.depth + 1)])
            self.pool = pool(2)
            levels = list(reversed(range(config.depth)))
            self.up = nn.ModuleList([upconv(ch[i + 1], ch[i], 2, stride=2) for i in levels])
            self.dec = nn.ModuleList([block(2 * ch[i], ch[i]) for i in levels])
            self.head = conv(ch[0], 1, 1)

        def forward(self, x: Any) -> Any:
            skips = []
            for i, down in enumerate(self.down):
                x = down(x)
                if i < len(self.down) - 1:
                    skips.append(x)
                    x = self.pool(x)
            for up, dec in zip(self.up, self.dec, strict=True):
                x = dec(torch.cat([up(x), skips.pop()], dim=1))
            return self.head(x)

    return UNet()


# --------------------------------------------------------------------------- data
def _normalize(image: np.ndarray) -> np.ndarray:
    x = np.asarray(image, dtype=np.float32)
    sd = float(x.std())
    return (x - float(x.mean())) / (sd if sd > 0 else 1.0)


def _as_samples(arr: np.ndarray, dim: int) -> list[np.ndarray]:
    """3-D arrays for ``dim = 3``; the axial slices for ``dim = 2``."""
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[None]
    return [arr] if dim == 3 else [arr[k] for k in range(arr.shape[0])]


def _pad_to(arr: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    pad = [(0, max(0, s - a)) for a, s in zip(arr.shape, shape, strict=True)]
    return np.pad(arr, pad) if any(p[1] for p in pad) else arr


def _draw_patch(
    img: np.ndarray, lab: np.ndarray, fg: np.ndarray | None, patch: Sequence[int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    img, lab = _pad_to(img, patch), _pad_to(lab, patch)
    if fg is not None and len(fg) and rng.random() < 0.5:
        centre = fg[rng.integers(len(fg))]
        start = [int(np.clip(c - p // 2, 0, s - p)) for c, p, s in zip(centre, patch, img.shape, strict=True)]
    else:
        start = [int(rng.integers(0, s - p + 1)) for p, s in zip(patch, img.shape, strict=True)]
    sl = tuple(slice(a, a + p) for a, p in zip(start, patch, strict=True))
    return img[sl], lab[sl]


def _loss(torch: Any, logits: Any, target: Any) -> Any:
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    dice = 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
    return bce + dice


def train_unet(
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    config: UNetConfig,
    *,
    device: str = "auto",
    progress: Callable[[int, float], None] | None = None,
) -> tuple[Any, list[float]]:
    """Train a U-Net on ``images`` (arrays ``(z, y, x)``) and their label maps ``masks``.

    Returns the model (on the CPU, in eval mode) and the mean loss of each epoch.
    ``progress(epoch, loss)`` is called after each epoch.
    """
    torch = _torch()
    config.validate()
    check_param("train_unet", "images", len(images), len(images) == len(masks) and len(images) > 0, "as many as masks")
    dev = select_device(device)
    samples: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for img, msk in zip(images, masks, strict=True):
        img, msk = np.asarray(img), np.asarray(msk)
        if img.shape != msk.shape:
            raise InputError(f"an image of shape {img.shape} has a mask of shape {msk.shape}")
        target = (msk > 0) if config.label is None else (msk == config.label)
        for x, t in zip(_as_samples(_normalize(img), config.dim), _as_samples(target, config.dim), strict=True):
            samples.append((x, t.astype(np.float32), np.argwhere(t)))
    if not any(len(s[2]) for s in samples):
        raise InputError("the training masks hold no foreground voxel")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = build_unet(config).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    history: list[float] = []
    model.train()
    for epoch in range(1, config.epochs + 1):
        total = 0.0
        for _ in range(config.steps):
            pick = rng.integers(len(samples), size=config.batch)
            pairs = [_draw_patch(*samples[i], config.patch, rng) for i in pick]
            x = torch.from_numpy(np.stack([p[0] for p in pairs])[:, None]).to(dev)
            t = torch.from_numpy(np.stack([p[1] for p in pairs])[:, None]).to(dev)
            opt.zero_grad(set_to_none=True)
            loss = _loss(torch, model(x), t)
            loss.backward()
            opt.step()
            total += float(loss.detach())
        history.append(total / config.steps)
        if progress is not None:
            progress(epoch, history[-1])
    return model.cpu().eval(), history


def _starts(size: int, patch: int) -> list[int]:
    if size <= patch:
        return [0]
    step = max(1, patch // 2)
    out = list(range(0, size - patch + 1, step))
    if out[-1] != size - patch:
        out.append(size - patch)
    return out


def predict_volume(
    model: Any, image: np.ndarray, config: UNetConfig, *, device: str = "auto", batch: int = 8
) -> np.ndarray:
    """Foreground probability of each voxel of ``image`` ``(z, y, x)`` by sliding-window inference."""
    torch = _torch()
    dev = select_device(device)
    model = model.to(dev).eval()
    arr = np.asarray(image)
    shape = arr.shape if arr.ndim == 3 else (1, *arr.shape)
    out = []
    for x in _as_samples(_normalize(arr), config.dim):
        full = x.shape
        xp = _pad_to(x, config.patch)
        prob = np.zeros(xp.shape, np.float32)
        count = np.zeros(xp.shape, np.float32)
        grids = np.meshgrid(*[_starts(s, p) for s, p in zip(xp.shape, config.patch, strict=True)], indexing="ij")
        corners = np.stack([g.ravel() for g in grids], axis=1)
        with torch.inference_mode():
            for k in range(0, len(corners), batch):
                chunk = corners[k : k + batch]
                sls = [tuple(slice(a, a + p) for a, p in zip(c, config.patch, strict=True)) for c in chunk]
                xb = torch.from_numpy(np.stack([xp[s] for s in sls])[:, None]).to(dev)
                pb = torch.sigmoid(model(xb)).cpu().numpy()[:, 0]
                for s, p in zip(sls, pb, strict=True):
                    prob[s] += p
                    count[s] += 1
        prob = prob / count
        out.append(prob[tuple(slice(0, s) for s in full)])
    return (out[0] if config.dim == 3 else np.stack(out)).reshape(shape)


# --------------------------------------------------------------------------- model file
def _versions() -> dict[str, str]:
    torch = _torch()
    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__}


def save_unet(path: str | os.PathLike[str], model: Any, config: UNetConfig, *, meta: dict[str, Any]) -> None:
    """Write the model file and its ``.json`` sidecar atomically (see the module)."""
    torch = _torch()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": 1,
        "config": config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": [float(v) for v in meta.get("history", [])],
    }
    tmp = p.with_name(p.name + ".tmp")
    torch.save(payload, tmp)
    side = Path(str(p) + ".json")
    side_tmp = side.with_name(side.name + ".tmp")
    side_tmp.write_text(json.dumps({"format": FORMAT, "version": 1, **meta}, indent=2, default=str) + "\n")
    os.replace(tmp, p)
    os.replace(side_tmp, side)


def load_unet(path: str | os.PathLike[str]) -> tuple[Any, UNetConfig]:
    """Read a model file written by :func:`save_unet` (``weights_only``: no pickle code runs)."""
    torch = _torch()
    p = Path(path)
    if not p.is_file():
        raise InputError("no such model file", file=str(p))
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(f"not a biolake U-Net model file ({type(exc).__name__})", file=str(p)) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError("not a biolake U-Net model file", file=str(p))
    if payload.get("version") != 1:
        raise InputError(f"model file version {payload.get('version')} is not supported (1)", file=str(p))
    config = UNetConfig.from_dict(payload["config"])
    model = build_unet(config)
    model.load_state_dict(payload["state_dict"])
    return model.eval(), config


# --------------------------------------------------------------------------- lake runs
def _nifti_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.lower().endswith((".nii", ".nii.gz")))


def training_pairs(lake: Any, images: str, masks: str | None) -> list[tuple[str, Any, Any]]:
    """``(image id, image Volume, mask Volume)`` for training: a lake image dataset with its masks,
    a NIfTI file with ``masks`` a NIfTI file, or a folder of NIfTI files with ``masks`` a folder
    holding a label map of the same file name for each."""
    from biolake.imaging.segment import read_input_image, read_mask

    if images.startswith("lake:"):
        name = images[5:].split("/")[0]
        if lake is None or not lake.exists(name):
            raise InputError("no such lake dataset", file=images)
        if "/" in images[5:]:
            ids = [images[5:].split("/", 1)[1]]
        else:
            ids = sorted(k for k in lake.open_array(name).array_keys() if not k.endswith("__mask"))
        out = []
        for image_id in ids:
            spec = f"lake:{name}/{image_id}"
            vol, own, _, _ = read_input_image(lake, spec)
            if masks is not None:
                mask, _ = read_mask(lake, masks, vol)
            elif own is None:
                raise InputError("this lake image has no mask (ingest it with --mask-dir, or give --masks)", file=spec)
            else:
                mask = own
            out.append((image_id, vol, mask))
        return out
    if masks is None:
        raise InputError("--masks is required unless IMAGES is a lake image dataset with masks", file="--masks")
    src = Path(images)
    if src.is_dir():
        mdir = Path(masks)
        if not mdir.is_dir():
            raise InputError("IMAGES is a folder, so --masks must be a folder of label maps", file=masks)
        files = _nifti_files(src)
        if not files:
            raise InputError("no NIfTI image (.nii, .nii.gz) in the folder", file=images)
        out = []
        for f in files:
            m = mdir / f.name
            if not m.is_file():
                raise InputError(f"no label map {f.name} for image {f}", file=str(mdir))
            vol, _, _, image_id = read_input_image(lake, str(f))
            mask, _ = read_mask(lake, str(m), vol)
            out.append((image_id, vol, mask))
        return out
    if not src.exists():
        raise InputError("no such file or folder", file=images)
    vol, _, _, image_id = read_input_image(lake, images)
    mask, _ = read_mask(lake, masks, vol)
    return [(image_id, vol, mask)]


def run_unet_train(
    lake: Any,
    images: str,
    *,
    out: str | os.PathLike[str],
    masks: str | None = None,
    config: UNetConfig | None = None,
    device: str = "auto",
    progress: Any = None,
) -> tuple[str, dict[str, Any]]:
    """The ``imaging unet train`` job: train on IMAGES and their masks, write the model file ``out``.

    The run registers ``<stem>_history`` (``epoch loss``). Returns the run id and the sidecar's content.
    """
    from biolake.lake.progress import NullProgress

    torch = _torch()
    config = (config or UNetConfig()).validate()
    pairs = training_pairs(lake, images, masks)
    dev = select_device(device)
    params = {"images": images, "masks": masks, "out": str(out), "device": str(dev), **config.to_dict()}
    inputs = list(dict.fromkeys(s.split("/")[0] if s.startswith("lake:") else s for s in (images, masks) if s))
    with lake.run("imaging unet train", params=params, inputs=inputs) as run:
        t0 = time.perf_counter()
        with (progress or NullProgress()).task(f"U-Net {config.dim}-D on {dev.type}", total=config.epochs) as task:
            model, history = train_unet(
                [p[1].array for p in pairs],
                [p[2].array for p in pairs],
                config,
                device=str(dev),
                progress=lambda _e, _l: task.advance(1),
            )
        seconds = time.perf_counter() - t0
        meta = {
            "run_id": run.id,
            "config": config.to_dict(),
            "history": history,
            "training_images": [p[0] for p in pairs],
            "device": str(dev),
            "seconds": seconds,
            "parameters": int(sum(p.numel() for p in model.parameters())),
            "torch_threads": torch.get_num_threads(),
            "versions": _versions(),
        }
        import pandas as pd
        import pyarrow as pa

        stem = Path(str(out)).name.split(".")[0] or "unet"
        name = lake.result_name(f"{stem}_history")
        stage = run.table(name, attrs={"table": "history", "model_file": str(Path(str(out)).resolve())})
        frame = pd.DataFrame({"epoch": np.arange(1, len(history) + 1), "loss": history})
        stage.write(pa.Table.from_pandas(frame, preserve_index=False))
        save_unet(out, model, config, meta=meta)
    return run.id, meta


def run_unet_apply(
    lake: Any,
    model_file: str | os.PathLike[str],
    image: str,
    *,
    out: str,
    device: str = "auto",
) -> tuple[str, str, int]:
    """The ``imaging unet apply`` job: segment IMAGE, write the label map (1 = foreground) to ``out``.

    ``out`` is a ``.nii``/``.nii.gz`` file or the name of a new lake image dataset (image + mask),
    as ``imaging segment --out-mask``. Returns the run id, where the mask went and its voxel count.
    """
    from biolake.imaging.segment import read_input_image, write_label_map

    model, config = load_unet(model_file)
    if not image.startswith("lake:") and not Path(image).exists():
        raise InputError("no such file or folder", file=image)
    check_param("run_unet_apply", "out", out, bool(out), "a NIfTI file name or a dataset name")
    vol, _, _, image_id = read_input_image(lake, image)
    prob = predict_volume(model, vol.array, config, device=device)
    labels = (prob >= 0.5).astype(np.uint8)
    params = {"model": str(model_file), "image": image, "out": out, "device": str(select_device(device))}
    inputs = [image.split("/")[0] if image.startswith("lake:") else image, str(model_file)]
    with lake.run("imaging unet apply", params=params, inputs=inputs) as run:
        where = write_label_map(lake, run, out, vol, labels, {1: "unet"}, image_id)
    return run.id, where, int(labels.sum())
