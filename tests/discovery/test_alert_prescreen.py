"""Soundness of the structural-alert pre-screen (``biolake.discovery.filters.AlertScreen``).

The pre-screen may only skip a catalog entry when RDKit's own ``entry.HasFilterMatch(mol)``
is False. These tests check that entry by entry (not only the OR over a catalog) against
RDKit on the PAINS authors' test set and RDKit's NCI set (both ship with RDKit; the SMILES are
in ``tests/data/discovery/screening/filter_reference.csv.gz``), on hand-made molecules with
explicit hydrogens, charges and bonds the adjacency matrix cannot show (dative, zero-order),
and on hypothesis-generated combinations of those, and check the query reduction on
hand-worked SMARTS.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdkit import Chem, RDLogger

from biolake.discovery.filters import _NCODE, AlertScreen, _atom_mask, _bond_mask, _clauses, _query_tree

RDLogger.DisableLog("rdApp.*")
REF = Path(__file__).parents[1] / "data" / "discovery" / "screening" / "filter_reference.csv.gz"
CATALOGS = ("PAINS", "BRENK", "NIH")
ODD = [
    "[NH4+].[Cl-]",
    "C[N+](C)(C)C",
    "O=[N+]([O-])c1cc([N+](=O)[O-])cc([N+](=O)[O-])c1",
    "[O-]C(=O)C[n+]1ccccc1",
    "C[N]->[Cu]",  # dative bond: invisible in the bond-order adjacency matrix
    "C~[Fe]~C",  # unspecified bonds
    "[2H]C([2H])([2H])c1ccccc1O",
    "N=[N+]=[N-]",
    "FC(F)(F)C(=O)OC(=O)C(F)(F)F",
    "O=C1C(=Cc2ccccc2)SC(=S)N1",
    "C1CO1",
    "[se]1cccc1",
    "B(F)(F)F",
    "CCCCCCCCCCCC(=O)[O-]",
]


def _code(z: int, aromatic: bool = False, charge: int = 0, h: int = 0) -> int:
    """The atom code as the module defines it (hand formula)."""
    return ((2 * z + aromatic) * 3 + (0 if charge < 0 else 1 if charge == 0 else 2)) * 5 + min(h, 4)


def _odd_mols() -> list:
    mols = [Chem.MolFromSmiles(s) for s in ODD]
    mols += [Chem.AddHs(Chem.MolFromSmiles(s)) for s in ("Oc1ccccc1C=O", "C=CC(=O)Cl", "NC(=O)c1ccccc1")]
    zero = Chem.RWMol(Chem.MolFromSmiles("CC(=O)O.[Na]"))
    zero.AddBond(3, 4, Chem.BondType.ZERO)
    mols.append(zero.GetMol())
    Chem.SanitizeMol(mols[-1])
    assert all(m is not None for m in mols)
    return mols


def _unsound(screen: AlertScreen, mols: list) -> list[tuple[int, str]]:
    """(molecule index, entry) pairs where RDKit matches an entry the pre-screen skipped."""
    cand = screen.candidates(screen.features(mols))
    return [
        (i, screen.entries[e].GetDescription())
        for i, mol in enumerate(mols)
        for e in np.flatnonzero(~cand[i])
        if screen.entries[e].HasFilterMatch(mol)
    ]


@pytest.fixture(scope="module")
def screens():
    return {c: AlertScreen(c) for c in CATALOGS}


@pytest.fixture(scope="module")
def reference_mols():
    ref = pd.read_csv(REF, dtype={"id": str})
    return [Chem.MolFromSmiles(s) for s in ref.smiles.iloc[::6]]  # 500 molecules, both sources


@pytest.mark.parametrize("catalog", CATALOGS)
def test_alert_screen__never_skips_a_matching_entry(screens, reference_mols, catalog):
    screen = screens[catalog]
    mols = reference_mols + _odd_mols()
    assert _unsound(screen, mols) == []
    cand = screen.candidates(screen.features(mols))
    assert cand.mean() < 0.25  # and it does skip most entries (measured 0.006-0.07)
    expected = np.array([screen.catalog.HasMatch(m) for m in mols])
    np.testing.assert_array_equal(screen.has_matches(mols), expected)


_POOL = [
    *ODD,
    "CC(=O)Nc1ccc(O)cc1",
    "O=C(O)c1ccccc1O",
    "Nc1ccc(N)cc1",
    "C=CC(=O)OC",
    "O=C1C=CC(=O)C=C1",
    "Oc1ccccc1O",
    "CN(C)c1ccc(C=Cc2ccccc2)cc1",
    "S=C=Nc1ccccc1",
    "ClCCCl",
    "CC(C)=NO",
    "O=Cc1ccco1",
]


@st.composite
def molecules(draw):
    """1-3 pool molecules joined, optionally with explicit hydrogens or one atom's charge changed."""
    parts = draw(st.lists(st.sampled_from(_POOL), min_size=1, max_size=3))
    mol = Chem.MolFromSmiles(".".join(parts))
    if draw(st.booleans()):
        mol = Chem.AddHs(mol)
    if draw(st.booleans()):
        rw = Chem.RWMol(mol)
        atom = rw.GetAtomWithIdx(draw(st.integers(0, rw.GetNumAtoms() - 1)))
        atom.SetFormalCharge(draw(st.sampled_from([-1, 1])))
        atom.SetNoImplicit(False)
        try:
            Chem.SanitizeMol(rw)
            mol = rw.GetMol()
        except Exception:  # not a valid molecule: keep the unmodified one
            pass
    return mol


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(mols=st.lists(molecules(), min_size=1, max_size=4))
def test_alert_screen__hypothesis_molecules_never_skip_a_match(screens, mols):
    for screen in screens.values():
        assert _unsound(screen, mols) == []


def test_atom_mask__hand_worked_smarts():
    def mask(smarts):
        atom = Chem.MolFromSmarts(smarts).GetAtomWithIdx(0)
        return _atom_mask(_query_tree(atom.DescribeQuery()))[0]

    m = mask("[!#6&!#1]")  # any charge, H count, aromaticity; not C, not H
    assert m[_code(8)] and m[_code(7, True, 1, 1)] and not m[_code(6)] and not m[_code(6, True)]
    assert not m[_code(1)] and m.sum() == _NCODE - 2 * 30
    m = mask("[c;!H0]")  # aromatic C with at least one H, any charge
    assert m[_code(6, True, 0, 1)] and m[_code(6, True, -1, 4)] and not m[_code(6, True, 0, 0)]
    assert not m[_code(6, False, 0, 1)] and m.sum() == 3 * 4
    m = mask("[N+]")  # aliphatic N with a positive charge (any size: a superset)
    assert m[_code(7, False, 1, 0)] and m[_code(7, False, 2, 3)] and not m[_code(7, False, 0, 0)]
    assert m.sum() == 5
    m = mask("[!+2]")  # the negation of a superset would drop matches: it must give every code
    assert m.all()
    m = mask("[!N+]")  # (not aliphatic N) and positive: 128 elements × 2 × 5 H counts, less N's 5
    assert m.sum() == 128 * 2 * 5 - 5 and m[_code(7, True, 1, 0)] and not m[_code(7, False, 1, 0)]
    m = mask("[$(C=O),N;R]")  # ';' binds loosest: (recursion or N) and in a ring → anything
    assert m.all()


def test_bond_mask__hand_worked_smarts():
    def mask(smarts):
        return _bond_mask(_query_tree(Chem.MolFromSmarts(smarts).GetBondWithIdx(0).DescribeQuery()))[0]

    assert np.flatnonzero(mask("C=C")).tolist() == [2]
    assert np.flatnonzero(mask("CC")).tolist() == [1, 12]  # implicit SMARTS bond: single or aromatic
    assert np.flatnonzero(mask("C-,:C")).tolist() == [1, 12]
    assert mask("C~C").all() and mask("C@C").all()
    assert np.flatnonzero(~mask("C!=C")).tolist() == [2]


def test_clauses__recursive_alternatives():
    pattern = Chem.MolFromSmarts("[$(N#[N&+]-[N&-]),$([N&-]=[N&+]=N)]")
    clauses = _clauses(pattern)
    assert len(clauses) == 2
    assert [Chem.MolToSmarts(c[1]) for c in clauses] == ["N#[N&+]-[N&-]", "[N&-]=[N&+]=N"]
    assert all(c[0] is pattern for c in clauses)
    assert _clauses(None) == [None]
    plain = Chem.MolFromSmarts("[C,N]=O")
    assert _clauses(plain) == [[plain]]
