"""Polygenic scores: ``biolake precision prs`` side by side with ``plink2 --score``.

``python -m benchmarks prs [--samples 10000] [--variants 1000000] [--scores 10] [--quick]
[--timeout 3600] [--keep] [--no-peer]`` (``BIOLAKE_BENCH_PRS_SIZE=SAMPLESxVARIANTS`` overrides the size)

1. Makes the genotypes with ``plink2 --dummy`` (1 % missing calls, ACGT alleles) as a PLINK 1
   fileset and a plain weights table ``id effect_allele s1 … sK`` over every variant (the
   effect allele is A1 or A2 at random, weights normal; numpy seed 1), under
   ``benchmarks/work/prs/``.
2. Runs, each in its own process and measured the same way (wall time, CPU time, peak RSS
   of the process tree; the weights are written by a child process, so that this process stays
   small: a child's ``ru_maxrss`` starts at its parent's RSS at the fork): ``biolake ingest plink``
   (once; not part of the comparison),
   ``plink2 --score … header-read cols=+scoresums --score-col-nums 3-… --threads 2`` on the
   .bed, and ``biolake precision prs --keep-ambiguous`` (plink2 does not drop A/T and C/G
   SNPs; default threads backend) on the lake; and biolake on a tenth of the weights rows,
   to show that peak RSS does not grow with the variant count.
3. Compares the scores (same ALLELE_CT and NAMED_ALLELE_DOSAGE_SUM, largest relative
   difference of the sums and averages; plink2 prints 6 significant digits) and writes
   ``benchmarks/results/prs.md`` (``--quick``: 2,000 samples × 100,000 variants, results
   under ``benchmarks/work/``).
"""

from __future__ import annotations

import argparse
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
    machine_facts,
    markdown_table,
    run_measured,
    tool,
    write_results,
)

NAME = "prs"
HERE = WORK_DIR / NAME
SIZE_ENV = "BIOLAKE_BENCH_PRS_SIZE"


def _weights(bim: Path, out: Path, scores: int, every: int = 1) -> int:
    """A plain weights table over every ``every``-th variant of the .bim; returns its rows."""
    rng = np.random.default_rng(1)
    v = pd.read_csv(bim, sep="\t", header=None, usecols=[1, 4, 5], names=["id", "a1", "a2"], dtype=str)
    v = v.iloc[::every]
    ea = np.where(rng.random(len(v)) < 0.5, v["a1"].to_numpy(), v["a2"].to_numpy())
    w = rng.normal(0, 0.05, size=(len(v), scores))
    frame = pd.DataFrame(w, columns=[f"s{k + 1}" for k in range(scores)])
    frame.insert(0, "effect_allele", ea)
    frame.insert(0, "id", v["id"].to_numpy())
    frame.to_csv(out, sep="\t", index=False, float_format="%.6g")
    return len(v)


def _compare(ours: Path, ref: Path, scores: int) -> dict[str, str]:
    a = pd.read_parquet(ours)
    b = pd.read_csv(ref, sep="\t").rename(columns={"#FID": "FID", "#IID": "IID"})
    out: dict[str, str] = {}
    first = a[a["score"] == "s1"].reset_index(drop=True)
    out["same IIDs"] = str(first["sample_id"].astype(str).tolist() == b["IID"].astype(str).tolist())
    out["same ALLELE_CT"] = str(bool((first["allele_ct"].to_numpy() == b["ALLELE_CT"].to_numpy()).all()))
    d = np.abs(first["dosage_sum"].to_numpy() - b["NAMED_ALLELE_DOSAGE_SUM"].to_numpy())
    out["dosage sum rel"] = f"{(d / np.abs(b['NAMED_ALLELE_DOSAGE_SUM'].to_numpy())).max():.1e}"
    rel_sum, rel_avg = 0.0, 0.0
    for k in range(1, scores + 1):
        x = a[a["score"] == f"s{k}"]
        for ours_col, ref_col, acc in (("score_sum", f"s{k}_SUM", "sum"), ("score_avg", f"s{k}_AVG", "avg")):
            y = b[ref_col].to_numpy(float)
            r = float(np.max(np.abs(x[ours_col].to_numpy(float) - y) / np.maximum(np.abs(y), 1e-300)))
            if acc == "sum":
                rel_sum = max(rel_sum, r)
            else:
                rel_avg = max(rel_avg, r)
    out["score_sum rel"] = f"{rel_sum:.1e}"
    out["score_avg rel"] = f"{rel_avg:.1e}"
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every run succeeded and the results agree, else 1."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks prs", description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=1_000_000)
    parser.add_argument("--scores", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--quick", action="store_true", help="2,000 x 100,000; results under benchmarks/work/")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--no-peer", action="store_true", help="do not run plink2 --score (no comparison)")
    parser.add_argument("--make-weights", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.make_weights:
        bim, full, tenth_path, k = args.make_weights
        _weights(Path(bim), Path(full), int(k))
        print(_weights(Path(bim), Path(tenth_path), int(k), every=10))
        return 0
    if shutil.which("plink2") is None:
        print("plink2 not found (apt-get install plink2)", file=sys.stderr)
        return 1
    n, m = (2_000, 100_000) if args.quick else (args.samples, args.variants)
    if os.environ.get(SIZE_ENV):
        n, m = (int(x.replace(",", "").replace("_", "")) for x in os.environ[SIZE_ENV].lower().split("x"))
    s = args.scores
    shutil.rmtree(HERE, ignore_errors=True)
    HERE.mkdir(parents=True)
    version = subprocess.run(["plink2", "--version"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()
    prefix = HERE / "geno"
    subprocess.run(
        ["plink2", "--dummy", str(n), str(m), "0.01", "0", "acgt", "--make-bed", "--threads", "2", "--out",
         str(prefix)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    weights, tenth = HERE / "weights.tsv", HERE / "weights_tenth.tsv"
    # in a child process: a process started later inherits this one's RSS high-water mark in its ru_maxrss
    # (Linux records the old address space's peak at exec), so this process must stay small
    made = subprocess.run(
        [sys.executable, "-m", "benchmarks.prs", "--make-weights", str(prefix.with_suffix(".bim")), str(weights),
         str(tenth), str(s)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    m_tenth = int(made.stdout.split()[-1])
    biolake = tool("biolake")
    lake = HERE / "lake"
    ing = run_measured(
        [biolake, "--lake", lake, "-q", "ingest", "plink", prefix, "--name", "geno"],
        label=f"biolake ingest plink ({n:,} x {m:,})",
        timeout=args.timeout,
    )
    runs: list[tuple[Measurement, int]] = [(ing, m)]
    pl = None if args.no_peer else run_measured(
        ["plink2", "--bfile", prefix, "--score", weights, "1", "2", "header-read", "cols=+scoresums",
         "--score-col-nums", f"3-{s + 2}", "--threads", "2", "--out", HERE / "plink"],
        label=f"plink2 --score ({n:,} x {m:,} x {s})", timeout=args.timeout,
    )  # fmt: skip
    ours = run_measured(
        [biolake, "--lake", lake, "-q", "precision", "prs", "lake:geno", "--weights", weights, "--keep-ambiguous",
         "--out", HERE / "biolake.parquet"],
        label=f"biolake precision prs ({n:,} x {m:,} x {s})", timeout=args.timeout,
    )  # fmt: skip
    small = run_measured(
        [biolake, "--lake", lake, "-q", "precision", "prs", "lake:geno", "--weights", tenth, "--keep-ambiguous",
         "--out", HERE / "biolake_tenth.parquet"],
        label=f"biolake precision prs, a tenth of the variants ({n:,} x {m_tenth:,} x {s})", timeout=args.timeout,
    )  # fmt: skip
    runs += ([] if pl is None else [(pl, m)]) + [(ours, m), (small, m_tenth)]
    status = int(not (ing.ok and (pl is None or pl.ok) and ours.ok and small.ok))
    agree: dict[str, str] = {}
    if pl is not None and pl.ok and ours.ok:
        agree = _compare(HERE / "biolake.parquet", HERE / "plink.sscore", s)
        status = status or int(agree["same ALLELE_CT"] != "True" or agree["same IIDs"] != "True")
        status = status or int(float(agree["score_sum rel"]) > 1e-5 or float(agree["score_avg rel"]) > 1e-5)
    table = [
        (x.label, fmt_seconds(x.wall_s), fmt_seconds(x.cpu_s), fmt_bytes(x.peak), f"{n * mv / x.wall_s / 1e6:,.0f} M/s",
         x.status)
        for x, mv in runs
    ]  # fmt: skip
    goal = "met" if ours.ok and ours.wall_s <= 15 and ours.peak <= 500 * (1 << 20) else "not met"
    body = [
        f"Genotypes from `plink2 --dummy` ({n:,} samples × {m:,} variants, 1 % missing calls, ACGT alleles), a plain "
        f"weights table with {s} scores over every variant (effect allele A1 or A2 at random; numpy seed 1). "
        f"plink2: {version}, `--threads 2`, reading the .bed. biolake: default threads backend, reading the lake's "
        f"2-bit packed genotype copy (`call_genotype_packed`), `--keep-ambiguous` (plink2 scores A/T and C/G SNPs "
        f"too). The weights files are written by a child process, so the benchmark process stays small (a "
        f"child's `ru_maxrss` includes its parent's RSS at the time of the fork). "
        f"Load average when the benchmark started: {load[0]:.1f} (other jobs share this 2-core machine; CPU times "
        "are the steadier comparison).",
        markdown_table(
            ["run", "wall time", "CPU time", "peak RSS", "genotypes/s (wall)", "status"], table, align="lrrrrl"
        ),
        (
            f"Speed ratios (plink2 / biolake; > 1 means biolake is faster): wall {fmt_ratio(pl.wall_s, ours.wall_s)}, "
            f"CPU {fmt_ratio(pl.cpu_s, ours.cpu_s)}. "
            if pl is not None
            else "plink2 was not run (`--no-peer`). "
        )
        + f"Goal for 1 M variants × 10,000 samples × 10 scores: ≤ 15 s on 2 "
        f"cores and ≤ 500 MB peak RSS — at this size: {goal}.",
        "Agreement with plink2 (largest relative differences over all samples and scores; plink2 prints 6 "
        "significant digits):",
        markdown_table(["check", "value"], agree.items(), align="ll")
        if agree
        else ("(not compared: plink2 not run)" if pl is None else "(not compared: a run failed)"),
    ]
    facts = machine_facts(("biolake", "numpy", "numba", "zarr", "pyarrow", "pandas"))
    out = write_results(NAME, "Polygenic scores: biolake vs plink2 --score", "\n\n".join(body), facts,
                        results_dir=HERE if args.quick else None)  # fmt: skip
    print(f"wrote {out}", file=sys.stderr)
    if not args.keep:
        for path in HERE.iterdir():
            if path.name != f"{NAME}.md":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    return status


if __name__ == "__main__":
    raise SystemExit(main())
