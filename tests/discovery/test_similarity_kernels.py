"""Tests of the batched similarity kernels and the row-range reads of ``similar``.

``biolake.stats.similarity`` scores few queries row by row and, from ``_BATCH`` queries
on, sweeps a transposed tile of library rows with every query (vectorized across rows).
Both paths must give RDKit's own doubles: the reference is
``DataStructs.BulkTanimotoSimilarity`` / ``BulkDiceSimilarity`` /
``BulkTverskySimilarity`` on ``ExplicitBitVect`` made from the same random bits, and a
brute-force ranking of those scores for the searches.
"""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from rdkit import DataStructs

from biolake.discovery.similarity import _bands, _pops_from_bins, _tasks, read_fingerprint_rows
from biolake.lake.arrays import read_rows
from biolake.stats import similarity as sim

RDKIT = {
    "tanimoto": lambda q, fps: DataStructs.BulkTanimotoSimilarity(q, fps),
    "dice": lambda q, fps: DataStructs.BulkDiceSimilarity(q, fps),
    "tversky": lambda q, fps: DataStructs.BulkTverskySimilarity(q, fps, 0.3, 0.8),
}


def _random_bits(rng: np.random.Generator, n: int, n_bits: int) -> np.ndarray:
    """0/1 rows with popcounts spread from empty to dense (so the popcount bands vary)."""
    density = rng.uniform(0.0, 0.3, size=(n, 1))
    return (rng.random((n, n_bits)) < density).astype(np.uint8)


def _ebvs(bits: np.ndarray) -> list:
    out = []
    for row in bits:
        v = DataStructs.ExplicitBitVect(bits.shape[1])
        for b in np.nonzero(row)[0].tolist():
            v.SetBit(b)
        out.append(v)
    return out


@pytest.mark.parametrize("n_bits", [64, 167, 1024, 2048])
@pytest.mark.parametrize("n_queries", [1, sim._BATCH - 1, sim._BATCH, 11])
def test_bulk_scores__batched_and_row_paths_equal_rdkit(n_bits, n_queries):
    rng = np.random.default_rng(n_bits * 100 + n_queries)
    n = 2 * sim._TILE + 37  # a partial last tile
    lib_bits = _random_bits(rng, n, n_bits)
    q_bits = _random_bits(rng, n_queries, n_bits)
    lib_ebv, q_ebv = _ebvs(lib_bits), _ebvs(q_bits)
    lib, q = sim.pack_bits(lib_bits), sim.pack_bits(q_bits)
    for metric, ref in RDKIT.items():
        got = sim.bulk_scores(q, lib, metric=metric, alpha=0.3, beta=0.8)
        expected = np.array([ref(v, lib_ebv) for v in q_ebv])
        np.testing.assert_array_equal(got, expected)  # identical doubles


@pytest.mark.parametrize("n_queries", [2, 9])
@pytest.mark.parametrize("metric", ["tanimoto", "dice", "tversky"])
def test_threshold_and_topk_search__batched_equal_brute_force_rdkit(n_queries, metric):
    rng = np.random.default_rng(n_queries * 7 + len(metric))
    n, n_bits = 5 * sim._TILE + 3, 2048
    lib_bits = _random_bits(rng, n, n_bits)
    q_bits = np.vstack([lib_bits[rng.choice(n, n_queries - 1)], _random_bits(rng, 1, n_bits)])
    full = np.array([RDKIT[metric](v, _ebvs(lib_bits)) for v in _ebvs(q_bits)])
    lib, q = sim.pack_bits(lib_bits), sim.pack_bits(q_bits)
    pops = sim.popcounts(lib)
    order = np.argsort(pops, kind="stable")
    lib, pops, full = lib[order], pops[order], full[:, order]
    keys = rng.permutation(n).astype(np.int64)
    for t in (0.2, 0.55, 0.9):
        qi, rows, scores = sim.threshold_search(q, lib, pops, threshold=t, metric=metric, alpha=0.3, beta=0.8)
        got = sorted(zip(qi.tolist(), rows.tolist(), scores.tolist(), strict=True))
        expected = sorted((i, j, full[i, j]) for i, j in zip(*np.nonzero(full >= t), strict=True))
        assert got == expected
    for k in (1, 10, 60):
        s, kk, r, counts = sim.topk_search(q, lib, pops, keys, k=k, metric=metric, alpha=0.3, beta=0.8)
        for i in range(n_queries):
            ranked = sorted(range(n), key=lambda j, i=i: (-full[i, j], keys[j]))[:k]
            got = sorted(range(counts[i]), key=lambda m, i=i: (-s[i, m], kk[i, m]))
            assert [r[i, m] for m in got] == ranked
            np.testing.assert_array_equal([s[i, m] for m in got], full[i, ranked])


def test_threshold_search__min_common_bits_never_drops_a_hit_at_the_boundary():
    """Scores exactly at the threshold (x / (y + z - x) = 0.5 with x = 2, y = z = 3) are kept."""
    words = np.array([[0b000111], [0b011100], [0b111000], [0b000011]], dtype=np.uint64)
    pops = sim.popcounts(words)
    order = np.argsort(pops, kind="stable")
    words, pops = words[order], pops[order]
    q = np.repeat(np.array([[0b001110]], dtype=np.uint64), sim._BATCH, axis=0)  # batched path
    qi, rows, scores = sim.threshold_search(q, words, pops, threshold=0.5)
    hits = sorted({(int(words[r, 0]), s) for r, s in zip(rows, scores, strict=True)})
    # 0b001110 vs 0b000111: 2 common / (3 + 3 - 2) = 0.5; vs 0b011100: 0.5; vs 0b000011: 1 / 4; vs 0b111000: 1 / 5
    assert hits == [(0b000111, 0.5), (0b011100, 0.5)]
    assert np.bincount(qi).tolist() == [2] * sim._BATCH


def test_pops_from_bins__equal_the_popcounts():
    rng = np.random.default_rng(3)
    pops = np.sort(rng.integers(0, 40, 500)).astype(np.int32)
    bin_start = np.searchsorted(pops, np.arange(64 + 2), side="left").astype(np.int64)
    for a, b in [(0, 500), (0, 1), (17, 18), (123, 377), (499, 500), (250, 250)]:
        np.testing.assert_array_equal(_pops_from_bins(bin_start, a, b), pops[a:b])


def test_read_fingerprint_rows__memory_map_equals_zarr(tmp_path):
    """Rows read from memory-mapped raw chunks (any range, across chunks) equal Zarr's own reads."""
    rng = np.random.default_rng(5)
    words = rng.integers(0, 2**63, size=(1000, 4), dtype=np.int64).astype(np.uint64)
    words[300:600] = 0  # an all-zero chunk, which Zarr does not write: read through Zarr
    raw = zarr.open_group(str(tmp_path / "raw"), mode="w", zarr_format=2)
    raw.create_array("fp", shape=words.shape, dtype="uint64", chunks=(300, 4), compressors=None)[:] = words
    packed = zarr.open_group(str(tmp_path / "packed"), mode="w", zarr_format=2)
    packed.create_array("fp", shape=words.shape, dtype="uint64", chunks=(300, 4))[:] = words  # compressed
    for a, b in [(0, 1000), (0, 300), (299, 301), (450, 899), (900, 1000), (10, 10)]:
        np.testing.assert_array_equal(read_fingerprint_rows(tmp_path / "raw", a, b), words[a:b])
        np.testing.assert_array_equal(read_fingerprint_rows(tmp_path / "packed", a, b), words[a:b])
    assert isinstance(read_fingerprint_rows(tmp_path / "raw", 10, 200).base, np.memmap)  # no copy


def test_read_rows__compressed_1d_chunks_equal_zarr(tmp_path):
    """The ``key`` array (int64, Blosc, 1-D) read chunk by chunk with its codec equals Zarr's read."""
    keys = np.random.default_rng(8).permutation(1000).astype(np.int64)
    keys[600:900] = 0  # a chunk of fill values that Zarr does not write
    group = zarr.open_group(str(tmp_path / "ds"), mode="w", zarr_format=2)
    group.create_array("key", shape=keys.shape, dtype="int64", chunks=(300,), fill_value=0)[:] = keys
    group.create_array("f4", shape=(1000, 3), dtype="float32", chunks=(300, 1))[:] = 1.5  # chunked across columns
    for a, b in [(0, 1000), (0, 300), (299, 301), (450, 899), (610, 650), (900, 1000), (7, 7)]:
        np.testing.assert_array_equal(read_rows(tmp_path / "ds", "key", a, b), keys[a:b])
        np.testing.assert_array_equal(read_rows(tmp_path / "ds", "f4", a, b), np.full((b - a, 3), 1.5, np.float32))


def test_bands_and_tasks__cover_every_row_that_can_reach_the_score():
    """The rows of the bands are exactly those whose Swamidass–Baldi bound reaches t (brute force)."""
    rng = np.random.default_rng(9)
    pops = np.sort(rng.integers(0, 120, 3000)).astype(np.int32)
    bin_start = np.searchsorted(pops, np.arange(128 + 2), side="left").astype(np.int64)
    qpop = np.array([0, 5, 37, 64, 119, 128])
    t = np.array([0.5, 0.7, 0.7, 0.35, 0.9, -1.0])
    for metric, a, b in [("tanimoto", 0.5, 0.5), ("dice", 0.5, 0.5), ("tversky", 0.9, 0.1)]:
        lo, hi = _bands(qpop, bin_start, t, metric, a, b)
        code = sim.METRICS[metric]
        for i, y in enumerate(qpop):
            reach = [
                j for j, z in enumerate(pops) if t[i] <= 0 or sim._bound(float(y), float(z), code, a, b) >= t[i] - 1e-9
            ]
            assert list(range(lo[i], hi[i])) == reach
        grid = [(s, min(s + 700, 3000)) for s in range(0, 3000, 700)]
        tasks = _tasks("p", grid, lo, hi, done=[(650, 800)])
        covered = {r for c in tasks for r in range(c.start, c.stop)}
        assert all(c.stop - c.start > 0 and (c.start // 700) == ((c.stop - 1) // 700) for c in tasks)
        assert {r for i in range(len(qpop)) for r in range(lo[i], hi[i])} - set(range(650, 800)) <= covered
        assert not covered & set(range(650, 800))


def test_threshold_search__zero_threshold_returns_every_pair():
    """``threshold=0`` keeps every pair, zero scores too (Butina clustering asks for that)."""
    rng = np.random.default_rng(2)
    lib_bits = _random_bits(rng, 150, 128)
    lib = sim.pack_bits(lib_bits)
    pops = sim.popcounts(lib)
    order = np.argsort(pops, kind="stable")
    lib, pops = lib[order], pops[order]
    full = np.array([RDKIT["tanimoto"](v, _ebvs(lib_bits[order])) for v in _ebvs(lib_bits[:6])])
    for nq in (1, 6):
        qi, rows, scores = sim.threshold_search(sim.pack_bits(lib_bits[:nq]), lib, pops, threshold=0.0)
        assert len(qi) == nq * 150
        np.testing.assert_array_equal(scores, full[qi, rows])
