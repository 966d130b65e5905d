"""Report section of ``publichealth rt`` (the reproduction number R_t) and its demo step.

For the result dataset of the run the section shows

* a summary (method, serial interval, window, series, windows, windows EpiEstim leaves NA);
* the latest estimate of every series (mean and 95 % credible interval of its last
  window), the highest first;
* R_t over time with its 95 % band (``q025``–``q975``) and the threshold R = 1, one panel
  per series, for up to :data:`MAX_SERIES_CHARTS` series (the highest latest R_t first).
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

__all__ = ["MAX_SERIES_CHARTS", "latest_table", "rt_chart"]

MAX_SERIES_CHARTS = 12
_MAX_WINDOWS_PER_SERIES = 730


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _series_label(df: pd.DataFrame, keys: list[str]) -> pd.Series:
    if not keys:
        return pd.Series(["all"] * len(df), index=df.index)
    return df[keys].astype(str).agg(" / ".join, axis=1)


def latest_table(lake: Lake, name: str, keys: list[str], time_col: str) -> pd.DataFrame:
    """Per series: the last window with an estimate, its mean R_t and 95 % interval; highest first."""
    k = ", ".join(_q(c) for c in keys)
    part = f"PARTITION BY {k} " if keys else ""
    select = f"{k}, " if keys else ""
    query = (
        f"SELECT {select}{_q(time_col)}, mean_r, q025, q975, windows FROM ("
        f"SELECT *, row_number() OVER ({part}ORDER BY t_end DESC) AS __bl_rank, "
        f"count(*) OVER ({part.strip()}) AS windows FROM {_q(name)} WHERE mean_r IS NOT NULL) "
        f"WHERE __bl_rank = 1 ORDER BY mean_r DESC{', ' + k if keys else ''}"
    )
    return lake.sql(query)


def rt_chart(df: pd.DataFrame, time_col: str, time_type: str) -> alt.Chart:
    """R_t (line) with its 95 % credible band (area) and R = 1 (dashed), one panel per series."""
    base = alt.Chart(df).encode(x=alt.X(f"{time_col}:{time_type}", title=time_col))
    band = base.mark_area(color="#4c78a8", opacity=0.25).encode(
        y=alt.Y("q025:Q", title="R_t"), y2="q975:Q", tooltip=[time_col, "mean_r", "q025", "q975"]
    )
    line = base.mark_line(color="#4c78a8").encode(y="mean_r:Q", tooltip=[time_col, "mean_r", "q025", "q975"])
    one = (
        alt.Chart(df)
        .transform_aggregate(n="count()", groupby=["series"])  # one horizontal rule per panel
        .mark_rule(color="#e45756", strokeDash=[4, 3])
        .encode(y=alt.datum(1))
    )
    layered = alt.layer(band, line, one).properties(width=260, height=130)
    return layered.facet(facet=alt.Facet("series:N", title=None, sort=None), columns=3).resolve_scale(y="independent")


@register_section("publichealth rt")
def _rt(lake: Lake, run: RunRecord, section: Section) -> None:
    for name in run.outputs:
        if not lake.exists(name) or lake.info(name).run_id != run.id:
            continue
        info = lake.info(name)
        keys = [str(k) for k in info.attrs.get("by", [])]
        time_col = "date_end" if "date_end" in info.schema else "t_end"
        time_type = "T" if str(info.schema.get(time_col, "")).startswith(("date", "timestamp")) else "Q"
        if time_type == "Q" and str(info.schema.get(time_col, "")) == "string":
            time_type = "O"
        counts = lake.sql(f"SELECT count(*) AS n, count(mean_r) AS estimated FROM {_q(name)}")
        latest = latest_table(lake, name, keys, time_col)
        params = run.params
        if params.get("si_distr"):
            si = f"non-parametric ({params['si_distr']})"
        else:
            si = f"parametric, mean {params.get('si_mean')}, sd {params.get('si_sd')}"
        section.key_values(
            {
                "method": "Cori et al. (2013), as EpiEstim estimate_R",
                "serial interval": si,
                "window": params.get("window", ""),
                "prior of R (mean, sd)": f"{params.get('mean_prior')}, {params.get('std_prior')}",
                "imported cases": params.get("imported_col") or "none (first day's cases)",
                "series": len(latest),
                "windows": int(counts["n"][0]),
                "windows left empty (t_end ≤ mean SI)": int(counts["n"][0] - counts["estimated"][0]),
            }
        )
        section.subsection("Latest R_t per series").table(
            latest, caption="The last window of each series: mean R_t and 95 % credible interval", max_rows=100
        )
        if not len(latest):
            continue
        top = latest.head(MAX_SERIES_CHARTS)
        rows = _rows_of(lake, name, keys, top, time_col)
        rows["series"] = _series_label(rows, keys)
        section.subsection("R_t over time").chart(
            rt_chart(rows, time_col, time_type),
            caption=f"R_t (line) with its 95 % credible interval (band) for the {len(top)} series with the highest "
            "latest R_t; the dashed line is R = 1",
        )


def _rows_of(lake: Lake, name: str, keys: list[str], which: pd.DataFrame, time_col: str) -> pd.DataFrame:
    """The estimated windows of the series in ``which`` (the last ones of each), in series then time order."""
    cols = [*keys, time_col, "mean_r", "q025", "q975"]
    select = ", ".join(_q(c) for c in dict.fromkeys(cols))
    with lake.connect() as con:
        con.register("__bl_which", which[keys] if keys else pd.DataFrame({"__x": [1]}))
        join = f"JOIN __bl_which USING ({', '.join(_q(k) for k in keys)})" if keys else ""
        part = f"PARTITION BY {', '.join(_q(k) for k in keys)} " if keys else ""
        order = ", ".join([*(_q(k) for k in keys), "t_end"])
        query = (
            f"SELECT {select} FROM (SELECT r.*, row_number() OVER ({part}ORDER BY t_end DESC) AS __bl_rank "
            f"FROM {_q(name)} r {join} WHERE mean_r IS NOT NULL) "
            f"WHERE __bl_rank <= {_MAX_WINDOWS_PER_SERIES} ORDER BY {order}"
        )
        return con.sql(query).df()


# --------------------------------------------------------------------------- demo


@register_demo(
    "Public health: the reproduction number R_t of pandemic flu in a school (2009) and of SARS in Hong Kong (2003) "
    "(real data, EpiEstim's Flu2009 and SARS2003; Cori et al.)"
)
def _rt_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.io import ingest_table
    from biolake.publichealth._rt_demo import epiestim_incidence, epiestim_si_distr
    from biolake.publichealth.rt import rt_job

    run_ids = []
    for name in ("flu2009", "sars2003"):
        csv = data_dir / f"{name}_incidence.csv"
        epiestim_incidence(name).to_csv(csv, index=False)
        si = data_dir / f"{name}_si_distr.csv"
        pd.DataFrame({"w": epiestim_si_distr(name)}).to_csv(si, index=False)
        info = ingest_table(lake, csv, name=f"{name}_incidence", progress=progress)
        run_id, _ = rt_job(
            lake,
            f"lake:{name}_incidence",
            out=data_dir / f"{name}_rt.csv",
            count_col="I",
            si_distr=si,
            progress=progress,
        )
        run_ids += [info.run_id or "", run_id]
    return run_ids
