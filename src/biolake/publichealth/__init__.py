"""biolake.publichealth: surveillance and outbreak detection on count series.

* :func:`surveil` — EARS C1/C2/C3 (as R ``surveillance::earsC``) on every series of a
  long count table at once; :func:`surveil_job` runs it as a lake run.
* :func:`load_counts` — read, check, order and gap-fill count series.
"""

from biolake.publichealth.counts import load_counts
from biolake.publichealth.surveillance import SURVEIL_METHODS, surveil, surveil_job

__all__ = ["SURVEIL_METHODS", "load_counts", "surveil", "surveil_job"]
