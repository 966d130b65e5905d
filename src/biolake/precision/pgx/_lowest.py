"""PharmCAT's lowest-function path for DPYD and RYR1 (NamedAlleleMatcher.callLowestFunctionGene).

For these genes PharmCAT does not assume reference where a named allele is silent; an effectively phased
sample gets exact diplotypes, phased samples combinations of alleles (``[A + B]``) and partial alleles
(``g.97573863C>T``), and an unphased sample a list of *haplotype matches* (every allele found, for the
reporter to take the lowest function). DPYD's HapB3 (``c.1129-5923C>G, c.1236G>A (HapB3)``: exonic
rs56038477 + intronic rs75017182) is called separately (DpydHapB3Matcher) and merged in.
"""

from __future__ import annotations

from functools import cmp_to_key

from biolake.precision.pgx._core import (
    IUPAC,
    WOBBLE,
    Dip,
    GeneData,
    GeneResult,
    Hap,
    Match,
    SampleAllele,
    _result,
    _wobbles,
    compare_permutations,
    compute_diplotypes,
    dip_key,
    gene_data,
    make_dip,
    match_key,
)
from biolake.precision.pgx._definitions import GeneDefinition, name_cmp

REFERENCE = "Reference"
HAPB3 = "c.1129-5923C>G, c.1236G>A (HapB3)"
HAPB3_INTRON = "c.1129-5923C>G"
HAPB3_EXON_RSID = "rs56038477"
HAPB3_INTRON_RSID = "rs75017182"
HAPB3_EXON_PARTIAL = "g.97573863C>T"
HAPB3_INTRON_PARTIAL = "g.97579893G>C"
MSG_INTRONIC_MISMATCH = "pcat-dpyd-hapB3-intronic-mismatch-exonic"
MSG_EXONIC_ONLY = "pcat-dpyd-hapB3-exonic-only"


def _na_cmp(a: Hap, b: Hap) -> int:
    """NamedAllele.compareTo: reference first, then name, then id."""
    if a.reference != b.reference:
        return -1 if a.reference else 1
    rez = name_cmp(a.name, b.name)
    if rez:
        return rez
    return 0 if a.id == b.id else (-1 if a.id < b.id else 1)


_na_key = cmp_to_key(_na_cmp)


def combination_match(data: GeneData, seq: str, components, partials: dict[int, str] | None) -> Match:
    """CombinationMatch: name ``[A + B + g.123C>T]``, merged alleles, score = defined positions − partials."""
    comps = sorted({(c.name, c.id): c for c in components}.values(), key=_na_key)
    parts = tuple(sorted((partials or {}).items()))
    names, count = [], 0
    for c in comps:
        if c.reference:
            continue
        if c.num_combinations > 1:
            names.append(c.name[1:-1])
            count += 2
        else:
            names.append(c.name)
            count += 1
    for _, pname in parts:
        names.append(pname)
        count += 1
    name = " + ".join(names)
    if count > 1:
        name = f"[{name}]"
    n = len(data.avail)
    alleles: list[str | None] = [None] * n
    for c in comps:
        for x in range(n):
            if alleles[x] is None:
                alleles[x] = c.alleles[x]
    score = sum(a is not None for a in alleles) - len(parts)
    core = tuple(data.gdef.positions[data.avail[x]] for x in range(n) if alleles[x] is not None)
    hap = Hap(
        name,
        " + ".join(c.id for c in comps),
        tuple(alleles),
        False,
        score,
        _wobbles(alleles),
        core,
        len(comps),
        len(parts),
    )
    return Match(name, hap, [seq], True, tuple(comps), parts)


def _has_named_allele(allele_at: dict[int, str], hap: Hap, data: GeneData) -> bool:
    for x, a in enumerate(hap.alleles):
        if a is None:
            continue
        s = allele_at[x]
        if len(a) == 1 and a in WOBBLE:
            if s not in IUPAC[a]:
                return False
        elif a != s:
            return False
    return True


def _viable_combinations(covered: list[Hap]) -> list[list[Hap]]:
    ordered = sorted({(h.name): h for h in covered}.values(), key=lambda h: (-len(h.core_positions), h.name))
    combos: list[list[Hap]] = []
    for allele in ordered:
        added, overlap_count = False, 0
        core = set(allele.core_positions)
        for combo in combos:
            overlaps = False
            for existing in combo:
                if core & set(existing.core_positions):
                    overlaps = True
                    if len(existing.core_positions) != len(allele.core_positions):
                        overlap_count += 1
                        break
            if not overlaps:
                combo.append(allele)
                combo.sort(key=_na_key)
                added = True
        if not added and overlap_count == 0:
            combos.append([allele])
    return combos


def combination_matches(data: GeneData, *, find_partials: bool) -> list[Match]:
    """CombinationMatcher.compute."""
    gdef = data.gdef
    ref_hap = next(h for h in data.haps if h.reference)
    out: dict[tuple, Match] = {}
    for seq in data.perms:
        alleles = data.parsed[seq]
        allele_at = dict(enumerate(alleles))
        var_idx = [x for x, a in enumerate(alleles) if a != gdef.refs[data.avail[x]]]
        covered = sorted(
            (h for h in data.haps if not h.reference and _has_named_allele(allele_at, h, data)), key=_na_key
        )

        def partial_names(haps: list[Hap], var_idx=var_idx, alleles=alleles) -> dict[int, str]:
            if not find_partials:
                return {}
            core = {p for h in haps for p in h.core_positions}
            return {
                gdef.positions[data.avail[x]]: gdef.hgvs_for(data.avail[x], alleles[x])
                for x in var_idx
                if gdef.positions[data.avail[x]] not in core
            }

        if len(covered) <= 1:
            hap = covered[0] if covered else ref_hap
            partials = partial_names(covered)
            m = Match(hap.name, hap, [seq]) if not partials else combination_match(data, seq, [hap], partials)
            out.setdefault((m.name, m.combination, m.hap.score, seq), m)
        else:
            for combo in _viable_combinations(covered):
                m = combination_match(data, seq, combo, partial_names(combo))
                out.setdefault((m.name, m.combination, m.hap.score, seq), m)
    return sorted(out.values(), key=match_key)


# ------------------------------------------------------------------------------------------- DPYD HapB3
class HapB3:
    """DpydHapB3Matcher."""

    def __init__(
        self, gdef: GeneDefinition, sas_by_index: list[SampleAllele | None], orig: GeneData, other_variants: bool
    ):
        self.gdef, self.orig = gdef, orig
        self.exon_i = gdef.rsids.index(HAPB3_EXON_RSID)
        self.intron_i = gdef.rsids.index(HAPB3_INTRON_RSID)
        self.exon_sa, self.intron_sa = sas_by_index[self.exon_i], sas_by_index[self.intron_i]
        hb3 = [sa for sa in (self.exon_sa, self.intron_sa) if sa is not None]
        others = [sa for i, sa in enumerate(sas_by_index) if sa is not None and i not in (self.exon_i, self.intron_i)]
        self.has_hapb3_variants = any(_gt_has_alt(sa) for sa in hb3)
        self.has_non_hapb3_variants = other_variants or any(_gt_has_alt(sa) for sa in others)
        self.hapb3_allele = next(a for a in gdef.alleles if a.name == HAPB3)
        self.intron_call: list[str] | None = None
        self.call: list[str] | None = None
        self.num_called = 0
        self.warnings: set[str] = set()

    def _call_locus(self, i: int, sa: SampleAllele) -> list[str]:
        allele = self.hapb3_allele.alleles[i]
        rez, count = [], 0
        if sa.a1 is None:
            if sa.phased:
                rez.append(".")
        else:
            rez.append("1" if allele == sa.a1 else "0")
            count += 1
        if sa.a2 is not None:
            rez.append("1" if allele == sa.a2 else "0")
            count += 1
        if count < 2:
            self.warnings.add(f"Only found {count} allele for {self.gdef.rsids[i]}")
        return rez

    def call_haplotype_matches(self) -> None:
        orig = self.orig
        eff = orig.eff_phased
        if not eff and orig.using_phase_sets:
            pe = _phase_set(orig, self.gdef.positions[self.exon_i])
            pi = _phase_set(orig, self.gdef.positions[self.intron_i])
            if pe is not None and pe == pi:
                eff = True
        if self.exon_sa is not None or self.intron_sa is not None:
            if self.intron_sa is not None:
                intr = self._call_locus(self.intron_i, self.intron_sa)
                n_in = sum(a != "." for a in intr)
                if self.exon_sa is None:
                    self.intron_call = intr
                else:
                    ex = self._call_locus(self.exon_i, self.exon_sa)
                    n_ex = sum(a != "." for a in ex)
                    if n_in == 0:
                        self.call = ex
                        if n_ex != 0:
                            self.warnings.add(MSG_INTRONIC_MISMATCH)
                    elif n_in == 1:
                        if n_ex == 0:
                            self.intron_call = intr
                        elif eff:
                            self._phased(intr, ex, 0)
                            self._phased(intr, ex, 1)
                    elif n_in == 2:
                        if n_ex == 0:
                            self.intron_call = intr
                        elif eff:
                            self._phased(intr, ex, 0)
                            self._phased(intr, ex, 1)
                        elif n_ex == 2:
                            self.intron_call, self.call = [], []
                            ni, ne = intr.count("1"), ex.count("1")
                            if ni == ne:
                                self.call.extend(["1"] * ni)
                            elif ni > ne:
                                self.intron_call.append("1")
                                if ne == 1:
                                    self.call.append("1")
                                elif ni == 2:
                                    self.intron_call.append("1")
                            else:
                                if ni == 1:
                                    self.call.append("1")
                                self.warnings.add(MSG_INTRONIC_MISMATCH)
            else:
                self.call = self._call_locus(self.exon_i, self.exon_sa)  # type: ignore[arg-type]
                if sum(a != "." for a in self.call) == 2:
                    self.warnings.add(MSG_EXONIC_ONLY)
        self.num_called = (self.intron_call or []).count("1") + (self.call or []).count("1")

    def _phased(self, intr: list[str], ex: list[str], idx: int) -> None:
        ic = intr[idx] if len(intr) > idx else "."
        ec = ex[idx] if len(ex) > idx else "."
        if self.intron_call is None:
            self.intron_call = []
        if self.call is None:
            self.call = []
        if ic == "." and ec == ".":
            self.intron_call.append(".")
            self.call.append(".")
        if ic == "0":
            self.intron_call.append("0")
            self.call.append("0")
            if ec != "0":
                self.warnings.add(MSG_INTRONIC_MISMATCH)
        elif ic == "1":
            if ec == "0":
                self.intron_call.append("1")
                self.call.append("0")
            elif ec == ".":
                self.intron_call.append("1")
                self.call.append(".")
            else:
                self.intron_call.append("0")
                self.call.append("1")
        else:
            self.intron_call.append(".")
            self.call.append(".")

    def haplotype_match_names(self) -> list[Match]:
        out = []
        for calls, name in ((self.call, HAPB3), (self.intron_call, HAPB3_INTRON)):
            if calls:
                h = _find(self.orig, name)
                out.extend(Match(h.name, h, []) for c in calls if c == "1")
        return out

    def merge_phased(self, data: GeneData, dips: list[Dip]) -> list[Dip]:
        if not self.has_hapb3_variants:
            return dips
        out = []
        for d in dips:
            assert d.h2 is not None
            h1 = self._phased_call(d.h1.seqs[0] if d.h1.seqs else "", data, d.h1)
            h2 = self._phased_call(d.h2.seqs[0] if d.h2.seqs else "", data, d.h2)
            out.append(make_dip(h1, h2))
        return _sorted_unique(out)

    def add_to_ref(self, data: GeneData) -> list[Dip]:
        haps = [self._phased_call(seq, data, None) for seq in data.perms]
        return [make_dip(haps[0], haps[1]) if len(haps) == 2 else make_dip(haps[0], haps[0])]

    def _allele_at(self, seq: str, data: GeneData, i: int) -> str | None:
        if i not in data.avail or not seq:
            return None
        return (
            data.parsed[seq][data.avail.index(i)]
            if seq in data.parsed
            else seq.split(";")[data.avail.index(i)].split(":")[1]
        )

    def _phased_call(self, seq: str, data: GeneData, base: Match | None) -> Match:
        a = self._allele_at(seq, data, self.intron_i)
        has_intron_locus = a is not None and a != "."
        has_intron = has_intron_locus and a != self.gdef.refs[self.intron_i]
        a = self._allele_at(seq, data, self.exon_i)
        has_exon = a is not None and a != "." and a != self.gdef.refs[self.exon_i]
        if has_intron:
            return self._build(data, _find(data, HAPB3 if has_exon else HAPB3_INTRON), base)
        if has_intron_locus:
            if has_exon:
                self.warnings.add(MSG_INTRONIC_MISMATCH)
        elif has_exon:
            self.warnings.add(MSG_EXONIC_ONLY)
            return self._build(data, _find(data, HAPB3), base)
        return self._build(data, _find(data, REFERENCE), base)

    def _build(self, data: GeneData, allele: Hap, base: Match | None) -> Match:
        if base is None:
            return Match(allele.name, allele, [])
        if allele.name == REFERENCE:
            return base
        if base.combination:
            comps = [allele] + [_find(data, c.name) for c in base.components]
            return combination_match(data, base.seqs[0], comps, None)
        if base.name == REFERENCE:
            return Match(allele.name, allele, [])
        return combination_match(data, base.seqs[0], [allele, _find(data, base.name)], None)

    def fix_partials(self, data: GeneData, dips: list[Dip]) -> list[Dip]:
        out = []
        for d in dips:
            h1, h2 = d.h1, d.h2
            assert h2 is not None
            mod = False
            if _has_hapb3_partial(h1):
                h1, mod = self._remove_partials(data, h1), True
            if _has_hapb3_partial(h2):
                h2, mod = self._remove_partials(data, h2), True
            out.append(make_dip(h1, h2) if mod else d)
        return _sorted_unique(out)

    def _remove_partials(self, data: GeneData, m: Match) -> Match:
        drop = {self.gdef.positions[self.exon_i], self.gdef.positions[self.intron_i]}
        partials = {p: n for p, n in m.partials if p not in drop}
        if not partials and len(m.components) == 1 and m.components[0].name == REFERENCE:
            return Match(REFERENCE, m.components[0], [m.seqs[0]])
        return combination_match(data, m.seqs[0], m.components, partials)


def _gt_has_alt(sa: SampleAllele) -> bool:
    return any(ch not in "|/0" for ch in sa.gt)


def _has_hapb3_partial(m: Match) -> bool:
    return m.combination and bool(m.partials) and (HAPB3_INTRON_PARTIAL in m.name or HAPB3_EXON_PARTIAL in m.name)


def _phase_set(data: GeneData, pos: int) -> int | None:
    if not data.using_phase_sets:
        return None
    for sa in data.sas:
        if sa.pos == pos and sa.phased:
            return sa.ps
    return None


def _find(data: GeneData, name: str) -> Hap:
    for h in data.haps:
        if h.name == name:
            return h
    raise AssertionError(f"DPYD definition is missing allele {name!r}")


def _sorted_unique(dips: list[Dip]) -> list[Dip]:
    from biolake.precision.pgx._core import _dedupe

    return _dedupe(sorted(dips, key=dip_key))


# ------------------------------------------------------------------------------------------- the path
def call_lowest_function_gene(
    gdef: GeneDefinition, sas_by_index: list[SampleAllele | None], *, other_variants: bool = False
) -> GeneResult:
    orig = gene_data(gdef, sas_by_index, assume_reference=True)
    if not orig.sas:
        return _result(orig)
    hb3: HapB3 | None = None
    working = orig
    no_hapb3 = frozenset({HAPB3, HAPB3_INTRON})
    if gdef.gene == "DPYD":
        hb3 = HapB3(gdef, sas_by_index, orig, other_variants)
        if hb3.has_hapb3_variants:
            working = gene_data(gdef, sas_by_index, assume_reference=True, skip=no_hapb3)
    with_b3 = hb3 is not None and hb3.has_hapb3_variants

    def warnings() -> list[str]:
        return sorted(hb3.warnings) if hb3 is not None else []

    if orig.eff_phased:
        dips = compute_diplotypes(
            working, compare_permutations(working.haps, working.perms, working.parsed),
            find_combinations=False, top_only=False, priority_mode=False,
        )  # fmt: skip
        if with_b3:
            assert hb3 is not None
            if dips:
                merger = gene_data(gdef, sas_by_index, assume_reference=False)
                merged = hb3.merge_phased(merger, dips)
                return _result(merger, merged, warnings=warnings())
            if not hb3.has_non_hapb3_variants:
                merger = gene_data(gdef, sas_by_index, assume_reference=False)
                return _result(merger, hb3.add_to_ref(merger), warnings=warnings())
        if dips:
            return _result(working, dips)

    if orig.eff_phased or orig.using_phase_sets:
        combo = gene_data(gdef, sas_by_index, assume_reference=False, skip=no_hapb3 if with_b3 else frozenset())
        dips = compute_diplotypes(
            combo,
            combination_matches(combo, find_partials=True),
            find_combinations=True,
            top_only=False,
            priority_mode=False,
        )
        if with_b3:
            assert hb3 is not None
            if dips:
                merger = gene_data(gdef, sas_by_index, assume_reference=False)
                dips = hb3.fix_partials(merger, dips)
                merged = hb3.merge_phased(merger, dips)
                return _result(merger, merged, warnings=warnings())
            if not hb3.has_non_hapb3_variants:
                merger = gene_data(gdef, sas_by_index, assume_reference=False)
                return _result(merger, hb3.add_to_ref(merger), warnings=warnings())
        if dips:
            return _result(combo, dips)

    combo = gene_data(gdef, sas_by_index, assume_reference=False, skip=no_hapb3 if hb3 is not None else frozenset())
    combo_dips = compute_diplotypes(
        combo,
        combination_matches(combo, find_partials=False),
        find_combinations=True,
        top_only=False,
        priority_mode=False,
    )
    if combo_dips and (orig.eff_phased or combo.using_phase_sets):
        if with_b3:
            assert hb3 is not None
            merger = gene_data(gdef, sas_by_index, assume_reference=False)
            return _result(merger, hb3.merge_phased(merger, combo_dips), warnings=warnings())
        return _result(combo, combo_dips)
    hap_matches = _haplotype_matches(combo, combo_dips, hb3)
    return _result(orig, hap_matches=[m.name for m in hap_matches], warnings=warnings())


def _haplotype_matches(combo: GeneData, dips: list[Dip], hb3: HapB3 | None) -> list[Match]:
    """NamedAlleleMatcher.callHaplotypesForLowestFunctionGene."""
    if hb3 is not None:
        hb3.call_haplotype_matches()
    homozygous: set[str] = set()
    for d in dips:
        counts: dict[str, int] = {}
        for m in (d.h1, d.h2):
            if m is None:
                continue
            for h in m.haplotype_names():
                if m.hap.num_partials == 0 or h != REFERENCE:
                    counts[h] = counts.get(h, 0) + 1
        homozygous.update(k for k, v in counts.items() if v > 1)
    if hb3 is not None and hb3.num_called > 0:
        homozygous.discard(REFERENCE)
    matches = compare_permutations(combo.haps, combo.perms, combo.parsed)
    n = len(matches) + (hb3.num_called if hb3 is not None else 0)
    if n > 2:
        matches = [m for m in matches if m.name != REFERENCE]
    final: list[Match] = []
    for m in matches:
        final.append(m)
        if m.name in homozygous:
            final.append(m)
            homozygous.discard(m.name)
    if hb3 is not None:
        final.extend(hb3.haplotype_match_names())
    if homozygous:
        raise AssertionError(f"Combination matching found {sorted(homozygous)} but haplotype matching didn't")
    final.sort(key=match_key)
    return final
