"""Make the LD-clumping reference: a small PLINK 1 fileset with LD, a GWAS table, and PLINK 1.9 --clump outputs.

Run from the repository root (not in CI; needs plink1.9 on PATH, Debian package plink1.9):

    .venv/bin/python tests/data/discovery/targets/make_clump_reference.py

Writes into tests/data/discovery/targets/: ld.bed/.bim/.fam (600 founders, 600 variants on
chromosomes 1 and 2; haplotypes from a copying Markov chain so nearby variants are in LD;
1% missing calls), gwas.tsv (CHR SNP BP P BETA: OLS of a simulated trait on each variant,
plus 3 variants that are not in the fileset), and for each setting S in SETTINGS
clump_S.clumped (plink1.9 --clump) and clump_S_verbose.clumped (--clump-verbose, for RSQ).
Tool versions go to versions.txt.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

HERE = Path(__file__).resolve().parent
SETTINGS = {
    "a": ["--clump-p1", "1e-4", "--clump-p2", "0.01", "--clump-r2", "0.1", "--clump-kb", "250"],
    "b": ["--clump-p1", "5e-8", "--clump-p2", "1e-3", "--clump-r2", "0.5", "--clump-kb", "100"],
    "c": ["--clump-p1", "0.01", "--clump-p2", "0.05", "--clump-r2", "0.2", "--clump-kb", "50"],
}


def haplotypes(rng: np.random.Generator, n_hap: int, n_var: int) -> np.ndarray:
    freq = rng.uniform(0.05, 0.5, n_var)
    h = np.empty((n_var, n_hap), dtype=np.int8)
    h[0] = rng.random(n_hap) < freq[0]
    for j in range(1, n_var):
        copy = rng.random(n_hap) < 0.85
        fresh = rng.random(n_hap) < freq[j]
        flip = rng.random() < 0.5  # LD of either sign
        prev = 1 - h[j - 1] if flip else h[j - 1]
        h[j] = np.where(copy, prev, fresh)
    return h


def write_bed(path: Path, alt: np.ndarray) -> None:
    """alt: (variants × samples) A1 counts 0/1/2, -1 missing. PLINK codes: 00 hom A1, 01 missing, 10 het, 11 hom A2."""
    code = np.select([alt == 2, alt == 1, alt == 0], [0, 2, 3], default=1).astype(np.uint8)
    n_var, n = code.shape
    pad = (-n) % 4
    code = np.concatenate([code, np.zeros((n_var, pad), dtype=np.uint8)], axis=1).reshape(n_var, -1, 4)
    packed = code[:, :, 0] | (code[:, :, 1] << 2) | (code[:, :, 2] << 4) | (code[:, :, 3] << 6)
    path.write_bytes(bytes([0x6C, 0x1B, 0x01]) + packed.astype(np.uint8).tobytes())


def main() -> None:
    rng = np.random.default_rng(20261127)
    n, sizes = 600, {"1": 400, "2": 200}
    alts, bim = [], []
    for chrom, m in sizes.items():
        h = haplotypes(rng, 2 * n, m)
        alts.append(h[:, :n] + h[:, n:])
        pos = 10_000 + np.cumsum(rng.integers(500, 5_000, m))
        bim += [(chrom, f"rs{chrom}_{k + 1}", int(pos[k])) for k in range(m)]
    alt = np.concatenate(alts).astype(np.int8)
    causal = {40: 0.5, 120: 0.3, 250: -0.45, 330: 0.35, 470: 0.4, 560: -0.3}  # variant index → effect
    y = rng.normal(0, 1, n)
    for j, b in causal.items():
        y += b * alt[j]
    miss = rng.random(alt.shape) < 0.01
    alt_obs = np.where(miss, -1, alt).astype(np.int8)
    write_bed(HERE / "ld.bed", alt_obs)
    with open(HERE / "ld.bim", "w") as fh:
        for chrom, vid, pos in bim:
            fh.write(f"{chrom}\t{vid}\t0\t{pos}\tA\tG\n")
    with open(HERE / "ld.fam", "w") as fh:
        for i in range(n):
            fh.write(f"F{i + 1}\tI{i + 1}\t0\t0\t0\t-9\n")
    rows = []
    for j, (chrom, vid, pos) in enumerate(bim):
        if j % 37 == 5:  # some variants of the fileset are not in the GWAS
            continue
        ok = alt_obs[j] >= 0
        res = stats.linregress(alt_obs[j][ok].astype(float), y[ok])
        rows.append((chrom, vid, pos, res.pvalue, res.slope))
    rows += [
        ("1", "rsX_1", int(bim[41][2]) + 1, 1e-12, 0.5),
        ("1", "rsX_2", 5_000, 0.2, 0.1),
        ("2", "rsX_3", 7, 1e-3, 0.2),
    ]
    with open(HERE / "gwas.tsv", "w") as fh:
        fh.write("CHR\tSNP\tBP\tP\tBETA\n")
        for chrom, vid, pos, p, b in rows:
            fh.write(f"{chrom}\t{vid}\t{pos}\t{p:.6g}\t{b:.6g}\n")
    for key, opts in SETTINGS.items():
        for suffix, extra in (("", []), ("_verbose", ["--clump-verbose"])):
            out = HERE / f"clump_{key}{suffix}"
            cmd = [
                "plink1.9",
                "--bfile",
                str(HERE / "ld"),
                "--clump",
                str(HERE / "gwas.tsv"),
                *opts,
                *extra,
                "--allow-no-sex",
                "--out",
                str(out),
            ]
            subprocess.run(cmd, check=True, capture_output=True)
            (HERE / f"clump_{key}{suffix}.log").unlink()
            for extra_file in HERE.glob(f"clump_{key}{suffix}.nosex"):
                extra_file.unlink()
    version = subprocess.run(["plink1.9", "--version"], capture_output=True, text=True).stdout.strip()
    (HERE / "versions.txt").write_text(f"{version}\nnumpy {np.__version__}\nscipy {scipy.__version__}\n")


if __name__ == "__main__":
    main()
