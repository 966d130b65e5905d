"""Allele definitions as PharmCAT ships them (``GENE_translation.json`` + ``exemptions.json``).

The package carries a compact copy, ``data/allele_definitions.json.gz``: per gene only what the matcher
reads (positions with REF/ALT, named alleles with their VCF alleles, sub-allele map, exemptions).
:func:`build_definitions` makes it from a directory of PharmCAT definition files (PharmCAT's
``src/main/resources/org/pharmgkb/pharmcat/definition/alleles``), so updating the data is one call.

Also here: PharmCAT's haplotype-name ordering (:func:`name_key`), which decides the order of alleles in a
diplotype and of tied diplotypes.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from functools import cache, cmp_to_key
from pathlib import Path

from biolake.errors import InputError

__all__ = ["DATA_FILE", "GeneDefinition", "NamedAllele", "build_definitions", "load_definitions", "name_cmp"]

DATA_FILE = Path(__file__).resolve().parent / "data" / "allele_definitions.json.gz"

#: genes PharmCAT does not call from the VCF by default (CYP2D6 needs copy number: outside call)
SKIPPED_GENES = frozenset({"CYP2D6"})
#: NamedAlleleMatcher.TREAT_UNDOCUMENTED_VARIATIONS_AS_REFERENCE
UNDOCUMENTED_AS_REFERENCE = frozenset({"CACNA1S", "DPYD", "G6PD", "NUDT15", "RYR1", "TPMT"})
#: Constants.LOWEST_FUNCTION_GENES
LOWEST_FUNCTION_GENES = frozenset({"DPYD", "RYR1"})

IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "U": "T", "R": "AG", "Y": "CT", "S": "GC", "W": "AT",
    "K": "GT", "M": "AC", "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}  # fmt: skip


@dataclass(frozen=True)
class NamedAllele:
    name: str
    id: str
    alleles: tuple[str | None, ...]  # VCF alleles per definition position; None = not defined (reference)
    reference: bool
    score: int  # number of positions the allele defines


@dataclass(frozen=True)
class GeneDefinition:
    gene: str
    chromosome: str
    positions: tuple[int, ...]
    refs: tuple[str, ...]
    alts: tuple[tuple[str, ...], ...]
    rsids: tuple[str | None, ...]
    hgvs: tuple[tuple[str, ...], ...]  # chromosome HGVS name per ALT (PharmCAT's partial-allele names)
    alleles: tuple[NamedAllele, ...]  # PharmCAT's NamedAllele order: reference first, then by name
    suballeles: dict[str, str] = field(default_factory=dict)
    required_positions: frozenset[int] = frozenset()
    unphased_priorities: tuple[tuple[tuple[str, ...], str], ...] = ()
    version: str = ""

    @property
    def reference(self) -> NamedAllele:
        return next(a for a in self.alleles if a.reference)

    def hgvs_for(self, i: int, allele: str) -> str:
        """VariantLocus.getHgvsForVcfAllele: the name of a partial allele at definition position ``i``."""
        pos = self.positions[i]
        if allele == ".":
            return f"g.{pos}?"
        if allele == self.refs[i]:
            return f"g.{pos}="
        if allele in self.alts[i]:
            return self.hgvs[i][self.alts[i].index(allele)]
        return f"g.{pos}{self.refs[i]}>{allele}"

    def chr_pos(self, i: int) -> str:
        return f"{self.chromosome}:{self.positions[i]}"


# ---------------------------------------------------------------------------------------------- naming order
_STAR = re.compile(r"(.*)(\d+)(.*)", re.S)
_PARTIAL = re.compile(r"^g\.\d+[?=]?[ACGT>\d]+$")


def _cmp(a: object, b: object) -> int:
    """ObjectUtils.compare: None sorts first."""
    if a == b:
        return 0
    if a is None:
        return -1
    if b is None:
        return 1
    return -1 if a < b else 1  # type: ignore[operator]


def _trim_to_null(s: str) -> str | None:
    s = s.strip()
    return s or None


def _common_cmp(n1: str, n2: str) -> int:
    """org.pharmgkb.common.comparator.HaplotypeNameComparator (greedy ``(.*)(\\d+)(.*)``, as upstream)."""
    if n1 == n2:
        return 0
    if n1 in ("Any", "All") or n2 in ("Other", "Unknown"):
        return -1
    if n2 in ("Any", "All") or n1 in ("Other", "Unknown"):
        return 1
    m1, m2 = _STAR.fullmatch(n1), _STAR.fullmatch(n2)
    if m1 and m2:
        rez = _cmp(_trim_to_null(m1.group(1)), _trim_to_null(m2.group(1)))
        if rez:
            return rez
        rez = _cmp(int(m1.group(2)), int(m2.group(2)))
        if rez:
            return rez
        return _cmp(_trim_to_null(m1.group(3)), _trim_to_null(m2.group(3)))
    return _cmp(n1, n2)


def is_combination_name(name: str) -> bool:
    return name.startswith("[") and " + " in name and name.endswith("]")


def split_combination_name(name: str) -> list[str]:
    return [p.strip() for p in name[1:-1].split(" + ")]


@cache
def name_cmp(n1: str, n2: str) -> int:
    """PharmCAT's util.HaplotypeNameComparator (combination names after plain names)."""
    if n1 == n2:
        return 0
    c1, c2 = is_combination_name(n1), is_combination_name(n2)
    if c1 != c2:
        return 1 if c1 else -1
    if c1:
        h1, h2 = split_combination_name(n1), split_combination_name(n2)
        if len(h1) != len(h2):
            return _cmp(len(h1), len(h2))
        for a, b in zip(h1, h2, strict=True):
            p1, p2 = bool(_PARTIAL.match(a)), bool(_PARTIAL.match(b))
            if p1 != p2:
                return 1 if p1 else -1
            rez = _common_cmp(a, b)
            if rez:
                return rez
        return 0
    return _common_cmp(n1, n2)


name_key = cmp_to_key(name_cmp)


# ---------------------------------------------------------------------------------------------- loading
def build_definitions(src: str | Path, out: str | Path = DATA_FILE) -> Path:
    """Compact PharmCAT's ``*_translation.json`` + ``exemptions.json`` in ``src`` into ``out`` (gzip JSON)."""
    src = Path(src)
    files = sorted(src.glob("*_translation.json"))
    if not files:
        raise InputError("no *_translation.json allele definition files found", file=src)
    exemptions_file = src / "exemptions.json"
    exemptions = json.loads(exemptions_file.read_text()) if exemptions_file.exists() else {}
    genes = {}
    for f in files:
        d = json.loads(f.read_text())
        gene = d["gene"]
        if gene in SKIPPED_GENES:
            continue
        ex = exemptions.get(gene, {})
        # PharmCAT's DataManager has already removed ignoredPositions from the shipped definition files (a
        # position listed there can still carry a different variant, e.g. RYR1 38580126), so only alleles
        # named in ignoredAlleles are dropped here
        ignored_alleles = {a.lower() for a in ex.get("ignoredAlleles", []) or []}
        keep = range(len(d["variants"]))
        genes[gene] = {
            "gene": gene,
            "chromosome": d["chromosome"],
            "version": d.get("version", ""),
            "variants": [
                [d["variants"][i][k] for k in ("position", "ref", "alts", "rsid", "chromosomeHgvsName")] for i in keep
            ],
            "namedAlleles": [
                [a["name"], a["id"], [a["alleles"][i] for i in keep], bool(a["reference"])]
                for a in d["namedAlleles"]
                if a["name"].lower() not in ignored_alleles
            ],
            "suballelesMap": d.get("suballelesMap") or {},
            "requiredPositions": ex.get("requiredPositions", []) or [],
            "unphasedDiplotypePriorities": [
                [p["list"], p["pick"]] for p in ex.get("unphasedDiplotypePriorities", []) or []
            ],
        }
    out = Path(out)
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as fh:
        json.dump(genes, fh, separators=(",", ":"), sort_keys=True)
    return out


def _named_allele_key(a: NamedAllele):
    return (0 if a.reference else 1, name_key(a.name), a.id)


@cache
def load_definitions(path: str | Path = DATA_FILE) -> dict[str, GeneDefinition]:
    """The allele definitions by gene (alphabetical), from the packaged compact file."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        raw = json.load(fh)
    out = {}
    for gene in sorted(raw):
        d = raw[gene]
        alleles = [
            NamedAllele(name, aid, tuple(al), ref, sum(a is not None for a in al))
            for name, aid, al, ref in d["namedAlleles"]
        ]
        alleles.sort(key=_named_allele_key)
        out[gene] = GeneDefinition(
            gene=gene,
            chromosome=d["chromosome"],
            positions=tuple(v[0] for v in d["variants"]),
            refs=tuple(v[1] for v in d["variants"]),
            alts=tuple(tuple(v[2]) for v in d["variants"]),
            rsids=tuple(v[3] for v in d["variants"]),
            hgvs=tuple(tuple(h.strip() for h in (v[4] or "").split(";")) for v in d["variants"]),
            alleles=tuple(alleles),
            suballeles=dict(d["suballelesMap"]),
            required_positions=frozenset(d["requiredPositions"]),
            unphased_priorities=tuple((tuple(lst), pick) for lst, pick in d["unphasedDiplotypePriorities"]),
            version=d["version"],
        )
    return out
