"""Per-structure measurements of a label map on its image: size, intensity, position, RECIST diameter.

For every non-zero label of the mask, :func:`measure_labels` gives

* ``voxels`` and ``volume_mm3`` (voxel count × voxel volume);
* intensity ``mean``, ``sd`` (n − 1, as SimpleITK's ``LabelStatisticsImageFilter``),
  ``min``, ``max`` and the percentiles ``p05 p25 median p75 p95`` (numpy's linear method);
* ``centroid_x/y/z``: the mean LPS position (mm) of the voxel centres (as SimpleITK's
  ``LabelShapeStatisticsImageFilter.GetCentroid``);
* the bounding box in voxel indices, ``bbox_x0 bbox_y0 bbox_z0`` (first) and
  ``bbox_x1 bbox_y1 bbox_z1`` (last, inclusive);
* ``longest_axial_diameter_mm`` (RECIST-style): the largest in-plane Feret diameter over
  the axial slices, measured between voxel *edges* (the corners of the structure's
  pixels: a 10 × 4 mm rectangle measures √(10² + 4²) mm), and ``diameter_slice`` (z index);
* ``surface_area_mm2``: the area of the Lewiner marching-cubes mesh at level 0.5 of the
  structure padded by one voxel (the mesh of the radiomics feature ``morph_area_mesh``).

Examples
--------
>>> import numpy as np
>>> from biolake.imaging import Volume
>>> img = Volume(np.arange(60.0).reshape(3, 4, 5), spacing=(2.0, 1.0, 3.0))
>>> m = np.zeros((3, 4, 5), np.uint8); m[1, 1:3, 1:4] = 1
>>> row = measure_labels(img, m).iloc[0]
>>> int(row.voxels), float(row.volume_mm3), float(row.longest_axial_diameter_mm)
(6, 36.0, 6.324555320336759)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError, check_param
from biolake.imaging.volume import Volume

__all__ = ["MEASURE_COLUMNS", "axial_feret_diameter", "measure_labels", "run_measure", "surface_area"]

MEASURE_COLUMNS = [
    "label",
    "name",
    "voxels",
    "volume_mm3",
    "mean",
    "sd",
    "min",
    "max",
    "p05",
    "p25",
    "median",
    "p75",
    "p95",
    "centroid_x",
    "centroid_y",
    "centroid_z",
    "bbox_x0",
    "bbox_y0",
    "bbox_z0",
    "bbox_x1",
    "bbox_y1",
    "bbox_z1",
    "longest_axial_diameter_mm",
    "diameter_slice",
    "surface_area_mm2",
]
"""Output columns of :func:`measure_labels` (``imaging measure``), in order."""


def _slice_feret(plane: np.ndarray, sx: float, sy: float) -> float:
    """Max distance between pixel corners of a 2-D region (mm): convex hull, then all hull pairs."""
    from scipy.spatial import ConvexHull, QhullError
    from scipy.spatial.distance import pdist

    padded = np.pad(plane, 1)
    inner = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    j, i = np.nonzero(plane & ~inner)  # boundary pixels
    corners = np.concatenate([np.stack([(i + di) * sx, (j + dj) * sy], axis=1) for di in (0, 1) for dj in (0, 1)])
    corners = np.unique(corners, axis=0)
    try:
        pts = corners[ConvexHull(corners).vertices]
    except QhullError:  # pragma: no cover - corners of pixels are never all collinear
        pts = corners
    return float(pdist(pts).max()) if len(pts) > 1 else 0.0


def axial_feret_diameter(mask: np.ndarray, spacing: tuple[float, float, float]) -> tuple[float, int]:
    """The largest in-plane Feret diameter (mm, voxel edges) over the axial slices, and its slice index.

    Parameters
    ----------
    mask
        Boolean ``(z, y, x)``.
    spacing
        ``(x, y, z)`` mm.

    Returns
    -------
    tuple
        ``(diameter, z)``; ``(0.0, -1)`` for an empty mask.
    """
    m = np.asarray(mask, bool)
    best, where = 0.0, -1
    for z in np.nonzero(m.any(axis=(1, 2)))[0]:
        d = _slice_feret(m[z], float(spacing[0]), float(spacing[1]))
        if d > best:
            best, where = d, int(z)
    return best, where


def surface_area(mask: np.ndarray, spacing: tuple[float, float, float]) -> float:
    """Mesh surface area (mm²) of a boolean ``(z, y, x)`` mask (spacing ``(x, y, z)``), as ``morph_area_mesh``."""
    from biolake.imaging.features import _mesh

    m = np.asarray(mask, bool)
    if not m.any():
        return 0.0
    sl = tuple(slice(int(a.min()), int(a.max()) + 1) for a in np.nonzero(m))
    verts, faces = _mesh(m[sl], (spacing[2], spacing[1], spacing[0]))
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return float(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum())


def measure_labels(
    image: Volume,
    mask: Volume | np.ndarray,
    *,
    labels: list[int] | None = None,
    names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Measurements of every label of ``mask`` on ``image`` (columns :data:`MEASURE_COLUMNS`).

    Parameters
    ----------
    image
        The image (its geometry gives volumes, positions and distances).
    mask
        Label map on the image's grid (a :class:`Volume` or an array ``(z, y, x)``).
    labels
        Labels to measure; default every non-zero label present.
    names
        ``{str(label): name}`` for the ``name`` column (default the label number).

    Returns
    -------
    pandas.DataFrame
        One row per label.
    """
    m = np.asarray(mask.array if isinstance(mask, Volume) else mask)
    if m.ndim == 2:
        m = m[None]
    check_param(
        "measure_labels", "mask", mask, m.shape == image.shape, f"a label map of the image's shape {image.shape}"
    )
    check_param("measure_labels", "mask", mask, m.dtype.kind in "iub", "an integer label map")
    names = names or {}
    present = [int(v) for v in np.unique(m) if v != 0]
    todo = present if labels is None else [int(v) for v in labels]
    img = np.asarray(image.array, dtype=np.float64)
    voxel = float(np.prod(image.spacing))
    rows = []
    for label in todo:
        roi = m == label
        n = int(roi.sum())
        if n == 0:
            raise InputError(f"label {label} is not in the mask (labels: {present})")
        values = img[roi]
        k, j, i = np.nonzero(roi)
        centroid = image.physical_point((k.mean(), j.mean(), i.mean()))
        box = tuple(slice(int(a.min()), int(a.max()) + 1) for a in (k, j, i))
        sub = roi[box]
        diameter, dz = axial_feret_diameter(sub, image.spacing)
        p05, p25, p50, p75, p95 = np.percentile(values, [5, 25, 50, 75, 95])
        rows.append(
            {
                "label": label,
                "name": names.get(str(label), str(label)),
                "voxels": n,
                "volume_mm3": n * voxel,
                "mean": float(values.mean()),
                "sd": float(values.std(ddof=1)) if n > 1 else float("nan"),
                "min": float(values.min()),
                "max": float(values.max()),
                "p05": p05,
                "p25": p25,
                "median": p50,
                "p75": p75,
                "p95": p95,
                "centroid_x": float(centroid[0]),
                "centroid_y": float(centroid[1]),
                "centroid_z": float(centroid[2]),
                "bbox_x0": int(i.min()),
                "bbox_y0": int(j.min()),
                "bbox_z0": int(k.min()),
                "bbox_x1": int(i.max()),
                "bbox_y1": int(j.max()),
                "bbox_z1": int(k.max()),
                "longest_axial_diameter_mm": diameter,
                "diameter_slice": dz + box[0].start,
                "surface_area_mm2": surface_area(sub, image.spacing),
            }
        )
    return pd.DataFrame(rows, columns=MEASURE_COLUMNS)


def run_measure(
    lake: Any,
    image: str,
    *,
    out: str | os.PathLike[str],
    mask: str | None = None,
    labels: list[int] | None = None,
) -> tuple[str, pd.DataFrame]:
    """The ``imaging measure`` job: measure every label of MASK on IMAGE → result file + run.

    Parameters
    ----------
    lake
        The lake.
    image
        A NIfTI file, DICOM file/folder or ``lake:NAME[/IMAGE_ID]``.
    out
        Result file (``.parquet``, ``.csv`` or ``.tsv``).
    mask
        A NIfTI label map, a DICOM-SEG file or ``lake:NAME[/IMAGE_ID]``; default the lake
        image's own mask.
    labels
        Labels to measure; default all.

    Returns
    -------
    tuple
        The run id and the table (``image`` and ``mask`` columns first, then :data:`MEASURE_COLUMNS`).
    """
    from biolake.imaging.segment import read_input_image, read_mask

    for spec in (image, mask):
        if spec is not None and not spec.startswith("lake:") and not Path(spec).exists():
            raise InputError("no such file or folder", file=spec)
    vol, own, names, _ = read_input_image(lake, image)
    if mask is None:
        if own is None:
            raise InputError("no --mask given and the image has no mask in the lake", file=image)
        mvol = own
    else:
        mvol, names = read_mask(lake, mask, vol)
    table = measure_labels(vol, mvol, labels=labels, names=names)
    table.insert(0, "mask", mask or f"{image}__mask")
    table.insert(0, "image", image)
    params = {"image": image, "mask": mask, "labels": labels, "out": str(out)}
    inputs = [s.split("/")[0] if s.startswith("lake:") else s for s in (image, mask) if s]
    with lake.run("imaging measure", params=params, inputs=list(dict.fromkeys(inputs))) as run:
        run.result(table, out)
    return run.id, table
