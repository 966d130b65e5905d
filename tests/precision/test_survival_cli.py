"""``biolake precision risk survival``: the command, the lake run, the report section and the demo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.lake import Lake
from biolake.precision.survival import COX_COLUMNS, KM_COLUMNS, coxph, kaplan_meier, survival_job

DATA = Path(__file__).resolve().parents[1] / "data" / "precision" / "survival"
LUNG = DATA / "lung.csv"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_cli_survival__cox_and_km_tables_match_r(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """R: ``coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung, robust = TRUE)`` and
    ``summary(survfit(Surv(time, status) ~ ph.ecog, data = lung))`` (no covariate is missing
    where ph.ecog is present, so the KM rows are R's)."""
    out, km = tmp_path / "cox.csv", tmp_path / "km.tsv"
    argv = ["--lake", str(tmp_path / "lake"), "precision", "risk", "survival", "--data", str(LUNG)]
    argv += ["--time", "time", "--event", "status", "--event-coding", "1,2", "--covars", "age,sex,ph.ecog"]
    code, _, err = _cli([*argv, "--group", "ph.ecog", "--out", str(out), "--km", str(km)], capsys)
    assert code == 0, err
    cox = pd.read_csv(out)
    assert tuple(cox.columns) == COX_COLUMNS
    ref = pd.read_csv(DATA / "cox_reference.csv")
    ref = ref[ref["case"] == "lung_basic"]
    assert list(cox["term"]) == ["age", "sex", "ph.ecog"]
    np.testing.assert_allclose(cox["coef"], ref["coef"], rtol=1e-10)
    np.testing.assert_allclose(cox["robust_se"], ref["robust_se"], rtol=1e-10)
    kmt = pd.read_csv(km, sep="\t", dtype={"group": str})
    assert tuple(kmt.columns) == KM_COLUMNS
    kref = pd.read_csv(DATA / "km_reference.csv", dtype={"group": str})
    kref = kref[kref["case"] == "lung_ecog"]
    assert list(kmt["group"]) == list(kref["group"])
    np.testing.assert_allclose(kmt["survival"], kref["survival"], rtol=1e-10)
    lake = Lake.open(tmp_path / "lake")
    assert set(lake.names()) >= {"cox", "km"}
    info = lake.info("cox")
    assert info.attrs["used"] == 227 and info.attrs["dropped"] == 1
    record = lake.run_record(info.run_id or "")
    assert record.command == "precision risk survival"
    assert record.params["covars"] == ["age", "sex", "ph.ecog"]


def test_cli_survival__wrong_event_coding_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cox.csv"
    argv = ["--lake", str(tmp_path / "lake"), "precision", "risk", "survival", "--data", str(LUNG)]
    code, _, err = _cli([*argv, "--time", "time", "--event", "status", "--covars", "age", "--out", str(out)], capsys)
    assert code == 2
    assert err == (
        f"error: {LUNG}: record 1: column status: event must be 0 (censored) or 1 (event); got 2 "
        "(use --event-coding 1,2 for R's 1/2 coding)\n"
    )
    assert not out.exists()
    assert not Lake.open(tmp_path / "lake").names()


def test_cli_survival__missing_column_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--lake", str(tmp_path / "lake"), "precision", "risk", "survival", "--data", str(LUNG), "--time", "time"]
    code, _, err = _cli([*argv, "--event", "dead", "--out", str(tmp_path / "x.csv")], capsys)
    assert code == 2
    assert err.startswith(f"error: {LUNG}: no column 'dead' (columns: inst, time, status,")


def test_survival_job__lake_input_and_extra_tables(tmp_path: Path) -> None:
    from biolake.io import ingest_table

    lake = Lake.open(tmp_path / "lake")
    ingest_table(lake, DATA / "veteran.csv", name="veteran")
    run_id, name = survival_job(
        lake,
        "lake:veteran",
        out=tmp_path / "vet_cox.parquet",
        time="time",
        event="status",
        covars=["trt", "celltype", "karno"],
        group="celltype",
        km_out=tmp_path / "vet_km.parquet",
        logrank_out=tmp_path / "vet_lr.csv",
        zph_out=tmp_path / "vet_zph.csv",
    )
    assert name == "vet_cox"
    cox = pd.read_parquet(tmp_path / "vet_cox.parquet")
    expected = coxph(DATA / "veteran.csv", time="time", event="status", covars=["trt", "celltype", "karno"]).table
    pd.testing.assert_frame_equal(cox, expected)
    lr = pd.read_csv(tmp_path / "vet_lr.csv")
    ref = pd.read_csv(DATA / "logrank_reference.csv").set_index("case").loc["veteran_celltype"]
    assert lr["chisq"].iloc[0] == pytest.approx(ref["chisq"], rel=1e-10)
    assert list(pd.read_csv(tmp_path / "vet_zph.csv")["term"]) == ["trt", "celltype", "karno", "GLOBAL"]
    km = pd.read_parquet(tmp_path / "vet_km.parquet")
    pd.testing.assert_frame_equal(km, kaplan_meier(DATA / "veteran.csv", time="time", event="status", group="celltype"))
    assert set(lake.names()) >= {"vet_cox", "vet_km", "vet_lr", "vet_zph"}
    assert lake.run_record(run_id).status == "ok"


def _charts(section: object) -> list[dict[str, object]]:
    from biolake.report.html import _Chart

    return [json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart)]  # type: ignore[attr-defined]


def test_report_section__survival_run_has_km_plot_and_forest(tmp_path: Path) -> None:
    from biolake.report.runs import build_run_report

    lake = Lake.open(tmp_path / "lake")
    run_id, _ = survival_job(
        lake,
        LUNG,
        out=tmp_path / "cox.csv",
        time="time",
        event="status",
        event_coding="1,2",
        covars=["age", "sex"],
        group="sex",
        km_out=tmp_path / "km.csv",
    )
    report = build_run_report(lake, run_id)
    section = next(s for s in report.sections if s.title == "precision risk survival")
    titles = [s.title for s in section.subsections]
    assert titles[:2] == ["Kaplan–Meier curves", "Cox proportional hazards (Efron ties)"]
    km_spec, forest = _charts(section)
    assert [layer["mark"]["type"] for layer in km_spec["layer"]] == ["area", "line"]  # type: ignore[index]
    assert km_spec["layer"][1]["mark"]["interpolate"] == "step-after"  # type: ignore[index]
    rows = next(iter(km_spec["datasets"].values()))  # type: ignore[union-attr]
    assert {r["group"] for r in rows} == {"1", "2"}
    assert {"time": 0.0, "survival": 1.0}.items() <= rows[0].items()
    assert forest["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"  # type: ignore[index]


def test_demo_step__survival_km_plot(tmp_path: Path) -> None:
    from biolake.lake.progress import NullProgress
    from biolake.report.demo import _STEPS
    from biolake.report.sections import precision_survival as sections

    assert any(step is sections._survival_demo for _, step in _STEPS)
    lake = Lake.open(tmp_path / "lake")
    [run_id] = sections._survival_demo(lake, tmp_path, NullProgress())
    assert lake.run_record(run_id).command == "precision risk survival"
    cox = pd.read_csv(tmp_path / "trial_cox.csv")
    hr = dict(zip(cox["term"], cox["hazard_ratio"], strict=True))
    assert 0.5 < hr["armtreatment"] < 0.75  # planted exp(-0.45) = 0.64
    assert (tmp_path / "trial_km.csv").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--km", "km.xlsx"], "error: km.xlsx: unknown output format '.xlsx': use .parquet, .csv or .tsv"),
        (["--logrank", "lr.csv"], "error: --logrank: the log-rank test needs a group column"),
        (["--event-coding", "1;2"], "error: The 'event_coding' parameter of survival_job must be two different"),
    ],
)
def test_cli_survival__bad_options_exit_2_without_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    argv = ["--lake", str(tmp_path / "lake"), "precision", "risk", "survival", "--data", str(LUNG), "--time", "time"]
    argv += ["--event", "status", "--covars", "age", "--out", str(tmp_path / "cox.csv"), *extra]
    code, _, err = _cli(argv, capsys)
    assert code == 2
    assert err.startswith(message) and err.count("\n") == 1
    assert not Lake.open(tmp_path / "lake").runs()
