"""A synthetic OMOP CDM v5.4 (a few tables) for the tests and benchmark of ``trial match``.

:func:`generate_cdm` writes ``person``, ``observation_period``, ``condition_occurrence``,
``drug_exposure``, ``measurement``, ``concept`` and ``concept_ancestor`` as Parquet (or CSV)
files named as the CDM tables, with the CDM's column names and types. Rows are drawn from a
fixed seed, person by person in chunks (bounded memory: a 1 M-person, 50 M-condition CDM is
written chunk by chunk).

The vocabulary is small and made up (ids below 10,000, which no standard concept uses),
with a three-level hierarchy so that descendant expansion through ``concept_ancestor``
matters (``concept_ancestor`` holds the transitive closure, including each concept as its
own ancestor at level 0, as the OMOP vocabularies do):

* conditions: 900 "Metabolic disease" ⊃ 1000 "Diabetes mellitus" ⊃ 1001–1005, and
  900 ⊃ 1100 "Obesity"; 2000 "Chronic kidney disease" ⊃ 2001–2003; 3001–3040 unrelated;
* drugs: 5000 "Metformin" ⊃ 5001, 5002; 6000 "Insulin" ⊃ 6001; 7001–7010 unrelated;
* measurements: 8000 "Hemoglobin A1c" (value_as_number ~ N(6.5, 1.2), %) and
  8100 "eGFR" (~ N(80, 20), mL/min/1.73m²).

Gender concepts are OMOP's 8507 (male) and 8532 (female). Dates lie in 1990–2024.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from biolake.errors import check_param

__all__ = ["CONDITION_CONCEPTS", "generate_cdm", "vocabulary"]

CONDITION_CONCEPTS = np.array([1001, 1002, 1003, 1004, 1005, 1100, 2001, 2002, 2003, *range(3001, 3041)])
_CONDITION_WEIGHTS = np.array([4, 2, 1, 1, 1, 3, 2, 1, 1, *([1] * 40)], dtype=float)
DRUG_CONCEPTS = np.array([5001, 5002, 6001, *range(7001, 7011)])
MEASUREMENT_CONCEPTS = np.array([8000, 8100])
_EPOCH = np.datetime64("1970-01-01", "D")
_START = int((np.datetime64("1990-01-01", "D") - _EPOCH).astype(int))
_END = int((np.datetime64("2024-12-31", "D") - _EPOCH).astype(int))


def vocabulary() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The made-up ``concept`` and ``concept_ancestor`` tables (see the module docstring)."""
    names: dict[int, tuple[str, str]] = {
        900: ("Metabolic disease", "Condition"),
        1000: ("Diabetes mellitus", "Condition"),
        1100: ("Obesity", "Condition"),
        2000: ("Chronic kidney disease", "Condition"),
        5000: ("Metformin", "Drug"),
        6000: ("Insulin", "Drug"),
        8000: ("Hemoglobin A1c", "Measurement"),
        8100: ("Glomerular filtration rate", "Measurement"),
        8507: ("MALE", "Gender"),
        8532: ("FEMALE", "Gender"),
    }
    for c in range(1001, 1006):
        names[c] = (f"Diabetes subtype {c - 1000}", "Condition")
    for c in range(2001, 2004):
        names[c] = (f"Chronic kidney disease stage {c - 1999}", "Condition")
    for c in range(3001, 3041):
        names[c] = (f"Unrelated condition {c - 3000}", "Condition")
    for c in (5001, 5002):
        names[c] = (f"Metformin {500 * (c - 5000)} MG Oral Tablet", "Drug")
    names[6001] = ("Insulin glargine 100 UNT/ML", "Drug")
    for c in range(7001, 7011):
        names[c] = (f"Unrelated drug {c - 7000}", "Drug")
    ids = sorted(names)
    concept = pd.DataFrame(
        {
            "concept_id": np.array(ids, dtype=np.int32),
            "concept_name": [names[c][0] for c in ids],
            "domain_id": [names[c][1] for c in ids],
            "vocabulary_id": "biolake-synthetic",
            "concept_class_id": "Clinical Finding",
            "standard_concept": "S",
            "concept_code": [str(c) for c in ids],
        }
    )
    parent = {c: 1000 for c in range(1001, 1006)} | {1000: 900, 1100: 900}
    parent |= {c: 2000 for c in range(2001, 2004)} | {5001: 5000, 5002: 5000, 6001: 6000}
    rows = []
    for c in ids:
        rows.append((c, c, 0))
        level, p = 1, parent.get(c)
        while p is not None:
            rows.append((p, c, level))
            level, p = level + 1, parent.get(p)
    anc = pd.DataFrame(rows, columns=["ancestor_concept_id", "descendant_concept_id", "min_levels_of_separation"])
    anc["max_levels_of_separation"] = anc["min_levels_of_separation"]
    return concept, anc.astype(np.int32)


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.date32())


class _Writer:
    """One CDM table written chunk by chunk (Parquet row groups, or CSV appended)."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path.with_suffix("." + fmt)
        self.fmt = fmt
        self._pq: pq.ParquetWriter | None = None
        self._header = True

    def write(self, table: pa.Table) -> None:
        if self.fmt == "parquet":
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, table.schema)
            self._pq.write_table(table)
        else:
            table.to_pandas().to_csv(self.path, mode="w" if self._header else "a", header=self._header, index=False)
            self._header = False

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()


def generate_cdm(
    directory: str | os.PathLike[str],
    *,
    persons: int = 1000,
    conditions_per_person: float = 5.0,
    drugs_per_person: float = 2.0,
    measurements_per_person: float = 2.0,
    seed: int = 1,
    fmt: str = "parquet",
    chunk_persons: int = 100_000,
) -> dict[str, int]:
    """Write a synthetic OMOP CDM into ``directory``; return the number of rows per table.

    Each person has Poisson(mean) condition, drug and measurement records, dated inside one
    observation period, and a birth date from 1930 to 2010.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     generate_cdm(d, persons=10, seed=3)["person"]
    10
    """
    f = "generate_cdm"
    check_param(f, "persons", persons, isinstance(persons, int) and persons >= 1, "an integer >= 1")
    check_param(f, "fmt", fmt, fmt in ("parquet", "csv"), "parquet or csv")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    concept, ancestor = vocabulary()
    written = {"concept": len(concept), "concept_ancestor": len(ancestor)}
    for name, frame in (("concept", concept), ("concept_ancestor", ancestor)):
        w = _Writer(out / name, fmt)
        w.write(pa.Table.from_pandas(frame, preserve_index=False))
        w.close()
    rng = np.random.default_rng(seed)
    writers = {
        t: _Writer(out / t, fmt)
        for t in ("person", "observation_period", "condition_occurrence", "drug_exposure", "measurement")
    }
    counts = dict.fromkeys(writers, 0)
    next_id = dict.fromkeys(writers, 1)
    p_cond = _CONDITION_WEIGHTS / _CONDITION_WEIGHTS.sum()
    for first in range(0, persons, chunk_persons):
        n = min(chunk_persons, persons - first)
        pid = np.arange(first + 1, first + n + 1, dtype=np.int64)
        birth = rng.integers(int((np.datetime64("1930-01-01") - _EPOCH).astype(int)), _START + 20 * 365, n)
        bdates = _EPOCH + birth.astype("timedelta64[D]")
        months = bdates.astype("datetime64[M]")
        gender = np.where(rng.random(n) < 0.5, 8507, 8532).astype(np.int32)
        obs_start = np.maximum(birth, rng.integers(_START, _START + 25 * 365, n))
        obs_end = np.minimum(obs_start + rng.integers(365, 30 * 365, n), _END)
        obs_end = np.maximum(obs_end, obs_start + 1)
        writers["person"].write(
            pa.table(
                {
                    "person_id": pid,
                    "gender_concept_id": gender,
                    "year_of_birth": (bdates.astype("datetime64[Y]").astype(np.int64) + 1970).astype(np.int32),
                    "month_of_birth": (months.astype(np.int64) % 12 + 1).astype(np.int32),
                    "day_of_birth": ((bdates - months).astype(np.int64) + 1).astype(np.int32),
                    "race_concept_id": np.zeros(n, dtype=np.int32),
                    "ethnicity_concept_id": np.zeros(n, dtype=np.int32),
                }
            )
        )
        writers["observation_period"].write(
            pa.table(
                {
                    "observation_period_id": pid,
                    "person_id": pid,
                    "observation_period_start_date": _dates(obs_start),
                    "observation_period_end_date": _dates(obs_end),
                    "period_type_concept_id": np.full(n, 32817, dtype=np.int32),
                }
            )
        )
        for table, mean, concepts in (
            ("condition_occurrence", conditions_per_person, CONDITION_CONCEPTS),
            ("drug_exposure", drugs_per_person, DRUG_CONCEPTS),
            ("measurement", measurements_per_person, MEASUREMENT_CONCEPTS),
        ):
            k = rng.poisson(mean, n)
            rows = int(k.sum())
            owner = np.repeat(np.arange(n), k)
            day = obs_start[owner] + (rng.random(rows) * (obs_end[owner] - obs_start[owner])).astype(np.int64)
            ids = np.arange(next_id[table], next_id[table] + rows, dtype=np.int64)
            next_id[table] += rows
            if table == "condition_occurrence":
                concept_ids = rng.choice(concepts, rows, p=p_cond).astype(np.int32)
                cols = {
                    "condition_occurrence_id": ids,
                    "person_id": pid[owner],
                    "condition_concept_id": concept_ids,
                    "condition_start_date": _dates(day),
                    "condition_type_concept_id": np.full(rows, 32817, dtype=np.int32),
                }
            elif table == "drug_exposure":
                cols = {
                    "drug_exposure_id": ids,
                    "person_id": pid[owner],
                    "drug_concept_id": rng.choice(concepts, rows).astype(np.int32),
                    "drug_exposure_start_date": _dates(day),
                    "drug_exposure_end_date": _dates(day + 30),
                    "drug_type_concept_id": np.full(rows, 32817, dtype=np.int32),
                }
            else:
                concept_ids = rng.choice(concepts, rows).astype(np.int32)
                value = np.where(concept_ids == 8000, rng.normal(6.5, 1.2, rows), rng.normal(80, 20, rows))
                missing = rng.random(rows) < 0.05
                cols = {
                    "measurement_id": ids,
                    "person_id": pid[owner],
                    "measurement_concept_id": concept_ids,
                    "measurement_date": _dates(day),
                    "measurement_type_concept_id": np.full(rows, 32817, dtype=np.int32),
                    "value_as_number": pa.array(np.round(value, 1), mask=missing),
                }
            writers[table].write(pa.table(cols))
            counts[table] += rows
        counts["person"] += n
        counts["observation_period"] += n
    for w in writers.values():
        w.close()
    return written | counts
