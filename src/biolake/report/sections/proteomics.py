"""Report section of ``genomics proteomics`` (volcano, MA plot, sample PCA, top proteins) and its demo step."""

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
from biolake.report.sections.expression import chart_spec

__all__ = ["ma_chart", "pca_chart", "top_proteins", "volcano_chart"]

_ALPHA = 0.05
_TOP = 25
_MAX_POINTS = 20_000
_COLS = ["protein", "log_fc", "ave_expr", "pvalue", "padj"]


def _points(res: pd.DataFrame, alpha: float) -> pd.DataFrame:
    df = res.dropna(subset=["log_fc", "pvalue"]).copy()
    df["significant"] = np.where(df["padj"] < alpha, f"padj < {alpha:g}", "not significant")
    if len(df) > _MAX_POINTS:
        sig = df[df["padj"] < alpha]
        df = pd.concat([sig, df.drop(sig.index).sample(max(0, _MAX_POINTS - len(sig)), random_state=0)])
    return df


def _color() -> alt.Color:
    return alt.Color("significant:N", scale=alt.Scale(range=["#c0392b", "#9aa5b1"]), sort="descending", title=None)


def volcano_chart(res: pd.DataFrame, *, alpha: float = _ALPHA) -> alt.Chart:
    """Volcano plot: -log10 p-value against the log2 fold change."""
    df = _points(res, alpha)
    df["neg_log10_p"] = -np.log10(df["pvalue"].clip(lower=1e-300))
    return (
        alt.Chart(df[[*_COLS, "significant", "neg_log10_p"]], title="Volcano plot")
        .mark_circle(size=12, opacity=0.6)
        .encode(
            x=alt.X("log_fc:Q", title="log2 fold change"),
            y=alt.Y("neg_log10_p:Q", title="-log10 p-value"),
            color=_color(),
            tooltip=["protein:N", "log_fc:Q", "ave_expr:Q", "pvalue:Q", "padj:Q"],
        )
        .properties(width=380, height=280)
    )


def ma_chart(res: pd.DataFrame, *, alpha: float = _ALPHA) -> alt.Chart:
    """MA plot: log2 fold change against the average log2 intensity."""
    return (
        alt.Chart(_points(res, alpha)[[*_COLS, "significant"]], title="MA plot")
        .mark_circle(size=12, opacity=0.6)
        .encode(
            x=alt.X("ave_expr:Q", title="average log2 intensity", scale=alt.Scale(zero=False)),
            y=alt.Y("log_fc:Q", title="log2 fold change"),
            color=_color(),
            tooltip=["protein:N", "ave_expr:Q", "log_fc:Q", "padj:Q"],
        )
        .properties(width=380, height=280)
    )


def pca_chart(pca: pd.DataFrame) -> alt.Chart:
    """Samples on the first two principal components of the analysed log intensities."""
    v1, v2 = float(pca["pc1_var"].iloc[0]), float(pca["pc2_var"].iloc[0])
    return (
        alt.Chart(pca[["sample", "pc1", "pc2"]], title="PCA of samples")
        .mark_circle(size=80)
        .encode(
            x=alt.X("pc1:Q", title=f"PC1 ({100 * v1:.1f} %)"),
            y=alt.Y("pc2:Q", title=f"PC2 ({100 * v2:.1f} %)"),
            tooltip=["sample:N", "pc1:Q", "pc2:Q"],
        )
        .properties(width=300, height=280)
    )


def top_proteins(res: pd.DataFrame, *, n: int = _TOP) -> pd.DataFrame:
    """The ``n`` proteins with the smallest adjusted p-values."""
    return res.dropna(subset=["padj"]).sort_values(["padj", "pvalue"]).head(n).reset_index(drop=True)


@register_section("genomics proteomics")
def _proteomics_section(lake: Lake, run: RunRecord, section: Section) -> None:
    params = run.params
    results = [n for n in run.outputs if lake.exists(n) and lake.info(n).attrs.get("role") == "result"]
    if not results:
        section.text("The result of this run is no longer in the lake.")
        return
    name = results[0]
    attrs = lake.info(name).attrs
    res = lake.to_pandas(name)
    contrast = params.get("contrast") or ["", "", ""]
    sig = res["padj"] < _ALPHA
    options = [f"{k}={params.get(k)}" for k in ("transform", "normalize", "impute", "min_valid")]
    options += [k for k in ("trend", "robust") if params.get(k)]
    section.key_values(
        {
            "design": params.get("design", ""),
            "contrast": f"{contrast[0]}: {contrast[1]} vs {contrast[2]}",
            "options": ", ".join(options),
            "proteins tested": f"{len(res)} of {attrs.get('proteins_in', len(res))}",
            "prior df (eBayes)": attrs.get("df_prior", ""),
            f"padj < {_ALPHA:g}": f"{int(sig.sum())} ({int((res.loc[sig, 'log_fc'] > 0).sum())} up)",
        }
    )
    section.chart(
        chart_spec(alt.hconcat(volcano_chart(res), ma_chart(res))),
        caption=f"Each point a protein; red: adjusted p-value below {_ALPHA:g} (limma moderated t).",
    )
    if lake.exists(f"{name}_pca"):
        section.chart(
            chart_spec(pca_chart(lake.to_pandas(f"{name}_pca"))),
            caption="Samples on the first two principal components (the 500 most variable proteins observed in"
            " every sample).",
        )
    section.table(top_proteins(res), caption=f"Top {_TOP} proteins by adjusted p-value", max_rows=_TOP)


@register_demo("Proteomics: differential protein abundance of simulated LFQ intensities (limma)")
def _proteomics_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.genomics.proteomics import proteomics_job, simulate_intensities
    from biolake.io.proteomics import ingest_proteomics

    x, samples = simulate_intensities(n_proteins=1_500, n_per_group=4, seed=20261127)
    matrix_file = data_dir / "proteomics_lfq.csv"
    samples_file = data_dir / "proteomics_samples.csv"
    x.rename_axis("protein").to_csv(matrix_file, na_rep="NA")
    samples.to_csv(samples_file, index=False)
    info = ingest_proteomics(lake, matrix_file, name="lfq", format="matrix", progress=progress)
    run_id, _ = proteomics_job(
        lake,
        "lake:lfq",
        samples=samples_file,
        design="~ condition",
        contrast=("condition", "treated", "control"),
        out=data_dir / "proteomics_treated_vs_control.csv",
        min_valid=3,
        trend=True,
        progress=progress,
    )
    return [info.run_id or "", run_id]
