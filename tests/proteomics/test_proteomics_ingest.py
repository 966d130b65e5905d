"""``ingest_proteomics`` and ``biolake ingest proteomics``: MaxQuant and matrix files, bad files refused whole."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from proteomics_data import DATA

from biolake import InputError, Lake
from biolake.io.proteomics import ingest_proteomics, open_proteomics

SAMPLES = ["ctrl_1", "ctrl_2", "ctrl_3", "treat_1", "treat_2", "treat_3"]


@pytest.fixture
def lake(tmp_path):
    return Lake.open(tmp_path / "lake")


def _flagged_rows() -> pd.DataFrame:
    return pd.read_csv(DATA / "proteinGroups.txt", sep="\t", dtype=str, keep_default_na=False)


def test_ingest_proteomics__maxquant_lfq_removes_flagged_rows_and_counts_them(lake):
    """make_reference.R flags rows 3, 50, 120, 200, 299 (contaminant), 7, 80, 200 (reverse), 11, 150 (site)."""
    info = ingest_proteomics(lake, DATA / "proteinGroups.txt", name="pg", quant="lfq")
    assert info.attrs["removed"] == {"contaminant": 5, "reverse": 3, "only_identified_by_site": 2, "total": 9}
    assert lake.runs()[0].params["removed"]["total"] == 9
    store = open_proteomics(lake, "lake:pg")
    assert store.sample_id == SAMPLES and store.quant == "lfq"
    pg = _flagged_rows()
    kept = pg[(pg["Potential contaminant"] != "+") & (pg["Reverse"] != "+") & (pg["Only identified by site"] != "+")]
    assert store.protein_id.tolist() == kept["Majority protein IDs"].tolist()
    assert store.gene_name.tolist() == kept["Gene names"].tolist()
    lfq = kept[[f"LFQ intensity {s}" for s in SAMPLES]].astype(float).to_numpy()
    np.testing.assert_array_equal(store.read(0, store.n_proteins), np.where(lfq == 0, np.nan, lfq))
    assert np.isnan(store.read(0, store.n_proteins)).any()
    assert lake.to_pandas("pg_samples")["sample_id"].tolist() == SAMPLES


def test_ingest_proteomics__ibaq_skips_the_ibaq_peptides_column_and_keep_flagged(lake):
    info = ingest_proteomics(lake, DATA / "proteinGroups.txt", name="ib", quant="ibaq", keep_flagged=True)
    assert info.shape == [300, 6]
    store = open_proteomics(lake, "ib")
    assert store.sample_id == SAMPLES and store.protein_id[2].startswith("CON__")
    pg = _flagged_rows()
    ibaq = pg.loc[0, [f"iBAQ {s}" for s in SAMPLES]].astype(float).to_numpy()
    np.testing.assert_array_equal(store.read(0, 1)[0], np.where(ibaq == 0, np.nan, ibaq))


def test_ingest_proteomics__matrix_keeps_leading_zeros_and_missing(lake, tmp_path):
    path = tmp_path / "m.csv.gz"
    path.write_bytes(gzip.compress(b"protein,007,S2\n0001,1.5,NA\nP2,,-2\n"))
    info = ingest_proteomics(lake, path, name="m")
    assert info.shape == [2, 2] and info.attrs["format"] == "matrix"
    store = open_proteomics(lake, "m")
    assert store.protein_id.tolist() == ["0001", "P2"] and store.sample_id == ["007", "S2"]
    np.testing.assert_array_equal(store.read(0, 2), [[1.5, np.nan], [np.nan, -2.0]])


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("protein\ta\tb\np1\t1\tx\n", "line 2: column 3: value 'x' is not a number for sample 'b'"),
        ("protein\ta\tb\np1\t1\t2\np1\t1\t2\n", "line 3: column 1: duplicate protein id 'p1'"),
        ("protein\ta\tb\np1\t1\t2\np2\t1\n", "line 3: expected 3 fields, found 2"),
        ("protein\ta\ta\np1\t1\t2\n", "line 1: column 3: duplicate sample id 'a'"),
        ("protein\ta\tb\np1\t1\tinf\n", "line 2: column 3: value 'inf' is not finite for sample 'b'"),
    ],
)
def test_ingest_proteomics__bad_matrix_names_line_and_leaves_nothing(lake, tmp_path, text, where):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        ingest_proteomics(lake, path, name="bad", format="matrix")
    assert str(err.value) == f"{path}: {where}"
    assert not lake.exists("bad") and not lake.exists("bad_samples") and not lake.exists("bad_proteins")
    assert lake.runs()[0].status == "failed"


def test_ingest_proteomics__bad_maxquant_value_names_line(lake, tmp_path):
    lines = (DATA / "proteinGroups.txt").read_text().splitlines()
    header = lines[0].split("\t")
    row = lines[5].split("\t")
    row[header.index("LFQ intensity treat_2")] = "12,5"
    path = tmp_path / "proteinGroups.txt"
    path.write_text("\n".join([lines[0], *lines[1:5], "\t".join(row)]) + "\n")
    with pytest.raises(InputError, match=r"line 6: column \d+: value '12,5' is not a number for sample 'treat_2'"):
        ingest_proteomics(lake, path, name="pg")
    assert not lake.exists("pg")


def test_ingest_proteomics__maxquant_without_quant_columns(lake, tmp_path):
    path = tmp_path / "proteinGroups.txt"
    path.write_text("Protein IDs\tIntensity a\nP1\t5\n")
    with pytest.raises(InputError, match="no 'LFQ intensity' columns"):
        ingest_proteomics(lake, path, name="pg")
    assert ingest_proteomics(lake, path, name="pg", quant="intensity").shape == [1, 1]
