"""``biolake discovery trial match``: the CLI, its errors, the lake run and the funnel report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from biolake.lake import Lake

DATA = Path(__file__).resolve().parents[1] / "data" / "discovery" / "trials"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_cli_trial_match__eligible_funnel_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """omop_tiny with match_tiny_criteria.yaml: persons 1 and 8 (hand-worked in test_trial_match.py)."""
    from biolake.report.html import _Chart
    from biolake.report.runs import build_run_report

    out, funnel = tmp_path / "eligible.csv", tmp_path / "funnel.csv"
    argv = ["--lake", str(tmp_path / "lake"), "discovery", "trial", "match", "--omop", str(DATA / "omop_tiny")]
    argv += ["--criteria", str(DATA / "match_tiny_criteria.yaml"), "--out", str(out), "--funnel", str(funnel)]
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    assert pd.read_csv(out).person_id.tolist() == [1, 8]
    f = pd.read_csv(funnel)
    assert list(f.columns) == ["criterion", "kind", "remaining", "removed"]
    assert f.remaining.tolist() == [8, 7, 6, 5, 4, 3, 2]
    lake = Lake.open(tmp_path / "lake")
    section = next(
        s for s in build_run_report(lake, lake.info("eligible").run_id).sections if s.title == "discovery trial match"
    )
    assert [s.title for s in section.subsections] == ["Attrition funnel", "Funnel chart"]
    (spec,) = [json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart)]  # type: ignore[attr-defined]
    rows = next(iter(spec["datasets"].values()))
    assert [r["remaining"] for r in rows] == [8, 7, 6, 5, 4, 3, 2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("index_date: 2020-01-01\ninclusion: [\n", "error: {crit}: line 3: not valid YAML: "),
        ("index_date: 2020-01-01\ninclusion:\n  - procedure: {concepts: [1]}\n", "needs table procedure_occurrence"),
        ("index_date: 2020-01-01\ninclusion:\n  - lab: {concepts: [1]}\n", "unknown criterion 'lab'"),
        ("- 1\n- 2\n", "expected a mapping"),
    ],
)
def test_cli_trial_match__bad_criteria_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """Bad YAML, a criterion on a table the CDM does not have, an unknown criterion: exit 2, one line, no output."""
    crit = tmp_path / "c.yaml"
    crit.write_text(text)
    out = tmp_path / "e.csv"
    argv = ["--lake", str(tmp_path / "lake"), "discovery", "trial", "match", "--omop", str(DATA / "omop_tiny")]
    code, _, err = _cli([*argv, "--criteria", str(crit), "--out", str(out)], capsys)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert message.format(crit=crit) in err
    assert not out.exists()


def test_cli_trial_match__not_a_cdm_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A directory without a person table is refused."""
    (tmp_path / "empty").mkdir()
    argv = ["--lake", str(tmp_path / "lake"), "discovery", "trial", "match", "--omop", str(tmp_path / "empty")]
    code, _, err = _cli([*argv, "--criteria", str(DATA / "match_tiny_criteria.yaml"), "--out", "e.csv"], capsys)
    assert code == 2
    assert "no person table" in err
