"""Report sections of the public-health commands: ``publichealth surveil``; and their demo step.

A surveillance report shows, for the result dataset of the run:

* a summary (series, monitored points, alarms, series with an alarm);
* an alarm table across series (alarms per series, the last alarm, the highest score);
* an alarm map: alarms per series and time for the series with the most alarms;
* per-series charts (counts, the upper bound, alarms marked; for Farrington also the
  expected count of the model) for up to :data:`MAX_SERIES_CHARTS` series, those with the
  most alarms first;
* for Farrington, the settings under R's control names.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd

from biolake.lake import Lake, RunRecord
from biolake.lake.progress import Progress
from biolake.report.demo import register_demo
from biolake.report.html import Section
from biolake.report.runs import register_section

__all__ = ["MAX_MAP_SERIES", "MAX_SERIES_CHARTS", "alarm_map_chart", "alarm_table", "series_chart"]

MAX_SERIES_CHARTS = 12
MAX_MAP_SERIES = 40
_MAX_POINTS_PER_SERIES = 520
_NON_KEYS = {"count", "expected", "upper_bound", "alarm", "score", "sigma", "pvalue", "phi", "trend"}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _series_label(df: pd.DataFrame, keys: list[str]) -> pd.Series:
    if not keys:
        return pd.Series(["all"] * len(df), index=df.index)
    return df[keys].astype(str).agg(" / ".join, axis=1)


def _time_type(arrow_type: str) -> str:
    if arrow_type.startswith(("date", "timestamp")):
        return "T"
    if arrow_type.startswith(("int", "uint", "float", "double")):
        return "Q"
    return "O"


def alarm_table(lake: Lake, name: str, keys: list[str], time_col: str) -> pd.DataFrame:
    """Per series: monitored points, alarms, the last alarm's time and the highest score, most alarms first."""
    k = ", ".join(_q(c) for c in keys)
    group = f"GROUP BY {k}" if keys else ""
    select = f"{k}, " if keys else ""
    t = _q(time_col)
    query = (
        f"SELECT {select}count(*) AS points, sum(alarm::INTEGER) AS alarms, "
        f"max(CASE WHEN alarm THEN {t} END) AS last_alarm, max(score) AS max_score "
        f"FROM {_q(name)} {group} ORDER BY alarms DESC{', ' + k if keys else ''}"
    )
    return lake.sql(query)


def series_chart(
    df: pd.DataFrame, time_col: str, time_type: str, *, title: str = "", expected: bool = False
) -> alt.Chart:
    """Counts (line), upper bound (dashed) and alarms (red points) of one or more series, faceted by series.

    With ``expected``, the expected count (a grey line) too.
    """
    base = alt.Chart(df).encode(x=alt.X(f"{time_col}:{time_type}", title=time_col))
    counts = base.mark_line(color="#4c78a8", point=False).encode(
        y=alt.Y("count:Q", title="count"), tooltip=[time_col, "count", "upper_bound", "alarm"]
    )
    bound = base.mark_line(color="#e45756", strokeDash=[4, 3]).encode(y="upper_bound:Q")
    alarms = (
        base.transform_filter(alt.datum.alarm)
        .mark_point(color="#d62728", filled=True, size=45)
        .encode(y="count:Q", tooltip=[time_col, "count", "upper_bound", "score"])
    )
    layers = [counts, bound]
    if expected:
        layers.append(base.mark_line(color="#9d9d9d").encode(y="expected:Q"))
    layered = alt.layer(*layers, alarms).properties(width=260, height=120)
    return layered.facet(facet=alt.Facet("series:N", title=title or None), columns=3).resolve_scale(y="independent")


def alarm_map_chart(df: pd.DataFrame, time_col: str, time_type: str) -> alt.Chart:
    """A series × time map of alarms (one mark per alarm)."""
    return (
        alt.Chart(df)
        .mark_tick(color="#d62728", thickness=3, orient="vertical")
        .encode(
            x=alt.X(f"{time_col}:{time_type}", title=time_col),
            y=alt.Y("series:N", title="series", sort=None),
            tooltip=["series", time_col, "count", "upper_bound", "score"],
        )
        .properties(width=620, height=alt.Step(14))
    )


@register_section("publichealth surveil")
def _surveil(lake: Lake, run: RunRecord, section: Section) -> None:
    for name in run.outputs:
        if not lake.exists(name) or lake.info(name).run_id != run.id:
            continue
        info = lake.info(name)
        keys = [str(k) for k in info.attrs.get("by", [])]
        time_col = str(info.attrs.get("time_column") or "date")
        if time_col not in info.schema:
            candidates = [c for c in info.schema if c not in _NON_KEYS and c not in keys]
            time_col = candidates[0] if candidates else "date"
        time_type = _time_type(info.schema.get(time_col, "int64"))
        table = alarm_table(lake, name, keys, time_col)
        n_points = int(table["points"].sum()) if len(table) else 0
        n_alarms = int(table["alarms"].fillna(0).sum()) if len(table) else 0
        section.key_values(
            {
                "method": run.params.get("method", ""),
                "series": len(table),
                "monitored time points": n_points,
                "alarms": n_alarms,
                "series with an alarm": int((table["alarms"].fillna(0) > 0).sum()) if len(table) else 0,
            }
        )
        farrington = run.params.get("method") == "farrington"
        if farrington:
            names = ("b", "w", "alpha", "noPeriods", "pastWeeksNotIncluded", "weightsThreshold", "pThresholdTrend")
            names += ("thresholdMethod", "powertrans", "trend", "reweight", "limit54", "populationOffset")
            section.subsection("Farrington settings (R farringtonFlexible control)").key_values(
                {k: str(info.attrs.get(k, "")) for k in names}
            )
        section.subsection("Alarms across series").table(
            table, caption="Series with the most alarms first", max_rows=100
        )
        if not len(table):
            continue
        top = table.head(MAX_SERIES_CHARTS)
        chosen = _rows_of(lake, name, keys, top, time_col, expected=farrington)
        if len(chosen):
            chosen["series"] = _series_label(chosen, keys)
            section.subsection("Counts, upper bound and alarms").chart(
                series_chart(chosen, time_col, time_type, expected=farrington),
                caption=f"The {len(top)} series with the most alarms: counts (blue), upper bound (dashed red), "
                + ("expected (grey), " if farrington else "")
                + "alarms (red points)",
            )
        alarmed = table[table["alarms"].fillna(0) > 0].head(MAX_MAP_SERIES)
        if len(alarmed):
            rows = _rows_of(lake, name, keys, alarmed, time_col, only_alarms=True)
            rows["series"] = _series_label(rows, keys)
            section.subsection("Alarm map").chart(
                alarm_map_chart(rows, time_col, time_type),
                caption=f"Alarms by series and time ({len(alarmed)} series with the most alarms)",
            )


def _rows_of(
    lake: Lake,
    name: str,
    keys: list[str],
    which: pd.DataFrame,
    time_col: str,
    *,
    only_alarms: bool = False,
    expected: bool = False,
) -> pd.DataFrame:
    """The result rows of the series in ``which`` (the last points of each), in series then time order."""
    cols = [*keys, time_col, "count", "upper_bound", "alarm", "score"] + (["expected"] if expected else [])
    select = ", ".join(_q(c) for c in cols)
    with lake.connect() as con:
        con.register("__bl_which", which[keys] if keys else pd.DataFrame({"__x": [1]}))
        join = f"JOIN __bl_which USING ({', '.join(_q(k) for k in keys)})" if keys else ""
        where = "WHERE alarm" if only_alarms else ""
        order = ", ".join([*(_q(k) for k in keys), _q(time_col)])
        rank = (
            f"row_number() OVER (PARTITION BY {', '.join(_q(k) for k in keys)} ORDER BY {_q(time_col)} DESC)"
            if keys
            else f"row_number() OVER (ORDER BY {_q(time_col)} DESC)"
        )
        query = (
            f"SELECT {select} FROM (SELECT r.*, {rank} AS __bl_rank FROM {_q(name)} r {join} {where}) "
            f"WHERE __bl_rank <= {_MAX_POINTS_PER_SERIES} ORDER BY {order}"
        )
        return con.sql(query).df()


# --------------------------------------------------------------------------- demo


@register_demo(
    "Public health: Salmonella Newport, 16 German states 2004–2013 (real data, R surveillance's salmNewport), "
    "Farrington outbreak detection"
)
def _surveillance_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.io import ingest_table
    from biolake.publichealth.demo import salmonella_newport
    from biolake.publichealth.surveillance import surveil_job

    csv = data_dir / "salmonella_newport.csv"
    salmonella_newport().to_csv(csv, index=False)
    info = ingest_table(lake, csv, name="salmonella_newport", progress=progress)
    run_id, _ = surveil_job(
        lake,
        "lake:salmonella_newport",
        out=data_dir / "salmonella_newport_alarms.csv",
        method="farrington",
        by=["state"],
        progress=progress,
    )
    return [info.run_id or "", run_id]
