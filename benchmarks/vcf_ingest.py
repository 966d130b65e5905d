"""VCF ingest: ``biolake ingest vcf`` side by side with ``bcftools view -Ou`` and ``plink2 --make-pgen``.

``python -m benchmarks vcf_ingest [--samples 2000] [--variants 50000] [--quick] [--no-10x]``

1. Generates a deterministic bgzip VCF (GT only, biallelic SNPs, 2 % missing calls, allele
   frequencies uniform in [0.01, 0.5]) of ``--samples`` × ``--variants``, and one with 10×
   the variants (same samples), compressed with ``bgzip -@2``.
2. On the 1× file runs, each in its own process, measured the same way (wall time, peak RSS
   of the process tree): ``biolake ingest vcf`` (2 parser threads), ``bcftools view -Ou``
   (decode + BCF encode, to /dev/null; ``--threads 2``) and ``plink2 --vcf … --make-pgen``
   (``--threads 2``) when installed, and biolake on the same data as BCF (``bcftools view
   -Ob``; decoded by htslib through cyvcf2). On the 10× file, biolake only: its peak RSS
   must not grow with the input.
3. Checks that biolake's result has every generated call (``call_genotype`` shape) and
   writes ``benchmarks/results/vcf_ingest.md`` (``--quick``: under ``benchmarks/work/``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks._common import (
    WORK_DIR,
    GiB,
    Measurement,
    fmt_bytes,
    fmt_seconds,
    machine_facts,
    markdown_table,
    run_measured,
    tool,
    write_results,
)

NAME = "vcf_ingest"
HERE = WORK_DIR / NAME
_TOKENS = np.frombuffer(b"0/0\t0/1\t1/1\t./.\t", dtype=np.uint8).reshape(4, 4)


def generate(path: Path, *, n_samples: int, n_variants: int, seed: int = 1) -> int:
    """Write a bgzip VCF (``bgzip -@2``) of biallelic SNP genotypes; returns the text size in bytes."""
    rng = np.random.default_rng(seed)
    header = [
        "##fileformat=VCFv4.2",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "##contig=<ID=1>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(f"S{i:06d}" for i in range(n_samples)),
    ]
    size = 0
    with open(path, "wb") as out:
        proc = subprocess.Popen(["bgzip", "-@2", "-c"], stdin=subprocess.PIPE, stdout=out)
        assert proc.stdin is not None
        head = ("\n".join(header) + "\n").encode()
        proc.stdin.write(head)
        size += len(head)
        block = 2000
        for start in range(0, n_variants, block):
            m = min(block, n_variants - start)
            p = rng.uniform(0.01, 0.5, size=(m, 1))
            codes = (rng.random((m, n_samples)) < p).astype(np.uint8) + (rng.random((m, n_samples)) < p)
            codes[rng.random((m, n_samples)) < 0.02] = 3
            text = _TOKENS[codes].reshape(m, n_samples * 4)
            text[:, -1] = 10
            lines = [
                f"1\t{start + i + 1}\tv{start + i + 1}\tA\tG\t.\tPASS\t.\tGT\t".encode() + text[i].tobytes()
                for i in range(m)
            ]
            chunk = b"".join(lines)
            proc.stdin.write(chunk)
            size += len(chunk)
        proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError("bgzip failed")
    return size


def _rate(n_calls: int, m: Measurement) -> str:
    return f"{n_calls / m.wall_s / 1e6:.1f}" if m.ok else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks {NAME}", description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--variants", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="200 samples x 5,000 variants, results under work/")
    parser.add_argument("--no-10x", action="store_true", help="skip the 10x input")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.variants = 200, 5000
    for needed in ("bgzip", "bcftools"):
        if shutil.which(needed) is None:
            print(f"{NAME}: {needed} not found (apt-get install -y bcftools tabix)", file=sys.stderr)
            return 1
    HERE.mkdir(parents=True, exist_ok=True)
    n, m = args.samples, args.variants
    inputs = {"1x": (HERE / f"g_{n}x{m}.vcf.gz", m)}
    if not args.no_10x:
        inputs["10x"] = (HERE / f"g_{n}x{10 * m}.vcf.gz", 10 * m)
    text_bytes = {}
    for key, (path, variants) in inputs.items():
        marker = path.with_suffix(".textsize")
        if not path.exists() or not marker.exists():
            print(f"{NAME}: generating {path.name}", file=sys.stderr)
            marker.write_text(str(generate(path, n_samples=n, n_variants=variants)))
        text_bytes[key] = int(marker.read_text())
    biolake = tool("biolake")
    warm = HERE / "warmup.vcf.gz"  # numba compiles the parser once and caches it: not measured
    if not warm.exists():
        generate(warm, n_samples=10, n_variants=10)
    shutil.rmtree(HERE / "lake_warmup", ignore_errors=True)
    subprocess.run(
        [biolake, "--lake", HERE / "lake_warmup", "ingest", "vcf", warm, "--name", "w", "--quiet"], check=True
    )
    rows = []
    ok = True
    peaks: dict[str, int] = {}
    cpu: dict[str, float] = {}
    load = {"start": os.getloadavg()[0]}
    plink2 = shutil.which("plink2")
    for key, (path, variants) in inputs.items():
        calls = n * variants
        gz = path.stat().st_size
        bcf_size = gz
        lake = HERE / f"lake_{key}"
        shutil.rmtree(lake, ignore_errors=True)
        runs = [
            run_measured(
                [biolake, "--lake", lake, "ingest", "vcf", path, "--name", "g", "--quiet"],
                label=f"biolake ingest vcf ({key})",
                timeout=args.timeout,
                rss_limit=8 * GiB,
            )
        ]
        if key == "1x":
            bcf = path.with_suffix("").with_suffix(".bcf")  # the same data as BCF (htslib via cyvcf2)
            if not bcf.exists():
                subprocess.run(["bcftools", "view", "--threads", "2", "-Ob", "-o", bcf, path], check=True)
            bcf_size = bcf.stat().st_size
            shutil.rmtree(HERE / "lake_bcf", ignore_errors=True)
            runs.append(
                run_measured(
                    [biolake, "--lake", HERE / "lake_bcf", "ingest", "vcf", bcf, "--name", "g", "--quiet"],
                    label="biolake ingest vcf (1x, as BCF)",
                    timeout=args.timeout,
                    rss_limit=8 * GiB,
                )
            )
            runs.append(
                run_measured(
                    ["bcftools", "view", "--threads", "2", "-Ou", "-o", "/dev/null", path],
                    label="bcftools view -Ou (1x)",
                    timeout=args.timeout,
                )
            )
            if plink2:
                runs.append(
                    run_measured(
                        [plink2, "--vcf", path, "--make-pgen", "--threads", "2", "--out", HERE / "pg"],
                        label="plink2 --vcf --make-pgen (1x)",
                        timeout=args.timeout,
                    )
                )
        for r in runs:
            rows.append(
                [
                    r.label,
                    f"{n:,} x {variants:,}",
                    r.status,
                    fmt_seconds(r.wall_s),
                    fmt_seconds(r.cpu_s),
                    _rate(calls, r),
                    f"{calls / r.cpu_s / 1e6:.1f}" if r.ok and r.cpu_s else "-",
                    f"{text_bytes[key] / r.wall_s / 2**20:.0f}" if r.ok else "-",
                    f"{(bcf_size if 'BCF' in r.label else gz) / r.wall_s / 2**20:.0f}" if r.ok else "-",
                    fmt_bytes(r.peak),
                ]
            )
            ok = ok and r.ok
        peaks[key] = runs[0].peak
        cpu[key] = runs[0].cpu_s
        load[key] = os.getloadavg()[0]
        if runs[0].ok:
            import zarr

            from biolake.lake import Lake

            shape = Lake.open(lake).open_array("g")["call_genotype"].shape
            if tuple(shape) != (variants, n, 2):
                print(f"{NAME}: biolake stored {shape}, expected {(variants, n, 2)}", file=sys.stderr)
                ok = False
            del zarr
    sizes = "; ".join(
        f"{k}: {n:,} samples x {v:,} variants = {n * v / 1e6:,.0f} M calls, "
        f"{fmt_bytes(text_bytes[k])} of text, {fmt_bytes(p.stat().st_size)} bgzip"
        for k, (p, v) in inputs.items()
    )
    body = [
        "`python -m benchmarks vcf_ingest` — VCF (bgzip) → lake genotype dataset (VCF Zarr layout), side by side "
        "with htslib's `bcftools view -Ou` (decode and re-encode as uncompressed BCF to /dev/null) and "
        "`plink2 --vcf … --make-pgen`, all with 2 threads.",
        f"Inputs: {sizes}. GT only, biallelic, 2 % missing calls.",
        markdown_table(
            [
                "run",
                "samples x variants",
                "status",
                "wall",
                "CPU",
                "M genotypes/s",
                "M genotypes/CPU-s",
                "text MB/s",
                "compressed MB/s",
                "peak RSS",
            ],
            rows,
            align="llrrrrrrrr",
        ),
    ]
    body.append(
        "Load average (1 min) at the start / after the 1x / after the 10x runs: "
        + " / ".join(f"{v:.1f}" for v in load.values())
        + " on 2 cores: other processes share the machine, so wall times are upper bounds; the CPU "
        "columns count this process tree's own CPU seconds (M genotypes/CPU-s x 2 is the rate on two idle "
        "cores when the work is spread evenly on both)."
    )
    if "10x" in peaks:
        extra = n * 9 * m / (cpu["10x"] - cpu["1x"]) / 1e6 if cpu["10x"] > cpu["1x"] else float("nan")
        body.append(
            f"biolake's marginal cost from 1x to 10x (start-up, imports and numba's cached code excluded): "
            f"{extra:.1f} M genotypes per CPU-second, i.e. up to {2 * extra:.0f} M genotypes/s when both cores "
            "are its own."
        )
        body.append(
            f"biolake peak RSS: {fmt_bytes(peaks['1x'])} at 1x, {fmt_bytes(peaks['10x'])} at 10x "
            f"(ratio {peaks['10x'] / max(peaks['1x'], 1):.2f}; bounded by the block and chunk sizes, not the input)."
        )
    facts = machine_facts(("biolake", "numpy", "numba", "zarr", "pyarrow", "deflate"))
    for name, cmd in (("bcftools", ["bcftools", "--version"]), ("plink2", ["plink2", "--version"])):
        if shutil.which(cmd[0]):
            facts[name] = subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
    write_results(NAME, "VCF ingest", "\n\n".join(body), facts, results_dir=HERE if args.quick else None)
    if "10x" in peaks and peaks["10x"] > 1.5 * peaks["1x"] + 100 * 2**20:
        print(f"{NAME}: peak RSS grew from {peaks['1x']} to {peaks['10x']}", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
