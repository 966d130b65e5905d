"""Substructure search of a molecule library in the lake (RDKit ``HasSubstructMatch``).

:func:`substructure` checks every molecule of a library made by
:func:`biolake.io.molecules.ingest_molecules` against a SMARTS pattern, chunk by chunk of
the molecule table on a backend (``processes`` by default: RDKit holds the GIL), and
returns the molecules that contain it. Each molecule is rebuilt from its stored canonical
SMILES and matched with RDKit's ``Mol.HasSubstructMatch`` (default options), so the result
is by construction what RDKit answers for those molecules. There is no fingerprint
pre-screen yet: every molecule is checked.

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


def _match_chunk(chunk: TableChunk, *, smarts: str) -> pa.Table:
    """Kernel: the molecules of one table chunk that contain the pattern (runs on a worker)."""
    from rdkit import Chem, rdBase

    pattern = Chem.MolFromSmarts(smarts)
    table = chunk.read(columns=["id", "smiles"])
    hits: list[int] = []
    with rdBase.BlockLogs():
        for i, smi in enumerate(table.column("smiles").to_pylist()):
            mol = Chem.MolFromSmiles(smi) if smi else None
            if mol is not None and mol.HasSubstructMatch(pattern):
                hits.append(i)
    picked = table.take(pa.array(hits, type=pa.int64()))
    rows = pa.array(np.asarray(hits, dtype=np.int64) + chunk.offset, type=pa.int64())
    return pa.table([picked.column("id"), picked.column("smiles"), rows], schema=SUBSTRUCTURE_SCHEMA)


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
    compile_smarts(smarts)
    check_param(
        "substructure", "chunk_rows", chunk_rows, isinstance(chunk_rows, int) and chunk_rows >= 1, "a positive integer"
    )
    info = molecule_table(lake, library)
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV_VAR, "").strip() or "processes"
    progress = progress or NullProgress()
    params = {"library": info.name, "smarts": smarts, "out": None if out is None else str(out)}
    with lake.run("discovery substructure", params=params, inputs=[f"lake:{info.name}"]) as run:
        chunks = table_chunks(lake, info.name, target_rows=chunk_rows)
        parts: list[pa.Table] = []
        with progress.task(f"Matching {info.name}", total=len(chunks)) as task, get_backend(scheduler) as backend:
            for part in backend.map(_match_chunk, chunks, smarts=smarts):
                parts.append(part)
                task.advance()
        result = pa.concat_tables(parts) if parts else SUBSTRUCTURE_SCHEMA.empty_table()
        if out is not None:
            run.result(result, out)
        else:
            stage = run.table(f"{info.name}_substructure", attrs={"role": "result", "library": info.name})
            stage.write(result)
    return result.to_pandas()
