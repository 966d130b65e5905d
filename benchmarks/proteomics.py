"""Proteomics differential abundance: ``biolake genomics proteomics`` side by side with R limma.

``python -m benchmarks proteomics [--proteins 20000] [--per-group 500] [--quick] [--timeout 1800]``

1. Simulates LFQ intensities with intensity-dependent missing values
   (:func:`biolake.genomics.proteomics.simulate_intensities`, two conditions, 10 % of
   proteins changed) and writes a protein × sample CSV and a samples table under
   ``benchmarks/work/proteomics/``.
2. Runs, each in its own process and measured the same way (wall time, peak RSS of the
   process tree): ``biolake ingest proteomics`` and ``biolake genomics proteomics``
   (log2, median centring, ``--trend``), and ``Rscript`` doing the same with limma
   (``lmFit`` + ``eBayes(trend = TRUE)`` + ``topTable``), reading the same CSV. The analysis
   alone (after reading) is timed inside each tool as well: R with ``proc.time()``,
   biolake from its run record.
3. Compares the two result tables and writes ``benchmarks/results/proteomics.md``
   (``--quick``: 2,000 proteins, under ``benchmarks/work/``).
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

NAME = "proteomics"
HERE = WORK_DIR / NAME

R_SCRIPT = r"""
suppressPackageStartupMessages(library(limma))
args <- commandArgs(trailingOnly = TRUE)
hdr <- scan(args[1], what = "", sep = ",", nlines = 1, quiet = TRUE)
raw <- as.matrix(read.csv(args[1], row.names = 1, check.names = FALSE,
                          colClasses = c("character", rep("numeric", length(hdr) - 1))))
samples <- read.csv(args[2], colClasses = "character")
t0 <- proc.time()
y <- log2(raw); y[!is.finite(y)] <- NA
y <- y[rowSums(!is.na(y)) >= 2, ]
med <- apply(y, 2, median, na.rm = TRUE); y <- sweep(y, 2, med - mean(med))
condition <- relevel(factor(samples$condition[match(colnames(y), samples$sample)]), ref = "control")
fit <- eBayes(lmFit(y, model.matrix(~ condition)), trend = TRUE)
tt <- topTable(fit, coef = "conditiontreated", number = Inf, sort.by = "none")
t1 <- proc.time() - t0
secs <- c(t1[["elapsed"]], t1[["user.self"]] + t1[["sys.self"]])
write.csv(data.frame(protein = rownames(tt), log_fc = tt$logFC, ave_expr = tt$AveExpr, t = tt$t,
                     pvalue = tt$P.Value, padj = tt$adj.P.Val, b = tt$B), args[3], row.names = FALSE)
writeLines(format(secs, digits = 6), args[4])  # elapsed, CPU
"""

COLUMNS = ("log_fc", "ave_expr", "t", "pvalue", "padj", "b")


def _compare(ours: pd.DataFrame, ref: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    rows = []
    for col in COLUMNS:
        a, b = ours[col].to_numpy(float), ref[col].to_numpy(float)
        na_same = bool(np.array_equal(np.isnan(a), np.isnan(b)))
        ok = ~np.isnan(a) & ~np.isnan(b)
        diff = np.abs(a[ok] - b[ok])
        rel = diff / np.maximum(np.abs(b[ok]), 1e-300)
        rows.append(
            (
                col,
                f"{rel.max():.1e}" if rel.size else "-",
                f"{diff.max():.1e}" if diff.size else "-",
                "yes" if na_same else "no",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when both tools ran and agree, else 1."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks proteomics", description=__doc__.splitlines()[0])
    parser.add_argument("--proteins", type=int, default=20_000)
    parser.add_argument("--per-group", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--quick", action="store_true", help="2,000 proteins; results under benchmarks/work/")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args(argv)
    n = 2_000 if args.quick else args.proteins
    from biolake.genomics.proteomics import simulate_intensities
    from biolake.lake import Lake

    shutil.rmtree(HERE, ignore_errors=True)
    HERE.mkdir(parents=True)
    x, samples = simulate_intensities(n_proteins=n, n_per_group=args.per_group, seed=42)
    matrix_file, samples_file = HERE / "intensities.csv", HERE / "samples.csv"
    x.rename_axis("protein").to_csv(matrix_file, na_rep="NA")
    samples.to_csv(samples_file, index=False)
    (HERE / "limma.R").write_text(R_SCRIPT, encoding="utf-8")
    lake = HERE / "lake"
    biolake = tool("biolake")
    ingest = run_measured(
        [biolake, "--lake", lake, "-q", "ingest", "proteomics", matrix_file, "--name", "lfq", "--format", "matrix"],
        label="biolake ingest proteomics",
        timeout=args.timeout,
    )
    ours = run_measured(
        [
            biolake, "--lake", lake, "-q", "genomics", "proteomics", "lake:lfq", "--samples", samples_file,
            "--design", "~ condition", "--contrast", "condition,treated,control", "--trend",
            "--out", HERE / "biolake.csv",
        ],
        label="biolake genomics proteomics",
        timeout=args.timeout,
    )  # fmt: skip
    r = None
    if shutil.which("Rscript") is None:
        print("Rscript not found: running biolake only (apt-get install r-bioc-limma)", file=sys.stderr)
    else:
        r = run_measured(
            ["Rscript", HERE / "limma.R", matrix_file, samples_file, HERE / "limma.csv", HERE / "limma_seconds.txt"],
            label="R limma (read CSV + analysis)",
            timeout=args.timeout,
        )
    runs = [v for v in (ingest, ours, r) if v is not None]
    m = 2 * args.per_group
    miss = float(np.isnan(x.to_numpy()).mean())
    body = [
        f"{n:,} proteins × {m} samples (2 conditions, {args.per_group} each), simulated log-normal LFQ "
        f"intensities with {100 * miss:.1f} % missing values, more often at low intensity "
        "(`biolake.genomics.proteomics.simulate_intensities`, seed 42); log2, proteins with ≥ 2 values, "
        "median centring, lmFit + eBayes(trend = TRUE), treated vs control. Each tool in its own process; "
        "peak RSS is that of the process tree.",
        markdown_table(
            ["run", "wall time", "CPU time", "peak RSS", "status"],
            [(v.label, fmt_seconds(v.wall_s), fmt_seconds(v.cpu_s), fmt_bytes(v.peak), v.status) for v in runs],
            align="lrrrl",
        ),
    ]
    status = 0 if all(v.ok for v in runs) else 1
    if status == 0:
        ours_analysis = Lake.open(lake).runs()[0].seconds
        text = (
            f"Analysis alone (after reading the data), wall time: biolake {fmt_seconds(ours_analysis)} (run "
            "record: reading the Zarr matrix, the analysis on the threads backend, writing the result)"
        )
        if r is not None:
            r_wall, r_cpu = (float(v) for v in (HERE / "limma_seconds.txt").read_text().split())
            text += (
                f", R limma {fmt_seconds(r_wall)} (CPU {fmt_seconds(r_cpu)}; proc.time around preprocessing + "
                f"lmFit + eBayes + topTable); ratio R / biolake **{fmt_ratio(r_wall, ours_analysis)}**"
            )
        body.append(text + ".")
    if status == 0 and r is not None:
        body.append(
            f"End to end (R: read CSV + analysis; biolake: ingest + analysis): ratio "
            f"**{fmt_ratio(r.wall_s, ours.wall_s + ingest.wall_s)}**."
        )
        a = pd.read_csv(HERE / "biolake.csv", dtype={"protein": str})
        b = pd.read_csv(HERE / "limma.csv", dtype={"protein": str})
        if a["protein"].tolist() != b["protein"].tolist():
            status = 1
        rows = _compare(a, b)
        body += [
            "Agreement with R limma (largest relative difference over proteins; identical NA patterns):",
            markdown_table(
                ["column", "max relative difference", "max absolute difference", "same NA"], rows, align="lrrl"
            ),
            f"padj < 0.05: biolake {int((a['padj'] < 0.05).sum())} proteins, limma {int((b['padj'] < 0.05).sum())}.",
        ]
        status = status or int(any(row[-1] == "no" for row in rows))
    facts = machine_facts(("biolake", "numpy", "scipy", "pandas", "zarr"))
    out = write_results(NAME, "Proteomics differential abundance: biolake vs R limma", "\n\n".join(body), facts,
                        results_dir=HERE if args.quick else None)  # fmt: skip
    print(f"wrote {out}", file=sys.stderr)
    if not args.keep:
        for f in (matrix_file, HERE / "biolake.csv", HERE / "limma.csv"):
            f.unlink(missing_ok=True)
        shutil.rmtree(lake, ignore_errors=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
