"""Tests of the self-contained HTML report builder (biolake.report.html)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import altair as alt
import matplotlib
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from biolake.errors import InputError
from biolake.report import Report, Section
from biolake.report.html import _javascript_bundle

EVIL = "</script><script>alert('x')</script>"
BUNDLE_MARKER = "window.vegaEmbed="


class _Page(HTMLParser):
    """Collects every start tag with its attributes, and the text of each <script>."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self._buffer: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script, self._buffer = dict(attrs), []

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._buffer.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._buffer)))
            self._script = None

    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.tags if a.get("id")]

    def chart_specs(self) -> list[Any]:
        return [
            json.loads(text)
            for attrs, text in self.scripts
            if attrs.get("type") == "application/json" and "data-vega-target" in attrs
        ]


def _spec(values: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "x": {"field": "a", "type": "nominal"},
            "y": {"field": "b", "type": "quantitative"},
        },
    }


def _full_report() -> Report:
    df = pd.DataFrame({"gene": ["BRCA1", "TP53"], "p": [1.2e-8, 0.031], "n": [10, 20]})
    report = Report("Full report", subtitle="all block kinds")
    section = report.section("Overview")
    section.text("First paragraph.\n\nSecond paragraph.")
    section.key_values({"samples": 1200, "filters": {"maf": 0.01, "chroms": [1, 2]}})
    section.table(df, caption="Top hits")
    section.chart(alt.Chart(df).mark_bar().encode(x="gene", y="n"), caption="Counts")
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([1, 2, 3])
    section.subsection("Figures").image(fig, caption="A line", alt="line plot")
    section.html("<em>trusted</em>")
    return report


# --------------------------------------------------------------------------- rendering


def test_to_html__renders_every_block_kind() -> None:
    html = _full_report().to_html()
    page = _Page(html)
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Full report</title>" in html
    assert "all block kinds" in html
    assert '<p class="text">First paragraph.</p>' in html
    assert '<p class="text">Second paragraph.</p>' in html
    assert ">samples</th><td>1200</td>" in html
    assert "<code>{&#34;maf&#34;: 0.01, &#34;chroms&#34;: [1, 2]}</code>" in html
    assert "<figcaption>Top hits</figcaption>" in html
    assert ">BRCA1</td>" in html and ">1.2e-08</td>" in html
    assert "<em>trusted</em>" in html
    [spec] = page.chart_specs()
    assert spec["mark"]["type"] == "bar"
    images = [a for t, a in page.tags if t == "img"]
    assert len(images) == 1
    assert images[0]["src"].startswith("data:image/png;base64,")
    assert images[0]["alt"] == "line plot"
    assert "<figcaption>A line</figcaption>" in html


def test_to_html__has_table_of_contents_linking_every_section() -> None:
    page = _Page(_full_report().to_html())
    toc_links = [a["href"] for t, a in page.tags if t == "a" and a.get("href", "").startswith("#")]
    ids = set(page.ids())
    assert "#overview" in toc_links and "#figures" in toc_links
    assert all(href[1:] in ids for href in toc_links)


def test_to_html__has_footer_with_version_and_utc_time() -> None:
    import biolake

    html = Report("x").to_html()
    assert f"biolake {biolake.__version__}" in html
    match = re.search(r'<time datetime="([^"]+)">', html)
    assert match is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", match.group(1))


def test_to_html__has_no_external_urls() -> None:
    html = _full_report().to_html()
    page = _Page(html)
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not value.lower().startswith(("http://", "https://", "//")), (tag, value)
            assert "http://" not in value and "https://" not in value, (tag, value)
        if tag == "script":
            assert "src" not in attrs
        if tag == "link":
            pytest.fail(f"unexpected <link> element: {attrs}")
    assert not re.search(r"<script[^>]*\ssrc\s*=", html, flags=re.IGNORECASE)
    assert "@import" not in html and "url(http" not in html


def test_to_html__includes_js_bundle_once_with_two_charts() -> None:
    report = Report("two charts")
    report.section("A").chart(_spec([{"a": "x", "b": 1}]))
    report.section("B").chart(_spec([{"a": "y", "b": 2}]))
    html = report.to_html()
    assert html.count(BUNDLE_MARKER) == 1
    assert html.count(_javascript_bundle()[:200]) == 1
    assert len(_Page(html).chart_specs()) == 2


def test_to_html__omits_js_bundle_without_charts() -> None:
    report = Report("no charts")
    report.section("Only text").text("hello")
    html = report.to_html()
    assert BUNDLE_MARKER not in html
    assert "vegaEmbed" not in html
    assert len(html) < 20_000


def test_to_html__escapes_title_and_subtitle() -> None:
    html = Report(EVIL, subtitle="<b>bold</b>").to_html()
    assert "alert('x')</script>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


# --------------------------------------------------------------------------- text, html


def test_text__escapes_script() -> None:
    report = Report("r")
    report.section("s").text(f"before {EVIL} after")
    html = report.to_html()
    assert "<script>alert" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_text__splits_paragraphs_on_blank_lines() -> None:
    report = Report("r")
    report.section("s").text("one\ncontinued\n\n  \n\ntwo\n")
    html = report.to_html()
    assert '<p class="text">one\ncontinued</p>' in html
    assert '<p class="text">two</p>' in html


def test_html__inserts_markup_as_is() -> None:
    report = Report("r")
    report.section("s").html('<div class="custom"><b>bold</b></div>')
    assert '<div class="custom"><b>bold</b></div>' in report.to_html()


def test_section__methods_return_section_for_chaining() -> None:
    report = Report("r")
    section = report.section("s")
    assert section.text("a").html("<i>b</i>").key_values({"k": 1}) is section
    child = section.subsection("child")
    assert isinstance(child, Section) and child is not section
    assert child.level == 2 and section.subsections == [child]


# --------------------------------------------------------------------------- key_values


def test_key_values__shows_nested_values_as_compact_json_and_escapes() -> None:
    report = Report("r")
    report.section("s").key_values(
        {"<k>": "<v>", "list": [1, "two", None], "array": np.array([1.5, 2.0]), "nan": float("nan")}
    )
    html = report.to_html()
    assert ">&lt;k&gt;</th><td>&lt;v&gt;</td>" in html
    assert "<code>[1, &#34;two&#34;, null]</code>" in html
    assert "<code>[1.5, 2.0]</code>" in html
    assert ">nan</th><td></td>" in html


# --------------------------------------------------------------------------- table


def test_table__escapes_script_in_cells_and_headers() -> None:
    df = pd.DataFrame({EVIL: [EVIL, "ok"]})
    report = Report("r")
    report.section("s").table(df, caption=EVIL)
    html = report.to_html()
    assert "<script>alert" not in html
    assert html.count("&lt;/script&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") == 3


def test_table__max_rows_truncates_and_says_so() -> None:
    df = pd.DataFrame({"i": range(120), "x": np.linspace(0, 1, 120)})
    report = Report("r")
    report.section("s").table(df, max_rows=50)
    html = report.to_html()
    assert "showing 50 of 120 rows" in html
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 50
    assert ">49</td>" in body and ">50</td>" not in body


def test_table__not_truncated_says_row_count() -> None:
    report = Report("r")
    report.section("s").table(pd.DataFrame({"a": [1, 2]}))
    html = report.to_html()
    assert "showing" not in html
    assert "2 rows · 1 column" in html


def test_table__formats_floats_and_shows_nan_as_empty() -> None:
    df = pd.DataFrame({"x": [3.14159265, np.nan, 1234567.0], "s": ["a", None, "c"]})
    report = Report("r")
    section = report.section("s")
    section.table(df)
    section.table(df, float_format="{:.2f}")
    html = report.to_html()
    assert '<td class="num">3.142</td>' in html
    assert '<td class="num">1.235e+06</td>' in html
    assert '<td class="num">3.14</td>' in html
    bodies = re.findall(r"<tbody>(.*?)</tbody>", html, flags=re.DOTALL)
    assert len(bodies) == 2
    for body in bodies:
        assert "nan" not in body.lower() and "None" not in body
        assert body.count("<td></td>") == 2


def test_table__accepts_pyarrow_table() -> None:
    table = pa.table({"gene": ["A", "B", "C"], "score": [0.5, None, 2.25]})
    report = Report("r")
    report.section("s").table(table, max_rows=2)
    html = report.to_html()
    assert ">A</td>" in html and ">B</td>" in html and ">C</td>" not in html
    assert "showing 2 of 3 rows" in html


def test_table__shows_a_named_index() -> None:
    df = pd.DataFrame({"x": [1, 2]}, index=pd.Index(["s1", "s2"], name="sample"))
    report = Report("r")
    report.section("s").table(df)
    html = report.to_html()
    assert '<th scope="col" class="index">sample</th>' in html
    assert '<th scope="row">s1</th>' in html


def test_table__wide_table_scrolls_horizontally() -> None:
    report = Report("r")
    report.section("s").table(pd.DataFrame({f"col{i}": [i] for i in range(40)}))
    html = report.to_html()
    assert '<div class="table-scroll">' in html
    assert re.search(r"\.table-scroll\s*\{[^}]*overflow-x:\s*auto", html)


def test_table__rejects_bad_arguments() -> None:
    section = Report("r").section("s")
    with pytest.raises(InputError, match="max_rows"):
        section.table(pd.DataFrame({"a": [1]}), max_rows=-1)
    with pytest.raises(InputError, match="data"):
        section.table([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="float_format"):
        section.table(pd.DataFrame({"a": [1.0]}), float_format="{x}")


# --------------------------------------------------------------------------- chart


def test_chart__accepts_altair_chart_and_dict() -> None:
    df = pd.DataFrame({"a": ["x", "y"], "b": [1, 2]})
    report = Report("r")
    section = report.section("s")
    section.chart(alt.Chart(df).mark_point().encode(x="a", y="b"))
    section.chart(_spec([{"a": "x", "b": 1}]))
    altair_spec, dict_spec = _Page(report.to_html()).chart_specs()
    assert altair_spec["mark"]["type"] == "point"
    assert altair_spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    assert dict_spec == _spec([{"a": "x", "b": 1}])


def test_chart__escapes_script_in_data() -> None:
    spec = _spec([{"a": EVIL, "b": 1}, {"a": "<!--<script>", "b": 2}])
    report = Report("r")
    report.section("s").chart(spec, caption=EVIL)
    html = report.to_html()
    assert "</script><script>alert" not in html
    assert "<\\/script><script>alert('x')<\\/script>" in html
    page = _Page(html)
    [parsed] = page.chart_specs()
    assert parsed == spec
    # every chart spec element still ends where it should: the document's scripts are the
    # spec, the bundle and the renderer
    assert len(page.scripts) == 3


def test_chart__replaces_nan_with_null_and_freezes_the_spec() -> None:
    spec = _spec([{"a": "x", "b": float("nan")}, {"a": "y", "b": np.int64(3)}])
    report = Report("r")
    report.section("s").chart(spec)
    spec["mark"] = "line"
    [parsed] = _Page(report.to_html()).chart_specs()
    assert parsed["mark"] == "bar"
    assert parsed["data"]["values"] == [{"a": "x", "b": None}, {"a": "y", "b": 3}]


def test_chart__rejects_other_objects() -> None:
    with pytest.raises(InputError, match="spec"):
        Report("r").section("s").chart("not a chart")  # type: ignore[arg-type]


def test_javascript_bundle__exposes_vega_embed_and_is_cached() -> None:
    bundle = _javascript_bundle()
    assert bundle is _javascript_bundle()
    assert BUNDLE_MARKER in bundle
    assert "</script" not in bundle.lower()
    # a classic script with no import/export statements; inlined as type="module"
    assert not re.search(r"(^|[;}\n])\s*(import|export)\s*[{*\w]", bundle[:2000])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_chart__renders_in_headless_chromium(tmp_path: Path) -> None:
    report = Report("rendered")
    report.section("A").chart(_spec([{"a": EVIL, "b": 1}, {"a": "y", "b": 2}]))
    report.section("B").chart(alt.Chart(pd.DataFrame({"a": [1, 2], "b": [3, 4]})).mark_line().encode(x="a", y="b"))
    path = report.save(tmp_path / "report.html")
    result = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=10000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    dom = result.stdout
    assert dom.count('class="marks"') == 2, result.stderr[-2000:]
    assert 'chart-error">This chart' not in dom


# --------------------------------------------------------------------------- image


def test_image__embeds_figure_as_png_and_closes_it() -> None:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    number = fig.number
    report = Report("r")
    report.section("s").image(fig, caption="<fig>")
    assert not plt.fignum_exists(number)
    html = report.to_html()
    [img] = [a for t, a in _Page(html).tags if t == "img"]
    assert img["src"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert img["alt"] == "<fig>"
    assert "<figcaption>&lt;fig&gt;</figcaption>" in html


def test_image__accepts_png_bytes_and_rejects_other_bytes() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    report = Report("r")
    section = report.section("s").image(png, alt="tiny")
    assert 'src="data:image/png;base64,iVBORw0KGgo' in report.to_html()
    with pytest.raises(InputError, match="image"):
        section.image(b"not an image")


# --------------------------------------------------------------------------- anchors


def test_section__anchors_unique_with_duplicate_titles() -> None:
    report = Report("r")
    first = report.section("Results")
    second = report.section("Results")
    third = report.section("Other", anchor="results")
    sub = first.subsection("Results")
    report.section("!!!")
    first.chart(_spec([{"a": "x", "b": 1}]))
    assert [first.anchor, second.anchor, third.anchor, sub.anchor] == [
        "results",
        "results-2",
        "results-3",
        "results-4",
    ]
    page = _Page(report.to_html())
    ids = page.ids()
    assert len(ids) == len(set(ids))
    toc = [a["href"][1:] for t, a in page.tags if t == "a" and a.get("href", "").startswith("#")]
    assert {"results", "results-2", "results-3", "results-4", "section"} <= set(toc)
    assert set(toc) <= set(ids)


# --------------------------------------------------------------------------- save


def test_save__atomic_leaves_no_temp_file(tmp_path: Path) -> None:
    report = _full_report()
    target = tmp_path / "out" / "report.html"
    returned = report.save(target)
    assert returned == target
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert target.stat().st_mode & 0o777 == 0o644


def test_save__overwrites_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old content", encoding="utf-8")
    Report("new report").save(str(target))
    content = target.read_text(encoding="utf-8")
    assert "old content" not in content and "new report" in content
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_save__removes_temp_file_when_writing_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("biolake.report.html.os.replace", fail)
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(OSError, match="disk full"):
        Report("r").save(target)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert target.read_text(encoding="utf-8") == "old"
