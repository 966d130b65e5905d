"""biolake: big-data analytics for biotechnology.

>>> import biolake as bl
>>> lake = bl.Lake.open("biolake-lake")          # doctest: +SKIP
>>> lake.sql("select count(*) as n from patients")  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from biolake.errors import BiolakeError, InputError
from biolake.lake import DatasetInfo, Lake, RunRecord

__all__ = ["BiolakeError", "DatasetInfo", "InputError", "Lake", "RunRecord", "__version__"]
