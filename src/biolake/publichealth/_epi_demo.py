"""A deterministic simulated cohort for the risk-factor demo, docs and examples (generated, not shipped)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["demo_cohort"]


def demo_cohort(*, n: int = 4_000, seed: int = 20261127) -> pd.DataFrame:
    """A cohort followed for a disease: exposures, age group, person-years and cases.

    The log rate is ``−6 + 0.7·smoker + 0.4·obese + 0.25·(age group index) − 0.3·vaccinated``
    per person-year; each person is followed 1–10 years and has a Poisson number of
    events (almost always 0 or 1), so ``case`` (any event) suits logistic regression and
    ``events`` with ``years`` Poisson regression.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, age_group, smoker, obese, vaccinated, years, events, case``.

    Examples
    --------
    >>> df = demo_cohort(n=10)
    >>> list(df.columns)
    ['id', 'age_group', 'smoker', 'obese', 'vaccinated', 'years', 'events', 'case']
    """
    rng = np.random.default_rng(seed)
    groups = np.array(["40-49", "50-59", "60-69", "70-79"])
    g = rng.integers(0, 4, n)
    smoker = rng.binomial(1, 0.3, n)
    obese = rng.binomial(1, 0.25 + 0.05 * g, n)
    vaccinated = rng.binomial(1, 0.5, n)
    years = np.round(rng.uniform(1, 10, n), 2)
    rate = np.exp(-4.2 + 0.7 * smoker + 0.4 * obese + 0.25 * g - 0.3 * vaccinated)
    events = rng.poisson(rate * years)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "age_group": groups[g],
            "smoker": smoker,
            "obese": obese,
            "vaccinated": vaccinated,
            "years": years,
            "events": events,
            "case": (events > 0).astype(np.int64),
        }
    )
