"""``biolake ingest table``: formats, malformed input, types, and nothing partial left behind.

The files are written here (by hand, the csv module, gzip, pandas/pyarrow); expected counts,
sums and line numbers are computed from what was written.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

N_BIG = 60_000
N_TYPED = 40_000


def _row(i: int, sep: str = ",") -> str:
    return sep.join([str(i), str((i * 37) % 1000 - 500), f"n{i}"])


def _lines(n: int, sep: str = ",") -> list[str]:
    return [sep.join(["id", "val", "name"])] + [_row(i, sep) for i in range(1, n + 1)]


def _write(path: Path, lines: list[str]) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def _val_sum(n: int) -> int:
    return sum((i * 37) % 1000 - 500 for i in range(1, n + 1))


def _sql_rows(text: str) -> list[list[str]]:
    return list(csv.reader(text.splitlines()))


def _first_column(text: str) -> list[str]:
    return [line.split()[0] for line in text.splitlines() if line.strip()]


def _assert_lake_clean(cli: Callable, lake: Path, names: set[str]) -> None:
    """``biolake lake ls`` shows exactly ``names``; ``.tmp/`` is empty; no stray table directory."""
    ls = cli("lake", "ls", "--lake", lake)
    assert ls.code == 0, ls.err
    assert set(_first_column(ls.out)) == names
    assert list((lake / ".tmp").iterdir()) == []
    table_dirs = {p.name.split(".", 1)[0] for p in (lake / "tables").iterdir()}
    assert table_dirs == names


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli_big")
    good = _lines(N_BIG)
    too_many = list(good)
    too_many[50_001 - 1] += ",surplus"
    too_few = list(good)
    too_few[50_001 - 1] = "50000,7"
    typed = _lines(N_TYPED)
    typed[30_000 - 1] = "29999,x1,n29999"
    return {
        "too_many": _write(d / "too_many.csv", too_many),
        "too_few": _write(d / "too_few.csv", too_few),
        "type_error": _write(d / "type_error.csv", typed),
    }


# --------------------------------------------------------------------------- malformed rows


def test_biolake__malformed_row_beyond_sample_exits_2(biolake: Callable, cli: Callable, big: dict[str, Path]) -> None:
    path = big["too_many"]
    assert path.read_text().splitlines()[50_001 - 1].endswith(",surplus")
    result = biolake("--lake", "lk", "ingest", "table", path, "--name", "bad")
    line = result.assert_one_error_line(2)
    assert line == f"error: {path}: line 50001: expected 3 fields, found 4"
    _assert_lake_clean(cli, Path("lk").resolve(), set())


@pytest.mark.parametrize(("key", "found"), [("too_few", 2)])
def test_main__malformed_row_beyond_sample_exits_2(
    cli: Callable, tmp_path: Path, big: dict[str, Path], key: str, found: int
) -> None:
    path = big[key]
    line = cli("ingest", "table", path, "--name", "bad", "--lake", "lk").assert_one_error_line(2)
    assert line == f"error: {path}: line 50001: expected 3 fields, found {found}"
    _assert_lake_clean(cli, tmp_path / "lk", set())


@pytest.mark.parametrize(
    ("line_no", "text", "found"),
    [(2, "1,-463,n1,surplus", 4), (17, "16,92", 2), (30, "29,573,n29,a,b,c", 6)],
)
def test_main__malformed_row_in_sample_exits_2(
    cli: Callable, tmp_path: Path, line_no: int, text: str, found: int
) -> None:
    lines = _lines(40)
    lines[line_no - 1] = text
    path = _write(tmp_path / "small bad.csv", lines)
    line = cli("ingest", "table", path.name, "--name", "bad").assert_one_error_line(2)
    assert line == f"error: {path.name}: line {line_no}: expected 3 fields, found {found}"
    _assert_lake_clean(cli, tmp_path / "biolake-lake", set())


def test_main__malformed_row_keeps_existing_dataset(cli: Callable, tmp_path: Path) -> None:
    good = _write(tmp_path / "good.csv", _lines(25))
    assert cli("ingest", "table", good, "--name", "x").code == 0
    lines = _lines(25)
    lines[10 - 1] = "9"
    bad = _write(tmp_path / "bad.csv", lines)
    cli("ingest", "table", bad, "--name", "x").assert_one_error_line(2)
    _assert_lake_clean(cli, tmp_path / "biolake-lake", {"x"})
    rows = _sql_rows(cli("lake", "sql", "select count(*) as n, sum(val) as s from x").out)
    assert rows[1] == [str(25), str(_val_sum(25))]


# --------------------------------------------------------------------------- types


def test_biolake__type_error_beyond_sample_exits_2(biolake: Callable, big: dict[str, Path]) -> None:
    path = big["type_error"]
    assert path.read_text().splitlines()[30_000 - 1] == "29999,x1,n29999"
    result = biolake("ingest", "table", path, "--name", "typed")
    line = result.assert_one_error_line(2)
    assert line.startswith(f"error: {path}: line 30000: ")
    assert "'val'" in line  # the column
    assert "--types val=VARCHAR" in line  # and how to fix it


def test_main__types_option_fixes_type_error(cli: Callable, big: dict[str, Path]) -> None:
    result = cli("ingest", "table", big["type_error"], "--name", "typed", "--types", "val=VARCHAR")
    assert result.code == 0, result.err
    rows = _sql_rows(cli("lake", "sql", "select count(*) as n, max(val) filter (where id = 29999) from typed").out)
    assert rows[1] == [str(N_TYPED), "x1"]
    info = json.loads(cli("lake", "info", "typed").out)
    assert info["schema"]["val"] == "string"


def test_main__sample_rows_whole_file(cli: Callable, big: dict[str, Path]) -> None:
    result = cli("ingest", "table", big["type_error"], "--name", "typed", "--sample-rows", "-1")
    assert result.code == 0, result.err
    rows = _sql_rows(cli("lake", "sql", "select count(*) as n, count(*) filter (where val = 'x1') from typed").out)
    assert rows[1] == [str(N_TYPED), "1"]


def test_main__types_several_columns(cli: Callable, tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", _lines(12))
    assert cli("ingest", "table", path, "--name", "x", "--types", "id=VARCHAR, val=double").code == 0
    schema = json.loads(cli("lake", "info", "x").out)["schema"]
    assert schema["id"] == "string"
    assert schema["val"] == "double"


# --------------------------------------------------------------------------- formats


def _cohort(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "pid": [f"P{i:04d}" for i in range(n)],
            "site": rng.choice(["Boston", "Lyon", "Osaka"], n),
            "age": rng.integers(18, 90, n),
            "ldl": rng.normal(3.3, 0.9, n).round(2),
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".csv.gz", ".tsv.gz", ".parquet"])
def test_main__ingest_formats(cli: Callable, tmp_path: Path, suffix: str) -> None:
    df = _cohort()
    path = tmp_path / f"cohort{suffix}"
    if suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False, sep="\t" if ".tsv" in suffix else ",")  # pandas gzips by extension
        if suffix.endswith(".gz"):
            assert path.read_bytes()[:2] == b"\x1f\x8b"
    result = cli("ingest", "table", path, "--name", "cohort")
    assert result.code == 0, result.err
    assert f"{len(df)} rows" in result.err  # the message for people
    query = "select site, count(*) as n, sum(age) as s, sum(ldl) as l from cohort group by site order by site"
    rows = _sql_rows(cli("lake", "sql", query).out)
    expected = df.groupby("site").agg(n=("age", "size"), s=("age", "sum"), l=("ldl", "sum")).reset_index()
    assert [r[:3] for r in rows[1:]] == [[r.site, str(r.n), str(r.s)] for r in expected.itertuples()]
    assert [float(r[3]) for r in rows[1:]] == pytest.approx(expected["l"].tolist(), rel=1e-12)


def test_main__ingest_quiet(cli: Callable, tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", _lines(3))
    result = cli("ingest", "table", path, "--name", "x", "--quiet")
    assert (result.code, result.out, result.err) == (0, "", "")
    result = cli("--quiet", "ingest", "table", path, "--name", "y")
    assert (result.code, result.out, result.err) == (0, "", "")


def test_main__ingest_delimiter(cli: Callable, tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("a;b\n1;x,y\n2;z\n")
    assert cli("ingest", "table", path, "--name", "semicolon", "--delimiter", ";").code == 0
    assert _sql_rows(cli("lake", "sql", "select * from semicolon order by a").out) == [
        ["a", "b"],
        ["1", "x,y"],
        ["2", "z"],
    ]


def test_main__ingest_quoted_fields(cli: Callable, tmp_path: Path) -> None:
    records = [["1", "a,b", 'say "hi"'], ["2", "line1\nline2", "x"], ["3", "tab\there", "y"]]
    path = tmp_path / "quoted.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "s", "t"])
        writer.writerows(records)
    assert cli("ingest", "table", path, "--name", "q").code == 0
    out = cli("lake", "sql", "select * from q order by id").out
    assert list(csv.reader(out.splitlines(keepends=True))) == [["id", "s", "t"], *records]


def test_main__ingest_header_only(cli: Callable, tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("gene,log2fc,padj\n")
    result = cli("ingest", "table", path, "--name", "h")
    assert result.code == 0, result.err
    assert _sql_rows(cli("lake", "sql", "select * from h").out) == [["gene", "log2fc", "padj"]]
    assert _sql_rows(cli("lake", "sql", "select count(*) from h").out)[1] == ["0"]


def test_main__ingest_empty_file_exits_2(cli: Callable, tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    line = cli("ingest", "table", "empty.csv", "--name", "e").assert_one_error_line(2)
    assert "empty.csv" in line
    _assert_lake_clean(cli, tmp_path / "biolake-lake", set())


def test_main__ingest_duplicate_columns_exits_2(cli: Callable, tmp_path: Path) -> None:
    (tmp_path / "dup.csv").write_text("a,b,a\n1,2,3\n")
    line = cli("ingest", "table", "dup.csv", "--name", "dup").assert_one_error_line(2)
    assert "line 1" in line
    assert "'a'" in line


def test_main__ingest_last_line_too_many_fields_exits_2(cli: Callable, tmp_path: Path) -> None:
    lines = _lines(30)
    lines[-1] += ",surplus"
    _write(tmp_path / "last.csv", lines)
    line = cli("ingest", "table", "last.csv", "--name", "last").assert_one_error_line(2)
    assert line == "error: last.csv: line 31: expected 3 fields, found 4"


@pytest.mark.parametrize(
    ("file", "name", "needle"),
    [
        ("data.xlsx", "x", "unknown table format '.xlsx'"),
        ("noext", "x", "unknown table format"),
        ("missing.csv", "x", "missing.csv: no such file"),
        ("x.csv", "bad-name", "invalid dataset name 'bad-name'"),
        ("x.csv", "runs", "invalid dataset name 'runs'"),
    ],
)
def test_main__ingest_bad_arguments_exit_2(cli: Callable, tmp_path: Path, file: str, name: str, needle: str) -> None:
    _write(tmp_path / "x.csv", _lines(3))
    _write(tmp_path / "data.xlsx", _lines(3))
    _write(tmp_path / "noext", _lines(3))
    line = cli("ingest", "table", file, "--name", name).assert_one_error_line(2)
    assert needle in line
    _assert_lake_clean(cli, tmp_path / "biolake-lake", set())


def test_main__reingest_replaces(cli: Callable, tmp_path: Path) -> None:
    first = _write(tmp_path / "first.csv", _lines(20))
    second = tmp_path / "second.csv"
    second.write_text("gene,score\nBRCA1,1.5\nTP53,2.5\n")
    assert cli("ingest", "table", first, "--name", "x").code == 0
    old_path = Path(json.loads(cli("lake", "info", "x").out)["path"])
    assert old_path.is_dir()
    assert cli("ingest", "table", second, "--name", "x").code == 0
    new = json.loads(cli("lake", "info", "x").out)
    assert not old_path.exists()
    assert Path(new["path"]).is_dir()
    assert new["n_rows"] == 2
    assert new["source_hash"] == "sha256:" + hashlib.sha256(second.read_bytes()).hexdigest()
    _assert_lake_clean(cli, tmp_path / "biolake-lake", {"x"})
    assert _sql_rows(cli("lake", "sql", "select * from x order by gene").out) == [
        ["gene", "score"],
        ["BRCA1", "1.5"],
        ["TP53", "2.5"],
    ]


def test_main__source_hash_in_catalog(cli: Callable, tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv.gz", _lines(500))
    expected = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert cli("ingest", "table", path, "--name", "x").code == 0
    info = json.loads(cli("lake", "info", "x").out)
    assert info["source_hash"] == expected
    assert info["source"] == str(path.resolve())


def test_main__ingest_message_names_rows_and_run(cli: Callable, tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", _lines(77))
    result = cli("ingest", "table", path, "--name", "x")
    assert result.code == 0
    assert result.out == ""  # stdout is kept for results
    m = re.fullmatch(r"ingested x: 77 rows, 3 columns \(run (\S+)\)", result.err.strip())
    assert m is not None, result.err
    assert m.group(1) in cli("runs", "ls").out
