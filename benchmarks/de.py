"""RNA-seq differential expression: ``biolake genomics de`` side by side with R DESeq2 and PyDESeq2.

``python -m benchmarks de [--genes 20000] [--samples 100,1000] [--quick] [--timeout 1800]
[--pydeseq2-python PATH] [--no-r] [--no-pydeseq2]`` (with both ``--no-*``: biolake alone, results
under ``benchmarks/work/de/``)

For each sample count (two conditions, half each):

1. Simulates a count matrix (:func:`biolake.genomics.expression_sim.simulate_rnaseq`,
   10 % of genes with a fold change, seed 42) and writes it as TSV with a samples table,
   under ``benchmarks/work/de/``.
2. Runs, each in its own process and measured the same way (wall time, CPU time, peak RSS
   of the process tree): ``biolake ingest counts`` and ``biolake genomics de`` (Wald test,
   default threads backend, both cores), ``Rscript`` running ``DESeq()`` + ``results()``
   (one core: DESeq2 without BiocParallel) and PyDESeq2 (``DeseqDataSet.deseq2()`` +
   ``DeseqStats.summary()``, ``n_cpus=2``), all on the same TSV and contrast.
3. Compares biolake's and PyDESeq2's tables with R's (largest relative differences and
   the issue's agreement goals, :func:`agreement`) and writes ``benchmarks/results/de.md``
   (``--quick``: 2,000 genes × 12 samples, under ``benchmarks/work/``).

PyDESeq2 is optional (``pip install .[bench]``). It pins pandas < 3 through anndata on
Python 3.11, so the benchmark runs it with the interpreter of ``--pydeseq2-python``
(default: ``benchmarks/work/pydeseq2-venv/bin/python`` when it exists, else this one);
make that venv with ``python3 -m venv benchmarks/work/pydeseq2-venv &&
benchmarks/work/pydeseq2-venv/bin/pip install pydeseq2``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

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
PYDESEQ2_VENV = WORK_DIR / "pydeseq2-venv" / "bin" / "python"
COLUMNS = ("base_mean", "log2_fold_change", "lfc_se", "stat", "pvalue", "padj")

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

PYDESEQ2_SCRIPT = r"""
import sys
import pandas as pd
from pydeseq2.dds import DeseqDataSet
from pydeseq2.default_inference import DefaultInference
from pydeseq2.ds import DeseqStats

counts = pd.read_csv(sys.argv[1], sep="\t", index_col=0, dtype={0: str})
samples = pd.read_csv(sys.argv[2], dtype=str).set_index("sample").loc[counts.columns]
inference = DefaultInference(n_cpus=int(sys.argv[4]))
dds = DeseqDataSet(counts=counts.T, metadata=samples, design="~condition", inference=inference, quiet=True)
dds.deseq2()
ds = DeseqStats(dds, contrast=["condition", "treated", "control"], inference=inference, quiet=True)
ds.summary()
r = ds.results_df
out = pd.DataFrame({"gene": r.index.astype(str), "base_mean": r["baseMean"], "log2_fold_change": r["log2FoldChange"],
                    "lfc_se": r["lfcSE"], "stat": r["stat"], "pvalue": r["pvalue"], "padj": r["padj"]})
out.to_csv(sys.argv[3], index=False)
"""


def max_rel_diff(ours: pd.DataFrame, ref: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Per column: the largest relative difference where both are not NA, and whether the NA patterns match."""
    rows = []
    for col in COLUMNS:
        a, b = ours[col].to_numpy(float), ref[col].to_numpy(float)
        na_same = bool(np.array_equal(np.isnan(a), np.isnan(b)))
        ok = ~np.isnan(a) & ~np.isnan(b)
        rel = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)
        rows.append((col, f"{rel.max():.1e}" if rel.size else "-", "yes" if na_same else "no"))
    return rows


def agreement(ours: pd.DataFrame, ref: pd.DataFrame) -> dict[str, float]:
    """The issue's agreement measures of a result table against R DESeq2's (same gene order).

    Over genes with R's ``base_mean >= 10``: the fraction with ``|Δ log2FC| < 0.01``, the
    fraction with the same ``padj < 0.05`` call, the overlap (intersection over union) of
    the two ``padj < 0.05`` sets, the 99th percentile of ``|Δ stat| / |stat_R|``; plus the
    largest relative differences of size-factor-driven ``base_mean`` over all genes.
    """
    if ours["gene"].astype(str).tolist() != ref["gene"].astype(str).tolist():
        raise ValueError("the two tables list different genes")
    big = ref["base_mean"].to_numpy(float) >= 10
    a, b = ours[big], ref[big]
    lfc_a, lfc_b = a["log2_fold_change"].to_numpy(float), b["log2_fold_change"].to_numpy(float)
    both = ~np.isnan(lfc_a) & ~np.isnan(lfc_b)
    d_lfc = np.abs(lfc_a - lfc_b)
    sig_a = a["padj"].to_numpy(float) < 0.05
    sig_b = b["padj"].to_numpy(float) < 0.05
    union = int((sig_a | sig_b).sum())
    st_a, st_b = a["stat"].to_numpy(float), b["stat"].to_numpy(float)
    ok = ~np.isnan(st_a) & ~np.isnan(st_b) & (st_b != 0)
    rel_stat = np.abs(st_a[ok] - st_b[ok]) / np.abs(st_b[ok])
    bm_a, bm_b = ours["base_mean"].to_numpy(float), ref["base_mean"].to_numpy(float)
    return {
        "genes": float(big.sum()),
        "base_mean_max_rel": float(np.max(np.abs(bm_a - bm_b) / np.maximum(bm_b, 1e-300))),
        "lfc_within_0.01": float(np.mean(np.where(both, d_lfc < 0.01, np.isnan(lfc_a) == np.isnan(lfc_b)))),
        "lfc_max_abs": float(np.max(d_lfc[both])) if both.any() else float("nan"),
        "same_call": float(np.mean(sig_a == sig_b)),
        "jaccard": float((sig_a & sig_b).sum() / union) if union else 1.0,
        "sig_ours": float(sig_a.sum()),
        "sig_ref": float(sig_b.sum()),
        "stat_rel_p99": float(np.percentile(rel_stat, 99)) if rel_stat.size else float("nan"),
        "stat_rel_max": float(rel_stat.max()) if rel_stat.size else float("nan"),
    }


AGREEMENT_HEADERS = [
    "tool", "genes (R base_mean ≥ 10)", "|Δ log2FC| < 0.01 (goal ≥ 99.5 %)", "max |Δ log2FC|",
    "same padj < 0.05 call (goal ≥ 99.5 %)", "padj < 0.05 sets: shared / union (goal ≥ 90 %)",
    "padj < 0.05 genes (tool / R)", "99th pct relative Wald difference (goal ≤ 0.5 %)", "max relative Wald difference",
    "max relative base_mean difference (goal 1e-8)",
]  # fmt: skip


def agreement_row(label: str, g: dict[str, float]) -> tuple[str, ...]:
    """One row of the agreement table (columns :data:`AGREEMENT_HEADERS`)."""
    return (
        label,
        f"{g['genes']:,.0f}",
        f"{100 * g['lfc_within_0.01']:.2f} %",
        f"{g['lfc_max_abs']:.1e}",
        f"{100 * g['same_call']:.2f} %",
        f"{100 * g['jaccard']:.2f} %",
        f"{g['sig_ours']:,.0f} / {g['sig_ref']:,.0f}",
        f"{100 * g['stat_rel_p99']:.2g} %",
        f"{100 * g['stat_rel_max']:.2g} %",
        f"{g['base_mean_max_rel']:.1e}",
    )


def _pydeseq2_python(arg: str | None) -> str | None:
    candidates = [arg] if arg else [str(PYDESEQ2_VENV), sys.executable]
    for py in candidates:
        if py and Path(py).exists():
            ok = subprocess.run([py, "-c", "import pydeseq2"], capture_output=True).returncode == 0
            if ok:
                return py
    return None


def _one_size(args: argparse.Namespace, genes: int, n_samples: int, pydeseq2_py: str | None) -> tuple[list[str], bool]:
    from biolake.genomics.expression_sim import simulate_rnaseq

    per_group = n_samples // 2
    here = HERE / f"{genes}x{2 * per_group}"
    shutil.rmtree(here, ignore_errors=True)
    here.mkdir(parents=True)
    counts, samples, _ = simulate_rnaseq(n_genes=genes, n_per_group=per_group, seed=42)
    counts_file, samples_file = here / "counts.tsv", here / "samples.csv"
    counts.rename_axis("gene").to_csv(counts_file, sep="\t")
    samples.to_csv(samples_file, index=False)
    (here / "deseq2.R").write_text(R_SCRIPT, encoding="utf-8")
    (here / "pydeseq2_run.py").write_text(PYDESEQ2_SCRIPT, encoding="utf-8")
    lake = here / "lake"
    biolake = tool("biolake")
    print(f"{genes:,} genes × {2 * per_group:,} samples", file=sys.stderr)
    ingest = run_measured(
        [biolake, "--lake", lake, "-q", "ingest", "counts", counts_file, "--name", "counts"],
        label="biolake ingest counts",
        timeout=args.timeout,
    )
    ours = run_measured(
        [
            biolake, "--lake", lake, "-q", "genomics", "de", "lake:counts", "--samples", samples_file,
            "--design", "~ condition", "--contrast", "condition,treated,control", "--out", here / "biolake.csv",
        ],
        label="biolake genomics de",
        timeout=args.timeout,
    )  # fmt: skip
    r = None
    if shutil.which("Rscript") is None:
        print("Rscript not found: skipping R DESeq2 (apt-get install r-bioc-deseq2)", file=sys.stderr)
    elif not args.no_r:
        r = run_measured(
            ["Rscript", here / "deseq2.R", counts_file, samples_file, here / "deseq2.csv"],
            label="R DESeq2 (1 core)",
            timeout=args.timeout,
        )
    py = None
    if pydeseq2_py is None:
        print("pydeseq2 not importable: skipping it (see --pydeseq2-python)", file=sys.stderr)
    else:
        py = run_measured(
            [pydeseq2_py, here / "pydeseq2_run.py", counts_file, samples_file, here / "pydeseq2.csv", "2"],
            label="PyDESeq2 (n_cpus=2)",
            timeout=args.timeout,
            env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        )
    runs = [x for x in (ingest, ours, r, py) if x is not None]
    body = [
        f"### {genes:,} genes × {2 * per_group:,} samples",
        markdown_table(
            ["run", "wall time", "CPU time", "peak RSS", "status"],
            [(x.label, fmt_seconds(x.wall_s), fmt_seconds(x.cpu_s), fmt_bytes(x.peak), x.status) for x in runs],
            align="lrrrl",
        ),
    ]
    ratios = []
    for other in (r, py):
        if other is not None and other.ok and ours.ok:
            ratios.append(
                f"{other.label} / biolake genomics de: wall **{fmt_ratio(other.wall_s, ours.wall_s)}** "
                f"(with the ingest {fmt_ratio(other.wall_s, ours.wall_s + ingest.wall_s)}), "
                f"CPU {fmt_ratio(other.cpu_s, ours.cpu_s)}."
            )
    body += ratios
    ok = all(x.ok for x in runs)
    if ok and r is not None:
        ref = pd.read_csv(here / "deseq2.csv", dtype={"gene": str})
        tables = {"biolake": pd.read_csv(here / "biolake.csv", dtype={"gene": str})}
        if py is not None:
            tables["PyDESeq2"] = pd.read_csv(here / "pydeseq2.csv", dtype={"gene": str})
        rows = []
        for label, t in tables.items():
            rows.append(agreement_row(label, agreement(t, ref)))
        body += [
            "Agreement with R DESeq2 (the issue's measures):",
            markdown_table(AGREEMENT_HEADERS, rows, align="l" + "r" * (len(AGREEMENT_HEADERS) - 1)),
        ]
        for label, t in tables.items():
            diff = max_rel_diff(t, ref)
            body += [
                f"{label}: largest relative difference from R over genes where both are not NA, and whether the "
                "NA patterns are identical:",
                markdown_table(["column", "max relative difference", "same NA"], diff, align="lrl"),
            ]
            if label == "biolake":
                ok = ok and all(na == "yes" for _, _, na in diff)
    if not args.keep:
        for f in (counts_file, here / "biolake.csv", here / "deseq2.csv", here / "pydeseq2.csv"):
            f.unlink(missing_ok=True)
        shutil.rmtree(lake, ignore_errors=True)
    return body, ok


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every tool ran and biolake agrees with R, else 1."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks de", description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--samples", default="100,1000", help="comma-separated sample counts (two equal groups)")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--pydeseq2-python", default=None, help="interpreter that can import pydeseq2")
    parser.add_argument("--no-r", action="store_true", help="skip R DESeq2")
    parser.add_argument(
        "--no-pydeseq2", action="store_true", help="skip PyDESeq2 (with --no-r too: results under benchmarks/work/)"
    )
    parser.add_argument("--quick", action="store_true", help="2,000 genes × 12 samples; results under benchmarks/work/")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args(argv)
    genes = 2_000 if args.quick else args.genes
    sizes = [12] if args.quick else [int(s) for s in args.samples.split(",")]
    pydeseq2_py = None if args.no_pydeseq2 else _pydeseq2_python(args.pydeseq2_python)
    biolake_only = args.no_r and pydeseq2_py is None  # no peer: keep the committed side-by-side table
    facts = machine_facts(("biolake", "numpy", "numba", "scipy", "pandas", "zarr"))
    body = [
        "Simulated NB counts (`biolake.genomics.expression_sim.simulate_rnaseq`, seed 42; two conditions of equal "
        "size, 10 % of genes with a fold change); Wald test of treated vs control with DESeq2's defaults "
        "(independent filtering, Cook's cutoff; at ≥ 7 replicates per condition outlier counts are replaced and "
        "their genes refitted). Each tool runs in its own process on the same TSV; wall times include start-up "
        "(R loading Bioconductor, Python importing the compiled kernels from numba's cache); peak RSS is that of "
        "the process tree; CPU time is user + system of the tree. biolake uses both cores (threads over blocks of "
        "genes), PyDESeq2 `n_cpus=2`, R DESeq2 one core (DESeq2 without BiocParallel)."
    ]
    status = 0
    for n in sizes:
        part, ok = _one_size(args, genes, n, pydeseq2_py)
        body += part
        status = status or int(not ok)
    if pydeseq2_py is not None:
        v = subprocess.run([pydeseq2_py, "-c", "import pydeseq2; print(pydeseq2.__version__)"], capture_output=True,
                           text=True).stdout.strip()  # fmt: skip
        facts["packages"] += f", pydeseq2 {v}"
    rv = subprocess.run(["Rscript", "-e", "cat(as.character(packageVersion('DESeq2')))"], capture_output=True,
                        text=True).stdout.strip() if shutil.which("Rscript") else "not installed"  # fmt: skip
    facts["packages"] += f", R DESeq2 {rv}"
    out = write_results(NAME, "Differential expression: biolake vs R DESeq2 and PyDESeq2", "\n\n".join(body), facts,
                        results_dir=HERE if args.quick or biolake_only else None)  # fmt: skip
    print(f"wrote {out}", file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
