"""Real-world evidence: new-user comparative cohort studies on an OMOP CDM (``biolake precision cohort``).

See :mod:`biolake.precision.cohort.study` for the method and its output tables and
``docs/cohort.md`` for a worked example.
"""

from biolake.precision.cohort.calibration import EmpiricalNull, calibrate_ci, calibrate_p, fit_null
from biolake.precision.cohort.cohorts import ConceptSet, Study, load_study
from biolake.precision.cohort.outcome import stratified_cox
from biolake.precision.cohort.ps import balance, fit_propensity, match_on_ps, stratify_by_ps
from biolake.precision.cohort.study import (
    ATTRITION_COLUMNS,
    BALANCE_COLUMNS,
    ESTIMATE_COLUMNS,
    CohortResult,
    cohort_job,
    run_study,
)
from biolake.precision.cohort.synth import generate_cohort_cdm

__all__ = [
    "ATTRITION_COLUMNS",
    "BALANCE_COLUMNS",
    "ESTIMATE_COLUMNS",
    "CohortResult",
    "ConceptSet",
    "EmpiricalNull",
    "Study",
    "balance",
    "calibrate_ci",
    "calibrate_p",
    "cohort_job",
    "fit_null",
    "fit_propensity",
    "generate_cohort_cdm",
    "load_study",
    "match_on_ps",
    "run_study",
    "stratified_cox",
    "stratify_by_ps",
]
