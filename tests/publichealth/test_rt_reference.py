"""``estimate_rt`` against R EpiEstim 2.2.4 ``estimate_R`` (R 4.2.2).

The inputs and R's outputs come from ``tests/data/publichealth/rt/make_rt_reference.R``:
EpiEstim's bundled data sets (Flu2009, Measles1861, SARS2003, MockRotavirus, Smallpox1972,
Flu1918, and mers_2014_15 with local and imported cases) and a synthetic table of 40
renewal-process epidemics of 9–200 days (a third with imported cases). For each case R ran,
per series::

    config <- make_config(mean_si = M, std_si = S, t_start = ..., t_end = ...,
                          mean_prior = m, std_prior = s)       # or si_distr = w
    estimate_R(incid, method = "parametric_si", config = config)  # or "non_parametric_si"

with ``incid`` the incidence vector, or ``data.frame(local, imported)`` where imported
cases are given, and windows EpiEstim's default (``t_start = 2:(T-6)``), ``window``-day
sliding windows, or custom ones. Every mean, sd and quantile agrees to 1e-10 relative and
R's NA windows (``t_end`` ≤ the mean SI) are the empty rows here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.publichealth.rt import RT_COLUMNS, estimate_rt

DATA = Path(__file__).resolve().parents[1] / "data" / "publichealth" / "rt"
STATS = list(RT_COLUMNS[2:])


@pytest.fixture(scope="module")
def incidence() -> pd.DataFrame:
    return pd.read_csv(DATA / "incidence.csv.gz", keep_default_na=False, dtype={"imported": str, "date": str})


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(DATA / "rt_reference.csv.gz")


CASES = pd.read_csv(DATA / "cases.csv", keep_default_na=False, dtype=str)


def _options(case: pd.Series, ref: pd.DataFrame) -> dict[str, object]:
    options: dict[str, object] = {"mean_prior": float(case["mean_prior"]), "std_prior": float(case["std_prior"])}
    if case["method"] == "parametric_si":
        options.update(si_mean=float(case["mean_si"]), si_sd=float(case["std_si"]))
    else:
        options["si_distr"] = DATA / f"si_{case['si_distr']}.csv"
    if case["windows"] == "custom":
        options.update(t_start=ref["t_start"].tolist(), t_end=ref["t_end"].tolist())
    elif case["window"]:
        options["window"] = int(case["window"])
    return options


def _run(case: pd.Series, incidence: pd.DataFrame, reference: pd.DataFrame, **extra: object) -> pd.DataFrame:
    name = case["case"]
    inc = incidence[incidence["case"] == name].drop(columns="case")
    ref = reference[reference["case"] == name]
    has_dates = bool((inc["date"] != "").all())
    table = inc.rename(columns={"local": "count"})
    columns = {"by": ["series"], "date_col": "date" if has_dates else "day"}
    if case["imported"] == "TRUE":
        table["imported"] = table["imported"].astype(int)
        columns["imported_col"] = "imported"
    else:
        table = table.drop(columns="imported")
    if has_dates:
        table["date"] = pd.to_datetime(table["date"])
    if len(ref["series"].unique()) < len(inc["series"].unique()):  # the reference skips series too short
        keep = ref["series"].unique()
        table = table[table["series"].isin(keep)]
    kwargs = {"scheduler": "synchronous", **_options(case, ref), **columns, **extra}
    return estimate_rt(table, **kwargs)  # type: ignore[arg-type]


def _compare(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert len(ours) == len(ref)
    merged = ref.merge(ours, on=["series", "t_start", "t_end"], how="left", suffixes=("_r", ""), validate="1:1")
    for col in STATS:
        r = merged[f"{col}_r"].to_numpy(dtype=float)
        b = merged[col].to_numpy(dtype=float)
        np.testing.assert_array_equal(np.isnan(b), np.isnan(r), err_msg=f"NA windows of {col}")
        ok = ~np.isnan(r)
        np.testing.assert_allclose(b[ok], r[ok], rtol=1e-10, atol=0, err_msg=col)


@pytest.mark.parametrize("case_name", CASES["case"].tolist())
def test_estimate_rt__matches_epiestim(case_name: str, incidence: pd.DataFrame, reference: pd.DataFrame) -> None:
    case = CASES.set_index("case").loc[case_name]
    case["case"] = case_name
    ref = reference[reference["case"] == case_name]
    ours = _run(case, incidence, reference)
    _compare(ours, ref)
    inc = incidence[incidence["case"] == case_name]
    if (inc["date"] != "").all():  # date_start / date_end are the dates of t_start / t_end
        first = pd.to_datetime(inc.groupby("series")["date"].min()).reindex(ours["series"]).to_numpy()
        for col, t in (("date_start", "t_start"), ("date_end", "t_end")):
            expected = first + pd.to_timedelta(ours[t] - 1, unit="D").to_numpy()
            np.testing.assert_array_equal(pd.to_datetime(ours[col]).to_numpy(), expected)
    else:
        np.testing.assert_array_equal(ours["date_start"], ours["t_start"])


def test_estimate_rt__reference_has_na_windows_and_imported_cases(reference: pd.DataFrame) -> None:
    """The reference covers EpiEstim's NA rule and more than one series per case."""
    na = reference[reference["mean_r"].isna()]
    assert set(na["case"]) >= {"smallpox1972_nonparametric", "sars2003_parametric_window1", "measles1861_parametric"}
    assert reference.loc[reference["case"] == "synthetic_parametric", "series"].nunique() == 40


def test_estimate_rt__all_series_in_one_chunked_pass_match(incidence: pd.DataFrame, reference: pd.DataFrame) -> None:
    """The synthetic 40-series case estimated in chunks of 3 series on threads gives R's values."""
    case = CASES.set_index("case").loc["synthetic_nonparametric_imported"].copy()
    case["case"] = "synthetic_nonparametric_imported"
    ours = _run(case, incidence, reference, chunk_series=3, scheduler="threads")
    _compare(ours, reference[reference["case"] == case["case"]])
