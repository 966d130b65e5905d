"""Eligibility screening over an OMOP CDM v5.4 with DuckDB (``trial match``).

Eligibility criteria written in YAML are compiled to SQL and run by DuckDB over the CDM's
tables (CSV or Parquet files in one directory). The answer is the set of eligible
``person_id`` s and an attrition funnel: the number of persons remaining after each criterion,
applied in the order written (inclusion criteria first, then exclusion criteria), and how
many each removed — the criterion that costs most patients stands out.

Criteria file::

    index_date: 2020-01-01          # the date ages and time windows refer to
    inclusion:
      - name: in observation 1 year before index
        observation: {prior_days: 365}
      - name: adult
        age: {min: 18, max: 75}     # completed years at the index date, inclusive
      - name: women
        sex: female                 # female|F|8532, male|M|8507, or a list of gender concept ids
      - name: type 2 diabetes
        condition:
          concepts: [1000]          # concept ids; descendants (concept_ancestor) included by default
          window: [-730, 0]         # days relative to the index date, inclusive; null = open
      - name: HbA1c 7-10 %
        measurement: {concepts: [8000], value: {min: 7, max: 10}, window: [-180, 0]}
    exclusion:
      - name: chronic kidney disease
        condition: {concepts: [2000]}
      - name: insulin
        drug: {concepts: [6000], window: [-365, 0], min_count: 2}

Event criteria — ``condition`` (``condition_occurrence.condition_start_date``), ``drug``
(``drug_exposure.drug_exposure_start_date``), ``measurement`` (``measurement_date``,
``value_as_number``), ``observation`` (``observation_date``, ``value_as_number``) and
``procedure`` (``procedure_occurrence.procedure_date``) — hold for a person with at least
``min_count`` (default 1) records of the concept set dated inside the window (default: any
time up to the index date) and, with ``value``, a value in [min, max]. ``descendants: false``
uses the listed concepts only. ``observation`` criteria ask for an observation period
covering [index − prior_days, index + after_days].

Each criterion is one ``SELECT person_id`` query (concept sets expanded to literal id lists
first); one query over all of them marks, per person, which criteria hold and returns the
funnel counts (``count_if`` of the running conjunction) and the eligible ids in one pass.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from biolake.errors import InputError

__all__ = ["FUNNEL_COLUMNS", "Criterion", "OmopCdm", "compile_criteria", "load_criteria", "match", "match_job"]

FUNNEL_COLUMNS = ("criterion", "kind", "remaining", "removed")
DOMAINS: dict[str, tuple[str, str, str, str | None]] = {
    "condition": ("condition_occurrence", "condition_concept_id", "condition_start_date", None),
    "drug": ("drug_exposure", "drug_concept_id", "drug_exposure_start_date", None),
    "measurement": ("measurement", "measurement_concept_id", "measurement_date", "value_as_number"),
    "observation": ("observation", "observation_concept_id", "observation_date", "value_as_number"),
    "procedure": ("procedure_occurrence", "procedure_concept_id", "procedure_date", None),
}
_SEX = {"female": 8532, "f": 8532, "male": 8507, "m": 8507}
_EVENT_KEYS = {"concepts", "descendants", "window", "value", "min_count", "units"}
_CDM_TABLES = {
    "person",
    "observation_period",
    "concept",
    "concept_ancestor",
    *(table for table, *_ in DOMAINS.values()),
}


Resolver = Callable[[tuple[int, ...], bool], list[int]]


@dataclass(frozen=True)
class Criterion:
    """One compiled criterion: its name, ``inclusion`` or ``exclusion``, the tables it reads and its SQL."""

    name: str
    kind: str
    tables: tuple[str, ...]
    sql: str


def load_criteria(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a criteria YAML file (a mapping); bad YAML is an :class:`InputError` naming the line."""
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise InputError(f"cannot read the criteria file ({exc.strerror})", file=path) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InputError(
            f"not valid YAML: {problem}", file=path, line=None if mark is None else mark.line + 1
        ) from None
    if not isinstance(data, dict):
        raise InputError("expected a mapping with index_date, inclusion and exclusion", file=path)
    return data


def _int_list(value: Any, where: str, source: str) -> list[int]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise InputError(f"{where}: expected concept ids (integers), got {value!r}", file=source)
    return [int(v) for v in items]


def _number(value: Any, where: str, source: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}: expected a number, got {value!r}", file=source)
    return float(value)


def _window(value: Any, where: str, source: str) -> tuple[int | None, int | None]:
    if value is None:
        return None, 0
    if not isinstance(value, list) or len(value) != 2:
        raise InputError(f"{where}: window must be [start_days, end_days], got {value!r}", file=source)
    lo, hi = (None if v is None else _number(v, where, source) for v in value)
    if lo is not None and hi is not None and lo > hi:
        raise InputError(f"{where}: window start {lo:g} is after its end {hi:g}", file=source)
    return (None if lo is None else int(lo)), (None if hi is None else int(hi))


def _concept_set(concepts: list[int], descendants: bool, resolve: Resolver | None) -> str:
    ids = ", ".join(str(c) for c in concepts)
    if resolve is not None:  # a literal list: filters on it reach the storage's min/max indexes
        return ", ".join(str(c) for c in resolve(tuple(concepts), descendants))
    if not descendants:
        return ids
    return (
        f"SELECT unnest([{ids}]) AS concept_id UNION SELECT descendant_concept_id FROM concept_ancestor "
        f"WHERE ancestor_concept_id IN ({ids})"
    )


def _event_sql(
    domain: str, spec: Any, index: str, where: str, source: str, resolve: Resolver | None
) -> tuple[tuple[str, ...], str]:
    table, concept_col, date_col, value_col = DOMAINS[domain]
    if not isinstance(spec, dict):
        raise InputError(f"{where}: {domain} must be a mapping with concepts", file=source)
    unknown = set(spec) - _EVENT_KEYS
    if unknown:
        raise InputError(f"{where}: unknown key {sorted(unknown)[0]!r} in {domain}", file=source)
    if "concepts" not in spec:
        raise InputError(f"{where}: {domain} needs concepts", file=source)
    concepts = _int_list(spec["concepts"], where, source)
    descendants = spec.get("descendants", True)
    if not isinstance(descendants, bool):
        raise InputError(f"{where}: descendants must be true or false", file=source)
    lo, hi = _window(spec.get("window"), where, source)
    conds = [f"{concept_col} IN ({_concept_set(concepts, descendants, resolve)})"]
    if lo is not None:
        conds.append(f"{date_col} >= DATE '{index}' + {lo}")
    if hi is not None:
        conds.append(f"{date_col} <= DATE '{index}' + {hi}")
    if "value" in spec:
        if value_col is None:
            raise InputError(f"{where}: {domain} has no value to compare", file=source)
        value = spec["value"]
        if not isinstance(value, dict) or not set(value) <= {"min", "max"}:
            raise InputError(f"{where}: value must be a mapping with min and/or max", file=source)
        vmin, vmax = _number(value.get("min"), where, source), _number(value.get("max"), where, source)
        conds.append(f"{value_col} IS NOT NULL")
        if vmin is not None:
            conds.append(f"{value_col} >= {vmin!r}")
        if vmax is not None:
            conds.append(f"{value_col} <= {vmax!r}")
    if "units" in spec:
        if value_col is None:
            raise InputError(f"{where}: {domain} has no unit", file=source)
        conds.append(f"unit_concept_id IN ({', '.join(str(u) for u in _int_list(spec['units'], where, source))})")
    min_count = spec.get("min_count", 1)
    if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
        raise InputError(f"{where}: min_count must be an integer >= 1, got {min_count!r}", file=source)
    body = f"FROM {table} WHERE " + " AND ".join(conds)
    tables = (table, "concept_ancestor") if descendants else (table,)
    if min_count == 1:
        return tables, f"SELECT DISTINCT person_id {body}"
    return tables, f"SELECT person_id {body} GROUP BY person_id HAVING count(*) >= {min_count}"


def _criterion_sql(
    item: Any, index: str, where: str, source: str, resolve: Resolver | None
) -> tuple[str, tuple[str, ...], str]:
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected a mapping, got {item!r}", file=source)
    keys = set(item) - {"name"}
    if len(keys) != 1:
        raise InputError(
            f"{where}: expected exactly one of age, sex, observation, {', '.join(DOMAINS)}; got {sorted(keys)}",
            file=source,
        )
    (key,) = keys
    spec = item[key]
    name = str(item.get("name") or key)
    if key == "age":
        if not isinstance(spec, dict) or not set(spec) <= {"min", "max"} or not spec:
            raise InputError(f"{where}: age must be a mapping with min and/or max", file=source)
        amin, amax = _number(spec.get("min"), where, source), _number(spec.get("max"), where, source)
        birth = "make_date(year_of_birth, coalesce(month_of_birth, 1), coalesce(day_of_birth, 1))"
        age = f"date_sub('year', {birth}, DATE '{index}')"
        conds = [f"{age} >= {amin!r}"] if amin is not None else []
        conds += [f"{age} <= {amax!r}"] if amax is not None else []
        return name, ("person",), f"SELECT person_id FROM person WHERE {' AND '.join(conds)}"
    if key == "sex":
        values = spec if isinstance(spec, list) else [spec]
        ids = []
        for v in values:
            if isinstance(v, str) and v.lower() in _SEX:
                ids.append(_SEX[v.lower()])
            elif isinstance(v, int) and not isinstance(v, bool):
                ids.append(v)
            else:
                raise InputError(f"{where}: sex must be female, male or gender concept ids; got {v!r}", file=source)
        return (
            name,
            ("person",),
            f"SELECT person_id FROM person WHERE gender_concept_id IN ({', '.join(map(str, ids))})",
        )
    if key == "observation":
        if not isinstance(spec, dict) or not set(spec) <= {"prior_days", "after_days"}:
            raise InputError(f"{where}: observation must be a mapping with prior_days and/or after_days", file=source)
        prior = int(_number(spec.get("prior_days", 0), where, source) or 0)
        after = int(_number(spec.get("after_days", 0), where, source) or 0)
        sql = (
            "SELECT DISTINCT person_id FROM observation_period "
            f"WHERE observation_period_start_date <= DATE '{index}' - {prior} "
            f"AND observation_period_end_date >= DATE '{index}' + {after}"
        )
        return name, ("observation_period",), sql
    if key in DOMAINS:
        tables, sql = _event_sql(key, spec, index, where, source, resolve)
        return name, tables, sql
    raise InputError(
        f"{where}: unknown criterion {key!r} (known: age, sex, observation, {', '.join(DOMAINS)})", file=source
    )


def compile_criteria(
    criteria: dict[str, Any], *, source: str = "criteria", resolve: Resolver | None = None
) -> tuple[str, list[Criterion]]:
    """The index date and the compiled criteria (inclusion first, then exclusion, each in order).

    ``resolve(concepts, descendants)`` turns a concept set into concept ids (a literal list in
    the SQL); without it the SQL expands descendants through ``concept_ancestor`` itself.
    """
    unknown = set(criteria) - {"index_date", "inclusion", "exclusion"}
    if unknown:
        raise InputError(f"unknown key {sorted(unknown)[0]!r} (expected index_date, inclusion, exclusion)", file=source)
    index = criteria.get("index_date")
    if isinstance(index, dt.datetime):
        index = index.date()
    if isinstance(index, str):
        try:
            index = dt.date.fromisoformat(index)
        except ValueError:
            raise InputError(f"index_date must be a date YYYY-MM-DD, got {index!r}", file=source) from None
    if not isinstance(index, dt.date):
        raise InputError(f"index_date must be a date YYYY-MM-DD, got {index!r}", file=source)
    out: list[Criterion] = []
    for kind in ("inclusion", "exclusion"):
        items = criteria.get(kind) or []
        if not isinstance(items, list):
            raise InputError(f"{kind} must be a list of criteria", file=source)
        for i, item in enumerate(items, start=1):
            name, tables, sql = _criterion_sql(item, index.isoformat(), f"{kind} {i}", source, resolve)
            out.append(Criterion(name=name, kind=kind, tables=tables, sql=sql))
    return index.isoformat(), out


def _table_source(directory: Path, table: str) -> str | None:
    """A DuckDB table expression for a CDM table stored as Parquet/CSV file(s) in ``directory``."""
    by_name = {p.name.lower(): p for p in directory.iterdir()}
    for ext, reader in (
        (".parquet", "read_parquet"),
        (".csv", "read_csv"),
        (".csv.gz", "read_csv"),
        (".tsv", "read_csv"),
    ):
        p = by_name.get(table + ext)
        if p is not None and p.is_file():
            path = str(p).replace("'", "''")
            return f"{reader}('{path}')" if reader == "read_parquet" else f"read_csv('{path}', header = true)"
    sub = by_name.get(table)
    if sub is not None and sub.is_dir() and any(sub.glob("*.parquet")):
        return f"read_parquet('{str(sub).replace(chr(39), chr(39) * 2)}/*.parquet')"
    return None


class OmopCdm:
    """An OMOP CDM directory opened in DuckDB: one view (or, with ``materialize``, one in-memory table) per
    CDM table found (``person.parquet``, ``PERSON.csv``, ``person/*.parquet`` …)."""

    def __init__(self, directory: str | os.PathLike[str], *, materialize: bool = False, threads: int | None = None):
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise InputError("not a directory of OMOP CDM tables", file=directory)
        self.con = duckdb.connect()
        if threads is not None:
            self.con.execute(f"SET threads = {int(threads)}")
        self.tables: dict[str, str] = {}
        for table in sorted(_CDM_TABLES):
            src = _table_source(self.directory, table)
            if src is None:
                continue
            kind = "TABLE" if materialize else "VIEW"
            order = ""
            if materialize:  # clustered by concept: concept filters skip most row groups
                order = next((f" ORDER BY {c}, {d}" for t, c, d, _ in DOMAINS.values() if t == table), "")
            try:
                self.con.execute(f"CREATE {kind} {table} AS SELECT * FROM {src}{order}")
            except duckdb.Error as exc:
                raise InputError(f"cannot read {table}: {str(exc).splitlines()[0]}", file=self.directory) from None
            self.tables[table] = src
        if "person" not in self.tables:
            raise InputError("no person table (person.parquet or person.csv)", file=directory)

    def concepts(self, concepts: tuple[int, ...], descendants: bool) -> list[int]:
        """The concept ids of a concept set: the concepts and, with ``descendants``, all their descendants."""
        ids = set(concepts)
        if descendants:
            if "concept_ancestor" not in self.tables:
                raise InputError("descendants need table concept_ancestor, not found", file=self.directory)
            rows = self.con.execute(
                "SELECT DISTINCT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id IN "
                f"({', '.join(str(c) for c in concepts)})"
            ).fetchall()
            ids.update(int(r[0]) for r in rows)
        return sorted(ids)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> OmopCdm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def match(
    cdm: OmopCdm | str | os.PathLike[str], criteria: dict[str, Any] | str | os.PathLike[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Eligible persons and the attrition funnel of ``criteria`` over an OMOP CDM.

    Parameters
    ----------
    cdm
        An :class:`OmopCdm` or a directory of CDM tables (CSV or Parquet).
    criteria
        The criteria mapping (see the module docstring) or a YAML file.

    Returns
    -------
    (eligible, funnel)
        ``eligible``: column ``person_id`` (sorted); ``funnel``: columns ``criterion kind remaining
        removed``, the first row the persons of the CDM, then one row per criterion in order.
    """
    source = "criteria"
    if not isinstance(criteria, dict):
        source = str(criteria)
        criteria = load_criteria(criteria)
    compile_criteria(criteria, source=source)  # validate before opening the CDM
    own = not isinstance(cdm, OmopCdm)
    db = OmopCdm(cdm) if own else cdm  # type: ignore[arg-type]
    try:
        _, compiled = compile_criteria(criteria, source=source, resolve=db.concepts)
        for c in compiled:
            missing = [t for t in c.tables if t not in db.tables]
            if missing:
                raise InputError(f"criterion {c.name!r} needs table {missing[0]}, not found", file=db.directory)
        ctes = [f"c{i} AS ({c.sql})" for i, c in enumerate(compiled)]
        flags = [
            f"{'' if c.kind == 'inclusion' else 'NOT '}(p.person_id IN (SELECT person_id FROM c{i})) AS f{i}"
            for i, c in enumerate(compiled)
        ]
        select = ", ".join(["p.person_id", *flags])
        running = [" AND ".join(f"f{j}" for j in range(i + 1)) for i in range(len(compiled))]
        everything = running[-1] if running else "true"
        counts = ", ".join(["count(*)", *(f"count_if({r})" for r in running)])
        # one query: the per-person flags, the funnel counts and the eligible ids in one pass
        query = (
            f"WITH {''.join(c + ', ' for c in ctes)}flags AS (SELECT {select} FROM person p) "
            f"SELECT {counts}, list(person_id ORDER BY person_id) FILTER (WHERE {everything}) FROM flags"
        )
        try:
            row = db.con.execute(query).fetchone()
        except duckdb.Error as exc:
            raise InputError(f"the criteria's query failed: {str(exc).splitlines()[0]}", file=db.directory) from None
    finally:
        if own:
            db.close()
    assert row is not None
    remaining = [int(x) for x in row[:-1]]
    eligible = pd.DataFrame({"person_id": np.asarray(row[-1] or [], dtype=np.int64)})
    funnel = pd.DataFrame(
        {
            "criterion": ["persons in the CDM", *(c.name for c in compiled)],
            "kind": ["all", *(c.kind for c in compiled)],
            "remaining": remaining,
            "removed": [0, *(remaining[i] - remaining[i + 1] for i in range(len(compiled)))],
        },
        columns=list(FUNNEL_COLUMNS),
    )
    return eligible, funnel


def match_job(
    lake: Any,
    *,
    omop: str | os.PathLike[str],
    criteria: str | os.PathLike[str],
    out: str | os.PathLike[str],
    funnel: str | os.PathLike[str] | None = None,
) -> tuple[str, str, pd.DataFrame, pd.DataFrame]:
    """:func:`match` as a lake run: eligible ``person_id`` s to ``out``, the funnel to ``funnel``
    (and into the run record, for the report). Returns run id, dataset name, eligible, funnel."""
    spec = load_criteria(criteria)
    eligible, table = match(omop, spec)
    params = {
        "omop": str(omop),
        "criteria_file": str(criteria),
        "criteria": spec,
        "out": str(out),
        "funnel_file": None if funnel is None else str(funnel),
        "funnel": table.to_dict(orient="records"),
    }
    with lake.run("discovery trial match", params=params, inputs=[str(criteria)]) as run:
        run.hash_input(criteria)
        name = run.result(eligible, out)
        if funnel is not None:
            run.result(table, funnel)
    return run.id, name, eligible, table
