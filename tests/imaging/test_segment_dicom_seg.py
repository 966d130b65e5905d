"""DICOM-SEG import: hand-built SEG objects (binary and fractional) placed on a known reference grid."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

try:  # pydicom ≥ 3
    from pydicom.pixels import pack_bits
except ImportError:  # pydicom 2.4
    from pydicom.pixel_data_handlers.numpy_handler import pack_bits

from biolake.errors import InputError
from biolake.imaging import Volume
from biolake.imaging.measure import measure_labels
from biolake.imaging.segment import read_mask
from biolake.io.dicom_seg import SEG_SOP_CLASS, is_dicom_seg, read_dicom_seg

REF = Volume(np.zeros((6, 10, 12), np.int16), spacing=(0.8, 0.7, 2.0), origin=(-10.0, -20.0, 30.0))


def _seg(path, frames, *, fractional=False, names=("liver", "tumour"), spacing=(0.7, 0.8)):
    """frames: list of (segment number, (k, j0, i0), 2-D boolean or float array in [0, 1])."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SEG_SOP_CLASS
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = SEG_SOP_CLASS, ds.file_meta.MediaStorageSOPInstanceUID, "SEG"
    rows, cols = frames[0][2].shape
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, cols, len(frames)
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    ds.SegmentationType = "FRACTIONAL" if fractional else "BINARY"
    segs = []
    for n, name in enumerate(names, start=1):
        s = Dataset()
        s.SegmentNumber, s.SegmentLabel = n, name
        segs.append(s)
    ds.SegmentSequence = Sequence(segs)
    shared = Dataset()
    po, pm = Dataset(), Dataset()
    po.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    pm.PixelSpacing, pm.SliceThickness = list(spacing), 2.0
    shared.PlaneOrientationSequence, shared.PixelMeasuresSequence = Sequence([po]), Sequence([pm])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    per = []
    for seg, (k, j0, i0), _ in frames:
        fg, sid, pp = Dataset(), Dataset(), Dataset()
        sid.ReferencedSegmentNumber = seg
        pp.ImagePositionPatient = [-10.0 + 0.8 * i0, -20.0 + 0.7 * j0, 30.0 + 2.0 * k]
        fg.SegmentIdentificationSequence, fg.PlanePositionSequence = Sequence([sid]), Sequence([pp])
        per.append(fg)
    ds.PerFrameFunctionalGroupsSequence = Sequence(per)
    if fractional:
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit, ds.MaximumFractionalValue = 7, 255
        ds.PixelData = np.stack([np.round(f[2] * 255) for f in frames]).astype(np.uint8).tobytes()
    else:
        ds.BitsAllocated = ds.BitsStored = 1
        ds.HighBit = 0
        ds.PixelData = pack_bits(np.stack([f[2] for f in frames]).astype(np.uint8))
    try:
        ds.save_as(path, enforce_file_format=True)  # pydicom ≥ 3
    except TypeError:
        ds.save_as(path, write_like_original=False)  # pydicom 2.4
    return path


def _frames():
    a = np.zeros((10, 12), bool)
    a[2:8, 3:9] = True
    b = np.zeros((10, 12), bool)
    b[4:6, 5:7] = True
    # shuffled order; segment 2 overlaps segment 1 on slices 2-3
    return [(2, (3, 0, 0), b), (1, (1, 0, 0), a), (1, (2, 0, 0), a), (2, (2, 0, 0), b), (1, (3, 0, 0), a)]


def test_read_dicom_seg__binary_frames_land_on_their_slices(tmp_path):
    path = _seg(tmp_path / "seg.dcm", _frames())
    assert is_dicom_seg(path) and not is_dicom_seg(__file__)
    mask, names = read_dicom_seg(path, REF)
    expected = np.zeros(REF.shape, np.uint8)
    expected[1:4, 2:8, 3:9] = 1
    expected[2:4, 4:6, 5:7] = 2  # overlap → the higher segment number
    np.testing.assert_array_equal(mask.array, expected)
    assert names == {"1": "liver", "2": "tumour"} and mask.same_grid(REF)
    m, n = read_mask(None, str(path), REF)
    table = measure_labels(REF, m, names=n)
    assert table["name"].tolist() == ["liver", "tumour"] and table["voxels"].tolist() == [108 - 8, 8]


def test_read_dicom_seg__fractional_frames_and_sub_region(tmp_path):
    p = np.zeros((4, 5))
    p[1:3, 1:4] = [[0.2, 0.5, 0.9], [0.49, 0.51, 1.0]]
    path = _seg(tmp_path / "frac.dcm", [(1, (4, 3, 6), p)], fractional=True, names=("nodule",))
    mask, _ = read_dicom_seg(path, REF)
    expected = np.zeros(REF.shape, np.uint8)
    # 0.5·255 = 127.5 → 128 ≥ 127.5 (in); 0.49·255 → 125 (out); 0.2 → out
    expected[4, 4, 8:10] = 1
    expected[4, 5, 8:10] = 1
    np.testing.assert_array_equal(mask.array, expected)


def test_read_dicom_seg__frames_off_the_grid_are_errors(tmp_path):
    path = _seg(tmp_path / "bad.dcm", [(1, (7, 0, 0), np.ones((10, 12), bool))])
    with pytest.raises(InputError, match=r"frame 1: not on the reference grid \(voxel position 0.00, 0.00, 7.00\)"):
        read_dicom_seg(path, REF)
    path = _seg(tmp_path / "sp.dcm", [(1, (0, 0, 0), np.ones((10, 12), bool))], spacing=(0.5, 0.5))
    with pytest.raises(InputError, match=r"pixel spacing \(0.5, 0.5\) differs from the reference's \(0.8, 0.7\)"):
        read_dicom_seg(path, REF)
