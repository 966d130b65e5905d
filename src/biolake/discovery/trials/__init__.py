"""Clinical-trial design: group sequential boundaries and sample sizes (as R ``rpact``).

* :func:`design` / :func:`design_characteristics` / :func:`design_job` — ``biolake discovery trial design``;
* :func:`sample_size` / :func:`size_job` — ``biolake discovery trial size``.
"""

from biolake.discovery.trials.design import (
    GroupSequentialDesign,
    design,
    design_characteristics,
    design_job,
    spending,
)

__all__ = [
    "GroupSequentialDesign",
    "design",
    "design_characteristics",
    "design_job",
    "spending",
]
