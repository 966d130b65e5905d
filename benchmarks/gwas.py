"""GWAS: ``biolake genomics gwas`` side by side with ``plink2 --glm``.

``python -m benchmarks gwas [--samples 10000] [--variants 200000] [--covariates 10]
[--logistic-variants 50000] [--quick] [--timeout 3600]``

1. Makes the genotypes with ``plink2 --dummy`` (no missing calls, and 1 % missing calls),
   as a PLINK 1 fileset, a quantitative and a case/control trait and ``--covariates``
   normal covariates (numpy, seed 1), under ``benchmarks/work/gwas/``.
2. Runs, each in its own process and measured the same way (wall time, CPU time, peak
   RSS of the process tree): ``biolake ingest plink``; ``plink2 --glm hide-covar omit-ref``
   with ``--threads 2`` and ``biolake genomics gwas`` (default threads backend) for the
   linear model (both missingness levels) and the logistic model with Firth fallback
   (on ``--logistic-variants`` variants); and biolake's linear GWAS on a tenth of the
   variants, to show that peak RSS does not grow with the variant count.
3. Compares the result tables (largest relative difference of BETA/SE/P, identical
   OBS_CT and error codes) and writes ``benchmarks/results/gwas.md``
   (``--quick``: 2,000 samples × 20,000 variants, results under ``benchmarks/work/``).
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

NAME = "gwas"
HERE = WORK_DIR / NAME


def _dummy(prefix: Path, samples: int, variants: int, missing: float) -> None:
    subprocess.run(
        ["plink2", "--dummy", str(samples), str(variants), str(missing), "0", "acgt", "--make-bed",
         "--threads", "2", "--out", str(prefix)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _traits(here: Path, samples: int, covariates: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    iid = [f"per{i}" for i in range(samples)]
    cov = rng.normal(size=(samples, covariates))
    qt = cov @ rng.normal(0, 0.1, covariates) + rng.normal(size=samples)
    bt = np.where(rng.random(samples) < 1 / (1 + np.exp(-0.3 * cov[:, 0])), 2, 1)
    pheno, covar = here / "pheno.tsv", here / "covar.tsv"
    pd.DataFrame({"#FID": "0", "IID": iid, "qt": qt.round(6), "bt": bt}).to_csv(pheno, sep="\t", index=False)
    frame = pd.DataFrame(cov.round(6), columns=[f"c{j}" for j in range(covariates)])
    frame.insert(0, "IID", iid)
    frame.insert(0, "#FID", "0")
    frame.to_csv(covar, sep="\t", index=False)
    return pheno, covar


def _compare(ours: Path, ref: Path, logistic: bool) -> dict[str, str]:
    a = pd.read_parquet(ours)
    b = pd.read_csv(ref, sep="\t", dtype={"ERRCODE": str}, keep_default_na=False, na_values=["NA"])
    out = {"same obs_ct": str(bool((a["obs_ct"].to_numpy() == b["OBS_CT"].to_numpy()).all()))}
    unfinished = b["ERRCODE"].to_numpy() == "UNFINISHED"
    err_a = a["errcode"].fillna(".").to_numpy()
    out["same errcode"] = str(bool((err_a[~unfinished] == b["ERRCODE"].to_numpy()[~unfinished]).all()))
    cols = (
        [("or", "OR"), ("se", "LOG(OR)_SE"), ("p", "P")] if logistic else [("beta", "BETA"), ("se", "SE"), ("p", "P")]
    )
    for ours_col, ref_col in cols:
        x, y = a[ours_col].to_numpy(float), b[ref_col].to_numpy(float)
        ok = np.isfinite(x) & np.isfinite(y) & (y != 0)
        rel = np.abs(x[ok] - y[ok]) / np.abs(y[ok])
        out[ours_col] = f"max {rel.max():.1e}, 99.9 % ≤ {np.quantile(rel, 0.999):.1e}" if rel.size else "-"
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every run succeeded and the results agree, else 1."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks gwas", description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--variants", type=int, default=200_000)
    parser.add_argument("--covariates", type=int, default=10)
    parser.add_argument("--logistic-variants", type=int, default=50_000)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--quick", action="store_true", help="2,000 x 20,000; results under benchmarks/work/")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args(argv)
    if shutil.which("plink2") is None:
        print("plink2 not found (apt-get install plink2)", file=sys.stderr)
        return 1
    n, m = (2_000, 20_000) if args.quick else (args.samples, args.variants)
    m_log = min(args.logistic_variants, m)
    shutil.rmtree(HERE, ignore_errors=True)
    HERE.mkdir(parents=True)
    pheno, covar = _traits(HERE, n, args.covariates)
    cols = ",".join(f"c{j}" for j in range(args.covariates))
    version = subprocess.run(["plink2", "--version"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()
    biolake = tool("biolake")
    lake = HERE / "lake"
    sets = {"nomiss": (m, 0.0), "miss1": (m, 0.01), "tenth": (max(m // 10, 10), 0.0), "logistic": (m_log, 0.0)}
    runs: list[tuple[str, Measurement]] = []
    status = 0
    rows_agree = []
    for key, (mv, miss) in sets.items():
        _dummy(HERE / key, n, mv, miss)
        ing = run_measured(
            [biolake, "--lake", lake, "-q", "ingest", "plink", HERE / key, "--name", key],
            label=f"biolake ingest plink ({key})",
            timeout=args.timeout,
        )
        runs.append((key, ing))
    for key, model, trait in (
        ("nomiss", "linear", "qt"),
        ("miss1", "linear", "qt"),
        ("tenth", "linear", "qt"),
        ("logistic", "logistic", "bt"),
    ):
        mv, miss = sets[key]
        glm = "firth-fallback hide-covar omit-ref" if model == "logistic" else "hide-covar omit-ref"
        label = f"{model}, {n:,} x {mv:,}, {miss:.0%} missing"
        if key != "tenth":
            pl = run_measured(
                ["plink2", "--bfile", HERE / key, "--pheno", pheno, "--pheno-name", trait, "--covar", covar,
                 "--covar-name", cols, "--glm", *glm.split(), "--threads", "2", "--out", HERE / f"plink_{key}"],
                label=f"plink2 --glm {label}", timeout=args.timeout,
            )  # fmt: skip
            runs.append((key, pl))
        ours = run_measured(
            [biolake, "--lake", lake, "-q", "genomics", "gwas", f"lake:{key}", "--pheno", pheno, "--pheno-col", trait,
             "--covar", covar, "--covar-cols", cols, "--model", model, "--out", HERE / f"biolake_{key}.parquet"],
            label=f"biolake genomics gwas {label}", timeout=args.timeout,
        )  # fmt: skip
        runs.append((key, ours))
        if key == "tenth" or not (pl.ok and ours.ok):
            status = status or int(not ours.ok)
            continue
        suffix = "qt.glm.linear" if model == "linear" else "bt.glm.logistic.hybrid"
        cmp = _compare(HERE / f"biolake_{key}.parquet", HERE / f"plink_{key}.{suffix}", model == "logistic")
        rows_agree.append((label, *cmp.values()))
        status = status or int(cmp["same obs_ct"] != "True" or cmp["same errcode"] != "True")
        ratio_rows = (pl, ours, mv)
        rows_agree[-1] = (
            *rows_agree[-1],
            fmt_ratio(ratio_rows[0].wall_s, ours.wall_s),
            fmt_ratio(pl.cpu_s, ours.cpu_s),
        )
    table = []
    for key, x in runs:
        mv = sets[key][0]
        rate = n * mv / x.wall_s if x.wall_s else 0.0
        table.append(
            (
                x.label,
                fmt_seconds(x.wall_s),
                fmt_seconds(x.cpu_s),
                fmt_bytes(x.peak),
                f"{rate / 1e6:,.0f} M/s",
                x.status,
            )
        )
    body = [
        f"Genotypes from `plink2 --dummy` ({n:,} samples; {m:,} variants without and with 1 % missing calls; "
        f"{m_log:,} variants for the logistic model), {args.covariates} normal covariates, a quantitative trait and a "
        f"case/control trait (numpy, seed 1). plink2: {version}, `--threads 2`, reading the .bed. biolake: default "
        f"threads backend, reading the lake (VCF Zarr layout + int8 ALT counts). Load average when the benchmark "
        f"started: {load[0]:.1f} (other jobs share this 2-core machine; CPU times are the steadier comparison).",
        markdown_table(
            ["run", "wall time", "CPU time", "peak RSS", "genotypes/s (wall)", "status"], table, align="lrrrrl"
        ),
        "Agreement and speed ratios (plink2 / biolake; > 1 means biolake is faster). Relative differences over "
        "variants both tools tested; plink2 fits logistic models in single precision.",
        markdown_table(
            ["model", "same OBS_CT", "same ERRCODE", "beta / OR", "SE", "P", "wall ratio", "CPU ratio"],
            rows_agree,
            align="llllllrr",
        ),
    ]
    facts = machine_facts(("biolake", "numpy", "numba", "scipy", "zarr", "pyarrow"))
    out = write_results(NAME, "GWAS: biolake vs plink2 --glm", "\n\n".join(body), facts,
                        results_dir=HERE if args.quick else None)  # fmt: skip
    print(f"wrote {out}", file=sys.stderr)
    if not args.keep:
        for path in HERE.iterdir():
            if path.name != f"{NAME}.md":
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    return status


if __name__ == "__main__":
    raise SystemExit(main())
