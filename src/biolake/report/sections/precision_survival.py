"""Report sections of ``precision risk survival`` and its demo step.

A survival report shows, from the run's result datasets:

* the counts (rows read, dropped, used, events) and, with a group, the log-rank test;
* Kaplan–Meier curves per group with their log-transformed 95 % bands (when ``--km`` was
  written);
* the Cox table and a forest plot of hazard ratios with their confidence intervals;
* the proportional-hazards test (when ``--zph`` was written).
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from biolake.lake import Lake, RunRecord
from biolake.lake.progress import Progress
from biolake.report.demo import register_demo
from biolake.report.html import Section
from biolake.report.runs import register_section

__all__ = ["demo_survival_cohort", "forest_chart", "km_chart", "km_steps"]

_MAX_KM_ROWS = 20_000


def km_steps(km: pd.DataFrame) -> pd.DataFrame:
    """The KM table with a starting row (time 0, survival 1) per group, for step plots."""
    groups = list(dict.fromkeys(km["group"].astype(str)))
    starts = pd.DataFrame({"group": groups, "time": 0.0, "survival": 1.0, "ci_lower": 1.0, "ci_upper": 1.0})
    body = km[["group", "time", "survival", "ci_lower", "ci_upper"]].copy()
    body["group"] = body["group"].astype(str)
    out = pd.concat([starts, body], ignore_index=True)
    out["order"] = out["group"].map({g: i for i, g in enumerate(groups)})
    return out.sort_values(["order", "time"], kind="stable").drop(columns="order").reset_index(drop=True)


def km_chart(km: pd.DataFrame, *, time_title: str = "time") -> alt.Chart:
    """Kaplan–Meier step curves per group with their confidence bands."""
    steps = km_steps(km)
    color = alt.Color("group:N", title="group", sort=None)
    base = alt.Chart(steps).encode(x=alt.X("time:Q", title=time_title), color=color)
    band = base.mark_area(interpolate="step-after", opacity=0.18).encode(
        y=alt.Y("ci_lower:Q", title="survival", scale=alt.Scale(domain=[0, 1])), y2="ci_upper:Q"
    )
    line = base.mark_line(interpolate="step-after").encode(
        y=alt.Y("survival:Q", scale=alt.Scale(domain=[0, 1])),
        tooltip=["group", "time", alt.Tooltip("survival:Q", format=".4f"), "ci_lower", "ci_upper"],
    )
    return alt.layer(band, line).properties(width=560, height=320)


def forest_chart(cox: pd.DataFrame) -> alt.Chart:
    """Hazard ratios (points) with their confidence intervals (rules) on a log scale."""
    data = cox[["term", "hazard_ratio", "ci_lower", "ci_upper", "p"]].copy()
    y = alt.Y("term:N", title=None, sort=None)
    scale = alt.Scale(type="log")
    rules = (
        alt.Chart(data)
        .mark_rule(color="#4c78a8")
        .encode(x=alt.X("ci_lower:Q", title="hazard ratio (log scale)", scale=scale), x2="ci_upper:Q", y=y)
    )
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=60, color="#1f4e79")
        .encode(
            x=alt.X("hazard_ratio:Q", scale=scale),
            y=y,
            tooltip=["term", alt.Tooltip("hazard_ratio:Q", format=".3f"), "ci_lower", "ci_upper", "p"],
        )
    )
    one = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 3], color="#888").encode(x="x:Q")
    return alt.layer(rules, points, one).properties(width=480, height=alt.Step(24))


def _outputs(lake: Lake, run: RunRecord) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in run.outputs:
        if not lake.exists(name):
            continue
        info = lake.info(name)
        if info.run_id != run.id:
            continue
        kind = str(info.attrs.get("table", ""))
        if kind:
            found[kind] = name
    return found


@register_section("precision risk survival")
def _survival(lake: Lake, run: RunRecord, section: Section) -> None:
    outputs = _outputs(lake, run)
    if not outputs:
        return
    attrs = lake.info(next(iter(outputs.values()))).attrs
    facts = {
        "data": run.params.get("data", ""),
        "time / event": f"{attrs.get('time', '')} / {attrs.get('event', '')}",
        "rows read": attrs.get("rows"),
        "rows dropped (missing values)": attrs.get("dropped"),
        "rows used": attrs.get("used"),
        "events": attrs.get("events"),
    }
    if attrs.get("group"):
        facts["group"] = attrs.get("group")
    if attrs.get("logrank_chisq") is not None:
        facts["log-rank chi-square (df)"] = f"{attrs['logrank_chisq']:.4g} ({attrs.get('logrank_df')})"
        facts["log-rank p"] = f"{attrs['logrank_p']:.4g}"
    if attrs.get("iterations") is not None:
        facts["Cox iterations"] = attrs.get("iterations")
        facts["Cox log likelihood (null → model)"] = f"{attrs.get('loglik_null'):.6g} → {attrs.get('loglik'):.6g}"
    if attrs.get("concordance") is not None:
        facts["concordance (Harrell's C of the Cox linear predictor)"] = f"{attrs['concordance']:.4f}"
    section.key_values(facts)
    if "km" in outputs:
        km = lake.to_pandas(outputs["km"])
        sub = section.subsection("Kaplan–Meier curves")
        sub.chart(
            km_chart(km.head(_MAX_KM_ROWS), time_title=str(attrs.get("time", "time"))),
            caption="Kaplan–Meier estimates per group with log-transformed 95 % confidence bands (R survfit's)",
        )
        counts = km.groupby("group", sort=False).agg(events=("n_event", "sum"), at_start=("n_risk", "max"))
        sub.table(counts.reset_index(), caption="Events per group")
    if "cox" in outputs:
        cox = lake.to_pandas(outputs["cox"])
        if len(cox):
            sub = section.subsection("Cox proportional hazards (Efron ties)")
            sub.table(cox, caption="se: model SE; robust_se: sandwich SE (R coxph robust = TRUE); z, p use se")
            sub.chart(forest_chart(cox), caption="Hazard ratios with 95 % confidence intervals")
    if "zph" in outputs:
        section.subsection("Proportional hazards test (cox.zph, KM time transform)").table(
            lake.to_pandas(outputs["zph"])
        )
    if "logrank" in outputs:
        section.subsection("Log-rank test").table(lake.to_pandas(outputs["logrank"]))


# --------------------------------------------------------------------------- demo


def demo_survival_cohort(n: int = 1_200, *, seed: int = 20261127) -> pd.DataFrame:
    """A deterministic synthetic trial: arm, age, sex, stage (text), months of follow-up, death."""
    rng = np.random.default_rng(seed)
    arm = rng.choice(["control", "treatment"], n)
    age = rng.normal(62, 10, n).clip(30, 90).round(0)
    sex = rng.choice(["F", "M"], n)
    stage = rng.choice(["I", "II", "III"], n, p=[0.4, 0.35, 0.25])
    lp = -0.45 * (arm == "treatment") + 0.03 * (age - 62) + 0.2 * (sex == "M") + 0.5 * (stage == "II")
    lp = lp + 1.1 * (stage == "III")
    event_time = rng.exponential(30 * np.exp(-lp))
    censor = rng.uniform(6, 60, n)
    months = np.minimum(event_time, censor).round(1).clip(0.1, None)
    return pd.DataFrame(
        {
            "patient_id": [f"S{i:05d}" for i in range(1, n + 1)],
            "arm": arm,
            "age": age.astype(int),
            "sex": sex,
            "stage": stage,
            "months": months,
            "death": (event_time <= censor).astype(int),
        }
    )


@register_demo("Personalized medicine: survival of a synthetic trial (Kaplan–Meier, log-rank, Cox)")
def _survival_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.precision.survival import survival_job

    csv = data_dir / "trial_survival.csv"
    demo_survival_cohort().to_csv(csv, index=False)
    run_id, _ = survival_job(
        lake,
        csv,
        out=data_dir / "trial_cox.csv",
        time="months",
        event="death",
        covars=["arm", "age", "sex", "stage"],
        group="arm",
        km_out=data_dir / "trial_km.csv",
        logrank_out=data_dir / "trial_logrank.csv",
        zph_out=data_dir / "trial_zph.csv",
        progress=progress,
    )
    return [run_id]
