"""Lesion classification (``imaging classify``) against independent scikit-learn and hand computations.

References computed in the tests (independent of biolake's code paths):

* metrics: ``sklearn.metrics.roc_auc_score``, ``average_precision_score``, ``brier_score_loss``,
  ``accuracy_score``, ``recall_score``; calibration intercept/slope by an unpenalised scikit-learn
  ``LogisticRegression(C=inf)`` of ``y`` on ``logit(p)`` (what ``rms::val.prob`` fits), and
  calibration-in-the-large by solving ``Σ y − expit(a + logit p) = 0`` with ``scipy.optimize.brentq``;
* out-of-fold probabilities: ``sklearn.model_selection.cross_val_predict`` with a pipeline built
  here and ``StratifiedKFold(5, shuffle=True, random_state=seed)``;
* data: the Wisconsin Diagnostic Breast Cancer set bundled with scikit-learn (CC BY 4.0).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from scipy.special import expit, logit
from sklearn import metrics as skm
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from biolake.cli import main
from biolake.errors import InputError
from biolake.imaging.classify import (
    FEATURES_WDBC,
    breast_cancer_table,
    classification_metrics,
    load_classifier,
    stratified_folds,
    train_classifier,
)
from biolake.lake import Lake


def _cli(*args: object) -> int:
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0


def test_classification_metrics__equal_sklearn_and_an_unpenalised_recalibration_fit():
    rng = np.random.default_rng(7)
    n = 400
    p = np.round(rng.uniform(0.02, 0.98, n), 2)  # ties on purpose
    y = (rng.uniform(size=n) < p**1.3).astype(int)
    m = classification_metrics(y, p, n_boot=0).set_index("metric")["estimate"]
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-12)
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, p), abs=1e-12)
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, p), abs=1e-12)
    hit = (p >= 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, hit), abs=1e-12)
    assert m["sensitivity"] == pytest.approx(skm.recall_score(y, hit), abs=1e-12)
    assert m["specificity"] == pytest.approx(skm.recall_score(1 - y, 1 - hit), abs=1e-12)
    lr = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(logit(p)[:, None], y)
    assert m["calibration_intercept"] == pytest.approx(lr.intercept_[0], abs=1e-7)
    assert m["calibration_slope"] == pytest.approx(lr.coef_[0, 0], abs=1e-7)
    large = brentq(lambda a: np.sum(y - expit(a + logit(p))), -5, 5, xtol=1e-14)
    assert m["calibration_in_the_large"] == pytest.approx(large, abs=1e-8)
    assert m["prevalence"] == y.mean() and m["n"] == n


def test_classification_metrics__bootstrap_interval_brackets_the_estimate():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=200)
    y = (rng.uniform(size=200) < p).astype(int)
    m = classification_metrics(y, p, n_boot=100, seed=1).set_index("metric")
    auc = m.loc["roc_auc"]
    assert auc.ci_lower < auc.estimate < auc.ci_upper
    assert 0.05 < auc.ci_upper - auc.ci_lower < 0.3  # ≈ 4 × the Hanley–McNeil SE (~0.03) at AUC ≈ 0.8, n = 200


def test_stratified_folds__partition_rows_with_class_balance_kept():
    y = np.r_[np.ones(23), np.zeros(77)].astype(int)
    folds = stratified_folds(y, k=5, seed=4)
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(100))  # every row tested exactly once
    for tr, te in folds:
        assert set(tr).isdisjoint(te) and len(tr) + len(te) == 100
        assert y[te].sum() in (4, 5)  # 23 cases over 5 folds: floor/ceil of 4.6
        assert len(te) == 20
    with pytest.raises(InputError, match="fewer than the 5"):
        stratified_folds(np.r_[np.ones(3), np.zeros(50)].astype(int), k=5, seed=0)


def test_train_classifier__out_of_fold_probabilities_equal_sklearn_cross_val_predict():
    table = breast_cancer_table()
    feats = FEATURES_WDBC[:10]
    fit = train_classifier(table, target="diagnosis", features=feats, positive="malignant", cv=5, seed=11, bootstrap=0)
    y = (table["diagnosis"] == "malignant").astype(int).to_numpy()
    ref = cross_val_predict(
        make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000)),
        table[feats].to_numpy(),
        y,
        cv=StratifiedKFold(5, shuffle=True, random_state=11),
        method="predict_proba",
    )[:, 1]
    oof = fit.cv_predictions
    np.testing.assert_allclose(oof["probability"].to_numpy(), ref[oof["row"].to_numpy() - 1], atol=1e-9)
    assert fit.classes == ["benign", "malignant"]
    auc = fit.metrics.set_index("metric").loc["roc_auc", "estimate"]
    assert auc == pytest.approx(skm.roc_auc_score(y, ref), abs=1e-12)


@pytest.mark.parametrize(
    ("model", "reference"),
    [
        ("rf", lambda: RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=1)),
        ("gbm", lambda: HistGradientBoostingClassifier(max_depth=3, early_stopping=False, random_state=0)),
    ],
)
def test_train_classifier__tree_models_equal_sklearn_on_a_subset(model, reference):
    table = breast_cancer_table().iloc[::3].reset_index(drop=True)  # 190 masses, quick
    feats = ["mean_radius", "mean_texture", "worst_concave_points", "worst_area"]
    fit = train_classifier(table, target="diagnosis", features=feats, model=model, positive="malignant", cv=3)
    y = (table["diagnosis"] == "malignant").astype(int).to_numpy()
    with threadpool_limits(limits=1):  # the machine's cores are shared: no OpenMP oversubscription
        ref = cross_val_predict(
            reference(), table[feats].to_numpy(), y, cv=StratifiedKFold(3, shuffle=True, random_state=0),
            method="predict_proba",
        )[:, 1]  # fmt: skip
    np.testing.assert_allclose(fit.cv_predictions["probability"].to_numpy(), ref, atol=1e-9)
    assert fit.metrics.set_index("metric").loc["roc_auc", "estimate"] > 0.95


def test_train_classifier__bad_targets_and_features_are_input_errors():
    table = breast_cancer_table().head(60)
    with pytest.raises(InputError, match="give --positive"):
        train_classifier(table, target="diagnosis", features=["mean_radius"])
    with pytest.raises(InputError, match="not a value"):
        train_classifier(table, target="diagnosis", features=["mean_radius"], positive="cancer")
    bad = table.assign(mean_radius=table["mean_radius"].astype(object))
    bad.loc[7, "mean_radius"] = "n/a"
    with pytest.raises(InputError, match="not numeric") as err:
        train_classifier(bad, target="diagnosis", features=["mean_radius"], positive="malignant")
    assert "record 8" in str(err.value) or "line 8" in str(err.value) or ":8" in str(err.value)


def test_classify__cli_on_breast_cancer_train_predict_round_trip_and_column_checks(tmp_path, capsys):
    table = breast_cancer_table()
    data = tmp_path / "wdbc.csv"
    table.to_csv(data, index=False)
    lake_dir = tmp_path / "lake"
    model = tmp_path / "wdbc.joblib"
    base = ["--lake", lake_dir, "--quiet", "imaging", "classify"]
    code = _cli(*base, "train", "--features", data, "--target", "diagnosis", "--positive", "malignant", "--all",
                "--id", "case", "--model", "logistic", "--bootstrap", "20", "--out", model)  # fmt: skip
    assert code == 0, capsys.readouterr().err
    meta = json.loads((tmp_path / "wdbc.joblib.json").read_text())
    assert meta["features"] == FEATURES_WDBC and meta["classes"] == ["benign", "malignant"]
    lake = Lake.open(lake_dir)
    oof = lake.to_pandas("wdbc_cv_predictions")
    auc = {m["metric"]: m["estimate"] for m in meta["metrics"]}["roc_auc"]
    assert auc == pytest.approx(skm.roc_auc_score(oof["y"], oof["probability"]), abs=1e-12)
    assert auc > 0.98  # logistic regression on WDBC: cross-validated AUC ≈ 0.99 in the literature
    assert oof["case"].tolist() == table["case"].tolist()
    from biolake.report.runs import build_run_report

    html = build_run_report(lake, lake.info("wdbc_metrics").run_id).to_html()
    assert "ROC curve" in html and "Calibration" in html and "calibration_slope" in html
    # round trip: the saved model equals the same pipeline fitted by scikit-learn on every row
    y = (table["diagnosis"] == "malignant").astype(int)
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000)).fit(table[FEATURES_WDBC], y)
    out = tmp_path / "pred.csv"
    assert _cli(*base, "predict", model, "--features", data, "--out", out) == 0
    pred = pd.read_csv(out)
    np.testing.assert_allclose(pred["probability"], ref.predict_proba(table[FEATURES_WDBC])[:, 1], atol=1e-9)
    assert pred["case"].tolist() == table["case"].tolist()
    assert set(pred["predicted"]) == {"benign", "malignant"}
    payload = load_classifier(model)
    np.testing.assert_allclose(
        payload["estimator"].predict_proba(table[FEATURES_WDBC].to_numpy())[:, 1], pred["probability"], atol=1e-12
    )
    # other columns: a missing feature, or (model trained with --all) an unknown column
    table.drop(columns=["worst_area"]).to_csv(tmp_path / "fewer.csv", index=False)
    capsys.readouterr()
    assert _cli(*base, "predict", model, "--features", tmp_path / "fewer.csv", "--out", out) == 2
    assert "missing model feature column(s): worst_area" in capsys.readouterr().err
    table.assign(shape_sphericity=1.0).to_csv(tmp_path / "more.csv", index=False)
    assert _cli(*base, "predict", model, "--features", tmp_path / "more.csv", "--out", out) == 2
    assert "shape_sphericity" in capsys.readouterr().err
    with pytest.raises(InputError, match="not a biolake imaging classifier"):
        load_classifier(data)
