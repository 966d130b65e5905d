"""Report sections of the screening commands: filters, clusters and activity models.

* ``discovery filter``: molecules that passed all rules, and how many failed each rule.
* ``discovery cluster``: number of clusters and singletons, the cluster size distribution.
* ``discovery model train``: the cross-validation metrics, pooled and per fold.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from biolake.lake import Lake, RunRecord
from biolake.report.html import Section
from biolake.report.runs import register_section

__all__ = ["cluster_size_table", "failed_rule_counts"]


def _outputs(lake: Lake, run: RunRecord) -> list[str]:
    return [o for o in run.outputs if lake.exists(o) and lake.info(o).run_id == run.id]


def failed_rule_counts(df: pd.DataFrame, rules: list[str]) -> pd.DataFrame:
    """Molecules failing each rule (columns ``rule, failed, fraction``)."""
    n = max(1, len(df))
    failed = [int((~df[r].astype(bool)).sum()) for r in rules]
    return pd.DataFrame({"rule": rules, "failed": failed, "fraction": [f / n for f in failed]})


def cluster_size_table(df: pd.DataFrame) -> pd.DataFrame:
    """Number of clusters of each size (columns ``cluster_size, clusters``)."""
    sizes = df.groupby("cluster").size()
    counts = sizes.value_counts().sort_index()
    return pd.DataFrame({"cluster_size": counts.index.astype(int), "clusters": counts.to_numpy()})


@register_section("discovery filter")
def _filter(lake: Lake, run: RunRecord, section: Section) -> None:
    rules = list(run.params.get("rules") or [])
    outputs = _outputs(lake, run)
    if not outputs:
        section.text("The result of this run has since been replaced or removed.")
        return
    df = lake.to_pandas(outputs[0])
    section.key_values(
        {"library": run.params.get("library"), "molecules": len(df), "passed all rules": int(df["passed"].sum())}
    )
    counts = failed_rule_counts(df, rules)
    section.table(counts, caption="Molecules failing each rule")
    chart = (
        alt.Chart(counts, title="Failed rules")
        .mark_bar()
        .encode(x=alt.X("rule:N", sort=None), y=alt.Y("failed:Q", title="molecules"), tooltip=["rule", "failed"])
        .properties(width=360, height=180)
    )
    section.chart(chart, caption="Molecules failing each rule")


@register_section("discovery cluster")
def _cluster(lake: Lake, run: RunRecord, section: Section) -> None:
    outputs = _outputs(lake, run)
    if not outputs:
        section.text("The result of this run has since been replaced or removed.")
        return
    df = lake.to_pandas(outputs[0])
    sizes = cluster_size_table(df)
    n_clusters = int(sizes["clusters"].sum())
    singletons = int(sizes.loc[sizes.cluster_size == 1, "clusters"].sum())
    section.key_values(
        {
            "library": run.params.get("library"),
            "threshold (Tanimoto)": run.params.get("threshold"),
            "molecules": len(df),
            "clusters": n_clusters,
            "singletons": singletons,
            "largest cluster": int(sizes["cluster_size"].max()) if len(sizes) else 0,
            "MaxMin picks": run.params.get("pick"),
        }
    )
    section.table(sizes, caption="Cluster size distribution", max_rows=50)
    data = sizes.assign(log_size=np.log10(sizes["cluster_size"]))
    chart = (
        alt.Chart(data, title="Cluster sizes")
        .mark_bar()
        .encode(
            x=alt.X("cluster_size:O", title="cluster size"), y=alt.Y("clusters:Q"), tooltip=["cluster_size", "clusters"]
        )
        .properties(width=420, height=180)
    )
    section.chart(chart, caption="Number of clusters of each size")


@register_section("discovery model train")
def _model_train(lake: Lake, run: RunRecord, section: Section) -> None:
    p = run.params
    section.text(
        f"{p.get('model')} {p.get('task')} model of {p.get('target')} on {p.get('fp')} fingerprints, "
        f"{p.get('folds')}-fold {p.get('split')} cross-validation."
    )
    outputs = _outputs(lake, run)
    if not outputs:
        section.text("The result of this run has since been replaced or removed.")
        return
    info = lake.info(outputs[0])
    pooled = {k: v for k, v in info.attrs.items() if k not in ("role", "model")}
    section.key_values(pooled)
    section.table(lake.to_pandas(outputs[0]), caption="Metrics per fold")
