"""Rates, standardized rates and 2×2 measures against R epitools 0.5.10.1 / epiR 2.0.57 (R 4.2.2).

The reference outputs are made by ``tests/data/publichealth/rates/make_rates_reference.R``
(see the README there) and committed; these tests only read them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.publichealth.rates import rates, two_by_two
from biolake.stats.epitables import odds_ratio_midp, poisson_rate_ci

DATA = Path(__file__).resolve().parents[1] / "data" / "publichealth" / "rates"
RTOL = 1e-9


def _fleiss(method: str | None, **kw: object) -> pd.DataFrame:
    extra = (
        {} if method is None else {"age_col": "age_group", "standard": DATA / "fleiss_standard.csv", "method": method}
    )
    return rates(
        DATA / "fleiss_births.csv",
        count_col="count",
        population_col="population",
        by=["birth_order"],
        per=1,
        **extra,
        **kw,
    )


def test_rates__direct_matches_ageadjust_direct() -> None:
    """R: ``ageadjust.direct(count[, j], population[, j], stdpop = standard)`` (the help page's Fleiss 1981 data).

    Direct standardization with the Fay–Feuer gamma CI, at 95 % and 90 %.
    """
    ref = pd.read_csv(DATA / "fleiss_direct_reference.csv", dtype={"birth_order": str})
    got = _fleiss("direct")
    assert list(got.columns) == ["birth_order", "count", "population", "crude_rate", "adj_rate", "ci_lower", "ci_upper"]
    assert got["birth_order"].tolist() == ref["birth_order"].tolist()
    np.testing.assert_array_equal(got["count"], ref["count"])
    cols = ["crude_rate", "adj_rate", "ci_lower", "ci_upper"]
    np.testing.assert_allclose(got[cols], ref[cols], rtol=RTOL, atol=0)
    got90 = _fleiss("direct", conf_level=0.90)
    np.testing.assert_allclose(got90[["ci_lower", "ci_upper"]], ref[["ci_lower_90", "ci_upper_90"]], rtol=RTOL, atol=0)


def test_rates__direct_per_100000_recreates_fay_feuer_table_1() -> None:
    """Fay & Feuer (1997) Table 1 as printed by the help page: ``round(10^5 * birth.order1, 1)``."""
    got = rates(
        DATA / "fleiss_births.csv",
        count_col="count",
        population_col="population",
        by=["birth_order"],
        age_col="age_group",
        standard=DATA / "fleiss_standard.csv",
    )
    first = got.iloc[0][["crude_rate", "adj_rate", "ci_lower", "ci_upper"]].astype(float).round(1).tolist()
    assert first == [56.3, 92.3, 80.4, 105.8]


def test_rates__crude_matches_poisson_test() -> None:
    """R: ``poisson.test(x, pt)$conf.int`` (exact Garwood limits); ``epitools::pois.exact`` to its uniroot tolerance."""
    ref = pd.read_csv(DATA / "fleiss_crude_reference.csv", dtype={"birth_order": str})
    got = _fleiss(None)
    assert list(got.columns) == ["birth_order", "count", "population", "rate", "ci_lower", "ci_upper"]
    np.testing.assert_allclose(got[["rate", "ci_lower", "ci_upper"]], ref[["rate", "ci_lower", "ci_upper"]], rtol=RTOL)
    np.testing.assert_allclose(got[["ci_lower", "ci_upper"]], ref[["pois_exact_lower", "pois_exact_upper"]], rtol=1e-6)


def test_rates__indirect_matches_ageadjust_indirect() -> None:
    """R: ``ageadjust.indirect(count = dth40, pop = pop40, stdcount = dth60, stdpop = pop60)`` (Selvin 2004).

    ``smr_ci="log-normal"`` is epitools' interval; the default exact interval is
    ``poisson.test(sum(dth40), expected)$conf.int``.
    """
    ref = pd.read_csv(DATA / "selvin_reference.csv").iloc[0]
    kw = {
        "count_col": "deaths",
        "population_col": "population",
        "age_col": "age_group",
        "standard": DATA / "selvin_us1960_standard.csv",
        "method": "indirect",
        "per": 1,
    }
    lognormal = rates(DATA / "selvin_us1940.csv", smr_ci="log-normal", **kw).iloc[0]
    exact = rates(DATA / "selvin_us1940.csv", **kw).iloc[0]
    assert int(lognormal["observed"]) == int(ref["observed"])
    pairs = [
        (lognormal["expected"], ref["expected"]),
        (lognormal["smr"], ref["smr"]),
        (lognormal["smr_lower"], ref["smr_lower_lognormal"]),
        (lognormal["smr_upper"], ref["smr_upper_lognormal"]),
        (lognormal["crude_rate"], ref["crude_rate"]),
        (lognormal["adj_rate"], ref["ind_adj_rate"]),
        (lognormal["ci_lower"], ref["ind_lower_lognormal"]),
        (lognormal["ci_upper"], ref["ind_upper_lognormal"]),
        (exact["smr_lower"], ref["smr_lower_exact"]),
        (exact["smr_upper"], ref["smr_upper_exact"]),
    ]
    got, want = np.array(pairs, dtype=float).T
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0)


def test_rates__direct_selvin_matches_help_page() -> None:
    """R: ``ageadjust.direct(count = dth40, pop = pop40, stdpop = pop60)``."""
    ref = pd.read_csv(DATA / "selvin_reference.csv").iloc[0]
    got = rates(
        DATA / "selvin_us1940.csv",
        count_col="deaths",
        population_col="population",
        age_col="age_group",
        standard=DATA / "selvin_us1960_standard.csv",
        per=1,
    ).iloc[0]
    cols = ["crude_rate", "adj_rate", "ci_lower", "ci_upper"]
    np.testing.assert_allclose(got[cols].astype(float), ref[cols].astype(float), rtol=RTOL, atol=0)


def test_rates__standard_with_rates_equals_standard_with_counts(tmp_path: Path) -> None:
    """A standard given as rates (events per person) gives the same indirect result as one given as counts."""
    std = pd.read_csv(DATA / "selvin_us1960_standard.csv")
    std["rate"] = std["count"] / std["population"]
    path = tmp_path / "std.csv"
    std.drop(columns="count").to_csv(path, index=False)
    kw = {"count_col": "deaths", "population_col": "population", "age_col": "age_group", "method": "indirect"}
    a = rates(DATA / "selvin_us1940.csv", standard=DATA / "selvin_us1960_standard.csv", **kw)
    b = rates(DATA / "selvin_us1940.csv", standard=path, **kw)
    pd.testing.assert_frame_equal(a, b, rtol=1e-12)


def test_poisson_rate_ci__zero_count_hand_value() -> None:
    """0 events in 1000 person-years: lower 0, upper −log(0.025)/1000 (the exact limit for x = 0)."""
    rate, lo, hi = poisson_rate_ci(0, 1000.0)
    assert float(rate) == 0.0 and float(lo) == 0.0
    assert float(hi) == pytest.approx(-np.log(0.025) / 1000, rel=1e-12)


# --------------------------------------------------------------------------- 2x2 tables


def _oswego_reference() -> pd.DataFrame:
    return pd.read_csv(DATA / "oswego_2x2_reference.csv")


def test_two_by_two__matches_epitools_and_epir() -> None:
    """R (per food and per sex stratum of ``oswego``; ``tab`` = table(food, ill) with levels N, Y)::

        riskratio(tab, method = "wald"); oddsratio(tab, method = "wald")
        or.midp with uniroot(..., tol = 1e-13)      # oddsratio(tab)'s default method, tight roots
        epi.2by2(..., method = "cohort.count")$massoc.detail$ARisk.strata.wald / 100

    ``p``: epitools' ``chi.square`` for the Wald rows, ``midp.exact`` for the mid-p row.
    """
    ref = _oswego_reference()
    ref = ref[ref["method"] != "midp_epitools_uniroot"]
    foods = list(dict.fromkeys(ref["exposure"]))
    got = two_by_two(DATA / "oswego.csv", exposure=foods, outcome="ill", strata="sex")
    merged = ref.merge(got, on=["exposure", "stratum", "measure", "method"], suffixes=("_r", ""))
    assert len(merged) == len(ref) == 56  # 14 tables without empty cells x 4 measures
    for cell in "abcd":
        np.testing.assert_array_equal(merged[cell], merged[f"{cell}_r"])
    for col in ("estimate", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_r"], rtol=RTOL, atol=1e-15)
    has_p = merged["p_r"].notna()
    np.testing.assert_allclose(merged.loc[has_p, "p"], merged.loc[has_p, "p_r"], rtol=RTOL, atol=1e-14)


def test_odds_ratio_midp__within_epitools_uniroot_tolerance() -> None:
    """R: ``oddsratio(tab)$measure`` itself: agreement to uniroot's default tolerance only.

    ``uniroot``'s ``tol`` (eps^0.25 = 1.2e-4) is absolute on the odds ratio for the estimate
    and the lower limit, and on 1/OR for the upper limit (epitools solves for 1/UCL).
    """
    ref = _oswego_reference()
    ref = ref[ref["method"] == "midp_epitools_uniroot"]
    est, lo, hi, _ = odds_ratio_midp(ref["a"], ref["b"], ref["c"], ref["d"])
    got = np.column_stack([est, lo, hi])
    want = ref[["estimate", "ci_lower", "ci_upper"]].to_numpy()
    tol = 2 * np.finfo(float).eps ** 0.25
    assert np.max(np.abs(got[:, :2] - want[:, :2])) < tol
    assert np.max(np.abs(1 / got[:, 2] - 1 / want[:, 2])) < tol
    assert np.max(np.abs(got[:, 0] - want[:, 0])) > 1e-7  # epitools' own roots are not exact


def test_two_by_two__mantel_haenszel_matches_epir() -> None:
    """R: ``epi.2by2(tab3, method = "cohort.count")$massoc.detail`` (RR.mh.wald, OR.mh.wald, ARisk.mh.wald,
    wRR.homog, bOR.homog) and ``mantelhaen.test(tab3, correct = FALSE)$p.value``; oswego by sex.
    """
    ref = pd.read_csv(DATA.parent / "riskfactors" / "mh_reference.csv")
    ref = ref[ref["data"] == "oswego"]
    got = two_by_two(DATA / "oswego.csv", exposure=list(dict.fromkeys(ref["exposure"])), outcome="ill", strata="sex")
    got = got[got["stratum"] == "mantel-haenszel"]
    merged = ref.merge(got, on=["exposure", "measure"], suffixes=("_r", ""))
    assert len(merged) == 6
    for col in ("estimate", "ci_lower", "ci_upper", "p"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_r"], rtol=RTOL, atol=0)
    # homogeneity: Woolf is NaN in R too where a stratum has an empty cell
    np.testing.assert_allclose(merged["homogeneity_stat"], merged["homogeneity_stat_r"], rtol=RTOL, equal_nan=True)
    np.testing.assert_allclose(merged["homogeneity_p"], merged["homogeneity_p_r"], rtol=RTOL, equal_nan=True)


def test_two_by_two__hand_counts_with_count_column() -> None:
    """Aggregated cells (count column) give the same table as the expanded line list; RR = (8/10)/(2/10) = 4."""
    cells = pd.DataFrame({"e": [1, 1, 0, 0], "o": ["yes", "no", "yes", "no"], "n": [8, 2, 2, 8]})
    lines = cells.loc[cells.index.repeat(cells["n"])].drop(columns="n")
    a = two_by_two(cells, exposure="e", outcome="o", count_col="n")
    b = two_by_two(lines, exposure="e", outcome="o")
    pd.testing.assert_frame_equal(a, b)
    rr = a[(a["measure"] == "risk_ratio")].iloc[0]
    assert rr["estimate"] == pytest.approx(4.0, rel=1e-15)
    assert (rr["a"], rr["b"], rr["c"], rr["d"]) == (8, 2, 2, 8)
    assert a[a["measure"] == "odds_ratio"].iloc[0]["estimate"] == pytest.approx(16.0, rel=1e-15)
