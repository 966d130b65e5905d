"""Agreement of two label maps: Dice, Jaccard, volume similarity, Hausdorff distance and HD95.

For each label ``l``, with ``A`` the predicted voxels ``pred == l`` and ``B`` the true ones:

* ``dice`` = 2 |A ∩ B| / (|A| + |B|) and ``jaccard`` = |A ∩ B| / |A ∪ B| (SimpleITK
  ``LabelOverlapMeasuresImageFilter`` ``GetDiceCoefficient``/``GetJaccardCoefficient``);
* ``volume_similarity`` = 2 (|A| − |B|) / (|A| + |B|) (the same filter's ``GetVolumeSimilarity``);
* ``hausdorff_mm`` = max(h(A, B), h(B, A)) with h(A, B) = max over voxel centres a ∈ A of the
  Euclidean distance (in mm, the voxel spacing applied) to the nearest voxel centre of B —
  SimpleITK ``HausdorffDistanceImageFilter`` (exact Euclidean distance maps, scipy
  ``distance_transform_edt``);
* the **surface** of a mask is its voxels with a face neighbour outside it (the mask minus its
  erosion by the face-connected structuring element, as medpy and MONAI take it);
  ``hd95_mm`` = max(P95 of the distances from A's surface voxels to B's surface, P95 of those
  from B's surface to A's) — MONAI ``compute_hausdorff_distance(percentile=95)``, percentiles by
  numpy's linear method; ``assd_mm`` (average symmetric surface distance) = the mean of both
  sets of distances together.

Conventions for empty masks: both empty → every measure NaN (nothing to compare; the label is
reported with its zero volumes); one empty → ``dice`` = ``jaccard`` = 0 and the distances ``inf``.

Examples
--------
>>> import numpy as np
>>> a = np.zeros((1, 5, 5), np.uint8); a[0, 1:3, 1:3] = 1
>>> b = np.zeros_like(a); b[0, 1:3, 1:4] = 1
>>> row = overlap_measures(a, b, spacing=(1.0, 1.0, 1.0)).iloc[0]
>>> float(row.dice), float(row.jaccard), float(row.hausdorff_mm)
(0.8, 0.6666666666666666, 1.0)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from biolake.errors import InputError, check_param

__all__ = [
    "OVERLAP_COLUMNS",
    "dice",
    "hausdorff",
    "overlap_measures",
    "run_evaluate",
    "surface_distances",
]

OVERLAP_COLUMNS = [
    "label",
    "voxels_pred",
    "voxels_truth",
    "volume_pred_mm3",
    "volume_truth_mm3",
    "dice",
    "jaccard",
    "volume_similarity",
    "hausdorff_mm",
    "hd95_mm",
    "assd_mm",
]


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two boolean masks (NaN when both are empty)."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    total = int(a.sum()) + int(b.sum())
    return float("nan") if total == 0 else 2.0 * int(np.logical_and(a, b).sum()) / total


def _distance_to(mask: np.ndarray, spacing_zyx: Sequence[float]) -> np.ndarray:
    """Euclidean distance (mm) of every voxel centre to the nearest voxel of ``mask`` (0 inside)."""
    return ndimage.distance_transform_edt(~mask, sampling=spacing_zyx)


def _surface(mask: np.ndarray) -> np.ndarray:
    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure=structure, border_value=0)


def hausdorff(a: np.ndarray, b: np.ndarray, *, spacing_zyx: Sequence[float]) -> float:
    """Symmetric Hausdorff distance (mm) between the voxel centres of two non-empty masks."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if not a.any() and not b.any():
        return float("nan")
    if not a.any() or not b.any():
        return float("inf")
    return float(max(_distance_to(b, spacing_zyx)[a].max(), _distance_to(a, spacing_zyx)[b].max()))


def surface_distances(a: np.ndarray, b: np.ndarray, *, spacing_zyx: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Distances (mm) from each surface voxel of ``a`` to ``b``'s surface, and from ``b``'s to ``a``'s."""
    sa, sb = _surface(np.asarray(a, dtype=bool)), _surface(np.asarray(b, dtype=bool))
    return _distance_to(sb, spacing_zyx)[sa], _distance_to(sa, spacing_zyx)[sb]


def _crop(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both masks cut to their joint bounding box plus one voxel (distance maps stay exact: the
    nearest voxel of a mask always lies inside its own bounding box)."""
    both = a | b
    idx = [np.flatnonzero(both.any(axis=tuple(j for j in range(both.ndim) if j != i))) for i in range(both.ndim)]
    sl = tuple(slice(max(0, int(ix[0]) - 1), int(ix[-1]) + 2) for ix in idx)
    return a[sl], b[sl]


def overlap_measures(
    pred: np.ndarray,
    truth: np.ndarray,
    *,
    spacing: Sequence[float],
    labels: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Dice, Jaccard, volume similarity, Hausdorff, HD95 and ASSD per label (see the module).

    Parameters
    ----------
    pred, truth
        Label maps of the same shape, ``(z, y, x)`` (or ``(y, x)``), integer labels, 0 = background.
    spacing
        Voxel size in mm as ``(x, y, z)`` (or ``(x, y)`` for 2-D maps), as :class:`~biolake.imaging.Volume`.
    labels
        Labels to compare; default every non-zero label present in either map.

    Returns
    -------
    pandas.DataFrame
        One row per label, columns :data:`OVERLAP_COLUMNS`.
    """
    fn = "overlap_measures"
    pred, truth = np.asarray(pred), np.asarray(truth)
    check_param(fn, "pred", pred.shape, pred.shape == truth.shape, f"the shape of truth {truth.shape}")
    check_param(fn, "pred", pred.ndim, pred.ndim in (2, 3), "a 2-D or 3-D label map")
    spacing = tuple(float(s) for s in spacing)
    check_param(
        fn,
        "spacing",
        spacing,
        len(spacing) == pred.ndim and all(s > 0 for s in spacing),
        f"{pred.ndim} positive voxel sizes (x, y[, z])",
    )
    spacing_zyx = spacing[::-1]
    if labels is None:
        labels = sorted(int(v) for v in np.union1d(np.unique(pred), np.unique(truth)) if v != 0)
    voxel = float(np.prod(spacing))
    rows: list[dict[str, Any]] = []
    for lab in labels:
        a, b = pred == lab, truth == lab
        na, nb = int(a.sum()), int(b.sum())
        row: dict[str, Any] = {
            "label": int(lab),
            "voxels_pred": na,
            "voxels_truth": nb,
            "volume_pred_mm3": na * voxel,
            "volume_truth_mm3": nb * voxel,
        }
        if na + nb == 0:
            row.update(dice=np.nan, jaccard=np.nan, volume_similarity=np.nan)
            row.update(hausdorff_mm=np.nan, hd95_mm=np.nan, assd_mm=np.nan)
        elif na == 0 or nb == 0:
            row.update(dice=0.0, jaccard=0.0, volume_similarity=2.0 * (na - nb) / (na + nb))
            row.update(hausdorff_mm=np.inf, hd95_mm=np.inf, assd_mm=np.inf)
        else:
            inter = int(np.logical_and(a, b).sum())
            ca, cb = _crop(a, b)
            dab, dba = surface_distances(ca, cb, spacing_zyx=spacing_zyx)
            row.update(
                dice=2.0 * inter / (na + nb),
                jaccard=inter / (na + nb - inter),
                volume_similarity=2.0 * (na - nb) / (na + nb),
                hausdorff_mm=hausdorff(ca, cb, spacing_zyx=spacing_zyx),
                hd95_mm=float(max(np.percentile(dab, 95), np.percentile(dba, 95))),
                assd_mm=float(np.concatenate([dab, dba]).mean()),
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=OVERLAP_COLUMNS)


def _read_label_map(lake: Any, spec: str) -> tuple[Any, str]:
    """A label map from a NIfTI file or the mask of ``lake:NAME[/IMAGE_ID]``."""
    from biolake.imaging.segment import read_input_image

    if spec.startswith("lake:"):
        _, mask, _, image_id = read_input_image(lake, spec)
        if mask is None:
            raise InputError("this lake image has no mask", file=spec)
        return mask, image_id
    if not os.path.exists(spec):
        raise InputError("no such file", file=spec)
    from biolake.io.images import read_image

    return read_image(spec), spec


def run_evaluate(
    lake: Any,
    pred: str,
    *,
    truth: str,
    out: str | os.PathLike[str],
    labels: Sequence[int] | None = None,
) -> tuple[str, pd.DataFrame]:
    """The ``imaging evaluate`` job: compare a predicted label map with the truth, write ``out``.

    ``pred`` and ``truth`` are NIfTI label maps or ``lake:NAME[/IMAGE_ID]`` (the image's mask);
    they must share the voxel grid (1e-3 mm). Returns the run id and the table
    (:data:`OVERLAP_COLUMNS`).
    """
    from biolake.imaging.segment import read_mask

    p_vol, _ = _read_label_map(lake, pred)
    t_vol, _ = read_mask(lake, truth, p_vol)
    p_arr = np.asarray(p_vol.array)
    if p_arr.dtype.kind == "f":
        if not np.all(np.isclose(p_arr, np.round(p_arr))):
            raise InputError("the prediction holds non-integer values (a label map has integer labels)", file=pred)
        p_arr = np.round(p_arr).astype(np.int32)
    table = overlap_measures(p_arr, np.asarray(t_vol.array), spacing=p_vol.spacing, labels=labels)
    if table.empty:
        raise InputError("neither label map has a non-zero label", file=pred)
    params = {"pred": pred, "truth": truth, "labels": list(labels) if labels else None, "out": str(out)}
    inputs = [s.split("/")[0] if s.startswith("lake:") else s for s in (pred, truth)]
    with lake.run("imaging evaluate", params=params, inputs=list(dict.fromkeys(inputs))) as run:
        run.result(table, out)
    return run.id, table
