"""The study definition and the SQL that builds cohorts, outcomes and baseline covariates from an OMOP CDM.

Everything here runs in DuckDB over the CDM's tables (CSV or Parquet, opened by
:class:`biolake.discovery.trials.match.OmopCdm`); only the study population (one row per
person) and the covariates (one row per person and covariate present) come back to Python.

Cohorts (new users, as CohortMethod's ``createStudyPopulation`` with
``removeDuplicateSubjects = "keep first"`` and ``firstExposureOnly = TRUE``):

1. *Original cohorts* — persons with a ``drug_exposure`` of a target (comparator) concept or
   any of its descendants (``concept_ancestor``); their first such exposure is the index date.
2. *New users of one drug* — a person exposed to both is kept in the cohort of the drug
   they got first (they had no prior exposure to either drug) and removed when both
   started on the same day.
3. *Index inside an observation period* — an ``observation_period`` holds the index date.
4. *N days of prior observation* (washout) — the period started at least N days before.
5. *At least 1 day at risk* — the period continues after the index date.

Per outcome (after these): *No prior outcome* — persons with the outcome (any concept of the
set, ``condition_occurrence``) on or before the index date are removed. The time at risk
starts the day after the index date and ends at the first outcome, the end of the
observation period or, with ``risk_window_end``, that many days after the index date
(intention to treat); ``time`` = days from the index date to that end.

Baseline covariates (FeatureExtraction's default groups, as binary indicators, with its
``conceptId × 1000 + analysisId`` ids): sex (analysis 1), 5-year age group (3), index year
(6), every condition concept recorded in [index − lookback, index] (102) and every drug
concept started in that window (302), the drugs being compared and their descendants
excluded (as CohortMethod's ``excludedCovariateConceptIds``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml

from biolake.errors import InputError

__all__ = [
    "ConceptSet",
    "Covariates",
    "Study",
    "build_covariates",
    "build_population",
    "load_negative_controls",
    "load_study",
    "outcome_times",
    "validate_study",
]


@dataclass(frozen=True)
class ConceptSet:
    """A named set of concept ids, with their descendants unless ``descendants`` is false."""

    name: str
    concepts: tuple[int, ...]
    descendants: bool = True


@dataclass
class Study:
    """A new-user comparative cohort study (see :func:`load_study` for the YAML form)."""

    target: ConceptSet
    comparator: ConceptSet
    outcomes: list[ConceptSet]
    negative_controls: list[ConceptSet] = field(default_factory=list)
    washout: int = 365
    lookback: int = 365
    ps_match: int | None = 1
    ps_strata: int | None = None
    caliper: float = 0.2
    risk_window_end: int | None = None
    ps_c: float | None = None


def _concept_set(value: Any, default_name: str, source: str) -> ConceptSet:
    if isinstance(value, (int, list, tuple)):
        value = {"concepts": value}
    if not isinstance(value, dict):
        raise InputError(f"{default_name}: expected a mapping with 'concepts' or a list of concept ids", file=source)
    unknown = set(value) - {"name", "concepts", "descendants"}
    if unknown:
        raise InputError(f"{default_name}: unknown key(s) {', '.join(sorted(unknown))}", file=source)
    raw = value.get("concepts")
    raw = [raw] if isinstance(raw, int) else raw
    try:
        ids = tuple(int(c) for c in raw)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InputError(f"{default_name}: 'concepts' must be a list of integer concept ids", file=source) from None
    if not ids:
        raise InputError(f"{default_name}: 'concepts' is empty", file=source)
    return ConceptSet(str(value.get("name", default_name)), ids, bool(value.get("descendants", True)))


def _int_or_none(value: Any, key: str, source: str, *, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"'{key}' must be an integer >= {minimum}; got {value!r}", file=source)
    return value


def load_study(study: str | os.PathLike[str] | dict[str, Any]) -> Study:
    """Read a study YAML (or mapping)::

    target: {name: celecoxib, concepts: [1118084]}       # descendants included unless descendants: false
    comparator: {name: diclofenac, concepts: [1124300]}
    outcomes:
      - {name: gi_bleed, concepts: [192671]}
    negative_controls:                                   # optional, for empirical calibration
      - {name: ingrown nail, concepts: [139099]}
    washout: 365          # days of prior observation required (default 365)
    lookback: 365         # covariate window [index - lookback, index] (default 365)
    ps: {match: 1, caliper: 0.2}   # or {strata: 5}; c: 0.1 fixes the L1 strength (no CV)
    risk_window_end: null # days after index; null = end of observation (default)
    """
    source = "study"
    if not isinstance(study, dict):
        source = str(study)
        try:
            study = yaml.safe_load(Path(study).read_text())
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", file=source) from None
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML: {str(exc).splitlines()[0]}", file=source) from None
    if not isinstance(study, dict):
        raise InputError("a study must be a YAML mapping", file=source)
    known = {"target", "comparator", "outcomes", "negative_controls", "washout", "lookback", "ps", "risk_window_end"}
    unknown = set(study) - known
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}", file=source)
    for key in ("target", "comparator", "outcomes"):
        if key not in study:
            raise InputError(f"'{key}' is missing", file=source)
    outcomes = study["outcomes"]
    if isinstance(outcomes, dict) or not isinstance(outcomes, list):
        outcomes = [outcomes]
    ncs = study.get("negative_controls") or []
    ps = study.get("ps") or {"match": 1}
    if not isinstance(ps, dict) or set(ps) - {"match", "strata", "caliper", "c"} or ("match" in ps) == ("strata" in ps):
        raise InputError("'ps' must be {match: N[, caliper: C]} or {strata: K}", file=source)
    out = Study(
        target=_concept_set(study["target"], "target", source),
        comparator=_concept_set(study["comparator"], "comparator", source),
        outcomes=[_concept_set(o, f"outcome {i}", source) for i, o in enumerate(outcomes, 1)],
        negative_controls=[_concept_set(o, f"negative control {i}", source) for i, o in enumerate(ncs, 1)],
        washout=_int_or_none(study.get("washout", 365), "washout", source, minimum=0) or 0,
        lookback=_int_or_none(study.get("lookback", 365), "lookback", source, minimum=0) or 0,
        ps_match=_int_or_none(ps.get("match"), "ps.match", source, minimum=1),
        ps_strata=_int_or_none(ps.get("strata"), "ps.strata", source, minimum=1),
        caliper=float(ps.get("caliper", 0.2)),
        ps_c=None if ps.get("c") is None else float(ps["c"]),
        risk_window_end=_int_or_none(study.get("risk_window_end"), "risk_window_end", source, minimum=1),
    )
    validate_study(out, source=source)
    return out


def validate_study(study: Study, *, source: str = "study") -> None:
    """Check a study's option values (the YAML and the CLI share it)."""
    if not study.caliper > 0:
        raise InputError(f"'ps.caliper' must be positive; got {study.caliper}", file=source)
    if study.ps_c is not None and not study.ps_c > 0:
        raise InputError(f"'ps.c' must be positive; got {study.ps_c}", file=source)
    if (study.ps_match is None) == (study.ps_strata is None):
        raise InputError("give one of PS matching (match: N) or stratification (strata: K)", file=source)
    if not study.outcomes:
        raise InputError("no outcome given", file=source)
    names = [o.name for o in study.outcomes + study.negative_controls]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"outcome names must be unique; repeated: {', '.join(dup)}", file=source)


def _ids(ids: list[int]) -> str:
    return ", ".join(str(int(i)) for i in ids) if ids else "NULL"


def build_population(db: Any, study: Study) -> tuple[pd.DataFrame, list[tuple[str, int, int]]]:
    """The study population (person_id, treatment, index_date, end_date, days_observed) and the attrition steps.

    ``db`` is an :class:`~biolake.discovery.trials.match.OmopCdm`. Attrition: (description,
    target persons, comparator persons) after each step of the module docstring.
    """
    for table in ("drug_exposure", "observation_period"):
        if table not in db.tables:
            raise InputError(f"table {table} not found", file=db.directory)
    t_ids = db.concepts(study.target.concepts, study.target.descendants)
    c_ids = db.concepts(study.comparator.concepts, study.comparator.descendants)
    overlap = set(t_ids) & set(c_ids)
    if overlap:
        raise InputError(f"target and comparator share concept(s) {_ids(sorted(overlap)[:5])}", file=db.directory)
    con = db.con
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE cm_exposure AS
        SELECT person_id,
               MIN(drug_exposure_start_date) FILTER (WHERE drug_concept_id IN ({_ids(t_ids)})) AS t_first,
               MIN(drug_exposure_start_date) FILTER (WHERE drug_concept_id IN ({_ids(c_ids)})) AS c_first
        FROM drug_exposure WHERE drug_concept_id IN ({_ids(t_ids + c_ids)}) GROUP BY person_id"""
    )
    steps: list[tuple[str, int, int]] = []
    row = con.execute("SELECT count(t_first), count(c_first) FROM cm_exposure").fetchone()
    steps.append(("Original cohorts", int(row[0]), int(row[1])))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE cm_new AS
        SELECT person_id, CAST(t_first IS NOT NULL AND (c_first IS NULL OR t_first < c_first) AS INTEGER) AS treatment,
               CASE WHEN t_first IS NOT NULL AND (c_first IS NULL OR t_first < c_first) THEN t_first ELSE c_first END
                 AS index_date
        FROM cm_exposure WHERE t_first IS NULL OR c_first IS NULL OR t_first <> c_first"""
    )

    def count(table: str) -> tuple[int, int]:
        r = con.execute(
            f"SELECT count(*) FILTER (WHERE treatment = 1), count(*) FILTER (WHERE treatment = 0) FROM {table}"
        )
        got = r.fetchone()
        return int(got[0]), int(got[1])

    steps.append(("New users of one drug (first exposure; same-day starts of both removed)", *count("cm_new")))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE cm_obs AS
        SELECT n.person_id, n.treatment, n.index_date,
               MAX(o.observation_period_start_date) AS obs_start, MAX(o.observation_period_end_date) AS obs_end
        FROM cm_new n JOIN observation_period o ON o.person_id = n.person_id
         AND o.observation_period_start_date <= n.index_date AND o.observation_period_end_date >= n.index_date
        GROUP BY n.person_id, n.treatment, n.index_date"""
    )
    steps.append(("Index date inside an observation period", *count("cm_obs")))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE cm_washout AS SELECT * FROM cm_obs
        WHERE date_diff('day', obs_start, index_date) >= {int(study.washout)}"""
    )
    steps.append((f"{study.washout} days of prior observation", *count("cm_washout")))
    end = "obs_end"
    if study.risk_window_end is not None:
        end = f"LEAST(obs_end, index_date + INTERVAL {int(study.risk_window_end)} DAY)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE cm_population AS
        SELECT person_id, treatment, index_date, CAST({end} AS DATE) AS end_date FROM cm_washout
        WHERE CAST({end} AS DATE) > index_date ORDER BY person_id"""
    )
    steps.append(("At least 1 day at risk", *count("cm_population")))
    pop = con.execute(
        "SELECT person_id, treatment, index_date, date_diff('day', index_date, end_date) AS days FROM cm_population"
        " ORDER BY person_id"
    ).df()
    return pop, steps


def outcome_times(db: Any, outcome: ConceptSet) -> pd.DataFrame:
    """Per population person: ``prior`` (outcome on or before index), ``time`` (days at risk), ``event``."""
    ids = db.concepts(outcome.concepts, outcome.descendants)
    if "condition_occurrence" not in db.tables:
        raise InputError("table condition_occurrence not found", file=db.directory)
    return db.con.execute(
        f"""WITH occ AS (
              SELECT p.person_id,
                     bool_or(c.condition_start_date <= p.index_date) AS prior,
                     MIN(c.condition_start_date) FILTER (WHERE c.condition_start_date > p.index_date) AS first_after
              FROM cm_population p JOIN condition_occurrence c ON c.person_id = p.person_id
              WHERE c.condition_concept_id IN ({_ids(ids)}) GROUP BY p.person_id)
        SELECT p.person_id, coalesce(o.prior, false) AS prior,
               date_diff('day', p.index_date, CASE WHEN o.first_after IS NOT NULL AND o.first_after <= p.end_date
                                                   THEN o.first_after ELSE p.end_date END) AS time,
               CAST(o.first_after IS NOT NULL AND o.first_after <= p.end_date AS INTEGER) AS event
        FROM cm_population p LEFT JOIN occ o ON o.person_id = p.person_id ORDER BY p.person_id"""
    ).df()


@dataclass
class Covariates:
    """Binary baseline covariates: a sparse persons × covariates matrix and the covariate ids and names."""

    x: sp.csr_matrix
    ids: np.ndarray
    names: list[str]


def build_covariates(db: Any, study: Study) -> Covariates:
    """Baseline covariates of the population (see the module docstring), built in SQL."""
    con = db.con
    excluded = (
        db.concepts(study.target.concepts + study.comparator.concepts, True) if "concept_ancestor" in db.tables else []
    )
    excluded = sorted(set(excluded) | set(study.target.concepts) | set(study.comparator.concepts))
    lb = int(study.lookback)
    parts = [
        """SELECT p.person_id, CAST(pe.gender_concept_id AS BIGINT) * 1000 + 1 AS covariate_id,
                  'gender = ' || CAST(pe.gender_concept_id AS VARCHAR) AS name
           FROM cm_population p JOIN person pe ON pe.person_id = p.person_id""",
        """SELECT p.person_id, CAST((year(p.index_date) - pe.year_of_birth) // 5 AS BIGINT) * 1000 + 3,
                  'age group: ' || CAST(5 * ((year(p.index_date) - pe.year_of_birth) // 5) AS VARCHAR) || '-'
                  || CAST(5 * ((year(p.index_date) - pe.year_of_birth) // 5) + 4 AS VARCHAR)
           FROM cm_population p JOIN person pe ON pe.person_id = p.person_id""",
        """SELECT person_id, CAST(year(index_date) AS BIGINT) * 1000 + 6,
                  'index year: ' || CAST(year(index_date) AS VARCHAR) FROM cm_population""",
    ]
    if "condition_occurrence" in db.tables:
        parts.append(
            f"""SELECT DISTINCT p.person_id, CAST(c.condition_concept_id AS BIGINT) * 1000 + 102,
                      'condition occurrence in [-{lb}, 0]: ' || CAST(c.condition_concept_id AS VARCHAR)
               FROM cm_population p JOIN condition_occurrence c ON c.person_id = p.person_id
               WHERE c.condition_start_date BETWEEN p.index_date - INTERVAL {lb} DAY AND p.index_date
                 AND c.condition_concept_id <> 0"""
        )
    parts.append(
        f"""SELECT DISTINCT p.person_id, CAST(d.drug_concept_id AS BIGINT) * 1000 + 302,
                  'drug exposure in [-{lb}, 0]: ' || CAST(d.drug_concept_id AS VARCHAR)
           FROM cm_population p JOIN drug_exposure d ON d.person_id = p.person_id
           WHERE d.drug_exposure_start_date BETWEEN p.index_date - INTERVAL {lb} DAY AND p.index_date
             AND d.drug_concept_id <> 0 AND d.drug_concept_id NOT IN ({_ids(excluded)})"""
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE cm_covariate AS SELECT DISTINCT * FROM ("
        + " UNION ALL ".join(f"({p})" for p in parts)
        + ")"
    )
    names = con.execute(
        "SELECT covariate_id, any_value(name) AS name FROM cm_covariate GROUP BY covariate_id ORDER BY covariate_id"
    ).df()
    if "concept" in db.tables:
        concept_names = con.execute(
            """SELECT c.covariate_id, k.concept_name FROM (SELECT DISTINCT covariate_id FROM cm_covariate) c
               JOIN concept k ON k.concept_id = c.covariate_id // 1000 WHERE c.covariate_id % 1000 IN (1, 102, 302)"""
        ).df()
        lookup = dict(zip(concept_names["covariate_id"], concept_names["concept_name"], strict=True))
        names["name"] = [
            f"{n.split(':')[0].split(' =')[0]}: {lookup[i]}" if i in lookup else n
            for i, n in zip(names["covariate_id"], names["name"], strict=True)
        ]
    long = con.execute(
        """SELECT r.row_id, c.col_id FROM cm_covariate v
           JOIN (SELECT person_id, row_number() OVER (ORDER BY person_id) - 1 AS row_id FROM cm_population) r
             ON r.person_id = v.person_id
           JOIN (SELECT covariate_id, row_number() OVER (ORDER BY covariate_id) - 1 AS col_id
                 FROM (SELECT DISTINCT covariate_id FROM cm_covariate)) c ON c.covariate_id = v.covariate_id"""
    ).fetchnumpy()
    n = int(con.execute("SELECT count(*) FROM cm_population").fetchone()[0])
    rows = np.asarray(long["row_id"], dtype=np.int64)
    cols = np.asarray(long["col_id"], dtype=np.int64)
    x = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(names)))
    return Covariates(x=x, ids=names["covariate_id"].to_numpy(np.int64), names=list(names["name"]))


def load_negative_controls(path: str | os.PathLike[str]) -> list[ConceptSet]:
    """Negative-control outcomes from a file.

    A CSV/TSV with a ``concept_id`` column and optionally ``name`` (rows sharing a name form
    one concept set; without ``name`` each concept is its own control, named by its id), or a
    YAML list of concept sets (``- {name: …, concepts: […]}``).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("file not found", file=path)
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(p.read_text())
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML: {str(exc).splitlines()[0]}", file=path) from None
        if not isinstance(data, list):
            raise InputError("expected a YAML list of concept sets", file=path)
        return [_concept_set(o, f"negative control {i}", str(path)) for i, o in enumerate(data, 1)]
    try:
        frame = pd.read_csv(p, sep="\t" if p.suffix.lower() == ".tsv" else ",", dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot parse: {str(exc).splitlines()[0]}", file=path) from None
    if "concept_id" not in frame.columns:
        raise InputError("no 'concept_id' column", file=path)
    bad = ~frame["concept_id"].fillna("").str.strip().str.fullmatch(r"-?\d+")
    if bad.any():
        line = int(np.nonzero(bad.to_numpy())[0][0]) + 2
        raise InputError(f"concept_id {frame['concept_id'].iloc[line - 2]!r} is not an integer", file=path, line=line)
    ids = frame["concept_id"].astype(np.int64)
    names = frame["name"].fillna("").astype(str) if "name" in frame.columns else ids.astype(str)
    names = names.where(names != "", ids.astype(str))
    out: dict[str, list[int]] = {}
    for name, cid in zip(names, ids, strict=True):
        out.setdefault(name, []).append(int(cid))
    return [ConceptSet(name, tuple(c)) for name, c in out.items()]
