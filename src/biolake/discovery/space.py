"""Chemical-space map of a molecule library: PCA of its fingerprints on a random sample.

:func:`chemical_space` draws ``n`` molecules uniformly without replacement (all of them when
the library is smaller; seeded), unpacks their stored fingerprints to 0/1 bit vectors and
projects them on the first two principal components (SVD of the column-centred bit matrix,
scikit-learn's ``PCA`` convention: the sign of each component makes its largest-magnitude
loading positive). Only the sampled rows are read from Zarr, so a library of any size costs
``n`` fingerprints of memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from biolake.errors import check_param
from biolake.lake import Lake

__all__ = ["chemical_space"]


def chemical_space(lake: Lake, library: str, *, n: int = 2_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """PC1/PC2 of ``n`` sampled molecules of ``library`` (see the module).

    Parameters
    ----------
    lake, library
        The lake and the molecule library (``NAME`` or ``lake:NAME``).
    n
        Molecules to sample.
    seed
        Seed of the sample.

    Returns
    -------
    tuple
        A frame ``id smiles qed pc1 pc2`` (sampled rows in table order) and the explained
        variance ratio of the two components.
    """
    import zarr

    from biolake.discovery.similarity import _resolve_library

    check_param("chemical_space", "n", n, isinstance(n, int) and n >= 3, "an integer >= 3")
    name = library[5:] if library.startswith("lake:") else library
    table_name, fp_info = _resolve_library(lake, name)
    group = zarr.open_group(str(fp_info.path), mode="r")
    rows = np.asarray(group["row"][:], dtype=np.int64)  # table row of each stored fingerprint
    total = rows.size
    pick = np.sort(np.random.default_rng(seed).choice(total, size=min(n, total), replace=False))
    words = np.asarray(group["fp"].oindex[pick, :], dtype=np.uint64)
    n_bits = int(fp_info.attrs.get("n_bits") or words.shape[1] * 64)
    bits = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")[:, :n_bits].astype(np.float64)
    centred = bits - bits.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    signs = np.sign(vt[np.arange(2), np.argmax(np.abs(vt[:2]), axis=1)])
    signs[signs == 0] = 1.0
    scores = u[:, :2] * s[:2] * signs
    var = s**2
    ratio = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    table_rows = rows[pick]
    meta = lake.to_pandas(table_name, columns=["id", "smiles", "qed"]).iloc[table_rows].reset_index(drop=True)
    frame = meta.assign(pc1=scores[:, 0], pc2=scores[:, 1], _row=table_rows)
    frame = frame.sort_values("_row", kind="mergesort").drop(columns="_row").reset_index(drop=True)
    return frame, ratio
