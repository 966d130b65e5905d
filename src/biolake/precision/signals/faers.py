"""Spontaneous reports into DuckDB: FDA FAERS/AERS quarterly extracts, or openEBGM's long layout.

Two inputs give the same four relations (views or temporary tables on a DuckDB
connection) that :mod:`biolake.precision.signals.counts` aggregates:

``pv_report(id, stratum)``  the reports (and strata) in the analysis
``pv_drug(id, drug, stratum)``  the drugs of each report
``pv_event(id, event, stratum)``  the events of each report
``pv_pair(id, drug, event)``  the distinct drug–event pairs of each report

(``pv_report``, ``pv_drug`` and ``pv_event`` may repeat rows: they are counted by
distinct ``id``). A long table's names are integer codes into ``pv_drug_dict`` and
``pv_event_dict`` (``name``, ``code``; codes in name order).

**FAERS folder** (:func:`load_faers`): the quarterly ASCII files ``DEMO*``, ``DRUG*``,
``REAC*`` (and ``OUTC``/``INDI``/``THER``/``RPSR``, read on request) of any number of
quarters, ``$``-delimited ``.txt`` (no quoting, Latin-1 bytes accepted, CRLF or LF, a
trailing ``$`` on each line or not, header names in any case) or ``.csv``/``.parquet``
files with FAERS column names, in the folder or its subfolders. Legacy AERS names
(2004–2012Q3: ``ISR``, ``CASE``, ``GNDR_COD``, ``I_F_COD``) are mapped to FAERS ones
(``primaryid``, ``caseid``, ``sex``, ``i_f_code``). ``DELE*`` files (caseids FDA deleted)
remove their cases.

* Cases are deduplicated to their latest version: per ``caseid`` the report with the
  highest ``caseversion`` (absent in legacy files: 0), then the latest ``fda_dt``, then
  the highest ``primaryid`` (FDA's advice); a report repeated in several quarters counts once.
* Drugs: rows whose ``role_cod`` is among ``roles`` (default primary and secondary
  suspect, ``PS``/``SS``); the name is ``prod_ai`` (the active ingredient) where given and
  ``drugname`` otherwise (``drug_name="drugname"`` uses the verbatim name), normalized by
  :func:`normalize_drug_name` and then mapped through a user's table (``name,ingredient``)
  when given (brands and salts to the active ingredient).
* Events: the MedDRA preferred term ``pt``, in upper case with blanks collapsed.
* A report enters the analysis when it names at least one kept drug and one event; every
  kept drug is paired with every event of the report.
* Strata (``stratify``): ``age`` (bands 0–17, 18–44, 45–64, 65–74, ≥ 75 years from
  ``age``/``age_cod``, else ``UNK``), ``sex`` (``F``/``M``/``UNK``) and ``year`` (of
  ``init_fda_dt``, else ``fda_dt``).

**Long table** (:func:`load_layout`, openEBGM's layout): a CSV/Parquet file (or lake
table) with one row per report × drug × event: ``id``, ``var1`` (drug), ``var2`` (event)
and optional ``strat*`` columns; repeated rows count once, names are taken as they are.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from biolake.errors import InputError, check_param

__all__ = [
    "FAERS_KINDS",
    "FAERS_STRATA",
    "find_faers_files",
    "is_faers_folder",
    "load_faers",
    "load_layout",
    "normalize_drug_name",
    "read_faers_kind",
]

FAERS_KINDS = ("DEMO", "DRUG", "REAC", "OUTC", "INDI", "THER", "RPSR", "DELE")
"""The FAERS file kinds, by the prefix of their names."""

FAERS_STRATA = ("age", "sex", "year")
"""Stratification variables of a FAERS input."""

_EXTENSIONS = (".txt", ".csv", ".parquet", ".pq")
_ALIASES = {"isr": "primaryid", "case": "caseid", "gndr_cod": "sex", "i_f_cod": "i_f_code"}
_COLUMNS = {
    "DEMO": ("primaryid", "caseid", "caseversion", "fda_dt", "init_fda_dt", "age", "age_cod", "sex"),
    "DRUG": ("primaryid", "drug_seq", "role_cod", "drugname", "prod_ai"),
    "REAC": ("primaryid", "pt"),
    "OUTC": ("primaryid", "outc_cod"),
    "INDI": ("primaryid", "indi_drug_seq", "indi_pt"),
    "THER": ("primaryid", "dsg_drug_seq", "start_dt", "end_dt"),
    "RPSR": ("primaryid", "rpsr_cod"),
    "DELE": ("caseid",),
}
_REQUIRED = {"DEMO": ("primaryid",), "DRUG": ("primaryid", "role_cod", "drugname"), "REAC": ("primaryid", "pt")}
_QUARTER = re.compile(r"(\d{2})Q([1-4])", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_EDGES = re.compile(r"^[\s.,;:]+|[\s.,;:]+$")


def normalize_drug_name(name: str | None) -> str | None:
    """Upper case, blanks collapsed, leading/trailing blanks and ``.,;:`` removed; empty → None.

    >>> normalize_drug_name("  Atorvastatin  calcium. ")
    'ATORVASTATIN CALCIUM'
    """
    if name is None:
        return None
    out = _EDGES.sub("", _SPACES.sub(" ", str(name).upper()))
    return out or None


def _sql_normalize(expr: str) -> str:
    """The SQL twin of :func:`normalize_drug_name`."""
    return (
        f"nullif(regexp_replace(regexp_replace(upper({expr}), '\\s+', ' ', 'g'), "
        f"'^[\\s.,;:]+|[\\s.,;:]+$', '', 'g'), '')"
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def find_faers_files(folder: str | os.PathLike[str]) -> dict[str, list[Path]]:
    """The FAERS files of a folder (and its subfolders) by kind, in name order.

    A file belongs to a kind when its name starts with the kind (any case), e.g.
    ``DEMO23Q1.txt``, ``drug12q4.txt``, ``REAC.csv``, ``DELE19Q1.txt``.

    Returns
    -------
    dict
        Kind → list of paths (kinds without files are absent).
    """
    root = Path(folder)
    found: dict[str, list[Path]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix.lower() not in _EXTENSIONS:
            continue
        upper = path.name.upper()
        for kind in FAERS_KINDS:
            if upper.startswith(kind):
                found.setdefault(kind, []).append(path)
                break
    return found


def is_faers_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder holding FAERS ``DEMO``, ``DRUG`` and ``REAC`` files."""
    p = Path(path)
    if not p.is_dir():
        return False
    files = find_faers_files(p)
    return all(k in files for k in ("DEMO", "DRUG", "REAC"))


def _source_sql(path: Path) -> str:
    """A DuckDB table function reading one file (a drug map) as text columns."""
    s = _lit(str(path))
    if path.suffix.lower() in (".parquet", ".pq"):
        return f"read_parquet({s})"
    return f"read_csv({s}, header=true, all_varchar=true, null_padding=true)"


def _header(path: Path) -> list[str]:
    """The header fields of a delimited file (`$` for .txt, RFC 4180 CSV otherwise)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(1 << 20).decode("latin-1").rstrip("\r\n")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=path) from None
    if not first.strip():
        raise InputError("file is empty (no header row)", file=path, line=1)
    if path.suffix.lower() == ".txt":
        return first.split("$")
    import csv

    return next(csv.reader([first]))


def _parquet_names(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InputError(f"cannot read as Parquet: {exc}", file=path) from None


def _group_select(paths: Sequence[Path], header: Sequence[str], kind: str) -> str:
    """SELECT of the wanted columns of files sharing one header, under FAERS names (NULL where absent)."""
    suffix = paths[0].suffix.lower()
    files = "[" + ", ".join(_lit(str(p)) for p in paths) + "]"
    if suffix in (".parquet", ".pq"):
        source = f"read_parquet({files}, filename=true)"
        names = list(header)
    else:
        names = [f"c{i}" for i in range(len(header))]
        columns = "{" + ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in names) + "}"
        dialect = "delim='$', quote='', escape='', encoding='latin-1'" if suffix == ".txt" else "delim=','"
        source = (
            f"read_csv({files}, {dialect}, header=true, auto_detect=false, columns={columns}, "
            "null_padding=true, strict_mode=false, filename=true)"
        )
    by_name: dict[str, str] = {}
    for name, field in zip(names, header, strict=True):
        key = field.strip().lower()
        key = _ALIASES.get(key, key)
        if key:
            by_name.setdefault(key, name)
    missing = [c for c in _REQUIRED.get(kind, ()) if c not in by_name]
    if missing:
        shown = ", ".join(h for h in header[:8] if h.strip())
        raise InputError(f"{kind} file has no {missing[0]!r} column (columns: {shown})", file=paths[0], line=1)
    parts = []
    for col in _COLUMNS[kind]:
        if col in by_name:
            parts.append(f"nullif(trim(CAST({_q(by_name[col])} AS VARCHAR)), '') AS {col}")
        else:
            parts.append(f"CAST(NULL AS VARCHAR) AS {col}")
    parts.append("upper(regexp_extract(filename, '(\\d\\d[Qq][1-4])[^/]*$', 1)) AS quarter")
    parts.append("filename AS source_file")
    return f"SELECT {', '.join(parts)} FROM {source}"


_LINE = re.compile(r"CSV Error on Line: (\d+)")


def _read_error(exc: duckdb.Error, path: Path) -> InputError:
    text = str(exc)
    m = _LINE.search(text)
    detail = [ln for ln in text.splitlines()[1:] if ln.strip() and not ln.startswith("Original Line")]
    first = text.strip().splitlines()[0].split("Error: ", 1)[-1]
    if m:
        return InputError(detail[0].strip() if detail else first, file=path, line=int(m.group(1)))
    return InputError(f"cannot read: {first}", file=path)


def _dele_select(path: Path) -> str:
    """SELECT of the caseids of a DELE file (one per line; a header is skipped)."""
    s = _lit(str(path))
    if path.suffix.lower() in (".parquet", ".pq"):
        return f"SELECT trim(CAST(COLUMNS(*) AS VARCHAR)) AS caseid FROM read_parquet({s})"
    delim = "$" if path.suffix.lower() == ".txt" else ","
    return (
        f"SELECT trim(column0) AS caseid FROM read_csv({s}, delim={_lit(delim)}, quote='', header=false, "
        "auto_detect=false, columns={'column0': 'VARCHAR'}, null_padding=true, strict_mode=false) "
        "WHERE lower(trim(column0)) <> 'caseid' AND trim(column0) <> ''"
    )


def read_faers_kind(
    con: duckdb.DuckDBPyConnection, files: Sequence[str | os.PathLike[str]], kind: str, *, view: str | None = None
) -> str:
    """Create a view of all files of one FAERS kind under FAERS column names; return its name.

    Parameters
    ----------
    con
        The DuckDB connection.
    files
        The files of the kind (any mix of ``$``-delimited ``.txt``, ``.csv``, ``.parquet``).
    kind
        One of :data:`FAERS_KINDS`.
    view
        The view's name (default ``faers_<kind>``).

    Returns
    -------
    str
        The view's name. Its columns are the kind's FAERS columns (text, NULL where a
        file lacks them), ``quarter`` (from the file name, e.g. ``12Q4``) and ``source_file``.
    """
    check_param("read_faers_kind", "kind", kind, kind in FAERS_KINDS, f"one of {', '.join(FAERS_KINDS)}")
    check_param("read_faers_kind", "files", files, len(files) > 0, "at least one file")
    name = view or f"faers_{kind.lower()}"
    paths = [Path(p) for p in files]
    if kind == "DELE":
        selects = [_dele_select(p) for p in paths]
    else:
        groups: dict[tuple[str, tuple[str, ...]], list[Path]] = {}
        for p in paths:
            is_parquet = p.suffix.lower() in (".parquet", ".pq")
            key = (p.suffix.lower(), tuple(_parquet_names(p) if is_parquet else _header(p)))
            groups.setdefault(key, []).append(p)
        selects = [_group_select(group, list(key[1]), kind) for key, group in groups.items()]
    try:
        con.execute(f"CREATE OR REPLACE VIEW {name} AS " + " UNION ALL ".join(selects))
    except duckdb.Error as exc:
        raise _read_error(exc, paths[0]) from None
    return name


def _age_years_sql() -> str:
    age = "TRY_CAST(age AS DOUBLE)"
    return (
        "CASE upper(coalesce(age_cod, 'YR')) "
        f"WHEN 'YR' THEN {age} WHEN 'DEC' THEN {age} * 10 WHEN 'MON' THEN {age} / 12 "
        f"WHEN 'WK' THEN {age} / 52.1775 WHEN 'DY' THEN {age} / 365.25 WHEN 'HR' THEN {age} / 8766 "
        "ELSE NULL END"
    )


def _stratum_sql(stratify: Sequence[str]) -> str:
    parts = []
    for s in stratify:
        if s == "age":
            y = _age_years_sql()
            parts.append(
                f"CASE WHEN {y} IS NULL OR {y} < 0 OR {y} > 130 THEN 'age UNK' WHEN {y} < 18 THEN 'age 0-17' "
                f"WHEN {y} < 45 THEN 'age 18-44' WHEN {y} < 65 THEN 'age 45-64' WHEN {y} < 75 THEN 'age 65-74' "
                "ELSE 'age 75+' END"
            )
        elif s == "sex":
            parts.append("CASE upper(sex) WHEN 'F' THEN 'F' WHEN 'M' THEN 'M' ELSE 'UNK' END")
        else:
            parts.append("coalesce(substr(coalesce(init_fda_dt, fda_dt), 1, 4), 'UNK')")
    if not parts:
        return "''"
    return "concat_ws('-', " + ", ".join(parts) + ")"


def load_faers(
    con: duckdb.DuckDBPyConnection,
    folder: str | os.PathLike[str],
    *,
    roles: Sequence[str] = ("PS", "SS"),
    drug_name: str = "prod_ai",
    drug_map: str | os.PathLike[str] | Mapping[str, str] | None = None,
    stratify: Sequence[str] = (),
) -> dict[str, Any]:
    """Read a folder of FAERS quarterly files into ``pv_report``/``pv_drug``/``pv_event``/``pv_pair``.

    Parameters
    ----------
    con
        The DuckDB connection (its memory limit and temporary directory bound the work).
    folder
        The folder of ``DEMO*``/``DRUG*``/``REAC*`` (and optional ``DELE*``) files.
    roles
        Drug role codes kept (``PS`` primary suspect, ``SS`` secondary suspect, ``C``
        concomitant, ``I`` interacting).
    drug_name
        ``prod_ai`` (active ingredient where given, else the verbatim name) or ``drugname``.
    drug_map
        A CSV file (columns ``name``, ``ingredient``) or a mapping from drug names to
        active ingredients, applied after normalization.
    stratify
        Any of ``age``, ``sex``, ``year``.

    Returns
    -------
    dict
        Facts of the read: files per kind, report rows, cases kept after deduplication.
    """
    folder = Path(folder)
    check_param("load_faers", "drug_name", drug_name, drug_name in ("prod_ai", "drugname"), "prod_ai or drugname")
    roles = [r.strip().upper() for r in roles if r.strip()]
    check_param("load_faers", "roles", roles, len(roles) > 0, "at least one role code (PS, SS, C, I)")
    stratify = list(stratify)
    for s in stratify:
        check_param("load_faers", "stratify", s, s in FAERS_STRATA, f"among {', '.join(FAERS_STRATA)}")
    files = find_faers_files(folder)
    for kind in ("DEMO", "DRUG", "REAC"):
        if kind not in files:
            raise InputError(f"no {kind}* file (.txt, .csv or .parquet) in the folder", file=folder)
    for kind in ("DEMO", "DRUG", "REAC", "DELE"):
        if kind in files:
            read_faers_kind(con, files[kind], kind)
    deleted = "AND caseid NOT IN (SELECT caseid FROM faers_dele WHERE caseid IS NOT NULL)" if "DELE" in files else ""
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE faers_cases AS SELECT * EXCLUDE (rn) FROM ("
            "SELECT *, row_number() OVER (PARTITION BY coalesce(caseid, 'primaryid:' || primaryid) "
            "ORDER BY coalesce(TRY_CAST(caseversion AS INTEGER), 0) DESC, fda_dt DESC NULLS LAST, "
            "TRY_CAST(primaryid AS BIGINT) DESC NULLS LAST, primaryid DESC) AS rn "
            f"FROM faers_demo WHERE primaryid IS NOT NULL) WHERE rn = 1 {deleted}"
        )
    except duckdb.Error as exc:
        raise _read_error(exc, files["DEMO"][0]) from None
    raw_name = "coalesce(prod_ai, drugname)" if drug_name == "prod_ai" else "drugname"
    name_sql = _sql_normalize(raw_name)
    mapped = "d.name"
    map_join = ""
    if drug_map is not None:
        _register_drug_map(con, drug_map)
        map_join = "LEFT JOIN pv_drug_map m ON m.name = d.name"
        mapped = "coalesce(m.ingredient, d.name)"
    role_list = ", ".join(_lit(r) for r in roles)
    stratum = _stratum_sql(stratify)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE pv_drug0 AS SELECT DISTINCT id, drug FROM ("
            f"SELECT d.primaryid AS id, {mapped} AS drug FROM ("
            f"SELECT primaryid, {name_sql} AS name FROM faers_drug "
            f"WHERE upper(role_cod) IN ({role_list}) AND primaryid IN (SELECT primaryid FROM faers_cases)) d "
            f"{map_join}) WHERE drug IS NOT NULL"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE pv_event0 AS SELECT DISTINCT primaryid AS id, "
            f"{_sql_normalize('pt')} AS event FROM faers_reac "
            "WHERE primaryid IN (SELECT primaryid FROM faers_cases) AND event IS NOT NULL"
        )
    except duckdb.Error as exc:
        raise _read_error(exc, folder) from None
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE pv_report AS SELECT primaryid AS id, {stratum} AS stratum FROM faers_cases "
        "WHERE primaryid IN (SELECT id FROM pv_drug0) AND primaryid IN (SELECT id FROM pv_event0)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pv_drug AS SELECT d.id, d.drug, r.stratum FROM pv_drug0 d "
        "JOIN pv_report r USING (id)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pv_event AS SELECT e.id, e.event, r.stratum FROM pv_event0 e "
        "JOIN pv_report r USING (id)"
    )
    con.execute("DROP TABLE pv_drug0")
    con.execute("DROP TABLE pv_event0")
    con.execute(
        "CREATE OR REPLACE VIEW pv_pair AS SELECT d.id, d.drug, e.event FROM pv_drug d JOIN pv_event e USING (id)"
    )
    demo_rows = con.execute("SELECT count(*) FROM faers_demo").fetchone()[0]
    cases = con.execute("SELECT count(*) FROM faers_cases").fetchone()[0]
    return {
        "files": {k: len(v) for k, v in files.items()},
        "demo_rows": int(demo_rows),
        "cases": int(cases),
        "stratified": bool(stratify),
    }


def _register_drug_map(con: duckdb.DuckDBPyConnection, drug_map: str | os.PathLike[str] | Mapping[str, str]) -> None:
    if isinstance(drug_map, Mapping):
        import pandas as pd

        frame = pd.DataFrame({"name": list(drug_map.keys()), "ingredient": list(drug_map.values())})
        con.register("pv_drug_map_src", frame)
        source = "pv_drug_map_src"
        where: Path | str = "drug_map"
    else:
        path = Path(drug_map)
        if not path.is_file():
            raise InputError("no such file", file=path)
        source = _source_sql(path)
        if path.suffix.lower() in (".tsv", ".txt"):
            source = f"read_csv({_lit(str(path))}, delim='\\t', header=true, all_varchar=true)"
        where = path
        cols = [c.lower() for c in con.sql(f"SELECT * FROM {source} LIMIT 0").columns]
        if "name" not in cols or "ingredient" not in cols:
            raise InputError("the drug map needs columns 'name' and 'ingredient'", file=path, line=1)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE pv_drug_map AS SELECT name, any_value(ingredient) AS ingredient FROM ("
            f"SELECT {_sql_normalize('CAST(name AS VARCHAR)')} AS name, "
            f"{_sql_normalize('CAST(ingredient AS VARCHAR)')} AS ingredient FROM {source}) "
            "WHERE name IS NOT NULL AND ingredient IS NOT NULL GROUP BY name"
        )
    except duckdb.Error as exc:
        raise _read_error(exc, Path(str(where))) from None


def load_layout(
    con: duckdb.DuckDBPyConnection,
    source: str,
    *,
    label: str,
    stratify: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Read a long table (``id``, ``var1``, ``var2``, optional ``strat*``) into the ``pv_*`` relations.

    Parameters
    ----------
    con
        The DuckDB connection.
    source
        A DuckDB table expression reading the table (``read_csv(...)``, ``read_parquet(...)``).
    label
        The file or dataset name for error messages.
    stratify
        Columns whose combination is the stratum; ``None``: every column whose name
        contains ``strat`` (as openEBGM); ``[]``: unstratified.

    Returns
    -------
    dict
        ``rows`` (distinct rows) and the ``strata`` columns used.
    """
    try:
        names = list(con.sql(f"SELECT * FROM {source} LIMIT 0").columns)
    except duckdb.Error as exc:
        raise _read_error(exc, Path(label)) from None
    for col in ("id", "var1", "var2"):
        if col not in names:
            raise InputError(
                f"no {col!r} column: a long table needs id, var1 (drug), var2 (event) and optional strat* "
                "columns, or give a folder of FAERS files",
                file=label,
                line=1,
            )
    strata = [c for c in names if "strat" in c] if stratify is None else list(stratify)
    for c in strata:
        if c not in names:
            raise InputError(f"no stratification column {c!r}", file=label, line=1)
    stratum = "concat_ws('-', " + ", ".join(f"CAST(s.{_q(c)} AS VARCHAR)" for c in strata) + ")" if strata else "''"
    cols = ["id", "var1", "var2", *strata]
    missing = " OR ".join(f"s.{_q(c)} IS NULL" for c in cols)
    try:
        # names → integer codes in name order (small dictionaries), so that the aggregations
        # below hash and sort integers, not strings
        for var, dict_name in (("var1", "pv_drug_dict"), ("var2", "pv_event_dict")):
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {dict_name} AS SELECT name, (row_number() OVER (ORDER BY name) - 1)"
                f"::INTEGER AS code FROM (SELECT DISTINCT CAST({var} AS VARCHAR) AS name FROM {source} "
                f"WHERE {var} IS NOT NULL)"
            )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE pv_rows AS SELECT DISTINCT s.id, dd.code AS drug, de.code AS event, "
            f"{stratum} AS stratum, ({missing}) AS missing FROM {source} s "
            "LEFT JOIN pv_drug_dict dd ON dd.name = CAST(s.var1 AS VARCHAR) "
            "LEFT JOIN pv_event_dict de ON de.name = CAST(s.var2 AS VARCHAR)"
        )
        if con.execute("SELECT count(*) FROM pv_rows WHERE missing").fetchone()[0]:
            plain = " OR ".join(f"{_q(c)} IS NULL" for c in cols)
            bad, *values = con.execute(
                f"SELECT row_no, {', '.join(_q(c) for c in cols)} FROM (SELECT row_number() OVER () AS row_no, * "
                f"FROM {source}) WHERE {plain} ORDER BY row_no LIMIT 1"
            ).fetchone()
            col = cols[[v is None for v in values].index(True)]
            text = not label.lower().endswith((".parquet", ".pq")) and not label.startswith("lake:")
            raise InputError(
                "missing value", file=label, line=bad + 1 if text else None, record=None if text else bad, column=col
            )
        rows = con.execute("SELECT count(*) FROM pv_rows").fetchone()[0]
    except duckdb.Error as exc:
        raise _read_error(exc, Path(label)) from None
    con.execute("ALTER TABLE pv_rows DROP COLUMN missing")
    # pv_rows is distinct on (id, drug, event, stratum): without strata it is already pv_pair
    pair = "SELECT DISTINCT id, drug, event FROM pv_rows" if strata else "SELECT id, drug, event FROM pv_rows"
    con.execute(f"CREATE OR REPLACE VIEW pv_pair AS {pair}")
    con.execute("CREATE OR REPLACE VIEW pv_drug AS SELECT id, drug, stratum FROM pv_rows")
    con.execute("CREATE OR REPLACE VIEW pv_event AS SELECT id, event, stratum FROM pv_rows")
    con.execute("CREATE OR REPLACE VIEW pv_report AS SELECT id, stratum FROM pv_rows")
    return {"rows": int(rows), "strata": strata}
