"""Ingest a large CSV: ``biolake ingest table`` side by side with pandas and pyarrow.

``python -m benchmarks ingest_table [--size-gb 2] [--quick] [--keep] …``

1. Generates a deterministic CSV (``benchmarks/_gen_table.py``: id, site, age, value,
   date, flag) of ``--size-gb`` GiB, and one of a tenth of that size.
2. Runs ``biolake ingest table FILE --name big --lake benchmarks/work/… --quiet`` on both
   (1× and 10×: peak memory must not grow with the input), and on the big one the peers
   ``pd.read_csv → to_parquet`` and ``pyarrow.csv.read_csv → pq.write_table``, each in
   its own process, measured the same way (wall time, peak RSS of the process tree).
   A peer that runs out of memory or takes longer than ``--timeout`` is recorded as such.
3. Checks that biolake's peak RSS stays below ``--max-rss-gb`` (1 GiB) and that the lake
   holds every generated row (``biolake lake sql "select count(*) as n from big"``);
   exits 1 if not.
4. Writes ``benchmarks/results/ingest_table.md`` (``--quick``: under ``benchmarks/work/``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from benchmarks._common import (
    ROOT,
    WORK_DIR,
    GiB,
    Measurement,
    fmt_bytes,
    fmt_ratio,
    fmt_seconds,
    machine_facts,
    markdown_table,
    run_measured,
    tool,
    write_results,
)

NAME = "ingest_table"
HERE = WORK_DIR / NAME


@dataclass
class Run:
    """The measurements of one tool on one input (several when ``--repeat`` > 1)."""

    tool: str
    input_bytes: int
    input_rows: int
    runs: list[Measurement]
    rows: int | None = None
    output_bytes: int | None = None

    @property
    def ok(self) -> bool:
        return all(m.ok for m in self.runs)

    @property
    def status(self) -> str:
        bad = [m.status for m in self.runs if not m.ok]
        return bad[0] if bad else "ok"

    @property
    def wall(self) -> float | None:
        return statistics.median(m.wall_s for m in self.runs) if self.ok else None

    @property
    def cpu(self) -> float | None:
        return statistics.median(m.cpu_s for m in self.runs) if self.ok else None

    @property
    def peak(self) -> int:
        return max(m.peak_rss for m in self.runs)

    @property
    def ru_maxrss(self) -> int:
        return max(m.ru_maxrss for m in self.runs)

    @property
    def mb_s(self) -> float | None:
        wall = self.wall
        return self.input_bytes / 1e6 / wall if wall else None


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks ingest_table", description=__doc__.split("\n")[0])
    p.add_argument("--size-gb", type=float, default=2.0, help="size of the big CSV in GiB (default 2)")
    p.add_argument("--quick", action="store_true", help="smoke test: a 0.1 GiB run (results under benchmarks/work/)")
    p.add_argument("--keep", action="store_true", help="keep the generated CSVs, lakes and Parquet outputs")
    p.add_argument("--no-peers", action="store_true", help="run biolake only")
    p.add_argument("--repeat", type=int, default=1, help="runs of each command (median time, max RSS)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds a peer may take (default 600)")
    p.add_argument("--max-rss-gb", type=float, default=1.0, help="biolake's peak RSS must stay below (GiB)")
    p.add_argument(
        "--peer-mem-gb",
        type=float,
        default=None,
        help="kill a peer whose RSS passes this (GiB; default 80%% of the memory available at start)",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment of the biolake runs, e.g. BIOLAKE_DUCKDB_MEMORY=256MB (repeatable)",
    )
    p.add_argument("--results", default=None, help="results file name (default ingest_table; --quick: under work/)")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.quick:
        args.size_gb = 0.1
    if args.size_gb <= 0 or args.repeat < 1:
        p.error("--size-gb and --repeat must be > 0")
    return args


def _generate(size: int) -> dict:
    """The CSV of at least ``size`` bytes, generated in a subprocess unless already there."""
    from benchmarks._gen_table import VERSION

    path = HERE / f"table-{size}.csv"
    meta_path = Path(str(path) + ".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("version") == VERSION and meta.get("bytes") == path.stat().st_size:
            print(f"  reusing {path.name}: {meta['rows']:,} rows, {fmt_bytes(meta['bytes'])}", flush=True)
            return meta
    m = run_measured(
        [sys.executable, "-m", "benchmarks._gen_table", path, "--bytes", str(size)],
        label=f"generate {fmt_bytes(size)} CSV",
        cwd=ROOT,
    )
    if not m.ok:
        raise RuntimeError(f"generating {path} failed: {m.status}\n{m.stderr}")
    meta = json.loads(m.stdout.strip().splitlines()[-1])
    meta["generate_s"] = m.wall_s
    return meta


def _warm(path: Path) -> None:
    """Read the file once so every tool starts from the same (cached) page cache state."""
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def _lake_rows(lake: Path, env: dict[str, str]) -> int | None:
    out = lake.parent / f"{lake.name}-count.csv"
    m = run_measured(
        [tool("biolake"), "lake", "sql", "select count(*) as n from big", "--out", out, "--lake", lake],
        label="biolake lake sql count(*)",
        env=env,
        echo=False,
    )
    if not m.ok or not out.exists():
        print(f"  counting rows failed: {m.status}\n{m.stderr}", flush=True)
        return None
    with open(out, newline="") as fh:
        return int(next(csv.DictReader(fh))["n"])


def _biolake(meta: dict, args: argparse.Namespace, env: dict[str, str], tag: str) -> Run:
    src = Path(meta["path"])
    lake = HERE / f"lake-{tag}"
    runs: list[Measurement] = []
    rows = out_bytes = None
    for i in range(args.repeat):
        shutil.rmtree(lake, ignore_errors=True)
        (lake.parent / f"{lake.name}-count.csv").unlink(missing_ok=True)
        m = run_measured(
            [tool("biolake"), "ingest", "table", src, "--name", "big", "--lake", lake, "--quiet"],
            label=f"biolake ingest table ({tag}, run {i + 1})",
            timeout=max(4 * args.timeout, 1800.0),
            env=env,
        )
        runs.append(m)
        if not m.ok:
            break
        rows = _lake_rows(lake, env)
        out_bytes = sum(f.stat().st_size for f in (lake / "tables").rglob("*.parquet"))
    if not args.keep:
        shutil.rmtree(lake, ignore_errors=True)
        (lake.parent / f"{lake.name}-count.csv").unlink(missing_ok=True)
    return Run("biolake", meta["bytes"], meta["rows"], runs, rows, out_bytes)


def _peer(name: str, meta: dict, args: argparse.Namespace, mem_limit: int) -> Run:
    src = Path(meta["path"])
    out = HERE / f"peer-{name}.parquet"
    runs: list[Measurement] = []
    rows = out_bytes = None
    for i in range(args.repeat):
        out.unlink(missing_ok=True)
        m = run_measured(
            [sys.executable, "-m", "benchmarks._peer_table", name, src, out],
            label=f"{name} read_csv → parquet (run {i + 1})",
            timeout=args.timeout,
            rss_limit=mem_limit,
            cwd=ROOT,
        )
        runs.append(m)
        if not m.ok:
            break
        rows = json.loads(m.stdout.strip().splitlines()[-1])["rows"]
        out_bytes = out.stat().st_size
    if not args.keep:
        out.unlink(missing_ok=True)
    return Run(name, meta["bytes"], meta["rows"], runs, rows, out_bytes)


def _rows_cell(run: Run) -> str:
    if run.rows is None:
        return "–"
    return f"{run.rows:,}" + ("" if run.rows == run.input_rows else f" ≠ {run.input_rows:,}")


def _report(
    args: argparse.Namespace,
    small: dict,
    big: dict,
    bio_small: Run,
    bio_big: Run,
    peers: list[Run],
    baseline: Measurement,
    checks: list[tuple[str, bool, str]],
    facts: dict,
    env: dict[str, str],
) -> str:
    out: list[str] = []
    out.append(
        f"Input: a generated CSV (`benchmarks/_gen_table.py`, seed {big['seed']}): columns id (string), "
        "site (24 values), age (int), value (float, 1 % empty), date (YYYY-MM-DD), flag (bool); "
        f"**{fmt_bytes(big['bytes'])}, {big['rows']:,} rows** (and {fmt_bytes(small['bytes'])}, "
        f"{small['rows']:,} rows for the 1× run). Each command runs in its own process, with the file in the "
        f"page cache; runs per command: {args.repeat} (median time, largest RSS)."
        + (f" biolake environment: `{' '.join(f'{k}={v}' for k, v in env.items())}`." if env else "")
    )
    out.append(f"## Side by side ({fmt_bytes(big['bytes'])} CSV → Parquet)")
    header = [
        "tool",
        "status",
        "wall time",
        "CPU time",
        "MB/s",
        "peak RSS (tree, sampled)",
        "ru_maxrss",
        "rows",
        "Parquet out",
        "wall biolake/peer",
        "CPU biolake/peer",
        "peak RSS biolake/peer",
    ]
    rows = []
    for run in [bio_big, *peers]:
        is_peer = run is not bio_big
        rows.append(
            [
                run.tool,
                run.status,
                fmt_seconds(run.wall) if run.ok else f"> {fmt_seconds(max(m.wall_s for m in run.runs))}",
                fmt_seconds(run.cpu),
                f"{run.mb_s:.0f}" if run.mb_s else "–",
                fmt_bytes(run.peak),
                fmt_bytes(run.ru_maxrss),
                _rows_cell(run),
                fmt_bytes(run.output_bytes),
                fmt_ratio(bio_big.wall, run.wall) if is_peer else "1",
                fmt_ratio(bio_big.cpu, run.cpu) if is_peer else "1",
                fmt_ratio(bio_big.peak, run.peak) if is_peer and run.ok else ("1" if not is_peer else "–"),
            ]
        )
    out.append(markdown_table(header, rows, align="ll" + "r" * (len(header) - 2)))
    out.append(
        "Ratios below 1 mean biolake is faster / smaller. A peer killed at the memory guard or the time limit "
        "shows the RSS / time it had reached."
    )
    out.append("## biolake peak memory vs input size")
    rows = []
    for factor, run, meta in (("1×", bio_small, small), ("10×", bio_big, big)):
        rows.append(
            [
                factor,
                fmt_bytes(meta["bytes"]),
                f"{meta['rows']:,}",
                run.status,
                fmt_seconds(run.wall),
                fmt_seconds(run.cpu),
                f"{run.mb_s:.0f}" if run.mb_s else "–",
                fmt_bytes(run.peak),
                fmt_bytes(run.ru_maxrss),
            ]
        )
    out.append(
        markdown_table(
            [
                "input",
                "size",
                "rows",
                "status",
                "wall time",
                "CPU time",
                "MB/s",
                "peak RSS (tree, sampled)",
                "ru_maxrss",
            ],
            rows,
            align="lrrlrrrrr",
        )
    )
    growth = bio_big.peak / bio_small.peak if bio_small.peak else float("nan")
    out.append(
        f"Peak RSS at 10× the input is {growth:.2f}× that at 1× "
        f"(startup baseline, `biolake --version`: {fmt_bytes(baseline.peak_rss)}, {fmt_seconds(baseline.wall_s)})."
    )
    out.append("## Checks")
    out.append("\n".join(f"- {'PASS' if ok else 'FAIL'}: {what} — {detail}" for what, ok, detail in checks))
    out.append("## Commands and method")
    out.append(
        "\n".join(
            [
                "- biolake: `biolake ingest table FILE --name big --lake LAKE --quiet`; rows counted with "
                '`biolake lake sql "select count(*) as n from big" --out n.csv`.',
                "- pandas: `pd.read_csv(FILE)` → `df.to_parquet(OUT, compression='zstd', index=False)`; "
                "pyarrow: `pyarrow.csv.read_csv(FILE)` → `pq.write_table(t, OUT, compression='zstd')` "
                "(`benchmarks/_peer_table.py`). biolake writes zstd Parquet too, with DuckDB-inferred types "
                "(date as DATE; pandas keeps it as a string).",
                "- Wall time: from spawn to exit (interpreter start and imports included). CPU time: user + "
                "system seconds (less sensitive than wall time to other load on the machine; see the load "
                "averages below). MB/s = input bytes / 10⁶ / wall time.",
                "- Peak RSS (tree, sampled): the largest sum of RSS over the process and all its descendants, "
                "sampled with psutil every 50 ms. ru_maxrss: the kernel's high-water mark of the largest "
                "single process (from `wait4`, what `getrusage(RUSAGE_CHILDREN)` reports), catching spikes "
                "between samples.",
                f"- Peers are killed above {fmt_bytes(args.peer_mem)} RSS (a guard for the shared machine) or "
                f"after {fmt_seconds(args.timeout)}.",
                f"- `python -m benchmarks {' '.join([NAME, *args.argv])}` reproduces this file.",
            ]
        )
    )
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    big_size = int(args.size_gb * GiB)
    small_size = big_size // 10
    env: dict[str, str] = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"error: --env expects KEY=VALUE, got {item!r}", file=sys.stderr)
            return 2
        env[key] = value
    facts = machine_facts()
    available = psutil.virtual_memory().available
    args.peer_mem = int(args.peer_mem_gb * GiB) if args.peer_mem_gb else int(0.8 * available)
    free = shutil.disk_usage(WORK_DIR.parent).free
    if free < 2.5 * (big_size + small_size):
        print(f"error: {fmt_bytes(free)} free disk; need about {fmt_bytes(2.5 * (big_size + small_size))}")
        return 2
    HERE.mkdir(parents=True, exist_ok=True)
    print(f"ingest_table: {fmt_bytes(big_size)} and {fmt_bytes(small_size)} CSVs under {HERE}", flush=True)
    baseline = run_measured([tool("biolake"), "--version"], label="biolake --version (startup baseline)", env=env)

    small = _generate(small_size)
    _warm(Path(small["path"]))
    bio_small = _biolake(small, args, env, "1x")
    if not args.keep:
        Path(small["path"]).unlink(missing_ok=True)
        Path(small["path"] + ".json").unlink(missing_ok=True)

    big = _generate(big_size)
    _warm(Path(big["path"]))
    bio_big = _biolake(big, args, env, "10x")
    peers = [] if args.no_peers else [_peer(name, big, args, args.peer_mem) for name in ("pandas", "pyarrow")]
    if not args.keep:
        Path(big["path"]).unlink(missing_ok=True)
        Path(big["path"] + ".json").unlink(missing_ok=True)

    limit = int(args.max_rss_gb * GiB)
    checks: list[tuple[str, bool, str]] = []
    for run, meta in ((bio_small, small), (bio_big, big)):
        size = fmt_bytes(meta["bytes"])
        checks.append((f"biolake ingest of {size} succeeded", run.ok, run.status))
        peak = max(run.peak, run.ru_maxrss)
        checks.append(
            (
                f"biolake peak RSS < {fmt_bytes(limit)} ({size})",
                run.ok and peak < limit,
                f"{fmt_bytes(run.peak)} sampled, {fmt_bytes(run.ru_maxrss)} ru_maxrss",
            )
        )
        checks.append(
            (
                f"rows in the lake == rows generated ({size})",
                run.rows == meta["rows"],
                f"{run.rows if run.rows is None else format(run.rows, ',')} vs {meta['rows']:,}",
            )
        )
    load = os.getloadavg()
    facts["load average (1/5/15 min) at end"] = " / ".join(f"{x:.2f}" for x in load)
    for line in checks:
        print(f"  {'PASS' if line[1] else 'FAIL'}: {line[0]} — {line[2]}", flush=True)

    body = _report(args, small, big, bio_small, bio_big, peers, baseline, checks, facts, env)
    title = f"Ingest a {fmt_bytes(big['bytes'])} CSV: biolake vs pandas vs pyarrow"
    results_dir = WORK_DIR / "results" if args.quick else None  # smoke runs keep the real figures
    path = write_results(args.results or NAME, title, body, facts, results_dir=results_dir)
    print(f"  wrote {path}", flush=True)
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
