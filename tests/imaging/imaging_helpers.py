"""Helpers of the imaging tests: where the IBSI data is (../shared, skipped when absent), tolerances."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

IBSI = Path(__file__).resolve().parents[3] / "shared" / "data" / "ibsi"
REFERENCE = IBSI / "ibsi_1_reference_values"
DIGITAL = IBSI / "ibsi_1_digital_phantom" / "nifti"
CT = IBSI / "ibsi_1_ct_radiomics_phantom"

needs_ibsi = pytest.mark.skipif(not REFERENCE.is_dir(), reason="IBSI data not found in ../shared/data/ibsi")


def ibsi_reference(name: str) -> pd.DataFrame:
    """A reference table (``tag``, ``value``, ``tolerance``), rows with a value only."""
    df = pd.read_csv(REFERENCE / name, sep=";")
    df.columns = ["value", "tolerance", "tag"]
    return df.dropna(subset=["value"]).reset_index(drop=True)


def allowed_deviation(value: float, tolerance: float) -> float:
    """The reference's tolerance, and at least half a unit of its 3rd significant digit.

    IBSI 1 reports consensus values to 3 significant digits; a tolerance of 0 means the
    value must agree once rounded to those digits.
    """
    tol = 0.0 if tolerance is None or math.isnan(tolerance) else float(tolerance)
    if value == 0:
        return tol
    exponent = math.floor(math.log10(abs(value)))
    return max(tol, 0.5 * 10 ** (exponent - 2))
