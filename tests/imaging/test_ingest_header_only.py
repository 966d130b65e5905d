"""``ingest images --header-only``: the metadata table from headers alone equals the full ingest's.

The reference is the full ingest (pixels decoded by pydicom, volumes built) into the same
lake, so the keyed pseudonyms are the same: every row of ``NAME_meta`` must be identical,
including ``slices`` of a series resampled onto a uniform grid, a multi-frame file, 2-D
images and a NIfTI volume, and no voxels may be written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from biolake.cli import main
from biolake.errors import InputError
from biolake.io.images import ingest_images
from biolake.lake import Lake


def _write_series(folder: Path, *, gaps: list[float], angle: float, seed: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    a = np.deg2rad(angle)
    orient = np.array([1.0, 0.0, 0.0, 0.0, np.cos(a), np.sin(a)])
    normal = np.cross(orient[:3], orient[3:])
    offsets = np.concatenate([[0.0], np.cumsum(gaps)])
    study, series = generate_uid(), generate_uid()
    for k in rng.permutation(len(offsets)):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.SOPClassUID = CTImageStorage
        ds.PatientID, ds.StudyDate = "HDR-1", f"2024010{1 + seed}"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.Modality, ds.BodyPartExamined = "CT", "ABDOMEN"
        ds.ImageOrientationPatient = [float(v) for v in orient]
        ds.ImagePositionPatient = [float(v) for v in np.array([3.0, -7.5, 40.0]) + offsets[k] * normal]
        ds.PixelSpacing = [0.65, 0.8]
        ds.Rows, ds.Columns = 5, 6
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.PixelData = rng.integers(0, 100, size=(5, 6)).astype("<i2").tobytes()
        ds.save_as(folder / f"s{k}.dcm", enforce_file_format=True)


def _write_multiframe(path: Path, *, frames: int) -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7.2"  # multi-frame grayscale word SC
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.PatientID = "HDR-2"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "OT"
    ds.NumberOfFrames = frames
    ds.PixelSpacing, ds.SliceThickness = [0.4, 0.4], 1.5
    ds.Rows, ds.Columns = 3, 4
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = np.arange(frames * 12, dtype="<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    from pydicom.data import get_testdata_file

    root = tmp_path / "in"
    _write_series(root / "even", gaps=[1.25] * 4, angle=20.0, seed=1)
    _write_series(root / "uneven", gaps=[2.0, 2.0, 3.0], angle=0.0, seed=2)  # resampled: 0, 2, 4, 6 mm → 4 slices
    for name in ("CT_small.dcm", "MR_small.dcm"):  # 2-D images
        shutil.copy(get_testdata_file(name), root / name)
    _write_multiframe(root / "mf.dcm", frames=4)
    img = sitk.GetImageFromArray(np.zeros((3, 4, 7), np.int16))
    img.SetSpacing((0.5, 0.75, 2.5))
    sitk.WriteImage(img, str(root / "vol.nii.gz"))
    return root


def test_ingest_images__header_only_meta_equals_the_full_ingest(tmp_path, tree):
    lake = Lake.open(tmp_path / "lake")
    full = lake.to_pandas(ingest_images(lake, tree, name="full", resample_nonuniform=True).name)
    hdr = lake.to_pandas(ingest_images(lake, tree, name="hdr", resample_nonuniform=True, header_only=True).name)
    assert len(full) == 6
    key = ["image_id"]
    a, b = full.sort_values(key).reset_index(drop=True), hdr.sort_values(key).reset_index(drop=True)
    assert a.equals(b), a.compare(b) if a.shape == b.shape else (a, b)
    assert sorted(full.slices) == [1, 1, 3, 4, 4, 5]  # CT, MR; NIfTI; mf.dcm (4 frames), uneven resampled; even
    assert lake.exists("full") and not lake.exists("hdr")
    assert lake.info("hdr_meta").attrs.get("header_only") is True
    with pytest.raises(InputError, match=r"series SE-[0-9a-f]{16}: slice spacing is not uniform"):
        ingest_images(lake, tree, name="bad", header_only=True)
    assert not lake.exists("bad_meta")


def test_ingest_images__header_only_cli(tmp_path, tree, capsys):
    lake = str(tmp_path / "lake")

    def cli(*args: str) -> int:
        try:
            main(["--lake", lake, "--quiet", "ingest", "images", str(tree), *args])
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 0
        return 0

    assert cli("--name", "h", "--header-only", "--resample") == 0
    meta = Lake.open(lake).to_pandas("h_meta")
    ds = pydicom.dcmread(tree / "CT_small.dcm")
    row = meta[meta.modality == "CT"].set_index("slices").loc[1]
    assert (row.rows, row.cols, row.spacing_x) == (ds.Rows, ds.Columns, pytest.approx(float(ds.PixelSpacing[1])))
    assert cli("--name", "h2", "--header-only", "--mask-dir", str(tree)) == 2
    assert "mask_dir" in capsys.readouterr().err
