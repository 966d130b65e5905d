"""Tests of the table ingest, ``biolake.io.ingest_table`` (CSV/TSV, gzip, Parquet → lake).

Every expected value is computed here, from the rows the tests write (by hand, with the
standard library, or with pandas/pyarrow), never read back from biolake.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import biolake as bl
from biolake.errors import InputError
from biolake.io import TABLE_FORMATS, ingest_table, table_format

N_BIG = 60_000  # data rows of the "big" files: well beyond the 20,480-row type-inference sample
HEADER = ["id", "val", "name"]


# --------------------------------------------------------------------------- helpers


def _row(i: int) -> list[str]:
    """Data row ``i`` (1-based) of the generated files: integer id and value, a string."""
    return [str(i), str((i * 37) % 1000 - 500), f"n{i}"]


def _lines(n: int, sep: str = ",") -> list[str]:
    """Header line then ``n`` data lines (line k of the file is ``lines[k - 1]``)."""
    return [sep.join(HEADER)] + [sep.join(_row(i)) for i in range(1, n + 1)]


def _write(path: Path, lines: list[str]) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_nothing_left(lake: bl.Lake, before: set[str]) -> None:
    """The same datasets as ``before``, no staging dir, no table dir the catalog does not name."""
    assert set(lake.names()) == before
    assert list(lake.tmp_dir.iterdir()) == []
    referenced = {info.path.name for info in lake.datasets()}
    on_disk = {p.name for p in lake.tables_dir.iterdir()}
    assert on_disk == referenced


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> bl.Lake:
    """One lake for the module (opening a lake costs a few tenths of a second); tests use own names."""
    return bl.Lake.open(tmp_path_factory.mktemp("lake") / "lake")


@pytest.fixture
def fresh_lake(tmp_path: Path) -> bl.Lake:
    return bl.Lake.open(tmp_path / "lake")


@pytest.fixture
def ds(request: pytest.FixtureRequest) -> str:
    """A dataset name unique to the test."""
    return "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]


@pytest.fixture
def before(lake: bl.Lake) -> set[str]:
    """The dataset names of the shared lake when the test starts."""
    return set(lake.names())


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generated files of N_BIG rows (and variants with one bad line), written once per module."""
    d = tmp_path_factory.mktemp("big")
    good = _lines(N_BIG)
    files = {"good": _write(d / "good.csv", good)}

    too_many = list(good)
    too_many[50_001 - 1] = too_many[50_001 - 1] + ",surplus"
    files["too_many"] = _write(d / "too_many.csv", too_many)

    too_few = list(good)
    too_few[50_001 - 1] = "50000,7"
    files["too_few"] = _write(d / "too_few.csv", too_few)

    files["too_many_gz"] = _write(d / "too_many.csv.gz", too_many)

    tsv_few = [line.replace(",", "\t") for line in too_few]
    files["too_few_tsv_gz"] = _write(d / "too_few.tsv.gz", tsv_few)

    typed = _lines(40_000)
    typed[30_000 - 1] = "29999,x1,n29999"
    files["type_error"] = _write(d / "type_error.csv", typed)

    # a quoted field with a line break early on: physical lines and records part ways
    multi = list(good)
    multi[6 - 1] = '5,-315,"two\nlines"'
    multi[50_001 - 1] = multi[50_001 - 1] + ",surplus"
    files["multiline_far"] = _write(d / "multiline_far.csv", multi)
    return files


# --------------------------------------------------------------------------- table_format


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.csv", ("csv", ",")),
        ("a.CSV", ("csv", ",")),
        ("a.csv.gz", ("csv", ",")),
        ("a.tsv", ("csv", "\t")),
        ("a.tsv.gz", ("csv", "\t")),
        ("a.txt", ("csv", "\t")),
        ("a.tab", ("csv", "\t")),
        ("dir.v2/a.parquet", ("parquet", None)),
        ("a.pq", ("parquet", None)),
    ],
)
def test_table_format__by_extension(name: str, expected: tuple[str, str | None]) -> None:
    assert table_format(name) == expected


@pytest.mark.parametrize("name", ["a.json", "a.xlsx", "a", "a.gz", "a.csv.bz2"])
def test_table_format__unknown_extension(name: str) -> None:
    with pytest.raises(InputError) as ei:
        table_format(name)
    assert ei.value.file == name
    assert "unknown table format" in str(ei.value)


def test_table_formats__documented_extensions() -> None:
    assert {".csv", ".tsv", ".txt", ".parquet"} <= set(TABLE_FORMATS)


# --------------------------------------------------------------------------- good input


def test_ingest_table__csv_values_equal_pandas(lake: bl.Lake, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 1_000
    df = pd.DataFrame(
        {
            "patient_id": [f"P{i:04d}" for i in range(n)],
            "site": rng.choice(["Boston", "Lyon", "Osaka"], n),
            "age": rng.integers(18, 95, n),
            "bmi": rng.normal(27.5, 4.0, n).round(2),
            "smoker": rng.random(n) < 0.2,
        }
    )
    path = tmp_path / "patients.csv"
    df.to_csv(path, index=False)

    info = ingest_table(lake, path, name="patients")

    assert info.name == "patients"
    assert info.kind == "table"
    assert info.n_rows == n
    assert set(info.schema) == set(df.columns)
    got = lake.to_pandas("patients")
    assert list(got.columns) == list(df.columns)
    assert got["patient_id"].tolist() == df["patient_id"].tolist()
    assert got["site"].tolist() == df["site"].tolist()
    assert got["age"].astype("int64").tolist() == df["age"].tolist()
    np.testing.assert_allclose(got["bmi"].astype(float).to_numpy(), df["bmi"].to_numpy())
    assert got["smoker"].astype(bool).tolist() == df["smoker"].tolist()
    # and through SQL
    by_site = lake.sql("select site, count(*) as n, sum(age) as s from patients group by site order by site")
    expected = df.groupby("site").agg(n=("age", "size"), s=("age", "sum")).reset_index()
    assert by_site["site"].tolist() == expected["site"].tolist()
    assert by_site["n"].astype(int).tolist() == expected["n"].tolist()
    assert by_site["s"].astype(int).tolist() == expected["s"].tolist()


def test_ingest_table__big_csv_all_rows(lake: bl.Lake, big: dict[str, Path]) -> None:
    info = ingest_table(lake, big["good"], name="good")
    assert info.n_rows == N_BIG
    stats = lake.sql("select count(*) as n, sum(val) as s, max(id) as m from good")
    assert int(stats["n"][0]) == N_BIG
    assert int(stats["s"][0]) == sum(int(_row(i)[1]) for i in range(1, N_BIG + 1))
    assert int(stats["m"][0]) == N_BIG
    assert lake.info("good").source_hash == _sha256(big["good"])


def test_ingest_table__tsv(lake: bl.Lake, tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("gene\tcount\tnote\nBRCA1\t12\ta,b\nTP53\t7\tc;d\n")
    info = ingest_table(lake, path, name="t_tsv")
    assert info.n_rows == 2
    got = lake.to_pandas("t_tsv")
    assert got["gene"].tolist() == ["BRCA1", "TP53"]
    assert got["count"].astype(int).tolist() == [12, 7]
    assert got["note"].tolist() == ["a,b", "c;d"]  # commas are data in a TSV


def test_ingest_table__txt_is_tab_separated(lake: bl.Lake, tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("a\tb\n1\tx,y\n")
    ingest_table(lake, path, name="t_txt")
    assert lake.to_pandas("t_txt")["b"].tolist() == ["x,y"]


@pytest.mark.parametrize(("suffix", "sep"), [(".csv.gz", ","), (".tsv.gz", "\t")])
def test_ingest_table__gzip(lake: bl.Lake, tmp_path: Path, suffix: str, sep: str, ds: str) -> None:
    n = 2_500
    path = _write(tmp_path / f"z{suffix}", _lines(n, sep))
    assert path.read_bytes()[:2] == b"\x1f\x8b"  # really gzip
    info = ingest_table(lake, path, name=ds)
    assert info.n_rows == n
    stats = lake.sql(f"select sum(val) as s, count(distinct name) as d from {ds}")
    assert int(stats["s"][0]) == sum(int(_row(i)[1]) for i in range(1, n + 1))
    assert int(stats["d"][0]) == n
    assert info.source_hash == _sha256(path)  # the hash of the file as given (compressed bytes)


def test_ingest_table__parquet(lake: bl.Lake, tmp_path: Path) -> None:
    import datetime as dt

    table = pa.table(
        {
            "i": pa.array([1, None, 3, 4], pa.int64()),
            "f": pa.array([0.5, 1.5, None, -2.25]),
            "s": pa.array(["a", None, "", "d,e"]),
            "b": pa.array([True, False, None, True]),
            "d": pa.array([dt.date(2024, 1, 1), None, dt.date(2024, 12, 31), dt.date(1999, 2, 28)]),
        }
    )
    path = tmp_path / "in.parquet"
    pq.write_table(table, path)
    info = ingest_table(lake, path, name="pq_in")
    assert info.n_rows == 4
    got = lake.read_table("pq_in")
    assert got.column_names == table.column_names
    assert got.to_pylist() == table.to_pylist()


def test_ingest_table__parquet_pq_extension(lake: bl.Lake, tmp_path: Path) -> None:
    df = pd.DataFrame({"x": np.arange(10), "y": np.arange(10) * 0.5})
    path = tmp_path / "in.pq"
    df.to_parquet(path, index=False)
    info = ingest_table(lake, path, name="pq2")
    assert info.n_rows == 10
    assert float(lake.sql("select sum(y) as s from pq2")["s"][0]) == pytest.approx(df["y"].sum())


def test_ingest_table__explicit_delimiter(lake: bl.Lake, tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("a;b\n1;x,y\n2;z\n")
    ingest_table(lake, path, name="semi", delimiter=";")
    got = lake.to_pandas("semi")
    assert got["a"].astype(int).tolist() == [1, 2]
    assert got["b"].tolist() == ["x,y", "z"]


def test_ingest_table__delimiter_spelled_backslash_t(lake: bl.Lake, tmp_path: Path) -> None:
    path = tmp_path / "tabs.csv"
    path.write_text("a\tb\n1\tx\n")
    ingest_table(lake, path, name="tabs", delimiter="\\t")
    assert list(lake.to_pandas("tabs").columns) == ["a", "b"]


def test_ingest_table__quoted_fields(lake: bl.Lake, tmp_path: Path) -> None:
    values = [
        ("1", "a,b", 'say "hi"'),
        ("2", "line1\nline2", "plain"),
        ("3", '"quoted", and, commas', "x\r\ny"),
        ("4", "", "tail"),
    ]
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(["id", "s", "t"])
    writer.writerows(values)
    path = tmp_path / "quoted.csv"
    path.write_text(buf.getvalue(), newline="")
    # the file really holds quoted delimiters, doubled quotes and a line break inside a field
    raw = path.read_text()
    assert '"a,b"' in raw
    assert '""hi""' in raw
    assert '"line1\nline2"' in raw

    info = ingest_table(lake, path, name="quoted")
    assert info.n_rows == len(values)
    got = lake.to_pandas("quoted")
    assert got["s"].tolist()[:3] == [v[1] for v in values[:3]]
    assert got["t"].tolist() == [v[2] for v in values]


def test_ingest_table__unquoted_empty_field_is_null(lake: bl.Lake, tmp_path: Path) -> None:
    path = tmp_path / "nulls.csv"
    path.write_text("id,s,n\n1,,\n2,x,5\n")
    ingest_table(lake, path, name="nulls")
    got = lake.sql("select id, s is null as s_null, n is null as n_null from nulls order by id")
    assert got["s_null"].tolist() == [True, False]
    assert got["n_null"].tolist() == [True, False]


def test_ingest_table__quoted_empty_string_is_empty_string(lake: bl.Lake, tmp_path: Path) -> None:
    path = tmp_path / "empty_vs_null.csv"
    path.write_text('id,s\n1,""\n2,\n3,x\n')
    ingest_table(lake, path, name="evn")
    got = lake.sql("select id, s, s is null as s_null from evn order by id")
    assert got["s_null"].tolist() == [False, True, False]
    assert got["s"][0] == ""


def test_ingest_table__crlf_line_endings(lake: bl.Lake, tmp_path: Path) -> None:
    path = tmp_path / "crlf.csv"
    path.write_bytes(b"a,b\r\n1,x\r\n2,y\r\n")
    ingest_table(lake, path, name="crlf")
    got = lake.to_pandas("crlf")
    assert got["b"].tolist() == ["x", "y"]


def test_ingest_table__no_final_newline(lake: bl.Lake, tmp_path: Path) -> None:
    path = tmp_path / "nonl.csv"
    path.write_bytes(b"a,b\n1,x\n2,y")
    assert ingest_table(lake, path, name="nonl").n_rows == 2


def test_ingest_table__path_with_quote_and_space(lake: bl.Lake, tmp_path: Path) -> None:
    path = tmp_path / "it's a file.csv"
    path.write_text("a,b\n1,x\n2,y\n3,z\n")
    info = ingest_table(lake, path, name="quoted_path")
    assert info.n_rows == 3
    assert info.source_hash == _sha256(path)


def test_ingest_table__header_only(lake: bl.Lake, tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("alpha,beta,gamma\n")
    info = ingest_table(lake, path, name="header_only")
    assert info.n_rows == 0
    assert set(info.schema) == {"alpha", "beta", "gamma"}
    got = lake.to_pandas("header_only")
    assert list(got.columns) == ["alpha", "beta", "gamma"]
    assert len(got) == 0
    assert int(lake.sql("select count(*) as n from header_only")["n"][0]) == 0


def test_ingest_table__empty_file(lake: bl.Lake, tmp_path: Path, before: set[str]) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="empty")
    assert ei.value.file == str(path)
    _assert_nothing_left(lake, before)


def test_ingest_table__duplicate_column_names(lake: bl.Lake, tmp_path: Path, before: set[str]) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n4,5,6\n")
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="dup")
    assert ei.value.line == 1
    assert "'a'" in str(ei.value)
    _assert_nothing_left(lake, before)


def test_ingest_table__duplicate_column_names_no_column_lost(lake: bl.Lake, tmp_path: Path, before: set[str]) -> None:
    """Whatever is done with duplicate names, no column and no value may be lost."""
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n4,5,6\n")
    try:
        info = ingest_table(lake, path, name="dup2")
    except InputError as exc:
        assert exc.line == 1
        _assert_nothing_left(lake, before)
        return
    assert info.n_rows == 2
    assert len(info.schema) == 3
    got = lake.to_pandas("dup2")
    assert sorted(int(v) for v in got.to_numpy().ravel()) == [1, 2, 3, 4, 5, 6]


# --------------------------------------------------------------------------- bad arguments


def test_ingest_table__unknown_extension(lake: bl.Lake, tmp_path: Path, before: set[str]) -> None:
    path = tmp_path / "data.json"
    path.write_text("a,b\n1,2\n")
    n_runs = len(lake.runs())
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="j")
    assert ei.value.file == str(path)
    assert "'.json'" in str(ei.value)
    assert set(lake.names()) == before
    assert len(lake.runs()) == n_runs  # refused before any run started


def test_ingest_table__missing_file(lake: bl.Lake, tmp_path: Path, before: set[str]) -> None:
    path = tmp_path / "nope.csv"
    n_runs = len(lake.runs())
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="nope")
    assert ei.value.file == str(path)
    assert "no such file" in str(ei.value)
    assert set(lake.names()) == before
    assert len(lake.runs()) == n_runs  # refused before any run started


def test_ingest_table__directory_is_not_a_file(lake: bl.Lake, tmp_path: Path) -> None:
    d = tmp_path / "dir.csv"
    d.mkdir()
    with pytest.raises(InputError):
        ingest_table(lake, d, name="d")


@pytest.mark.parametrize("name", ["1abc", "a-b", "a b", "", "x" * 129, "../evil", "runs", "Datasets", "lake:x"])
def test_ingest_table__bad_dataset_name(lake: bl.Lake, tmp_path: Path, name: str, before: set[str]) -> None:
    path = _write(tmp_path / "x.csv", _lines(3))
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name=name)
    assert "invalid dataset name" in str(ei.value)
    assert set(lake.names()) == before
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize("name", ["_x", "A1", "x" * 128, "patients_2024"])
def test_ingest_table__good_dataset_name(lake: bl.Lake, tmp_path: Path, name: str) -> None:
    path = _write(tmp_path / "x.csv", _lines(3))
    assert ingest_table(lake, path, name=name).name == name
    assert name in lake.names()


@pytest.mark.parametrize("sample_rows", [0, -2, -20_480])
def test_ingest_table__bad_sample_rows(lake: bl.Lake, tmp_path: Path, sample_rows: int) -> None:
    path = _write(tmp_path / "x.csv", _lines(3))
    with pytest.raises(InputError, match="sample_rows"):
        ingest_table(lake, path, name="x", sample_rows=sample_rows)


@pytest.mark.parametrize("delimiter", [";;", ""])
def test_ingest_table__bad_delimiter(lake: bl.Lake, tmp_path: Path, delimiter: str) -> None:
    path = _write(tmp_path / "x.csv", _lines(3))
    with pytest.raises(InputError, match="delimiter"):
        ingest_table(lake, path, name="x", delimiter=delimiter)


@pytest.mark.parametrize("typ", ["INT'); DROP TABLE x; --", "1NT", ""])
def test_ingest_table__bad_type_spelling(lake: bl.Lake, tmp_path: Path, typ: str, before: set[str]) -> None:
    path = _write(tmp_path / "x.csv", _lines(3))
    with pytest.raises(InputError, match="types"):
        ingest_table(lake, path, name="x", types={"val": typ})
    assert set(lake.names()) == before


def test_ingest_table__unknown_type_name(lake: bl.Lake, tmp_path: Path, before: set[str]) -> None:
    path = _write(tmp_path / "x.csv", _lines(3))
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="x", types={"val": "NOTATYPE"})
    assert ei.value.file == str(path)
    _assert_nothing_left(lake, before)


def test_ingest_table__types_for_unknown_column(lake: bl.Lake, tmp_path: Path, before: set[str]) -> None:
    path = _write(tmp_path / "x.csv", _lines(3))
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="x", types={"nocol": "VARCHAR"})
    assert "nocol" in str(ei.value)
    _assert_nothing_left(lake, before)


# --------------------------------------------------------------------------- malformed rows


@pytest.mark.parametrize(
    ("line", "text", "expected", "found"),
    [
        (2, "1,-463,n1,surplus", 3, 4),
        (11, "10,-130,n10,surplus,more", 3, 5),
        (11, "10,-130", 3, 2),
        (50, "49", 3, 1),
        (101, "100,0", 3, 2),  # the last line, too few fields
    ],
)
def test_ingest_table__malformed_row_small_file(
    lake: bl.Lake, tmp_path: Path, line: int, text: str, expected: int, found: int, before: set[str]
) -> None:
    lines = _lines(100)
    lines[line - 1] = text
    path = _write(tmp_path / "bad.csv", lines)
    assert path.read_text().splitlines()[line - 1] == text
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="bad")
    err = ei.value
    assert err.file == str(path)
    assert err.line == line
    assert f"expected {expected} fields, found {found}" in str(err)
    assert "\n" not in err.one_line()
    _assert_nothing_left(lake, before)


@pytest.mark.parametrize("n", [2, 100])
def test_ingest_table__malformed_last_line_too_many_fields(
    lake: bl.Lake, tmp_path: Path, n: int, before: set[str]
) -> None:
    lines = _lines(n)
    lines[-1] = lines[-1] + ",surplus"
    path = _write(tmp_path / "bad_last.csv", lines)
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="bad_last")
    assert ei.value.line == n + 1
    assert "expected 3 fields, found 4" in str(ei.value)
    _assert_nothing_left(lake, before)


@pytest.mark.parametrize(
    ("key", "found"),
    [("too_many", 4), ("too_few", 2), ("too_many_gz", 4), ("too_few_tsv_gz", 2)],
)
def test_ingest_table__malformed_row_beyond_sample(
    lake: bl.Lake, big: dict[str, Path], key: str, found: int, before: set[str]
) -> None:
    path = big[key]
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="bad_big")
    err = ei.value
    assert err.file == str(path)
    assert err.line == 50_001
    assert f"expected 3 fields, found {found}" in str(err)
    assert err.one_line().startswith(f"error: {path}: line 50001: ")
    _assert_nothing_left(lake, before)


def test_ingest_table__multiline_field_then_malformed_row_small_file(lake: bl.Lake, tmp_path: Path) -> None:
    lines = _lines(100)
    lines[6 - 1] = '5,-315,"two\nlines"'  # record 6 spans lines 6-7 of the file
    lines[51 - 1] = lines[51 - 1] + ",surplus"  # the 51st record: on line 52 of the file
    path = _write(tmp_path / "multi.csv", lines)
    physical = [i + 1 for i, text in enumerate(path.read_text().splitlines()) if text.endswith(",surplus")]
    assert physical == [52]
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="multi")
    assert ei.value.line == 52


def test_ingest_table__multiline_field_then_malformed_row_beyond_sample(lake: bl.Lake, big: dict[str, Path]) -> None:
    path = big["multiline_far"]
    physical = [i + 1 for i, text in enumerate(path.read_text().splitlines()) if text.endswith(",surplus")]
    assert physical == [50_002]
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="multi")
    assert ei.value.line == 50_002


def test_ingest_table__unterminated_quote(lake: bl.Lake, tmp_path: Path, before: set[str]) -> None:
    lines = _lines(100)
    lines[21 - 1] = '20,-240,"never closed'
    path = _write(tmp_path / "unterminated.csv", lines)
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="u")
    assert ei.value.file == str(path)
    assert ei.value.line is not None
    _assert_nothing_left(lake, before)


def test_ingest_table__not_utf8(lake: bl.Lake, tmp_path: Path, before: set[str]) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,b\n1,café\n".encode("latin-1"))
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="latin")
    assert ei.value.file == str(path)
    _assert_nothing_left(lake, before)


def test_ingest_table__corrupt_parquet(lake: bl.Lake, tmp_path: Path, before: set[str]) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="broken")
    assert ei.value.file == str(path)
    assert "\n" not in str(ei.value)
    _assert_nothing_left(lake, before)


def test_ingest_table__csv_named_parquet(lake: bl.Lake, tmp_path: Path, before: set[str]) -> None:
    path = tmp_path / "really_csv.parquet"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError):
        ingest_table(lake, path, name="r")
    _assert_nothing_left(lake, before)


# --------------------------------------------------------------------------- types


def test_ingest_table__type_error_beyond_sample(lake: bl.Lake, big: dict[str, Path], before: set[str]) -> None:
    path = big["type_error"]
    assert path.read_text().splitlines()[30_000 - 1] == "29999,x1,n29999"
    with pytest.raises(InputError) as ei:
        ingest_table(lake, path, name="typed")
    err = ei.value
    assert err.file == str(path)
    assert err.line == 30_000
    assert "'val'" in str(err)
    assert '"x1"' in str(err)
    assert "\n" not in err.one_line()
    _assert_nothing_left(lake, before)


def test_ingest_table__types_override(lake: bl.Lake, big: dict[str, Path]) -> None:
    info = ingest_table(lake, big["type_error"], name="typed_override", types={"val": "VARCHAR"})
    assert info.n_rows == 40_000
    assert info.schema["val"] == "string"
    assert info.schema["id"] == "int64"
    got = lake.sql("select val from typed_override where id = 29999")
    assert got["val"].tolist() == ["x1"]


def test_ingest_table__sample_rows_whole_file(lake: bl.Lake, big: dict[str, Path]) -> None:
    info = ingest_table(lake, big["type_error"], name="typed_whole", sample_rows=-1)
    assert info.n_rows == 40_000
    assert info.schema["val"] == "string"  # the whole file was seen: "x1" is not a number
    got = lake.sql("select count(*) as n from typed_whole where val = 'x1'")
    assert int(got["n"][0]) == 1


def test_ingest_table__types_double(lake: bl.Lake, tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", _lines(10))
    info = ingest_table(lake, path, name="x_double", types={"val": "DOUBLE"})
    assert info.schema["val"] == "double"
    s = float(lake.sql("select sum(val) as s from x_double")["s"][0])
    assert s == pytest.approx(sum(float(_row(i)[1]) for i in range(1, 11)))


# --------------------------------------------------------------------------- provenance


def test_ingest_table__source_hash_and_source(lake: bl.Lake, tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", _lines(50))
    info = ingest_table(lake, path, name="x_hash")
    expected = _sha256(path)
    assert info.source_hash == expected
    assert lake.info("x_hash").source_hash == expected
    assert lake.info("x_hash").source == str(path.resolve())


def test_ingest_table__run_record(lake: bl.Lake, tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", _lines(20))
    info = ingest_table(lake, path, name="x_run")
    run = lake.run_record(info.run_id)
    assert run.status == "ok"
    assert run.command == "ingest table"
    assert run.outputs == ["x_run"]
    assert run.params["name"] == "x_run"
    assert len(run.inputs) == 1
    assert run.inputs[0]["hash"] == _sha256(path)
    assert run.inputs[0]["bytes"] == path.stat().st_size


def test_ingest_table__failed_run_recorded(lake: bl.Lake, tmp_path: Path) -> None:
    lines = _lines(100)
    lines[11 - 1] = "10"
    path = _write(tmp_path / "bad.csv", lines)
    old_ids = {r.id for r in lake.runs()}
    with pytest.raises(InputError):
        ingest_table(lake, path, name="bad")
    runs = [r for r in lake.runs() if r.id not in old_ids]
    assert len(runs) == 1
    assert runs[0].status == "failed"
    assert runs[0].command == "ingest table"
    assert runs[0].outputs == []
    assert runs[0].error is not None
    assert "line 11" in runs[0].error


def test_ingest_table__reingest_replaces(lake: bl.Lake, tmp_path: Path) -> None:
    first = _write(tmp_path / "first.csv", _lines(10))
    second = tmp_path / "second.csv"
    second.write_text("other,cols\nx,1\ny,2\nz,3\n")

    old = ingest_table(lake, first, name="re_x")
    assert old.path.is_dir()
    new = ingest_table(lake, second, name="re_x")

    assert "re_x" in lake.names()
    assert new.n_rows == 3
    assert set(new.schema) == {"other", "cols"}
    assert new.path != old.path
    assert not old.path.exists()  # the old data directory is gone
    assert [p.name for p in lake.tables_dir.iterdir() if p.name.startswith("re_x.")] == [new.path.name]
    assert lake.to_pandas("re_x")["other"].tolist() == ["x", "y", "z"]
    assert lake.info("re_x").source_hash == _sha256(second)


def test_ingest_table__failed_reingest_keeps_old(lake: bl.Lake, tmp_path: Path, before: set[str]) -> None:
    first = _write(tmp_path / "first.csv", _lines(10))
    old = ingest_table(lake, first, name="keep_x")
    lines = _lines(100)
    lines[31 - 1] = "30,1,n30,surplus"
    bad = _write(tmp_path / "bad.csv", lines)
    with pytest.raises(InputError):
        ingest_table(lake, bad, name="keep_x")
    info = lake.info("keep_x")
    assert info.path == old.path
    assert info.n_rows == 10
    assert info.source_hash == _sha256(first)
    _assert_nothing_left(lake, before | {"keep_x"})
    assert int(lake.sql("select count(*) as n from keep_x")["n"][0]) == 10


def test_ingest_table__batches_cover_all_rows(lake: bl.Lake, big: dict[str, Path]) -> None:
    ingest_table(lake, big["good"], name="good_batches")
    total = 0
    ids_sum = 0
    for batch in lake.iter_batches("good_batches", batch_size=10_000):
        assert batch.num_rows <= 10_000
        total += batch.num_rows
        ids_sum += int(pc.sum(batch.column("id")).as_py())
    assert total == N_BIG
    assert ids_sum == N_BIG * (N_BIG + 1) // 2


def test_ingest_table__float_values_exact(lake: bl.Lake, tmp_path: Path) -> None:
    values = [0.1, 1e-300, 123456.789, -0.0, 2.5e10]
    path = tmp_path / "f.csv"
    path.write_text("x\n" + "\n".join(repr(v) for v in values) + "\n")
    ingest_table(lake, path, name="f")
    got = lake.to_pandas("f")["x"].astype(float).tolist()
    assert got == values
    assert math.copysign(1.0, got[3]) == -1.0


def test_ingest_table__copy_of_lake_table(tmp_path):
    lake = bl.Lake.open(tmp_path / "lake")
    csv_path = tmp_path / "src.csv"
    csv_path.write_text("a,b\n1,x\n2,y\n3,z\n")
    ingest_table(lake, csv_path, name="src")
    info = ingest_table(lake, "lake:src", name="copy")
    assert info.n_rows == 3
    assert lake.to_pandas("copy")["b"].tolist() == ["x", "y", "z"]
    assert lake.run_record(info.run_id).inputs[0]["spec"] == "lake:src"
    with pytest.raises(InputError, match="no dataset named 'nope'"):
        ingest_table(lake, "lake:nope", name="other")
