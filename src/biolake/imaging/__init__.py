"""biolake.imaging: image volumes and IBSI-compliant radiomics.

* :class:`Volume` — voxels ``(z, y, x)`` with spacing, origin and direction (LPS).
* :func:`radiomics_features` — the IBSI 1 features of one image and ROI;
  :func:`radiomics_table` — many cases in parallel (threads, processes or Dask);
  :func:`ibsi_settings` — the IBSI 1 reference configurations.

Images come into the lake with :func:`biolake.io.images.ingest_images`.
"""

from biolake.imaging.radiomics import (
    FAMILIES,
    FEATURE_FAMILIES,
    RadiomicsCase,
    RadiomicsSettings,
    ibsi_settings,
    lake_cases,
    load_settings,
    radiomics_features,
    radiomics_table,
    run_radiomics,
)
from biolake.imaging.volume import Volume

__all__ = [
    "FAMILIES",
    "FEATURE_FAMILIES",
    "RadiomicsCase",
    "RadiomicsSettings",
    "Volume",
    "ibsi_settings",
    "lake_cases",
    "load_settings",
    "radiomics_features",
    "radiomics_table",
    "run_radiomics",
]
