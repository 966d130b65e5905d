"""MGPS (EBGM, EB05, EB95) and counting against R openEBGM's worked example on the CAERS data.

References: ``../shared/data/pv/openEBGM/caers_reference_values.json`` (openEBGM 0.9.1's
vignettes) and ``tests/data/precision/pv/openebgm_caers_reference.parquet`` (every pair,
made by ``make_reference.R`` with openEBGM's own functions). The CAERS input is read from
``../shared`` (the tests skip without it).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.errors import InputError
from biolake.precision.signals import signals
from biolake.precision.signals.mgps import Prior, fit_prior, neg_log_likelihood, posterior, squash

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "precision" / "pv"
SHARED = HERE.parents[2] / "shared" / "data" / "pv" / "openEBGM"
CAERS = SHARED / "caers.csv"
needs_caers = pytest.mark.skipif(not CAERS.exists(), reason="../shared/data/pv/openEBGM not available")

VIGNETTE_THETA = np.array([3.25379356, 0.39988854, 2.02612692, 1.90807970, 0.06534557])


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_parquet(DATA / "openebgm_caers_reference.parquet")


@pytest.fixture(scope="module")
def json_ref() -> dict:
    return json.loads((SHARED / "caers_reference_values.json").read_text())


@pytest.fixture(scope="module")
def caers_result() -> tuple[pd.DataFrame, dict]:
    if not CAERS.exists():
        pytest.skip("../shared/data/pv/openEBGM not available")
    return signals(CAERS, stratify=[])


@needs_caers
def test_signals__caers_counts_exact(caers_result, reference, json_ref):
    """openEBGM processRaw(caers): 17,189 pairs; N per pair exact, E to 1e-12 relative; first rows as printed."""
    res, facts = caers_result
    assert len(res) == json_ref["processRaw_unstratified_no_zeroes"]["pairs"] == 17189
    assert facts["reports"] == 3356
    m = res.merge(reference, left_on=["drug", "event"], right_on=["var1", "var2"], validate="1:1")
    assert len(m) == len(res) == len(reference)
    assert (m["n"] == m["N"]).all()
    np.testing.assert_allclose(m["expected"], m["E"], rtol=1e-12)
    first = json_ref["processRaw_unstratified_no_zeroes"]["first_rows"]
    for row, (drug, event, n, e, _rr, prr) in zip(res.head(3).itertuples(), first, strict=True):
        assert (row.drug, row.event, row.n) == (drug, event, n)
        assert row.expected == pytest.approx(e, rel=1e-7)  # printed to 10 digits
        assert (row.prr == np.inf) if prr == "Inf" else row.prr == pytest.approx(prr, abs=0.005)


@needs_caers
def test_signals__caers_prior_matches_autohyper(caers_result, json_ref):
    """autoHyper(processed, squashed = FALSE): θ to relative 1e-3 (openEBGM nlminb), −log L 4162.456."""
    prior = caers_result[1]["prior"]
    ref = json_ref["autoHyper_full_data"]["theta"]
    for ours, theirs in zip(
        (prior["alpha1"], prior["beta1"], prior["alpha2"], prior["beta2"], prior["p"]), ref.values(), strict=True
    ):
        assert ours == pytest.approx(theirs, rel=1e-3)
    assert prior["neg_log_lik"] == pytest.approx(json_ref["autoHyper_full_data"]["negLL_min"], abs=1e-3)


@needs_caers
def test_signals__caers_ebgm_all_pairs(caers_result, reference):
    """EBGM, EB05, EB95 of all 17,189 pairs within 0.01 of openEBGM's (digits = 6, full-data θ)."""
    res = caers_result[0]
    m = res.merge(reference, left_on=["drug", "event"], right_on=["var1", "var2"])
    for ours, theirs in (("ebgm", "EBGM"), ("eb05", "QUANT_05"), ("eb95", "QUANT_95")):
        assert np.abs(m[ours] - m[theirs]).max() < 0.01


@needs_caers
def test_signals__caers_stratified_expected(reference):
    """processRaw(caers, stratify = TRUE) with strat1 (sex): stratified E of every pair to 1e-12 relative."""
    res, facts = signals(CAERS)
    assert facts["strata"] == ["strat1"]
    m = res.merge(reference, left_on=["drug", "event"], right_on=["var1", "var2"])
    np.testing.assert_allclose(m["expected"], m["E_strat"], rtol=1e-12)


def test_posterior__vignette_top_pairs(json_ref):
    """openEBGM vignette 4 (θ of the squashed fit): the top 5 by QUANT_05, EBGM/EB05/EB95 within 0.01."""
    top = json_ref["ebScores_with_vignette04_theta"]["top_by_QUANT_05"]
    n = np.array([r[2] for r in top], dtype=float)
    e = np.array([r[3] for r in top])
    post = posterior(VIGNETTE_THETA, n, e)
    for i, row in enumerate(top):
        assert post["ebgm"][i] == pytest.approx(row[4], abs=0.01)
        assert post["eb05"][i] == pytest.approx(row[5], abs=0.01)
        assert post["eb95"][i] == pytest.approx(row[6], abs=0.01)


def test_posterior__vignette_counts_and_summary(reference, json_ref):
    """Vignette 4: 131 pairs with QUANT_05 ≥ 2, EBGM summary (min, median, max) to 0.01, Qn of the first rows."""
    ref = json_ref["ebScores_with_vignette04_theta"]
    post = posterior(VIGNETTE_THETA, reference["N"].to_numpy(float), reference["E"].to_numpy())
    assert int((np.round(post["eb05"], 2) >= 2).sum()) == ref["pairs_QUANT_05_gt_2"]
    summary = ref["EBGM_summary"]
    assert np.min(post["ebgm"]) == pytest.approx(summary["min"], abs=0.01)
    assert np.median(post["ebgm"]) == pytest.approx(summary["median"], abs=0.01)
    assert np.max(post["ebgm"]) == pytest.approx(summary["max"], abs=0.01)
    np.testing.assert_allclose(post["ebgm"][:6], ref["first_rows_ebgm"], atol=0.01)
    np.testing.assert_allclose(post["eb05"][:6], ref["first_rows_q05"], atol=0.01)
    np.testing.assert_allclose(post["eb95"][:6], ref["first_rows_q95"], atol=0.01)
    qn = [float(x) for x in json_ref["notes"].split("first rows: ")[1].rstrip(".").split()]
    np.testing.assert_allclose(post["qn"][:6], qn, rtol=1e-6)


def test_neg_log_likelihood__openebgm_minimum(reference):
    """negLL at openEBGM's full-data θ equals the minimum openEBGM reports (openebgm_caers_theta.csv)."""
    theta = pd.read_csv(DATA / "openebgm_caers_theta.csv").iloc[0]
    value = neg_log_likelihood(
        theta[["alpha1", "beta1", "alpha2", "beta2", "P"]].to_numpy(float),
        reference["N"].to_numpy(float),
        reference["E"].to_numpy(),
    )
    assert value == pytest.approx(theta["negLL"], rel=1e-12)


def test_squash__openebgm_autosquash_table(reference):
    """autoSquash(processRaw(caers)) as openEBGM vignette 3's ftable(N, weight) prints it.

    N = 1: 100 points of weight 1, 1 of weight 6, 514 of weight 31; N = 2: 75 × 1, 1 × 3, 79 × 8;
    N = 3: 51 × 1, 71 × 2; N = 4: 80 × 1 (too few to squash); total weight = 17,189 pairs.
    """
    n = reference["N"].to_numpy(float)
    sn, _se, sw = squash(n, reference["E"].to_numpy())
    table = pd.crosstab(sn, sw)
    expected = {1: {1: 100, 6: 1, 31: 514}, 2: {1: 75, 3: 1, 8: 79}, 3: {1: 51, 2: 71}, 4: {1: 80}}
    for count, weights in expected.items():
        row = table.loc[count]
        assert {int(w): int(k) for w, k in row.items() if k} == weights
    assert sw.sum() == len(n) == 17189


def test_fit_prior__squashed_close_to_full(reference):
    """Squashed fit (autoSquash, as openEBGM advises for big data) stays near the full-data θ (openEBGM: ~1e-3)."""
    n = reference["N"].to_numpy(float)
    e = reference["E"].to_numpy()
    full = pd.read_csv(DATA / "openebgm_caers_theta.csv").iloc[0]
    prior = fit_prior(n, e, max_points=1000)
    assert prior.squashed and prior.points < 5000
    assert prior.alpha1 == pytest.approx(full["alpha1"], rel=0.02)
    assert prior.p == pytest.approx(full["P"], rel=0.02)


def test_fit_prior__maximum_on_simulated_data():
    """Pairs simulated from a known two-gamma prior (N ~ Poisson(λE), N ≥ 1): the fit's −log L is at most the true θ's.

    Reference: the definition of the maximum-likelihood estimate (the true θ is one candidate);
    stopping after two agreeing starts finds the optimum of all five starts.
    """
    rng = np.random.default_rng(7)
    size = 20_000
    e = rng.gamma(0.8, 0.5, size)
    first = rng.random(size) < 0.2
    lam = np.where(first, rng.gamma(4.0, 1 / 0.5, size), rng.gamma(3.0, 1 / 3.0, size))
    n = rng.poisson(lam * e).astype(float)
    keep = n > 0
    n, e = n[keep], e[keep]
    prior = fit_prior(n, e, max_points=100_000)
    every = fit_prior(n, e, max_points=100_000, all_starts=True)
    true = neg_log_likelihood(np.array([4.0, 0.5, 3.0, 3.0, 0.2]), n, e)
    assert prior.neg_log_lik <= true + 1e-6
    assert prior.neg_log_lik == pytest.approx(every.neg_log_lik, rel=1e-6)
    assert prior.neg_log_lik == pytest.approx(neg_log_likelihood(prior, n, e), rel=1e-12)


def test_fit_prior__bad_input():
    """Counts below n_star or non-positive E are InputErrors."""
    with pytest.raises(InputError, match="n_star"):
        fit_prior(np.array([0.0, 1.0]), np.array([1.0, 1.0]))
    with pytest.raises(InputError, match="positive"):
        fit_prior(np.array([1.0, 1.0]), np.array([0.0, 1.0]))


def test_posterior__prior_object_and_threads(reference):
    """A Prior and its θ array give the same posterior; 1 thread = 2 threads."""
    prior = Prior(*VIGNETTE_THETA)
    n = reference["N"].to_numpy(float)
    e = reference["E"].to_numpy()
    a = posterior(prior, n, e, threads=1)
    b = posterior(VIGNETTE_THETA, n, e, threads=2)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
