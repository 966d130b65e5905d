"""Pharmacovigilance signals at scale: ``biolake precision signals`` on FAERS-shaped synthetic rows.

``python -m benchmarks signals [--rows 10000000 30000000] [--quick] [--timeout 1800]``

1. A FAERS-shaped long table per size (openEBGM's layout ``id, var1, var2`` as Parquet,
   dictionary-encoded names): reports with 1–6 suspect drugs and 1–8 events (Poisson
   numbers, so ~3 drugs × ~4 events ≈ 9 drug–event rows per report on average, and a report
   lists every drug with every event as FAERS does), drug and event popularity Zipf-like
   over 8,000 drugs and 12,000 preferred terms (as in FAERS: a few very common names, a
   long tail), each drug with its own event profile, ~2 % repeated rows (duplicates must
   count once).
2. ``biolake precision signals FILE --out OUT.parquet`` in a fresh process, measured by
   :func:`benchmarks._common.run_measured` (wall time, CPU time, peak RSS of the process tree),
   2 threads (an unstratified Parquet long table is counted by the compiled fast path of
   ``signals/fastcount.py``; the DuckDB memory limit, default 2GB, applies to other inputs).
3. Writes ``benchmarks/results/signals.md``: rows, reports, pairs, wall time, rows/s, peak RSS
   (``--quick``: one small size, written under ``benchmarks/work/``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks._common import WORK_DIR, GiB, fmt_bytes, fmt_seconds, markdown_table, run_measured, write_results

NAME = "signals"
HERE = WORK_DIR / NAME
N_DRUGS = 8_000
N_EVENTS = 12_000


def _zipf(k: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1) ** s
    return w / w.sum()


def generate(path: Path, rows: int, *, seed: int = 8) -> dict[str, int]:
    """Write about ``rows`` report × drug × event rows to ``path``; return the counts written."""
    rng = np.random.default_rng(seed)
    chunk_reports = int(min(400_000, max(rows // 8, 1_000)))
    drugs = pa.array([f"DRUG {i:05d}" for i in range(N_DRUGS)])
    events = pa.array([f"PREFERRED TERM {i:05d}" for i in range(N_EVENTS)])
    p_drug = _zipf(N_DRUGS, 1.0)
    p_event = _zipf(N_EVENTS, 0.9)
    # each drug's event profile: the common popularity times a drug-specific boost of 40 events
    boosted = rng.integers(0, N_EVENTS, (N_DRUGS, 40))
    writer = None
    written = reports = 0
    next_id = 1
    try:
        while written < rows:
            m = chunk_reports
            kd = np.clip(rng.poisson(2.2, m), 1, 6)
            ke = np.clip(rng.poisson(3.2, m), 1, 8)
            ids = np.arange(next_id, next_id + m, dtype=np.int64)
            next_id += m
            d_rep = np.repeat(np.arange(m), kd)
            d_code = rng.choice(N_DRUGS, size=len(d_rep), p=p_drug)
            e_rep = np.repeat(np.arange(m), ke)
            e_code = rng.choice(N_EVENTS, size=len(e_rep), p=p_event)
            first_drug = d_code[np.r_[0, np.cumsum(kd)[:-1]]]
            swap = rng.random(len(e_rep)) < 0.25
            e_code[swap] = boosted[first_drug[e_rep[swap]], rng.integers(0, 40, int(swap.sum()))]
            # every drug with every event of the report
            d_start = np.r_[0, np.cumsum(kd)[:-1]]
            e_start = np.r_[0, np.cumsum(ke)[:-1]]
            pairs_per = kd * ke
            rep = np.repeat(np.arange(m), pairs_per)
            offset = np.arange(len(rep)) - np.repeat(np.r_[0, np.cumsum(pairs_per)[:-1]], pairs_per)
            di = d_start[rep] + offset // ke[rep]
            ei = e_start[rep] + offset % ke[rep]
            dup = np.flatnonzero(rng.random(len(rep)) < 0.02)
            take = np.r_[np.arange(len(rep)), dup]
            table = pa.table(
                {
                    "id": pa.array(ids[rep[take]]),
                    "var1": pa.DictionaryArray.from_arrays(pa.array(d_code[di[take]].astype(np.int32)), drugs),
                    "var2": pa.DictionaryArray.from_arrays(pa.array(e_code[ei[take]].astype(np.int32)), events),
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=1 << 20)
            written += table.num_rows
            reports += m
    finally:
        if writer is not None:
            writer.close()
    return {"rows": written, "reports": reports}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write ``benchmarks/results/signals.md``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks signals", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 30_000_000, 100_000_000])
    parser.add_argument("--quick", action="store_true", help="one small size; results under benchmarks/work/")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--rss-limit-gib", type=float, default=14.0)
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory limit of the runs")
    args = parser.parse_args(argv)
    sizes = [1_000_000] if args.quick else args.rows
    HERE.mkdir(parents=True, exist_ok=True)
    rows_out = []
    notes = []
    for size in sizes:
        data = HERE / f"rows_{size}.parquet"
        t0 = time.perf_counter()
        if not data.exists():
            facts = generate(data, size)
        else:
            facts = {"rows": pq.ParquetFile(data).metadata.num_rows, "reports": -1}
        gen_s = time.perf_counter() - t0
        lake = HERE / f"lake_{size}"
        shutil.rmtree(lake, ignore_errors=True)
        out = HERE / f"signals_{size}.parquet"
        argv_run = [
            sys.executable,
            "-m",
            "biolake",
            "--lake",
            str(lake),
            "-q",
            "precision",
            "signals",
            str(data),
            "--out",
            str(out),
            "--threads",
            "2",
            "--memory-limit",
            args.memory_limit,
        ]
        m = run_measured(
            argv_run, label=f"signals {size:,}", timeout=args.timeout, rss_limit=int(args.rss_limit_gib * GiB)
        )
        pairs = pq.ParquetFile(out).metadata.num_rows if m.ok and out.exists() else "–"
        flagged = "–"
        if m.ok:
            table = pq.read_table(out, columns=["signal"])
            flagged = f"{int(np.asarray(table['signal']).sum()):,}"
        rows_out.append(
            [
                f"{facts['rows']:,}",
                f"{facts['reports']:,}" if facts["reports"] >= 0 else "–",
                f"{pairs:,}" if isinstance(pairs, int) else pairs,
                flagged,
                m.status,
                fmt_seconds(m.wall_s),
                f"{facts['rows'] / m.wall_s / 1e6:.2f} M" if m.ok else "–",
                fmt_bytes(m.peak),
                fmt_seconds(m.cpu_s),
            ]
        )
        notes.append(f"- {m.summary()} (input generated in {fmt_seconds(gen_s)}, {fmt_bytes(data.stat().st_size)})")
        shutil.rmtree(lake, ignore_errors=True)
        if not m.ok:
            break
    table_md = markdown_table(
        ["drug–event rows", "reports", "pairs", "flagged", "status", "wall", "rows/s", "peak RSS", "CPU"], rows_out
    )
    body = "\n\n".join(
        [
            "`biolake precision signals ROWS.parquet --out OUT.parquet` (counts of unique reports on integer "
            "codes by the compiled Parquet fast path, `signals/fastcount.py`; PRR/ROR/IC, MGPS prior fit on "
            "autoSquash-ed points, EBGM/EB05/EB95 of every pair by a numba kernel), one fresh process per size, "
            f"2 threads (DuckDB, memory limit {args.memory_limit}, is not used for this input). CPU is user + "
            "system time of the process tree (all threads): on a shared machine it is the figure to compare.",
            "Input: FAERS-shaped synthetic long table (see the module docstring of `benchmarks/signals.py`).",
            table_md,
            "\n".join(notes),
            "Goal of issue 8: 100 M drug–event rows in ≤ 2 min and ≤ 6 GB peak RSS on 2 cores.",
        ]
    )
    results_dir = HERE if args.quick else None
    path = write_results(NAME, "Pharmacovigilance signals (PRR, ROR, IC, MGPS) at scale", body, results_dir=results_dir)
    print(path)
    return 0 if all(r[4] == "ok" for r in rows_out) else 1


if __name__ == "__main__":
    sys.exit(main())
