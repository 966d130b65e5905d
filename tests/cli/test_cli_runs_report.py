"""``biolake runs ls|show``, ``biolake report`` and ``biolake demo``.

Hashes are computed here with hashlib from the bytes of the files the tests write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest


class _Links(HTMLParser):
    """Every ``src``/``href`` attribute of a page (script bodies are not markup)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("src", "href") and value is not None:
                self.urls.append((tag, key, value))


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _write_cohort(path: Path, n: int, *, bad_line: int | None = None) -> Path:
    lines = ["visit_id,site,age,weight"]
    for i in range(1, n + 1):
        lines.append(f"{i},{['Boston', 'Lyon'][i % 2]},{20 + i % 50},{60 + (i * 7) % 40}.5")
    if bad_line is not None:
        lines[bad_line - 1] = lines[bad_line - 1] + ",surplus"
    path.write_text("\n".join(lines) + "\n")
    return path


def _runs(cli: Callable) -> list[list[str]]:
    result = cli("runs", "ls")
    assert result.code == 0, result.err
    return [line.split() for line in result.out_lines if line.strip()]


# --------------------------------------------------------------------------- runs


def test_main__runs_ls_and_show_after_ingest(cli: Callable, tmp_path: Path) -> None:
    path = _write_cohort(tmp_path / "visits.csv", 40)
    assert cli("ingest", "table", path, "--name", "cohort_visits").code == 0
    runs = _runs(cli)
    assert len(runs) == 1
    run_id, status, *rest = runs[0]
    assert status == "ok"
    assert rest[:2] == ["ingest", "table"]
    assert rest[-1] == "cohort_visits"  # outputs last

    shown = cli("runs", "show", run_id)
    assert shown.code == 0, shown.err
    record = json.loads(shown.out)
    assert record["id"] == run_id
    assert record["status"] == "ok"
    assert record["command"] == "ingest table"
    assert record["outputs"] == ["cohort_visits"]
    assert record["params"]["name"] == "cohort_visits"
    assert len(record["inputs"]) == 1
    assert record["inputs"][0]["hash"] == _sha256(path)
    assert record["inputs"][0]["bytes"] == path.stat().st_size
    assert record["error"] is None

    info = json.loads(cli("lake", "info", "cohort_visits").out)
    assert info["source_hash"] == _sha256(path)
    assert info["run_id"] == run_id


def test_main__runs_show_unique_prefix(cli: Callable, tmp_path: Path) -> None:
    path = _write_cohort(tmp_path / "visits.csv", 5)
    assert cli("ingest", "table", path, "--name", "v").code == 0
    run_id = _runs(cli)[0][0]
    record = json.loads(cli("runs", "show", run_id[:-3]).out)
    assert record["id"] == run_id


def test_main__runs_failed_ingest_recorded(cli: Callable, tmp_path: Path) -> None:
    good = _write_cohort(tmp_path / "good.csv", 10)
    bad = _write_cohort(tmp_path / "bad.csv", 60, bad_line=33)
    assert cli("ingest", "table", good, "--name", "good").code == 0
    line = cli("ingest", "table", bad, "--name", "bad").assert_one_error_line(2)
    assert "line 33" in line
    runs = _runs(cli)
    assert len(runs) == 2
    assert [r[1] for r in runs] == ["failed", "ok"]  # newest first
    record = json.loads(cli("runs", "show", runs[0][0]).out)
    assert record["status"] == "failed"
    assert record["command"] == "ingest table"
    assert record["outputs"] == []
    assert "line 33" in record["error"]
    assert record["inputs"][0]["path"] == str(bad.resolve())


def test_main__runs_ls_limit(cli: Callable, tmp_path: Path) -> None:
    path = _write_cohort(tmp_path / "v.csv", 3)
    for name in ("first", "second", "third"):
        assert cli("ingest", "table", path, "--name", name, "--quiet").code == 0
    runs = _runs(cli)
    assert [r[-1] for r in runs] == ["third", "second", "first"]
    limited = cli("runs", "ls", "--limit", "1")
    assert [line.split()[-1] for line in limited.out_lines] == ["third"]


def test_main__runs_ls_empty(cli: Callable) -> None:
    assert cli("lake", "init", "--quiet").code == 0
    assert _runs(cli) == []


def test_main__runs_show_unknown(cli: Callable) -> None:
    assert cli("lake", "init", "--quiet").code == 0
    line = cli("runs", "show", "20990101T000000").assert_one_error_line(2)
    assert "20990101T000000" in line


# --------------------------------------------------------------------------- report


def test_main__report_html(cli: Callable, tmp_path: Path) -> None:
    path = _write_cohort(tmp_path / "visits.csv", 120)
    assert cli("ingest", "table", path, "--name", "cohort_visits").code == 0
    run_id = _runs(cli)[0][0]
    result = cli("report", run_id, "-o", "r.html")
    assert result.code == 0, result.err
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "cohort_visits" in html
    assert run_id in html
    assert _sha256(path) in html  # the input's hash is shown
    urls = _Links(html).urls
    assert urls  # the table of contents links its sections
    external = [u for u in urls if u[2].lower().startswith(("http://", "https://", "//"))]
    assert external == []


def test_main__report_lake_sql_run(cli: Callable, tmp_path: Path) -> None:
    path = _write_cohort(tmp_path / "visits.csv", 50)
    assert cli("ingest", "table", path, "--name", "visits").code == 0
    query = "select site, count(*) as n from visits where age < 40 group by site"
    assert cli("lake", "sql", query, "--out", "young_by_site.csv").code == 0
    run_id = _runs(cli)[0][0]
    assert cli("report", run_id, "--output", "sql.html").code == 0
    html = (tmp_path / "sql.html").read_text(encoding="utf-8")
    assert "young_by_site" in html
    assert "age &lt; 40" in html  # the query, escaped
    assert "age < 40" not in html


def test_main__report_failed_run(cli: Callable, tmp_path: Path) -> None:
    bad = _write_cohort(tmp_path / "bad.csv", 20, bad_line=5)
    cli("ingest", "table", bad, "--name", "bad").assert_one_error_line(2)
    run_id = _runs(cli)[0][0]
    assert cli("report", run_id, "-o", "failed.html").code == 0
    html = (tmp_path / "failed.html").read_text(encoding="utf-8")
    assert "failed" in html
    assert "line 5" in html


def test_main__report_table_with_column_named_b(cli: Callable, tmp_path: Path) -> None:
    (tmp_path / "ab.csv").write_text("a,b\n1,x\n2,y\n3,z\n")
    assert cli("ingest", "table", "ab.csv", "--name", "ab").code == 0
    run_id = _runs(cli)[0][0]
    result = cli("report", run_id, "-o", "ab.html")
    assert result.code == 0, result.err
    assert "ab" in (tmp_path / "ab.html").read_text(encoding="utf-8")


def test_main__report_unknown_run(cli: Callable, tmp_path: Path) -> None:
    assert cli("lake", "init", "--quiet").code == 0
    line = cli("report", "nosuchrun", "-o", "r.html").assert_one_error_line(2)
    assert "nosuchrun" in line
    assert not (tmp_path / "r.html").exists()


def test_main__report_no_lake(cli: Callable, tmp_path: Path) -> None:
    line = cli("--lake", "nowhere", "report", "x", "-o", "r.html").assert_one_error_line(2)
    assert "nowhere" in line
    assert not (tmp_path / "nowhere").exists()  # a report never creates a lake


# --------------------------------------------------------------------------- demo


@pytest.mark.slow
def test_biolake__demo(biolake: Callable, tmp_path: Path) -> None:
    # the whole demo in a fresh process: ~40 s when numba's cache is warm, several minutes on a
    # fresh checkout (every kernel compiles once) under load, hence the long timeout
    result = biolake("demo", "--out-dir", "D", "--quiet", timeout=900)
    assert result.code == 0, result.err
    index = tmp_path / "D" / "index.html"
    assert index.is_file()
    assert result.out.strip().splitlines()[-1] == str(index.resolve())
    urls = [u for _, key, u in _Links(index.read_text(encoding="utf-8")).urls if key == "href"]
    reports = [u for u in urls if not u.startswith("#")]
    assert reports, "the index links no report"
    for href in reports:
        assert not href.lower().startswith(("http://", "https://", "//"))
        target = (index.parent / href).resolve()
        assert target.is_file(), href
        assert target.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html>")
    assert not (tmp_path / "biolake-lake").exists()  # the demo keeps its lake in its out dir
