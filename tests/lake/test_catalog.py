"""The lake catalog: opening, datasets, SQL, names, layout versions."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from biolake import InputError, Lake
from biolake.lake import LAYOUT_VERSION, default_lake_path, validate_name


@pytest.fixture
def lake(tmp_path):
    return Lake.open(tmp_path / "lake")


def test_open__creates_layout(tmp_path):
    lake = Lake.open(tmp_path / "new")
    assert (tmp_path / "new" / "catalog.duckdb").is_file()
    assert (tmp_path / "new" / "tables").is_dir()
    assert (tmp_path / "new" / "arrays").is_dir()
    assert lake.names() == []


def test_open__reopens_existing(tmp_path):
    Lake.open(tmp_path / "l").write_table("t", pd.DataFrame({"a": [1, 2]}))
    assert Lake.open(tmp_path / "l").names() == ["t"]


def test_open__missing_without_create(tmp_path):
    with pytest.raises(InputError, match="no lake here"):
        Lake.open(tmp_path / "nope", create=False)


def test_open__refuses_foreign_directory(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        Lake.open(tmp_path / "d")


def test_open__refuses_newer_layout(tmp_path):
    Lake.open(tmp_path / "l")
    con = duckdb.connect(str(tmp_path / "l" / "catalog.duckdb"))
    con.execute("UPDATE meta SET value = ? WHERE key = 'layout_version'", [str(LAYOUT_VERSION + 1)])
    con.close()
    with pytest.raises(InputError, match="newer than this biolake"):
        Lake.open(tmp_path / "l")


def test_default_lake_path__env(monkeypatch, tmp_path):
    monkeypatch.setenv("BIOLAKE_LAKE", str(tmp_path / "envlake"))
    assert default_lake_path() == tmp_path / "envlake"
    monkeypatch.delenv("BIOLAKE_LAKE")
    assert str(default_lake_path()) == "biolake-lake"


@pytest.mark.parametrize("name", ["a", "_x", "patients_2024", "A1_b2"])
def test_validate_name__accepts(name):
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "../x", "a/b", "a b", "x" * 129, "runs", "a.b", "lake:x"])
def test_validate_name__rejects(name):
    with pytest.raises(InputError, match="invalid dataset name"):
        validate_name(name)


def test_write_table__catalog_entry(lake):
    df = pd.DataFrame({"age": [40, 51, 62], "site": ["A", "B", "A"]})
    info = lake.write_table("patients", df, source="cohort.csv", attrs={"study": "demo"})
    assert info.kind == "table"
    assert info.encoding == "parquet"
    assert info.n_rows == 3
    assert info.schema["age"] == "int64"
    assert info.schema["site"] in ("string", "large_string")
    assert info.source == "cohort.csv"
    assert info.attrs == {"study": "demo"}
    assert info.bytes > 0
    assert info.run_id is not None
    assert lake.run_record(info.run_id).outputs == ["patients"]


def test_sql__over_tables(lake):
    lake.write_table("a", pd.DataFrame({"k": [1, 2, 3], "v": [10.0, 20.0, 30.0]}))
    lake.write_table("b", pd.DataFrame({"k": [2, 3, 4], "w": ["x", "y", "z"]}))
    got = lake.sql("select a.k, v, w from a join b using (k) order by k")
    assert got["k"].tolist() == [2, 3]
    assert got["v"].tolist() == [20.0, 30.0]
    assert got["w"].tolist() == ["x", "y"]


def test_sql__error_is_input_error(lake):
    with pytest.raises(InputError, match="SQL error"):
        lake.sql("select * from missing_table")


def test_sql__cannot_touch_catalog(lake):
    lake.write_table("a", pd.DataFrame({"k": [1]}))
    with pytest.raises(InputError):
        lake.sql("select * from datasets")
    assert lake.names() == ["a"]


def test_iter_batches__streams_in_order(lake):
    n = 1_000_003
    lake.write_table("big", pd.DataFrame({"i": np.arange(n, dtype=np.int64)}))
    seen = 0
    sizes = []
    for batch in lake.iter_batches("big", batch_size=100_000):
        col = batch.column("i").to_numpy()
        assert col[0] == seen
        seen += len(col)
        sizes.append(len(col))
    assert seen == n
    assert max(sizes) <= 100_000


def test_write_table__from_batches_stream(lake):
    def gen():
        for k in range(5):
            yield pa.record_batch({"x": pa.array(np.arange(k * 10, k * 10 + 10, dtype=np.int32))})

    info = lake.write_table("s", gen())
    assert info.n_rows == 50
    assert lake.to_pandas("s")["x"].tolist() == list(range(50))


def test_write_table__mismatched_batch_schema(lake):
    def gen():
        yield pa.record_batch({"x": pa.array([1, 2])})
        yield pa.record_batch({"y": pa.array(["a"])})

    with pytest.raises(InputError, match="does not match"):
        lake.write_table("bad", gen())
    assert lake.names() == []


def test_write_table__replaces_and_removes_old_data(lake):
    first = lake.write_table("t", pd.DataFrame({"a": [1]}))
    second = lake.write_table("t", pd.DataFrame({"a": [2, 3]}))
    assert not first.path.exists()
    assert second.path.exists()
    assert lake.to_pandas("t")["a"].tolist() == [2, 3]


def test_write_table__empty_keeps_schema(lake):
    info = lake.write_table("e", pd.DataFrame({"a": pd.Series([], dtype="int64")}))
    assert info.n_rows == 0
    assert lake.sql("select count(*) as n from e")["n"].tolist() == [0]


def test_drop__removes_entry_and_data(lake):
    info = lake.write_table("t", pd.DataFrame({"a": [1]}))
    lake.drop("t")
    assert lake.names() == []
    assert not info.path.exists()
    with pytest.raises(InputError, match="no dataset named 't'"):
        lake.info("t")


def test_info__lake_prefix(lake):
    lake.write_table("t", pd.DataFrame({"a": [1]}))
    assert lake.info("lake:t").name == "t"


def test_result_name__never_replaces_source(lake, tmp_path):
    lake.write_table("x", pd.DataFrame({"a": [1]}))
    assert lake.result_name(tmp_path / "x.csv") == "x_result"
    assert lake.result_name(tmp_path / "new-file.tsv") == "new_file"
    assert lake.result_name(tmp_path / "2024.parquet") == "r_2024"
