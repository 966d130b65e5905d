"""Fingerprint activity models: training with scaffold-split cross-validation, library scoring.

:func:`train_model` reads an activity table (CSV/TSV with a SMILES column and either a 0/1
label or a numeric value), featurises every molecule with the library's fingerprint
(Morgan radius 2, 2048 bits by default, the same RDKit generator as
:func:`biolake.io.molecules.ingest_molecules`), cross-validates a scikit-learn model and
fits it on all the data:

* ``model="rf"``: ``RandomForestClassifier``/``Regressor`` (``n_estimators`` trees);
  ``model="gbm"``: ``HistGradientBoostingClassifier``/``Regressor`` (gradient boosting
  on binned features, far faster than the exact ``GradientBoosting*`` on 2048 bits).
* ``split="scaffold"``: folds by Bemis–Murcko scaffold (``MurckoScaffold.MurckoScaffoldSmiles``;
  acyclic molecules share the empty scaffold): scaffold groups in order of decreasing size
  (ties by scaffold SMILES) each go whole to the fold that has the fewest molecules so far,
  so no scaffold is in both a training and a test fold. ``split="random"``: shuffled
  (stratified for labels) K-fold with ``seed``.
* Metrics of the pooled out-of-fold predictions (and per fold): ROC-AUC, PR-AUC (average
  precision) and the enrichment factor at 1 % (``EF1% = (actives in the top ⌈1 %⌉ /
  that count) / (actives / n)``, ties in score by input order) for a label; RMSE and R² for
  a value.

The model file (``joblib``) holds the fitted estimator and the training fingerprints (for
the applicability domain); a JSON sidecar ``MODEL.json`` holds the features, settings,
metrics and the SHA-256 of the activity file.

:func:`score_library` scores every molecule of a library from its stored fingerprints and
flags the applicability domain: ``max_similarity`` is the largest Tanimoto similarity to a
training molecule and ``in_domain`` is ``max_similarity >= ad_threshold`` (0.35 by default).

Examples
--------
>>> from biolake.discovery.models import train_model, score_library
>>> meta = train_model(lake, "actives.csv", label_col="active", out="model.joblib")   # doctest: +SKIP
>>> meta["metrics"]["roc_auc"]                                                      # doctest: +SKIP
0.91
>>> scores = score_library(lake, "library", "model.joblib")                         # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from biolake.errors import InputError, check_param
from biolake.io.modelfile import load_model_file, save_model_file
from biolake.io.molecules import fingerprint_words, parse_fp_spec
from biolake.lake import Lake
from biolake.lake.progress import NullProgress, Progress
from biolake.stats.similarity import bulk_scores

__all__ = ["enrichment_factor", "scaffold_folds", "score_library", "train_model"]

MODEL_FORMAT = ("biolake-fp-model", 1)
_DEFAULT_AD = 0.35


# ------------------------------------------------------------------------ kernels
def enrichment_factor(y: np.ndarray, score: np.ndarray, *, fraction: float = 0.01) -> float:
    """Enrichment factor at ``fraction`` of the ranked list (ties in score by input order)."""
    y = np.asarray(y, dtype=bool)
    n = y.size
    if n == 0 or not y.any():
        return float("nan")
    top = max(1, math.ceil(fraction * n))
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")[:top]
    return float((y[order].sum() / top) / (y.sum() / n))


def scaffold_folds(scaffolds: list[str], k: int) -> np.ndarray:
    """Fold (0..k-1) of each molecule: whole scaffold groups, largest first, to the smallest fold."""
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(scaffolds):
        groups.setdefault(s, []).append(i)
    fold = np.zeros(len(scaffolds), dtype=np.int64)
    sizes = np.zeros(k, dtype=np.int64)
    for s in sorted(groups, key=lambda g: (-len(groups[g]), g)):
        f = int(np.argmin(sizes))
        fold[groups[s]] = f
        sizes[f] += len(groups[s])
    return fold


def _bits(words: np.ndarray, n_bits: int) -> np.ndarray:
    raw = np.ascontiguousarray(words, dtype="<u8").view(np.uint8)
    return np.unpackbits(raw, axis=1, bitorder="little")[:, :n_bits]


def _estimator(model: str, task: str, n_estimators: int, seed: int) -> Any:
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )

    if model == "rf":
        cls = RandomForestClassifier if task == "classification" else RandomForestRegressor
        return cls(n_estimators=n_estimators, random_state=seed, n_jobs=2)
    cls = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    return cls(max_iter=n_estimators, random_state=seed)


def _predict(est: Any, x: np.ndarray, task: str) -> np.ndarray:
    if task == "classification":
        return np.asarray(est.predict_proba(x)[:, 1], dtype=np.float64)
    return np.asarray(est.predict(x), dtype=np.float64)


def _metrics(y: np.ndarray, pred: np.ndarray, task: str) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, mean_squared_error, r2_score, roc_auc_score

    if task == "classification":
        both = 0 < y.sum() < y.size
        return {
            "roc_auc": float(roc_auc_score(y, pred)) if both else float("nan"),
            "pr_auc": float(average_precision_score(y, pred)) if both else float("nan"),
            "ef1": enrichment_factor(y, pred),
            "n": int(y.size),
            "n_active": int(y.sum()),
        }
    return {"rmse": float(np.sqrt(mean_squared_error(y, pred))), "r2": float(r2_score(y, pred)), "n": int(y.size)}


# ----------------------------------------------------------------------- reading
def _read_activities(
    path: Path, smiles_col: str, target: str, task: str, fp: str
) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """(smiles, packed fingerprints, targets, scaffolds) of an activity file; InputError on bad rows."""
    from rdkit import Chem, rdBase
    from rdkit.Chem.Scaffolds import MurckoScaffold

    if not path.is_file():
        raise InputError("no such file", file=path)
    sep = "\t" if path.name.lower().removesuffix(".gz").endswith((".tsv", ".txt")) else ","
    try:
        df = pd.read_csv(path, sep=sep, dtype={smiles_col: str})
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read the table ({' '.join(str(exc).split())})", file=path) from None
    for col in (smiles_col, target):
        if col not in df.columns:
            raise InputError(f"no column {col!r} (columns: {', '.join(map(str, df.columns))})", file=path)
    values = pd.to_numeric(df[target], errors="coerce")
    mols, scaffolds = [], []
    with rdBase.BlockLogs():
        for i, (smi, v) in enumerate(zip(df[smiles_col].tolist(), values.tolist(), strict=True)):
            line = i + 2
            mol = Chem.MolFromSmiles(smi) if isinstance(smi, str) and smi.strip() else None
            if mol is None:
                raise InputError(f"RDKit cannot read the SMILES {smi!r}", file=path, line=line)
            if not np.isfinite(v) or (task == "classification" and v not in (0, 1)):
                want = "0 or 1" if task == "classification" else "a number"
                raise InputError(f"column {target!r} must be {want}; got {df[target].iloc[i]!r}", file=path, line=line)
            mols.append(mol)
            scaffolds.append(MurckoScaffold.MurckoScaffoldSmiles(mol=mol))
    if len(mols) < 10:
        raise InputError(f"needs at least 10 molecules to cross-validate; got {len(mols)}", file=path)
    y = values.to_numpy(dtype=np.float64)
    if task == "classification" and not (0 < y.sum() < y.size):
        raise InputError(f"column {target!r} needs both actives (1) and inactives (0)", file=path)
    return df[smiles_col].tolist(), fingerprint_words(mols, fp), y, scaffolds


# --------------------------------------------------------------------------- train
def train_model(
    lake: Lake,
    activities: str | os.PathLike[str],
    *,
    label_col: str | None = None,
    value_col: str | None = None,
    smiles_col: str = "smiles",
    split: str = "scaffold",
    model: str = "rf",
    fp: str = "morgan2:2048",
    folds: int = 5,
    n_estimators: int = 200,
    seed: int = 0,
    ad_threshold: float = _DEFAULT_AD,
    out: str | os.PathLike[str],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Cross-validate and fit a fingerprint model of activities; write ``out`` and ``out.json``.

    Parameters
    ----------
    lake
        The lake recording the run (the per-fold metrics are stored as ``STEM_cv``).
    activities
        CSV/TSV file with a SMILES column and the target column.
    label_col, value_col
        Exactly one: a 0/1 label (classification) or a numeric value (regression).
    smiles_col
        The SMILES column.
    split
        ``"scaffold"`` (Bemis–Murcko groups) or ``"random"``.
    model
        ``"rf"`` (random forest) or ``"gbm"`` (histogram gradient boosting).
    fp
        Fingerprint spec; must be the library's to score it (default ``morgan2:2048``).
    folds
        Number of cross-validation folds.
    n_estimators
        Trees (rf) or boosting iterations (gbm).
    seed
        Seed of the estimator and of the random split.
    ad_threshold
        Applicability-domain threshold stored with the model (max Tanimoto to training).
    out
        The model file (joblib); the sidecar is ``out`` + ``.json``.
    progress
        Where to report progress (folds fitted).

    Returns
    -------
    dict
        The sidecar's content (``metrics``, ``folds``, ``settings`` …).
    """

    check_param(
        "train_model",
        "label_col",
        label_col,
        (label_col is None) != (value_col is None),
        "given exactly when value_col is not",
    )
    check_param("train_model", "split", split, split in ("scaffold", "random"), "'scaffold' or 'random'")
    check_param("train_model", "model", model, model in ("rf", "gbm"), "'rf' or 'gbm'")
    check_param("train_model", "folds", folds, isinstance(folds, int) and folds >= 2, "an integer >= 2")
    check_param(
        "train_model",
        "n_estimators",
        n_estimators,
        isinstance(n_estimators, int) and n_estimators >= 1,
        "a positive integer",
    )
    check_param(
        "train_model",
        "ad_threshold",
        ad_threshold,
        isinstance(ad_threshold, (int, float)) and 0 <= ad_threshold <= 1,
        "a number in [0, 1]",
    )
    spec = parse_fp_spec(fp, function="train_model")
    task = "classification" if label_col is not None else "regression"
    target = str(label_col if label_col is not None else value_col)
    path, out = Path(activities), Path(out)
    progress = progress or NullProgress()
    _, words, y, scaffolds = _read_activities(path, smiles_col, target, task, str(spec))
    x = _bits(words, spec.n_bits)
    if split == "scaffold":
        fold = scaffold_folds(scaffolds, folds)
    else:
        from sklearn.model_selection import KFold, StratifiedKFold

        splitter = (StratifiedKFold if task == "classification" else KFold)(folds, shuffle=True, random_state=seed)
        fold = np.zeros(len(y), np.int64)
        for f, (_, test) in enumerate(splitter.split(x, y)):
            fold[test] = f
    oof = np.zeros(len(y))
    per_fold = []
    settings = {"task": task, "target": target, "smiles_col": smiles_col, "split": split, "model": model}
    settings.update(
        {
            "fp": str(spec),
            "folds": folds,
            "n_estimators": n_estimators,
            "seed": seed,
            "ad_threshold": float(ad_threshold),
        }
    )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    stem = re.sub(r"\W", "_", out.name.split(".")[0]) or "model"
    with lake.run(
        "discovery model train", params={**settings, "activities": str(path), "out": str(out)}, inputs=[str(path)]
    ) as run:
        with progress.task("Cross-validating", total=folds + 1) as task_bar:
            for f in range(folds):
                test = fold == f
                est = _estimator(model, task, n_estimators, seed)
                if task == "classification" and len(np.unique(y[~test])) < 2:
                    raise InputError(f"fold {f + 1} has a single class in training; use fewer folds", file=path)
                est.fit(x[~test], y[~test].astype(int) if task == "classification" else y[~test])
                oof[test] = _predict(est, x[test], task)
                per_fold.append({"fold": f + 1, "n_test": int(test.sum()), **_metrics(y[test], oof[test], task)})
                task_bar.advance()
            final = _estimator(model, task, n_estimators, seed)
            final.fit(x, y.astype(int) if task == "classification" else y)
            task_bar.advance()
        metrics = _metrics(y, oof, task)
        meta = {
            "format": MODEL_FORMAT[0],
            "format_version": MODEL_FORMAT[1],
            "features": {
                "fp": str(spec),
                "n_bits": spec.n_bits,
                "generator": "rdFingerprintGenerator (biolake.io.molecules)",
            },
            "settings": settings,
            "metrics": metrics,
            "folds": per_fold,
            "data": {"file": str(path), "sha256": digest, "n": len(y), "n_scaffolds": len(set(scaffolds))},
        }
        meta = json.loads(json.dumps(meta, default=float).replace("NaN", "null"))
        cv = pa.Table.from_pylist(per_fold)
        stage = run.table(
            f"{stem}_cv",
            attrs={"role": "result", "model": str(out), **{k: v for k, v in metrics.items() if v is not None}},
        )
        stage.write(cv)
        save_model_file(out, {"estimator": final, "train_fps": words, "meta": meta}, meta=meta)
    return meta


# --------------------------------------------------------------------------- score
def load_model(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The content of a model file written by :func:`train_model` (InputError if it is not one)."""
    path = Path(path)
    obj = load_model_file(path, what="model file", missing="no such file")
    if not isinstance(obj, dict) or obj.get("meta", {}).get("format") != MODEL_FORMAT[0]:
        raise InputError("not a biolake model file", file=path)
    return obj


def score_library(
    lake: Lake,
    library: str,
    model: str | os.PathLike[str],
    *,
    ad_threshold: float | None = None,
    out: str | os.PathLike[str] | None = None,
    block: int = 2048,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Score every library molecule with a model from :func:`train_model`.

    Parameters
    ----------
    lake, library
        The lake and the molecule library (``NAME`` or ``lake:NAME``); its fingerprint spec
        must be the model's.
    model
        The model file.
    ad_threshold
        Applicability-domain threshold (default: the one stored with the model).
    out
        Also write the result to this file and register it under the file's stem; without it
        the result is registered as ``LIBRARY_scores``.
    block
        Molecules per block (memory: ``block`` × training size similarities).
    progress
        Where to report progress.

    Returns
    -------
    pandas.DataFrame
        Columns ``id, score, max_similarity, in_domain`` in table order; ``score`` is the
        probability of activity (label models) or the predicted value.
    """
    import zarr

    from biolake.discovery.similarity import _resolve_library

    obj = load_model(model)
    meta = obj["meta"]
    ad = meta["settings"]["ad_threshold"] if ad_threshold is None else ad_threshold
    check_param(
        "score_library", "ad_threshold", ad, isinstance(ad, (int, float)) and 0 <= ad <= 1, "a number in [0, 1]"
    )
    check_param("score_library", "block", block, isinstance(block, int) and block >= 1, "a positive integer")
    table_name, fp_info = _resolve_library(lake, library)
    lib_fp = lake.info(table_name).attrs.get("fp")
    if lib_fp != meta["features"]["fp"]:
        raise InputError(
            f"the library's fingerprints are {lib_fp}, the model's {meta['features']['fp']}",
            file=f"lake:{table_name}",
        )
    group = zarr.open_group(str(fp_info.path), mode="r")
    rows = np.asarray(group["row"][:], dtype=np.int64)
    n = rows.size
    n_bits = int(meta["features"]["n_bits"])
    task = meta["settings"]["task"]
    est, train = obj["estimator"], np.asarray(obj["train_fps"], dtype=np.uint64)
    score = np.zeros(n)
    max_sim = np.zeros(n)
    progress = progress or NullProgress()
    params = {
        "library": table_name,
        "model": str(model),
        "ad_threshold": float(ad),
        "out": None if out is None else str(out),
    }
    with lake.run("discovery model score", params=params, inputs=[f"lake:{table_name}", str(model)]) as run:
        with progress.task(f"Scoring {table_name}", total=max(1, -(-n // block))) as bar:
            for s in range(0, n, block):
                words = np.asarray(group["fp"][s : s + block])
                r = rows[s : s + block]
                score[r] = _predict(est, _bits(words, n_bits), task)
                max_sim[r] = bulk_scores(words, train).max(axis=1) if train.shape[0] else 0.0
                bar.advance()
        ids = lake.to_pandas(table_name, columns=["id"])["id"].astype(str).tolist() if n else []
        result = pa.table(
            {
                "id": pa.array(ids, type=pa.string()),
                "score": pa.array(score),
                "max_similarity": pa.array(max_sim),
                "in_domain": pa.array(max_sim >= ad),
            }
        )
        if out is not None:
            run.result(result, out)
        else:
            run.table(f"{table_name}_scores", attrs={"role": "result", "library": table_name}).write(result)
    return result.to_pandas()
