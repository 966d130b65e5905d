"""Write the chrX HWE reference filesets tests/data/genomics/chrx/{chrx,tiny}.{bed,bim,fam} (deterministic).

Run by make_chrx_reference.sh (which then runs plink2 on it); not run in CI.

Samples: 300 founders (FID=IID, no parents): 130 males (sex 1), 150 females (sex 2), 20 of unknown
sex (sex 0). Variants (.bim A1 = ALT, A2 = REF):
  * 360 on chromosome X (some written as "X", the .bim lets plink2 map "X"/"23" alike): ALT frequencies
    0.005-0.5; some variants with a sex difference in frequency (out of X-HWE); some with an excess of
    female heterozygotes; ~3 % missing calls; a few male heterozygous calls (plink2 ignores them);
    a block of 60 variants with 85-97 % missing calls (small tables, where ties between tables occur);
    a few monomorphic ones.
  * 40 on chromosome 1 and 40 on XY (the pseudo-autosomal region): tested as autosomes by plink2 (.hardy).

tiny: 12 samples (7 females, 5 males) x 600 chrX variants, ~30 % missing (seed 7): tiny tables, where
several tables are often exactly as likely as the observed one (ties, which matter for the mid-p).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from bed_reader import to_bed


def main(prefix: Path) -> None:
    rng = np.random.default_rng(4)
    sex = np.array([1] * 130 + [2] * 150 + [0] * 20)
    rng.shuffle(sex)
    n = len(sex)
    male = sex == 1
    rows: list[np.ndarray] = []
    bim: list[tuple[str, str, int, str, str]] = []

    def diploid(p: float, het_boost: float = 0.0) -> np.ndarray:
        g = rng.binomial(2, p, size=n).astype(np.float32)
        if het_boost:
            flip = (rng.random(n) < het_boost) & (g != 1)
            g[flip] = 1
        return g

    for k in range(40):
        rows.append(diploid(rng.uniform(0.02, 0.5)))
        bim.append(("1", f"a{k + 1}", 10_000 + 1000 * k, "A", "G"))
    for k in range(360):
        p = float(rng.choice([0.005, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5]))
        kind = k % 6
        g = diploid(p, het_boost=0.25 if kind == 1 else 0.0)
        # males: hemizygous, coded 0/2 in the .bed; frequency shifted for kind 2 (sex difference)
        pm = min(0.95, p * 2.5 + 0.05) if kind == 2 else p
        g[male] = 2.0 * (rng.random(int(male.sum())) < pm)
        if kind == 3:  # a few male heterozygous calls (plink2 counts them as missing for chrX HWE)
            idx = rng.choice(np.flatnonzero(male), size=3, replace=False)
            g[idx] = 1
        if k == 17 or k == 200:
            g[:] = 0.0  # monomorphic REF
        miss = 0.9 if 150 <= k < 210 else 0.03
        g[rng.random(n) < miss] = np.nan
        rows.append(g)
        bim.append(("X", f"x{k + 1}", 3_000_000 + 997 * k, "C", "T"))
    for k in range(40):
        g = diploid(rng.uniform(0.05, 0.5))
        g[rng.random(n) < 0.02] = np.nan
        rows.append(g)
        bim.append(("XY", f"par{k + 1}", 2_700_000 + 500 * k, "G", "A"))
    val = np.stack(rows, axis=1)  # samples x variants, ALT counts
    iid = [f"s{i + 1}" for i in range(n)]
    properties = {
        "fid": iid,
        "iid": iid,
        "father": ["0"] * n,
        "mother": ["0"] * n,
        "sex": sex,
        "pheno": ["-9"] * n,
        "chromosome": [b[0] for b in bim],
        "sid": [b[1] for b in bim],
        "cm_position": [0.0] * len(bim),
        "bp_position": [b[2] for b in bim],
        "allele_1": [b[4] for b in bim],
        "allele_2": [b[3] for b in bim],
    }
    to_bed(prefix.with_name(prefix.name + ".bed"), val, properties=properties, count_A1=True)


def tiny(prefix: Path) -> None:
    rng = np.random.default_rng(7)
    n, n_var = 12, 600
    sex = np.array([2] * 7 + [1] * 5)
    val = np.zeros((n, n_var), dtype=np.float32)
    for k in range(n_var):
        p = rng.uniform(0.1, 0.9)
        g = rng.binomial(2, p, n).astype(np.float32)
        g[sex == 1] = 2 * (rng.random(5) < p)
        g[rng.random(n) < 0.3] = np.nan
        val[:, k] = g
    properties = {"sex": sex, "chromosome": ["X"] * n_var, "bp_position": np.arange(1, n_var + 1) * 10}
    to_bed(prefix.with_name(prefix.name + ".bed"), val, properties=properties, count_A1=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    tiny(Path(sys.argv[2]))
