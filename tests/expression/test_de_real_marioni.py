"""biolake's DESeq2 method against R DESeq2 1.38 on a REAL count matrix.

Marioni et al. (2008, Genome Research 18:1509): human kidney vs liver, 5 lanes each over
two sequencing runs, 5,088 Ensembl genes x 10 samples, as shipped by Bioconductor's NOISeq
2.42 (``data(Marioni)``, Debian ``r-bioc-noiseq``). Reference outputs from
tests/data/reference/expression/make_real_reference.R::

    data(Marioni, package = "NOISeq")
    coldata <- data.frame(tissue = factor(myfactors$Tissue), run = factor(substr(colnames(mycounts), 1, 2)))
    dds <- DESeq(DESeqDataSetFromMatrix(as.matrix(mycounts), coldata, ~ run + tissue))
    results(dds, contrast = c("tissue", "Liver", "Kidney"))          # marioni_wald.csv.gz
    dds1 <- DESeq(DESeqDataSetFromMatrix(as.matrix(mycounts), coldata, ~ tissue))
    results(dds1, contrast = c("tissue", "Liver", "Kidney"))         # marioni_wald_tissue.csv.gz

Two kinds of check: ours (tight tolerances, as the simulated reference sets) and the
issue's agreement goals (size factors and base_mean to 1e-8; for genes with base_mean >= 10,
|Δ log2FC| < 0.01 and the same padj < 0.05 call for >= 99.5 % of genes, the padj < 0.05 sets
sharing >= 90 % of their union, the 99th percentile of the relative Wald difference <= 0.5 %).

Design ``~ run + tissue``: every value agrees to 5e-9 (p-values; fold changes 4e-11).
Design ``~ tissue``: the lanes are technical replicates, so many genes have a flat
likelihood near the minimum dispersion. For two genes (ENSG00000189229, ENSG00000082684)
DESeq2's gene-wise line search accepts or rejects its first step on differences of ~1e-10
in log likelihoods of ~-170 (rounding of lgamma near 3e4 decides), so R keeps 3.6e-5 and
3.1e-5 where we go to the 1e-8 floor by the grid search DESeq2 prescribes. R's parametric
trend fails here and the local fit is substituted (as ours); those two genes enter R's
local fit and not ours, which moves the trend by up to 22 % at the extremes. With R's two
gene-wise values everything else agrees to 2e-9 (tested below), and even without, the
issue's goals for fold changes and calls hold; the 99th percentile of the relative Wald
difference is 0.72 % there (goal 0.5 %).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from expression_data import DATA

import biolake.genomics.de as de_module
from biolake.genomics.de import deseq2, size_factors

FLAT_GENES = ["ENSG00000189229", "ENSG00000082684"]
CONTRAST = ("tissue", "Liver", "Kidney")


def _counts() -> pd.DataFrame:
    return pd.read_csv(DATA / "marioni_counts.csv.gz", index_col=0, dtype={"gene": str}).rename_axis(None)


def _samples() -> pd.DataFrame:
    return pd.read_csv(DATA / "marioni_samples.csv", dtype=str)


def _ref(design: str) -> pd.DataFrame:
    name = "marioni_wald.csv.gz" if design == "~ run + tissue" else "marioni_wald_tissue.csv.gz"
    return pd.read_csv(DATA / name, dtype={"gene": str})


def _fit(design: str) -> pd.DataFrame:
    res = deseq2(_counts(), _samples(), design=design, contrast=CONTRAST, details=True)
    return res.table.merge(res.dispersions.drop(columns="base_mean"), on="gene")


def _issue_goals(got: pd.DataFrame, ref: pd.DataFrame) -> dict[str, float]:
    big = ref["base_mean"].to_numpy() >= 10
    a, b = got[big], ref[big]
    d_lfc = np.abs(a["log2_fold_change"].to_numpy(float) - b["log2_fold_change"].to_numpy(float))
    sig_a, sig_b = a["padj"].to_numpy(float) < 0.05, b["padj"].to_numpy(float) < 0.05
    st_a, st_b = a["stat"].to_numpy(float), b["stat"].to_numpy(float)
    ok = ~np.isnan(st_b) & (st_b != 0)
    return {
        "base_mean": float(np.max(np.abs(got["base_mean"] - ref["base_mean"]) / ref["base_mean"])),
        "lfc_ok": float(np.mean(d_lfc < 0.01)),
        "same_call": float(np.mean(sig_a == sig_b)),
        "shared": float((sig_a & sig_b).sum() / (sig_a | sig_b).sum()),
        "wald_p99": float(np.percentile(np.abs(st_a[ok] - st_b[ok]) / np.abs(st_b[ok]), 99)),
    }


def test_size_factors__marioni_match_deseq2():
    """R: sizeFactors(estimateSizeFactors(dds)) and type = "poscounts" (issue goal 1e-8; held to 1e-12)."""
    ref = pd.read_csv(DATA / "marioni_size_factors.csv")
    counts = _counts()
    assert ref["sample"].tolist() == counts.columns.tolist()
    np.testing.assert_allclose(size_factors(counts.to_numpy()), ref["ratio"], rtol=1e-12)
    np.testing.assert_allclose(size_factors(counts.to_numpy(), kind="poscounts"), ref["poscounts"], rtol=1e-12)


def test_deseq2__marioni_run_tissue_matches_deseq2():
    """R: results(DESeq(dds), contrast = c("tissue", "Liver", "Kidney")), design ~ run + tissue."""
    got, ref = _fit("~ run + tissue"), _ref("~ run + tissue")
    assert got["gene"].tolist() == ref["gene"].tolist()
    for col, rtol in {
        "base_mean": 1e-12, "disp_fit": 1e-9, "dispersion": 1e-9, "log2_fold_change": 1e-9, "lfc_se": 1e-9,
        "stat": 1e-9, "pvalue": 1e-7, "padj": 1e-7, "max_cooks": 1e-9,
    }.items():  # fmt: skip
        a, b = got[col].to_numpy(float), ref[col].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"NA pattern of {col}")
        ok = ~np.isnan(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=rtol, atol=1e-300, err_msg=col)
    # gene-wise estimates: equal where R's is not at the flat floor (< 1e-6), within 1e-7 there
    big = ref["disp_gene_est"] >= 1e-6
    np.testing.assert_allclose(got["disp_gene_est"][big], ref["disp_gene_est"][big], rtol=1e-9)
    np.testing.assert_allclose(got["disp_gene_est"][~big], ref["disp_gene_est"][~big], atol=1e-7)
    g = _issue_goals(got, ref)
    assert g["base_mean"] < 1e-8
    assert g["lfc_ok"] == 1.0 and g["same_call"] == 1.0 and g["shared"] == 1.0
    assert g["wald_p99"] < 1e-9


def test_deseq2__marioni_tissue_meets_fold_change_and_call_goals():
    """R: results(DESeq(dds1), contrast = c("tissue", "Liver", "Kidney")), design ~ tissue (see module docstring)."""
    got, ref = _fit("~ tissue"), _ref("~ tissue")
    assert got["gene"].tolist() == ref["gene"].tolist()
    for col in ("base_mean", "log2_fold_change", "stat", "pvalue", "padj"):
        np.testing.assert_array_equal(got[col].isna(), ref[col].isna(), err_msg=f"NA pattern of {col}")
    # the only gene-wise estimates (R's >= 1e-6) that differ are the two flat-likelihood genes
    dge, rdge = got["disp_gene_est"].to_numpy(), ref["disp_gene_est"].to_numpy()
    differ = (rdge >= 1e-6) & (np.abs(dge - rdge) > 1e-8 * rdge)
    assert sorted(ref["gene"][differ]) == sorted(FLAT_GENES)
    g = _issue_goals(got, ref)
    assert g["base_mean"] < 1e-8
    assert g["lfc_ok"] >= 0.995
    assert g["same_call"] >= 0.995
    assert g["shared"] >= 0.90
    assert g["wald_p99"] == pytest.approx(0.0072, abs=0.0005)  # measured; the goal (0.005) is missed here


def test_deseq2__marioni_tissue_matches_deseq2_given_rs_two_flat_estimates(monkeypatch):
    """With R's gene-wise dispersions of the two flat-likelihood genes, ~ tissue agrees to 1e-8 (R as above)."""
    ref = _ref("~ tissue")
    counts = _counts()
    fix = {counts.index.get_loc(g): float(ref.set_index("gene").loc[g, "disp_gene_est"]) for g in FLAT_GENES}
    original = de_module._genewise_kernel

    def patched(chunk, *, model):
        out = original(chunk, model=model)
        for i, v in fix.items():
            out["disp_gene_est"][i] = v
        return out

    monkeypatch.setattr(de_module, "_genewise_kernel", patched)
    res = deseq2(counts, _samples(), design="~ tissue", contrast=CONTRAST, details=True, chunk_genes=len(counts),
                 scheduler="synchronous")  # fmt: skip
    got = res.table.merge(res.dispersions.drop(columns="base_mean"), on="gene")
    assert res.trend["fit_type"] == "local"  # R: "a local regression fit was automatically substituted"
    for col in ("disp_fit", "dispersion", "log2_fold_change", "lfc_se", "stat", "pvalue", "padj"):
        a, b = got[col].to_numpy(float), ref[col].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"NA pattern of {col}")
        ok = ~np.isnan(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-8, atol=1e-300, err_msg=col)
