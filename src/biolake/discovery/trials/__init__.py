"""Clinical-trial design: group sequential boundaries and sample sizes (as R ``rpact``).

* :func:`design` / :func:`design_characteristics` / :func:`design_job` — ``biolake discovery trial design``;
* :func:`sample_size` / :func:`size_job` — ``biolake discovery trial size``;
* :func:`simulate` / :func:`simulate_job` — ``biolake discovery trial simulate``;
* :func:`simulate_enrollment` / :func:`enrollment_job` — ``biolake discovery trial enrollment``;
* :func:`match` / :func:`match_job` — ``biolake discovery trial match`` (OMOP CDM eligibility).
"""

from biolake.discovery.trials.design import (
    GroupSequentialDesign,
    design,
    design_characteristics,
    design_job,
    spending,
)
from biolake.discovery.trials.enrollment import enrollment_job, simulate_enrollment
from biolake.discovery.trials.match import match, match_job
from biolake.discovery.trials.simulate import simulate, simulate_job

__all__ = [
    "GroupSequentialDesign",
    "design",
    "design_characteristics",
    "design_job",
    "enrollment_job",
    "match",
    "match_job",
    "simulate",
    "simulate_enrollment",
    "simulate_job",
    "spending",
]
