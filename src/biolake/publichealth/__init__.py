"""biolake.publichealth: surveillance, outbreak detection and epidemiology on count series.

* :func:`surveil` — EARS C1/C2/C3 (as R ``surveillance::earsC``) and CUSUM on every series
  of a long count table at once; :func:`surveil_job` runs it as a lake run.
* :func:`estimate_rt` — the time-varying reproduction number (Cori et al. 2013, as R
  ``EpiEstim::estimate_R``) of every series; :func:`rt_job` runs it as a lake run.
* :func:`load_counts` — read, check, order and gap-fill count series.
"""

from biolake.publichealth.counts import load_counts
from biolake.publichealth.rt import estimate_rt, rt_job
from biolake.publichealth.surveillance import SURVEIL_METHODS, surveil, surveil_job

__all__ = ["SURVEIL_METHODS", "estimate_rt", "load_counts", "rt_job", "surveil", "surveil_job"]
