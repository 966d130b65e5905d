"""Image preprocessing before segmentation: isotropic resampling, windowing, normalisation, N4.

* :func:`resample_isotropic` — SimpleITK ``ResampleImageFilter`` onto a grid of cubic
  voxels (the physical extent kept: new size ``round(n·s/s′)``, same origin and direction).
* :func:`window` — clip to a CT window (level ± width/2), optionally rescaled to [0, 1].
* :func:`normalize` — z-score or min–max over the whole image or a mask.
* :func:`n4_bias_correction` — MR bias-field correction with SimpleITK's
  ``N4BiasFieldCorrectionImageFilter`` (Tustison et al. 2010), fitted on a shrunken copy
  and applied at full resolution.

Examples
--------
>>> import numpy as np
>>> from biolake.imaging import Volume
>>> v = Volume(np.zeros((4, 8, 8), np.int16), spacing=(0.5, 0.5, 2.0))
>>> resample_isotropic(v).shape
(16, 8, 8)
>>> window(Volume(np.array([[[-2000, 40, 3000]]])), level=40, width=400).array.ravel().tolist()
[-160.0, 40.0, 240.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from biolake.errors import check_param
from biolake.imaging.volume import Volume

__all__ = ["from_sitk", "n4_bias_correction", "normalize", "resample_isotropic", "to_sitk", "window"]

_INTERPOLATORS = ("linear", "nearest", "bspline")


def to_sitk(vol: Volume, *, dtype: Any = None) -> Any:
    """The volume as a SimpleITK image (same geometry)."""
    import SimpleITK as sitk

    arr = np.asarray(vol.array if dtype is None else vol.array.astype(dtype))
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(vol.spacing)
    img.SetOrigin(vol.origin)
    img.SetDirection(tuple(float(v) for v in vol.direction.ravel()))
    return img


def from_sitk(img: Any) -> Volume:
    """A SimpleITK 3-D image as a :class:`Volume`."""
    import SimpleITK as sitk

    return Volume(
        sitk.GetArrayFromImage(img),
        spacing=img.GetSpacing(),
        origin=img.GetOrigin(),
        direction=np.asarray(img.GetDirection()).reshape(3, 3),
    )


def resample_isotropic(
    vol: Volume, *, spacing: float | None = None, interpolation: str = "linear", default: float | None = None
) -> Volume:
    """Resample onto cubic voxels of ``spacing`` mm (default: the smallest current spacing).

    Parameters
    ----------
    vol
        Image or mask.
    spacing
        The new voxel edge in mm.
    interpolation
        ``linear`` (images), ``bspline`` (cubic) or ``nearest`` (label maps).
    default
        Value outside the old grid; default the image minimum.

    Returns
    -------
    Volume
        Same origin and direction; size ``round(n·s/spacing)`` per axis (at least 1); the
        dtype of the input (rounded for integer images).
    """
    import SimpleITK as sitk

    check_param(
        "resample_isotropic",
        "interpolation",
        interpolation,
        interpolation in _INTERPOLATORS,
        f"one of {_INTERPOLATORS}",
    )
    new = float(min(vol.spacing) if spacing is None else spacing)
    check_param("resample_isotropic", "spacing", spacing, new > 0 and np.isfinite(new), "a positive number of mm")
    size = [max(1, round(n * s / new)) for n, s in zip(vol.shape[::-1], vol.spacing, strict=True)]
    interp = {"linear": sitk.sitkLinear, "nearest": sitk.sitkNearestNeighbor, "bspline": sitk.sitkBSpline}[
        interpolation
    ]
    src = to_sitk(vol, dtype=np.float64)
    fill = float(np.min(vol.array)) if default is None else float(default)
    out = sitk.Resample(
        src, size, sitk.Transform(), interp, vol.origin, (new, new, new), src.GetDirection(), fill, sitk.sitkFloat64
    )
    res = from_sitk(out)
    arr = res.array
    if vol.array.dtype.kind in "iub":
        arr = np.round(arr)
        info = np.iinfo(vol.array.dtype) if vol.array.dtype.kind in "iu" else None
        if info is not None:
            arr = np.clip(arr, info.min, info.max)
    res.array = arr.astype(vol.array.dtype)
    return res


def window(vol: Volume, *, level: float, width: float, rescale: bool = False) -> Volume:
    """Clip intensities to the window ``[level − width/2, level + width/2]`` (e.g. lung: −600, 1500).

    Parameters
    ----------
    vol
        The image.
    level, width
        Window centre and width (HU for CT).
    rescale
        Map the window linearly onto [0, 1].

    Returns
    -------
    Volume
        float64 voxels, same geometry.
    """
    check_param("window", "width", width, float(width) > 0, "a positive number")
    lo, hi = float(level) - float(width) / 2, float(level) + float(width) / 2
    arr = np.clip(np.asarray(vol.array, dtype=np.float64), lo, hi)
    if rescale:
        arr = (arr - lo) / (hi - lo)
    return Volume(arr, spacing=vol.spacing, origin=vol.origin, direction=vol.direction)


def normalize(vol: Volume, *, method: str = "zscore", mask: np.ndarray | None = None) -> Volume:
    """Normalise intensities: ``zscore`` ((x − μ)/σ, σ with n − 1) or ``minmax`` (onto [0, 1]).

    Parameters
    ----------
    vol
        The image.
    method
        ``zscore`` or ``minmax``.
    mask
        Compute μ, σ (or min, max) over these voxels only (e.g. the body mask).

    Returns
    -------
    Volume
        float64 voxels, same geometry.
    """
    check_param("normalize", "method", method, method in ("zscore", "minmax"), "'zscore' or 'minmax'")
    arr = np.asarray(vol.array, dtype=np.float64)
    ref = arr if mask is None else arr[np.asarray(mask, bool)]
    check_param("normalize", "mask", mask, ref.size >= 2, "a mask with at least 2 voxels")
    if method == "zscore":
        sd = float(np.std(ref, ddof=1))
        out = (arr - float(np.mean(ref))) / (sd if sd > 0 else 1.0)
    else:
        lo, hi = float(np.min(ref)), float(np.max(ref))
        out = (arr - lo) / (hi - lo if hi > lo else 1.0)
    return Volume(out, spacing=vol.spacing, origin=vol.origin, direction=vol.direction)


def n4_bias_correction(
    vol: Volume,
    *,
    mask: np.ndarray | None = None,
    shrink: int = 2,
    iterations: Sequence[int] = (50, 50, 50, 50),
) -> Volume:
    """N4 bias-field correction of an MR image (SimpleITK ``N4BiasFieldCorrectionImageFilter``).

    The field is fitted on the image shrunk by ``shrink`` (within ``mask``, default an
    Otsu foreground), then evaluated on the full grid: corrected = image / exp(log field).

    Parameters
    ----------
    vol
        The MR image (positive intensities).
    mask
        Voxels used to fit the field; default Otsu's threshold of the image.
    shrink
        Shrink factor for the fit (1 = full resolution).
    iterations
        Maximum iterations per fitting level (one level per entry).

    Returns
    -------
    Volume
        float32 corrected image, same geometry.
    """
    import SimpleITK as sitk

    check_param("n4_bias_correction", "shrink", shrink, isinstance(shrink, int) and shrink >= 1, "an integer ≥ 1")
    check_param(
        "n4_bias_correction",
        "iterations",
        iterations,
        len(iterations) >= 1 and all(int(i) >= 1 for i in iterations),
        "a non-empty list of positive integers",
    )
    img = to_sitk(vol, dtype=np.float32)
    if mask is None:
        m = sitk.OtsuThreshold(img, 0, 1, 200)
    else:
        m = to_sitk(Volume(np.asarray(mask, np.uint8), spacing=vol.spacing, origin=vol.origin, direction=vol.direction))
    small_img, small_mask = img, m
    if shrink > 1:
        small_img = sitk.Shrink(img, [shrink] * 3 if vol.shape[0] >= shrink else [shrink, shrink, 1])
        small_mask = sitk.Shrink(m, [shrink] * 3 if vol.shape[0] >= shrink else [shrink, shrink, 1])
    n4 = sitk.N4BiasFieldCorrectionImageFilter()
    n4.SetMaximumNumberOfIterations([int(i) for i in iterations])
    n4.Execute(small_img, small_mask)
    log_field = n4.GetLogBiasFieldAsImage(img)
    out = sitk.Cast(img / sitk.Exp(log_field), sitk.sitkFloat32)
    return from_sitk(out)
