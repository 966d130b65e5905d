"""Star-allele matching of a VCF as PharmCAT's NamedAlleleMatcher (PharmCAT 3.1.1, matcher 2.0.0).

:func:`match_vcf` reads the VCF once (only the records at the positions of the allele definitions are
kept, as compact per-sample genotype codes: ≈ 2 bytes per sample and PGx position; with more than
``_BLOCK`` samples they go to a temporary file), then yields one
:class:`~biolake.precision.pgx.calls.GeneCall` per sample (VCF column order) and gene (alphabetical) —
every gene PharmCAT calls from a VCF by default (CYP2D6 is not: it needs an outside call). Samples are
matched ``_BLOCK`` at a time, so memory does not depend on the number of samples.

Semantics (PharmCAT's defaults: top candidates only, no combination/partial alleles except for DPYD/RYR1):

* a gene's defined positions that the VCF lacks, or where the sample has no call (``./.``, a lone ``0``,
  a REF that differs from the definition, a heterozygous GT contradicted by AD), are *missing*: alleles
  are matched on the remaining positions only, so the call can be a list of possible diplotypes;
  alleles defined only at missing positions are *uncallable*; nothing is called as reference silently;
* a named allele's undefined positions are the reference allele; unphased heterozygous genotypes are
  expanded into every strand permutation (``PS`` phase sets respected); each pair of matching alleles
  whose strands are viable complements is scored (positions the alleles define, minus IUPAC wobble
  positions where the sample is reference) and the top-scoring pairs kept, in PharmCAT's order;
* a half-missing genotype (``0/.``) makes the gene uncallable; NAT2 needs its required positions;
  NAT2 unphased ties are resolved by PharmCAT's priority list; SLCO1B1 sub-alleles get their core name;
* ALT alleles not in the definition at CACNA1S, DPYD, G6PD, NUDT15, RYR1 and TPMT positions are read
  as reference (with a warning), elsewhere they match no allele;
* DPYD and RYR1 use PharmCAT's lowest-function path (see :mod:`biolake.precision.pgx._lowest`).

Chromosome names ``1``/``chr1`` are both accepted. Indels and multi-allelic sites must be represented as
in the definitions (left-aligned, REF as in ``pharmcat_positions.vcf``, i.e. as PharmCAT's preprocessor
writes them); a record whose REF differs from the definition is discarded with a warning, as PharmCAT does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from biolake.errors import check_param
from biolake.precision.pgx._core import GeneResult, SampleAllele, call_gene, sample_allele
from biolake.precision.pgx._definitions import GeneDefinition, load_definitions
from biolake.precision.pgx._vcf import read_pgx_vcf
from biolake.precision.pgx.calls import GeneCall

__all__ = ["match_vcf"]

# Samples matched together: their genotype codes (≈ 2 bytes per PGx position) are the only per-sample state;
# a VCF with more samples keeps its codes in a temporary file and is matched block by block.
_BLOCK = 2_048
# Results of distinct per-gene genotype patterns (a few kB each), cleared when full: most samples of a large VCF
# repeat a common pattern, the rare ones fill any cache. 20,000 entries instead (the earlier size) cost ≈ 20 MB
# more at 10,000 samples than at 1,000 for ≈ 9 % less matching CPU.
_MEMO_MAX = 4_096


def __getattr__(name: str):
    if name == "GENES":
        return tuple(load_definitions())
    raise AttributeError(name)


def match_vcf(
    vcf: str | Path,
    *,
    samples: Sequence[str] | None = None,
    genes: Sequence[str] | None = None,
    top_candidates_only: bool = True,
) -> Iterator[GeneCall]:
    """Yield one :class:`GeneCall` per sample (VCF column order, or ``samples`` order) and gene (alphabetical).

    Parameters
    ----------
    vcf
        A VCF (plain or gzip/bgzip), GRCh38, one or more samples.
    samples
        Sample names to call (default: every sample of the VCF).
    genes
        Genes to call (default: all genes of the allele definitions except CYP2D6).
    top_candidates_only
        PharmCAT's default; ``False`` = PharmCAT's ``--all-results``: every viable diplotype, best first.
    """
    defs = load_definitions()
    if genes is None:
        gene_list = list(defs)
    else:
        check_param(
            "match_vcf",
            "genes",
            genes,
            not isinstance(genes, str) and all(g in defs for g in genes),
            f"a list of genes among {', '.join(defs)}",
        )
        gene_list = sorted(set(genes))
    if samples is not None:
        check_param("match_vcf", "samples", samples, not isinstance(samples, str), "a list of sample names")
    wanted = {gd.chr_pos(i) for g in gene_list for gd in (defs[g],) for i in range(len(gd.positions))}
    data = read_pgx_vcf(vcf, wanted, samples=samples, spill_above=_BLOCK)
    try:
        yield from _match_blocks(data, defs, gene_list, top_candidates_only)
    finally:
        data.close()


def _match_blocks(data, defs: dict[str, GeneDefinition], gene_list: list[str], top_only: bool) -> Iterator[GeneCall]:
    """The calls of ``data``'s samples, ``_BLOCK`` samples at a time (memory independent of the sample count)."""
    n = len(data.samples)
    per_gene = []  # per gene: for every definition position the records there, and the codes' dtype
    for g in gene_list:
        gd = defs[g]
        recs = [data.records.get(gd.chr_pos(i), []) for i in range(len(gd.positions))]
        wide = any(r.codes.dtype == np.uint32 for rs in recs for r in rs)
        per_gene.append((gd, recs, np.uint32 if wide else np.uint16))
    memo: dict[tuple[str, bytes, bool], GeneResult] = {}
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        # per gene a (samples × positions) code matrix of this block of samples
        prepared = []
        for gd, recs, dtype in per_gene:
            flat = [r for rs in recs for r in rs]
            mat = np.empty((stop - start, len(flat)), dtype=dtype)
            for j, r in enumerate(flat):
                mat[:, j] = data.codes(r, start, stop)
            prepared.append((gd, recs, mat))
        other_vec = (
            _other_variants(defs, data, start, stop) if "DPYD" in gene_list else np.zeros(stop - start, dtype=bool)
        )
        for s in range(start, stop):
            sample = data.samples[s]
            other = bool(other_vec[s - start])
            for gd, recs, mat in prepared:
                row = mat[s - start]
                key = (gd.gene, row.tobytes(), other and gd.gene == "DPYD")
                res = memo.get(key)
                if res is None:
                    res = _call(gd, recs, row, data.path, top_only, other)
                    if len(memo) >= _MEMO_MAX:
                        memo.clear()
                    memo[key] = res
                yield _gene_call(sample, gd, res)


def _other_variants(defs: dict[str, GeneDefinition], data, start: int, stop: int) -> np.ndarray:
    """Per sample of ``start:stop``: a non-reference genotype at any PGx position read except DPYD's HapB3 pair.

    PharmCAT's DpydHapB3Matcher decides between two branches on this whole-sample fact (it looks at every
    position PharmCAT read, CYP2D6's included; CYP2D6 positions are not read here).
    """
    dpyd = defs["DPYD"]
    skip = {dpyd.chr_pos(dpyd.rsids.index(r)) for r in ("rs56038477", "rs75017182")}
    refs = {gd.chr_pos(i): gd.refs[i] for gd in defs.values() for i in range(len(gd.positions))}
    out = np.zeros(stop - start, dtype=bool)
    for key, recs in data.records.items():
        if key in skip:
            continue
        for r in recs:
            if r.ref != refs.get(key):
                continue
            flag = np.array([_has_alt(t[0]) for t in r.tokens], dtype=bool)
            out |= flag[data.codes(r, start, stop)]
    return out


def _has_alt(gt: str | None) -> bool:
    return gt is not None and any(a not in ("0", ".") for a in gt.replace("|", "/").split("/"))


def _call(gd: GeneDefinition, recs, codes: np.ndarray, path: str, top_only: bool, other: bool) -> GeneResult:
    sas: list[SampleAllele | None] = []
    warnings: list[str] = []
    k = 0
    for i, rs in enumerate(recs):
        chosen = None
        for r in rs:
            code = int(codes[k])
            hit = r.decoded.get(code)
            if hit is None:
                hit = r.decoded[code] = sample_allele(r, r.tokens[code], gd.refs[i], gd.alts[i], gd.gene, path)
            sa, w = hit
            k += 1
            if w:
                warnings.append(w)
            if sa is not None and chosen is None:
                chosen = sa
        sas.append(chosen)
    res = call_gene(gd, sas, top_only=top_only, other_variants=other)
    if warnings:
        res = GeneResult(
            res.diplotypes, res.scores, res.haplotype_matches, res.phased, res.used, res.missing,
            res.uncallable, tuple(warnings) + res.warnings,
        )  # fmt: skip
    return res


def _gene_call(sample: str, gd: GeneDefinition, res: GeneResult) -> GeneCall:
    return GeneCall(
        sample_id=sample,
        gene=gd.gene,
        diplotypes=res.diplotypes,
        haplotype_matches=res.haplotype_matches,
        phased=res.phased,
        positions_used=tuple(gd.chr_pos(i) for i in res.used),
        positions_missing=tuple(gd.chr_pos(i) for i in res.missing),
        uncallable_alleles=res.uncallable,
        warnings=res.warnings,
        diplotype_scores=res.scores,
    )
