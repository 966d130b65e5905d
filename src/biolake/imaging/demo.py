"""Synthetic CT-like volumes with lesion masks, generated at run time (demo and tests).

Examples
--------
>>> image, mask = synthetic_ct(seed=1, shape=(24, 48, 48))
>>> image.shape == mask.shape, int(mask.array.max())
(True, 1)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from biolake.errors import check_param
from biolake.imaging.volume import Volume

__all__ = ["synthetic_ct", "write_synthetic_cases"]


def synthetic_ct(
    *, seed: int = 0, shape: tuple[int, int, int] = (32, 96, 96), spacing: tuple[float, float, float] = (0.8, 0.8, 2.0)
) -> tuple[Volume, Volume]:
    """A chest-CT-like volume (HU) with one lobulated, textured lesion and its mask.

    Parameters
    ----------
    seed
        Random seed (the same seed gives the same volume).
    shape
        ``(z, y, x)`` voxels.
    spacing
        ``(x, y, z)`` mm.

    Returns
    -------
    tuple of Volume
        The image (int16 HU) and the lesion mask (uint8, 1 = lesion).
    """
    check_param("synthetic_ct", "shape", shape, len(shape) == 3 and min(shape) >= 8, "3 sizes ≥ 8")
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    nz, ny, nx = shape
    sx, sy, sz = spacing
    z, y, x = np.meshgrid(
        (np.arange(nz) - nz / 2) * sz, (np.arange(ny) - ny / 2) * sy, (np.arange(nx) - nx / 2) * sx, indexing="ij"
    )
    half_x, half_y = nx * sx / 2, ny * sy / 2
    img = np.full(shape, -1000.0)
    body = (x / (0.92 * half_x)) ** 2 + (y / (0.75 * half_y)) ** 2 <= 1
    img[body] = 40
    for side in (-1, 1):
        lung = ((x - side * 0.42 * half_x) / (0.33 * half_x)) ** 2 + (y / (0.55 * half_y)) ** 2 <= 1
        img[lung & body] = -820
    # a lobulated lesion in the right lung
    centre = np.array([0.0, -0.05 * half_y, -0.42 * half_x])
    radius = min(0.22 * half_x, 0.3 * nz * sz)
    r = np.sqrt((z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2)
    theta = np.arctan2(y - centre[1], x - centre[2])
    phi = np.arctan2(z - centre[0], np.hypot(y - centre[1], x - centre[2]))
    lobes = 1 + 0.15 * np.sin(3 * theta + rng.uniform(0, 6)) * np.cos(2 * phi) + 0.08 * np.sin(5 * theta)
    lesion = r <= radius * lobes
    texture = ndimage.gaussian_filter(rng.normal(0, 1, shape), 1.2)
    img[lesion] = 35 + 25 * texture[lesion] / texture[lesion].std() - 60 * (r[lesion] / radius) ** 2
    img += rng.normal(0, 12, shape)
    img = np.clip(np.round(img), -1024, 3071).astype(np.int16)
    return (
        Volume(img, spacing=spacing, origin=(-half_x, -half_y, -nz * sz / 2)),
        Volume(lesion.astype(np.uint8), spacing=spacing, origin=(-half_x, -half_y, -nz * sz / 2)),
    )


def write_synthetic_cases(directory: str | os.PathLike[str], *, n: int = 2, seed: int = 0) -> tuple[Path, Path]:
    """Write ``n`` synthetic cases as NIfTI: ``DIR/images/caseK.nii.gz`` and ``DIR/masks/caseK.nii.gz``.

    Parameters
    ----------
    directory
        Where to write.
    n
        Number of cases.
    seed
        First random seed (case k uses ``seed + k``).

    Returns
    -------
    tuple of Path
        The images folder and the masks folder.
    """
    import SimpleITK as sitk

    check_param("write_synthetic_cases", "n", n, isinstance(n, int) and n >= 1, "a positive integer")
    root = Path(directory)
    images, masks = root / "images", root / "masks"
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        image, mask = synthetic_ct(seed=seed + k)
        for vol, folder in ((image, images), (mask, masks)):
            itk = sitk.GetImageFromArray(vol.array)
            itk.SetSpacing(vol.spacing)
            itk.SetOrigin(vol.origin)
            itk.SetDirection(tuple(vol.direction.ravel()))
            sitk.WriteImage(itk, str(folder / f"case{k + 1}.nii.gz"))
    return images, masks
