"""Report section of ``genomics gwas`` (Manhattan plot, QQ plot with λ_GC, top hits) and its demo step."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biolake.lake import Lake, RunRecord
from biolake.lake.progress import Progress
from biolake.report.demo import register_demo
from biolake.report.html import Section
from biolake.report.runs import register_section
from biolake.report.sections.genomics import hwe_qq_chart, hwe_qq_points

__all__ = ["genomic_inflation", "manhattan_figure", "manhattan_points"]

_TOP_ROWS = 20
_MANHATTAN_MAX = 200_000  # points drawn: every p < 1e-3, and the others thinned to about this many
_GENOME_WIDE = 5e-8
_CHI2_1_MEDIAN = 0.454936423119572  # median of the chi-square distribution with 1 degree of freedom


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def genomic_inflation(lake: Lake, table: str) -> tuple[float, int]:
    """λ_GC = median(χ²₁ of the p-values) / 0.4549 and the number of tested variants."""
    from scipy import stats

    with lake.connect() as con:
        median_p, n = con.execute(
            f"SELECT median(p), count(p) FROM {_quote(table)} WHERE p IS NOT NULL AND NOT isnan(p)"
        ).fetchone()
    if not n:
        return float("nan"), 0
    return float(stats.chi2.isf(float(median_p), 1) / _CHI2_1_MEDIAN), int(n)


def _chrom_key(name: str) -> tuple[int, int, str]:
    bare = re.sub(r"^chr", "", str(name), flags=re.IGNORECASE)
    order = {"X": 23, "Y": 24, "XY": 25, "MT": 26, "M": 26}
    if bare.isdigit():
        return (0, int(bare), "")
    if bare.upper() in order:
        return (0, order[bare.upper()], "")
    return (1, 0, bare)


def manhattan_points(lake: Lake, table: str) -> pd.DataFrame:
    """``chrom``, ``pos``, ``p`` of the variants to draw: all with p < 1e-3, the rest thinned (DuckDB)."""
    with lake.connect() as con:
        (n,) = con.execute(f"SELECT count(*) FROM {_quote(table)} WHERE p IS NOT NULL").fetchone()
        step = max(1, int(n) // _MANHATTAN_MAX)
        return con.execute(
            f"""SELECT chrom, pos, p FROM (
                    SELECT chrom, pos, p, row_number() OVER () AS r FROM {_quote(table)}
                    WHERE p IS NOT NULL AND NOT isnan(p))
                WHERE p < 1e-3 OR r % {step} = 0"""
        ).fetch_df()


def manhattan_figure(points: pd.DataFrame, *, title: str = "Manhattan plot") -> Any:
    """A matplotlib figure of −log10 p along the genome (contigs in natural order, alternating colours)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.6))
    ax = fig.add_subplot()
    tiny = np.finfo(float).tiny
    offset = 0.0
    ticks, labels = [], []
    chroms = sorted(points["chrom"].astype(str).unique(), key=_chrom_key)
    for i, chrom in enumerate(chroms):
        sub = points[points["chrom"].astype(str) == chrom]
        pos = sub["pos"].to_numpy(dtype=float)
        lo, hi = (pos.min(), pos.max()) if len(pos) else (0.0, 1.0)
        x = offset + pos - lo
        y = -np.log10(np.maximum(sub["p"].to_numpy(dtype=float), tiny))
        ax.scatter(x, y, s=4, c="#1f4e79" if i % 2 == 0 else "#7fa7d0", linewidths=0, rasterized=True)
        ticks.append(offset + (hi - lo) / 2)
        labels.append(chrom)
        offset += (hi - lo) + max((hi - lo) * 0.02, 1.0)
    ax.axhline(-np.log10(_GENOME_WIDE), color="#c0392b", linestyle="--", linewidth=0.8)
    ax.set_xticks(ticks, labels, fontsize=8)
    ax.set_xlim(0, max(offset, 1.0))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("contig")
    ax.set_ylabel("−log10 p")
    ax.set_title(title)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def _result_table(lake: Lake, run: RunRecord) -> str | None:
    infos = {d.name: d for d in lake.datasets()}
    for name in run.outputs:
        info = infos.get(name)
        if info is not None and info.run_id == run.id and info.kind == "table" and "errcode" in info.schema:
            return name
    return None


@register_section("genomics gwas")
def _genomics_gwas(lake: Lake, run: RunRecord, section: Section) -> None:
    table = _result_table(lake, run)
    if table is None:
        section.text("The results of this run are no longer in the lake.")
        return
    lam, n_tested = genomic_inflation(lake, table)
    with lake.connect() as con:
        n_all, n_gw, n_sug = con.execute(
            f"""SELECT count(*), count(*) FILTER (WHERE p < {_GENOME_WIDE}), count(*) FILTER (WHERE p < 1e-5)
                FROM {_quote(table)}"""
        ).fetchone()
        errors = con.execute(
            f"SELECT errcode, count(*) AS variants FROM {_quote(table)} WHERE errcode IS NOT NULL "
            "GROUP BY errcode ORDER BY variants DESC"
        ).fetch_df()
        top = con.execute(
            f"SELECT * FROM {_quote(table)} WHERE p IS NOT NULL ORDER BY p, chrom, pos LIMIT {_TOP_ROWS}"
        ).fetch_df()
    params = run.params
    model = params.get("model", "linear")
    summary: dict[str, Any] = {
        "genotypes": params.get("genotypes", ""),
        "trait": f"{params.get('pheno_col', '')} ({params.get('pheno', '')})",
        "model": model + (f", Firth: {params.get('firth')}" if model == "logistic" else ""),
        "covariates": ", ".join(params.get("covar_cols") or []) or "none",
        "samples": params.get("n_samples", ""),
        "variants": n_all,
        "variants tested": n_tested,
        "p < 5e-8 (genome-wide)": n_gw,
        "p < 1e-5": n_sug,
        "genomic inflation λ_GC": f"{lam:.4f}" if np.isfinite(lam) else "n/a",
    }
    section.key_values(summary)
    section.image(
        manhattan_figure(manhattan_points(lake, table), title=f"{params.get('pheno_col', '')}: {model} model"),
        caption="Manhattan plot: −log10 p of every tested variant; the dashed line is p = 5e-8",
    )
    section.chart(
        hwe_qq_chart(hwe_qq_points(lake, table, column="p"), title=f"QQ plot (λ_GC = {lam:.3f})"),
        caption="Observed against expected −log10 p; λ_GC is the median χ² over its null median 0.455",
    )
    section.table(top, caption="Top hits (smallest p-values)", max_rows=_TOP_ROWS)
    if len(errors):
        section.table(errors, caption="Variants not tested, by error code (as plink2 --glm)")


def _demo_traits(data_dir: Path, prefix: Path, seed: int) -> tuple[Path, Path]:
    """A quantitative trait with three causal variants and covariates for the demo cohort."""
    from bed_reader import open_bed

    with open_bed(prefix.with_name(prefix.name + ".bed"), count_A1=True) as bed:
        geno = bed.read(dtype="float32")
        fid, iid = bed.fid, bed.iid
    rng = np.random.default_rng(seed)
    n = geno.shape[0]
    g = np.nan_to_num(geno, nan=0.0)
    age = rng.normal(55, 10, n).round(1)
    sex = rng.integers(0, 2, n)
    pc1 = rng.normal(0, 1, n)
    qt = 0.02 * age + 0.3 * sex + 0.2 * pc1 + rng.normal(0, 1, n)
    for col, eff in ((250, 0.6), (1_800, -0.5), (3_600, 0.45)):
        qt += eff * (g[:, col] - g[:, col].mean())
    pheno = data_dir / "cohort_gwas.pheno"
    covar = data_dir / "cohort_gwas.covar"
    pd.DataFrame({"#FID": fid, "IID": iid, "ldl": qt.round(5)}).to_csv(pheno, sep="\t", index=False)
    pd.DataFrame({"#FID": fid, "IID": iid, "age": age, "sex": sex, "pc1": pc1.round(5)}).to_csv(
        covar, sep="\t", index=False
    )
    return pheno, covar


@register_demo("Genomics: GWAS of a quantitative trait (linear model, as plink2 --glm)")
def _gwas_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.genomics.gwas import gwas
    from biolake.genomics.simulate import simulate_plink
    from biolake.io.plink import ingest_plink

    prefix = simulate_plink(data_dir / "gwas_cohort", n_samples=1_000, n_variants=5_000, seed=20261128)
    ingest_plink(lake, prefix, name="gwas_cohort", progress=progress)
    pheno, covar = _demo_traits(data_dir, prefix, 20261128)
    res = gwas(
        lake,
        "lake:gwas_cohort",
        pheno=pheno,
        pheno_col="ldl",
        covar=covar,
        covar_cols=["age", "sex", "pc1"],
        out=data_dir / "gwas_ldl.parquet",
        progress=progress,
    )
    return [res.run_id]
