"""Self-contained HTML reports: one file that opens offline, with tables, charts and images.

A :class:`Report` is a title and a list of :class:`Section` objects; each section holds
blocks (text, trusted markup, key/value tables, data tables, Vega-Lite charts, images and
nested subsections) in the order they were added. :meth:`Report.to_html` renders it with
Jinja2 (every piece of user text is HTML-escaped) into a single HTML document:

* no external resource is referenced: no CDN, no web font, no ``src``/``href`` to a URL;
* charts are Vega-Lite specs stored as JSON in ``<script type="application/json">`` tags
  and drawn by vega-embed, whose JavaScript bundle (from :func:`vl_convert.javascript_bundle`)
  is inlined once per report, and only when the report has at least one chart;
* images (matplotlib figures or PNG bytes) are embedded as base64 ``data:`` URIs;
* a table of contents links every section and subsection; the footer names the biolake
  version and the generation time (UTC, ISO 8601).

Examples
--------
>>> import altair as alt
>>> import pandas as pd
>>> from biolake.report import Report
>>> df = pd.DataFrame({"gene": ["BRCA1", "TP53"], "p": [1.2e-8, 0.031]})
>>> report = Report("GWAS summary", subtitle="cohort A")
>>> overview = report.section("Overview")
>>> overview.text("Two loci passed QC.\\n\\nSee the table below.")  # doctest: +ELLIPSIS
<Section 'Overview' #overview: 1 block>
>>> overview.key_values({"samples": 1200, "filters": {"maf": 0.01}})  # doctest: +ELLIPSIS
<Section 'Overview' #overview: 2 blocks>
>>> results = report.section("Results").table(df, caption="Top hits")
>>> results.chart(alt.Chart(df).mark_bar().encode(x="gene", y="p"))  # doctest: +ELLIPSIS
<Section 'Results' #results: 2 blocks>
>>> html = report.to_html()
>>> html.startswith("<!DOCTYPE html>")
True
>>> report.save("gwas-report.html")  # doctest: +SKIP
PosixPath('gwas-report.html')
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import functools
import io
import json
import math
import os
import re
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biolake.errors import InputError, check_param

if TYPE_CHECKING:
    import altair
    import jinja2
    import matplotlib.figure
    import pandas
    import pyarrow

__all__ = ["Report", "Section"]

#: Options passed to ``vegaEmbed``; the "open in editor" action is off (it opens a URL).
_EMBED_OPTIONS: dict[str, Any] = {
    "renderer": "svg",
    "actions": {"export": True, "source": True, "compiled": True, "editor": False},
}

_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


# --------------------------------------------------------------------------- helpers


@functools.lru_cache(maxsize=1)
def _javascript_bundle() -> str:
    """The vega-embed + Vega-Lite + Vega bundle, safe to inline in a ``<script>`` element.

    ``vl_convert.javascript_bundle()`` returns a script (ES2020, no imports or exports)
    that ends by assigning ``window.vegaEmbed``. It is inlined as ``type="module"`` so its
    many top-level declarations stay out of the page's global scope.
    """
    import vl_convert

    bundle: str = vl_convert.javascript_bundle()
    # Defensive: nothing in the bundle may end the <script> element early.
    return bundle.replace("</script", "<\\/script").replace("<!--", "<\\!--")


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("biolake.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _biolake_version() -> str:
    module = sys.modules.get("biolake")
    version = getattr(module, "__version__", None)
    if isinstance(version, str) and version:
        return version
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("biolake")
    except PackageNotFoundError:
        return "unknown"


def _script_json(value: Any) -> str:
    """``value`` as JSON that can sit inside a ``<script>`` element without closing it."""
    text = json.dumps(_jsonable(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "\\u003c!--")


def _jsonable(value: Any) -> Any:
    """A copy of ``value`` that :func:`json.dumps` accepts and ``JSON.parse`` can read.

    NaN and infinities become ``null``; numpy scalars and arrays, dates and other objects
    become their plain Python (or string) equivalents.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if _is_missing(value):  # NaT, pandas.NA, numpy NaN
        return None
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays
        return _jsonable(value.tolist())
    if hasattr(value, "isoformat") and callable(value.isoformat):  # pandas.Timestamp
        return value.isoformat()
    return str(value)


def _is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and pandas.NA (and False for containers)."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str | bytes | list | tuple | dict | set):
        return False
    if "pandas" in sys.modules:
        import pandas as pd

        try:
            return bool(pd.api.types.is_scalar(value) and pd.isna(value))
        except (TypeError, ValueError):
            return False
    return False


def _compact_json(value: Any) -> str:
    return json.dumps(_jsonable(value), ensure_ascii=False, separators=(", ", ": "))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or "section"


class _Ids:
    """Hands out ids that are unique within one report (anchors and chart ids alike)."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def take(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self._used:
            n += 1
            candidate = f"{wanted}-{n}"
        self._used.add(candidate)
        return candidate


# --------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class _Text:
    paragraphs: list[str]
    kind: str = "text"


@dataclass(frozen=True)
class _Html:
    markup: str
    kind: str = "html"


@dataclass(frozen=True)
class _KeyValues:
    rows: list[tuple[str, str, bool]]  # key, shown value, value is JSON
    kind: str = "key_values"


@dataclass(frozen=True)
class _Cell:
    text: str
    numeric: bool = False


@dataclass(frozen=True)
class _Table:
    header_rows: list[list[str]]
    rows: list[list[_Cell]]
    n_index: int
    caption: str | None
    note: str
    kind: str = "table"


@dataclass(frozen=True)
class _Chart:
    element_id: str
    spec_json: str
    caption: str | None
    kind: str = "chart"


@dataclass(frozen=True)
class _Image:
    data_uri: str
    caption: str | None
    alt: str
    kind: str = "image"


_Block = _Text | _Html | _KeyValues | _Table | _Chart | _Image


# --------------------------------------------------------------------------- public API


class Section:
    """One titled part of a :class:`Report`; every adding method returns the section.

    Sections are made by :meth:`Report.section` or :meth:`Section.subsection`, not directly.

    Attributes
    ----------
    title : str
        The heading, shown escaped.
    anchor : str
        The ``id`` of the heading, unique within the report; the table of contents links it.
    level : int
        1 for a section of the report, 2 for its subsections, and so on.
    blocks : list
        The content in the order it was added; a subsection is a :class:`Section` block.
    """

    kind = "section"

    def __init__(self, title: str, *, anchor: str, level: int, ids: _Ids) -> None:
        self.title = str(title)
        self.anchor = anchor
        self.level = level
        self.blocks: list[_Block | Section] = []
        self._ids = ids

    def __repr__(self) -> str:
        n = len(self.blocks)
        return f"<Section {self.title!r} #{self.anchor}: {n} block{'' if n == 1 else 's'}>"

    @property
    def subsections(self) -> list[Section]:
        """The subsections of this section, in order."""
        return [b for b in self.blocks if isinstance(b, Section)]

    @property
    def heading_tag(self) -> str:
        """``h2`` for a section, ``h3`` for a subsection, ... (at most ``h6``)."""
        return f"h{min(self.level + 1, 6)}"

    def _walk(self) -> Iterator[_Block | Section]:
        for block in self.blocks:
            yield block
            if isinstance(block, Section):
                yield from block._walk()

    # -- content -----------------------------------------------------------------

    def text(self, text: str) -> Section:
        """Add plain text; it is HTML-escaped and split into paragraphs on blank lines.

        Parameters
        ----------
        text : str
            The text. Single line breaks are kept; blank lines start a new paragraph.

        Returns
        -------
        Section
            This section, for chaining.
        """
        check_param("Section.text", "text", text, isinstance(text, str), "a str")
        paragraphs = [p.strip() for p in re.split(r"\n[ \t]*\n", text.strip())]
        self.blocks.append(_Text([p for p in paragraphs if p]))
        return self

    def html(self, markup: str) -> Section:
        """Add trusted HTML markup as is (it is not escaped: never pass user input).

        Parameters
        ----------
        markup : str
            An HTML fragment.

        Returns
        -------
        Section
            This section, for chaining.
        """
        check_param("Section.html", "markup", markup, isinstance(markup, str), "a str")
        self.blocks.append(_Html(markup))
        return self

    def key_values(self, items: Mapping[str, Any]) -> Section:
        """Add a two-column table of names and values (a definition table).

        Parameters
        ----------
        items : Mapping[str, Any]
            Names and values, shown in order. Nested mappings, lists and tuples are shown
            as compact JSON; None and NaN are shown as empty cells.

        Returns
        -------
        Section
            This section, for chaining.
        """
        check_param("Section.key_values", "items", items, isinstance(items, Mapping), "a mapping")
        rows: list[tuple[str, str, bool]] = []
        for key, value in items.items():
            nested = isinstance(value, Mapping | list | tuple | set | frozenset)
            if nested or getattr(value, "ndim", 0) > 0:  # containers and numpy arrays
                rows.append((str(key), _compact_json(value), True))
            elif _is_missing(value):
                rows.append((str(key), "", False))
            else:
                rows.append((str(key), str(value), False))
        self.blocks.append(_KeyValues(rows))
        return self

    def table(
        self,
        data: pandas.DataFrame | pyarrow.Table,
        *,
        caption: str | None = None,
        max_rows: int = 50,
        float_format: str | Callable[[float], str] = "{:.4g}",
    ) -> Section:
        """Add a data table showing its first ``max_rows`` rows.

        Parameters
        ----------
        data : pandas.DataFrame or pyarrow.Table
            The data. A DataFrame's index is shown unless it is the default 0..n-1 range.
        caption : str, optional
            A caption above the table.
        max_rows : int, default 50
            The most rows shown; a longer table says "showing N of M rows".
        float_format : str or callable, default ``"{:.4g}"``
            How floats are written: a :meth:`str.format` pattern with one field, or a
            function of the float. NaN is shown as an empty cell.

        Returns
        -------
        Section
            This section, for chaining.

        Raises
        ------
        InputError
            If ``data`` is not a table, or ``max_rows`` is negative.
        """
        check_param(
            "Section.table",
            "max_rows",
            max_rows,
            isinstance(max_rows, int) and not isinstance(max_rows, bool) and max_rows >= 0,
            "an int >= 0",
        )
        frame, total = _head_frame(data, max_rows)
        self.blocks.append(_table_block(frame, total, caption, _float_formatter(float_format)))
        return self

    def chart(self, spec: altair.TopLevelMixin | Mapping[str, Any], *, caption: str | None = None) -> Section:
        """Add an interactive Vega-Lite chart, drawn in the browser by vega-embed.

        Parameters
        ----------
        spec : altair chart or dict
            An Altair chart (anything with ``to_dict()``) or a Vega-Lite (or Vega)
            specification as a dict. It is converted to JSON now: later changes to it do
            not show. NaN and infinite numbers in it become ``null``.
        caption : str, optional
            A caption under the chart.

        Returns
        -------
        Section
            This section, for chaining.
        """
        if isinstance(spec, Mapping):
            spec_dict: Any = spec
        elif hasattr(spec, "to_dict") and callable(spec.to_dict):
            spec_dict = spec.to_dict()
        else:
            raise InputError(
                f"The 'spec' parameter of Section.chart must be an altair chart or a "
                f"Vega-Lite dict; got {type(spec).__name__}"
            )
        element_id = self._ids.take("vega-chart")
        self.blocks.append(_Chart(element_id, _script_json(spec_dict), caption))
        return self

    def image(
        self,
        image: matplotlib.figure.Figure | bytes,
        *,
        caption: str | None = None,
        alt: str = "",
    ) -> Section:
        """Add an image, embedded in the page as a base64 ``data:`` URI.

        Parameters
        ----------
        image : matplotlib.figure.Figure or bytes
            A matplotlib figure (saved as PNG at 100 dpi, then closed) or the bytes of a
            PNG (JPEG and GIF bytes are accepted too).
        caption : str, optional
            A caption under the image.
        alt : str, default ""
            The image's alternative text; the caption is used when it is empty.

        Returns
        -------
        Section
            This section, for chaining.

        Raises
        ------
        InputError
            If ``image`` is neither a figure nor the bytes of a known image format.
        """
        if isinstance(image, bytes | bytearray | memoryview):
            payload = bytes(image)
            mime = next((m for sig, m in _IMAGE_SIGNATURES if payload.startswith(sig)), None)
            if mime is None:
                raise InputError(
                    "The 'image' parameter of Section.image must be PNG, JPEG or GIF bytes; "
                    f"got {len(payload)} bytes starting with {payload[:8]!r}"
                )
        elif hasattr(image, "savefig"):
            buffer = io.BytesIO()
            try:
                image.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
            finally:
                pyplot = sys.modules.get("matplotlib.pyplot")
                if pyplot is not None:
                    pyplot.close(image)
            payload, mime = buffer.getvalue(), "image/png"
        else:
            raise InputError(
                "The 'image' parameter of Section.image must be a matplotlib figure or "
                f"image bytes; got {type(image).__name__}"
            )
        data_uri = f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"
        self.blocks.append(_Image(data_uri, caption, alt or caption or ""))
        return self

    def subsection(self, title: str) -> Section:
        """Append a subsection (one heading level down) and return it.

        Parameters
        ----------
        title : str
            The subsection's heading; its anchor is made from it, unique in the report.

        Returns
        -------
        Section
            The new subsection (not this section).
        """
        child = Section(title, anchor=self._ids.take(_slug(str(title))), level=self.level + 1, ids=self._ids)
        self.blocks.append(child)
        return child


class Report:
    """A self-contained HTML report: a title, sections, and a footer.

    Parameters
    ----------
    title : str
        The report's title (page ``<title>`` and top heading).
    subtitle : str, optional
        A line under the title.

    Attributes
    ----------
    sections : list of Section
        The sections in order.

    Examples
    --------
    >>> report = Report("QC")
    >>> _ = report.section("Samples").text("All samples passed.")
    >>> "All samples passed." in report.to_html()
    True
    """

    def __init__(self, title: str, *, subtitle: str | None = None) -> None:
        check_param("Report", "title", title, isinstance(title, str), "a str")
        self.title = title
        self.subtitle = subtitle
        self.sections: list[Section] = []
        self._ids = _Ids()
        for reserved in ("top", "contents", "report-footer"):
            self._ids.take(reserved)

    def __repr__(self) -> str:
        return f"<Report {self.title!r}: {len(self.sections)} sections>"

    def section(self, title: str, *, anchor: str | None = None) -> Section:
        """Append a new section and return it.

        Parameters
        ----------
        title : str
            The section's heading.
        anchor : str, optional
            The heading's ``id`` (made from the title by default). When it is already
            taken in this report, ``-2``, ``-3``, ... is appended to keep anchors unique.

        Returns
        -------
        Section
            The new section.
        """
        wanted = _slug(str(title)) if anchor is None else _slug(str(anchor))
        section = Section(title, anchor=self._ids.take(wanted), level=1, ids=self._ids)
        self.sections.append(section)
        return section

    def _charts(self) -> list[_Chart]:
        return [
            block for section in self.sections for block in [section, *section._walk()] if isinstance(block, _Chart)
        ]

    def to_html(self) -> str:
        """Render the report as one self-contained HTML document.

        Returns
        -------
        str
            The HTML; it references no external resource. The vega-embed JavaScript is
            included once, only when the report has a chart.
        """
        has_charts = bool(self._charts())
        template = _environment().get_template("report.html")
        from markupsafe import Markup

        now = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
        return template.render(
            report=self,
            has_charts=has_charts,
            bundle=Markup(_javascript_bundle()) if has_charts else "",
            embed_options=Markup(_script_json(_EMBED_OPTIONS)),
            version=_biolake_version(),
            generated=now.isoformat().replace("+00:00", "Z"),
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the report to ``path`` atomically.

        The HTML goes to a temporary file in the same directory, which then replaces
        ``path`` in one step: readers see the old file or the new one, never half of it.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (replaced when it exists). Missing parent directories are
            created.

        Returns
        -------
        pathlib.Path
            ``path`` as a :class:`~pathlib.Path`.
        """
        target = Path(path)
        content = self.to_html().encode("utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, mode)
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        return target


# --------------------------------------------------------------------------- tables


def _head_frame(data: Any, max_rows: int) -> tuple[pandas.DataFrame, int]:
    """The first ``max_rows`` rows of ``data`` as a DataFrame, and the total row count."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data.iloc[:max_rows], len(data)
    if isinstance(data, pd.Series):
        return data.iloc[:max_rows].to_frame(), len(data)
    if "pyarrow" in sys.modules:
        import pyarrow as pa

        if isinstance(data, pa.Table | pa.RecordBatch):
            return data.slice(0, max_rows).to_pandas(), data.num_rows
    raise InputError(
        "The 'data' parameter of Section.table must be a pandas.DataFrame or a "
        f"pyarrow.Table; got {type(data).__name__}"
    )


def _float_formatter(float_format: str | Callable[[float], str]) -> Callable[[float], str]:
    if callable(float_format):
        return float_format
    check_param(
        "Section.table",
        "float_format",
        float_format,
        isinstance(float_format, str),
        "a format string such as '{:.4g}' or a callable",
    )
    try:
        float_format.format(1.5)
    except (IndexError, KeyError, ValueError) as exc:
        raise InputError(
            f"The 'float_format' parameter of Section.table must be a format string with one "
            f"field such as '{{:.4g}}'; got {float_format!r} ({exc})"
        ) from None
    return float_format.format


def _cell(value: Any, fmt: Callable[[float], str]) -> _Cell:
    if _is_missing(value):
        return _Cell("")
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return _Cell(str(bool(value)))
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "f"):
        return _Cell(fmt(float(value)), numeric=True)
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return _Cell(str(int(value)), numeric=True)
    if isinstance(value, Mapping | list | tuple) or (hasattr(value, "ndim") and getattr(value, "ndim", 0) > 0):
        return _Cell(_compact_json(value))
    if isinstance(value, bytes):
        return _Cell(repr(value))
    return _Cell(str(value))


def _label(value: Any) -> str:
    if isinstance(value, tuple):
        return " / ".join(str(v) for v in value if str(v) != "")
    return "" if value is None else str(value)


def _table_block(frame: pandas.DataFrame, total: int, caption: str | None, fmt: Callable[[float], str]) -> _Table:
    import pandas as pd

    index = frame.index
    default_index = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 and index.name is None
    n_index = 0 if default_index else index.nlevels
    index_names = [] if default_index else [_label(n) for n in index.names]
    header = [*index_names, *(_label(c) for c in frame.columns)]

    rows: list[list[_Cell]] = []
    columns = [frame.iloc[:, i].tolist() for i in range(frame.shape[1])]
    index_values = index.tolist()
    for r in range(len(frame)):
        row: list[_Cell] = []
        if n_index:
            key = index_values[r]
            keys = key if isinstance(key, tuple) else (key,)
            row.extend(_cell(k, fmt) for k in keys)
        row.extend(_cell(col[r], fmt) for col in columns)
        rows.append(row)

    shown = len(frame)
    if shown < total:
        note = f"showing {shown} of {total} rows"
    else:
        note = f"{total} row{'' if total == 1 else 's'}"
    n_columns = frame.shape[1]
    note += f" · {n_columns} column{'' if n_columns == 1 else 's'}"
    return _Table([header], rows, n_index, caption, note)
