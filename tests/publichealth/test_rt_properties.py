"""``estimate_rt``: properties (chunking, backends, one series at a time), imported cases, options, CLI, report, demo.

Values are checked against the reference tests of ``test_rt_reference.py`` (EpiEstim) and,
here, against a plain per-window implementation of Cori et al. (2013)'s posterior::

    Λ_t = Σ_{s=1}^{t-1} w_s I_{t-s};  R | window ~ Gamma(a + Σ local_t, 1 / (1/b + Σ Λ_t))
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from biolake.errors import InputError
from biolake.lake import Lake
from biolake.publichealth._rt_demo import demo_incidence
from biolake.publichealth.rt import RT_COLUMNS, estimate_rt, rt_job

W = np.array([0.0, 0.233, 0.359, 0.198, 0.103, 0.053, 0.027, 0.014, 0.007, 0.003, 0.002, 0.001])  # Flu2009 SI
QUANTILES = {"q025": 0.025, "q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95, "q975": 0.975}


@st.composite
def incidence_tables(draw: st.DrawFn) -> pd.DataFrame:
    """1–6 daily series of 8–40 days (different starts and lengths), local and imported cases."""
    frames = []
    for i in range(draw(st.integers(1, 6))):
        n = draw(st.integers(8, 40))
        start = draw(st.integers(0, 5))
        high = draw(st.booleans())
        local = draw(st.lists(st.integers(0, 3_000 if high else 6), min_size=n, max_size=n))
        imported = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
        dates = pd.date_range("2024-03-01", periods=start + n, freq="D")[start:]
        frames.append(pd.DataFrame({"region": f"R{i}", "date": dates, "local": local, "imported": imported}))
    return pd.concat(frames, ignore_index=True)


def _naive(local: np.ndarray, imported: np.ndarray, w: np.ndarray, window: int, prior: tuple[float, float]) -> list:
    """One series, window by window, with plain loops (EpiEstim's definitions)."""
    total = local + imported
    t_len = len(total)
    lam = [0.0] + [sum(w[s] * total[t - s] for s in range(1, min(t, len(w) - 1) + 1)) for t in range(1, t_len)]
    mean_si = sum(k * wk for k, wk in enumerate(w))
    a0, b0 = (prior[0] / prior[1]) ** 2, prior[1] ** 2 / prior[0]
    rows = []
    for ts in range(2, t_len - window + 2):
        te = ts + window - 1
        if te <= mean_si:
            rows.append((ts, te, *[np.nan] * 9))
            continue
        shape = a0 + sum(local[t - 1] for t in range(ts, te + 1))
        scale = 1 / (1 / b0 + sum(lam[t - 1] for t in range(ts, te + 1)))
        qs = [stats.gamma.ppf(p, shape, scale=scale) for p in QUANTILES.values()]
        rows.append((ts, te, shape * scale, np.sqrt(shape) * scale, *qs))
    return rows


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=incidence_tables(), window=st.integers(1, 7), chunk_series=st.integers(1, 4))
def test_estimate_rt__same_for_any_chunking(table: pd.DataFrame, window: int, chunk_series: int) -> None:
    options = {"count_col": "local", "imported_col": "imported", "by": ["region"], "si_distr": W, "window": window}
    whole = estimate_rt(table, scheduler="synchronous", **options)  # type: ignore[arg-type]
    chunked = estimate_rt(table, scheduler="threads", chunk_series=chunk_series, **options)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(whole, chunked)
    shuffled = estimate_rt(table.sample(frac=1.0, random_state=1), scheduler="synchronous", **options)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(whole, shuffled)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=incidence_tables(), window=st.integers(1, 7))
def test_estimate_rt__equals_naive_series_by_series(table: pd.DataFrame, window: int) -> None:
    """The padded (series × time) matrix gives what each series gives alone by the plain formulas."""
    out = estimate_rt(
        table,
        count_col="local",
        imported_col="imported",
        by=["region"],
        si_distr=W,
        window=window,
        mean_prior=3.0,
        std_prior=2.0,
        scheduler="synchronous",
    )
    for region, one in table.groupby("region", sort=True):
        expected = pd.DataFrame(
            _naive(one["local"].to_numpy(), one["imported"].to_numpy(), W, window, (3.0, 2.0)), columns=RT_COLUMNS
        )
        mine = out[out["region"] == region].reset_index(drop=True)
        np.testing.assert_array_equal(mine["t_start"], expected["t_start"])
        np.testing.assert_allclose(mine[list(RT_COLUMNS[2:])], expected[list(RT_COLUMNS[2:])], rtol=1e-9)
        first = one["date"].min()
        assert (pd.to_datetime(mine["date_start"]) == first + pd.to_timedelta(mine["t_start"] - 1, unit="D")).all()


def test_estimate_rt__day_one_cases_count_as_imported() -> None:
    """As EpiEstim: local cases of the first day move to imported, so no imported column == zeros."""
    counts = [4, 1, 3, 2, 6, 5, 8, 7, 9, 12, 10]
    a = estimate_rt(pd.DataFrame({"count": counts}), si_distr=W)
    b = estimate_rt(pd.DataFrame({"count": counts, "imp": 0}), imported_col="imp", si_distr=W)
    c = estimate_rt(pd.DataFrame({"count": [0, *counts[1:]], "imp": [4] + [0] * 10}), imported_col="imp", si_distr=W)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    assert list(a.columns) == list(RT_COLUMNS)
    assert a["t_start"].tolist() == [2, 3, 4, 5] and a["t_end"].tolist() == [8, 9, 10, 11]


def test_estimate_rt__imported_cases_raise_infectivity_not_numerator() -> None:
    base = pd.DataFrame({"count": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "imp": 0})
    more = base.assign(imp=[0, 0, 5, 0, 0, 0, 0, 0, 0, 0])
    a = estimate_rt(base, imported_col="imp", si_distr=W, window=3)
    b = estimate_rt(more, imported_col="imp", si_distr=W, window=3)
    assert (b["mean_r"] <= a["mean_r"] + 1e-12).all() and (b["mean_r"] < a["mean_r"]).any()


def test_estimate_rt__custom_windows_and_na_rule() -> None:
    counts = pd.DataFrame({"count": [1, 0, 2, 1, 3, 2, 4, 3, 5, 4, 6, 5]})
    out = estimate_rt(counts, si_mean=4.5, si_sd=1.0, t_start=[2, 3, 5, 2], t_end=[4, 12, 5, 12])
    assert out["t_start"].tolist() == [2, 3, 5, 2]
    assert out["mean_r"].isna().tolist() == [True, False, False, False]  # NA iff t_end <= the SI mean (4.5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "The 'si_mean' parameter of estimate_rt must be a number > 1"),
        ({"si_mean": 1.0, "si_sd": 1.0}, "The 'si_mean' parameter of estimate_rt must be a number > 1"),
        ({"si_mean": 3.0, "si_sd": 1.0, "si_distr": W}, "The 'si_distr' parameter of estimate_rt must be left out"),
        ({"si_distr": W, "window": 0}, "The 'window' parameter of estimate_rt must be a positive integer"),
        ({"si_distr": W, "std_prior": 0}, "The 'std_prior' parameter of estimate_rt must be a number > 0"),
        ({"si_distr": W, "t_start": [1], "t_end": [3]}, "The 't_start' parameter of estimate_rt must be integers >= 2"),
        ({"si_distr": W, "t_start": [2, 3]}, "The 't_end' parameter of estimate_rt must be given together"),
        ({"si_distr": [0.2, 0.8]}, "si_distr: record 1: the SI distribution must start with w_0 = 0"),
        (
            {"si_distr": [0, 0.5, 0.48]},
            r"si_distr: the SI probabilities must sum to 1 \(within 0.01\); they sum to 0.98",
        ),
        ({"si_distr": [0, -0.1, 1.1]}, "si_distr: record 2: probability -0.1 is not a finite number >= 0"),
        ({"si_distr": W, "window": 20}, "series: has 12 time points; a window of 20 needs at least 21"),
        ({"si_distr": W, "t_start": [2], "t_end": [13]}, "the series: has 12 time points; the windows end at up to"),
    ],
)
def test_estimate_rt__bad_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        estimate_rt(pd.DataFrame({"count": range(12)}), **options)  # type: ignore[arg-type]


def test_estimate_rt__gaps_need_fill_gaps() -> None:
    df = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04"]), "count": [1, 2, 3]})
    with pytest.raises(InputError, match="missing date 2024-01-03"):
        estimate_rt(df, si_distr=W, window=1)
    out = estimate_rt(df, si_distr=W, window=1, fill_gaps=True)
    assert out["t_end"].tolist() == [2, 3, 4]
    assert str(out["date_end"].iloc[-1]) == "2024-01-04"


def test_estimate_rt__si_distr_from_file_and_lake(tmp_path: Path) -> None:
    si = tmp_path / "si.csv"
    pd.DataFrame({"w": W}).to_csv(si, index=False)
    counts = pd.DataFrame({"count": [1, 2, 4, 3, 5, 8, 6, 9, 12, 10]})
    expected = estimate_rt(counts, si_distr=W, window=3)
    pd.testing.assert_frame_equal(estimate_rt(counts, si_distr=si, window=3), expected)
    lake = Lake.open(tmp_path / "lake")
    from biolake.io import ingest_table

    ingest_table(lake, si, name="flu_si")
    pd.testing.assert_frame_equal(estimate_rt(counts, si_distr="lake:flu_si", window=3, lake=lake), expected)


# --- Dask ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.mark.slow
def test_estimate_rt__dask_equals_local(dask_client: object) -> None:
    table = demo_incidence(regions=5, days=60)
    options = {"count_col": "local", "imported_col": "imported", "by": ["region"], "si_mean": 4.8, "si_sd": 2.3}
    local = estimate_rt(table, scheduler="synchronous", **options)  # type: ignore[arg-type]
    on_dask = estimate_rt(table, scheduler=dask_client, chunk_series=2, **options)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(local, on_dask)


# --- CLI, lake run, report, demo --------------------------------------------------------------


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture
def incidence_csv(tmp_path: Path) -> Path:
    path = tmp_path / "daily.csv"
    demo_incidence(regions=3, days=50).to_csv(path, index=False)
    return path


def test_cli_rt__writes_and_registers_result(
    tmp_path: Path, incidence_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake_dir = tmp_path / "lake"
    code, _, err = _cli(["--lake", str(lake_dir), "ingest", "table", str(incidence_csv), "--name", "daily"], capsys)
    assert code == 0, err
    out = tmp_path / "rt.parquet"
    argv = ["--lake", str(lake_dir), "publichealth", "rt", "lake:daily", "--count-col", "local", "--by", "region"]
    argv += ["--imported-col", "imported", "--si-mean", "4.8", "--si-sd", "2.3", "--window", "10", "--out", str(out)]
    code, _, err = _cli([*argv, "-q"], capsys)
    assert code == 0, err
    result = pd.read_parquet(out)
    expected = estimate_rt(
        incidence_csv, count_col="local", imported_col="imported", by=["region"], si_mean=4.8, si_sd=2.3, window=10
    )
    pd.testing.assert_frame_equal(result, expected)
    assert list(result.columns) == ["region", "t_start", "t_end", "date_start", "date_end", *RT_COLUMNS[2:]]
    assert len(result) == 3 * (50 - 10)
    lake = Lake.open(lake_dir)
    info = lake.info("rt")
    assert info.n_rows == len(expected)
    record = lake.run_record(info.run_id or "")
    assert record.command == "publichealth rt"
    assert record.params["method"] == "parametric_si"


@pytest.mark.parametrize(
    ("rows", "extra", "message"),
    [
        ("A,2024-01-01,1\nA,2024-01-01,2\n", [], "{bad}: series region=A: duplicated date 2024-01-01"),
        ("A,2024-01-01,1\nA,2024-01-02,-2\n", [], "{bad}: series region=A: negative count (-2) at date 2024-01-02"),
        ("A,2024-01-01,1\nA,2024-01-02,2\n", ["--si-distr", "{si0}"], "{si0}: line 2: the SI distribution must start"),
        ("A,2024-01-01,1\nA,2024-01-02,2\n", ["--si-distr", "{si1}"], "{si1}: the SI probabilities must sum to 1"),
    ],
)
def test_cli_rt__bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: str, extra: list[str], message: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("region,date,count\n" + rows)
    si0 = tmp_path / "si0.csv"
    si0.write_text("w\n0.1\n0.9\n")
    si1 = tmp_path / "si1.csv"
    si1.write_text("w\n0\n0.5\n0.45\n")
    names = {"bad": bad, "si0": si0, "si1": si1}
    si = [e.format(**names) for e in extra] or ["--si-mean", "2.6", "--si-sd", "1.5"]
    out = tmp_path / "x.csv"
    argv = ["--lake", str(tmp_path / "lake"), "publichealth", "rt", str(bad), "--by", "region", "--window", "1"]
    code, _, err = _cli([*argv, *si, "--out", str(out), "-q"], capsys)
    assert code == 2
    assert err.startswith(f"error: {message.format(**names)}")
    assert err.count("\n") == 1
    assert not out.exists()
    assert not Lake.open(tmp_path / "lake").names()


def test_cli_rt__negative_imported_count_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,count,imp\n2024-01-01,1,0\n2024-01-02,2,-1\n")
    argv = ["--lake", str(tmp_path / "lake"), "publichealth", "rt", str(bad), "--imported-col", "imp", "--window", "1"]
    code, _, err = _cli([*argv, "--si-mean", "2", "--si-sd", "1", "--out", str(tmp_path / "x.csv")], capsys)
    assert code == 2
    assert err == f"error: {bad}: column 'imp': the series: negative count (-1) at date 2024-01-02\n"


def _charts(section: object) -> list[dict[str, object]]:
    from biolake.report.html import _Chart

    return [json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart)]  # type: ignore[attr-defined]


def test_report_section__rt_run_has_latest_table_and_band_chart(tmp_path: Path, incidence_csv: Path) -> None:
    from biolake.report.runs import build_run_report

    lake = Lake.open(tmp_path / "lake")
    run_id, name = rt_job(
        lake,
        incidence_csv,
        out=tmp_path / "rt.csv",
        count_col="local",
        imported_col="imported",
        by=["region"],
        si_mean=4.8,
        si_sd=2.3,
    )
    report = build_run_report(lake, run_id)
    section = next(s for s in report.sections if s.title == "publichealth rt")
    assert [s.title for s in section.subsections] == ["Latest R_t per series", "R_t over time"]
    spec = _charts(section)[0]
    assert spec["facet"]["field"] == "series"  # type: ignore[index]
    marks = [layer["mark"]["type"] for layer in spec["spec"]["layer"]]  # type: ignore[index]
    assert marks == ["area", "line", "rule"]
    rows = next(iter(spec["datasets"].values()))  # type: ignore[union-attr]
    assert {row["series"] for row in rows} == {"R01", "R02", "R03"}
    assert len(rows) == 3 * (50 - 7)
    assert name == "rt"


def test_demo_step__estimates_rt(tmp_path: Path) -> None:
    from biolake.lake.progress import NullProgress
    from biolake.report.demo import _STEPS
    from biolake.report.sections import publichealth_rt as sections

    assert any(step is sections._rt_demo for _, step in _STEPS)
    lake = Lake.open(tmp_path / "lake")
    run_ids = sections._rt_demo(lake, tmp_path, NullProgress())
    assert [lake.run_record(r).command for r in run_ids] == ["ingest table", "publichealth rt"] * 2
    res = lake.sql("SELECT t_end, mean_r FROM flu2009_rt ORDER BY t_end")  # real data (EpiEstim's Flu2009)
    assert len(res) == 32 - 7
    assert len(lake.sql("SELECT t_end FROM sars2003_rt")) == 107 - 7  # values: tests/publichealth/test_demo_realdata.py
    pd.testing.assert_frame_equal(demo_incidence(regions=2, days=30), demo_incidence(regions=2, days=30))
