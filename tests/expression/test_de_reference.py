"""biolake's DESeq2 method against R DESeq2 1.38 (Debian r-bioc-deseq2) on simulated data.

The reference files come from tests/data/reference/expression/make_reference.R.
Tolerances: size factors and base means 1e-10 (relative); dispersions, log2 fold
changes, their standard errors, Wald statistics and p-values 1e-8 (measured: at most
2e-10); LRT statistics 1e-7 (measured: at most 3e-9, the log likelihoods of the two
fits differ by rounding only). The data set with outlier replacement (sim_replace) is
held to 1e-6 (measured: 4e-8, see ``RTOL`` in expression_data.py).
Gene-wise dispersion estimates where DESeq2's is below 1e-6 agree to 1e-7 absolute:
there the likelihood is flat and the line search stops on differences of lgamma values
near 1e9 (rounding level), and these estimates only seed the MAP step. padj and which
values are NA (all-zero genes, Cook's outliers, independent filtering) must be identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from expression_data import DATA, DATASETS, RTOL, load_counts, load_reference, load_samples

from biolake.genomics.de import deseq2, size_factors


def _check(got: pd.DataFrame, ref: pd.DataFrame, columns: dict[str, float]) -> None:
    assert got["gene"].tolist() == ref["gene"].tolist()
    for col, rtol in columns.items():
        a, b = got[col].to_numpy(float), ref[col].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"NA pattern of {col}")
        ok = ~np.isnan(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=rtol, atol=1e-12, err_msg=col)


def _run(name: str, test: str, **kw):
    design, reduced, contrast = DATASETS[name]
    res = deseq2(
        load_counts(name),
        load_samples(name),
        design=design,
        contrast=contrast,
        reduced=reduced if test == "lrt" else None,
        details=True,
        **kw,
    )
    return res, res.table.merge(res.dispersions.drop(columns="base_mean"), on="gene")


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_size_factors__ratio_and_poscounts_match_deseq2(name):
    """R: sizeFactors(estimateSizeFactors(dds)); sizeFactors(estimateSizeFactors(dds, type = "poscounts"))."""
    ref = pd.read_csv(DATA / f"{name}_size_factors.csv")
    counts = load_counts(name).to_numpy()
    np.testing.assert_allclose(size_factors(counts), ref["ratio"], rtol=1e-10)
    np.testing.assert_allclose(size_factors(counts, kind="poscounts"), ref["poscounts"], rtol=1e-10)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_deseq2__wald_matches_deseq2(name):
    """R: dds <- DESeq(DESeqDataSetFromMatrix(counts, coldata, design)); results(dds, contrast = contrast)."""
    _, got = _run(name, "wald")
    ref = load_reference(name, "wald")
    _check(
        got,
        ref,
        {
            "base_mean": 1e-10,
            "disp_fit": 1e-9 if name == "sim_replace" else 1e-10,
            "dispersion": RTOL[name],
            "log2_fold_change": RTOL[name],
            "lfc_se": RTOL[name],
            "stat": RTOL[name],
            "pvalue": RTOL[name],
            "padj": RTOL[name],
            "max_cooks": RTOL[name],
        },
    )
    big = ref["disp_gene_est"] >= 1e-6
    np.testing.assert_allclose(got["disp_gene_est"][big], ref["disp_gene_est"][big], rtol=RTOL[name])
    np.testing.assert_allclose(got["disp_gene_est"][~big], ref["disp_gene_est"][~big], atol=1e-7)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_deseq2__lrt_matches_deseq2(name):
    """R: dds <- DESeq(dds, test = "LRT", reduced = reduced); results(dds, contrast = contrast)."""
    _, got = _run(name, "lrt")
    ref = load_reference(name, "lrt")
    _check(
        got,
        ref,
        {
            "log2_fold_change": RTOL[name],
            "lfc_se": RTOL[name],
            "stat": 10 * RTOL[name],
            "pvalue": 10 * RTOL[name],
            "padj": 10 * RTOL[name],
            "max_cooks": RTOL[name],
        },
    )


def test_deseq2__numerator_is_the_reference_level():
    """R: results(dds, contrast = c("condition", "A", "B")) is the B vs A result with LFC and stat negated."""
    got = deseq2(
        load_counts("sim_basic"), load_samples("sim_basic"), design="~ condition", contrast=("condition", "A", "B")
    )
    ref = load_reference("sim_basic", "wald")
    np.testing.assert_allclose(got["log2_fold_change"], -ref["log2_fold_change"], rtol=1e-8)
    np.testing.assert_allclose(got["stat"], -ref["stat"], rtol=1e-8)
    np.testing.assert_array_equal(got["padj"].isna(), ref["padj"].isna())


def test_deseq2__outliers_and_all_zero_genes_are_na():
    """R: the sim_outlier data set has 42 all-zero genes and injected outlier counts (Cook's > qf(.99, p, m - p))."""
    _, got = _run("sim_outlier", "wald")
    ref = load_reference("sim_outlier", "wald")
    zero = ref["base_mean"] == 0
    assert zero.sum() >= 15 and got.loc[zero, "log2_fold_change"].isna().all()
    cooks = ref["pvalue"].isna() & ~zero
    assert cooks.sum() > 0
    np.testing.assert_array_equal(got["pvalue"].isna(), ref["pvalue"].isna())


def test_deseq2__seven_replicates_replace_outliers_and_refit():
    """R: DESeq(dds) with 7 replicates per group replaces outlier counts (minReplicatesForReplace = 7),
    refits those genes and leaves maxCooks NA; with minReplicatesForReplace = Inf the outliers get p NA."""
    design, _, contrast = DATASETS["sim_replace"]
    counts, samples = load_counts("sim_replace"), load_samples("sim_replace")
    res = deseq2(counts, samples, design=design, contrast=contrast, details=True)
    ref = load_reference("sim_replace", "wald")
    assert ref["max_cooks"].isna().all() and res.dispersions["max_cooks"].isna().all()
    np.testing.assert_array_equal(res.table["padj"].isna(), ref["padj"].isna())
    flagged = deseq2(counts, samples, design=design, contrast=contrast, min_replicates_for_replace=float("inf"))
    assert flagged["pvalue"].isna().sum() > ref["pvalue"].isna().sum()
