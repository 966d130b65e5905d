"""Recruitment across sites: the Poisson–gamma model of Anisimov & Fedorov (``trial enrollment``).

Anisimov & Fedorov (2007, *Statistics in Medicine* 26:4958) model the patients of site i as a
Poisson process of rate λ_i starting when the site opens (s_i), the rates drawn from a gamma
distribution, λ_i ~ Gamma(shape α, rate β) (mean R = α/β patients per site per month,
coefficient of variation 1/√α). Given the rates, the total count is a Poisson process with
cumulative intensity Λ(t) = Σ_i λ_i (t − s_i)⁺, so

* the number recruited by time t is Poisson(Λ(t)) given the rates; with all sites opening at
  s, Σλ_i ~ Gamma(Nα, β) and the count is negative binomial (size Nα, p = β/(β + t − s));
* the time to reach n patients is T_n = Λ⁻¹(E_n) with E_n ~ Gamma(n, 1) (the n-th arrival
  of a unit-rate process); with all sites opening at s, (T_n − s)/β = E_n/G with
  G ~ Gamma(Nα, 1), i.e. E_n/(E_n + G) ~ Beta(n, Nα) — quantiles in closed form.

:func:`simulate_enrollment` draws the site rates and E_n of every iteration at once (numpy
arrays, in chunks) and inverts the piecewise-linear Λ exactly, so the simulated T_n has the
model's distribution with no time discretisation. The recruitment curve band is, at each time
of a grid, the quantiles of Poisson(Λ(t)) over the iterations (the marginal distribution
of the count at that time). ``shape = inf`` gives fixed rates R (a plain Poisson process).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError, check_param

__all__ = ["CURVE_COLUMNS", "ENROLLMENT_COLUMNS", "enrollment_job", "parse_site_start", "simulate_enrollment"]

ENROLLMENT_COLUMNS = (
    "target",
    "sites",
    "time_median",
    "time_lower",
    "time_upper",
    "time_mean",
    "level",
    "iterations",
)
CURVE_COLUMNS = ("time", "n_lower", "n_median", "n_upper", "n_mean")
_CHUNK_CELLS = 1 << 22


def parse_site_start(value: str | None, sites: int) -> np.ndarray:
    """Site opening times from the CLI: ``T`` (all sites), ``A:B`` (evenly spread from A to B) or a
    comma-separated list of one time per site."""
    if value is None or not value.strip():
        return np.zeros(sites)
    try:
        if ":" in value:
            a, b = (float(x) for x in value.split(":"))
            return np.linspace(a, b, sites)
        times = np.array([float(x) for x in value.split(",")])
    except ValueError:
        raise InputError(f"expected T, A:B or one time per site, got {value!r}", file="--site-start") from None
    if len(times) == 1:
        return np.full(sites, times[0])
    if len(times) != sites:
        raise InputError(f"expected {sites} times (one per site), got {len(times)}", file="--site-start")
    return times


def _draw_rates(rng: np.random.Generator, n: int, sites: int, rate: float, shape: float) -> np.ndarray:
    if math.isinf(shape):
        return np.full((n, sites), rate)
    return rng.gamma(shape, rate / shape, (n, sites))


def _time_to_target(lam: np.ndarray, starts: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Λ⁻¹(e) per row for Λ(t) = Σ_i λ_i (t − s_i)⁺; ``starts`` sorted ascending, λ in the same order."""
    c = np.cumsum(lam, axis=1)  # slope after start j (sites 0..j open)
    d = np.cumsum(lam * starts, axis=1)
    prev_c = np.concatenate([np.zeros((lam.shape[0], 1)), c[:, :-1]], axis=1)
    prev_d = np.concatenate([np.zeros((lam.shape[0], 1)), d[:, :-1]], axis=1)
    at_start = starts * prev_c - prev_d  # Λ(s_j), non-decreasing in j
    j = np.sum(at_start <= e[:, None], axis=1) - 1
    rows = np.arange(lam.shape[0])
    return starts[j] + (e - at_start[rows, j]) / c[rows, j]


def simulate_enrollment(
    *,
    sites: int,
    rate: float,
    target: int,
    shape: float = 2.0,
    site_start: Any = None,
    iterations: int = 10_000,
    seed: int | None = 1,
    level: float = 0.9,
    grid: int = 61,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Time to recruit ``target`` patients over ``sites`` sites (Poisson–gamma model), by simulation.

    Parameters
    ----------
    sites
        Number of sites N.
    rate
        Mean recruitment rate R per site (patients per site per month).
    target
        Patients to recruit.
    shape
        Gamma shape α of the site rates (CV 1/√α); ``inf`` for fixed rates.
    site_start
        Opening time of each site (N numbers) or one number for all; default 0.
    iterations, seed
        Monte Carlo iterations; seed of numpy's ``default_rng``.
    level
        Prediction interval level (central), e.g. 0.9 for the 5th–95th percentiles.
    grid
        Number of time points of the recruitment curve band.

    Returns
    -------
    (summary, curve, times)
        ``summary``: one row (:data:`ENROLLMENT_COLUMNS`); ``curve``: the band
        (:data:`CURVE_COLUMNS`) from 0 to the upper prediction limit × 1.25; ``times``: the
        simulated times to target.

    Examples
    --------
    >>> s, _, _ = simulate_enrollment(sites=20, rate=1.0, target=200, shape=math.inf, iterations=2000)
    >>> round(float(s.time_median.iloc[0]), 1)  # Erlang(200, 20 per month): about 10 months
    10.0
    """
    f = "simulate_enrollment"
    is_int = (int, np.integer)
    check_param(f, "sites", sites, isinstance(sites, is_int) and sites >= 1, "an integer >= 1")
    check_param(f, "rate", rate, isinstance(rate, float | int) and math.isfinite(rate) and rate > 0, "a number > 0")
    check_param(f, "target", target, isinstance(target, is_int) and target >= 1, "an integer >= 1")
    check_param(f, "shape", shape, isinstance(shape, float | int) and shape > 0, "a number > 0 (or inf)")
    check_param(f, "iterations", iterations, isinstance(iterations, is_int) and iterations >= 10, "an integer >= 10")
    check_param(f, "level", level, isinstance(level, float) and 0 < level < 1, "a number in (0, 1)")
    check_param(f, "grid", grid, isinstance(grid, is_int) and grid >= 2, "an integer >= 2")
    starts = np.zeros(sites) if site_start is None else np.asarray(site_start, dtype=float).ravel()
    if starts.size == 1:
        starts = np.full(sites, float(starts[0]))
    check_param(
        f,
        "site_start",
        site_start,
        starts.size == sites and bool(np.all(np.isfinite(starts))) and bool(np.all(starts >= 0)),
        f"{sites} finite times >= 0 (or one for all sites)",
    )
    starts = np.sort(starts)
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // sites)
    times = np.empty(iterations)
    rates_kept: list[np.ndarray] = []
    done = 0
    while done < iterations:
        n = min(chunk, iterations - done)
        lam = _draw_rates(rng, n, sites, float(rate), float(shape))
        e = rng.gamma(target, 1.0, n)
        times[done : done + n] = _time_to_target(lam, starts, e)
        rates_kept.append(lam.sum(axis=1) if np.all(starts == starts[0]) else lam)
        done += n
    tail = (1 - level) / 2
    lower, median, upper = np.quantile(times, [tail, 0.5, 1 - tail])
    summary = pd.DataFrame(
        [
            {
                "target": int(target),
                "sites": int(sites),
                "time_median": float(median),
                "time_lower": float(lower),
                "time_upper": float(upper),
                "time_mean": float(times.mean()),
                "level": float(level),
                "iterations": int(iterations),
            }
        ],
        columns=list(ENROLLMENT_COLUMNS),
    )
    t_grid = np.linspace(0.0, float(upper) * 1.25, grid)
    counts = np.empty((iterations, grid))
    row = 0
    for lam in rates_kept:
        if lam.ndim == 1:  # all sites open together: Λ(t) = Σλ·(t − s)⁺
            cum = lam[:, None] * np.maximum(t_grid[None, :] - starts[0], 0.0)
        else:
            cum = lam @ np.maximum(t_grid[None, :] - starts[:, None], 0.0)
        counts[row : row + len(lam)] = rng.poisson(cum)
        row += len(lam)
    q = np.quantile(counts, [tail, 0.5, 1 - tail], axis=0)
    curve = pd.DataFrame(
        {"time": t_grid, "n_lower": q[0], "n_median": q[1], "n_upper": q[2], "n_mean": counts.mean(axis=0)}
    )
    return summary, curve, times


def enrollment_job(
    lake: Any,
    *,
    out: str | os.PathLike[str],
    curve: str | os.PathLike[str] | None = None,
    **options: Any,
) -> tuple[str, str, pd.DataFrame, pd.DataFrame]:
    """:func:`simulate_enrollment` as a lake run: the one-row summary to ``out`` (and into the run
    record), the band to ``curve`` — or, without it, to the lake only, as dataset ``<name>_curve``.
    Returns run id, name, summary, band."""
    summary, band, _ = simulate_enrollment(**options)
    params = {
        **{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in options.items()},
        "out": str(out),
        "curve_file": None if curve is None else str(curve),
        "summary": summary.to_dict(orient="records"),
    }
    if isinstance(params.get("shape"), float) and math.isinf(params["shape"]):
        params["shape"] = "inf"
    with lake.run("discovery trial enrollment", params=params, inputs=[]) as run:
        name = run.result(summary, out)
        if curve is not None:
            run.result(band, curve)
        else:
            run.table(f"{name}_curve", attrs={"role": "result"}).write(band)
    return run.id, name, summary, band
