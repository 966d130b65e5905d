"""Poisson GLR detector (``biolake.stats.glr``, ``surveil --method glr``) against R ``surveillance::algo.glrpois``.

Reference outputs: ``tests/data/publichealth/glr/reference.csv.gz``, made by
``make_glr_reference.R`` (R 4.2.2, surveillance 1.20.3) on surveillance's bundled data
salmonella.agona, shadar, ha.sts, salmNewport and measlesDE::

    for (ret in c("value", "cases"))
      algo.glrpois(disProg, control = c(config, list(range = first:n, ret = ret)))
    # configs: default (c.ARL 5, Mtilde 1, M -1, dir inc, mu0 from the Poisson GLM hook, S = 1),
    # c.ARL = 3; M = 52; M = 26, Mtilde = 2, c.ARL = 4; dir = "dec", c.ARL = 3;
    # mu0 = list(S = 2, trend = TRUE) (statistic and alarms only; agona, shadar, ha); mu0 = a given constant

Tolerances: the in-control mean ``mu0`` and the GLR statistic (R's ``ret = "value"``
upperbound) 1e-9 relative (absolute 1e-12 near 0); the ``ret = "cases"`` upperbound and the
alarms identical.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.lake import Lake
from biolake.publichealth.surveillance import surveil
from biolake.stats.glr import glr_mu0_poisson, glr_pois

DATA = Path(__file__).resolve().parents[1] / "data" / "publichealth" / "glr"
FIRST = {"salmonella.agona": 157, "shadar": 105, "ha": 105, "salmNewport": 262, "measlesDE": 53}
CONFIGS: dict[str, dict[str, object]] = {
    "default": {},
    "carl3": {"c_arl": 3.0},
    "window": {"big_m": 52, "m_tilde": 1},
    "window_mt2": {"big_m": 26, "m_tilde": 2, "c_arl": 4.0},
    "dec": {"direction": "dec", "c_arl": 3.0},
    "s2_trend": {"mu0_s": 2, "mu0_trend": True},
    "mu0_const": {},
}
RTOL = 1e-9
ATOL = 1e-12


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    return pd.read_csv(DATA / "counts.csv.gz")


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(DATA / "reference.csv.gz", keep_default_na=True)


def _matrix(counts: pd.DataFrame, data: str) -> tuple[list[str], np.ndarray]:
    sub = counts[counts["data"] == data]
    wide = sub.pivot(index="series", columns="t", values="count")
    order = list(dict.fromkeys(sub["series"]))
    return order, wide.loc[order].to_numpy(np.float64)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_glr_pois__matches_r_algo_glrpois(counts: pd.DataFrame, reference: pd.DataFrame, config: str) -> None:
    ref_cfg = reference[reference["config"] == config]
    n_alarms = 0
    for data, first in FIRST.items():
        if data not in set(ref_cfg["data"]):
            assert config == "s2_trend" and data in ("salmNewport", "measlesDE")  # R's fit overflows there
            continue
        names, x = _matrix(counts, data)
        kwargs = dict(CONFIGS[config])
        if config == "mu0_const":
            kwargs["mu0"] = np.repeat(x[:, : first - 1].mean(axis=1)[:, None] + 0.5, x.shape[1], axis=1)
        res = glr_pois(x, start=first - 1, ret="cases", **kwargs)  # type: ignore[arg-type]
        val = glr_pois(x, start=first - 1, ret="value", **kwargs)  # type: ignore[arg-type]
        for i, name in enumerate(names):
            ref = ref_cfg[(ref_cfg["data"] == data) & (ref_cfg["series"] == name)]
            t = ref["t"].to_numpy() - 1
            assert len(t) == x.shape[1] - first + 1, (config, data, name)
            where = f"{config} {data} {name}"
            np.testing.assert_allclose(res.expected[i, t], ref["mu0"], rtol=RTOL, atol=ATOL, err_msg=where)
            np.testing.assert_allclose(res.score[i, t], ref["value"], rtol=RTOL, atol=ATOL, err_msg=where)
            cases = ref["cases"].to_numpy(np.float64)  # empty for s2_trend (R's count-up search too slow)
            assert np.isnan(cases).all() == (config == "s2_trend")
            if config != "s2_trend":
                np.testing.assert_array_equal(res.upper_bound[i, t], cases, err_msg=where)
            np.testing.assert_array_equal(res.alarm[i, t], ref["alarm"].to_numpy() == 1, err_msg=where)
            np.testing.assert_array_equal(val.upper_bound[i, t], res.score[i, t], err_msg=where)
            assert not res.alarm[i, : first - 1].any() and np.isnan(res.upper_bound[i, : first - 1]).all()
            n_alarms += int(ref["alarm"].sum())
    assert n_alarms > 0  # every configuration sounds somewhere


def test_glr_mu0_poisson__matches_r_glm_hook(counts: pd.DataFrame, reference: pd.DataFrame) -> None:
    names, x = _matrix(counts, "ha")
    mu0 = glr_mu0_poisson(x, start=104)
    ref = reference[(reference["config"] == "default") & (reference["data"] == "ha")]
    for i, name in enumerate(names):
        r = ref[ref["series"] == name]
        np.testing.assert_allclose(mu0[i, r["t"].to_numpy() - 1], r["mu0"], rtol=RTOL, atol=ATOL)


def _long(counts: pd.DataFrame, data: str) -> pd.DataFrame:
    sub = counts[counts["data"] == data].rename(columns={"series": "district"})
    return sub[["district", "t", "count"]].reset_index(drop=True)


def test_surveil__glr_rows_as_r(counts: pd.DataFrame, reference: pd.DataFrame) -> None:
    table = _long(counts, "ha")
    out = surveil(table, method="glr", by=["district"], date_col="t", freq="index", range_start=105)
    assert list(out.columns) == ["district", "date", "count", "expected", "upper_bound", "alarm", "score"]
    ref = reference[(reference["config"] == "default") & (reference["data"] == "ha")]
    merged = out.merge(ref, left_on=["district", "date"], right_on=["series", "t"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all() and len(merged) == 12 * (290 - 104)
    np.testing.assert_array_equal(merged["upper_bound"], merged["cases"].astype(float))
    np.testing.assert_array_equal(merged["alarm_x"], merged["alarm_y"] == 1)
    np.testing.assert_allclose(merged["score"], merged["value"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(merged["expected"], merged["mu0"], rtol=RTOL, atol=ATOL)


def test_surveil__glr_chunking_and_threads_agree(counts: pd.DataFrame) -> None:
    table = _long(counts, "ha")
    one = surveil(table, method="glr", by=["district"], range_start=105, scheduler="synchronous")
    many = surveil(table, method="glr", by=["district"], range_start=105, chunk_series=5, scheduler="threads")
    pd.testing.assert_frame_equal(one, many)


def test_surveil__glr_needs_range_start() -> None:
    with pytest.raises(ValueError, match="'range_start' parameter of surveil must be an integer >= 2 for method glr"):
        surveil(pd.DataFrame({"count": [1, 2, 3]}), method="glr")
    with pytest.raises(ValueError, match="'direction' parameter of surveil must be one of inc, dec"):
        surveil(pd.DataFrame({"count": [1, 2, 3]}), method="glr", range_start=2, direction="up")


def test_cli_surveil__glr_options(tmp_path: Path, counts: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    from biolake.cli import main

    csv = tmp_path / "agona.csv"
    counts[counts["data"] == "salmonella.agona"][["t", "count"]].to_csv(csv, index=False)
    out = tmp_path / "glr.csv"
    argv = ["--lake", str(tmp_path / "lake"), "--quiet", "publichealth", "surveil", str(csv), "--date-col", "t"]
    argv += ["--freq", "index", "--method", "glr", "--range-start", "157", "--c-arl", "3", "--dir", "dec"]
    argv += ["--ret", "value", "--out", str(out)]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code in (0, None), capsys.readouterr().err
    got = pd.read_csv(out)
    ref = pd.read_csv(DATA / "reference.csv.gz")
    ref = ref[(ref["config"] == "dec") & (ref["data"] == "salmonella.agona")]
    assert len(got) == len(ref) == 312 - 156
    np.testing.assert_allclose(got["upper_bound"], ref["value"], rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(got["alarm"], ref["alarm"] == 1)
    lake = Lake.open(tmp_path / "lake")
    run_id = lake.info("glr").run_id or ""
    record = lake.run_record(run_id)
    assert record.params["method"] == "glr" and record.params["direction"] == "dec"
    from biolake.report.runs import build_run_report

    section = next(s for s in build_run_report(lake, run_id).sections if s.title == "publichealth surveil")
    assert "Counts, upper bound and alarms" in [s.title for s in section.subsections]
