"""Tests of the dataset endpoints: list, info, schema, preview, download, delete, upload."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from service_helpers import PATIENTS, assert_clean_error

import biolake as bl


def _lake_state(lake_dir: Path) -> tuple[list[str], list[str], list[str]]:
    """Dataset names, table directories and leftovers in .tmp/."""
    lake = bl.Lake.open(lake_dir)
    return (
        lake.names(),
        sorted(p.name for p in (lake_dir / "tables").iterdir()),
        sorted(p.name for p in (lake_dir / ".tmp").iterdir()),
    )


def _multi_part_table(lake_dir: Path, name: str, *, n: int = 50, batch_rows: int = 10, rows_per_part: int = 20) -> None:
    """A table of ``n`` rows (``i``, ``s``) stored as several parts of several row groups."""
    lake = bl.Lake.open(lake_dir)
    with lake.run("test", params={}) as run:
        stage = run.table(name)
        stage.rows_per_part = rows_per_part
        for start in range(0, n, batch_rows):
            i = np.arange(start, min(start + batch_rows, n))
            stage.write(pa.table({"i": i, "s": [f"v{k}" for k in i]}))
    files = sorted(lake.info(name).path.glob("*.parquet"))
    assert len(files) > 1 and pq.ParquetFile(files[0]).metadata.num_row_groups > 1


# ----------------------------------------------------------------------------- list / info


def test_list_datasets__lists_the_catalog(ro_client):
    response = ro_client.get("/api/datasets")
    assert response.status_code == 200
    [entry] = response.json()
    assert entry["name"] == "patients"
    assert entry["n_rows"] == 4
    assert list(entry["schema"]) == ["id", "age", "site"]
    assert entry["schema"]["age"] == "int64"
    assert not entry["path"].startswith("/")  # relative to the lake: no server paths


def test_dataset_info__known_name(ro_client):
    response = ro_client.get("/api/datasets/patients")
    assert response.status_code == 200
    assert response.json()["kind"] == "table"
    assert response.json()["schema"]["age"] == "int64"


def test_dataset_info__unknown_name_is_404(ro_client):
    body = assert_clean_error(ro_client.get("/api/datasets/nobody"), 404)
    assert "nobody" in body["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/datasets/..",
        "/api/datasets/%2e%2e",
        "/api/datasets/%2E%2E%2Fcatalog.duckdb",
        "/api/datasets/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/datasets/%2Fetc%2Fpasswd",
        "/api/datasets//etc/passwd",
        "/api/datasets/../../etc/passwd",
        "/api/datasets/tables",
        "/api/datasets/runs",
        "/api/datasets/patients;drop",
        "/api/datasets/patients%27%20or%20%271%27%3D%271",
        "/api/datasets/%2e%2e/preview",
        "/api/datasets/..%2Fpatients/download",
    ],
)
def test_dataset_info__path_traversal_is_refused(ro_client, path):
    response = ro_client.get(path)
    assert 400 <= response.status_code < 500
    assert "root:" not in response.text and "DUCK" not in response.text
    assert "Traceback" not in response.text


def test_dataset_schema__columns_and_types(ro_client):
    response = ro_client.get("/api/datasets/patients/schema")
    assert response.status_code == 200
    columns = response.json()["columns"]
    assert [c["name"] for c in columns] == ["id", "age", "site"]
    assert columns[0] == {"name": "id", "type": "int64"}
    assert "string" in columns[2]["type"]


# --------------------------------------------------------------------------------- preview


def test_dataset_preview__first_page(ro_client):
    body = ro_client.get("/api/datasets/patients/preview?limit=2").json()
    assert body["columns"] == ["id", "age", "site"]
    assert body["rows"] == [[1, 40, "a"], [2, 51, "b"]]
    assert body["total"] == 4


def test_dataset_preview__page_across_row_groups_and_parts(make_client, lake_dir):
    _multi_part_table(lake_dir, "big", n=50, batch_rows=10, rows_per_part=20)
    client = make_client()
    body = client.get("/api/datasets/big/preview?offset=17&limit=8").json()
    assert [row[0] for row in body["rows"]] == list(range(17, 25))
    assert [row[1] for row in body["rows"]] == [f"v{k}" for k in range(17, 25)]
    tail = client.get("/api/datasets/big/preview?offset=48&limit=10").json()
    assert [row[0] for row in tail["rows"]] == [48, 49]
    assert tail["total"] == 50


def test_dataset_preview__past_the_end_is_empty(ro_client):
    body = ro_client.get("/api/datasets/patients/preview?offset=100").json()
    assert body["rows"] == []


@pytest.mark.parametrize("query", ["limit=100000", "limit=0", "offset=-1", "limit=abc"])
def test_dataset_preview__bad_paging_is_422(ro_client, query):
    assert_clean_error(ro_client.get(f"/api/datasets/patients/preview?{query}"), 422)


def test_dataset_preview__array_dataset_is_422(client, lake_dir):
    bl.Lake.open(lake_dir).write_arrays("genotypes", {"call_genotype": np.zeros((3, 2, 2), dtype="i1")})
    body = assert_clean_error(client.get("/api/datasets/genotypes/preview"), 422)
    assert "array" in body["error"]
    assert client.get("/api/datasets/genotypes/schema").json()["kind"] == "array"


# -------------------------------------------------------------------------------- download


def test_dataset_download__csv_round_trips(ro_client):
    response = ro_client.get("/api/datasets/patients/download?format=csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="patients.csv"' in response.headers["content-disposition"]
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(response.text)), PATIENTS, check_dtype=False)


def test_dataset_download__tsv_round_trips(ro_client):
    response = ro_client.get("/api/datasets/patients/download?format=tsv")
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(response.text), sep="\t"), PATIENTS, check_dtype=False)


def test_dataset_download__parquet_round_trips_a_multi_part_table(make_client, lake_dir):
    _multi_part_table(lake_dir, "big", n=95, batch_rows=10, rows_per_part=30)
    response = make_client().get("/api/datasets/big/download?format=parquet")
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(response.content))
    assert table.column("i").to_pylist() == list(range(95))
    assert table.column("s").to_pylist() == [f"v{k}" for k in range(95)]
    csv = make_client().get("/api/datasets/big/download?format=csv").text
    assert csv.splitlines()[0] == "i,s"
    assert csv.splitlines()[1:] == [f"{k},v{k}" for k in range(95)]


def test_dataset_download__unknown_format_is_422(ro_client):
    assert_clean_error(ro_client.get("/api/datasets/patients/download?format=xlsx"), 422)


# ---------------------------------------------------------------------------------- delete


def test_dataset_delete__removes_entry_and_data(client, lake_dir):
    data = bl.Lake.open(lake_dir).info("patients").path
    response = client.delete("/api/datasets/patients")
    assert response.status_code == 200
    assert response.json() == {"deleted": "patients"}
    assert not data.exists()
    assert_clean_error(client.get("/api/datasets/patients"), 404)
    assert_clean_error(client.delete("/api/datasets/patients"), 404)


def test_dataset_delete__invalid_name_is_refused(client, lake_dir):
    assert 400 <= client.delete("/api/datasets/%2e%2e").status_code < 500
    assert bl.Lake.open(lake_dir).names() == ["patients"]


# ---------------------------------------------------------------------------------- upload


def test_upload__csv_becomes_a_dataset(client, lake_dir):
    csv = b"gene,count\nBRCA1,12\nTP53,7\n"
    response = client.post("/api/datasets?name=counts", files={"file": ("counts.csv", csv, "text/csv")})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "counts"
    assert body["n_rows"] == 2
    assert body["schema"] == {"gene": "string", "count": "int64"}
    assert body["source"] == "counts.csv"
    lake = bl.Lake.open(lake_dir)
    assert lake.to_pandas("counts").to_dict("list") == {"gene": ["BRCA1", "TP53"], "count": [12, 7]}
    assert _lake_state(lake_dir)[2] == []  # the temporary upload is gone


def test_upload__gzip_and_parquet(client, lake_dir):
    gz = gzip.compress(b"a\tb\n1\tx\n2\ty\n")
    assert client.post("/api/datasets?name=t1", files={"file": ("t.tsv.gz", gz)}).status_code == 201
    buffer = io.BytesIO()
    pq.write_table(pa.table({"v": [1.5, 2.5]}), buffer)
    assert client.post("/api/datasets?name=t2", files={"file": ("v.parquet", buffer.getvalue())}).status_code == 201
    lake = bl.Lake.open(lake_dir)
    assert lake.to_pandas("t1")["b"].tolist() == ["x", "y"]
    assert lake.to_pandas("t2")["v"].tolist() == [1.5, 2.5]


def test_upload__malformed_csv_is_422_with_the_line_and_leaves_nothing(client, lake_dir):
    before = _lake_state(lake_dir)
    bad = b"id,age\n1,40\n2,51\n3,33,extra\n4,62\n"
    response = client.post("/api/datasets?name=bad", files={"file": ("visits.csv", bad)})
    body = assert_clean_error(response, 422)
    assert body["error"] == "visits.csv: line 4: expected 2 fields, found 3"
    assert body["line"] == 4
    assert body["file"] == "visits.csv"
    assert _lake_state(lake_dir) == before


def test_upload__malformed_parquet_is_422_and_leaves_nothing(client, lake_dir):
    before = _lake_state(lake_dir)
    response = client.post("/api/datasets?name=bad", files={"file": ("x.parquet", b"PAR1 not really")})
    body = assert_clean_error(response, 422)
    assert body["error"].startswith("x.parquet: cannot read as Parquet")
    assert str(lake_dir) not in response.text
    assert _lake_state(lake_dir) == before


def test_upload__unknown_extension_is_422(client, lake_dir):
    body = assert_clean_error(client.post("/api/datasets?name=x", files={"file": ("x.xlsx", b"abc")}), 422)
    assert body["error"].startswith("x.xlsx: unknown table format")
    assert _lake_state(lake_dir)[0] == ["patients"]


def test_upload__existing_name_needs_replace(client, lake_dir):
    csv = b"x\n1\n2\n3\n"
    assert_clean_error(client.post("/api/datasets?name=patients", files={"file": ("p.csv", csv)}), 409)
    assert bl.Lake.open(lake_dir).info("patients").n_rows == 4
    response = client.post("/api/datasets?name=patients&replace=true", files={"file": ("p.csv", csv)})
    assert response.status_code == 201
    assert bl.Lake.open(lake_dir).to_pandas("patients")["x"].tolist() == [1, 2, 3]


def test_upload__too_large_is_413_and_leaves_nothing(make_client, lake_dir):
    client = make_client(max_upload_bytes=1000)
    before = _lake_state(lake_dir)
    big = b"a,b\n" + b"1,2\n" * 2000
    body = assert_clean_error(client.post("/api/datasets?name=big", files={"file": ("big.csv", big)}), 413)
    assert "1000 bytes" in body["error"]
    assert _lake_state(lake_dir) == before


@pytest.mark.parametrize("name", ["../evil", "a/b", "%2e%2e", "1abc", "", "runs", "x" * 200, "a;drop table datasets"])
def test_upload__invalid_name_is_422(client, lake_dir, name):
    response = client.post("/api/datasets", params={"name": name}, files={"file": ("x.csv", b"a\n1\n")})
    assert_clean_error(response, 422)
    assert _lake_state(lake_dir)[0] == ["patients"]


def test_upload__client_file_name_is_never_a_path(client, lake_dir, tmp_path):
    files = {"file": ("../../../escaped.csv", b"a\n1\n")}
    assert client.post("/api/datasets?name=ok", files=files).status_code == 201
    assert not any(tmp_path.rglob("escaped.csv"))
    assert bl.Lake.open(lake_dir).info("ok").source.endswith("escaped.csv")


def test_upload__without_a_file_part_is_422(client):
    assert_clean_error(client.post("/api/datasets?name=x", data={"other": "1"}, files={"x": ("a.csv", b"")}), 422)
    assert_clean_error(client.post("/api/datasets?name=x", content=b"a\n1\n"), 422)


def test_upload__malformed_multipart_is_422(client, lake_dir):
    before = _lake_state(lake_dir)
    garbage = client.post(
        "/api/datasets?name=x",
        content=b"--b\r\nno headers here\r\n\r\n\x00--b--",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert_clean_error(garbage, 422)
    two = [("file", ("a.csv", b"a\n1\n")), ("file", ("b.csv", b"b\n2\n"))]
    assert_clean_error(client.post("/api/datasets?name=x", files=two), 422)
    assert _lake_state(lake_dir) == before


def test_upload__concurrent_uploads_and_reads(client, lake_dir):
    """Catalog connections of the server's threads do not collide (ServiceLake serializes them)."""
    import concurrent.futures as cf

    def upload(i: int) -> int:
        files = {"file": (f"t{i}.csv", b"a,b\n" + b"1,2\n" * 100)}
        return client.post(f"/api/datasets?name=t{i}", files=files).status_code

    def read(i: int) -> int:
        return client.get("/api/datasets" if i % 2 else "/api/runs").status_code

    with cf.ThreadPoolExecutor(8) as pool:
        uploads = [pool.submit(upload, i) for i in range(6)]
        reads = [pool.submit(read, i) for i in range(30)]
        assert [f.result() for f in uploads] == [201] * 6
        assert [f.result() for f in reads] == [200] * 30
    assert len(bl.Lake.open(lake_dir).names()) == 7
