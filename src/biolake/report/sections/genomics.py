"""Report sections of the genomics commands (``ingest plink``, ``genomics qc``) and their demo step."""

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
from biolake.report.sections.tables import histogram, histogram_chart

__all__ = ["hwe_qq_chart", "hwe_qq_points"]

_QQ_TOP = 2_000  # the smallest p-values are all drawn …
_QQ_REST = 1_000  # … and about this many of the others
_EXTREME_ROWS = 20


def _own(lake: Lake, run: RunRecord, name: str) -> bool:
    return lake.exists(name) and lake.info(name).run_id == run.id


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def hwe_qq_points(lake: Lake, table: str, *, column: str = "hwe_p") -> pd.DataFrame:
    """Points of a QQ plot of p-values: ``expected`` and ``observed`` −log10 p, thinned for large tables.

    Every one of the smallest 2,000 p-values is kept, and about 1,000 evenly spaced
    others, so the plot stays small for any number of variants (computed in DuckDB).
    """
    col = _quote(column)
    with lake.connect() as con:
        df = con.execute(
            f"""
            WITH ranked AS (
                SELECT {col} AS p, row_number() OVER (ORDER BY {col}) AS r, count(*) OVER () AS n
                FROM {_quote(table)} WHERE {col} IS NOT NULL AND NOT isnan({col})
            )
            SELECT p, r, n FROM ranked
            WHERE r <= {_QQ_TOP} OR r % greatest(1, (n // {_QQ_REST})::BIGINT) = 0 OR r = n
            ORDER BY r
            """
        ).fetch_df()
    if df.empty:
        return pd.DataFrame(columns=["expected", "observed"])
    tiny = np.finfo(float).tiny
    return pd.DataFrame(
        {
            "expected": -np.log10((df["r"].to_numpy() - 0.5) / df["n"].to_numpy()),
            "observed": -np.log10(np.maximum(df["p"].to_numpy(dtype=float), tiny)),
        }
    )


def hwe_qq_chart(points: pd.DataFrame, *, title: str = "HWE exact test: QQ plot") -> alt.LayerChart:
    """A Vega-Lite QQ plot of :func:`hwe_qq_points` output with the identity line."""
    top = float(points["expected"].max()) if len(points) else 1.0
    line = pd.DataFrame({"expected": [0.0, top], "observed": [0.0, top]})
    dots = (
        alt.Chart(points)
        .mark_circle(size=14, opacity=0.7)
        .encode(
            x=alt.X("expected:Q", title="expected −log10 p"),
            y=alt.Y("observed:Q", title="observed −log10 p"),
            tooltip=["expected", "observed"],
        )
    )
    identity = alt.Chart(line).mark_line(color="#999", strokeDash=[4, 4]).encode(x="expected:Q", y="observed:Q")
    return (identity + dots).properties(title=title, width=320, height=260)


def _tables_by_role(lake: Lake, run: RunRecord) -> tuple[str | None, str | None, str | None]:
    variants = samples = filtered = None
    infos = {d.name: d for d in lake.datasets()}
    for name in run.outputs:
        info = infos.get(name)
        if info is None or info.run_id != run.id:
            continue
        if info.kind == "table" and "hwe_p" in info.schema:
            variants = name
        elif info.kind == "table" and "f" in info.schema and "sample_id" in info.schema:
            samples = name
        elif info.kind == "array":
            filtered = name
    return variants, samples, filtered


@register_section("genomics qc")
def _genomics_qc(lake: Lake, run: RunRecord, section: Section) -> None:
    variants, samples, filtered = _tables_by_role(lake, run)
    if variants is None:
        section.text("The per-variant results of this run are no longer in the lake.")
        return
    with lake.connect() as con:
        facts = con.execute(
            f"""SELECT count(*) AS n, count(*) FILTER (WHERE hwe_p < 1e-6) AS n_hwe,
                   count(*) FILTER (WHERE least(alt_freq, 1 - alt_freq) < 0.01) AS n_rare,
                   count(*) FILTER (WHERE missing_rate > 0.05) AS n_missing,
                   avg(missing_rate) AS mean_missing
                FROM {_quote(variants)}"""
        ).fetchone()
        extreme = con.execute(
            f"SELECT * FROM {_quote(variants)} WHERE hwe_p IS NOT NULL ORDER BY hwe_p, chrom, pos LIMIT {_EXTREME_ROWS}"
        ).fetch_df()
    n, n_hwe, n_rare, n_missing, mean_missing = facts
    summary: dict[str, Any] = {
        "genotypes": run.params.get("genotypes", ""),
        "variants": n,
        "HWE p < 1e-6": n_hwe,
        "minor allele frequency < 1 %": n_rare,
        "missing rate > 5 %": n_missing,
        "mean missing rate": f"{(mean_missing or 0.0):.4f}",
        "HWE test": "mid-p" if run.params.get("midp") else "standard (plink2 --hardy)",
    }
    if filtered is not None:
        shape = lake.info(filtered).shape or [0, 0]
        summary["filtered dataset"] = f"{filtered}: {shape[0]} variants x {shape[1]} samples"
    section.key_values(summary)
    charts = [
        histogram_chart(histogram(lake, variants, "alt_freq"), "alt_freq"),
        histogram_chart(histogram(lake, variants, "missing_rate"), "missing_rate"),
    ]
    section.chart(alt.hconcat(*charts), caption="ALT allele frequency and missing call rate per variant")
    section.chart(
        hwe_qq_chart(hwe_qq_points(lake, variants)),
        caption="Observed against expected −log10 HWE p-values; points above the dashed line depart from HWE",
    )
    section.table(extreme, caption="Variants furthest from Hardy–Weinberg equilibrium", max_rows=_EXTREME_ROWS)
    if samples is not None:
        sub = section.subsection("Samples")
        sub.chart(
            alt.hconcat(
                histogram_chart(histogram(lake, samples, "call_rate"), "call_rate"),
                histogram_chart(histogram(lake, samples, "f"), "f"),
            ),
            caption="Call rate and inbreeding coefficient F (plink2 --het) per sample",
        )
        with lake.connect() as con:
            worst = con.execute(
                f"SELECT * FROM {_quote(samples)} ORDER BY call_rate, f DESC LIMIT {_EXTREME_ROWS}"
            ).fetch_df()
        sub.table(worst, caption="Samples with the lowest call rate", max_rows=_EXTREME_ROWS)


@register_section("ingest plink")
def _ingest_plink(lake: Lake, run: RunRecord, section: Section) -> None:
    for name in run.outputs:
        if not _own(lake, run, name) or lake.info(name).kind != "array":
            continue
        info = lake.info(name)
        group = lake.open_array(name)
        contigs = group["contig_id"][:]
        per_contig = np.bincount(group["variant_contig"][:], minlength=len(contigs))
        shape = info.shape or [0, 0, 0]
        section.text(
            f"Genotype dataset {name}: {shape[0]} variants x {shape[1]} samples, in the VCF Zarr layout "
            f"(encoding {info.encoding} v{info.encoding_version}; open it with sgkit.load_dataset or xarray.open_zarr)."
        )
        section.table(
            pd.DataFrame({"contig": [str(c) for c in contigs], "variants": per_contig}), caption="Variants per contig"
        )


@register_demo("Genomics: ingest a PLINK fileset, variant and sample QC with filters")
def _genomics_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.genomics.qc import qc
    from biolake.genomics.simulate import simulate_plink
    from biolake.io.plink import ingest_plink

    prefix = simulate_plink(data_dir / "cohort", n_samples=500, n_variants=5_000, seed=20261127)
    info = ingest_plink(lake, prefix, name="cohort", progress=progress)
    res = qc(
        lake,
        "lake:cohort",
        out=data_dir / "cohort_variant_qc.parquet",
        samples_out=data_dir / "cohort_sample_qc.parquet",
        mind=0.1,
        geno=0.05,
        hwe=1e-6,
        maf=0.01,
        progress=progress,
    )
    return [info.run_id or "", res.run_id]
