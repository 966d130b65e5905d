"""Cox proportional hazards (Efron ties): biolake vs lifelines vs R ``survival::coxph``.

``python -m benchmarks survival [--n 1000000] [--p 10] [--repeat 3] [--lifelines-python PY] [--quick]``

1. A synthetic cohort (fixed seed): ``--n`` rows, ``--p`` covariates (one 0/1, the rest
   normal), exponential event times rounded up to whole days (so many tied times, as in
   real registries), uniform censoring; written once to Parquet (and CSV for R) under
   ``benchmarks/work/survival/``.
2. Each tool runs in its own process (wall time and peak RSS of the process measured by
   ``run_measured``), loads the data, and times **the fit only** (best of ``--repeat``):
   biolake :func:`biolake.stats.coxph.coxph_efron` without and with the robust variance
   (numba kernels compiled and cached by a warm-up fit on 1,000 rows); lifelines
   ``CoxPHFitter().fit`` (Efron, its defaults) when lifelines imports in this interpreter
   or in ``--lifelines-python``; R ``coxph(Surv(time, event) ~ ., ties = "efron")`` when
   ``Rscript`` and the survival package are present.
3. The coefficients and model SEs are compared with R's (max relative difference).
4. Writes ``benchmarks/results/survival.md`` (``--quick``: 100,000 rows, under ``benchmarks/work/``).
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

from benchmarks._common import (
    WORK_DIR,
    fmt_bytes,
    fmt_seconds,
    machine_facts,
    markdown_table,
    run_measured,
    write_results,
)

NAME = "survival"
HERE = WORK_DIR / NAME

_BIOLAKE = """
import json, sys, time
import numpy as np, pyarrow.parquet as pq
from biolake.stats.coxph import coxph_efron
t = pq.read_table(sys.argv[1]); repeat = int(sys.argv[2])
cols = [c for c in t.column_names if c.startswith("x")]
time_ = t["time"].to_numpy(); event = t["event"].to_numpy()
x = np.column_stack([t[c].to_numpy() for c in cols])
coxph_efron(time_[:1000], event[:1000], x[:1000])  # compile / load the numba cache
out = {}
for robust in (False, True):
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter(); fit = coxph_efron(time_, event, x, robust=robust); dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    out["robust" if robust else "model"] = best
out.update(coef=fit.coef.tolist(), se=np.sqrt(np.diag(fit.var)).tolist(),
           robust_se=np.sqrt(np.diag(fit.robust_var)).tolist(), iterations=fit.iterations)
print(json.dumps(out))
"""

_LIFELINES = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
from lifelines import CoxPHFitter
df = pd.read_parquet(sys.argv[1]); repeat = int(sys.argv[2])
best = None
for _ in range(repeat):
    t0 = time.perf_counter(); cph = CoxPHFitter().fit(df, "time", "event"); dt = time.perf_counter() - t0
    best = dt if best is None else min(best, dt)
cols = [c for c in df.columns if c.startswith("x")]
print(json.dumps({"model": best, "coef": cph.params_[cols].tolist(), "se": cph.standard_errors_[cols].tolist()}))
"""

_R = """
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); repeat_n <- as.integer(args[2])
best <- Inf
for (i in seq_len(repeat_n)) {
  tm <- system.time(fit <- coxph(Surv(time, event) ~ ., data = d, ties = "efron"))[["elapsed"]]
  best <- min(best, tm)
}
cat(sprintf('{"model": %.6f, "coef": [%s], "se": [%s]}\\n', best,
            paste(sprintf("%.17g", coef(fit)), collapse = ","),
            paste(sprintf("%.17g", sqrt(diag(vcov(fit)))), collapse = ",")))
"""


def make_data(n: int, p: int, path: Path, *, seed: int = 20261127) -> None:
    """The synthetic cohort (see the module docstring) as Parquet and CSV."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    x[:, 0] = rng.integers(0, 2, n)
    beta = np.linspace(-0.4, 0.4, p)
    event_time = np.ceil(rng.exponential(365 * np.exp(-(x @ beta))))
    censor = np.ceil(rng.uniform(30, 730, n))
    table = pa.table(
        {
            "time": np.minimum(event_time, censor),
            "event": (event_time <= censor).astype(np.int64),
            **{f"x{j + 1}": x[:, j] for j in range(p)},
        }
    )
    pq.write_table(table, path.with_suffix(".parquet"))
    pacsv.write_csv(table, path.with_suffix(".csv"))


def _run(label: str, argv: list[str], timeout: float) -> tuple[dict | None, object]:
    m = run_measured(argv, label=label, timeout=timeout)
    result = None
    if m.ok:
        lines = [ln for ln in m.stdout.splitlines() if ln.startswith("{")]
        result = json.loads(lines[-1]) if lines else None
    else:
        print(m.stderr[-2000:], file=sys.stderr)
    return result, m


def _lifelines_python(given: str | None) -> str | None:
    candidates = [given] if given else [sys.executable, "/tmp/llvenv/bin/python"]
    for py in candidates:
        if py and Path(py).exists():
            ok = subprocess.run([py, "-c", "import lifelines"], capture_output=True).returncode == 0
            if ok:
                return py
    return None


def _rel(a: list[float], b: list[float]) -> float:
    a_, b_ = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a_ - b_) / np.abs(b_)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks survival", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--p", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lifelines-python", default=None, help="A Python with lifelines installed.")
    parser.add_argument("--quick", action="store_true", help="100,000 rows; results under benchmarks/work/.")
    args = parser.parse_args(argv)
    n = 100_000 if args.quick else args.n
    HERE.mkdir(parents=True, exist_ok=True)
    data = HERE / f"cox_{n}_{args.p}"
    if not data.with_suffix(".parquet").exists():
        make_data(n, args.p, data)
    parquet, csv = str(data.with_suffix(".parquet")), str(data.with_suffix(".csv"))
    load_before = os.getloadavg()[0]
    rows = []
    results: dict[str, dict] = {}
    bio, m = _run("biolake", [sys.executable, "-c", _BIOLAKE, parquet, str(args.repeat)], 1800)
    if bio:
        results["biolake"] = bio
        rows.append(["biolake coxph_efron (model SE)", fmt_seconds(bio["model"]), "", ""])
        rows.append(
            ["biolake coxph_efron (+ robust SE)", fmt_seconds(bio["robust"]), fmt_seconds(m.wall_s), fmt_bytes(m.peak)]
        )
    ll_py = _lifelines_python(args.lifelines_python)
    if ll_py:
        ll, m = _run("lifelines", [ll_py, "-c", _LIFELINES, parquet, str(args.repeat)], 3600)
        if ll:
            results["lifelines"] = ll
            version = subprocess.run(
                [ll_py, "-c", "import lifelines; print(lifelines.__version__)"], capture_output=True, text=True
            ).stdout.strip()
            rows.append(
                [f"lifelines {version} CoxPHFitter", fmt_seconds(ll["model"]), fmt_seconds(m.wall_s), fmt_bytes(m.peak)]
            )
    else:
        rows.append(["lifelines", "not installed", "", ""])
    r_ok = shutil.which("Rscript") is not None
    if r_ok:
        rr, m = _run("R", ["Rscript", "-e", _R, csv, str(args.repeat)], 3600)
        if rr:
            results["R"] = rr
            rows.append(["R survival coxph", fmt_seconds(rr["model"]), fmt_seconds(m.wall_s), fmt_bytes(m.peak)])
    else:
        rows.append(["R survival", "Rscript not found", "", ""])
    agreement = []
    if "R" in results:
        for tool_name in ("biolake", "lifelines"):
            if tool_name in results:
                res = results[tool_name]
                agreement.append(
                    [
                        tool_name,
                        f"{_rel(res['coef'], results['R']['coef']):.2e}",
                        f"{_rel(res['se'], results['R']['se']):.2e}",
                    ]
                )
    body = [
        f"Cox proportional hazards, Efron ties, on {n:,} rows × {args.p} covariates "
        f"(no strata; tied whole-day times). Fit time is the best of {args.repeat} fits inside "
        "each tool's process (data loading excluded); wall and peak RSS are of the whole process "
        "(loading the data, warm-up and all repeats).",
        markdown_table(["tool", "fit time", "process wall", "process peak RSS"], rows, align="lrrr"),
    ]
    if agreement:
        body += [
            "Agreement with R (max relative difference over the covariates):",
            markdown_table(["tool", "coef", "model SE"], agreement, align="lrr"),
        ]
    if "biolake" in results:
        body.append(f"biolake Newton–Raphson iterations: {results['biolake']['iterations']}.")
    body.append(
        f"1-minute load average before / after the runs: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
        "(on a shared machine other work competes for the 2 cores; timings vary accordingly)."
    )
    out_dir = HERE if args.quick else None
    path = write_results(
        NAME,
        "Cox regression (Efron): biolake vs lifelines vs R survival",
        "\n\n".join(body),
        facts=machine_facts(),
        results_dir=out_dir,
    )
    print(f"wrote {path}")
    return 0 if "biolake" in results else 1


if __name__ == "__main__":
    raise SystemExit(main())
