"""Sample sizes of fixed two-arm trials against R ``rpact`` 3.3.4 (Debian r-cran-rpact).

References from ``tests/data/reference/discovery/make_trials_reference.R``:
``sizes_means.csv`` (216 t-test designs: 6 effects × 2 SDs × power 0.8/0.9 × one-sided α
0.025/0.05 and two-sided 0.05 × allocation 1, 2, 0.5), ``sizes_rates.csv`` (180:
5 rate pairs × 2 powers × 3 α settings × 3 allocations × difference/ratio) and
``sizes_survival.csv`` (144: 3 hazard ratios × 2 control hazards × 3 α settings × allocation
1, 2 × dropout 0/10 % × Schoenfeld/Freedman, uniform accrual and follow-up). Every arm's
rounded-up size equals rpact's; the unrounded sizes agree to 1e-9 relative (t test: R's
uniroot stops at tolerance 1e-4 and so does biolake, on the same path, to 1e-9).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.discovery.trials.size import fixed_sample_size, power_curve, sample_size
from biolake.errors import InputError

DATA = Path(__file__).resolve().parents[1] / "data" / "discovery" / "trials"


def _check(ours: list[dict[str, float]], ref: pd.DataFrame, keys: list[str], rtol: float) -> None:
    got = pd.DataFrame(ours)
    for key in keys:
        np.testing.assert_allclose(got[key], ref[key], rtol=rtol, atol=0, err_msg=key)
        np.testing.assert_array_equal(np.ceil(got[key]), np.ceil(ref[key]), err_msg=f"ceil({key})")


def test_sample_size__means_t_test_matches_rpact() -> None:
    """R: ``getSampleSizeMeans(alternative, stDev, alpha, beta = 1 - power, sided, allocationRatioPlanned,
    normalApproximation = FALSE)``: ``nFixed1``, ``nFixed2``."""
    ref = pd.read_csv(DATA / "sizes_means.csv")
    ours = [
        fixed_sample_size(
            endpoint="means",
            alternative=r.alternative,
            stdev=r.stdev,
            power=r.power,
            alpha=r.alpha,
            sided=int(r.sided),
            allocation_ratio=r.allocation_ratio,
        )
        for r in ref.itertuples()
    ]
    assert len(ours) == 216
    _check(ours, ref, ["n1_fixed", "n2_fixed"], 1e-9)


def test_sample_size__rates_match_rpact() -> None:
    """R: ``getSampleSizeRates(pi1, pi2, alpha, beta = 1 - power, sided, allocationRatioPlanned, riskRatio)``:
    ``nFixed1``, ``nFixed2`` (Farrington–Manning under H0)."""
    ref = pd.read_csv(DATA / "sizes_rates.csv")
    ours = [
        fixed_sample_size(
            endpoint="rates",
            pi1=r.pi1,
            pi2=r.pi2,
            power=r.power,
            alpha=r.alpha,
            sided=int(r.sided),
            allocation_ratio=r.allocation_ratio,
            risk_ratio=bool(r.risk_ratio),
        )
        for r in ref.itertuples()
    ]
    assert len(ours) == 180
    _check(ours, ref, ["n1_fixed", "n2_fixed"], 1e-12)


def test_sample_size__survival_matches_rpact() -> None:
    """R: ``getSampleSizeSurvival(hazardRatio, lambda2, alpha, beta = 0.2, sided, allocationRatioPlanned,
    typeOfComputation, accrualTime = c(0, A), followUpTime, dropoutRate1, dropoutRate2, dropoutTime = 12)``:
    ``nFixed1``, ``nFixed2``, ``eventsFixed``."""
    ref = pd.read_csv(DATA / "sizes_survival.csv")
    ours = [
        fixed_sample_size(
            endpoint="survival",
            hazard_ratio=r.hazard_ratio,
            lambda2=r.lambda2,
            power=0.8,
            alpha=r.alpha,
            sided=int(r.sided),
            allocation_ratio=float(r.allocation_ratio),
            type_of_computation=str(r.type_of_computation),
            accrual_time=float(r.accrual_time),
            follow_up_time=float(r.follow_up_time),
            dropout_rate1=r.dropout_rate,
            dropout_rate2=r.dropout_rate,
        )
        for r in ref.itertuples()
    ]
    assert len(ours) == 144
    _check(ours, ref, ["n1_fixed", "n2_fixed", "events_fixed"], 1e-9)


def test_sample_size__means_rounds_each_arm_up() -> None:
    """R: ``getSampleSizeMeans(alternative = 0.5, stDev = 1, alpha = 0.05, sided = 2, allocationRatioPlanned = 2,
    normalApproximation = FALSE)``: nFixed1 = 95.06…, nFixed2 = 47.53… → 96, 48."""
    fixed = fixed_sample_size(endpoint="means", alternative=0.5, stdev=1, alpha=0.05, sided=2, allocation_ratio=2)
    table = sample_size(endpoint="means", alternative=0.5, stdev=1, alpha=0.05, sided=2, allocation_ratio=2)
    assert list(table.columns) == ["n1", "n2", "n_total"]
    row = table.iloc[0]
    assert (row["n1"], row["n2"]) == (math.ceil(fixed["n1_fixed"]), math.ceil(fixed["n2_fixed"])) == (96, 48)
    assert row["n_total"] == 144


def test_sample_size__survival_has_events_column() -> None:
    """R: ``getSampleSizeSurvival(hazardRatio = 0.7, lambda2 = log(2) / 12)``: eventsFixed 246.787 → 247."""
    table = sample_size(endpoint="survival", hazard_ratio=0.7, lambda2=math.log(2) / 12)
    assert list(table.columns) == ["n1", "n2", "n_total", "events"]
    assert table.iloc[0]["events"] == 247
    assert table.iloc[0]["n1"] == 285  # nFixed1 = 284.218…


def test_sample_size__survival_from_pi2_at_event_time() -> None:
    """R: ``getSampleSizeSurvival(hazardRatio = 0.7, pi2 = 0.3, eventTime = 12, ...)``: lambda2 = -log(0.7)/12."""
    a = fixed_sample_size(endpoint="survival", hazard_ratio=0.7, pi2=0.3, event_time=12)
    b = fixed_sample_size(endpoint="survival", hazard_ratio=0.7, lambda2=-math.log(0.7) / 12)
    assert a == pytest.approx(b, rel=1e-15)


def test_power_curve__passes_through_the_design_power() -> None:
    """R: ``getPowerMeans(alternative = 0.5, maxNumberOfSubjects = n)`` rises with n; at the design's
    unrounded (normal approximation) size the curve gives the requested power."""
    options = {"endpoint": "means", "alternative": 0.5, "stdev": 1.0, "power": 0.9, "normal_approximation": True}
    curve = power_curve(options, points=5)
    assert curve["power"].is_monotonic_increasing
    fixed = fixed_sample_size(**options)  # type: ignore[arg-type]
    total = fixed["n1_fixed"] + fixed["n2_fixed"]
    assert curve["n"].iloc[1] == pytest.approx(total * (0.25 + 1.75 / 4))
    one = power_curve(options, points=8)  # n = total/4 + k * total/4: k = 3 gives total
    assert one["power"].iloc[3] == pytest.approx(0.9, abs=1e-12)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"endpoint": "counts"}, "The 'endpoint' parameter of sample_size must be one of means, rates, survival"),
        ({"alternative": 0.5, "alpha": 0}, "'alpha' parameter of sample_size must be a number in (0, 1)"),
        ({"alternative": 0.5, "power": 1.2}, "'power' parameter of sample_size"),
        ({"alternative": 0.5, "allocation_ratio": -1}, "'allocation_ratio' parameter of sample_size"),
        ({}, "'alternative' parameter of sample_size"),
        ({"alternative": 0.5, "stdev": 0}, "'stdev' parameter of sample_size"),
        ({"endpoint": "rates", "pi1": 0.3}, "'pi2' parameter of sample_size"),
        ({"endpoint": "rates", "pi1": 0.3, "pi2": 0.3}, "an effect different from theta_h0"),
        ({"endpoint": "survival"}, "'hazard_ratio' parameter of sample_size"),
        ({"endpoint": "survival", "hazard_ratio": 0.7, "dropout_rate1": 1}, "'dropout_rate1' parameter"),
        ({"endpoint": "survival", "hazard_ratio": 0.7, "lambda2": 0.1, "pi2": 0.3}, "not given together with lambda2"),
    ],
)
def test_sample_size__bad_options(options: dict[str, object], message: str) -> None:
    """R: ``getSampleSizeMeans/Rates/Survival`` refuse these too."""
    with pytest.raises(InputError) as info:
        sample_size(**options)
    assert message in str(info.value)
