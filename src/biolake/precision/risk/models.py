"""The risk models: fitting, prediction and per-feature contributions.

* ``logistic`` — unpenalised logistic regression, scikit-learn ``LogisticRegression(C=inf,
  solver="newton-cholesky")`` (coefficients equal R ``glm(binomial)``'s to ~1e-14);
* ``lasso`` — L1-penalised logistic regression (scikit-learn, ``l1_ratio=1``, ``saga``) on
  standardised design columns; ``C`` (inverse penalty) 1 or chosen by nested CV;
* ``gbm`` — scikit-learn ``HistGradientBoostingClassifier`` (``max_depth``, ``learning_rate``
  3 and 0.1 or chosen by nested CV; no early stopping, so fits are reproducible);
* ``cox`` — Cox proportional hazards with Efron ties by :func:`biolake.stats.coxph.coxph_efron`
  (R ``coxph``); survival probabilities from the Breslow baseline hazard
  ``H₀(t) = Σ_{t_k ≤ t} d_k / Σ_{T_j ≥ t_k} exp(lp_j)``.
* ``rsf`` — random survival forest with log-rank splitting, :func:`biolake.stats.rsf.survival_forest`
  (written here because scikit-survival is GPL-3; grown as R ``ranger`` grows it: 500 trees,
  bootstrap, ``mtry = ceil(sqrt(p))``, ``min.node.size = 3``). Its risk score is the ensemble
  mortality ``Σ_t H(t | x)`` over the training times (ranger's and randomForestSRC's), also used
  as ``linear_predictor``; survival probabilities ``exp(−H(t | x))``.

Contributions (``risk predict``): for the linear models the exact additive decomposition of
the linear predictor, ``coef_j · (x_j − mean_j)`` on the model scale (log-odds for logistic and
lasso, log relative hazard for Cox; the means are the training means of the design columns),
with ``baseline`` = the linear predictor at the means; for gbm SHAP values on the log-odds scale
(``shap.TreeExplainer``, exact for trees) when the optional ``shap`` package is installed,
otherwise none per patient (the model file keeps permutation importances instead); for rsf
SHAP values of the ensemble mortality (``shap.TreeExplainer`` on the forest as an additive
tree ensemble, :meth:`biolake.stats.rsf.SurvivalForest.shap_model`; exact, they add up to the
mortality) when ``shap`` is installed; the model file keeps permutation importances (decrease
of Harrell's C) either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BINARY_MODELS", "GRIDS", "MODELS", "SURVIVAL_MODELS", "FittedModel", "fit_model"]

BINARY_MODELS = ("logistic", "lasso", "gbm")
SURVIVAL_MODELS = ("cox", "rsf")
MODELS = (*BINARY_MODELS, *SURVIVAL_MODELS)
GRIDS: dict[str, dict[str, list[Any]]] = {
    "lasso": {"C": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]},
    "gbm": {"max_depth": [2, 3, 5], "learning_rate": [0.03, 0.1, 0.3]},
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "lasso": {"C": 1.0},
    "gbm": {"max_depth": 3, "learning_rate": 0.1},
    "rsf": {"n_trees": 500, "min_node_size": 3},
}


@dataclass
class FittedModel:
    """A fitted model on design columns (the preprocessing is kept beside it)."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    estimator: Any = None
    coef: np.ndarray | None = None
    """Linear models: coefficients of the design columns as given to the model."""
    intercept: float = 0.0
    base_times: np.ndarray | None = None
    """Cox: event times of the Breslow baseline."""
    base_hazard: np.ndarray | None = None
    """Cox: cumulative baseline hazard (at lp = 0) at ``base_times``."""
    center: np.ndarray | None = None
    """Means of the model's design columns in training (for contributions and the Cox lp)."""

    # ----------------------------------------------------------------- prediction
    def linear_predictor(self, x: np.ndarray) -> np.ndarray:
        """Log-odds (binary) or log relative hazard centred at the training means (Cox, R's ``lp``)."""
        if self.kind == "gbm":
            with _threads(len(x)):
                return self.estimator.decision_function(x)
        if self.kind == "cox":
            return (x - self.center) @ self.coef
        if self.kind == "rsf":
            return self.estimator.mortality(x)
        return self.intercept + x @ self.coef

    def risk(self, x: np.ndarray) -> np.ndarray:
        """Probability of the outcome (binary), relative hazard ``exp(lp)`` (Cox) or ensemble mortality (rsf)."""
        if self.kind == "rsf":
            return self.estimator.mortality(x)
        lp = self.linear_predictor(x)
        return np.exp(lp) if self.kind == "cox" else 1 / (1 + np.exp(-lp))

    def survival(self, x: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Cox: ``S(t | x) = exp(−H₀(t) · exp(lp))``; rsf: ``exp(−H(t | x))``; for each row and time."""
        if self.kind == "rsf":
            return self.estimator.survival(x, np.asarray(times, dtype=float))
        idx = np.searchsorted(self.base_times, np.asarray(times, dtype=float), side="right") - 1
        h0 = np.where(idx >= 0, self.base_hazard[np.clip(idx, 0, None)], 0.0)
        return np.exp(-np.outer(np.exp(self.linear_predictor(x)), h0))

    def contributions(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-row baseline and per-column contributions on the model scale, or None (see the module)."""
        if self.kind == "gbm":
            shap = import_shap()
            if shap is None:
                return None
            with _threads(len(x)):
                explainer = shap.TreeExplainer(self.estimator)
                values = np.asarray(explainer.shap_values(x))
            base = float(np.ravel(explainer.expected_value)[0])
            return np.full(len(x), base), values
        if self.kind == "rsf":
            shap = import_shap()
            if shap is None:
                return None
            explainer = shap.TreeExplainer(self.estimator.shap_model())
            values = np.asarray(explainer.shap_values(np.asarray(x, dtype=np.float64)))
            return np.full(len(x), float(np.ravel(explainer.expected_value)[0])), values
        contrib = (x - self.center) * self.coef
        base = self.linear_predictor(np.asarray(self.center)[None, :])[0]
        return np.full(len(x), base), contrib


def _threads(n: int) -> Any:
    """One OpenMP thread for small data: spinning thread pools cost more than they save there
    (a 200-row gbm fit took 12 s instead of 0.15 s on a loaded 2-core machine)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1 if n < 50_000 else None)


def import_shap() -> Any:
    """The optional ``shap`` module, or None (its import warnings are silenced)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import shap
        except Exception:  # any failure means: not available
            return None
    return shap


def _breslow(time: np.ndarray, event: np.ndarray, lp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(time, kind="mergesort")
    t, e, r = time[order], event[order].astype(float), np.exp(lp[order])
    uniq, first = np.unique(t, return_index=True)
    at_risk = np.cumsum(r[::-1])[::-1][first]
    deaths = np.add.reduceat(e, first)
    keep = deaths > 0
    return uniq[keep], np.cumsum(deaths[keep] / at_risk[keep])


def fit_model(
    kind: str,
    x: np.ndarray,
    *,
    y: np.ndarray | None = None,
    time: np.ndarray | None = None,
    event: np.ndarray | None = None,
    params: dict[str, Any] | None = None,
    seed: int = 0,
) -> FittedModel:
    """Fit ``kind`` on the design matrix ``x`` (already preprocessed)."""
    params = {**DEFAULTS.get(kind, {}), **(params or {})}
    center = x.mean(axis=0)
    if kind == "cox":
        from biolake.stats.coxph import coxph_efron

        fit = coxph_efron(time, event, x, robust=False)
        model = FittedModel(kind, params, coef=fit.coef, center=center)
        model.base_times, model.base_hazard = _breslow(time, event, model.linear_predictor(x))
        return model
    if kind == "rsf":
        from biolake.stats.rsf import survival_forest

        forest = survival_forest(
            x, time, event, n_trees=params["n_trees"], min_node_size=params["min_node_size"], seed=seed
        )
        return FittedModel(kind, {**params, "mtry": forest.mtry}, estimator=forest, center=center)
    if kind == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier

        est = HistGradientBoostingClassifier(
            max_depth=params["max_depth"],
            learning_rate=params["learning_rate"],
            early_stopping=False,
            random_state=seed,
        )
        with _threads(len(x)):
            est.fit(x, y)
        return FittedModel(kind, params, estimator=est, center=center)
    from sklearn.linear_model import LogisticRegression

    if kind == "logistic":
        est = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    else:
        est = LogisticRegression(
            C=params["C"], l1_ratio=1.0, solver="saga", tol=1e-8, max_iter=20_000, random_state=seed
        )
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(x, y)
    return FittedModel(
        kind, params, estimator=est, coef=est.coef_[0].copy(), intercept=float(est.intercept_[0]), center=center
    )
