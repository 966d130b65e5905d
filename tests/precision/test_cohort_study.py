"""``precision cohort`` end to end: planted hazard ratio, balance, attrition, CLI, report, Synthea and Eunomia.

The synthetic CDM (:func:`biolake.precision.cohort.generate_cohort_cdm`) plants a hazard
ratio of 2 for the outcome and 1 for five negative controls, with confounding by five
baseline conditions and age (they raise both the chance of the target drug and the outcome
hazard). The coverage test runs 10 seeds of 1,000 persons with a fixed L1 strength (no
cross-validation, to keep the test fast; one test below runs the cross-validated path): if
the 95 % CI's true coverage is 0.95, at most 7 of 10 covering happens with probability
P(Binomial(10, 0.95) ≤ 7) = 0.012, so the test asks for ≥ 8 of 10.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from biolake.errors import InputError
from biolake.lake import Lake
from biolake.precision.cohort import (
    ATTRITION_COLUMNS,
    BALANCE_COLUMNS,
    ESTIMATE_COLUMNS,
    cohort_job,
    generate_cohort_cdm,
    run_study,
)
from biolake.precision.cohort.outcome import mdrr
from biolake.precision.cohort.ps import _smd
from biolake.precision.cohort.synth import COMPARATOR, NEGATIVE_CONTROLS, OUTCOME, TARGET

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "omop"
SYNTHEA = SHARED / "Synthea27NjParquet_5.4.zip"
EUNOMIA = SHARED / "CohortMethod_Results_Eunomia.zip"


def _study(**extra: object) -> dict[str, object]:
    return {
        "target": {"name": "targetine", "concepts": [TARGET]},
        "comparator": {"name": "comparazole", "concepts": [COMPARATOR]},
        "outcomes": [{"name": "gi_bleed", "concepts": [OUTCOME]}],
        **extra,
    }


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture(scope="module")
def cdm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cdm")
    generate_cohort_cdm(d, persons=4000, hazard_ratio=2.0, seed=7)
    return d


@pytest.fixture(scope="module")
def small_cdm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("small_cdm")
    generate_cohort_cdm(d, persons=1500, hazard_ratio=2.0, seed=11)
    return d


def test_run_study__ci_covers_planted_hr_in_8_of_10_seeds(tmp_path: Path) -> None:
    """1:1 matching on an L1 PS recovers HR 2 (crude analyses are confounded upwards); CI coverage ≥ 8/10."""
    covered, log_hr = 0, []
    for seed in range(1, 11):
        d = tmp_path / f"s{seed}"
        generate_cohort_cdm(d, persons=1000, hazard_ratio=2.0, seed=seed)
        est = run_study(d, _study(ps={"match": 1, "c": 1.0})).estimates.iloc[0]
        covered += bool(est["ci_lower"] <= 2.0 <= est["ci_upper"])
        log_hr.append(est["log_hr"])
    assert covered >= 8
    assert abs(np.mean(log_hr) - np.log(2)) < 0.1  # the mean of 10 estimates (SE ≈ 0.15 each)


def test_run_study__matching_balances_confounders(cdm: Path) -> None:
    """Post-matching max |SMD| < 0.1 while the confounders start at |SMD| > 0.25."""
    res = run_study(cdm, _study(ps={"match": 1, "c": 1.0}))
    bal = res.balance
    assert list(bal.columns) == list(BALANCE_COLUMNS)
    confounders = bal[bal["covariate_name"].str.startswith("condition occurrence in [-365, 0]: Confounding")]
    assert len(confounders) == 5 and (confounders["std_diff_before"] > 0.25).all()
    assert np.nanmax(np.abs(bal["std_diff_after"])) < 0.1
    assert res.estimates["max_sdm"].iloc[0] == pytest.approx(np.nanmax(np.abs(bal["std_diff_after"])))
    # "before" means are plain prevalences in each cohort (population minus prior outcome): counts / n_t
    att = res.attrition
    n_t = int(att.loc[att["description"] == "No prior outcome", "target_subjects"].iloc[0])
    age = bal[bal["covariate_name"].str.startswith("age group")]
    assert (age["target_mean_before"] * n_t).round(6).mod(1).abs().max() < 1e-6  # counts / n_t


def test_run_study__cross_validated_ps_and_calibration(small_cdm: Path) -> None:
    """The CV path picks C from the grid; negative controls give an empirical null and calibrated p-values."""
    ncs = [{"name": f"nc{i}", "concepts": [c]} for i, c in enumerate(NEGATIVE_CONTROLS, 1)]
    res = run_study(small_cdm, _study(negative_controls=ncs, ps={"strata": 5}))
    est = res.estimates
    assert list(est.columns) == list(ESTIMATE_COLUMNS)
    assert est["negative_control"].tolist() == [False] + [True] * 5
    assert res.info["ps_C"] in np.logspace(-2, 1, 7) and res.info["ps_folds"] == 10
    assert res.info["null_controls"] == 5 and abs(res.info["null_mean"]) < 0.3
    assert est["calibrated_p"].notna().all()
    assert est.loc[0, "calibrated_ci_lower"] < est.loc[0, "calibrated_hr"] < est.loc[0, "calibrated_ci_upper"]
    # incidence rates per 1,000 person-years from the reported counts
    row = est.iloc[0]
    assert row["target_ir"] == pytest.approx(row["target_outcomes"] / (row["target_days"] / 365.25) * 1000)
    assert row["mdrr"] == pytest.approx(
        mdrr(
            int(row["target_subjects"]),
            int(row["comparator_subjects"]),
            int(row["target_outcomes"] + row["comparator_outcomes"]),
        )
    )
    strata = res.attrition[res.attrition["description"].str.startswith("Stratified")]
    assert len(strata) == 6  # one per outcome


def test_build_population__attrition_equals_pandas_count(cdm: Path) -> None:
    """Every attrition number recomputed with pandas from the CDM files."""
    res = run_study(cdm, _study(ps={"match": 1, "c": 1.0}, washout=365))
    drug = pd.read_parquet(cdm / "drug_exposure.parquet")
    anc = pd.read_parquet(cdm / "concept_ancestor.parquet")
    obs = pd.read_parquet(cdm / "observation_period.parquet")
    cond = pd.read_parquet(cdm / "condition_occurrence.parquet")

    def desc(c: int) -> set[int]:
        return set(anc.loc[anc["ancestor_concept_id"] == c, "descendant_concept_id"]) | {c}

    t = drug[drug["drug_concept_id"].isin(desc(TARGET))].groupby("person_id")["drug_exposure_start_date"].min()
    c = drug[drug["drug_concept_id"].isin(desc(COMPARATOR))].groupby("person_id")["drug_exposure_start_date"].min()
    both = pd.concat([t.rename("t"), c.rename("c")], axis=1)
    expected = [(len(t), len(c))]
    both = both[~(both["t"] == both["c"])]
    both["treat"] = both["c"].isna() | (both["t"] < both["c"])
    both["index"] = pd.to_datetime(np.where(both["treat"], both["t"], both["c"]))
    expected.append((int(both["treat"].sum()), int((~both["treat"]).sum())))
    m = both.reset_index().merge(obs, on="person_id")
    m = m[(pd.to_datetime(m["observation_period_start_date"]) <= m["index"])]
    m = m[pd.to_datetime(m["observation_period_end_date"]) >= m["index"]]
    expected.append((int(m["treat"].sum()), int((~m["treat"]).sum())))
    m = m[(m["index"] - pd.to_datetime(m["observation_period_start_date"])).dt.days >= 365]
    expected.append((int(m["treat"].sum()), int((~m["treat"]).sum())))
    m = m[pd.to_datetime(m["observation_period_end_date"]) > m["index"]]
    expected.append((int(m["treat"].sum()), int((~m["treat"]).sum())))
    o = cond[cond["condition_concept_id"].isin(desc(OUTCOME))].merge(m[["person_id", "index"]], on="person_id")
    prior = set(o.loc[pd.to_datetime(o["condition_start_date"]) <= o["index"], "person_id"])
    m = m[~m["person_id"].isin(prior)]
    expected.append((int(m["treat"].sum()), int((~m["treat"]).sum())))
    att = res.attrition
    assert list(att.columns) == list(ATTRITION_COLUMNS)
    got = list(zip(att["target_subjects"], att["comparator_subjects"], strict=True))[:6]
    assert got == expected
    matched = att.iloc[6]
    assert matched["target_subjects"] == matched["comparator_subjects"] == res.estimates["target_subjects"].iloc[0]


def test_cohort_command__cli_writes_tables_and_report(
    tmp_path: Path, small_cdm: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI (--target/--comparator/--outcome, --negative-controls CSV) writes three tables and a report."""
    from biolake.report.html import _Chart
    from biolake.report.runs import build_run_report

    ncs = tmp_path / "nc.csv"
    pd.DataFrame({"name": [f"nc{i}" for i in range(1, 6)], "concept_id": NEGATIVE_CONTROLS}).to_csv(ncs, index=False)
    out = tmp_path / "est.csv"
    argv = ["--lake", str(tmp_path / "lake"), "precision", "cohort", "--omop", str(small_cdm), "--target", str(TARGET),
            "--comparator", str(COMPARATOR), "--outcome", str(OUTCOME), "--negative-controls", str(ncs),
            "--ps-match", "1", "--washout", "365", "--out", str(out), "-q"]  # fmt: skip
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    est = pd.read_csv(out)
    assert list(est.columns) == list(ESTIMATE_COLUMNS)
    assert est["outcome"].tolist() == [str(OUTCOME)] + [f"nc{i}" for i in range(1, 6)]
    assert list(pd.read_csv(tmp_path / "est_balance.csv").columns) == list(BALANCE_COLUMNS)
    assert list(pd.read_csv(tmp_path / "est_attrition.csv").columns) == list(ATTRITION_COLUMNS)
    lake = Lake.open(tmp_path / "lake")
    assert {"est", "est_balance", "est_attrition"} <= set(lake.names())
    run_id = lake.info("est").run_id
    report = build_run_report(lake, run_id)
    section = next(s for s in report.sections if s.title == "precision cohort")
    specs = [json.loads(b.spec_json) for b in section._walk() if isinstance(b, _Chart)]  # type: ignore[attr-defined]
    assert len(specs) == 2  # PS distribution, balance scatter
    assert [s.title for s in section.subsections][-2:] == ["Propensity score distribution", "Covariate balance"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "999"], "both cohorts are needed"),
        (["--ps-strata", "5"], "one of --ps-match and --ps-strata"),
        (["--target", "1,x"], "comma-separated integer"),
    ],
)
def test_cohort_command__bad_input_exits_2(
    tmp_path: Path, cdm: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    """Bad options are one-line errors (exit 2) and leave no dataset in the lake."""
    args = {"--target": str(TARGET), "--comparator": str(COMPARATOR), "--outcome": str(OUTCOME), "--ps-match": "1"}
    argv = [
        "--lake",
        str(tmp_path / "lake"),
        "precision",
        "cohort",
        "--omop",
        str(cdm),
        "--out",
        str(tmp_path / "e.csv"),
    ]
    if extra[0] == "--ps-strata":
        argv += [k_v for k, v in args.items() for k_v in (k, v)] + extra
    else:
        args[extra[0]] = extra[1]
        argv += [k_v for k, v in args.items() for k_v in (k, v)]
    code, _, err = _cli([*argv, "-q"], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not Lake.open(tmp_path / "lake").names()


def test_load_study__unknown_key_is_input_error(tmp_path: Path) -> None:
    """A misspelt key in the study YAML names the file and the key."""
    from biolake.precision.cohort import load_study

    p = tmp_path / "study.yaml"
    p.write_text("target: [1]\ncomparator: [2]\noutcomes: [3]\nwashot: 30\n")
    with pytest.raises(InputError, match=r"unknown key.*washot"):
        load_study(p)


@pytest.fixture(scope="module")
def synthea(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SYNTHEA.exists():
        pytest.skip(f"{SYNTHEA} not available")
    d = tmp_path_factory.mktemp("synthea")
    with zipfile.ZipFile(SYNTHEA) as z:
        z.extractall(d)
    return next(p.parent for p in d.rglob("person.parquet"))


def test_run_study__synthea_acetaminophen_vs_ibuprofen(tmp_path: Path, synthea: Path) -> None:
    """The real Synthea 27-person CDM end to end; attrition recomputed by an independent SQL query."""
    study = {
        "target": {"name": "acetaminophen", "concepts": [1127433, 19079924]},
        "comparator": {"name": "ibuprofen", "concepts": [19078461, 19019979]},
        "outcomes": [{"name": "acute bronchitis", "concepts": [260139]}],
        "washout": 365,
    }
    lake = Lake.open(tmp_path / "lake")
    cohort_job(lake, synthea, study, out=tmp_path / "est.parquet")
    est = pd.read_parquet(tmp_path / "est.parquet")
    att = pd.read_parquet(tmp_path / "est_attrition.parquet")
    assert est.shape == (1, len(ESTIMATE_COLUMNS)) and len(att) == 7
    con = duckdb.connect()
    d = str(synthea)
    row = con.execute(
        f"""WITH e AS (
              SELECT person_id,
                     min(CASE WHEN drug_concept_id IN (1127433, 19079924) THEN drug_exposure_start_date END) t,
                     min(CASE WHEN drug_concept_id IN (19078461, 19019979) THEN drug_exposure_start_date END) c
              FROM '{d}/drug_exposure.parquet' GROUP BY person_id),
            u AS (SELECT person_id, coalesce(c IS NULL OR t < c, false) AND t IS NOT NULL AS treat,
                         CASE WHEN c IS NULL OR t < c THEN t ELSE c END AS idx
                  FROM e WHERE (t IS NOT NULL OR c IS NOT NULL) AND (t IS NULL OR c IS NULL OR t <> c)),
            w AS (SELECT u.* FROM u JOIN '{d}/observation_period.parquet' o USING (person_id)
                  WHERE o.observation_period_start_date <= idx - INTERVAL 365 DAY
                    AND o.observation_period_end_date > idx),
            p AS (SELECT * FROM w WHERE person_id NOT IN (
                  SELECT person_id FROM '{d}/condition_occurrence.parquet' JOIN w USING (person_id)
                  WHERE condition_concept_id = 260139 AND condition_start_date <= idx))
        SELECT (SELECT count(*) FILTER (WHERE t IS NOT NULL) FROM e),
               (SELECT count(*) FILTER (WHERE c IS NOT NULL) FROM e),
               (SELECT count_if(treat) FROM w), (SELECT count_if(NOT treat) FROM w),
               (SELECT count_if(treat) FROM p), (SELECT count_if(NOT treat) FROM p)"""
    ).fetchone()
    assert (att.loc[0, "target_subjects"], att.loc[0, "comparator_subjects"]) == row[:2]
    assert (att.loc[4, "target_subjects"], att.loc[4, "comparator_subjects"]) == row[2:4]  # after ≥ 1 day at risk
    assert (att.loc[5, "target_subjects"], att.loc[5, "comparator_subjects"]) == row[4:6]  # no prior outcome
    assert est.loc[0, "target_subjects"] == att.loc[6, "target_subjects"]


# CohortMethod result column → ours (docs/cohort.md has the table)
CM_TO_OURS = {
    "rr": "hr",
    "ci_95_lb": "ci_lower",
    "ci_95_ub": "ci_upper",
    "p": "p",
    "calibrated_p": "calibrated_p",
    "calibrated_rr": "calibrated_hr",
    "calibrated_ci_95_lb": "calibrated_ci_lower",
    "calibrated_ci_95_ub": "calibrated_ci_upper",
    "log_rr": "log_hr",
    "se_log_rr": "se_log_hr",
    "target_subjects": "target_subjects",
    "comparator_subjects": "comparator_subjects",
    "target_days": "target_days",
    "comparator_days": "comparator_days",
    "target_outcomes": "target_outcomes",
    "comparator_outcomes": "comparator_outcomes",
}
CM_DIAGNOSTICS_TO_OURS = {"mdrr": "mdrr", "max_sdm": "max_sdm", "equipoise": "equipoise"}
CM_BALANCE_TO_OURS = {
    c: c
    for c in (
        "covariate_id",
        "target_mean_before",
        "comparator_mean_before",
        "std_diff_before",
        "target_mean_after",
        "comparator_mean_after",
        "std_diff_after",
    )
}


@pytest.fixture(scope="module")
def eunomia() -> dict[str, pd.DataFrame]:
    if not EUNOMIA.exists():
        pytest.skip(f"{EUNOMIA} not available")
    with zipfile.ZipFile(EUNOMIA) as z:
        return {Path(n).stem: pd.read_csv(z.open(n)) for n in z.namelist() if n.endswith(".csv")}


def test_eunomia__our_columns_cover_cohortmethod_results(eunomia: dict[str, pd.DataFrame]) -> None:
    """Every mapped CohortMethod column exists in its published tables and in ours."""
    assert set(CM_TO_OURS) <= set(eunomia["cm_result"].columns)
    assert set(CM_DIAGNOSTICS_TO_OURS) <= set(eunomia["cm_diagnostics_summary"].columns)
    assert set(CM_BALANCE_TO_OURS) <= set(eunomia["cm_covariate_balance"].columns)
    assert set(CM_TO_OURS.values()) | set(CM_DIAGNOSTICS_TO_OURS.values()) <= set(ESTIMATE_COLUMNS)
    assert set(CM_BALANCE_TO_OURS.values()) <= set(BALANCE_COLUMNS)
    steps = eunomia["cm_attrition"]["description"].unique().tolist()
    assert {"Original cohorts", "No prior outcome", "Matched on propensity score"} <= set(steps)


def test_eunomia__mdrr_reproduces_published_diagnostics(eunomia: dict[str, pd.DataFrame]) -> None:
    """Our MDRR from CohortMethod's published subject and outcome counts equals its published mdrr (1e-9)."""
    res = eunomia["cm_result"].dropna(subset=["log_rr"])
    diag = eunomia["cm_diagnostics_summary"]
    merged = res.merge(diag, on=["analysis_id", "outcome_id", "target_comparator_id"])
    assert len(merged) == 4
    for _, r in merged.iterrows():
        ours = mdrr(
            int(r["target_subjects"]),
            int(r["comparator_subjects"]),
            int(r["target_outcomes"] + r["comparator_outcomes"]),
        )
        assert ours == pytest.approx(r["mdrr"], rel=1e-9)


def test_eunomia__smd_formula_reproduces_published_balance(eunomia: dict[str, pd.DataFrame]) -> None:
    """Our SMD of binary covariates from the published (3-decimal) means equals the published std_diff to 0.01."""
    bal = eunomia["cm_covariate_balance"]
    binary = bal[bal["covariate_id"].mod(1000).isin([1, 3, 210])]
    for when in ("before", "after"):
        mt, mc = binary[f"target_mean_{when}"].to_numpy(), binary[f"comparator_mean_{when}"].to_numpy()
        ok = (mt > 0) & (mt < 1) & (mc > 0) & (mc < 1)
        assert ok.sum() >= 4
        np.testing.assert_allclose(_smd(mt[ok], mc[ok]), binary[f"std_diff_{when}"].to_numpy()[ok], atol=0.01)


def test_demo_step__cohort_recovers_planted_hr(tmp_path: Path) -> None:
    """The demo step is registered and its study recovers the planted HR 2 within its CI."""
    from biolake.lake.progress import NullProgress
    from biolake.report.demo import _STEPS
    from biolake.report.sections import precision_cohort as sections

    assert any(step is sections._cohort_demo for _, step in _STEPS)
    lake = Lake.open(tmp_path / "lake")
    [run_id] = sections._cohort_demo(lake, tmp_path, NullProgress())
    assert lake.run_record(run_id).command == "precision cohort"
    est = pd.read_csv(tmp_path / "cohort_estimates.csv")
    assert est.loc[0, "ci_lower"] <= 2.0 <= est.loc[0, "ci_upper"]


def test_run_study__csv_cdm_equals_parquet_cdm(tmp_path: Path) -> None:
    """The same CDM as CSV files and as Parquet files gives identical estimates and attrition."""
    study = _study(ps={"match": 1, "c": 1.0})
    generate_cohort_cdm(tmp_path / "pq", persons=600, seed=3)
    generate_cohort_cdm(tmp_path / "csv", persons=600, seed=3, fmt="csv")
    a, b = run_study(tmp_path / "pq", study), run_study(tmp_path / "csv", study)
    assert (tmp_path / "csv" / "person.csv").exists()
    pd.testing.assert_frame_equal(a.estimates, b.estimates)
    pd.testing.assert_frame_equal(a.attrition, b.attrition)
