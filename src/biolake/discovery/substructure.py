"""Substructure search of a molecule library in the lake (RDKit ``HasSubstructMatch``).

:func:`substructure` checks every molecule of a library made by
:func:`biolake.io.molecules.ingest_molecules` against a SMARTS pattern, chunk by chunk of
the molecule table on a backend (``processes`` by default: RDKit holds the GIL), and
returns the molecules that contain it. Each molecule is rebuilt from its stored canonical
SMILES and matched with RDKit's ``Mol.HasSubstructMatch`` (default options), so the result
is by construction what RDKit answers for those molecules.

**Fingerprint screen.** Libraries ingested with a ``pattern`` array in ``NAME_fp`` (RDKit's
``PatternFingerprint``, 2048 bits, of each molecule as rebuilt from its canonical SMILES; see
:mod:`biolake.io.molecules`) are screened first: only molecules whose bits include every bit
of the query's own ``PatternFingerprint`` are parsed and verified. That is RDKit's substructure
screen (the one ``SubstructLibrary`` uses): the query fingerprint sets only bits of query
features whose every match sets the same bit in the molecule, so query bits ⊆ molecule bits
is necessary for a match (the tests check it against a brute-force RDKit check on ~800 SMARTS,
the PAINS/Brenk/NIH alert patterns among them). Libraries ingested before the screen existed
(no ``pattern`` array) and queries RDKit cannot fingerprint are checked molecule by molecule.

Result columns: ``id``, ``smiles`` (canonical) and ``row`` (0-based row of the molecule in
the library table), in table order.

Examples
--------
>>> from biolake.discovery.substructure import substructure
>>> substructure(lake, "library", "c1ccccc1S(=O)(=O)N")          # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from biolake.discovery.similarity import molecule_table
from biolake.errors import InputError, check_param
from biolake.io.molecules import PATTERN_SPEC, pattern_words
from biolake.lake import Lake
from biolake.lake.backend import SCHEDULER_ENV_VAR, get_backend
from biolake.lake.chunks import TableChunk, table_chunks
from biolake.lake.progress import NullProgress, Progress

__all__ = ["SUBSTRUCTURE_SCHEMA", "compile_smarts", "substructure"]

SUBSTRUCTURE_SCHEMA = pa.schema([("id", pa.string()), ("smiles", pa.string()), ("row", pa.int64())])


def compile_smarts(smarts: str) -> Any:
    """The RDKit query molecule of a SMARTS pattern; an InputError if RDKit cannot parse it.

    Parameters
    ----------
    smarts
        The pattern, e.g. ``"c1ccccc1C(=O)N"``.

    Returns
    -------
    rdkit.Chem.Mol
        The query molecule.
    """
    from rdkit import Chem, rdBase

    check_param("substructure", "smarts", smarts, isinstance(smarts, str) and smarts.strip() != "", "a SMARTS string")
    with rdBase.BlockLogs():
        pattern = Chem.MolFromSmarts(smarts)
    if pattern is None:
        raise InputError(f"RDKit cannot parse the SMARTS pattern {smarts!r}", file="--smarts")
    return pattern


def _match_chunk(
    chunk: TableChunk, *, smarts: str, screen: str | None, query_words: np.ndarray | None
) -> tuple[pa.Table, int]:
    """Kernel: the molecules of one table chunk that contain the pattern (runs on a worker), and
    how many molecules RDKit had to verify."""
    from rdkit import Chem, rdBase

    pattern = Chem.MolFromSmarts(smarts)
    table = chunk.read(columns=["id", "smiles"])
    smiles = table.column("smiles").to_pylist()
    if screen is not None and query_words is not None:
        import zarr

        words = np.asarray(zarr.open_group(screen, mode="r")["pattern"][chunk.offset : chunk.offset + len(smiles)])
        rows = np.flatnonzero(((words & query_words) == query_words).all(axis=1)).tolist()
    else:
        rows = list(range(len(smiles)))
    hits: list[int] = []
    with rdBase.BlockLogs():
        for i in rows:
            smi = smiles[i]
            mol = Chem.MolFromSmiles(smi) if smi else None
            if mol is not None and mol.HasSubstructMatch(pattern):
                hits.append(i)
    picked = table.take(pa.array(hits, type=pa.int64()))
    offsets = pa.array(np.asarray(hits, dtype=np.int64) + chunk.offset, type=pa.int64())
    out = pa.table([picked.column("id"), picked.column("smiles"), offsets], schema=SUBSTRUCTURE_SCHEMA)
    return out, len(rows)


def _screen(lake: Lake, info: Any, pattern: Any) -> tuple[str | None, np.ndarray | None]:
    """(path of the library's fingerprint group, query pattern words) if the library has the
    screen and RDKit can fingerprint the query; else (None, None): check every molecule."""
    import zarr
    from rdkit import rdBase

    try:
        fp_info = lake.info(str(info.attrs.get("fingerprints")))
        group = zarr.open_group(str(fp_info.path), mode="r")
        if group.attrs.get("pattern") != PATTERN_SPEC or "pattern" not in group:
            return None, None
        if group["pattern"].shape[0] != int(info.attrs.get("n_molecules", -1)):
            return None, None
        with rdBase.BlockLogs():
            words = pattern_words([pattern])[0]
    except Exception:  # no fingerprint dataset, or RDKit cannot fingerprint the query
        return None, None
    return str(fp_info.path), words


def substructure(
    lake: Lake,
    library: str,
    smarts: str,
    *,
    out: str | os.PathLike[str] | None = None,
    scheduler: Any = None,
    chunk_rows: int = 20_000,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The library molecules that contain a SMARTS pattern.

    Parameters
    ----------
    lake
        The lake holding the library.
    library
        The molecule table made by ``ingest_molecules`` (``NAME`` or ``lake:NAME``).
    smarts
        The substructure, as SMARTS (a SMILES is valid SMARTS for most molecules).
    out
        Also write the result to this file (``.parquet``, ``.csv``, ``.tsv``) and register it
        under the file's stem; without it the result is registered as ``LIBRARY_substructure``.
    scheduler
        Where to run (see :func:`biolake.lake.backend.get_backend`); default:
        ``$BIOLAKE_SCHEDULER`` or ``"processes"``.
    chunk_rows
        Molecules per task (whole Parquet row groups). Results do not depend on it.
    progress
        Where to report progress (chunks checked).

    Returns
    -------
    pandas.DataFrame
        Columns ``id, smiles, row``, in table order.

    Raises
    ------
    InputError
        For a pattern RDKit cannot parse, an unknown library or a bad option.
    """
    pattern = compile_smarts(smarts)
    check_param(
        "substructure", "chunk_rows", chunk_rows, isinstance(chunk_rows, int) and chunk_rows >= 1, "a positive integer"
    )
    info = molecule_table(lake, library)
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV_VAR, "").strip() or "processes"
    progress = progress or NullProgress()
    params = {"library": info.name, "smarts": smarts, "out": None if out is None else str(out)}
    with lake.run("discovery substructure", params=params, inputs=[f"lake:{info.name}"]) as run:
        screen, query_words = _screen(lake, info, pattern)
        chunks = table_chunks(lake, info.name, target_rows=chunk_rows)
        parts: list[pa.Table] = []
        n_verified = 0
        with progress.task(f"Matching {info.name}", total=len(chunks)) as task, get_backend(scheduler) as backend:
            for part, n_checked in backend.map(
                _match_chunk, chunks, smarts=smarts, screen=screen, query_words=query_words
            ):
                parts.append(part)
                n_verified += n_checked
                task.advance()
        result = pa.concat_tables(parts) if parts else SUBSTRUCTURE_SCHEMA.empty_table()
        attrs = {
            "role": "result",
            "library": info.name,
            "screen": PATTERN_SPEC if screen is not None else "none",
            "n_verified": n_verified,
        }
        if out is not None:
            run.result(result, out)
        else:
            stage = run.table(f"{info.name}_substructure", attrs=attrs)
            stage.write(result)
    return result.to_pandas()
