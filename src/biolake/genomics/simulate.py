"""Deterministic simulated genotype data (PLINK 1 filesets) for demos, tests and benchmarks.

The simulator draws biallelic variants on a few autosomes with realistic features that
quality control must handle: allele frequencies from rare to common (some with ALT as
the major allele), missing calls whose rate varies between samples and between
variants, a few samples with many missing calls, inbred samples (excess homozygosity),
variants out of Hardy–Weinberg equilibrium (heterozygote deficit or excess), and edge
cases (monomorphic variants, one variant with every call missing, indels).

Examples
--------
>>> from biolake.genomics.simulate import simulate_plink
>>> prefix = simulate_plink(tmp_path / "sim", n_samples=100, n_variants=500)  # doctest: +SKIP
>>> sorted(p.suffix for p in prefix.parent.iterdir())                          # doctest: +SKIP
['.bed', '.bim', '.fam']
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from biolake.errors import check_param

__all__ = ["simulate_genotypes", "simulate_plink"]

_BASES = np.array(["A", "C", "G", "T"])


def simulate_genotypes(
    *, n_samples: int, n_variants: int, seed: int = 1, missing_rate: float = 0.03
) -> dict[str, np.ndarray]:
    """Simulate ALT allele counts and variant/sample annotations.

    Parameters
    ----------
    n_samples, n_variants
        Size of the data set (``n_variants`` ≥ 10).
    seed
        Seed of the random generator: the same seed gives the same data.
    missing_rate
        Average fraction of missing calls.

    Returns
    -------
    dict
        ``dosage`` (int8, variants × samples, ALT allele count, -1 missing), ``chrom``,
        ``pos``, ``id``, ``ref``, ``alt`` (per variant), ``fid``, ``iid`` (per sample).
    """
    check_param("simulate_genotypes", "n_samples", n_samples, isinstance(n_samples, int) and n_samples >= 4, ">= 4")
    check_param(
        "simulate_genotypes", "n_variants", n_variants, isinstance(n_variants, int) and n_variants >= 10, ">= 10"
    )
    check_param("simulate_genotypes", "missing_rate", missing_rate, 0 <= missing_rate < 0.5, "in [0, 0.5)")
    rng = np.random.default_rng(seed)
    n, m = n_samples, n_variants
    p = rng.beta(0.6, 1.2, m).clip(0.005, 0.995)  # ALT frequency: many rare, some ALT-major
    f_variant = np.zeros(m)
    kind = rng.random(m)
    f_variant[kind < 0.03] = 0.35  # heterozygote deficit (e.g. a duplicated region, population structure)
    f_variant[(kind >= 0.03) & (kind < 0.05)] = -0.3  # heterozygote excess (e.g. a paralog)
    f_sample = np.where(rng.random(n) < 0.05, 0.125, 0.0)  # some offspring of first cousins
    f = np.clip(f_variant[:, None] + f_sample[None, :] - f_variant[:, None] * f_sample[None, :], -1, 1)
    pp = p[:, None]
    q = 1 - pp
    hom_ref = q * q + f * pp * q
    het = 2 * pp * q * (1 - f)
    hom_ref = np.clip(hom_ref, 0, 1)
    het = np.clip(het, 0, 1 - hom_ref)
    u = rng.random((m, n))
    dosage = np.where(u < hom_ref, 0, np.where(u < hom_ref + het, 1, 2)).astype(np.int8)
    # missing calls: per-sample and per-variant rates, a few bad samples and variants
    sample_rate = rng.gamma(2.0, missing_rate / 2.0, n)
    sample_rate[rng.choice(n, size=max(1, n // 100), replace=False)] = 0.25
    variant_rate = rng.gamma(2.0, 0.5, m)
    variant_rate[rng.choice(m, size=max(1, m // 50), replace=False)] = 6.0
    rate = np.clip(sample_rate[None, :] * variant_rate[:, None], 0, 0.9)
    dosage[rng.random((m, n)) < rate] = -1
    # edge cases
    dosage[1, :] = np.where(dosage[1, :] < 0, -1, 0)  # monomorphic REF
    dosage[2, :] = np.where(dosage[2, :] < 0, -1, 2)  # monomorphic ALT
    dosage[3, :] = -1  # every call missing
    dosage[4, :] = np.where(rng.random(n) < 0.9, 1, 0)  # almost only heterozygotes
    dosage[5, :] = 0
    dosage[5, : min(2, n)] = 1  # a singleton-like rare variant
    # annotations
    chrom = np.repeat(["1", "2", "3"], [m - 2 * (m // 3), m // 3, m // 3])
    pos = np.empty(m, dtype=np.int64)
    for c in ("1", "2", "3"):
        idx = np.flatnonzero(chrom == c)
        pos[idx] = 10_000 + np.cumsum(rng.integers(1, 5_000, idx.size))
    ref_i = rng.integers(0, 4, m)
    alt_i = (ref_i + rng.integers(1, 4, m)) % 4
    ref = _BASES[ref_i].astype(object)
    alt = _BASES[alt_i].astype(object)
    indel = rng.random(m) < 0.04
    ref[indel] = ref[indel] + _BASES[alt_i[indel]]  # deletions: REF AC, ALT C...
    ids = np.array([f"rs{1_000_000 + i}" for i in range(m)], dtype=object)
    return {
        "dosage": dosage,
        "chrom": chrom.astype(object),
        "pos": pos,
        "id": ids,
        "ref": ref,
        "alt": alt,
        "fid": np.array([f"F{i // 2 + 1}" for i in range(n)], dtype=object),
        "iid": np.array([f"S{i + 1:04d}" for i in range(n)], dtype=object),
    }


def simulate_plink(
    prefix: str | os.PathLike[str],
    *,
    n_samples: int = 300,
    n_variants: int = 2_000,
    seed: int = 1,
    missing_rate: float = 0.03,
) -> Path:
    """Write a simulated PLINK 1 fileset ``PREFIX.bed/.bim/.fam`` and return the prefix.

    The .bim lists the ALT allele as A1 (column 5) and REF as A2 (column 6), as plink2
    writes it. See :func:`simulate_genotypes` for the parameters.
    """
    from bed_reader import to_bed

    data = simulate_genotypes(n_samples=n_samples, n_variants=n_variants, seed=seed, missing_rate=missing_rate)
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    val = data["dosage"].T.astype(np.float32)
    val[val < 0] = np.nan
    n = val.shape[0]
    properties = {
        "fid": list(data["fid"]),
        "iid": list(data["iid"]),
        "father": ["0"] * n,
        "mother": ["0"] * n,
        "sex": [0] * n,
        "pheno": ["-9"] * n,
        "chromosome": list(data["chrom"]),
        "sid": list(data["id"]),
        "cm_position": [0.0] * len(data["id"]),
        "bp_position": [int(x) for x in data["pos"]],
        "allele_1": list(data["alt"]),
        "allele_2": list(data["ref"]),
    }
    to_bed(prefix.with_name(prefix.name + ".bed"), val, properties=properties, count_A1=True)
    return prefix
