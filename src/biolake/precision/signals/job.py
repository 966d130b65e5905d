"""Pharmacovigilance signals for every drug–event pair: counts → PRR/ROR/IC → MGPS → one table.

:func:`signals` reads the reports (a FAERS folder, a long table file or a lake table),
counts unique reports per pair (an unstratified Parquet long table on integer codes by the
compiled :mod:`.fastcount`; anything else with DuckDB, memory-capped, spilling to disk), computes
the frequentist and Bayesian measures on whole arrays and returns one row per pair with
``n ≥ 1``; :func:`signals_job` does the same as a lake run. Columns:

============  =================================================================
``drug``      drug (FAERS: normalized active ingredient; long table: ``var1``)
``event``     event (FAERS: MedDRA preferred term; long table: ``var2``)
``n``         reports naming both (``a``)
``expected``  expected count (stratified when strata are given)
``prr``       proportional reporting ratio [a/(a+b)]/[c/(c+d)]
``prr_chi2``  Yates-corrected χ² of the 2×2 table (as R ``chisq.test``)
``ror``       reporting odds ratio ad/(bc)
``ror_lo``    exp(ln ror − 1.96·√(1/a+1/b+1/c+1/d))
``ror_hi``    exp(ln ror + 1.96·√(1/a+1/b+1/c+1/d))
``ic``        information component log2((n+0.5)/(expected+0.5))
``ic025``     log2 of the 2.5 % quantile of Gamma(n+0.5, rate expected+0.5)
``ebgm``      empirical Bayes geometric mean (MGPS, DuMouchel 1999)
``eb05``      5 % quantile of the MGPS posterior
``eb95``      95 % quantile of the MGPS posterior
``signal``    any default rule: Evans (n ≥ 3, prr ≥ 2, prr_chi2 ≥ 4), ror_lo > 1,
              ic025 > 0, eb05 ≥ 2
============  =================================================================

A zero cell gives ``inf`` or an empty (null) value, never an error.

Examples
--------
>>> import pandas as pd
>>> rows = pd.DataFrame({"id": [1, 1, 2, 3, 3, 4], "var1": ["A", "A", "A", "B", "B", "B"],
...                      "var2": ["x", "y", "x", "y", "z", "z"]})
>>> res, facts = signals(rows)
>>> res[["drug", "event", "n", "expected", "prr"]]
  drug event  n  expected  prr
0    A     x  2       1.0  inf
1    A     y  1       1.0  1.0
2    B     y  1       1.0  1.0
3    B     z  2       1.0  inf
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from biolake.errors import InputError, check_param
from biolake.io._formats import data_suffix
from biolake.lake.progress import NullProgress, Progress
from biolake.precision.signals.counts import configure_duckdb, count_pairs
from biolake.precision.signals.disproportionality import disproportionality, evans_signal
from biolake.precision.signals.faers import FAERS_STRATA, is_faers_folder, load_faers, load_layout
from biolake.precision.signals.fastcount import count_pairs_parquet
from biolake.precision.signals.mgps import fit_prior, posterior

__all__ = ["SIGNAL_COLUMNS", "SIGNAL_SCHEMA", "signals", "signals_job"]

SIGNAL_COLUMNS = (
    "drug",
    "event",
    "n",
    "expected",
    "prr",
    "prr_chi2",
    "ror",
    "ror_lo",
    "ror_hi",
    "ic",
    "ic025",
    "ebgm",
    "eb05",
    "eb95",
    "signal",
)
"""The result's columns, in order (the issue's Interface)."""

SIGNAL_SCHEMA = pa.schema(
    [("drug", pa.string()), ("event", pa.string()), ("n", pa.int64())]
    + [(c, pa.float64()) for c in SIGNAL_COLUMNS[3:-1]]
    + [("signal", pa.bool_())]
)
"""Arrow schema of the result."""

_LAYOUT_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".gz")


def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _layout_source(reports: Any, con: duckdb.DuckDBPyConnection, lake: Any) -> tuple[str, str]:
    """A DuckDB table expression for a long table and its label for messages."""
    if isinstance(reports, pd.DataFrame):
        con.register("pv_input_frame", reports)
        return "pv_input_frame", "reports"
    spec = str(reports)
    if spec.startswith("lake:"):
        if lake is None:
            raise InputError("a lake: input needs a lake", file=spec)
        info = lake.info(spec)
        if info.kind != "table":
            raise InputError(f"dataset {info.name!r} is not a table", file=spec)
        return f"read_parquet({_q(str(info.path / '*.parquet'))})", spec
    path = Path(spec)
    suffix = data_suffix(path)
    if suffix in (".parquet", ".pq"):
        return f"read_parquet({_q(spec)})", spec
    if suffix in (".tsv", ".txt"):
        return f"read_csv({_q(spec)}, delim='\\t', header=true, quote='\"', escape='\"')", spec
    if suffix == ".csv":
        return f"read_csv({_q(spec)}, delim=',', header=true, quote='\"', escape='\"')", spec
    raise InputError(
        f"unknown format {suffix or '(no extension)'!r}: give a folder of FAERS files or a .csv/.tsv/.parquet table",
        file=spec,
    )


def _fast_counts(reports: Any, lake: Any, strata: list[str] | None, threads: int) -> tuple[pa.Table, int] | None:
    """Counts of an unstratified Parquet long table by :mod:`.fastcount` (``None``: count with DuckDB)."""
    if isinstance(reports, pd.DataFrame) or strata:
        return None
    spec = str(reports)
    if spec.startswith("lake:"):
        if lake is None:
            return None
        try:
            info = lake.info(spec)
        except Exception:
            return None
        if info.kind != "table":
            return None
        source: Path = info.path
    else:
        source = Path(spec)
        if data_suffix(source) not in (".parquet", ".pq") or not source.is_file():
            return None
    return count_pairs_parquet(source, threads=threads, ignore_strata=strata == [])


def _memory_limit(memory_limit: str | None) -> str:
    return memory_limit or os.environ.get("BIOLAKE_DUCKDB_MEMORY", "2GB")


def signals(
    reports: str | os.PathLike[str] | pd.DataFrame,
    *,
    stratify: Sequence[str] | None = None,
    roles: Sequence[str] = ("PS", "SS"),
    drug_name: str = "prod_ai",
    drug_map: str | os.PathLike[str] | Mapping[str, str] | None = None,
    max_points: int = 20_000,
    threads: int = 2,
    memory_limit: str | None = None,
    temp_directory: str | os.PathLike[str] | None = None,
    lake: Any = None,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Disproportionality (PRR, ROR, IC) and MGPS (EBGM, EB05, EB95) of every drug–event pair.

    Parameters
    ----------
    reports
        A folder of FAERS quarterly files, a long table (CSV/TSV/Parquet file, DataFrame
        or ``lake:NAME``) with ``id``, ``var1``, ``var2`` and optional ``strat*`` columns.
    stratify
        FAERS: any of ``age``, ``sex``, ``year``; long table: stratum columns (default:
        every column whose name contains ``strat``). ``[]`` or ``["none"]``: unstratified.
    roles
        FAERS drug roles kept (default primary and secondary suspect).
    drug_name
        FAERS: ``prod_ai`` (active ingredient, else verbatim name) or ``drugname``.
    drug_map
        FAERS: drug name → active ingredient table (CSV ``name,ingredient``) or mapping.
    max_points
        Squash the (N, E) points before fitting the prior when there are more pairs.
    threads
        Threads for DuckDB and the posterior computation.
    memory_limit
        DuckDB's memory limit (default ``$BIOLAKE_DUCKDB_MEMORY`` or 2GB); beyond it DuckDB spills.
    temp_directory
        Where DuckDB spills (default a temporary folder).
    lake
        The lake, for ``lake:NAME`` inputs.
    progress
        Progress reporter.

    Returns
    -------
    tuple
        The result (a DataFrame with :data:`SIGNAL_COLUMNS`, sorted by drug and event)
        and facts of the run (reports, pairs, the fitted prior …).
    """
    check_param("signals", "threads", threads, isinstance(threads, int) and threads >= 1, "an integer ≥ 1")
    check_param("signals", "max_points", max_points, isinstance(max_points, int) and max_points >= 100, "≥ 100")
    table, facts = _signals_arrow(
        reports,
        stratify=stratify,
        roles=roles,
        drug_name=drug_name,
        drug_map=drug_map,
        max_points=max_points,
        threads=threads,
        memory_limit=memory_limit,
        temp_directory=temp_directory,
        lake=lake,
        progress=progress or NullProgress(),
    )
    return table.to_pandas(), facts


def _signals_arrow(
    reports: Any,
    *,
    stratify: Sequence[str] | None,
    roles: Sequence[str],
    drug_name: str,
    drug_map: Any,
    max_points: int,
    threads: int,
    memory_limit: str | None,
    temp_directory: Any,
    lake: Any,
    progress: Progress,
) -> tuple[pa.Table, dict[str, Any]]:
    strata = None if stratify is None else [s for s in stratify if s and s.lower() != "none"]
    with tempfile.TemporaryDirectory(prefix="biolake-signals-", dir=temp_directory) as tmp:
        con = duckdb.connect(":memory:")
        try:
            configure_duckdb(con, memory_limit=_memory_limit(memory_limit), threads=threads, temp_directory=tmp)
            with progress.task("reading reports", total=None):
                is_folder = not isinstance(reports, pd.DataFrame) and Path(str(reports)).is_dir()
                fast = None
                if is_folder:
                    if not is_faers_folder(reports):
                        raise InputError("not a folder of FAERS DEMO*, DRUG* and REAC* files", file=str(reports))
                    for s in strata or []:
                        check_param("signals", "stratify", s, s in FAERS_STRATA, f"among {', '.join(FAERS_STRATA)}")
                    facts: dict[str, Any] = {
                        "input": "faers",
                        **load_faers(
                            con, reports, roles=roles, drug_name=drug_name, drug_map=drug_map, stratify=strata or []
                        ),
                    }
                    stratified = bool(strata)
                else:
                    is_path = not isinstance(reports, pd.DataFrame) and not str(reports).startswith("lake:")
                    if is_path and not Path(str(reports)).exists():
                        raise InputError("no such file or folder", file=str(reports))
                    fast = _fast_counts(reports, lake, strata, threads)
                    if fast is not None:
                        counts, rows = fast
                        facts = {"input": "table", "rows": rows, "strata": []}
                        stratified = False
                    else:
                        source, label = _layout_source(reports, con, lake)
                        got = load_layout(con, source, label=label, stratify=strata)
                        facts = {"input": "table", **got}
                        stratified = bool(got["strata"])
            if is_folder or fast is None:
                with progress.task("counting reports per pair", total=None):
                    try:
                        counts = count_pairs(con, stratified=stratified, coded=not is_folder)
                    except duckdb.OutOfMemoryException as exc:
                        raise MemoryError(f"{str(exc).splitlines()[0]} (raise --memory-limit)") from None
        finally:
            con.close()
    facts["reports"] = int(counts["n_total"][0].as_py()) if counts.num_rows else 0
    facts["pairs"] = counts.num_rows
    facts["stratified"] = stratified
    if counts.num_rows == 0:
        label = "reports" if isinstance(reports, pd.DataFrame) else str(reports)
        raise InputError("no drug–event pairs in the reports", file=label)
    n = counts["n"].to_numpy()
    e = counts["expected"].to_numpy()
    with progress.task("disproportionality", total=None):
        d = disproportionality(
            n, counts["n_drug"].to_numpy(), counts["n_event"].to_numpy(), counts["n_total"].to_numpy(), e
        )
    with progress.task("fitting the MGPS prior", total=None):
        positive = e > 0
        prior = fit_prior(n[positive], e[positive], max_points=max_points)
    with progress.task("MGPS posterior", total=None):
        post = posterior(prior, n, e, threads=threads)
    with np.errstate(invalid="ignore"):
        signal = evans_signal(n, d["prr"], d["prr_chi2"]) | (d["ror_lo"] > 1) | (d["ic025"] > 0) | (post["eb05"] >= 2)
    columns = [counts["drug"], counts["event"], counts["n"], pa.array(e)]
    columns += [pa.array(d[k], from_pandas=True) for k in ("prr", "prr_chi2", "ror", "ror_lo", "ror_hi", "ic", "ic025")]
    columns += [pa.array(post[k], from_pandas=True) for k in ("ebgm", "eb05", "eb95")]
    columns.append(pa.array(signal))
    arrays = [c.cast(f.type) for c, f in zip(columns, SIGNAL_SCHEMA, strict=True)]
    table = pa.Table.from_arrays(arrays, schema=SIGNAL_SCHEMA)
    facts["prior"] = prior.to_dict()
    facts["signals"] = int(signal.sum())
    return table, facts


def signals_job(
    lake: Any,
    reports: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    stratify: Sequence[str] | None = None,
    roles: Sequence[str] = ("PS", "SS"),
    drug_name: str = "prod_ai",
    drug_map: str | os.PathLike[str] | None = None,
    max_points: int = 20_000,
    threads: int = 2,
    memory_limit: str | None = None,
    progress: Progress | None = None,
) -> tuple[str, str]:
    """:func:`signals` as a lake run: write the result to ``out`` and register it.

    Parameters
    ----------
    lake
        The lake (a :class:`biolake.Lake`).
    reports
        A FAERS folder, a long table file or ``lake:NAME``.
    out
        Result file (``.parquet``, ``.csv`` or ``.tsv``); the dataset is named after its stem.
    stratify, roles, drug_name, drug_map, max_points, threads, memory_limit, progress
        As for :func:`signals`.

    Returns
    -------
    tuple of str
        The run id and the name of the result dataset.
    """
    check_param("signals_job", "threads", threads, isinstance(threads, int) and threads >= 1, "an integer ≥ 1")
    check_param("signals_job", "max_points", max_points, isinstance(max_points, int) and max_points >= 100, "≥ 100")
    spec = str(reports)
    if not spec.startswith("lake:") and not Path(spec).exists():
        raise InputError("no such file or folder", file=spec)
    params: dict[str, Any] = {
        "reports": spec,
        "out": str(out),
        "stratify": None if stratify is None else list(stratify),
        "roles": list(roles),
        "drug_name": drug_name,
        "drug_map": None if drug_map is None else str(drug_map),
        "max_points": max_points,
    }
    inputs = [spec] + ([str(drug_map)] if drug_map is not None else [])
    with lake.run("precision signals", params=params, inputs=inputs) as run:
        if not spec.startswith("lake:") and Path(spec).is_file():
            run.hash_input(spec)
        spill = lake.new_tmp_dir()
        try:
            table, facts = _signals_arrow(
                reports,
                stratify=stratify,
                roles=roles,
                drug_name=drug_name,
                drug_map=drug_map,
                max_points=max_points,
                threads=threads,
                memory_limit=memory_limit,
                temp_directory=spill,
                lake=lake,
                progress=progress or NullProgress(),
            )
        finally:
            shutil.rmtree(spill, ignore_errors=True)
        name = run.result(table, out)
        run.annotate(name, attrs={"signals": facts})
    return run.id, name
