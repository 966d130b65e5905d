"""Report section of ``precision risk train`` and its demo step.

From the run's out-of-fold predictions and metrics table:

* binary models: the metrics with bootstrap intervals, ROC and precision–recall curves, a
  calibration plot (deciles of predicted risk with their observed rates, a lowess smooth as
  ``rms::val.prob`` draws it, and the diagonal) and the decision curve (net benefit of the
  model, of treating all and of treating none);
* Cox models: the metrics and the time-dependent AUC (IPCW, cumulative/dynamic) over time.
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
from biolake.stats import metrics as mt

__all__ = [
    "calibration_chart",
    "decision_chart",
    "demo_clinical_cohort",
    "pr_chart",
    "roc_chart",
    "time_auc_chart",
]

_SIZE = {"width": 320, "height": 300}
_MAX_POINTS = 1_000


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    """At most ``_MAX_POINTS`` evenly spaced rows (first and last kept), to keep reports small."""
    if len(frame) <= _MAX_POINTS:
        return frame
    return frame.iloc[np.unique(np.linspace(0, len(frame) - 1, _MAX_POINTS).round().astype(int))]


def roc_chart(y: np.ndarray, p: np.ndarray) -> alt.Chart:
    """ROC curve with the chance diagonal."""
    c = mt.roc_curve(y, p)
    data = _thin(pd.DataFrame({"false positive rate": c["fpr"], "true positive rate": c["tpr"]}))
    line = (
        alt.Chart(data).mark_line(interpolate="step-after").encode(x="false positive rate:Q", y="true positive rate:Q")
    )
    diag = (
        alt.Chart(pd.DataFrame({"a": [0.0, 1.0]})).mark_line(strokeDash=[4, 3], color="#999").encode(x="a:Q", y="a:Q")
    )
    return alt.layer(diag, line).properties(title="ROC curve", **_SIZE)


def pr_chart(y: np.ndarray, p: np.ndarray) -> alt.Chart:
    """Precision–recall curve with the prevalence line."""
    c = mt.pr_curve(y, p)
    data = _thin(
        pd.DataFrame({"recall": np.r_[0.0, c["recall"]], "precision": np.r_[c["precision"][0], c["precision"]]})
    )
    line = (
        alt.Chart(data)
        .mark_line(interpolate="step-before")
        .encode(x="recall:Q", y=alt.Y("precision:Q", scale=alt.Scale(domain=[0, 1])))
    )
    base = alt.Chart(pd.DataFrame({"p": [float(np.mean(y))]})).mark_rule(strokeDash=[4, 3], color="#999")
    return alt.layer(base.encode(y="p:Q"), line).properties(title="Precision–recall curve", **_SIZE)


def calibration_chart(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> alt.Chart:
    """Binned observed vs predicted risk, a lowess smooth and the ideal diagonal."""
    b = mt.calibration_bins(y, p, bins=bins)
    s = mt.lowess_smooth(p, y)
    binned = pd.DataFrame({"predicted": b["predicted"], "observed": b["observed"], "n": b["n"]})
    smooth = pd.DataFrame({"predicted": s["x"], "observed": np.clip(s["y"], 0, 1)})
    scale = alt.Scale(domain=[0, 1])
    diag = alt.Chart(pd.DataFrame({"a": [0.0, 1.0]})).mark_line(strokeDash=[4, 3], color="#999")
    points = (
        alt.Chart(binned)
        .mark_point(filled=True, size=60, color="#1f4e79")
        .encode(
            x=alt.X("predicted:Q", title="predicted risk", scale=scale),
            y=alt.Y("observed:Q", title="observed proportion", scale=scale),
            tooltip=["predicted", "observed", "n"],
        )
    )
    line = alt.Chart(smooth).mark_line(color="#e45756").encode(x="predicted:Q", y="observed:Q")
    return alt.layer(diag.encode(x="a:Q", y="a:Q"), line, points).properties(title="Calibration", **_SIZE)


def decision_chart(y: np.ndarray, p: np.ndarray) -> alt.Chart:
    """Net benefit of the model, treat all and treat none over thresholds 1 %–99 % of the risk range."""
    hi = min(0.99, max(0.05, float(np.quantile(p, 0.99))))
    t = np.linspace(0.01, hi, 60)
    nb = mt.net_benefit(y, p, t)
    prev = float(np.mean(y))
    data = pd.concat(
        [
            pd.DataFrame({"threshold": t, "net benefit": nb["model"], "strategy": "model"}),
            pd.DataFrame({"threshold": t, "net benefit": nb["treat_all"], "strategy": "treat all"}),
            pd.DataFrame({"threshold": t, "net benefit": 0.0, "strategy": "treat none"}),
        ]
    )
    data = data[data["net benefit"] >= -0.05 * max(prev, 0.01)]
    return (
        alt.Chart(data)
        .mark_line()
        .encode(x="threshold:Q", y="net benefit:Q", color=alt.Color("strategy:N", sort=None))
        .properties(title="Decision curve", width=420, height=300)
    )


def time_auc_chart(time: np.ndarray, event: np.ndarray, marker: np.ndarray) -> alt.Chart:
    """Time-dependent AUC (IPCW) on a grid between the 10th and 90th percentiles of event times."""
    t_ev = time[event.astype(bool)]
    grid = np.unique(np.quantile(t_ev, np.linspace(0.1, 0.9, 25)))
    data = pd.DataFrame({"time": grid, "AUC(t)": mt.time_auc(time, event, marker, grid)})
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(x="time:Q", y=alt.Y("AUC(t):Q", scale=alt.Scale(domain=[0.4, 1])))
        .properties(title="Time-dependent AUC (cumulative/dynamic, IPCW)", width=420, height=280)
    )


def _outputs(lake: Lake, run: RunRecord) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in run.outputs:
        if lake.exists(name):
            info = lake.info(name)
            if info.run_id == run.id and info.attrs.get("table"):
                found[str(info.attrs["table"])] = name
    return found


@register_section("precision risk train")
def _risk_train(lake: Lake, run: RunRecord, section: Section) -> None:
    outputs = _outputs(lake, run)
    if "metrics" not in outputs or "cv_predictions" not in outputs:
        return
    params = run.params
    section.key_values(
        {
            "data": params.get("data", ""),
            "model": params.get("model"),
            "features": ", ".join(params.get("features") or []),
            "missing values": params.get("missing"),
            "cross-validation": f"{params.get('cv')} folds"
            + (", grouped by " + str(params["group"]) if params.get("group") else "")
            + (", temporal by " + str(params["temporal"]) if params.get("temporal") else "")
            + (", nested" if params.get("nested_cv") else ""),
            "model file": params.get("out"),
        }
    )
    metrics = lake.to_pandas(outputs["metrics"])
    section.table(
        metrics, caption=f"Out-of-fold metrics, 95 % bootstrap intervals ({params.get('bootstrap')} resamples)"
    )
    oof = lake.to_pandas(outputs["cv_predictions"])
    if "y" in oof.columns:
        y, p = oof["y"].to_numpy(dtype=float), oof["risk"].to_numpy(dtype=float)
        sub = section.subsection("Discrimination")
        sub.chart(alt.hconcat(roc_chart(y, p), pr_chart(y, p)), caption="Out-of-fold ROC and precision–recall curves")
        section.subsection("Calibration").chart(
            calibration_chart(y, p),
            caption="Deciles of predicted risk (points), lowess smooth (line) and the ideal diagonal",
        )
        section.subsection("Clinical utility").chart(
            decision_chart(y, p), caption="Decision curve: net benefit = TP/n − FP/n · t/(1 − t)"
        )
    elif "time" in oof.columns:
        section.subsection("Time-dependent discrimination").chart(
            time_auc_chart(oof["time"].to_numpy(float), oof["event"].to_numpy(), oof["linear_predictor"].to_numpy()),
            caption="Out-of-fold Cox linear predictor",
        )


# --------------------------------------------------------------------------- demo


def demo_clinical_cohort(n: int = 2_000, *, seed: int = 20261127) -> pd.DataFrame:
    """Deterministic simulated clinical data: 5-year cardiovascular event from age, sex, BP, smoking, …"""
    rng = np.random.default_rng(seed)
    age = rng.normal(58, 11, n).clip(30, 90).round(0)
    sex = rng.choice(["F", "M"], n)
    sbp = rng.normal(135, 18, n).round(0)
    chol = rng.normal(5.4, 1.0, n).round(1)
    smoker = rng.choice(["current", "former", "never"], n, p=[0.2, 0.3, 0.5])
    diabetes = rng.binomial(1, 0.12, n)
    lp = (
        -2.4
        + 0.06 * (age - 58)
        + 0.4 * (sex == "M")
        + 0.02 * (sbp - 135)
        + 0.25 * (chol - 5.4)
        + 0.7 * (smoker == "current")
        + 0.25 * (smoker == "former")
        + 0.6 * diabetes
    )
    event = rng.binomial(1, 1 / (1 + np.exp(-lp)))
    chol = np.where(rng.random(n) < 0.05, np.nan, chol)  # some labs missing
    return pd.DataFrame(
        {
            "patient_id": [f"P{i:05d}" for i in range(1, n + 1)],
            "age": age.astype(int),
            "sex": sex,
            "sbp": sbp,
            "cholesterol": chol,
            "smoker": smoker,
            "diabetes": diabetes,
            "cvd_5y": event,
        }
    )


@register_demo("Personalized medicine: clinical risk model (logistic, cross-validated, calibration plot)")
def _risk_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.precision.risk import train_job

    csv = data_dir / "clinical_risk.csv"
    demo_clinical_cohort().to_csv(csv, index=False)
    run_id, _ = train_job(
        lake,
        csv,
        out=data_dir / "cvd_logistic.joblib",
        target="cvd_5y",
        model="logistic",
        features=["age", "sex", "sbp", "cholesterol", "smoker", "diabetes"],
        missing="indicator",
        bootstrap=100,
        progress=progress,
    )
    return [run_id]
