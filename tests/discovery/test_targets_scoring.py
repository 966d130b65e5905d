"""Target scoring: the Open Targets harmonic sum and its combination across sources, by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import polygamma

from biolake.discovery.targets.score import score_targets
from biolake.errors import InputError
from biolake.stats.harmonic import grouped_harmonic_sum, harmonic_sum, max_harmonic_sum

M = 1.64393456668156  # Σ_{i=1}^{1000} 1/i², checked against π²/6 − ψ′(1001) below


def test_max_harmonic_sum__equals_zeta2_minus_tail() -> None:
    """Σ_{i=1}^{1000} 1/i² = ζ(2) − Σ_{i>1000} 1/i² = π²/6 − ψ′(1001) (trigamma); Open Targets' ≈ 1.644."""
    expected = math.pi**2 / 6 - float(polygamma(1, 1001))
    assert max_harmonic_sum() == pytest.approx(expected, rel=1e-14)
    assert max_harmonic_sum() == pytest.approx(M, rel=1e-14)


def test_harmonic_sum__open_targets_documentation_example() -> None:
    """platform-docs associations.md: scores 1, 0.9, 0.8 → (1/1² + 0.9/2² + 0.8/3²) / 1.6439…

    = (1 + 0.225 + 0.0888…) / 1.64393456668156 = 1.3138888… / 1.64393456668156 = 0.7992343.
    """
    expected = (1.0 + 0.225 + 0.8 / 9) / M
    assert harmonic_sum([0.8, 1.0, 0.9]) == pytest.approx(expected, rel=1e-14)
    assert harmonic_sum([0.8, 1.0, 0.9]) == pytest.approx(0.7992343, abs=1e-7)
    assert harmonic_sum([]) == 0.0
    assert harmonic_sum([1.0] * 1000) == pytest.approx(1.0, rel=1e-14)


def test_grouped_harmonic_sum__each_group_sorted_separately() -> None:
    """Group a: 1, 0.9, 0.8 → 0.7992343 (above); group b: 1, 0.5 → (1 + 0.5/4)/M = 1.125/M = 0.6843338."""
    labels, sums, counts = grouped_harmonic_sum(["b", "a", "b", "a", "a"], [0.5, 1.0, 1.0, 0.9, 0.8])
    assert labels.tolist() == ["a", "b"]
    np.testing.assert_allclose(sums, [(1 + 0.225 + 0.8 / 9) / M, 1.125 / M], rtol=1e-14)
    assert counts.tolist() == [3, 2]


def _evidence() -> dict[str, pd.DataFrame]:
    return {
        "literature": pd.DataFrame({"gene": ["A", "A", "B"], "score": [1.0, 0.5, 0.9]}),
        "gwas": pd.DataFrame({"gene": ["A", "C"], "score": [0.8, 0.3]}),
    }


def test_score_targets__hand_worked_two_sources() -> None:
    """literature: A = (1 + 0.5/4)/M = 0.6843338, B = 0.9/M = 0.5474670; gwas: A = 0.8/M = 0.4866374, C = 0.3/M.

    Overall (weights 1): A = (0.6843338 + 0.4866374/4)/M = 0.4902830; B = 0.5474670/M = 0.3330223;
    C = (0.3/M)/M = 0.1110075. n_evidence: A 3, B 1, C 1.
    """
    res = score_targets(_evidence())
    assert list(res.columns) == ["gene", "gene_name", "score", "rank", "n_evidence", "literature", "gwas"]
    lit_a, lit_b, gw_a, gw_c = 1.125 / M, 0.9 / M, 0.8 / M, 0.3 / M
    assert res["gene"].tolist() == ["A", "B", "C"]
    np.testing.assert_allclose(res["score"], [(lit_a + gw_a / 4) / M, lit_b / M, gw_c / M], rtol=1e-13)
    np.testing.assert_allclose(res["score"], [0.4902830, 0.3330223, 0.1110075], atol=1e-7)
    np.testing.assert_allclose(res["literature"], [lit_a, lit_b, 0.0], rtol=1e-13)
    np.testing.assert_allclose(res["gwas"], [gw_a, 0.0, gw_c], rtol=1e-13)
    assert res["rank"].tolist() == [1, 2, 3]
    assert res["n_evidence"].tolist() == [3, 1, 1]


def test_score_targets__weights_applied_before_sorting() -> None:
    """literature weight 0.5: A's weighted scores 0.5·0.6843338 = 0.3421669 and 0.4866374 → sorted
    0.4866374, 0.3421669 → (0.4866374 + 0.0855417)/M = 0.5721791/M = 0.3480547; B = 0.5·0.5474670/M = 0.1665112.
    """
    res = score_targets(_evidence(), weights={"literature": 0.5}).set_index("gene")
    expected_a = (0.8 / M + 0.5 * 1.125 / M / 4) / M
    assert res.loc["A", "score"] == pytest.approx(expected_a, rel=1e-13)
    assert res.loc["A", "score"] == pytest.approx(0.3480547, abs=1e-7)
    assert res.loc["B", "score"] == pytest.approx(0.5 * 0.9 / M / M, rel=1e-13)
    assert res.loc["A", "literature"] == pytest.approx(1.125 / M, rel=1e-13)  # columns keep unweighted scores


def test_score_targets__ties_ranked_by_gene_id() -> None:
    """Z and B both have one score 0.7 → equal scores; B (smaller id) gets rank 1."""
    res = score_targets({"s": pd.DataFrame({"gene": ["Z", "B"], "score": [0.7, 0.7]})})
    assert res["gene"].tolist() == ["B", "Z"] and res["rank"].tolist() == [1, 2]
    assert res["score"].tolist() == [0.7 / M / M] * 2


def test_score_targets__unknown_weight_source__input_error() -> None:
    with pytest.raises(InputError, match="weights"):
        score_targets(_evidence(), weights={"nope": 1.0})
