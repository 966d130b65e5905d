"""Chunked Zarr arrays in the lake, and jobs over chunks on local and Dask backends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st

from biolake import InputError, Lake
from biolake.lake.backend import get_backend, map_chunks
from biolake.lake.chunks import array_chunks, table_chunks


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    lake = Lake.open(tmp_path_factory.mktemp("arrays") / "lake")
    rng = np.random.default_rng(7)
    counts = rng.poisson(5.0, size=(1_003, 17)).astype(np.int32)
    with lake.run("make expr") as run:
        stage = run.array("expr", attrs={"assay": "rna"})
        arr = stage.create("counts", shape=counts.shape, dtype="int32", chunks=(100, 17), dims=("genes", "samples"))
        for start in range(0, counts.shape[0], 250):  # written in slices that cross chunk borders
            arr[start : start + 250] = counts[start : start + 250]
        stage.write("gene_id", np.array([f"G{i}" for i in range(counts.shape[0])]), dims=("genes",))
    lake.write_table("cohort", pd.DataFrame({"age": rng.integers(18, 90, 300_001), "w": rng.random(300_001)}))
    lake.expected_counts = counts
    return lake


def test_array__round_trip(lake):
    group = lake.open_array("expr")
    np.testing.assert_array_equal(group["counts"][:], lake.expected_counts)
    assert group["gene_id"][:3].tolist() == ["G0", "G1", "G2"]


def test_array__catalog_records_shape_dtype_chunks(lake):
    info = lake.info("expr")
    assert info.kind == "array"
    assert info.shape == [1_003, 17]
    assert info.schema["counts"] == {
        "shape": [1_003, 17],
        "dtype": "int32",
        "chunks": [100, 17],
        "dims": ["genes", "samples"],
    }
    assert info.attrs == {"assay": "rna"}


def test_array__zarr_v2_layout_for_xarray_and_sgkit(lake):
    path = lake.info("expr").path
    assert (path / ".zgroup").is_file()
    assert (path / ".zmetadata").is_file()  # consolidated
    arr = zarr.open_group(str(path), mode="r")["counts"]
    assert arr.attrs["_ARRAY_DIMENSIONS"] == ["genes", "samples"]


def test_array__read_only(lake):
    with pytest.raises(Exception):  # noqa: B017  (zarr's own read-only error type varies by version)
        lake.open_array("expr")["counts"][0, 0] = 1
    assert lake.open_array("expr")["counts"][0, 0] == lake.expected_counts[0, 0]


def test_open_array__table_is_not_an_array(lake):
    with pytest.raises(InputError, match="is a table, not a array"):
        lake.open_array("cohort")


def _column_sums(chunk) -> np.ndarray:
    return chunk.read().sum(axis=0, dtype=np.int64)


def _age_moments(chunk) -> tuple[int, float, float]:
    t = chunk.read(columns=["age", "w"])
    age = t.column("age").to_numpy()
    return len(age), float(age.sum()), float((t.column("w").to_numpy() * age).sum())


@settings(max_examples=8, deadline=None)
@given(rows=st.integers(min_value=1, max_value=1_100))
def test_array_chunks__any_chunking_same_result(lake, rows):
    chunks = array_chunks(lake, "expr", "counts", rows=rows)
    assert chunks[0].start == 0 and chunks[-1].stop == 1_003
    total = sum(map_chunks(_column_sums, chunks, scheduler="threads"))
    np.testing.assert_array_equal(total, lake.expected_counts.sum(axis=0))


def test_table_chunks__cover_table_in_order(lake):
    chunks = table_chunks(lake, "cohort", target_rows=50_000)
    assert [c.offset for c in chunks] == list(np.cumsum([0] + [c.n_rows for c in chunks[:-1]]))
    assert sum(c.n_rows for c in chunks) == 300_001


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_job__local_and_dask_give_same_result(lake, dask_client):
    """A job over a lake table and a lake array: threads, processes and a real LocalCluster agree."""
    cohort = lake.to_pandas("cohort")
    expected = (len(cohort), float(cohort["age"].sum()), float((cohort["w"] * cohort["age"]).sum()))
    t_chunks = table_chunks(lake, "cohort", target_rows=40_000)
    a_chunks = array_chunks(lake, "expr", "counts")
    results = {}
    for scheduler in ("synchronous", "threads", "processes", dask_client):
        with get_backend(scheduler) as backend:
            parts = list(backend.map(_age_moments, t_chunks))
            sums = sum(backend.map(_column_sums, a_chunks))
        n = sum(p[0] for p in parts)
        results[backend.name] = (n, sum(p[1] for p in parts), sum(p[2] for p in parts))
        np.testing.assert_array_equal(sums, lake.expected_counts.sum(axis=0))
    assert set(results) == {"synchronous", "threads", "processes", "dask"}
    for got in results.values():
        assert got[0] == expected[0]
        assert got[1] == expected[1]
        assert got[2] == pytest.approx(expected[2], rel=1e-12)
