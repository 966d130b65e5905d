"""Lesions across time points: volume change, doubling time, RECIST 1.1 sum of diameters and response.

Input: one row per (patient, lesion, time point) with the lesion's volume and longest
axial diameter (the ``volume_mm3`` and ``longest_axial_diameter_mm`` columns of
``imaging measure``, concatenated over time points with patient/time/lesion columns).
Time is a number (days, weeks …; differences are in that unit) or a date.

Per lesion and time point (against the lesion's previous time point):

* ``volume_change_mm3`` = V₂ − V₁ and ``volume_change_pct`` = 100 (V₂ − V₁)/V₁;
* ``volume_change_baseline_pct`` = 100 (V − V₀)/V₀ against the lesion's first time point;
* ``doubling_time`` = ln 2 · Δt / ln(V₂/V₁) (negative: the halving time of a shrinking
  lesion; infinite when the volume did not change; NaN when a volume is 0 or missing).

Per patient and time point (RECIST 1.1, target lesions):

* the **target lesions** are those measured at the patient's first (baseline) time
  point; a target lesion without a row at a later time point counts 0 mm (disappeared);
  a lesion first seen after baseline is a **new lesion**;
* ``sum_diameters_mm``: the sum of the target lesions' longest diameters;
* ``sld_change_baseline_pct`` (from the baseline sum), ``sld_change_nadir_pct`` and
  ``sld_change_nadir_mm`` (from the nadir: the smallest sum at any earlier time point,
  baseline included);
* ``response``: ``baseline`` at the first time point, then **PD** if the sum rose by ≥ 20 %
  *and* ≥ 5 mm from the nadir, or a new lesion appeared; else **CR** if every target
  lesion has disappeared (sum 0); else **PR** if the sum fell by ≥ 30 % from baseline;
  else **SD**. (Lymph-node short axes and non-target lesions are not modelled.)

Examples
--------
>>> import pandas as pd
>>> m = pd.DataFrame({"patient": ["p"] * 2, "time": [0, 60], "lesion": ["a", "a"],
...                   "volume_mm3": [1000.0, 2000.0], "longest_axial_diameter_mm": [20.0, 25.0]})
>>> r = track_lesions(m, patient_col="patient", time_col="time", lesion_col="lesion")
>>> row = r.iloc[1]
>>> float(row.doubling_time), float(row.sld_change_nadir_pct), row.response
(60.0, 25.0, 'PD')
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError, check_param

__all__ = ["TRACK_COLUMNS", "recist_response", "run_track", "track_lesions"]

TRACK_COLUMNS = [
    "patient",
    "lesion",
    "time",
    "volume_mm3",
    "diameter_mm",
    "volume_change_mm3",
    "volume_change_pct",
    "volume_change_baseline_pct",
    "doubling_time",
    "sum_diameters_mm",
    "sld_change_baseline_pct",
    "sld_change_nadir_pct",
    "sld_change_nadir_mm",
    "new_lesion",
    "response",
]
"""Output columns of :func:`track_lesions` (``imaging track``), in order."""

PR_DECREASE = 30.0
PD_INCREASE = 20.0
PD_ABSOLUTE_MM = 5.0


def recist_response(sld: float, baseline: float, nadir: float, *, new_lesion: bool = False) -> str:
    """RECIST 1.1 target-lesion response from the sum of diameters now, at baseline and at the nadir.

    >>> recist_response(0.0, 50.0, 30.0), recist_response(34.0, 50.0, 34.0), recist_response(36.0, 50.0, 30.0)
    ('CR', 'PR', 'PD')
    """
    if new_lesion or (sld - nadir >= PD_ABSOLUTE_MM and sld >= nadir * (1 + PD_INCREASE / 100) - 1e-9):
        return "PD"
    if sld == 0:
        return "CR"
    if sld <= baseline * (1 - PR_DECREASE / 100) + 1e-9:
        return "PR"
    return "SD"


def _doubling(dt: float, v1: float, v2: float) -> float:
    if not (v1 > 0 and v2 > 0) or not np.isfinite(dt):
        return float("nan")
    if v1 == v2:
        return float("inf")
    return math.log(2) * dt / math.log(v2 / v1)


def _times(col: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(col):
        return col.astype(np.float64)
    parsed = pd.to_datetime(col, errors="coerce")
    bad = parsed.isna() & col.notna()
    if bad.any():
        raise InputError(f"column {name!r}: {col[bad].iloc[0]!r} is neither a number nor a date")
    return (parsed - parsed.min()).dt.total_seconds() / 86400.0


def track_lesions(
    measurements: pd.DataFrame,
    *,
    patient_col: str,
    time_col: str,
    lesion_col: str,
    volume_col: str = "volume_mm3",
    diameter_col: str = "longest_axial_diameter_mm",
) -> pd.DataFrame:
    """Changes per lesion and RECIST 1.1 response per patient over time (see the module docstring).

    Parameters
    ----------
    measurements
        One row per (patient, lesion, time point).
    patient_col, time_col, lesion_col
        Column names; time is numeric (its unit is the doubling time's) or a date (days).
    volume_col, diameter_col
        The volume (mm³) and longest axial diameter (mm) columns.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TRACK_COLUMNS`, one row per (patient, lesion, time point) sorted by
        patient, time and lesion; target lesions missing at a time point get a row with
        volume and diameter 0.
    """
    df = measurements
    cols = {"patient_col": patient_col, "time_col": time_col, "lesion_col": lesion_col}
    cols |= {"volume_col": volume_col, "diameter_col": diameter_col}
    for opt, col in cols.items():
        check_param(
            "track_lesions", opt, col, col in df.columns, f"a column of the table ({', '.join(map(str, df.columns))})"
        )
    d = pd.DataFrame(
        {
            "patient": df[patient_col].astype(str),
            "lesion": df[lesion_col].astype(str),
            "time": _times(df[time_col], time_col),
            "volume_mm3": pd.to_numeric(df[volume_col], errors="coerce"),
            "diameter_mm": pd.to_numeric(df[diameter_col], errors="coerce"),
        }
    )
    if d["time"].isna().any():
        raise InputError(
            f"column {time_col!r}: a time point is missing (row {int(np.flatnonzero(d['time'].isna())[0]) + 1})"
        )
    dup = d.duplicated(["patient", "lesion", "time"])
    if dup.any():
        r = d[dup].iloc[0]
        raise InputError(f"patient {r.patient}, lesion {r.lesion}, time {r.time:g} appears twice")
    for c in ("volume_mm3", "diameter_mm"):
        if (d[c] < 0).any():
            raise InputError(f"column {volume_col if c == 'volume_mm3' else diameter_col!r} holds a negative value")
    out = []
    for patient, p in d.groupby("patient", sort=True):
        times = sorted(p["time"].unique())
        baseline_lesions = set(p.loc[p["time"] == times[0], "lesion"])
        # target lesions missing at a later time point: disappeared (0)
        full = p.set_index(["lesion", "time"])
        missing = [(lesion, t) for t in times for lesion in baseline_lesions if (lesion, t) not in full.index]
        if missing:
            add = pd.DataFrame(
                {"patient": patient, "lesion": [m[0] for m in missing], "time": [m[1] for m in missing]}
            ).assign(volume_mm3=0.0, diameter_mm=0.0)
            p = pd.concat([p, add], ignore_index=True)
        p = p.sort_values(["lesion", "time"]).reset_index(drop=True)
        prev_v = p.groupby("lesion")["volume_mm3"].shift(1)
        prev_t = p.groupby("lesion")["time"].shift(1)
        first_v = p.groupby("lesion")["volume_mm3"].transform("first")
        p["volume_change_mm3"] = p["volume_mm3"] - prev_v
        p["volume_change_pct"] = 100 * (p["volume_mm3"] - prev_v) / prev_v.where(prev_v > 0)
        p["volume_change_baseline_pct"] = 100 * (p["volume_mm3"] - first_v) / first_v.where(first_v > 0)
        p["doubling_time"] = [
            _doubling(t2 - t1, v1, v2) if pd.notna(t1) else float("nan")
            for t1, t2, v1, v2 in zip(prev_t, p["time"], prev_v, p["volume_mm3"], strict=True)
        ]
        p["new_lesion"] = ~p["lesion"].isin(baseline_lesions)
        sums = {t: float(p.loc[(p["time"] == t) & ~p["new_lesion"], "diameter_mm"].sum()) for t in times}
        news = {t: bool((p["new_lesion"] & (p["time"] == t) & (p["diameter_mm"] > 0)).any()) for t in times}
        base = sums[times[0]]
        per_time = {}
        for n, t in enumerate(times):
            nadir = min(sums[u] for u in times[:n]) if n else base
            resp = "baseline" if n == 0 else recist_response(sums[t], base, nadir, new_lesion=news[t])
            per_time[t] = (
                sums[t],
                100 * (sums[t] - base) / base if base > 0 else float("nan"),
                100 * (sums[t] - nadir) / nadir if nadir > 0 else float("nan"),
                sums[t] - nadir,
                resp,
            )
        keys = [
            "sum_diameters_mm",
            "sld_change_baseline_pct",
            "sld_change_nadir_pct",
            "sld_change_nadir_mm",
            "response",
        ]
        for k, key in enumerate(keys):
            p[key] = [per_time[t][k] for t in p["time"]]
        out.append(p)
    result = pd.concat(out, ignore_index=True).sort_values(["patient", "time", "lesion"]).reset_index(drop=True)
    return result[TRACK_COLUMNS]


def _read_measurements(lake: Any, spec: str) -> pd.DataFrame:
    if spec.startswith("lake:"):
        info = lake.info(spec[5:])
        if info.kind != "table":
            raise InputError(f"dataset {info.name!r} is an array, not a table", file=spec)
        return lake.to_pandas(info.name)
    from pathlib import Path

    from biolake.io.table import table_format

    if not Path(spec).is_file():
        raise InputError("no such file", file=spec)
    fmt, delimiter = table_format(spec)
    try:
        if fmt == "parquet":
            return pd.read_parquet(spec)
        return pd.read_csv(spec, sep=delimiter or ",")
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read the table: {str(exc).splitlines()[0]}", file=spec) from None


def run_track(
    lake: Any,
    measurements: str,
    *,
    out: str | os.PathLike[str],
    patient_col: str,
    time_col: str,
    lesion_col: str,
    volume_col: str = "volume_mm3",
    diameter_col: str = "longest_axial_diameter_mm",
) -> tuple[str, pd.DataFrame]:
    """The ``imaging track`` job: read MEASUREMENTS (a table file or ``lake:NAME``), track, write ``out``."""
    df = _read_measurements(lake, measurements)
    result = track_lesions(
        df,
        patient_col=patient_col,
        time_col=time_col,
        lesion_col=lesion_col,
        volume_col=volume_col,
        diameter_col=diameter_col,
    )
    params = {
        "measurements": measurements,
        "patient_col": patient_col,
        "time_col": time_col,
        "lesion_col": lesion_col,
        "volume_col": volume_col,
        "diameter_col": diameter_col,
        "out": str(out),
    }
    source = measurements.split("/")[0] if measurements.startswith("lake:") else measurements
    with lake.run("imaging track", params=params, inputs=[source]) as run:
        run.result(result, out)
    return run.id, result
