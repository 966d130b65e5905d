"""The imaging jobs end to end: CLI, backends (local and Dask), run reports and the demo step."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from biolake.cli import main
from biolake.imaging import RadiomicsCase, RadiomicsSettings, ibsi_settings, radiomics_features, radiomics_table
from biolake.imaging.demo import synthetic_ct
from biolake.io.images import read_nifti
from biolake.lake import Lake
from biolake.lake.backend import get_backend
from biolake.report.runs import build_run_report


def _write(vol, path: Path) -> None:
    img = sitk.GetImageFromArray(vol.array)
    img.SetSpacing(vol.spacing)
    img.SetOrigin(vol.origin)
    sitk.WriteImage(img, str(path))


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small synthetic CT cases as NIfTI: images/caseK.nii.gz, masks/caseK.nii.gz."""
    root = tmp_path_factory.mktemp("cases")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    for k in range(3):
        image, mask = synthetic_ct(seed=k, shape=(12, 40, 40), spacing=(1.0, 1.0, 2.0))
        _write(image, root / "images" / f"case{k + 1}.nii.gz")
        _write(mask, root / "masks" / f"case{k + 1}.nii.gz")
    return root


def _cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    out, err = capsys.readouterr()
    return code, out, err


SETTINGS = RadiomicsSettings(
    resegment_range=(-1000, 400), discretization={"method": "fixed_bin_size", "width": 25}, aggregation=("3D_comb",)
)


def _case_list(cases: Path) -> list[RadiomicsCase]:
    return [
        RadiomicsCase(str(cases / "images" / f"case{k}.nii.gz"), str(cases / "masks" / f"case{k}.nii.gz"))
        for k in (1, 2, 3)
    ]


def test_jobs__same_table_on_every_backend_including_dask(cases):
    distributed = pytest.importorskip("distributed")
    expected = radiomics_table(_case_list(cases), settings=SETTINGS, scheduler="synchronous")
    assert len(expected) == 3 and list(expected.columns[:3]) == ["image", "mask", "label"]
    with get_backend("threads", workers=2) as backend:
        got = radiomics_table(_case_list(cases), settings=SETTINGS, backend=backend)
    pd.testing.assert_frame_equal(got, expected)
    # worker processes (Dask's here; the 'processes' backend ships the same picklable cases)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        got = radiomics_table(_case_list(cases), settings=SETTINGS, scheduler=client)
    pd.testing.assert_frame_equal(got, expected)


def test_jobs__cli_ingest_radiomics_and_report(cases, tmp_path, capsys):
    lake_dir = tmp_path / "lake"
    (cases / "images" / "README.txt").write_text("not an image")
    try:
        args = ["ingest", "images", cases / "images", "--mask-dir", cases / "masks", "--name", "ct"]
        code, _, err = _cli(capsys, "--lake", lake_dir, *args)
    finally:
        (cases / "images" / "README.txt").unlink()
    assert code == 0, err
    assert re.search(r"^warning: .*README\.txt: not a DICOM or NIfTI file, skipped$", err, re.M), err
    out = tmp_path / "features.csv"
    args = ["imaging", "radiomics", "lake:ct", "--config", "ibsi-c", "--out", out]
    code, _, err = _cli(capsys, "--lake", lake_dir, *args)
    assert code == 0, err
    table = pd.read_csv(out)
    assert len(table) == 3 and table["label"].tolist() == ["label 1"] * 3
    assert {"morph_volume", "cm_joint_max_3D_comb", "szm_sze_3D", "ngl_dc_energy_3D"} <= set(table.columns)
    lake = Lake.open(lake_dir)
    assert lake.exists("features") and lake.to_pandas("features").shape == table.shape
    # the same case from its files gives the same row
    image = cases / "images" / "case1.nii.gz"
    direct = radiomics_features(
        read_nifti(image), read_nifti(cases / "masks" / "case1.nii.gz"), settings=ibsi_settings("C")
    )
    row = table[table.image.str.endswith(lake.to_pandas("ct_meta").image_id[0])].iloc[0]
    for name in ("morph_volume", "stat_mean", "cm_contrast_3D_comb"):
        assert row[name] == pytest.approx(direct[name], rel=1e-12) or np.isnan(direct[name])
    run_id = lake.info("features").run_id
    html = build_run_report(lake, run_id).to_html()
    assert "morph_volume" in html and html.count("data:image/png;base64,") == 3
    assert "Spearman correlation between features" in html and '"mark":{"type":"rect"' in html.replace(" ", "")
    html = build_run_report(lake, lake.info("ct_meta").run_id).to_html()
    assert "de-identified" in html and "data:image/png;base64," in html


def test_jobs__cli_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = _cli(capsys, "--lake", tmp_path / "lake", "ingest", "images", tmp_path / "empty", "--name", "x")
    assert code == 2 and err.strip() == f"error: no image found in {tmp_path / 'empty'}"
    code, _, err = _cli(capsys, "--lake", tmp_path / "lake", "imaging", "radiomics", "lake:nope", "--out", "f.csv")
    assert code == 2 and err.startswith("error: lake:nope: no dataset named 'nope'"), err
    params = tmp_path / "p.yaml"
    params.write_text("aggregation: [5D]\n")
    code, _, err = _cli(
        capsys, "--lake", tmp_path / "lake", "imaging", "radiomics", "x.nii", "--params", params, "--out", "f.csv"
    )
    assert code == 2 and err.startswith(f"error: {params}: The 'aggregation' parameter"), err


def test_jobs__demo_step_builds_reports(tmp_path):
    from biolake.lake.progress import NullProgress
    from biolake.report.demo import _STEPS

    steps = [fn for title, fn in _STEPS if title.startswith("Imaging")]
    assert len(steps) == 1
    lake = Lake.open(tmp_path / "lake")
    (tmp_path / "data").mkdir()
    run_ids = steps[0](lake, tmp_path / "data", NullProgress())
    assert [lake.run_record(r).command for r in run_ids] == ["ingest images", "imaging radiomics"]
    html = build_run_report(lake, run_ids[1]).to_html()
    assert "data:image/png;base64," in html and "morph_sphericity" in html


def test_jobs__one_row_per_label_of_a_label_map(tmp_path):
    from biolake.errors import InputError

    image, lesion = synthetic_ct(seed=3, shape=(10, 32, 32), spacing=(1.0, 1.0, 2.0))
    labels = lesion.array.copy()
    labels[:, :, 20:26] = np.where(labels[:, :, 20:26] == 0, 2, 0)[:, :, :]  # a second structure
    labels = labels.astype(np.uint8)
    _write(image, tmp_path / "i.nii.gz")
    _write(type(image)(labels, spacing=image.spacing, origin=image.origin), tmp_path / "m.nii.gz")
    case = RadiomicsCase(str(tmp_path / "i.nii.gz"), str(tmp_path / "m.nii.gz"))
    table = radiomics_table([case], settings=SETTINGS, scheduler="synchronous")
    assert table["label"].tolist() == ["1", "2"]
    for label in (1, 2):
        direct = radiomics_features(image, labels == label, settings=SETTINGS)
        assert table.loc[label - 1, "stat_mean"] == pytest.approx(direct["stat_mean"], rel=1e-12)
        assert table.loc[label - 1, "morph_volume"] == pytest.approx(direct["morph_volume"], rel=1e-12)
    only = radiomics_table([RadiomicsCase(case.image, case.mask, labels=(2,))], settings=SETTINGS)
    assert only["label"].tolist() == ["2"]
    with pytest.raises(InputError, match=r"label 7 is not in the mask \(labels: \[1, 2\]\)"):
        radiomics_table([RadiomicsCase(case.image, case.mask, labels=(7,))], settings=SETTINGS)
