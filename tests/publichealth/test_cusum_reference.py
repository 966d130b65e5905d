"""CUSUM against R ``surveillance::cusum`` (1.20.3, ``algo.cusum``).

Same 34 series as the EARS reference; ``tests/data/reference/publichealth/make_reference.R``
runs ``cusum`` monitored from a fixed start with the standard and the Rossi transform.
Upper bounds agree to relative 1e-9 (absolute 1e-9 near 0) and alarms are identical
(R's NA alarm, where m = 0 makes the statistic NaN, is false).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.publichealth import surveil

DATA = Path(__file__).resolve().parents[1] / "data" / "publichealth"
COUNTS = DATA / "ears_counts.csv"
KEYS = ["disease", "region"]


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(DATA / "cusum_reference.csv.gz", keep_default_na=False, dtype={"upperbound": str})


def _compare(config: str, reference: pd.DataFrame, **options: object) -> None:
    ours = surveil(COUNTS, method="cusum", by=KEYS, scheduler="synchronous", **options)
    counts = pd.read_csv(COUNTS, parse_dates=["date"])
    first = counts.groupby(KEYS)["date"].min().rename("first")
    ours = ours.join(first, on=KEYS)
    ours["t"] = (pd.to_datetime(ours["date"]) - ours["first"]).dt.days // 7 + 1
    ref = reference[reference["config"] == config]
    merged = ref.merge(ours, on=[*KEYS, "t"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert len(merged) == len(ref) > 1_000
    r_ub = pd.to_numeric(merged["upperbound"])
    np.testing.assert_allclose(merged["upper_bound"].to_numpy(), r_ub.to_numpy(), rtol=1e-9, atol=1e-9)
    r_alarm = merged["alarm_x"].map({"TRUE": True, "FALSE": False, "NA": False}).to_numpy(dtype=bool)
    np.testing.assert_array_equal(merged["alarm_y"].to_numpy(dtype=bool), r_alarm)
    assert r_alarm.any() and not r_alarm.all()


def test_surveil__cusum_standard_defaults_match_r(reference: pd.DataFrame) -> None:
    """R: ``cusum(sts(observed = x, start = c(2022, 1), frequency = 52), control = list(range = 27:length(x)))``
    for each series x (k 1.04, h 2.26, m = mean(x[1:26]), trans "standard")."""
    _compare("std", reference, range_start=27)


def test_surveil__cusum_rossi_match_r(reference: pd.DataFrame) -> None:
    """R: ``cusum(s, control = list(range = 27:length(x), trans = "rossi"))``."""
    _compare("rossi", reference, range_start=27, trans="rossi")


def test_surveil__cusum_rossi_k_h_match_r(reference: pd.DataFrame) -> None:
    """R: ``cusum(s, control = list(range = 15:length(x), trans = "rossi", k = 0.5, h = 4))``."""
    _compare("rossi_k05_h4", reference, range_start=15, trans="rossi", k=0.5, h=4)


def test_surveil__cusum_fixed_m_match_r(reference: pd.DataFrame) -> None:
    """R: ``cusum(s, control = list(range = 15:length(x), m = 3, k = 0.5, h = 3))``."""
    _compare("std_m3", reference, range_start=15, m=3, k=0.5, h=3)


def test_cusum__doc_example_matches_r() -> None:
    """R::

    s <- sts(observed = matrix(c(2, 3, 1, 2, 2, 3, 9, 8, 2), ncol = 1))
    cusum(s, control = list(range = 6:9))                  # upperbound 7 7 2 0; alarm 0 1 1 1
    cusum(s, control = list(range = 6:9, trans = "rossi")) # upperbound 7.55796660793364694
                                                           # 7.55796660793364694 2.40434618016442592
                                                           # 0.00966079451689827; alarm 0 1 1 1
    """
    from biolake.stats.cusum import cusum

    x = np.array([[2, 3, 1, 2, 2, 3, 9, 8, 2.0]])
    std = cusum(x, start=5)
    np.testing.assert_array_equal(std.upper_bound[0, 5:], [7, 7, 2, 0])
    assert std.alarm[0, 5:].tolist() == [False, True, True, True]
    rossi = cusum(x, start=5, trans="rossi")
    expected = [7.55796660793364694, 7.55796660793364694, 2.40434618016442592, 0.00966079451689827]
    np.testing.assert_allclose(rossi.upper_bound[0, 5:], expected, rtol=1e-12)
    assert rossi.alarm[0, 5:].tolist() == [False, True, True, True]
