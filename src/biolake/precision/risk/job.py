"""``precision risk train`` and ``precision risk predict`` as lake runs, and the model file.

The model file (``--out MODEL``) is a joblib pickle of ``{"format": "biolake-risk-model",
"version": 1, "preprocessor": …, "model": …, "meta": …}`` with a JSON sidecar ``MODEL.json``
holding ``meta``: features, outcome columns, model and hyper-parameters, preprocessing, the
training data's SHA-256, the cross-validation scheme, per-fold parameters, metrics with
bootstrap intervals, and package versions. Only load model files you trust (pickle).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from biolake.errors import InputError, check_param
from biolake.io.modelfile import load_model_file, save_model_file
from biolake.lake.progress import NullProgress, Progress
from biolake.precision.risk.models import MODELS, SURVIVAL_MODELS, FittedModel, import_shap
from biolake.precision.risk.preprocess import MISSING, Preprocessor
from biolake.precision.risk.validate import (
    Outcome,
    binary_metrics,
    cross_validate,
    fit_pipeline,
    splits,
    survival_metrics,
    tune,
)
from biolake.precision.survival._data import _numeric, load_columns

__all__ = ["FORMAT", "load_model", "predict_job", "train_job"]

FORMAT = "biolake-risk-model"


def _spec(data: Any) -> str:
    spec = str(data)
    if not spec.startswith("lake:") and not Path(spec).is_file():
        spec = f"lake:{spec}"
    return spec


def table_columns(spec: str, lake: Any) -> list[str]:
    """The column names of a file or lake table."""
    if spec.startswith("lake:"):
        if lake is None or not lake.exists(spec[5:]):
            raise InputError("no such file or lake dataset", file=spec)
        return list(lake.info(spec[5:]).schema)
    import duckdb

    from biolake.io.table import table_format

    fmt, delim = table_format(Path(spec))
    rel = (
        f"read_parquet('{spec}')"
        if fmt == "parquet"
        else f"read_csv('{spec}', delim='{delim or ','}', header=true, sample_size=-1, nullstr=['', 'NA'])"
    )
    try:
        with duckdb.connect(":memory:") as con:
            return [d[0] for d in con.sql(f"SELECT * FROM {rel} LIMIT 0").description]
    except duckdb.Error as exc:
        raise InputError(" ".join(str(exc).split())[:300], file=spec) from None


def _versions() -> dict[str, str]:
    import sklearn

    import biolake

    out = {
        "python": platform.python_version(),
        "biolake": getattr(biolake, "__version__", "unknown"),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
    }
    shap = import_shap()
    if shap is not None:
        out["shap"] = shap.__version__
    return out


def _binary_target(frame: pd.DataFrame, col: str, source: str) -> np.ndarray:
    y = _numeric(frame, col, source, "target")
    bad = ~np.isnan(y) & (y != 0) & (y != 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"target must be 0 or 1; got {y[i]:g}", file=source, record=i + 1, column=col)
    return y


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


def train_job(
    lake: Any,
    data: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    target: str,
    model: str,
    features: Sequence[str] | None = None,
    all_features: bool = False,
    time: str | None = None,
    event: str | None = None,
    cv: int = 5,
    group: str | None = None,
    temporal: str | None = None,
    missing: str = "drop",
    nested_cv: bool = False,
    seed: int = 0,
    bootstrap: int = 200,
    progress: Progress | None = None,
) -> tuple[str, dict[str, Any]]:
    """Train a risk model with cross-validation (``precision risk train``).

    Parameters
    ----------
    lake
        The lake; the run records the out-of-fold predictions and the metrics table.
    data
        Patients: a CSV/TSV/Parquet file or a lake table (``lake:NAME``).
    out
        The model file (joblib); ``<out>.json`` is its sidecar.
    target
        Binary outcome column (0/1) for ``logistic``, ``lasso`` and ``gbm``; for ``cox`` the
        event column when ``event`` is not given.
    model
        ``logistic``, ``lasso``, ``gbm``, ``cox`` or ``rsf`` (see :mod:`biolake.precision.risk.models`).
    features, all_features
        The feature columns, or every column except the outcome, group and temporal ones.
    time, event
        Survival outcome (``cox``): follow-up time and event (1 = event, 0 = censored).
    cv
        Folds (≥ 2).
    group, temporal
        Keep each group's rows in one fold; or split by time order (see
        :mod:`biolake.precision.risk.validate`). Not both.
    missing
        ``drop``, ``mean``, ``median`` or ``indicator`` (see :mod:`biolake.precision.risk.preprocess`).
    nested_cv
        Choose hyper-parameters (lasso ``C``; gbm ``max_depth``, ``learning_rate``) by inner CV.
    seed
        Seed of the fold assignment, the models and the bootstrap.
    bootstrap
        Bootstrap resamples for the metrics' 95 % intervals (0: none).
    progress
        Where to report progress (one step per fold and one for the final fit).

    Returns
    -------
    tuple
        The run id and the model's metadata (the sidecar's content).

    Examples
    --------
    >>> run_id, meta = train_job(lake, "patients.csv", out="risk.joblib", target="event",
    ...                          model="logistic", features=["age", "sex"])  # doctest: +SKIP
    """
    fn = "train_job"
    check_param(fn, "model", model, model in MODELS, f"one of {', '.join(MODELS)}")
    check_param(fn, "missing", missing, missing in MISSING, f"one of {', '.join(MISSING)}")
    check_param(fn, "cv", cv, isinstance(cv, int) and not isinstance(cv, bool) and cv >= 2, "an integer >= 2")
    check_param(fn, "seed", seed, isinstance(seed, int) and not isinstance(seed, bool), "an integer")
    check_param(fn, "bootstrap", bootstrap, isinstance(bootstrap, int) and bootstrap >= 0, "an integer >= 0")
    check_param(fn, "target", target, isinstance(target, str) and bool(target), "a column name")
    if group and temporal:
        raise InputError("give --group or --temporal, not both", file="--temporal")
    if (features is None or not list(features)) == (not all_features):
        raise InputError("give either --features a,b,… or --all", file="--features")
    survival = model in SURVIVAL_MODELS
    if survival:
        if not time:
            raise InputError(
                f"model {model!r} needs --time (and --event, or --target as the event column)", file="--time"
            )
        event = event or target
    elif time or event:
        raise InputError(f"--time/--event are for survival models (cox, rsf); model {model!r} is binary", file="--time")
    spec = _spec(data)
    outcome_cols = [time, event] if survival else [target]
    reserved = {c for c in (*outcome_cols, target, group, temporal) if c}
    if all_features:
        feats = [c for c in table_columns(spec, lake) if c not in reserved]
    else:
        feats = list(dict.fromkeys(features or []))
        clash = [c for c in feats if c in reserved]
        if clash:
            raise InputError(
                f"feature(s) {', '.join(map(repr, clash))} are outcome, group or time columns", file="--features"
            )
    if not feats:
        raise InputError("no feature columns", file="--features")
    columns = list(dict.fromkeys([*outcome_cols, *feats, *(c for c in (group, temporal) if c)]))
    params = {
        "data": spec,
        "out": str(out),
        "target": target,
        "time": time,
        "event": event,
        "features": feats,
        "all": all_features,
        "model": model,
        "cv": cv,
        "group": group,
        "temporal": temporal,
        "missing": missing,
        "nested_cv": nested_cv,
        "seed": seed,
        "bootstrap": bootstrap,
    }
    with lake.run("precision risk train", params=params, inputs=[spec]) as run:
        if spec.startswith("lake:"):
            digest = lake.info(spec[5:]).source_hash
        else:
            digest = run.hash_input(spec)
        frame, source = load_columns(spec, columns, lake=lake)
        n_input = len(frame)
        if survival:
            t = _numeric(frame, time, source, "time")
            e = _numeric(frame, event, source, "event")
            keep = ~(np.isnan(t) | np.isnan(e))
            bad = keep & ~np.isin(e, (0, 1))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InputError(f"event must be 0 or 1; got {e[i]:g}", file=source, record=i + 1, column=event)
            if (t[keep] < 0).any():
                raise InputError("time must be >= 0", file=source, column=time)
        else:
            y = _binary_target(frame, target, source)
            keep = ~np.isnan(y)
        if missing == "drop":
            keep &= ~frame[feats].isna().any(axis=1).to_numpy()
        for col in (group, temporal):
            if col:
                keep &= frame[col].notna().to_numpy()
        frame = frame.loc[keep].reset_index(drop=True)
        outcome = Outcome(time=t[keep], event=e[keep].astype(np.int8)) if survival else Outcome(y=y[keep].astype(int))
        if len(frame) == 0:
            raise InputError("no rows left after dropping rows with missing values", file=source)
        groups = frame[group].astype(str).to_numpy() if group else None
        order_col = None
        if temporal:
            tv = frame[temporal]
            try:
                order_col = pd.to_datetime(tv).to_numpy() if not pd.api.types.is_numeric_dtype(tv) else tv.to_numpy()
            except (ValueError, TypeError) as exc:
                raise InputError(
                    f"temporal column must hold numbers or dates ({exc})", file=source, column=temporal
                ) from None
        folds = splits(outcome, k=cv, seed=seed, groups=groups, temporal=order_col)
        with (progress or NullProgress()).task(f"{model}: {cv}-fold cross-validation", total=cv + 1) as task:
            oof, fold_params, surv = cross_validate(
                frame,
                outcome,
                kind=model,
                features=feats,
                missing=missing,
                folds=folds,
                nested=nested_cv,
                k=cv,
                seed=seed,
                progress=task.advance,
            )
            final_params = (
                tune(frame, outcome, kind=model, features=feats, missing=missing, k=cv, seed=seed)
                if nested_cv and model in ("lasso", "gbm")
                else None
            )
            pre, fitted = fit_pipeline(
                frame, outcome, kind=model, features=feats, missing=missing, params=final_params, seed=seed
            )
            task.advance(1)
        idx = oof["row"].to_numpy() - 1
        if survival:
            metrics = survival_metrics(
                outcome.time[idx],
                outcome.event[idx],
                oof["linear_predictor"].to_numpy(),
                surv,
                n_boot=bootstrap,
                seed=seed,
            )
            oof["time"] = outcome.time[idx]
            oof["event"] = outcome.event[idx].astype(int)
        else:
            metrics = binary_metrics(outcome.y[idx], oof["risk"].to_numpy(), n_boot=bootstrap, seed=seed)
            oof["y"] = outcome.y[idx]
        meta: dict[str, Any] = {
            "format": FORMAT,
            "version": 1,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "run_id": run.id,
            "model": model,
            "params": fitted.params,
            "features": feats,
            "all_features": all_features,
            "target": target,
            "time": time,
            "event": event,
            "group": group,
            "temporal": temporal,
            "design_columns": pre.columns,
            "preprocessing": pre.to_dict(),
            "data": spec,
            "data_sha256": digest,
            "rows_read": n_input,
            "rows_used": len(frame),
            "cv": {
                "folds": cv,
                "scheme": "temporal" if temporal else "stratified-group" if group else "stratified",
                "nested": nested_cv,
                "seed": seed,
                "fold_params": fold_params,
            },
            "metrics": metrics.to_dict(orient="records"),
            "bootstrap": bootstrap,
            "versions": _versions(),
        }
        if fitted.coef is not None:
            meta["coefficients"] = dict(zip(pre.columns, fitted.coef.tolist(), strict=True))
            if model != "cox":
                meta["intercept"] = fitted.intercept
        if model == "gbm":
            meta["permutation_importance"] = _importance(pre, fitted, frame, outcome, seed)
        elif model == "rsf":
            meta["permutation_importance"] = _survival_importance(pre, fitted, frame, outcome, seed)
        meta = _jsonable(meta)
        stem = Path(str(out)).name.split(".")[0] or "model"
        taken: set[str] = set()
        for kind, table in (("cv_predictions", oof), ("metrics", metrics)):
            name = lake.result_name(f"{stem}_{kind}", taken=taken)
            taken.add(name)
            stage = run.table(name, attrs={"table": kind, "model": model, "file": str(Path(str(out)).resolve())})
            stage.write(pa.Table.from_pandas(table, preserve_index=False))
        save_model_file(
            Path(str(out)),
            {"format": FORMAT, "version": 1, "preprocessor": pre.to_dict(), "model": fitted, "meta": meta},
            meta=meta,
        )
    return run.id, meta


def _importance(pre: Preprocessor, fitted: FittedModel, frame: pd.DataFrame, outcome: Outcome, seed: int) -> dict:
    from sklearn.inspection import permutation_importance
    from threadpoolctl import threadpool_limits

    x, ok = pre.transform(frame, check=False)
    with threadpool_limits(limits=1 if len(x) < 50_000 else None):
        res = permutation_importance(
            fitted.estimator, x[ok], outcome.y[ok], scoring="roc_auc", n_repeats=5, random_state=seed
        )
    return dict(zip(pre.columns, res.importances_mean.tolist(), strict=True))


def _survival_importance(
    pre: Preprocessor, fitted: FittedModel, frame: pd.DataFrame, outcome: Outcome, seed: int, n_repeats: int = 5
) -> dict:
    """Mean decrease of Harrell's C (training rows) when one design column is permuted."""
    from biolake.precision.survival.concordance import concordance_index

    x, ok = pre.transform(frame, check=False)
    x, t, e = x[ok], outcome.time[ok], outcome.event[ok]
    base = concordance_index(t, e, fitted.risk(x))["concordance"]
    rng = np.random.default_rng(seed)
    out = {}
    for j, col in enumerate(pre.columns):
        drops = []
        for _ in range(n_repeats):
            xp = x.copy()
            xp[:, j] = rng.permutation(xp[:, j])
            drops.append(base - concordance_index(t, e, fitted.risk(xp))["concordance"])
        out[col] = float(np.mean(drops))
    return out


def load_model(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a model file written by :func:`train_job` (a trusted joblib pickle)."""
    p = Path(path)
    payload = load_model_file(p, what="risk model file")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError("not a biolake risk model file", file=str(p))
    if payload.get("version") != 1:
        raise InputError(f"model file version {payload.get('version')} is not supported (1)", file=str(p))
    return payload


def predict_job(
    lake: Any,
    model_file: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    progress: Progress | None = None,
) -> tuple[str, str]:
    """Per-patient risk and feature contributions (``precision risk predict``).

    The output has ``row`` (1-based row of ``data``), ``risk`` (probability, or relative hazard
    ``exp(lp)`` for Cox), ``linear_predictor``, then for linear models and for gbm with ``shap``
    installed ``baseline`` and one ``contribution_<design column>`` per design column (they sum,
    with ``baseline``, to ``linear_predictor``). Rows with a missing feature under ``missing =
    drop`` get empty values. The data must have every feature column; a model trained with
    ``--all`` also refuses extra columns (other than its outcome, group and time columns).
    """
    from biolake.lake.tables import result_format

    result_format(Path(out))
    payload = load_model(model_file)
    meta = payload["meta"]
    pre = Preprocessor.from_dict(payload["preprocessor"])
    fitted: FittedModel = payload["model"]
    spec = _spec(data)
    names = table_columns(spec, lake)
    feats = list(meta["features"])
    missing_cols = [c for c in feats if c not in names]
    if missing_cols:
        raise InputError(f"missing model feature column(s): {', '.join(missing_cols)}", file=spec)
    if meta.get("all_features"):
        allowed = set(feats) | {meta.get(k) for k in ("target", "time", "event", "group", "temporal")}
        extra = [c for c in names if c not in allowed]
        if extra:
            raise InputError(
                f"column(s) not in the model (trained with --all on a different column set): {', '.join(extra)}",
                file=spec,
            )
    params = {"model": str(model_file), "data": spec, "out": str(out)}
    with lake.run("precision risk predict", params=params, inputs=[spec]) as run:
        if not spec.startswith("lake:"):
            run.hash_input(spec)
        frame, source = load_columns(spec, feats, lake=lake)
        x, ok = pre.transform(frame, check=True, source=source)
        n = len(frame)
        risk = np.full(n, np.nan)
        lp = np.full(n, np.nan)
        risk[ok] = fitted.risk(x[ok])
        lp[ok] = fitted.linear_predictor(x[ok])
        table = {"row": np.arange(1, n + 1), "risk": risk, "linear_predictor": lp}
        contrib = fitted.contributions(x[ok]) if ok.any() else None
        if contrib is not None:
            base, values = contrib
            full_base = np.full(n, np.nan)
            full_base[ok] = base
            table["baseline"] = full_base
            for j, col in enumerate(pre.columns):
                v = np.full(n, np.nan)
                v[ok] = values[:, j]
                table[f"contribution_{col}"] = v
        name = run.result(pa.Table.from_pandas(pd.DataFrame(table), preserve_index=False), out)
        run.annotate(name, attrs={"table": "predictions", "model": meta["model"], "model_file": str(model_file)})
    return run.id, name
