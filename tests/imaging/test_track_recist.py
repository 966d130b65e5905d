"""``track_lesions``: volume change, doubling time and RECIST 1.1 response, checked by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from biolake.cli import main
from biolake.errors import InputError
from biolake.imaging.track import TRACK_COLUMNS, recist_response, track_lesions


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pt": ["p", "p", "p", "p", "p", "q", "q", "q"],
            "day": [0, 0, 30, 30, 60, 0, 40, 80],
            "les": ["a", "b", "a", "b", "c", "x", "x", "x"],
            "volume_mm3": [1000, 500, 800, 500, 50, 4000, 2000, 2600],
            "longest_axial_diameter_mm": [30, 20, 20, 15, 6, 40, 24, 29],
        }
    )


def test_track_lesions__hand_computed_changes_and_responses():
    r = track_lesions(_table(), patient_col="pt", time_col="day", lesion_col="les")
    assert list(r.columns) == TRACK_COLUMNS
    key = r.set_index(["patient", "lesion", "time"])
    # p/a 1000 → 800 in 30 days: −200 mm³, −20 %, halving: ln2·30/ln(0.8) = −93.1885…
    a30 = key.loc[("p", "a", 30.0)]
    assert (a30.volume_change_mm3, a30.volume_change_pct) == (-200.0, pytest.approx(-20.0))
    assert a30.doubling_time == pytest.approx(math.log(2) * 30 / math.log(0.8)) == pytest.approx(-93.188512, abs=1e-6)
    assert key.loc[("p", "b", 30.0)].doubling_time == math.inf  # unchanged volume
    # day 30: SLD 50 → 35 = −30 % exactly → PR (≥ 30 % decrease)
    assert (a30.sum_diameters_mm, a30.sld_change_baseline_pct, a30.response) == (35.0, pytest.approx(-30.0), "PR")
    # day 60: a and b absent (0 mm, disappeared), c is new → PD despite SLD 0
    a60 = key.loc[("p", "a", 60.0)]
    assert (a60.volume_mm3, a60.diameter_mm, a60.volume_change_pct) == (0.0, 0.0, -100.0)
    assert math.isnan(a60.doubling_time)
    c60 = key.loc[("p", "c", 60.0)]
    assert bool(c60.new_lesion) and c60.sum_diameters_mm == 0.0 and c60.response == "PD"
    # q: 40 → 24 mm = −40 % → PR; 24 → 29: +5 mm and +20.83 % from the nadir 24 → PD
    q = key.loc["q"]
    assert q.loc[("x", 0.0)].response == "baseline"
    assert q.loc[("x", 40.0)].response == "PR" and q.loc[("x", 40.0)].doubling_time == pytest.approx(-40.0)
    q80 = q.loc[("x", 80.0)]
    assert q80.doubling_time == pytest.approx(math.log(2) * 40 / math.log(1.3)) == pytest.approx(105.677072, abs=1e-6)
    assert (q80.sld_change_nadir_mm, q80.sld_change_nadir_pct) == (5.0, pytest.approx(100 * 5 / 24))
    assert q80.volume_change_baseline_pct == pytest.approx(-35.0) and q80.response == "PD"


def test_recist_response__thresholds():
    assert recist_response(14.0, 10.0, 10.0) == "SD"  # +40 % but only +4 mm from the nadir
    assert recist_response(30.0, 25.0, 25.0) == "PD"  # +20 % and +5 mm exactly
    assert recist_response(29.9, 25.0, 25.0) == "SD"
    assert recist_response(35.0, 50.0, 50.0) == "PR"  # −30 % exactly
    assert recist_response(35.1, 50.0, 50.0) == "SD"
    assert recist_response(0.0, 50.0, 20.0) == "CR"
    assert recist_response(0.0, 50.0, 0.0, new_lesion=True) == "PD"
    # PD is judged from the nadir, not the baseline: 60 → 30 → 36 is PD although −40 % from baseline
    assert recist_response(36.0, 60.0, 30.0) == "PD"


def test_track_lesions__dates_and_bad_input():
    t = _table().query("pt == 'q'").assign(day=["2024-01-01", "2024-02-10", "2024-03-21"])
    r = track_lesions(t, patient_col="pt", time_col="day", lesion_col="les")
    assert r["time"].tolist() == [0.0, 40.0, 80.0]  # days from the first date
    with pytest.raises(InputError, match=r"'day': 'soon' is neither a number nor a date"):
        track_lesions(
            t.assign(day=["2024-01-01", "soon", "2024-03-21"]), patient_col="pt", time_col="day", lesion_col="les"
        )
    with pytest.raises(InputError, match="patient p, lesion a, time 0 appears twice"):
        track_lesions(_table().assign(day=0), patient_col="pt", time_col="day", lesion_col="les")
    with pytest.raises(InputError, match="The 'time_col' parameter of track_lesions must be a column"):
        track_lesions(_table(), patient_col="pt", time_col="date", lesion_col="les")


def test_track__cli(tmp_path, capsys):
    _table().to_csv(tmp_path / "m.csv", index=False)
    args = ["imaging", "track", str(tmp_path / "m.csv"), "--patient-col", "pt", "--time-col", "day"]
    args += ["--lesion-col", "les", "--out", str(tmp_path / "t.csv"), "--lake", str(tmp_path / "lake"), "-q"]
    try:
        main(args)
    except SystemExit as exc:
        assert exc.code in (0, None)
    r = pd.read_csv(tmp_path / "t.csv")
    assert r.drop_duplicates(["patient", "time"])["response"].tolist() == [
        "baseline",
        "PR",
        "PD",
        "baseline",
        "PR",
        "PD",
    ]
