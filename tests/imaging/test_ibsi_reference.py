"""IBSI 1 reference values: the digital phantom and the CT phantom under configurations A–E.

Every tag the reference tables give a value for is compared — the features and the
image-processing diagnostics (``*_init_*``, ``*_interp_*``, ``*_reseg_*``, family
``diag``) — within the stated tolerance (and half a unit of the reference's 3rd
significant digit, the precision the consensus values are published with).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from imaging_helpers import CT, DIGITAL, allowed_deviation, ibsi_reference, needs_ibsi

from biolake.imaging import FAMILIES, ibsi_settings, radiomics_features
from biolake.io.images import read_image, read_nifti

pytestmark = needs_ibsi

_DIAGNOSTIC = ("_init_", "_interp_", "_reseg_")
ALL = FAMILIES  # the features and the diagnostics


def _compare(features: dict[str, float], reference) -> list[str]:
    bad = []
    for row in reference.itertuples():
        if row.tag not in features:
            bad.append(f"{row.tag}: not computed")
            continue
        got = features[row.tag]
        limit = allowed_deviation(row.value, row.tolerance)
        if not abs(got - row.value) <= limit * (1 + 1e-9):
            bad.append(f"{row.tag}: {got:.6g} vs reference {row.value} ± {limit:g}")
    return bad


def test_ibsi__digital_phantom_every_feature():
    image = read_nifti(DIGITAL / "image" / "phantom.nii.gz")
    mask = read_nifti(DIGITAL / "mask" / "mask.nii.gz")
    features = radiomics_features(image, mask, settings=ibsi_settings("digital_phantom"))
    reference = ibsi_reference("ibsi_1_dig_phantom.csv")
    assert len(reference) == 482  # every tag with a consensus value
    assert _compare(features, reference) == []


@pytest.fixture(scope="module")
def ct_phantom():
    return read_nifti(CT / "nifti" / "image" / "phantom.nii.gz"), read_nifti(CT / "nifti" / "mask" / "mask.nii.gz")


@pytest.mark.parametrize("config", ["A", "B", "C", "D", "E"])
def test_ibsi__ct_phantom_configuration(ct_phantom, config):
    image, mask = ct_phantom
    features = radiomics_features(image, mask, settings=replace(ibsi_settings(config), families=ALL))
    reference = ibsi_reference(f"ibsi_1_chest_config_{config.lower()}.csv")
    n_features = sum(not any(d in t for d in _DIAGNOSTIC) for t in reference.tag)
    assert n_features > 200 and len(reference) - n_features == 60
    assert _compare(features, reference) == []


def test_ibsi__ct_phantom_from_dicom_and_rtstruct_equals_nifti(ct_phantom, tmp_path):
    """The DICOM series + RTSTRUCT give the NIfTI image and voxel mask exactly."""
    import pydicom
    import SimpleITK as sitk

    from biolake.io.images import rasterize_rtstruct

    image, mask = ct_phantom
    dicom = read_image(CT / "dicom" / "image")
    assert dicom.shape == image.shape
    np.testing.assert_array_equal(dicom.array, image.array)
    # geometry as SimpleITK's ImageSeriesReader gives it, to 1e-6
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(CT / "dicom" / "image")))
    ref = reader.Execute()
    np.testing.assert_allclose(dicom.spacing, ref.GetSpacing(), atol=1e-6)
    np.testing.assert_allclose(dicom.origin, ref.GetOrigin(), atol=1e-6)
    np.testing.assert_allclose(dicom.direction.ravel(), ref.GetDirection(), atol=1e-6)
    np.testing.assert_array_equal(dicom.array, sitk.GetArrayFromImage(ref))
    rs = pydicom.dcmread(CT / "dicom" / "mask" / "DCM_RS_00060.dcm")
    rois = rasterize_rtstruct(rs, dicom)
    assert list(rois) == ["GTV-1"]
    np.testing.assert_array_equal(rois["GTV-1"], mask.array > 0)


def test_ibsi__ct_phantom_end_to_end_from_dicom_and_rtstruct(tmp_path):
    """DICOM series + RTSTRUCT → lake (de-identified) → radiomics job, configuration A, against IBSI."""
    from biolake.imaging import run_radiomics
    from biolake.io.images import ingest_images
    from biolake.lake import Lake

    lake = Lake.open(tmp_path / "lake")
    ingest_images(lake, CT / "dicom" / "image", name="ct", mask_dir=CT / "dicom" / "mask")
    _, table = run_radiomics(lake, "lake:ct", out=tmp_path / "a.csv", config="A")
    assert table["label"].tolist() == ["GTV-1"]
    features = {k: v for k, v in table.iloc[0].items() if k not in ("image", "mask", "label")}
    reference = ibsi_reference("ibsi_1_chest_config_a.csv")
    reference = reference[[not any(d in t for d in _DIAGNOSTIC) for t in reference.tag]]
    assert _compare(features, reference) == []
