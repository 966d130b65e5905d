"""DICOM Segmentation objects (DICOM-SEG) → a label map on the referenced image's grid (pydicom).

A DICOM-SEG (SOP class 1.2.840.10008.5.1.4.1.1.66.4) stores each segment as frames of a
multi-frame image: frame *f* belongs to segment ``ReferencedSegmentNumber`` (per-frame
``SegmentIdentificationSequence``) and lies at ``ImagePositionPatient`` (per-frame
``PlanePositionSequence``), with orientation and pixel spacing in the shared (or
per-frame) functional groups. :func:`read_dicom_seg` places every frame on the reference
volume's grid:

* the frame's orientation must be the reference's row/column directions and its pixel
  spacing the reference's (1e-4), its position must fall on a slice of the reference and
  on a whole-pixel offset in-plane (0.1 voxel); a frame may be smaller than the slice
  (it is placed at its offset) and parts outside the grid are an error;
* ``BINARY`` frames are inside where 1; ``FRACTIONAL`` frames (probability or occupancy)
  where value / ``MaximumFractionalValue`` ≥ 0.5;
* the label of a voxel is its segment number; a voxel in several segments (DICOM-SEG
  allows overlap, a label map does not) takes the highest segment number.

Examples
--------
>>> mask, names = read_dicom_seg("seg.dcm", reference=image)   # doctest: +SKIP
>>> names                                                       # doctest: +SKIP
{'1': 'liver', '2': 'tumour'}
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from biolake.errors import InputError
from biolake.io.images import Volume

__all__ = ["SEG_SOP_CLASS", "is_dicom_seg", "read_dicom_seg"]

SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


def is_dicom_seg(path: str | os.PathLike[str]) -> bool:
    """Whether the file is a DICOM Segmentation object (header only)."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID", "Modality"])
    except Exception:  # not DICOM at all
        return False
    return str(ds.get("SOPClassUID", "")) == SEG_SOP_CLASS or str(ds.get("Modality", "")) == "SEG"


def _group(fg: Any, shared: Any, keyword: str) -> Any:
    for source in (fg, shared):
        if source is not None and keyword in source and len(source[keyword].value):
            return source[keyword].value[0]
    return None


def read_dicom_seg(path: str | os.PathLike[str], reference: Volume) -> tuple[Volume, dict[str, str]]:
    """Rasterise a DICOM-SEG onto ``reference`` (see the module docstring).

    Parameters
    ----------
    path
        The DICOM-SEG file.
    reference
        The image the segmentation was made on (its geometry places the frames).

    Returns
    -------
    tuple
        The label map (uint8, uint16 past 255 segments) on the reference grid, and
        ``{str(segment number): SegmentLabel}``.

    Raises
    ------
    InputError
        Not a SEG, an unsupported segmentation type, or a frame that does not fit the grid.
    """
    import pydicom

    try:
        ds = pydicom.dcmread(path)
    except Exception as exc:
        raise InputError(f"cannot read as DICOM: {str(exc).splitlines()[0]}", file=path) from None
    if str(ds.get("SOPClassUID", "")) != SEG_SOP_CLASS and str(ds.get("Modality", "")) != "SEG":
        raise InputError("not a DICOM Segmentation object", file=path)
    kind = str(ds.get("SegmentationType", "BINARY")).upper()
    if kind not in ("BINARY", "FRACTIONAL"):
        raise InputError(f"segmentation type {kind!r} is not supported (BINARY or FRACTIONAL)", file=path)
    names = {
        str(int(s.SegmentNumber)): str(s.get("SegmentLabel", f"segment {int(s.SegmentNumber)}"))
        for s in ds.get("SegmentSequence", [])
    }
    try:
        pixels = np.asarray(ds.pixel_array)
    except Exception as exc:
        raise InputError(f"cannot decode the segment frames: {str(exc).splitlines()[0]}", file=path) from None
    if pixels.ndim == 2:
        pixels = pixels[None]
    if kind == "FRACTIONAL":
        inside = pixels.astype(np.float64) / float(ds.get("MaximumFractionalValue", 255)) >= 0.5
    else:
        inside = pixels != 0
    shared = ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds else None
    per_frame = list(ds.get("PerFrameFunctionalGroupsSequence", []))
    if len(per_frame) != len(inside):
        raise InputError(f"{len(inside)} frames but {len(per_frame)} per-frame functional groups", file=path)
    step = reference.direction @ np.diag(reference.spacing)
    inv = np.linalg.inv(step)
    nz, ny, nx = reference.shape
    n_seg = max([int(k) for k in names] + [1])
    labels = np.zeros(reference.shape, np.uint16 if n_seg > 255 else np.uint8)
    order = []
    for f, fg in enumerate(per_frame):
        seg_id = _group(fg, None, "SegmentIdentificationSequence")
        position = _group(fg, shared, "PlanePositionSequence")
        orientation = _group(fg, shared, "PlaneOrientationSequence")
        measures = _group(fg, shared, "PixelMeasuresSequence")
        if seg_id is None or position is None or orientation is None or measures is None:
            raise InputError(f"frame {f + 1}: segment, position, orientation or pixel spacing missing", file=path)
        cosines = np.asarray([float(v) for v in orientation.ImageOrientationPatient]).reshape(2, 3)
        if not np.allclose(cosines, reference.direction[:, :2].T, atol=1e-4):
            raise InputError(f"frame {f + 1}: orientation differs from the reference image's", file=path)
        dy, dx = (float(v) for v in measures.PixelSpacing)
        if not np.allclose((dx, dy), reference.spacing[:2], atol=1e-4):
            raise InputError(
                f"frame {f + 1}: pixel spacing ({dx:g}, {dy:g}) differs from the reference's "
                f"({reference.spacing[0]:g}, {reference.spacing[1]:g})",
                file=path,
            )
        ijk = inv @ (np.asarray([float(v) for v in position.ImagePositionPatient]) - np.asarray(reference.origin))
        idx = np.round(ijk).astype(int)
        rows, cols = inside.shape[1:]
        if np.abs(ijk - idx).max() > 0.1 or not (
            0 <= idx[2] < nz and idx[1] >= 0 and idx[1] + rows <= ny and idx[0] >= 0 and idx[0] + cols <= nx
        ):
            raise InputError(
                f"frame {f + 1}: not on the reference grid (voxel position {ijk[0]:.2f}, {ijk[1]:.2f}, {ijk[2]:.2f})",
                file=path,
            )
        order.append((int(seg_id.ReferencedSegmentNumber), f, idx))
    for seg, f, (i0, j0, k) in sorted(order, key=lambda t: t[0]):  # higher segment numbers win overlaps
        rows, cols = inside.shape[1:]
        region = labels[k, j0 : j0 + rows, i0 : i0 + cols]
        region[inside[f]] = seg
    return Volume(labels, spacing=reference.spacing, origin=reference.origin, direction=reference.direction), names
