"""Report section of ``genomics de`` (MA plot, volcano plot, dispersions, top genes) and its demo step."""

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

__all__ = ["chart_spec", "dispersion_chart", "ma_chart", "top_genes", "volcano_chart"]

_MAX_POINTS = 20_000
_COLS = ["gene", "base_mean", "log2_fold_change", "pvalue", "padj"]
_TOP = 25


def _points(res: pd.DataFrame, alpha: float) -> pd.DataFrame:
    df = res.dropna(subset=["log2_fold_change"]).copy()
    df = df[df["base_mean"] > 0]
    df["significant"] = np.where(df["padj"] < alpha, f"padj < {alpha:g}", "not significant")
    if len(df) > _MAX_POINTS:  # keep every significant gene, thin the rest
        sig = df[df["padj"] < alpha]
        rest = df.drop(sig.index).sample(max(0, _MAX_POINTS - len(sig)), random_state=0)
        df = pd.concat([sig, rest])
    return df


def chart_spec(chart: alt.TopLevelMixin) -> dict:
    """The Vega-Lite dict of a chart, its data inline (the point count is capped by :data:`_MAX_POINTS`)."""
    with alt.data_transformers.disable_max_rows():
        return chart.to_dict()


def _color() -> alt.Color:
    return alt.Color("significant:N", scale=alt.Scale(range=["#c0392b", "#9aa5b1"]), sort="descending", title=None)


def ma_chart(res: pd.DataFrame, *, alpha: float = 0.1) -> alt.Chart:
    """MA plot: log2 fold change against the mean of normalized counts (log scale)."""
    return (
        alt.Chart(_points(res, alpha)[[*_COLS, "significant"]], title="MA plot")
        .mark_circle(size=10, opacity=0.6)
        .encode(
            x=alt.X("base_mean:Q", scale=alt.Scale(type="log"), title="mean of normalized counts"),
            y=alt.Y("log2_fold_change:Q", title="log2 fold change"),
            color=_color(),
            tooltip=["gene:N", "base_mean:Q", "log2_fold_change:Q", "padj:Q"],
        )
        .properties(width=380, height=280)
    )


def volcano_chart(res: pd.DataFrame, *, alpha: float = 0.1) -> alt.Chart:
    """Volcano plot: -log10 p-value against log2 fold change."""
    df = _points(res, alpha).dropna(subset=["pvalue"])
    df["neg_log10_p"] = -np.log10(df["pvalue"].clip(lower=1e-300))
    return (
        alt.Chart(df[[*_COLS, "significant", "neg_log10_p"]], title="Volcano plot")
        .mark_circle(size=10, opacity=0.6)
        .encode(
            x=alt.X("log2_fold_change:Q", title="log2 fold change"),
            y=alt.Y("neg_log10_p:Q", title="-log10 p-value"),
            color=_color(),
            tooltip=["gene:N", "base_mean:Q", "log2_fold_change:Q", "pvalue:Q", "padj:Q"],
        )
        .properties(width=380, height=280)
    )


def dispersion_chart(disp: pd.DataFrame) -> alt.Chart:
    """Gene-wise (grey), fitted (red) and final (blue) dispersions against the mean."""
    df = disp.dropna(subset=["dispersion"])
    df = df[df["base_mean"] > 0]
    if len(df) > _MAX_POINTS:
        df = df.sample(_MAX_POINTS, random_state=0)
    long = df.melt(
        id_vars=["gene", "base_mean"], value_vars=["disp_gene_est", "dispersion", "disp_fit"], var_name="estimate"
    )
    long = long[long["value"] > 0]
    return (
        alt.Chart(long, title="Dispersion estimates")
        .mark_circle(size=8, opacity=0.5)
        .encode(
            x=alt.X("base_mean:Q", scale=alt.Scale(type="log"), title="mean of normalized counts"),
            y=alt.Y("value:Q", scale=alt.Scale(type="log"), title="dispersion"),
            color=alt.Color(
                "estimate:N",
                scale=alt.Scale(
                    domain=["disp_gene_est", "dispersion", "disp_fit"], range=["#9aa5b1", "#2e86de", "#c0392b"]
                ),
            ),
            tooltip=["gene:N", "estimate:N", "value:Q"],
        )
        .properties(width=380, height=280)
    )


def top_genes(res: pd.DataFrame, *, n: int = _TOP) -> pd.DataFrame:
    """The ``n`` genes with the smallest adjusted p-values."""
    return res.dropna(subset=["padj"]).sort_values(["padj", "pvalue"]).head(n).reset_index(drop=True)


@register_section("genomics de")
def _de_section(lake: Lake, run: RunRecord, section: Section) -> None:
    params = run.params
    alpha = float(params.get("alpha", 0.1))
    results = [n for n in run.outputs if lake.exists(n) and lake.info(n).attrs.get("role") == "result"]
    if not results:
        section.text("The result of this run is no longer in the lake.")
        return
    name = results[0]
    res = lake.to_pandas(name)
    test = params.get("test", "Wald")
    contrast = params.get("contrast") or ["", "", ""]
    n_sig = int((res["padj"] < alpha).sum())
    section.key_values(
        {
            "design": params.get("design", ""),
            "test": f"{test}" + (f" against {params['reduced']}" if params.get("reduced") else ""),
            "contrast": f"{contrast[0]}: {contrast[1]} vs {contrast[2]}",
            "genes": len(res),
            f"padj < {alpha:g}": f"{n_sig} ({int((res.loc[res['padj'] < alpha, 'log2_fold_change'] > 0).sum())} up)",
            "filtered or outlier (padj NA)": int(res["padj"].isna().sum()),
        }
    )
    section.chart(
        chart_spec(alt.hconcat(ma_chart(res, alpha=alpha), volcano_chart(res, alpha=alpha))),
        caption=f"Each point a gene; red: adjusted p-value below {alpha:g}.",
    )
    if lake.exists(f"{name}_dispersions"):
        section.chart(
            chart_spec(dispersion_chart(lake.to_pandas(f"{name}_dispersions"))),
            caption="Gene-wise estimates, the fitted trend and the final (shrunken) dispersions, as DESeq2 plots them.",
        )
    section.table(top_genes(res), caption=f"Top {_TOP} genes by adjusted p-value", max_rows=_TOP)


@register_demo("Transcriptomics: differential expression of simulated RNA-seq counts (DESeq2 method)")
def _de_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.genomics.de import de_job
    from biolake.genomics.expression_sim import simulate_rnaseq
    from biolake.io.counts import ingest_counts

    counts, samples, _ = simulate_rnaseq(n_genes=2_000, n_per_group=4, seed=20261127)
    counts_file = data_dir / "rnaseq_counts.tsv"
    samples_file = data_dir / "rnaseq_samples.csv"
    counts.rename_axis("gene").to_csv(counts_file, sep="\t")
    samples.to_csv(samples_file, index=False)
    info = ingest_counts(lake, counts_file, name="rnaseq", progress=progress)
    run_id, _ = de_job(
        lake,
        "lake:rnaseq",
        samples=samples_file,
        design="~ condition",
        contrast=("condition", "treated", "control"),
        out=data_dir / "de_treated_vs_control.csv",
        progress=progress,
    )
    return [info.run_id or "", run_id]
