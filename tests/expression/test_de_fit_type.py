"""DESeq2's dispersion trends ``fitType = "local"`` and ``"mean"``, and the locfit they rest on.

References: tests/data/reference/expression/make_fittype_reference.R (R DESeq2 1.38,
``DESeq(dds, fitType = ft)`` then ``results(dds, contrast = …)``) and
make_locfit_reference.R (R locfit 1.5-9.7). locfit is reproduced operation by operation
(its tree, bandwidths, point-by-point sums and Jacobi eigen-solver), so predictions agree
bit for bit (asserted to 1e-13). Through DESeq2 the tolerances are those of the default
trend's test (1e-8 relative; measured at most 3e-9): gene-wise dispersions, the locfit
input, agree to rounding only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from expression_data import DATA, DATASETS, load_counts, load_samples
from hypothesis import given, settings
from hypothesis import strategies as st

from biolake.cli import main
from biolake.genomics.de import deseq2
from biolake.stats.locfit import locfit_1d

LOCFIT = DATA / "locfit"


@pytest.mark.parametrize("case", [1, 2, 3, 4, 5])
def test_locfit_1d__matches_r_locfit(case):
    """R: fit <- locfit(y ~ x, data = d, weights = w); predict(fit, data.frame(x = xn)).

    Cases: n = 50, 1000, 37 (unordered x), 300 (ordered x: locfit's ``nbhd1``), 200 (tied x);
    predictions from 1 below to 1 above the data range (linear extrapolation outside).
    """
    data = pd.read_csv(LOCFIT / f"case{case}_data.csv.gz")
    pred = pd.read_csv(LOCFIT / f"case{case}_pred.csv.gz")
    fit = locfit_1d(data["x"].to_numpy(), data["y"].to_numpy(), weights=data["w"].to_numpy())
    np.testing.assert_allclose(fit.predict(pred["x"].to_numpy()), pred["p"].to_numpy(), rtol=0, atol=1e-13)


@settings(max_examples=25, deadline=None)
@given(
    a=st.floats(-3, 3),
    b=st.floats(-2, 2),
    c=st.floats(-1, 1),
    n=st.integers(10, 120),
    seed=st.integers(0, 10_000),
)
def test_locfit_1d__reproduces_quadratics(a, b, c, n, seed):
    """A local quadratic fit reproduces any quadratic, whatever the weights (hand argument), up to locfit's own
    approximations (the eigen-solver's stopping rule and the vertex interpolation: about 1e-7 of the function's
    scale here; up to 1e-4 with 8 points, so at least 10)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-5, 5, n)
    y = a + b * x + c * x * x
    fit = locfit_1d(x, y, weights=rng.uniform(0.1, 10, n))
    grid = np.linspace(-6, 6, 25)
    scale = 1 + abs(a) + 6 * abs(b) + 36 * abs(c)
    np.testing.assert_allclose(fit.predict(grid), a + b * grid + c * grid * grid, atol=2e-6 * scale)


def test_locfit_1d__bad_alpha_names_parameter():
    with pytest.raises(ValueError, match="The 'alpha' parameter of locfit_1d must be in"):
        locfit_1d(np.arange(5.0), np.arange(5.0), alpha=0)


def _compare(name: str, fit_type: str) -> None:
    design, _, contrast = DATASETS[name]
    res = deseq2(
        load_counts(name), load_samples(name), design=design, contrast=contrast, fit_type=fit_type, details=True
    )
    got = res.table.merge(res.dispersions.drop(columns="base_mean"), on="gene")
    ref = pd.read_csv(DATA / f"{name}_wald_{fit_type}.csv.gz")
    assert got["gene"].tolist() == ref["gene"].tolist()
    assert res.trend["fit_type"] == fit_type
    for col in ["base_mean", "disp_fit", "dispersion", "log2_fold_change", "lfc_se", "stat", "pvalue", "padj"]:
        a, b = got[col].to_numpy(float), ref[col].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"NA pattern of {col}")
        ok = ~np.isnan(b)
        tol = 1e-6 if name == "sim_replace" else 1e-8
        np.testing.assert_allclose(a[ok], b[ok], rtol=tol, atol=1e-12, err_msg=col)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_deseq2__local_fit_type_matches_deseq2(name):
    """R: dds <- DESeq(dds, fitType = "local"); results(dds, contrast = contrast)."""
    _compare(name, "local")


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_deseq2__mean_fit_type_matches_deseq2(name):
    """R: dds <- DESeq(dds, fitType = "mean"); results(dds, contrast = contrast)."""
    _compare(name, "mean")


def test_de_command__fit_type_local(tmp_path):
    """The CLI option ``--fit-type local`` gives DESeq2's local-trend padj (R as above, sim_basic)."""
    lake, out = tmp_path / "lake", tmp_path / "local.csv"
    for args in (
        ["ingest", "counts", str(DATA / "sim_basic_counts.csv"), "--name", "c"],
        ["genomics", "de", "lake:c", "--samples", str(DATA / "sim_basic_samples.csv"), "--design", "~ condition",
         "--contrast", "condition,B,A", "--fit-type", "local", "--out", str(out)],
    ):  # fmt: skip
        with pytest.raises(SystemExit) as exc:
            main(["--lake", str(lake), "-q", *args])
        assert exc.value.code in (0, None)
    got = pd.read_csv(out, dtype={"gene": str})
    ref = pd.read_csv(DATA / "sim_basic_wald_local.csv.gz")
    assert list(got.columns) == ["gene", "base_mean", "log2_fold_change", "lfc_se", "stat", "pvalue", "padj"]
    ok = ref["padj"].notna()
    assert (got["padj"].isna() == ~ok).all()
    np.testing.assert_allclose(got["padj"][ok], ref["padj"][ok], rtol=1e-8)


def test_deseq2__parametric_falls_back_to_local_as_deseq2():
    """R: DESeq(dds) on a trend rising with the mean: "a local regression fit was automatically substituted"."""
    counts = pd.read_csv(DATA / "sim_fallback_counts.csv", index_col=0)
    samples = pd.read_csv(DATA / "sim_fallback_samples.csv", dtype=str)
    res = deseq2(counts, samples, design="~ condition", contrast=("condition", "B", "A"), details=True)
    assert res.trend["fit_type"] == "local"
    assert "local regression fit was substituted" in res.trend["note"]
    ref = pd.read_csv(DATA / "sim_fallback_wald_parametric.csv.gz")
    got = res.table.merge(res.dispersions.drop(columns="base_mean"), on="gene")
    for col in ["disp_fit", "dispersion", "log2_fold_change", "stat", "pvalue", "padj"]:
        a, b = got[col].to_numpy(float), ref[col].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"NA pattern of {col}")
        ok = ~np.isnan(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-8, atol=1e-12, err_msg=col)
