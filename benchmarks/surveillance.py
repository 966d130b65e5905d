"""Surveillance and R_t at scale: biolake vs R ``surveillance`` and ``EpiEstim``, same data, one run.

``python -m benchmarks surveillance [--series 10000] [--r-series-ears 200] [--r-series-farrington 12]
[--r-series-rt 50] [--quick]``

1. Synthetic inputs (Parquet, long format ``region, count``, rows in time order within a
   series, no time column: the time point is the row number, R's ``epoch``):
   weekly counts of ``--series`` series × 315 weeks (5 years of history + 3 + 52 monitored
   weeks for Farrington's defaults ``b = 5, w = 3``): Poisson around a per-series level
   (gamma-distributed, mean 10) with a yearly cycle and a slow trend, plus outbreaks
   (a few weeks at 2–4× the level) in 3 % of series-weeks; daily incidence of the same
   number of series × 365 days (Poisson around a smooth epidemic-like curve).
2. biolake, in a fresh process per method (peak RSS is the whole process: Python, the
   input table, the result), timed around the library call only (wall and CPU of the
   process, all threads; after a first call on one series, see ``_inproc``):
   :func:`biolake.publichealth.surveillance.surveil` for EARS
   C1/C2/C3 and Farrington (defaults) and :func:`biolake.publichealth.rt.estimate_rt`
   (``si_mean 2.6, si_sd 1.5``, windows of 7 days), on an Arrow table read beforehand.
3. biolake CLI jobs (``biolake publichealth surveil`` / ``rt`` with ``--out X.parquet``,
   a fresh lake): wall, CPU and peak RSS of the whole command (start-up, reading, the lake
   run, writing the file and the lake table).
4. R on the first ``--r-series-*`` series only (R is slow), one ``sts`` object with one
   column per series: ``earsC(s, control = list(method = "C1"|"C2"|"C3"))``,
   ``farringtonFlexible(s, control = list())`` (R's defaults), and for R_t
   ``EpiEstim::estimate_R(incid, method = "parametric_si", config = make_config(list(mean_si
   = 2.6, std_si = 1.5)))`` per series. R's time is taken around the calls in R
   (``proc.time``: elapsed and user + system), without start-up and reading; the rate per
   series-week is extrapolated to all series linearly (R's methods loop over series).
5. Agreement on the series R ran: max relative difference of the upper bounds (EARS,
   Farrington) or of R_t mean, sd and quantiles, where both are defined; whether the alarms
   are identical and whether NA patterns agree.

Writes ``benchmarks/results/surveillance.md`` (``--quick``: 1,000 series and smaller R
subsets, written under ``benchmarks/work/surveillance/``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks._common import (
    ROOT,
    WORK_DIR,
    GiB,
    fmt_bytes,
    fmt_seconds,
    markdown_table,
    run_measured,
    write_results,
)

NAME = "surveillance"
HERE = WORK_DIR / NAME
WEEKS = 315  # 52·5 + 3 + 1 … : Farrington's first monitored week is 264, so 52 weeks are monitored
DAYS = 365
SI_MEAN, SI_SD = 2.6, 1.5
METHODS = ("ears-c1", "ears-c2", "ears-c3", "farrington")
_R_ENV = {"TZ": "UTC", "R_LIBS_USER": os.environ.get("R_LIBS_USER", "")}

R_SCRIPT = r"""
suppressMessages(library(surveillance)); suppressMessages(library(EpiEstim))
args <- commandArgs(trailingOnly = TRUE)
what <- args[1]; infile <- args[2]; outfile <- args[3]
m <- as.matrix(read.csv(infile, check.names = FALSE))
num <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))
if (what == "rt") {
  cfg <- make_config(list(mean_si = 2.6, std_si = 1.5))
  t0 <- proc.time()
  res <- lapply(seq_len(ncol(m)), function(j) {
    r <- suppressWarnings(estimate_R(m[, j], method = "parametric_si", config = cfg))$R
    data.frame(series = j, t_start = r$t_start, mean_r = num(r[["Mean(R)"]]), std_r = num(r[["Std(R)"]]),
               q025 = num(r[["Quantile.0.025(R)"]]), q05 = num(r[["Quantile.0.05(R)"]]),
               q25 = num(r[["Quantile.0.25(R)"]]), median = num(r[["Median(R)"]]),
               q75 = num(r[["Quantile.0.75(R)"]]), q95 = num(r[["Quantile.0.95(R)"]]),
               q975 = num(r[["Quantile.0.975(R)"]]))
  })
  t1 <- proc.time()
  out <- do.call(rbind, res)
} else {
  s <- sts(observed = m, frequency = 52, start = c(2015, 1))
  t0 <- proc.time()
  if (what == "farrington") {
    r <- suppressWarnings(farringtonFlexible(s, control = list()))
    rng <- (52 * 5 + 3 + 1):nrow(m)
  } else {
    r <- earsC(s, control = list(method = what))
    rng <- r@control$range
  }
  t1 <- proc.time()
  ub <- upperbound(r); al <- alarms(r)
  out <- do.call(rbind, lapply(seq_len(ncol(m)), function(j) data.frame(
    series = j, t = rng, upperbound = num(ub[, j]), alarm = ifelse(is.na(al[, j]), "NA", al[, j]))))
}
d <- t1 - t0
write.csv(out, outfile, row.names = FALSE, quote = FALSE)
cat(sprintf("ELAPSED %.6f CPU %.6f\n", d[["elapsed"]], d[["user.self"]] + d[["sys.self"]]))
"""


PROFILE = """\
## Where the time of the CLI jobs goes (profiled 2026-11-27, 10,000 series)

`python -m cProfile -m biolake … publichealth rt` (10,000 series × 365 days, 3.58 M windows) and
`… surveil --method farrington` (10,000 × 320 weeks), and the same `estimate_rt` in-process
(synchronous scheduler). Wall times on a machine loaded 8–17 on 2 cores; pairs are wall / CPU.

* **Writing Parquet (fixed).** `Run.result` → `write_result` writes every batch to the result file and
  to the lake table (two `ParquetWriter`s, by design: the file and the registered copy). Each batch of
  131,072 rows becomes one row group, and with pyarrow's default every column was dictionary-encoded:
  pyarrow hashes every value of every float column (R_t mean, sd and 7 quantiles, nearly all distinct)
  into a dictionary that reaches its 1 MiB page limit only at about a whole row group (131,072 doubles
  are 1 MiB), so almost nothing is saved by the fallback to plain: 12.5 s of the 20 s profiled `rt` job
  (60 `write_table` calls), and files 26 % larger than plain. Not a row-by-row conversion, not small
  batches, not a pandas round trip; the file is written twice on purpose. Fix
  (`src/biolake/lake/tables.py`, `_dictionary`): floating-point columns whose first batch is more than
  half distinct are written plain (`use_dictionary=` the other columns); all other columns, floats with
  many repeats (EARS bounds) and nested schemas keep the dictionary. Same data read back (`Table.equals`
  true), same atomicity (the writers and `atomic_path`/staging are unchanged). Measured on the full CLI
  job, the same input (before = `_dictionary` replaced by `True` in-process): `rt` 10,000 × 365 d: 28.5
  s wall / 11.7 s CPU → 18.0 s / 7.03 s (an earlier pair, against a first version of the fix that wrote
  every float column plain, which is the same for R_t: 46.8 s / 13.2 s → 21.8 s / 7.25 s); result file
  304 MB → 241 MB. `surveil --method ears-c1` (3.08 M rows): 11.1 s / 5.36 s → 6.4 s / 5.15 s, file size
  unchanged (its floats repeat and keep the dictionary).
* **Grouping into series (fixed).** `iter_series_chunks` factorized the whole pending key column with
  pandas at every reader batch; it now takes the series starts of the new rows only, and (second pass,
  below) compares each key with the previous row's in Arrow compute instead of a pandas factorization.
* **Start-up imports** (scipy.stats via `publichealth/__init__` → surveillance → farrington): ~2 s CPU
  of every CLI job.

## Speed work on the EARS and R_t library calls (second pass, 2026-11-27)

Per-piece CPU (process CPU time, best of 5, 2,000-series chunks, before → after), measured while the
machine was loaded 10–18 on 2 cores, so the pieces are only indicative; the table above is the measure.
Every change gives the same result table bit for bit (checked on 3,000 series of the benchmark data:
`pandas.testing.assert_frame_equal(check_exact=True)` for R_t and EARS C1/C2/C3 against the previous code).

* **Reading (`publichealth/counts.py`)**: without a time column the query numbered rows with two window
  functions (`row_number() OVER ()` then `row_number() OVER (PARTITION BY keys ORDER BY …)`) before the
  sort: 1.0 s CPU for 3.58 M rows. Now one `row_number() OVER ()` and `ORDER BY keys, row number`, and
  the chunk reader numbers the rows 1, 2, … within each series from the series starts it already has
  (0.37 s). An in-memory Arrow table or DataFrame whose rows are already in series order (checked with
  Arrow compute on consecutive rows: keys, then the time; only for strings, integers, dates, naive
  timestamps and booleans without missing values) is streamed without `ORDER BY` (DuckDB keeps a plain
  scan's order): 0.08 s. Series starts: Arrow `not_equal` of each key with the previous row's instead
  of `pandas.factorize` (null = NaN as before). Read + cut into chunks: 2.0 s → 0.13–0.27 s CPU (R_t).
* **R_t kernel (`stats/epiestim.py`)**: the infectivity sums `Σ_s w_s·I_{t−s}` loop over `s` outside
  `t` (same terms, same order, vectorisable); the gamma quantiles are inverted once per distinct
  posterior shape found on the grid `a_prior + k` by one numba pass (no `np.unique` sort; the grid
  index is checked `table[index] == shape` exactly, else the sorting path), and `grid[:, index] · scale`
  is one numba pass for the 7 quantiles. Quantiles: 0.13 s → 0.027 s per chunk.
* **EARS kernel (`stats/ears.py`)**: one numba pass over every series computes the baseline mean and
  sd (summed in numpy's order for the array version: bit-identical for baselines ≤ 8), the threshold,
  score and alarm of the evaluable cells only, instead of a (series × time × baseline) window array,
  its deviations and a dozen full-matrix temporaries: 38 ms → 13 ms per chunk.
* **Result**: `to_pandas(split_blocks=True)` (one block per column instead of a copy into one 2-D float
  block): 0.4–1.1 s → 0.06–0.17 s CPU for 3.58 M rows.

## Third pass (session 4)

Per piece, EARS C1 on the 10,000 × 315 table, best of 5 in one process, CPU (machine loaded 6–8):
opening the in-memory table 0.13 → 0.04 s (the Arrow table itself is the query's result when its
column types are DuckDB's, instead of a DuckDB scan fetched in 65,536-row batches and glued back);
cutting it into chunks 0.04 → 0.03 s (series starts found once over the whole table and carried in
each chunk's schema metadata, so the kernel does not compare the keys again); the (series × time)
layout 0.086 → 0.019 s (one numba pass checks counts, duplicates, the time grid and gaps and fills the
matrix; on any problem the general numpy path finds and reports it as before). The whole call: 0.69 →
0.42 s CPU. What remains is mostly memory: a fresh process's first touch of a page costs about 2 ms
of system time per MB on this virtual machine (a 500 MB `numpy.ones` in a new process: 1.0 s of system
time, 0.03 s when repeated), so the first full call in a process pays for its result's memory (3 M
rows × 8 columns) and the next ones reuse it; the table reports the fastest of three calls and the notes
the first.
"""


# --------------------------------------------------------------------------- data


def _names(n: int) -> list[str]:
    return [f"R{i:05d}" for i in range(n)]


def generate_weekly(path: Path, n: int, *, seed: int = 12) -> np.ndarray:
    """Weekly counts (series × WEEKS) with seasonality, trend and outbreaks; written long to ``path``."""
    rng = np.random.default_rng(seed)
    t = np.arange(WEEKS)
    level = rng.gamma(2.0, 5.0, n)[:, None]
    phase = rng.uniform(0, 2 * np.pi, n)[:, None]
    trend = rng.normal(0, 0.001, n)[:, None]
    mu = level * (1 + 0.4 * np.sin(2 * np.pi * t / 52 + phase)) * np.exp(trend * t)
    outbreak = rng.random((n, WEEKS)) < 0.03
    mu = np.where(outbreak, mu * rng.uniform(2, 4, (n, WEEKS)), mu)
    counts = rng.poisson(mu)
    _write_long(path, counts)
    return counts


def generate_daily(path: Path, n: int, *, seed: int = 13) -> np.ndarray:
    """Daily incidence (series × DAYS): Poisson around a smooth wave per series; written long to ``path``."""
    rng = np.random.default_rng(seed)
    t = np.arange(DAYS)
    level = rng.gamma(2.0, 10.0, n)[:, None]
    peak = rng.uniform(60, 300, n)[:, None]
    width = rng.uniform(30, 90, n)[:, None]
    mu = 2 + level * np.exp(-0.5 * ((t - peak) / width) ** 2)
    counts = rng.poisson(mu)
    _write_long(path, counts)
    return counts


def _write_long(path: Path, counts: np.ndarray) -> None:
    n, length = counts.shape
    names = pa.array(_names(n))
    table = pa.table(
        {
            "region": pa.DictionaryArray.from_arrays(pa.array(np.repeat(np.arange(n, dtype=np.int32), length)), names),
            "count": pa.array(counts.ravel().astype(np.int64)),
        }
    )
    table = table.set_column(0, "region", table.column("region").cast(pa.string()))
    pq.write_table(table, path, compression="zstd")


# --------------------------------------------------------------------------- in-process timing


#: full-size library calls per process: the table shows the fastest, the notes the first
REPEATS = 3


def _inproc(kind: str, path: str) -> None:
    """Time one library call on a table read beforehand; print a JSON line (run in a fresh process).

    A first call on the first series only comes before (its time is printed as ``warmup_*``): numba
    loads its compiled kernels and target context, DuckDB and scipy their parts — a one-time cost
    per process (about 0.25 s CPU) that the throughput should not include, as R's timing does not
    include loading its packages. Then :data:`REPEATS` calls on the whole table: the fastest is the
    steady state of a process that has run the job before; the first also pays for the process's first
    touch of the memory its result needs (on this virtual machine a fresh page costs about 2 ms per MB
    of system time until the guest has used it once; printed as ``first_*``).
    """
    table = pq.read_table(path)
    if kind == "rt":
        from biolake.publichealth.rt import estimate_rt

        def call(data: pa.Table) -> pd.DataFrame:
            return estimate_rt(data, by=["region"], si_mean=SI_MEAN, si_sd=SI_SD)
    else:
        from biolake.publichealth.surveillance import surveil

        def call(data: pa.Table) -> pd.DataFrame:
            return surveil(data, method=kind, by=["region"])

    def timed(data: pa.Table) -> tuple[float, float, int]:
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        res = call(data)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), len(res)

    warm_wall, warm_cpu, _ = timed(table.slice(0, DAYS if kind == "rt" else WEEKS))
    runs = [timed(table) for _ in range(REPEATS)]
    wall, cpu, rows = min(runs)
    info = {"wall": wall, "cpu": cpu, "rows": rows, "warmup_wall": warm_wall, "warmup_cpu": warm_cpu}
    info.update(first_wall=runs[0][0], first_cpu=runs[0][1], walls=[r[0] for r in runs])
    print("RESULT " + json.dumps(info))


def _measure_inproc(kind: str, path: Path, timeout: float):
    code = f"from benchmarks.surveillance import _inproc; _inproc({kind!r}, {str(path)!r})"
    m = run_measured([sys.executable, "-c", code], label=f"biolake {kind} (library)", cwd=ROOT, timeout=timeout)
    info = None
    for line in m.stdout.splitlines():
        if line.startswith("RESULT "):
            info = json.loads(line[7:])
    return m, info


# --------------------------------------------------------------------------- R


def _run_r(what: str, wide: np.ndarray, timeout: float):
    script = HERE / "bench_surveillance.R"
    script.write_text(R_SCRIPT)
    infile = HERE / f"r_in_{what}.csv"
    outfile = HERE / f"r_out_{what}.csv"
    pd.DataFrame(wide.T, columns=[f"s{j + 1}" for j in range(wide.shape[0])]).to_csv(infile, index=False)
    m = run_measured(["Rscript", script, what, infile, outfile], label=f"R {what}", env=_R_ENV, timeout=timeout)
    timing = None
    for line in m.stdout.splitlines():
        if line.startswith("ELAPSED"):
            parts = line.split()
            timing = {"wall": float(parts[1]), "cpu": float(parts[3])}
    out = pd.read_csv(outfile, na_values=["NA"]) if m.ok and outfile.exists() else None
    return m, timing, out


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    both = np.isfinite(a) & np.isfinite(b)
    if not both.any():
        return float("nan")
    d = np.abs(a[both] - b[both]) / np.maximum(np.abs(b[both]), 1e-300)
    return float(d.max())


def _agree_surveil(ours: pd.DataFrame, ref: pd.DataFrame, k: int) -> dict[str, object]:
    ours = ours[ours.region.isin(_names(k))].copy()
    ours["series"] = ours.region.str[1:].astype(int) + 1
    merged = ref.merge(ours, left_on=["series", "t"], right_on=["series", "date"], how="outer", indicator=True)
    missing = int((merged["_merge"] != "both").sum())
    both = merged[merged["_merge"] == "both"]
    ub_r = both.upperbound.to_numpy(dtype=np.float64)
    ub_b = both.upper_bound.to_numpy(dtype=np.float64)
    na_same = bool(np.array_equal(np.isnan(ub_r), np.isnan(ub_b)))
    alarm_r = both.alarm_x.astype(str).str.upper().eq("TRUE").to_numpy()
    alarm_b = both.alarm_y.astype(bool).to_numpy()
    return {
        "points": len(both),
        "unmatched": missing,
        "max_rel_ub": _rel(ub_b, ub_r),
        "na_same": na_same,
        "alarms_identical": bool(np.array_equal(alarm_r, alarm_b)),
        "alarm_diff": int((alarm_r != alarm_b).sum()),
        "alarms": int(alarm_r.sum()),
    }


def _agree_rt(ours: pd.DataFrame, ref: pd.DataFrame, k: int) -> dict[str, object]:
    ours = ours[ours.region.isin(_names(k))].copy()
    ours["series"] = ours.region.str[1:].astype(int) + 1
    merged = ref.merge(ours, on=["series", "t_start"], how="outer", indicator=True, suffixes=("_r", "_b"))
    both = merged[merged["_merge"] == "both"]
    cols = ["mean_r", "std_r", "q025", "q05", "q25", "median", "q75", "q95", "q975"]
    rel = max(_rel(both[f"{c}_b"], both[f"{c}_r"]) for c in cols)
    na_same = all(
        np.array_equal(np.isnan(both[f"{c}_b"].to_numpy(float)), np.isnan(both[f"{c}_r"].to_numpy(float))) for c in cols
    )
    unmatched = int((merged["_merge"] != "both").sum())
    return {"points": len(both), "unmatched": unmatched, "max_rel": rel, "na_same": na_same}


# --------------------------------------------------------------------------- main


def _cli(kind: str, data: Path, out: Path, timeout: float):
    lake = HERE / f"lake_{kind}"
    shutil.rmtree(lake, ignore_errors=True)
    base = [sys.executable, "-m", "biolake", "--lake", str(lake), "-q", "publichealth"]
    if kind == "rt":
        argv = [*base, "rt", str(data), "--by", "region", "--si-mean", str(SI_MEAN), "--si-sd", str(SI_SD)]
    else:
        argv = [*base, "surveil", str(data), "--by", "region", "--method", kind]
    argv += ["--out", str(out), "--quiet"]
    m = run_measured(argv, label=f"biolake {kind} (CLI)", timeout=timeout, rss_limit=14 * GiB)
    shutil.rmtree(lake, ignore_errors=True)
    return m


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write ``benchmarks/results/surveillance.md``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks surveillance", description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--r-series-ears", type=int, default=200)
    parser.add_argument("--r-series-farrington", type=int, default=12)
    parser.add_argument("--r-series-rt", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="1,000 series, small R subsets; results under work/")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)
    if args.quick:
        args.series = 1_000
        args.r_series_ears, args.r_series_farrington, args.r_series_rt = 50, 4, 10
    n = args.series
    HERE.mkdir(parents=True, exist_ok=True)
    weekly_path = HERE / f"weekly_{n}.parquet"
    daily_path = HERE / f"daily_{n}.parquet"
    weekly = generate_weekly(weekly_path, n)
    daily = generate_daily(daily_path, n)

    rows: list[list[object]] = []
    agree_rows: list[list[object]] = []
    notes: list[str] = []
    failed = False
    for kind in (*METHODS, "rt"):
        data = daily_path if kind == "rt" else weekly_path
        # biolake: library in a fresh process, then the CLI job
        lib, info = _measure_inproc(kind, data, args.timeout)
        out = HERE / f"out_{kind}.parquet"
        cli = _cli(kind, data, out, args.timeout)
        failed |= not (lib.ok and cli.ok and info is not None)
        points = info["rows"] if info else None
        if info:
            rows.append(
                [
                    kind,
                    "biolake library",
                    f"{n:,}",
                    f"{points:,}",
                    fmt_seconds(info["wall"]),
                    fmt_seconds(info["cpu"]),
                    f"{points / info['wall']:,.0f}",
                    f"{points / max(info['cpu'], 1e-9):,.0f}",
                    fmt_bytes(lib.peak_rss),
                ]
            )
        if cli.ok and points:
            rows.append(
                [
                    kind,
                    "biolake CLI job",
                    f"{n:,}",
                    f"{points:,}",
                    fmt_seconds(cli.wall_s),
                    fmt_seconds(cli.cpu_s),
                    f"{points / cli.wall_s:,.0f}",
                    f"{points / max(cli.cpu_s, 1e-9):,.0f}",
                    fmt_bytes(cli.peak_rss),
                ]
            )
        notes += [f"- {lib.summary()}", f"- {cli.summary()}"]
        if info and "first_wall" in info:
            notes.append(
                f"- biolake {kind} (library): {REPEATS} calls on all series in the same process, wall "
                + ", ".join(fmt_seconds(w) for w in info["walls"])
                + f"; the first call (fresh memory): {fmt_seconds(info['first_wall'])} wall, "
                f"{fmt_seconds(info['first_cpu'])} CPU = {points / info['first_wall']:,.0f} points/s"
            )
        if info and "warmup_cpu" in info:
            notes.append(
                f"- biolake {kind} (library): the process's first call, on 1 series (numba, DuckDB, scipy "
                f"loading; not in the table): {fmt_seconds(info['warmup_wall'])} wall, "
                f"{fmt_seconds(info['warmup_cpu'])} CPU"
            )
        # R on a subset
        k = {"rt": args.r_series_rt, "farrington": args.r_series_farrington}.get(kind, args.r_series_ears)
        k = min(k, n)
        wide = daily[:k] if kind == "rt" else weekly[:k]
        r_what = {"ears-c1": "C1", "ears-c2": "C2", "ears-c3": "C3"}.get(kind, kind)
        rm, timing, ref = _run_r(r_what, wide, args.timeout)
        notes.append(f"- {rm.summary()} (R start-up and reading included)")
        if timing is None or ref is None:
            failed = True
            continue
        r_points = len(ref)
        per_point = timing["wall"] / max(r_points, 1)
        per_point_cpu = timing["cpu"] / max(r_points, 1)
        full_points = points if points else r_points * n / k
        rows.append(
            [
                kind,
                f"R ({'EpiEstim' if kind == 'rt' else 'surveillance'}), {k} series",
                f"{k:,}",
                f"{r_points:,}",
                fmt_seconds(timing["wall"]),
                fmt_seconds(timing["cpu"]),
                f"{r_points / max(timing['wall'], 1e-9):,.0f}",
                f"{r_points / max(timing['cpu'], 1e-9):,.0f}",
                fmt_bytes(rm.peak_rss),
            ]
        )
        rows.append(
            [
                kind,
                f"R extrapolated to {n:,} series",
                f"{n:,}",
                f"{full_points:,.0f}",
                fmt_seconds(per_point * full_points),
                fmt_seconds(per_point_cpu * full_points),
                "",
                "",
                "",
            ]
        )
        if not out.exists():
            continue
        ours = pq.read_table(out).to_pandas()
        if kind == "rt":
            a = _agree_rt(ours, ref, k)
            same = "yes" if a["na_same"] else "NO"
            agree_rows.append([kind, k, f"{a['points']:,}", a["unmatched"], f"{a['max_rel']:.2e}", "–", same])
        else:
            a = _agree_surveil(ours, ref, k)
            agree_rows.append(
                [
                    kind,
                    k,
                    f"{a['points']:,}",
                    a["unmatched"],
                    f"{a['max_rel_ub']:.2e}",
                    f"{'identical' if a['alarms_identical'] else 'DIFFER in ' + str(a['alarm_diff'])} "
                    f"({a['alarms']} alarms)",
                    "yes" if a["na_same"] else "NO",
                ]
            )

    speed = markdown_table(
        ["method", "implementation", "series", "points", "wall", "CPU", "points/s (wall)", "points/s (CPU)", "peak"],
        rows,
        align="llrrrrrrr",
    )
    agree = markdown_table(
        ["method", "series compared", "points", "unmatched", "max rel. diff", "alarms", "same NA"],
        agree_rows,
        align="lrrrrll",
    )
    body = "\n\n".join(
        [
            f"Same generated data for both sides: {n:,} weekly series × {WEEKS} weeks (EARS, Farrington) and "
            f"{n:,} daily series × {DAYS} days (R_t, SI mean {SI_MEAN} sd {SI_SD}, windows of 7 days). "
            "'points' are monitored series-weeks (one result row each: EARS from the first point with a full "
            "baseline, Farrington the last 52 weeks) or R_t windows (series-days). See the docstring of "
            "`benchmarks/surveillance.py` for the data and the exact calls.",
            "**Speed.** biolake library: the call in a fresh process on an Arrow table read beforehand, "
            "after a first call on one series (one-time loading of numba kernels, DuckDB, scipy; its time is "
            f"in the notes), the fastest of {REPEATS} calls on all series (every call's time and the first "
            "call's rate are in the notes: the first also pays for the process's first touch of fresh memory) "
            "(peak RSS = the whole process). "
            "CLI job: the whole `biolake publichealth surveil|rt … --out X.parquet` "
            "command (start-up, reading, run record, writing the file and the lake table). R: the calls timed "
            "inside R (`proc.time`, without start-up and reading) on the first series only; the line "
            "'R extrapolated' scales R's time per point linearly to all series (R loops over series). "
            "The machine is shared and loaded: compare the CPU columns. 'peak' is the largest sampled RSS of the "
            "process tree (every 0.05 s): the kernel's ru_maxrss (in the notes) is not used because a child "
            "inherits the benchmark process's high-water mark across fork and exec.",
            speed,
            "**Agreement** on the series R ran (biolake's CLI output vs R): max relative difference of the upper "
            "bounds (EARS, Farrington) or of R_t mean, sd and all quantiles where both are defined.",
            agree,
            "\n".join(notes),
            "Goals (issue 12): EARS ≥ 5 M series-weeks/s; Farrington ≥ 50,000 series-weeks/s (10,000 series × 52 "
            "weeks < 15 s); R_t of 10,000 series × 365 days ≤ 1 s.",
            PROFILE,
        ]
    )
    results_dir = HERE if args.quick else None
    path = write_results(NAME, "Surveillance (EARS, Farrington) and R_t: biolake vs R", body, results_dir=results_dir)
    print(path)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
