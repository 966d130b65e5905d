"""Deterministic daily incidence of a few regions for the R_t demo, docs and examples (generated, not shipped)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from biolake.stats.epiestim import discr_si

__all__ = ["demo_incidence"]


def demo_incidence(
    *,
    regions: int = 6,
    days: int = 120,
    si_mean: float = 4.8,
    si_sd: float = 2.3,
    first_day: str = "2024-02-01",
    seed: int = 20261127,
) -> pd.DataFrame:
    """Daily local and imported cases of epidemics simulated with a renewal process.

    In every region R_t starts between 1.6 and 2.2, drops below 1 when a control
    measure starts (between day 30 and 45) and creeps back up towards 1.2 later; a few
    cases are imported each week. Cases are Poisson with mean ``R_t · Λ_t`` (the model of
    Cori et al. 2013) with the discretised gamma serial interval ``si_mean``/``si_sd``.

    Returns
    -------
    pandas.DataFrame
        Columns ``region, date, local, imported`` (long format), sorted by region and date.

    Examples
    --------
    >>> df = demo_incidence(regions=2, days=30)
    >>> list(df.columns), len(df)
    (['region', 'date', 'local', 'imported'], 60)
    """
    rng = np.random.default_rng(seed)
    w = discr_si(np.arange(days), si_mean, si_sd)
    dates = pd.date_range(first_day, periods=days, freq="D").date
    t = np.arange(days)
    frames = []
    for r in range(1, regions + 1):
        r0 = rng.uniform(1.6, 2.2)
        start = int(rng.integers(30, 46))
        low = rng.uniform(0.55, 0.85)
        rt = np.where(t < start, r0, low + (1.2 - low) * np.clip((t - start - 30) / 40, 0, 1))
        imported = rng.poisson(0.15, days)
        imported[0] = int(rng.integers(2, 6))
        local = np.zeros(days, dtype=np.int64)
        for day in range(1, days):
            total = local[:day] + imported[:day]
            lam = float(np.dot(w[1 : day + 1], total[::-1]))
            local[day] = rng.poisson(rt[day] * lam)
        frames.append(pd.DataFrame({"region": f"R{r:02d}", "date": dates, "local": local, "imported": imported}))
    return pd.concat(frames, ignore_index=True)
