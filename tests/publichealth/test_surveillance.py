"""``surveil``: properties (series order, chunking, backends), options, CLI, report and demo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biolake.errors import InputError
from biolake.lake import Lake
from biolake.publichealth import SURVEIL_METHODS, surveil, surveil_job
from biolake.publichealth.demo import demo_counts
from biolake.stats.cusum import cusum
from biolake.stats.ears import ears_c
from biolake.stats.glr import glr_pois

COLUMNS = ["count", "expected", "upper_bound", "alarm", "score", "sigma"]
METHODS = tuple(m for m in SURVEIL_METHODS if m != "farrington")  # Farrington: test_farrington.py (longer series)


def _settings(method: str) -> dict[str, object]:
    """Small-history settings so that short series are monitored too."""
    if method == "glr":
        return {"range_start": 4}  # GLR against R: test_glr_reference.py
    return {"range_start": 4, "trans": "rossi"} if method == "cusum" else {"baseline": 3}


@st.composite
def count_tables(draw: st.DrawFn) -> pd.DataFrame:
    """1–7 weekly series of 1–30 points (different starts and lengths), low or high counts."""
    n_series = draw(st.integers(1, 7))
    frames = []
    for i in range(n_series):
        n = draw(st.integers(1, 30))
        start = draw(st.integers(0, 5))
        high = draw(st.booleans())
        counts = draw(st.lists(st.integers(0, 5_000 if high else 4), min_size=n, max_size=n))
        dates = pd.date_range("2024-01-01", periods=start + n, freq="7D")[start:]
        frames.append(pd.DataFrame({"region": f"R{i}", "sex": "F" if i % 2 else "M", "date": dates, "count": counts}))
    return pd.concat(frames, ignore_index=True)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["region", "sex", "date"]).reset_index(drop=True)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=count_tables(), method=st.sampled_from(METHODS), seed=st.integers(0, 2**32 - 1))
def test_surveil__invariant_to_row_order(table: pd.DataFrame, method: str, seed: int) -> None:
    shuffled = table.sample(frac=1.0, random_state=np.random.RandomState(seed)).reset_index(drop=True)
    a = surveil(table, method=method, by=["region", "sex"], scheduler="synchronous", **_settings(method))
    b = surveil(shuffled, method=method, by=["region", "sex"], scheduler="synchronous", **_settings(method))
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=count_tables(), method=st.sampled_from(METHODS), chunk_series=st.integers(1, 4))
def test_surveil__invariant_to_chunking(table: pd.DataFrame, method: str, chunk_series: int) -> None:
    options = _settings(method)
    whole = surveil(table, method=method, by=["region", "sex"], scheduler="synchronous", **options)
    chunked = surveil(
        table, method=method, by=["region", "sex"], scheduler="threads", chunk_series=chunk_series, **options
    )
    pd.testing.assert_frame_equal(whole, chunked)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=count_tables(), method=st.sampled_from(METHODS))
def test_surveil__equals_one_series_at_a_time(table: pd.DataFrame, method: str) -> None:
    """The (series × time) matrix with padded short series gives what each series gives alone."""
    out = surveil(table, method=method, by=["region", "sex"], scheduler="synchronous", **_settings(method))
    for (region, _sex), one in _sorted(table).groupby(["region", "sex"], sort=True):
        x = one["count"].to_numpy()[None, :]
        if method == "glr":  # GLR against R: test_glr_reference.py
            res = glr_pois(x, start=3)
        else:
            res = (
                cusum(x, start=3, trans="rossi")
                if method == "cusum"
                else ears_c(x, method=method[-2:].upper(), baseline=3)
            )
        mine = out[out["region"] == region]
        assert len(mine) == int(res.evaluable.sum())
        np.testing.assert_array_equal(mine["upper_bound"].to_numpy(), res.upper_bound[res.evaluable])
        np.testing.assert_array_equal(mine["alarm"].to_numpy(), res.alarm[res.evaluable])


def test_surveil__columns_and_types() -> None:
    out = surveil(demo_counts(regions=2, weeks=30), method="ears-c2", by=["disease", "region"])
    assert list(out.columns) == ["disease", "region", "date", *COLUMNS]
    assert out["alarm"].dtype == bool
    assert out["count"].dtype == np.int64
    assert out.groupby(["disease", "region"]).size().eq(30 - 9).all()


def test_surveil__cusum_columns() -> None:
    out = surveil(demo_counts(regions=2, weeks=30), method="cusum", range_start=11, by=["disease", "region"])
    assert list(out.columns) == ["disease", "region", "date", *COLUMNS[:-1]]
    assert out.groupby(["disease", "region"]).size().eq(20).all()


def test_surveil__empty_when_series_too_short() -> None:
    df = pd.DataFrame({"region": ["A"] * 5, "date": pd.date_range("2024-01-01", periods=5), "count": [1] * 5})
    out = surveil(df, method="ears-c3", by=["region"])
    assert out.empty
    assert list(out.columns) == ["region", "date", *COLUMNS]


def test_surveil__c3_zero_sigma_gives_empty_bound_and_no_alarm() -> None:
    """R: ``earsC(sts(observed = matrix(c(rep(0, 20), 5, 0), ncol = 1)), control = list(method = "C3"))``
    gives upperbound NA and alarm NA where the C2 baseline is constant."""
    df = pd.DataFrame({"count": [0] * 20 + [5, 0]})
    out = surveil(df, method="ears-c3")
    assert out["upper_bound"].isna().any()
    assert not out.loc[out["upper_bound"].isna(), "alarm"].any()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "ears-c4"}, r"The 'method' parameter of surveil must be one of ears-c1, ears-c2, ears-c3, cusum"),
        ({"alpha": 1.5}, r"The 'alpha' parameter of surveil must be a number in \(0, 1\) or None; got 1.5"),
        ({"alpha": 0}, r"The 'alpha' parameter of surveil must be"),
        ({"baseline": 2}, r"The 'baseline' parameter of surveil must be an integer >= 3; got 2"),
        ({"min_sigma": -1.0}, r"The 'min_sigma' parameter of surveil must be a finite number >= 0; got -1.0"),
        ({"chunk_series": 0}, r"The 'chunk_series' parameter of surveil must be a positive integer; got 0"),
        ({"method": "cusum"}, r"The 'range_start' parameter of surveil must be an integer >= 2 for method cusum"),
        ({"method": "cusum", "range_start": 1}, r"The 'range_start' parameter of surveil must be"),
        ({"method": "cusum", "range_start": 2, "trans": "anscombe"}, r"The 'trans' parameter of surveil must be"),
        ({"method": "cusum", "range_start": 2, "m": 0}, r"The 'm' parameter of surveil must be a number > 0"),
        ({"method": "cusum", "range_start": 2, "h": float("nan")}, r"The 'h' parameter of surveil must be"),
    ],
)
def test_surveil__bad_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        surveil(pd.DataFrame({"count": [1, 2, 3]}), **options)  # type: ignore[arg-type]


# --- Dask ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    """A real two-process Dask cluster for the module."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.mark.parametrize("method", METHODS)
def test_surveil__dask_equals_local(dask_client: object, method: str) -> None:
    table = demo_counts(regions=6, weeks=60)
    options = {"range_start": 20} if method == "cusum" else {}
    if method == "glr":
        options = {"range_start": 20}
    local = surveil(table, method=method, by=["disease", "region"], scheduler="synchronous", **options)
    on_dask = surveil(table, method=method, by=["disease", "region"], scheduler=dask_client, chunk_series=4, **options)
    pd.testing.assert_frame_equal(local, on_dask)
    assert local["alarm"].any()


def test_surveil__dask_keeps_input_error(dask_client: object) -> None:
    df = pd.DataFrame(
        {"region": ["A", "A", "B", "B"], "date": ["2024-01-01", "2024-01-02"] * 2, "count": [1, 2, 3, -1]}
    )
    with pytest.raises(InputError, match=r"series region=B: negative count \(-1\) at date 2024-01-02"):
        surveil(df, by=["region"], scheduler=dask_client, chunk_series=1)


# --- CLI, lake run, report, demo --------------------------------------------------------------


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture
def counts_csv(tmp_path: Path) -> Path:
    path = tmp_path / "weekly.csv"
    demo_counts(regions=3, weeks=40).to_csv(path, index=False)
    return path


def test_cli_surveil__writes_and_registers_result(
    tmp_path: Path, counts_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake_dir = tmp_path / "lake"
    code, _, err = _cli(["--lake", str(lake_dir), "ingest", "table", str(counts_csv), "--name", "weekly"], capsys)
    assert code == 0, err
    out = tmp_path / "alarms.parquet"
    argv = ["--lake", str(lake_dir), "publichealth", "surveil", "lake:weekly", "--by", "disease,region"]
    code, _, err = _cli([*argv, "--method", "ears-c3", "--alpha", "0.01", "--out", str(out)], capsys)
    assert code == 0, err
    result = pd.read_parquet(out)
    expected = surveil(counts_csv, method="ears-c3", alpha=0.01, by=["disease", "region"])
    pd.testing.assert_frame_equal(result, expected)
    lake = Lake.open(lake_dir)
    info = lake.info("alarms")
    assert info.n_rows == len(expected)
    record = lake.run_record(info.run_id or "")
    assert record.command == "publichealth surveil"
    assert record.params["method"] == "ears-c3"
    assert info.attrs["alpha"] == 0.01


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("A,2024-01-01,1\nA,2024-01-01,2\n", "series region=A: duplicated date 2024-01-01"),
        ("A,2024-01-01,1\nA,2024-01-02,-2\n", "series region=A: negative count (-2) at date 2024-01-02"),
    ],
)
def test_cli_surveil__bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: str, message: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("region,date,count\n" + rows)
    out = tmp_path / "x.csv"
    code, _, err = _cli(
        ["--lake", str(tmp_path / "lake"), "publichealth", "surveil", str(bad), "--by", "region", "--out", str(out)],
        capsys,
    )
    assert code == 2
    assert err == f"error: {bad}: {message}\n"
    assert not out.exists()
    assert not Lake.open(tmp_path / "lake").names()


def test_cli_surveil__bad_option_exits_2(tmp_path: Path, counts_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(
        [
            "--lake",
            str(tmp_path / "lake"),
            "publichealth",
            "surveil",
            str(counts_csv),
            "--alpha",
            "2",
            "--out",
            "x.csv",
        ],
        capsys,
    )
    assert code == 2
    assert err == "error: The 'alpha' parameter of surveil must be a number in (0, 1) or None; got 2.0\n"


def _charts(section: object) -> list[dict[str, object]]:
    from biolake.report.html import _Chart

    return [json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart)]  # type: ignore[attr-defined]


def test_report_section__surveil_run_has_charts_and_alarm_table(tmp_path: Path, counts_csv: Path) -> None:
    from biolake.report.runs import build_run_report

    lake = Lake.open(tmp_path / "lake")
    run_id, name = surveil_job(
        lake, counts_csv, out=tmp_path / "alarms.csv", method="ears-c1", by=["disease", "region"]
    )
    report = build_run_report(lake, run_id)
    section = next(s for s in report.sections if s.title == "publichealth surveil")
    titles = [s.title for s in section.subsections]
    assert titles[0] == "Alarms across series"
    assert "Counts, upper bound and alarms" in titles
    charts = _charts(section)
    assert charts, "no chart"
    spec = charts[0]
    assert spec["facet"]["field"] == "series"  # type: ignore[index]
    marks = [layer["mark"]["type"] for layer in spec["spec"]["layer"]]  # type: ignore[index]
    assert marks == ["line", "line", "point"]
    n_series = len({row["series"] for row in next(iter(spec["datasets"].values()))})  # type: ignore[union-attr]
    assert n_series == 9
    assert name == "alarms"


def test_demo_step__runs_surveillance(tmp_path: Path) -> None:
    from biolake.report.demo import _STEPS
    from biolake.report.sections import publichealth as sections

    assert any(step is sections._surveillance_demo for _, step in _STEPS)
    lake = Lake.open(tmp_path / "lake")
    from biolake.lake.progress import NullProgress

    run_ids = sections._surveillance_demo(lake, tmp_path, NullProgress())
    assert [lake.run_record(r).command for r in run_ids] == ["ingest table", "publichealth surveil"]
    alarms = lake.sql("SELECT count(*) AS n, sum(alarm::INT) AS a FROM salmonella_newport_alarms")
    assert alarms["n"][0] == 16 * (528 - 263)  # real data (salmNewport): Farrington from week 5·52 + 3 + 1 on
    assert alarms["a"][0] == 21  # as R farringtonFlexible (tests/publichealth/test_demo_realdata.py)


def test_demo_counts__deterministic() -> None:
    pd.testing.assert_frame_equal(demo_counts(), demo_counts())
    assert demo_counts()["count"].min() >= 0
    assert len(demo_counts(regions=2, weeks=10)) == 3 * 2 * 10  # short tables too, without warnings


def test_cli_surveil__cusum_options(tmp_path: Path, counts_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cusum.csv"
    argv = ["--lake", str(tmp_path / "lake"), "publichealth", "surveil", str(counts_csv), "--by", "disease,region"]
    options = ["--method", "cusum", "--range-start", "20", "--trans", "rossi", "--k", "0.5", "--h", "4"]
    code, _, err = _cli([*argv, *options, "--out", str(out)], capsys)
    assert code == 0, err
    expected = surveil(counts_csv, method="cusum", range_start=20, trans="rossi", k=0.5, h=4, by=["disease", "region"])
    result = pd.read_csv(out, parse_dates=["date"])
    np.testing.assert_allclose(result["upper_bound"], expected["upper_bound"], rtol=1e-15)
    assert result["alarm"].tolist() == expected["alarm"].tolist()
    assert list(result.columns) == list(expected.columns)
