"""Variant and sample QC: ``biolake genomics qc`` side by side with ``plink2 --freq --hardy --missing``.

``python -m benchmarks qc [--samples 10000] [--variants 200000] [--missing 0.01] [--quick] [--timeout 3600]``

1. Makes the genotypes with ``plink2 --dummy`` (``--missing`` of the calls missing) as a PLINK 1
   fileset under ``benchmarks/work/qc/`` and ingests it into a lake (``biolake ingest plink``; timed
   apart, not part of QC).
2. Runs, each in its own process and measured the same way (wall time, CPU time, peak RSS of the
   process tree): ``plink2 --bfile … --freq counts --hardy --missing --threads 2`` (the issue's
   comparison), the same with ``--het`` (plink2 then also computes what biolake's sample table holds),
   and ``biolake genomics qc lake:NAME --out variants.parquet --samples-out samples.parquet``
   (default threads backend; the whole command: start-up, reading the lake, both tables, the run
   record and the lake tables).
3. Checks that the counts are identical: per variant ``obs_ct`` = OBS_CT and ``alt_freq · obs_ct`` =
   ALT_CTS (``.acount``), the missing calls = MISSING_CT (``.vmiss``), the heterozygous calls and
   ``hwe_p`` (``.hardy``, 6 significant digits); per sample the missing calls (``.smiss``). Writes
   ``benchmarks/results/qc.md`` (``--quick``: 2,000 × 20,000, results under ``benchmarks/work/``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import (
    WORK_DIR,
    Measurement,
    fmt_bytes,
    fmt_ratio,
    fmt_seconds,
    markdown_table,
    run_measured,
    tool,
    write_results,
)
from benchmarks.gwas import _dummy  # the same plink2 --dummy genotypes

NAME = "qc"
HERE = WORK_DIR / NAME


def _compare(variants: Path, samples: Path, ref: Path, n_samples: int) -> list[list[str]]:
    """Rows ``what, compared, identical / max rel. difference`` of biolake's tables against plink2's files."""
    v = pd.read_parquet(variants)
    s = pd.read_parquet(samples)
    acount = pd.read_csv(f"{ref}.acount", sep="\t")
    vmiss = pd.read_csv(f"{ref}.vmiss", sep="\t")
    hardy = pd.read_csv(f"{ref}.hardy", sep="\t")
    smiss = pd.read_csv(f"{ref}.smiss", sep="\t")
    rows = []

    def same(what: str, ours: np.ndarray, theirs: np.ndarray) -> None:
        ok = len(ours) == len(theirs) and bool(np.array_equal(ours, theirs))
        rows.append([what, f"{len(theirs):,}", "identical" if ok else f"{int((ours != theirs).sum()):,} differ"])

    same("variant ids", v["id"].to_numpy(str), acount["ID"].to_numpy(str))
    same("obs_ct = OBS_CT", v["obs_ct"].to_numpy(np.int64), acount["OBS_CT"].to_numpy(np.int64))
    alt_ct = np.rint(v["alt_freq"].to_numpy(float) * v["obs_ct"].to_numpy(float)).astype(np.int64)
    same("alt_freq · obs_ct = ALT_CTS", alt_ct, acount["ALT_CTS"].to_numpy(np.int64))
    missing = np.rint(v["missing_rate"].to_numpy(float) * n_samples).astype(np.int64)
    same("missing calls = MISSING_CT (.vmiss)", missing, vmiss["MISSING_CT"].to_numpy(np.int64))
    het = np.rint(v["het_obs"].to_numpy(float) * v["obs_ct"].to_numpy(float) / 2).astype(np.int64)
    same("heterozygous calls = HET_A1_CT (.hardy)", het, hardy["HET_A1_CT"].to_numpy(np.int64))
    same("sample missing calls = MISSING_CT (.smiss)", s["missing_ct"].to_numpy(np.int64), smiss["MISSING_CT"])
    x, y = v["hwe_p"].to_numpy(float), hardy["P"].to_numpy(float)
    ok = (y > 0) & np.isfinite(x) & np.isfinite(y)
    rel = np.abs(x[ok] - y[ok]) / y[ok]
    rows.append(["hwe_p vs P (.hardy, 6 digits)", f"{int(ok.sum()):,}", f"max rel. {rel.max():.1e}"])
    return rows


def _inproc(lake: str, out: str) -> None:
    """Time the library call ``biolake.genomics.qc.qc`` in this process (run in a fresh one): first on a
    100 × 100 dataset (loading numba's compiled kernels, zarr, DuckDB), then twice on the real one;
    print a JSON line with the fastest and the first."""
    import json
    import resource
    import time

    from biolake.genomics.qc import qc
    from biolake.lake import Lake

    lk = Lake.open(lake)
    qc(lk, "lake:warm", out=f"{out}/warm.parquet", samples_out=f"{out}/warm_s.parquet")
    runs = []
    for i in range(2):
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        qc(lk, "lake:geno", out=f"{out}/lib_{i}.parquet", samples_out=f"{out}/lib_s_{i}.parquet")
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        runs.append((wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)))
    best = min(runs)
    print("RESULT " + json.dumps({"wall": best[0], "cpu": best[1], "first_wall": runs[0][0], "first_cpu": runs[0][1]}))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every run succeeded and the counts are identical, else 1."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks qc", description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=200_000)
    parser.add_argument("--missing", type=float, default=0.01)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--quick", action="store_true", help="2,000 x 20,000; results under benchmarks/work/")
    args = parser.parse_args(argv)
    if shutil.which("plink2") is None:
        print("plink2 not found (apt-get install plink2)", file=sys.stderr)
        return 1
    n, m = (2_000, 20_000) if args.quick else (args.samples, args.variants)
    shutil.rmtree(HERE, ignore_errors=True)
    HERE.mkdir(parents=True)
    version = subprocess.run(["plink2", "--version"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()
    biolake = tool("biolake")
    lake = HERE / "lake"
    bed = HERE / "geno"
    _dummy(bed, n, m, args.missing)
    ingest = run_measured(
        [biolake, "--lake", lake, "-q", "ingest", "plink", bed, "--name", "geno"],
        label="biolake ingest plink",
        timeout=args.timeout,
    )
    _dummy(HERE / "warm", 100, 100, args.missing)
    warm = run_measured(
        [biolake, "--lake", lake, "-q", "ingest", "plink", HERE / "warm", "--name", "warm"], label="warm-up data"
    )
    ref = HERE / "plink"
    runs: list[tuple[str, Measurement]] = [("ingest", ingest)]
    plink = run_measured(
        ["plink2", "--bfile", bed, "--freq", "counts", "--hardy", "--missing", "--threads", "2", "--out", ref],
        label="plink2 --freq counts --hardy --missing",
        timeout=args.timeout,
    )
    plink_het = run_measured(
        ["plink2", "--bfile", bed, "--freq", "counts", "--hardy", "--missing", "--het", "--threads", "2",
         "--out", HERE / "plink_het"],
        label="plink2 --freq counts --hardy --missing --het", timeout=args.timeout,
    )  # fmt: skip
    ours = run_measured(
        [biolake, "--lake", lake, "-q", "genomics", "qc", "lake:geno", "--out", HERE / "variants.parquet",
         "--samples-out", HERE / "samples.parquet"],
        label="biolake genomics qc", timeout=args.timeout,
    )  # fmt: skip
    runs += [("plink2", plink), ("plink2 + het", plink_het), ("biolake", ours)]
    code = f"from benchmarks.qc import _inproc; _inproc({str(lake)!r}, {str(HERE)!r})"
    lib = run_measured([sys.executable, "-c", code], label="biolake qc() library call", timeout=args.timeout)
    info = next((json.loads(x[7:]) for x in lib.stdout.splitlines() if x.startswith("RESULT ")), None)
    status = 0 if all(r.ok for _, r in runs) and warm.ok and lib.ok and info else 1
    genotypes = n * m
    speed = markdown_table(
        ["run", "wall time", "CPU time", "peak RSS", "genotypes/s (wall)", "status"],
        [
            [
                r.label,
                fmt_seconds(r.wall_s),
                fmt_seconds(r.cpu_s),
                fmt_bytes(r.peak_rss),
                f"{genotypes / r.wall_s / 1e6:,.0f} M/s" if r.ok else "",
                r.status,
            ]
            for _, r in runs
        ],
        align="lrrrrl",
    )
    if info:
        speed += "\n" + (
            f"| biolake `qc()` library call (in a process that ran it once on 100 × 100; best of 2) | "
            f"{fmt_seconds(info['wall'])} | {fmt_seconds(info['cpu'])} | {fmt_bytes(lib.peak_rss)} | "
            f"{genotypes / info['wall'] / 1e6:,.0f} M/s | ok |"
        )
    agree_rows: list[list[str]] = []
    if ours.ok and plink.ok:
        agree_rows = _compare(HERE / "variants.parquet", HERE / "samples.parquet", ref, n)
        if any(r[2].endswith("differ") for r in agree_rows):
            status = 1
    agree = markdown_table(["compared", "values", "result"], agree_rows, align="lrl")
    ratios = [
        f"- wall time, plink2 / biolake: {fmt_ratio(plink.wall_s, ours.wall_s)} "
        f"(with `--het`: {fmt_ratio(plink_het.wall_s, ours.wall_s)}); "
        f"CPU time: {fmt_ratio(plink.cpu_s, ours.cpu_s)} (with `--het`: {fmt_ratio(plink_het.cpu_s, ours.cpu_s)}). "
        "Goal (issue 4): biolake within 2× of plink2, i.e. a wall-time ratio ≥ 0.5×."
    ]
    if info:
        ratios.append(
            f"- library call: plink2 (whole process) / biolake `qc()`: wall {fmt_ratio(plink.wall_s, info['wall'])}, "
            f"CPU {fmt_ratio(plink.cpu_s, info['cpu'])}; the first call in that process took "
            f"{fmt_seconds(info['first_wall'])} wall. The command's extra time is Python's start-up and imports "
            "(numba, zarr, pandas, DuckDB: about 1 s of CPU)."
        )
    body = "\n\n".join(
        [
            f"Genotypes from `plink2 --dummy` ({n:,} samples × {m:,} variants, {args.missing:.0%} missing calls). "
            f"plink2: {version}, `--threads 2`, reading the .bed. biolake: `genomics qc` on the lake (VCF Zarr "
            "layout + packed ALT counts), default threads backend, whole command. "
            f"Load average when the benchmark started: {load[0]:.1f} (2 cores).",
            speed,
            "\n".join(ratios),
            "**Counts** (biolake's tables against plink2's files of the first plink2 run):",
            agree,
        ]
    )
    results_dir = HERE if args.quick else None
    title = "QC: biolake genomics qc vs plink2 --freq --hardy --missing"
    path = write_results(NAME, title, body, results_dir=results_dir)
    print(path)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
