"""The real data shipped in ``biolake/publichealth/data`` and the demo steps that run on them.

The files are exports of R packages' bundled data (``tests/data/publichealth/realdata/make_realdata.R``).
They are checked against fingerprints computed by R on R's own objects (length, Σx, Σx², Σ i·x per
column; ``fingerprints.csv``), and, when ``Rscript`` with EpiEstim and surveillance is installed,
value by value against R::

    library(EpiEstim); library(surveillance)
    data(Flu2009); data(SARS2003); data(salmNewport)
    Flu2009$incidence; Flu2009$si_distr; SARS2003$incidence; SARS2003$si_distr
    observed(salmNewport); epoch(salmNewport)

The demo steps are checked against what R computes on the same data (``make_realdata.R``)::

    farringtonFlexible(salmNewport, control = list())            # upperbound, alarms
    estimate_R(Flu2009$incidence$I, method = "non_parametric_si",
               config = make_config(list(si_distr = Flu2009$si_distr)))   # and SARS2003

Tolerances: Farrington upper bounds 1e-6 relative with identical alarms, R_t 1e-10 relative
(the issue's agreement targets).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.lake import Lake
from biolake.lake.progress import NullProgress
from biolake.publichealth._rt_demo import epiestim_incidence, epiestim_si_distr
from biolake.publichealth.demo import read_shipped_csv, salmonella_newport

REF = Path(__file__).resolve().parents[1] / "data" / "publichealth" / "realdata"
SHIPPED = ("flu2009_incidence.csv", "flu2009_si_distr.csv", "sars2003_incidence.csv", "sars2003_si_distr.csv")


def _column_values(file: str, column: str) -> np.ndarray:
    df = read_shipped_csv(file)
    if column == "date":
        return (pd.to_datetime(df["date"]) - pd.Timestamp("1970-01-01")).dt.days.to_numpy(np.float64)
    return df[column].to_numpy(np.float64)


def test_read_shipped_csv__matches_r_fingerprints() -> None:
    fps = pd.read_csv(REF / "fingerprints.csv")
    assert set(fps["file"]) == {*SHIPPED, "salmNewport.csv"}
    assert len(fps) == 5 + 17  # 5 columns of the EpiEstim files; date + 16 states of salmNewport
    for row in fps.itertuples():
        x = _column_values(row.file, row.column)
        assert len(x) == row.n, (row.file, row.column)
        i = np.arange(1, len(x) + 1)
        np.testing.assert_allclose(
            [x.sum(), (x * x).sum(), (i * x).sum()], [row.sum, row.sum_sq, row.sum_ix], rtol=1e-13, atol=0
        )


def test_read_shipped_csv__no_missing_values_and_integer_counts() -> None:
    wide = read_shipped_csv("salmNewport.csv")
    assert wide.shape == (528, 17)
    assert wide.notna().all().all()
    counts = wide.drop(columns="date")
    assert (counts.dtypes == np.int64).all() and (counts >= 0).all().all()
    assert (pd.to_datetime(wide["date"]).diff().dropna() == pd.Timedelta(days=7)).all()


def _r_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(
        ["Rscript", "-e", "library(EpiEstim); library(surveillance)"], capture_output=True, timeout=120
    )
    return probe.returncode == 0


_R_DUMP = r"""
suppressPackageStartupMessages({library(EpiEstim); library(surveillance)})
data(Flu2009); data(SARS2003); data(salmNewport)
f <- function(x) sprintf("%.17g", as.numeric(x))
cat("flu2009_incidence.csv", f(as.numeric(Flu2009$incidence$dates)), "\n")
cat("flu2009_incidence.csv:I", f(Flu2009$incidence$I), "\n")
cat("flu2009_si_distr.csv:w", f(Flu2009$si_distr), "\n")
cat("sars2003_incidence.csv:I", f(SARS2003$incidence), "\n")
cat("sars2003_si_distr.csv:w", f(SARS2003$si_distr), "\n")
cat("salmNewport.csv", f(epoch(salmNewport)), "\n")
for (j in colnames(observed(salmNewport))) cat(paste0("salmNewport.csv:", j), f(observed(salmNewport)[, j]), "\n")
"""


@pytest.mark.skipif(not _r_available(), reason="Rscript with EpiEstim and surveillance not installed")
def test_read_shipped_csv__equals_r_package_data() -> None:
    out = subprocess.run(["Rscript", "-e", _R_DUMP], capture_output=True, text=True, check=True, timeout=300)
    lines = [line.split() for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == 6 + 16
    for key, *values in lines:
        file, _, column = key.partition(":")
        expected = np.array([float(v) for v in values])
        got = _column_values(file, column or "date")
        np.testing.assert_array_equal(got, expected, err_msg=key)


def test_epiestim_incidence__shapes_and_si() -> None:
    flu, sars = epiestim_incidence("flu2009"), epiestim_incidence("sars2003")
    assert (len(flu), len(sars)) == (32, 107)
    assert str(flu["date"].iloc[0]) == "2009-04-27" and list(sars.columns) == ["day", "I"]
    for name, n in (("flu2009", 12), ("sars2003", 25)):
        w = epiestim_si_distr(name)
        assert len(w) == n and w[0] == 0 and abs(w.sum() - 1) < 1e-12
    with pytest.raises(ValueError, match="'name' parameter of epiestim_incidence must be one of"):
        epiestim_incidence("ebola")


def _charts(section: object) -> list[dict[str, object]]:
    from biolake.report.html import _Chart

    return [json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart)]  # type: ignore[attr-defined]


def test_surveillance_demo__farrington_on_salmnewport_as_r(tmp_path: Path) -> None:
    from biolake.report.demo import _STEPS
    from biolake.report.runs import build_run_report
    from biolake.report.sections import publichealth as sections

    assert any(step is sections._surveillance_demo for _, step in _STEPS)
    lake = Lake.open(tmp_path / "lake")
    run_ids = sections._surveillance_demo(lake, tmp_path, NullProgress())
    assert [lake.run_record(r).command for r in run_ids] == ["ingest table", "publichealth surveil"]
    got = pd.read_csv(tmp_path / "salmonella_newport_alarms.csv")
    ref = pd.read_csv(REF / "salmNewport_farrington.csv.gz")
    got = got.sort_values(["state", "date"]).reset_index(drop=True)
    ref = ref.sort_values(["state", "date"]).reset_index(drop=True)
    assert len(got) == len(ref) == 16 * 265
    assert (got["state"] == ref["state"]).all() and (got["date"] == ref["date"]).all()
    assert (got["count"] == ref["count"]).all()
    assert (got["alarm"].to_numpy() == ref["alarm"].to_numpy()).all()
    assert int(ref["alarm"].sum()) == 21
    both = ref["upperbound"].notna()
    assert (got["upper_bound"].notna() == both).all()
    np.testing.assert_allclose(got.loc[both, "upper_bound"], ref.loc[both, "upperbound"], rtol=1e-6, atol=0)
    # the report has the per-series alarm plot and the alarm map
    report = build_run_report(lake, run_ids[1])
    section = next(s for s in report.sections if s.title == "publichealth surveil")
    titles = [s.title for s in section.subsections]
    assert "Counts, upper bound and alarms" in titles and "Alarm map" in titles
    spec = _charts(section)[0]
    rows = next(iter(spec["datasets"].values()))  # type: ignore[union-attr]
    alarmed = {row["series"] for row in rows if row["alarm"]}
    assert alarmed == set(ref.loc[ref["alarm"], "state"])


def test_rt_demo__flu2009_and_sars2003_as_epiestim(tmp_path: Path) -> None:
    from biolake.report.demo import _STEPS
    from biolake.report.runs import build_run_report
    from biolake.report.sections import publichealth_rt as sections

    assert any(step is sections._rt_demo for _, step in _STEPS)
    lake = Lake.open(tmp_path / "lake")
    run_ids = sections._rt_demo(lake, tmp_path, NullProgress())
    assert [lake.run_record(r).command for r in run_ids] == ["ingest table", "publichealth rt"] * 2
    ref = pd.read_csv(REF / "epiestim_rt.csv")
    for name in ("flu2009", "sars2003"):
        got = pd.read_csv(tmp_path / f"{name}_rt.csv")
        want = ref[ref["data"] == name].reset_index(drop=True)
        assert len(got) == len(want) > 0
        assert (got["t_start"] == want["t_start"]).all() and (got["t_end"] == want["t_end"]).all()
        for col in ("mean_r", "std_r", "q025", "median", "q975"):
            np.testing.assert_allclose(got[col], want[col], rtol=1e-10, atol=0, err_msg=f"{name} {col}")
    report = build_run_report(lake, run_ids[1])
    section = next(s for s in report.sections if s.title == "publichealth rt")
    assert [s.title for s in section.subsections] == ["Latest R_t per series", "R_t over time"]
    assert len(_charts(section)) == 1


def test_salmonella_newport__long_format() -> None:
    df = salmonella_newport()
    assert list(df.columns) == ["state", "date", "count"] and len(df) == 16 * 528
    wide = df.pivot(index="date", columns="state", values="count")
    shipped = read_shipped_csv("salmNewport.csv").set_index("date")
    assert (wide.to_numpy() == shipped[sorted(shipped.columns)].to_numpy()).all()
    assert [str(d) for d in wide.index] == list(shipped.index)
