"""Paths and loaders of the committed limma reference outputs (tests/data/proteomics, made by make_reference.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "data" / "proteomics"
COLUMNS = ["protein", "log_fc", "ave_expr", "t", "pvalue", "padj", "b"]
RTOL = 1e-8


def load_matrix(case: str) -> pd.DataFrame:
    """A ``<case>_matrix.csv`` input as proteins x samples (ids as text, NA missing)."""
    path = DATA / f"{case}_matrix.csv"
    if not path.exists():
        path = DATA / f"{case}_matrix.csv.gz"
    return pd.read_csv(path, dtype={"protein": str}).set_index("protein")


def load_samples(case: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{case}_samples.csv", dtype=str)


def load_reference(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, dtype={"protein": str})


def assert_like_limma(got: pd.DataFrame, ref: pd.DataFrame, rtol: float = RTOL) -> None:
    """Same proteins in the same order; every statistic within ``rtol`` (relative) of limma's."""
    assert list(got.columns) == COLUMNS
    assert got["protein"].tolist() == ref["protein"].tolist()
    for col in COLUMNS[1:]:
        a, b = got[col].to_numpy(dtype=float), ref[col].to_numpy(dtype=float)
        assert (np.isnan(a) == np.isnan(b)).all(), col
        ok = ~np.isnan(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=rtol, atol=1e-12 * np.abs(b[ok]).max(), err_msg=col)
