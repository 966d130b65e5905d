"""Report section of ``genomics de`` (MA plot, volcano plot, dispersions, top genes) and its demo step."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from biolake.errors import InputError
from biolake.lake import Lake, RunRecord
from biolake.lake.progress import Progress
from biolake.report.demo import register_demo
from biolake.report.html import Section
from biolake.report.runs import register_section

__all__ = ["chart_spec", "dispersion_chart", "ma_chart", "pca_chart", "run_sample_pca", "top_genes", "volcano_chart"]

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


def pca_chart(pca: pd.DataFrame, percent_var: np.ndarray, *, color: str | None = None) -> alt.Chart:
    """Samples on the first two principal components (``color``: a column of ``pca`` to colour by)."""
    pv = [float(percent_var[k]) if len(percent_var) > k else 0.0 for k in (0, 1)]
    enc: dict = {
        "x": alt.X("PC1:Q", title=f"PC1: {pv[0]:.0f} % variance"),
        "y": alt.Y("PC2:Q", title=f"PC2: {pv[1]:.0f} % variance"),
        "tooltip": ["sample:N", *([f"{color}:N"] if color else [])],
    }
    if color:
        enc["color"] = alt.Color(f"{color}:N")
    return (
        alt.Chart(pca, title="PCA of samples")
        .mark_circle(size=60, opacity=0.8)
        .encode(**enc)
        .properties(width=380, height=280)
    )


def run_sample_pca(
    lake: Lake, counts: str, size_factors: np.ndarray, trend: dict, *, ntop: int = 500
) -> tuple[tuple[pd.DataFrame, np.ndarray], list[str]]:
    """Sample PCA of a lake count matrix as DESeq2's ``plotPCA(vst(dds, blind = FALSE))``.

    Two passes over the matrix in blocks: the variance of every gene's transformed values, then
    the ``ntop`` most variable genes (see :func:`biolake.genomics.de.variance_stabilizing_transform`
    and :func:`biolake.genomics.de.sample_pca`).
    """
    from biolake.genomics.de import sample_pca, variance_stabilizing_transform
    from biolake.io.counts import open_counts

    store = open_counts(lake, counts)
    step = max(1, store.chunk_rows)
    rv = np.empty(store.n_genes)
    for s in range(0, store.n_genes, step):
        e = min(s + step, store.n_genes)
        v = variance_stabilizing_transform(store.read(s, e) / size_factors, trend)
        rv[s:e] = v.var(axis=1, ddof=1)
    select = np.sort(np.argsort(-rv, kind="stable")[: min(ntop, store.n_genes)])
    import zarr

    arr = zarr.open_group(store.path, mode="r")["counts"]
    vals = variance_stabilizing_transform(
        np.asarray(arr.get_orthogonal_selection((select, slice(None)))) / size_factors, trend
    )
    # rows in file order: the PCA does not depend on the order of the genes
    return sample_pca(vals, store.sample_id, ntop=ntop), store.sample_id


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
    _pca_part(lake, run, name, section)
    section.table(top_genes(res), caption=f"Top {_TOP} genes by adjusted p-value", max_rows=_TOP)


def _pca_part(lake: Lake, run: RunRecord, name: str, section: Section) -> None:
    params = run.params
    counts = str(params.get("counts", ""))
    if not (lake.exists(f"{name}_size_factors") and lake.exists(f"{name}_dispersions")):
        return
    if not lake.exists(counts.removeprefix("lake:")):
        section.text("The count matrix of this run is no longer in the lake: no sample PCA.")
        return
    sf_table = lake.to_pandas(f"{name}_size_factors")
    trend = dict(lake.info(f"{name}_dispersions").attrs)
    (pca, pct), sample_ids = run_sample_pca(lake, counts, sf_table["size_factor"].to_numpy(float), trend)
    if list(sf_table["sample"].astype(str)) != sample_ids:
        return
    color = None
    contrast = params.get("contrast") or []
    try:
        from biolake.genomics.design import read_samples

        table = read_samples(params["samples"]).astype(str)
        col = str(params.get("sample_col", "sample"))
        if contrast and contrast[0] in table.columns and col in table.columns:
            pca = pca.merge(table[[col, contrast[0]]].rename(columns={col: "sample"}), on="sample", how="left")
            color = contrast[0]
    except (InputError, KeyError, OSError):  # the samples file may have moved since the run: no colours
        color = None
    how = (
        "variance-stabilising transformation with this run's dispersion trend (DESeq2's vst(dds, blind = FALSE))"
        if trend.get("fit_type") in ("parametric", "mean")
        else "log2(normalized count + 1) (DESeq2's normTransform; the local trend has no closed-form VST)"
    )
    section.chart(
        chart_spec(pca_chart(pca, pct, color=color)),
        caption=f"Samples on the first two principal components of the 500 most variable genes after the {how}, "
        "as DESeq2's plotPCA.",
    )


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
