"""Medical images (DICOM series, NIfTI volumes, ROI masks) → lake, de-identified.

:func:`ingest_images` walks a folder tree and brings every image volume it finds into
the lake:

* **DICOM** (pydicom): files are grouped into series by (StudyInstanceUID,
  SeriesInstanceUID); slices are sorted by ImagePositionPatient projected on the slice
  normal (the cross product of the ImageOrientationPatient cosines); RescaleSlope and
  RescaleIntercept are applied (Hounsfield units for CT); the slice spacing must be
  uniform (else an :class:`~biolake.errors.InputError` naming the series, or linear
  resampling to the median spacing with ``resample_nonuniform=True``). A single image
  without position (a radiograph) is a one-slice volume.
* **NIfTI** (``.nii``, ``.nii.gz``, read with SimpleITK, so the geometry is in the same
  LPS convention as DICOM).
* **Masks**: DICOM RTSTRUCTs (in the folder or in ``mask_dir``) are rasterised on the
  series they reference; NIfTI masks in ``mask_dir`` are paired with the NIfTI image of
  the same file name (or with the only image when there is one image and one mask).

Headers are read first, for every file, by biolake's own reader
(:mod:`biolake.io._dicom_header`: the same values as pydicom, several times faster; pydicom
reads the files it declines and RTSTRUCTs); ``header_only=True`` stops there and registers
only the metadata table.

Each corrupt or non-image file is reported through ``on_skip(file, problem)`` and
skipped. **De-identification is on by default** (DICOM PS3.15 basic profile, applied
by retention): only technical attributes are kept; patient, study and series
identifiers are replaced by keyed pseudonyms (HMAC-SHA-256 with a secret key kept in
the lake, :func:`lake_secret`, never in results), so the same patient gets the same
pseudonym in every ingest into that lake; dates become day offsets from the patient's
first date in the ingest. Original identifiers enter the lake only with
``keep_phi=True``.

The lake receives the table ``NAME_meta`` (one row per volume: ``image_id patient_id
study_id series_id modality body_part rows cols slices spacing_x spacing_y spacing_z
date_offset_days``) and the array dataset ``NAME`` holding, per volume, the array
``<image_id>`` (dims ``z, y, x``; attributes ``spacing``, ``origin``, ``direction`` as
SimpleITK gives them, and the de-identified ``header``) and, when a mask was found,
``<image_id>__mask`` (a label map; attribute ``labels`` maps values to ROI names).

Examples
--------
>>> from biolake.io.images import ingest_images, read_image
>>> info = ingest_images(lake, "scans/", name="ct")                     # doctest: +SKIP
>>> lake.to_pandas("ct_meta")[["image_id", "modality", "slices"]]       # doctest: +SKIP
>>> vol = read_image("scans/patient1/")                                  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from biolake.errors import InputError, check_param
from biolake.lake.progress import NullProgress, Progress

if TYPE_CHECKING:
    from biolake.lake import DatasetInfo, Lake

__all__ = [
    "IMAGE_ENCODING",
    "META_COLUMNS",
    "Pseudonymizer",
    "Volume",
    "deidentify_header",
    "ingest_images",
    "lake_secret",
    "load_image",
    "rasterize_rtstruct",
    "read_dicom_series",
    "read_image",
    "read_image_group",
    "read_nifti",
]

IMAGE_ENCODING = ("image-zarr", 1)
"""Encoding name and version of the image array datasets."""

META_COLUMNS = (
    "image_id",
    "patient_id",
    "study_id",
    "series_id",
    "modality",
    "body_part",
    "rows",
    "cols",
    "slices",
    "spacing_x",
    "spacing_y",
    "spacing_z",
    "date_offset_days",
)
"""Columns of the ``NAME_meta`` table, in order."""

_NIFTI_SUFFIXES = (".nii", ".nii.gz")
_PREFIXES = {"patient": "PT", "study": "ST", "series": "SE"}
_SECRET_FILE = Path(".secrets") / "imaging-pseudonym.key"
_SPACING_RTOL = 1e-3
_SPACING_ATOL = 1e-3  # mm

# Attributes kept by de-identification: technical, never identifying (PS3.15 basic
# profile by retention; every attribute not listed here is removed).
_RETAIN = (
    "Modality",
    "BodyPartExamined",
    "Manufacturer",
    "ManufacturerModelName",
    "SliceThickness",
    "SpacingBetweenSlices",
    "KVP",
    "XRayTubeCurrent",
    "Exposure",
    "ConvolutionKernel",
    "MagneticFieldStrength",
    "RepetitionTime",
    "EchoTime",
    "FlipAngle",
    "ScanningSequence",
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
    "RescaleSlope",
    "RescaleIntercept",
    "RescaleType",
    "WindowCenter",
    "WindowWidth",
    "ImageOrientationPatient",
    "PatientPosition",
)


# ========================================================================= volumes
def _vec3(value: Sequence[float], name: str) -> tuple[float, float, float]:
    out = tuple(float(v) for v in value)
    if len(out) != 3:
        raise ValueError(f"{name} must have 3 values (x, y, z); got {value!r}")
    return out  # type: ignore[return-value]


@dataclass
class Volume:
    """A 3-D image (or mask) with its geometry.

    Attributes
    ----------
    array
        The voxels, ``(z, y, x)`` (slices, rows, columns). A 2-D image is one slice.
    spacing
        Voxel size in mm, ``(x, y, z)``.
    origin
        LPS position in mm of the centre of voxel ``array[0, 0, 0]``.
    direction
        3 × 3 matrix whose columns are the LPS directions of the x, y and z axes.
    """

    array: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))

    def __post_init__(self) -> None:
        arr = np.asarray(self.array)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3:
            raise ValueError(f"a volume is 2-D or 3-D; got an array of shape {arr.shape}")
        self.array = arr
        self.spacing = _vec3(self.spacing, "spacing")
        self.origin = _vec3(self.origin, "origin")
        self.direction = np.asarray(self.direction, dtype=np.float64).reshape(3, 3)

    @property
    def spacing_zyx(self) -> tuple[float, float, float]:
        """Voxel size in the array's axis order ``(z, y, x)``."""
        return (self.spacing[2], self.spacing[1], self.spacing[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape ``(z, y, x)``."""
        return tuple(int(s) for s in self.array.shape)  # type: ignore[return-value]

    def physical_point(self, index_zyx: Sequence[float]) -> np.ndarray:
        """LPS position (mm) of the voxel at array index ``(k, j, i)``."""
        k, j, i = (float(v) for v in index_zyx)
        return np.asarray(self.origin) + self.direction @ (np.asarray(self.spacing) * np.array([i, j, k]))

    def same_grid(self, other: Volume, *, tol: float = 1e-4) -> bool:
        """Whether ``other`` has the same shape and geometry (within ``tol`` mm)."""
        return (
            self.shape == other.shape
            and np.allclose(self.spacing, other.spacing, atol=tol)
            and np.allclose(self.origin, other.origin, atol=tol)
            and np.allclose(self.direction, other.direction, atol=tol)
        )

    def geometry(self) -> dict[str, Any]:
        """JSON-able geometry: ``spacing``, ``origin`` (x, y, z) and ``direction`` (9 values, row-major)."""
        return {
            "spacing": list(self.spacing),
            "origin": list(self.origin),
            "direction": [float(v) for v in self.direction.ravel()],
        }


# The only attributes the header scan parses (about twice as fast as every attribute).
_HEADER_TAGS = [
    *_RETAIN,
    "SOPClassUID",
    "PatientID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "FrameOfReferenceUID",
    "ImagePositionPatient",
    "NumberOfFrames",
    "SamplesPerPixel",
    "AcquisitionDate",
    "SeriesDate",
    "StudyDate",
    "ContentDate",
    "ReferencedFrameOfReferenceSequence",
]


# ====================================================================== pseudonyms
def lake_secret(lake: Lake) -> bytes:
    """The lake's secret key for pseudonyms, created (32 random bytes, mode 0600) on first use.

    Parameters
    ----------
    lake
        The lake; the key is kept in ``LAKE/.secrets/``, outside every dataset.

    Returns
    -------
    bytes
        The key.
    """
    path = lake.root / _SECRET_FILE
    if path.exists():
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    path.parent.mkdir(mode=0o700, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32))
    try:
        os.link(tmp, path)  # the first writer wins; a concurrent ingest reads its key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


@dataclass(frozen=True)
class Pseudonymizer:
    """Keyed pseudonyms (HMAC-SHA-256): the same input and key always give the same output.

    Attributes
    ----------
    key
        The secret key (see :func:`lake_secret`).
    keep
        Return the original values instead (``--keep-phi``).
    """

    key: bytes
    keep: bool = False

    def _digest(self, kind: str, value: str) -> bytes:
        return hmac.new(self.key, f"{kind}\x00{value}".encode(), hashlib.sha256).digest()

    def id(self, kind: str, value: str | None) -> str | None:
        """A short pseudonym ``PT-``/``ST-``/``SE-<16 hex>`` for a patient/study/series id (None stays None)."""
        if value is None or str(value) == "":
            return None
        if self.keep:
            return str(value)
        prefix = _PREFIXES.get(kind, kind[:2].upper())
        return f"{prefix}-{self._digest(kind, str(value)).hex()[:16]}"

    def uid(self, value: str | None) -> str | None:
        """A pseudonymous DICOM UID (``2.25.<decimal>``, as PS3.5 allows) for a UID."""
        if value is None or str(value) == "":
            return None
        if self.keep:
            return str(value)
        return "2.25." + str(int.from_bytes(self._digest("uid", str(value))[:16], "big"))


def deidentify_header(ds: Any, pseudonymizer: Pseudonymizer) -> dict[str, Any]:
    """The de-identified attributes of a DICOM data set, as JSON-able values.

    Only the technical attributes of a retention list are kept (which removes every
    attribute the PS3.15 basic profile removes or blanks: names, ids, dates, times,
    institution, station, operators, descriptions, private tags, overlays …); the
    study, series and frame-of-reference UIDs are replaced by keyed pseudonymous UIDs
    and the patient id by a keyed pseudonym. With ``pseudonymizer.keep`` the
    identifiers are kept as they are.

    Parameters
    ----------
    ds
        A :class:`pydicom.Dataset`.
    pseudonymizer
        The keyed pseudonym generator.

    Returns
    -------
    dict
        Attribute keyword → value.
    """
    out: dict[str, Any] = {}
    for keyword in _RETAIN:
        value = ds.get(keyword)
        if value is None or value == "":
            continue
        out[keyword] = _jsonable(value)
    out["PatientID"] = pseudonymizer.id("patient", _text(ds.get("PatientID")))
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        out[keyword] = pseudonymizer.uid(_text(ds.get(keyword)))
    out["PatientIdentityRemoved"] = "NO" if pseudonymizer.keep else "YES"
    if not pseudonymizer.keep:
        out["DeidentificationMethod"] = "biolake: PS3.15 basic profile by retention, keyed pseudonyms"
    return {k: v for k, v in out.items() if v is not None}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _jsonable(value: Any) -> Any:
    from pydicom.multival import MultiValue

    if isinstance(value, MultiValue | list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str):
        return int(value) if isinstance(value, int) else float(value) if isinstance(value, float) else str(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


# ========================================================================== NIfTI
def _is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(_NIFTI_SUFFIXES)


def read_nifti(path: str | os.PathLike[str]) -> Volume:
    """Read a NIfTI image or mask (``.nii``, ``.nii.gz``) with its LPS geometry.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    Volume
        Voxels ``(z, y, x)``; spacing, origin and direction as SimpleITK reads them.

    Raises
    ------
    InputError
        If the file cannot be read as a 2-D or 3-D NIfTI image.
    """
    import SimpleITK as sitk

    try:
        img = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise InputError(f"cannot read as NIfTI: {_first_line(exc)}", file=path) from None
    if img.GetDimension() not in (2, 3) or img.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(
            f"expected a 2-D or 3-D single-channel image; got {img.GetDimension()}-D with "
            f"{img.GetNumberOfComponentsPerPixel()} component(s)",
            file=path,
        )
    if img.GetDimension() == 2:
        img = sitk.JoinSeries(img)
    return Volume(
        sitk.GetArrayFromImage(img),
        spacing=img.GetSpacing(),
        origin=img.GetOrigin(),
        direction=np.asarray(img.GetDirection()).reshape(3, 3),
    )


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    useful = [ln for ln in lines if "description" in ln.lower()] or lines
    return useful[0] if useful else type(exc).__name__


# ========================================================================== DICOM
@dataclass
class _Slice:
    path: Path
    ds: Any  # header-only pydicom Dataset
    position: np.ndarray | None
    orientation: np.ndarray | None
    frames: int


@dataclass
class _Series:
    study_uid: str
    series_uid: str
    slices: list[_Slice] = field(default_factory=list)


# Read by biolake's own header reader (every attribute of _HEADER_TAGS but the RTSTRUCT's sequence).
_FAST_TAGS = tuple(k for k in _HEADER_TAGS if k != "ReferencedFrameOfReferenceSequence")


def _read_header(path: Path) -> Any:
    """The scan's attributes of a file: a DicomHeader (fast path), a pydicom Dataset, or None if not DICOM.

    The fast reader (:mod:`biolake.io._dicom_header`) returns the same values as pydicom
    for the attributes of the scan; files it does not handle, and RTSTRUCTs (whose
    referenced series are in a sequence), are read by pydicom.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    from biolake.io._dicom_header import header_spec, read_dicom_header

    hdr = read_dicom_header(path, header_spec(_FAST_TAGS))
    if hdr is not None and hdr.get("Modality") != "RTSTRUCT":
        return hdr
    try:
        return pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_HEADER_TAGS)
    except InvalidDicomError:
        # files without the 128-byte preamble are still DICOM if a forced read finds a SOP class
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True, specific_tags=_HEADER_TAGS)
        except Exception:
            return None
        return ds if "SOPClassUID" in ds or "Modality" in ds else None


def _vector(ds: Any, keyword: str, n: int) -> np.ndarray | None:
    value = ds.get(keyword)
    if value is None:
        return None
    try:
        values = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    if len(values) != n or not all(math.isfinite(v) for v in values):
        return None
    return np.array(values, dtype=np.float64)


def _scan(
    roots: Iterable[Path], on_skip: Callable[[str, str], None], progress: Progress
) -> tuple[dict[tuple[str, str], _Series], list[tuple[Path, Any]], list[Path]]:
    """Headers of every file: image series, RTSTRUCTs and NIfTI files."""
    files: list[Path] = []
    for root in roots:
        if root.is_file():
            files.append(root)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            files.extend(Path(dirpath) / f for f in sorted(filenames) if not f.startswith("."))
    series: dict[tuple[str, str], _Series] = {}
    rtstructs: list[tuple[Path, Any]] = []
    niftis: list[Path] = []
    with progress.task("Reading image headers", total=len(files)) as task:
        for path in files:
            task.advance()
            if _is_nifti(path):
                niftis.append(path)
                continue
            try:
                ds = _read_header(path)
            except Exception as exc:
                on_skip(str(path), f"corrupt DICOM file ({type(exc).__name__})")
                continue
            if ds is None:
                on_skip(str(path), "not a DICOM or NIfTI file")
                continue
            modality = str(ds.get("Modality", ""))
            if modality == "RTSTRUCT":
                rtstructs.append((path, ds))
                continue
            if "Rows" not in ds or "Columns" not in ds or ds.get("SeriesInstanceUID") is None:
                on_skip(str(path), f"DICOM file without an image (modality {modality or 'unknown'})")
                continue
            key = (str(ds.get("StudyInstanceUID", "")), str(ds.SeriesInstanceUID))
            entry = series.setdefault(key, _Series(*key))
            entry.slices.append(
                _Slice(
                    path,
                    ds,
                    _vector(ds, "ImagePositionPatient", 3),
                    _vector(ds, "ImageOrientationPatient", 6),
                    int(ds.get("NumberOfFrames", 1) or 1),
                )
            )
    return series, rtstructs, niftis


def _pixels(path: Path, label: str) -> tuple[np.ndarray, Any]:
    import pydicom

    try:
        ds = pydicom.dcmread(path, force=True)
        arr = ds.pixel_array
    except Exception as exc:
        raise _SkipFile(f"cannot decode the pixel data ({type(exc).__name__}: {_first_line(exc)})") from None
    if ds.get("SamplesPerPixel", 1) != 1:
        raise _SkipFile(f"colour image ({ds.get('PhotometricInterpretation')}) in {label}: only grey-scale is ingested")
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    out = arr.astype(np.float64) * slope + intercept if (slope != 1 or intercept != 0) else arr
    return np.asarray(out), ds


class _SkipFile(Exception):
    pass


def _series_label(series: _Series, pseudo: Pseudonymizer) -> str:
    return f"series {pseudo.id('series', series.series_uid)}"


def _order_slices(
    series: _Series, label: str, *, resample_nonuniform: bool
) -> tuple[list[_Slice], np.ndarray, float, bool, np.ndarray]:
    """Check a multi-file series from its headers and sort it along the normal.

    Returns the slices sorted, their positions along the normal (mm), the median gap, whether the
    gaps are uniform, and the orientation; raises InputError for an inconsistent series.
    """
    slices = series.slices
    first = slices[0].ds
    rows, cols = int(first.Rows), int(first.Columns)
    orient = slices[0].orientation
    missing = [s for s in slices if s.position is None or s.orientation is None]
    if missing:
        raise InputError(
            f"{label}: {len(missing)} of {len(slices)} files have no ImagePositionPatient/ImageOrientationPatient "
            "to order the slices",
            file=missing[0].path.name,
        )
    assert orient is not None
    # np.allclose(s.orientation, orient, atol=1e-4) for every slice at once
    same_orient = np.all(
        np.abs(np.array([s.orientation for s in slices]) - orient) <= 1e-4 + 1e-5 * np.abs(orient), axis=1
    ).tolist()
    for s, same in zip(slices, same_orient, strict=True):
        if int(s.ds.Rows) != rows or int(s.ds.Columns) != cols:
            raise InputError(
                f"{label}: inconsistent series: slices of {rows}×{cols} and {s.ds.Rows}×{s.ds.Columns} pixels",
                file=s.path.name,
            )
        if not same:
            raise InputError(f"{label}: inconsistent series: slices with different orientations", file=s.path.name)
        if s.frames != 1:
            raise InputError(f"{label}: inconsistent series: a multi-frame file among single slices", file=s.path.name)
    normal = np.cross(orient[:3], orient[3:])
    proj = np.array([float(s.position @ normal) for s in slices])  # type: ignore[operator]
    order = np.argsort(proj, kind="stable")
    proj = proj[order]
    slices = [slices[k] for k in order]
    gaps = np.diff(proj)
    if np.any(gaps < _SPACING_ATOL):
        k = int(np.argmax(gaps < _SPACING_ATOL))
        raise InputError(
            f"{label}: inconsistent series: two slices at the same position ({proj[k]:.3f} mm along the normal)",
            file=slices[k + 1].path.name,
        )
    spacing_z = float(np.median(gaps))
    uniform = np.allclose(gaps, spacing_z, rtol=_SPACING_RTOL, atol=_SPACING_ATOL)
    if not uniform and not resample_nonuniform:
        raise InputError(
            f"{label}: slice spacing is not uniform (from {gaps.min():.3f} to {gaps.max():.3f} mm); "
            "ingest with resampling (--resample) to interpolate it onto a uniform grid"
        )
    return slices, proj, spacing_z, bool(uniform), orient


def _volume_from_series(
    series: _Series, pseudo: Pseudonymizer, *, resample_nonuniform: bool, on_skip: Callable[[str, str], None]
) -> Volume | None:
    label = _series_label(series, pseudo)
    slices = series.slices
    first = slices[0].ds
    # a single file (a radiograph, or a multi-frame image)
    if len(slices) == 1:
        try:
            arr, ds = _pixels(slices[0].path, label)
        except _SkipFile as exc:
            on_skip(str(slices[0].path), str(exc))
            return None
        spacing_rc = _vector(ds, "PixelSpacing", 2)
        if spacing_rc is None:
            spacing_rc = _vector(ds, "ImagerPixelSpacing", 2)
        if spacing_rc is None:
            spacing_rc = np.ones(2)
        dz = float(ds.get("SpacingBetweenSlices", 0) or ds.get("SliceThickness", 0) or 1.0)
        origin = slices[0].position if slices[0].position is not None else np.zeros(3)
        direction = _direction(slices[0].orientation) if slices[0].orientation is not None else np.eye(3)
        return Volume(_compact(arr), spacing=(spacing_rc[1], spacing_rc[0], dz), origin=origin, direction=direction)
    rows, cols = int(first.Rows), int(first.Columns)
    slices, proj, spacing_z, uniform, orient = _order_slices(series, label, resample_nonuniform=resample_nonuniform)
    stack = np.empty((len(slices), rows, cols), dtype=np.float64)
    spacing_rc = None
    for k, s in enumerate(slices):
        try:
            arr, ds = _pixels(s.path, label)
        except _SkipFile as exc:
            raise InputError(f"{label}: {exc}", file=s.path.name) from None
        if arr.shape != (rows, cols):
            raise InputError(f"{label}: inconsistent series: pixel data of shape {arr.shape}", file=s.path.name)
        stack[k] = arr
        ps = _vector(ds, "PixelSpacing", 2)
        if spacing_rc is None:
            spacing_rc = ps
        elif ps is not None and not np.allclose(ps, spacing_rc, rtol=_SPACING_RTOL):
            raise InputError(f"{label}: inconsistent series: slices with different pixel spacing", file=s.path.name)
    if spacing_rc is None:
        spacing_rc = np.ones(2)
    if not uniform:
        target = proj[0] + spacing_z * np.arange(int(np.floor((proj[-1] - proj[0]) / spacing_z + 1e-6)) + 1)
        idx = np.clip(np.searchsorted(proj, target, side="right") - 1, 0, len(proj) - 2)
        t = ((target - proj[idx]) / (proj[idx + 1] - proj[idx]))[:, None, None]
        stack = stack[idx] * (1 - t) + stack[idx + 1] * t
    return Volume(
        _compact(stack),
        spacing=(float(spacing_rc[1]), float(spacing_rc[0]), spacing_z),
        origin=slices[0].position,  # type: ignore[arg-type]
        direction=_direction(orient),
    )


def _header_volume(
    series: _Series, pseudo: Pseudonymizer, *, resample_nonuniform: bool, on_skip: Callable[[str, str], None]
) -> Volume | None:
    """The volume :func:`_volume_from_series` would build, from the headers only (``header_only``).

    Same checks, shape and geometry; the voxels are a read-only array of zeros that takes no
    memory. Pixel data is not decoded, so a file whose pixels cannot be decoded is not noticed.
    """
    label = _series_label(series, pseudo)
    first = series.slices[0]
    ds = first.ds
    if len(series.slices) == 1:
        if int(ds.get("SamplesPerPixel", 1) or 1) != 1:
            on_skip(
                str(first.path),
                f"colour image ({ds.get('PhotometricInterpretation')}) in {label}: only grey-scale is ingested",
            )
            return None
        spacing_rc = _vector(ds, "PixelSpacing", 2)
        if spacing_rc is None:
            spacing_rc = _vector(ds, "ImagerPixelSpacing", 2)
        if spacing_rc is None:
            spacing_rc = np.ones(2)
        dz = float(ds.get("SpacingBetweenSlices", 0) or ds.get("SliceThickness", 0) or 1.0)
        return Volume(
            _no_voxels((first.frames, int(ds.Rows), int(ds.Columns))),
            spacing=(float(spacing_rc[1]), float(spacing_rc[0]), dz),
            origin=first.position if first.position is not None else np.zeros(3),
            direction=_direction(first.orientation) if first.orientation is not None else np.eye(3),
        )
    slices, proj, spacing_z, uniform, orient = _order_slices(series, label, resample_nonuniform=resample_nonuniform)
    for s in slices:
        if int(s.ds.get("SamplesPerPixel", 1) or 1) != 1:
            raise InputError(
                f"{label}: colour image ({s.ds.get('PhotometricInterpretation')}) in {label}: "
                "only grey-scale is ingested",
                file=s.path.name,
            )
    spacings = [_vector(s.ds, "PixelSpacing", 2) for s in slices]
    given = [k for k, ps in enumerate(spacings) if ps is not None]
    spacing_rc = spacings[given[0]] if given else np.ones(2)
    if given:  # np.allclose(ps, spacing_rc, rtol=_SPACING_RTOL) for every slice at once, as _volume_from_series
        ps = np.array([spacings[k] for k in given])
        same = np.all(np.abs(ps - spacing_rc) <= 1e-8 + _SPACING_RTOL * np.abs(spacing_rc), axis=1)
        if not same.all():
            bad = slices[given[int(np.argmin(same))]]
            raise InputError(f"{label}: inconsistent series: slices with different pixel spacing", file=bad.path.name)
    nz = len(slices) if uniform else int(np.floor((proj[-1] - proj[0]) / spacing_z + 1e-6)) + 1
    return Volume(
        _no_voxels((nz, int(ds.Rows), int(ds.Columns))),
        spacing=(float(spacing_rc[1]), float(spacing_rc[0]), spacing_z),
        origin=slices[0].position,  # type: ignore[arg-type]
        direction=_direction(orient),
    )


def _no_voxels(shape: tuple[int, int, int]) -> np.ndarray:
    return np.broadcast_to(np.zeros((), np.int16), shape)


def _nifti_header_volume(path: Path) -> Volume:
    """A NIfTI file's shape and geometry (header only; voxels as in :func:`_header_volume`)."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise InputError(f"cannot read as NIfTI: {_first_line(exc)}", file=path) from None
    dim, size = reader.GetDimension(), reader.GetSize()
    if dim not in (2, 3) or reader.GetNumberOfComponents() != 1:
        raise InputError(
            f"expected a 2-D or 3-D single-channel image; got {dim}-D with "
            f"{reader.GetNumberOfComponents()} component(s)",
            file=path,
        )
    if dim == 2:  # as read_nifti: one slice of spacing 1
        return Volume(
            _no_voxels((1, size[1], size[0])),
            spacing=(*reader.GetSpacing(), 1.0),
            origin=(*reader.GetOrigin(), 0.0),
            direction=np.block([[np.asarray(reader.GetDirection()).reshape(2, 2), np.zeros((2, 1))], [0, 0, 1]]),
        )
    return Volume(
        _no_voxels((size[2], size[1], size[0])),
        spacing=reader.GetSpacing(),
        origin=reader.GetOrigin(),
        direction=np.asarray(reader.GetDirection()).reshape(3, 3),
    )


def _direction(orient: np.ndarray) -> np.ndarray:
    row, col = orient[:3], orient[3:]
    return np.column_stack([row, col, np.cross(row, col)])


def _compact(arr: np.ndarray) -> np.ndarray:
    """Integers in the smallest fitting signed type; other values as float32."""
    a = np.asarray(arr)
    if a.dtype.kind == "f":
        if np.all(np.isfinite(a)) and np.array_equal(a, np.round(a)):
            lo, hi = (a.min(), a.max()) if a.size else (0, 0)
            for t in (np.int16, np.int32):
                if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
                    return a.astype(t)
        return a.astype(np.float32)
    return a


def read_dicom_series(
    directory: str | os.PathLike[str], *, series_uid: str | None = None, resample_nonuniform: bool = False
) -> Volume:
    """Read one DICOM series from a folder (tree) as a volume, without de-identification.

    Parameters
    ----------
    directory
        A folder holding the series' files (sub-folders too).
    series_uid
        The SeriesInstanceUID to read when the folder holds several series.
    resample_nonuniform
        Interpolate a series with uneven slice spacing onto a uniform grid (else an error).

    Returns
    -------
    Volume
        Rescaled voxels ``(z, y, x)`` with spacing, origin and direction.

    Raises
    ------
    InputError
        If the folder holds no image series, several without ``series_uid``, or an
        inconsistent series.
    """
    skipped: list[tuple[str, str]] = []
    series, _, _ = _scan([Path(directory)], lambda f, p: skipped.append((f, p)), NullProgress())
    pseudo = Pseudonymizer(b"", keep=True)
    if series_uid is not None:
        series = {k: v for k, v in series.items() if k[1] == series_uid}
    if not series:
        raise InputError("no DICOM image series found", file=directory)
    if len(series) > 1:
        raise InputError(f"{len(series)} DICOM series found; choose one with series_uid", file=directory)
    vol = _volume_from_series(
        next(iter(series.values())),
        pseudo,
        resample_nonuniform=resample_nonuniform,
        on_skip=lambda f, p: skipped.append((f, p)),
    )
    if vol is None:
        raise InputError(f"no readable image: {skipped[0][1] if skipped else 'unknown problem'}", file=directory)
    return vol


def read_image(path: str | os.PathLike[str]) -> Volume:
    """Read an image or a mask file: NIfTI, one DICOM file, or a folder with one DICOM series.

    Parameters
    ----------
    path
        ``.nii``/``.nii.gz`` file, a DICOM file or a folder.

    Returns
    -------
    Volume
    """
    p = Path(path)
    if not p.exists():
        raise InputError("no such file or folder", file=path)
    if p.is_file() and _is_nifti(p):
        return read_nifti(p)
    return read_dicom_series(p)


# ======================================================================== RTSTRUCT
def rasterize_rtstruct(ds: Any, reference: Volume, *, source: str | None = None) -> dict[str, np.ndarray]:
    """Rasterise the closed planar contours of an RTSTRUCT on an image grid.

    A voxel is inside a ROI when its centre is inside an odd number of the ROI's contours
    on its slice (holes are contours inside contours).

    Parameters
    ----------
    ds
        The RTSTRUCT (a :class:`pydicom.Dataset`, pixel data not needed).
    reference
        The image the contours were drawn on.
    source
        The file name, for error messages.

    Returns
    -------
    dict
        ROI name → boolean mask ``(z, y, x)`` on the reference grid.

    Raises
    ------
    InputError
        If a contour does not lie on a slice of the reference image.
    """
    from skimage.draw import polygon

    names = {
        int(r.ROINumber): str(r.get("ROIName", f"roi{r.ROINumber}")) for r in ds.get("StructureSetROISequence", [])
    }
    inv = np.linalg.inv(reference.direction @ np.diag(reference.spacing))
    origin = np.asarray(reference.origin)
    nz, ny, nx = reference.shape
    out: dict[str, np.ndarray] = {}
    for roi in ds.get("ROIContourSequence", []):
        number = int(roi.get("ReferencedROINumber", len(out) + 1))
        name = names.get(number, f"roi{number}")
        mask = np.zeros(reference.shape, bool)
        for contour in roi.get("ContourSequence", []):
            if str(contour.get("ContourGeometricType", "CLOSED_PLANAR")) not in ("CLOSED_PLANAR", "POINT"):
                continue
            pts = np.asarray([float(v) for v in contour.ContourData], dtype=np.float64).reshape(-1, 3)
            ijk = (inv @ (pts - origin).T).T  # continuous (i, j, k) = (x, y, z) indices
            k = np.round(ijk[:, 2])
            if np.ptp(ijk[:, 2]) > 0.1 or not (0 <= k[0] < nz) or abs(ijk[0, 2] - k[0]) > 0.1:
                raise InputError(
                    f"ROI {name!r}: a contour is not on a slice of the image (slice index {ijk[0, 2]:.2f})",
                    file=source,
                )
            rr, cc = polygon(ijk[:, 1], ijk[:, 0], shape=(ny, nx))
            layer = np.zeros((ny, nx), bool)
            layer[rr, cc] = True
            mask[int(k[0])] ^= layer
        out[name] = mask
    return out


def _rtstruct_refs(ds: Any) -> tuple[set[str], set[str]]:
    series, frames = set(), set()
    for ref in ds.get("ReferencedFrameOfReferenceSequence", []):
        if ref.get("FrameOfReferenceUID"):
            frames.add(str(ref.FrameOfReferenceUID))
        for study in ref.get("RTReferencedStudySequence", []):
            for s in study.get("RTReferencedSeriesSequence", []):
                if s.get("SeriesInstanceUID"):
                    series.add(str(s.SeriesInstanceUID))
    return series, frames


# ========================================================================== ingest
@dataclass
class _Item:
    image_id: str
    volume: Volume
    row: dict[str, Any]
    header: dict[str, Any]
    masks: dict[str, np.ndarray]
    date: date | None
    patient_key: str | None


def _dicom_date(ds: Any) -> date | None:
    for keyword in ("AcquisitionDate", "SeriesDate", "StudyDate", "ContentDate"):
        value = _text(ds.get(keyword))
        if value and len(value) >= 8 and value[:8].isdigit():
            try:
                return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
            except ValueError:
                continue
    return None


def load_image(lake: Lake, name: str, *, image_id: str | None = None) -> tuple[Volume, Volume | None, dict[str, Any]]:
    """Read an ingested image (and its mask, if any) back from the lake.

    Parameters
    ----------
    lake
        The lake.
    name
        The array dataset written by :func:`ingest_images` (``lake:`` prefix allowed).
    image_id
        Which image; default: the dataset's only one.

    Returns
    -------
    tuple
        ``(image, mask or None, attributes)``; the mask's attribute ``labels`` maps
        label values to ROI names.
    """
    info = lake.info(name)
    if info.kind != "array":
        raise InputError(
            f"dataset {info.name!r} is a {info.kind}, not an image array dataset", file=f"lake:{info.name}"
        )
    return read_image_group(info.path, image_id=image_id)


def read_image_group(
    path: str | os.PathLike[str], *, image_id: str | None = None
) -> tuple[Volume, Volume | None, dict[str, Any]]:
    """Read one image (and its mask) from the Zarr group of an ingested image dataset.

    Workers use this with the group's path (from ``lake.info(name).path``), so they
    never open the lake's catalog.

    Parameters
    ----------
    path
        The Zarr group.
    image_id
        Which image; default: the group's only one.

    Returns
    -------
    tuple
        As :func:`load_image`.
    """
    import zarr

    group = zarr.open_group(str(path), mode="r")
    ids = sorted(k for k in group.array_keys() if not k.endswith("__mask"))
    if image_id is None:
        check_param("load_image", "image_id", image_id, len(ids) == 1, f"one of {ids} (the dataset holds {len(ids)})")
        image_id = ids[0]
    check_param("load_image", "image_id", image_id, image_id in ids, f"one of {ids}")
    arr = group[image_id]
    attrs = dict(arr.attrs)
    geo = {k: attrs[k] for k in ("spacing", "origin")}
    direction = np.asarray(attrs["direction"]).reshape(3, 3)
    vol = Volume(np.asarray(arr[...]), direction=direction, **geo)
    mask = None
    if f"{image_id}__mask" in group.array_keys():
        m = group[f"{image_id}__mask"]
        mask = Volume(np.asarray(m[...]), direction=direction, **geo)
        attrs["labels"] = dict(m.attrs.get("labels", {}))
    return vol, mask, attrs


def ingest_images(
    lake: Lake,
    directory: str | os.PathLike[str],
    *,
    name: str,
    mask_dir: str | os.PathLike[str] | None = None,
    keep_phi: bool = False,
    resample_nonuniform: bool = False,
    on_skip: Callable[[str, str], None] | None = None,
    progress: Progress | None = None,
    header_only: bool = False,
) -> DatasetInfo:
    """Ingest every DICOM series and NIfTI volume under ``directory`` (see the module docstring).

    Parameters
    ----------
    lake
        The lake to write into.
    directory
        The folder tree to walk.
    name
        Dataset name: the arrays go to ``name``, the metadata table to ``name_meta``.
    mask_dir
        A folder of masks: RTSTRUCT files and NIfTI label maps.
    keep_phi
        Keep the original identifiers (no pseudonyms). Off by default.
    resample_nonuniform
        Interpolate series with uneven slice spacing (else such a series is an error).
    on_skip
        Called as ``on_skip(file, problem)`` for each file skipped (corrupt, not an
        image); default: ignore.
    progress
        Progress reporter.
    header_only
        Read headers only: register the ``name_meta`` table (same rows, from the same
        checks) and no voxels (no ``name`` array dataset, no masks). Pixel data is not
        decoded, so files whose pixels cannot be decoded are not noticed.

    Returns
    -------
    DatasetInfo
        The catalog entry of the ``name_meta`` table.

    Raises
    ------
    InputError
        ``no image found in DIR`` when nothing could be read; an inconsistent series
        (named by its pseudonymous id) or a mask that does not fit its image.
    """
    from biolake.lake import validate_name

    validate_name(name)
    validate_name(f"{name}_meta")
    root = Path(directory)
    if not root.is_dir():
        raise InputError("no such folder", file=directory)
    check_param(
        "ingest_images", "mask_dir", mask_dir, mask_dir is None or Path(mask_dir).is_dir(), "an existing folder"
    )
    check_param(
        "ingest_images", "mask_dir", mask_dir, mask_dir is None or not header_only, "None with header_only=True"
    )
    progress = progress or NullProgress()
    on_skip = on_skip or (lambda file, problem: None)
    pseudo = Pseudonymizer(lake_secret(lake), keep=keep_phi)
    roots = [root] + ([Path(mask_dir)] if mask_dir is not None else [])
    series, rtstructs, niftis = _scan(roots, on_skip, progress)
    mask_root = Path(mask_dir).resolve() if mask_dir is not None else None

    def in_mask_dir(p: Path) -> bool:
        return mask_root is not None and p.resolve().is_relative_to(mask_root)

    image_niftis = [p for p in niftis if not in_mask_dir(p)]
    mask_niftis = [p for p in niftis if in_mask_dir(p)]
    series = {k: v for k, v in series.items() if not all(in_mask_dir(s.path) for s in v.slices)}
    items: list[_Item] = []
    with progress.task("Building volumes", total=len(series) + len(image_niftis)) as task:
        for s in series.values():
            task.advance()
            build = _header_volume if header_only else _volume_from_series
            vol = build(s, pseudo, resample_nonuniform=resample_nonuniform, on_skip=on_skip)
            if vol is None:
                continue
            ds = s.slices[0].ds
            image_id = "img_" + hmac.new(pseudo.key, f"series\x00{s.series_uid}".encode(), "sha256").hexdigest()[:16]
            masks = {} if header_only else _series_masks(s, ds, vol, rtstructs, pseudo)
            items.append(
                _Item(
                    image_id,
                    vol,
                    {
                        "patient_id": pseudo.id("patient", _text(ds.get("PatientID"))),
                        "study_id": pseudo.id("study", s.study_uid),
                        "series_id": pseudo.id("series", s.series_uid),
                        "modality": _text(ds.get("Modality")),
                        "body_part": _text(ds.get("BodyPartExamined")),
                        "rows": int(ds.Rows),
                        "cols": int(ds.Columns),
                    },
                    deidentify_header(ds, pseudo),
                    masks,
                    _dicom_date(ds),
                    _text(ds.get("PatientID")),
                )
            )
        for path in image_niftis:
            task.advance()
            try:
                vol = _nifti_header_volume(path) if header_only else read_nifti(path)
            except InputError as exc:
                on_skip(str(path), exc.problem)
                continue
            rel = str(path.relative_to(root))
            image_id = "img_" + hmac.new(pseudo.key, f"file\x00{rel}".encode(), "sha256").hexdigest()[:16]
            masks = {}
            partner = None if header_only else _nifti_partner(path, image_niftis, mask_niftis)
            if partner is not None:
                m = read_nifti(partner)
                if not m.same_grid(vol, tol=1e-3):
                    raise InputError(f"the mask's grid {m.shape} differs from its image's {vol.shape}", file=partner)
                masks = {"mask": m.array}
            nz, ny, nx = vol.shape
            items.append(
                _Item(
                    image_id,
                    vol,
                    {
                        "patient_id": None,
                        "study_id": None,
                        "series_id": None,
                        "modality": None,
                        "body_part": None,
                        "rows": ny,
                        "cols": nx,
                    },
                    {"source_format": "nifti"},
                    masks,
                    None,
                    None,
                )
            )
    if not items:
        raise InputError(f"no image found in {directory}")
    first_dates: dict[str, date] = {}
    for it in items:
        if it.date is not None and it.patient_key is not None:
            first_dates[it.patient_key] = min(first_dates.get(it.patient_key, it.date), it.date)
    rows = []
    params = {
        "dir": str(directory),
        "name": name,
        "mask_dir": str(mask_dir) if mask_dir else None,
        "keep_phi": keep_phi,
        "resample_nonuniform": resample_nonuniform,
        **({"header_only": True} if header_only else {}),
    }
    with lake.run("ingest images", params=params, inputs=[str(directory)]) as run:
        encoding = {"encoding": IMAGE_ENCODING[0], "encoding_version": IMAGE_ENCODING[1]}
        stage = None if header_only else run.array(name, **encoding)
        with progress.task("Writing volumes", total=len(items)) as task:
            for it in items:
                vol = it.volume
                nz, ny, nx = vol.shape
                if stage is not None:  # header_only: no voxels
                    chunk_z = max(1, min(nz, (8 << 20) // max(1, ny * nx * vol.array.dtype.itemsize)))
                    arr = stage.create(
                        it.image_id,
                        shape=vol.shape,
                        dtype=vol.array.dtype,
                        chunks=(chunk_z, ny, nx),
                        dims=("z", "y", "x"),
                    )
                    arr[...] = vol.array
                    arr.attrs.update({**vol.geometry(), "header": it.header})
                    if it.masks:
                        labels = np.zeros(vol.shape, np.uint16 if len(it.masks) > 255 else np.uint8)
                        names: dict[str, str] = {}
                        for k, (roi, m) in enumerate(it.masks.items(), start=1):
                            if roi == "mask" and len(it.masks) == 1 and np.asarray(m).dtype.kind in "iu":
                                labels = np.asarray(m).astype(labels.dtype)
                                names = {str(v): f"label {v}" for v in np.unique(labels) if v}
                            else:
                                labels[np.asarray(m, bool)] = k
                                names[str(k)] = roi
                        marr = stage.create(
                            f"{it.image_id}__mask",
                            shape=vol.shape,
                            dtype=labels.dtype,
                            chunks=(chunk_z, ny, nx),
                            dims=("z", "y", "x"),
                        )
                        marr[...] = labels
                        marr.attrs.update({**vol.geometry(), "labels": names})
                offset = None
                if it.date is not None and it.patient_key in first_dates:
                    offset = (it.date - first_dates[it.patient_key]).days
                rows.append(
                    {
                        "image_id": it.image_id,
                        **it.row,
                        "slices": nz,
                        "spacing_x": vol.spacing[0],
                        "spacing_y": vol.spacing[1],
                        "spacing_z": vol.spacing[2],
                        "date_offset_days": offset,
                    }
                )
                task.advance()
        if stage is not None:
            stage.attrs.update({"images": [r["image_id"] for r in rows], "deidentified": not keep_phi})
        attrs = {"images": None if header_only else name, "deidentified": not keep_phi}
        run.table(f"{name}_meta", attrs={**attrs, **({"header_only": True} if header_only else {})}).write(
            _meta_table(rows)
        )
    return lake.info(f"{name}_meta")


def _meta_table(rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    schema = pa.schema(
        [
            ("image_id", pa.string()),
            ("patient_id", pa.string()),
            ("study_id", pa.string()),
            ("series_id", pa.string()),
            ("modality", pa.string()),
            ("body_part", pa.string()),
            ("rows", pa.int32()),
            ("cols", pa.int32()),
            ("slices", pa.int32()),
            ("spacing_x", pa.float64()),
            ("spacing_y", pa.float64()),
            ("spacing_z", pa.float64()),
            ("date_offset_days", pa.int32()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _series_masks(
    s: _Series, ds: Any, vol: Volume, rtstructs: list[tuple[Path, Any]], pseudo: Pseudonymizer
) -> dict[str, np.ndarray]:
    masks: dict[str, np.ndarray] = {}
    frame = _text(ds.get("FrameOfReferenceUID"))
    for path, rs in rtstructs:
        ref_series, ref_frames = _rtstruct_refs(rs)
        if s.series_uid in ref_series or (not ref_series and frame is not None and frame in ref_frames):
            import pydicom

            full = pydicom.dcmread(path, force=True)
            for roi, m in rasterize_rtstruct(full, vol, source=path.name).items():
                masks[roi if roi not in masks else f"{roi}_{len(masks) + 1}"] = m
    return masks


def _nifti_partner(image: Path, images: list[Path], masks: list[Path]) -> Path | None:
    for m in masks:
        if m.name == image.name:
            return m
    if len(images) == 1 and len(masks) == 1:
        return masks[0]
    return None
