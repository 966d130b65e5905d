"""``trial simulate``: Monte Carlo operating characteristics against rpact 3.3.4 and the exact recursion.

Reference (``tests/data/reference/discovery/make_trials_simulate_reference.R``, rpact 3.3.4)::

    d <- getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF", typeBetaSpending = "bsOF")  # and OF_3, …
    getPowerMeans(d, groups = 2, normalApproximation = TRUE, alternative = c(0, 0.4), stDev = 1.2,
                  maxNumberOfSubjects = 200, allocationRatioPlanned = r)        # r = 1, 2
    getPowerSurvival(d, hazardRatio = c(1, 0.7), lambda2 = 0.05, maxNumberOfEvents = 250,
                     maxNumberOfSubjects = 400, allocationRatioPlanned = r, directionUpper = FALSE)
    getPowerRates(d, groups = 2, pi1 = c(0.3, 0.5), pi2 = 0.3, maxNumberOfSubjects = 200,
                  allocationRatioPlanned = r)

``rejectPerStage``, ``futilityPerStage``, ``overallReject`` and the expected number of
subjects (events) are in ``tests/data/discovery/trials/simulate_power.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.discovery.trials import design
from biolake.discovery.trials.simulate import exact_operating_characteristics, simulate

DATA = Path(__file__).resolve().parents[1] / "data" / "discovery" / "trials"
DESIGNS = {
    "asOF_bsOF_3": {"kmax": 3, "type_of_design": "asOF", "type_beta_spending": "bsOF"},
    "OF_3": {"kmax": 3, "type_of_design": "OF"},
    "P_4_two_sided": {"kmax": 4, "type_of_design": "P", "sided": 2, "alpha": 0.05},
    "asHSD_2": {"kmax": 2, "type_of_design": "asHSD", "gamma": -2.0, "information_rates": [0.4, 1.0]},
}


def _reference() -> pd.DataFrame:
    return pd.read_csv(DATA / "simulate_power.csv")


def _endpoint(endpoint: str) -> dict[str, object]:
    if endpoint == "means":
        return {"endpoint": "means", "alternative": 0.4, "stdev": 1.2, "n_max": 200.0}
    if endpoint == "rates":
        return {"endpoint": "rates", "pi1": 0.5, "pi2": 0.3, "n_max": 200.0}
    return {"endpoint": "survival", "hazard_ratio": 0.7, "n_max": 250.0}


@pytest.mark.parametrize("design_id", list(DESIGNS))
@pytest.mark.parametrize("endpoint", ["means", "rates", "survival"])
@pytest.mark.parametrize("ratio", [1, 2])
def test_simulate__agrees_with_rpact_power_within_4_se(design_id: str, endpoint: str, ratio: int) -> None:
    """Per-look rejection and futility probabilities and expected n vs rpact getPowerMeans/Rates/Survival."""
    d = design(**DESIGNS[design_id])  # type: ignore[arg-type]
    table, summary, _ = simulate(d, iterations=40_000, seed=7, allocation_ratio=float(ratio), **_endpoint(endpoint))
    ref = _reference()
    ref = ref[(ref.design == design_id) & (ref.endpoint == endpoint) & (ref.allocation_ratio == ratio)]
    for hypothesis in ("H0", "H1"):
        r = ref[ref.hypothesis == hypothesis].sort_values("look")
        t = table[table.hypothesis == hypothesis].sort_values("look")
        # the exact recursion equals rpact's power calculation
        np.testing.assert_allclose(t.exact_stop_efficacy, r.reject, rtol=1e-6, atol=1e-10)
        fut = r.futility.fillna(0.0).to_numpy()[:-1]  # NA for two-sided designs
        np.testing.assert_allclose(t.exact_stop_futility.to_numpy()[:-1], fut, rtol=1e-6, atol=1e-8)
        # the simulation is within 4 Monte Carlo SE of it, look by look and overall
        p = r.reject.to_numpy()
        se = np.sqrt(p * (1 - p) / 40_000)
        assert np.all(np.abs(t.stop_efficacy.to_numpy() - p) <= 4 * se + 1e-12)
        s = summary[summary.hypothesis == hypothesis].iloc[0]
        p_all = r.overall_reject.iloc[0]
        assert abs(s.rejection - p_all) <= 4 * np.sqrt(p_all * (1 - p_all) / 40_000)
        assert s.exact_expected_n == pytest.approx(r.expected_n.iloc[0], rel=1e-6)
        assert s.expected_n == pytest.approx(r.expected_n.iloc[0], rel=0.01)


@pytest.mark.parametrize(
    "options",
    [
        {"kmax": 3, "type_of_design": "OF"},
        {"kmax": 5, "type_of_design": "asP"},
        {"kmax": 4, "type_of_design": "asKD", "gamma": 2.0, "type_beta_spending": "bsKD", "gamma_b": 2.0},
        {"kmax": 3, "type_of_design": "asOF", "sided": 2, "alpha": 0.05},
    ],
)
def test_simulate__design_alternative_gives_alpha_and_power(options: dict[str, object]) -> None:
    """Without an endpoint the drift is the design's (rpact getDesignCharacteristics: power 1 − β):
    type I error = α spent (non-binding futility ignored), power = 0.8, within 4 MC SE."""
    d = design(**options)  # type: ignore[arg-type]
    n = 100_000
    _, summary, _ = simulate(d, iterations=n, seed=11, ignore_futility=True)
    h0, h1 = summary.iloc[0], summary.iloc[1]
    assert h0.exact_rejection == pytest.approx(d.alpha, abs=1e-7)
    assert abs(h0.rejection - d.alpha) <= 4 * np.sqrt(d.alpha * (1 - d.alpha) / n)
    if d.futility_bounds is None:
        assert h1.exact_rejection == pytest.approx(0.8, abs=1e-5)  # two-sided: + P(lower crossing)
        assert abs(h1.rejection - 0.8) <= 4 * np.sqrt(0.16 / n)


def test_simulate__stopping_probabilities_sum_to_one() -> None:
    """Every simulated trial stops exactly once: Σ_k (efficacy + futility) = 1, cumulative_stop ends at 1."""
    d = design(kmax=4, type_of_design="asOF", type_beta_spending="bsP")
    table, _, _ = simulate(d, iterations=10_000, seed=3)
    for _, t in table.groupby("hypothesis"):
        assert (t.stop_efficacy + t.stop_futility).sum() == pytest.approx(1.0, abs=1e-12)
        assert t.cumulative_stop.iloc[-1] == pytest.approx(1.0, abs=1e-12)
        assert np.all(np.diff(t.cumulative_stop) >= 0)
        assert (t.exact_stop_efficacy + t.exact_stop_futility).sum() == pytest.approx(1.0, abs=1e-12)


def test_simulate__same_seed_same_result_and_design_size() -> None:
    """A seed fixes the result; without --n-max the size is inflation factor × the fixed size
    (rpact: getSampleSizeMeans(getDesignGroupSequential(kMax = 3), alternative = 0.5, normalApproximation = TRUE)
    gives maxNumberOfSubjects 127.76799)."""
    d = design(kmax=3)
    a = simulate(d, iterations=1000, seed=5, endpoint="means", alternative=0.5)
    b = simulate(d, iterations=1000, seed=5, endpoint="means", alternative=0.5)
    pd.testing.assert_frame_equal(a[0], b[0])
    assert a[2]["n_max"] == pytest.approx(127.76799, abs=1e-4)


@pytest.mark.parametrize("endpoint", ["means", "rates"])
def test_simulate__patient_level_type_i_error(endpoint: str) -> None:
    """Patient-level data (t test / pooled z test of two rates): type I error within 4 MC SE of α = 0.025."""
    d = design(kmax=3, type_of_design="OF")
    n = 40_000
    opts = {"alternative": 0.5} if endpoint == "means" else {"pi1": 0.5, "pi2": 0.3}
    table, summary, _ = simulate(d, iterations=n, seed=2, endpoint=endpoint, patient_level=True, **opts)
    h0 = summary.iloc[0]
    assert abs(h0.rejection - 0.025) <= 4 * np.sqrt(0.025 * 0.975 / n)
    exact, _ = exact_operating_characteristics(d, 0.0)
    p = table[table.hypothesis == "H0"].stop_efficacy.to_numpy()
    assert np.all(np.abs(p - exact) <= 4 * np.sqrt(exact * (1 - exact) / n) + 1e-12)
    assert h0.maximum_n == pytest.approx(summary.iloc[1].maximum_n)


@pytest.mark.parametrize(
    ("endpoint", "options", "rpact_max"),
    [
        ("means", {"alternative": 0.3, "stdev": 1.3}, 705.2675728),
        ("rates", {"pi1": 0.5, "pi2": 0.3, "allocation_ratio": 2.0}, 252.2204623),
        ("survival", {"hazard_ratio": 0.7}, 295.2327403),
    ],
)
def test_simulate__default_size_is_rpacts_maximum(endpoint: str, options: dict[str, float], rpact_max: float) -> None:
    """R: ``d <- getDesignGroupSequential(kMax = 4, typeOfDesign = "asP")``;
    ``getSampleSizeMeans(d, alternative = 0.3, stDev = 1.3, normalApproximation = TRUE)$maxNumberOfSubjects``,
    ``getSampleSizeRates(d, pi1 = 0.5, pi2 = 0.3, allocationRatioPlanned = 2)$maxNumberOfSubjects``,
    ``getSampleSizeSurvival(d, hazardRatio = 0.7)$maxNumberOfEvents``."""
    d = design(kmax=4, type_of_design="asP")
    _, summary, info = simulate(d, iterations=200, seed=1, endpoint=endpoint, **options)  # type: ignore[arg-type]
    assert info["n_max"] == pytest.approx(rpact_max, rel=1e-8)
    assert summary.maximum_n.iloc[1] == pytest.approx(rpact_max, rel=1e-8)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"endpoint": "rates", "pi1": 0.5, "pi2": 0.3, "risk_ratio": True}, "'risk_ratio' parameter of simulate"),
        ({"endpoint": "means", "alternative": 0.5, "n_max": "100"}, "'n_max' parameter of simulate"),
        ({"endpoint": "survival", "hazard_ratio": 0.7, "patient_level": True}, "'patient_level' parameter"),
        ({"endpoint": "rates", "pi1": 1.5, "pi2": 0.3}, "'pi1' parameter of simulate must be a probability"),
    ],
)
def test_simulate__bad_options(options: dict[str, object], message: str) -> None:
    """Unknown or invalid options are one-line input errors (rpact refuses them too)."""
    from biolake.errors import InputError

    with pytest.raises(InputError, match=message):
        simulate(design(kmax=2), iterations=100, **options)  # type: ignore[arg-type]
