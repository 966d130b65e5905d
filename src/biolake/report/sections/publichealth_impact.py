"""Report sections of ``publichealth impact its|did|synth`` and ``publichealth seir``, and the ITS demo step.

* ITS: the effects table (level and slope change with CIs) and, per series (up to
  :data:`MAX_SERIES_CHARTS`), the observed series, the fitted model and the counterfactual
  (no intervention) with its band after the intervention.
* DiD: the effects table; for an event study the event-study plot (estimates with CIs by
  event time, reference −1), for TWFE the mean outcome of treated and comparison units.
* Synthetic control: weights and the effect; the treated unit against its synthetic
  control; the gaps of the treated unit and of the placebos.
* SEIR: the parameter table; observed incidence, the fit, the projection and its bands.
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

__all__ = ["MAX_SERIES_CHARTS", "counterfactual_chart", "event_study_chart", "seir_chart", "synth_chart"]

MAX_SERIES_CHARTS = 6


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _outputs(lake: Lake, run: RunRecord) -> dict[str, str]:
    """Result datasets of the run by role (``effects``, ``series``)."""
    found: dict[str, str] = {}
    for name in run.outputs:
        if lake.exists(name) and lake.info(name).run_id == run.id:
            role = lake.info(name).attrs.get("role_impact")
            if role:
                found[str(role)] = name
    return found


def _table(lake: Lake, name: str) -> pd.DataFrame:
    return lake.sql(f"SELECT * FROM {_q(name)}")


def _time_type(df: pd.DataFrame, col: str) -> str:
    s = df[col]
    if pd.api.types.is_datetime64_any_dtype(s) or (len(s) and hasattr(s.iloc[0], "isoformat")):
        return "T"
    return "Q" if pd.api.types.is_numeric_dtype(s) else "O"


def counterfactual_chart(df: pd.DataFrame, time_col: str) -> alt.LayerChart:
    """Observed (points), fitted (line) and counterfactual (dashed) with its band after the intervention."""
    tt = _time_type(df, time_col)
    x = alt.X(f"{time_col}:{tt}", title=time_col)
    base = alt.Chart(df).encode(x=x)
    band = (
        base.transform_filter("datum.post")
        .mark_area(color="#f58518", opacity=0.2)
        .encode(y=alt.Y("cf_lower:Q", title="outcome"), y2="cf_upper:Q")
    )
    obs = base.mark_circle(color="#333333", size=18).encode(y="observed:Q", tooltip=[time_col, "observed", "fitted"])
    fit = base.mark_line(color="#4c78a8").encode(y="fitted:Q")
    cf = base.transform_filter("datum.post").mark_line(color="#f58518", strokeDash=[5, 3]).encode(y="counterfactual:Q")
    return alt.layer(band, obs, fit, cf).properties(width=520, height=220)


def event_study_chart(df: pd.DataFrame) -> alt.LayerChart:
    """Estimates by event time with CIs; zero line; the reference period −1 has no interval."""
    base = alt.Chart(df).encode(x=alt.X("event_time:Q", title="periods relative to treatment"))
    bars = base.mark_rule(color="#4c78a8").encode(y=alt.Y("ci_lower:Q", title="effect"), y2="ci_upper:Q")
    pts = base.mark_point(filled=True, color="#4c78a8").encode(
        y="estimate:Q", tooltip=["term", "estimate", "se", "ci_lower", "ci_upper", "p"]
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#888888").encode(y="y:Q")
    start = alt.Chart(pd.DataFrame({"x": [-0.5]})).mark_rule(color="#e45756", strokeDash=[4, 3]).encode(x="x:Q")
    return alt.layer(zero, start, bars, pts).properties(width=520, height=240)


def synth_chart(df: pd.DataFrame) -> alt.HConcatChart:
    """Left: treated vs synthetic; right: gaps of the treated unit (colour) and the placebos (grey)."""
    tt = _time_type(df, "time")
    treated = df[df.role == "treated"].melt(
        id_vars=["time"], value_vars=["observed", "counterfactual"], var_name="series", value_name="outcome"
    )
    left = (
        alt.Chart(treated)
        .mark_line()
        .encode(
            x=alt.X(f"time:{tt}", title="time"),
            y=alt.Y("outcome:Q"),
            color=alt.Color("series:N", title=None),
            strokeDash="series:N",
        )
        .properties(width=300, height=220, title="treated vs synthetic")
    )
    right = (
        alt.Chart(df)
        .mark_line()
        .encode(
            x=alt.X(f"time:{tt}", title="time"),
            y=alt.Y("gap:Q", title="observed − synthetic"),
            detail="unit:N",
            color=alt.condition("datum.role == 'treated'", alt.value("#e45756"), alt.value("#bbbbbb")),
            tooltip=["unit", "time", "gap"],
        )
        .properties(width=300, height=220, title="gaps: treated and placebos")
    )
    return alt.hconcat(left, right)


def seir_chart(df: pd.DataFrame, time_col: str) -> alt.LayerChart:
    """Observed incidence (points), model incidence (line), prediction band; projection shaded differently."""
    tt = _time_type(df, time_col)
    base = alt.Chart(df).encode(x=alt.X(f"{time_col}:{tt}", title=time_col))
    band = base.mark_area(opacity=0.2, color="#4c78a8").encode(y=alt.Y("lower:Q", title="incidence"), y2="upper:Q")
    mband = base.mark_area(opacity=0.35, color="#4c78a8").encode(y="mean_lower:Q", y2="mean_upper:Q")
    line = base.mark_line(color="#4c78a8").encode(y="fitted:Q", strokeDash=alt.StrokeDash("projected:N"))
    obs = base.mark_circle(color="#333333", size=16).encode(y="observed:Q", tooltip=[time_col, "observed", "fitted"])
    return alt.layer(band, mband, line, obs).properties(width=520, height=220)


def _keys(df: pd.DataFrame, known: set[str]) -> list[str]:
    return [c for c in df.columns if c not in known]


@register_section("publichealth impact its")
def _its(lake: Lake, run: RunRecord, section: Section) -> None:
    out = _outputs(lake, run)
    p = run.params
    section.key_values(
        {
            "model": p.get("model"),
            "intervention": p.get("intervention"),
            "seasonality": p.get("season"),
            "Newey-West lag": p.get("lag") if p.get("model") == "ols" else "n/a",
        }
    )
    if "effects" in out:
        eff = _table(lake, out["effects"])
        section.subsection("Level and slope change").table(
            eff[eff.term.isin(["level", "slope"])], caption="level: step at the intervention; slope: change of trend"
        )
        section.subsection("All coefficients").table(eff, max_rows=200)
    if "series" in out:
        ser = _table(lake, out["series"])
        time_col = p.get("date_col") or "date"
        keys = _keys(ser, {time_col, "observed", "fitted", "counterfactual", "cf_lower", "cf_upper", "post"})
        groups = list(ser.groupby(keys, sort=True)) if keys else [("all", ser)]
        sub = section.subsection("Counterfactual")
        for key, part in groups[:MAX_SERIES_CHARTS]:
            sub.chart(
                counterfactual_chart(part, time_col),
                caption=f"{key}: observed (points), fitted (line), counterfactual without the intervention "
                "(dashed) and its band",
            )


@register_section("publichealth impact did")
def _did(lake: Lake, run: RunRecord, section: Section) -> None:
    out = _outputs(lake, run)
    section.key_values(
        {
            "design": run.params.get("design"),
            "clustered by": run.params.get("unit_col"),
            "type": run.params.get("hc_type"),
        }
    )
    if "effects" in out:
        eff = _table(lake, out["effects"])
        section.subsection("Effects").table(eff, max_rows=200)
        if "event_time" in eff.columns:
            section.subsection("Event study").chart(
                event_study_chart(eff), caption="Effect by period relative to treatment with 95 % CIs (reference −1)"
            )
    if "series" in out:
        ser = _table(lake, out["series"])
        tt = _time_type(ser, "time")
        chart = (
            alt.Chart(ser)
            .mark_line(point=True)
            .encode(x=alt.X(f"time:{tt}"), y=alt.Y("mean_outcome:Q"), color="group:N")
            .properties(width=520, height=220)
        )
        section.subsection("Mean outcome by group").chart(chart)


@register_section("publichealth impact synth")
def _synth(lake: Lake, run: RunRecord, section: Section) -> None:
    out = _outputs(lake, run)
    section.key_values(
        {
            "treated": run.params.get("treated"),
            "intervention": run.params.get("intervention"),
            "V": "identity on the pre-period outcomes",
        }
    )
    if "effects" in out:
        section.subsection("Effect, fit and weights").table(_table(lake, out["effects"]), max_rows=200)
    if "series" in out:
        section.subsection("Synthetic control").chart(
            synth_chart(_table(lake, out["series"])),
            caption="The treated unit and its synthetic control; gaps of "
            "the treated unit (red) and of the in-space placebos (grey)",
        )


@register_section("publichealth seir")
def _seir(lake: Lake, run: RunRecord, section: Section) -> None:
    out = _outputs(lake, run)
    p = run.params
    section.key_values(
        {
            "model": p.get("model"),
            "observation": p.get("observation"),
            "population": p.get("population"),
            "horizon": p.get("horizon"),
        }
    )
    if "effects" in out:
        section.subsection("Parameters").table(_table(lake, out["effects"]), max_rows=200)
    if "series" in out:
        ser = _table(lake, out["series"])
        time_col = p.get("date_col") or ("date" if "date" in ser.columns else "t")
        keys = _keys(
            ser, {"t", time_col, "observed", "fitted", "mean_lower", "mean_upper", "lower", "upper", "projected"}
        )
        groups = list(ser.groupby(keys, sort=True)) if keys else [("all", ser)]
        sub = section.subsection("Fit and projection")
        for key, part in groups[:MAX_SERIES_CHARTS]:
            sub.chart(
                seir_chart(part, time_col),
                caption=f"{key}: observed (points), model incidence (line; dashed "
                "in the projection), band of the incidence (dark) and prediction band of the counts (light)",
            )


# --------------------------------------------------------------------------- demo


@register_demo("Public health: an intervention's impact by interrupted time series (Poisson, seasonal, as R glm)")
def _its_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.io import ingest_table
    from biolake.publichealth._impact_demo import demo_monthly_counts
    from biolake.publichealth.impact import impact_job

    csv = data_dir / "monthly_admissions.csv"
    demo_monthly_counts().to_csv(csv, index=False)
    info = ingest_table(lake, csv, name="monthly_admissions", progress=progress)
    run_id, _ = impact_job(
        lake,
        "its",
        "lake:monthly_admissions",
        out=data_dir / "its_effects.csv",
        series_out=data_dir / "its_series.csv",
        intervention="2019-01-01",
        outcome_col="count",
        date_col="date",
        by=["region"],
        model="quasipoisson",
        season="fourier",
        harmonics=2,
        period=12.0,
        population_col="population",
    )
    return [info.run_id or "", run_id]
