"""The radiomics job gives identical rows with 1 or 2 workers, threads or processes, and on Dask.

Issue 9's benchmark goal "identical results with 1, 2 or N workers and on Dask", as a
test: the same cases through :func:`biolake.imaging.radiomics_table` on every backend of
:mod:`biolake.lake.backend` (synchronous, threads with 1 and 2 workers, processes with 2
workers, a real 2-worker ``distributed.LocalCluster``) must give the same table, value for
value, in input order. The reference row values are also checked against numpy directly
(the mean, extremes and voxel volume of each lesion's re-segmented intensities).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from biolake.imaging import RadiomicsCase, RadiomicsSettings, radiomics_table
from biolake.imaging.demo import synthetic_ct
from biolake.lake.backend import get_backend

SETTINGS = RadiomicsSettings(
    resegment_range=(-1000, 400),
    discretization={"method": "fixed_bin_size", "width": 25},
    aggregation=("3D_avg", "3D_comb"),
    families=("morph", "stat", "ih", "cm", "rlm", "szm", "dzm", "ngt", "ngl"),
)


@pytest.fixture(scope="module")
def workers_cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[RadiomicsCase], list[tuple]]:
    """Four small synthetic CT cases written as NIfTI, and their arrays."""
    root = tmp_path_factory.mktemp("radiomics_workers")
    cases, arrays = [], []
    for k in range(4):
        image, mask = synthetic_ct(seed=10 + k, shape=(10, 36, 36), spacing=(1.0, 1.0, 2.0))
        paths = []
        for vol, name in ((image, f"img{k}.nii.gz"), (mask, f"msk{k}.nii.gz")):
            itk = sitk.GetImageFromArray(vol.array)
            itk.SetSpacing(vol.spacing)
            itk.SetOrigin(vol.origin)
            sitk.WriteImage(itk, str(root / name))
            paths.append(str(root / name))
        cases.append(RadiomicsCase(*paths))
        arrays.append((image.array, mask.array, image.spacing))
    return cases, arrays


@pytest.fixture(scope="module")
def one_worker(workers_cases) -> pd.DataFrame:
    cases, _ = workers_cases
    return radiomics_table(cases, settings=SETTINGS, scheduler="synchronous")


def test_radiomics_table__one_worker_rows_match_numpy(workers_cases, one_worker):
    cases, arrays = workers_cases
    assert one_worker["image"].tolist() == [c.image for c in cases]
    assert one_worker.shape[1] > 150
    for row, (img, msk, spacing) in zip(one_worker.itertuples(index=False), arrays, strict=True):
        roi = msk > 0
        vals = img[roi & (img >= -1000) & (img <= 400)].astype(float)
        assert row.stat_mean == pytest.approx(vals.mean(), rel=1e-12)
        assert (row.stat_min, row.stat_max) == (vals.min(), vals.max())
        assert row.morph_vol_approx == pytest.approx(roi.sum() * float(np.prod(spacing)), rel=1e-12)


@pytest.mark.parametrize(("scheduler", "workers"), [("threads", 1), ("threads", 2), ("processes", 2)])
def test_radiomics_table__identical_rows_on_local_backends(workers_cases, one_worker, scheduler, workers):
    cases, _ = workers_cases
    with get_backend(scheduler, workers=workers) as backend:
        got = radiomics_table(cases, settings=SETTINGS, backend=backend)
    pd.testing.assert_frame_equal(got, one_worker, check_exact=True)


def test_radiomics_table__identical_rows_on_a_dask_local_cluster(workers_cases, one_worker):
    distributed = pytest.importorskip("distributed")
    cases, _ = workers_cases
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        got = radiomics_table(cases, settings=SETTINGS, scheduler=client)
    pd.testing.assert_frame_equal(got, one_worker, check_exact=True)
