"""Lesion classification from radiomics features (``biolake imaging classify train|predict``).

A binary classifier (scikit-learn) on a feature table — typically the output of ``imaging
radiomics`` (one row per image, mask and label) joined with a diagnosis column — validated by
stratified K-fold cross-validation:

* models: ``logistic`` — L2-penalised logistic regression (``C = 1``, lbfgs) on standardised
  features (radiomics features are strongly correlated: an unpenalised fit is unstable);
  ``rf`` — random forest (200 trees, unscaled features); ``gbm`` — ``HistGradientBoostingClassifier`` (depth 3,
  rate 0.1, no early stopping, so fits are reproducible). Every model is seeded;
* folds: ``StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)`` on the target — the
  same scheme as ``precision risk train``; the scaler is fitted inside each training fold;
* metrics on the pooled out-of-fold probabilities, from :mod:`biolake.stats.metrics` (the
  formulas ``precision risk`` uses, checked there against R ``pROC``/``rms::val.prob``):
  ``roc_auc``, ``pr_auc`` (average precision), ``brier``, ``calibration_intercept`` and
  ``calibration_slope`` (``rms::val.prob``: ``logit P(y) = a + b·logit(p)``; out-of-fold
  probabilities of exactly 0 or 1, common with random forests, are left out as val.prob does),
  ``calibration_in_the_large``, then ``accuracy``, ``sensitivity`` and ``specificity`` at
  probability 0.5, with 95 % percentile-bootstrap intervals (``--bootstrap`` resamples), and
  ``prevalence`` and ``n``.

The model file (``--out MODEL``) is a joblib pickle ``{"format": "biolake-imaging-classifier",
"version": 1, "estimator": …, "meta": …}`` with the JSON sidecar ``MODEL.json`` (features,
classes, metrics, per-fold sizes, the training table's SHA-256, package versions). Only load
model files you trust (pickle).

Public example set: :func:`breast_cancer_table` — the Wisconsin Diagnostic Breast Cancer data
(569 breast masses, 30 features computed from digitised fine-needle-aspirate images, 212
malignant; Street, Wolberg & Mangasarian 1993; UCI, CC BY 4.0) as bundled with scikit-learn.

Examples
--------
>>> table = breast_cancer_table()
>>> fit = train_classifier(table, target="diagnosis", features=FEATURES_WDBC[:10], model="logistic",
...                        positive="malignant", cv=5, seed=0, bootstrap=0)
>>> round(float(fit.metrics.set_index("metric").loc["roc_auc", "estimate"]), 3)
0.985
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError, check_param
from biolake.io.modelfile import load_model_file, save_model_file
from biolake.stats import metrics as mt

__all__ = [
    "FEATURES_WDBC",
    "FORMAT",
    "KEY_COLUMNS",
    "METRICS",
    "MODELS",
    "ClassifierFit",
    "breast_cancer_table",
    "classification_metrics",
    "load_classifier",
    "make_estimator",
    "predict_classifier",
    "run_classify_predict",
    "run_classify_train",
    "stratified_folds",
    "train_classifier",
]

FORMAT = "biolake-imaging-classifier"
MODELS = ("logistic", "rf", "gbm")
KEY_COLUMNS = ("image", "mask", "label")
"""Identifier columns of a radiomics table: never features, carried into the predictions."""
METRICS = (
    *mt.BINARY_METRICS,
    "accuracy",
    "sensitivity",
    "specificity",
)
THRESHOLD = 0.5


# --------------------------------------------------------------------------- public data set
def breast_cancer_table() -> pd.DataFrame:
    """The Wisconsin Diagnostic Breast Cancer set: ``case``, the 30 features (snake_case) and ``diagnosis``.

    ``diagnosis`` is ``malignant`` or ``benign`` (scikit-learn codes malignant as 0; here it is text).
    """
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.data.copy()
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    frame.insert(0, "case", [f"wdbc_{i + 1:03d}" for i in range(len(frame))])
    frame["diagnosis"] = np.where(data.target.to_numpy() == 0, "malignant", "benign")
    return frame


FEATURES_WDBC = [  # scikit-learn's names: "mean radius" … "radius error" … "worst radius" …
    f"{prefix}{name}{suffix}"
    for prefix, suffix in (("mean_", ""), ("", "_error"), ("worst_", ""))
    for name in (
        "radius",
        "texture",
        "perimeter",
        "area",
        "smoothness",
        "compactness",
        "concavity",
        "concave_points",
        "symmetry",
        "fractal_dimension",
    )
]


# --------------------------------------------------------------------------- kernels
def make_estimator(model: str, *, seed: int = 0) -> Any:
    """An unfitted scikit-learn estimator for ``model`` (see the module)."""
    check_param("make_estimator", "model", model, model in MODELS, f"one of {', '.join(MODELS)}")
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if model == "logistic":
        from sklearn.linear_model import LogisticRegression

        est = LogisticRegression(C=1.0, max_iter=5000)
    elif model == "rf":
        from sklearn.ensemble import RandomForestClassifier

        est = RandomForestClassifier(n_estimators=200, random_state=seed, n_jobs=1)
    else:
        from sklearn.ensemble import HistGradientBoostingClassifier

        est = HistGradientBoostingClassifier(max_depth=3, learning_rate=0.1, early_stopping=False, random_state=seed)
    steps = [("scale", StandardScaler())] if model == "logistic" else []  # trees do not need (or want) scaling
    return Pipeline([*steps, ("model", est)])


def stratified_folds(y: np.ndarray, *, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test row indices of a shuffled stratified K-fold split of the binary ``y``."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y).astype(int)
    counts = np.bincount(y, minlength=2)
    if counts.min() < k:
        raise InputError(f"{counts.min()} row(s) of one class: fewer than the {k} cross-validation folds", file="--cv")
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros(len(y)), y))


def _values(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    hit = p >= THRESHOLD
    pos = y == 1
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = float(np.sum(hit & pos) / np.sum(pos)) if pos.any() else np.nan
        spec = float(np.sum(~hit & ~pos) / np.sum(~pos)) if (~pos).any() else np.nan
    return np.r_[mt.binary_metric_values(y, p), float(np.mean(hit == pos)), sens, spec]


def classification_metrics(y: np.ndarray, p: np.ndarray, *, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """``metric estimate ci_lower ci_upper``: :data:`METRICS` with bootstrap intervals, then prevalence and n."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    est = _values(y, p)
    if n_boot:
        lo, hi = mt.bootstrap_ci(_values, y, p, n_boot=n_boot, seed=seed)
    else:
        lo = hi = np.full(len(est), np.nan)
    rows = [
        {"metric": m, "estimate": float(est[k]), "ci_lower": float(lo[k]), "ci_upper": float(hi[k])}
        for k, m in enumerate(METRICS)
    ]
    rows.append({"metric": "prevalence", "estimate": float(np.mean(y)), "ci_lower": np.nan, "ci_upper": np.nan})
    rows.append({"metric": "n", "estimate": float(len(y)), "ci_lower": np.nan, "ci_upper": np.nan})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- validated wrapper
@dataclass
class ClassifierFit:
    """A trained classifier: the estimator fitted on every usable row, out-of-fold results, metrics."""

    estimator: Any
    features: list[str]
    classes: list[Any]
    """``[negative, positive]`` as they appear in the target column."""
    cv_predictions: pd.DataFrame
    """``row fold y probability`` (row: 1-based row of the input table), plus the key columns present."""
    metrics: pd.DataFrame
    folds: list[dict[str, int]]
    rows_used: int


def _binary_target(values: pd.Series, positive: Any, source: str, column: str) -> tuple[np.ndarray, list[Any]]:
    """0/1 coding of the target (NaN where missing) and ``[negative, positive]``."""
    present = values.dropna()
    levels = list(pd.unique(present))
    if positive is not None:
        names = [str(v) for v in levels]
        if str(positive) not in names:
            raise InputError(f"--positive {positive!r} is not a value of the target ({', '.join(names)})", file=source)
        if len(levels) != 2:
            raise InputError(f"the target has {len(levels)} distinct values; a binary target has 2", file=source)
        pos = levels[names.index(str(positive))]
        neg = levels[1 - names.index(str(positive))]
    else:
        numeric = pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
        if not numeric or not set(present.astype(float).unique()) <= {0.0, 1.0}:
            shown = ", ".join(map(str, levels[:5]))
            raise InputError(
                f"the target column {column!r} is not coded 0/1 (values: {shown}); give --positive VALUE",
                file=source,
            )
        if len(levels) != 2:
            raise InputError(f"the target column {column!r} holds one class only", file=source)
        pos, neg = 1, 0
    y = np.full(len(values), np.nan)
    ok = values.notna().to_numpy()
    y[ok] = np.asarray([str(v) == str(pos) for v in values[ok]], dtype=float)
    as_py = lambda v: v.item() if hasattr(v, "item") else v  # noqa: E731
    return y, [as_py(neg), as_py(pos)]


def _numeric_features(frame: pd.DataFrame, features: Sequence[str], source: str) -> np.ndarray:
    for col in features:
        if not (pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col])):
            bad = pd.to_numeric(frame[col], errors="coerce").isna() & frame[col].notna()
            i = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else 0
            raise InputError(
                f"feature column {col!r} is not numeric (value {frame[col].iloc[i]!r})",
                file=source,
                record=i + 1,
                column=col,
            )
    return frame[list(features)].to_numpy(dtype=float)


def train_classifier(
    frame: pd.DataFrame,
    *,
    target: str,
    features: Sequence[str],
    model: str = "logistic",
    positive: Any = None,
    cv: int = 5,
    seed: int = 0,
    bootstrap: int = 200,
    source: str = "table",
    progress: Callable[[int], None] | None = None,
) -> ClassifierFit:
    """Cross-validate and fit a classifier on ``frame`` (see the module).

    Rows with a missing target or feature value are left out (``rows_used`` says how many remain).
    """
    fn = "train_classifier"
    check_param(fn, "model", model, model in MODELS, f"one of {', '.join(MODELS)}")
    check_param(fn, "cv", cv, isinstance(cv, int) and not isinstance(cv, bool) and cv >= 2, "an integer >= 2")
    check_param(fn, "seed", seed, isinstance(seed, int) and not isinstance(seed, bool), "an integer")
    check_param(fn, "bootstrap", bootstrap, isinstance(bootstrap, int) and bootstrap >= 0, "an integer >= 0")
    features = list(dict.fromkeys(features))
    missing = [c for c in (target, *features) if c not in frame.columns]
    if missing:
        raise InputError(f"no column(s) {', '.join(map(repr, missing))} in the table", file=source)
    if target in features:
        raise InputError(f"the target {target!r} is also a feature", file="--features-cols")
    if not features:
        raise InputError("no feature columns", file="--features-cols")
    y_all, classes = _binary_target(frame[target], positive, source, target)
    x_all = _numeric_features(frame, features, source)
    keep = ~np.isnan(y_all) & ~np.isnan(x_all).any(axis=1)
    rows = np.flatnonzero(keep)
    if len(rows) == 0:
        raise InputError("no rows left after dropping rows with missing values", file=source)
    x, y = x_all[rows], y_all[rows].astype(int)
    from threadpoolctl import threadpool_limits

    folds = stratified_folds(y, k=cv, seed=seed)
    prob = np.empty(len(y))
    fold_id = np.empty(len(y), dtype=np.int64)
    sizes = []
    with threadpool_limits(limits=1):
        for i, (tr, te) in enumerate(folds, start=1):
            est = make_estimator(model, seed=seed).fit(x[tr], y[tr])
            prob[te] = est.predict_proba(x[te])[:, 1]
            fold_id[te] = i
            sizes.append({"fold": i, "train": len(tr), "test": len(te), "test_positive": int(y[te].sum())})
            if progress is not None:
                progress(1)
        final = make_estimator(model, seed=seed).fit(x, y)
    if progress is not None:
        progress(1)
    oof = pd.DataFrame({"row": rows + 1, "fold": fold_id, "y": y, "probability": prob})
    for key in KEY_COLUMNS:
        if key in frame.columns and key != target and key not in features:
            oof[key] = frame[key].to_numpy()[rows]
    metrics = classification_metrics(y, prob, n_boot=bootstrap, seed=seed)
    return ClassifierFit(final, features, classes, oof, metrics, sizes, len(rows))


def predict_classifier(estimator: Any, frame: pd.DataFrame, features: Sequence[str], *, source: str) -> np.ndarray:
    """Probability of the positive class per row (NaN where a feature is missing)."""
    x = _numeric_features(frame, features, source)
    prob = np.full(len(x), np.nan)
    ok = ~np.isnan(x).any(axis=1)
    if ok.any():
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            prob[ok] = estimator.predict_proba(x[ok])[:, 1]
    return prob


# --------------------------------------------------------------------------- lake runs
def _spec(table: Any) -> str:
    spec = str(table)
    if not spec.startswith("lake:") and not Path(spec).is_file():
        raise InputError("no such file (a lake table is lake:NAME)", file=spec)
    return spec


def read_table(lake: Any, spec: str) -> pd.DataFrame:
    """A feature table from a CSV/TSV/Parquet file or ``lake:NAME``."""
    if spec.startswith("lake:"):
        if lake is None or not lake.exists(spec[5:]):
            raise InputError("no such lake dataset", file=spec)
        info = lake.info(spec[5:])
        if info.kind != "table":
            raise InputError(f"dataset {info.name!r} is an array, not a table", file=spec)
        return lake.to_pandas(info.name)
    from biolake.io.table import table_format

    fmt, delimiter = table_format(spec)
    try:
        if fmt == "parquet":
            return pd.read_parquet(spec)
        return pd.read_csv(spec, sep=delimiter or ",")
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read the table: {str(exc).splitlines()[0]}", file=spec) from None


def _versions() -> dict[str, str]:
    import sklearn

    return {"python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def load_classifier(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a model file written by :func:`run_classify_train` (a trusted joblib pickle)."""
    p = Path(path)
    payload = load_model_file(p, what="imaging classifier file")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError("not a biolake imaging classifier file", file=str(p))
    if payload.get("version") != 1:
        raise InputError(f"model file version {payload.get('version')} is not supported (1)", file=str(p))
    return payload


def run_classify_train(
    lake: Any,
    table: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    target: str,
    features: Sequence[str] | None = None,
    all_features: bool = False,
    model: str = "logistic",
    positive: str | None = None,
    id_cols: Sequence[str] = (),
    cv: int = 5,
    seed: int = 0,
    bootstrap: int = 200,
    progress: Any = None,
) -> tuple[str, dict[str, Any]]:
    """The ``imaging classify train`` job: cross-validate, fit and write the model file.

    Parameters
    ----------
    lake
        The lake; the run registers ``<stem>_cv_predictions`` and ``<stem>_metrics``.
    table
        Feature table: a CSV/TSV/Parquet file or ``lake:NAME`` (e.g. ``imaging radiomics`` output
        joined with the diagnosis).
    out
        The model file (joblib); ``<out>.json`` is its sidecar.
    target
        The outcome column: 0/1, or two values with ``positive`` naming the positive one.
    features, all_features
        The feature columns, or every column except the target, ``image mask label`` and ``id_cols``.
    model
        ``logistic``, ``rf`` or ``gbm``.
    cv, seed, bootstrap
        Folds (≥ 2); seed of folds, models and bootstrap; bootstrap resamples (0: no intervals).

    Returns
    -------
    tuple
        The run id and the model's metadata (the sidecar's content).
    """
    from biolake.lake.progress import NullProgress

    fn = "run_classify_train"
    check_param(fn, "model", model, model in MODELS, f"one of {', '.join(MODELS)}")
    check_param(fn, "target", target, isinstance(target, str) and bool(target), "a column name")
    if (not features) == (not all_features):
        raise InputError("give either --features-cols a,b,… or --all", file="--features-cols")
    spec = _spec(table)
    frame = read_table(lake, spec)
    reserved = {target, *KEY_COLUMNS, *id_cols}
    if all_features:
        feats = [c for c in frame.columns if c not in reserved]
    else:
        feats = list(dict.fromkeys(features or []))
        clash = [c for c in feats if c in (target, *id_cols)]
        if clash:
            raise InputError(f"feature(s) {', '.join(map(repr, clash))} are the target or id columns", file=spec)
    params = {
        "table": spec,
        "out": str(out),
        "target": target,
        "positive": positive,
        "features": feats,
        "all": all_features,
        "id_cols": list(id_cols),
        "model": model,
        "cv": cv,
        "seed": seed,
        "bootstrap": bootstrap,
    }
    with lake.run("imaging classify train", params=params, inputs=[spec]) as run:
        digest = lake.info(spec[5:]).source_hash if spec.startswith("lake:") else run.hash_input(spec)
        with (progress or NullProgress()).task(f"{model}: {cv}-fold cross-validation", total=cv + 1) as task:
            fit = train_classifier(
                frame,
                target=target,
                features=feats,
                model=model,
                positive=positive,
                cv=cv,
                seed=seed,
                bootstrap=bootstrap,
                source=spec,
                progress=task.advance,
            )
        for col in id_cols:
            if col in frame.columns:
                fit.cv_predictions[col] = frame[col].to_numpy()[fit.cv_predictions["row"].to_numpy() - 1]
        meta = _jsonable(
            {
                "format": FORMAT,
                "version": 1,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "run_id": run.id,
                "model": model,
                "features": fit.features,
                "all_features": all_features,
                "target": target,
                "classes": fit.classes,
                "id_cols": list(id_cols),
                "threshold": THRESHOLD,
                "table": spec,
                "table_sha256": digest,
                "rows_read": len(frame),
                "rows_used": fit.rows_used,
                "cv": {"folds": cv, "scheme": "stratified", "seed": seed, "fold_sizes": fit.folds},
                "metrics": fit.metrics.to_dict(orient="records"),
                "bootstrap": bootstrap,
                "versions": _versions(),
            }
        )
        import pyarrow as pa

        stem = Path(str(out)).name.split(".")[0] or "model"
        taken: set[str] = set()
        for kind, data in (("cv_predictions", fit.cv_predictions), ("metrics", fit.metrics)):
            name = lake.result_name(f"{stem}_{kind}", taken=taken)
            taken.add(name)
            stage = run.table(name, attrs={"table": kind, "model": model, "file": str(Path(str(out)).resolve())})
            stage.write(pa.Table.from_pandas(data, preserve_index=False))
        save_model_file(
            Path(str(out)), {"format": FORMAT, "version": 1, "estimator": fit.estimator, "meta": meta}, meta=meta
        )
    return run.id, meta


def run_classify_predict(
    lake: Any,
    model_file: str | os.PathLike[str],
    table: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
) -> tuple[str, pd.DataFrame]:
    """The ``imaging classify predict`` job.

    Output columns: ``row`` (1-based row of the table), the key columns ``image mask label`` and
    the model's id columns when present, ``probability`` (of the positive class) and
    ``predicted`` (the positive class when ``probability ≥ 0.5``, else the negative one; empty
    where a feature is missing). The table must hold every feature column of the model; a model
    trained with ``--all`` also refuses columns it was not trained on (other than the target,
    key and id columns), so a table of different features is never scored silently.
    """
    from biolake.lake.tables import result_format

    result_format(Path(out))
    payload = load_classifier(model_file)
    meta = payload["meta"]
    spec = _spec(table)
    frame = read_table(lake, spec)
    feats = list(meta["features"])
    absent = [c for c in feats if c not in frame.columns]
    if absent:
        shown = ", ".join(absent[:8]) + (f" … ({len(absent)} in all)" if len(absent) > 8 else "")
        raise InputError(f"missing model feature column(s): {shown}", file=spec)
    if meta.get("all_features"):
        allowed = {*feats, meta["target"], *KEY_COLUMNS, *meta.get("id_cols", [])}
        extra = [c for c in frame.columns if c not in allowed]
        if extra:
            raise InputError(
                f"column(s) not in the model (trained with --all on another column set): {', '.join(extra[:8])}",
                file=spec,
            )
    params = {"model": str(model_file), "table": spec, "out": str(out)}
    with lake.run("imaging classify predict", params=params, inputs=[spec]) as run:
        if not spec.startswith("lake:"):
            run.hash_input(spec)
        prob = predict_classifier(payload["estimator"], frame, feats, source=spec)
        result = pd.DataFrame({"row": np.arange(1, len(frame) + 1)})
        for col in (*KEY_COLUMNS, *meta.get("id_cols", [])):
            if col in frame.columns and col not in result.columns:
                result[col] = frame[col].to_numpy()
        neg, pos = meta["classes"]
        result["probability"] = prob
        labels = np.where(prob >= meta.get("threshold", THRESHOLD), pos, neg).astype(object)
        labels[np.isnan(prob)] = None
        result["predicted"] = pd.array(labels.tolist(), dtype="string" if isinstance(pos, str) else "Int64")
        name = run.result(result, out)
        run.annotate(name, attrs={"table": "predictions", "model": meta["model"], "model_file": str(model_file)})
    return run.id, result
