"""Report sections of ``discovery trial design`` and ``discovery trial size``; and their demo step.

* ``trial design``: the design's characteristics (inflation factor, expected sample sizes
  relative to the fixed design), the per-look table and a boundary plot (critical values
  on the z scale against the information rate, with the nominal α per look).
* ``trial size``: the sample size table and a power curve (power against the total
  sample size, or the number of events for survival).
* ``trial simulate``: the operating characteristics (simulated and exact), the per-look table
  and stopping-probability bars; ``trial enrollment``: the time to target and the recruitment
  band; ``trial match``: the attrition funnel table and chart.
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

__all__ = ["boundary_chart", "enrollment_chart", "funnel_chart", "power_curve_chart", "stopping_chart"]

_SIZE_KEYS = (
    "endpoint",
    "alpha",
    "power",
    "sided",
    "allocation_ratio",
    "alternative",
    "stdev",
    "theta_h0",
    "normal_approximation",
    "pi1",
    "pi2",
    "risk_ratio",
    "hazard_ratio",
    "lambda2",
    "event_time",
    "type_of_computation",
    "accrual_time",
    "follow_up_time",
    "dropout_rate1",
    "dropout_rate2",
    "dropout_time",
)


def boundary_chart(table: pd.DataFrame, *, sided: int = 1, title: str = "") -> alt.Chart:
    """Critical values (z scale) against the information rate: the rejection region above (and below);
    futility bounds (when the design has them) below the continuation region."""
    df = table[["look", "information_rate", "critical_value", "nominal_alpha"]].copy()
    frames = [df.assign(boundary="efficacy (reject H0)")]
    if sided == 2:
        frames.append(df.assign(critical_value=-df["critical_value"], boundary="efficacy, lower (reject H0)"))
    if "futility_bound" in table.columns:
        frames.append(df.assign(critical_value=table["futility_bound"], boundary="futility (stop for futility)"))
    data = pd.concat(frames, ignore_index=True).rename(columns={"critical_value": "z"})
    data = data[np.isfinite(data["z"])]
    base = alt.Chart(data).encode(
        x=alt.X("information_rate:Q", title="information rate", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("z:Q", title="boundary (z)"),
        color=alt.Color(
            "boundary:N",
            scale=alt.Scale(
                domain=["efficacy (reject H0)", "efficacy, lower (reject H0)", "futility (stop for futility)"],
                range=["#e45756", "#e45756", "#4c78a8"],
            ),
            legend=alt.Legend(title=None, orient="bottom"),
        ),
        detail="boundary:N",
        tooltip=["boundary", "look", "information_rate", "z", "nominal_alpha"],
    )
    chart = base.mark_line() + base.mark_point(filled=True, size=60)
    return chart.properties(width=420, height=260, title=title or "Boundaries")


def power_curve_chart(curve: pd.DataFrame, *, n: float, x_title: str = "total sample size") -> alt.Chart:
    """Power against the sample size, with the chosen size marked."""
    line = (
        alt.Chart(curve)
        .mark_line(color="#4c78a8")
        .encode(
            x=alt.X("n:Q", title=x_title),
            y=alt.Y("power:Q", title="power", scale=alt.Scale(domain=[0, 1])),
            tooltip=["n", "power"],
        )
    )
    rule = alt.Chart(pd.DataFrame({"n": [n]})).mark_rule(color="#e45756", strokeDash=[4, 3]).encode(x="n:Q")
    return (line + rule).properties(width=420, height=260, title="Power curve")


def _own_outputs(lake: Lake, run: RunRecord) -> list[str]:
    return [n for n in run.outputs if lake.exists(n) and lake.info(n).run_id == run.id]


@register_section("discovery trial design")
def _design(lake: Lake, run: RunRecord, section: Section) -> None:
    chars: dict[str, Any] = dict(run.params.get("characteristics") or {})
    section.key_values(
        {
            "type of design": run.params.get("type_of_design", ""),
            "looks": run.params.get("kmax", ""),
            "alpha": run.params.get("alpha", ""),
            "sided": run.params.get("sided", ""),
            "gamma": run.params.get("gamma") if run.params.get("gamma") is not None else "",
            "beta": run.params.get("beta", ""),
            "beta spending": run.params.get("type_beta_spending") or "none",
            "binding futility": run.params.get("binding_futility", False),
            "inflation factor": f"{chars['inflation_factor']:.6f}" if "inflation_factor" in chars else "",
            "expected n under H0 / fixed": f"{chars['expected_n_h0']:.6f}" if "expected_n_h0" in chars else "",
            "expected n under H0.1 / fixed": f"{chars['expected_n_h01']:.6f}" if "expected_n_h01" in chars else "",
            "expected n under H1 / fixed": f"{chars['expected_n_h1']:.6f}" if "expected_n_h1" in chars else "",
        }
    )
    for name in _own_outputs(lake, run):
        table = lake.to_pandas(name)
        if "critical_value" not in table.columns:
            continue
        section.subsection("Boundaries").table(table, caption="One row per look", float_format="{:.6g}")
        section.subsection("Boundary plot").chart(
            boundary_chart(table, sided=int(run.params.get("sided", 1))),
            caption="Critical values on the z scale: the trial stops for efficacy when Z crosses the boundary",
        )


@register_section("discovery trial size")
def _size(lake: Lake, run: RunRecord, section: Section) -> None:
    from biolake.discovery.trials.size import power_curve

    options = {k: run.params[k] for k in _SIZE_KEYS if k in run.params}
    section.key_values({k: v for k, v in options.items() if v is not None})
    for name in _own_outputs(lake, run):
        section.subsection("Sample size").table(lake.to_pandas(name), caption="Each arm rounded up")
    fixed = run.params.get("fixed") or {}
    if fixed:
        curve = power_curve(options)
        survival = options.get("endpoint") == "survival"
        n = fixed.get("events_fixed") if survival else fixed.get("n1_fixed", 0) + fixed.get("n2_fixed", 0)
        section.subsection("Power curve").chart(
            power_curve_chart(curve, n=float(n), x_title="number of events" if survival else "total sample size"),
            caption="Power against the size (normal approximation of the test's information); "
            "the dashed line is the size found",
        )


# --------------------------------------------------------------------------- demo


@register_demo("Clinical trials: a 3-look O'Brien–Fleming-type design with non-binding futility, and a sample size")
def _trials_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.discovery.trials.design import design_job
    from biolake.discovery.trials.size import size_job

    run_design, *_ = design_job(
        lake,
        out=data_dir / "trial_design.csv",
        kmax=3,
        alpha=0.025,
        type_of_design="asOF",
        type_beta_spending="bsOF",
        summary=data_dir / "trial_design_summary.csv",
    )
    run_size, *_ = size_job(
        lake,
        out=data_dir / "trial_size.csv",
        endpoint="means",
        alternative=0.5,
        stdev=1.0,
        power=0.9,
        alpha=0.025,
        allocation_ratio=2.0,
    )
    return [run_design, run_size]


# --------------------------------------------------------------------------- simulate, enrollment, match


def stopping_chart(table: pd.DataFrame) -> alt.Chart:
    """Simulated probabilities of stopping at each look, for efficacy and for futility, under H0 and H1."""
    rows = []
    for _, r in table.iterrows():
        rows.append(
            {"hypothesis": r["hypothesis"], "look": int(r["look"]), "reason": "efficacy", "p": r["stop_efficacy"]}
        )
        rows.append(
            {"hypothesis": r["hypothesis"], "look": int(r["look"]), "reason": "futility / end", "p": r["stop_futility"]}
        )
    data = pd.DataFrame(rows)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("look:O", title="look"),
            y=alt.Y("p:Q", title="probability of stopping", stack="zero"),
            color=alt.Color(
                "reason:N",
                scale=alt.Scale(domain=["efficacy", "futility / end"], range=["#e45756", "#4c78a8"]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            column=alt.Column("hypothesis:N", title=None),
            tooltip=["hypothesis", "look", "reason", alt.Tooltip("p:Q", format=".4f")],
        )
        .properties(width=200, height=220)
    )


def enrollment_chart(curve: pd.DataFrame, *, target: int, level: float = 0.9) -> alt.LayerChart:
    """The recruitment band (prediction interval of the count over time), its median and the target."""
    base = alt.Chart(curve).encode(x=alt.X("time:Q", title="months"))
    band = base.mark_area(opacity=0.3, color="#4c78a8").encode(
        y=alt.Y("n_lower:Q", title="patients recruited"), y2="n_upper:Q"
    )
    median = base.mark_line(color="#4c78a8").encode(y="n_median:Q", tooltip=["time", "n_lower", "n_median", "n_upper"])
    rule = alt.Chart(pd.DataFrame({"n": [target]})).mark_rule(color="#e45756", strokeDash=[4, 3]).encode(y="n:Q")
    return (band + median + rule).properties(
        width=420, height=260, title=f"Recruitment: median and {level:.0%} prediction band"
    )


def funnel_chart(funnel: pd.DataFrame) -> alt.Chart:
    """Attrition funnel: persons remaining after each criterion, in order."""
    data = funnel.reset_index(drop=True).assign(step=lambda d: d.index)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("criterion:N", sort=alt.EncodingSortField("step", order="ascending"), title=None),
            x=alt.X("remaining:Q", title="persons remaining"),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=["all", "inclusion", "exclusion"], range=["#9d9d9d", "#4c78a8", "#e45756"]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=["criterion", "kind", "remaining", "removed"],
        )
        .properties(width=420, title="Attrition funnel")
    )


@register_section("discovery trial simulate")
def _simulate(lake: Lake, run: RunRecord, section: Section) -> None:
    p = run.params
    section.key_values(
        {
            "type of design": p.get("type_of_design", ""),
            "looks": p.get("kmax", ""),
            "alpha": p.get("alpha", ""),
            "sided": p.get("sided", ""),
            "beta spending": p.get("type_beta_spending") or "none",
            "endpoint": p.get("endpoint") or "design alternative (z scale)",
            "maximum n": f"{p['n_max']:.6g}" if "n_max" in p else "",
            "drift under H1": f"{p['drift']:.6g}" if "drift" in p else "",
            "iterations per hypothesis": p.get("iterations", ""),
            "seed": p.get("seed", ""),
            "patient level": p.get("patient_level", False),
        }
    )
    if p.get("summary"):
        section.subsection("Operating characteristics").table(
            pd.DataFrame(p["summary"]),
            caption="Rejection probability (type I error under H0, power under H1) and expected sample size: "
            "simulated, with its Monte Carlo SE, beside the exact values (recursive integration)",
            float_format="{:.6g}",
        )
    for name in _own_outputs(lake, run):
        table = lake.to_pandas(name)
        if "stop_efficacy" not in table.columns:
            continue
        section.subsection("Per look").table(table, caption="One row per hypothesis and look", float_format="{:.6g}")
        section.subsection("Stopping probabilities").chart(
            stopping_chart(table), caption="Where the simulated trials stop: for efficacy, or for futility / at the end"
        )


@register_section("discovery trial enrollment")
def _enrollment(lake: Lake, run: RunRecord, section: Section) -> None:
    p = run.params
    keys = ("sites", "rate", "shape", "target", "iterations", "seed", "level")
    section.key_values({k: p.get(k, "") for k in keys})
    if p.get("summary"):
        section.subsection("Time to target").table(
            pd.DataFrame(p["summary"]), caption="Months to recruit the target: median, prediction interval, mean"
        )
    for name in _own_outputs(lake, run):
        band = lake.to_pandas(name)
        if "n_median" not in band.columns:
            continue
        section.subsection("Recruitment band").chart(
            enrollment_chart(band, target=int(p["target"]), level=float(p.get("level", 0.9))),
            caption="Patients recruited over time (Poisson–gamma model): median, prediction band, target (dashed)",
        )


@register_section("discovery trial match")
def _match(lake: Lake, run: RunRecord, section: Section) -> None:
    p = run.params
    funnel = pd.DataFrame(p.get("funnel") or [])
    section.key_values(
        {
            "OMOP CDM": p.get("omop", ""),
            "criteria": p.get("criteria_file", ""),
            "index date": (p.get("criteria") or {}).get("index_date", ""),
            "eligible": int(funnel["remaining"].iloc[-1]) if len(funnel) else "",
        }
    )
    if len(funnel):
        section.subsection("Attrition funnel").table(funnel, caption="Persons remaining after each criterion, in order")
        section.subsection("Funnel chart").chart(
            funnel_chart(funnel), caption="The longest drop between bars is the criterion that costs most patients"
        )


@register_demo("Clinical trials: simulated operating characteristics, recruitment and eligibility screening")
def _trials_simulation_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.discovery.trials.design import design
    from biolake.discovery.trials.enrollment import enrollment_job
    from biolake.discovery.trials.match import match_job
    from biolake.discovery.trials.omop_synth import generate_cdm
    from biolake.discovery.trials.simulate import simulate_job

    d = design(kmax=3, alpha=0.025, type_of_design="asOF", type_beta_spending="bsOF")
    run_sim, *_ = simulate_job(
        lake, d, out=data_dir / "trial_simulate.csv", iterations=100_000, seed=1, endpoint="means", alternative=0.5
    )
    run_enr, *_ = enrollment_job(
        lake,
        out=data_dir / "trial_enrollment.csv",
        sites=20,
        rate=1.2,
        target=300,
        shape=2.0,
        site_start=np.linspace(0, 6, 20),
    )
    cdm = data_dir / "omop_demo"
    generate_cdm(cdm, persons=5000, seed=1)
    criteria = data_dir / "trial_criteria.yaml"
    criteria.write_text(
        "index_date: 2015-06-01\n"
        "inclusion:\n"
        "  - {name: observed 1 year, observation: {prior_days: 365}}\n"
        "  - {name: age 18-75, age: {min: 18, max: 75}}\n"
        "  - {name: diabetes, condition: {concepts: [1000], window: [-3650, 0]}}\n"
        "  - {name: HbA1c 7-10, measurement: {concepts: [8000], value: {min: 7, max: 10}}}\n"
        "exclusion:\n"
        "  - {name: chronic kidney disease, condition: {concepts: [2000]}}\n"
    )
    run_match, *_ = match_job(lake, omop=cdm, criteria=criteria, out=data_dir / "trial_eligible.csv")
    return [run_sim, run_enr, run_match]
