"""Farrington (improved, Noufaily et al. 2013) against R ``surveillance::farringtonFlexible`` (1.20.3).

``tests/data/publichealth/farrington/make_farrington_reference.R`` runs ``farringtonFlexible``
on data sets that the surveillance package ships — ``salmNewport`` (6 of its date-indexed
weekly series), ``momo`` (8 age groups with population, the last 80 weeks),
``salmonella.agona`` and ``shadar`` (indexed by row number), ``campyDE`` (dates), 6 districts
of ``fluBYBW`` (many zeros) — on 10 simulated seasonal negative binomial series with Sunday
dates and on 2 simulated daily series over a leap day, with R's default control and with
every threshold method, power transformation, ``noPeriods > 1``, ``pastWeeksNotIncluded``,
no trend, no reweighting, other ``b``, ``w``, ``alpha``, ``limit54`` and a population
offset. The inputs are the ``counts_*.csv.gz`` files beside it.

Expected counts and upper bounds agree to relative 1e-8 (measured: 1e-12), R's NA are empty
here, and the alarms are identical (R's NA alarm is false). R's ``score``, ``pvalue``,
``phi`` and the trend coefficient agree to relative 1e-6 (for sparse series with
``noPeriods = 10``, where a block of zeros makes the fit nearly singular, the dispersion
differs from R's in the 7th digit; ``score`` divides by ``upper − fit``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.publichealth import surveil

DATA = Path(__file__).resolve().parents[1] / "data" / "publichealth" / "farrington"
PAIRS = [  # (R's column, ours)
    ("upperbound", "upper_bound"),
    ("expected_r", "expected"),
    ("score_r", "score"),
    ("pvalue_r", "pvalue"),
    ("phi_r", "phi"),
    ("trend_r", "trend"),
]


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(DATA / "reference.csv.gz", keep_default_na=False, dtype=str)


def _counts(data: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"counts_{data}.csv.gz", dtype={"series": str})


def _compare(reference: pd.DataFrame, data: str, config: str, **options: object) -> pd.DataFrame:
    counts = _counts(data)
    dated = "date" in counts.columns
    ours = surveil(counts, method="farrington", by=["series"], scheduler="synchronous", **options)
    if dated:
        ours["date"] = pd.to_datetime(ours["date"]).dt.strftime("%Y-%m-%d")
        ours = ours.merge(counts[["series", "date", "t"]], on=["series", "date"])
    else:
        ours["t"] = ours["date"]
    ref = reference[(reference["data"] == data) & (reference["config"] == config)].copy()
    assert len(ref) > 30
    ref["t"] = ref["t"].astype(int)
    ours = ours[ours["series"].isin(set(ref["series"]))]
    merged = ref.merge(ours, on=["series", "t"], how="left", suffixes=("_r", ""), indicator=True)
    assert (merged["_merge"] == "both").all(), "R monitors a point biolake does not"
    if data != "momo":  # R's default range: the same points
        assert len(ours) == len(ref)
    np.testing.assert_array_equal(merged["observed"].astype(int), merged["count"])
    for r_col, col in PAIRS:
        r_val = pd.to_numeric(merged[r_col].replace("NA", np.nan))
        mine = merged[col].to_numpy(dtype=float)
        na = r_val.isna().to_numpy()
        np.testing.assert_array_equal(np.isnan(mine), na, err_msg=f"{col}: NA where R has NA")
        rtol = 1e-8 if col in ("upper_bound", "expected") else 1e-6
        np.testing.assert_allclose(mine[~na], r_val.to_numpy()[~na], rtol=rtol, atol=1e-12, err_msg=col)
    r_alarm = merged["alarm_r"].map({"TRUE": True, "FALSE": False, "NA": False}).to_numpy(dtype=bool)
    np.testing.assert_array_equal(merged["alarm"].to_numpy(dtype=bool), r_alarm)
    return merged


def test_surveil__farrington_defaults_dates_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(salmNewport[, 1:6], control = list())`` — 6 series of Monday dates:
    b = 5, w = 3, reweight, weightsThreshold 2.58, alpha 0.05, trend with pThresholdTrend 0.05,
    limit54 c(5, 4), powertrans "2/3", noPeriods 1, pastWeeksNotIncluded = w, delta."""
    merged = _compare(reference, "salmNewport", "default")
    assert merged["alarm"].any() and merged["trend"].notna().any()


def test_surveil__farrington_nbplugin_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(salmNewport[, 1:6], control = list(thresholdMethod = "nbPlugin"))``."""
    _compare(reference, "salmNewport", "nbPlugin", threshold_method="nbPlugin")


def test_surveil__farrington_muan_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(salmNewport[, 1:6], control = list(thresholdMethod = "muan"))``."""
    _compare(reference, "salmNewport", "muan", threshold_method="muan")


def test_surveil__farrington_noufaily_periods_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(salmNewport[, 1:3], control = list(noPeriods = 10, pastWeeksNotIncluded = 26,
    thresholdMethod = "muan"))`` (Noufaily et al.'s recommended settings)."""
    _compare(reference, "salmNewport", "noufaily", no_periods=10, past_weeks_not_included=26, threshold_method="muan")


def test_surveil__farrington_population_offset_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(momo, control = list(populationOffset = TRUE, range = 703:782))``."""
    _compare(reference, "momo", "population", population_col="population")


def test_surveil__farrington_population_nbplugin_periods_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(momo, control = list(populationOffset = TRUE, thresholdMethod = "nbPlugin",
    noPeriods = 4, range = 703:782))``."""
    _compare(reference, "momo", "population_nb", population_col="population", threshold_method="nbPlugin", no_periods=4)


def test_surveil__farrington_row_indexed_defaults_match_r(reference: pd.DataFrame) -> None:
    """R: ``a <- disProg2sts(salmonella.agona); a@epochAsDate <- FALSE; farringtonFlexible(a)``
    (no time column: R's epoch is the row number)."""
    _compare(reference, "agona", "default")


def test_surveil__farrington_sqrt_transform_alpha_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(a, control = list(powertrans = "1/2", alpha = 0.01))``."""
    _compare(reference, "agona", "sqrt_alpha01", pow_trans="1/2", alpha=0.01)


def test_surveil__farrington_no_transform_no_trend_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(a, control = list(powertrans = "none", trend = FALSE))``."""
    _compare(reference, "agona", "none_notrend", pow_trans="none", trend=False)


def test_surveil__farrington_no_reweight_b3_w2_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(a, control = list(reweight = FALSE, b = 3, w = 2))``."""
    _compare(reference, "agona", "noreweight_b3w2", reweight=False, b=3, w=2)


def test_surveil__farrington_periods_past_weeks_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(a, control = list(noPeriods = 3, pastWeeksNotIncluded = 1,
    weightsThreshold = 1, pThresholdTrend = 1))`` (pastWeeksNotIncluded < w keeps part of the
    current window)."""
    _compare(
        reference,
        "agona",
        "periods_past",
        no_periods=3,
        past_weeks_not_included=1,
        weights_threshold=1,
        p_threshold_trend=1,
    )


def test_surveil__farrington_limit54_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(a, control = list(limit54 = c(2, 3), b = 4, w = 1))``."""
    _compare(reference, "agona", "limit54", limit54=(2, 3), b=4, w=1)


def test_surveil__farrington_shadar_match_r(reference: pd.DataFrame) -> None:
    """R: ``s <- disProg2sts(shadar); s@epochAsDate <- FALSE; farringtonFlexible(s)``."""
    _compare(reference, "shadar", "default")


def test_surveil__farrington_campy_dates_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(sts(observed = campyDE$case, epoch = campyDE$date, epochAsDate = TRUE,
    frequency = 52))``."""
    _compare(reference, "campy", "default")


def test_surveil__farrington_campy_muan_b3_periods_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(campy, control = list(thresholdMethod = "muan", b = 3, noPeriods = 2))``."""
    _compare(reference, "campy", "muan_b3", threshold_method="muan", b=3, no_periods=2)


def test_surveil__farrington_sparse_series_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(fluBYBW[, 1:6])`` (row-indexed; many zero counts, fits that do not
    converge)."""
    _compare(reference, "flu", "default")


def test_surveil__farrington_sparse_nbplugin_periods_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(fluBYBW[, 1:6], control = list(thresholdMethod = "nbPlugin",
    noPeriods = 10))``."""
    _compare(reference, "flu", "nbPlugin_p10", threshold_method="nbPlugin", no_periods=10)


def test_surveil__farrington_synthetic_sunday_dates_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(synth)``: 10 simulated series on Sundays from 2019-01-06 (see the script)."""
    merged = _compare(reference, "synth", "default")
    assert merged.loc[merged["series"] == "syn04", "alarm"].any()  # the injected outbreak


def test_surveil__farrington_synthetic_periods_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(synth, control = list(noPeriods = 5, w = 2, b = 4, pastWeeksNotIncluded = 4))``."""
    _compare(reference, "synth", "delta_p5_w2", no_periods=5, w=2, b=4, past_weeks_not_included=4)


def test_surveil__farrington_daily_dates_match_r(reference: pd.DataFrame) -> None:
    """R: ``farringtonFlexible(sts(observed = x, epoch = days, epochAsDate = TRUE, frequency = 365))``
    for 2 simulated daily series from 2019-01-01: reference days by calendar year (2024-02-29 →
    2023-03-01), monitored from day 365·5 + 3 + 1."""
    _compare(reference, "daily", "default")
