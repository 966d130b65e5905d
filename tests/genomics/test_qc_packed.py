"""QC counts from the 2-bit packed copy equal the int8 counts, for any shape, missingness and chunking.

The reference is :func:`biolake.genomics.qc.count_genotypes` on the unpacked ALT-count matrix (itself
checked against ``plink2 --freq --hardy --missing --het`` in test_qc.py); the packed path must give the
same integer counts exactly and the same expected heterozygosity sums to rounding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biolake.genomics._qc_packed import count_genotypes_packed, unpack_alt_count
from biolake.genomics.qc import count_genotypes, qc, sample_qc, variant_qc
from biolake.genomics.store import has_packed, open_genotypes
from biolake.io.plink import ingest_plink, pack_alt_count
from biolake.lake import Lake

DATA = Path(__file__).parents[1] / "data" / "genomics"


@settings(max_examples=60, deadline=None)
@given(
    n_samples=st.integers(1, 300),
    n_variants=st.integers(1, 700),
    missing=st.sampled_from([0.0, 0.01, 0.3, 1.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_count_genotypes_packed__equals_int8_counts(n_samples, n_variants, missing, seed):
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.0, 0.7, n_variants)[:, None]
    g = rng.binomial(2, freq, size=(n_variants, n_samples)).astype(np.int8)
    g[rng.random(g.shape) < missing] = -1
    g[rng.random(n_variants) < 0.1] = 0  # monomorphic rows (not counted for F)
    autosomal = rng.random(n_variants) < 0.8
    packed = pack_alt_count(g)
    np.testing.assert_array_equal(unpack_alt_count(packed, n_samples), g)
    want = count_genotypes(g, autosomal=autosomal)
    got = count_genotypes_packed(packed, n_samples, autosomal=autosomal)
    for key in ("counts", "missing_ct", "het_ct", "f_obs_ct"):
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    np.testing.assert_allclose(got["e_het"], want["e_het"], rtol=1e-12, atol=1e-9)


def test_count_genotypes_packed__vertical_counters_past_255_variants():
    """Every sample heterozygous at 1,000 variants: the byte counters spill into the totals 3 times."""
    g = np.ones((1000, 70), dtype=np.int8)
    g[:, 3] = 2
    g[::7, 5] = -1
    got = count_genotypes_packed(pack_alt_count(g), 70)
    want = np.full(70, 1000)
    want[3] = 0
    want[5] = 1000 - len(range(0, 1000, 7))
    np.testing.assert_array_equal(got["het_ct"], want)
    assert got["missing_ct"][5] == len(range(0, 1000, 7)) and got["missing_ct"].sum() == got["missing_ct"][5]


@pytest.mark.parametrize("chunk_variants", [None, 7, 64])
def test_qc__packed_path_equals_int8_path(tmp_path: Path, chunk_variants: int | None) -> None:
    """The job on a dataset with the packed copy (all samples) gives the tables of the int8 kernel."""
    lake = Lake.open(tmp_path / "lake")
    ingest_plink(lake, DATA / "sim", name="sim", variant_chunk=32)
    assert has_packed(open_genotypes(lake, "lake:sim").path)
    out = tmp_path / "v.tsv"
    qc(lake, "lake:sim", out=out, samples_out=tmp_path / "s.tsv", chunk_variants=chunk_variants)
    got = pd.read_csv(out, sep="\t")
    g = np.asarray(lake.open_array("sim")["call_alt_count"][:])
    want = variant_qc(g)
    for col in want.columns:
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-12, equal_nan=True)
    samples = pd.read_csv(tmp_path / "s.tsv", sep="\t")
    want_s = sample_qc(g)
    for col in ("missing_ct", "o_hom", "f_obs_ct"):
        np.testing.assert_array_equal(samples[col].to_numpy(), want_s[col].to_numpy())
    np.testing.assert_allclose(samples["f"], want_s["f"], rtol=1e-10, equal_nan=True)
