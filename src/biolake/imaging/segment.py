"""Classic segmentation of CT volumes: body, lung fields, bright lesion candidates, region growing.

Each pipeline takes a :class:`Volume` in HU and returns a label map on the same grid
(uint8/uint16, 0 = background) and the names of its labels.

* ``body`` — voxels above ``lower`` (default −300 HU), the largest 3-D connected
  component (26-connectivity), holes filled slice by slice (lungs and bowel gas belong
  to the body).
* ``lung`` — air (below ``upper``, default −400 HU) inside the body mask (so the air
  around the patient is excluded), components smaller than ``min_volume`` dropped, the
  two largest kept, each closed (ball of radius 2 voxels in-plane) and hole-filled
  slice by slice to take in vessels; label 1 is the component on the patient's right
  (smaller LPS x), label 2 the left; when the lungs touch they are one label.
* ``threshold`` — ``lower ≤ HU ≤ upper`` as label 1 (components below ``min_volume`` removed).
* ``components`` — the same, each 3-D connected component its own label, largest first:
  bright lesion candidates (e.g. ``--lower 100`` for contrast-enhancing or calcified foci).
* ``region-grow`` — SimpleITK ``ConnectedThreshold`` from a seed voxel: the voxels
  connected to the seed (26-connectivity) with ``lower ≤ HU ≤ upper``.

:func:`run_segment` is the ``biolake imaging segment`` job: the label map goes to a NIfTI
file or to a lake image dataset (the image and its mask, as ``ingest images`` writes
them, so ``imaging measure``/``imaging radiomics`` read it as ``lake:NAME``).

Examples
--------
>>> from biolake.imaging.demo import synthetic_ct
>>> image, _ = synthetic_ct(seed=0, shape=(16, 48, 48))
>>> labels, names = segment(image, method="lung")
>>> names
{1: 'lung_right', 2: 'lung_left'}
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from biolake.errors import InputError, check_param
from biolake.imaging.volume import Volume

__all__ = ["METHODS", "body_mask", "lung_mask", "read_input_image", "read_mask", "run_segment", "segment"]

METHODS = ("body", "lung", "threshold", "region-grow", "components")
_FULL = np.ones((3, 3, 3), bool)  # 26-connectivity


def _voxel_mm3(vol: Volume) -> float:
    return float(np.prod(vol.spacing))


def _label(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Connected components (26-connectivity) and their sizes (index 0 = background)."""
    from scipy import ndimage

    lab, n = ndimage.label(mask, structure=_FULL)
    return lab, np.bincount(lab.ravel(), minlength=n + 1)


def _fill_slices(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return np.stack([ndimage.binary_fill_holes(s) for s in mask])


def _relabel_by_size(mask: np.ndarray, *, min_voxels: float, keep: int | None = None) -> np.ndarray:
    lab, sizes = _label(mask)
    order = [int(i) for i in np.argsort(-sizes[1:], kind="stable") + 1 if sizes[i] >= min_voxels]
    if keep is not None:
        order = order[:keep]
    lut = np.zeros(len(sizes), np.uint16 if len(order) > 255 else np.uint8)
    lut[order] = np.arange(1, len(order) + 1)
    return lut[lab]


def body_mask(image: Volume, *, lower: float = -300.0) -> np.ndarray:
    """The body: HU > ``lower``, largest component, holes filled per axial slice (boolean ``(z, y, x)``)."""
    tissue = np.asarray(image.array) > lower
    if not tissue.any():
        raise InputError(f"no voxel above {lower} HU: not a CT in HU?")
    largest = _relabel_by_size(tissue, min_voxels=1, keep=1) == 1
    return _fill_slices(largest)


def lung_mask(
    image: Volume, *, upper: float = -400.0, body_lower: float = -300.0, min_volume: float = 5000.0
) -> tuple[np.ndarray, dict[int, str]]:
    """Lung fields: air inside the body, the two largest components, closed; labels right (1), left (2)."""
    from scipy import ndimage

    body = body_mask(image, lower=body_lower)
    air = (np.asarray(image.array) < upper) & body
    lab = _relabel_by_size(air, min_voxels=min_volume / _voxel_mm3(image), keep=2)
    if not lab.any():
        raise InputError(f"no air region of ≥ {min_volume} mm³ inside the body (threshold {upper} HU)")
    ball = np.zeros((1, 5, 5), bool)
    yy, xx = np.mgrid[-2:3, -2:3]
    ball[0] = yy**2 + xx**2 <= 4
    out = np.zeros(lab.shape, np.uint8)
    xs = []
    for k in (1, 2):
        part = lab == k
        if not part.any():
            continue
        closed = _fill_slices(ndimage.binary_closing(np.pad(part, ((0, 0), (2, 2), (2, 2))), structure=ball))
        closed = closed[:, 2:-2, 2:-2]
        # LPS x of the component's centroid (right lung = smaller x)
        idx = np.array(np.nonzero(part)).mean(axis=1)
        xs.append((float(image.physical_point(idx)[0]), closed))
    xs.sort(key=lambda t: t[0])
    if len(xs) == 1:
        out[xs[0][1]] = 1
        return out, {1: "lungs"}
    out[xs[0][1]] = 1
    out[xs[1][1] & (out == 0)] = 2
    return out, {1: "lung_right", 2: "lung_left"}


def _region_grow(image: Volume, seed: Sequence[int], lower: float, upper: float) -> np.ndarray:
    import SimpleITK as sitk

    from biolake.imaging.preprocess import to_sitk

    nz, ny, nx = image.shape
    x, y, z = (int(v) for v in seed)
    if not (0 <= x < nx and 0 <= y < ny and 0 <= z < nz):
        raise InputError(f"the seed (x, y, z) = {tuple(seed)} is outside the image (size {nx}, {ny}, {nz})")
    value = float(image.array[z, y, x])
    if not lower <= value <= upper:
        raise InputError(f"the seed's intensity {value:g} is outside [{lower:g}, {upper:g}]")
    f = sitk.ConnectedThresholdImageFilter()
    f.SetLower(float(lower))
    f.SetUpper(float(upper))
    f.SetSeedList([(x, y, z)])
    f.SetReplaceValue(1)
    f.SetConnectivity(f.FullConnectivity)
    return sitk.GetArrayFromImage(f.Execute(to_sitk(image, dtype=np.float32))).astype(bool)


def segment(
    image: Volume,
    *,
    method: str,
    lower: float | None = None,
    upper: float | None = None,
    seed: Sequence[int] | None = None,
    min_volume: float | None = None,
) -> tuple[np.ndarray, dict[int, str]]:
    """Segment a CT volume with one of the classic pipelines (see the module docstring).

    Parameters
    ----------
    image
        The image in HU.
    method
        ``body``, ``lung``, ``threshold``, ``region-grow`` or ``components``.
    lower, upper
        HU limits (inclusive). Defaults: body −300 (lower); lung −400 (upper); threshold
        and components 100 to +inf; region-grow needs both or takes the seed's value ± 100.
    seed
        Seed voxel index ``(x, y, z)`` for ``region-grow``.
    min_volume
        Components smaller than this (mm³) are dropped (lung: default 5000; threshold,
        components: default 0).

    Returns
    -------
    tuple
        The label map ``(z, y, x)`` (uint8, uint16 past 255 labels) and ``{label: name}``.
    """
    check_param("segment", "method", method, method in METHODS, f"one of {', '.join(METHODS)}")
    for name, v in (("lower", lower), ("upper", upper), ("min_volume", min_volume)):
        check_param("segment", name, v, v is None or np.isfinite(float(v)), "a finite number")
    if lower is not None and upper is not None:
        check_param("segment", "upper", upper, upper >= lower, f"≥ lower ({lower})")
    arr = np.asarray(image.array)
    if method == "body":
        m = body_mask(image, lower=-300.0 if lower is None else lower)
        return m.astype(np.uint8), {1: "body"}
    if method == "lung":
        kw: dict[str, Any] = {"upper": -400.0 if upper is None else upper}
        if lower is not None:
            kw["body_lower"] = lower
        if min_volume is not None:
            kw["min_volume"] = min_volume
        return lung_mask(image, **kw)
    if method == "region-grow":
        check_param("segment", "seed", seed, seed is not None and len(seed) == 3, "3 voxel indices x, y, z")
        assert seed is not None
        x, y, z = (int(v) for v in seed)
        centre = float(arr[z, y, x]) if 0 <= z < arr.shape[0] and 0 <= y < arr.shape[1] and 0 <= x < arr.shape[2] else 0
        lo = centre - 100 if lower is None else lower
        hi = centre + 100 if upper is None else upper
        m = _region_grow(image, seed, lo, hi)
        return m.astype(np.uint8), {1: "region"}
    lo = 100.0 if lower is None else lower
    hi = np.inf if upper is None else upper
    inside = (arr >= lo) & (arr <= hi)
    min_vox = (min_volume or 0.0) / _voxel_mm3(image)
    if method == "threshold":
        if min_vox > 0:
            inside = _relabel_by_size(inside, min_voxels=min_vox) > 0
        return inside.astype(np.uint8), {1: "threshold"}
    lab = _relabel_by_size(inside, min_voxels=max(min_vox, 1))
    return lab, {int(k): f"component_{int(k)}" for k in range(1, int(lab.max()) + 1)}


# ==================================================================== inputs / outputs
def _is_nifti_name(s: str) -> bool:
    return s.lower().endswith((".nii", ".nii.gz"))


def read_input_image(lake: Any, spec: str) -> tuple[Volume, Volume | None, dict[str, str], str]:
    """Read IMAGE given as a file/folder or ``lake:NAME[/IMAGE_ID]``.

    Returns
    -------
    tuple
        ``(image, its own mask or None, {label value: name}, image id)``.
    """
    from biolake.io.images import load_image, read_image

    if spec.startswith("lake:"):
        name, _, image_id = spec[5:].partition("/")
        image, mask, attrs = load_image(lake, name, image_id=image_id or None)
        if not image_id:
            image_id = next(k for k in lake.open_array(name).array_keys() if not k.endswith("__mask"))
        return image, mask, dict(attrs.get("labels", {})), image_id
    image = read_image(spec)
    stem = re.sub(r"\.nii(\.gz)?$", "", Path(spec.rstrip("/")).name, flags=re.I)
    return image, None, {}, "img_" + (re.sub(r"[^A-Za-z0-9_]", "_", stem) or "image")


def read_mask(lake: Any, spec: str, reference: Volume) -> tuple[Volume, dict[str, str]]:
    """A mask for ``reference``: a NIfTI label map, a DICOM-SEG file, or ``lake:NAME[/IMAGE_ID]``'s mask.

    NIfTI label maps (TotalSegmentator, nnU-Net …) must be on the image's grid (1e-3 mm);
    DICOM-SEG segments are placed on the referenced grid by their frame positions.
    """
    if spec.startswith("lake:"):
        _, mask, names, _ = read_input_image(lake, spec)
        if mask is None:
            raise InputError("this lake image has no mask", file=spec)
    elif os.path.isfile(spec) and not _is_nifti_name(spec):
        from biolake.io.dicom_seg import is_dicom_seg, read_dicom_seg

        if not is_dicom_seg(spec):
            raise InputError("not a NIfTI label map or a DICOM-SEG file", file=spec)
        mask, names = read_dicom_seg(spec, reference)
        return mask, names
    else:
        from biolake.io.images import read_image

        mask, names = read_image(spec), {}
    if not mask.same_grid(reference, tol=1e-3):
        raise InputError(f"the mask's grid {mask.shape} does not match the image's {reference.shape}", file=spec)
    if mask.array.dtype.kind == "f":
        if not np.all(np.isclose(mask.array, np.round(mask.array))):
            raise InputError("the mask holds non-integer values (a label map has integer labels)", file=spec)
        mask.array = np.round(mask.array).astype(np.int32)
    if mask.array.min() < 0:
        raise InputError("the mask holds negative labels", file=spec)
    return mask, names


def write_label_map(
    lake: Any, run: Any, out: str, image: Volume, labels: np.ndarray, names: dict[int, str], image_id: str
) -> str:
    """Write the label map to a NIfTI file or stage it as the lake image dataset ``out``; returns where."""
    from biolake.io.images import IMAGE_ENCODING

    mask = Volume(labels, spacing=image.spacing, origin=image.origin, direction=image.direction)
    if _is_nifti_name(out):
        import SimpleITK as sitk

        from biolake.imaging.preprocess import to_sitk

        Path(out).parent.mkdir(parents=True, exist_ok=True)
        sitk.WriteImage(to_sitk(mask), str(out), True)
        return str(out)
    from biolake.lake import validate_name

    validate_name(out)
    stage = run.array(out, encoding=IMAGE_ENCODING[0], encoding_version=IMAGE_ENCODING[1])
    nz, ny, nx = image.shape
    chunk_z = max(1, min(nz, (8 << 20) // max(1, ny * nx * image.array.dtype.itemsize)))
    for key, arr in ((image_id, image.array), (f"{image_id}__mask", labels)):
        z = stage.create(key, shape=image.shape, dtype=arr.dtype, chunks=(chunk_z, ny, nx), dims=("z", "y", "x"))
        z[...] = arr
        extra = {"labels": {str(k): v for k, v in names.items()}} if key.endswith("__mask") else {"header": {}}
        z.attrs.update({**image.geometry(), **extra})
    stage.attrs.update({"images": [image_id], "deidentified": True})
    return f"lake:{out}"


def run_segment(
    lake: Any,
    image: str,
    *,
    method: str,
    out_mask: str,
    lower: float | None = None,
    upper: float | None = None,
    seed: Sequence[int] | None = None,
    min_volume: float | None = None,
    progress: Any = None,
) -> tuple[str, str, dict[int, str]]:
    """The ``imaging segment`` job: segment IMAGE and write the label map (see :func:`segment`).

    Parameters
    ----------
    lake
        The lake (the run is recorded there; ``lake:`` images are read from it).
    image
        A NIfTI file, a DICOM file/folder or ``lake:NAME[/IMAGE_ID]``.
    out_mask
        A ``.nii``/``.nii.gz`` file, or the name of a new lake image dataset (image + mask).

    Returns
    -------
    tuple
        ``(run id, where the mask went, {label: name})``.
    """
    if not image.startswith("lake:") and not Path(image).exists():
        raise InputError("no such file or folder", file=image)
    check_param("run_segment", "out_mask", out_mask, bool(out_mask), "a NIfTI file name or a dataset name")
    vol, _, _, image_id = read_input_image(lake, image)
    labels, names = segment(vol, method=method, lower=lower, upper=upper, seed=seed, min_volume=min_volume)
    voxel = float(np.prod(vol.spacing))
    counts = np.bincount(labels.ravel().astype(np.int64), minlength=max(names, default=0) + 1)
    params = {
        "image": image,
        "method": method,
        "lower": lower,
        "upper": upper,
        "seed": list(seed) if seed is not None else None,
        "min_volume": min_volume,
        "out_mask": out_mask,
        "image_id": image_id,
        "labels": {str(k): v for k, v in names.items()},
        "volumes_mm3": {str(k): float(counts[k]) * voxel for k in names},
    }
    inputs = [image.split("/")[0] if image.startswith("lake:") else image]
    with lake.run("imaging segment", params=params, inputs=inputs) as run:
        where = write_label_map(lake, run, out_mask, vol, labels, names, image_id)
    return run.id, where, names
