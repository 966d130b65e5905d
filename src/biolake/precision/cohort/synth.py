"""A synthetic OMOP CDM v5.4 for new-user cohort studies: confounding, a planted hazard ratio, negative controls.

:func:`generate_cohort_cdm` writes ``person``, ``observation_period``, ``condition_occurrence``,
``drug_exposure``, ``concept`` and ``concept_ancestor`` (Parquet or CSV, CDM column names) for
a study of a target drug against a comparator drug:

* every person has an observation period and, inside it, an index date (first exposure to
  the target *or* the comparator); the prior observation is drawn so that some persons
  have less than a year of it (they fail a 365-day washout);
* baseline conditions (``CONFOUNDERS``: 5 concepts, and ``NOISE_CONDITIONS``: 25 more) are
  recorded 1–300 days before the index date; the confounders and age raise both the
  probability of receiving the target and the hazard of every outcome (confounding by
  indication: a crude comparison is biased upwards);
* the outcome (``OUTCOME`` 2000000 or its descendant 2000001) occurs after the index date
  with hazard ``base · exp(log(hr) · target + confounders)``; the negative-control outcomes
  (``NEGATIVE_CONTROLS``) with the same confounding but no effect of the drug (true HR 1);
  follow-up ends at the observation period's end (administrative censoring);
* small fractions of persons break the design on purpose: exposed to both drugs (the
  later drug is ignored under new-user "keep first"; on the same day both are removed),
  and an outcome before the index date (removed for that outcome).

Drug exposures use descendant (product) concepts of the ingredients, so the cohort
definition must expand descendants through ``concept_ancestor``: target ingredient
``TARGET`` 1000001 ⊃ 1000011, 1000012; comparator ``COMPARATOR`` 1000002 ⊃ 1000021.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from biolake.errors import check_param

__all__ = [
    "COMPARATOR",
    "CONFOUNDERS",
    "NEGATIVE_CONTROLS",
    "NOISE_CONDITIONS",
    "OUTCOME",
    "TARGET",
    "generate_cohort_cdm",
    "vocabulary",
]

TARGET = 1_000_001
COMPARATOR = 1_000_002
_TARGET_PRODUCTS = (1_000_011, 1_000_012)
_COMPARATOR_PRODUCTS = (1_000_021,)
OUTCOME = 2_000_000
_OUTCOME_CHILD = 2_000_001
NEGATIVE_CONTROLS = tuple(range(2_100_001, 2_100_006))
CONFOUNDERS = tuple(range(3_000_001, 3_000_006))
NOISE_CONDITIONS = tuple(range(3_000_006, 3_000_031))
_OTHER_DRUGS = tuple(range(4_000_001, 4_000_006))
_EPOCH = np.datetime64("1970-01-01", "D")


def vocabulary() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The made-up ``concept`` and ``concept_ancestor`` tables (ids above 1,000,000 no real concept uses)."""
    names: dict[int, tuple[str, str, str]] = {
        TARGET: ("Targetine", "Drug", "Ingredient"),
        COMPARATOR: ("Comparazole", "Drug", "Ingredient"),
        _TARGET_PRODUCTS[0]: ("Targetine 10 MG Oral Tablet", "Drug", "Clinical Drug"),
        _TARGET_PRODUCTS[1]: ("Targetine 20 MG Oral Tablet", "Drug", "Clinical Drug"),
        _COMPARATOR_PRODUCTS[0]: ("Comparazole 5 MG Oral Tablet", "Drug", "Clinical Drug"),
        OUTCOME: ("Gastrointestinal hemorrhage", "Condition", "Clinical Finding"),
        _OUTCOME_CHILD: ("Upper gastrointestinal hemorrhage", "Condition", "Clinical Finding"),
        8507: ("MALE", "Gender", "Gender"),
        8532: ("FEMALE", "Gender", "Gender"),
    }
    for i, c in enumerate(NEGATIVE_CONTROLS, 1):
        names[c] = (f"Negative control outcome {i}", "Condition", "Clinical Finding")
    for i, c in enumerate(CONFOUNDERS, 1):
        names[c] = (f"Confounding condition {i}", "Condition", "Clinical Finding")
    for i, c in enumerate(NOISE_CONDITIONS, 1):
        names[c] = (f"Other condition {i}", "Condition", "Clinical Finding")
    for i, c in enumerate(_OTHER_DRUGS, 1):
        names[c] = (f"Other drug {i}", "Drug", "Ingredient")
    ids = sorted(names)
    concept = pd.DataFrame(
        {
            "concept_id": np.array(ids, dtype=np.int32),
            "concept_name": [names[c][0] for c in ids],
            "domain_id": [names[c][1] for c in ids],
            "vocabulary_id": "biolake-synthetic",
            "concept_class_id": [names[c][2] for c in ids],
            "standard_concept": "S",
            "concept_code": [str(c) for c in ids],
        }
    )
    parent = {p: TARGET for p in _TARGET_PRODUCTS} | {p: COMPARATOR for p in _COMPARATOR_PRODUCTS}
    parent[_OUTCOME_CHILD] = OUTCOME
    rows = [(c, c, 0) for c in ids] + [(p, c, 1) for c, p in parent.items()]
    anc = pd.DataFrame(rows, columns=["ancestor_concept_id", "descendant_concept_id", "min_levels_of_separation"])
    anc["max_levels_of_separation"] = anc["min_levels_of_separation"]
    return concept, anc.astype(np.int32)


def _write(frame: pd.DataFrame | pa.Table, path: Path, fmt: str) -> None:
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    if fmt == "parquet":
        pq.write_table(table, path.with_suffix(".parquet"))
    else:
        table.to_pandas().to_csv(path.with_suffix(".csv"), index=False)


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(days).astype(np.int32), type=pa.date32())


def generate_cohort_cdm(
    directory: str | os.PathLike[str],
    *,
    persons: int = 2000,
    hazard_ratio: float = 2.0,
    seed: int = 1,
    base_rate: float = 0.25,
    confounding: float = 0.8,
    fmt: str = "parquet",
) -> dict[str, int]:
    """Write a synthetic CDM for a target-vs-comparator new-user study; return rows per table.

    Parameters
    ----------
    directory
        Where the CDM tables are written (created).
    persons
        Number of persons, each with one index exposure (target or comparator).
    hazard_ratio
        True hazard ratio of the outcome ``OUTCOME`` for target vs comparator; the negative
        controls have true hazard ratio 1.
    seed
        Random seed (the CDM is a deterministic function of the arguments).
    base_rate
        Outcome hazard per person-year of a comparator patient without confounders.
    confounding
        Log-odds of receiving the target and log-hazard of the outcomes per confounder present.
    fmt
        ``parquet`` or ``csv``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     generate_cohort_cdm(d, persons=50, seed=3)["person"]
    50
    """
    f = "generate_cohort_cdm"
    check_param(f, "persons", persons, isinstance(persons, int) and persons >= 10, "an integer >= 10")
    check_param(f, "hazard_ratio", hazard_ratio, hazard_ratio > 0, "a positive number")
    check_param(f, "fmt", fmt, fmt in ("parquet", "csv"), "parquet or csv")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n = persons
    pid = np.arange(1, n + 1, dtype=np.int64)
    male = rng.random(n) < 0.5
    age = rng.integers(30, 85, n)
    obs_start = int((np.datetime64("2008-01-01") - _EPOCH).astype(int)) + rng.integers(0, 5 * 365, n)
    prior = np.where(rng.random(n) < 0.12, rng.integers(30, 365, n), rng.integers(365, 1500, n))
    index = obs_start + prior
    follow = rng.integers(30, 3 * 365, n)
    obs_end = index + follow
    birth_year = (index.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970) - age
    # confounders: present with probability 0.25 (older persons a little more often)
    conf = rng.random((n, len(CONFOUNDERS))) < (0.15 + 0.2 * (age[:, None] - 30) / 55)
    older = (age - 57.5) / 15
    lin_t = -0.5 + confounding * (conf.sum(1) - conf.mean(0).sum()) + 0.3 * older + 0.2 * male
    target = rng.random(n) < 1 / (1 + np.exp(-lin_t))
    lin_o = confounding * conf.sum(1) + 0.3 * older
    noise = rng.random((n, len(NOISE_CONDITIONS))) < rng.uniform(0.03, 0.3, len(NOISE_CONDITIONS))

    cond_rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def add_conditions(mask: np.ndarray, concepts: tuple[int, ...], days_before: np.ndarray | None = None) -> None:
        who, which = np.nonzero(mask)
        if days_before is None:
            days_before = rng.integers(1, 301, len(who))
        cond_rows.append((pid[who], np.asarray(concepts)[which], index[who] - days_before))

    add_conditions(conf, CONFOUNDERS)
    add_conditions(noise, NOISE_CONDITIONS)
    # outcomes after the index date: exponential event times (days), censored at obs_end
    outcome_ids = (OUTCOME, *NEGATIVE_CONTROLS)
    for k, concept in enumerate(outcome_ids):
        log_hr = np.log(hazard_ratio) * target if k == 0 else 0.0
        rate = base_rate / 365.25 * np.exp(lin_o + log_hr) * (1.0 if k == 0 else 0.6)
        t = np.ceil(rng.exponential(1 / rate)).astype(np.int64)
        hit = t <= follow
        code = np.where(rng.random(n) < 0.5, _OUTCOME_CHILD, OUTCOME) if k == 0 else np.full(n, concept)
        cond_rows.append((pid[hit], code[hit], index[hit] + t[hit]))
        prior_hit = rng.random(n) < 0.03  # an outcome before the index date: removed for this outcome
        cond_rows.append((pid[prior_hit], code[prior_hit], index[prior_hit] - rng.integers(1, 200, prior_hit.sum())))
    cp = np.concatenate([r[0] for r in cond_rows])
    cc = np.concatenate([r[1] for r in cond_rows])
    cd = np.concatenate([r[2] for r in cond_rows])
    order = np.lexsort((cd, cp))
    cp, cc, cd = cp[order], cc[order], cd[order]

    # drug exposures: the index drug (a product of its ingredient), sometimes repeated; a few both
    products = np.where(
        target,
        np.where(rng.random(n) < 0.5, _TARGET_PRODUCTS[0], _TARGET_PRODUCTS[1]),
        _COMPARATOR_PRODUCTS[0],
    )
    dp, dc, ds = [pid], [products], [index]
    again = rng.random(n) < 0.5
    dp.append(pid[again])
    dc.append(products[again])
    ds.append(index[again] + rng.integers(20, 200, again.sum()))
    both = rng.random(n) < 0.04  # also exposed to the other drug, later (or on the index day)
    other = np.where(target, _COMPARATOR_PRODUCTS[0], _TARGET_PRODUCTS[0])
    shift = np.where(rng.random(n) < 0.3, 0, rng.integers(1, 300, n))
    dp.append(pid[both])
    dc.append(other[both])
    ds.append(index[both] + shift[both])
    extra = rng.random((n, len(_OTHER_DRUGS))) < 0.15
    who, which = np.nonzero(extra)
    dp.append(pid[who])
    dc.append(np.asarray(_OTHER_DRUGS)[which])
    ds.append(index[who] - rng.integers(1, 300, len(who)))
    dpa, dca, dsa = np.concatenate(dp), np.concatenate(dc), np.concatenate(ds)
    order = np.lexsort((dsa, dpa))
    dpa, dca, dsa = dpa[order], dca[order], dsa[order]
    # the observation period must hold every record
    last = np.maximum.reduceat(dsa, np.searchsorted(dpa, pid)) if len(dpa) else obs_end
    obs_end = np.maximum(obs_end, last)

    concept, ancestor = vocabulary()
    tables = {
        "concept": concept,
        "concept_ancestor": ancestor,
        "person": pa.table(
            {
                "person_id": pid,
                "gender_concept_id": np.where(male, 8507, 8532).astype(np.int32),
                "year_of_birth": birth_year.astype(np.int32),
                "month_of_birth": np.full(n, 6, dtype=np.int32),
                "day_of_birth": np.full(n, 15, dtype=np.int32),
                "race_concept_id": np.zeros(n, dtype=np.int32),
                "ethnicity_concept_id": np.zeros(n, dtype=np.int32),
            }
        ),
        "observation_period": pa.table(
            {
                "observation_period_id": pid,
                "person_id": pid,
                "observation_period_start_date": _dates(obs_start),
                "observation_period_end_date": _dates(obs_end),
                "period_type_concept_id": np.full(n, 32817, dtype=np.int32),
            }
        ),
        "condition_occurrence": pa.table(
            {
                "condition_occurrence_id": np.arange(1, len(cp) + 1, dtype=np.int64),
                "person_id": cp,
                "condition_concept_id": cc.astype(np.int32),
                "condition_start_date": _dates(cd),
                "condition_type_concept_id": np.full(len(cp), 32817, dtype=np.int32),
            }
        ),
        "drug_exposure": pa.table(
            {
                "drug_exposure_id": np.arange(1, len(dpa) + 1, dtype=np.int64),
                "person_id": dpa,
                "drug_concept_id": dca.astype(np.int32),
                "drug_exposure_start_date": _dates(dsa),
                "drug_exposure_end_date": _dates(dsa + 30),
                "drug_type_concept_id": np.full(len(dpa), 32817, dtype=np.int32),
            }
        ),
    }
    for name, table in tables.items():
        _write(table, out / name, fmt)
    return {name: len(t) if isinstance(t, pd.DataFrame) else t.num_rows for name, t in tables.items()}
