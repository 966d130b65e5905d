"""Group-sequential designs: boundaries, α spent and design characteristics, as R ``rpact``.

:func:`design` computes the critical values of a group sequential design with K looks by
recursive numerical integration (Armitage–McPherson–Rowe; kernel in
:mod:`biolake.stats.groupseq`), for rpact's ``typeOfDesign``:

* ``OF`` and ``P``: the classical O'Brien–Fleming (c_k = C·t_k^(−1/2)) and Pocock (c_k = C)
  boundaries, C found so that the total type I error is α (Wang–Tsiatis Δ = 0 and 0.5);
* ``asOF``, ``asP``, ``asKD``, ``asHSD``: Lan–DeMets α spending with the O'Brien–Fleming-type
  (2·sided·(1 − Φ(z_{α/(2·sided)}/√t))), Pocock-type (α·log(1 + (e − 1)t)), Kim–DeMets power
  (α·t^γ) and Hwang–Shih–DeCani (α(1 − e^{−γt})/(1 − e^{−γ}), α·t for γ = 0) functions;
  each look's critical value is found by bisection so that the cumulative α spent equals
  the spending function at its information rate.

Optional futility bounds come from β spending (rpact's ``typeBetaSpending`` ``bsOF``, ``bsP``,
``bsKD``, ``bsHSD`` with ``gammaB``; one-sided alpha-spending designs): at each look the
futility bound spends the cumulative β of the spending function under the alternative
whose drift makes the last futility bound meet the last critical value. Non-binding
futility (the default) leaves the critical values as they are; binding futility recomputes
them with the futility bounds in place.

:func:`design_characteristics` is rpact's ``getDesignCharacteristics``: the maximum
information relative to the fixed design (inflation factor) so that the design has power
1 − β at the alternative, and the expected sample sizes under H0, under the alternative
halfway (H0.1) and under H1, relative to the fixed design.

The numbers follow rpact 3.3.4 step by step (same grids, same root finders and tolerances,
α spent at the last look floored to 1e-8): critical values agree to about 1e-14.

Examples
--------
>>> d = design(kmax=3, alpha=0.025, type_of_design="OF")
>>> [round(c, 7) for c in d.critical_values]
[3.4710914, 2.4544323, 2.0040356]
>>> c = design_characteristics(d, beta=0.2)
>>> round(c["inflation_factor"], 6)
1.017406
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from biolake.errors import InputError, check_param
from biolake.stats.groupseq import (
    FUTILITY_BOUND_DEFAULT,
    LastLookSearch,
    bisection,
    brent_zero,
    group_sequential_probabilities,
    one_minus_pnorm,
    one_minus_qnorm,
    r_uniroot,
)

__all__ = [
    "DESIGN_COLUMNS",
    "SUMMARY_COLUMNS",
    "TYPES_OF_BETA_SPENDING",
    "TYPES_OF_DESIGN",
    "GroupSequentialDesign",
    "design",
    "design_characteristics",
    "design_job",
    "spending",
]

TYPES_OF_DESIGN = ("OF", "P", "asOF", "asP", "asKD", "asHSD")
TYPES_OF_BETA_SPENDING = ("bsOF", "bsP", "bsKD", "bsHSD")
DESIGN_COLUMNS = ("look", "information_rate", "critical_value", "nominal_alpha", "cumulative_alpha_spent")
SUMMARY_COLUMNS = ("inflation_factor", "expected_n_h0", "expected_n_h01", "expected_n_h1")
_TOLERANCE = 1e-8
_MAX_KMAX = 20


@dataclass(frozen=True)
class GroupSequentialDesign:
    """A group sequential design (rpact's ``TrialDesignGroupSequential``).

    ``critical_values`` are on the z scale (``inf`` where rpact shows ``Inf``: at or above
    7.5); ``nominal_alpha`` is rpact's ``stageLevels`` (1 − Φ(c_k), one-sided also when
    ``sided`` is 2); ``alpha_spent`` is cumulative (two-sided total when ``sided`` is 2).
    With β spending, ``futility_bounds`` (K − 1, z scale) and the cumulative ``beta_spent``
    (K) are set.
    """

    kmax: int
    alpha: float
    sided: int
    type_of_design: str
    gamma: float | None
    information_rates: tuple[float, ...]
    critical_values: tuple[float, ...]
    nominal_alpha: tuple[float, ...]
    alpha_spent: tuple[float, ...]
    beta: float = 0.2
    type_beta_spending: str | None = None
    gamma_b: float | None = None
    binding_futility: bool = False
    futility_bounds: tuple[float, ...] | None = None
    beta_spent: tuple[float, ...] | None = None

    def table(self) -> pd.DataFrame:
        """One row per look: look information_rate critical_value nominal_alpha cumulative_alpha_spent.

        With β spending also ``futility_bound`` (empty at the last look) and ``cumulative_beta_spent``.
        """
        table = pd.DataFrame(
            {
                "look": np.arange(1, self.kmax + 1, dtype=np.int64),
                "information_rate": np.array(self.information_rates, dtype=float),
                "critical_value": np.array(self.critical_values, dtype=float),
                "nominal_alpha": np.array(self.nominal_alpha, dtype=float),
                "cumulative_alpha_spent": np.array(self.alpha_spent, dtype=float),
            }
        )
        if self.futility_bounds is not None and self.beta_spent is not None:
            table["futility_bound"] = np.append(np.array(self.futility_bounds, dtype=float), np.nan)
            table["cumulative_beta_spent"] = np.array(self.beta_spent, dtype=float)
        return table


def spending(type_of_design: str, alpha: float, t: float, *, sided: int = 1, gamma: float | None = None) -> float:
    """The cumulative α (or β, for ``bs…``) spent at information rate ``t`` by a spending function (as rpact).

    ``bsOF`` is 2(1 − Φ(z_{β/2}/√t)) whatever ``sided``; the other ``bs…`` are the ``as…`` functions.
    """
    if type_of_design == "bsOF":
        return 2 * one_minus_pnorm(one_minus_qnorm(alpha / 2) / math.sqrt(t))
    if type_of_design in TYPES_OF_BETA_SPENDING:
        type_of_design = "as" + type_of_design[2:]
    if type_of_design == "asP":
        return alpha * math.log(1 + (math.e - 1) * t)
    if type_of_design == "asOF":
        return 2 * sided * one_minus_pnorm(one_minus_qnorm(alpha / (2 * sided)) / math.sqrt(t))
    if type_of_design == "asKD":
        return alpha * t ** float(gamma)  # type: ignore[arg-type]
    if type_of_design == "asHSD":
        g = float(gamma)  # type: ignore[arg-type]
        if g == 0:
            return alpha * t
        return alpha * (1 - math.exp(-g * t)) / (1 - math.exp(-g))
    raise ValueError(f"{type_of_design} is not an alpha spending design")


def _is_real(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _check_design(
    function: str,
    kmax: Any,
    alpha: Any,
    sided: Any,
    type_of_design: Any,
    gamma: Any,
    information_rates: Any,
) -> tuple[int, float, int, str, float | None, np.ndarray]:
    check_param(
        function,
        "kmax",
        kmax,
        isinstance(kmax, int | np.integer) and not isinstance(kmax, bool) and 1 <= kmax <= _MAX_KMAX,
        f"an integer from 1 to {_MAX_KMAX}",
    )
    check_param(function, "alpha", alpha, _is_real(alpha) and 0 < alpha < 1, "a number in (0, 1)")
    check_param(function, "sided", sided, sided in (1, 2) and not isinstance(sided, bool), "1 or 2")
    check_param(
        function,
        "type_of_design",
        type_of_design,
        type_of_design in TYPES_OF_DESIGN,
        "one of " + ", ".join(TYPES_OF_DESIGN),
    )
    if type_of_design == "asKD":
        check_param(function, "gamma", gamma, _is_real(gamma) and 0.4 <= gamma <= 8, "a number in [0.4, 8] for asKD")
    elif type_of_design == "asHSD":
        check_param(function, "gamma", gamma, _is_real(gamma) and -10 <= gamma <= 5, "a number in [-10, 5] for asHSD")
    else:
        check_param(function, "gamma", gamma, gamma is None, f"not given for {type_of_design}")
    if information_rates is None:
        rates = np.arange(1, kmax + 1) / kmax
    else:
        try:
            rates = np.asarray(information_rates, dtype=float).ravel()
        except (TypeError, ValueError):
            rates = np.array([np.nan])
        ok = (
            len(rates) == kmax
            and bool(np.all(np.isfinite(rates)))
            and bool(np.all(np.diff(rates) > 0))
            and rates[0] > 0
            and rates[-1] == 1
        )
        check_param(
            function,
            "information_rates",
            information_rates,
            ok,
            f"{kmax} increasing numbers in (0, 1] ending with 1",
        )
    return int(kmax), float(alpha), int(sided), str(type_of_design), None if gamma is None else float(gamma), rates


def _decision(critical: np.ndarray, sided: int) -> np.ndarray:
    if sided == 1:
        return np.vstack([np.full(len(critical), FUTILITY_BOUND_DEFAULT), critical])
    return np.vstack([-critical, critical])


def _size(probs: np.ndarray, sided: int) -> float:
    """Total probability of crossing the efficacy bound(s) (rpact's getZeroApproximation + α)."""
    if sided == 1:
        return float(np.sum(probs[2] - probs[1]))
    return float(np.sum(probs[2] - probs[1] + probs[0]))


def _wang_tsiatis(rates: np.ndarray, alpha: float, sided: int, delta: float) -> np.ndarray:
    powers = rates ** (delta - 0.5)

    def f(scale: float) -> float:
        return _size(group_sequential_probabilities(_decision(scale * powers, sided), rates), sided) - alpha

    scale = brent_zero(f, 0.0, 8.0, _TOLERANCE)
    return scale * powers


def _critical_value(
    k: int,
    critical: np.ndarray,
    rates: np.ndarray,
    alpha: float,
    sided: int,
    kind: str,
    gamma: float | None,
    futility: np.ndarray | None,
) -> float:
    """rpact's getCriticalValue: look k's bound spending α(t_k) given the earlier looks (and binding futility)."""
    target = spending(kind, alpha, float(rates[k]), sided=sided, gamma=gamma)
    if k == 0:
        return one_minus_qnorm(target / sided)
    sub = rates[: k + 1]
    trial = critical[: k + 1].copy()
    decision = _decision(trial, sided)
    if futility is not None:
        lower = futility[: k + 1].copy()
        lower[-1] = FUTILITY_BOUND_DEFAULT  # only affects P(Z_k below it), which is not used
        decision[0] = np.where(np.isnan(lower), FUTILITY_BOUND_DEFAULT, lower)

    search = LastLookSearch(decision, sub)
    last = decision[:, -1].copy()

    def f(c: float) -> float:
        last[1] = c
        if sided == 2:
            last[0] = -c
        return _size(search(last), sided) - target

    return bisection(f, 0.0, 8.0, _TOLERANCE, strict=False)


def _alpha_spending(rates: np.ndarray, alpha: float, sided: int, kind: str, gamma: float | None) -> np.ndarray:
    critical = np.full(len(rates), np.nan)
    for k in range(len(rates)):
        critical[k] = _critical_value(k, critical, rates, alpha, sided, kind, gamma, None)
    return critical


def _futility_bound(
    k: int, futility: np.ndarray, critical: np.ndarray, rates: np.ndarray, beta_spending: np.ndarray, shift: float
) -> float:
    """rpact's getFutilityBoundOneSided: look k's futility bound spending β(t_k) under drift ``shift``."""
    if k == 0:
        p = float(beta_spending[0])
        return float(ndtri(p if p > 0 else 1e-100)) + math.sqrt(rates[0]) * shift
    sub = rates[: k + 1]
    drift = np.sqrt(sub) * shift
    decision = np.vstack([futility[: k + 1] - drift, critical[: k + 1] - drift])
    target = float(beta_spending[k])

    search = LastLookSearch(decision, sub, lower_only=True)
    last = decision[:, -1].copy()

    def f(bound: float) -> float:
        last[0] = bound - drift[-1]
        return target - float(np.sum(search(last)))

    return bisection(f, -6.0, 5.0, _TOLERANCE, strict=False)


def _beta_spending(
    rates: np.ndarray,
    critical: np.ndarray,
    *,
    alpha: float,
    kind: str,
    gamma: float | None,
    beta: float,
    beta_kind: str,
    gamma_b: float | None,
    binding: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rpact's getDesignGroupSequentialBetaSpendingOneSidedCpp: (critical values, futility bounds, β spent)."""
    kmax = len(rates)
    critical = critical.copy()
    spent = np.array([spending(beta_kind, beta, float(t), sided=1, gamma=gamma_b) for t in rates])
    futility = np.full(kmax, np.nan)

    def last_futility_gap(shift: float) -> float:
        # as rpact, the bounds kept are those of the last shift evaluated (not always the root returned)
        for k in range(kmax):
            futility[k] = _futility_bound(k, futility, critical, rates, spent, shift)
        return float(futility[-1] - critical[-1])

    if not binding:
        shift = brent_zero(last_futility_gap, -4.0, 10.0, _TOLERANCE)
    else:

        def gap(x: float) -> float:
            for k in range(kmax):
                critical[k] = _critical_value(k, critical, rates, alpha, 1, kind, gamma, futility)
                futility[k] = _futility_bound(k, futility, critical, rates, spent, x)
            return float(critical[-1] - futility[-1])

        shift = bisection(gap, -4.0, 10.0, _TOLERANCE)
    if math.isnan(shift) or np.isnan(futility).any():
        raise InputError("no futility bounds spend the β of the beta spending function for this design")
    drift = np.sqrt(rates) * shift
    probs = group_sequential_probabilities(np.vstack([futility - drift, critical - drift]), rates)
    return critical, futility[:-1], np.cumsum(probs[0])


def design(
    *,
    kmax: int = 3,
    alpha: float = 0.025,
    sided: int = 1,
    type_of_design: str = "OF",
    gamma: float | None = None,
    information_rates: Any = None,
    beta: float = 0.2,
    type_beta_spending: str | None = None,
    gamma_b: float | None = None,
    binding_futility: bool = False,
) -> GroupSequentialDesign:
    """A group sequential design's boundaries, as rpact's ``getDesignGroupSequential``.

    Parameters
    ----------
    kmax
        Number of looks K (1 to 20).
    alpha
        Total type I error (two-sided total when ``sided`` is 2).
    sided
        1 (one-sided test, upper boundary) or 2 (symmetric two-sided boundaries).
    type_of_design
        ``OF``, ``P``, ``asOF``, ``asP``, ``asKD`` or ``asHSD`` (rpact's names).
    gamma
        The parameter γ of ``asKD`` (in [0.4, 8]) and ``asHSD`` (in [−10, 5]); else not given.
    information_rates
        K increasing information rates ending with 1; default equally spaced (k/K).
    beta
        Type II error: of the β spending (and the default of :func:`design_characteristics`).
    type_beta_spending
        ``bsOF``, ``bsP``, ``bsKD`` or ``bsHSD`` for futility bounds by β spending (one-sided
        alpha-spending designs only); None for no futility bounds.
    gamma_b
        The parameter γ of ``bsKD`` (in [0.4, 8]) and ``bsHSD`` (in [−10, 5]).
    binding_futility
        Whether the futility bounds are binding (the critical values then account for them).

    Returns
    -------
    GroupSequentialDesign
        Use ``.table()`` for the per-look table.

    Examples
    --------
    >>> d = design(kmax=2, alpha=0.025, type_of_design="asHSD", gamma=-4)
    >>> round(d.critical_values[1], 4)
    1.9811
    """
    kmax, alpha, sided, type_of_design, gamma, rates = _check_design(
        "design", kmax, alpha, sided, type_of_design, gamma, information_rates
    )
    f = "design"
    check_param(f, "beta", beta, _is_real(beta) and 0 < beta < 1 - alpha, "a number in (0, 1 − alpha)")
    check_param(
        f,
        "type_beta_spending",
        type_beta_spending,
        type_beta_spending is None or type_beta_spending in TYPES_OF_BETA_SPENDING,
        "None or one of " + ", ".join(TYPES_OF_BETA_SPENDING),
    )
    check_param(f, "binding_futility", binding_futility, isinstance(binding_futility, bool), "True or False")
    if type_beta_spending is not None:
        check_param(
            f,
            "type_beta_spending",
            type_beta_spending,
            type_of_design.startswith("as") and sided == 1 and kmax > 1,
            "None unless the design is a one-sided alpha-spending design with kmax > 1",
        )
    if type_beta_spending == "bsKD":
        check_param(f, "gamma_b", gamma_b, _is_real(gamma_b) and 0.4 <= gamma_b <= 8, "a number in [0.4, 8] for bsKD")
    elif type_beta_spending == "bsHSD":
        check_param(f, "gamma_b", gamma_b, _is_real(gamma_b) and -10 <= gamma_b <= 5, "a number in [-10, 5] for bsHSD")
    else:
        check_param(f, "gamma_b", gamma_b, gamma_b is None, "not given unless type_beta_spending is bsKD or bsHSD")
    check_param(
        f,
        "binding_futility",
        binding_futility,
        not binding_futility or type_beta_spending is not None,
        "False without type_beta_spending",
    )
    futility = beta_spent = None
    if kmax == 1:
        critical = np.array([one_minus_qnorm(alpha / sided)])
        spent = np.array([alpha])
    else:
        if type_of_design in ("OF", "P"):
            critical = _wang_tsiatis(rates, alpha, sided, 0.0 if type_of_design == "OF" else 0.5)
        else:
            critical = _alpha_spending(rates, alpha, sided, type_of_design, gamma)
        probs = group_sequential_probabilities(_decision(critical, sided), rates)
        step = probs[2] - probs[1] + (probs[0] if sided == 2 else 0.0)
        spent = np.cumsum(step)
        spent[-1] = math.floor(spent[-1] * 1e8) / 1e8
        if not abs(spent[-1] - alpha) <= 1e-5:
            raise InputError(
                f"the critical values of this {type_of_design} design cannot be calculated "
                f"(alpha spent at the last look: {spent[-1]:.6g}, alpha: {alpha:g})"
            )
        if type_beta_spending is not None:
            # rpact keeps the α spent of the alpha-spending bounds (the same spending function values)
            try:
                critical, futility, beta_spent = _beta_spending(
                    rates,
                    critical,
                    alpha=alpha,
                    kind=type_of_design,
                    gamma=gamma,
                    beta=float(beta),
                    beta_kind=type_beta_spending,
                    gamma_b=None if gamma_b is None else float(gamma_b),
                    binding=binding_futility,
                )
            except ArithmeticError:
                raise InputError(
                    "no futility bounds spend the β of the beta spending function for this design"
                ) from None
            futility = np.maximum(futility, FUTILITY_BOUND_DEFAULT)
            if np.any(futility > critical[:-1] - 0.01):
                raise InputError(
                    "the futility bounds of this beta spending design reach the critical values "
                    "(rpact: 'futilityBounds' too extreme)"
                )
    nominal = 1 - ndtr(critical)
    shown = np.where(critical >= 7.5, np.inf, critical)
    return GroupSequentialDesign(
        kmax=kmax,
        alpha=alpha,
        sided=sided,
        type_of_design=type_of_design,
        gamma=gamma,
        information_rates=tuple(float(x) for x in rates),
        critical_values=tuple(float(x) for x in shown),
        nominal_alpha=tuple(float(x) for x in nominal),
        alpha_spent=tuple(float(x) for x in spent),
        beta=float(beta),
        type_beta_spending=type_beta_spending,
        gamma_b=None if gamma_b is None else float(gamma_b),
        binding_futility=binding_futility,
        futility_bounds=None if futility is None else tuple(float(x) for x in futility),
        beta_spent=None if beta_spent is None else tuple(float(x) for x in beta_spent),
    )


def fixed_sample_size(alpha: float, beta: float, sided: int) -> float:
    """Information of the fixed design for a unit effect: (z_{α/sided} + z_β)² (rpact, twoSidedPower = FALSE)."""
    return (one_minus_qnorm(alpha / sided) + one_minus_qnorm(beta)) ** 2


def design_characteristics(d: GroupSequentialDesign, *, beta: float | None = None) -> dict[str, Any]:
    """rpact's ``getDesignCharacteristics``: inflation factor and expected sample sizes.

    ``beta`` defaults to the design's (rpact uses the design's ``beta``); futility bounds of
    a β-spending design stop the trial early in the expected sample sizes.

    Returns a dict with ``inflation_factor`` (maximum information / fixed design's),
    ``expected_n_h0``, ``expected_n_h01``, ``expected_n_h1`` (expected information under
    θ = 0, θ/2 and θ, relative to the fixed design), ``n_fixed`` ((z_α + z_β)², the fixed
    design's information for a unit effect), ``shift`` (the maximum information for a unit
    effect), ``power`` (cumulative power by look) and ``rejection_probabilities`` (by look).
    """
    beta = d.beta if beta is None else beta
    check_param(
        "design_characteristics", "beta", beta, _is_real(beta) and 0 < beta < 1 - d.alpha, "a number in (0, 1 − alpha)"
    )
    n_fixed = fixed_sample_size(d.alpha, beta, d.sided)
    if d.kmax == 1:
        return {
            "inflation_factor": 1.0,
            "expected_n_h0": 1.0,
            "expected_n_h01": 1.0,
            "expected_n_h1": 1.0,
            "n_fixed": n_fixed,
            "shift": n_fixed,
            "power": [1 - beta],
            "rejection_probabilities": [1 - beta],
        }
    rates = np.array(d.information_rates)
    critical = np.minimum(np.array(d.critical_values), 7.5)
    kmax = d.kmax
    futility = np.full(kmax - 1, FUTILITY_BOUND_DEFAULT)
    if d.futility_bounds is not None:
        futility = np.array(d.futility_bounds)

    def decision(drift: float) -> np.ndarray:
        shift = np.sqrt(drift * rates)
        if d.sided == 2:
            return np.vstack([-critical - shift, critical - shift])
        lower = np.where(futility <= FUTILITY_BOUND_DEFAULT, FUTILITY_BOUND_DEFAULT, futility - shift[:-1])
        return np.vstack([np.append(lower, FUTILITY_BOUND_DEFAULT), critical - shift])

    def power_gap(drift: float) -> float:
        probs = group_sequential_probabilities(decision(drift), rates)
        return float(np.sum(probs[2] - probs[1])) - 1 + beta

    upper = 4 * (one_minus_qnorm(d.alpha / d.sided) + one_minus_qnorm(beta)) ** 2
    try:
        shift = r_uniroot(power_gap, 0.0, upper, _TOLERANCE)
    except ArithmeticError:
        raise InputError(
            "the inflation factor of this design cannot be calculated "
            f"(no maximum information gives power {1 - beta:g})"
        ) from None

    def asn(probs: np.ndarray) -> float:
        stop = probs[2, : kmax - 1] - probs[1, : kmax - 1] + probs[0, : kmax - 1]
        return (shift - float(np.sum(stop * (rates[-1] - rates[: kmax - 1]) * shift))) / n_fixed

    probs1 = group_sequential_probabilities(decision(shift), rates)
    probs0 = group_sequential_probabilities(decision(0.0), rates)
    probs01 = group_sequential_probabilities(decision(shift / 4), rates)  # √(shift·t)/2
    rejection = probs1[2] - probs1[1]
    inflation = shift / n_fixed
    if not (1 - 1e-5 <= inflation <= 4):
        raise InputError("the inflation factor of this design cannot be calculated")
    return {
        "inflation_factor": inflation,
        "expected_n_h0": asn(probs0),
        "expected_n_h01": asn(probs01),
        "expected_n_h1": asn(probs1),
        "n_fixed": n_fixed,
        "shift": shift,
        "power": [float(x) for x in np.cumsum(rejection)],
        "rejection_probabilities": [float(x) for x in rejection],
    }


def design_job(
    lake: Any,
    *,
    out: str | os.PathLike[str],
    kmax: int = 3,
    alpha: float = 0.025,
    sided: int = 1,
    type_of_design: str = "OF",
    gamma: float | None = None,
    information_rates: Any = None,
    beta: float = 0.2,
    type_beta_spending: str | None = None,
    gamma_b: float | None = None,
    binding_futility: bool = False,
    summary: str | os.PathLike[str] | None = None,
) -> tuple[str, str, GroupSequentialDesign, dict[str, Any]]:
    """:func:`design` as a lake run: the per-look table to ``out`` (and the lake).

    The options are those of :func:`design`. The design characteristics
    (:func:`design_characteristics` with ``beta``) go into the
    run record's parameters (``characteristics``), into the result dataset's attributes
    and, when ``summary`` is given, into that file as one row with columns
    ``inflation_factor expected_n_h0 expected_n_h01 expected_n_h1``.

    Returns the run id, the result dataset's name, the design and its characteristics.
    """
    d = design(
        kmax=kmax,
        alpha=alpha,
        sided=sided,
        type_of_design=type_of_design,
        gamma=gamma,
        information_rates=information_rates,
        beta=beta,
        type_beta_spending=type_beta_spending,
        gamma_b=gamma_b,
        binding_futility=binding_futility,
    )
    chars = design_characteristics(d, beta=beta)
    summary_row = {c: chars[c] for c in SUMMARY_COLUMNS}
    params: dict[str, Any] = {
        "kmax": d.kmax,
        "alpha": d.alpha,
        "sided": d.sided,
        "type_of_design": d.type_of_design,
        "gamma": d.gamma,
        "information_rates": list(d.information_rates),
        "beta": beta,
        "type_beta_spending": d.type_beta_spending,
        "gamma_b": d.gamma_b,
        "binding_futility": d.binding_futility,
        "out": str(out),
        "summary": None if summary is None else str(summary),
        "characteristics": {**summary_row, "n_fixed": chars["n_fixed"], "power": chars["power"]},
    }
    with lake.run("discovery trial design", params=params, inputs=[]) as run:
        name = run.result(d.table(), out)
        run.annotate(name, attrs={"characteristics": params["characteristics"], "design": params["type_of_design"]})
        if summary is not None:
            run.result(pd.DataFrame([summary_row]), summary)
    return run.id, name, d, chars
