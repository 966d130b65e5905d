"""Daily incidence for the R_t demo, docs and examples.

:func:`epiestim_incidence` and :func:`epiestim_si_distr` read real outbreaks shipped with
biolake (EpiEstim's ``Flu2009`` and ``SARS2003``, see ``data/NOTICE.md``);
:func:`demo_incidence` simulates a few regional epidemics (generated, not shipped).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from biolake.publichealth.demo import read_shipped_csv
from biolake.stats.epiestim import discr_si

__all__ = ["EPIESTIM_DATA", "demo_incidence", "epiestim_incidence", "epiestim_si_distr"]

EPIESTIM_DATA = ("flu2009", "sars2003")
"""The EpiEstim data sets shipped: ``Flu2009`` and ``SARS2003`` (EpiEstim 2.2-4)."""


def _check(name: str) -> str:
    from biolake.errors import check_param

    check_param("epiestim_incidence", "name", name, name in EPIESTIM_DATA, f"one of {', '.join(EPIESTIM_DATA)}")
    return name


def epiestim_incidence(name: str = "flu2009") -> pd.DataFrame:
    """The daily incidence of a real outbreak from EpiEstim's bundled data (shipped unchanged).

    ``"flu2009"``: onsets of acute respiratory illness among children of a school in
    Pennsylvania, 2009 H1N1 pandemic (Cauchemez et al. 2011, PNAS 108:2825), 32 days
    from 2009-04-27, columns ``date, I``. ``"sars2003"``: symptom onsets of SARS in Hong
    Kong, 2003 (Cori et al. 2009, PLoS Comput Biol 5:e1000471), 107 days, columns
    ``day, I`` (EpiEstim gives no dates).

    Examples
    --------
    >>> flu = epiestim_incidence("flu2009")
    >>> list(flu.columns), len(flu), int(flu["I"].sum())
    (['date', 'I'], 32, 129)
    """
    df = read_shipped_csv(f"{_check(name)}_incidence.csv")
    if "date" in df.columns:
        df["date"] = pd.to_datetime(df["date"]).dt.date
    return df


def epiestim_si_distr(name: str = "flu2009") -> np.ndarray:
    """The discrete serial-interval distribution EpiEstim ships with ``name`` (``w_0 = 0, w_1, …``).

    Flu2009: a shifted gamma with mean 2.6 and sd 1.5 days, shift 1 (Ferguson et al.
    2005); SARS2003: mean 8.4, sd 3.8, shift 1 (Lipsitch et al. 2003).

    Examples
    --------
    >>> w = epiestim_si_distr("flu2009")
    >>> len(w), float(w[0]), round(float(w.sum()), 12)
    (12, 0.0, 1.0)
    """
    return read_shipped_csv(f"{_check(name)}_si_distr.csv")["w"].to_numpy(np.float64)


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
