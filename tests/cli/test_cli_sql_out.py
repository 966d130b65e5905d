"""``biolake lake sql ... --out FILE``: result files by extension, registered in the lake; SQL errors.

The cohort is written here with pandas; every expected aggregate is computed with pandas.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import biolake as bl
from biolake.io import ingest_table

N = 2_000
QUERY = "select site, count(*) as n, sum(age) as total_age from patients group by site order by site"


def _table_dirs(lake: Path) -> set[str]:
    """The table directories of a lake (cheaper than asking the catalog)."""
    return {p.name for p in (lake / "tables").iterdir()}


def _names(cli: Callable, lake: Path) -> set[str]:
    ls = cli("lake", "ls", "--lake", lake)
    assert ls.code == 0, ls.err
    return {line.split()[0] for line in ls.out_lines if line.strip()}


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    rng = np.random.default_rng(2024)
    return pd.DataFrame(
        {
            "patient_id": [f"P{i:05d}" for i in range(N)],
            "site": rng.choice(["Boston", "Leiden", "Lyon", "Osaka"], N),
            "age": rng.integers(18, 95, N),
            "sbp": rng.normal(130, 15, N).round(1),
        }
    )


@pytest.fixture(scope="module")
def expected_by_site(cohort: pd.DataFrame) -> pd.DataFrame:
    return (
        cohort.groupby("site")
        .agg(n=("age", "size"), total_age=("age", "sum"))
        .reset_index()
        .sort_values("site", ignore_index=True)
    )


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, cohort: pd.DataFrame) -> Path:
    """A lake holding the cohort as ``patients`` (set up once; the tests query it)."""
    d = tmp_path_factory.mktemp("sql_lake")
    csv_path = d / "patients.csv"
    cohort.to_csv(csv_path, index=False)
    ingest_table(bl.Lake.open(d / "lake"), csv_path, name="patients")
    return d / "lake"


# --------------------------------------------------------------------------- --out formats


def test_main__sql_out_csv(cli: Callable, lake: Path, tmp_path: Path, expected_by_site: pd.DataFrame) -> None:
    out = tmp_path / "by_site_csv.csv"
    result = cli("lake", "sql", QUERY, "--out", out, "--lake", lake)
    assert result.code == 0, result.err
    assert result.out == ""
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["site", "n", "total_age"]
    assert rows[1:] == [[r.site, str(r.n), str(r.total_age)] for r in expected_by_site.itertuples()]
    assert "by_site_csv" in _names(cli, lake)
    registered = cli("lake", "sql", "select * from by_site_csv order by site", "--lake", lake)
    assert list(csv.reader(registered.out.splitlines())) == rows


def test_main__sql_out_tsv(cli: Callable, lake: Path, tmp_path: Path, expected_by_site: pd.DataFrame) -> None:
    out = tmp_path / "by_site_tsv.tsv"
    assert cli("lake", "sql", QUERY, "--out", out, "--lake", lake).code == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "site\tn\ttotal_age"
    assert lines[1:] == [f"{r.site}\t{r.n}\t{r.total_age}" for r in expected_by_site.itertuples()]
    assert "by_site_tsv" in _names(cli, lake)


def test_main__sql_out_parquet(cli: Callable, lake: Path, tmp_path: Path, expected_by_site: pd.DataFrame) -> None:
    out = tmp_path / "by_site_pq.parquet"
    assert cli("lake", "sql", QUERY, "--out", out, "--lake", lake).code == 0
    got = pq.read_table(out).to_pandas()
    assert list(got.columns) == ["site", "n", "total_age"]
    assert got["site"].tolist() == expected_by_site["site"].tolist()
    assert got["n"].astype(int).tolist() == expected_by_site["n"].tolist()
    assert got["total_age"].astype(int).tolist() == expected_by_site["total_age"].tolist()
    assert "by_site_pq" in _names(cli, lake)


def test_main__sql_out_all_rows(cli: Callable, lake: Path, tmp_path: Path, cohort: pd.DataFrame) -> None:
    """More rows than one batch of the writer, in order."""
    out = tmp_path / "all_rows.csv"
    assert (
        cli(
            "lake", "sql", "select patient_id, sbp from patients order by patient_id", "--out", out, "--lake", lake
        ).code
        == 0
    )
    got = pd.read_csv(out)
    want = cohort.sort_values("patient_id", ignore_index=True)
    assert got["patient_id"].tolist() == want["patient_id"].tolist()
    np.testing.assert_allclose(got["sbp"].to_numpy(), want["sbp"].to_numpy())


def test_main__sql_out_stem_of_ingested_dataset(cli: Callable, lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "patients.csv"
    result = cli("lake", "sql", "select count(*) as n from patients", "--out", out, "--lake", lake)
    assert result.code == 0, result.err
    assert {"patients", "patients_result"} <= _names(cli, lake)
    # the ingested dataset is untouched; the result went to patients_result
    check = cli(
        "lake", "sql", "select (select count(*) from patients), (select n from patients_result)", "--lake", lake
    )
    assert list(csv.reader(check.out.splitlines()))[1] == [str(N), str(N)]


def test_main__sql_out_again_replaces_result(cli: Callable, lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "again.csv"
    assert cli("lake", "sql", "select 1 as v", "--out", out, "--lake", lake).code == 0
    assert cli("lake", "sql", "select 2 as v union all select 3", "--out", out, "--lake", lake).code == 0
    assert out.read_text().splitlines() == ["v", "2", "3"]
    check = cli("lake", "sql", "select sum(v) as s, count(*) as n from again", "--lake", lake)
    assert list(csv.reader(check.out.splitlines()))[1] == ["5", "2"]


def test_main__sql_out_empty_result_has_header(cli: Callable, lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "nobody.csv"
    result = cli("lake", "sql", "select patient_id, age from patients where age > 1000", "--out", out, "--lake", lake)
    assert result.code == 0, result.err
    assert out.read_text().splitlines() == ["patient_id,age"]
    check = cli("lake", "sql", "select count(*) from nobody", "--lake", lake)
    assert list(csv.reader(check.out.splitlines()))[1] == ["0"]


def test_main__sql_out_quoting(cli: Callable, lake: Path, tmp_path: Path) -> None:
    values = ["plain", "a,b", 'say "hi"', "two\nlines", "tab\there"]
    query = " union all ".join(f"select {i} as i, '{v}' as s" for i, v in enumerate(values)) + " order by i"
    for suffix, sep in ((".csv", ","), (".tsv", "\t")):
        out = tmp_path / f"quoting{suffix}"
        assert cli("lake", "sql", query, "--out", out, "--lake", lake).code == 0
        with open(out, newline="") as fh:
            rows = list(csv.reader(fh, delimiter=sep))
        assert rows == [["i", "s"], *[[str(i), v] for i, v in enumerate(values)]]


def test_main__sql_out_empty_string_vs_null(cli: Callable, lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "evn.csv"
    assert cli("lake", "sql", "select 'a' as s, '' as e, NULL as n", "--out", out, "--lake", lake).code == 0
    data = out.read_text().splitlines()[1]
    fields = data.split(",")
    assert len(fields) == 3
    assert fields[1] != fields[2]  # an empty string is not written like a missing value


# --------------------------------------------------------------------------- bad --out / bad SQL


@pytest.mark.parametrize("name", ["result.json", "result.xlsx", "result", "result.csv.gz"])
def test_main__sql_out_unknown_extension(cli: Callable, lake: Path, tmp_path: Path, name: str) -> None:
    before = _table_dirs(lake)
    result = cli("lake", "sql", "select 1 as x", "--out", tmp_path / name, "--lake", lake)
    line = result.assert_one_error_line(2)
    assert "unknown output format" in line
    assert not (tmp_path / name).exists()
    assert _table_dirs(lake) == before
    assert list((lake / ".tmp").iterdir()) == []


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("selec 1", "syntax error"),
        ("select * from no_such_table", "no_such_table"),
        ("select no_such_column from patients", "no_such_column"),
        ("select cast('x' as integer)", "Conversion"),
    ],
)
@pytest.mark.parametrize("with_out", [False, True])
def test_main__sql_error_exits_2(
    cli: Callable, lake: Path, tmp_path: Path, query: str, needle: str, with_out: bool
) -> None:
    before = _table_dirs(lake)
    args = ["lake", "sql", query, "--lake", lake]
    if with_out:
        args += ["--out", tmp_path / "failed_query.csv"]
    line = cli(*args).assert_one_error_line(2)
    assert line.startswith("error: query: SQL error: ")
    assert needle in line
    assert not (tmp_path / "failed_query.csv").exists()
    assert _table_dirs(lake) == before


@pytest.mark.parametrize("with_out", [False, True])
def test_main__sql_late_error_exits_2(cli: Callable, lake: Path, tmp_path: Path, with_out: bool) -> None:
    query = "select cast(case when i < 150000 then '1' else 'x' end as integer) as v from range(200000) t(i)"
    args = ["lake", "sql", query, "--lake", lake]
    if with_out:
        args += ["--out", tmp_path / "late.csv"]
    line = cli(*args).assert_one_error_line(2)
    assert line.startswith("error: query: SQL error: ")
    assert not (tmp_path / "late.csv").exists()


def test_main__sql_no_deprecated_duckdb_api(cli: Callable, lake: Path) -> None:
    """No DeprecationWarning from duckdb (fetch_record_batch() was deprecated in duckdb 2)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        result = cli("lake", "sql", "select count(*) from patients", "--lake", lake)
    assert result.code == 0, result.err
    assert list(csv.reader(result.out.splitlines()))[1] == [str(N)]
