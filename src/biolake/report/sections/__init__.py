"""Report sections of each area, registered with :func:`biolake.report.runs.register_section`.

Importing this package imports every area's section module.
"""

import biolake.report.sections.discovery
import biolake.report.sections.expression
import biolake.report.sections.genomics
import biolake.report.sections.gwas
import biolake.report.sections.imaging
import biolake.report.sections.pgx
import biolake.report.sections.precision_risk
import biolake.report.sections.precision_survival
import biolake.report.sections.publichealth
import biolake.report.sections.signals  # noqa: F401
from biolake.report.sections import docking as _docking_section  # noqa: F401
from biolake.report.sections import imaging_models as _imaging_models_section  # noqa: F401
from biolake.report.sections import precision_cohort as _precision_cohort_section  # noqa: F401
from biolake.report.sections import proteomics as _proteomics_section  # noqa: F401
from biolake.report.sections import prs as _prs_section  # noqa: F401
from biolake.report.sections import publichealth_epi as _publichealth_epi_section  # noqa: F401
from biolake.report.sections import publichealth_impact as _publichealth_impact_section  # noqa: F401
from biolake.report.sections import publichealth_rt as _publichealth_rt_section  # noqa: F401
from biolake.report.sections import screening as _screening_section  # noqa: F401
from biolake.report.sections import tables, trials  # noqa: F401
from biolake.report.sections import targets as _targets_section  # noqa: F401
