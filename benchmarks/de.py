"""RNA-seq differential expression: ``biolake genomics de`` side by side with R DESeq2.

``python -m benchmarks de [--genes 20000] [--per-group 6] [--quick] [--timeout 1800]``

1. Simulates a count matrix (:func:`biolake.genomics.expression_sim.simulate_rnaseq`,
   two conditions, 10 % of genes with a fold change) and writes it as TSV with a
   samples table, under ``benchmarks/work/de/``.
2. Runs, each in its own process and measured the same way (wall time, peak RSS of
   the process tree): ``biolake ingest counts`` and ``biolake genomics de`` (Wald test,
   default threads backend), and ``Rscript`` running ``DESeq()`` + ``results()`` with
   the same contrast (reading the same TSV).
3. Compares the two result tables (largest relative differences, identical NA/padj
   calls) and writes ``benchmarks/results/de.md`` (``--quick``: under ``benchmarks/work/``).
"""

from __future__ import annotations

import argparse
import shutil
import sys

import numpy as np
import pandas as pd

from benchmarks._common import (
    WORK_DIR,
    fmt_bytes,
    fmt_ratio,
    fmt_seconds,
    machine_facts,
    markdown_table,
    run_measured,
    tool,
    write_results,
)

NAME = "de"
HERE = WORK_DIR / NAME

R_SCRIPT = r"""
suppressPackageStartupMessages(library(DESeq2))
args <- commandArgs(trailingOnly = TRUE)
counts <- as.matrix(read.delim(args[1], row.names = 1, check.names = FALSE))
coldata <- read.csv(args[2], row.names = 1, colClasses = "character")
coldata$condition <- factor(coldata$condition)
dds <- DESeqDataSetFromMatrix(counts, coldata[colnames(counts), , drop = FALSE], ~ condition)
dds <- DESeq(dds, quiet = TRUE)
res <- results(dds, contrast = c("condition", "treated", "control"))
out <- data.frame(gene = rownames(res), base_mean = res$baseMean, log2_fold_change = res$log2FoldChange,
                  lfc_se = res$lfcSE, stat = res$stat, pvalue = res$pvalue, padj = res$padj)
write.csv(out, args[3], row.names = FALSE)
"""


def _compare(ours: pd.DataFrame, ref: pd.DataFrame) -> list[tuple[str, str, str]]:
    rows = []
    for col in ("base_mean", "log2_fold_change", "lfc_se", "stat", "pvalue", "padj"):
        a, b = ours[col].to_numpy(float), ref[col].to_numpy(float)
        na_same = bool(np.array_equal(np.isnan(a), np.isnan(b)))
        ok = ~np.isnan(a) & ~np.isnan(b)
        rel = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)
        rows.append((col, f"{rel.max():.1e}" if rel.size else "-", "yes" if na_same else "no"))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when both tools ran and agree, else 1."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks de", description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--per-group", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--quick", action="store_true", help="2,000 genes; results under benchmarks/work/")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args(argv)
    genes = 2_000 if args.quick else args.genes
    from biolake.genomics.expression_sim import simulate_rnaseq

    shutil.rmtree(HERE, ignore_errors=True)
    HERE.mkdir(parents=True)
    counts, samples, _ = simulate_rnaseq(n_genes=genes, n_per_group=args.per_group, seed=42)
    counts_file, samples_file = HERE / "counts.tsv", HERE / "samples.csv"
    counts.rename_axis("gene").to_csv(counts_file, sep="\t")
    samples.to_csv(samples_file, index=False)
    (HERE / "deseq2.R").write_text(R_SCRIPT, encoding="utf-8")
    lake = HERE / "lake"
    biolake = tool("biolake")
    ingest = run_measured(
        [biolake, "--lake", lake, "-q", "ingest", "counts", counts_file, "--name", "counts"],
        label="biolake ingest counts",
        timeout=args.timeout,
    )
    ours = run_measured(
        [
            biolake, "--lake", lake, "-q", "genomics", "de", "lake:counts", "--samples", samples_file,
            "--design", "~ condition", "--contrast", "condition,treated,control", "--out", HERE / "biolake.csv",
        ],
        label="biolake genomics de",
        timeout=args.timeout,
    )  # fmt: skip
    if shutil.which("Rscript") is None:
        print("Rscript not found: running biolake only (apt-get install r-bioc-deseq2)", file=sys.stderr)
        r = None
    else:
        r = run_measured(
            ["Rscript", HERE / "deseq2.R", counts_file, samples_file, HERE / "deseq2.csv"],
            label="R DESeq2",
            timeout=args.timeout,
        )
    runs = [x for x in (ingest, ours, r) if x is not None]
    m = 2 * args.per_group
    body = [
        f"{genes:,} genes × {m} samples (2 conditions, {args.per_group} each), simulated NB counts "
        "(`biolake.genomics.expression_sim.simulate_rnaseq`, seed 42); Wald test of treated vs control "
        "with DESeq2's defaults (independent filtering, Cook's cutoff). Each tool in its own process; "
        "peak RSS is that of the process tree.",
        markdown_table(
            ["run", "wall time", "CPU time", "peak RSS", "status"],
            [(x.label, fmt_seconds(x.wall_s), fmt_seconds(x.cpu_s), fmt_bytes(x.peak), x.status) for x in runs],
            align="lrrrl",
        ),
    ]
    if r is not None:
        body.append(
            f"Time ratio R DESeq2 / biolake genomics de: **{fmt_ratio(r.wall_s, ours.wall_s)}** "
            f"(with the ingest: {fmt_ratio(r.wall_s, ours.wall_s + ingest.wall_s)}); CPU time ratio "
            f"{fmt_ratio(r.cpu_s, ours.cpu_s)}. Wall times include each tool's start-up (R loading "
            "Bioconductor, Python importing numba-compiled kernels from the cache)."
        )
    status = 0 if all(x.ok for x in runs) else 1
    if status == 0 and r is not None:
        a = pd.read_csv(HERE / "biolake.csv", dtype={"gene": str})
        b = pd.read_csv(HERE / "deseq2.csv", dtype={"gene": str})
        if a["gene"].tolist() != b["gene"].tolist():
            status = 1
        rows = _compare(a, b)
        body += [
            "Agreement with R DESeq2 (largest relative difference over genes where both are not NA; "
            "whether the NA patterns are identical):",
            markdown_table(["column", "max relative difference", "same NA"], rows, align="lrl"),
            f"padj < 0.1: biolake {int((a['padj'] < 0.1).sum())} genes, DESeq2 {int((b['padj'] < 0.1).sum())}.",
        ]
        status = status or int(any(na == "no" for _, _, na in rows))
    facts = machine_facts(("biolake", "numpy", "numba", "scipy", "pandas", "zarr"))
    out = write_results(NAME, "Differential expression: biolake vs R DESeq2", "\n\n".join(body), facts,
                        results_dir=HERE if args.quick else None)  # fmt: skip
    print(f"wrote {out}", file=sys.stderr)
    if not args.keep:
        for f in (counts_file, HERE / "biolake.csv", HERE / "deseq2.csv"):
            f.unlink(missing_ok=True)
        shutil.rmtree(lake, ignore_errors=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
