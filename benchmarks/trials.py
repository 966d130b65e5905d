"""Clinical trials: Monte Carlo operating characteristics and OMOP eligibility screening.

``python -m benchmarks trials [--iterations 1000000] [--persons 1000000] [--conditions-per-person 50]
[--rpact-iterations 100000] [--quick]``

1. ``trial simulate``: 10^6 simulated 3-look trials per hypothesis (O'Brien–Fleming, one-sided
   α = 0.025) at the statistic level (independent increments of the score process, numpy
   arrays, chunks of 2^18 trials), timed in its own process (numba/numpy warm-up excluded;
   wall and peak RSS of the process measured by ``run_measured``); the simulated type I error
   must be within 3 Monte Carlo SE of α. Also a design with futility bounds and the
   patient-level simulation of means (t test from per-stage sufficient statistics).
2. R ``rpact::getSimulationMeans`` on the same design and sizes (``--rpact-iterations`` per
   hypothesis; it simulates stage-wise means), when ``Rscript`` and rpact are present.
3. ``trial match``: a synthetic OMOP CDM (:mod:`biolake.discovery.trials.omop_synth`) of
   ``--persons`` persons and about ``--conditions-per-person`` condition rows each, written
   once as Parquet under ``benchmarks/work/trials/``; in one process the CDM tables are loaded
   into DuckDB memory (timed: "loading"), then three criteria sets are screened (best of 3 each).
4. Writes ``benchmarks/results/trials.md`` (``--quick``: 10^5 trials, 100,000 persons × 10
   conditions; results under ``benchmarks/work/``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

from benchmarks._common import (
    WORK_DIR,
    fmt_bytes,
    fmt_seconds,
    machine_facts,
    markdown_table,
    run_measured,
    write_results,
)

NAME = "trials"
HERE = WORK_DIR / NAME

_SIMULATE = """
import json, sys, time, math
from biolake.discovery.trials import design
from biolake.discovery.trials.simulate import simulate
n = int(sys.argv[1])
out = {}
cases = [
    ("OF, 3 looks, statistic level", dict(kmax=3, type_of_design="OF"), {}),
    ("asOF + bsOF futility, 3 looks", dict(kmax=3, type_of_design="asOF", type_beta_spending="bsOF"), {}),
    ("OF, 3 looks, patient level (means, t test)", dict(kmax=3, type_of_design="OF"),
     dict(endpoint="means", alternative=0.5, stdev=1.0, n_max=128.0, patient_level=True)),
]
simulate(design(kmax=3), iterations=1000, seed=0)  # warm-up (imports, numba cache of the recursion)
for label, dopts, sopts in cases:
    d = design(**dopts)
    t0 = time.perf_counter()
    table, summary, info = simulate(d, iterations=n, seed=1, **sopts)
    dt = time.perf_counter() - t0
    h0, h1 = summary.iloc[0], summary.iloc[1]
    out[label] = dict(seconds=dt, alpha_sim=float(h0.rejection), alpha_exact=float(h0.exact_rejection),
                      se=float(math.sqrt(h0.exact_rejection * (1 - h0.exact_rejection) / n)),
                      power_sim=float(h1.rejection), power_exact=float(h1.exact_rejection),
                      en_h0=float(h0.expected_n), en_h1=float(h1.expected_n),
                      reject_h1=table[table.hypothesis == "H1"].stop_efficacy.tolist())
print(json.dumps(out))
"""

_RPACT = """
suppressPackageStartupMessages(library(rpact))
n <- as.integer(commandArgs(trailingOnly = TRUE)[1])
d <- getDesignGroupSequential(kMax = 3, typeOfDesign = "OF")
tm <- system.time(s <- getSimulationMeans(d, groups = 2, alternative = c(0, 0.5), stDev = 1,
    plannedSubjects = c(43, 86, 128), maxNumberOfIterations = n, seed = 1))[["elapsed"]]
cat(sprintf('{"seconds": %.4f, "alpha": %.6f, "power": %.6f, "en_h0": %.4f, "en_h1": %.4f, "version": "%s"}\\n',
    tm, s$overallReject[1], s$overallReject[2], s$expectedNumberOfSubjects[1], s$expectedNumberOfSubjects[2],
    as.character(packageVersion("rpact"))))
"""

_MATCH = """
import json, sys, time
from biolake.discovery.trials.match import OmopCdm, match
cdm_dir = sys.argv[1]
trials = {
  "diabetes, HbA1c 7-10, no CKD": {"index_date": "2015-06-01", "inclusion": [
      {"name": "observed", "observation": {"prior_days": 365}},
      {"name": "adult", "age": {"min": 18, "max": 75}},
      {"name": "diabetes", "condition": {"concepts": [1000], "window": [-3650, 0]}},
      {"name": "HbA1c", "measurement": {"concepts": [8000], "value": {"min": 7, "max": 10}}}],
    "exclusion": [{"name": "CKD", "condition": {"concepts": [2000]}}]},
  "women 40-70 with metabolic disease, no insulin": {"index_date": "2018-01-01", "inclusion": [
      {"name": "women", "sex": "female"}, {"name": "40-70", "age": {"min": 40, "max": 70}},
      {"name": "metabolic", "condition": {"concepts": [900], "min_count": 2}}],
    "exclusion": [{"name": "insulin", "drug": {"concepts": [6000], "window": [-365, 0]}}]},
  "CKD in last 5 years, eGFR < 60": {"index_date": "2020-01-01", "inclusion": [
      {"name": "CKD", "condition": {"concepts": [2000], "window": [-1825, 0]}},
      {"name": "eGFR", "measurement": {"concepts": [8100], "value": {"max": 60}, "window": [-365, 0]}}],
    "exclusion": [{"name": "unrelated 1-5", "condition": {"concepts": [3001, 3002, 3003, 3004, 3005]}}]},
}
t0 = time.perf_counter()
cdm = OmopCdm(cdm_dir, materialize=True)
load = time.perf_counter() - t0
rows = int(cdm.con.execute("SELECT count(*) FROM condition_occurrence").fetchone()[0])
persons = int(cdm.con.execute("SELECT count(*) FROM person").fetchone()[0])
out = {"load": load, "condition_rows": rows, "persons": persons, "trials": {}}
for name, crit in trials.items():
    best = cpu = None
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        eligible, funnel = match(cdm, crit)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        best = dt if best is None else min(best, dt)
        cpu = dc if cpu is None else min(cpu, dc)
    out["trials"][name] = {"seconds": best, "cpu": cpu, "eligible": len(eligible),
                           "funnel": funnel.remaining.tolist()}
print(json.dumps(out))
"""


def _run(label: str, argv: list[str], timeout: float) -> tuple[dict | None, object]:
    m = run_measured(argv, label=label, timeout=timeout)
    result = None
    if m.ok:
        lines = [ln for ln in m.stdout.splitlines() if ln.startswith("{")]
        result = json.loads(lines[-1]) if lines else None
    else:
        print(m.stderr[-2000:], file=sys.stderr)
    return result, m


def _rpact_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(rpact)"], capture_output=True).returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks trials", description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--conditions-per-person", type=float, default=50.0)
    parser.add_argument("--rpact-iterations", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10^5 trials, 100,000 persons × 10 conditions.")
    args = parser.parse_args(argv)
    if args.quick:
        args.iterations, args.persons, args.conditions_per_person = 100_000, 100_000, 10.0
        args.rpact_iterations = min(args.rpact_iterations, 10_000)
    HERE.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    body: list[str] = []
    ok = True

    # ---------------------------------------------------------------- simulate
    sim, m = _run("biolake simulate", [sys.executable, "-c", _SIMULATE, str(args.iterations)], 1800)
    if sim:
        rows = []
        for label, r in sim.items():
            within = abs(r["alpha_sim"] - r["alpha_exact"]) / r["se"]
            rows.append(
                [
                    label,
                    fmt_seconds(r["seconds"]),
                    f"{r['alpha_sim']:.5f}",
                    f"{r['alpha_exact']:.5f}",
                    f"{within:.2f}",
                    f"{r['power_sim']:.4f}",
                    f"{r['power_exact']:.4f}",
                    f"{r['en_h0']:.4g} / {r['en_h1']:.4g}",
                ]
            )
            if "statistic level" in label:
                ok = ok and within <= 3
        body += [
            f"### `trial simulate`: {args.iterations:,} trials per hypothesis (H0 and H1: "
            f"{2 * args.iterations:,} simulated trials per row)",
            "Time of one `simulate` call (both hypotheses, the per-look counts and the exact values by "
            "recursive integration), warm-up excluded. |Δα|/SE: distance of the simulated type I error "
            "from the exact one in Monte Carlo SEs (√(α(1 − α)/n)). The patient-level row uses N = 128, "
            "δ = 0.5, σ = 1 and the t test (its exact column is the normal approximation). Expected n is "
            "relative to the fixed design for the statistic-level rows.",
            markdown_table(
                [
                    "design",
                    "time",
                    "type I (sim)",
                    "type I (exact)",
                    "|Δα|/SE",
                    "power (sim)",
                    "power (exact)",
                    "E[n] H0 / H1",
                ],
                rows,
                align="lrrrrrrr",
            ),
            f"Process: wall {fmt_seconds(m.wall_s)} (imports, warm-up and the three cases), peak RSS "
            f"{fmt_bytes(m.peak)}.",
        ]
    else:
        ok = False
        body.append("`trial simulate` failed: " + m.status)
    if _rpact_available():
        rr, m = _run("rpact", ["Rscript", "-e", _RPACT, str(args.rpact_iterations)], 3600)
        if rr:
            body += [
                f"R `rpact` {rr['version']} `getSimulationMeans` (OF, 3 looks, planned subjects 43/86/128, δ = 0.5, "
                f"σ = 1, {args.rpact_iterations:,} iterations per hypothesis): {fmt_seconds(rr['seconds'])} "
                f"(process wall {fmt_seconds(m.wall_s)}, peak RSS {fmt_bytes(m.peak)}); type I error "
                f"{rr['alpha']:.5f}, power {rr['power']:.4f}, expected n {rr['en_h0']:.2f} / {rr['en_h1']:.2f}. "
                "rpact simulates per-stage means; compare with the patient-level row above "
                f"({args.rpact_iterations:,} vs {args.iterations:,} iterations).",
            ]
    else:
        body.append("R `rpact`: not available.")

    # ---------------------------------------------------------------- match
    from biolake.discovery.trials.omop_synth import generate_cdm

    cdm_dir = HERE / f"omop_{args.persons}_{args.conditions_per_person:g}"
    gen_time = None
    stamp = cdm_dir / "generated.json"  # the generation time of a CDM written by an earlier run
    if not (cdm_dir / "condition_occurrence.parquet").exists() or not stamp.exists():
        t0 = time.perf_counter()
        counts = generate_cdm(
            cdm_dir,
            persons=args.persons,
            conditions_per_person=args.conditions_per_person,
            seed=1,
            chunk_persons=50_000,
        )
        gen_time = time.perf_counter() - t0
        stamp.write_text(json.dumps({"seconds": gen_time, "rows": counts}))
        print(f"generated {counts} in {gen_time:.1f} s", file=sys.stderr)
    else:
        gen_time = json.loads(stamp.read_text())["seconds"]
    res, m = _run("biolake match", [sys.executable, "-c", _MATCH, str(cdm_dir)], 3600)
    if res:
        rows = [
            [
                name,
                fmt_seconds(r["seconds"]),
                fmt_seconds(r["cpu"]),
                f"{r['eligible']:,}",
                " → ".join(f"{x:,}" for x in r["funnel"]),
            ]
            for name, r in res["trials"].items()
        ]
        body += [
            f"### `trial match`: {res['persons']:,} persons, {res['condition_rows']:,} condition rows",
            "Synthetic OMOP CDM (Parquet; also drug_exposure and measurement with 2 rows per person on average). "
            f"Loading the tables into DuckDB memory (event tables sorted by concept id): "
            f"{fmt_seconds(res['load'])}"
            + (f"; generating the CDM: {fmt_seconds(gen_time)}" if gen_time is not None else "")
            + ". Per trial: best of 3 `match` calls (all criteria, the funnel and the eligible ids), wall time and "
            "the process's CPU time (DuckDB's threads included; less sensitive to other work on the machine).",
            markdown_table(["trial", "time", "CPU (all threads)", "eligible", "funnel"], rows, align="lrrrl"),
            f"Process (load + 9 screenings): wall {fmt_seconds(m.wall_s)}, peak RSS {fmt_bytes(m.peak)}.",
        ]
    else:
        ok = False
        body.append("`trial match` failed: " + m.status)
    body.append(
        f"1-minute load average before / after the runs: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
        "(on a shared machine other work competes for the 2 cores; timings vary accordingly)."
    )
    path = write_results(
        NAME,
        "Clinical trials: simulated operating characteristics and OMOP eligibility screening",
        "\n\n".join(body),
        facts=machine_facts(),
        results_dir=HERE if args.quick else None,
    )
    print(f"wrote {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
