"""``biolake.io.images``: DICOM series and NIfTI into the lake, de-identified.

Series are written here with pydicom (so every expected voxel, position and identifier is
known), plus the real DICOM files pydicom ships. Geometry is checked against SimpleITK's
``ImageSeriesReader``; de-identification by searching every byte the lake holds for each
PHI value of the sources.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from biolake.errors import InputError
from biolake.imaging import Volume
from biolake.io.images import META_COLUMNS, ingest_images, load_image, read_dicom_series, read_image
from biolake.lake import Lake

PHI = {
    "PatientName": "Doe^Jane",
    "PatientID": "MRN-778899",
    "PatientBirthDate": "19610203",
    "InstitutionName": "Saint Elsewhere Hospital",
    "StationName": "CTSTATION7",
    "ReferringPhysicianName": "House^Gregory",
    "AccessionNumber": "ACC5551212",
    "OperatorsName": "Tech^Tina",
}


def _orientation(angle_deg: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    return np.array([1.0, 0.0, 0.0, 0.0, np.cos(a), np.sin(a)])


def write_series(
    folder: Path,
    *,
    n: int = 6,
    rows: int = 8,
    cols: int = 10,
    gaps: list[float] | None = None,
    angle: float = 0.0,
    study_uid: str | None = None,
    series_uid: str | None = None,
    study_date: str = "20240102",
    phi: dict[str, str] | None = None,
    seed: int = 0,
    slope: float = 1.0,
) -> tuple[np.ndarray, dict[str, str]]:
    """Write a CT series in shuffled file order; return the expected volume (z, y, x) and its UIDs."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    stored = rng.integers(0, 2000, size=(n, rows, cols)).astype(np.int16)
    gaps = gaps or [2.5] * (n - 1)
    orient = _orientation(angle)
    normal = np.cross(orient[:3], orient[3:])
    offsets = np.concatenate([[0.0], np.cumsum(gaps)])
    origin = np.array([-12.5, 30.0, 100.0])
    uids = {
        "StudyInstanceUID": study_uid or generate_uid(),
        "SeriesInstanceUID": series_uid or generate_uid(),
        "FrameOfReferenceUID": generate_uid(),
    }
    for k in rng.permutation(n):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        sop = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = sop
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = sop
        for key, value in {**PHI, **(phi or {})}.items():
            setattr(ds, key, value)
        ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = study_date
        ds.StudyTime = "101500"
        for key, value in uids.items():
            setattr(ds, key, value)
        ds.Modality = "CT"
        ds.BodyPartExamined = "CHEST"
        ds.Manufacturer = "TestVendor"
        ds.ImageOrientationPatient = [float(v) for v in orient]
        ds.ImagePositionPatient = [float(v) for v in origin + offsets[k] * normal]
        ds.PixelSpacing = [0.7, 0.9]  # rows (y), columns (x)
        ds.SliceThickness = 2.5
        ds.Rows, ds.Columns = rows, cols
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleSlope = slope
        ds.RescaleIntercept = -1024
        ds.PixelData = stored[k].tobytes()
        ds.save_as(folder / f"IM{rng.integers(1e6):06d}_{k}", enforce_file_format=True)
    return stored.astype(np.float64) * slope - 1024, uids


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake.open(tmp_path / "lake")


def _lake_bytes(lake: Lake) -> bytes:
    """Every byte in the lake's files, with Parquet tables decoded to text and the catalog dumped."""
    chunks = []
    for path in sorted(lake.root.rglob("*")):
        if path.is_file() and path.suffix not in (".parquet", ".duckdb", ".wal"):
            chunks.append(path.read_bytes())
    for info in lake.datasets(kind="table"):
        chunks.append(lake.to_pandas(info.name).to_csv().encode())
    chunks.append(json.dumps([d.to_dict() for d in lake.datasets()], default=str).encode())
    chunks.append(json.dumps([r.to_dict() for r in lake.runs()], default=str).encode())
    return b"\n".join(chunks)


# ------------------------------------------------------------------------ geometry
@pytest.mark.parametrize("angle", [0.0, 25.0])
def test_dicom__slices_sorted_along_the_normal_and_geometry_as_simpleitk(tmp_path, angle):
    expected, _ = write_series(tmp_path / "s", angle=angle, slope=2.0)
    vol = read_dicom_series(tmp_path / "s")
    np.testing.assert_array_equal(vol.array, expected)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tmp_path / "s")))
    ref = reader.Execute()
    np.testing.assert_allclose(vol.spacing, ref.GetSpacing(), atol=1e-6)
    np.testing.assert_allclose(vol.origin, ref.GetOrigin(), atol=1e-6)
    np.testing.assert_allclose(vol.direction.ravel(), ref.GetDirection(), atol=1e-6)
    np.testing.assert_allclose(vol.array, sitk.GetArrayFromImage(ref), atol=1e-6)
    assert vol.spacing == pytest.approx((0.9, 0.7, 2.5))


def test_dicom__uneven_spacing_is_an_error_naming_the_series_or_resampled(tmp_path, lake):
    expected, _ = write_series(tmp_path / "s", n=4, gaps=[2.0, 2.0, 3.0])
    message = r"series SE-[0-9a-f]{16}: slice spacing is not uniform \(from 2\.000 to 3\.000 mm\)"
    with pytest.raises(InputError, match=message):
        ingest_images(lake, tmp_path / "s", name="ct")
    assert not lake.exists("ct_meta")  # nothing partial
    ingest_images(lake, tmp_path / "s", name="ct", resample_nonuniform=True)
    vol, _, _ = load_image(lake, "ct")
    # slices at 0, 2, 4, 7 mm → the median spacing, 2 mm: new slices at 0, 2, 4, 6 mm
    assert vol.shape[0] == 4
    np.testing.assert_allclose(vol.array[:3], expected[:3])
    np.testing.assert_allclose(vol.array[3], expected[2] + (expected[3] - expected[2]) * 2 / 3, atol=1e-3)


def test_dicom__inconsistent_series_is_an_error(tmp_path, lake):
    _, uids = write_series(tmp_path / "s", n=3)
    write_series(tmp_path / "s2", n=2, rows=9, series_uid=uids["SeriesInstanceUID"], study_uid=uids["StudyInstanceUID"])
    shutil.copytree(tmp_path / "s2", tmp_path / "s", dirs_exist_ok=True)
    with pytest.raises(InputError, match=r"series SE-[0-9a-f]{16}: inconsistent series"):
        ingest_images(lake, tmp_path / "s", name="ct")


def test_dicom__corrupt_and_non_image_files_are_reported_and_skipped(tmp_path, lake):
    expected, _ = write_series(tmp_path / "in" / "a", n=3)
    good = sorted((tmp_path / "in" / "a").iterdir())[0]
    (tmp_path / "in" / "truncated.dcm").write_bytes(good.read_bytes()[:300])
    (tmp_path / "in" / "notes.txt").write_text("not an image\n")
    shutil.copy(pydicom.data.get_testdata_file("rtplan.dcm"), tmp_path / "in" / "plan.dcm")
    skipped: list[tuple[str, str]] = []
    info = ingest_images(lake, tmp_path / "in", name="ct", on_skip=lambda f, p: skipped.append((Path(f).name, p)))
    assert info.n_rows == 1
    names = {f for f, _ in skipped}
    assert names == {"truncated.dcm", "notes.txt", "plan.dcm"}, skipped
    vol, mask, _ = load_image(lake, "ct")
    np.testing.assert_array_equal(vol.array, expected)
    assert mask is None


def test_dicom__no_image_is_an_error(tmp_path, lake):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("x")
    with pytest.raises(InputError, match=r"^no image found in .*d$"):
        ingest_images(lake, tmp_path / "d", name="ct")


def test_dicom__pydicom_sample_files(tmp_path, lake):
    from pydicom.data import get_testdata_file

    for name in ("CT_small.dcm", "MR_small.dcm"):
        shutil.copy(get_testdata_file(name), tmp_path / name)
    info = ingest_images(lake, tmp_path, name="samples")
    meta = lake.to_pandas(info.name).set_index("modality")
    assert list(lake.to_pandas(info.name).columns) == list(META_COLUMNS)
    for name, modality in (("CT_small.dcm", "CT"), ("MR_small.dcm", "MR")):
        ds = pydicom.dcmread(get_testdata_file(name))
        row = meta.loc[modality]
        assert (row.rows, row.cols, row.slices) == (ds.Rows, ds.Columns, 1)
        assert row.spacing_x == pytest.approx(float(ds.PixelSpacing[1]))
        vol, _, _ = load_image(lake, "samples", image_id=row.image_id)
        expected = ds.pixel_array * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
        np.testing.assert_allclose(vol.array[0], expected)
        # the samples' identifying values are nowhere in the lake
        blob = _lake_bytes(lake)
        for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "SeriesInstanceUID", "InstitutionName"):
            value = str(ds.get(keyword, "") or "")
            if len(value) >= 4 and value not in str(ds.get("Manufacturer")):  # MR_small: institution TOSHIBA
                assert value.encode() not in blob, keyword


# ------------------------------------------------------------------ de-identification
def test_deid__no_phi_value_anywhere_in_the_lake(tmp_path, lake):
    _, uids = write_series(tmp_path / "in" / "s1")
    info = ingest_images(lake, tmp_path / "in", name="ct")
    blob = _lake_bytes(lake)
    for key, value in {**PHI, **uids, "date": "20240102"}.items():
        assert value.encode() not in blob, key
        assert value.replace("^", " ").encode() not in blob, key
    row = lake.to_pandas(info.name).iloc[0]
    assert row.patient_id.startswith("PT-") and row.study_id.startswith("ST-") and row.series_id.startswith("SE-")
    assert (row.modality, row.body_part, row.date_offset_days) == ("CT", "CHEST", 0)
    _, _, attrs = load_image(lake, "ct")
    assert attrs["header"]["PatientIdentityRemoved"] == "YES"
    assert attrs["header"]["StudyInstanceUID"].startswith("2.25.")


def test_deid__keep_phi_keeps_the_identifiers(tmp_path, lake):
    _, uids = write_series(tmp_path / "in" / "s1")
    info = ingest_images(lake, tmp_path / "in", name="ct", keep_phi=True)
    row = lake.to_pandas(info.name).iloc[0]
    assert row.patient_id == PHI["PatientID"]
    assert row.study_id == uids["StudyInstanceUID"]
    assert row.series_id == uids["SeriesInstanceUID"]


def test_deid__pseudonyms_consistent_per_patient_and_per_lake(tmp_path, lake):
    s1 = generate_uid()
    write_series(tmp_path / "in" / "a", study_uid=s1, study_date="20240102", seed=1)
    write_series(tmp_path / "in" / "b", study_uid=s1, study_date="20240102", seed=2)  # same study, 2nd series
    write_series(tmp_path / "in" / "c", study_date="20240301", seed=3)  # same patient, later study
    write_series(tmp_path / "in" / "d", phi={"PatientID": "OTHER-1"}, seed=4)
    info = ingest_images(lake, tmp_path / "in", name="ct")
    meta = lake.to_pandas(info.name)
    assert len(meta) == 4
    by_patient = meta.groupby("patient_id")
    assert sorted(by_patient.size()) == [1, 3]
    same = meta[meta.patient_id == meta.patient_id.value_counts().index[0]]
    assert same.study_id.nunique() == 2 and same.series_id.nunique() == 3
    assert sorted(same.date_offset_days) == [0, 0, 59]  # 2024-01-02 → 2024-03-01
    # the same lake (its key) gives the same pseudonyms again; another lake other ones
    again = lake.to_pandas(ingest_images(lake, tmp_path / "in", name="ct2").name)
    assert set(again.patient_id) == set(meta.patient_id)
    other = Lake.open(tmp_path / "other")
    elsewhere = other.to_pandas(ingest_images(other, tmp_path / "in", name="ct").name)
    assert not set(elsewhere.patient_id) & set(meta.patient_id)
    assert (lake.root / ".secrets" / "imaging-pseudonym.key").stat().st_mode & 0o077 == 0


# ------------------------------------------------------------------- NIfTI and masks
def _write_nifti(vol: Volume, path: Path) -> None:
    img = sitk.GetImageFromArray(vol.array)
    img.SetSpacing(vol.spacing)
    img.SetOrigin(vol.origin)
    sitk.WriteImage(img, str(path))


def test_nifti__volume_and_mask_paired_by_name(tmp_path, lake):
    rng = np.random.default_rng(0)
    (tmp_path / "img").mkdir()
    (tmp_path / "msk").mkdir()
    for k in (1, 2):
        vol = Volume(rng.normal(size=(5, 6, 7)).astype(np.float32), spacing=(0.5, 0.6, 2.0), origin=(1, 2, 3))
        _write_nifti(vol, tmp_path / "img" / f"case{k}.nii.gz")
        mask = Volume((rng.random((5, 6, 7)) > 0.5).astype(np.uint8) * k, spacing=vol.spacing, origin=vol.origin)
        _write_nifti(mask, tmp_path / "msk" / f"case{k}.nii.gz")
    info = ingest_images(lake, tmp_path / "img", name="nii", mask_dir=tmp_path / "msk")
    meta = lake.to_pandas(info.name)
    assert len(meta) == 2 and set(meta.slices) == {5} and set(meta.spacing_z) == {2.0}
    for image_id in meta.image_id:
        vol, mask, _ = load_image(lake, "nii", image_id=image_id)
        assert mask is not None and vol.spacing == pytest.approx((0.5, 0.6, 2.0))
        assert set(np.unique(mask.array)) - {0} in ({1}, {2})
    assert read_image(tmp_path / "img" / "case1.nii.gz").shape == (5, 6, 7)
