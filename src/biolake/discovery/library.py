"""A deterministic, generated molecule library for demos, tests and benchmarks.

:func:`enumerate_library` builds drug-like molecules by joining building blocks the way
combinatorial libraries are made (an acyl, sulfonyl or alkyl linker between an acid-side
group and an amine-side group, optionally with a ring substituent), so every SMILES is
valid and the set has realistic fingerprints and property ranges. No data files are
read: the building blocks are listed here.

Examples
--------
>>> smiles = enumerate_library(3)
>>> len(smiles), len(set(smiles))
(3, 3)
"""

from __future__ import annotations

import numpy as np

__all__ = ["enumerate_library", "library_size"]

# Acid side: the first atom bonds to the linker.
_ACIDS = [
    "c1ccccc1",
    "c1ccc(F)cc1",
    "c1ccc(Cl)cc1",
    "c1ccc(OC)cc1",
    "c1ccc(C)cc1",
    "c1ccc(C(F)(F)F)cc1",
    "c1cccc(Br)c1",
    "c1ccncc1",
    "c1cccnc1",
    "c1ccsc1",
    "c1ccoc1",
    "c1ccc2ccccc2c1",
    "c1ccc2[nH]ccc2c1",
    "c1cnc2ccccc2c1",
    "C1CCCCC1",
    "C1CCOCC1",
    "C1CC1",
    "CC",
    "CCC",
    "C(C)C",
    "CC(C)(C)",
    "COc1ccccc1",
    "c1ccc(O)cc1",
    "c1ccc(N)cc1",
    "c1ccc(C#N)cc1",
    "c1ccc([N+](=O)[O-])cc1",
    "Cc1ccccc1",
    "s1ccnc1",
    "c1cn(C)nc1",
    "c1ccc2OCOc2c1",
]
# Amine side: the first atom (a nitrogen) bonds to the linker.
_AMINES = [
    "N1CCOCC1",
    "N1CCCC1",
    "N1CCCCC1",
    "N1CCN(C)CC1",
    "NC",
    "N(C)C",
    "NCC",
    "NCCO",
    "NC1CC1",
    "NCc1ccccc1",
    "Nc1ccccc1",
    "Nc1ccc(F)cc1",
    "Nc1ccc(Cl)cc1",
    "Nc1ccncc1",
    "NCc1ccco1",
    "NCc1cccs1",
    "NCCc1ccccc1",
    "NC(C)c1ccccc1",
    "NCC(=O)O",
    "NCC(=O)OC",
    "N1CCC(O)CC1",
    "N1CCC(C(N)=O)CC1",
    "NCCN(C)C",
    "Nc1nccs1",
    "Nc1ccc2ccccc2c1",
    "NCC(F)(F)F",
    "N1CCSCC1",
    "NC1CCCCC1",
    "Nc1cccc(OC)c1",
    "NCCCO",
]
_LINKERS = ["C(=O)", "S(=O)(=O)", "CC(=O)", "C(=O)C", "C"]


def library_size() -> int:
    """How many distinct molecules :func:`enumerate_library` can make."""
    return len(_ACIDS) * len(_AMINES) * len(_LINKERS)


def enumerate_library(n: int, *, seed: int = 20261127) -> list[str]:
    """``n`` distinct SMILES in a fixed pseudo-random order of the combinatorial space.

    Parameters
    ----------
    n
        How many molecules, at most :func:`library_size` (4,500).
    seed
        Seed of the order (the same ``n`` and ``seed`` give the same list).

    Returns
    -------
    list of str
        SMILES as written (not canonical).
    """
    total = library_size()
    if not 0 <= n <= total:
        raise ValueError(f"n must be in [0, {total}]; got {n}")
    order = np.random.default_rng(seed).permutation(total)[:n]
    n_amines, n_linkers = len(_AMINES), len(_LINKERS)
    out = []
    for code in order.tolist():
        acid, rest = divmod(code, n_amines * n_linkers)
        amine, linker = divmod(rest, n_linkers)
        out.append(f"{_ACIDS[acid]}{_LINKERS[linker]}{_AMINES[amine]}")
    return out
