"""Molecule files (SMILES, CSV/TSV with a SMILES column, SDF; gzip too) → lake datasets.

:func:`ingest_molecules` streams a file in chunks of records, parses and describes the
molecules with RDKit on every core (the ``processes`` backend by default, or any
backend of :mod:`biolake.lake.backend`) and writes three datasets in one run:

``NAME`` (table, encoding ``biolake-molecules`` v1), one row per molecule RDKit reads, in
file order:

=================  =======  ===================================================
column             type     meaning (RDKit function)
=================  =======  ===================================================
``id``             string   2nd field of a ``.smi`` line, ``--id-col`` of a CSV,
                            ``_Name`` (or ``--id-prop``) of an SDF record; the
                            record number when missing
``smiles``         string   canonical SMILES (``Chem.MolToSmiles``)
``inchikey``       string   ``Chem.MolToInchiKey`` (null if InChI fails)
``heavy_atoms``    int32    ``Mol.GetNumHeavyAtoms``
``mw``             float64  ``Descriptors.MolWt``
``clogp``          float64  ``Crippen.MolLogP``
``hbd``, ``hba``   int32    ``rdMolDescriptors.CalcNumHBD`` / ``CalcNumHBA``
``tpsa``           float64  ``rdMolDescriptors.CalcTPSA``
``rotatable_bonds``int32    ``rdMolDescriptors.CalcNumRotatableBonds``
``aromatic_rings`` int32    ``rdMolDescriptors.CalcNumAromaticRings``
``qed``            float64  ``QED.qed``
``record``         int64    1-based record number in the file
``line``           int64    1-based line where the record starts
``properties``     string   JSON object of the SDF data fields or the other CSV
                            columns (null if none)
=================  =======  ===================================================

``NAME_fp`` (array, encoding ``biolake-fingerprints`` v1), the fingerprints packed (uncompressed) into
``uint64`` words (bit ``i`` is bit ``i % 64`` of word ``i // 64``), **sorted by popcount**
for search pruning: ``fp`` (molecules, words), ``popcount`` (int32, ascending), ``row``
(the molecule's row in ``NAME``), ``key`` (rank of the molecule's ``(id, record)``, the
tie-breaker of searches) and ``bin_start`` (rows with popcount ``p`` are
``bin_start[p]:bin_start[p + 1]``). Attributes: ``fp`` (the spec), ``n_bits``.

The same group holds ``pattern`` (molecules, 32 words; **in table row order**): RDKit's
substructure-screening ``PatternFingerprint`` (2048 bits) of each molecule as rebuilt from its
canonical SMILES — the molecule :func:`biolake.discovery.substructure.substructure` verifies,
so a query's pattern bits ⊆ the molecule's bits is a necessary condition for a match
(attribute ``pattern``: ``rdkit-pattern:2048``). Libraries ingested before it existed have no
``pattern`` array and are searched without a screen.

``NAME_rejects`` (table): ``record, line, id, input, reason`` of every record RDKit
cannot read. Their number is in the attributes (``n_molecules``, ``n_rejects``) of
``NAME``; with ``strict=True`` the first one is an :class:`~biolake.errors.InputError`
naming the file and record instead, and nothing is written.

Fingerprint specs: ``morganR:BITS`` (Morgan/ECFP radius R, e.g. ``morgan2:2048``),
``rdkit:BITS`` (RDKit path fingerprint, paths of 1–7 bonds), ``atompair:BITS`` and
``maccs`` (the 167 MACCS keys), all from RDKit's ``rdFingerprintGenerator`` or
``MACCSkeys`` with default options.

Examples
--------
>>> from biolake.io.molecules import ingest_molecules
>>> info = ingest_molecules(lake, "library.smi.gz", name="library")    # doctest: +SKIP
>>> info.attrs["n_molecules"], info.attrs["n_rejects"]                  # doctest: +SKIP
(99_870, 130)
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from biolake.errors import InputError, check_param
from biolake.io._formats import format_by_suffix
from biolake.lake import DatasetInfo, Lake, validate_name
from biolake.lake._fs import remove_tree
from biolake.lake.backend import SCHEDULER_ENV_VAR, Backend, get_backend
from biolake.lake.progress import NullProgress, Progress

__all__ = [
    "FP_ENCODING",
    "MOLECULE_FORMATS",
    "MOLECULE_SCHEMA",
    "PATTERN_BITS",
    "REJECT_SCHEMA",
    "FingerprintSpec",
    "fingerprint_words",
    "ingest_molecules",
    "mol_from_record",
    "molecule_format",
    "parse_fp_spec",
    "pattern_words",
    "read_molecules",
]

MOLECULE_FORMATS = {
    ".smi": "smiles",
    ".smiles": "smiles",
    ".ism": "smiles",
    ".can": "smiles",
    ".csv": "csv",
    ".tsv": "tsv",
    ".sdf": "sdf",
    ".sd": "sdf",
    ".mol": "sdf",
}
FP_ENCODING = ("biolake-fingerprints", 1)
MOLECULE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("smiles", pa.string()),
        ("inchikey", pa.string()),
        ("heavy_atoms", pa.int32()),
        ("mw", pa.float64()),
        ("clogp", pa.float64()),
        ("hbd", pa.int32()),
        ("hba", pa.int32()),
        ("tpsa", pa.float64()),
        ("rotatable_bonds", pa.int32()),
        ("aromatic_rings", pa.int32()),
        ("qed", pa.float64()),
        ("record", pa.int64()),
        ("line", pa.int64()),
        ("properties", pa.string()),
    ]
)
REJECT_SCHEMA = pa.schema(
    [
        ("record", pa.int64()),
        ("line", pa.int64()),
        ("id", pa.string()),
        ("input", pa.string()),
        ("reason", pa.string()),
    ]
)
_FP_RE = re.compile(r"^(?:(morgan|featmorgan|morgancount)(\d)|(rdkit)|(atompair)):(\d+)$|^(maccs)$")
_FP_EXPECTED = (
    "'morganR:BITS', 'featmorganR:BITS', 'morgancountR:BITS' (R 1-6), 'rdkit:BITS', 'atompair:BITS' "
    "(BITS 64-16384; a multiple of 4 for morgancount) or 'maccs'"
)
_FP_TARGET_BYTES = 16 << 20
PATTERN_BITS = 2048
PATTERN_SPEC = f"rdkit-pattern:{PATTERN_BITS}"
_SMILES_NAMES = ("smiles", "canonical_smiles", "smi")
_ID_NAMES = ("id", "name", "compound_id", "mol_id")


# ----------------------------------------------------------------- fingerprints
@dataclass(frozen=True)
class FingerprintSpec:
    """A parsed fingerprint spec: ``kind`` (morgan, featmorgan, morgancount, rdkit, atompair, maccs),
    ``radius``, ``n_bits``."""

    kind: str
    n_bits: int
    radius: int = 0

    @property
    def n_words(self) -> int:
        """Number of ``uint64`` words per packed fingerprint."""
        return -(-self.n_bits // 64)

    def __str__(self) -> str:
        if self.kind == "maccs":
            return "maccs"
        if self.radius:
            return f"{self.kind}{self.radius}:{self.n_bits}"
        return f"{self.kind}:{self.n_bits}"


def parse_fp_spec(spec: str, *, function: str = "ingest_molecules") -> FingerprintSpec:
    """Parse ``morgan2:2048``, ``featmorgan2:2048``, ``morgancount2:2048``, ``rdkit:2048``,
    ``atompair:2048`` or ``maccs``.

    ``featmorgan`` is Morgan with pharmacophoric feature invariants (FCFP-like; RDKit's
    ``GetMorganFeatureAtomInvGen``, the same bits as ``GetMorganFingerprintAsBitVect(...,
    useFeatures=True)``); ``morgancount`` is the count-simulated Morgan fingerprint (RDKit
    ``countSimulation=True``): each hashed environment owns 4 bits set when its count is
    ≥ 1, 2, 4, 8, so bit Tanimoto approximates count Tanimoto (``BITS / 4`` hash positions).

    Examples
    --------
    >>> parse_fp_spec("morgan2:2048")
    FingerprintSpec(kind='morgan', n_bits=2048, radius=2)
    >>> parse_fp_spec("maccs").n_words
    3
    """
    m = _FP_RE.match(spec.strip().lower()) if isinstance(spec, str) else None
    ok = m is not None
    if m is not None and not m.group(6):
        bits = int(m.group(5))
        ok = 64 <= bits <= 16_384 and (not m.group(1) or 1 <= int(m.group(2)) <= 6)
        ok = ok and (m.group(1) != "morgancount" or bits % 4 == 0)
    check_param(function, "fp", spec, ok, _FP_EXPECTED)
    assert m is not None
    if m.group(6):
        return FingerprintSpec("maccs", 167)
    if m.group(1):
        return FingerprintSpec(m.group(1), int(m.group(5)), int(m.group(2)))
    return FingerprintSpec("rdkit" if m.group(3) else "atompair", int(m.group(5)))


_GENERATORS: dict[str, Any] = {}


def _fp_bits(mol: Any, spec: FingerprintSpec) -> np.ndarray:
    """0/1 ``uint8`` vector of the fingerprint of one molecule."""
    if spec.kind == "maccs":
        from rdkit import DataStructs
        from rdkit.Chem import MACCSkeys

        out = np.zeros(167, dtype=np.uint8)
        DataStructs.ConvertToNumpyArray(MACCSkeys.GenMACCSKeys(mol), out)
        return out
    key = str(spec)
    gen = _GENERATORS.get(key)
    if gen is None:
        from rdkit.Chem import rdFingerprintGenerator as g

        if spec.kind == "morgan":
            gen = g.GetMorganGenerator(radius=spec.radius, fpSize=spec.n_bits)
        elif spec.kind == "featmorgan":
            gen = g.GetMorganGenerator(
                radius=spec.radius, fpSize=spec.n_bits, atomInvariantsGenerator=g.GetMorganFeatureAtomInvGen()
            )
        elif spec.kind == "morgancount":
            gen = g.GetMorganGenerator(radius=spec.radius, fpSize=spec.n_bits, countSimulation=True)
        elif spec.kind == "rdkit":
            gen = g.GetRDKitFPGenerator(fpSize=spec.n_bits)
        else:
            gen = g.GetAtomPairGenerator(fpSize=spec.n_bits)
        _GENERATORS[key] = gen
    return np.asarray(gen.GetFingerprintAsNumPy(mol), dtype=np.uint8)


def _pack(bits: np.ndarray, n_words: int) -> np.ndarray:
    n = bits.shape[0]
    padded = np.zeros((n, n_words * 64), dtype=np.uint8)
    padded[:, : bits.shape[1]] = bits
    packed = np.ascontiguousarray(np.packbits(padded, axis=1, bitorder="little"))
    return packed.view("<u8").astype(np.uint64, copy=False).reshape(n, n_words)


def pattern_words(mols: Sequence[Any]) -> np.ndarray:
    """RDKit ``PatternFingerprint`` (2048 bits) of molecules or query molecules, packed as
    ``(n, 32)`` ``uint64`` words (bit ``i`` is bit ``i % 64`` of word ``i // 64``).

    Parameters
    ----------
    mols
        RDKit ``Mol`` objects (a SMARTS query molecule gives the bits every match needs).

    Returns
    -------
    numpy.ndarray
        The packed fingerprints.
    """
    text = "".join(_pattern_hex(m) for m in mols)
    return np.frombuffer(bytes.fromhex(text), dtype="<u8").astype(np.uint64).reshape(len(mols), PATTERN_BITS // 64)


def _pattern_hex(mol: Any) -> str:
    from rdkit import Chem, DataStructs

    return DataStructs.BitVectToFPSText(Chem.PatternFingerprint(mol, fpSize=PATTERN_BITS))


def fingerprint_words(mols: Sequence[Any], spec: str | FingerprintSpec) -> np.ndarray:
    """Packed fingerprints (``(n, words)`` ``uint64``) of RDKit molecules.

    Parameters
    ----------
    mols
        RDKit ``Mol`` objects.
    spec
        A fingerprint spec (see :func:`parse_fp_spec`).

    Returns
    -------
    numpy.ndarray
        Bit ``i`` of a fingerprint is bit ``i % 64`` of word ``i // 64``.
    """
    spec = spec if isinstance(spec, FingerprintSpec) else parse_fp_spec(spec, function="fingerprint_words")
    bits = np.zeros((len(mols), spec.n_bits), dtype=np.uint8)
    for i, mol in enumerate(mols):
        bits[i] = _fp_bits(mol, spec)
    return _pack(bits, spec.n_words)


# ---------------------------------------------------------------------- reading
def molecule_format(path: str | os.PathLike[str]) -> str:
    """``"smiles"``, ``"csv"``, ``"tsv"`` or ``"sdf"`` from the file name (``.gz`` allowed)."""
    return format_by_suffix(path, MOLECULE_FORMATS, what="molecule", expected=".smi, .csv, .tsv or .sdf (gzip too)")


Record = tuple[int, int, str, str, str | None]
"""(record number, line number, text (SMILES or mol block), id, properties JSON)."""


class _Source:
    """An open molecule file; ``position`` is the number of (compressed) bytes read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.raw = open(path, "rb")  # noqa: SIM115  (closed in close())
        binary: Any = self.raw
        if path.suffix.lower() in (".gz", ".gzip"):
            binary = gzip.GzipFile(fileobj=self.raw)
        self.text = io.TextIOWrapper(binary, encoding="utf-8", newline=None)
        self.line = 0

    @property
    def position(self) -> int:
        return self.raw.tell()

    def lines(self) -> Iterator[str]:
        try:
            for line in self.text:
                self.line += 1
                yield line.rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text ({exc.reason})", file=self.path, line=self.line + 1) from None
        except (OSError, EOFError) as exc:
            raise InputError(f"cannot read: {exc}", file=self.path, line=self.line + 1) from None

    def close(self) -> None:
        self.text.close()
        self.raw.close()


def _smiles_records(src: _Source) -> Iterator[Record]:
    record = 0
    for line in src.lines():
        fields = line.split(None, 2)
        if not fields or fields[0].startswith("#"):
            continue
        if record == 0 and fields[0].lower() in _SMILES_NAMES:
            continue  # a title line
        record += 1
        yield record, src.line, fields[0], fields[1] if len(fields) > 1 else str(record), None


def _pick_column(header: list[str], wanted: str | None, names: Sequence[str], what: str, path: Path) -> int | None:
    if wanted is not None:
        if wanted in header:
            return header.index(wanted)
        raise InputError(f"no {what} column {wanted!r} in the header (columns: {', '.join(header)})", file=path, line=1)
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _delimited_records(src: _Source, delimiter: str, smiles_col: str | None, id_col: str | None) -> Iterator[Record]:
    reader = csv.reader(src.lines(), delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("file is empty", file=src.path) from None
    except csv.Error as exc:
        raise InputError(f"malformed quoting: {exc}", file=src.path, line=1) from None
    s_idx = _pick_column(header, smiles_col, _SMILES_NAMES, "SMILES", src.path)
    if s_idx is None:
        raise InputError(
            f"no SMILES column (looked for {', '.join(_SMILES_NAMES)}; columns: {', '.join(header)}); "
            "name it with --smiles-col",
            file=src.path,
            line=1,
        )
    i_idx = _pick_column(header, id_col, _ID_NAMES, "id", src.path)
    others = [i for i in range(len(header)) if i not in (s_idx, i_idx)]
    record = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"malformed quoting: {exc}", file=src.path, line=src.line) from None
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        record += 1
        if len(fields) != len(header):
            raise InputError(f"expected {len(header)} fields, found {len(fields)}", file=src.path, line=src.line)
        ident = fields[i_idx] if i_idx is not None and fields[i_idx] else str(record)
        props = json.dumps({header[i]: fields[i] for i in others}) if others else None
        yield record, src.line, fields[s_idx].strip(), ident, props


def _sdf_records(src: _Source, id_prop: str | None) -> Iterator[Record]:
    record = 0
    block: list[str] = []
    start = 1
    for line in src.lines():
        if not block:
            start = src.line
        if line.startswith("$$$$"):
            record += 1
            yield _sdf_record(block, record, start, id_prop)
            block = []
            continue
        block.append(line)
    if any(b.strip() for b in block):
        record += 1
        yield _sdf_record(block, record, start, id_prop)


_SD_FIELD = re.compile(r"^>.*?<([^>]*)>")


def _sdf_record(lines: list[str], record: int, start: int, id_prop: str | None) -> Record:
    end = next((i for i, ln in enumerate(lines) if ln.strip() == "M  END" or ln.startswith("M  END")), None)
    molblock = "\n".join(lines[: end + 1] if end is not None else lines) + "\n"
    props: dict[str, str] = {}
    if end is not None:
        key: str | None = None
        values: list[str] = []
        for ln in lines[end + 1 :]:
            m = _SD_FIELD.match(ln)
            if m and key is None:
                key, values = m.group(1), []
            elif key is not None and not ln.strip():
                props[key] = "\n".join(values)
                key = None
            elif key is not None:
                values.append(ln)
        if key is not None:
            props[key] = "\n".join(values)
    title = lines[0].strip() if lines else ""
    ident = props.get(id_prop, "") if id_prop else title
    text = molblock if end is not None else ""
    return record, start, text, ident or str(record), json.dumps(props) if props else None


def read_molecules(
    path: str | os.PathLike[str],
    *,
    smiles_col: str | None = None,
    id_col: str | None = None,
    id_prop: str | None = None,
) -> Iterator[Record]:
    """Stream the records of a molecule file: ``(record, line, text, id, properties_json)``.

    Parameters
    ----------
    path
        A ``.smi``, ``.csv``/``.tsv`` or ``.sdf`` file, gzip too.
    smiles_col, id_col, id_prop
        As for :func:`ingest_molecules`.

    Yields
    ------
    tuple
        ``record`` (1-based), ``line`` (1-based, where the record starts), ``text`` (the
        SMILES, or the mol block of an SDF record, empty if it has no ``M  END`` line),
        ``id`` and ``properties`` (JSON text or None). Nothing is parsed by RDKit here.

    Raises
    ------
    InputError
        For an unknown format, text that is not UTF-8 or a malformed CSV/TSV.
    """
    path = Path(path)
    fmt = molecule_format(path)
    src = _Source(path)
    try:
        yield from _records(src, fmt, smiles_col, id_col, id_prop)
    finally:
        src.close()


def _records(
    src: _Source, fmt: str, smiles_col: str | None, id_col: str | None, id_prop: str | None
) -> Iterator[Record]:
    if fmt == "smiles":
        return _smiles_records(src)
    if fmt == "sdf":
        return _sdf_records(src, id_prop)
    return _delimited_records(src, "," if fmt == "csv" else "\t", smiles_col, id_col)


# ---------------------------------------------------------------------- parsing
def mol_from_record(text: str, fmt: str) -> tuple[Any, str | None]:
    """An RDKit molecule from a SMILES or a mol block, or ``(None, reason)``.

    Parameters
    ----------
    text
        The SMILES (``fmt`` other than ``"sdf"``) or the mol block.
    fmt
        ``"sdf"`` for a mol block; anything else for a SMILES.

    Returns
    -------
    tuple
        ``(mol, None)``, or ``(None, reason)`` with RDKit's reason (e.g. a valence error),
        RDKit's log messages silenced.
    """
    from rdkit import Chem, rdBase

    with rdBase.BlockLogs():
        if fmt == "sdf":
            if not text.strip():
                return None, "no 'M  END' line in the record"
            mol = Chem.MolFromMolBlock(text)
            raw = None if mol is not None else Chem.MolFromMolBlock(text, sanitize=False)
        else:
            if not text:
                return None, "empty SMILES"
            mol = Chem.MolFromSmiles(text)
            raw = None if mol is not None else Chem.MolFromSmiles(text, sanitize=False)
        if mol is not None:
            return mol, None
        if raw is None:
            return None, "RDKit cannot parse the mol block" if fmt == "sdf" else "SMILES syntax error"
        problems = Chem.DetectChemistryProblems(raw)
        if problems:
            return None, " ".join(problems[0].Message().split())
        return None, "RDKit cannot sanitize the molecule"


def _describe(mol: Any) -> tuple[Any, ...]:
    from rdkit import Chem
    from rdkit.Chem import QED, Crippen, Descriptors, rdMolDescriptors

    inchikey = Chem.MolToInchiKey(mol) or None
    return (
        Chem.MolToSmiles(mol),
        inchikey,
        mol.GetNumHeavyAtoms(),
        Descriptors.MolWt(mol),
        Crippen.MolLogP(mol),
        rdMolDescriptors.CalcNumHBD(mol),
        rdMolDescriptors.CalcNumHBA(mol),
        rdMolDescriptors.CalcTPSA(mol),
        rdMolDescriptors.CalcNumRotatableBonds(mol),
        rdMolDescriptors.CalcNumAromaticRings(mol),
        QED.qed(mol),
    )


def _parse_chunk(records: list[Record], *, fmt: str, fp: str) -> dict[str, Any]:
    """Kernel: parse, describe and fingerprint one chunk of records (runs in a worker)."""
    from rdkit import Chem, rdBase

    spec = parse_fp_spec(fp)
    rows: list[tuple[Any, ...]] = []
    rejects: list[tuple[Any, ...]] = []
    bits = np.zeros((len(records), spec.n_bits), dtype=np.uint8)
    screen: list[str] = []
    n = 0
    for record, line, text, ident, props in records:
        mol, reason = mol_from_record(text, fmt)
        if mol is not None:
            try:
                with rdBase.BlockLogs():
                    described = _describe(mol)
                    bits[n] = _fp_bits(mol, spec)
                    # the screen must describe the molecule searches rebuild from the canonical SMILES
                    same = fmt != "sdf" and text == described[0]
                    rebuilt = mol if same else Chem.MolFromSmiles(described[0])
                    try:
                        pattern_hex = _pattern_hex(rebuilt)
                    except Exception:  # no screen for this molecule: all bits set, it is always verified
                        pattern_hex = "f" * (PATTERN_BITS // 4)
            except Exception as exc:  # RDKit raises several types for odd molecules
                mol, reason = None, f"RDKit failed on the molecule: {' '.join(str(exc).split())}"
        if mol is None:
            first = text.split("\n", 1)[0] if fmt == "sdf" else text
            rejects.append((record, line, ident, first[:200], reason))
            continue
        rows.append((ident, *described, record, line, props))
        screen.append(pattern_hex)
        n += 1
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in MOLECULE_SCHEMA]
    batch = pa.RecordBatch.from_arrays(
        [pa.array(list(col), type=f.type) for col, f in zip(columns, MOLECULE_SCHEMA, strict=True)],
        schema=MOLECULE_SCHEMA,
    )
    rej_cols = list(zip(*rejects, strict=True)) if rejects else [[] for _ in REJECT_SCHEMA]
    rej = pa.RecordBatch.from_arrays(
        [pa.array(list(col), type=f.type) for col, f in zip(rej_cols, REJECT_SCHEMA, strict=True)],
        schema=REJECT_SCHEMA,
    )
    bits = bits[:n]
    pattern = np.frombuffer(bytes.fromhex("".join(screen)), dtype="<u8").astype(np.uint64)
    return {
        "batch": batch,
        "rejects": rej,
        "fp": _pack(bits, spec.n_words),
        "popcount": bits.sum(1, dtype=np.int32),
        "pattern": pattern.reshape(n, PATTERN_BITS // 64),
    }


def _chunked(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for rec in records:
        chunk.append(rec)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ----------------------------------------------------------------------- ingest
def ingest_molecules(
    lake: Lake,
    path: str | os.PathLike[str],
    *,
    name: str,
    fp: str = "morgan2:2048",
    smiles_col: str | None = None,
    id_col: str | None = None,
    id_prop: str | None = None,
    strict: bool = False,
    chunk_size: int = 2_000,
    scheduler: str | Backend | Any = None,
    progress: Progress | None = None,
) -> DatasetInfo:
    """Ingest a molecule file as the datasets ``NAME``, ``NAME_fp`` and ``NAME_rejects``.

    Parameters
    ----------
    lake
        The lake to write into.
    path
        ``.smi`` (SMILES then id on each line), ``.csv``/``.tsv`` with a header and a
        SMILES column, or ``.sdf``; each may be gzipped (``.gz``).
    name
        Name of the molecule table; the fingerprints and rejects get ``_fp`` and
        ``_rejects`` appended.
    fp
        Fingerprint spec (see the module docstring), default ``morgan2:2048``.
    smiles_col, id_col
        Columns of a CSV/TSV file (default: a column named ``smiles`` and one named
        ``id``/``name``, case-insensitive; ids default to the record number).
    id_prop
        SDF data field holding the id (default: the record's title line).
    strict
        Make the first record RDKit cannot read an InputError instead of a reject.
    chunk_size
        Records per parallel task.
    scheduler
        Where to parse (see :func:`biolake.lake.backend.get_backend`); default:
        ``$BIOLAKE_SCHEDULER`` or ``"processes"`` (RDKit holds the GIL).
    progress
        Where to report progress (bytes of the file read).

    Returns
    -------
    DatasetInfo
        The catalog entry of the molecule table (attributes ``n_molecules``, ``n_rejects``,
        ``fp``).

    Raises
    ------
    InputError
        For a missing file, an unknown format or fingerprint spec, a malformed CSV,
        or (``strict``) the first unreadable record.
    """
    validate_name(name)
    validate_name(f"{name}_rejects")
    path = Path(path)
    spec = parse_fp_spec(fp)
    check_param("ingest_molecules", "chunk_size", chunk_size, isinstance(chunk_size, int) and chunk_size > 0, "> 0")
    check_param("ingest_molecules", "strict", strict, isinstance(strict, bool), "True or False")
    if not path.is_file():
        raise InputError("no such file", file=path)
    fmt = molecule_format(path)
    if fmt != "sdf" and id_prop is not None:
        check_param("ingest_molecules", "id_prop", id_prop, False, "None for a file that is not SDF")
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV_VAR, "").strip() or "processes"
    progress = progress or NullProgress()
    params = {
        "name": name,
        "format": fmt,
        "fp": str(spec),
        "smiles_col": smiles_col,
        "id_col": id_col,
        "id_prop": id_prop,
        "strict": strict,
    }
    with lake.run("ingest molecules", params=params, inputs=[str(path)]) as run:
        table = run.table(name, source=str(path.resolve()), encoding="biolake-molecules", encoding_version=1)
        rejects = run.table(f"{name}_rejects", source=str(path.resolve()))
        table.write(MOLECULE_SCHEMA.empty_table())
        rejects.write(REJECT_SCHEMA.empty_table())
        work = lake.new_tmp_dir()
        try:
            n_mols, n_rej, pops = _parse_file(
                path,
                fmt,
                spec,
                smiles_col,
                id_col,
                id_prop,
                strict,
                chunk_size,
                scheduler,
                progress,
                table,
                rejects,
                work / "fp.raw",
            )
            table.close()
            keys = _id_ranks(table.path, work)
            _write_fingerprints(
                run.array(
                    f"{name}_fp", source=str(path.resolve()), encoding=FP_ENCODING[0], encoding_version=FP_ENCODING[1]
                ),
                work / "fp.raw",
                pops,
                keys,
                spec,
                name,
            )
        finally:
            remove_tree(work)
        digest = run.hash_input(str(path))
        attrs = {
            "n_molecules": n_mols,
            "n_rejects": n_rej,
            "fp": str(spec),
            "format": fmt,
            "fingerprints": f"{name}_fp",
            "rejects": f"{name}_rejects",
        }
        run.annotate(name, source_hash=digest, attrs=attrs)
        run.annotate(f"{name}_rejects", source_hash=digest, attrs={"n_rejects": n_rej, "molecules": name})
        run.annotate(f"{name}_fp", source_hash=digest, attrs={"molecules": name})
    return lake.info(name)


def _parse_file(
    path: Path,
    fmt: str,
    spec: FingerprintSpec,
    smiles_col: str | None,
    id_col: str | None,
    id_prop: str | None,
    strict: bool,
    chunk_size: int,
    scheduler: Any,
    progress: Progress,
    table: Any,
    rejects: Any,
    raw_path: Path,
) -> tuple[int, int, np.ndarray]:
    n_mols = n_rej = 0
    pops: list[np.ndarray] = []
    size = max(1, path.stat().st_size)
    src = _Source(path)
    records = _records(src, fmt, smiles_col, id_col, id_prop)
    with (
        progress.task(f"Ingesting {path.name}", total=size) as task,
        get_backend(scheduler) as backend,
        open(raw_path, "wb") as raw,
        open(raw_path.with_suffix(".pattern"), "wb") as raw_pattern,
    ):
        try:
            results = backend.map(_parse_chunk, _chunked(records, chunk_size), fmt=fmt, fp=str(spec))
            for result in results:
                n_mols, n_rej = _take(result, path, strict, table, rejects, (raw, raw_pattern), pops, n_mols, n_rej)
                task.update(min(size, src.position))
        finally:
            src.close()
    return n_mols, n_rej, np.concatenate(pops) if pops else np.zeros(0, np.int32)


def _take(
    result: dict[str, Any],
    path: Path,
    strict: bool,
    table: Any,
    rejects: Any,
    raw: tuple[Any, Any],
    pops: list[np.ndarray],
    n_mols: int,
    n_rej: int,
) -> tuple[int, int]:
    """Write one parsed chunk; in strict mode its first reject is an error."""
    rej = result["rejects"]
    if strict and rej.num_rows:
        first = rej.slice(0, 1).to_pylist()[0]
        raise InputError(
            f"RDKit cannot read the molecule ({first['reason']})",
            file=path,
            line=first["line"],
            record=first["record"],
        )
    table.write(result["batch"])
    rejects.write(rej)
    raw[0].write(np.ascontiguousarray(result["fp"]).tobytes())
    raw[1].write(np.ascontiguousarray(result["pattern"], dtype="<u8").tobytes())
    pops.append(result["popcount"])
    return n_mols + result["batch"].num_rows, n_rej + rej.num_rows


def _id_ranks(table_path: Path, work: Path) -> np.ndarray:
    """Rank of each row's ``(id, record)`` in sorted order, in row (record) order."""
    import duckdb

    glob = str(table_path / "*.parquet").replace("'", "''")
    con = duckdb.connect(":memory:", config={"memory_limit": os.environ.get("BIOLAKE_DUCKDB_MEMORY", "512MB")})
    try:
        spill = str(work / "duckdb.tmp").replace("'", "''")
        con.execute(f"SET temp_directory='{spill}'")
        rel = con.execute(
            "SELECT (row_number() OVER (ORDER BY id, record) - 1)::BIGINT AS key, record "
            f"FROM read_parquet('{glob}') ORDER BY record"
        )
        keys = rel.fetchnumpy()["key"]
    finally:
        con.close()
    return np.asarray(keys, dtype=np.int64)


def _write_fingerprints(
    stage: Any, raw_path: Path, pops: np.ndarray, keys: np.ndarray, spec: FingerprintSpec, name: str
) -> None:
    n = int(pops.shape[0])
    words = spec.n_words
    order = np.argsort(pops, kind="stable")
    sorted_pops = pops[order].astype(np.int32)
    rows_per_chunk = max(1, min(max(n, 1), _FP_TARGET_BYTES // (words * 8)))
    # uncompressed: searches read every chunk they cannot prune, and decompressing costs
    # ~15x the read (fingerprints would compress about 4x)
    fp = stage.group.create_array(
        "fp", shape=(n, words), dtype="uint64", chunks=(rows_per_chunk, words), compressors=None
    )
    fp.attrs["_ARRAY_DIMENSIONS"] = ["molecules", "words"]
    stage.main = "fp"
    if n:
        mm = np.memmap(raw_path, dtype=np.uint64, mode="r", shape=(n, words))
        for start in range(0, n, rows_per_chunk):
            fp[start : start + rows_per_chunk] = mm[order[start : start + rows_per_chunk]]
        del mm
    stage.write("popcount", sorted_pops, chunks=(rows_per_chunk,), dims=("molecules",))
    stage.write("row", order.astype(np.int64), chunks=(rows_per_chunk,), dims=("molecules",))
    stage.write("key", keys[order] if n else keys, chunks=(rows_per_chunk,), dims=("molecules",))
    bin_start = np.searchsorted(sorted_pops, np.arange(spec.n_bits + 2), side="left").astype(np.int64)
    stage.write("bin_start", bin_start, dims=("popcount_bins",))
    _write_pattern(stage, raw_path.with_suffix(".pattern"), n)
    stage.attrs.update(
        {
            "fp": str(spec),
            "n_bits": spec.n_bits,
            "n_words": words,
            "molecules": name,
            "encoding": FP_ENCODING[0],
            "encoding_version": FP_ENCODING[1],
            "pattern": PATTERN_SPEC,
        }
    )


def _write_pattern(stage: Any, raw_path: Path, n: int) -> None:
    """The substructure-screen fingerprints, in table row order (uncompressed, like ``fp``)."""
    words = PATTERN_BITS // 64
    rows_per_chunk = max(1, min(max(n, 1), _FP_TARGET_BYTES // (words * 8)))
    arr = stage.group.create_array(
        "pattern", shape=(n, words), dtype="uint64", chunks=(rows_per_chunk, words), compressors=None
    )
    arr.attrs["_ARRAY_DIMENSIONS"] = ["molecules", "pattern_words"]
    if n:
        mm = np.memmap(raw_path, dtype="<u8", mode="r", shape=(n, words))
        for start in range(0, n, rows_per_chunk):
            arr[start : start + rows_per_chunk] = mm[start : start + rows_per_chunk]
        del mm
