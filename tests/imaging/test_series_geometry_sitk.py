"""Series geometry of ``biolake ingest images`` against SimpleITK's ``ImageSeriesReader`` (GDCM).

The reference is computed at test time by SimpleITK (a dependency)::

    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
    ref = reader.Execute()
    ref.GetSpacing(), ref.GetOrigin(), ref.GetDirection(), sitk.GetArrayFromImage(ref)

Series are written here with pydicom — oblique orientations (rotations about two axes),
anisotropic pixel spacing, slice gaps that are not round numbers, files in shuffled order,
explicit and implicit VR little endian and explicit VR big endian — plus the real
multi-file CT series pydicom ships and the IBSI CT phantom (``../shared``, skipped when
absent). The ingested volume (read back from the lake) must have SimpleITK's spacing,
origin and direction to 1e-6 and the same voxels.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)

from biolake.io.images import ingest_images, load_image
from biolake.lake import Lake

IBSI_CT = Path(__file__).resolve().parents[3] / "shared" / "data" / "ibsi" / "ibsi_1_ct_radiomics_phantom" / "dicom"


def _rotation(ax: float, ay: float) -> np.ndarray:
    a, b = np.deg2rad(ax), np.deg2rad(ay)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    return ry @ rx


def _write_oblique_series(
    folder: Path, *, syntax: str, ax: float, ay: float, n: int = 7, seed: int = 0, slope: float = 1.0
) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    rows, cols = 9, 11
    stored = rng.integers(-500, 1500, size=(n, rows, cols)).astype(np.int16)
    rot = _rotation(ax, ay)
    row_dir, col_dir = rot[:, 0], rot[:, 1]
    normal = np.cross(row_dir, col_dir)
    origin = np.array([-101.37, 55.125, -333.3])
    gap = 1.7317
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    for k in rng.permutation(n):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = syntax
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.SOPClassUID = CTImageStorage
        ds.PatientID, ds.PatientName = "GEOM-1", "Geometry^Test"
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality = "CT"
        ds.InstanceNumber = int(k) + 1
        ds.ImageOrientationPatient = [f"{v:.10f}" for v in (*row_dir, *col_dir)]
        ds.ImagePositionPatient = [f"{v:.6f}" for v in origin + k * gap * normal]
        ds.PixelSpacing = ["0.7031250", "0.8310000"]  # rows (y), columns (x)
        ds.SliceThickness = "1.7317"
        ds.Rows, ds.Columns = rows, cols
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleSlope = f"{slope:g}"
        ds.RescaleIntercept = "-1024"
        big = syntax == ExplicitVRBigEndian
        ds.PixelData = stored[k].astype(">i2" if big else "<i2").tobytes()
        ds.save_as(folder / f"slice_{rng.integers(1e6):06d}.dcm", enforce_file_format=True)


def _sitk_series(folder: Path) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return reader.Execute()


def _assert_as_sitk(lake: Lake, folder: Path, name: str) -> None:
    info = ingest_images(lake, folder, name=name)
    assert info.n_rows == 1
    vol, _, _ = load_image(lake, name)
    ref = _sitk_series(folder)
    np.testing.assert_allclose(vol.spacing, ref.GetSpacing(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(vol.origin, ref.GetOrigin(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(vol.direction.ravel(), ref.GetDirection(), rtol=0, atol=1e-6)
    expected = sitk.GetArrayFromImage(ref)
    assert vol.array.shape == expected.shape
    np.testing.assert_array_equal(vol.array, expected)
    meta = lake.to_pandas(info.name).iloc[0]
    assert (meta.spacing_x, meta.spacing_y, meta.spacing_z) == pytest.approx(ref.GetSpacing(), abs=1e-6)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake.open(tmp_path / "lake")


@pytest.mark.parametrize(
    ("syntax", "ax", "ay"),
    [
        (ExplicitVRLittleEndian, 17.0, -23.5),
        (ImplicitVRLittleEndian, -35.0, 11.25),
        (ExplicitVRBigEndian, 62.0, 5.0),
    ],
)
def test_ingest_images__oblique_series_geometry_as_simpleitk(tmp_path, lake, syntax, ax, ay):
    _write_oblique_series(tmp_path / "s", syntax=syntax, ax=ax, ay=ay)
    _assert_as_sitk(lake, tmp_path / "s", "obl")


def test_ingest_images__real_ct_series_of_pydicom_as_simpleitk(tmp_path, lake):
    from pydicom.data import get_testdata_file

    folder = Path(os.path.dirname(get_testdata_file("CT_small.dcm"))) / "dicomdirtests" / "98892001" / "CT5N"
    files = sorted(folder.iterdir())
    assert len(files) == 5
    _assert_as_sitk(lake, folder, "ct5n")


@pytest.mark.skipif(not IBSI_CT.is_dir(), reason="IBSI CT phantom not found in ../shared/data/ibsi")
def test_ingest_images__ibsi_ct_phantom_series_as_simpleitk(tmp_path, lake):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert pydicom.dcmread(next((IBSI_CT / "image").iterdir()), stop_before_pixels=True).Modality == "CT"
    _assert_as_sitk(lake, IBSI_CT / "image", "phantom")
