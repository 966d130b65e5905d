"""Pharmacogenomics: the ``biolake precision pgx`` pipeline on a many-sample VCF.

``python -m benchmarks pgx [--samples 1000 10000] [--quick] [--timeout 3600]``

1. A VCF over every PharmCAT position the matcher reads (the allele definitions shipped in the package, 19 genes,
   ~1,200 positions; GRCh38, ``chr`` names), one column per sample: for each sample and gene two named alleles
   drawn from synthetic allele frequencies (the reference allele 70 %, the other alleles Zipf-like, s = 1.5, in
   definition order), written as the unphased genotypes they imply (reference where an allele is silent, IUPAC
   codes resolved to a non-reference base); 0.5 % of genotypes are no-calls (``./.``).
   Written by a child process (``--generate``), so that this process stays small: a child's ``ru_maxrss``
   starts at its parent's RSS at the fork.
2. Runs ``biolake precision pgx VCF --out … --recommendations …`` (matching, phenotypes, recommendations,
   result tables registered in a fresh lake) in a fresh process (:func:`benchmarks._common.run_measured`: wall
   time, CPU time, sampled peak RSS of the process tree and ``ru_maxrss``).
3. Writes ``benchmarks/results/pgx.md``: samples, wall and CPU time per sample, peak RSS; the peer is
   PharmCAT's published 5.6–5.9 s per sample per core (PharmCAT is Java and not installed here).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._common import (
    WORK_DIR,
    fmt_bytes,
    fmt_seconds,
    machine_facts,
    markdown_table,
    run_measured,
    tool,
    write_results,
)

NAME = "pgx"
HERE = WORK_DIR / NAME
PHARMCAT_S_PER_SAMPLE = (5.6, 5.9)


def generate(path: Path, n_samples: int, *, seed: int = 11) -> None:
    from biolake.precision.pgx._definitions import IUPAC, load_definitions

    rng = np.random.default_rng(seed)
    defs = load_definitions()
    chrom_order = {f"chr{c}": k for k, c in enumerate([*map(str, range(1, 23)), "X", "Y", "M"])}
    records = []  # (chrom_key, pos, line prefix, per-sample GT strings)
    for gd in defs.values():
        n_al = len(gd.alleles)
        w = np.r_[0.0, 1.0 / np.arange(1, n_al) ** 1.5]
        w = 0.3 * w / w.sum() if n_al > 1 else w
        w[0] = 0.7 if n_al > 1 else 1.0
        a1 = rng.choice(n_al, n_samples, p=w)
        a2 = rng.choice(n_al, n_samples, p=w)
        ref = gd.reference
        for i, pos in enumerate(gd.positions):
            alle = [gd.refs[i], *gd.alts[i]]
            per_allele = []
            for na in gd.alleles:
                a = na.alleles[i] if na.alleles[i] is not None else ref.alleles[i]
                if len(a) == 1 and a not in "ACGT":
                    a = next((b for b in IUPAC[a] if b != gd.refs[i]), IUPAC[a][0])
                if a not in alle:
                    alle.append(a)
                per_allele.append(alle.index(a))
            code = np.asarray(per_allele)
            g1, g2 = code[a1].astype(str), code[a2].astype(str)
            gt = np.char.add(np.char.add(g1, "/"), g2)
            gt[rng.random(n_samples) < 0.005] = "./."
            prefix = f"{gd.chromosome}\t{pos}\t.\t{gd.refs[i]}\t{','.join(alle[1:])}\t.\tPASS\t.\tGT\t"
            records.append((chrom_order.get(gd.chromosome, 99), pos, prefix, gt))
    records.sort(key=lambda r: (r[0], r[1]))
    with open(path, "w") as fh:
        fh.write("##fileformat=VCFv4.2\n##source=biolake benchmarks/pgx.py (synthetic)\n")
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t")
        fh.write("\t".join(f"S{k:06d}" for k in range(n_samples)) + "\n")
        for _, _, prefix, gt in records:
            fh.write(prefix + "\t".join(gt.tolist()) + "\n")


def _counts(phenotypes: Path, recommendations: Path) -> dict[str, int]:
    """Rows of the pipeline's outputs: gene calls (phenotype rows), ambiguous rows, recommendation rows."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    amb = pq.read_table(phenotypes, columns=["ambiguous"]).column("ambiguous")
    return {
        "phenotype_rows": pq.read_metadata(phenotypes).num_rows,
        "ambiguous_rows": int(pc.sum(amb).as_py() or 0),
        "recommendations": pq.read_metadata(recommendations).num_rows,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks pgx")
    ap.add_argument("--samples", type=int, nargs="+", default=[1_000, 10_000])
    ap.add_argument("--quick", action="store_true", help="200 samples, results under benchmarks/work/")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--generate", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.generate:
        generate(Path(args.generate[1]), int(args.generate[0]))
        return 0
    sizes = [200] if args.quick else args.samples
    HERE.mkdir(parents=True, exist_ok=True)
    biolake = tool("biolake")
    rows, notes = [], []
    load = os.getloadavg()
    for n in sizes:
        vcf = HERE / f"pgx_{n}.vcf"
        if not vcf.exists():
            # in a child process: a process started later inherits this one's RSS high-water mark in its
            # ru_maxrss (Linux records the old address space's peak at exec), so this process must stay small
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "benchmarks.pgx", "--generate", str(n), str(vcf)], check=True)
            print(f"generated {vcf} ({fmt_bytes(vcf.stat().st_size)}) in {fmt_seconds(time.perf_counter() - t)}")
        lake, ph, rec = HERE / f"lake_{n}", HERE / f"phenotypes_{n}.parquet", HERE / f"recommendations_{n}.parquet"
        shutil.rmtree(lake, ignore_errors=True)
        m = run_measured(
            [biolake, "--lake", lake, "-q", "precision", "pgx", vcf, "--out", ph, "--recommendations", rec],
            label=f"biolake precision pgx, {n} samples", timeout=args.timeout,
        )  # fmt: skip
        if m.status != "ok":
            rows.append([f"{n:,}", fmt_bytes(vcf.stat().st_size), m.status, "", "", "", "", ""])
            continue
        info = _counts(ph, rec)
        cores = max(m.cpu_s / m.wall_s, 1.0) if m.wall_s else 1.0
        rows.append([
            f"{n:,}", fmt_bytes(vcf.stat().st_size), fmt_seconds(m.wall_s), f"{m.wall_s / n:.4f}",
            f"{m.cpu_s / n:.4f}", fmt_seconds(m.cpu_s), fmt_bytes(m.peak_rss), fmt_bytes(m.ru_maxrss),
        ])  # fmt: skip
        notes.append(
            f"{n:,} samples: {info['phenotype_rows']:,} phenotype rows ({info['ambiguous_rows']:,} of them possible "
            f"diplotypes of ambiguous calls), {info['recommendations']:,} recommendation rows; {cores:.2f} cores "
            "busy on average."
        )
        shutil.rmtree(lake, ignore_errors=True)
    table = markdown_table(
        ["samples", "VCF size", "wall time", "s / sample (wall)", "CPU s / sample", "CPU time", "peak RSS (sampled)",
         "ru_maxrss"], rows)  # fmt: skip
    body = "\n\n".join([
        "`python -m benchmarks pgx` — the whole `biolake precision pgx VCF --out phenotypes.parquet "
        "--recommendations recommendations.parquet` pipeline (VCF → `match_vcf` (PharmCAT NamedAlleleMatcher "
        "semantics) → phenotypes → CPIC recommendations → result tables registered in a lake) over a synthetic VCF "
        "of every PGx position (19 genes), in a fresh process (wall time, CPU time, peak RSS of the process tree "
        "sampled every 50 ms, and the kernel's `ru_maxrss`). The VCFs are generated by a child process, so the "
        "benchmark process stays small (a child's `ru_maxrss` starts at its parent's RSS at the fork: the "
        "1.80 GiB `ru_maxrss` of the earlier 10,000-sample row was the benchmark process's own peak while it "
        "generated the VCF in-process, not the pipeline's). Goal: ≤ 0.05 s per sample per core, peak RSS "
        "independent of the number of samples. The pipeline is single-threaded, so CPU seconds per sample is the "
        "cost per sample per core; wall time also counts waiting for the machine's two cores when other jobs run "
        f"(load average when the benchmark started: {load[0]:.1f}).",
        table,
        "\n".join(f"- {x}" for x in notes),
        "Memory: the job keeps no per-sample state — phenotype and recommendation rows go to Parquet every "
        "10,000 rows (freed Arrow memory is handed back after each batch read back) and the report's per-sample "
        "inputs (with `--report`) to a pickle file as they come; above 2,048 samples the reader writes each "
        "record's genotype codes to an anonymous temporary file and the matcher matches 2,048 samples at a "
        "time, with a cache of distinct per-gene genotype patterns bounded at 4,096 entries. Peak RSS is "
        "therefore (nearly) independent of the sample count (see the table; it grew from 376 to 583 MiB "
        "between 1,000 and 10,000 samples before these changes).",
        f"Peer: PharmCAT (Java) takes {PHARMCAT_S_PER_SAMPLE[0]}–{PHARMCAT_S_PER_SAMPLE[1]} s per sample per core "
        "(the figure quoted in issue 11; PharmCAT is not installed here, so it was not re-measured).",
    ])  # fmt: skip
    results_dir = HERE if args.quick else None
    facts = machine_facts(("biolake", "pyarrow", "pandas", "numpy"))
    path = write_results(
        NAME, "Pharmacogenomics: the precision pgx pipeline on a many-sample VCF", body, facts, results_dir=results_dir
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
