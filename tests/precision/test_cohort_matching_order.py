"""Greedy PS matching closest pair first (CohortMethod's ``Match.cpp``), and why it matters for bias.

* A hand example where taking targets in order of decreasing PS pairs the wrong persons.
* A simulation of :func:`biolake.precision.cohort.generate_cohort_cdm`'s treatment model with the
  TRUE propensity score (so the PS model plays no part): 1:1 matching with a 0.2-SD caliper
  must leave the matched pairs balanced on the true logit PS (mean within-pair difference
  ≈ 0). Taking targets from the highest PS down leaves a mean difference of ≈ 0.08 (the
  surplus targets of the crowded high-PS region get comparators of lower PS), which biased
  the planted HR of 2 to 2.16–2.18 at 1 M persons.
"""

from __future__ import annotations

import numpy as np

from biolake.precision.cohort.outcome import stratified_cox
from biolake.precision.cohort.ps import match_on_ps


def _logit_to_ps(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


def test_match_on_ps__closest_pair_first_by_hand() -> None:
    """Targets at logit 1.0 and 0.92, comparators at 0.93 and 0.5, wide caliper.

    Closest pair first: (0.92, 0.93) at 0.01, then 1.0 takes 0.5. Highest PS first would pair
    1.0 with 0.93 and leave 0.92 with 0.5.
    """
    logit = np.array([1.0, 0.92, 0.93, 0.5])
    treat = np.array([1, 1, 0, 0])
    sets = match_on_ps(_logit_to_ps(logit), treat, caliper=10.0)
    assert sets.tolist() == [0, 1, 1, 0]
    # with a caliper of 0.3 SD of the logit (SD = 0.2346 → 0.0704) only the close pair is made
    sets = match_on_ps(_logit_to_ps(logit), treat, caliper=0.3)
    assert sets.tolist() == [-1, 1, 1, -1]


def test_match_on_ps__pairs_balanced_on_true_ps_and_hr_recovered() -> None:
    """The synthetic CDM's treatment model, true PS, 150,000 persons: balanced pairs and HR 2 covered."""
    rng = np.random.default_rng(11)
    n = 150_000
    male = rng.random(n) < 0.5
    age = rng.integers(30, 85, n)
    conf = rng.random((n, 5)) < (0.15 + 0.2 * (age[:, None] - 30) / 55)
    older = (age - 57.5) / 15
    lin_t = -0.5 + 0.8 * (conf.sum(1) - conf.mean(0).sum()) + 0.3 * older + 0.2 * male
    target = rng.random(n) < _logit_to_ps(lin_t)
    sets = match_on_ps(_logit_to_ps(lin_t), target, caliper=0.2)
    m = sets >= 0
    t_rows = np.nonzero(m & target)[0]
    c_rows = np.nonzero(m & ~target)[0]
    t_rows, c_rows = t_rows[np.argsort(sets[t_rows])], c_rows[np.argsort(sets[c_rows])]
    assert np.array_equal(sets[t_rows], sets[c_rows]) and len(t_rows) > 40_000
    diff = lin_t[t_rows] - lin_t[c_rows]
    assert abs(diff.mean()) < 0.01  # highest-PS-first leaves ≈ 0.08 here
    assert np.abs(diff).max() <= 0.2 * np.std(lin_t, ddof=1)
    # outcome as the generator plants it (HR 2 given the confounders), administrative censoring
    lin_o = 0.8 * conf.sum(1) + 0.3 * older
    rate = 0.25 / 365.25 * np.exp(lin_o + np.log(2.0) * target)
    follow = rng.integers(30, 3 * 365, n)
    t = np.ceil(rng.exponential(1 / rate))
    event = (t <= follow).astype(float)
    time = np.minimum(t, follow).astype(float)
    fit = stratified_cox(time[m], event[m], target[m].astype(float), strata=sets[m])
    lo, hi = fit.coef - 1.96 * fit.se, fit.coef + 1.96 * fit.se
    assert lo <= np.log(2.0) <= hi
