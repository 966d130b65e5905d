"""Farrington in ``surveil``: reference weeks, chunking, the output interface, CLI and report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biolake.errors import InputError
from biolake.lake import Lake
from biolake.publichealth import SURVEIL_METHODS, surveil, surveil_job
from biolake.stats.farrington import _years_back, farrington_flexible, reference_layout

DATA = Path(__file__).resolve().parents[1] / "data" / "publichealth" / "farrington"
FARRINGTON_COLUMNS = ["count", "expected", "upper_bound", "alarm", "score", "pvalue", "phi", "trend"]
SMALL = {"b": 1, "w": 1, "limit54": (0, 1)}  # monitored from the 54th point on


def _day(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


def test_years_back__matches_r_seq_by_year() -> None:
    """R: ``seq(as.Date("2020-02-29"), length.out = 3, by = "-1 year")`` gives
    2020-02-29, 2019-03-01, 2018-03-01."""
    day = _day("2020-02-29")
    assert [_years_back(day, i) for i in range(3)] == [_day("2020-02-29"), _day("2019-03-01"), _day("2018-03-01")]


def test_reference_layout__row_indexed_by_hand() -> None:
    """Row-indexed, b = 2, w = 1, k = 105 (0-based): windows 53±1 and 1±1 (freq 52); the current
    window is left out (pastWeeksNotIncluded = w)."""
    pos, fac = reference_layout(105, b=2, w=1, no_periods=1, past_weeks_not_included=1, freq=52)
    assert pos.tolist() == [0, 1, 2, 52, 53, 54]
    assert fac.tolist() == [1] * 6


def test_reference_layout__periods_by_hand() -> None:
    """b = 1, w = 1, noPeriods = 3, k = 60: window 8±1 (factor 3), the 49 points 10…58 cut
    into blocks of 25 and 24 (factors 1, 2); points 59, 60 left out, as R's ``blocks``."""
    pos, fac = reference_layout(60, b=1, w=1, no_periods=3, past_weeks_not_included=1, freq=52)
    assert pos.tolist() == list(range(7, 59))
    assert fac.tolist() == [3, 3, 3] + [1] * 25 + [2] * 24


def test_reference_layout__weekly_dates_nearest_weekday() -> None:
    """R's ``algo.farrington.referencetimepoints`` for Monday 2024-03-04 (weekly, b = 2): one year
    back is Saturday 2023-03-04, nearest Monday 2023-03-06 (52 weeks back); two years back is
    Friday 2022-03-04, nearest Monday 2022-03-07 (104 weeks back)."""
    day = _day("2024-03-04")
    k = 200
    pos, _ = reference_layout(
        k, b=2, w=0, no_periods=1, past_weeks_not_included=0, freq=52, day=day, step=7, t0=day - 7 * k
    )
    assert (k - pos).tolist() == [104, 52]


@st.composite
def farrington_tables(draw: st.DrawFn) -> pd.DataFrame:
    """1–6 weekly series of 54–70 points with different starts, low or high counts."""
    frames = []
    for i in range(draw(st.integers(1, 6))):
        n = draw(st.integers(54, 70))
        start = draw(st.integers(0, 4))
        high = draw(st.booleans())
        counts = draw(st.lists(st.integers(0, 500 if high else 6), min_size=n, max_size=n))
        dates = pd.date_range("2020-01-06", periods=start + n, freq="7D")[start:]
        frames.append(pd.DataFrame({"region": f"R{i}", "date": dates, "count": counts}))
    return pd.concat(frames, ignore_index=True)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=farrington_tables(),
    chunk_series=st.integers(1, 4),
    method=st.sampled_from(["delta", "nbPlugin", "muan"]),
)
def test_surveil__farrington_invariant_to_chunking(table: pd.DataFrame, chunk_series: int, method: str) -> None:
    whole = surveil(
        table, method="farrington", by=["region"], scheduler="synchronous", threshold_method=method, **SMALL
    )
    chunked = surveil(
        table,
        method="farrington",
        by=["region"],
        scheduler="threads",
        chunk_series=chunk_series,
        threshold_method=method,
        **SMALL,
    )
    pd.testing.assert_frame_equal(whole, chunked)
    assert len(whole) == (table.groupby("region").size() - 53).clip(lower=0).sum()


def test_farrington_flexible__rows_equal_one_series_at_a_time() -> None:
    """The batched fit over all series gives what each series gives alone (row-indexed)."""
    counts = pd.read_csv(DATA / "counts_flu.csv.gz")
    x = counts.pivot(index="series", columns="t", values="count").to_numpy(dtype=float)[:4]
    together = farrington_flexible(x)
    for i in range(len(x)):
        alone = farrington_flexible(x[i : i + 1])
        np.testing.assert_array_equal(alone.upper_bound[0], together.upper_bound[i])
        np.testing.assert_array_equal(alone.alarm[0], together.alarm[i])


def test_surveil__farrington_dask_equals_local() -> None:
    """A real two-process Dask cluster gives the same table as the local run."""
    distributed = pytest.importorskip("distributed")
    counts = pd.read_csv(DATA / "counts_synth.csv.gz").drop(columns=["t"])
    local = surveil(counts, method="farrington", by=["series"], scheduler="synchronous", threshold_method="muan")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        on_dask = surveil(
            counts, method="farrington", by=["series"], scheduler=client, chunk_series=3, threshold_method="muan"
        )
    pd.testing.assert_frame_equal(local, on_dask)
    assert local["alarm"].any()


# --- the output interface of every method ----------------------------------------------------


@pytest.mark.parametrize("method", SURVEIL_METHODS)
def test_surveil__time_column_is_date_for_every_method(method: str) -> None:
    """Interface: columns ``date count expected upper_bound alarm`` (+ the ``--by`` columns), the
    time column named ``date`` whatever the input calls it."""
    counts = pd.read_csv(DATA / "counts_synth.csv.gz").rename(columns={"date": "week_start"})
    counts = counts[counts["series"].isin(["syn03", "syn04"])].drop(columns=["t", "population"])
    options: dict[str, object] = {"range_start": 200} if method in ("cusum", "glr") else {}
    out = surveil(counts, method=method, by=["series"], date_col="week_start", **options)
    assert list(out.columns[:6]) == ["series", "date", "count", "expected", "upper_bound", "alarm"]
    assert str(out["date"].iloc[0]) >= "2019-01-06"


def test_surveil__farrington_row_numbers_and_columns() -> None:
    """Without a time column ``date`` is the 1-based row number (R's epoch); the first monitored
    point is freq·b + w + 1 = 264 by default."""
    counts = pd.read_csv(DATA / "counts_agona.csv.gz")[["count"]]
    out = surveil(counts, method="farrington")
    assert list(out.columns) == ["date", *FARRINGTON_COLUMNS]
    assert out["date"].tolist() == list(range(264, 313))
    assert out["alarm"].dtype == bool
    # limit54: fewer than 5 cases in the last 4 weeks -> no bound, no expected, no alarm
    recent = counts["count"].rolling(4).sum().to_numpy()[263:]
    few = recent < 5
    assert few.any()
    assert out.loc[few, "upper_bound"].isna().all() and out.loc[few, "expected"].isna().all()
    assert not out.loc[few, "alarm"].any()


def test_surveil__farrington_short_series_gives_no_rows() -> None:
    out = surveil(pd.DataFrame({"count": [1] * 263}), method="farrington")
    assert out.empty
    assert list(out.columns) == ["date", *FARRINGTON_COLUMNS]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"b": 0}, r"The 'b' parameter of surveil must be an integer >= 1; got 0"),
        ({"w": -1}, r"The 'w' parameter of surveil must be an integer >= 0; got -1"),
        ({"no_periods": 0}, r"The 'no_periods' parameter of surveil must be an integer >= 1"),
        ({"threshold_method": "exact"}, r"The 'threshold_method' parameter of surveil must be one of delta, nbPlugin"),
        ({"pow_trans": "1/3"}, r"The 'pow_trans' parameter of surveil must be one of 2/3, 1/2, none"),
        ({"limit54": (5,)}, r"The 'limit54' parameter of surveil must be two integers"),
        ({"alpha": 1.0}, r"The 'alpha' parameter of surveil must be a number in \(0, 1\)"),
        ({"p_threshold_trend": 2}, r"The 'p_threshold_trend' parameter of surveil must be a number in \[0, 1\]"),
        ({"past_weeks_not_included": -2}, r"The 'past_weeks_not_included' parameter of surveil must be"),
    ],
)
def test_surveil__farrington_bad_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        surveil(pd.DataFrame({"count": [1, 2, 3]}), method="farrington", **options)  # type: ignore[arg-type]


def test_surveil__farrington_too_many_periods_is_input_error() -> None:
    """R: ``farringtonFlexible(s, control = list(noPeriods = 60))`` stops: "Number of factors too big!"
    (45 points between the windows of a row-indexed series with w = 3)."""
    with pytest.raises(InputError, match=r"noPeriods = 60 is too large for the 45 points between reference windows"):
        surveil(pd.DataFrame({"count": [3] * 300}), method="farrington", no_periods=60)


def test_surveil__farrington_bad_population_names_series_and_date() -> None:
    counts = pd.read_csv(DATA / "counts_momo.csv.gz")
    counts = counts[counts["series"] == "[0,1)"].copy()
    counts.loc[counts.index[10], "population"] = 0
    with pytest.raises(InputError, match=r"series series=\[0,1\): population 0 is not > 0 at date 1994-03-14"):
        surveil(counts, method="farrington", by=["series"], population_col="population")


# --- CLI and report ---------------------------------------------------------------------------


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture
def synth_csv(tmp_path: Path) -> Path:
    path = tmp_path / "synth.csv"
    counts = pd.read_csv(DATA / "counts_synth.csv.gz")
    counts[counts["series"].isin(["syn02", "syn04", "syn07"])].to_csv(path, index=False)
    return path


def test_cli_surveil__farrington_options(tmp_path: Path, synth_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "farrington.csv"
    argv = ["--lake", str(tmp_path / "lake"), "-q", "publichealth", "surveil", str(synth_csv), "--by", "series"]
    options = ["--method", "farrington", "--b", "4", "--w", "2", "--alpha", "0.01", "--no-periods", "5"]
    options += ["--weights-threshold", "2", "--past-weeks-not-included", "4", "--p-threshold-trend", "0.1"]
    options += ["--threshold-method", "muan", "--population-col", "population", "--no-trend", "--limit54", "3,2"]
    code, _, err = _cli([*argv, *options, "--out", str(out)], capsys)
    assert code == 0, err
    expected = surveil(
        synth_csv,
        method="farrington",
        by=["series"],
        b=4,
        w=2,
        alpha=0.01,
        no_periods=5,
        weights_threshold=2,
        past_weeks_not_included=4,
        p_threshold_trend=0.1,
        threshold_method="muan",
        population_col="population",
        trend=False,
        limit54=(3, 2),
    )
    result = pd.read_csv(out)
    assert list(result.columns) == ["series", "date", *FARRINGTON_COLUMNS]
    np.testing.assert_allclose(result["upper_bound"], expected["upper_bound"], rtol=1e-15)
    assert result["alarm"].tolist() == expected["alarm"].tolist()
    assert result["trend"].isna().all()
    lake = Lake.open(tmp_path / "lake")
    info = lake.info("farrington")
    assert info.attrs["thresholdMethod"] == "muan" and info.attrs["noPeriods"] == 5
    assert info.attrs["populationOffset"] is True


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--threshold-method", "exact"], "error: The 'threshold_method' parameter of surveil must be one of"),
        (["--limit54", "5"], "error: The 'limit54' parameter of surveil must be two integers"),
        (["--limit54", "a,b"], "error: --limit54 must be two integers CASES,WEEKS; got 'a,b'"),
        (["--population-col", "pop"], "no column 'pop'"),
    ],
)
def test_cli_surveil__farrington_bad_option_exits_2(
    tmp_path: Path, synth_csv: Path, capsys: pytest.CaptureFixture[str], option: list[str], message: str
) -> None:
    argv = ["--lake", str(tmp_path / "lake"), "publichealth", "surveil", str(synth_csv), "--method", "farrington"]
    code, _, err = _cli([*argv, *option, "--out", str(tmp_path / "x.csv")], capsys)
    assert code == 2
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.csv").exists()


def test_report_section__farrington_run_plots_threshold_expected_alarms(tmp_path: Path, synth_csv: Path) -> None:
    from biolake.report.html import _Chart
    from biolake.report.runs import build_run_report

    lake = Lake.open(tmp_path / "lake")
    run_id, _ = surveil_job(lake, synth_csv, out=tmp_path / "f.csv", method="farrington", by=["series"])
    section = next(s for s in build_run_report(lake, run_id).sections if s.title == "publichealth surveil")
    titles = [s.title for s in section.subsections]
    assert "Farrington settings (R farringtonFlexible control)" in titles
    assert "Counts, upper bound and alarms" in titles
    charts = [json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart)]  # type: ignore[attr-defined]
    spec = charts[0]
    layers = spec["spec"]["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["line", "line", "line", "point"]
    assert [layer["encoding"]["y"]["field"] for layer in layers] == ["count", "upper_bound", "expected", "count"]
    rows = next(iter(spec["datasets"].values()))
    assert any(row["alarm"] for row in rows)
