"""Variant and sample quality control of genotype data, as plink2 computes it.

Per variant (one row per variant, in dataset order):

=============  ==========================================================================
column         definition (plink2 equivalent)
=============  ==========================================================================
chrom, pos     contig and base-pair position
id, ref, alt   variant ID, REF and ALT alleles
alt_freq       ALT allele frequency among non-missing calls: ``(het + 2·hom_alt) / obs_ct``
               (``--freq`` ALT_FREQS); NaN when every call is missing
obs_ct         allele observations, 2 × the samples with a call (``--freq`` OBS_CT)
missing_rate   fraction of samples without a call (``--missing`` .vmiss F_MISS)
het_obs        observed heterozygote fraction among called samples (``--hardy`` O(HET_A1))
het_exp        expected heterozygote fraction under HWE, ``2p(1-p)`` (``--hardy`` E(HET_A1))
hwe_p          Hardy–Weinberg exact test p-value (``--hardy`` P, or MIDP with ``midp``)
=============  ==========================================================================

Per sample:

=============  ==========================================================================
sample_id      the sample's ID
missing_ct     variants without a call (``--missing`` .smiss MISSING_CT)
call_rate      ``1 - missing_ct / n_variants`` (1 − .smiss F_MISS)
het_rate       heterozygous calls / ``f_obs_ct``
o_hom, e_hom   observed and expected homozygous calls (``--het`` O(HOM), E(HOM))
f_obs_ct       called autosomal polymorphic variants (``--het`` OBS_CT)
f              inbreeding coefficient ``1 - O(HET)/E(HET)`` (``--het`` F)
=============  ==========================================================================

E(HET) sums ``2p(1-p)`` over the sample's called autosomal variants, with ``p`` the
variant's allele frequency in all samples; variants with ``2p(1-p) < 2⁻³⁵`` (monomorphic,
or without any call) are skipped, as by ``plink2 --het``. Every contig except X, Y,
XY, MT (and their numeric codes 23–26) counts as autosomal.

**chrX.** When the dataset records the samples' sex (``sample_sex``, kept from the .fam
by :func:`biolake.io.plink.ingest_plink`), variants on chrX (contig ``X``, ``23``,
``chrX``, ``chr23``; the pseudo-autosomal ``XY``/``25`` stays diploid, as in plink2) get
plink2's ``.hardy.x`` statistics: ``hwe_p`` is the Graffelman–Weir exact test of the
female genotype counts and the male allele counts (:func:`biolake.stats.hwe.hwe_test_chrx`;
P or MIDP of ``.hardy.x``), and ``het_obs``/``het_exp`` are computed from the *females*
only (``O(FEMALE_HET_A1)``, ``E(FEMALE_HET_A1)``; ``het_obs`` NaN without a called female).
Samples of unknown sex, and heterozygous calls of males, are left out of these three
columns, as plink2 leaves them out. ``alt_freq`` and ``obs_ct`` are those of ``plink2 --freq``
on chrX: males count one allele (a male heterozygous call half an ALT allele), females and
samples of unknown sex two, so ``--maf`` filters chrX by the same frequency; ``missing_rate``
counts every sample, as ``plink2 --missing`` does.
Without ``sample_sex`` (VCF input, older datasets) chrX is treated like any contig.

Filters (as plink2 applies them): ``mind`` removes samples with more than
``⌊mind · n_variants⌋`` missing calls first; then, on the remaining samples, ``geno``
removes variants with more than ``⌊geno · n_samples⌋`` missing calls, ``hwe`` those with
p below the threshold, ``maf`` those whose minor allele frequency is below it (a
variant without any call has no frequency and is kept by ``maf``, as in plink2).

Layers: :func:`count_genotypes` (numba, GIL released) counts a block; the job
:func:`qc` maps it over blocks of variants on a :mod:`biolake.lake.backend` backend and
writes the results; :func:`variant_qc` and :func:`sample_qc` are the same statistics
for an in-memory matrix.

Examples
--------
>>> import numpy as np
>>> alt_count = np.array([[0, 1, 2, 1], [0, 0, -1, 0]], dtype=np.int8)   # variants × samples
>>> variant_qc(alt_count)[["alt_freq", "obs_ct", "missing_rate", "het_obs"]]
   alt_freq  obs_ct  missing_rate  het_obs
0       0.5       8          0.00      0.5
1       0.0       6          0.25      0.0
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import pandas as pd
import pyarrow as pa

from biolake.errors import InputError, check_param
from biolake.genomics._qc_packed import _EHET_MIN, count_genotypes_packed, expected_het, unpack_alt_count
from biolake.genomics.store import AUTOSOME_EXCLUDED, Block, GenotypeStore, has_packed, open_genotypes, read_block
from biolake.lake import Lake, validate_name
from biolake.lake.backend import get_backend
from biolake.lake.progress import NullProgress, Progress
from biolake.stats.hwe import hwe_chrx_exact_p_many, hwe_exact_p_many

__all__ = [
    "SAMPLE_COLUMNS",
    "VARIANT_COLUMNS",
    "QCResult",
    "count_genotypes",
    "qc",
    "sample_qc",
    "variant_qc",
]

VARIANT_COLUMNS = (
    "chrom",
    "pos",
    "id",
    "ref",
    "alt",
    "alt_freq",
    "obs_ct",
    "missing_rate",
    "het_obs",
    "het_exp",
    "hwe_p",
)
SAMPLE_COLUMNS = ("sample_id", "missing_ct", "call_rate", "het_rate", "o_hom", "e_hom", "f_obs_ct", "f")
_THRESH_EPS = 2.0**-44  # plink2's tolerance on --geno/--mind/--maf thresholds
_RESULT_ROWS = 65_536  # variant rows per written batch (row group)
#: Contig names of the X chromosome outside the pseudo-autosomal regions (plink2's chrX; ``XY``/``25`` is PAR).
CHRX_CONTIGS = frozenset(c + s for c in ("", "chr") for s in ("X", "x", "23"))

VARIANT_SCHEMA = pa.schema(
    [
        ("chrom", pa.string()),
        ("pos", pa.int64()),
        ("id", pa.string()),
        ("ref", pa.string()),
        ("alt", pa.string()),
        ("alt_freq", pa.float64()),
        ("obs_ct", pa.int64()),
        ("missing_rate", pa.float64()),
        ("het_obs", pa.float64()),
        ("het_exp", pa.float64()),
        ("hwe_p", pa.float64()),
    ]
)


# ----------------------------------------------------------------------------- kernels


@numba.njit(cache=True, nogil=True)
def _count_block(
    g: np.ndarray, autosomal: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_var, n_smp = g.shape
    counts = np.zeros((n_var, 4), dtype=np.int64)
    s_missing = np.zeros(n_smp, dtype=np.int64)
    s_het = np.zeros(n_smp, dtype=np.int64)
    s_obs = np.zeros(n_smp, dtype=np.int64)
    s_ehet = np.zeros(n_smp, dtype=np.float64)
    for i in range(n_var):
        c0 = 0
        c1 = 0
        c2 = 0
        cm = 0
        for j in range(n_smp):
            v = g[i, j]
            if v == 0:
                c0 += 1
            elif v == 1:
                c1 += 1
            elif v == 2:
                c2 += 1
            else:
                cm += 1
                s_missing[j] += 1
        counts[i, 0] = c0
        counts[i, 1] = c1
        counts[i, 2] = c2
        counts[i, 3] = cm
        if autosomal[i]:
            ehet = expected_het(c0, c1, c2)
            if ehet >= _EHET_MIN:
                for j in range(n_smp):
                    v = g[i, j]
                    if v >= 0 and v <= 2:
                        s_obs[j] += 1
                        s_ehet[j] += ehet
                        if v == 1:
                            s_het[j] += 1
    return counts, s_missing, s_het, s_obs, s_ehet


@numba.njit(cache=True, nogil=True)
def _count_chrx_rows(g: np.ndarray, rows: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """Per chrX row: female hom REF, het, hom ALT, male REF, het, ALT and unknown-sex hom REF, het,
    hom ALT calls (sex 2 female, 1 male, anything else unknown)."""
    out = np.zeros((rows.shape[0], 9), dtype=np.int64)
    n_smp = g.shape[1]
    for k in range(rows.shape[0]):
        i = rows[k]
        for j in range(n_smp):
            v = g[i, j]
            if v < 0 or v > 2:
                continue
            s = sex[j]
            if s == 2:
                out[k, v] += 1
            elif s == 1:
                out[k, 3 + v] += 1
            else:
                out[k, 6 + v] += 1
    return out


def _chrx_freq(xcounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ALT frequency and allele observations of chrX rows as ``plink2 --freq``: females and samples of
    unknown sex diploid, males haploid (a male heterozygous call counts half an ALT allele)."""
    f_ref, f_het, f_alt, m_ref, m_het, m_alt, u_ref, u_het, u_alt = (xcounts[:, k] for k in range(9))
    obs = 2 * (f_ref + f_het + f_alt + u_ref + u_het + u_alt) + m_ref + m_het + m_alt
    alt = (f_het + 2 * f_alt + u_het + 2 * u_alt + m_alt) + 0.5 * m_het
    with np.errstate(invalid="ignore", divide="ignore"):
        return alt / obs, obs


def _chrx_stats(xcounts: np.ndarray, *, midp: bool) -> dict[str, np.ndarray]:
    """``het_obs``, ``het_exp`` and ``hwe_p`` of chrX variants as plink2's .hardy.x (A1 = REF)."""
    f_ref, f_het, f_alt, m_ref, _, m_alt = (np.ascontiguousarray(xcounts[:, k]) for k in range(6))
    nf = f_ref + f_het + f_alt
    with np.errstate(invalid="ignore", divide="ignore"):
        het_obs = f_het / nf.astype(np.float64)
        x = (2.0 * f_ref + f_het) / nf  # twice the female REF frequency, as plink2 computes E(FEMALE_HET_A1)
        het_exp = np.where(f_ref == nf, 0.0, x * (1.0 - x * 0.5))
    hwe_p = hwe_chrx_exact_p_many(f_het, f_ref, f_alt, m_ref, m_alt, bool(midp))
    return {"het_obs": het_obs, "het_exp": het_exp, "hwe_p": hwe_p}


def _apply_chrx(
    stats: dict[str, np.ndarray], alt_count: np.ndarray, chrx: np.ndarray, sex: np.ndarray | None, *, midp: bool
) -> None:
    """Replace the frequency and HWE columns of the chrX rows by plink2's sex-aware ones (in place;
    nothing without sex)."""
    if sex is None or not chrx.any():
        return
    rows = np.flatnonzero(chrx).astype(np.int64)
    xcounts = _count_chrx_rows(
        np.ascontiguousarray(alt_count, dtype=np.int8), rows, np.ascontiguousarray(sex, dtype=np.int8)
    )
    for key, value in _chrx_stats(xcounts, midp=midp).items():
        stats[key] = np.array(stats[key], dtype=np.float64, copy=True)
        stats[key][rows] = value
    alt_freq, obs_ct = _chrx_freq(xcounts)
    stats["alt_freq"] = np.array(stats["alt_freq"], dtype=np.float64, copy=True)
    stats["alt_freq"][rows] = alt_freq
    stats["obs_ct"] = np.array(stats["obs_ct"], dtype=np.int64, copy=True)
    stats["obs_ct"][rows] = obs_ct


def count_genotypes(alt_count: np.ndarray, *, autosomal: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Genotype counts per variant and heterozygosity sums per sample, in one pass (numba, GIL released).

    Parameters
    ----------
    alt_count
        ALT allele counts (variants × samples), int8: 0, 1, 2, or -1 (any other value) for missing.
    autosomal
        Per variant, whether it counts for the per-sample F coefficient (default: all).

    Returns
    -------
    dict
        ``counts`` (variants × 4 int64: hom REF, het, hom ALT, missing) and per sample
        ``missing_ct``, ``het_ct``, ``f_obs_ct`` (int64) and ``e_het`` (float64).
    """
    g = np.ascontiguousarray(alt_count, dtype=np.int8)
    check_param("count_genotypes", "alt_count", g.shape, g.ndim == 2, "a 2-D (variants × samples) array")
    auto = np.ones(g.shape[0], dtype=np.bool_) if autosomal is None else np.asarray(autosomal, dtype=np.bool_)
    check_param("count_genotypes", "autosomal", auto.shape, auto.shape == (g.shape[0],), "one flag per variant")
    counts, s_missing, s_het, s_obs, s_ehet = _count_block(g, auto)
    return {"counts": counts, "missing_ct": s_missing, "het_ct": s_het, "f_obs_ct": s_obs, "e_het": s_ehet}


def _variant_stats(counts: np.ndarray, n_samples: int, *, midp: bool) -> dict[str, np.ndarray]:
    """The per-variant statistics from (hom REF, het, hom ALT, missing) counts."""
    c0, c1, c2, cm = (counts[:, k] for k in range(4))
    nm = c0 + c1 + c2
    with np.errstate(invalid="ignore", divide="ignore"):
        alt_freq = (c1 + 2 * c2) / (2.0 * nm)
        het_obs = c1 / nm.astype(np.float64)
        x = (2.0 * c0 + c1) / nm  # twice the REF frequency, as plink2 --hardy computes E(HET)
        het_exp = np.where(c0 == nm, 0.0, x * (1.0 - x * 0.5))
    missing_rate = cm / float(n_samples) if n_samples else np.full(len(cm), np.nan)
    hwe_p = hwe_exact_p_many(np.ascontiguousarray(c1), np.ascontiguousarray(c0), np.ascontiguousarray(c2), bool(midp))
    return {
        "alt_freq": alt_freq,
        "obs_ct": 2 * nm,
        "missing_rate": missing_rate,
        "het_obs": het_obs,
        "het_exp": het_exp,
        "hwe_p": hwe_p,
        "missing_ct": cm,
    }


def _sample_stats(acc: dict[str, np.ndarray], n_variants: int) -> dict[str, np.ndarray]:
    obs = acc["f_obs_ct"]
    het = acc["het_ct"]
    ehet = acc["e_het"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "missing_ct": acc["missing_ct"],
            "call_rate": 1.0 - acc["missing_ct"] / float(n_variants) if n_variants else np.full(len(obs), np.nan),
            "het_rate": het / obs.astype(np.float64),
            "o_hom": obs - het,
            "e_hom": obs - ehet,
            "f_obs_ct": obs,
            "f": 1.0 - het / ehet,
        }


def _check_matrix(function: str, alt_count: Any) -> np.ndarray:
    arr = np.asarray(alt_count)
    check_param(function, "alt_count", arr.shape, arr.ndim == 2, "a 2-D (variants × samples) array")
    check_param(function, "alt_count", arr.dtype, arr.dtype.kind in "iu", "an integer array (-1 for missing)")
    bad = (arr > 2) | (arr < -1)
    check_param(function, "alt_count", "values outside -1..2", not bool(bad.any()), "0, 1, 2 or -1 (missing)")
    return arr.astype(np.int8)


def variant_qc(alt_count: Any, *, midp: bool = False, chrx: Any = None, sex: Any = None) -> pd.DataFrame:
    """Per-variant QC statistics of an in-memory ALT allele count matrix.

    Parameters
    ----------
    alt_count
        Variants × samples integer matrix: ALT allele counts 0, 1, 2, or -1 for missing
        (males' chrX calls coded 0 or 2, as in a .bed).
    midp
        HWE mid-p values instead of standard p-values.
    chrx, sex
        Per variant, whether it lies on chrX (outside PAR), and per sample the sex (1 male,
        2 female, anything else unknown): with both, chrX rows get plink2's ``.hardy.x``
        ``het_obs``, ``het_exp`` and ``hwe_p`` and its ``--freq`` ``alt_freq`` and ``obs_ct``
        (module docstring).

    Returns
    -------
    pandas.DataFrame
        Columns ``alt_freq obs_ct missing_rate het_obs het_exp hwe_p`` (see the module docstring).
    """
    check_param("variant_qc", "midp", midp, isinstance(midp, bool), "True or False")
    g = _check_matrix("variant_qc", alt_count)
    stats = _variant_stats(count_genotypes(g)["counts"], g.shape[1], midp=midp)
    if chrx is not None or sex is not None:
        x = np.asarray(chrx if chrx is not None else np.zeros(g.shape[0]), dtype=bool)
        check_param("variant_qc", "chrx", np.shape(chrx), x.shape == (g.shape[0],), "one flag per variant")
        sx = None if sex is None else np.asarray(sex)
        ok = sx is None or (sx.shape == (g.shape[1],) and sx.dtype.kind in "iu")
        check_param("variant_qc", "sex", np.shape(sex), ok, "one integer code per sample (1 male, 2 female)")
        if sx is not None:
            _apply_chrx(stats, g, x, np.where((sx == 1) | (sx == 2), sx, 0).astype(np.int8), midp=midp)
    return pd.DataFrame({k: stats[k] for k in VARIANT_COLUMNS[5:]})


def sample_qc(alt_count: Any, *, autosomal: Any = None) -> pd.DataFrame:
    """Per-sample QC statistics of an in-memory ALT allele count matrix (variants × samples).

    Parameters
    ----------
    alt_count
        Variants × samples integer matrix: ALT allele counts 0, 1, 2, or -1 for missing.
    autosomal
        Per variant, whether it counts for the F coefficient (default: every variant).

    Returns
    -------
    pandas.DataFrame
        Columns ``missing_ct call_rate het_rate o_hom e_hom f_obs_ct f`` (see the module docstring).
    """
    g = _check_matrix("sample_qc", alt_count)
    acc = count_genotypes(g, autosomal=autosomal)
    stats = _sample_stats(acc, g.shape[0])
    return pd.DataFrame({k: stats[k] for k in SAMPLE_COLUMNS[1:]})


def _qc_block(
    block: Block,
    *,
    autosomal_contigs: np.ndarray,
    midp: bool,
    annotations: bool = True,
    chrx_contigs: np.ndarray | None = None,
    sex: np.ndarray | None = None,
    n_samples: int | None = None,
) -> dict[str, Any]:
    """Kernel run on a worker: read a block, count, compute the per-variant statistics.

    With ``chrx_contigs`` (per contig) and ``sex`` (per sample of the block), chrX rows get
    the sex-aware frequency and HWE columns. With ``n_samples`` (the dataset's) and a block of
    all samples, the 2-bit ``call_genotype_packed`` copy is counted when the dataset has it.
    """
    data = read_block(block, annotations=annotations, packed=block.samples is None and n_samples is not None)
    autosomal = autosomal_contigs[data["contig"]]
    if "packed" in data:  # the 2-bit copy, counted as plink2 counts (all samples)
        assert n_samples is not None
        acc = count_genotypes_packed(data["packed"], n_samples, autosomal=autosomal)
    else:
        acc = count_genotypes(data["alt_count"], autosomal=autosomal)
        n_samples = data["alt_count"].shape[1]
    data["stats"] = _variant_stats(acc["counts"], n_samples, midp=midp)
    if chrx_contigs is not None and sex is not None:
        chrx = chrx_contigs[data["contig"]]
        if chrx.any():
            g = data["alt_count"] if "alt_count" in data else unpack_alt_count(data["packed"], n_samples)
            _apply_chrx(data["stats"], g, chrx, sex, midp=midp)
    data["acc"] = {k: v for k, v in acc.items() if k != "counts"}
    data.pop("alt_count", None)
    data.pop("packed", None)
    return data


# --------------------------------------------------------------------------------- job


@dataclass
class QCResult:
    """What :func:`qc` did.

    Attributes
    ----------
    run_id
        The run record's id.
    variants, samples
        Lake names of the per-variant and per-sample result tables (``samples`` None
        without ``samples_out``).
    filtered
        Name of the filtered genotype dataset (None without filters).
    n_variants, n_samples
        Size of the input.
    n_variants_kept, n_samples_kept
        What the filters kept (the input size without filters).
    """

    run_id: str
    variants: str
    samples: str | None
    filtered: str | None
    n_variants: int
    n_samples: int
    n_variants_kept: int
    n_samples_kept: int
    params: dict[str, Any] = field(default_factory=dict)


def _check_fraction(name: str, value: Any, upper: float) -> float | None:
    if value is None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= float(value) <= upper
    check_param("qc", name, value, ok and not math.isnan(float(value)), f"a number in [0, {upper:g}] or None")
    return float(value)


def _keep_variants(
    stats: dict[str, np.ndarray], n_samples: int, *, maf: float | None, geno: float | None, hwe: float | None
) -> np.ndarray:
    keep = np.ones(len(stats["hwe_p"]), dtype=bool)
    if geno is not None:
        keep &= stats["missing_ct"] <= int(geno * (1.0 + _THRESH_EPS) * n_samples)
    if hwe is not None:
        keep &= stats["hwe_p"] >= hwe
    if maf is not None:
        f = stats["alt_freq"]
        minor = np.minimum(f, 1.0 - f)
        keep &= ~(minor < maf * (1.0 - _THRESH_EPS))  # NaN (no call) is kept, as by plink2
    return keep


def _autosomal_flags(contigs: list[str]) -> np.ndarray:
    return np.array([c not in AUTOSOME_EXCLUDED for c in contigs], dtype=bool)


def _chrx_flags(contigs: list[str]) -> np.ndarray:
    return np.array([c in CHRX_CONTIGS for c in contigs], dtype=bool)


def qc(
    lake: Lake,
    genotypes: str,
    *,
    out: str | os.PathLike[str],
    samples_out: str | os.PathLike[str] | None = None,
    midp: bool = False,
    maf: float | None = None,
    geno: float | None = None,
    mind: float | None = None,
    hwe: float | None = None,
    filtered_name: str | None = None,
    chunk_variants: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> QCResult:
    """Variant and sample QC of a genotype dataset, chunk-wise; optional filters write a filtered dataset.

    Parameters
    ----------
    lake
        The lake holding the genotypes.
    genotypes
        The genotype dataset: ``lake:NAME`` or ``NAME`` (see :func:`biolake.io.plink.ingest_plink`).
    out
        Per-variant result file (``.parquet``, ``.csv`` or ``.tsv``), also registered in the
        lake; columns ``chrom pos id ref alt alt_freq obs_ct missing_rate het_obs het_exp hwe_p``.
    samples_out
        Per-sample result file (columns ``sample_id missing_ct call_rate het_rate o_hom
        e_hom f_obs_ct f``), also registered in the lake.
    midp
        Mid-p HWE values (for ``hwe_p`` and the ``hwe`` filter), as ``plink2 --hardy midp``.
    maf, geno, mind, hwe
        Filters as plink2's ``--maf``, ``--geno``, ``--mind``, ``--hwe`` (module docstring).
        Statistics in ``out`` and ``samples_out`` are always those of every sample.
    filtered_name
        Name of the filtered genotype dataset (default ``{NAME}_filtered``); used only
        when a filter is given. A variants table ``{filtered_name}_variants`` comes with it.
    chunk_variants
        Variants per block (default: the stored chunk). Results do not depend on it.
    scheduler
        Where blocks are computed: as :func:`biolake.lake.backend.get_backend`.
    progress
        Where to report progress.

    Returns
    -------
    QCResult
        Run id, result names and what the filters kept.

    Raises
    ------
    InputError
        An unknown or non-genotype dataset; a parameter out of range.

    Examples
    --------
    >>> res = qc(lake, "lake:cohort", out="qc.tsv", samples_out="samples.tsv",
    ...          maf=0.01, geno=0.05, hwe=1e-6)                               # doctest: +SKIP
    >>> res.n_variants_kept, res.filtered                                     # doctest: +SKIP
    (1118, 'cohort_filtered')
    """
    check_param("qc", "midp", midp, isinstance(midp, bool), "True or False")
    maf = _check_fraction("maf", maf, 0.5)
    geno = _check_fraction("geno", geno, 1.0)
    mind = _check_fraction("mind", mind, 1.0)
    hwe = _check_fraction("hwe", hwe, 1.0)
    check_param(
        "qc",
        "chunk_variants",
        chunk_variants,
        chunk_variants is None or (isinstance(chunk_variants, int) and chunk_variants >= 1),
        "a positive integer or None",
    )
    check_param("qc", "genotypes", genotypes, isinstance(genotypes, str) and bool(genotypes), "lake:NAME or NAME")
    store = open_genotypes(lake, genotypes)
    filtering = any(v is not None for v in (maf, geno, mind, hwe))
    if filtering:
        filtered_name = validate_name(filtered_name or f"{store.name}_filtered")
        if filtered_name == store.name:
            raise InputError("the filtered dataset cannot replace its input", file="--filtered-name")
    elif filtered_name is not None:
        raise InputError("--filtered-name needs a filter (--maf, --geno, --mind or --hwe)", file="--filtered-name")
    progress = progress or NullProgress()
    autosomal = _autosomal_flags(store.contigs)
    chrx = _chrx_flags(store.contigs)
    sex = store.sample_sex if chrx.any() else None  # None: chrX treated like any contig
    params = {
        "genotypes": f"lake:{store.name}",
        "out": str(out),
        "samples_out": None if samples_out is None else str(samples_out),
        "midp": midp,
        "maf": maf,
        "geno": geno,
        "mind": mind,
        "hwe": hwe,
        "filtered_name": filtered_name if filtering else None,
        "chunk_variants": chunk_variants,
        "scheduler": scheduler if isinstance(scheduler, str | None) else type(scheduler).__name__,
    }
    m, n = store.n_variants, store.n_samples
    contigs = np.array(store.contigs, dtype=object)
    acc_total = {
        "missing_ct": np.zeros(n, np.int64),
        "het_ct": np.zeros(n, np.int64),
        "f_obs_ct": np.zeros(n, np.int64),
        "e_het": np.zeros(n, np.float64),
    }
    keep_variants = np.ones(m, dtype=bool)
    with (
        lake.run("genomics qc", params=params, inputs=[f"lake:{store.name}"]) as run,
        get_backend(scheduler) as backend,
    ):

        def batches() -> Iterator[pa.RecordBatch]:
            results = backend.map(
                _qc_block,
                store.blocks(chunk_variants or _packed_chunk(store)),
                autosomal_contigs=autosomal,
                midp=midp,
                chrx_contigs=chrx,
                sex=sex,
                n_samples=n,
            )
            pending: list[pa.RecordBatch] = []
            with progress.task(f"QC of {store.name}", total=m) as task:
                for res in results:
                    for key, total in acc_total.items():
                        total += res["acc"][key]
                    st = res["stats"]
                    start = res["start"]
                    stop = start + len(st["hwe_p"])
                    if filtering:
                        keep_variants[start:stop] = _keep_variants(st, n, maf=maf, geno=geno, hwe=hwe)
                    columns = [
                        pa.array(contigs[res["contig"]], pa.string()),
                        pa.array(res["pos"], pa.int64()),
                        pa.array(res["id"], pa.string()),
                        pa.array(res["ref"], pa.string()),
                        pa.array(res["alt"], pa.string()),
                        *(pa.array(st[k]) for k in VARIANT_COLUMNS[5:]),
                    ]
                    pending.append(pa.RecordBatch.from_arrays(columns, schema=VARIANT_SCHEMA))
                    if sum(b.num_rows for b in pending) >= _RESULT_ROWS:  # few large row groups
                        yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]
                        pending = []
                    task.update(stop)
                if pending:
                    yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]

        variants_name = run.result(batches(), out, schema=VARIANT_SCHEMA)
        sample_stats = _sample_stats(acc_total, m)
        samples_name = None
        if samples_out is not None:
            frame = pd.DataFrame({"sample_id": store.sample_id.astype(str), **sample_stats})
            samples_name = run.result(frame[list(SAMPLE_COLUMNS)], samples_out)
        keep_samples = np.ones(n, dtype=bool)
        if filtering:
            if mind is not None:
                keep_samples = sample_stats["missing_ct"] <= int(mind * (1.0 + _THRESH_EPS) * m)
            if not keep_samples.all() and any(v is not None for v in (maf, geno, hwe)):
                keep_variants = _refilter(
                    backend,
                    store,
                    np.flatnonzero(keep_samples),
                    autosomal,
                    chunk_variants,
                    chrx=chrx,
                    sex=sex,
                    midp=midp,
                    maf=maf,
                    geno=geno,
                    hwe=hwe,
                    progress=progress,
                )
            assert filtered_name is not None
            _write_filtered(
                run, backend, store, filtered_name, keep_variants, keep_samples, chunk_variants, progress=progress
            )
        run.annotate(variants_name, attrs={"genotypes": store.name, "table": "variant qc"})
        run_id = run.id
    return QCResult(
        run_id=run_id,
        variants=variants_name,
        samples=samples_name,
        filtered=filtered_name if filtering else None,
        n_variants=m,
        n_samples=n,
        n_variants_kept=int(keep_variants.sum()),
        n_samples_kept=int(keep_samples.sum()),
        params=params,
    )


def _packed_chunk(store: GenotypeStore) -> int | None:
    """Variants per block for the packed path: about 8 MB of 2-bit rows (a multiple of the stored chunk),
    or None (the stored chunk) for a dataset without the packed copy."""
    if not has_packed(store.path):
        return None
    rows = max(1, (8 << 20) // max(1, (store.n_samples + 3) // 4))
    return max(1, rows // store.variant_chunk) * store.variant_chunk


def _refilter(
    backend: Any,
    store: GenotypeStore,
    samples: np.ndarray,
    autosomal: np.ndarray,
    chunk_variants: int | None,
    *,
    midp: bool,
    maf: float | None,
    geno: float | None,
    hwe: float | None,
    progress: Progress,
    chrx: np.ndarray | None = None,
    sex: np.ndarray | None = None,
) -> np.ndarray:
    """Variant filters evaluated on the samples that ``mind`` kept (a second pass)."""
    keep = np.ones(store.n_variants, dtype=bool)
    blocks = store.blocks(chunk_variants, samples=samples)
    kept_sex = None if sex is None else np.ascontiguousarray(sex[samples])
    with progress.task("Variant filters on the kept samples", total=store.n_variants) as task:
        for res in backend.map(
            _qc_block,
            blocks,
            autosomal_contigs=autosomal,
            midp=midp,
            annotations=False,
            chrx_contigs=chrx,
            sex=kept_sex,
        ):
            st = res["stats"]
            stop = res["start"] + len(st["hwe_p"])
            keep[res["start"] : stop] = _keep_variants(st, len(samples), maf=maf, geno=geno, hwe=hwe)
            task.update(stop)
    return keep


def _write_filtered(
    run: Any,
    backend: Any,
    store: GenotypeStore,
    name: str,
    keep_variants: np.ndarray,
    keep_samples: np.ndarray,
    chunk_variants: int | None,
    *,
    progress: Progress,
) -> None:
    """Copy the kept variants × kept samples into a new genotype dataset (and its variants table)."""
    from biolake.io.plink import (
        GENOTYPE_ENCODING,
        GENOTYPE_ENCODING_VERSION,
        GenotypeWriter,
        variants_schema,
    )

    samples = np.flatnonzero(keep_samples)
    n_keep = int(keep_variants.sum())
    stage = run.array(
        name,
        source=f"lake:{store.name}",
        encoding=GENOTYPE_ENCODING,
        encoding_version=GENOTYPE_ENCODING_VERSION,
        attrs={"filtered_from": store.name, "run": run.id},
    )
    writer = GenotypeWriter(
        stage,
        n_variants=n_keep,
        sample_id=list(store.sample_id[samples]),
        sample_family_id=None if store.sample_family_id is None else list(store.sample_family_id[samples]),
        sample_sex=None if store.sample_sex is None else list(store.sample_sex[samples]),
        contigs=store.contigs,
        variant_chunk=store.variant_chunk,
        source=str(store.attrs.get("source", "biolake")),
    )
    stage.attrs["filtered_from"] = store.name
    table = run.table(f"{name}_variants", source=f"lake:{store.name}", attrs={"genotypes": name})
    contigs = np.array(store.contigs, dtype=object)
    offset = 0
    sample_sel = None if keep_samples.all() else samples
    with progress.task(f"Writing {name}", total=store.n_variants) as task:
        for data in backend.map(read_block, store.blocks(chunk_variants, samples=sample_sel)):
            start = data["start"]
            sel = keep_variants[start : start + data["alt_count"].shape[0]]
            k = int(sel.sum())
            if k:
                pos = data["pos"][sel]
                writer.write(
                    offset,
                    np.ascontiguousarray(data["alt_count"][sel]),
                    contig=data["contig"][sel],
                    position=pos.astype(np.int32),
                    variant_id=data["id"][sel],
                    ref=data["ref"][sel],
                    alt=data["alt"][sel],
                )
                table.write(
                    pa.RecordBatch.from_arrays(
                        [
                            pa.array(contigs[data["contig"][sel]], pa.string()),
                            pa.array(pos, pa.int64()),
                            pa.array(data["id"][sel], pa.string()),
                            pa.array(data["ref"][sel], pa.string()),
                            pa.array(data["alt"][sel], pa.string()),
                        ],
                        schema=variants_schema(),
                    )
                )
                offset += k
            task.update(start + len(sel))
    if table.schema is None:
        table.write(pa.RecordBatch.from_pylist([], schema=variants_schema()))
