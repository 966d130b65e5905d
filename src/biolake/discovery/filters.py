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
entries a **pre-screen** cannot rule out (:class:`AlertScreen`). The pre-screen never drops a
true match, by construction:

* every query atom of an entry's SMARTS (read from the entry itself) is reduced to the set of
  *atom codes* — (element, aromatic, sign of the formal charge, total H count capped at 4) —
  that can satisfy it: a primitive that is a function of the code (``#6``, ``c``, ``a``, ``A``,
  ``+0``, ``H1`` …) gives its exact set and its negation the complement; any other primitive
  (ring, degree, recursion …) gives every code; ``&`` intersects, ``,`` unites (a superset of
  the codes that can match, always). A query bond likewise becomes a set of RDKit bond types;
* a substructure match maps query atoms (bonds) to *distinct* molecule atoms (bonds) whose code
  (type) is in the query's set. So for every *key* K (an atom-code set, or a bond key: two end
  code sets and a type set), the number of query atoms (bonds) whose set lies inside K can be
  no larger than the number of molecule atoms (bonds) in K. An entry is skipped only when
  some key counts fewer molecule atoms (bonds) than it needs; also when the molecule has fewer
  atoms or bonds than the query;
* a recursive SMARTS ``$(X)`` holds at an atom only where ``X`` matches, so an atom
  ``[$(X),$(Y),Z]`` adds "``X`` or ``Y`` or ``[Z]`` is a substructure too" (a disjunction of
  the same kind of counts);
* molecule bonds are read from RDKit's bond-order adjacency matrix; bond types it cannot show
  (zero-order, dative, hydrogen … bonds) are never required by a key, so the molecule counts
  are never too small.

The molecule side is one Python pass per molecule (atom codes, the adjacency matrix) and one
compiled (numba) pass for all counts and requirement checks. The tests compare the flags with
``FilterCatalog`` on thousands of molecules and check entry by entry that no true match is
ever skipped.

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

import numba
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


def parse_rules(rules: str | Sequence[str]) -> list[str]:
    """The rule names of ``"lipinski,pains"`` or a list, checked and without repeats."""
    items = rules.split(",") if isinstance(rules, str) else list(rules)
    names = [str(r).strip().lower() for r in items if str(r).strip()]
    bad = [r for r in names if r not in RULES]
    check_param("filter_library", "rules", rules, bool(names) and not bad, f"a list of rules from {', '.join(RULES)}")
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------- pre-screen
# Atom codes: ((2 * min(Z, 127) + aromatic) * 3 + charge sign (0 -, 1 zero, 2 +)) * 5 + min(total H, 4).
# A query atom (bond) is reduced to the set of atom codes (bond types) it can match; see the
# module docstring for why that is sound.
_NCODE = 128 * 2 * 3 * 5
_CODE = np.arange(_NCODE)
_CODE_Z, _CODE_AROM = _CODE // 30, (_CODE // 15) % 2 == 1
_CODE_CHARGE, _CODE_H = (_CODE // 5) % 3 - 1, _CODE % 5
_NTYPE = 32  # RDKit BondType codes (0 … 21 in RDKit 2026.09)
_NVAL = 14  # bond value classes: round(2 × GetBondTypeAsDouble) in 0 … 12, 13 = anything else
_ATOM_LEAVES = ("AtomAtomicNum", "AtomType", "AtomIsAromatic", "AtomIsAliphatic", "AtomFormalCharge", "AtomHCount")
_BOND_SETS = {
    "SingleOrAromaticBond": (1, 12),
    "DoubleOrAromaticBond": (2, 12),
    "SingleOrDoubleBond": (1, 2),
    "SingleOrDoubleOrAromaticBond": (1, 2, 12),
}


def _query_tree(text: str) -> list[tuple[int, list[str]]]:
    """Lines of ``DescribeQuery()`` as (depth, words)."""
    return [((len(ln) - len(ln.lstrip(" "))) // 2, ln.split()) for ln in text.splitlines() if ln.strip()]


def _leaf(words: list[str]) -> tuple[str, int, bool] | None:
    """(name, value, negated) of a ``Name VALUE = val`` / ``Name VALUE != val`` line, else None."""
    if len(words) == 4 and words[2] in ("=", "!=") and words[3] == "val" and words[1].lstrip("-").isdigit():
        return words[0], int(words[1]), words[2] == "!="
    return None


def _atom_mask(nodes: list[tuple[int, list[str]]], i: int = 0) -> tuple[np.ndarray, int]:
    """(bool mask over atom codes that can satisfy the query subtree at ``i``, next node)."""
    depth, words = nodes[i]
    j = i + 1
    children = []
    while j < len(nodes) and nodes[j][0] > depth:
        mask, j = _atom_mask(nodes, j)
        children.append(mask)
    out = np.ones(_NCODE, dtype=bool)  # unknown predicate: any atom may satisfy it
    leaf = _leaf(words)
    if leaf is not None and not children and leaf[0] in _ATOM_LEAVES:
        name, v, neg = leaf
        z, arom = _CODE_Z, _CODE_AROM
        exact: np.ndarray | None = None  # the predicate as a function of the code, if it is one
        if name == "AtomAtomicNum" and 0 <= v < 127:
            exact = z == v
        elif name == "AtomType" and 0 <= v % 1000 < 127 and 0 <= v < 2000:
            exact = (z == v % 1000) & (arom == (v >= 1000))
        elif name in ("AtomIsAromatic", "AtomIsAliphatic") and v == 1:
            exact = arom if name == "AtomIsAromatic" else ~arom
        elif name == "AtomFormalCharge" and v == 0:
            exact = _CODE_CHARGE == 0
        elif name == "AtomHCount" and 0 <= v < 4:  # RDKit: GetTotalNumHs(includeNeighbors=True) == v
            exact = v == _CODE_H
        if exact is not None:  # its negation is the complement
            out = ~exact if neg else exact
        elif not neg and name == "AtomFormalCharge":  # charge v ≠ 0: its sign (a superset)
            out = np.sign(v) == _CODE_CHARGE
        elif not neg and name == "AtomHCount" and v >= 4:
            out = _CODE_H == 4
    elif len(words) == 1 and words[0] in ("AtomAnd", "AtomOr") and children:
        out = np.logical_and.reduce(children) if words[0] == "AtomAnd" else np.logical_or.reduce(children)
    return out, j


def _bond_mask(nodes: list[tuple[int, list[str]]], i: int = 0) -> tuple[np.ndarray, int]:
    """(bool mask over bond types that can satisfy the query subtree at ``i``, next node)."""
    depth, words = nodes[i]
    j = i + 1
    children = []
    while j < len(nodes) and nodes[j][0] > depth:
        mask, j = _bond_mask(nodes, j)
        children.append(mask)
    out = np.ones(_NTYPE, dtype=bool)
    leaf = _leaf(words)
    if leaf is not None and not children:
        name, v, neg = leaf
        exact: np.ndarray | None = None
        if name == "BondOrder" and 0 <= v < _NTYPE:
            exact = np.arange(_NTYPE) == v
        elif name in _BOND_SETS and v == 1:
            exact = np.isin(np.arange(_NTYPE), _BOND_SETS[name])
        if exact is not None:
            out = ~exact if neg else exact
    elif len(words) == 1 and words[0] in ("BondAnd", "BondOr") and children:
        out = np.logical_and.reduce(children) if words[0] == "BondAnd" else np.logical_or.reduce(children)
    return out, j


def _bond_values() -> tuple[np.ndarray, np.ndarray]:
    """(value class of each bond type, bool: the type is visible in ``GetAdjacencyMatrix(useBO=True)``)."""
    from rdkit import Chem, rdBase

    vclass = np.full(_NTYPE, _NVAL - 1, np.int64)
    visible = np.zeros(_NTYPE, dtype=bool)
    for code, btype in Chem.BondType.values.items():
        if not 0 <= int(code) < _NTYPE:
            continue
        mol = Chem.RWMol()
        mol.AddAtom(Chem.Atom(6))
        mol.AddAtom(Chem.Atom(6))
        mol.AddBond(0, 1, btype)
        try:
            with rdBase.BlockLogs():
                value = float(Chem.GetAdjacencyMatrix(mol, useBO=True, force=True)[0, 1])
        except RuntimeError:  # RDKit has no order for it: such bonds are invisible to the screen
            continue
        if value > 0:
            visible[int(code)] = True
            vclass[int(code)] = _value_class(value)
    return vclass, visible


def _value_class(value: float) -> int:
    twice = 2.0 * value
    return int(twice) if twice == int(twice) and 0 <= twice < _NVAL - 1 else _NVAL - 1


def _pattern_query(
    pattern: Any, visible: np.ndarray
) -> tuple[list[np.ndarray], list[tuple[int, int, np.ndarray]], int]:
    """Atom code masks and (begin, end, bond-type mask) of a query molecule; bonds that may match
    a type the adjacency matrix cannot show are left out (they then demand nothing)."""
    atoms = [_atom_mask(_query_tree(a.DescribeQuery()))[0] for a in pattern.GetAtoms()]
    bonds = []
    for b in pattern.GetBonds():
        mask = _bond_mask(_query_tree(b.DescribeQuery()))[0]
        if not (mask & ~visible).any():
            bonds.append((b.GetBeginAtomIdx(), b.GetEndAtomIdx(), mask))
    return atoms, bonds, pattern.GetNumBonds()


def _entry_pattern(entry: Any) -> Any:
    """The query molecule of a ``FilterCatalog`` SMARTS entry (None if it is not one)."""
    from rdkit import Chem

    data = entry.Serialize()
    if len(_PICKLE.findall(data)) != 1:  # none, or a matcher made of several patterns: no screen
        return None
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


@numba.njit(cache=True, nogil=True)
def _count_features(
    codes,
    atom_start,
    adj,
    adj_start,
    n_bonds,
    atom_class,
    atom_ptr,
    atom_key,
    bond_class,
    combo_ptr,
    combo_key,
    n_class,
    n_keys,
):  # pragma: no cover  (compiled)
    """Feature counts ``(n_molecules, n_keys)``: column 0 atoms, 1 bonds, then atom and bond keys."""
    n = atom_start.shape[0] - 1
    out = np.zeros((n, n_keys), np.int32)
    for m in range(n):
        a0 = atom_start[m]
        na = atom_start[m + 1] - a0
        out[m, 0] = na
        out[m, 1] = n_bonds[m]
        for i in range(na):
            c = atom_class[codes[a0 + i]]
            for p in range(atom_ptr[c], atom_ptr[c + 1]):
                out[m, atom_key[p]] += 1
        base = adj_start[m]
        for i in range(na):
            ci = bond_class[codes[a0 + i]]
            for j in range(i + 1, na):
                v = adj[base + i * na + j]
                if v <= 0.0:
                    continue
                t = 2.0 * v
                vc = int(t) if t == int(t) and t < 13.0 else 13
                cj = bond_class[codes[a0 + j]]
                combo = (ci * n_class + cj) * 14 + vc
                for p in range(combo_ptr[combo], combo_ptr[combo + 1]):
                    out[m, combo_key[p]] += 1
    return out


@numba.njit(cache=True, nogil=True)
def _candidate_entries(features, req_ptr, req_col, req_val, clause_entry, n_entries):  # pragma: no cover
    """``(n_molecules, n_entries)`` bool: every requirement of one of the entry's clauses is met."""
    n = features.shape[0]
    out = np.zeros((n, n_entries), np.bool_)
    for m in range(n):
        for c in range(req_ptr.shape[0] - 1):
            e = clause_entry[c]
            if out[m, e]:
                continue
            ok = True
            for p in range(req_ptr[c], req_ptr[c + 1]):
                if features[m, req_col[p]] < req_val[p]:
                    ok = False
                    break
            out[m, e] = ok
    return out


def _split_top(text: str, sep: str) -> list[str] | None:
    """``text`` split at ``sep`` outside brackets and parentheses (None if a ``;`` is there)."""
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0 and ch == ";":
            return None
        elif depth == 0 and ch == sep:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return pieces


def _alternatives(atom_smarts: str) -> list[list[str]] | None:
    """For an atom ``[A,B,…]`` with recursive SMARTS: per alternative, SMARTS of query molecules
    that must all be substructures of a molecule where that alternative holds; None if the atom
    demands nothing beyond its own atom mask (no recursion, or an alternative demanding nothing)."""
    if not (atom_smarts.startswith("[") and atom_smarts.endswith("]")) or "$(" not in atom_smarts:
        return None
    alts = _split_top(atom_smarts[1:-1], ",")
    if alts is None:
        return None
    out = []
    for alt in alts:
        conj = _split_top(alt, "&")
        if conj is None:
            return None
        needed = [c[2:-1] for c in conj if c.startswith("$(") and _closing(c, 1) == len(c) - 1]
        if not needed and "$" not in alt:
            needed = [f"[{alt}]"]
        if not needed:
            return None  # this alternative demands nothing we can see
        out.append(needed)
    return out


_MAX_CLAUSES = 64


def _clauses(pattern: Any) -> list[list[Any] | None]:
    """Clauses of a query: lists of query molecules that must all be substructures of any
    molecule the pattern matches; the pattern matches only if one clause holds.

    A recursive SMARTS ``$(X)`` holds at an atom only where ``X`` itself matches, so an atom
    ``[$(X),$(Y),Z]`` of the pattern needs ``X`` or ``Y`` or the one-atom query ``[Z]`` in the
    molecule (each positive ``$(X)`` of an ``&`` conjunction is needed as well). Every clause
    is the pattern itself plus one choice per such atom (at most ``_MAX_CLAUSES`` clauses:
    atoms beyond that add no choice). ``None`` (no pattern) demands nothing.
    """
    from rdkit import Chem

    if pattern is None:
        return [None]
    clauses: list[list[Any]] = [[pattern]]
    seen: set[tuple[tuple[str, ...], ...]] = set()
    for atom in pattern.GetAtoms():
        alts = _alternatives(atom.GetSmarts())
        if alts is None:
            continue
        key = tuple(tuple(a) for a in alts)
        if key in seen or len(clauses) * len(alts) > _MAX_CLAUSES:
            continue
        queries = [[Chem.MolFromSmarts(x) for x in alt] for alt in alts]
        if any(q is None for alt in queries for q in alt):
            continue
        seen.add(key)
        clauses = [c + alt for c in clauses for alt in queries]
    return clauses


def _closing(text: str, open_at: int) -> int:
    """Index of the parenthesis closing the one at ``open_at``."""
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return -1


@numba.njit(cache=True, nogil=True)
def _atom_codes(raw):  # pragma: no cover  (compiled)
    """Atom codes from ``2 Z + aromatic + 256 H + 65536 charge`` (H < 256, any charge)."""
    out = np.empty(raw.shape[0], np.int64)
    for i in range(raw.shape[0]):
        r = raw[i]
        za = r & 255
        z = min(za >> 1, 127)
        h = min((r >> 8) & 255, 4)
        c = r >> 16
        sign = 0 if c < 0 else (1 if c == 0 else 2)
        out[i] = ((2 * z + (za & 1)) * 3 + sign) * 5 + h
    return out


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
        self._vclass, self._visible = _bond_values()
        queries = []
        clause_entry = []
        for e, entry in enumerate(self.entries):
            for clause in _clauses(_entry_pattern(entry)):
                queries.append(None if clause is None else [_pattern_query(q, self._visible) for q in clause])
                clause_entry.append(e)
        self._clause_entry = np.asarray(clause_entry, np.int64)
        self._build(queries)

    def _build(self, queries: list[Any]) -> None:
        """Keys (one per distinct query atom mask and bond triple), the molecule-side tables and
        each clause's requirements (how many of its atoms / bonds each key must count)."""
        everything = np.ones(_NCODE, dtype=bool)
        masks: dict[bytes, int] = {everything.tobytes(): 0}  # distinct atom masks (0: any atom)
        mask_list = [everything]
        orders: dict[bytes, int] = {}
        order_list: list[np.ndarray] = []
        reduced = []  # per clause: list of (atom mask indices, [(ia, ib, io)], n_bonds)
        b_index: dict[tuple[int, int, int], int] = {}
        for clause in queries:
            items = []
            for atoms, bonds, n_query_bonds in clause or []:
                ai = []
                for m in atoms:
                    ai.append(masks.setdefault(m.tobytes(), len(masks)))
                    if ai[-1] == len(mask_list):
                        mask_list.append(m)
                bi = []
                for a, b, omask in bonds:
                    io = orders.setdefault(omask.tobytes(), len(orders))
                    if io == len(order_list):
                        order_list.append(omask)
                    ia, ib = sorted((ai[a], ai[b]))
                    b_index.setdefault((ia, ib, io), len(b_index))
                    bi.append((ai[a], ai[b], io))
                items.append((np.asarray(ai, np.int64), np.asarray(bi, np.int64).reshape(-1, 3), n_query_bonds))
            reduced.append(items)
        a_keys = np.arange(1, len(mask_list))  # every mask but "any atom" is an atom key
        b_keys = np.asarray(list(b_index), np.int64).reshape(-1, 3)
        n_a = len(a_keys)
        self.n_keys = 2 + n_a + len(b_keys)
        member = np.stack(mask_list)  # (masks, codes)
        m32 = member.astype(np.float32)
        sub = (m32 @ (1.0 - m32).T) == 0  # sub[i, j]: mask i ⊆ mask j
        o32 = np.stack(order_list).astype(np.float32) if order_list else np.zeros((0, _NTYPE), np.float32)
        osub = (o32 @ (1.0 - o32).T) == 0
        # atom classes: codes that every atom-key mask treats alike; bond classes: the same for
        # the bond keys' end masks (two partitions keep the bond table small)
        self._atom_class, rep = _partition(member.T)
        self._atom_ptr, self._atom_key = _csr(rep[:, 1:], offset=2)  # class → atom keys
        ends = np.unique(b_keys[:, :2]) if len(b_keys) else np.zeros(0, np.int64)
        self._bond_class, rep = _partition(np.concatenate([member[:1], member[ends]]).T)
        pos = {int(e): 1 + k for k, e in enumerate(ends)}
        n_class = rep.shape[0]
        combo = np.zeros((n_class, n_class, _NVAL, len(b_keys)), dtype=bool)
        for k, (ia, ib, io) in enumerate(b_keys):
            vmask = np.zeros(_NVAL, dtype=bool)
            vmask[self._vclass[order_list[io]]] = True
            vmask[_NVAL - 1] = True  # an unexpected value may be any type
            a_rep, b_rep = rep[:, pos[int(ia)]], rep[:, pos[int(ib)]]
            pair = np.outer(a_rep, b_rep) | np.outer(b_rep, a_rep)
            combo[:, :, :, k] = pair[:, :, None] & vmask[None, None, :]
        self._combo_ptr, self._combo_key = _csr(combo.reshape(-1, len(b_keys)), offset=2 + n_a)
        self._n_class = n_class
        # requirements: key k must count at least as many molecule atoms (bonds) as query atoms
        # (bonds) it counts
        ptr, cols, vals = [0], [], []
        for items in reduced:
            for ai, bi, n_query_bonds in items:  # every query of the clause must be a substructure
                counts = [sub[ai][:, a_keys].sum(0)]
                if len(b_keys) and len(bi):
                    qa, qb, qo = sub[bi[:, 0]], sub[bi[:, 1]], osub[bi[:, 2]][:, b_keys[:, 2]]
                    ka, kb = b_keys[:, 0], b_keys[:, 1]
                    fit = ((qa[:, ka] & qb[:, kb]) | (qa[:, kb] & qb[:, ka])) & qo
                    counts.append(fit.sum(0))
                else:
                    counts.append(np.zeros(len(b_keys), np.int64))
                c = np.concatenate([[len(ai), n_query_bonds], *counts])
                nz = np.flatnonzero(c)
                order = np.concatenate([nz[nz >= 2 + n_a], nz[(nz >= 2) & (nz < 2 + n_a)], nz[nz < 2]])
                cols += order.tolist()
                vals += c[order].tolist()
            ptr.append(len(cols))
        self._req_ptr = np.asarray(ptr, np.int64)
        self._req_col = np.asarray(cols, np.int64)
        self._req_val = np.asarray(vals, np.int32)

    def features(self, mols: Sequence[Any]) -> np.ndarray:
        """``(n_molecules, n_keys)`` int32 counts of the molecules' atoms and bonds per key.

        One Python pass collects the atom codes (``2 * GetAtomicNum() + GetIsAromatic()``) and
        RDKit's bond-order adjacency matrices; the counting is one compiled pass.
        """
        from rdkit import Chem

        codes: list[int] = []
        starts = [0]
        mats = []
        n_bonds = np.zeros(len(mols), np.int64)
        for i, mol in enumerate(mols):
            codes += [
                a.GetAtomicNum() * 2 + a.GetIsAromatic() + 256 * a.GetTotalNumHs(True) + 65536 * a.GetFormalCharge()
                for a in mol.GetAtoms()
            ]
            starts.append(len(codes))
            n_bonds[i] = mol.GetNumBonds()
            try:
                mats.append(Chem.GetAdjacencyMatrix(mol, useBO=True, force=True).ravel())
            except RuntimeError:  # a bond type without an order: build the matrix by hand
                mats.append(self._adjacency(mol))
        sizes = np.diff(np.asarray(starts, np.int64))
        adj = np.concatenate(mats) if mats else np.zeros(0)
        adj_start = np.concatenate([[0], np.cumsum(sizes * sizes)]).astype(np.int64)
        return _count_features(
            _atom_codes(np.asarray(codes, np.int64)),
            np.asarray(starts, np.int64),
            np.asarray(adj, np.float64),
            adj_start,
            n_bonds,
            self._atom_class,
            self._atom_ptr,
            self._atom_key,
            self._bond_class,
            self._combo_ptr,
            self._combo_key,
            self._n_class,
            self.n_keys,
        )

    def _adjacency(self, mol: Any) -> np.ndarray:
        """The flattened bond-value matrix with 0 for bonds the screen does not see."""
        n = mol.GetNumAtoms()
        out = np.zeros((n, n))
        for b in mol.GetBonds():
            t = int(b.GetBondType())
            if 0 <= t < _NTYPE and self._visible[t]:
                out[b.GetBeginAtomIdx(), b.GetEndAtomIdx()] = out[b.GetEndAtomIdx(), b.GetBeginAtomIdx()] = (
                    self._vclass[t] / 2.0
                )
        return out.ravel()

    def candidates(self, features: np.ndarray) -> np.ndarray:
        """``(n_molecules, n_entries)`` bool: entries the pre-screen cannot rule out."""
        return _candidate_entries(
            np.asarray(features, np.int32),
            self._req_ptr,
            self._req_col,
            self._req_val,
            self._clause_entry,
            len(self.entries),
        )

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
        entries = self.entries
        out = np.zeros(len(mols), dtype=bool)
        rows, cols = np.nonzero(cand)
        bounds = np.searchsorted(rows, np.arange(len(mols) + 1))
        for i, mol in enumerate(mols):
            for e in cols[bounds[i] : bounds[i + 1]].tolist():
                if entries[e].HasFilterMatch(mol):
                    out[i] = True
                    break
        return out


def _partition(member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class of each atom code, one membership row per class) of a ``(codes, masks)`` bool
    matrix: codes in one class are in the same masks."""
    _, first, inverse = np.unique(member, axis=0, return_index=True, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), member[first]


def _subset(a: np.ndarray, b: np.ndarray) -> bool:
    return not (a & ~b).any()


def _csr(hits: np.ndarray, *, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Row pointers and column indices (+ offset) of a bool matrix."""
    rows, cols = np.nonzero(hits)
    ptr = np.searchsorted(rows, np.arange(hits.shape[0] + 1)).astype(np.int64)
    return ptr, (cols + offset).astype(np.int64)


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
            passed[rule] = ~_screen(catalog).has_matches(mols)
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
