"""Report section of ``precision cohort`` and its demo step.

A cohort-study report shows, from the run's result datasets: the study facts (cohort sizes,
PS model, empirical null), the estimate table, the attrition table, the preference-score
distribution of the two cohorts (CohortMethod's ``plotPs``) and the covariate balance
scatter plot, |SMD| before vs after matching/stratification with the 0.1 line
(CohortMethod's ``plotCovariateBalanceScatterPlot``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from biolake.lake import Lake, RunRecord
from biolake.lake.progress import Progress
from biolake.report.demo import register_demo
from biolake.report.html import Section
from biolake.report.runs import register_section

__all__ = ["balance_chart", "ps_chart"]

_MAX_POINTS = 20_000


def balance_chart(balance: pd.DataFrame) -> alt.Chart:
    """|SMD| before (x) vs after (y) adjustment, one point per covariate, with the 0.1 threshold."""
    data = balance[["covariate_name", "std_diff_before", "std_diff_after"]].dropna().head(_MAX_POINTS).copy()
    data["before"] = data["std_diff_before"].abs()
    data["after"] = data["std_diff_after"].abs()
    top = float(max(data["before"].max() if len(data) else 0.0, data["after"].max() if len(data) else 0.0, 0.15))
    scale = alt.Scale(domain=[0, top * 1.05])
    points = (
        alt.Chart(data)
        .mark_circle(size=28, opacity=0.5, color="#1f4e79")
        .encode(
            x=alt.X("before:Q", title="|SMD| before", scale=scale),
            y=alt.Y("after:Q", title="|SMD| after", scale=scale),
            tooltip=["covariate_name", alt.Tooltip("before:Q", format=".3f"), alt.Tooltip("after:Q", format=".3f")],
        )
    )
    line = alt.Chart(pd.DataFrame({"y": [0.1]})).mark_rule(strokeDash=[4, 3], color="#c44").encode(y="y:Q")
    return alt.layer(points, line).properties(width=380, height=380)


def ps_chart(hist: list[dict[str, Any]]) -> alt.Chart:
    """Preference-score densities of the target and comparator cohorts before adjustment."""
    data = pd.DataFrame(hist)
    return (
        alt.Chart(data)
        .mark_area(opacity=0.45, interpolate="step")
        .encode(
            x=alt.X("x:Q", title="preference score", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("density:Q", title="density", stack=None),
            color=alt.Color("group:N", title="cohort"),
        )
        .properties(width=480, height=240)
    )


def _outputs(lake: Lake, run: RunRecord) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in run.outputs:
        if lake.exists(name):
            info = lake.info(name)
            if info.run_id == run.id and info.attrs.get("table"):
                found[str(info.attrs["table"])] = name
    return found


@register_section("precision cohort")
def _cohort(lake: Lake, run: RunRecord, section: Section) -> None:
    outputs = _outputs(lake, run)
    if "estimates" not in outputs:
        return
    attrs = lake.info(outputs["estimates"]).attrs
    facts = {
        "OMOP CDM": run.params.get("omop", ""),
        "target / comparator": f"{attrs.get('target_name')} ({attrs.get('target_persons')}) / "
        f"{attrs.get('comparator_name')} ({attrs.get('comparator_persons')})",
        "adjustment": f"1:{run.params['ps_match']} matching, caliper {run.params.get('caliper')}"
        if run.params.get("ps_match")
        else f"{run.params.get('ps_strata')} PS strata",
        "covariates": attrs.get("covariates"),
        "PS model": f"L1 logistic, C = {attrs.get('ps_C')}, {attrs.get('ps_nonzero')} non-zero coefficients",
        "equipoise (preference score in [0.3, 0.7])": f"{attrs.get('equipoise', float('nan')):.3f}",
    }
    if attrs.get("null_controls"):
        facts["empirical null (log HR)"] = (
            f"mean {attrs['null_mean']:.3f}, SD {attrs['null_sd']:.3f} from {attrs['null_controls']} negative controls"
        )
    section.key_values(facts)
    est = lake.to_pandas(outputs["estimates"])
    section.subsection("Hazard ratios (Cox, stratified by matched set or stratum)").table(
        est, caption="ir: per 1,000 person-years; calibrated_*: empirical calibration with the negative controls"
    )
    if "attrition" in outputs:
        section.subsection("Attrition").table(lake.to_pandas(outputs["attrition"]))
    if attrs.get("ps_hist"):
        section.subsection("Propensity score distribution").chart(
            ps_chart(attrs["ps_hist"]), caption="Preference score (PS with the target prevalence removed), per cohort"
        )
    if "balance" in outputs:
        bal = lake.to_pandas(outputs["balance"])
        first = bal[bal["outcome"] == bal["outcome"].iloc[0]] if len(bal) else bal
        sub = section.subsection("Covariate balance")
        sub.chart(balance_chart(first), caption="Standardized mean differences before vs after; dashed: 0.1")
        worst = first.reindex(first["std_diff_after"].abs().sort_values(ascending=False).index).head(20)
        sub.table(worst, caption="The 20 covariates with the largest |SMD| after adjustment")


@register_demo("Real-world evidence: new-user cohort study on a synthetic OMOP CDM (PS matching, balance, Cox HR)")
def _cohort_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.precision.cohort import cohort_job, generate_cohort_cdm
    from biolake.precision.cohort.synth import COMPARATOR, NEGATIVE_CONTROLS, OUTCOME, TARGET

    cdm = data_dir / "cohort_cdm"
    generate_cohort_cdm(cdm, persons=2000, hazard_ratio=2.0, seed=20261127)
    study = {
        "target": {"name": "targetine", "concepts": [TARGET]},
        "comparator": {"name": "comparazole", "concepts": [COMPARATOR]},
        "outcomes": [{"name": "gi_bleed", "concepts": [OUTCOME]}],
        "negative_controls": [{"name": f"nc{i}", "concepts": [c]} for i, c in enumerate(NEGATIVE_CONTROLS, 1)],
        "ps": {"match": 1, "c": 1.0},
    }
    run_id, _ = cohort_job(lake, cdm, study, out=data_dir / "cohort_estimates.csv", progress=progress)
    return [run_id]
