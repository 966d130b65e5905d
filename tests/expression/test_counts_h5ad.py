"""``biolake ingest counts FILE.h5ad``: AnnData files (obs = samples, var = genes) read with h5py.

The files are written here with h5py in AnnData's on-disk layout (anndata >= 0.7: ``obs``/``var``
dataframe groups with an ``_index`` attribute, ``X`` dense or a ``csr_matrix``/``csc_matrix``
group, ``layers/counts``); the expected matrix is the committed CSV of the same counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from expression_data import DATA, load_counts

from biolake import InputError, Lake
from biolake.io.counts import ingest_counts, open_counts

h5py = pytest.importorskip("h5py")


def _index(group, ids):
    group.attrs["encoding-type"] = "dataframe"
    group.attrs["encoding-version"] = "0.2.0"
    group.attrs["_index"] = "_index"
    group.attrs["column-order"] = np.array([], dtype=object).astype(h5py.string_dtype())
    ds = group.create_dataset("_index", data=np.array(ids, dtype=object), dtype=h5py.string_dtype())
    ds.attrs["encoding-type"] = "string-array"


def _sparse(group, name, dense, kind):
    from scipy import sparse

    m = sparse.csr_matrix(dense) if kind == "csr_matrix" else sparse.csc_matrix(dense)
    g = group.create_group(name)
    g.attrs["encoding-type"] = kind
    g.attrs["encoding-version"] = "0.1.0"
    g.attrs["shape"] = np.array(dense.shape)
    g.create_dataset("data", data=m.data)
    g.create_dataset("indices", data=m.indices)
    g.create_dataset("indptr", data=m.indptr)


def _write(path, counts: pd.DataFrame, *, x="dense", layer=None, obs=None):
    """counts: genes x samples; the file holds samples x genes (AnnData)."""
    xs = counts.to_numpy().T.astype(np.float32)
    with h5py.File(path, "w") as f:
        f.attrs["encoding-type"] = "anndata"
        f.attrs["encoding-version"] = "0.1.0"
        _index(f.create_group("obs"), obs or list(counts.columns))
        _index(f.create_group("var"), list(counts.index))
        if x == "dense":
            f.create_dataset("X", data=xs)
        elif x == "normalized":
            f.create_dataset("X", data=np.log1p(xs))
        else:
            _sparse(f, "X", xs, x)
        if layer:
            _sparse(f.create_group("layers"), "counts", xs, layer)
    return path


@pytest.mark.parametrize(("x", "layer"), [("dense", None), ("csr_matrix", None), ("normalized", "csc_matrix")])
def test_ingest_counts__h5ad_equals_the_csv(tmp_path, x, layer):
    """Dense, CSR and (with log-normalized X) layers['counts'] in CSC all give the CSV's matrix."""
    counts = load_counts("sim_basic")
    path = _write(tmp_path / "a.h5ad", counts, x=x, layer=layer)
    lake = Lake.open(tmp_path / "lake", create=True)
    info = ingest_counts(lake, path, name="h")
    assert info.shape == [len(counts), counts.shape[1]]
    store = open_counts(lake, "lake:h")
    assert store.gene_id.tolist() == counts.index.tolist()
    assert store.sample_id == counts.columns.tolist()
    np.testing.assert_array_equal(store.read(0, store.n_genes), counts.to_numpy())


def test_ingest_counts__h5ad_de_matches_deseq2(tmp_path):
    """The DE of an ingested .h5ad equals R DESeq2's on the same counts (sim_basic, R as in test_de_reference)."""
    from biolake.genomics.de import de_job

    lake = Lake.open(tmp_path / "lake", create=True)
    ingest_counts(lake, _write(tmp_path / "a.h5ad", load_counts("sim_basic"), x="csr_matrix"), name="h")
    _, res = de_job(lake, "lake:h", samples=DATA / "sim_basic_samples.csv", design="~ condition",
                    contrast=("condition", "B", "A"), out=tmp_path / "r.csv")  # fmt: skip
    ref = pd.read_csv(DATA / "sim_basic_wald.csv", dtype={"gene": str})
    ok = ref["padj"].notna()
    assert (res.table["padj"].isna() == ~ok).all()
    np.testing.assert_allclose(res.table["padj"][ok], ref["padj"][ok], rtol=1e-8)


def test_ingest_counts__h5ad_bad_input_is_one_line_error(tmp_path):
    """Non-integer X (no counts layer), a duplicate obs id and a non-HDF5 file: InputError, nothing stored."""
    counts = load_counts("sim_basic")
    lake = Lake.open(tmp_path / "lake", create=True)
    with pytest.raises(InputError, match=r"X: count .* is not a non-negative integer"):
        ingest_counts(lake, _write(tmp_path / "n.h5ad", counts, x="normalized"), name="n")
    obs = list(counts.columns)
    obs[1] = obs[0]
    with pytest.raises(InputError, match="duplicate sample"):
        ingest_counts(lake, _write(tmp_path / "d.h5ad", counts, obs=obs), name="d")
    (tmp_path / "bad.h5ad").write_text("not hdf5")
    with pytest.raises(InputError, match="not a readable HDF5"):
        ingest_counts(lake, tmp_path / "bad.h5ad", name="b")
    assert not lake.exists("n") and not lake.exists("d") and not lake.exists("b")
