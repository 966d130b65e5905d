"""Fingerprint kinds ``featmorganR:BITS`` and ``morgancountR:BITS``: bits, storage and search.

Independent definitions:
* FeatMorgan = RDKit's legacy ``AllChem.GetMorganFingerprintAsBitVect(mol, R, nBits, useFeatures=True)``;
* count simulation = from RDKit's *count* fingerprint at ``BITS / 4`` positions, bit ``4 i + k`` set
  when the count of position ``i`` is ≥ (1, 2, 4, 8)[k] (RDKit's default count bounds).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, DataStructs, RDConfig, RDLogger
from rdkit.Chem import AllChem, rdFingerprintGenerator

import biolake as bl
from biolake.discovery.similarity import similar
from biolake.errors import InputError
from biolake.io.molecules import fingerprint_words, ingest_molecules, parse_fp_spec

RDLogger.DisableLog("rdApp.*")
NCI = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"


def _smiles(n: int) -> list[str]:
    out = []
    for line in NCI.read_text().splitlines():
        s = line.split()[0]
        if Chem.MolFromSmiles(s) is not None:
            out.append(s)
        if len(out) == n:
            return out
    return out


def _bits(words: np.ndarray, n_bits: int) -> np.ndarray:
    return np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")[:, :n_bits]


def _legacy_feat(mol: Chem.Mol, radius: int, n_bits: int) -> np.ndarray:
    out = np.zeros(n_bits, dtype=np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        DataStructs.ConvertToNumpyArray(
            AllChem.GetMorganFingerprintAsBitVect(mol, radius, nBits=n_bits, useFeatures=True), out
        )
    return out


def _count_simulated(mol: Chem.Mol, radius: int, n_bits: int) -> np.ndarray:
    counts = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits // 4).GetCountFingerprintAsNumPy(
        mol
    )
    return (counts[:, None] >= np.array([1, 2, 4, 8])[None, :]).astype(np.uint8).ravel()


@pytest.mark.parametrize(("radius", "n_bits"), [(2, 2048), (3, 1024)])
def test_fingerprint_words__featmorgan_equals_legacy_use_features(radius: int, n_bits: int) -> None:
    mols = [Chem.MolFromSmiles(s) for s in _smiles(200)]
    got = _bits(fingerprint_words(mols, f"featmorgan{radius}:{n_bits}"), n_bits)
    want = np.array([_legacy_feat(m, radius, n_bits) for m in mols])
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(("radius", "n_bits"), [(2, 2048), (1, 512)])
def test_fingerprint_words__morgancount_equals_count_bins(radius: int, n_bits: int) -> None:
    mols = [Chem.MolFromSmiles(s) for s in _smiles(200)]
    got = _bits(fingerprint_words(mols, f"morgancount{radius}:{n_bits}"), n_bits)
    want = np.array([_count_simulated(m, radius, n_bits) for m in mols])
    np.testing.assert_array_equal(got, want)
    # a molecule with a repeated environment sets more than one bit of its position
    assert (want.reshape(len(mols), -1, 4).sum(axis=2) >= 2).any()


def test_parse_fp_spec__new_kinds_round_trip_and_errors() -> None:
    assert str(parse_fp_spec("FeatMorgan2:2048")) == "featmorgan2:2048"
    assert str(parse_fp_spec("morgancount3:1024")) == "morgancount3:1024"
    assert parse_fp_spec("morgancount2:2048").n_words == 32
    for bad in ("morgancount2:1026", "featmorgan:2048", "featmorgan7:2048"):
        with pytest.raises(InputError, match="featmorganR"):
            parse_fp_spec(bad)


def test_similar__featmorgan_library_equals_rdkit_bulk_tanimoto(tmp_path: Path) -> None:
    """A library ingested with ``--fp featmorgan2:1024`` is searched with query fingerprints of
    the same kind: top-10 scores equal RDKit's BulkTanimotoSimilarity on legacy FeatMorgan bits."""
    smiles = _smiles(300)
    path = tmp_path / "lib.smi"
    path.write_text("".join(f"{s} m{i:03d}\n" for i, s in enumerate(smiles)))
    lake = bl.Lake.open(tmp_path / "lake")
    ingest_molecules(lake, path, name="lib", fp="featmorgan2:1024")
    query = smiles[7]
    got = similar(lake, "lib", query, top_k=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fps = [
            AllChem.GetMorganFingerprintAsBitVect(Chem.MolFromSmiles(s), 2, nBits=1024, useFeatures=True)
            for s in smiles
        ]
    scores = DataStructs.BulkTanimotoSimilarity(fps[7], fps)
    ids = [f"m{i:03d}" for i in range(len(smiles))]
    order = sorted(range(len(smiles)), key=lambda j: (-scores[j], ids[j]))[:10]
    assert got["id"].tolist() == [ids[j] for j in order]
    np.testing.assert_allclose(got["similarity"], [scores[j] for j in order], atol=1e-12)
