"""Public-health count data for the demo, docs and examples.

:func:`salmonella_newport` reads real weekly counts shipped with biolake (R
``surveillance``'s ``salmNewport``, see ``data/NOTICE.md``); :func:`demo_counts` generates
a small deterministic table of several diseases with injected outbreaks (not shipped).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["demo_counts", "read_shipped_csv", "salmonella_newport"]


def read_shipped_csv(name: str) -> pd.DataFrame:
    """One of the CSV files shipped in ``biolake/publichealth/data`` (see its ``NOTICE.md``), as read by pandas."""
    with resources.files("biolake.publichealth").joinpath("data", name).open("rb") as fh:
        return pd.read_csv(fh)


def salmonella_newport() -> pd.DataFrame:
    """Weekly *Salmonella* Newport cases in the 16 German federal states, 2004–2013 (real data).

    R ``surveillance``'s data set ``salmNewport`` (1.20.3; SurvStat@RKI, Robert Koch
    Institute; the 2011 outbreak is described by Bayer et al. 2014, Eurosurveillance
    19(1):20665), shipped unchanged as ``data/salmNewport.csv`` (R's ``observed`` matrix,
    one column per state, with R's ``epoch`` dates, Mondays).

    Returns
    -------
    pandas.DataFrame
        Columns ``state, date, count`` (long format, 16 × 528 rows), sorted by state
        (R's column order) and date.

    Examples
    --------
    >>> df = salmonella_newport()
    >>> len(df), df["state"].nunique(), str(df["date"].min()), str(df["date"].max())
    (8448, 16, '2004-01-05', '2014-02-10')
    """
    wide = read_shipped_csv("salmNewport.csv")
    states = [c for c in wide.columns if c != "date"]
    dates = pd.to_datetime(wide["date"]).dt.date
    frames = [pd.DataFrame({"state": s, "date": dates, "count": wide[s].astype(np.int64)}) for s in states]
    return pd.concat(frames, ignore_index=True)


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
