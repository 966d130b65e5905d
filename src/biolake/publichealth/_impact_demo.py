"""Deterministic monthly counts of a few regions for the ITS demo and docs (generated, not shipped)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["demo_monthly_counts"]


def demo_monthly_counts(*, regions: int = 3, months: int = 72, seed: int = 20261127) -> pd.DataFrame:
    """Monthly admissions with seasonality, a growing population and a drop from 2019-01 on.

    Counts are negative binomial (size 40) around ``population/1e5 · exp(3 + 0.01 t − 0.3 level
    − 0.01 slope + 0.25 sin(2πt/12) + 0.1 cos(2πt/12))`` with the intervention at month 49
    (2019-01-01); each region has its own baseline.

    Returns
    -------
    pandas.DataFrame
        Columns ``region, date, count, population``.

    Examples
    --------
    >>> df = demo_monthly_counts(regions=2, months=24)
    >>> list(df.columns), len(df)
    (['region', 'date', 'count', 'population'], 48)
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2015-01-01", periods=months, freq="MS").date
    t = np.arange(1, months + 1)
    t0 = 49
    level = (t >= t0).astype(float)
    slope = (t - t0) * level
    frames = []
    for r in range(1, regions + 1):
        pop = np.round(rng.uniform(0.5, 2.0) * 1e5 * (1 + 0.004 * t))
        eta = 3 + rng.normal(0, 0.2) + 0.01 * t - 0.3 * level - 0.01 * slope
        mu = pop / 1e5 * np.exp(eta + 0.25 * np.sin(2 * np.pi * t / 12) + 0.1 * np.cos(2 * np.pi * t / 12))
        counts = rng.negative_binomial(40, 40 / (40 + mu))
        frames.append(pd.DataFrame({"region": f"R{r}", "date": dates, "count": counts, "population": pop.astype(int)}))
    return pd.concat(frames, ignore_index=True)
