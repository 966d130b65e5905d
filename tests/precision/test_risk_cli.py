"""``biolake precision risk train|predict``: commands, model file, CV schemes, errors, report."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.lake import Lake
from biolake.precision.risk import train_job

DATA = Path(__file__).resolve().parents[1] / "data" / "precision" / "risk"
BW = DATA / "birthwt.csv"
LUNG = DATA / "lung_risk.csv"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def _train(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    argv = ["--lake", str(tmp_path / "lake"), "precision", "risk", "train", "-q", "--bootstrap", "10", *args]
    code, _, err = _cli(argv, capsys)
    return code, err


def _predict(tmp_path: Path, capsys: pytest.CaptureFixture[str], model: Path, data: Path, out: Path) -> tuple[int, str]:
    argv = ["--lake", str(tmp_path / "lake"), "precision", "risk", "predict", str(model), "--data", str(data)]
    code, _, err = _cli([*argv, "--out", str(out), "-q"], capsys)
    return code, err


def test_train_predict__logistic_round_trip_matches_glm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """R: ``glm(low ~ age + lwt + race + smoke + ptl + ht + ui + ftv, binomial, birthwt)``
    (``birthwt_glm.csv``): predicted risk = plogis(X β_R); contribution of age = β_age (age − mean age)."""
    model = tmp_path / "bw.joblib"
    code, err = _train(tmp_path, capsys, "--data", str(BW), "--target", "low", "--all", "--model", "logistic")
    assert code == 2 and "--out" in err  # --out is required
    code, err = _train(
        tmp_path, capsys, "--data", str(BW), "--target", "low", "--all", "--model", "logistic", "--out", str(model)
    )
    assert code == 0, err
    meta = json.loads(Path(str(model) + ".json").read_text())
    assert meta["features"] == ["age", "lwt", "race", "smoke", "ptl", "ht", "ui", "ftv"]
    assert meta["data_sha256"] == "sha256:" + hashlib.sha256(BW.read_bytes()).hexdigest()
    assert meta["preprocessing"]["features"][2]["levels"] == ["black", "other", "white"]
    metrics = {m["metric"]: m for m in meta["metrics"]}
    assert metrics["roc_auc"]["ci_lower"] < metrics["roc_auc"]["estimate"] < metrics["roc_auc"]["ci_upper"]
    assert {"pr_auc", "brier", "calibration_intercept", "calibration_slope"} <= set(metrics)
    assert "scikit-learn" in meta["versions"]
    out = tmp_path / "pred.csv"
    code, err = _predict(tmp_path, capsys, model, BW, out)
    assert code == 0, err
    pred = pd.read_csv(out)
    bw = pd.read_csv(BW)
    beta = pd.read_csv(DATA / "birthwt_glm.csv")["coef"].to_numpy()
    x = np.column_stack(
        [np.ones(len(bw)), bw["age"], bw["lwt"], bw["race"] == "other", bw["race"] == "white"]
        + [bw[c] for c in ("smoke", "ptl", "ht", "ui", "ftv")]
    ).astype(float)
    np.testing.assert_allclose(pred["linear_predictor"], x @ beta, atol=1e-8)
    np.testing.assert_allclose(pred["risk"], 1 / (1 + np.exp(-(x @ beta))), atol=1e-8)
    np.testing.assert_allclose(pred["contribution_age"], beta[1] * (bw["age"] - bw["age"].mean()), atol=1e-8)
    parts = pred.filter(like="contribution_").sum(axis=1)
    np.testing.assert_allclose(pred["baseline"] + parts, pred["linear_predictor"], atol=1e-12)


def test_train_predict__rsf_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--model rsf`` on lung: the predicted risk is the forest's ensemble mortality (the forest
    itself is tested against ranger in tests/stats/test_rsf_ranger.py); rows with a missing
    feature get no prediction; out-of-fold Harrell's C in the range ranger reaches on lung
    (0.60–0.62 on held-out rows, see lung_forest_summary.csv); permutation importances kept;
    per-patient SHAP contributions add up to the risk."""
    from biolake.stats.rsf import survival_forest

    model = tmp_path / "rsf.joblib"
    feats = ["age", "sex", "ph.ecog", "ph.karno"]
    args = ["--data", str(LUNG), "--target", "status", "--time", "time", "--model", "rsf", "--cv", "3"]
    code, err = _train(tmp_path, capsys, *args, "--features", ",".join(feats), "--out", str(model))
    assert code == 0, err
    meta = json.loads(Path(str(model) + ".json").read_text())
    metrics = {m["metric"]: m["estimate"] for m in meta["metrics"]}
    assert 0.55 < metrics["harrell_c"] < 0.7
    assert any(k.startswith("integrated_brier@") for k in metrics)
    assert set(meta["permutation_importance"]) == set(feats)
    assert meta["params"] == {"n_trees": 500, "min_node_size": 3, "mtry": 2}
    out = tmp_path / "rsf.csv"
    code, err = _predict(tmp_path, capsys, model, LUNG, out)
    assert code == 0, err
    pred = pd.read_csv(out)
    lung = pd.read_csv(LUNG)
    ok = lung[[*feats, "time", "status"]].notna().all(axis=1).to_numpy()
    assert pred["risk"].isna().to_numpy().tolist() == (~lung[feats].notna().all(axis=1)).tolist()
    forest = survival_forest(
        lung.loc[ok, feats].to_numpy(float),
        lung.loc[ok, "time"].to_numpy(float),
        lung.loc[ok, "status"].to_numpy(),
        seed=0,
    )
    have = lung[feats].notna().all(axis=1).to_numpy()
    np.testing.assert_allclose(pred["risk"][have], forest.mortality(lung.loc[have, feats].to_numpy(float)), rtol=1e-12)
    # SHAP values of the mortality (shap is a test dependency): they add up to the prediction
    parts = pred.loc[have, [f"contribution_{c}" for c in feats]].sum(axis=1)
    np.testing.assert_allclose(pred.loc[have, "baseline"] + parts, pred.loc[have, "risk"], rtol=1e-10)


def test_train_predict__cox_lp_matches_coxph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """R: ``predict(coxph(Surv(time, status) ~ age + sex + ph.ecog + ph.karno, lung), type = "lp")``."""
    model = tmp_path / "cox.joblib"
    args = ["--data", str(LUNG), "--target", "status", "--time", "time", "--model", "cox"]
    code, err = _train(tmp_path, capsys, *args, "--features", "age,sex,ph.ecog,ph.karno", "--out", str(model))
    assert code == 0, err
    meta = json.loads(Path(str(model) + ".json").read_text())
    names = [m["metric"] for m in meta["metrics"]]
    assert names[:2] == ["harrell_c", "uno_c"] and any(n.startswith("time_auc@") for n in names)
    assert any(n.startswith("integrated_brier@") for n in names)
    out = tmp_path / "lp.parquet"
    code, err = _predict(tmp_path, capsys, model, LUNG, out)
    assert code == 0, err
    pred = pd.read_parquet(out)
    ref = pd.read_csv(DATA / "lung_predictions.csv")
    np.testing.assert_allclose(pred["linear_predictor"], ref["lp"], atol=1e-10)
    np.testing.assert_allclose(pred["risk"], np.exp(ref["lp"]), rtol=1e-10)
    lung = pd.read_csv(LUNG)
    coef = pd.read_csv(DATA / "lung_cox.csv").set_index("term")["coef"]
    for col in ("age", "ph.ecog"):
        np.testing.assert_allclose(pred[f"contribution_{col}"], coef[col] * (lung[col] - lung[col].mean()), atol=1e-10)
    np.testing.assert_allclose(pred["baseline"], 0.0, atol=1e-12)
    import biolake.report.sections  # noqa: F401
    from biolake.report.runs import build_run_report

    lake = Lake.open(tmp_path / "lake")
    run_id = next(r.id for r in lake.runs() if r.command == "precision risk train")
    assert "Time-dependent AUC" in build_run_report(lake, run_id).to_html()


def test_predict__missing_or_extra_columns_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "m.joblib"
    code, err = _train(
        tmp_path, capsys, "--data", str(BW), "--target", "low", "--all", "--model", "logistic", "--out", str(model)
    )
    assert code == 0, err
    bw = pd.read_csv(BW)
    fewer = tmp_path / "fewer.csv"
    bw.drop(columns=["race", "ftv"]).to_csv(fewer, index=False)
    code, err = _predict(tmp_path, capsys, model, fewer, tmp_path / "p.csv")
    assert code == 2
    assert "race, ftv" in err and len(err.strip().splitlines()) == 1
    extra = tmp_path / "extra.csv"
    bw.assign(bmi=1.0).to_csv(extra, index=False)
    code, err = _predict(tmp_path, capsys, model, extra, tmp_path / "p.csv")
    assert code == 2 and "bmi" in err and len(err.strip().splitlines()) == 1
    unseen = tmp_path / "unseen.csv"
    bw.assign(race=bw["race"].replace("other", "asian")).to_csv(unseen, index=False)
    code, err = _predict(tmp_path, capsys, model, unseen, tmp_path / "p.csv")
    assert code == 2 and "'asian'" in err and "race" in err
    assert not (tmp_path / "p.csv").exists()


def test_train__bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--data", str(BW), "--out", str(tmp_path / "m.joblib")]
    code, err = _train(tmp_path, capsys, *base, "--target", "low", "--all", "--model", "rsf")
    assert code == 2 and "needs --time" in err
    code, err = _train(tmp_path, capsys, *base, "--target", "lwt", "--features", "age", "--model", "logistic")
    assert code == 2 and "0 or 1" in err
    code, err = _train(tmp_path, capsys, *base, "--target", "low", "--model", "logistic")
    assert code == 2 and "--all" in err
    args = ["--target", "low", "--all", "--model", "logistic", "--group", "race", "--temporal", "age"]
    code, err = _train(tmp_path, capsys, *base, *args)
    assert code == 2 and "not both" in err
    code, err = _train(tmp_path, capsys, *base, "--target", "low", "--features", "age,bmi", "--model", "gbm")
    assert code == 2 and "bmi" in err
    code, err = _train(tmp_path, capsys, *base, "--target", "low", "--all", "--model", "lasso", "--missing", "zero")
    assert code == 2 and "missing" in err
    assert not (tmp_path / "m.joblib").exists()


@pytest.fixture
def clinical() -> pd.DataFrame:
    from biolake.report.sections.precision_risk import demo_clinical_cohort

    frame = demo_clinical_cohort(600)
    frame["site"] = [f"S{i % 23}" for i in range(len(frame))]
    frame["visit"] = np.arange(len(frame))[::-1]
    return frame


FEATS = ["age", "sex", "sbp", "cholesterol", "smoker", "diabetes"]


def test_train__grouped_cv_keeps_groups_in_one_fold(tmp_path: Path, clinical: pd.DataFrame) -> None:
    lake = Lake.open(tmp_path / "lake", create=True)
    csv = tmp_path / "c.csv"
    clinical.to_csv(csv, index=False)
    run_id, meta = train_job(
        lake, csv, out=tmp_path / "g.joblib", target="cvd_5y", model="logistic", features=FEATS,
        group="site", missing="median", bootstrap=0,
    )  # fmt: skip
    assert meta["cv"]["scheme"] == "stratified-group"
    oof = lake.to_pandas(next(n for n in lake.run_record(run_id).outputs if n.endswith("cv_predictions")))
    assert len(oof) == len(clinical)  # median imputation: every row predicted
    folds_per_site = oof.assign(site=clinical["site"].to_numpy()[oof["row"] - 1]).groupby("site")["fold"].nunique()
    assert (folds_per_site == 1).all()


def test_train__temporal_split_predicts_later_rows(tmp_path: Path, clinical: pd.DataFrame) -> None:
    lake = Lake.open(tmp_path / "lake", create=True)
    csv = tmp_path / "c.csv"
    clinical.to_csv(csv, index=False)
    run_id, _ = train_job(
        lake, csv, out=tmp_path / "t.joblib", target="cvd_5y", model="logistic", features=FEATS,
        temporal="visit", cv=3, bootstrap=0,
    )  # fmt: skip
    oof = lake.to_pandas(next(n for n in lake.run_record(run_id).outputs if n.endswith("cv_predictions")))
    kept = clinical.dropna(subset=FEATS).reset_index(drop=True)
    visit = kept["visit"].to_numpy()[oof["row"] - 1]
    assert len(oof) == len(kept) - len(np.array_split(np.arange(len(kept)), 4)[0])  # first block not predicted
    assert visit.min() > np.sort(kept["visit"])[len(kept) // 4 - 1]
    by_fold = pd.Series(visit).groupby(oof["fold"].to_numpy()).agg(["min", "max"])
    assert (by_fold["min"].to_numpy()[1:] > by_fold["max"].to_numpy()[:-1]).all()


def test_train__nested_cv_lasso_and_indicator(tmp_path: Path, clinical: pd.DataFrame) -> None:
    lake = Lake.open(tmp_path / "lake", create=True)
    csv = tmp_path / "c.csv"
    clinical.to_csv(csv, index=False)
    model = tmp_path / "l.joblib"
    _, meta = train_job(
        lake, csv, out=model, target="cvd_5y", model="lasso", features=FEATS, missing="indicator",
        nested_cv=True, cv=3, bootstrap=0,
    )  # fmt: skip
    assert "cholesterol_missing" in meta["design_columns"]
    assert meta["preprocessing"]["scale"] is True
    grid = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
    assert all(f["C"] in grid for f in meta["cv"]["fold_params"]) and meta["params"]["C"] in grid
    from biolake.precision.risk import predict_job

    out = tmp_path / "p.csv"
    predict_job(lake, model, csv, out=out)
    pred = pd.read_csv(out)
    assert pred["risk"].notna().all()
    parts = pred.filter(like="contribution_").sum(axis=1)
    np.testing.assert_allclose(pred["baseline"] + parts, pred["linear_predictor"], atol=1e-12)


def test_predict__gbm_contributions(tmp_path: Path, clinical: pd.DataFrame) -> None:
    """SHAP values (when shap is installed) add up to the log-odds; otherwise only permutation importances."""
    lake = Lake.open(tmp_path / "lake", create=True)
    csv = tmp_path / "c.csv"
    clinical.to_csv(csv, index=False)
    model = tmp_path / "g.joblib"
    _, meta = train_job(lake, csv, out=model, target="cvd_5y", model="gbm", features=FEATS, cv=3, bootstrap=0)
    assert set(meta["permutation_importance"]) == set(meta["design_columns"])
    from biolake.precision.risk import predict_job
    from biolake.precision.risk.models import import_shap

    out = tmp_path / "p.csv"
    predict_job(lake, model, csv, out=out)
    pred = pd.read_csv(out)
    missing = clinical["cholesterol"].isna().to_numpy()
    assert pred["risk"][missing].isna().all() and pred["risk"][~missing].notna().all()  # missing = drop
    np.testing.assert_allclose(pred["risk"][~missing], 1 / (1 + np.exp(-pred["linear_predictor"][~missing])))
    if import_shap() is None:
        assert "baseline" not in pred.columns
    else:
        parts = pred.filter(like="contribution_").sum(axis=1)
        np.testing.assert_allclose((pred["baseline"] + parts)[~missing], pred["linear_predictor"][~missing], atol=1e-8)


def test_report__risk_section_has_calibration_and_decision_curve(tmp_path: Path) -> None:
    import biolake.report.sections  # noqa: F401
    from biolake.lake.progress import NullProgress
    from biolake.report.runs import build_run_report
    from biolake.report.sections.precision_risk import _risk_demo

    lake = Lake.open(tmp_path / "lake", create=True)
    (tmp_path / "data").mkdir()
    [run_id] = _risk_demo(lake, tmp_path / "data", NullProgress())
    html = build_run_report(lake, run_id).to_html()
    for text in ("Calibration", "Decision curve", "ROC curve", "Precision–recall curve"):
        assert text in html
    meta = json.loads((tmp_path / "data" / "cvd_logistic.joblib.json").read_text())
    auc = {m["metric"]: m["estimate"] for m in meta["metrics"]}["roc_auc"]
    assert 0.65 < auc < 0.9  # simulated with strong effects
