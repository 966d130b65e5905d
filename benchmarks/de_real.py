"""Real RNA-seq data: biolake and PyDESeq2, each against R DESeq2 — whose results are closer?

``python -m benchmarks de_real [--pydeseq2-python PATH]``

The count matrix of Marioni et al. (2008; kidney vs liver, 5,088 genes × 10 samples, shipped
by Bioconductor's NOISeq) with R DESeq2 1.38's results for designs ``~ run + tissue`` and
``~ tissue`` (contrast tissue Liver vs Kidney) are committed under ``tests/data/expression/``
(made by ``tests/data/reference/expression/make_real_reference.R``). This runs biolake
(in process) and PyDESeq2 (``DeseqDataSet`` + ``DeseqStats`` with default settings, in the
interpreter of ``--pydeseq2-python``, see :mod:`benchmarks.de`) on the same matrix and
writes the issue's agreement measures of each against R to ``benchmarks/results/de_real.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import WORK_DIR, machine_facts, markdown_table, write_results
from benchmarks.de import AGREEMENT_HEADERS, _pydeseq2_python, agreement, agreement_row, max_rel_diff

NAME = "de_real"
HERE = WORK_DIR / NAME
DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "expression"
DESIGNS = {"~ run + tissue": "marioni_wald.csv.gz", "~ tissue": "marioni_wald_tissue.csv.gz"}

PYDESEQ2_SCRIPT = r"""
import sys
import pandas as pd
from pydeseq2.dds import DeseqDataSet
from pydeseq2.default_inference import DefaultInference
from pydeseq2.ds import DeseqStats

counts = pd.read_csv(sys.argv[1], index_col=0, dtype={0: str})
samples = pd.read_csv(sys.argv[2], dtype=str).set_index("sample").loc[counts.columns]
inference = DefaultInference(n_cpus=2)
dds = DeseqDataSet(counts=counts.T, metadata=samples, design=sys.argv[3].replace(" ", ""), inference=inference,
                   quiet=True)
dds.deseq2()
ds = DeseqStats(dds, contrast=["tissue", "Liver", "Kidney"], inference=inference, quiet=True)
ds.summary()
r = ds.results_df
pd.DataFrame({"gene": r.index.astype(str), "base_mean": r["baseMean"], "log2_fold_change": r["log2FoldChange"],
              "lfc_se": r["lfcSE"], "stat": r["stat"], "pvalue": r["pvalue"], "padj": r["padj"]}).to_csv(
    sys.argv[4], index=False)
"""


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; 0 when it ran."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks de_real", description=__doc__.splitlines()[0])
    parser.add_argument("--pydeseq2-python", default=None)
    args = parser.parse_args(argv)
    from biolake.genomics.de import deseq2

    HERE.mkdir(parents=True, exist_ok=True)
    counts = pd.read_csv(DATA / "marioni_counts.csv.gz", index_col=0, dtype={"gene": str}).rename_axis(None)
    samples = pd.read_csv(DATA / "marioni_samples.csv", dtype=str)
    counts_file = DATA / "marioni_counts.csv.gz"
    py = _pydeseq2_python(args.pydeseq2_python)
    script = HERE / "pydeseq2_real.py"
    script.write_text(PYDESEQ2_SCRIPT, encoding="utf-8")
    body = [
        "Marioni et al. (2008) kidney vs liver, 5,088 genes × 10 samples (NOISeq's `data(Marioni)`); "
        "contrast tissue Liver vs Kidney; each tool with its default settings; reference R DESeq2 1.38.3 "
        "(tests/data/expression/marioni_wald*.csv.gz)."
    ]
    for design, ref_file in DESIGNS.items():
        ref = pd.read_csv(DATA / ref_file, dtype={"gene": str})
        tables = {"biolake": deseq2(counts, samples, design=design, contrast=("tissue", "Liver", "Kidney"))}
        if py is not None:
            out = HERE / "pydeseq2.csv"
            done = subprocess.run([py, script, counts_file, DATA / "marioni_samples.csv", design, out],
                                  capture_output=True, text=True)  # fmt: skip
            if done.returncode == 0:
                tables["PyDESeq2"] = pd.read_csv(out, dtype={"gene": str})
            else:
                print(done.stderr[-2000:], file=sys.stderr)
        rows = [agreement_row(label, agreement(t, ref)) for label, t in tables.items()]
        body += [
            f"### design `{design}`",
            markdown_table(AGREEMENT_HEADERS, rows, align="l" + "r" * (len(AGREEMENT_HEADERS) - 1)),
        ]
        cols = ["column"] + [f"{label}: max rel. diff / same NA" for label in tables]
        diffs = {label: max_rel_diff(t, ref) for label, t in tables.items()}
        body.append(
            markdown_table(
                cols,
                [
                    [c] + [f"{diffs[label][k][1]} / {diffs[label][k][2]}" for label in tables]
                    for k, c in enumerate(r[0] for r in next(iter(diffs.values())))
                ],
                align="l" + "r" * len(tables),
            )
        )
        if "PyDESeq2" in tables:
            a, b = tables["biolake"], tables["PyDESeq2"]
            closer = np.nanmedian(np.abs(a["stat"] - ref["stat"])) < np.nanmedian(np.abs(b["stat"] - ref["stat"]))
            body.append(f"Closer to R DESeq2 (median |Δ Wald statistic|): **{'biolake' if closer else 'PyDESeq2'}**.")
    facts = machine_facts(("biolake", "numpy", "numba", "scipy", "pandas"))
    if py is not None:
        v = subprocess.run([py, "-c", "import pydeseq2; print(pydeseq2.__version__)"], capture_output=True,
                           text=True).stdout.strip()  # fmt: skip
        facts["packages"] += f", pydeseq2 {v}"
    path = write_results(NAME, "Real data: biolake and PyDESeq2 against R DESeq2", "\n\n".join(body), facts)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
