"""Report sections of ``imaging classify train`` (metrics, ROC curve, calibration plot) and
``imaging unet train`` (the training loss per epoch).

The ROC and calibration charts are the ones ``precision risk train`` draws
(:func:`biolake.report.sections.precision_risk.roc_chart`, ``calibration_chart``), on the
out-of-fold probabilities.
"""

from __future__ import annotations

import altair as alt

from biolake.lake import Lake, RunRecord
from biolake.report.html import Section
from biolake.report.runs import register_section
from biolake.report.sections.precision_risk import calibration_chart, roc_chart


def _outputs(lake: Lake, run: RunRecord) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in run.outputs:
        if lake.exists(name):
            info = lake.info(name)
            if info.run_id == run.id and info.attrs.get("table"):
                found[str(info.attrs["table"])] = name
    return found


@register_section("imaging classify train")
def _classify_train(lake: Lake, run: RunRecord, section: Section) -> None:
    outputs = _outputs(lake, run)
    if "metrics" not in outputs or "cv_predictions" not in outputs:
        return
    params = run.params
    feats = params.get("features") or []
    section.key_values(
        {
            "feature table": params.get("table", ""),
            "target": f"{params.get('target')}"
            + (f" (positive: {params['positive']})" if params.get("positive") else ""),
            "model": params.get("model"),
            "features": f"{len(feats)}: " + ", ".join(feats[:12]) + (" …" if len(feats) > 12 else ""),
            "cross-validation": f"{params.get('cv')} stratified folds, seed {params.get('seed')}",
            "model file": params.get("out"),
        }
    )
    section.table(
        lake.to_pandas(outputs["metrics"]),
        caption=f"Out-of-fold metrics, 95 % bootstrap intervals ({params.get('bootstrap')} resamples)",
    )
    oof = lake.to_pandas(outputs["cv_predictions"])
    y, p = oof["y"].to_numpy(dtype=float), oof["probability"].to_numpy(dtype=float)
    section.subsection("Discrimination and calibration").chart(
        alt.hconcat(roc_chart(y, p), calibration_chart(y, p)),
        caption="Out-of-fold ROC curve; calibration: deciles of predicted probability (points), "
        "lowess smooth (line) and the ideal diagonal",
    )


@register_section("imaging unet train")
def _unet_train(lake: Lake, run: RunRecord, section: Section) -> None:
    params = run.params
    section.key_values(
        {
            "images": params.get("images", ""),
            "masks": params.get("masks") or "(the images' own)",
            "network": f"{params.get('dim')}-D U-Net, depth {params.get('depth')}, {params.get('base')} base channels",
            "patch": " × ".join(str(v) for v in params.get("patch") or []),
            "training": f"{params.get('epochs')} epochs × {params.get('steps')} batches of {params.get('batch')}, "
            f"lr {params.get('lr')}, seed {params.get('seed')}",
            "device": params.get("device"),
            "model file": params.get("out"),
        }
    )
    outputs = _outputs(lake, run)
    if "history" in outputs:
        history = lake.to_pandas(outputs["history"])
        section.chart(
            alt.Chart(history)
            .mark_line(point=True)
            .encode(x="epoch:Q", y=alt.Y("loss:Q", title="Dice + BCE loss"))
            .properties(title="Training loss", width=420, height=260),
            caption="Mean loss of each epoch",
        )
