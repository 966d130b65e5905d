"""PharmCAT NamedAlleleMatcher semantics for one sample and one gene (our Python reimplementation).

Follows PharmCAT 3.1.1 (NamedAlleleMatcher 2.0.0): ``VcfReader`` (which genotypes count), ``MatchData``
(missing positions, reference assumed for undefined positions, sample permutations), ``DiplotypeMatcher``
(homozygous/heterozygous pairing, viable complements, scores with IUPAC wobble penalty, top candidates),
``ResultBuilder`` (unphased priorities, sub-allele names) and the lowest-function path for DPYD/RYR1.
Written from reading the MPL-2.0 Java source; no code copied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cmp_to_key

import numpy as np

from biolake.errors import InputError
from biolake.precision.pgx._definitions import (
    IUPAC,
    LOWEST_FUNCTION_GENES,
    UNDOCUMENTED_AS_REFERENCE,
    GeneDefinition,
    name_cmp,
)
from biolake.precision.pgx._vcf import Record

_GT_SPLIT = re.compile(r"[|/]")
_ALLELE_OK = re.compile(r"^[ACGT]+$")
_HAPLOID_CHROMS = frozenset({"chrY", "chrM"})
WOBBLE = frozenset("RYSWKMBDHVN")


@dataclass(slots=True)
class SampleAllele:
    pos: int
    a1: str | None
    a2: str | None
    c1: str  # computed allele 1 ("." if missing)
    c2: str | None  # computed allele 2 (None: haploid call, ".": explicit missing)
    phased: bool
    eff_phased: bool
    ps: int | None
    vcf_call: str
    undocumented: bool
    gt: str = ""

    @property
    def homozygous(self) -> bool:
        return self.c1 == self.c2


def sample_allele(
    rec: Record, token: tuple, ref: str, alts: tuple[str, ...], gene: str, path: str
) -> tuple[SampleAllele | None, str | None]:
    """One sample's genotype at one definition position as PharmCAT's VcfReader reads it (None = discarded)."""
    where = f"{rec.chrom}:{rec.pos}"
    if rec.ref != ref:
        return (
            None,
            f"{where}: Discarded genotype at this position because REF in VCF ({rec.ref}) "
            f"does not match expected reference ({ref})",
        )
    gt, ps_raw, ad_hom = token
    if gt is None:
        return None, f"{where}: Ignoring: no genotype"
    gt_array = _GT_SPLIT.split(gt)
    try:
        non_missing = [int(g) for g in gt_array if g != "."]
    except ValueError:
        raise InputError(f"invalid GT {gt!r}", file=path, line=rec.line) from None
    if not non_missing:
        return None, f"{where}: Ignoring: no call ({gt})"
    warning = None
    if rec.chrom not in _HAPLOID_CHROMS and len(non_missing) == 1 and rec.chrom != "chrX" and non_missing[0] == 0:
        return (
            None,
            f"{where}: Ignoring: only a single genotype found (GT={gt}). "
            "Since it's reference, treating this as a missing position.",
        )
    unique = set(non_missing)
    undocumented: set[str] = set()
    real_alts = [a for a in rec.alts if not a.startswith("<")]
    expect_multi = any(len(a) > 1 for a in alts)
    has_multi = any(len(a) > 1 for a in real_alts)
    if not (expect_multi and not has_multi):
        for x, alt in enumerate(real_alts):
            if x + 1 in unique and alt not in alts:
                undocumented.add(alt)
        if undocumented:
            warning = f"{where}: The genetic variation at this position does not match what is in the allele definition"
    # allele validation
    if rec.ref.startswith("<") or not _ALLELE_OK.match(rec.ref):
        return None, f"{where}: Discarded genotype at this position because REF is not a plain sequence"
    alleles = [rec.ref]
    for x, alt in enumerate(rec.alts, start=1):
        if x in unique and (alt.startswith("<") or "*" in alt or not _ALLELE_OK.match(alt)):
            return None, f"{where}: Discarded genotype at this position because ALT {alt!r} is not a plain sequence"
        alleles.append(alt)
    if ad_hom:
        return (
            None,
            f"{where}: Discarding genotype at this position because GT field indicates heterozygous "
            "but AD field indicates homozygous",
        )
    if max(non_missing) >= len(alleles):
        raise InputError(
            f"invalid GT allele value in {gt!r} (only {len(alleles) - 1} ALT alleles)", file=path, line=rec.line
        )
    a1 = alleles[int(gt_array[0])] if gt_array[0] != "." else None
    a2 = None
    if (rec.chrom not in _HAPLOID_CHROMS or a1 is None) and len(gt_array) > 1 and gt_array[1] != ".":
        a2 = alleles[int(gt_array[1])]
    phased, eff_phased, ps = True, True, None
    if "/" in gt:
        phased = False
        eff_phased = len(unique) <= 1
    elif ps_raw is not None and ps_raw != ".":
        try:
            ps = int(ps_raw)
        except ValueError:
            raise InputError(f"invalid PS {ps_raw!r}", file=path, line=rec.line) from None
        eff_phased = len(unique) <= 1
    treat_ref = gene in UNDOCUMENTED_AS_REFERENCE
    sep = "|" if phased else "/"
    c1 = "." if a1 is None else (rec.ref if treat_ref and a1 in undocumented else a1)
    call = a1 or "."
    if a2 is not None:
        c2: str | None = rec.ref if treat_ref and a2 in undocumented else a2
        call += sep + a2
    elif len(gt_array) > 1 and gt_array[1] == ".":
        c2 = "."
        call += sep + "."
    else:
        c2 = None
    return SampleAllele(rec.pos, a1, a2, c1, c2, phased, eff_phased, ps, call, bool(undocumented), gt), warning


# ------------------------------------------------------------------------------------------- permutations
def generate_permutations(sas: list[SampleAllele]) -> set[str]:
    """CombinationUtil.generatePermutations: every strand sequence ``pos:allele;…`` the genotypes allow."""
    s1_blank = all(sa.a1 is None for sa in sas)
    s2_blank = all(sa.a2 is None for sa in sas)
    out: set[str] = set()

    def rec(i: int, haploid: bool, first: bool, so_far: str, psets: dict | None) -> None:
        if i == len(sas):
            out.add(so_far)
            return
        sa = sas[i]
        if sa.eff_phased or haploid:
            rec(i + 1, haploid, first, f"{so_far}{sa.pos}:{sa.c1 if first else sa.c2};", psets)
        elif sa.ps is not None:
            if sa.ps in psets:
                use1 = psets[sa.ps]
                rec(i + 1, False, first, f"{so_far}{sa.pos}:{sa.c1 if use1 else sa.c2};", psets)
            else:
                rec(i + 1, False, first, f"{so_far}{sa.pos}:{sa.c1};", {**psets, sa.ps: True})
                rec(i + 1, False, first, f"{so_far}{sa.pos}:{sa.c2};", {**psets, sa.ps: False})
        else:
            rec(i + 1, False, first, f"{so_far}{sa.pos}:{sa.c1};", psets)
            rec(i + 1, False, first, f"{so_far}{sa.pos}:{sa.c2};", psets)

    if not s1_blank:
        rec(0, s2_blank, True, "", {})
    if not s2_blank:
        rec(0, s1_blank, False, "", {})
    return out


def seq_alleles(seq: str) -> list[str]:
    return [p.split(":", 1)[1] for p in seq.split(";")[:-1]]


# ------------------------------------------------------------------------------------------- haplotypes
@dataclass(slots=True)
class Hap:
    """A NamedAllele restricted to the sample's available positions (PharmCAT's marshalled haplotype)."""

    name: str
    id: str
    alleles: tuple[str | None, ...]  # per available position
    reference: bool
    score: int
    wobble_idx: tuple[int, ...]
    core_positions: tuple[int, ...] = ()
    num_combinations: int = 0
    num_partials: int = 0

    def matches(self, seq: list[str]) -> bool:
        for h, s in zip(self.alleles, seq, strict=True):
            if h is None:
                continue
            if len(h) == 1:
                if len(s) != 1 or s not in IUPAC.get(h, h):
                    return False
            elif h != s:
                return False
        return True


@dataclass(slots=True)
class Match:
    """BaseMatch: a haplotype (or combination) and the sample sequences it matches."""

    name: str
    hap: Hap
    seqs: list[str]  # sorted
    combination: bool = False
    components: tuple[Hap, ...] = ()  # CombinationMatch: component alleles (NamedAllele order)
    partials: tuple[tuple[int, str], ...] = ()  # CombinationMatch: (position, partial name), position order

    def haplotype_names(self) -> list[str]:
        return [c.name for c in self.components] if self.combination else [self.hap.name]


def match_cmp(a: Match, b: Match) -> int:
    if a is b:
        return 0
    rez = name_cmp(a.name, b.name)
    if rez:
        return rez
    if not a.combination and not b.combination and a.hap.score != b.hap.score:
        return -1 if a.hap.score < b.hap.score else 1
    if len(a.seqs) != len(b.seqs):
        return -1 if len(a.seqs) < len(b.seqs) else 1
    for x, y in zip(a.seqs, b.seqs, strict=True):
        if x != y:
            return -1 if x < y else 1
    return 0


match_key = cmp_to_key(match_cmp)


@dataclass(slots=True)
class Dip:
    h1: Match
    h2: Match | None
    score: int
    pairs: list[tuple[str, ...]]

    @property
    def name(self) -> str:
        return self.h1.name if self.h2 is None else f"{self.h1.name}/{self.h2.name}"


def dip_cmp(a: Dip, b: Dip) -> int:
    if a.score != b.score:
        return -1 if a.score > b.score else 1
    rez = match_cmp(a.h1, b.h1)
    if rez:
        return rez
    if a.h2 is None or b.h2 is None:
        return 0 if a.h2 is b.h2 else (-1 if a.h2 is None else 1)
    return match_cmp(a.h2, b.h2)


dip_key = cmp_to_key(dip_cmp)


def make_dip(m1: Match, m2: Match | None) -> Dip:
    if m2 is not None and match_cmp(m2, m1) < 0:
        m1, m2 = m2, m1
    return Dip(m1, m2, m1.hap.score + (m2.hap.score if m2 else 0), [])


_HAPS_CACHE: dict[tuple, list[Hap]] = {}
_HAPS_CACHE_MAX = 64  # a sample with missing positions rarely shares its pattern: keep the cache small


def marshall_haplotypes(
    gdef: GeneDefinition,
    avail: list[int],
    any_missing: bool,
    *,
    assume_reference: bool,
    skip: frozenset[str] = frozenset(),
) -> list[Hap]:
    """MatchData.marshallHaplotypes (+ defaultMissingAllelesToReference when ``assume_reference``), cached."""
    key = (id(gdef), tuple(avail), any_missing, assume_reference, skip)
    haps = _HAPS_CACHE.get(key)
    if haps is None:
        if len(_HAPS_CACHE) >= _HAPS_CACHE_MAX:
            # keep the no-missing-position entries (shared by most samples), drop the rest
            for k in [k for k in _HAPS_CACHE if k[2]]:
                del _HAPS_CACHE[k]
            _INDEX_CACHE.clear()
        haps = _marshall(gdef, avail, any_missing, assume_reference=assume_reference, skip=skip)
        _HAPS_CACHE[key] = haps
    return haps


_MATS: dict[int, tuple] = {}


def _gene_matrices(gdef: GeneDefinition):
    """Per gene (cached): alleles × positions arrays of raw and reference-filled alleles, defined/wobble masks."""
    mats = _MATS.get(id(gdef))
    if mats is None or mats[0] is not gdef:
        n, p = len(gdef.alleles), len(gdef.positions)
        raw = np.empty((n, p), dtype=object)
        for r, na in enumerate(gdef.alleles):
            raw[r, :] = na.alleles
        defined = raw != None  # noqa: E711 - elementwise
        ref_row = np.array(
            [a if a not in WOBBLE else gdef.refs[i] for i, a in enumerate(gdef.reference.alleles)], dtype=object
        )
        filled = np.where(defined, raw, ref_row[None, :])
        for r, na in enumerate(gdef.alleles):
            if na.reference:
                filled[r, :] = raw[r, :]
        wobble = np.vectorize(lambda a: a is not None and len(a) == 1 and a in WOBBLE, otypes=[bool])(raw)
        mats = _MATS[id(gdef)] = (gdef, raw, filled, defined, wobble, np.asarray(gdef.positions))
    return mats


def _marshall(
    gdef: GeneDefinition, avail: list[int], any_missing: bool, *, assume_reference: bool, skip: frozenset[str]
) -> list[Hap]:
    _, raw, filled, defined, wobble, positions = _gene_matrices(gdef)
    idx = np.asarray(avail, dtype=np.intp)
    d = defined[:, idx]
    scores = d.sum(axis=1)
    al = (filled if assume_reference else raw)[:, idx]
    wob = wobble[:, idx]
    pos = positions[idx]
    out = []
    for r, na in enumerate(gdef.alleles):
        if na.name in skip:
            continue
        score = int(scores[r]) if any_missing else na.score
        if any_missing and score == 0:
            continue
        core = () if na.reference else tuple(pos[d[r]].tolist())
        w = tuple(np.flatnonzero(wob[r]).tolist()) if wob[r].any() else ()
        out.append(Hap(na.name, na.id, tuple(al[r].tolist()), na.reference, score, w, core))
    return out


def _wobbles(al) -> tuple[int, ...]:
    return tuple(x for x, a in enumerate(al) if a is not None and len(a) == 1 and a in WOBBLE)


_INDEX_CACHE: dict[int, tuple[list[Hap], dict[tuple, list[int]], list[tuple[int, list]]]] = {}


def _hap_index(haps: list[Hap]):
    """Haplotypes with concrete alleles everywhere are found by exact lookup; the others position by position."""
    idx = _INDEX_CACHE.get(id(haps))
    if idx is None or idx[0] is not haps:
        exact: dict[tuple, list[int]] = {}
        slow = []
        for k, h in enumerate(haps):
            if all(a is not None and not (len(a) == 1 and a in WOBBLE) for a in h.alleles):
                exact.setdefault(tuple(h.alleles), []).append(k)
            else:
                checks = [
                    (x, frozenset(IUPAC[a]) if len(a) == 1 and a in IUPAC else a)
                    for x, a in enumerate(h.alleles)
                    if a is not None
                ]
                slow.append((k, checks))
        if len(_INDEX_CACHE) >= _HAPS_CACHE_MAX:
            _INDEX_CACHE.clear()
        idx = _INDEX_CACHE[id(haps)] = (haps, exact, slow)
    return idx


def compare_permutations(haps: list[Hap], perms: set[str], parsed: dict[str, list[str]]) -> list[Match]:
    """MatchData.comparePermutations: the haplotypes each permutation (strand sequence) matches."""
    _, exact, slow = _hap_index(haps)
    found: dict[int, list[str]] = {}
    for p in perms:
        seq = parsed[p]
        for k in exact.get(tuple(seq), ()):
            found.setdefault(k, []).append(p)
        for k, checks in slow:
            for x, a in checks:
                v = seq[x]
                if isinstance(a, frozenset):
                    if len(v) != 1 or v not in a:
                        break
                elif v != a:
                    break
            else:
                found.setdefault(k, []).append(p)
    out = [Match(haps[k].name, haps[k], sorted(seqs)) for k, seqs in found.items()]
    out.sort(key=match_key)
    return out


# ------------------------------------------------------------------------------------------- match data
@dataclass(slots=True)
class GeneData:
    """MatchData for one sample and gene."""

    gdef: GeneDefinition
    sas: list[SampleAllele]  # sample alleles at the available positions, position order
    avail: list[int]  # definition indices of the available positions
    missing: list[int]  # definition indices of the missing positions
    perms: set[str]
    parsed: dict[str, list[str]]
    haploid: bool
    phased: bool
    eff_phased: bool
    using_phase_sets: bool
    haps: list[Hap]


def gene_data(
    gdef: GeneDefinition,
    sas_by_index: list[SampleAllele | None],
    *,
    assume_reference: bool,
    skip: frozenset[str] = frozenset(),
) -> GeneData:
    avail = [i for i, sa in enumerate(sas_by_index) if sa is not None]
    missing = [i for i, sa in enumerate(sas_by_index) if sa is None]
    sas = [sas_by_index[i] for i in avail]
    if not sas:
        return GeneData(gdef, [], [], missing, set(), {}, False, False, False, False, [])
    haploid = all(sa.a1 is None for sa in sas) or all(sa.a2 is None for sa in sas)  # type: ignore[union-attr]
    phased = all(sa.phased for sa in sas)  # type: ignore[union-attr]
    psets = {sa.ps for sa in sas if sa.phased}  # type: ignore[union-attr]
    using_ps = bool(psets) and (len(psets) > 1 if None in psets else True)
    perms = generate_permutations(sas)  # type: ignore[arg-type]
    parsed = {p: seq_alleles(p) for p in perms}
    haps = marshall_haplotypes(gdef, avail, bool(missing), assume_reference=assume_reference, skip=skip)
    return GeneData(gdef, sas, avail, missing, perms, parsed, haploid, phased, len(perms) <= 2, using_ps, haps)  # type: ignore[arg-type]


def _score_for_sample(m: Match, data: GeneData, seqs: list[str] | set[str]) -> int:
    score = m.hap.score
    for idx in m.hap.wobble_idx:
        ref = data.gdef.refs[data.avail[idx]]
        if all(data.parsed[s][idx] == ref for s in seqs):
            score -= 1
    return score


def _seqs_for(m: Match, pair: tuple[str, ...]) -> list[str] | set[str]:
    if len(m.seqs) == 1:
        return m.seqs
    s = set(m.seqs) & set(pair)
    if not s:
        raise AssertionError("NamedAllele sequences do not match Diplotype sequence")
    return s


def _score_pair(d: Dip, pair: tuple[str, ...], data: GeneData) -> int:
    if d.h2 is None:
        return _score_for_sample(d.h1, data, _seqs_for(d.h1, pair))
    if d.h1.name == d.h2.name:
        return _score_for_sample(d.h1, data, _seqs_for(d.h1, pair[:1])) + _score_for_sample(
            d.h2, data, _seqs_for(d.h2, pair[1:2])
        )
    return _score_for_sample(d.h1, data, _seqs_for(d.h1, pair)) + _score_for_sample(d.h2, data, _seqs_for(d.h2, pair))


def _viable(s1: str, s2: str, data: GeneData) -> bool:
    p1, p2 = data.parsed[s1], data.parsed[s2]
    for x, sa in enumerate(data.sas):
        if sa.homozygous:
            if p1[x] != p2[x]:
                return False
        elif p1[x] == p2[x]:
            return False
    return True


def _homozygous_pairs(matches: list[Match], data: GeneData) -> list[Dip]:
    seq = next(iter(data.perms))
    if len(matches) == 1:
        m = matches[0]
        if data.haploid:
            d = make_dip(m, None)
            d.pairs.append((seq,))
        else:
            d = make_dip(m, m)
            d.pairs.append((seq, seq))
        return [d]
    out = []
    for x in range(len(matches)):
        for y in range(x, len(matches)):
            d = make_dip(matches[x], matches[y])
            d.pairs.append((seq, seq))
            out.append(d)
    return out


def _heterozygous_pairs(matches: list[Match], data: GeneData, find_combinations: bool) -> list[Dip]:
    by_name: dict[str, list[Match]] = {}
    for m in matches:
        by_name.setdefault(m.name, []).append(m)
    for v in by_name.values():
        v.sort(key=match_key)
    names = sorted(by_name, key=cmp_to_key(name_cmp))
    out = []
    for x in range(len(names)):
        for y in range(x, len(names)):
            hm1s, hm2s = by_name[names[x]], by_name[names[y]]
            if x == y:
                if len(hm1s) == 1:
                    if len(hm1s[0].seqs) == 1:
                        continue
                elif find_combinations and hm1s[0].combination and len(hm1s) == 2:
                    hm1s, hm2s = [hm1s[-1]], [hm1s[0]]
            for m1 in hm1s:
                for m2 in hm2s:
                    pairs = [(s1, s2) for s1 in m1.seqs for s2 in m2.seqs if _viable(s1, s2, data)]
                    if pairs:
                        d = make_dip(m1, m2)
                        d.pairs.extend(pairs)
                        out.append(d)
    return out


def compute_diplotypes(
    data: GeneData, matches: list[Match], *, find_combinations: bool, top_only: bool, priority_mode: bool
) -> list[Dip]:
    """DiplotypeMatcher.compute over already computed haplotype (or combination) matches."""
    if not matches:
        return []
    if len(data.perms) == 1:
        dips = _homozygous_pairs(matches, data)
    else:
        dips = _heterozygous_pairs(matches, data, find_combinations)
    if not find_combinations:
        for d in dips:
            d.score = max([_score_pair(d, p, data) for p in d.pairs] + [0])
    dips = _dedupe(sorted(dips, key=dip_key))
    if top_only and not priority_mode and len(dips) > 1:
        dips = [d for d in dips if d.score == dips[0].score]
    return dips


def _dedupe(dips: list[Dip]) -> list[Dip]:
    out: list[Dip] = []
    for d in dips:
        if not out or dip_cmp(out[-1], d) != 0:
            out.append(d)
    return out


# ------------------------------------------------------------------------------------------- gene calls
@dataclass(frozen=True, slots=True)
class GeneResult:
    diplotypes: tuple[tuple[str, ...], ...]
    scores: tuple[int, ...]
    haplotype_matches: tuple[str, ...]
    phased: bool
    used: tuple[int, ...]
    missing: tuple[int, ...]
    uncallable: tuple[str, ...]
    warnings: tuple[str, ...]


def _result(
    data: GeneData,
    dips: list[Dip] | None = None,
    hap_matches: list[str] | None = None,
    warnings: list[str] | None = None,
    *,
    haps_of: GeneData | None = None,
) -> GeneResult:
    gdef = data.gdef
    dips = dips or []
    warnings = list(warnings or [])
    # ResultBuilder.build: unphased diplotype priorities, then sub-allele names
    if len(dips) > 1 and not data.eff_phased and gdef.unphased_priorities:
        names = {d.name for d in dips}
        for lst, pick in gdef.unphased_priorities:
            if names.issuperset(lst):
                dips = [next(d for d in dips if d.name == pick)]
                warnings.append(
                    f"Unphased {gdef.gene} variants resulted in multiple calls.  PharmCAT is picking a single call "
                    "based on frequency data.  Please consult the documentation for details."
                )
                break
    out = []
    for d in dips:
        names = (d.h1.name,) if d.h2 is None else (d.h1.name, d.h2.name)
        for sub, core in gdef.suballeles.items():
            names = tuple(n.replace(sub, core) for n in names)
        out.append(names)
    matchable = {h.name for h in (haps_of or data).haps}
    uncallable = tuple(sorted({a.name for a in gdef.alleles if a.name not in matchable}, key=cmp_to_key(name_cmp)))
    return GeneResult(
        tuple(out),
        tuple(d.score for d in dips),
        tuple(hap_matches or ()),
        bool(data.sas) and data.phased,
        tuple(data.avail),
        tuple(data.missing),
        uncallable,
        tuple(warnings),
    )


def call_gene(
    gdef: GeneDefinition,
    sas_by_index: list[SampleAllele | None],
    *,
    other_variants: bool = False,
    top_only: bool = True,
) -> GeneResult:
    """NamedAlleleMatcher.call for one gene (default: top candidates only; never combination mode).

    ``top_only=False`` is PharmCAT's ``-a``/``topCandidateOnly=false`` (every viable diplotype, best first).

    ``other_variants``: the sample has a non-reference genotype at some PGx position outside DPYD's HapB3
    positions (PharmCAT's DpydHapB3Matcher looks at the whole sample, not just DPYD).
    """
    if gdef.gene in LOWEST_FUNCTION_GENES:
        from biolake.precision.pgx._lowest import call_lowest_function_gene

        return call_lowest_function_gene(gdef, sas_by_index, other_variants=other_variants)
    data = gene_data(gdef, sas_by_index, assume_reference=True)
    if not data.sas:
        return _result(data)
    req = [gdef.chr_pos(i) for i in data.missing if gdef.positions[i] in gdef.required_positions]
    if req:
        s = "s" if len(req) > 1 else ""
        return _result(data, warnings=[f"Cannot call {gdef.gene} - missing required variant{s} ({', '.join(req)})"])
    if any("." in sa.vcf_call for sa in data.sas):
        return _result(data)
    matches = compare_permutations(data.haps, data.perms, data.parsed)
    priority_mode = not data.eff_phased and bool(gdef.unphased_priorities)
    dips = compute_diplotypes(data, matches, find_combinations=False, top_only=top_only, priority_mode=priority_mode)
    return _result(data, dips)
