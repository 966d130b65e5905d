"""Simulated RNA-seq count matrices (negative binomial), for demos, tests and benchmarks.

The model is DESeq2's ``makeExampleDESeqDataSet``: per gene a log2 intercept
``~ N(interceptMean, interceptSD)``, a dispersion ``4 / 2^intercept + asymptotic``, and
for a fraction of genes a log2 fold change ``~ N(0, lfc_sd)`` between two conditions;
counts are NB with mean ``size_factor * 2^(intercept + lfc * treated)``.

Examples
--------
>>> counts, samples, truth = simulate_rnaseq(n_genes=5, n_per_group=2, seed=1)
>>> counts.shape, samples["condition"].tolist()
((5, 4), ['control', 'control', 'treated', 'treated'])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from biolake.errors import check_param

__all__ = ["simulate_rnaseq"]


def simulate_rnaseq(
    *,
    n_genes: int = 2_000,
    n_per_group: int = 4,
    de_fraction: float = 0.1,
    lfc_sd: float = 1.5,
    intercept_mean: float = 6.0,
    intercept_sd: float = 2.0,
    asymptotic_dispersion: float = 0.05,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Negative binomial counts of two conditions (``control``, ``treated``).

    Parameters
    ----------
    n_genes, n_per_group
        Matrix size: genes × (2 · n_per_group) samples.
    de_fraction
        Fraction of genes with a non-zero log2 fold change.
    lfc_sd
        SD of the non-zero log2 fold changes.
    intercept_mean, intercept_sd
        Distribution of the log2 mean expression.
    asymptotic_dispersion
        Dispersion of highly expressed genes.
    seed
        Random seed (numpy's default generator).

    Returns
    -------
    tuple of pandas.DataFrame
        Counts (genes × samples, gene ids as index), the samples table (``sample``,
        ``condition``) and the truth per gene (``gene``, ``log2_fold_change``, ``dispersion``).
    """
    for name, value in (("n_genes", n_genes), ("n_per_group", n_per_group)):
        check_param("simulate_rnaseq", name, value, isinstance(value, int) and value >= 1, "a positive integer")
    check_param("simulate_rnaseq", "de_fraction", de_fraction, 0 <= de_fraction <= 1, "a number in [0, 1]")
    rng = np.random.default_rng(seed)
    m = 2 * n_per_group
    intercept = rng.normal(intercept_mean, intercept_sd, n_genes)
    lfc = np.where(rng.random(n_genes) < de_fraction, rng.normal(0.0, lfc_sd, n_genes), 0.0)
    disp = 4.0 / 2.0**intercept + asymptotic_dispersion
    treated = np.repeat([0.0, 1.0], n_per_group)
    sf = np.exp(rng.normal(0.0, 0.2, m))
    mu = sf * 2.0 ** (intercept[:, None] + lfc[:, None] * treated)
    size = 1.0 / disp[:, None]
    counts = rng.negative_binomial(size, size / (size + mu))
    width = len(str(n_genes))
    genes = [f"gene{i:0{width}d}" for i in range(1, n_genes + 1)]
    samples = [f"s{j:02d}" for j in range(1, m + 1)]
    return (
        pd.DataFrame(counts, index=genes, columns=samples),
        pd.DataFrame({"sample": samples, "condition": np.where(treated == 1, "treated", "control")}),
        pd.DataFrame({"gene": genes, "log2_fold_change": lfc, "dispersion": disp}),
    )
