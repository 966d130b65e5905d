"""``biolake precision signals`` on the command line, as a lake run, in a report and in the demo."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from biolake.lake import Lake
from biolake.lake.progress import NullProgress
from biolake.precision.signals import signals, signals_job
from biolake.precision.signals.simulate import synthetic_reports, write_faers

COLUMNS = [
    "drug",
    "event",
    "n",
    "expected",
    "prr",
    "prr_chi2",
    "ror",
    "ror_lo",
    "ror_hi",
    "ic",
    "ic025",
    "ebgm",
    "eb05",
    "eb95",
    "signal",
]


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture(scope="module")
def faers_folder(tmp_path_factory) -> Path:
    return write_faers(synthetic_reports(reports=1500), tmp_path_factory.mktemp("faers"))


def test_signals_command__writes_csv_and_registers(tmp_path, faers_folder, capsys):
    """The CLI's CSV equals signals() (same code path; columns as the issue's Interface), registered in the lake."""
    out = tmp_path / "pv.csv"
    code, _, err = _cli(
        ["--lake", str(tmp_path / "lake"), "precision", "signals", str(faers_folder), "--out", str(out)], capsys
    )
    assert code == 0, err
    got = pd.read_csv(out)
    assert list(got.columns) == COLUMNS
    expected, _ = signals(faers_folder)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-12)
    lake = Lake.open(tmp_path / "lake")
    info = lake.info("pv")
    assert info.n_rows == len(expected)
    assert lake.run_record(info.run_id or "").command == "precision signals"


def test_signals_command__bad_input_exits_2(tmp_path, capsys):
    """A long table with a missing drug: one line naming file, line and column; exit 2; nothing written."""
    bad = tmp_path / "rows.csv"
    bad.write_text("id,var1,var2\n1,A,x\n2,,y\n")
    out = tmp_path / "x.csv"
    code, _, err = _cli(["--lake", str(tmp_path / "lake"), "precision", "signals", str(bad), "--out", str(out)], capsys)
    assert code == 2
    assert err == f"error: {bad}: line 3: column var1: missing value\n"
    assert not out.exists()
    assert not Lake.open(tmp_path / "lake").names()


def test_signals_command__bad_option_exits_2(tmp_path, faers_folder, capsys):
    """--stratify with an unknown FAERS variable is a one-line error (check_param's message)."""
    code, _, err = _cli(
        [
            "--lake",
            str(tmp_path / "lake"),
            "precision",
            "signals",
            str(faers_folder),
            "--stratify",
            "weight",
            "--out",
            str(tmp_path / "x.csv"),
        ],
        capsys,
    )
    assert code == 2
    assert err.startswith("error: The 'stratify' parameter of signals must be among age, sex, year; got 'weight'")


def test_signals_job__lake_table_input_and_strata(tmp_path):
    """A long table registered in the lake (lake:NAME) with strat columns gives the stratified result of the file."""
    from biolake.io import ingest_table

    rows = pd.DataFrame(
        {
            "id": [1, 1, 2, 3, 3, 4, 5, 6],
            "var1": ["A", "A", "A", "B", "B", "B", "A", "B"],
            "var2": ["x", "y", "x", "y", "z", "z", "z", "x"],
            "strat_sex": ["F", "F", "M", "F", "F", "M", "M", "F"],
        }
    )
    csv = tmp_path / "rows.csv"
    rows.to_csv(csv, index=False)
    lake = Lake.open(tmp_path / "lake")
    ingest_table(lake, csv, name="rows")
    run_id, name = signals_job(lake, "lake:rows", out=tmp_path / "pv.parquet")
    got = pd.read_parquet(tmp_path / "pv.parquet")
    expected, facts = signals(csv)
    assert facts["strata"] == ["strat_sex"]
    pd.testing.assert_frame_equal(got, expected)
    assert lake.info(name).attrs["signals"]["stratified"] is True
    assert lake.run_record(run_id).status == "ok"


def _charts(section: object) -> list[dict[str, object]]:
    from biolake.report.html import _Chart

    return [json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart)]  # type: ignore[attr-defined]


def test_report_section__top_signals_and_heat_map(tmp_path, faers_folder):
    """The report has the top-signals table (flagged pairs, EB05 decreasing) and an EBGM heat map (rect marks)."""
    from biolake.report.runs import build_run_report
    from biolake.report.sections.signals import top_signals

    lake = Lake.open(tmp_path / "lake")
    run_id, name = signals_job(lake, faers_folder, out=tmp_path / "pv.csv")
    section = next(s for s in build_run_report(lake, run_id).sections if s.title == "precision signals")
    assert [s.title for s in section.subsections] == ["Top signals", "Drug-by-event heat map"]
    top = top_signals(lake, name)
    assert len(top) > 0 and top["eb05"].is_monotonic_decreasing
    spec = _charts(section)[0]
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect", "rect"]  # type: ignore[index]
    assert spec["layer"][0]["encoding"]["color"]["field"] == "ebgm"  # type: ignore[index]


def test_demo_step__runs_signals(tmp_path):
    """The demo step writes synthetic FAERS quarters and finds its planted pairs among the flagged ones."""
    from biolake.report.demo import _STEPS
    from biolake.report.sections import signals as sections

    assert any(step is sections._signals_demo for _, step in _STEPS)
    lake = Lake.open(tmp_path / "lake")
    [run_id] = sections._signals_demo(lake, tmp_path, NullProgress())
    assert lake.run_record(run_id).command == "precision signals"
    flagged = lake.sql("SELECT drug, event FROM faers_signals WHERE signal AND eb05 >= 2")
    found = set(zip(flagged["drug"], flagged["event"], strict=True))
    assert set(synthetic_reports().planted) <= found
