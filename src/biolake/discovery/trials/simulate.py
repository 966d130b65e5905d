"""Monte Carlo operating characteristics of a group sequential design (``trial simulate``).

The standardised statistics of a group sequential trial with information rates
t_1 < … < t_K and maximum information I_max follow the canonical joint distribution
(Jennison & Turnbull 2000, ch. 3): the score process W(t) = Z(t)·√t has independent normal
increments, W(t_k) − W(t_{k−1}) ~ N(η·(t_k − t_{k−1}), t_k − t_{k−1}) with drift
η = θ·√I_max, and Z_k = W(t_k)/√t_k. :func:`simulate` draws the K increments of every
iteration at once (numpy arrays, iterations in chunks), applies the design's boundaries
look by look (stop for efficacy when Z_k ≥ c_k — or |Z_k| ≥ c_k two-sided — and, with
futility bounds, for futility when Z_k < f_k) and counts where each trial stops, under H0
(η = 0) and under H1.

The drift under H1 comes from the endpoint (allocation ratio r = n1/n2, N = maximum total
sample size, or events for survival):

* ``means``: θ = |δ − δ0|/σ, I_max = N·r/(1 + r)²;
* ``rates`` (difference): θ = |π1 − π2 − δ0|, I_max = 1/(π1(1 − π1)/n1 + π2(1 − π2)/n2),
  n1 = N·r/(1 + r), n2 = N/(1 + r) (the variance under H1), and, as rpact's ``getPowerRates``
  for a test standardised under H0, η = θ√I_max + z_{α/sided}(1 − σ0/σ1) with σ0² = p̃1(1 − p̃1) +
  r·p̃2(1 − p̃2) (Farrington–Manning restricted rates under H0) and σ1² = π1(1 − π1) + r·π2(1 − π2);
* ``survival``: θ = |log HR − log HR0|, I_max = D·r/(1 + r)² (D events, Schoenfeld);
* no endpoint: η is the drift at which the design has power 1 − β (rpact's
  ``getDesignCharacteristics``: η² = inflation factor × (z_α + z_β)²), N is then relative
  to the fixed design.

N defaults to the design's maximum sample size: inflation factor × the fixed design's size
(:func:`biolake.discovery.trials.size.fixed_sample_size`, normal approximation for means).

With ``patient_level`` (means and rates), each stage's data are drawn through their
sufficient statistics instead — per arm and stage, the mean ~ N(μ, σ²/n) and the sum of
squares ~ σ²χ²(n − 1) (normal data), or the number of events ~ Binomial(n, π) — and the
cumulative test statistic is the two-sample t statistic turned into a z value by
Φ⁻¹(F_t(T; n1 + n2 − 2)) (as rpact's simulations), or the pooled-variance z test of two
rates (δ0 = 0 only). Under H0 both arms have mean δ0 apart (means) or rate π2 (rates).

The exact probabilities of the same events (:func:`exact_operating_characteristics`) come
from the recursive integration of :mod:`biolake.stats.groupseq` (rpact's), so a simulation
can be checked against them: each simulated probability p̂ has Monte Carlo SE √(p(1 − p)/n).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import ndtri

from biolake.discovery.trials.design import GroupSequentialDesign, design_characteristics
from biolake.errors import InputError, check_param
from biolake.stats.groupseq import FUTILITY_BOUND_DEFAULT, group_sequential_probabilities, one_minus_qnorm

__all__ = [
    "SIMULATION_COLUMNS",
    "SUMMARY_COLUMNS",
    "exact_operating_characteristics",
    "maximum_information",
    "simulate",
    "simulate_job",
]

SIMULATION_COLUMNS = (
    "hypothesis",
    "look",
    "information_rate",
    "sample_size",
    "critical_value",
    "futility_bound",
    "stop_efficacy",
    "stop_futility",
    "cumulative_stop",
    "stop_efficacy_se",
    "exact_stop_efficacy",
    "exact_stop_futility",
)
SUMMARY_COLUMNS = (
    "hypothesis",
    "iterations",
    "rejection",
    "rejection_se",
    "exact_rejection",
    "expected_n",
    "exact_expected_n",
    "maximum_n",
    "drift",
)
_CHUNK = 1 << 18
_ENDPOINT_KEYS = {"endpoint", "allocation_ratio", "alternative", "stdev", "theta_h0", "pi1", "pi2", "hazard_ratio"}


@dataclass(frozen=True)
class _Bounds:
    upper: np.ndarray  # (K,) efficacy bounds (z)
    futility: np.ndarray  # (K,) futility bounds, −inf where none (and at the last look)
    sided: int
    rates: np.ndarray


def _bounds(d: GroupSequentialDesign, *, ignore_futility: bool) -> _Bounds:
    upper = np.array(d.critical_values, dtype=float)  # may hold inf (never crossed)
    futility = np.full(d.kmax, -np.inf)
    if d.futility_bounds is not None and not ignore_futility:
        f = np.array(d.futility_bounds, dtype=float)
        futility[:-1] = np.where(f <= FUTILITY_BOUND_DEFAULT, -np.inf, f)
    return _Bounds(upper, futility, d.sided, np.array(d.information_rates, dtype=float))


def exact_operating_characteristics(
    d: GroupSequentialDesign, drift: float, *, ignore_futility: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Exact probabilities of stopping for efficacy and for futility at each look, at drift η.

    Recursive numerical integration (rpact's grids). The futility probability at the last
    look is the probability of ending the trial without rejecting H0, so both arrays sum to 1.
    """
    b = _bounds(d, ignore_futility=ignore_futility)
    shift = drift * np.sqrt(b.rates)
    upper = np.minimum(b.upper, 8.0) - shift
    if b.sided == 2:
        lower = -np.minimum(b.upper, 8.0) - shift
    else:
        lower = np.where(np.isfinite(b.futility), b.futility - shift, FUTILITY_BOUND_DEFAULT)
        lower[-1] = FUTILITY_BOUND_DEFAULT
    probs = group_sequential_probabilities(np.vstack([lower, upper]), b.rates)
    efficacy = probs[2] - probs[1]
    if b.sided == 2:
        efficacy = efficacy + probs[0]
        futility = np.zeros(d.kmax)
    else:
        futility = np.where(np.isfinite(b.futility), probs[0], 0.0)
    futility[-1] = 1.0 - efficacy.sum() - futility[:-1].sum()
    return efficacy, futility


def _decide(z: np.ndarray, b: _Bounds) -> tuple[np.ndarray, np.ndarray]:
    """Counts of efficacy and futility stops per look for statistics z (n, K)."""
    n, kmax = z.shape
    reject = np.abs(z) >= b.upper if b.sided == 2 else z >= b.upper
    futile = z < b.futility
    stop = reject | futile
    stop[:, -1] = True
    first = np.argmax(stop, axis=1)
    rejected = reject[np.arange(n), first]
    efficacy = np.bincount(first[rejected], minlength=kmax)
    futility = np.bincount(first[~rejected], minlength=kmax)
    return efficacy, futility


def _canonical(rng: np.random.Generator, n: int, rates: np.ndarray, drift: float) -> np.ndarray:
    """Z statistics (n, K) of the canonical process with drift η: cumulative sums of independent increments."""
    dt = np.diff(rates, prepend=0.0)
    w = rng.standard_normal((n, len(rates)))
    w *= np.sqrt(dt)
    w += drift * dt
    np.cumsum(w, axis=1, out=w)
    w /= np.sqrt(rates)
    return w


def _stage_sizes(n_max: float, rates: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-stage sizes of arms 1 and 2 (integers; cumulative totals round(t_k·N), split by r)."""
    total = np.round(rates * n_max).astype(np.int64)
    n1 = np.round(total * r / (1 + r)).astype(np.int64)
    n2 = total - n1
    if np.any(np.diff(n1, prepend=0) < 2) or np.any(np.diff(n2, prepend=0) < 2):
        raise InputError(f"each arm needs at least 2 patients per stage for patient-level simulation; N = {n_max:g}")
    return np.diff(n1, prepend=0), np.diff(n2, prepend=0)


def _patient_means(
    rng: np.random.Generator, n: int, m1: np.ndarray, m2: np.ndarray, mu1: float, mu2: float, sd: float, theta0: float
) -> np.ndarray:
    """Cumulative two-sample t statistics as z values, from per-stage sufficient statistics."""
    k = len(m1)
    z = np.empty((n, k))
    cn1 = np.cumsum(m1)
    cn2 = np.cumsum(m2)
    means, sss = [], []
    for size, mu in ((m1, mu1), (m2, mu2)):
        mean = mu + sd / np.sqrt(size) * rng.standard_normal((n, k))
        ss = sd**2 * rng.chisquare(size - 1, (n, k))
        means.append(mean)
        sss.append(ss)
    for j in range(k):
        ss_total = np.zeros(n)
        cm = []
        for arm, size in enumerate((m1, m2)):
            w = size[: j + 1]
            cum_mean = (means[arm][:, : j + 1] * w).sum(axis=1) / w.sum()
            ss_total += sss[arm][:, : j + 1].sum(axis=1) + (w * (means[arm][:, : j + 1] - cum_mean[:, None]) ** 2).sum(
                axis=1
            )
            cm.append(cum_mean)
        df = cn1[j] + cn2[j] - 2
        s = np.sqrt(ss_total / df)
        t = (cm[0] - cm[1] - theta0) / (s * math.sqrt(1 / cn1[j] + 1 / cn2[j]))
        z[:, j] = ndtri(np.clip(stats.t.cdf(t, df), 1e-300, 1 - 1e-16))
    return z


def _patient_rates(
    rng: np.random.Generator, n: int, m1: np.ndarray, m2: np.ndarray, p1: float, p2: float
) -> np.ndarray:
    """Cumulative pooled-variance z statistics of two rates, from per-stage binomial counts."""
    x1 = np.cumsum(rng.binomial(m1, p1, (n, len(m1))), axis=1)
    x2 = np.cumsum(rng.binomial(m2, p2, (n, len(m2))), axis=1)
    n1, n2 = np.cumsum(m1), np.cumsum(m2)
    pooled = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x1 / n1 - x2 / n2) / se
    return np.where(se > 0, z, 0.0)


def maximum_information(
    *,
    endpoint: str,
    n_max: float,
    allocation_ratio: float = 1.0,
    alternative: float | None = None,
    stdev: float = 1.0,
    theta_h0: float | None = None,
    pi1: float | None = None,
    pi2: float | None = None,
    hazard_ratio: float | None = None,
) -> tuple[float, float]:
    """(θ, I_max) of an endpoint at maximum size ``n_max`` (see the module docstring); drift η = θ√I_max."""
    r = allocation_ratio
    if endpoint == "means":
        return abs(float(alternative) - (theta_h0 or 0.0)) / stdev, n_max * r / (1 + r) ** 2  # type: ignore[arg-type]
    if endpoint == "rates":
        n1, n2 = n_max * r / (1 + r), n_max / (1 + r)
        var = pi1 * (1 - pi1) / n1 + pi2 * (1 - pi2) / n2  # type: ignore[operator]
        return abs(pi1 - pi2 - (theta_h0 or 0.0)), 1 / var  # type: ignore[operator]
    th0 = 1.0 if theta_h0 is None else theta_h0
    return abs(math.log(hazard_ratio) - math.log(th0)), n_max * r / (1 + r) ** 2  # type: ignore[arg-type]


def _rates_correction(d: GroupSequentialDesign, **options: Any) -> float:
    """rpact's ``getPowerRates`` shift of the drift for a test standardised under H0:
    z_{α/sided}·(1 − σ0/σ1), σ0 from the Farrington–Manning restricted rates under H0, σ1 under H1."""
    from biolake.discovery.trials.size import _farrington_manning

    r = float(options.get("allocation_ratio", 1.0))
    p1, p2 = float(options["pi1"]), float(options["pi2"])
    ml1, ml2 = _farrington_manning(p1, p2, float(options.get("theta_h0") or 0.0), r, False)
    sd0 = math.sqrt(ml1 * (1 - ml1) + r * ml2 * (1 - ml2))
    sd1 = math.sqrt(p1 * (1 - p1) + r * p2 * (1 - p2))
    return one_minus_qnorm(d.alpha / d.sided) * (1 - sd0 / sd1)


def _check_endpoint(options: dict[str, Any]) -> None:
    f = "simulate"
    endpoint = options.get("endpoint")
    for key in options:
        check_param(f, key, options[key], key in _ENDPOINT_KEYS, "not given (unknown option)")
    check_param(f, "endpoint", endpoint, endpoint in (None, "means", "rates", "survival"), "means, rates or survival")
    if endpoint == "means":
        check_param(f, "alternative", options.get("alternative"), options.get("alternative") is not None, "a number")
    elif endpoint == "rates":
        for key in ("pi1", "pi2"):
            v = options.get(key)
            check_param(f, key, v, v is not None and 0 < v < 1, "a probability in (0, 1)")
    elif endpoint == "survival":
        v = options.get("hazard_ratio")
        check_param(f, "hazard_ratio", v, v is not None and v > 0, "a number > 0")


def simulate(
    d: GroupSequentialDesign,
    *,
    iterations: int = 100_000,
    seed: int | None = 1,
    endpoint: str | None = None,
    n_max: float | None = None,
    patient_level: bool = False,
    ignore_futility: bool = False,
    **endpoint_options: Any,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Simulated operating characteristics of design ``d`` under H0 and under H1.

    Parameters
    ----------
    d
        A design from :func:`biolake.discovery.trials.design`.
    iterations
        Simulated trials per hypothesis.
    seed
        Seed of numpy's ``default_rng`` (results are reproducible for a given seed).
    endpoint
        ``means``, ``rates``, ``survival`` or None (the design's own alternative).
    n_max
        Maximum total sample size (events for survival); default the design's.
    patient_level
        Draw per-stage patient data (means and rates) instead of the statistics.
    ignore_futility
        Do not stop at futility bounds (the non-binding type I error).
    endpoint_options
        ``allocation_ratio``, ``alternative``, ``stdev``, ``theta_h0``, ``pi1``, ``pi2``,
        ``hazard_ratio`` (as :func:`biolake.discovery.trials.size.sample_size`; ``power``
        is 1 − the design's β).

    Returns
    -------
    (per_look, summary, info)
        ``per_look``: one row per hypothesis and look (columns :data:`SIMULATION_COLUMNS`);
        ``summary``: one row per hypothesis (:data:`SUMMARY_COLUMNS`); ``info``: drift, N.
    """
    f = "simulate"
    check_param(
        f, "iterations", iterations, isinstance(iterations, int | np.integer) and iterations >= 100, "an integer >= 100"
    )
    check_param(f, "seed", seed, seed is None or isinstance(seed, int | np.integer), "an integer or None")
    _check_endpoint({"endpoint": endpoint, **endpoint_options})
    check_param(
        f,
        "patient_level",
        patient_level,
        not patient_level or endpoint in ("means", "rates"),
        "False unless means/rates",
    )
    r = float(endpoint_options.get("allocation_ratio", 1.0))
    check_param(f, "allocation_ratio", r, r > 0, "a number > 0")
    chars = design_characteristics(d)
    if endpoint is None:
        n_fixed = 1.0
        drift = math.sqrt(chars["shift"])
    else:
        size_options = {k: v for k, v in endpoint_options.items() if v is not None}
        if endpoint == "means":
            size_options["normal_approximation"] = True
        fixed = _fixed(endpoint, d, size_options)
        n_fixed = fixed.get("events_fixed", fixed["n1_fixed"] + fixed["n2_fixed"])
    if n_max is None:
        n_max = chars["inflation_factor"] * n_fixed
    ok = isinstance(n_max, int | float | np.integer | np.floating) and math.isfinite(n_max) and n_max > 0
    check_param(f, "n_max", n_max, ok, "a number > 0")
    if endpoint is not None:
        theta, info_max = maximum_information(endpoint=endpoint, n_max=n_max, **endpoint_options)
        drift = theta * math.sqrt(info_max)
        if endpoint == "rates":
            drift += _rates_correction(d, **endpoint_options)
    elif n_max != chars["inflation_factor"]:
        drift = math.sqrt(chars["shift"] * n_max / chars["inflation_factor"])
    b = _bounds(d, ignore_futility=ignore_futility)
    rng = np.random.default_rng(seed)
    sizes = b.rates * n_max
    stages = _stage_sizes(n_max, b.rates, r) if patient_level else None
    if stages is not None:
        sizes = np.cumsum(stages[0] + stages[1]).astype(float)
    rows, summary = [], []
    for hypothesis, eta in (("H0", 0.0), ("H1", drift)):
        efficacy = np.zeros(d.kmax, dtype=np.int64)
        futility = np.zeros(d.kmax, dtype=np.int64)
        done = 0
        while done < iterations:
            n = min(_CHUNK, iterations - done)
            if stages is None:
                z = _canonical(rng, n, b.rates, eta)
            elif endpoint == "means":
                th0 = endpoint_options.get("theta_h0") or 0.0
                sd = float(endpoint_options.get("stdev", 1.0))
                # the alternative in the direction of the (one-sided, upper) test, as at the statistic level
                delta = th0 + abs(float(endpoint_options["alternative"]) - th0) if hypothesis == "H1" else th0
                z = _patient_means(rng, n, *stages, delta, 0.0, sd, th0)
            else:
                p2 = float(endpoint_options["pi2"])
                p1 = float(endpoint_options["pi1"]) if hypothesis == "H1" else p2
                check_param(f, "theta_h0", endpoint_options.get("theta_h0"), not endpoint_options.get("theta_h0"), "0")
                z = _patient_rates(rng, n, *stages, p1, p2)
                if float(endpoint_options["pi1"]) < p2:  # the alternative in the direction of the test
                    z = -z
            e, u = _decide(z, b)
            efficacy += e
            futility += u
            done += n
        pe, pf = efficacy / iterations, futility / iterations
        xe, xf = exact_operating_characteristics(d, eta, ignore_futility=ignore_futility)
        stop = pe + pf
        for k in range(d.kmax):
            rows.append(
                {
                    "hypothesis": hypothesis,
                    "look": k + 1,
                    "information_rate": float(b.rates[k]),
                    "sample_size": float(sizes[k]),
                    "critical_value": float(d.critical_values[k]),
                    "futility_bound": float(b.futility[k]) if np.isfinite(b.futility[k]) else np.nan,
                    "stop_efficacy": float(pe[k]),
                    "stop_futility": float(pf[k]),
                    "cumulative_stop": float(stop[: k + 1].sum()),
                    "stop_efficacy_se": math.sqrt(pe[k] * (1 - pe[k]) / iterations),
                    "exact_stop_efficacy": float(xe[k]),
                    "exact_stop_futility": float(xf[k]),
                }
            )
        rejection = float(pe.sum())
        summary.append(
            {
                "hypothesis": hypothesis,
                "iterations": int(iterations),
                "rejection": rejection,
                "rejection_se": math.sqrt(rejection * (1 - rejection) / iterations),
                "exact_rejection": float(xe.sum()),
                "expected_n": float(np.sum(stop * sizes)),
                "exact_expected_n": float(np.sum((xe + xf) * sizes)),
                "maximum_n": float(sizes[-1]),
                "drift": eta,
            }
        )
    info = {"drift": drift, "n_max": float(n_max), "n_fixed": float(n_fixed), "endpoint": endpoint}
    return pd.DataFrame(rows, columns=list(SIMULATION_COLUMNS)), pd.DataFrame(summary), info


def _fixed(endpoint: str, d: GroupSequentialDesign, options: dict[str, Any]) -> dict[str, float]:
    from biolake.discovery.trials.size import fixed_sample_size as size_fixed

    options = {k: v for k, v in options.items() if k != "power"}
    try:
        return size_fixed(endpoint=endpoint, alpha=d.alpha, sided=d.sided, power=1 - d.beta, **options)
    except TypeError as exc:  # an option the endpoint does not take
        raise InputError(str(exc)) from None


def simulate_job(
    lake: Any,
    d: GroupSequentialDesign,
    *,
    out: str | os.PathLike[str],
    summary: str | os.PathLike[str] | None = None,
    **options: Any,
) -> tuple[str, str, pd.DataFrame, pd.DataFrame]:
    """:func:`simulate` as a lake run: the per-look table to ``out``, the summary to ``summary``
    (and both, with the design, into the run record). Returns run id, dataset name, both tables."""
    table, summ, info = simulate(d, **options)
    params: dict[str, Any] = {
        "kmax": d.kmax,
        "alpha": d.alpha,
        "sided": d.sided,
        "type_of_design": d.type_of_design,
        "gamma": d.gamma,
        "information_rates": list(d.information_rates),
        "beta": d.beta,
        "type_beta_spending": d.type_beta_spending,
        "gamma_b": d.gamma_b,
        "binding_futility": d.binding_futility,
        **{k: v for k, v in options.items()},
        "out": str(out),
        "summary_file": None if summary is None else str(summary),
        **{k: v for k, v in info.items() if k != "endpoint"},
        "summary": summ.to_dict(orient="records"),
    }
    with lake.run("discovery trial simulate", params=params, inputs=[]) as run:
        name = run.result(table, out)
        if summary is not None:
            run.result(summ, summary)
    return run.id, name, table, summ
