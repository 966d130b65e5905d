"""IBSI-compliant radiomics: the image-processing chain and the feature table.

:func:`radiomics_features` computes the IBSI 1 features of one image and one ROI mask
(both :class:`~biolake.imaging.volume.Volume`) after IBSI's processing chain:

1. optional resampling to new voxel spacing (grid centres aligned as IBSI prescribes;
   the image by linear or cubic interpolation and optionally rounded to integers, the
   mask by linear interpolation thresholded at 0.5);
2. re-segmentation of the *intensity mask* by a range and/or μ ± kσ outliers (the
   *morphological mask* keeps the whole ROI);
3. discretisation by a fixed bin number, a fixed bin size, or none (integer levels);
4. the families ``morph`` (mesh), ``loc``, ``stat``, ``ih``, ``ivh``, ``cm`` (GLCM),
   ``rlm`` (GLRLM), ``szm`` (GLSZM), ``dzm`` (GLDZM), ``ngt`` (NGTDM) and ``ngl``
   (NGLDM), with the IBSI aggregation methods as column suffixes.

:func:`ibsi_settings` gives the settings of the IBSI 1 reference configurations (the
digital phantom and the CT phantom configurations A–E). :func:`radiomics_table` runs
many (image, mask) cases on a :mod:`biolake.lake.backend` (threads, processes or Dask)
and returns one row per (image, mask, label).

Examples
--------
>>> import numpy as np
>>> from biolake.imaging import Volume
>>> img = Volume(np.arange(27, dtype=float).reshape(3, 3, 3), spacing=(2, 2, 2))
>>> roi = Volume(np.ones((3, 3, 3), np.uint8), spacing=(2, 2, 2))
>>> f = radiomics_features(img, roi, settings=RadiomicsSettings(families=("stat",)))
>>> f["stat_mean"], f["stat_max"]
(13.0, 26.0)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError, check_param
from biolake.imaging import features as F
from biolake.imaging._zones import neighbourhood_features, zone_features
from biolake.imaging.volume import Volume

__all__ = [
    "FAMILIES",
    "FEATURE_FAMILIES",
    "RadiomicsCase",
    "RadiomicsSettings",
    "ibsi_settings",
    "lake_cases",
    "load_settings",
    "preprocess",
    "radiomics_features",
    "radiomics_table",
    "run_radiomics",
]

FEATURE_FAMILIES = ("morph", "loc", "stat", "ih", "ivh", "cm", "rlm", "szm", "dzm", "ngt", "ngl")
"""Feature families, by their IBSI tag prefix (the default)."""

FAMILIES = (*FEATURE_FAMILIES, "diag")
"""Every family: the features and ``diag``, IBSI's image-processing diagnostics (image and
mask sizes, voxel counts and intensities after each step; opt-in)."""

_METHODS = ("fixed_bin_number", "fixed_bin_size", "none")
_INTERPOLATIONS = {"nearest": 0, "linear": 1, "cubic": 3}


@dataclass(frozen=True)
class RadiomicsSettings:
    """Image processing and feature settings (the ``params.yaml`` of the CLI).

    Attributes
    ----------
    resample
        New voxel spacing ``(x, y, z)`` in mm, or None (no resampling). A 2-D
        (in-plane) resampling keeps z: give the slice spacing or ``None`` for z.
    interpolation
        Image interpolation when resampling: ``"linear"``, ``"cubic"`` or ``"nearest"``.
    round_intensities
        Round interpolated intensities to integers (CT Hounsfield units).
    resegment_range
        ``(low, high)``: intensity-mask voxels outside are dropped; either may be None.
    resegment_outlier_sigma
        Drop intensity-mask voxels outside mean ± this many standard deviations.
    discretization
        ``{"method": "fixed_bin_number", "n": 32}``, ``{"method": "fixed_bin_size",
        "width": 25}`` (bins start at the re-segmentation range's low bound, else at the
        ROI minimum) or ``{"method": "none"}`` (intensities already integer grey levels).
    ivh_discretization
        Discretisation of the intensity-volume histogram; ``{"method": "none"}`` uses the
        intensities on a grid of step 1.
    aggregation
        Texture aggregation methods, among ``2D_avg 2D_comb 2_5D_avg 2_5D_comb 3D_avg
        3D_comb``; the zone/neighbourhood families use ``2D``, ``2_5D`` and ``3D``.
    families
        Families to compute (see :data:`FAMILIES`); default every feature family,
        without the ``diag`` diagnostics.
    max_voxels_autocorrelation
        Moran's I and Geary's C are NaN when twice the ROI's bounding box holds more
        voxels than this (they are computed by FFT over it).
    """

    resample: tuple[float | None, float | None, float | None] | None = None
    interpolation: str = "linear"
    round_intensities: bool = False
    resegment_range: tuple[float | None, float | None] | None = None
    resegment_outlier_sigma: float | None = None
    discretization: Mapping[str, Any] = field(default_factory=lambda: {"method": "fixed_bin_number", "n": 32})
    ivh_discretization: Mapping[str, Any] = field(default_factory=lambda: {"method": "none"})
    aggregation: tuple[str, ...] = ("3D_avg", "3D_comb")
    families: tuple[str, ...] = FEATURE_FAMILIES
    max_voxels_autocorrelation: int = 64_000_000

    def __post_init__(self) -> None:
        fn = "RadiomicsSettings"
        if self.resample is not None:
            vals = tuple(self.resample)
            check_param(
                fn,
                "resample",
                self.resample,
                len(vals) == 3 and all(v is None or (isinstance(v, int | float) and v > 0) for v in vals),
                "None or 3 positive spacings (x, y, z) in mm (None keeps an axis)",
            )
            object.__setattr__(self, "resample", tuple(None if v is None else float(v) for v in vals))
        check_param(
            fn, "interpolation", self.interpolation, self.interpolation in _INTERPOLATIONS, "linear, cubic or nearest"
        )
        check_param(
            fn, "round_intensities", self.round_intensities, isinstance(self.round_intensities, bool), "true or false"
        )
        if self.resegment_range is not None:
            rng = tuple(self.resegment_range)
            ok = len(rng) == 2 and all(v is None or isinstance(v, int | float) for v in rng)
            check_param(fn, "resegment_range", self.resegment_range, ok, "None or (low, high)")
            object.__setattr__(self, "resegment_range", tuple(None if v is None else float(v) for v in rng))
        sigma = self.resegment_outlier_sigma
        check_param(
            fn,
            "resegment_outlier_sigma",
            sigma,
            sigma is None or (isinstance(sigma, int | float) and sigma > 0),
            "None or a positive number",
        )
        for name in ("discretization", "ivh_discretization"):
            object.__setattr__(self, name, _check_discretization(getattr(self, name), name))
        aggs = tuple(self.aggregation)
        check_param(
            fn,
            "aggregation",
            self.aggregation,
            bool(aggs) and all(a in F.AGGREGATIONS for a in aggs),
            f"a non-empty list among {' '.join(F.AGGREGATIONS)}",
        )
        object.__setattr__(self, "aggregation", aggs)
        fams = tuple(self.families)
        check_param(
            fn,
            "families",
            self.families,
            bool(fams) and all(f in FAMILIES for f in fams),
            f"a non-empty list among {' '.join(FAMILIES)}",
        )
        object.__setattr__(self, "families", fams)
        check_param(
            fn,
            "max_voxels_autocorrelation",
            self.max_voxels_autocorrelation,
            isinstance(self.max_voxels_autocorrelation, int) and self.max_voxels_autocorrelation >= 0,
            "a non-negative integer",
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able settings (recorded with every run)."""
        d = asdict(self)
        d["discretization"] = dict(self.discretization)
        d["ivh_discretization"] = dict(self.ivh_discretization)
        return d


def _check_discretization(value: Any, name: str) -> dict[str, Any]:
    if value is None or value == "none":
        return {"method": "none"}
    ok = isinstance(value, Mapping) and value.get("method") in _METHODS
    check_param("RadiomicsSettings", name, value, ok, "a mapping with 'method' in " + ", ".join(_METHODS))
    d = dict(value)
    if d["method"] == "fixed_bin_number":
        n = d.get("n")
        check_param(
            "RadiomicsSettings",
            name,
            value,
            isinstance(n, int) and n >= 1,
            "{method: fixed_bin_number, n: positive integer}",
        )
        return {"method": "fixed_bin_number", "n": int(n)}
    if d["method"] == "fixed_bin_size":
        w = d.get("width")
        ok = isinstance(w, int | float) and w > 0
        check_param("RadiomicsSettings", name, value, ok, "{method: fixed_bin_size, width: positive number}")
        out: dict[str, Any] = {"method": "fixed_bin_size", "width": float(w)}
        if d.get("min") is not None:
            out["min"] = float(d["min"])
        return out
    return {"method": "none"}


_2D = ("2D_avg", "2D_comb", "2_5D_avg", "2_5D_comb")
_3D = ("3D_avg", "3D_comb")


def ibsi_settings(config: str) -> RadiomicsSettings:
    """The settings of an IBSI 1 reference configuration.

    Parameters
    ----------
    config
        ``"digital_phantom"`` (no processing, integer grey levels, every aggregation),
        or a CT-phantom configuration ``"A"`` … ``"E"`` (also ``"ibsi-a"`` …).

    Returns
    -------
    RadiomicsSettings
        As described in the IBSI 1 reference manual (chapter "Reference values").

    Examples
    --------
    >>> ibsi_settings("A").discretization
    {'method': 'fixed_bin_size', 'width': 25.0}
    """
    key = str(config).lower().removeprefix("ibsi-").removeprefix("ibsi_")
    configs: dict[str, RadiomicsSettings] = {
        "digital_phantom": RadiomicsSettings(
            discretization={"method": "none"}, ivh_discretization={"method": "none"}, aggregation=F.AGGREGATIONS
        ),
        "a": RadiomicsSettings(
            resegment_range=(-500, 400),
            discretization={"method": "fixed_bin_size", "width": 25},
            ivh_discretization={"method": "none"},
            aggregation=_2D,
        ),
        "b": RadiomicsSettings(
            resample=(2.0, 2.0, None),
            interpolation="linear",
            round_intensities=True,
            resegment_range=(-500, 400),
            discretization={"method": "fixed_bin_number", "n": 32},
            ivh_discretization={"method": "none"},
            aggregation=_2D,
        ),
        "c": RadiomicsSettings(
            resample=(2.0, 2.0, 2.0),
            interpolation="linear",
            round_intensities=True,
            resegment_range=(-1000, 400),
            discretization={"method": "fixed_bin_size", "width": 25},
            ivh_discretization={"method": "fixed_bin_size", "width": 2.5},
            aggregation=_3D,
        ),
        "d": RadiomicsSettings(
            resample=(2.0, 2.0, 2.0),
            interpolation="linear",
            round_intensities=True,
            resegment_outlier_sigma=3.0,
            discretization={"method": "fixed_bin_number", "n": 32},
            ivh_discretization={"method": "none"},
            aggregation=_3D,
        ),
        "e": RadiomicsSettings(
            resample=(2.0, 2.0, 2.0),
            interpolation="cubic",
            round_intensities=True,
            resegment_range=(-1000, 400),
            resegment_outlier_sigma=3.0,
            discretization={"method": "fixed_bin_number", "n": 32},
            ivh_discretization={"method": "fixed_bin_number", "n": 1000},
            aggregation=_3D,
        ),
    }
    aliases = {"dig": "digital_phantom", "phantom": "digital_phantom", "digital": "digital_phantom"}
    key = aliases.get(key, key)
    check_param("ibsi_settings", "config", config, key in configs, "'digital_phantom' or one of 'A' … 'E'")
    return configs[key]


def load_settings(path: str | os.PathLike[str] | None = None, *, config: str | None = None) -> RadiomicsSettings:
    """Read settings from a YAML params file, starting from an IBSI configuration.

    Parameters
    ----------
    path
        A YAML mapping with any of ``resample`` (``[x, y, z]`` or ``none``),
        ``interpolation``, ``round_intensities``, ``resegment_range``,
        ``resegment_outlier_sigma``, ``discretization``, ``ivh_discretization``,
        ``aggregation``, ``families`` and ``max_voxels_autocorrelation``.
    config
        An IBSI configuration (see :func:`ibsi_settings`) the file's keys override;
        default: :class:`RadiomicsSettings` defaults.

    Returns
    -------
    RadiomicsSettings
    """
    import yaml

    base = ibsi_settings(config) if config else RadiomicsSettings()
    if path is None:
        return base
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read the params file: {' '.join(str(exc).split())}", file=path) from None
    if not isinstance(data, dict):
        raise InputError("the params file must be a YAML mapping", file=path)
    known = set(RadiomicsSettings.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}", file=path)
    for key in ("resample", "resegment_range"):
        if isinstance(data.get(key), str) and data[key].lower() == "none":
            data[key] = None
    for key in ("aggregation", "families"):
        if isinstance(data.get(key), str):
            data[key] = data[key].split()
    try:
        return replace(base, **data)
    except InputError as exc:
        raise InputError(exc.problem, file=path) from None
    except (TypeError, ValueError) as exc:
        raise InputError(" ".join(str(exc).split()), file=path) from None


# ==================================================================== processing
@dataclass
class Prepared:
    """The arrays of one ROI after the processing chain (cropped to the ROI's box)."""

    image: np.ndarray
    morph_mask: np.ndarray
    int_mask: np.ndarray
    spacing_zyx: tuple[float, float, float]
    levels: np.ndarray
    n_levels: int
    ivh_values: np.ndarray
    ivh_width: float
    ivh_range: tuple[float, float] | None
    diagnostics: dict[str, float] = field(default_factory=dict)


def _bounding_box(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index of the non-zero voxels along each axis (by projections: no coordinate list)."""
    lo, hi = [], []
    for axis in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        if hit.size == 0:
            raise InputError("the ROI mask is empty")
        lo.append(hit[0])
        hi.append(hit[-1])
    return np.array(lo), np.array(hi)


def _resample(
    image: Volume, mask: np.ndarray, settings: RadiomicsSettings, *, whole: bool = False
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """IBSI resampling: grid centres aligned; image interpolated, mask linear ≥ 0.5.

    Only the part of the new grid around the ROI is computed (the ROI's box plus the
    local-intensity margin): the same values as resampling the whole image there.
    """
    from scipy import ndimage

    assert settings.resample is not None
    old = np.asarray(image.spacing_zyx)
    new = np.array([settings.resample[2] or old[0], settings.resample[1] or old[1], settings.resample[0] or old[2]])
    shape = np.asarray(image.shape)
    new_shape = np.ceil(shape * old / new).astype(int)
    # old-grid index of new voxel 0 (grid centres aligned), and the step in old indices
    start = (old * (shape - 1) - new * (new_shape - 1)) / 2.0 / old
    step = new / old
    box_lo, box_hi = _bounding_box(mask)
    margin_new = np.ceil(6.3 / new).astype(int) + 2
    first = np.maximum(np.floor((box_lo - 1 - start) / step).astype(int) - margin_new, 0)
    last = np.minimum(np.ceil((box_hi + 1 - start) / step).astype(int) + margin_new + 1, new_shape)
    if whole:
        first, last = np.zeros(3, int), new_shape
    order = _INTERPOLATIONS[settings.interpolation]
    pad = 16 if order > 1 else 2  # the cubic spline's prefilter reaches further
    lo = np.maximum(np.floor(start + step * first).astype(int) - pad, 0)
    hi = np.minimum(np.ceil(start + step * (last - 1)).astype(int) + pad + 1, shape)
    crop = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    offset = start + step * first - lo
    out_shape = tuple(int(v) for v in last - first)

    def sample(arr: np.ndarray, order: int) -> np.ndarray:
        return ndimage.affine_transform(
            arr[crop].astype(np.float64),
            step,
            offset=offset,
            output_shape=out_shape,
            order=order,
            mode="nearest",
            prefilter=order > 1,
        )

    img = sample(image.array, order)
    if settings.round_intensities:
        img = np.round(img)
    # ≥ 0.5 up to rounding: voxel centres exactly half-way between two old ones stay inside
    msk = np.round(sample(mask.astype(np.float64), 1), 6) >= 0.5
    return img, msk, (float(new[0]), float(new[1]), float(new[2]))


def _discretize(values: np.ndarray, spec: Mapping[str, Any], low: float | None) -> tuple[np.ndarray, int]:
    method = spec["method"]
    if values.size == 0:
        return values.astype(np.int64), 1
    if method == "fixed_bin_number":
        n = int(spec["n"])
        lo, hi = float(values.min()), float(values.max())
        if hi == lo:
            return np.ones(values.shape, np.int64), n
        d = np.floor(n * (values - lo) / (hi - lo)).astype(np.int64) + 1
        return np.minimum(d, n), n
    if method == "fixed_bin_size":
        w = float(spec["width"])
        lo = float(spec.get("min", low if low is not None else values.min()))
        d = np.floor((values - lo) / w).astype(np.int64) + 1
        return np.maximum(d, 1), int(d.max())
    d = np.round(values).astype(np.int64)
    if not np.allclose(values, d) or d.min() < 1:
        raise InputError(
            "discretization 'none' needs integer grey levels ≥ 1 in the ROI; use fixed_bin_number or fixed_bin_size"
        )
    return d, int(d.max())


def preprocess(image: Volume, mask: Volume | np.ndarray, *, settings: RadiomicsSettings) -> Prepared:
    """Apply IBSI's processing chain to an image and a binary ROI mask.

    Parameters
    ----------
    image
        The image.
    mask
        The ROI (non-zero voxels), on the image's grid.
    settings
        Processing settings.

    Returns
    -------
    Prepared
        Cropped image, morphological and intensity masks, spacing, grey levels and the
        intensity-volume histogram's values.
    """
    m = np.asarray(mask.array if isinstance(mask, Volume) else mask)
    if m.ndim == 2:
        m = m[None]
    if m.shape != image.shape:
        raise InputError(f"the mask's shape {m.shape} differs from the image's {image.shape}")
    m = m > 0.5 if m.dtype.kind == "f" else m != 0
    diag: dict[str, float] = {}
    want_diag = "diag" in settings.families
    if want_diag:
        diag.update(_image_diag("init", image.array, image.shape, image.spacing_zyx))
        diag.update(_roi_diag("init", image.array, m, m, image.shape))
    if settings.resample is not None:
        if want_diag:  # the whole image, resampled (only the ROI's surroundings are otherwise)
            full, _, new_spacing = _resample(image, m, settings, whole=True)
            diag.update(_image_diag("interp", full, full.shape, new_spacing))
            del full
        img, m, spacing = _resample(image, m, settings)
        grid = tuple(int(np.ceil(n * o / s)) for n, o, s in zip(image.shape, image.spacing_zyx, spacing, strict=True))
    else:
        img, spacing, grid = image.array, image.spacing_zyx, image.shape  # cast to float once cropped
        if want_diag:
            diag.update(_image_diag("interp", img.astype(np.float64), grid, spacing))
    if not m.any():
        raise InputError("the ROI mask is empty")
    if want_diag:
        diag.update(_roi_diag("interp", img, m, m, grid))
    # crop to the ROI's box plus the local-intensity sphere
    margin = np.ceil(6.3 / np.asarray(spacing)).astype(int) + 1
    box_lo, box_hi = _bounding_box(m)
    lo = np.maximum(box_lo - margin, 0)
    hi = np.minimum(box_hi + margin + 1, m.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    img, m = np.asarray(img[box], dtype=np.float64), m[box]
    int_mask = m.copy()
    low = None
    if settings.resegment_range is not None:
        low, high = settings.resegment_range
        if low is not None:
            int_mask &= img >= low
        if high is not None:
            int_mask &= img <= high
    if settings.resegment_outlier_sigma is not None:
        vals = img[int_mask]
        mu, sd = vals.mean(), vals.std()
        k = settings.resegment_outlier_sigma
        int_mask &= (img >= mu - k * sd) & (img <= mu + k * sd)
    vals = img[int_mask]
    if want_diag:
        diag.update(_roi_diag("reseg", img, int_mask, m, grid))
    levels = np.zeros(img.shape, np.int64)
    d, n_levels = _discretize(vals, settings.discretization, low)
    levels[int_mask] = d
    ivh = settings.ivh_discretization
    if ivh["method"] == "none":
        ivh_values, ivh_width, ivh_range = vals, 1.0, None
    elif ivh["method"] == "fixed_bin_size":
        lo_i = float(ivh.get("min", low if low is not None else vals.min()))
        dd, _ = _discretize(vals, ivh, low)
        w = float(ivh["width"])
        ivh_values, ivh_width = lo_i + (dd - 0.5) * w, w
        top = settings.resegment_range[1] if settings.resegment_range is not None else None
        ivh_range = (
            (lo_i + 0.5 * w, (top if top is not None else float(ivh_values.max())) - 0.5 * w)
            if low is not None
            else None
        )
    else:
        dd, n = _discretize(vals, ivh, low)
        ivh_values, ivh_width, ivh_range = dd.astype(np.float64), 1.0, (1.0, float(n))
    return Prepared(
        img, m, int_mask, tuple(float(s) for s in spacing), levels, n_levels, ivh_values, ivh_width, ivh_range, diag
    )  # type: ignore[arg-type]


def _image_diag(
    stage: str, arr: np.ndarray, shape_zyx: Sequence[int], spacing_zyx: Sequence[float]
) -> dict[str, float]:
    out: dict[str, float] = {}
    for axis, k in (("x", 2), ("y", 1), ("z", 0)):
        out[f"img_dim_{axis}_{stage}_img"] = float(shape_zyx[k])
    for axis, k in (("x", 2), ("y", 1), ("z", 0)):
        out[f"vox_dim_{axis}_{stage}_img"] = float(spacing_zyx[k])
    out[f"mean_int_{stage}_img"] = float(np.mean(arr))
    out[f"min_int_{stage}_img"] = float(np.min(arr))
    out[f"max_int_{stage}_img"] = float(np.max(arr))
    return out


def _roi_diag(
    stage: str, img: np.ndarray, int_mask: np.ndarray, morph_mask: np.ndarray, grid_zyx: Sequence[int]
) -> dict[str, float]:
    out: dict[str, float] = {}
    for axis, k in (("x", 2), ("y", 1), ("z", 0)):
        out[f"int_mask_dim_{axis}_{stage}_roi"] = float(grid_zyx[k])
    for name, msk in (("int_mask", int_mask), ("morph_mask", morph_mask)):
        idx = np.argwhere(msk)
        ext = idx.max(axis=0) - idx.min(axis=0) + 1 if idx.size else np.zeros(3, int)
        for axis, k in (("x", 2), ("y", 1), ("z", 0)):
            out[f"{name}_bb_dim_{axis}_{stage}_roi"] = float(ext[k])
    out[f"int_mask_vox_count_{stage}_roi"] = float(int_mask.sum())
    out[f"morph_mask_vox_count_{stage}_roi"] = float(morph_mask.sum())
    vals = img[int_mask]
    out[f"int_mask_mean_int_{stage}_roi"] = float(vals.mean()) if vals.size else float("nan")
    out[f"int_mask_min_int_{stage}_roi"] = float(vals.min()) if vals.size else float("nan")
    out[f"int_mask_max_int_{stage}_roi"] = float(vals.max()) if vals.size else float("nan")
    return out


def radiomics_features(
    image: Volume, mask: Volume | np.ndarray, *, settings: RadiomicsSettings | None = None
) -> dict[str, float]:
    """IBSI 1 features of one image and one binary ROI.

    Parameters
    ----------
    image
        The image (intensities, e.g. Hounsfield units).
    mask
        The ROI, on the image's grid (non-zero = inside).
    settings
        Processing and feature settings; default :class:`RadiomicsSettings` (no
        resampling, 32 bins, 3-D aggregation, every family).

    Returns
    -------
    dict
        Feature values by IBSI tag, in family order.

    Raises
    ------
    InputError
        If the mask is empty or not on the image's grid, or the settings cannot apply.
    """
    settings = settings or RadiomicsSettings()
    check_param("radiomics_features", "image", image, isinstance(image, Volume), "a Volume")
    p = preprocess(image, mask, settings=settings)
    if not p.int_mask.any():
        raise InputError("no voxel of the ROI is left after re-segmentation")
    fams = settings.families
    aggs = settings.aggregation
    dims = tuple(dict.fromkeys(a.split("_avg")[0].split("_comb")[0] for a in aggs))
    out: dict[str, float] = dict(p.diagnostics)
    vals = p.image[p.int_mask]
    morph = None
    if "morph" in fams:  # the mesh and the FFTs release the GIL: on a second thread meanwhile
        pool = ThreadPoolExecutor(1, thread_name_prefix="biolake-morph")
        morph = pool.submit(
            F.morphology_features,
            p.image,
            p.morph_mask,
            p.int_mask,
            p.spacing_zyx,
            max_voxels_autocorrelation=settings.max_voxels_autocorrelation,
        )
        pool.shutdown(wait=False)
    rest: dict[str, float] = {}
    try:
        if "loc" in fams:
            rest.update(F.local_intensity_features(p.image, p.int_mask, p.spacing_zyx))
        if "stat" in fams:
            rest.update(F.statistics_features(vals))
        if "ih" in fams:
            rest.update(F.intensity_histogram_features(p.levels[p.int_mask], n_levels=p.n_levels))
        if "ivh" in fams:
            rest.update(
                F.intensity_volume_histogram_features(p.ivh_values, bin_width=p.ivh_width, value_range=p.ivh_range)
            )
        if "cm" in fams:
            rest.update(F.glcm_features(p.levels, p.int_mask, n_levels=p.n_levels, aggregations=aggs))
        if "rlm" in fams:
            rest.update(F.glrlm_features(p.levels, p.int_mask, aggregations=aggs))
        zone_fams = tuple(f for f in ("szm", "dzm") if f in fams)
        if zone_fams:  # one labelling of the zones for both families
            rest.update(zone_features(p.levels, p.int_mask, p.morph_mask, dims=dims, families=zone_fams))
        neighbourhood_fams = tuple(f for f in ("ngt", "ngl") if f in fams)
        if neighbourhood_fams:  # one pass over the neighbourhoods for both families
            rest.update(neighbourhood_features(p.levels, p.int_mask, dims=dims, families=neighbourhood_fams))
    finally:
        if morph is not None:
            out.update(morph.result())  # family order: morph first
    out.update(rest)
    return out


# ========================================================================= many cases
@dataclass(frozen=True)
class RadiomicsCase:
    """One (image, mask) pair to compute features for; picklable, read by the worker.

    Attributes
    ----------
    image
        A NIfTI file, a DICOM file or folder, or an ingested image as
        ``lake:NAME/IMAGE_ID`` (then ``array_path`` is the dataset's Zarr group).
    mask
        A mask file/folder on the image's grid; None for an ingested image's own mask.
    labels
        Mask labels to compute (one row each); default every non-zero label.
    array_path
        The Zarr group of a ``lake:`` image (workers read it without the catalog).
    """

    image: str
    mask: str | None = None
    labels: tuple[int, ...] | None = None
    array_path: str | None = None


def _load_case(case: RadiomicsCase) -> tuple[Volume, Volume, dict[str, str]]:
    from biolake.io.images import read_image, read_image_group

    names: dict[str, str] = {}
    if case.image.startswith("lake:"):
        if case.array_path is None:
            raise InputError("a lake: image needs the path of its dataset", file=case.image)
        _, _, image_id = case.image[5:].partition("/")
        image, own_mask, attrs = read_image_group(case.array_path, image_id=image_id or None)
        names = dict(attrs.get("labels", {}))
        if case.mask is None:
            if own_mask is None:
                raise InputError("this image has no mask in the lake; give one", file=case.image)
            return image, own_mask, names
    else:
        image = read_image(case.image)
    if case.mask is None:
        raise InputError("no mask given for this image", file=case.image)
    mask = read_image(case.mask)
    if not mask.same_grid(image, tol=1e-3):
        raise InputError(f"the mask's grid {mask.shape} does not match the image's {image.shape}", file=case.mask)
    return image, mask, names


def _case_rows(case: RadiomicsCase, settings: RadiomicsSettings) -> list[dict[str, Any]]:
    """The kernel: read one case and compute one feature row per label."""
    image, mask, names = _load_case(case)
    arr = np.asarray(mask.array)
    present = [int(v) for v in np.unique(arr[arr != 0])] if arr.dtype.kind in "iub" else [1]
    labels = list(case.labels) if case.labels is not None else present
    rows = []
    for label in labels:
        roi = arr == label if arr.dtype.kind in "iub" else arr > 0.5
        if not roi.any():
            raise InputError(f"label {label} is not in the mask (labels: {present})", file=case.mask or case.image)
        try:
            feats = radiomics_features(image, roi, settings=settings)
        except InputError as exc:
            raise InputError(f"label {label}: {exc.problem}", file=case.image) from None
        rows.append(
            {
                "image": case.image,
                "mask": case.mask or f"{case.image}__mask",
                "label": names.get(str(label), str(label)),
                **feats,
            }
        )
    return rows


def radiomics_table(
    cases: Iterable[RadiomicsCase],
    *,
    settings: RadiomicsSettings | None = None,
    scheduler: Any = None,
    backend: Any = None,
    progress: Any = None,
) -> pd.DataFrame:
    """Features of many cases, computed in parallel: one row per (image, mask, label).

    Parameters
    ----------
    cases
        The cases (see :class:`RadiomicsCase`); each worker reads its own.
    settings
        Processing and feature settings.
    scheduler, backend
        Where to run (see :func:`biolake.lake.backend.map_chunks`): ``"threads"``
        (default), ``"processes"``, ``"synchronous"``, a Dask address or client.
    progress
        A :class:`biolake.lake.progress.Progress`.

    Returns
    -------
    pandas.DataFrame
        Columns ``image``, ``mask``, ``label``, then the features by IBSI tag. The same
        values whatever the backend.
    """
    from biolake.lake.backend import map_chunks
    from biolake.lake.progress import NullProgress

    settings = settings or RadiomicsSettings()
    cases = list(cases)
    check_param(
        "radiomics_table",
        "cases",
        cases,
        all(isinstance(c, RadiomicsCase) for c in cases) and bool(cases),
        "a non-empty list of RadiomicsCase",
    )
    progress = progress or NullProgress()
    rows: list[dict[str, Any]] = []
    with progress.task("Radiomics", total=len(cases)) as task:
        for case_rows in map_chunks(
            _case_rows, cases, backend=backend, scheduler=None if backend else scheduler, settings=settings
        ):
            rows.extend(case_rows)
            task.advance()
    return pd.DataFrame(rows)


def lake_cases(lake: Any, name: str) -> list[RadiomicsCase]:
    """The cases of an ingested image dataset: every image that has a mask.

    Parameters
    ----------
    lake
        The lake.
    name
        The array dataset written by :func:`biolake.io.images.ingest_images`.

    Returns
    -------
    list of RadiomicsCase
    """
    name = name.removeprefix("lake:")
    group = lake.open_array(name)
    keys = set(group.array_keys())
    ids = sorted(k for k in keys if not k.endswith("__mask") and f"{k}__mask" in keys)
    if not ids:
        raise InputError("no image with a mask in this dataset", file=f"lake:{name}")
    path = str(lake.info(name).path)
    return [RadiomicsCase(f"lake:{name}/{i}", array_path=path) for i in ids]


def run_radiomics(
    lake: Any,
    image: str,
    *,
    out: str | os.PathLike[str],
    mask: str | None = None,
    labels: Sequence[int] | None = None,
    settings: RadiomicsSettings | None = None,
    config: str | None = None,
    scheduler: Any = None,
    progress: Any = None,
) -> tuple[str, pd.DataFrame]:
    """The ``imaging radiomics`` job: features of one image or a lake dataset → result file + run.

    Parameters
    ----------
    lake
        The lake (results are registered there; ``lake:`` images are read from it).
    image
        A NIfTI file, a DICOM file or folder, ``lake:NAME`` (every image of an ingested
        dataset that has a mask) or ``lake:NAME/IMAGE_ID``.
    out
        Result file (``.parquet``, ``.csv`` or ``.tsv``).
    mask
        The mask file/folder for a file image (lake images use their own mask).
    labels
        Mask labels to compute; default all.
    settings
        Processing and feature settings; default those of ``config`` or the defaults.
    config
        Name of the IBSI configuration the settings came from (recorded with the run).
    scheduler
        Where to run the cases (see :func:`radiomics_table`).
    progress
        A :class:`biolake.lake.progress.Progress`.

    Returns
    -------
    tuple
        The run id and the feature table.
    """
    settings = settings or (ibsi_settings(config) if config else RadiomicsSettings())
    label_tuple = tuple(int(v) for v in labels) if labels else None
    if image.startswith("lake:"):
        dataset, _, image_id = image[5:].partition("/")
        info = lake.info(dataset)  # an unknown dataset is an InputError now, not in a worker
        if image_id:
            cases = [RadiomicsCase(image, mask, label_tuple, str(info.path))]
        else:
            cases = [replace(c, mask=mask, labels=label_tuple) for c in lake_cases(lake, dataset)]
    else:
        if not Path(image).exists():
            raise InputError("no such file or folder", file=image)
        if mask is None:
            raise InputError("a file image needs --mask", file=image)
        if not Path(mask).exists():
            raise InputError("no such file or folder", file=mask)
        cases = [RadiomicsCase(str(image), str(mask), label_tuple)]
    params = {
        "image": image,
        "mask": mask,
        "labels": list(label_tuple) if label_tuple else None,
        "config": config,
        "settings": settings.to_dict(),
        "out": str(out),
    }
    inputs = [image] + ([mask] if mask else [])
    with lake.run(
        "imaging radiomics", params=params, inputs=[i.split("/")[0] if i.startswith("lake:") else i for i in inputs]
    ) as run:
        table = radiomics_table(cases, settings=settings, scheduler=scheduler, progress=progress)
        run.result(table, out)
    return run.id, table
