"""Generated all-pairs suite: every pair of named alleles of a gene → a synthetic multi-sample VCF → the matcher's
top-scoring diplotypes equal an independent brute-force oracle, and the generating pair is among the viable ones.

The oracle implements PharmCAT's documented scoring (NamedAlleleMatcher-101, pharmcat.org/methods): a named
allele is its defined alleles with the reference elsewhere; an unphased sample is every assignment of its
heterozygous alleles to two strands; a diplotype (x, y) is viable when x matches one strand and y the other
(IUPAC codes match any of their bases); its score is the number of sample-covered positions x defines (all, for
the reference allele) plus the same for y, less one for each IUPAC position where the matched strand is
reference; PharmCAT keeps the top score. With positions removed from the VCF, alleles are judged on the
remaining positions only and alleles defined nowhere else drop out.

Genes on PharmCAT's lowest-function path (DPYD, RYR1) and NAT2's unphased priority rule are not scored this way
and are tested in ``test_pgx_matcher.py``; NAT2 is run here with phased genotypes. Genes with more than 300 pairs are
tested on a fixed, seeded sample of 300 pairs (150 for genes with more than 60 alleles; 100 pairs for the runs
with positions removed) to keep the suite fast.
SLCO1B1's sub-alleles (*45.001, *45.002) are reported under their core name (*45) as PharmCAT does.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from biolake.precision.pgx._definitions import IUPAC, LOWEST_FUNCTION_GENES, load_definitions
from biolake.precision.pgx.matcher import match_vcf

DEFS = load_definitions()
GENES = [g for g in DEFS if g not in LOWEST_FUNCTION_GENES]
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{}\n"


def _strand(gd, allele) -> list[str]:
    """A concrete sequence carrying ``allele``: reference where undefined, an IUPAC code's first non-ref base."""
    ref = gd.reference
    out = []
    for i, a in enumerate(allele.alleles):
        if a is None:
            out.append(ref.alleles[i])
        elif len(a) == 1 and a not in "ACGT":
            bases = [b for b in IUPAC[a] if b != gd.refs[i]] or list(IUPAC[a])
            out.append(bases[0])
        else:
            out.append(a)
    return out


def _pairs(gd, cap: int) -> list[tuple[int, int]]:
    n = len(gd.alleles)
    pairs = [(i, j) for i in range(n) for j in range(i, n)]
    if len(pairs) > cap:
        pairs = random.Random(gd.gene).sample(pairs, cap)
    return pairs


def _matches(allele: tuple, seq: list[str], avail: list[int]) -> bool:
    for i in avail:
        a = allele[i]
        if len(a) == 1 and a in IUPAC:
            if seq[i] not in IUPAC[a]:
                return False
        elif a != seq[i]:
            return False
    return True


def _fits(a: str, v: str) -> bool:
    return v in IUPAC[a] if len(a) == 1 and a in IUPAC else a == v


def oracle(gd, s1: list[str], s2: list[str], avail: list[int], phased: bool) -> set[tuple[str, ...]]:
    """Top-scoring viable diplotypes by exhaustive pairing (see module docstring).

    Unphased positions are independent, so each heterozygous position picks the strand assignment with the
    smaller wobble penalty; phased genotypes allow only the two whole-strand assignments.
    """
    ref_alleles = gd.reference.alleles
    cands = []
    for na in gd.alleles:
        defined = [i for i in avail if na.alleles[i] is not None]
        if not defined:
            continue
        filled = tuple(a if a is not None else ref_alleles[i] for i, a in enumerate(na.alleles))
        if all(_fits(filled[i], s1[i]) or _fits(filled[i], s2[i]) for i in avail):
            wob = frozenset(i for i in defined if len(na.alleles[i]) == 1 and na.alleles[i] not in "ACGT")
            cands.append((na.name, filled, len(defined), wob))
    best: dict[tuple[str, ...], int] = {}
    for (n1, x, sx, wx), (n2, y, sy, wy) in itertools.product(cands, cands):
        options = []
        if phased:
            for a, b in ((s1, s2), (s2, s1)):
                if all(_fits(x[i], a[i]) and _fits(y[i], b[i]) for i in avail):
                    pen = sum(a[i] == gd.refs[i] for i in wx) + sum(b[i] == gd.refs[i] for i in wy)
                    options.append(sx + sy - pen)
        else:
            pen, ok = 0, True
            for i in avail:
                per = [
                    (i in wx and a == gd.refs[i]) + (i in wy and b == gd.refs[i])
                    for a, b in ((s1[i], s2[i]), (s2[i], s1[i]))
                    if _fits(x[i], a) and _fits(y[i], b)
                ]
                if not per:
                    ok = False
                    break
                pen += min(per)
            if ok:
                options.append(sx + sy - pen)
        if options:
            key = tuple(sorted((gd.suballeles.get(n1, n1), gd.suballeles.get(n2, n2))))
            best[key] = max(best.get(key, -(10**9)), max(options))
    if not best:
        return set()
    top = max(best.values())
    return {k for k, v in best.items() if v == top}


def _write(gd, rows: list[tuple[list[str], list[str]]], drop: list[set[int]], phased: bool, path: Path) -> None:
    """One sample per pair; dropped positions are written as no-calls (./.), i.e. missing for that sample."""
    sep = "|" if phased else "/"
    lines = [HEADER.format("\t".join(f"s{k}" for k in range(len(rows))))]
    for i, pos in enumerate(gd.positions):
        alle = [gd.refs[i], *gd.alts[i]]
        extra = sorted({s[i] for s1, s2 in rows for s in (s1, s2)} - set(alle))
        alle += extra
        gts = []
        for k, (s1, s2) in enumerate(rows):
            gts.append("./." if i in drop[k] else f"{alle.index(s1[i])}{sep}{alle.index(s2[i])}")
        lines.append(
            f"{gd.chromosome}\t{pos}\t.\t{gd.refs[i]}\t{','.join(alle[1:])}\t.\tPASS\t.\tGT\t" + "\t".join(gts) + "\n"
        )
    path.write_text("".join(lines))


def _run(gd, phased: bool, n_drop: int, tmp_path: Path) -> None:
    pairs = _pairs(gd, 100 if n_drop else (150 if len(gd.alleles) > 60 else 300))
    rows, drop = [], []
    for i, j in pairs:
        a, b = gd.alleles[i], gd.alleles[j]
        rows.append((_strand(gd, a), _strand(gd, b)))
        defined = [p for p, x in enumerate(a.alleles) if x is not None] or list(range(len(gd.positions)))
        defined_b = [p for p, x in enumerate(b.alleles) if x is not None] or list(range(len(gd.positions)))
        d = set()
        if n_drop >= 1:
            d.add(defined[0])
        if n_drop >= 2:
            d.add(defined_b[-1])
        drop.append(d)
    vcf = tmp_path / f"{gd.gene}.vcf"
    _write(gd, rows, drop, phased, vcf)
    n_checked = 0
    for k, call in enumerate(match_vcf(vcf, genes=[gd.gene])):
        s1, s2 = rows[k]
        avail = [p for p in range(len(gd.positions)) if p not in drop[k]]
        expected = oracle(gd, s1, s2, avail, phased)
        assert {tuple(sorted(d)) for d in call.diplotypes} == expected, (
            gd.gene,
            gd.alleles[pairs[k][0]].name,
            gd.alleles[pairs[k][1]].name,
            drop[k],
        )
        assert len(call.diplotypes) == len(expected)
        n_checked += 1
    assert n_checked >= len(pairs) * 0.9


@pytest.mark.parametrize("gene", [g for g in GENES if g != "NAT2"])
def test_match_vcf__all_pairs_unphased(gene, tmp_path):
    _run(DEFS[gene], False, 0, tmp_path)


@pytest.mark.parametrize("gene", GENES)
def test_match_vcf__all_pairs_phased(gene, tmp_path):
    _run(DEFS[gene], True, 0, tmp_path)


@pytest.mark.parametrize("n_drop", [1, 2])
@pytest.mark.parametrize("gene", [g for g in GENES if g != "NAT2"])
def test_match_vcf__all_pairs_missing_positions(gene, n_drop, tmp_path):
    _run(DEFS[gene], False, n_drop, tmp_path)
