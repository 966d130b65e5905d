"""The substructure fingerprint screen: stored at ingest, used by ``substructure``, never drops a match.

Reference: RDKit itself — ``Chem.MolFromSmiles(smiles).HasSubstructMatch(Chem.MolFromSmarts(p))``
on every molecule (brute force), and ``Chem.PatternFingerprint(mol, fpSize=2048)`` for the
stored bits.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zarr
from rdkit import Chem, DataStructs, RDConfig, RDLogger

import biolake as bl
from biolake.discovery.filters import AlertScreen, _entry_pattern
from biolake.discovery.library import enumerate_library
from biolake.discovery.substructure import substructure
from biolake.io.molecules import ingest_molecules, pattern_words

RDLogger.DisableLog("rdApp.*")
NCI_SMI = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
REF = Path(__file__).parents[1] / "data" / "discovery" / "screening" / "filter_reference.csv.gz"
SMARTS = [
    "c1ccccc1",
    "[NX3][CX3](=O)",
    "S(=O)(=O)N",
    "[#7;R]",
    "C(F)(F)F",
    "[OH]c1ccccc1",
    "[Cl,Br]",
    "[#6]~[#6]",
    "*",
    "[!#6;!#1]",
    "C1CCCCC1",
    "[nH]",
    "[N+](=O)[O-]",
    "c1ccc2ccccc2c1",
    "[CH2][CH2][CH2]",
    "O=C-N",
    "C=C",
    "[R2]",
    "[r5]",
    "[$(C=O),$(S=O)]",
    "[#6]1~[#6]~[#6]~[#6]~[#6]~[#6]~1",
    "C-,:C",
    "[c;H0;!$(c-[#6])]",
    "[Se,se]",
]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    d = tmp_path_factory.mktemp("screen")
    lines = NCI_SMI.read_text().splitlines()[:250] + [f"{s} G{i}" for i, s in enumerate(enumerate_library(250))]
    path = d / "lib.smi"
    path.write_text("\n".join(lines) + "\n")
    lake = bl.Lake.open(d / "lake")
    ingest_molecules(lake, path, name="lib", scheduler="threads", chunk_size=70)
    return lake, lake.to_pandas("lib")


def test_ingest__stores_pattern_fingerprints_in_row_order(library):
    lake, table = library
    group = zarr.open_group(str(lake.info("lib_fp").path), mode="r")
    assert group.attrs["pattern"] == "rdkit-pattern:2048"
    got = np.asarray(group["pattern"][:])
    assert got.shape == (len(table), 32) and got.dtype == np.uint64
    for i in (0, 1, 137, len(table) - 1):  # RDKit's bits, unpacked by hand
        fp = Chem.PatternFingerprint(Chem.MolFromSmiles(table.smiles[i]), fpSize=2048)
        on = [b for b in range(2048) if (int(got[i, b // 64]) >> (b % 64)) & 1]
        assert on == list(fp.GetOnBits())


@pytest.mark.parametrize("smarts", SMARTS)
def test_substructure__screened_equals_brute_force(library, smarts):
    lake, table = library
    pattern = Chem.MolFromSmarts(smarts)
    expected = [i for i, s in enumerate(table.smiles) if Chem.MolFromSmiles(s).HasSubstructMatch(pattern)]
    got = substructure(lake, "lib", smarts, scheduler="threads", chunk_rows=90)
    assert got["row"].tolist() == expected
    attrs = lake.info("lib_substructure").attrs
    assert attrs["screen"] == "rdkit-pattern:2048"
    assert len(expected) <= attrs["n_verified"] <= len(table)


def test_substructure__screen_skips_most_molecules_for_a_rare_pattern(library):
    lake, table = library
    got = substructure(lake, "lib", "S(=O)(=O)Nc1ccc(Cl)cc1", scheduler="synchronous")
    assert 0 < len(got) < 40
    assert lake.info("lib_substructure").attrs["n_verified"] < len(table) / 4


def test_substructure__library_without_screen_checks_every_molecule(library, tmp_path):
    lake, table = library
    root = tmp_path / "old"
    shutil.copytree(lake.root, root)
    old = bl.Lake.open(root)
    fp_path = Path(old.info("lib_fp").path)
    shutil.rmtree(fp_path / "pattern")  # as ingested before the screen existed
    zarr.consolidate_metadata(str(fp_path), zarr_format=2)
    smarts = "[NX3][CX3](=O)"
    got = substructure(old, "lib", smarts, scheduler="threads", chunk_rows=200)
    assert old.info("lib_substructure").attrs["screen"] == "none"
    assert old.info("lib_substructure").attrs["n_verified"] == len(table)
    pd.testing.assert_frame_equal(got, substructure(lake, "lib", smarts, scheduler="threads"))


def test_pattern_words__query_bits_are_necessary_for_alert_smarts():
    """~800 SMARTS (the PAINS, Brenk and NIH alert patterns and the list above) on 400 molecules
    (NCI and the PAINS authors' set): query bits ⊆ molecule bits wherever RDKit matches."""
    ref = pd.read_csv(REF, dtype={"id": str})
    mols = [Chem.MolFromSmiles(s) for s in ref.smiles.iloc[::15]]
    words = pattern_words(mols)
    patterns = [Chem.MolFromSmarts(s) for s in SMARTS]
    for catalog in ("PAINS", "BRENK", "NIH"):
        patterns += [_entry_pattern(e) for e in AlertScreen(catalog).entries]
    dropped = screened = 0
    for pattern in patterns:
        q = pattern_words([pattern])[0]
        cand = ((words & q) == q).all(axis=1)
        for i in np.flatnonzero(~cand):
            dropped += mols[i].HasSubstructMatch(pattern)
        screened += int((~cand).sum())
    assert dropped == 0
    assert screened > 0.5 * len(patterns) * len(mols)  # and the screen does screen


def test_pattern_words__matches_rdkit_bit_layout():
    mol = Chem.MolFromSmiles("c1ccccc1C(=O)NCCl")
    fp = Chem.PatternFingerprint(mol, fpSize=2048)
    bits = np.zeros(2048, np.uint8)
    DataStructs.ConvertToNumpyArray(fp, bits)
    w = pattern_words([mol])[0]
    unpacked = np.unpackbits(w.astype("<u8").view(np.uint8), bitorder="little")
    np.testing.assert_array_equal(unpacked, bits)
