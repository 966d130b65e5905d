"""Report sections of ``publichealth rates``, ``two-by-two`` and ``risk-factors``, and the risk-factor demo step.

* rates: the settings, the result table and a chart of each group's rate with its CI;
* two-by-two: the settings, the result table and a forest plot of the risk and odds
  ratios (crude, per stratum, Mantel–Haenszel) on a log scale;
* risk-factors: the settings (model, rows used, theta), the table of terms and a forest
  plot of the adjusted ratios (and Mantel–Haenszel ones) with their CIs on a log scale,
  the null value 1 as a dashed line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from biolake.lake import Lake, RunRecord
from biolake.lake.progress import Progress
from biolake.report.demo import register_demo
from biolake.report.html import Section
from biolake.report.runs import register_section

__all__ = ["forest_chart", "rate_chart"]

_MAX_ROWS = 200


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _outputs(lake: Lake, run: RunRecord) -> list[str]:
    return [n for n in run.outputs if lake.exists(n) and lake.info(n).run_id == run.id]


def forest_chart(df: pd.DataFrame, *, label: str = "label", color: str | None = None) -> alt.LayerChart:
    """Estimates (points) with CIs (rules) on a log x-axis, one row per ``label``, and the null line at 1."""
    df = df[np.isfinite(df["estimate"]) & (df["estimate"] > 0)].copy()
    df["ci_lower"] = df["ci_lower"].where(np.isfinite(df["ci_lower"]) & (df["ci_lower"] > 0), df["estimate"])
    df["ci_upper"] = df["ci_upper"].where(np.isfinite(df["ci_upper"]), df["estimate"])
    order = list(dict.fromkeys(df[label]))
    x = alt.X("estimate:Q", scale=alt.Scale(type="log"), title="estimate (log scale) with CI")
    y = alt.Y(f"{label}:N", sort=order, title=None)
    tooltip = [label, "estimate", "ci_lower", "ci_upper", "p"]
    enc: dict[str, Any] = {"color": alt.Color(f"{color}:N")} if color else {}
    rule = (
        alt.Chart(df)
        .mark_rule()
        .encode(x=alt.X("ci_lower:Q", scale=alt.Scale(type="log")), x2="ci_upper:Q", y=y, **enc)
    )
    point = alt.Chart(df).mark_point(filled=True, size=60).encode(x=x, y=y, tooltip=tooltip, **enc)
    null = alt.Chart(pd.DataFrame({"one": [1.0]})).mark_rule(color="#888", strokeDash=[4, 3]).encode(x="one:Q")
    return alt.layer(rule, point, null).properties(width=420, height=max(60, 22 * len(order)))


def rate_chart(df: pd.DataFrame, rate_col: str, group: str) -> alt.LayerChart:
    """Rates (points) with their CIs (rules), one row per group."""
    y = alt.Y(f"{group}:N", sort=list(df[group]), title=None)
    rule = alt.Chart(df).mark_rule().encode(x=alt.X("ci_lower:Q", title=rate_col), x2="ci_upper:Q", y=y)
    point = (
        alt.Chart(df)
        .mark_point(filled=True, size=60)
        .encode(x=f"{rate_col}:Q", y=y, tooltip=[group, rate_col, "ci_lower", "ci_upper"])
    )
    return alt.layer(rule, point).properties(width=420, height=max(60, 22 * len(df)))


def _settings(section: Section, params: dict[str, Any], keys: list[str]) -> None:
    section.key_values({k: params.get(k) if params.get(k) is not None else "" for k in keys})


@register_section("publichealth rates")
def _rates(lake: Lake, run: RunRecord, section: Section) -> None:
    params = run.params
    _settings(
        section, params, ["method", "count_col", "population_col", "by", "age_col", "standard", "per", "conf_level"]
    )
    for name in _outputs(lake, run):
        df = lake.sql(f"SELECT * FROM {_q(name)} LIMIT {_MAX_ROWS}")
        section.table(
            df, caption=f"Rates per {params.get('per')} with {params.get('conf_level')} CIs", max_rows=_MAX_ROWS
        )
        by = [str(b) for b in params.get("by") or []]
        rate_col = "rate" if "rate" in df else "adj_rate"
        df = df.copy()
        df["group"] = df[by].astype(str).agg(" / ".join, axis=1) if by else "all"
        section.subsection("Rates with confidence intervals").chart(
            rate_chart(df, rate_col, "group"), caption=f"{rate_col} per {params.get('per')} (point) and CI (line)"
        )


@register_section("publichealth two-by-two")
def _two_by_two(lake: Lake, run: RunRecord, section: Section) -> None:
    params = run.params
    _settings(section, params, ["exposure", "outcome", "strata", "conf_level"])
    for name in _outputs(lake, run):
        df = lake.sql(f"SELECT * FROM {_q(name)} LIMIT 5000")
        section.table(df, caption="2×2 measures: a/b exposed cases/non-cases, c/d unexposed", max_rows=_MAX_ROWS)
        ratios = df[df["measure"].isin(["risk_ratio", "odds_ratio"]) & df["method"].isin(["wald", "mh"])].copy()
        ratios["label"] = ratios["exposure"] + " · " + ratios["stratum"] + " · " + ratios["measure"]
        if len(ratios):
            section.subsection("Forest plot").chart(
                forest_chart(ratios, color="measure"),
                caption="Risk and odds ratios (Wald; Mantel–Haenszel pooled) with CIs; dashed line: no association",
            )


@register_section("publichealth risk-factors")
def _risk_factors(lake: Lake, run: RunRecord, section: Section) -> None:
    params = run.params
    for name in _outputs(lake, run):
        info = lake.info(name)
        facts = {**{k: params.get(k) for k in ("model", "outcome", "exposures", "strata", "person_time")}}
        facts.update({k: v for k, v in info.attrs.items() if k in ("rows", "rows_used", "theta", "iterations")})
        section.key_values({k: ("" if v is None else v) for k, v in facts.items()})
        df = lake.sql(f"SELECT * FROM {_q(name)}")
        section.table(df, caption="One row per term: estimate = exp(coef), Wald CI", max_rows=_MAX_ROWS)
        terms = df[df["term"] != "(Intercept)"].copy()
        terms["label"] = np.where(
            terms["analysis"] == "mantel-haenszel", terms["term"] + " (MH " + terms["measure"] + ")", terms["term"]
        )
        if len(terms):
            section.subsection("Forest plot").chart(
                forest_chart(terms, color="analysis"),
                caption="Adjusted ratios (and Mantel–Haenszel ones) with CIs on a log scale; dashed line: ratio 1",
            )


@register_demo("Public health: risk factors of a disease in a cohort (Mantel–Haenszel, logistic and Poisson, as R)")
def _risk_factors_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.io import ingest_table
    from biolake.publichealth._epi_demo import demo_cohort
    from biolake.publichealth.riskfactors import risk_factors_job

    csv = data_dir / "cohort.csv"
    demo_cohort().to_csv(csv, index=False)
    info = ingest_table(lake, csv, name="cohort", progress=progress)
    run_id, _ = risk_factors_job(
        lake,
        "lake:cohort",
        out=data_dir / "cohort_rate_ratios.csv",
        outcome="events",
        exposures=["smoker", "obese", "vaccinated"],
        person_time="years",
        model="poisson",
    )
    run_or, _ = risk_factors_job(
        lake,
        "lake:cohort",
        out=data_dir / "cohort_odds_ratios.csv",
        outcome="case",
        exposures=["smoker", "obese", "vaccinated"],
        strata="age_group",
    )
    return [info.run_id or "", run_id, run_or]
