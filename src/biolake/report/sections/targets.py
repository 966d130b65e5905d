"""Report section of ``discovery targets`` and its demo step.

The section shows the options and sources, the ranked target table, an evidence heat map
(top genes × sources: each source's harmonic-sum score) and, when the run had GWAS
evidence, locus plots for the top loci (−log10 p of the variants around the lead, the genes
of the window drawn underneath).
"""

from __future__ import annotations

import gzip
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

__all__ = ["evidence_heatmap", "locus_figure"]

_TOP_GENES = 30
_TOP_LOCI = 3


def evidence_heatmap(targets: pd.DataFrame, sources: list[str], *, top: int = _TOP_GENES) -> alt.Chart:
    """Genes (rows, by rank) × sources (columns), coloured by the source score."""
    head = targets.head(top)
    label = np.where(head["gene_name"].astype(str) != "", head["gene_name"].astype(str), head["gene"].astype(str))
    data = (
        head[["gene", "rank", *sources]]
        .assign(label=label)
        .melt(id_vars=["gene", "rank", "label"], value_vars=sources, var_name="source", value_name="source_score")
    )
    order = list(dict.fromkeys(label.tolist()))
    return (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X("source:N", sort=sources, title="source"),
            y=alt.Y("label:N", sort=order, title="gene (by rank)"),
            color=alt.Color("source_score:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), title="score"),
            tooltip=["gene", "label", "rank", "source", alt.Tooltip("source_score:Q", format=".4f")],
        )
        .properties(width=max(120, 70 * len(sources)), height=max(120, 14 * len(order)), title="Evidence by source")
    )


def locus_figure(variants: pd.DataFrame, genes: pd.DataFrame, *, lead: pd.Series, title: str = "") -> Any:
    """−log10 p around a lead variant (members of its locus highlighted) with the genes underneath."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.2))
    ax, axg = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    tiny = np.finfo(float).tiny
    x = variants["pos"].to_numpy(float) / 1e6
    y = -np.log10(np.maximum(variants["p"].to_numpy(float), tiny))
    member = variants["member"].to_numpy(bool)
    ax.scatter(x[~member], y[~member], s=10, c="#9bb7d4", linewidths=0, label="other variants")
    ax.scatter(x[member], y[member], s=14, c="#1f4e79", linewidths=0, label="in the locus")
    ax.scatter(
        [lead["pos"] / 1e6], [-np.log10(max(float(lead["p"]), tiny))], s=60, marker="D", c="#c0392b", label="lead"
    )
    ax.axhline(-np.log10(5e-8), color="#c0392b", linestyle="--", linewidth=0.7)
    ax.set_ylabel("−log10 p")
    ax.set_title(title)
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    for k, g in enumerate(genes.sort_values("gene_start").itertuples(index=False)):
        level = k % 3
        axg.plot([g.gene_start / 1e6, g.gene_end / 1e6], [level, level], color="#2e7d32", linewidth=3)
        mid = (g.gene_start + g.gene_end) / 2e6
        arrow = "→" if g.strand == "+" else "←" if g.strand == "-" else ""
        axg.text(mid, level + 0.3, f"{g.gene_name or g.gene} {arrow}", ha="center", va="bottom", fontsize=7)
    axg.set_ylim(-0.5, 3.2)
    axg.set_yticks([])
    axg.set_xlabel(f"chromosome {lead['chrom']} position (Mb)")
    for a in (ax, axg):
        for side in ("top", "right"):
            a.spines[side].set_visible(False)
    return fig


def _own(infos: dict[str, Any], run: RunRecord, role: str) -> str | None:
    for name in run.outputs:
        info = infos.get(name)
        if info is not None and info.run_id == run.id and info.kind == "table" and info.attrs.get("role") == role:
            return name
    return None


@register_section("discovery targets")
def _targets(lake: Lake, run: RunRecord, section: Section) -> None:
    p = run.params
    sources: list[str] = list(p.get("sources") or [])
    section.key_values(
        {
            "sources": ", ".join(sources),
            "weights": p.get("weights") or "all 1",
            "evidence rows": p.get("n_evidence", {}),
            "genes": p.get("n_genes", ""),
            "GWAS lead variants": p.get("n_leads", "") if p.get("gwas") else "no GWAS",
            "clumping": (
                f"LD (PLINK --clump) with {p.get('ld_ref')}, r² > {p.get('clump_r2')}"
                if p.get("ld_ref")
                else "by distance"
            )
            + f", p ≤ {p.get('clump_p')}, {p.get('clump_kb')} kb",
            "variant → gene": f"{p.get('assign')} within {p.get('window_kb')} kb, "
            f"distance to the gene {p.get('gene_distance')}",
        }
    )
    infos = {d.name: d for d in lake.datasets()}
    name = _own(infos, run, "result")
    if name is None:
        section.text("The results of this run are no longer in the lake.")
        return
    targets = lake.to_pandas(name)
    section.subsection("Ranked targets").table(
        targets, caption="Score: Open Targets harmonic sum over the weighted source scores", max_rows=50
    )
    if sources and len(targets):
        section.subsection("Evidence heat map").chart(
            evidence_heatmap(targets, [s for s in sources if s in targets.columns]),
            caption=f"Source scores of the top {min(_TOP_GENES, len(targets))} genes",
        )
    loci_name, ev_name = _own(infos, run, "loci"), _own(infos, run, "evidence")
    if loci_name is None or ev_name is None:
        return
    loci = lake.to_pandas(loci_name)
    evidence = lake.to_pandas(ev_name)
    gw = evidence[evidence["source"] == "gwas"]
    leads = loci[loci["is_lead"]].sort_values("p").head(_TOP_LOCI)
    window = float(p.get("window_kb", 500)) * 1000
    sub = section.subsection("Top loci")
    for idx, lead in leads.iterrows():
        near = loci[(loci["chrom"] == lead["chrom"]) & ((loci["pos"] - lead["pos"]).abs() <= window)]
        near = near.assign(member=near["lead"] == idx)
        variant = lead["id"] if "id" in loci.columns else f"{lead['chrom']}:{lead['pos']}"
        genes = gw[gw["variant"] == variant]
        sub.image(
            locus_figure(near, genes, lead=lead, title=f"{variant} (p = {lead['p']:.3g})"),
            caption=f"Locus of {variant}: −log10 p within {window / 1000:g} kb; genes of the window underneath",
        )


# --------------------------------------------------------------------------- demo


def demo_inputs(data_dir: Path, *, seed: int = 7) -> dict[str, Path]:
    """Small generated inputs: a GENCODE-style GTF (40 genes on chr1), GWAS results, DE results, literature."""
    rng = np.random.default_rng(seed)
    data_dir.mkdir(parents=True, exist_ok=True)
    names = [f"GENE{i + 1}" for i in range(40)]
    starts = 100_000 + np.arange(40) * 120_000 + rng.integers(0, 40_000, 40)
    lines = ["##description: biolake demo annotation (GENCODE-style)", "##format: gtf"]
    for i, (n, s) in enumerate(zip(names, starts, strict=True)):
        strand = "+" if i % 2 == 0 else "-"
        gid = f"ENSG{i + 1:011d}.1"
        lines.append(
            f'chr1\tHAVANA\tgene\t{s}\t{s + 30_000}\t.\t{strand}\t.\tgene_id "{gid}"; gene_type "protein_coding"; '
            f'gene_name "{n}"; level 2;'
        )
    gtf = data_dir / "demo_genes.gtf.gz"
    with gzip.open(gtf, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    pos = np.sort(rng.integers(50_000, 5_000_000, 3000))
    p = rng.uniform(0, 1, pos.size)
    for centre, best in ((starts[5] + 10_000, 1e-14), (starts[20] + 60_000, 1e-10), (starts[33], 3e-9)):
        d = np.abs(pos - centre)
        close = d < 80_000
        p[close] = np.minimum(p[close], best ** np.exp(-d[close] / 25_000))
    gwas = data_dir / "demo_gwas.tsv"
    pd.DataFrame({"chrom": "1", "pos": pos, "id": [f"rs{k}" for k in range(pos.size)], "p": p}).to_csv(
        gwas, sep="\t", index=False
    )
    de = data_dir / "demo_de.csv"
    lfc = rng.normal(0, 0.6, 40)
    lfc[[5, 12, 20]] = [2.5, -1.8, 1.2]
    padj = np.clip(rng.uniform(0, 1, 40), 1e-3, 1)
    padj[[5, 12, 20]] = [1e-12, 1e-6, 1e-3]
    pd.DataFrame({"gene": [f"ENSG{i + 1:011d}" for i in range(40)], "log2_fold_change": lfc, "padj": padj}).to_csv(
        de, index=False
    )
    literature = data_dir / "demo_literature.csv"
    pd.DataFrame({"gene": ["GENE6", "GENE6", "GENE13", "GENE34", "GENE2"], "score": [0.9, 0.6, 0.8, 0.4, 0.3]}).to_csv(
        literature, index=False
    )
    return {"gtf": gtf, "gwas": gwas, "de": de, "literature": literature}


@register_demo("Target identification: GWAS loci, expression and literature combined as Open Targets does")
def _targets_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.discovery.targets.job import targets_job

    files = demo_inputs(data_dir)
    result = targets_job(
        lake,
        out=data_dir / "targets.csv",
        evidence={"literature": files["literature"]},
        weights={"literature": 0.5},
        gwas=files["gwas"],
        gtf=files["gtf"],
        de=files["de"],
    )
    return [result.run_id]
