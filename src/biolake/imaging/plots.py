"""Figures of images: a slice with the ROI contour on top (matplotlib, PNG in reports).

Examples
--------
>>> import numpy as np
>>> from biolake.imaging import Volume
>>> img = Volume(np.random.default_rng(0).normal(size=(4, 32, 32)))
>>> roi = np.zeros((4, 32, 32), np.uint8); roi[1:3, 8:20, 10:22] = 1
>>> fig = overlay_figure(img, mask=roi, title="case 1")
>>> len(fig.axes)
1
"""

from __future__ import annotations

from typing import Any

import numpy as np

from biolake.imaging.volume import Volume

__all__ = ["overlay_figure", "roi_slice"]


def roi_slice(mask: np.ndarray | None, n_slices: int) -> int:
    """The slice index (z) with the largest ROI area; the middle slice without a ROI.

    Parameters
    ----------
    mask
        The ROI ``(z, y, x)``, or None.
    n_slices
        Number of slices of the image.

    Returns
    -------
    int
    """
    if mask is None or not np.any(mask):
        return n_slices // 2
    return int(np.argmax(np.asarray(mask != 0).sum(axis=(1, 2))))


def overlay_figure(
    image: Volume,
    *,
    mask: Volume | np.ndarray | None = None,
    title: str = "",
    window: tuple[float, float] | None = None,
    z: int | None = None,
) -> Any:
    """One axial slice in grey with the ROI outlined in colour (one contour per label).

    Parameters
    ----------
    image
        The image.
    mask
        The ROI or label map on the image's grid (optional).
    title
        Figure title.
    window
        Grey-scale ``(low, high)``; default the 1st–99th percentiles of the slice.
    z
        Slice index; default the slice with the largest ROI area.

    Returns
    -------
    matplotlib.figure.Figure
        Close it (``Section.image`` does) when done.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    m = None if mask is None else np.asarray(mask.array if isinstance(mask, Volume) else mask)
    if m is not None and m.ndim == 2:
        m = m[None]
    k = roi_slice(m, image.shape[0]) if z is None else int(z)
    plane = np.asarray(image.array[k], dtype=np.float64)
    lo, hi = window if window is not None else np.percentile(plane, [1, 99])
    sx, sy = image.spacing[0], image.spacing[1]
    ny, nx = plane.shape
    extent = (0, nx * sx, ny * sy, 0)
    width = 4.5
    fig = Figure(figsize=(width, max(2.0, width * (ny * sy) / max(nx * sx, 1e-9))))
    ax = fig.add_subplot()
    ax.imshow(plane, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1, extent=extent, interpolation="nearest")
    if m is not None and m[k].any():
        colors = ["#ff3b30", "#34c759", "#0a84ff", "#ffcc00", "#af52de", "#ff9500"]
        ys = (np.arange(ny) + 0.5) * sy
        xs = (np.arange(nx) + 0.5) * sx
        for n, label in enumerate(v for v in np.unique(m[k]) if v != 0):
            ax.contour(
                xs, ys, (m[k] == label).astype(float), levels=[0.5], colors=[colors[n % len(colors)]], linewidths=1.2
            )
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    ax.set_title(f"{title} — slice {k + 1}/{image.shape[0]}".strip(" —"), fontsize=9)
    return fig
