"""Report sections of each area, registered with :func:`biolake.report.runs.register_section`.

Importing this package imports every area's section module.
"""

from biolake.report.sections import tables  # noqa: F401
