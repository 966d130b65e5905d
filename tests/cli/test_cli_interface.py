"""The kept-stable interface of the ``biolake`` command line: commands, lake selection, exit codes.

Expected values come from the files the tests write (row counts, names), never from biolake.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import biolake as bl
import biolake.cli.lake as cli_lake


def _write_csv(path: Path, n: int) -> Path:
    """A CSV of ``n`` data rows (``id,site,age``) written with the csv module."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "site", "age"])
        for i in range(1, n + 1):
            writer.writerow([i, ["Boston", "Lyon", "Osaka"][i % 3], 20 + i % 60])
    return path


def _first_column(text: str) -> list[str]:
    return [line.split()[0] for line in text.splitlines() if line.strip()]


# --------------------------------------------------------------------------- the stable chain


def test_biolake__init_ingest_sql_ls_chain(biolake: Callable, tmp_path: Path) -> None:
    """``biolake lake init && biolake ingest table x.csv --name x && biolake lake sql ... --out n.csv``."""
    n = 137
    _write_csv(tmp_path / "x.csv", n)

    init = biolake("lake", "init")
    assert init.code == 0, init.err
    assert init.out_lines[0] == str((tmp_path / "biolake-lake").resolve())  # ./biolake-lake in the cwd
    assert (tmp_path / "biolake-lake" / "catalog.duckdb").is_file()

    ingest = biolake("ingest", "table", "x.csv", "--name", "x")
    assert ingest.code == 0, ingest.err

    sql = biolake("lake", "sql", "select count(*) from x", "--out", "n.csv")
    assert sql.code == 0, sql.err
    with open(tmp_path / "n.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 2  # header row, then the one result row
    assert len(rows[0]) == 1
    assert rows[1] == [str(n)]

    ls = biolake("lake", "ls")
    assert ls.code == 0, ls.err
    assert ls.err == ""
    names = _first_column(ls.out)
    assert len(names) == len(ls.out_lines) == 2  # one dataset per line
    assert set(names) == {"x", "n"}


def test_biolake__lake_option_and_environment(biolake: Callable, tmp_path: Path) -> None:
    _write_csv(tmp_path / "x.csv", 5)
    env = {"BIOLAKE_LAKE": str(tmp_path / "from_env")}
    from_env = biolake("ingest", "table", "x.csv", "--name", "in_env", env=env)
    assert from_env.code == 0, from_env.err
    before = biolake("--lake", "lake_a", "ingest", "table", "x.csv", "--name", "in_a", env=env)
    assert before.code == 0, before.err
    on_command = biolake("ingest", "table", "x.csv", "--name", "in_b", "--lake", "lake_b")
    assert on_command.code == 0, on_command.err

    assert not (tmp_path / "biolake-lake").exists()
    assert bl.Lake.open(tmp_path / "from_env", create=False).names() == ["in_env"]
    assert bl.Lake.open(tmp_path / "lake_a", create=False).names() == ["in_a"]  # --lake beats $BIOLAKE_LAKE
    assert bl.Lake.open(tmp_path / "lake_b", create=False).names() == ["in_b"]


def test_main__lake_precedence(cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the command > before the command > $BIOLAKE_LAKE > ./biolake-lake."""
    for d in ("cmd", "glob", "env", "biolake-lake"):
        assert cli("lake", "init", "--lake", tmp_path / d).code == 0
    monkeypatch.setenv("BIOLAKE_LAKE", str(tmp_path / "env"))
    assert cli("lake", "init").out_lines[0] == str((tmp_path / "env").resolve())
    assert cli("--lake", "glob", "lake", "init").out_lines[0] == str((tmp_path / "glob").resolve())
    both = cli("--lake", "glob", "lake", "init", "--lake", "cmd")
    assert both.out_lines[0] == str((tmp_path / "cmd").resolve())
    monkeypatch.delenv("BIOLAKE_LAKE")
    # the --lake of the previous command does not stick: the default is ./biolake-lake
    assert cli("lake", "init").out_lines[0] == str((tmp_path / "biolake-lake").resolve())


def test_main__lake_ls_one_dataset_per_line(cli: Callable, tmp_path: Path) -> None:
    names = ["zeta", "alpha_2", "_hidden", "Mixed9"]
    for i, name in enumerate(names):
        _write_csv(tmp_path / f"f{i}.csv", i + 1)
        assert cli("ingest", "table", tmp_path / f"f{i}.csv", "--name", name, "--quiet").code == 0
    ls = cli("lake", "ls")
    assert ls.code == 0
    assert len(ls.out_lines) == len(names)
    assert sorted(_first_column(ls.out)) == sorted(names)


def test_main__lake_ls_empty_lake(cli: Callable) -> None:
    assert cli("lake", "init", "--quiet").code == 0
    ls = cli("lake", "ls")
    assert ls.code == 0
    assert ls.out == ""


def test_main__lake_init_is_idempotent(cli: Callable, tmp_path: Path) -> None:
    _write_csv(tmp_path / "x.csv", 3)
    assert cli("lake", "init").code == 0
    assert cli("ingest", "table", "x.csv", "--name", "x").code == 0
    again = cli("lake", "init")
    assert again.code == 0
    assert _first_column(cli("lake", "ls").out) == ["x"]


def test_main__lake_info_json(cli: Callable, tmp_path: Path) -> None:
    _write_csv(tmp_path / "x.csv", 11)
    assert cli("ingest", "table", "x.csv", "--name", "x").code == 0
    info = cli("lake", "info", "x")
    assert info.code == 0
    data = json.loads(info.out)
    assert data["name"] == "x"
    assert data["n_rows"] == 11
    assert set(data["schema"]) == {"id", "site", "age"}


def test_main__lake_rm(cli: Callable, tmp_path: Path) -> None:
    _write_csv(tmp_path / "x.csv", 3)
    assert cli("ingest", "table", "x.csv", "--name", "x").code == 0
    assert cli("ingest", "table", "x.csv", "--name", "y").code == 0
    # an unknown name: nothing is removed
    cli("lake", "rm", "x", "nope").assert_one_error_line(2)
    assert sorted(_first_column(cli("lake", "ls").out)) == ["x", "y"]
    assert cli("lake", "rm", "x").code == 0
    assert _first_column(cli("lake", "ls").out) == ["y"]


def test_main__lake_sql_prints_csv(cli: Callable, tmp_path: Path) -> None:
    n = 30
    _write_csv(tmp_path / "x.csv", n)
    assert cli("ingest", "table", "x.csv", "--name", "x").code == 0
    result = cli("lake", "sql", "select site, count(*) as n from x group by site order by site")
    assert result.code == 0
    rows = list(csv.reader(result.out.splitlines()))
    expected: dict[str, int] = {}
    for i in range(1, n + 1):
        site = ["Boston", "Lyon", "Osaka"][i % 3]
        expected[site] = expected.get(site, 0) + 1
    assert rows[0] == ["site", "n"]
    assert rows[1:] == [[s, str(c)] for s, c in sorted(expected.items())]


def test_main__version(cli: Callable) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"biolake {bl.__version__}"


# --------------------------------------------------------------------------- exit code 2


def test_biolake__bad_input_exits_2_with_one_line(biolake: Callable, tmp_path: Path) -> None:
    result = biolake("ingest", "table", "missing.csv", "--name", "x")
    line = result.assert_one_error_line(2)
    assert line == "error: missing.csv: no such file"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["ingest", "table", "missing.csv", "--name", "x"], "missing.csv"),
        (["ingest", "table", "data.json", "--name", "x"], "data.json"),
        (["ingest", "table", "x.csv", "--name", "9lives"], "9lives"),
        (["ingest", "table", "x.csv", "--name", "a-b"], "a-b"),
        (["ingest", "table", "x.csv"], "--name"),
        (["ingest", "table", "x.csv", "--name", "x", "--types", "age"], "--types"),
        (["ingest", "table", "x.csv", "--name", "x", "--sample-rows", "0"], "sample_rows"),
        (["ingest", "table", "x.csv", "--name", "x", "--sample-rows", "many"], "--sample-rows"),
        (["ingest", "table", "x.csv", "--name", "x", "--delimiter", ";;"], "delimiter"),
        (["ingest", "nosuchformat", "x.csv"], "nosuchformat"),
        (["frobnicate"], "frobnicate"),
        (["lake", "ls", "--bogus"], "--bogus"),
        (["lake", "info", "nope"], "nope"),
        (["lake", "sql", "select * from nope"], "nope"),
        (["runs", "show", "nope"], "nope"),
    ],
)
def test_main__bad_input_exits_2(cli: Callable, tmp_path: Path, args: list[str], needle: str) -> None:
    _write_csv(tmp_path / "x.csv", 3)
    (tmp_path / "data.json").write_text('{"a": 1}')
    result = cli(*args)
    line = result.assert_one_error_line(2)
    assert needle in line
    assert result.out == ""
    tables = tmp_path / "biolake-lake" / "tables"
    assert not tables.exists() or list(tables.iterdir()) == []  # nothing was written


def test_main__lake_is_a_file(cli: Callable, tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("not a lake")
    line = cli("--lake", "plain", "lake", "ls").assert_one_error_line(2)
    assert "plain" in line


def test_main__lake_dir_not_empty(cli: Callable, tmp_path: Path) -> None:
    d = tmp_path / "stuff"
    d.mkdir()
    (d / "notes.txt").write_text("mine")
    cli("--lake", d, "lake", "init").assert_one_error_line(2)
    assert sorted(p.name for p in d.iterdir()) == ["notes.txt"]


def test_main__no_arguments(cli: Callable) -> None:
    result = cli()
    assert "Usage" in result.out + result.err
    assert result.code in (0, 2)
    assert not any(re.match(r"error:\s*\(see ", line) for line in result.err_lines), result.err


# --------------------------------------------------------------------------- exit code 1


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("something broke\ninside the lake")


def test_main__unexpected_error_exits_1(cli: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_lake, "open_lake", _boom)
    result = cli("lake", "ls")
    line = result.assert_one_error_line(1)
    assert "RuntimeError" in line
    assert "something broke inside the lake" in line
    assert "Traceback" not in result.err


def test_main__unexpected_error_debug_shows_traceback(cli: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_lake, "open_lake", _boom)
    result = cli("--debug", "lake", "ls")
    assert result.code == 1
    assert "Traceback (most recent call last)" in result.err
    assert "_boom" in result.err  # the frame that raised
    assert result.err_lines[-1].startswith("error: ")
    assert "RuntimeError" in result.err_lines[-1]


def test_biolake__unexpected_error_exits_1(biolake: Callable) -> None:
    """The same through a real process: patch the lake command, then run the console entry point."""
    code = (
        "import sys, biolake.cli.lake as m\n"
        "def boom(*a, **k):\n"
        "    raise RuntimeError('patched failure')\n"
        "m.open_lake = boom\n"
        "from biolake.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    result = biolake("lake", "ls", python_args=["-c", code])
    line = result.assert_one_error_line(1)
    assert "RuntimeError: patched failure" in line


def test_main__keyboard_interrupt_exits_130(cli: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_lake, "open_lake", interrupt)
    result = cli("lake", "ls")
    assert result.code == 130
    assert "Traceback" not in result.err
    assert len(result.err_lines) <= 1


def test_main__input_error_from_anywhere_is_one_line(cli: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    def bad(*args: object, **kwargs: object) -> None:
        raise bl.InputError("first line\nsecond line", file="f.csv", line=3)

    monkeypatch.setattr(cli_lake, "open_lake", bad)
    line = cli("lake", "ls").assert_one_error_line(2)
    assert line == "error: f.csv: line 3: first line second line"
