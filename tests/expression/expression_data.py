"""Helpers of the expression tests: DESeq2 reference data (tests/data/expression)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "data" / "expression"

# dataset -> (design, reduced design, contrast) as in tests/data/reference/expression/make_reference.R
DATASETS = {
    "sim_basic": ("~ condition", "~ 1", ("condition", "B", "A")),
    "sim_batch": ("~ batch + condition", "~ batch", ("condition", "treated", "control")),
    "sim_outlier": ("~ condition", "~ 1", ("condition", "C", "B")),
    "sim_replace": ("~ condition", "~ 1", ("condition", "trt", "ctl")),
}

# relative tolerance of dispersions, fold changes, SEs, statistics and p-values per dataset:
# sim_replace has one gene (t635) whose gene-wise line search stops one rounding-sensitive
# step away from DESeq2's (1.2e-7 relative); through the trend fit this moves every other
# value by up to 4e-8.
RTOL = {"sim_basic": 1e-8, "sim_batch": 1e-8, "sim_outlier": 1e-8, "sim_replace": 1e-6}


def load_counts(name: str) -> pd.DataFrame:
    """The count matrix of a reference dataset (genes x samples, ids as text)."""
    return pd.read_csv(DATA / f"{name}_counts.csv", index_col=0, dtype={"gene": str}).rename_axis(None)


def load_samples(name: str) -> pd.DataFrame:
    """The samples table of a reference dataset (all columns as text)."""
    return pd.read_csv(DATA / f"{name}_samples.csv", dtype=str)


def load_reference(name: str, test: str) -> pd.DataFrame:
    """DESeq2's results (and dispersions, maxCooks) of a reference dataset: test is 'wald' or 'lrt'."""
    return pd.read_csv(DATA / f"{name}_{test}.csv", dtype={"gene": str})
