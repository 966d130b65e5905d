"""``biolake.io._dicom_header``: the fast DICOM header reader of the image scan, against pydicom.

The reference is pydicom itself, on every DICOM file pydicom ships (and pydicom-data's,
when installed)::

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    ds.get(keyword)        # for every keyword the reader was asked for

Every file the reader accepts must give pydicom's value for every attribute (same
presence, same type once MultiValue → list, DSfloat → float, IS → int, UID/PersonName →
str); every file it declines (``None``) is left to pydicom by the scan.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)

from biolake.io._dicom_header import DicomHeader, header_spec, read_dicom_header
from biolake.io.images import _FAST_TAGS, Pseudonymizer, _read_header, deidentify_header

# the scan's attributes, plus attributes of other VRs (PN TM AS AE LT ST SH, multi-valued CS, IS)
KEYWORDS = (
    *_FAST_TAGS,
    "PatientName",
    "StudyTime",
    "ImageType",
    "SeriesNumber",
    "InstanceNumber",
    "PatientAge",
    "RetrieveAETitle",
    "SOPInstanceUID",
    "StudyDescription",
    "HighBit",
    "ImageComments",
    "InstitutionName",
    "InstitutionAddress",
    "PatientBirthDate",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StationName",
)
SPEC = header_spec(KEYWORDS)


def _plain(value):
    if isinstance(value, MultiValue | list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    return str(value)


def _testdata_files() -> list[Path]:
    from pydicom.data import get_testdata_files

    files = [Path(f) for f in get_testdata_files() if os.path.isfile(f)]
    try:  # pragma: no cover - optional
        import pydicom_data  # noqa: F401
        from pydicom.data.data_manager import get_external_files  # type: ignore[attr-defined]

        files += [Path(f) for f in get_external_files("*") if os.path.isfile(f)]
    except (ImportError, AttributeError):
        pass
    return sorted(set(files))


def _assert_same_as_pydicom(path: Path, hdr: DicomHeader) -> None:
    ref = pydicom.dcmread(path, stop_before_pixels=True)
    for keyword in KEYWORDS:
        assert (keyword in hdr) == (keyword in ref), (path.name, keyword)
        if keyword in ref:
            ours, theirs = _plain(hdr.get(keyword)), _plain(ref.get(keyword))
            assert ours == theirs and type(ours) is type(theirs), (path.name, keyword, ours, theirs)


def test_read_dicom_header__every_pydicom_test_file_as_pydicom():
    files = _testdata_files()
    read, declined = [], []
    kinds = {"implicit": 0, "big_endian": 0, "undefined_length_sequence": 0, "sequence": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the invalid values of its own test files
        for path in files:
            hdr = read_dicom_header(path, SPEC)
            if hdr is None:
                declined.append(path.name)
                continue
            read.append(path.name)
            _assert_same_as_pydicom(path, hdr)
            ref = pydicom.dcmread(path, stop_before_pixels=True)
            syntax = ref.file_meta.TransferSyntaxUID
            kinds["implicit"] += syntax == ImplicitVRLittleEndian
            kinds["big_endian"] += syntax == ExplicitVRBigEndian
            seqs = [e for e in ref if e.VR == "SQ" and e.tag < 0x00281055]  # walked over before the last tag read
            kinds["sequence"] += bool(seqs)
            kinds["undefined_length_sequence"] += any(e.is_undefined_length for e in seqs)
    assert len(read) >= 150, (len(read), declined)
    assert all(v >= 2 for v in kinds.values()), kinds
    # declined: deflated, no preamble/meta, meta without transfer syntax, non-DICOM files
    for name in ("image_dfl.dcm", "no_meta.dcm", "ExplVR_BigEndNoMeta.dcm", "meta_missing_tsyntax.dcm", "README.txt"):
        assert name in declined, name


def _write(path: Path, syntax: str, *, big_private: int = 0, nested: bool = True) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = CTImageStorage
    ds.PatientName = "Doe^John"
    ds.PatientID = "ID 123 "
    ds.Modality = "CT"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    if nested:  # (0008,1140) sequence of undefined length, an item of undefined length, a nested sequence
        inner = Dataset()
        inner.ReferencedSOPClassUID = CTImageStorage
        inner.ReferencedSOPInstanceUID = generate_uid()
        deeper = Dataset()
        deeper.CodeValue, deeper.CodingSchemeDesignator, deeper.CodeMeaning = "113691", "DCM", "IVUS"
        inner.PurposeOfReferenceCodeSequence = Sequence([deeper])
        ds.ReferencedImageSequence = Sequence([inner, Dataset()])
        ds["ReferencedImageSequence"].is_undefined_length = True
        ds.ReferencedImageSequence[0].is_undefined_length_sequence_item = True
    if big_private:  # a private blob larger than the first read
        block = ds.private_block(0x0009, "BIOLAKE TEST", create=True)
        block.add_new(0x01, "OB", bytes(big_private))
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.ImagePositionPatient = ["-12.5", "30", "1.0e2"]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 0.8660254, 0.5]
    ds.WindowCenter, ds.WindowWidth = ["40", "400"], ["350", "1500"]
    ds.Rows, ds.Columns = 2, 3
    ds.PixelSpacing = ["0.5", "0.75"]
    ds.BitsAllocated = 16
    ds.RescaleSlope, ds.RescaleIntercept = "1", "-1024"
    ds.PixelData = np.arange(6, dtype=">i2" if syntax == ExplicitVRBigEndian else "<i2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return ds


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian])
@pytest.mark.parametrize("big_private", [0, 70_000])
def test_read_dicom_header__sequences_and_long_headers_as_pydicom(tmp_path, syntax, big_private):
    path = tmp_path / "a.dcm"
    _write(path, syntax, big_private=big_private)
    raw = path.read_bytes()
    if syntax != ExplicitVRBigEndian:  # the undefined-length sequence and item delimiters are in the file
        assert b"\xfe\xff\xdd\xe0" in raw and b"\xfe\xff\x0d\xe0" in raw
    hdr = read_dicom_header(path, SPEC)
    assert hdr is not None
    _assert_same_as_pydicom(path, hdr)
    assert hdr.Rows == 2 and hdr.ImagePositionPatient == [-12.5, 30.0, 100.0]
    assert hdr.WindowWidth == [350.0, 1500.0] and hdr.PatientID == "ID 123"


def test_read_dicom_header__truncated_and_odd_files_are_left_to_pydicom(tmp_path):
    path = tmp_path / "a.dcm"
    _write(path, ExplicitVRLittleEndian)
    raw = path.read_bytes()
    header_end = raw.index(b"\xe0\x7f\x10\x00")  # the pixel data element
    for cut in (100, 131, 140, 300, header_end - 3):
        (tmp_path / "t.dcm").write_bytes(raw[:cut])
        assert read_dicom_header(tmp_path / "t.dcm", SPEC) is None, cut
    # a file ending right after an element, before any pixel data, is a header-only file (as for pydicom)
    (tmp_path / "h.dcm").write_bytes(raw[:header_end])
    hdr = read_dicom_header(tmp_path / "h.dcm", SPEC)
    assert hdr is not None and hdr.Columns == 3
    (tmp_path / "x.txt").write_text("DICM" * 100)
    assert read_dicom_header(tmp_path / "x.txt", SPEC) is None
    # non-ASCII text: the specific character set matters, so pydicom reads it
    ds = pydicom.dcmread(path)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Jürgen"
    ds.save_as(tmp_path / "latin1.dcm")
    assert read_dicom_header(tmp_path / "latin1.dcm", SPEC) is None


def test_read_dicom_header__ill_formed_number_as_pydicom(tmp_path):
    path = tmp_path / "a.dcm"
    _write(path, ExplicitVRLittleEndian, nested=False)
    raw = path.read_bytes()
    # RescaleSlope "1 " → "1A": an IS/DS pydicom keeps as the string (with a warning)
    i = raw.index(b"\x28\x00\x53\x10DS\x02\x001 ")
    (tmp_path / "b.dcm").write_bytes(raw[: i + 8] + b"1A" + raw[i + 10 :])
    hdr = read_dicom_header(tmp_path / "b.dcm", SPEC)
    assert hdr is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _plain(hdr.RescaleSlope) == _plain(pydicom.dcmread(tmp_path / "b.dcm").RescaleSlope) == "1A"
    assert hdr.Rows == 2


def test_read_header__scan_gets_the_same_deidentified_header_as_with_pydicom(tmp_path):
    from pydicom.data import get_testdata_file

    pseudo = Pseudonymizer(b"k" * 32)
    for name in ("CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm"):
        path = Path(get_testdata_file(name))
        hdr = _read_header(path)
        assert isinstance(hdr, DicomHeader), name
        ref = pydicom.dcmread(path, stop_before_pixels=True)
        assert deidentify_header(hdr, pseudo) == deidentify_header(ref, pseudo), name
    # an RTSTRUCT is read by pydicom: the scan needs its referenced-series sequence
    shutil.copy(get_testdata_file("rtstruct.dcm"), tmp_path / "rs.dcm")
    rs = _read_header(tmp_path / "rs.dcm")
    assert not isinstance(rs, DicomHeader) and "ReferencedFrameOfReferenceSequence" in rs
