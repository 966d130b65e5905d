"""``biolake publichealth rates`` and ``two-by-two`` on the command line: results, lake runs, errors, report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from biolake.lake import Lake
from biolake.publichealth.rates import rates, two_by_two

DATA = Path(__file__).resolve().parents[1] / "data" / "publichealth" / "rates"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_cli_rates__direct_writes_and_registers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake_dir = tmp_path / "lake"
    out = tmp_path / "adjusted.csv"
    argv = ["--lake", str(lake_dir), "publichealth", "rates", str(DATA / "fleiss_births.csv")]
    argv += ["--count-col", "count", "--population-col", "population", "--by", "birth_order"]
    argv += ["--age-col", "age_group", "--standard", str(DATA / "fleiss_standard.csv"), "--out", str(out), "-q"]
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    got = pd.read_csv(out, dtype={"birth_order": str})
    ref = pd.read_csv(DATA / "fleiss_direct_reference.csv", dtype={"birth_order": str})
    pd.testing.assert_series_equal(got["adj_rate"], ref["adj_rate"] * 1e5, rtol=1e-9)
    lake = Lake.open(lake_dir)
    info = lake.info("adjusted")
    assert info.n_rows == 5
    record = lake.run_record(info.run_id or "")
    assert record.command == "publichealth rates"
    assert record.params["method"] == "direct"
    from biolake.report.html import _Chart
    from biolake.report.runs import build_run_report

    section = next(s for s in build_run_report(lake, info.run_id or "").sections if s.title == "publichealth rates")
    spec = next(json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart))  # type: ignore[attr-defined]
    rows = next(iter(spec["datasets"].values()))
    assert [r["group"] for r in rows] == ["1", "2", "3", "4", "5+"]
    assert rows[0]["adj_rate"] == pytest.approx(ref["adj_rate"][0] * 1e5, rel=1e-9)


def test_cli_rates__indirect_log_normal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "smr.parquet"
    argv = ["--lake", str(tmp_path / "lake"), "publichealth", "rates", str(DATA / "selvin_us1940.csv")]
    argv += ["--count-col", "deaths", "--population-col", "population", "--age-col", "age_group"]
    argv += ["--standard", str(DATA / "selvin_us1960_standard.csv"), "--method", "indirect", "--smr-ci", "log-normal"]
    code, _, err = _cli([*argv, "--per", "1", "--out", str(out), "-q"], capsys)
    assert code == 0, err
    got = pd.read_parquet(out).iloc[0]
    ref = pd.read_csv(DATA / "selvin_reference.csv").iloc[0]
    assert got["smr_lower"] == pytest.approx(ref["smr_lower_lognormal"], rel=1e-9)
    assert got["ci_upper"] == pytest.approx(ref["ind_upper_lognormal"], rel=1e-9)


def _bad(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        (
            "region,cases,pop\nA,3,100\nB,x,200\n",
            [],
            "record 2: column cases: count 'x' is not a number",
        ),
        (
            "region,cases,pop\nA,3,100\nB,2,-200\n",
            [],
            "record 2: column pop: population -200 must be > 0",
        ),
        (
            "region,cases,pop\nA,3,100\nB,2.5,200\n",
            [],
            "record 2: column cases: count 2.5 is not a whole number",
        ),
        (
            "region,cases,people\nA,3,100\n",
            [],
            "no column 'pop' (columns: region, cases, people)",
        ),
    ],
)
def test_cli_rates__bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, options: list[str], message: str
) -> None:
    bad = _bad(tmp_path, text)
    out = tmp_path / "x.csv"
    argv = ["--lake", str(tmp_path / "lake"), "publichealth", "rates", str(bad), "--count-col", "cases"]
    code, _, err = _cli([*argv, "--population-col", "pop", "--by", "region", *options, "--out", str(out)], capsys)
    assert code == 2
    assert err == f"error: {bad}: {message}\n"
    assert not out.exists()
    assert not Lake.open(tmp_path / "lake").names()


def test_rates__negative_population_with_indirect_is_an_error(tmp_path: Path) -> None:
    from biolake.errors import InputError

    df = pd.DataFrame({"age": ["a", "b"], "n": [1, 2], "pop": [10.0, -5.0]})
    std = pd.DataFrame({"age": ["a", "b"], "population": [100, 100], "count": [1, 1]})
    with pytest.raises(InputError, match="population -5 is negative"):
        rates(df, count_col="n", population_col="pop", age_col="age", standard=std, method="indirect")


def test_rates__age_group_missing_from_a_group_is_an_error() -> None:
    from biolake.errors import InputError

    df = pd.DataFrame({"g": ["x", "x", "y"], "age": ["a", "b", "a"], "n": [1, 2, 3], "pop": [10, 10, 10]})
    std = pd.DataFrame({"age": ["a", "b"], "population": [100, 100]})
    with pytest.raises(InputError, match="no row for age group 'b' of group g=y"):
        rates(df, count_col="n", population_col="pop", by=["g"], age_col="age", standard=std)


def test_cli_two_by_two__writes_table_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from biolake.report.html import _Chart
    from biolake.report.runs import build_run_report

    lake_dir = tmp_path / "lake"
    out = tmp_path / "oswego_2x2.csv"
    argv = ["--lake", str(lake_dir), "publichealth", "two-by-two", str(DATA / "oswego.csv")]
    argv += ["--exposure", "vanilla.ice.cream,spinach", "--outcome", "ill", "--strata", "sex", "--out", str(out), "-q"]
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    got = pd.read_csv(out, keep_default_na=False, na_values=[""])
    expected = two_by_two(DATA / "oswego.csv", exposure=["vanilla.ice.cream", "spinach"], outcome="ill", strata="sex")
    assert got["stratum"].tolist() == expected["stratum"].tolist()
    pd.testing.assert_series_equal(got["estimate"], expected["estimate"], rtol=1e-12)
    lake = Lake.open(lake_dir)
    run_id = lake.info("oswego_2x2").run_id or ""
    section = next(s for s in build_run_report(lake, run_id).sections if s.title == "publichealth two-by-two")
    charts = [json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart)]  # type: ignore[attr-defined]
    assert len(charts) == 1
    rows = next(iter(charts[0]["datasets"].values()))
    # finite ratios only: the male vanilla stratum has an empty cell (estimate inf)
    assert len(rows) == 2 * 2 * 4 - 2


def test_cli_two_by_two__unrecognized_binary_value_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _bad(tmp_path, "e,o\n1,yes\n0,maybe\n")
    argv = ["--lake", str(tmp_path / "lake"), "publichealth", "two-by-two", str(bad), "--exposure", "e"]
    code, _, err = _cli([*argv, "--outcome", "o", "--out", str(tmp_path / "x.csv")], capsys)
    assert code == 2
    assert err.startswith(f"error: {bad}: record 2: column o: value 'maybe' is not a recognized binary value")
    assert err.count("\n") == 1
