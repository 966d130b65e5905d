"""Small deterministic public-health data for the demo, docs and examples (generated, not shipped)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["demo_counts"]


def demo_counts(
    *,
    diseases: tuple[str, ...] = ("influenza", "salmonellosis", "legionellosis"),
    regions: int = 8,
    weeks: int = 156,
    first_week: str = "2023-01-02",
    seed: int = 20261127,
) -> pd.DataFrame:
    """Weekly case counts of a few diseases in a few regions, with outbreaks injected.

    Influenza is seasonal (winter peaks), salmonellosis has overdispersed summer-heavy
    counts, legionellosis is rare (mostly zeros). Each region gets one or two injected
    outbreaks of 3–5 weeks, so surveillance methods have something to find.

    Parameters
    ----------
    diseases
        Disease names (the first three get the shapes above; more repeat them).
    regions
        Number of regions, named ``R01``, ``R02``, ….
    weeks
        Number of weeks, starting at the Monday ``first_week``.
    first_week
        ISO date of the first week's Monday.
    seed
        Random seed: the same arguments always give the same table.

    Returns
    -------
    pandas.DataFrame
        Columns ``disease, region, date, count`` (long format), sorted by disease,
        region and date.

    Examples
    --------
    >>> df = demo_counts(regions=2, weeks=10)
    >>> list(df.columns), len(df)
    (['disease', 'region', 'date', 'count'], 60)
    """
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    dates = pd.date_range(first_week, periods=weeks, freq="7D").date
    frames = []
    for d, disease in enumerate(diseases):
        shape = d % 3
        for r in range(1, regions + 1):
            size = 0.6 + 0.15 * r
            if shape == 0:
                mu = size * 20 * np.exp(1.1 * np.cos(2 * np.pi * (t - 2 - r % 3) / 52.18))
            elif shape == 1:
                mu = size * 6 * (1 + 0.5 * np.sin(2 * np.pi * (t - 13) / 52.18))
            else:
                mu = np.full(weeks, 0.25 * size)
            for _ in range(1 + (r + d) % 2):
                low = min(20, weeks // 3)
                start = int(rng.integers(low, max(low + 1, weeks - 5)))
                length = int(rng.integers(3, 6))
                if start < weeks:
                    mu[start : start + length] += mu[start : start + length].mean() * rng.uniform(1.5, 3.0) + 2
            counts = rng.negative_binomial(8, 8 / (8 + mu)) if shape == 1 else rng.poisson(mu)
            frames.append(
                pd.DataFrame({"disease": disease, "region": f"R{r:02d}", "date": dates, "count": counts.astype(int)})
            )
    return pd.concat(frames, ignore_index=True)
