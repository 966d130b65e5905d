"""Cross-validation of risk models and their performance metrics.

Splits (scikit-learn): stratified K-fold on the outcome (the event indicator for survival),
shuffled with the seed; with a group column ``StratifiedGroupKFold`` (all rows of a patient or
site in one fold); with a temporal column an expanding-window split (rows sorted by that
column, cut into ``K + 1`` consecutive blocks; fold ``k`` trains on blocks ``1 … k`` and tests on
block ``k + 1``, so the first block is never predicted). Preprocessing is fitted inside each
training fold. With nested CV the hyper-parameters of each outer fold are chosen by an inner
stratified K-fold on that fold's training rows (lowest mean log loss), and those of the final
model by the same search on all rows.

Metrics are computed on the pooled out-of-fold predictions; 95 % intervals by a percentile
bootstrap over patients (``n_boot`` resamples, seeded). See :mod:`biolake.stats.metrics` for
the formulas and the R functions each matches.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError
from biolake.precision.risk.models import GRIDS, FittedModel, fit_model
from biolake.precision.risk.preprocess import Preprocessor
from biolake.precision.survival.concordance import concordance_index
from biolake.stats import metrics as mt

__all__ = ["Outcome", "binary_metrics", "cross_validate", "fit_pipeline", "splits", "survival_metrics"]


@dataclass
class Outcome:
    """The outcome of each row: ``y`` (binary) or ``time`` and ``event`` (survival)."""

    y: np.ndarray | None = None
    time: np.ndarray | None = None
    event: np.ndarray | None = None

    def take(self, idx: np.ndarray) -> Outcome:
        pick = lambda a: None if a is None else a[idx]  # noqa: E731
        return Outcome(pick(self.y), pick(self.time), pick(self.event))

    @property
    def strata(self) -> np.ndarray:
        return self.y if self.y is not None else self.event


def splits(
    outcome: Outcome,
    *,
    k: int,
    seed: int,
    groups: np.ndarray | None = None,
    temporal: np.ndarray | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test row indices of each fold (see the module)."""
    n = len(outcome.strata)
    if temporal is not None:
        order = np.argsort(temporal, kind="mergesort")
        blocks = np.array_split(order, k + 1)
        return [(np.sort(np.concatenate(blocks[: i + 1])), np.sort(blocks[i + 1])) for i in range(k)]
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    strata = outcome.strata.astype(int)
    if np.bincount(strata).min() < k:
        raise InputError(f"fewer rows of one outcome class than the {k} cross-validation folds", file="--cv")
    if groups is not None:
        if len(np.unique(groups)) < k:
            raise InputError(f"fewer groups than the {k} cross-validation folds", file="--group")
        cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        return [(tr, te) for tr, te in cv.split(np.zeros(n), strata, groups)]
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in cv.split(np.zeros(n), strata)]


def fit_pipeline(
    frame: pd.DataFrame,
    outcome: Outcome,
    *,
    kind: str,
    features: list[str],
    missing: str,
    params: dict[str, Any] | None,
    seed: int,
) -> tuple[Preprocessor, FittedModel]:
    """Preprocessing fitted on ``frame``, then the model on the rows that could be coded."""
    pre = Preprocessor.fit(frame, features, missing=missing, scale=kind == "lasso")
    x, ok = pre.transform(frame, check=False)
    sub = outcome.take(np.flatnonzero(ok))
    model = fit_model(kind, x[ok], y=sub.y, time=sub.time, event=sub.event, params=params, seed=seed)
    return pre, model


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def tune(
    frame: pd.DataFrame, outcome: Outcome, *, kind: str, features: list[str], missing: str, k: int, seed: int
) -> dict[str, Any]:
    """Hyper-parameters with the lowest mean inner-CV log loss (first of equal ones)."""
    grid = GRIDS[kind]
    names = list(grid)
    folds = splits(outcome, k=k, seed=seed + 1)
    best: tuple[float, dict[str, Any]] | None = None
    for values in itertools.product(*(grid[n] for n in names)):
        params = dict(zip(names, values, strict=True))
        losses = []
        for tr, te in folds:
            pre, model = fit_pipeline(
                frame.iloc[tr],
                outcome.take(tr),
                kind=kind,
                features=features,
                missing=missing,
                params=params,
                seed=seed,
            )
            x, ok = pre.transform(frame.iloc[te], check=False)
            losses.append(_log_loss(outcome.y[te][ok], model.risk(x[ok])))
        score = float(np.mean(losses))
        if best is None or score < best[0]:
            best = (score, params)
    return best[1]


def cross_validate(
    frame: pd.DataFrame,
    outcome: Outcome,
    *,
    kind: str,
    features: list[str],
    missing: str,
    folds: list[tuple[np.ndarray, np.ndarray]],
    nested: bool,
    k: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, list[dict[str, Any]], Callable[[np.ndarray], np.ndarray] | None]:
    """Out-of-fold predictions (``row fold risk linear_predictor``), each fold's parameters and,
    for Cox, a function giving the out-of-fold ``S(t)`` (rows as the predictions) at given times."""
    rows, fold_ids, risk, lp, chosen, parts = [], [], [], [], [], []
    for i, (tr, te) in enumerate(folds, start=1):
        sub = frame.iloc[tr]
        params = (
            tune(sub, outcome.take(tr), kind=kind, features=features, missing=missing, k=k, seed=seed)
            if (nested and kind in GRIDS)
            else None
        )
        pre, model = fit_pipeline(
            sub, outcome.take(tr), kind=kind, features=features, missing=missing, params=params, seed=seed
        )
        x, ok = pre.transform(frame.iloc[te], check=False)
        rows.append(te[ok])
        fold_ids.append(np.full(int(ok.sum()), i))
        risk.append(model.risk(x[ok]))
        lp.append(model.linear_predictor(x[ok]))
        parts.append((model, x[ok]))
        chosen.append({"fold": i, "train": len(tr), "test": int(ok.sum()), **model.params})
        if progress is not None:
            progress(1)
    oof = pd.DataFrame(
        {
            "row": np.concatenate(rows) + 1,
            "fold": np.concatenate(fold_ids),
            "risk": np.concatenate(risk),
            "linear_predictor": np.concatenate(lp),
        }
    )
    order = np.argsort(oof["row"].to_numpy(), kind="mergesort")
    surv = None
    if kind in ("cox", "rsf"):

        def surv(times: np.ndarray) -> np.ndarray:
            return np.vstack([m.survival(xs, times) for m, xs in parts])[order]

    return oof.iloc[order].reset_index(drop=True), chosen, surv


def _row(metric: str, estimate: float, ci: tuple[float, float] | None = None) -> dict[str, Any]:
    lo, hi = ci if ci is not None else (np.nan, np.nan)
    return {"metric": metric, "estimate": float(estimate), "ci_lower": lo, "ci_upper": hi}


def binary_metrics(y: np.ndarray, p: np.ndarray, *, n_boot: int, seed: int) -> pd.DataFrame:
    """``metric estimate ci_lower ci_upper`` for a binary outcome (one bootstrap for all metrics)."""
    est = mt.binary_metric_values(y, p)
    if n_boot:
        lo, hi = mt.bootstrap_ci(mt.binary_metric_values, y, p, n_boot=n_boot, seed=seed)
    else:
        lo = hi = np.full(len(est), np.nan)
    out = [_row(name, est[k], (float(lo[k]), float(hi[k]))) for k, name in enumerate(mt.BINARY_METRICS)]
    out.append(_row("prevalence", float(np.mean(y))))
    out.append(_row("n", float(len(y))))
    return pd.DataFrame(out)


def eval_times(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """The 25th, 50th and 75th percentiles of the event times (the time-dependent AUC's times)."""
    return np.unique(np.quantile(time[event.astype(bool)], [0.25, 0.5, 0.75]))


def survival_metrics(
    time: np.ndarray,
    event: np.ndarray,
    lp: np.ndarray,
    surv: Callable[[np.ndarray], np.ndarray] | None,
    *,
    n_boot: int,
    seed: int,
) -> pd.DataFrame:
    """Harrell's and Uno's C, time-dependent AUC, integrated Brier score (``surv(times)`` gives S)."""

    def harrell(t: np.ndarray, e: np.ndarray, m: np.ndarray) -> float:
        return float(concordance_index(t, e, m)["concordance"])

    def both(t: np.ndarray, e: np.ndarray, m: np.ndarray) -> np.ndarray:
        return np.array([harrell(t, e, m), mt.uno_c(t, e, m)])

    est = both(time, event, lp)
    lo, hi = mt.bootstrap_ci(both, time, event, lp, n_boot=n_boot, seed=seed) if n_boot else ([np.nan] * 2,) * 2
    out = [_row(name, est[k], (float(lo[k]), float(hi[k]))) for k, name in enumerate(("harrell_c", "uno_c"))]
    times = eval_times(time, event)
    for t, auc in zip(times, mt.time_auc(time, event, lp, times), strict=True):
        out.append(_row(f"time_auc@{t:g}", auc))
    if surv is not None:
        grid = np.unique(time[event.astype(bool)])
        grid = grid[grid <= times[-1]]
        if len(grid) > 200:  # bounded memory: n × 200 survival probabilities at most
            grid = np.unique(np.quantile(grid, np.linspace(0, 1, 200)))
        grid = np.r_[0.0, grid]
        brier = mt.brier_survival(time, event, surv(grid), grid)
        out.append(_row(f"integrated_brier@{times[-1]:g}", mt.integrated_brier(grid, brier, tau=times[-1])))
    out.append(_row("events", float(np.sum(event))))
    out.append(_row("n", float(len(time))))
    return pd.DataFrame(out)
