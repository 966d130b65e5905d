"""The batched GWAS kernels equal the per-variant ones they replace.

``logistic_batch`` (Newton for a tile of variants as matrix products, from the null
model) must give the estimates of the per-variant IRLS of :mod:`biolake.stats.logistic`
(itself tested against plink2 and an independent Newton fit) to ~1e-10, leave the
variants it cannot fit by plink2's rules (separation, Firth, divergence) to that code
with unchanged error codes, and not depend on the tile size. The linear kernel's
shortcut for the conditioning check with missing calls is checked against an
independent least-squares fit per variant on variants with heavy missingness.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from biolake.io.plink import pack_alt_count
from biolake.stats import logistic_batch as lb
from biolake.stats.linreg import ERRCODES, linreg_block, linreg_prepare, packed_prep
from biolake.stats.logistic import logistic_block


def _cohort(seed: int, n: int, m: int, k: int, miss: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.05, 0.5, m)
    g = rng.binomial(2, freq[:, None], size=(m, n)).astype(np.int8)
    g[rng.random((m, n)) < miss] = -1
    cov = rng.normal(size=(n, k))
    eta = -0.4 + cov @ rng.normal(0, 0.3, k) + 0.3 * g[0].clip(0)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return g, y, np.column_stack([np.ones(n), cov])


def _assert_same(got: dict[str, np.ndarray], ref: dict[str, np.ndarray], rtol: float = 1e-9) -> None:
    np.testing.assert_array_equal(got["errcode"], ref["errcode"])
    np.testing.assert_array_equal(got["obs_ct"], ref["obs_ct"])
    for key in ("beta", "se", "stat", "p"):
        a, b = got[key], ref[key]
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=key)
        ok = ~np.isnan(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=rtol, atol=0, err_msg=key)


@pytest.mark.parametrize("miss", [0.0, 0.03])
@pytest.mark.parametrize("firth", ["no", "fallback"])
def test_logistic_block__batched_equals_per_variant(miss: float, firth: str) -> None:
    g, y, x = _cohort(11, 600, 80, 3, miss)
    g[1] = 1  # constant: CONST_OMITTED_ALLELE
    g[2] = np.where(y == 1, g[2], 0)  # ALT only among cases: SEPARATION,ALT1 (no-firth) or Firth
    g[3] = np.where(y == 1, 2, np.where(np.arange(600) % 7 == 0, 1, 0))  # quasi-separated: huge beta
    ref = logistic_block(g, y, x, firth=firth, batched=False)
    got = logistic_block(g, y, x, firth=firth)
    _assert_same(got, ref)
    assert ERRCODES[ref["errcode"][1]] == "CONST_OMITTED_ALLELE"
    if firth == "no":
        assert ERRCODES[ref["errcode"][2]] == "SEPARATION,ALT1"
    assert np.isfinite(ref["beta"][4:]).all()  # the ordinary variants were all fitted (by the batch)


def test_logistic_batch__fits_ordinary_variants_to_1e10() -> None:
    """Direct comparison with the per-variant IRLS on ordinary variants, all accepted by the batch."""
    g, y, x = _cohort(3, 800, 60, 4, 0.02)
    res = lb.logistic_batch(g, y, x, lb.null_coef(y, x))
    assert res["ok"].all()
    ref = logistic_block(g, y, x, firth="no", batched=False, check_collinearity=False)
    np.testing.assert_allclose(res["beta"], ref["beta"], rtol=1e-9)
    np.testing.assert_allclose(res["se"], ref["se"], rtol=1e-9)


def test_logistic_batch__null_coef_is_the_null_mle() -> None:
    """The null model's score Xᵀ(y − π) vanishes; with an intercept only, π = mean(y) (closed form)."""
    _, y, x = _cohort(5, 400, 1, 2, 0.0)
    coef = lb.null_coef(y, x)
    pi = 1 / (1 + np.exp(-(x @ coef)))
    np.testing.assert_allclose(x.T @ (y - pi), 0, atol=1e-9)
    c0 = lb.null_coef(y, x[:, :1])
    assert c0[0] == pytest.approx(np.log(y.mean() / (1 - y.mean())), rel=1e-12)


def test_logistic_batch__tile_size_does_not_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    g, y, x = _cohort(8, 300, 50, 2, 0.05)
    gamma0 = lb.null_coef(y, x)
    whole = lb.logistic_batch(g, y, x, gamma0)
    monkeypatch.setattr(lb, "_TILE_ELEMENTS", 300 * 7)  # tiles of 7 variants
    tiled = lb.logistic_batch(g, y, x, gamma0)
    np.testing.assert_array_equal(tiled["ok"], whole["ok"])
    np.testing.assert_allclose(tiled["beta"], whole["beta"], rtol=1e-12)
    np.testing.assert_allclose(tiled["se"], whole["se"], rtol=1e-12)
    parts = [logistic_block(g[s : s + 13], y, x) for s in range(0, 50, 13)]
    full = logistic_block(g, y, x)
    for key in ("beta", "se", "errcode"):
        np.testing.assert_allclose(np.concatenate([p[key] for p in parts]), full[key], rtol=1e-12)


def test_logistic_batch__leaves_separated_and_huge_effects_to_the_caller() -> None:
    g, y, x = _cohort(9, 400, 4, 1, 0.0)
    g[0] = np.where(y == 1, g[0], 0)  # ALT only among cases: the MLE is infinite
    g[1] = np.where(y == 1, 2, 0)  # complete separation
    res = lb.logistic_batch(g, y, x, lb.null_coef(y, x))
    assert res["ok"].tolist() == [False, False, True, True]
    assert np.isnan(res["beta"][:2]).all()


def _lstsq(g: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """beta, se, p of each variant by numpy lstsq on its called samples (NaN where X_S·g is rank deficient)."""
    out = np.full((g.shape[0], 3), np.nan)
    for v in range(g.shape[0]):
        ok = g[v] >= 0
        xs = np.column_stack([x[ok], g[v, ok]])
        if np.linalg.matrix_rank(xs) < xs.shape[1]:
            continue
        coef, *_ = np.linalg.lstsq(xs, y[ok], rcond=None)
        df = ok.sum() - xs.shape[1]
        resid = y[ok] - xs @ coef
        se = np.sqrt(resid @ resid / df * np.linalg.inv(xs.T @ xs)[-1, -1])
        out[v] = coef[-1], se, 2 * stats.t.sf(abs(coef[-1] / se), df)
    return out


def test_linreg_block__heavy_missingness_matches_lstsq() -> None:
    """Variants with 1 % to 70 % missing calls (the conditioning shortcut holds, then must be computed)."""
    rng = np.random.default_rng(21)
    n, m = 240, 40
    g = rng.binomial(2, 0.3, size=(m, n)).astype(np.int8)
    rates = np.linspace(0.01, 0.7, m)
    g[rng.random((m, n)) < rates[:, None]] = -1
    cov = rng.normal(size=(n, 3))
    y = cov @ [0.2, -0.1, 0.3] + 0.2 * g[0].clip(0) + rng.normal(size=n)
    x = np.column_stack([np.ones(n), cov])
    prep = linreg_prepare(y, covariates=cov)
    ref = _lstsq(g, y, x)
    for res in (
        linreg_block(g, prep, check_collinearity=False),
        linreg_block(None, prep, packed=pack_alt_count(g), packed_prep=packed_prep(prep, samples=None, n_all=n),
                     check_collinearity=False),
    ):  # fmt: skip
        got = np.column_stack([res["beta"], res["se"], res["p"]])
        np.testing.assert_allclose(got, ref, rtol=1e-9)


def test_logistic_batch__singular_hessian_spoils_only_its_variant() -> None:
    """A genotype equal to a covariate (singular Hessian) is left to the caller; the tile's others are fitted."""
    g, y, x = _cohort(4, 300, 6, 1, 0.0)
    x = np.column_stack([x, g[0].astype(float)])
    res = lb.logistic_batch(g, y, x, lb.null_coef(y, x))
    assert res["ok"].tolist() == [False, True, True, True, True, True]
    ref = logistic_block(g[1:], y, x, firth="no", batched=False, check_collinearity=False)
    np.testing.assert_allclose(res["beta"][1:], ref["beta"], rtol=1e-9)
