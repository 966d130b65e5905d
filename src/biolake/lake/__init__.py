"""Storage and execution core of biolake: the lake, run records, backends.

No domain knowledge lives here. See ``docs/architecture.md``.
"""

from biolake.lake.catalog import LAYOUT_VERSION, DatasetInfo, Lake, default_lake_path, validate_name
from biolake.lake.runs import Run, RunRecord

__all__ = ["LAYOUT_VERSION", "DatasetInfo", "Lake", "Run", "RunRecord", "default_lake_path", "validate_name"]
