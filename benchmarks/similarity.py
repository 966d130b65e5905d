"""Similarity search: biolake vs RDKit ``BulkTanimotoSimilarity`` and FPSim2 on the same fingerprints.

``python -m benchmarks similarity [--n 1000000 10000000] [--queries 64] [--rdkit-n 1000000] [--quick]``

1. Fingerprints (Morgan radius 2, 2048 bits, RDKit) of real and generated molecules: the
   NCI sample RDKit ships (``rdkit/Data/NCI/first_5K.smi``) and the 4,500 molecules of
   :func:`biolake.discovery.library.enumerate_library`, about 9,500 in all.
2. For each library size ``--n``: that many fingerprints **tiled** from those, each copy
   XOR-ed with 3 random bits so rows are distinct and keep a realistic bit density (RDKit
   cannot make 10^7 fingerprints here in reasonable time), sorted by popcount. They are
   stored in a lake in exactly the layout ``biolake ingest molecules`` writes
   (popcount-sorted uncompressed ``uint64`` words, ``row``, ``key``, ``bin_start``; a
   table of ids and SMILES), so :func:`biolake.discovery.similarity.similar` runs end to
   end; and in an FPSim2 database (``.h5``, PyTables, FPSim2's own schema and popcount
   bins) built from the **same words** (FPSim2 stores bit ``i`` as bit ``63 - i % 64``
   of its word: the words are bit-reversed, which changes no score).
3. Measured in this process, one after the other, each the best of 2-3 runs:

   * the machine's limits for the same bytes: a numpy ``sum`` over the library words
     (memory bandwidth, 1 and 2 threads) and biolake's popcount of every row;
   * RDKit ``BulkTanimotoSimilarity``, 1 query, on the first ``--rdkit-n`` rows (as
     ``ExplicitBitVect`` made from the same words; 10^7 of them do not fit in memory);
   * biolake's kernels in memory: the full score matrix (1 query on 1 and 2 threads;
     ``--queries`` queries batched, in blocks of 65,536 rows), ``threshold_search`` at
     0.7 and ``topk_search`` k = 100 on the popcount-sorted library (2 threads: one
     half of the library each);
   * biolake ``similar()`` over the lake (run record, reads, pruning, merge, id and SMILES
     lookup): top-100 and threshold 0.7, 1 and ``--queries`` queries;
   * FPSim2 (in-memory engine, ``n_workers`` 1 and 2): ``similarity`` at 0.7 and at 0
     (a full scan returning every row), ``top_k`` 100; ``--queries`` queries one by one.

   Exactness: biolake's full-scan scores vs RDKit's (1 query on ``--rdkit-n`` rows and
   8 queries through the batched kernel on 100,000 rows), ``similar()`` vs the in-memory
   kernel, and FPSim2's hits at 0.7 vs biolake's (FPSim2 reports ``float32`` scores).
   Speeds are comparisons (queries x library rows) per second of wall time and per
   second of **CPU time** of the process (all threads: "per core"); pruned searches do
   fewer real comparisons, so for them it is an effective rate.
4. Writes ``benchmarks/results/similarity.md`` (``--quick``: 100,000 rows, under ``benchmarks/work/``).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import resource
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks._common import WORK_DIR, fmt_bytes, machine_facts, markdown_table, write_results

NAME = "similarity"
HERE = WORK_DIR / NAME
BLOCK = 65_536  # library rows per block of the batched full-score run


def _base_fingerprints() -> tuple[np.ndarray, list[str]]:
    from rdkit import Chem, RDConfig, rdBase
    from rdkit.Chem import rdFingerprintGenerator

    from biolake.discovery.library import enumerate_library, library_size

    nci = (Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi").read_text().split()[::2]
    smiles = nci + enumerate_library(library_size())
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    bits, kept = [], []
    with rdBase.BlockLogs():
        for s in smiles:
            mol = Chem.MolFromSmiles(s)
            if mol is not None:
                bits.append(gen.GetFingerprintAsNumPy(mol))
                kept.append(Chem.MolToSmiles(mol))
    from biolake.stats.similarity import pack_bits

    return pack_bits(np.array(bits, dtype=np.uint8)), kept


def _tile(base: np.ndarray, n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    reps = -(-n // base.shape[0])
    lib = np.tile(base, (reps, 1))[:n].copy()
    for start in range(0, n, 1_000_000):
        stop = min(n, start + 1_000_000)
        flips = rng.integers(0, 2048, size=(stop - start, 3))
        rows = np.arange(start, stop)
        for j in range(3):
            w, b = flips[:, j] // 64, (flips[:, j] % 64).astype(np.uint64)
            lib[rows, w] ^= np.left_shift(np.uint64(1), b)
    return lib


def _write_lake(lake_dir: Path, lib: np.ndarray, smiles: list[str]) -> None:
    """The layout ``ingest molecules`` writes, from fingerprints made here."""
    import pyarrow as pa

    from biolake import Lake
    from biolake.io import molecules
    from biolake.io.molecules import FP_ENCODING, _write_fingerprints, parse_fp_spec
    from biolake.stats.similarity import popcounts

    if lake_dir.exists():
        shutil.rmtree(lake_dir)
    lake = Lake.open(lake_dir)
    n = lib.shape[0]
    raw = HERE / "fp.raw"
    lib.tofile(raw)
    pattern = raw.with_suffix(".pattern")  # substructure-screen words, if ingest writes them: zeros here
    with open(pattern, "wb") as f:
        f.truncate(n * getattr(molecules, "PATTERN_BITS", 0) // 8)  # sparse file
    spec = parse_fp_spec("morgan2:2048")
    with lake.run("benchmark library", params={"n": n}) as run:
        table = run.table("lib")
        for start in range(0, n, 200_000):
            stop = min(n, start + 200_000)
            table.write(
                pa.table(
                    {
                        "id": [f"T{i:08d}" for i in range(start, stop)],
                        "smiles": [smiles[i % len(smiles)] for i in range(start, stop)],
                    }
                )
            )
        stage = run.array("lib_fp", encoding=FP_ENCODING[0], encoding_version=FP_ENCODING[1])
        _write_fingerprints(stage, raw, popcounts(lib), np.arange(n, dtype=np.int64), spec, "lib")
        run.annotate("lib", attrs={"fingerprints": "lib_fp", "n_molecules": n})
    raw.unlink()
    pattern.unlink()


_REVERSE_BITS = np.array([int(f"{i:08b}"[::-1], 2) for i in range(256)], dtype=np.uint8)


def _fpsim2_words(words: np.ndarray) -> np.ndarray:
    """Our words in FPSim2's bit order (bit ``i`` of the fingerprint is bit ``63 - i % 64`` of its word)."""
    b = words.view(np.uint8).reshape(words.shape[0], -1, 8)
    return np.ascontiguousarray(_REVERSE_BITS[b][:, :, ::-1]).view("<u8").reshape(words.shape)


def _write_fpsim2(path: Path, lib_sorted: np.ndarray, pops_sorted: np.ndarray) -> None:
    """An FPSim2 database of the popcount-sorted words: its schema, config and popcount bins."""
    import FPSim2
    import rdkit
    import tables as tb
    from FPSim2.io.backends.pytables import create_schema

    n, words = lib_sorted.shape
    with tb.open_file(str(path), mode="w") as f:
        table = f.create_table(
            f.root,
            "fps",
            create_schema(words * 64),
            "Table storing fps",
            filters=tb.Filters(complib="blosc2", complevel=5),
        )
        config = f.create_vlarray(f.root, "config", atom=tb.ObjectAtom())
        config.append("Morgan")
        config.append({"radius": 2, "fpSize": 2048})
        config.append(rdkit.__version__)
        config.append(FPSim2.__version__)
        for start in range(0, n, 500_000):
            stop = min(n, start + 500_000)
            rows = np.empty(stop - start, dtype=table.dtype)
            rows["fp_id"] = np.arange(start + 1, stop + 1)
            fw = _fpsim2_words(lib_sorted[start:stop])
            for w in range(words):
                rows[f"f{w + 1}"] = fw[:, w]
            rows["popcnt"] = pops_sorted[start:stop]
            table.append(rows)
        edges = np.flatnonzero(np.diff(pops_sorted)) + 1
        starts = np.concatenate([[0], edges])
        stops = np.concatenate([edges, [n]])
        config.append([(int(pops_sorted[a]), (int(a), int(b))) for a, b in zip(starts, stops, strict=True)])


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _timed(fn: Callable[[], object], repeat: int = 3) -> tuple[float, float, object]:
    """Best wall and best CPU time (process, all threads) of ``repeat`` runs, and the last result."""
    best_wall, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        gc.collect()
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        best_cpu = min(best_cpu, time.process_time() - c)
        best_wall = min(best_wall, time.perf_counter() - w)
    return best_wall, best_cpu, out


def _halves(n: int, parts: int = 2) -> list[tuple[int, int]]:
    edges = np.linspace(0, n, parts + 1).astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def _on_threads(fn: Callable[[int, int], object], n: int, threads: int) -> list[object]:
    if threads == 1:
        return [fn(0, n)]
    with ThreadPoolExecutor(threads) as ex:
        return list(ex.map(lambda ab: fn(*ab), _halves(n, threads)))


def _run_size(n: int, base: np.ndarray, smiles: list[str], args: argparse.Namespace) -> tuple[str, bool]:
    from rdkit import DataStructs

    from biolake import Lake
    from biolake.discovery.similarity import _bands, similar
    from biolake.stats.similarity import bulk_scores, popcounts, threshold_search, topk_search

    nq = args.queries
    print(f"similarity: {n:,} fingerprints", flush=True)
    lib = _tile(base, n)
    pops = popcounts(lib)
    order = np.argsort(pops, kind="stable")
    lib = lib[order]  # popcount-sorted, as the lake stores it
    pops = pops[order]
    del order
    rng = np.random.default_rng(11)
    qidx = rng.choice(base.shape[0], size=nq, replace=False)
    queries = {f"q{i}": smiles[j] for i, j in enumerate(qidx)}
    qwords = base[qidx]
    keys = np.arange(n, dtype=np.int64)
    _write_lake(HERE / "lake", lib, smiles)
    lake = Lake.open(HERE / "lake")
    rows: list[list[object]] = []
    rss: dict[str, int] = {"library in memory": _rss()}
    words_bytes = lib.shape[1] * 8

    def add(what: str, engine: str, q: int, threads: str, wall: float, cpu: float, m: int = n) -> None:
        rows.append([what, engine, q, threads, wall, cpu, q * m])
        print(f"  {engine} {what} [{threads}]: wall {wall * 1e3:.1f} ms, cpu {cpu * 1e3:.1f} ms", flush=True)

    # machine limits for the same bytes
    wall, cpu, _ = _timed(lambda: lib.sum())
    add("numpy sum over the library words (memory bandwidth)", "numpy", 1, "1", wall, cpu)
    bw1, bw1_wall = lib.nbytes / cpu, lib.nbytes / wall
    wall, cpu, _ = _timed(lambda: _on_threads(lambda a, b: lib[a:b].sum(), n, 2))
    add("numpy sum over the library words (memory bandwidth)", "numpy", 1, "2", wall, cpu)
    bw2_wall = lib.nbytes / wall
    wall, cpu, _ = _timed(lambda: popcounts(lib))
    add("popcount of every row (no query)", "biolake", 1, "1", wall, cpu)

    # RDKit
    m_rd = min(n, args.rdkit_n)
    t0 = time.perf_counter()
    ebvs = [DataStructs.CreateFromFPSText(w.view(np.uint8).tobytes().hex()) for w in lib[:m_rd]]
    make_s = time.perf_counter() - t0
    q_ebv = DataStructs.CreateFromFPSText(qwords[0].view(np.uint8).tobytes().hex())
    wall, cpu, rd_scores = _timed(lambda: DataStructs.BulkTanimotoSimilarity(q_ebv, ebvs), repeat=2)
    add(f"BulkTanimotoSimilarity, full scan of {m_rd:,} rows", "RDKit", 1, "1", wall, cpu, m_rd)
    rss["RDKit ExplicitBitVects"] = _rss()
    sub = min(m_rd, 100_000)
    rd8 = np.array(
        [
            DataStructs.BulkTanimotoSimilarity(
                DataStructs.CreateFromFPSText(w.view(np.uint8).tobytes().hex()), ebvs[:sub]
            )
            for w in qwords[:8]
        ]
    )
    ebvs = []
    gc.collect()

    # biolake kernels in memory
    wall, cpu, bl = _timed(lambda: bulk_scores(qwords[:1], lib, library_popcounts=pops)[0])
    add("bulk_scores, 1 query, full scan (all scores)", "biolake kernel", 1, "1", wall, cpu)
    diff_rdkit = float(np.max(np.abs(bl[:m_rd] - np.asarray(rd_scores))))
    same_rdkit = bool(np.array_equal(bl[:m_rd], np.asarray(rd_scores)))
    del bl
    b8 = bulk_scores(qwords[:8], lib[:sub], library_popcounts=pops[:sub])
    same_rdkit8 = bool(np.array_equal(b8, rd8))
    wall, cpu, _ = _timed(
        lambda: _on_threads(lambda a, b: bulk_scores(qwords[:1], lib[a:b], library_popcounts=pops[a:b]), n, 2)
    )
    add("bulk_scores, 1 query, full scan (all scores)", "biolake kernel", 1, "2", wall, cpu)

    def batched(a: int, b: int) -> None:
        for s in range(a, b, BLOCK):
            e = min(b, s + BLOCK)
            bulk_scores(qwords, lib[s:e], library_popcounts=pops[s:e])

    wall, cpu, _ = _timed(lambda: _on_threads(batched, n, 2), repeat=2)
    add(f"bulk_scores, {nq} queries batched, full scan (all scores)", "biolake kernel", nq, "2", wall, cpu)
    batched_wall, batched_cpu = wall, cpu

    for q in (1, nq):
        for threads in (1, 2) if q == 1 else (2,):
            wall, cpu, res = _timed(
                lambda q=q, threads=threads: _on_threads(
                    lambda a, b: threshold_search(qwords[:q], lib[a:b], pops[a:b], threshold=0.7), n, threads
                )
            )
            add(
                f"threshold_search 0.7, {q} quer{'y' if q == 1 else 'ies'}",
                "biolake kernel",
                q,
                str(threads),
                wall,
                cpu,
            )
            if q == 1 and threads == 1:
                kernel_hits = res[0]
        wall, cpu, _ = _timed(
            lambda q=q: _on_threads(lambda a, b: topk_search(qwords[:q], lib[a:b], pops[a:b], keys[a:b], k=100), n, 2)
        )
        add(f"topk_search k=100, {q} quer{'y' if q == 1 else 'ies'}", "biolake kernel", q, "2", wall, cpu)
    lo, hi = _bands(
        popcounts(qwords), np.searchsorted(pops, np.arange(2048 + 2)), np.full(nq, 0.7), "tanimoto", 0.5, 0.5
    )
    band_fraction = float(np.mean((hi - lo) / n))
    rss["biolake kernels"] = _rss()

    # biolake similar() over the lake
    sim_hits = None
    for label, kwargs, q in [
        ("top-100", {"top_k": 100}, 1),
        ("top-100", {"top_k": 100}, nq),
        ("threshold 0.7", {"threshold": 0.7}, 1),
        ("threshold 0.7", {"threshold": 0.7}, nq),
    ]:
        qs = dict(list(queries.items())[:q])
        wall, cpu, df = _timed(
            lambda qs=qs, kwargs=kwargs: similar(lake, "lib", qs, **kwargs), repeat=3 if q == 1 else 2
        )
        add(f"similar() {label}, {q} quer{'y' if q == 1 else 'ies'} (whole job)", "biolake", q, "2", wall, cpu)
        if q == 1 and "threshold" in kwargs:
            sim_hits = df
    assert sim_hits is not None
    kernel_scores = np.sort(kernel_hits[2])[::-1]
    same_similar = bool(np.array_equal(np.sort(sim_hits["similarity"].to_numpy())[::-1], kernel_scores))
    rss["similar() jobs"] = _rss()

    # FPSim2 on the same words
    from FPSim2 import FPSim2Engine

    h5 = HERE / "fpsim2.h5"
    t0 = time.perf_counter()
    _write_fpsim2(h5, lib, pops)
    h5_s = time.perf_counter() - t0
    lib = np.zeros((0, lib.shape[1]), np.uint64)  # free it: FPSim2 holds its own copy
    gc.collect()
    engine = FPSim2Engine(str(h5))
    rss["FPSim2 engine (library in memory twice)"] = _rss()
    for threads in (1, 2):
        wall, cpu, fs = _timed(lambda threads=threads: engine.similarity(q_ebv, threshold=0.7, n_workers=threads))
        add("similarity 0.7, 1 query", "FPSim2", 1, str(threads), wall, cpu)
    fs_ids = np.sort(fs["mol_id"].astype(np.int64) - 1)
    same_fpsim2_hits = bool(np.array_equal(fs_ids, np.sort(kernel_hits[1])))
    ours = dict(zip(kernel_hits[1].tolist(), kernel_hits[2].tolist(), strict=True))
    fs_diff = max(
        (abs(float(c) - ours.get(int(i) - 1, np.nan)) for i, c in zip(fs["mol_id"], fs["coeff"], strict=True)),
        default=0.0,
    )
    wall, cpu, _ = _timed(lambda: engine.similarity(q_ebv, threshold=0.0, n_workers=2), repeat=2)
    add("similarity 0 (full scan, returns every row), 1 query", "FPSim2", 1, "2", wall, cpu)
    wall, cpu, _ = _timed(lambda: engine.top_k(q_ebv, k=100, threshold=0.0, n_workers=2))
    add("top_k k=100, 1 query", "FPSim2", 1, "2", wall, cpu)
    q_ebvs = [DataStructs.CreateFromFPSText(w.view(np.uint8).tobytes().hex()) for w in qwords]
    wall, cpu, _ = _timed(lambda: [engine.similarity(e, threshold=0.7, n_workers=2) for e in q_ebvs], repeat=2)
    add(f"similarity 0.7, {nq} queries one by one", "FPSim2", nq, "2", wall, cpu)
    wall, cpu, _ = _timed(lambda: [engine.top_k(e, k=100, threshold=0.0, n_workers=2) for e in q_ebvs], repeat=2)
    add(f"top_k k=100, {nq} queries one by one", "FPSim2", nq, "2", wall, cpu)
    rss["FPSim2 searches"] = _rss()
    engine = None
    h5.unlink()
    gc.collect()

    table = markdown_table(
        ["engine", "what", "queries", "threads", "wall / query", "CPU / query", "comparisons/s wall", "per core (CPU)"],
        [
            [r[1], r[0], r[2], r[3], f"{r[4] / r[2] * 1e3:.2f} ms", f"{r[5] / r[2] * 1e3:.2f} ms",
             f"{r[6] / r[4] / 1e6:,.0f} M/s", f"{r[6] / max(r[5], 1e-9) / 1e6:,.0f} M/s"]
            for r in rows
        ],
        align="llrrrrrr",
    )  # fmt: skip
    fs_07 = [r for r in rows if r[1] == "FPSim2" and r[0] == "similarity 0.7, 1 query"]
    bl_07 = [r for r in rows if r[1] == "biolake kernel" and r[0] == "threshold_search 0.7, 1 query"]
    ratio = "; ".join(
        f"{t} thread(s): FPSim2 takes {f[5] / max(b[5], 1e-9):.1f}× the CPU time ({f[4] / b[4]:.1f}× the wall time)"
        for t, f, b in zip(("1", "2"), fs_07, bl_07, strict=True)
    )
    full = next(r for r in rows if r[1] == "biolake kernel" and r[0].startswith("bulk_scores, 1 query") and r[3] == "1")
    t07 = next(r for r in rows if r[1] == "biolake kernel" and r[0] == "threshold_search 0.7, 1 query" and r[3] == "1")
    return (
        f"""
## {n:,} fingerprints

Library: **{n:,} Morgan fingerprints** (radius 2, 2048 bits) **tiled** from {base.shape[0]:,} real RDKit
fingerprints, each copy XOR-ed with 3 random bits, sorted by popcount; mean bits set
{float(pops.mean()):.1f}. Queries: {nq} molecules of the base set. Machine limit for the same
{fmt_bytes(n * words_bytes)}: a numpy sum streams them at **{bw1 / 1e9:.1f} GB per CPU-second** on one core
(wall: {bw1_wall / 1e9:.1f} GB/s on 1 thread, {bw2_wall / 1e9:.1f} GB/s on 2, under the load below), i.e. a
one-query full scan cannot exceed **{bw1 / words_bytes / 1e6:,.0f} M comparisons per core-second**
({2 * bw1 / words_bytes / 1e6:,.0f} M/s on both cores if the memory bus feeds two cores at that rate).

{table}

- Threshold 0.7: the Swamidass–Baldi popcount band of the {nq} queries holds on average
  **{band_fraction:.0%}** of the rows (popcount-sorted storage: only those are read and scored);
  `threshold_search` 0.7 for 1 query takes **{t07[5] / full[5]:.2f}×** the CPU time of the full scan
  (`bulk_scores`, every score), {t07[4] / full[4]:.2f}× its wall time.
- FPSim2 similarity 0.7 vs biolake `threshold_search` 0.7, 1 query: {ratio}.
- `similar()` times are the whole job: the run record (DuckDB catalog), fingerprints of the
  queries, reading the rows of the popcount bands (memory-mapped), merge, id/SMILES lookup in
  the Parquet table, writing the result table.

Exactness:
- biolake full-scan Tanimoto vs RDKit `BulkTanimotoSimilarity`, 1 query × {m_rd:,} rows:
  identical doubles: **{same_rdkit}** (max |difference| {diff_rdkit:.3g}); batched kernel, 8 queries ×
  {sub:,} rows: identical: **{same_rdkit8}**.
- `similar()` threshold 0.7 (1 query) has the same scores as the in-memory `threshold_search`:
  **{same_similar}** ({len(sim_hits):,} hits).
- FPSim2 similarity 0.7 returns the same rows as biolake: **{same_fpsim2_hits}**; max |score
  difference| {fs_diff:.2g} (FPSim2 keeps `float32` scores).
- Batched full-score rate: {nq * n / batched_cpu / 1e6:,.0f} M comparisons per CPU-second,
  {nq * n / batched_wall / 1e6:,.0f} M/s wall on 2 threads.

Building the FPSim2 database from the words took {h5_s:.1f} s and making the {m_rd:,} RDKit
`ExplicitBitVect`s {make_s:.1f} s (not counted). Peak RSS of the process after each stage:

{markdown_table(["after", "peak RSS"], [[k, fmt_bytes(v)] for k, v in rss.items()], align="lr")}
""",
        same_rdkit and same_rdkit8 and same_similar,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks similarity", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1_000_000, 10_000_000], help="library sizes")
    parser.add_argument("--queries", type=int, default=64, help="queries of the batched searches")
    parser.add_argument("--rdkit-n", type=int, default=1_000_000, help="rows RDKit scans (ExplicitBitVects in memory)")
    parser.add_argument("--quick", action="store_true", help="100,000 fingerprints, results under benchmarks/work/")
    args = parser.parse_args(argv)
    sizes = [100_000] if args.quick else args.n
    HERE.mkdir(parents=True, exist_ok=True)

    load_start = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    cpu0, wall0 = time.process_time(), time.perf_counter()
    base, smiles = _base_fingerprints()
    sections, ok = [], True
    for n in sizes:
        text, good = _run_size(n, base, smiles, args)
        sections.append(text)
        ok = ok and good
    shutil.rmtree(HERE / "lake", ignore_errors=True)
    body = f"""
biolake's similarity search vs RDKit `BulkTanimotoSimilarity` and FPSim2 {_fpsim2_version()} on the same
fingerprints, the same machine, one process (see `benchmarks/similarity.py` for what each row does).
"per core (CPU)" is comparisons per second of CPU time of the process (all its threads): it does
not depend on how busy the machine was; "wall" does.

{"".join(sections)}
The machine: load average {load_start} at the start and {" / ".join(f"{x:.1f}" for x in os.getloadavg())} at the
end (1/5/15 min) on 2 cores; whole run {time.perf_counter() - wall0:.0f} s wall, {time.process_time() - cpu0:.0f} s CPU.
With other jobs running, wall times are upper bounds and vary between runs; CPU-time rates much less.
"""
    facts = machine_facts(("biolake", "numpy", "numba", "rdkit", "zarr", "fpsim2", "tables"))
    path = write_results(
        NAME, "Similarity search: biolake vs RDKit and FPSim2", body, facts, results_dir=HERE if args.quick else None
    )
    print(f"wrote {path}")
    return 0 if ok else 1


def _fpsim2_version() -> str:
    from importlib.metadata import version

    return version("fpsim2")


if __name__ == "__main__":
    sys.exit(main())
