"""Drug-likeness rules and structural-alert filters of a molecule library in the lake.

:func:`filter_library` checks every molecule of a library made by
:func:`biolake.io.molecules.ingest_molecules` against a list of rules, chunk by chunk of
the molecule table on a backend (``processes`` by default: RDKit holds the GIL), and
returns, per molecule, whether it passed and which rules it failed.

Rules
-----
``lipinski``
    Lipinski's rule of five on the stored properties: MW (``Descriptors.MolWt``) ≤ 500,
    cLogP (Crippen) ≤ 5, HBD (``CalcNumHBD``) ≤ 5, HBA (``CalcNumHBA``) ≤ 10. As Lipinski
    wrote it ("poor absorption is more likely when **two or more** are violated"), a
    molecule fails only with ≥ 2 violations (one is allowed).
``veber``
    Rotatable bonds (``CalcNumRotatableBonds``) ≤ 10 and TPSA ≤ 140 Å².
``ghose``
    Ghose et al. (1999): MW in [160, 480], cLogP in [−0.4, 5.6], molar refractivity
    (``Crippen.MolMR``) in [40, 130] and total atoms including hydrogens in [20, 70].
``pains``, ``pains_a``, ``pains_b``, ``pains_c``, ``brenk``, ``nih``
    Structural alerts: the molecule fails when RDKit's ``FilterCatalog`` built from the
    catalog of that name (``PAINS`` = A+B+C, ``BRENK``, ``NIH``) ``HasMatch``-es it.

Alerts are checked exactly as ``FilterCatalog.HasMatch`` does (each catalog entry's own
``HasFilterMatch`` on the molecule rebuilt from its canonical SMILES), but only for the
entries a **pre-screen** cannot rule out: every alert's SMARTS pattern (read from the
entry itself) is reduced to counts it needs — atoms of an element (aromatic, aliphatic or
either) and bonds of an order between two elements — and an entry is skipped when the
molecule has fewer. Different query atoms (bonds) must map to different molecule atoms
(bonds), so a molecule with fewer of them can never match: the pre-screen never drops a
true match (the tests compare with ``FilterCatalog`` on thousands of molecules). Brenk's
catalog is cheap for RDKit and is matched with ``HasMatch`` directly (the pre-screen's
Python feature extraction would cost more than it saves).

Result columns: ``id``, ``passed`` (bool: no rule failed), ``failed_rules`` (the failed
rules, comma-separated in the order asked, empty if none) and one bool column per rule,
named after the rule, **True when the molecule passed it**; in table order.

Examples
--------
>>> from biolake.discovery.filters import filter_library
>>> df = filter_library(lake, "library", rules=["lipinski", "pains"])   # doctest: +SKIP
>>> df.columns.tolist()                                                  # doctest: +SKIP
['id', 'passed', 'failed_rules', 'lipinski', 'pains']
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from biolake.discovery.similarity import molecule_table
from biolake.errors import check_param
from biolake.lake import Lake
from biolake.lake.backend import SCHEDULER_ENV_VAR, get_backend
from biolake.lake.chunks import TableChunk, table_chunks
from biolake.lake.progress import NullProgress, Progress

__all__ = ["ALERT_CATALOGS", "PROPERTY_RULES", "RULES", "AlertScreen", "filter_library", "parse_rules"]

PROPERTY_RULES = ("lipinski", "veber", "ghose")
ALERT_CATALOGS = {"pains": "PAINS", "pains_a": "PAINS_A", "pains_b": "PAINS_B", "pains_c": "PAINS_C"}
ALERT_CATALOGS.update({"brenk": "BRENK", "nih": "NIH"})
RULES = PROPERTY_RULES + tuple(ALERT_CATALOGS)
_PROPERTY_COLUMNS = ["mw", "clogp", "hbd", "hba", "tpsa", "rotatable_bonds"]
_PICKLE = re.compile(rb" (\d+) \xef\xbe\xad\xde")
_NZ = 128  # atomic numbers (heavier ones share the last code)
_NB = 32  # RDKit bond type codes
# Brenk's 105 patterns are matched faster by RDKit than our Python feature extraction costs
# (benchmarks/results/screening.md): that catalog is checked directly with HasMatch.
_NO_PRESCREEN = frozenset({"BRENK"})


def parse_rules(rules: str | Sequence[str]) -> list[str]:
    """The rule names of ``"lipinski,pains"`` or a list, checked and without repeats."""
    items = rules.split(",") if isinstance(rules, str) else list(rules)
    names = [str(r).strip().lower() for r in items if str(r).strip()]
    bad = [r for r in names if r not in RULES]
    check_param("filter_library", "rules", rules, bool(names) and not bad, f"a list of rules from {', '.join(RULES)}")
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------- pre-screen
def _query_tree(text: str) -> list[tuple[int, str, str, bool]]:
    """Lines of ``DescribeQuery()`` as (depth, name, value, negated)."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        parts = line.split()
        out.append((depth, parts[0], parts[1] if len(parts) > 1 else "", "!=" in parts))
    return out


def _atom_need(nodes: list[tuple[int, str, str, bool]], i: int = 0) -> tuple[frozenset[int] | None, bool | None, int]:
    """(possible atomic numbers or None, aromatic flag or None, next node) of the query subtree at ``i``."""
    depth, name, value, neg = nodes[i]
    j = i + 1
    children = []
    while j < len(nodes) and nodes[j][0] > depth:
        z, a, j = _atom_need(nodes, j)
        children.append((z, a))
    if neg:
        return None, None, j
    if name == "AtomAtomicNum":
        return frozenset([int(value)]), None, j
    if name == "AtomType":
        v = int(value)
        return frozenset([v % 1000]), v >= 1000, j
    if name == "AtomIsAromatic":
        return None, True, j
    if name == "AtomIsAliphatic":
        return None, False, j
    if name == "AtomAnd":
        zs: frozenset[int] | None = None
        arom: bool | None = None
        for z, a in children:
            if z is not None:
                zs = z if zs is None else zs & z
            if a is not None:
                arom = a if arom is None or arom == a else None
        return zs, arom, j
    if name == "AtomOr" and children and all(z is not None for z, _ in children):
        zs = frozenset().union(*(z for z, _ in children if z is not None))
        aroms = {a for _, a in children}
        return zs, (aroms.pop() if len(aroms) == 1 else None), j
    return None, None, j


def _bond_order(text: str) -> int | None:
    """The bond order a query bond demands (``BondOrder v``, possibly inside an AND), else None."""
    nodes = _query_tree(text)
    if not nodes or nodes[0][3]:
        return None
    if nodes[0][1] == "BondOrder":
        return int(nodes[0][2])
    if nodes[0][1] == "BondAnd":
        for depth, name, value, neg in nodes[1:]:
            if depth == 1 and name == "BondOrder" and not neg:
                return int(value)
    return None


def _pattern_needs(pattern: Any) -> dict[tuple[Any, ...], int]:
    """Counts a molecule must have for a query molecule to match it (keys: features)."""
    needs: dict[tuple[Any, ...], int] = {("atoms",): pattern.GetNumAtoms(), ("bonds",): pattern.GetNumBonds()}
    single: list[int | None] = []
    for atom in pattern.GetAtoms():
        z, arom, _ = _atom_need(_query_tree(atom.DescribeQuery()))
        if z is not None and len(z) == 1:
            (zz,) = tuple(z)
            single.append(zz)
            needs[("z", zz)] = needs.get(("z", zz), 0) + 1
            if arom is not None:
                key = ("arom" if arom else "aliph", zz)
                needs[key] = needs.get(key, 0) + 1
        else:
            single.append(None)
    for bond in pattern.GetBonds():
        order = _bond_order(bond.DescribeQuery())
        a, b = single[bond.GetBeginAtomIdx()], single[bond.GetEndAtomIdx()]
        if order is not None and a is not None and b is not None:
            key = ("bond", min(a, b), max(a, b), order)
            needs[key] = needs.get(key, 0) + 1
    return needs


def _entry_pattern(entry: Any) -> Any:
    """The query molecule of a ``FilterCatalog`` SMARTS entry (None if it is not one)."""
    from rdkit import Chem

    data = entry.Serialize()
    m = _PICKLE.search(data)
    if m is None:
        return None
    start = m.end(1) + 1
    tail = data[start + int(m.group(1)) :].split()
    if len(tail) < 2 or tail[0] != b"1":  # minCount 1: a single match is enough
        return None
    try:
        return Chem.Mol(data[start : start + int(m.group(1))])
    except Exception:  # not a molecule pickle: no pre-screen for this entry
        return None


def _representable(key: tuple[Any, ...]) -> bool:
    """Whether the feature tables of :class:`AlertScreen` count this feature exactly."""
    if key[0] in ("z", "arom", "aliph"):
        return key[1] < _NZ - 1
    if key[0] == "bond":
        return key[2] < _NZ - 1 and key[3] < _NB - 1
    return True


class AlertScreen:
    """The entries of one ``FilterCatalog`` with their pre-screen requirements.

    Parameters
    ----------
    catalog
        A ``FilterCatalogParams.FilterCatalogs`` name: ``PAINS``, ``PAINS_A``, ``BRENK``, ``NIH`` …

    Examples
    --------
    >>> from rdkit import Chem
    >>> screen = AlertScreen("PAINS")
    >>> screen.has_match(Chem.MolFromSmiles("O=C1C(=Cc2ccccc2)SC(=S)N1"))  # a rhodanine
    True
    """

    def __init__(self, catalog: str) -> None:
        from rdkit.Chem import FilterCatalog as fc

        params = fc.FilterCatalogParams()
        params.AddCatalog(getattr(fc.FilterCatalogParams.FilterCatalogs, catalog))
        self.catalog = fc.FilterCatalog(params)
        self.entries = [self.catalog.GetEntryWithIdx(i) for i in range(self.catalog.GetNumEntries())]
        needs = []
        for entry in self.entries:
            pattern = _entry_pattern(entry)
            need = {} if pattern is None else _pattern_needs(pattern)
            needs.append({k: v for k, v in need.items() if _representable(k)})
        keys = sorted({k for n in needs for k in n}, key=repr)
        self.keys = keys
        index = {k: i for i, k in enumerate(keys)}
        self.need_cols = [np.array([index[k] for k in n], dtype=np.int64) for n in needs]
        self.need_vals = [np.array(list(n.values()), dtype=np.int32) for n in needs]
        # lookup tables from atom / bond codes to feature columns (-1: not a feature)
        self._z_col = np.full(_NZ, -1, np.int64)
        self._arom_col = np.full(2 * _NZ, -1, np.int64)
        self._bond_col = np.full(_NZ * _NZ * _NB, -1, np.int64)
        for key, j in index.items():
            if key[0] == "z" and key[1] < _NZ - 1:
                self._z_col[key[1]] = j
            elif key[0] in ("arom", "aliph") and key[1] < _NZ - 1:
                self._arom_col[2 * key[1] + (key[0] == "arom")] = j
            elif key[0] == "bond" and key[2] < _NZ - 1 and key[3] < _NB - 1:
                self._bond_col[(key[1] * _NZ + key[2]) * _NB + key[3]] = j
        self._size_cols = (index.get(("atoms",), -1), index.get(("bonds",), -1))

    def features(self, mols: Sequence[Any]) -> np.ndarray:
        """``(n_molecules, n_keys)`` counts of the features the pre-screen looks at.

        Features whose code falls outside the lookup tables (atomic number ≥ 127, odd bond
        types) stay 0 in the matrix *and* are dropped from the requirements, so they never
        exclude a molecule.
        """
        n, k = len(mols), len(self.keys)
        zs: list[int] = []
        arom: list[bool] = []
        begin: list[int] = []
        end: list[int] = []
        btype: list[int] = []
        n_atoms = np.zeros(n, np.int64)
        n_bonds = np.zeros(n, np.int64)
        for i, mol in enumerate(mols):
            atoms = mol.GetAtoms()
            base = len(zs)
            nb = len(btype)
            zs += [a.GetAtomicNum() for a in atoms]
            arom += [a.GetIsAromatic() for a in atoms]
            bonds = mol.GetBonds()
            begin += [b.GetBeginAtomIdx() + base for b in bonds]
            end += [b.GetEndAtomIdx() + base for b in bonds]
            btype += [int(b.GetBondType()) for b in bonds]
            n_atoms[i] = len(zs) - base
            n_bonds[i] = len(btype) - nb
        z = np.minimum(np.asarray(zs, np.int64), _NZ - 1)
        atom_mol = np.repeat(np.arange(n), n_atoms)
        bond_mol = np.repeat(np.arange(n), n_bonds)
        za, zb = z[np.asarray(begin, np.int64)], z[np.asarray(end, np.int64)]
        bt = np.minimum(np.asarray(btype, np.int64), _NB - 1)
        bcode = (np.minimum(za, zb) * _NZ + np.maximum(za, zb)) * _NB + bt
        flat = np.zeros(n * k + 1, np.int64)  # the last cell collects codes that are not features
        for mol_idx, cols in (
            (atom_mol, self._z_col[z]),
            (atom_mol, self._arom_col[2 * z + np.asarray(arom, np.int64)]),
            (bond_mol, self._bond_col[bcode]),
        ):
            idx = np.where(cols >= 0, mol_idx * k + cols, n * k)
            flat += np.bincount(idx, minlength=n * k + 1)
        out = flat[: n * k].reshape(n, k).astype(np.int32)
        for j, counts in zip(self._size_cols, (n_atoms, n_bonds), strict=True):
            if j >= 0:
                out[:, j] = counts
        return out

    def candidates(self, features: np.ndarray) -> np.ndarray:
        """``(n_molecules, n_entries)`` bool: entries the pre-screen cannot rule out."""
        out = np.ones((features.shape[0], len(self.entries)), dtype=bool)
        for e, (cols, vals) in enumerate(zip(self.need_cols, self.need_vals, strict=True)):
            if cols.size:
                out[:, e] = np.all(features[:, cols] >= vals, axis=1)
        return out

    def has_match(self, mol: Any, candidates: np.ndarray | None = None) -> bool:
        """``FilterCatalog.HasMatch(mol)``, checking only the candidate entries."""
        if candidates is None:
            candidates = self.candidates(self.features([mol]))[0]
        entries = self.entries
        return any(entries[e].HasFilterMatch(mol) for e in np.flatnonzero(candidates))

    def has_matches(self, mols: Sequence[Any], *, prescreen: bool = True) -> np.ndarray:
        """``HasMatch`` of every molecule (bool array), with the pre-screen unless ``prescreen=False``."""
        if not prescreen:
            return np.array([self.catalog.HasMatch(m) for m in mols], dtype=bool)
        cand = self.candidates(self.features(mols))
        return np.array([self.has_match(m, c) for m, c in zip(mols, cand, strict=True)], dtype=bool)


_SCREENS: dict[str, AlertScreen] = {}


def _screen(catalog: str) -> AlertScreen:
    screen = _SCREENS.get(catalog)
    if screen is None:
        screen = _SCREENS[catalog] = AlertScreen(catalog)
    return screen


# ------------------------------------------------------------------------ kernels
def lipinski_pass(mw: np.ndarray, clogp: np.ndarray, hbd: np.ndarray, hba: np.ndarray) -> np.ndarray:
    """Rule of five with one violation allowed (bool array)."""
    violations = (mw > 500).astype(int) + (clogp > 5) + (hbd > 5) + (hba > 10)
    return np.asarray(violations <= 1)


def veber_pass(rotatable_bonds: np.ndarray, tpsa: np.ndarray) -> np.ndarray:
    """Veber: rotatable bonds ≤ 10 and TPSA ≤ 140."""
    return np.asarray((rotatable_bonds <= 10) & (tpsa <= 140))


def ghose_pass(mw: np.ndarray, clogp: np.ndarray, mr: np.ndarray, n_atoms: np.ndarray) -> np.ndarray:
    """Ghose: MW 160–480, cLogP −0.4–5.6, MR 40–130, 20–70 atoms (with hydrogens)."""
    return np.asarray(
        (mw >= 160) & (mw <= 480) & (clogp >= -0.4) & (clogp <= 5.6) & (mr >= 40) & (mr <= 130)
        & (n_atoms >= 20) & (n_atoms <= 70)
    )  # fmt: skip


def _filter_chunk(chunk: TableChunk, *, rules: list[str]) -> pa.Table:
    """Kernel: the rule results of one table chunk (runs on a worker)."""
    from rdkit import Chem, rdBase
    from rdkit.Chem import Crippen

    table = chunk.read(columns=["id", "smiles", *_PROPERTY_COLUMNS])
    p = {c: table.column(c).to_numpy(zero_copy_only=False) for c in _PROPERTY_COLUMNS}
    n = table.num_rows
    passed: dict[str, np.ndarray] = {}
    mols: list[Any] = []
    if any(r in ALERT_CATALOGS or r == "ghose" for r in rules):
        with rdBase.BlockLogs():
            mols = [Chem.MolFromSmiles(s) for s in table.column("smiles").to_pylist()]
    for rule in rules:
        if rule == "lipinski":
            passed[rule] = lipinski_pass(p["mw"], p["clogp"], p["hbd"], p["hba"])
        elif rule == "veber":
            passed[rule] = veber_pass(p["rotatable_bonds"], p["tpsa"])
        elif rule == "ghose":
            mr = np.array([Crippen.MolMR(m) for m in mols], dtype=np.float64)
            atoms = np.array([m.GetNumAtoms() + sum(a.GetTotalNumHs() for a in m.GetAtoms()) for m in mols])
            passed[rule] = ghose_pass(p["mw"], p["clogp"], mr, atoms)
        else:
            catalog = ALERT_CATALOGS[rule]
            passed[rule] = ~_screen(catalog).has_matches(mols, prescreen=catalog not in _NO_PRESCREEN)
    ok = np.ones(n, dtype=bool)
    for v in passed.values():
        ok &= v
    failed = [",".join(r for r in rules if not passed[r][i]) for i in range(n)]
    cols = [table.column("id"), pa.array(ok), pa.array(failed, type=pa.string())]
    cols += [pa.array(passed[r]) for r in rules]
    return pa.table(cols, names=["id", "passed", "failed_rules", *rules])


# --------------------------------------------------------------------------- job
def filter_library(
    lake: Lake,
    library: str,
    *,
    rules: str | Sequence[str] = "lipinski,veber,ghose,pains,brenk,nih",
    out: str | os.PathLike[str] | None = None,
    scheduler: Any = None,
    chunk_rows: int = 5_000,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Drug-likeness and structural-alert flags of every library molecule.

    Parameters
    ----------
    lake
        The lake holding the library.
    library
        The molecule table made by ``ingest_molecules`` (``NAME`` or ``lake:NAME``).
    rules
        Rule names (see the module docstring), a list or comma-separated.
    out
        Also write the result to this file (``.parquet``, ``.csv``, ``.tsv``) and register it
        under the file's stem; without it the result is registered as ``LIBRARY_filter``.
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
        Columns ``id, passed, failed_rules`` and one bool column per rule, in table order.

    Raises
    ------
    InputError
        For an unknown rule or library, or a bad option.
    """
    names = parse_rules(rules)
    check_param(
        "filter_library",
        "chunk_rows",
        chunk_rows,
        isinstance(chunk_rows, int) and chunk_rows >= 1,
        "a positive integer",
    )
    info = molecule_table(lake, library)
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV_VAR, "").strip() or "processes"
    progress = progress or NullProgress()
    params = {"library": info.name, "rules": names, "out": None if out is None else str(out)}
    with lake.run("discovery filter", params=params, inputs=[f"lake:{info.name}"]) as run:
        chunks = table_chunks(lake, info.name, target_rows=chunk_rows)
        parts: list[pa.Table] = []
        with progress.task(f"Filtering {info.name}", total=len(chunks)) as task, get_backend(scheduler) as backend:
            for part in backend.map(_filter_chunk, chunks, rules=names):
                parts.append(part)
                task.advance()
        if parts:
            result = pa.concat_tables(parts)
        else:
            fields = [("id", pa.string()), ("passed", pa.bool_()), ("failed_rules", pa.string())]
            result = pa.schema(fields + [(r, pa.bool_()) for r in names]).empty_table()
        attrs = {"role": "result", "library": info.name, "rules": ",".join(names)}
        if out is not None:
            run.result(result, out)
        else:
            stage = run.table(f"{info.name}_filter", attrs=attrs)
            stage.write(result)
    return result.to_pandas()
