"""Predictive analytics: clinical risk and survival models (``biolake precision risk train|predict``).

Preprocessing (:mod:`~biolake.precision.risk.preprocess`), models
(:mod:`~biolake.precision.risk.models`: scikit-learn logistic, L1 logistic and histogram
gradient boosting; Cox from :mod:`biolake.stats.coxph`), cross-validation and metrics
(:mod:`~biolake.precision.risk.validate`, formulas in :mod:`biolake.stats.metrics`), and the
lake runs with the model file (:mod:`~biolake.precision.risk.job`). See ``docs/risk.md``.
"""

from biolake.precision.risk.job import load_model, predict_job, train_job
from biolake.precision.risk.models import MODELS, FittedModel, fit_model
from biolake.precision.risk.preprocess import Preprocessor
from biolake.precision.risk.validate import binary_metrics, cross_validate, survival_metrics

__all__ = [
    "MODELS",
    "FittedModel",
    "Preprocessor",
    "binary_metrics",
    "cross_validate",
    "fit_model",
    "load_model",
    "predict_job",
    "survival_metrics",
    "train_job",
]
