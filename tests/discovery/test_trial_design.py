"""Group sequential designs against R ``rpact`` 3.3.4 (Debian r-cran-rpact).

The reference (``tests/data/discovery/trials/designs.csv`` and ``boundaries.csv``) comes
from ``tests/data/reference/discovery/make_trials_reference.R``: 576 designs, K = 2…5;
OF, P, asOF, asP, asHSD (γ −4…1), asKD (γ 0.5…3); one-sided α 0.025 and 0.05 and
two-sided α 0.05; equal and two sets of unequal information rates; β 0.1 or 0.2 for the
characteristics. Tolerances: critical values 1e-9 absolute on the z scale (the issue asks
1e-6), nominal α 1e-9 relative, cumulative α spent 1e-6 relative (rpact floors the last
look's α spent to 1e-8, so a total within 1e-16 of α floors either to α or α − 1e-8),
inflation factor and expected sample sizes 1e-9 relative.

``designs_futility.csv``/``boundaries_futility.csv``: 256 one-sided alpha-spending designs
(asOF, asP, asKD γ 2, asHSD γ −2; K = 2…5; equal and unequal rates; α 0.025, β 0.1/0.2)
with futility bounds by β spending (bsOF, bsP, bsKD γ 2, bsHSD γ −2), binding and
non-binding; the same tolerances apply to futility bounds and cumulative β spent.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from biolake.discovery.trials import design, design_characteristics, spending
from biolake.errors import InputError
from biolake.stats.groupseq import group_sequential_probabilities

DATA = Path(__file__).resolve().parents[1] / "data" / "discovery" / "trials"
CHARACTERISTICS = ["inflation_factor", "expected_n_h0", "expected_n_h01", "expected_n_h1"]


@pytest.fixture(scope="module")
def grid() -> tuple[pd.DataFrame, pd.DataFrame]:
    """biolake's boundaries and characteristics for every design of the reference, merged with rpact's."""
    designs = pd.read_csv(DATA / "designs.csv", keep_default_na=False)
    bounds = pd.read_csv(DATA / "boundaries.csv")
    tables, chars = [], []
    for r in designs.itertuples():
        rates = None if r.rates == "" else [float(x) for x in str(r.rates).split(";")]
        gamma = None if r.gamma == "" else float(r.gamma)
        d = design(
            kmax=int(r.kmax),
            alpha=float(r.alpha),
            sided=int(r.sided),
            type_of_design=str(r.type),
            gamma=gamma,
            information_rates=rates,
        )
        tables.append(d.table().assign(id=r.id))
        c = design_characteristics(d, beta=float(r.beta))
        chars.append({"id": r.id, **{k: c[k] for k in CHARACTERISTICS}})
    looks = pd.concat(tables).merge(bounds, on=["id", "look"], how="outer", validate="1:1")
    assert looks.notna().all().all()
    return looks, pd.DataFrame(chars).merge(designs, on="id", suffixes=("", "_r"), validate="1:1")


@pytest.fixture(scope="module")
def futility_grid() -> tuple[pd.DataFrame, pd.DataFrame]:
    """biolake's beta-spending designs of the reference, merged with rpact's."""
    designs = pd.read_csv(DATA / "designs_futility.csv", keep_default_na=False)
    assert (designs["status"] == "ok").all()
    bounds = pd.read_csv(DATA / "boundaries_futility.csv")
    tables, chars = [], []
    for r in designs.itertuples():
        d = design(
            kmax=int(r.kmax),
            alpha=0.025,
            type_of_design=str(r.type),
            gamma=None if r.gamma == "" else float(r.gamma),
            information_rates=None if r.rates == "" else [float(x) for x in str(r.rates).split(";")],
            beta=float(r.beta),
            type_beta_spending=str(r.beta_spending),
            gamma_b=None if r.gamma_b == "" else float(r.gamma_b),
            binding_futility=bool(r.binding),
        )
        tables.append(d.table().assign(id=r.id))
        c = design_characteristics(d)
        chars.append({"id": r.id, **{k: c[k] for k in CHARACTERISTICS}})
    looks = pd.concat(tables).merge(bounds, on=["id", "look"], how="outer", validate="1:1")
    merged = pd.DataFrame(chars).merge(designs, on="id", suffixes=("", "_r"), validate="1:1")
    return looks, merged


def test_design__reference_grid_size(grid: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """R: the loops of make_trials_reference.R give 576 designs and 2016 looks."""
    looks, chars = grid
    assert len(chars) == 576 and len(looks) == 2016
    assert set(chars["type"]) == {"OF", "P", "asOF", "asP", "asHSD", "asKD"}


def test_design__critical_values_match_rpact(grid: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """R: ``getDesignGroupSequential(kMax, alpha, sided, typeOfDesign, gammaA, informationRates)$criticalValues``."""
    looks, _ = grid
    np.testing.assert_allclose(looks["critical_value_x"], looks["critical_value_y"], rtol=0, atol=1e-9)


def test_design__nominal_alpha_matches_rpact_stage_levels(grid: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """R: ``getDesignGroupSequential(...)$stageLevels`` (1 - pnorm(criticalValues))."""
    looks, _ = grid
    np.testing.assert_allclose(looks["nominal_alpha"], looks["stage_level"], rtol=1e-9, atol=0)


def test_design__cumulative_alpha_spent_matches_rpact(grid: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """R: ``getDesignGroupSequential(...)$alphaSpent``."""
    looks, _ = grid
    np.testing.assert_allclose(looks["cumulative_alpha_spent"], looks["alpha_spent"], rtol=1e-6, atol=0)
    before_last = looks.groupby("id")["look"].transform("max") != looks["look"]
    sub = looks[before_last]
    np.testing.assert_allclose(sub["cumulative_alpha_spent"], sub["alpha_spent"], rtol=1e-9, atol=0)


def test_design_characteristics__match_rpact(grid: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """R: ``getDesignCharacteristics(getDesignGroupSequential(..., beta = beta))``: ``inflationFactor``,
    ``averageSampleNumber0``, ``averageSampleNumber01``, ``averageSampleNumber1``."""
    _, chars = grid
    for name in CHARACTERISTICS:
        np.testing.assert_allclose(chars[name], chars[f"{name}_r"], rtol=1e-9, atol=0, err_msg=name)


def test_design__futility_grid_size(futility_grid: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """R: the beta-spending loops of make_trials_reference.R: 256 designs, half binding."""
    looks, chars = futility_grid
    assert len(chars) == 256 and len(looks) == 896
    assert chars["binding"].value_counts().to_dict() == {False: 128, True: 128}


def test_design__beta_spending_bounds_match_rpact(futility_grid: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """R: ``getDesignGroupSequential(kMax, alpha = 0.025, typeOfDesign, gammaA, beta, typeBetaSpending, gammaB,
    bindingFutility, informationRates)``: ``criticalValues``, ``futilityBounds``, ``stageLevels``,
    ``alphaSpent``, ``betaSpent``."""
    looks, _ = futility_grid
    np.testing.assert_allclose(looks["critical_value_x"], looks["critical_value_y"], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(looks["futility_bound_x"].isna(), looks["futility_bound_y"].isna())
    ok = looks["futility_bound_y"].notna()
    np.testing.assert_allclose(looks["futility_bound_x"][ok], looks["futility_bound_y"][ok], rtol=0, atol=1e-9)
    np.testing.assert_allclose(looks["nominal_alpha"], looks["stage_level"], rtol=1e-9, atol=0)
    np.testing.assert_allclose(looks["cumulative_alpha_spent"], looks["alpha_spent"], rtol=1e-6, atol=0)
    np.testing.assert_allclose(looks["cumulative_beta_spent"], looks["beta_spent"], rtol=1e-9, atol=0)


def test_design_characteristics__beta_spending_match_rpact(futility_grid: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """R: ``getDesignCharacteristics(getDesignGroupSequential(..., typeBetaSpending, bindingFutility))``."""
    _, chars = futility_grid
    for name in CHARACTERISTICS:
        np.testing.assert_allclose(chars[name], chars[f"{name}_r"].astype(float), rtol=1e-9, atol=0, err_msg=name)


def test_design__binding_futility_lowers_critical_values() -> None:
    """R: ``getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF", typeBetaSpending = "bsOF",
    bindingFutility = TRUE)$criticalValues`` = 3.7103029, 2.5111084, 1.9309157 (non-binding: 1.9930475)."""
    nonbinding = design(kmax=3, type_of_design="asOF", type_beta_spending="bsOF")
    binding = design(kmax=3, type_of_design="asOF", type_beta_spending="bsOF", binding_futility=True)
    np.testing.assert_allclose(binding.critical_values, [3.7103029, 2.5111084, 1.9309157], atol=5e-8)
    assert nonbinding.critical_values[2] == pytest.approx(1.9930475, abs=5e-8)
    assert binding.futility_bounds == pytest.approx((-0.270005564, 1.122484607), abs=1e-9)
    assert list(binding.table().columns)[-2:] == ["futility_bound", "cumulative_beta_spent"]


def test_design__rpact_published_obrien_fleming_check() -> None:
    """R: ``getDesignGroupSequential(kMax = 3, alpha = 0.025, typeOfDesign = "OF")$criticalValues``
    = 3.4710914, 2.4544323, 2.0040356 (rpact's documented example)."""
    d = design(kmax=3, alpha=0.025, sided=1, type_of_design="OF")
    np.testing.assert_allclose(d.critical_values, [3.4710914, 2.4544323, 2.0040356], atol=5e-8)
    assert d.information_rates == pytest.approx((1 / 3, 2 / 3, 1))


def test_design_characteristics__obrien_fleming_k3() -> None:
    """R: ``getDesignCharacteristics(getDesignGroupSequential(kMax = 3))$inflationFactor`` = 1.017406224."""
    c = design_characteristics(design(kmax=3), beta=0.2)
    assert c["inflation_factor"] == pytest.approx(1.017406224, abs=1e-9)
    assert c["power"][-1] == pytest.approx(0.8, abs=1e-7)
    assert c["n_fixed"] == pytest.approx((stats.norm.isf(0.025) + stats.norm.isf(0.2)) ** 2)


def test_design__kmax_1_is_the_fixed_design() -> None:
    """R: ``getDesignGroupSequential(kMax = 1, alpha = 0.05, sided = 2)$criticalValues`` = qnorm(0.975)."""
    d = design(kmax=1, alpha=0.05, sided=2)
    assert d.critical_values[0] == pytest.approx(stats.norm.isf(0.025), abs=1e-12)
    assert d.alpha_spent == (0.05,)
    assert design_characteristics(d)["inflation_factor"] == 1.0


def test_design__table_columns() -> None:
    """R: ``as.data.frame(getDesignGroupSequential(kMax = 4, typeOfDesign = "asP"))`` (one row per stage)."""
    t = design(kmax=4, type_of_design="asP").table()
    assert list(t.columns) == ["look", "information_rate", "critical_value", "nominal_alpha", "cumulative_alpha_spent"]
    assert t["look"].tolist() == [1, 2, 3, 4]
    assert t["cumulative_alpha_spent"].is_monotonic_increasing


@pytest.mark.parametrize(
    ("kind", "gamma", "expected"),
    [
        ("asP", None, 0.025 * math.log(1 + (math.e - 1) * 0.5)),
        ("asOF", None, 2 * stats.norm.sf(stats.norm.isf(0.0125) / math.sqrt(0.5))),
        ("asKD", 2.0, 0.025 * 0.25),
        ("asHSD", 0.0, 0.0125),
        ("asHSD", -4.0, 0.025 * (1 - math.exp(2)) / (1 - math.exp(4))),
    ],
)
def test_spending__lan_demets_functions(kind: str, gamma: float | None, expected: float) -> None:
    """R (rpact's C++ getSpendingValueCpp): alpha spent at t = 0.5 with alpha = 0.025, one-sided."""
    assert spending(kind, 0.025, 0.5, sided=1, gamma=gamma) == pytest.approx(expected, rel=1e-12)
    assert spending(kind, 0.025, 1.0, sided=1, gamma=gamma) == pytest.approx(0.025, rel=1e-12)


def test_group_sequential_probabilities__bivariate_normal() -> None:
    """R: ``getGroupSequentialProbabilities(matrix(c(-6, -6, 2.5, 2.0), 2, byrow = TRUE), c(0.4, 1))``;
    the third row at look 2 minus the second is P(Z1 < 2.5, Z2 >= 2.0), checked with the
    bivariate normal of correlation sqrt(0.4)."""
    probs = group_sequential_probabilities(np.array([[-6.0, -6.0], [2.5, 2.0]]), np.array([0.4, 1.0]))
    rho = math.sqrt(0.4)
    both_below = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([2.5, 2.0])
    assert probs[1, 0] == pytest.approx(stats.norm.cdf(2.5), rel=1e-14)
    assert probs[2, 1] - probs[1, 1] == pytest.approx(stats.norm.cdf(2.5) - both_below, abs=2e-6)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kmax": 0}, "The 'kmax' parameter of design must be an integer from 1 to 20; got 0"),
        ({"alpha": 1.5}, "The 'alpha' parameter of design must be a number in (0, 1); got 1.5"),
        ({"sided": 3}, "The 'sided' parameter of design must be 1 or 2; got 3"),
        ({"type_of_design": "WT"}, "must be one of OF, P, asOF, asP, asKD, asHSD; got 'WT'"),
        ({"type_of_design": "asKD"}, "must be a number in [0.4, 8] for asKD; got None"),
        ({"type_of_design": "asHSD", "gamma": 7}, "must be a number in [-10, 5] for asHSD; got 7"),
        ({"gamma": 1.0}, "The 'gamma' parameter of design must be not given for OF; got 1.0"),
        ({"information_rates": [0.5, 0.4, 1]}, "must be 3 increasing numbers in (0, 1] ending with 1"),
        ({"information_rates": [0.3, 1]}, "must be 3 increasing numbers in (0, 1] ending with 1"),
        ({"type_of_design": "asP", "type_beta_spending": "bsX"}, "must be None or one of bsOF, bsP, bsKD, bsHSD"),
        ({"type_beta_spending": "bsP"}, "None unless the design is a one-sided alpha-spending design"),
        ({"type_of_design": "asP", "sided": 2, "alpha": 0.05, "type_beta_spending": "bsP"}, "one-sided alpha-spending"),
        ({"type_of_design": "asP", "type_beta_spending": "bsKD"}, "must be a number in [0.4, 8] for bsKD; got None"),
        ({"type_of_design": "asP", "binding_futility": True}, "must be False without type_beta_spending"),
        ({"beta": 0.98}, "The 'beta' parameter of design must be a number in (0, 1 − alpha)"),
    ],
)
def test_design__bad_options(options: dict[str, object], message: str) -> None:
    """R: ``getDesignGroupSequential`` refuses these too (kMax, alpha, sided, typeOfDesign, gammaA bounds)."""
    with pytest.raises(InputError) as info:
        design(**options)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_design_characteristics__no_inflation_factor_is_input_error() -> None:
    """R: ``getDesignCharacteristics(getDesignGroupSequential(kMax = 3, alpha = 0.2, beta = 0.7,
    typeOfDesign = "asOF", typeBetaSpending = "bsOF"))`` stops: "inflation factor cannot be calculated"."""
    d = design(kmax=3, alpha=0.2, beta=0.7, type_of_design="asOF", type_beta_spending="bsOF")
    with pytest.raises(InputError, match="inflation factor of this design cannot be calculated"):
        design_characteristics(d)


def test_design_characteristics__bad_beta() -> None:
    """R: ``getDesignGroupSequential(beta = 1)`` fails (beta must be in (0, 1 - alpha))."""
    with pytest.raises(InputError, match="'beta' parameter of design_characteristics"):
        design_characteristics(design(kmax=2), beta=0.99)
