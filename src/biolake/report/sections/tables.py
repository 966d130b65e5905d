"""Report sections of the foundation commands: ``ingest table``, ``lake sql``, ``write_table``."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from biolake.lake import Lake, RunRecord
from biolake.report.html import Section
from biolake.report.runs import register_section

_MAX_HISTOGRAMS = 6
_BINS = 30


def column_profile(lake: Lake, name: str) -> pd.DataFrame:
    """Per column: type, count, null %, distinct (approx.), min, max, mean, sd, quartiles.

    Computed by DuckDB's ``SUMMARIZE`` in one streaming pass over the Parquet parts.
    """
    with lake.connect() as con:
        df = con.execute(f'SUMMARIZE SELECT * FROM "{name}"').fetch_df()
    keep = [
        "column_name",
        "column_type",
        "count",
        "null_percentage",
        "approx_unique",
        "min",
        "max",
        "avg",
        "std",
        "q25",
        "q50",
        "q75",
    ]
    df = df[[c for c in keep if c in df.columns]].rename(
        columns={
            "column_name": "column",
            "column_type": "type",
            "null_percentage": "null %",
            "approx_unique": "distinct (approx.)",
            "avg": "mean",
            "std": "sd",
        }
    )
    for col in ("mean", "sd", "q25", "q50", "q75"):
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    return df


def histogram(lake: Lake, name: str, column: str, *, bins: int = _BINS) -> pd.DataFrame:
    """Equal-width histogram of a numeric column: ``bin_start, bin_end, count`` (computed in SQL)."""
    col = '"' + column.replace('"', '""') + '"'
    with lake.connect() as con:
        lo, hi = con.execute(f'SELECT min({col})::DOUBLE, max({col})::DOUBLE FROM "{name}"').fetchone()
        if lo is None:
            return pd.DataFrame(columns=["bin_start", "bin_end", "count"])
        width = (hi - lo) / bins if hi > lo else 1.0
        df = con.execute(
            f"SELECT least(floor(({col} - ?) / ?), ?)::INTEGER AS b, count(*) AS count "
            f'FROM "{name}" WHERE {col} IS NOT NULL GROUP BY 1 ORDER BY 1',
            [lo, width, bins - 1],
        ).fetch_df()
    df["bin_start"] = lo + df["b"] * width
    df["bin_end"] = df["bin_start"] + width
    return df[["bin_start", "bin_end", "count"]]


def histogram_chart(df: pd.DataFrame, column: str) -> alt.Chart:
    """A Vega-Lite bar chart of :func:`histogram` output."""
    return (
        alt.Chart(df, title=column)
        .mark_bar()
        .encode(
            x=alt.X("bin_start:Q", bin="binned", title=column),
            x2="bin_end:Q",
            y=alt.Y("count:Q", title="rows"),
            tooltip=["bin_start", "bin_end", "count"],
        )
        .properties(width=260, height=160)
    )


def _table_sections(lake: Lake, run: RunRecord, section: Section, names: list[str]) -> None:
    for name in names:
        if not lake.exists(name) or lake.info(name).run_id != run.id:
            continue
        info = lake.info(name)
        if info.kind != "table":
            continue
        sub = section.subsection(f"Columns of {name}")
        profile = column_profile(lake, name)
        sub.table(profile, caption=f"{info.n_rows} rows, {len(info.schema)} columns", max_rows=500)
        numeric = [c for c, t in info.schema.items() if t.startswith(("int", "uint", "float", "double", "decimal"))][
            :_MAX_HISTOGRAMS
        ]
        charts: list[Any] = [histogram_chart(histogram(lake, name, c), c) for c in numeric]
        if charts:
            rows = [alt.hconcat(*charts[i : i + 3]) for i in range(0, len(charts), 3)]
            sub.chart(alt.vconcat(*rows), caption="Distributions of the numeric columns")


@register_section("ingest table")
def _ingest_table(lake: Lake, run: RunRecord, section: Section) -> None:
    section.text(
        f"Ingested {run.inputs[0].get('spec', '') if run.inputs else ''} as {', '.join(run.outputs) or 'nothing'}."
    )
    _table_sections(lake, run, section, run.outputs)


@register_section("lake sql")
def _lake_sql(lake: Lake, run: RunRecord, section: Section) -> None:
    section.html(f"<pre>{_escape(run.params.get('query', ''))}</pre>")
    _table_sections(lake, run, section, run.outputs)


@register_section("write_table")
def _write_table(lake: Lake, run: RunRecord, section: Section) -> None:
    _table_sections(lake, run, section, run.outputs)


def _escape(text: str) -> str:
    import html

    return html.escape(text)
