"""``trial match``: eligibility criteria over OMOP CDM tables, against hand-worked and brute-force answers.

* ``tests/data/discovery/trials/omop_tiny/`` (8 persons, CSV) with ``match_tiny_criteria.yaml``: every
  person fails exactly one criterion except persons 1 and 8 (worked by hand in the test below).
* A synthetic CDM (:func:`biolake.discovery.trials.omop_synth.generate_cdm`) screened again by a plain
  pandas implementation of the same rules (no SQL).
* The Synthea 27-person New Jersey CDM v5.4 (``../shared/data/omop/Synthea27NjParquet_5.4.zip``), also
  against pandas; skipped when absent.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from biolake.discovery.trials.match import OmopCdm, compile_criteria, match
from biolake.discovery.trials.omop_synth import generate_cdm, vocabulary
from biolake.errors import InputError

DATA = Path(__file__).resolve().parents[1] / "data" / "discovery" / "trials"
SYNTHEA = Path(__file__).resolve().parents[3] / "shared" / "data" / "omop" / "Synthea27NjParquet_5.4.zip"


def test_match__tiny_cdm_hand_worked_funnel() -> None:
    """Index 2020-01-01. Person 6 enters observation 2019-06-01 (< 365 days); person 3 is 14; person 4
    (born 1950-01-02, age 69) has diabetes only in 2017 (outside 730 days); person 5's HbA1c is 10.5 in
    the window (8.0 in 2018 is outside 365 days); person 2 has CKD stage 2001 (a descendant of 2000) in
    2015; person 7 has insulin 6001 twice in 2019. Person 8's CKD is after the index date and one insulin
    record is below min_count 2; person 5's diabetes on the index date itself is in the window."""
    eligible, funnel = match(DATA / "omop_tiny", DATA / "match_tiny_criteria.yaml")
    assert eligible.person_id.tolist() == [1, 8]
    assert funnel.remaining.tolist() == [8, 7, 6, 5, 4, 3, 2]
    assert funnel.removed.tolist() == [0, 1, 1, 1, 1, 1, 1]
    assert funnel.kind.tolist() == ["all", *["inclusion"] * 4, *["exclusion"] * 2]
    assert funnel.criterion.iloc[3] == "diabetes in the last 2 years"


def test_match__descendants_false_uses_listed_concepts_only() -> None:
    """Concept 1000 itself is recorded for person 2 only; with descendants its subtypes count too."""
    crit = {"index_date": "2020-01-01", "inclusion": [{"condition": {"concepts": [1000], "descendants": False}}]}
    eligible, _ = match(DATA / "omop_tiny", crit)
    assert eligible.person_id.tolist() == [2]
    crit["inclusion"][0]["condition"]["descendants"] = True  # type: ignore[index]
    assert match(DATA / "omop_tiny", crit)[0].person_id.tolist() == [1, 2, 3, 4, 5, 6, 7, 8]


def _age(person: pd.DataFrame, index: dt.date) -> pd.Series:
    before = (person.month_of_birth > index.month) | (
        (person.month_of_birth == index.month) & (person.day_of_birth > index.day)
    )
    return index.year - person.year_of_birth - before.astype(int)


def _events(frame: pd.DataFrame, concept_col: str, date_col: str, concepts: set[int], lo: dt.date | None, hi: dt.date):
    d = pd.to_datetime(frame[date_col]).dt.date
    keep = frame[concept_col].isin(concepts) & (d <= hi)
    if lo is not None:
        keep &= d >= lo
    return frame[keep]


def test_match__synthetic_cdm_agrees_with_pandas(tmp_path: Path) -> None:
    """3,000 generated persons: each criterion's set and the funnel equal a pandas re-implementation."""
    generate_cdm(tmp_path, persons=3000, seed=5)
    index = dt.date(2015, 6, 1)
    crit = {
        "index_date": index.isoformat(),
        "inclusion": [
            {"name": "observed", "observation": {"prior_days": 365}},
            {"name": "adult", "age": {"min": 18, "max": 75}},
            {"name": "women", "sex": "F"},
            {"name": "metabolic disease", "condition": {"concepts": [900], "window": [-3650, 0]}},
            {"name": "HbA1c", "measurement": {"concepts": [8000], "value": {"min": 6, "max": 9}}},
        ],
        "exclusion": [
            {"name": "CKD", "condition": {"concepts": [2000]}},
            {"name": "metformin x2", "drug": {"concepts": [5000], "window": [-1825, 0], "min_count": 2}},
        ],
    }
    eligible, funnel = match(tmp_path, crit)
    person = pd.read_parquet(tmp_path / "person.parquet")
    obs = pd.read_parquet(tmp_path / "observation_period.parquet")
    cond = pd.read_parquet(tmp_path / "condition_occurrence.parquet")
    drug = pd.read_parquet(tmp_path / "drug_exposure.parquet")
    meas = pd.read_parquet(tmp_path / "measurement.parquet")
    _, anc = vocabulary()

    def desc(c: int) -> set[int]:
        return set(anc.descendant_concept_id[anc.ancestor_concept_id == c]) | {c}

    start, end = (
        pd.to_datetime(obs.observation_period_start_date).dt.date,
        pd.to_datetime(obs.observation_period_end_date).dt.date,
    )
    sets = [
        set(obs.person_id[(start <= index - dt.timedelta(days=365)) & (end >= index)]),
        set(person.person_id[_age(person, index).between(18, 75)]),
        set(person.person_id[person.gender_concept_id == 8532]),
        set(
            _events(
                cond, "condition_concept_id", "condition_start_date", desc(900), index - dt.timedelta(3650), index
            ).person_id
        ),
    ]
    m = _events(meas, "measurement_concept_id", "measurement_date", desc(8000), None, index)
    sets.append(set(m.person_id[m.value_as_number.between(6, 9)]))
    ckd = set(_events(cond, "condition_concept_id", "condition_start_date", desc(2000), None, index).person_id)
    met = _events(drug, "drug_concept_id", "drug_exposure_start_date", desc(5000), index - dt.timedelta(1825), index)
    met2 = set(met.groupby("person_id").size().loc[lambda s: s >= 2].index)
    remaining = set(person.person_id)
    expected = [len(remaining)]
    for s in sets:
        remaining &= s
        expected.append(len(remaining))
    for s in (ckd, met2):
        remaining -= s
        expected.append(len(remaining))
    assert funnel.remaining.tolist() == expected
    assert eligible.person_id.tolist() == sorted(remaining)
    assert 0 < len(remaining) < expected[-3]  # the exclusions remove someone, something is left


@pytest.mark.skipif(not SYNTHEA.exists(), reason="../shared/data/omop/Synthea27NjParquet_5.4.zip not present")
def test_match__synthea_cdm_agrees_with_pandas(tmp_path: Path) -> None:
    """Real CDM v5.4 (Synthea "27" NJ: 28 persons; its concept_ancestor is empty, so concepts match themselves)."""
    with zipfile.ZipFile(SYNTHEA) as z:
        z.extractall(tmp_path, [n for n in z.namelist() if n.startswith("Synthea27NjParquet/")])
    cdm_dir = tmp_path / "Synthea27NjParquet"
    index = dt.date(2020, 1, 1)
    crit = {
        "index_date": "2020-01-01",
        "inclusion": [
            {"name": "age 18-80", "age": {"min": 18, "max": 80}},
            {"name": "viral sinusitis", "condition": {"concepts": [40481087]}},
        ],
        "exclusion": [{"name": "essential hypertension", "condition": {"concepts": [320128]}}],
    }
    with OmopCdm(cdm_dir) as cdm:
        eligible, funnel = match(cdm, crit)
    person = pd.read_parquet(cdm_dir / "person.parquet")
    cond = pd.read_parquet(cdm_dir / "condition_occurrence.parquet")
    before = cond[pd.to_datetime(cond.condition_start_date).dt.date <= index]
    adults = set(person.person_id[_age(person, index).between(18, 80)])
    sinusitis = set(before.person_id[before.condition_concept_id == 40481087])
    hypertension = set(before.person_id[before.condition_concept_id == 320128])
    expected = sorted((adults & sinusitis) - hypertension)
    assert funnel.remaining.tolist() == [len(person), len(adults), len(adults & sinusitis), len(expected)]
    assert eligible.person_id.tolist() == expected and len(expected) > 0


@pytest.mark.parametrize(
    ("crit", "message"),
    [
        ({"inclusion": []}, "index_date must be a date"),
        ({"index_date": "2020-13-01"}, "index_date must be a date"),
        ({"index_date": "2020-01-01", "inclusion": [{"lab": {"concepts": [1]}}]}, "unknown criterion 'lab'"),
        ({"index_date": "2020-01-01", "inclusion": [{"condition": {"concepts": ["x"]}}]}, "expected concept ids"),
        ({"index_date": "2020-01-01", "inclusion": [{"condition": {"concepts": [1], "window": [5, -5]}}]}, "after"),
        ({"index_date": "2020-01-01", "inclusion": [{"drug": {"concepts": [1], "value": {"min": 1}}}]}, "no value"),
        ({"index_date": "2020-01-01", "includes": []}, "unknown key 'includes'"),
    ],
)
def test_compile_criteria__bad_criteria(crit: dict[str, object], message: str) -> None:
    """Bad criteria are one-line input errors naming the criterion."""
    with pytest.raises(InputError, match=message):
        compile_criteria(crit)


def test_match__missing_table_is_an_input_error() -> None:
    """omop_tiny has no procedure_occurrence table."""
    crit = {"index_date": "2020-01-01", "inclusion": [{"procedure": {"concepts": [1]}}]}
    with pytest.raises(InputError, match="needs table procedure_occurrence, not found"):
        match(DATA / "omop_tiny", crit)
