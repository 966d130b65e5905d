"""Reading count series: grouping, ordering, checks and gap filling."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from biolake.errors import InputError
from biolake.lake import Lake
from biolake.publichealth import load_counts


def _frame(rows: list[tuple[object, ...]], columns: tuple[str, ...] = ("region", "date", "count")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def test_load_counts__sorts_by_series_and_time() -> None:
    df = _frame([("B", "2024-01-02", 5), ("A", "2024-01-02", 2), ("B", "2024-01-01", 4), ("A", "2024-01-01", 1)])
    out = load_counts(df, by=["region"])
    assert out["region"].tolist() == ["A", "A", "B", "B"]
    assert out["count"].tolist() == [1, 2, 4, 5]
    assert out["date"].tolist() == [dt.date(2024, 1, 1), dt.date(2024, 1, 2)] * 2


def test_load_counts__fill_gaps_days() -> None:
    df = _frame([("A", "2024-01-01", 1), ("A", "2024-01-04", 3), ("B", "2024-01-02", 7)])
    out = load_counts(df, by=["region"], fill_gaps=True)
    a = out[out["region"] == "A"]
    assert a["count"].tolist() == [1, 0, 0, 3]
    assert a["date"].tolist() == [dt.date(2024, 1, d) for d in (1, 2, 3, 4)]


def test_load_counts__weekly_dates_detected_and_filled() -> None:
    df = _frame([("A", "2024-01-01", 1), ("A", "2024-01-15", 3), ("A", "2024-01-22", 2)])
    out = load_counts(df, by=["region"], fill_gaps=True)
    assert out["count"].tolist() == [1, 0, 3, 2]
    assert out["date"].tolist() == [
        dt.date(2024, 1, 1),
        dt.date(2024, 1, 8),
        dt.date(2024, 1, 15),
        dt.date(2024, 1, 22),
    ]


def test_load_counts__iso_weeks_filled_across_year_end() -> None:
    df = _frame([("A", "2020-W52", 1), ("A", "2021-W01", 4), ("A", "2020-W51", 2)], ("region", "week", "count"))
    out = load_counts(df, by=["region"], fill_gaps=True)
    # 2020 has 53 ISO weeks
    assert out["week"].tolist() == ["2020-W51", "2020-W52", "2020-W53", "2021-W01"]
    assert out["count"].tolist() == [2, 1, 0, 4]


def test_load_counts__mmwr_weeks_as_integers() -> None:
    df = pd.DataFrame({"week": [202352, 202402, 202401], "count": [5, 6, 7]})
    out = load_counts(df, date_col="week", freq="epiweek", fill_gaps=True)
    assert out["week"].tolist() == [202352, 202401, 202402]
    assert out["count"].tolist() == [5, 7, 6]


def test_load_counts__mmwr_weeks_as_strings_filled() -> None:
    # MMWR year 2020 has 53 weeks (CDC), so 2020-53 sits between 2020-52 and 2021-01
    df = pd.DataFrame({"week": ["2020-52", "2021-01"], "count": [5, 6]})
    out = load_counts(df, freq="epiweek", fill_gaps=True)
    assert out["week"].tolist() == ["2020-52", "2020-53", "2021-01"]
    assert out["count"].tolist() == [5, 0, 6]


def test_load_counts__row_order_without_time_column() -> None:
    df = pd.DataFrame({"region": ["A", "B", "A", "A", "B"], "count": [3, 9, 1, 2, 8]})
    out = load_counts(df, by=["region"])
    assert out["count"].tolist() == [3, 1, 2, 9, 8]
    assert out["date"].tolist() == [1, 2, 3, 1, 2]


def test_load_counts__duplicated_date_names_series() -> None:
    df = _frame([("A", "2024-01-01", 1), ("B", "2024-01-01", 1), ("B", "2024-01-01", 2)])
    with pytest.raises(InputError, match=r"series region=B: duplicated date 2024-01-01"):
        load_counts(df, by=["region"])


def test_load_counts__negative_count_names_series_and_date() -> None:
    df = _frame([("A", "2024-01-01", 1), ("A", "2024-01-02", -3)])
    with pytest.raises(InputError, match=r"series region=A: negative count \(-3\) at date 2024-01-02"):
        load_counts(df, by=["region"])


def test_load_counts__non_integer_count() -> None:
    df = _frame([("A", "2024-01-01", 1.5), ("A", "2024-01-02", 2.0)])
    with pytest.raises(InputError, match=r"region=A: count is not a non-negative integer \(1.5\) at date 2024-01-01"):
        load_counts(df, by=["region"])


def test_load_counts__missing_count() -> None:
    df = _frame([("A", "2024-01-01", 1.0), ("A", "2024-01-02", None)])
    with pytest.raises(InputError, match=r"region=A: missing count at date 2024-01-02"):
        load_counts(df, by=["region"])


def test_load_counts__gap_without_fill_is_an_error() -> None:
    df = _frame([("A", "2024-01-01", 1), ("A", "2024-01-03", 2)])
    with pytest.raises(InputError, match=r"region=A: missing date 2024-01-02 .*--fill-gaps"):
        load_counts(df, by=["region"])


def test_load_counts__weekly_dates_off_grid() -> None:
    df = _frame([("A", "2024-01-01", 1), ("A", "2024-01-08", 2), ("B", "2024-01-01", 1), ("B", "2024-01-09", 2)])
    with pytest.raises(InputError, match=r"region=B: date 2024-01-09 is not a whole number of weeks"):
        load_counts(df, by=["region"], freq="week")


def test_load_counts__missing_column() -> None:
    with pytest.raises(InputError, match=r"no column 'regio'"):
        load_counts(_frame([("A", "2024-01-01", 1)]), by=["regio"])


def test_load_counts__bad_freq() -> None:
    with pytest.raises(InputError, match=r"The 'freq' parameter of load_counts must be one of"):
        load_counts(_frame([("A", "2024-01-01", 1)]), freq="monthly")


def test_load_counts__not_a_date() -> None:
    df = _frame([("A", "2024-01-01", 1), ("A", "yesterday", 2)])
    with pytest.raises(InputError, match=r"'yesterday' is not a date"):
        load_counts(df, by=["region"], freq="day")


def test_load_counts__bad_iso_week() -> None:
    df = pd.DataFrame({"week": ["2021-W01", "2021-W60"], "count": [1, 2]})
    with pytest.raises(InputError, match=r"'2021-W60' is not an ISO week"):
        load_counts(df, freq="isoweek")


def test_load_counts__csv_file_and_lake_table(tmp_path: Path) -> None:
    from biolake.io import ingest_table

    csv = tmp_path / "counts.csv"
    _frame([("A", "2024-01-02", 2), ("A", "2024-01-01", 1)]).to_csv(csv, index=False)
    from_file = load_counts(csv, by=["region"])
    lake = Lake.open(tmp_path / "lake")
    ingest_table(lake, csv, name="counts")
    from_lake = load_counts("lake:counts", by=["region"], lake=lake)
    bare = load_counts("counts", by=["region"], lake=lake)
    pd.testing.assert_frame_equal(from_file, from_lake)
    pd.testing.assert_frame_equal(from_file, bare)
    assert from_file["count"].tolist() == [1, 2]
    with pytest.raises(InputError, match=r"lake:nothing: no dataset named 'nothing'"):
        load_counts("lake:nothing", lake=lake)
