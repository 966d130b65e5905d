"""The compiled counting path (Parquet long tables) against DuckDB's aggregation and openEBGM's counts.

:func:`biolake.precision.signals.fastcount.count_pairs_parquet` must give exactly the table
that :func:`biolake.precision.signals.counts.count_pairs` computes with DuckDB (a separate
implementation: SQL ``DISTINCT``/``GROUP BY`` on the same rows), and on openEBGM's CAERS
example the counts ``N`` and unstratified ``E`` of ``processRaw(caers, stratify = FALSE)``
(``tests/data/precision/pv/openebgm_caers_reference.parquet``, made by ``make_reference.R``).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from biolake.precision.signals import signals
from biolake.precision.signals.counts import configure_duckdb, count_pairs
from biolake.precision.signals.faers import load_layout
from biolake.precision.signals.fastcount import count_pairs_parquet

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "precision" / "pv"
CAERS = HERE.parents[2] / "shared" / "data" / "pv" / "openEBGM" / "caers.csv"


def _duckdb_counts(path: Path, tmp_path: Path) -> tuple[pa.Table, int]:
    con = duckdb.connect(":memory:")
    configure_duckdb(con, memory_limit="1GB", threads=1, temp_directory=str(tmp_path))
    got = load_layout(con, f"read_parquet('{path}')", label=str(path), stratify=[])
    table = count_pairs(con, stratified=False, coded=True)
    con.close()
    return table, got["rows"]


def _random_rows(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    # names whose byte order differs from case-insensitive or locale order; sparse, unsorted ids
    drugs = np.array(["a", "B", "Z", "é", "ß", "aspirin", "Aspirin", "ÄSPIRIN", "x y", ""])
    events = np.array(["Nausea", "nausea", "HEADACHE", "Ödem", "rash", "ζ"])
    ids = rng.choice(np.arange(10, 4000, 7), rows)
    return pd.DataFrame(
        {
            "id": ids,
            "var1": drugs[rng.integers(0, len(drugs), rows)],
            "var2": events[rng.integers(0, len(events), rows)],
        }
    )


def test_count_pairs_parquet__equals_duckdb_with_repeats_and_row_groups(tmp_path: Path) -> None:
    """Several row groups (each with its own dictionary), repeated rows, Unicode names: identical tables."""
    rng = np.random.default_rng(5)
    frame = _random_rows(rng, 6000)
    frame = pd.concat([frame, frame.sample(500, random_state=1)], ignore_index=True)  # repeated rows
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=700)
    fast, rows = count_pairs_parquet(path, threads=2)
    ref, ref_rows = _duckdb_counts(path, tmp_path)
    assert rows == ref_rows == len(frame.drop_duplicates())
    assert fast.column_names == ref.column_names
    for name in ref.column_names:
        assert fast[name].equals(ref[name]), name
    # hand check of one pair: reports naming both, the drug, the event
    a = frame.drop_duplicates()
    pair = fast.to_pandas().iloc[7]
    both = a[(a.var1 == pair.drug) & (a.var2 == pair.event)].id.nunique()
    assert pair.n == both
    assert pair.n_drug == a[a.var1 == pair.drug].id.nunique()
    assert pair.n_event == a[a.var2 == pair.event].id.nunique()
    assert pair.n_total == a.id.nunique()


def test_count_pairs_parquet__dictionary_columns_and_folder_of_parts(tmp_path: Path) -> None:
    """Dictionary-encoded names written in two part files of a folder (a lake table's layout)."""
    rng = np.random.default_rng(9)
    frame = _random_rows(rng, 3000)
    folder = tmp_path / "parts"
    folder.mkdir()
    for k, part in enumerate((frame.iloc[:1700], frame.iloc[1700:])):
        table = pa.Table.from_pandas(part, preserve_index=False)
        table = table.set_column(1, "var1", table["var1"].dictionary_encode())
        pq.write_table(table, folder / f"part-{k}.parquet")
    fast, _ = count_pairs_parquet(folder, threads=1)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "one.parquet")
    ref, _ = _duckdb_counts(tmp_path / "one.parquet", tmp_path)
    assert fast.equals(ref)


def test_count_pairs_parquet__declines_what_it_cannot_count(tmp_path: Path) -> None:
    """Strata, text ids, missing values and a too sparse id range go to DuckDB (None)."""
    base = pd.DataFrame({"id": [1, 1, 2], "var1": ["A", "A", "B"], "var2": ["x", "y", "x"]})
    cases = {
        "strata": base.assign(strat1=["F", "F", "M"]),
        "text_ids": base.assign(id=["r1", "r1", "r2"]),
        "missing": base.assign(var2=["x", None, "x"]),
        "sparse": base.assign(id=[1, 1, 10**12]),
        "int_names": base.assign(var1=[1, 1, 2]),
    }
    for name, frame in cases.items():
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
        assert count_pairs_parquet(path) is None, name
    path = tmp_path / "strata.parquet"
    assert count_pairs_parquet(path, ignore_strata=True) is not None


@pytest.mark.skipif(not CAERS.exists(), reason="../shared/data/pv/openEBGM not available")
def test_signals__parquet_fast_path_reproduces_openebgm_counts(tmp_path: Path) -> None:
    """CAERS as Parquet, unstratified: N exact and E to 1e-12 (openEBGM processRaw), same result as the CSV."""
    caers = pd.read_csv(CAERS)
    path = tmp_path / "caers.parquet"
    pq.write_table(pa.Table.from_pandas(caers, preserve_index=False), path)
    assert count_pairs_parquet(path, ignore_strata=True) is not None  # the fast path takes this input
    fast, facts = signals(path, stratify=[])
    assert facts["rows"] == len(caers.drop_duplicates(["id", "var1", "var2"]))
    ref = pd.read_parquet(DATA / "openebgm_caers_reference.parquet")
    merged = fast.merge(ref, left_on=["drug", "event"], right_on=["var1", "var2"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["n"] == merged["N"]).all()
    np.testing.assert_allclose(merged["expected"], merged["E"], rtol=1e-12)
    csv, _ = signals(CAERS, stratify=[])  # the DuckDB path
    pd.testing.assert_frame_equal(fast, csv)
