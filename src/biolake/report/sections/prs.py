"""Report section of ``precision prs`` (match summary, score distribution, association, deciles) and its demo step."""

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

__all__ = ["decile_chart", "score_histogram"]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def decile_chart(rows: list[dict[str, Any]], *, binary: bool, trait: str, score: str) -> alt.Chart:
    """Bars of the trait's mean (case fraction) per score decile."""
    frame = pd.DataFrame(rows)
    label = f"{'case fraction' if binary else 'mean'} of {trait}"
    return (
        alt.Chart(frame, title=f"{trait} by decile of {score}")
        .mark_bar(color="#1f4e79")
        .encode(
            x=alt.X("decile:O", title="score decile (1 = lowest)"),
            y=alt.Y("trait_mean:Q", title=label),
            tooltip=[
                "decile",
                "n",
                alt.Tooltip("mean_score:Q", format=".4g"),
                alt.Tooltip("trait_mean:Q", format=".3f"),
            ],
        )
        .properties(width=420, height=240)
    )


def score_histogram(values: pd.DataFrame) -> alt.Chart:
    """Histogram of ``score_sum`` per score (one colour per score)."""
    return (
        alt.Chart(values, title="Score distribution")
        .mark_bar(opacity=0.6)
        .encode(
            x=alt.X("score_sum:Q", bin=alt.Bin(maxbins=40), title="score_sum"),
            y=alt.Y("count():Q", stack=None, title="samples"),
            color=alt.Color("score:N"),
        )
        .properties(width=420, height=200)
    )


def _outputs(lake: Lake, run: RunRecord) -> tuple[Any, Any]:
    infos = {d.name: d for d in lake.datasets()}
    result = log = None
    for name in run.outputs:
        info = infos.get(name)
        if info is None or info.run_id != run.id:
            continue
        if info.attrs.get("table") == "prs":
            result = info
        elif info.attrs.get("table") == "prs match log":
            log = info
    return result, log


@register_section("precision prs")
def _precision_prs(lake: Lake, run: RunRecord, section: Section) -> None:
    params = run.params
    result, log = _outputs(lake, run)
    section.key_values(
        {
            "genotypes": params.get("genotypes", ""),
            "weights": f"{params.get('weights', '')} ({params.get('weights_format', '')})",
            "scores": ", ".join(params.get("scores") or []),
            "samples": params.get("n_samples", ""),
            "weights rows": params.get("weights_rows", ""),
            "variants used": params.get("variants_used", ""),
            "match rate": f"{100 * float(params.get('match_rate', 0)):.2f} % (minimum {params.get('min_match')})",
            "model": params.get("model", "additive"),
            "missing calls": "mean-imputed" if params.get("mean_impute", True) else "not imputed",
            "ambiguous A/T, C/G": "kept" if params.get("keep_ambiguous") else "dropped",
            "genome build (weights)": params.get("genome_build") or "not stated",
        }
    )
    reasons = params.get("match_reasons") or {}
    if reasons:
        section.table(
            pd.DataFrame({"reason": list(reasons), "weights rows": list(reasons.values())}),
            caption="Weights rows by match outcome (match, flip and strand rows are used)",
        )
    if result is None:
        section.text("The results of this run are no longer in the lake.")
        return
    with lake.connect() as con:
        values = con.execute(f"SELECT score, score_sum FROM {_quote(result.name)}").fetch_df()
    section.chart(score_histogram(values), caption="Distribution of the score sums over the samples")
    assoc = result.attrs.get("association")
    if assoc:
        shown = {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in assoc.items()}
        section.key_values(shown)
        rows = result.attrs.get("deciles") or []
        if rows:
            section.chart(
                decile_chart(
                    rows, binary=bool(assoc.get("binary")), trait=str(assoc.get("trait")), score=assoc["score"]
                ),
                caption="Trait by score decile: a useful score rises from the lowest to the highest decile",
            )
    if log is not None:
        with lake.connect() as con:
            dropped = con.execute(f"SELECT * FROM {_quote(log.name)} WHERE NOT used LIMIT 20").fetch_df()
        if len(dropped):
            section.table(dropped, caption="Weights rows not used (first 20; the full log is the match-log file)")


@register_demo("Precision medicine: polygenic risk score with a decile plot (as plink2 --score)")
def _prs_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from bed_reader import open_bed

    from biolake.genomics.simulate import simulate_plink
    from biolake.io.plink import ingest_plink
    from biolake.precision.prs import prs

    seed = 20261129
    prefix = simulate_plink(data_dir / "prs_cohort", n_samples=1_000, n_variants=2_000, seed=seed)
    ingest_plink(lake, prefix, name="prs_cohort", progress=progress)
    rng = np.random.default_rng(seed)
    bim = pd.read_csv(prefix.with_suffix(".bim"), sep="\t", header=None, names=["chr", "id", "cm", "pos", "a1", "a2"])
    pair = bim["a1"] + bim["a2"]
    clear = np.flatnonzero(~pair.isin(["AT", "TA", "CG", "GC"]).to_numpy())  # strand-ambiguous SNPs are dropped
    causal = np.sort(rng.choice(clear, 300, replace=False))
    beta = rng.normal(0, 0.1, causal.size)
    weights = data_dir / "prs_weights.txt"
    table = bim.iloc[causal]
    pd.DataFrame(
        {
            "rsID": table["id"],
            "chr_name": table["chr"],
            "chr_position": table["pos"],
            "effect_allele": table["a1"],
            "other_allele": table["a2"],
            "effect_weight": beta.round(5),
        }
    ).to_csv(weights, sep="\t", index=False)
    text = weights.read_text()
    weights.write_text("#pgs_id=DEMO01\n#pgs_name=demo score\n#genome_build=GRCh38\n" + text)
    with open_bed(prefix.with_suffix(".bed"), count_A1=True) as bed:
        geno = bed.read(index=np.s_[:, causal], dtype="float32")
        iid = bed.iid
    g = np.where(np.isnan(geno), np.nanmean(geno, axis=0), geno)
    liability = g @ beta
    liability = (liability - liability.mean()) / liability.std() * np.sqrt(0.3) + rng.normal(0, np.sqrt(0.7), len(g))
    case = (liability > np.quantile(liability, 0.8)).astype(int) + 1
    pheno = data_dir / "prs_cohort.pheno"
    pd.DataFrame({"IID": iid, "cad": case}).to_csv(pheno, sep="\t", index=False)
    res = prs(
        lake,
        "lake:prs_cohort",
        weights=weights,
        out=data_dir / "prs_scores.parquet",
        match_log=data_dir / "prs_match_log.tsv",
        pheno=pheno,
        pheno_col="cad",
        prevalence=0.2,
        progress=progress,
    )
    return [res.run_id]
