"""``ingest_counts`` and ``biolake ingest counts``: count matrices into the lake, bad files refused whole."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from biolake import InputError, Lake
from biolake.cli import main
from biolake.io.counts import ingest_counts, open_counts

GOOD = "gene\tS01\tS02\tS03\n007\t1\t0\t5\nENSG2\t10\t20\t30\n"


@pytest.fixture
def lake(tmp_path):
    return Lake.open(tmp_path / "lake")


def test_ingest_counts__tsv_gz_round_trip_keeps_text_ids(lake, tmp_path):
    path = tmp_path / "counts.tsv.gz"
    path.write_bytes(gzip.compress(GOOD.encode()))
    info = ingest_counts(lake, path, name="rna")
    assert info.shape == [2, 3] and info.encoding == "counts-zarr"
    assert info.schema["counts"]["dims"] == ["genes", "samples"]
    store = open_counts(lake, "lake:rna")
    assert store.gene_id.tolist() == ["007", "ENSG2"] and store.sample_id == ["S01", "S02", "S03"]
    np.testing.assert_array_equal(store.read(0, 2), [[1, 0, 5], [10, 20, 30]])
    assert lake.to_pandas("rna_samples")["sample_id"].tolist() == ["S01", "S02", "S03"]
    assert lake.to_pandas("rna_genes")["gene_id"].tolist() == ["007", "ENSG2"]


def test_ingest_counts__csv_with_float_integers(lake, tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text("id,a,b\ng1,1.0,2\ng2,3,4.0\n")
    assert ingest_counts(lake, path, name="c").shape == [2, 2]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("gene\ta\tb\ng1\t1\t2.5\n", "line 2: column 3: non-integer count '2.5' for sample 'b'"),
        ("gene\ta\tb\ng1\t1\t2\ng2\t-1\t2\n", "line 3: column 2: negative count '-1' for sample 'a'"),
        ("gene\ta\tb\ng1\t1\t2\ng1\t1\t2\n", "line 3: column 1: duplicate gene id 'g1'"),
        ("gene\ta\ta\ng1\t1\t2\n", "line 1: column 3: duplicate sample id 'a'"),
        ("gene\ta\tb\ng1\t1\t2\ng2\t1\n", "line 3: expected 3 fields, found 2"),
        ("gene\ta\tb\ng1\t1\tx\n", "line 2: column 3: count 'x' is not a number for sample 'b'"),
        ("gene\ta\tb\ng1\t1\t\n", "line 2: column 3: missing count for sample 'b'"),
    ],
)
def test_ingest_counts__bad_file_names_line_and_leaves_nothing(lake, tmp_path, text, where):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        ingest_counts(lake, path, name="bad")
    assert str(err.value) == f"{path}: {where}"
    assert not lake.exists("bad") and not lake.exists("bad_samples")
    assert lake.runs()[0].status == "failed"


def test_ingest_counts__cli_one_line_error_and_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("gene,a,b\ng1,1,-2\n")
    with pytest.raises(SystemExit) as exc:
        main(["--lake", str(tmp_path / "lake"), "ingest", "counts", str(path), "--name", "x"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == f"error: {path}: line 2: column 3: negative count '-2' for sample 'b'\n"
