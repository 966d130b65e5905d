"""Phenotypes from star-allele calls, as PharmCAT's Phenotyper (``GenePhenotype``, ``DiplotypeFactory``).

For every :class:`~biolake.precision.pgx.calls.GeneCall` the matcher yields, :func:`phenotype_calls`
gives one :class:`PhenotypeCall` per possible diplotype: each allele's function and activity value,
the diplotype's phenotype and activity score, looked up in the gene's CPIC diplotype → phenotype
table by the multiset of its two allele names (PharmCAT's ``diplotypeKey``). Rules kept from PharmCAT:

* **Lowest-function genes** (DPYD, RYR1): when the matcher lists haplotype matches instead of a
  diplotype (unphased, "allHits" genes) the two lowest-function alleles make the diplotype (DPYD:
  lowest CPIC activity value first, unknown activity first of all; RYR1: malignant-hyperthermia
  associated first); among several possible diplotypes the one with the lowest activity score
  (unknown activity counts 1.0 per allele… as PharmCAT's 2.0 rank) — or the most malignant — is
  reported, flagged ``inferred``.
* **Outside calls** (``--outside-calls``, PharmCAT's TSV: ``gene diplotype [phenotype [activity]]``)
  replace the matcher's call; CYP2D6 (copy number) and HLA-A/HLA-B come only from them.
* **X chromosome** (G6PD): a haploid call (one allele, e.g. a male sample) is looked up as a
  hemizygous genotype.
* An unknown combination gets phenotype ``n/a``; no call gets diplotype ``Unknown/Unknown``.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cmp_to_key, lru_cache
from pathlib import Path
from typing import Any

from biolake.errors import InputError
from biolake.precision.pgx.calls import GeneCall

__all__ = [
    "GenePhenotype",
    "OutsideCall",
    "PhenotypeCall",
    "format_activity",
    "gene_phenotype",
    "outside_phenotype_call",
    "pharmcat_name_key",
    "phenotype_calls",
    "read_outside_calls",
]

NA = "n/a"
UNKNOWN = "Unknown"
INDETERMINATE = "Indeterminate"
UNASSIGNED_FUNCTION = "Unassigned function"
LOWEST_FUNCTION_GENES = frozenset({"DPYD", "RYR1"})
# HLA alleles CPIC recommendations are keyed on (positive / negative), as PharmCAT's lookup keys
HLA_ALLELES = {"HLA-A": ("*31:01",), "HLA-B": ("*15:02", "*57:01", "*58:01")}
_REFERENCE_NAMES = {"*1", "Reference", "B (reference)"}
_MH_GENES = frozenset({"RYR1", "CACNA1S"})
_CFTR_REFERENCE = "ivacaftor non-responsive CFTR sequence"
_BLANK_GENES = frozenset({"VKORC1", "IFNL3", "CYP4F2"})  # PharmCAT prints no phenotype for an uncalled one


def format_activity(value: float | None) -> str:
    """An activity score as PharmCAT prints it: ``2.0``, ``1.5``, ``0.25``; ``""`` when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = f"{value:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _pharmcat_name_cmp(name1: str, name2: str) -> int:
    """PharmCAT's HaplotypeNameComparator: ``(.*)(\\d+)(.*)`` parts (greedy), number compared as a number."""
    m1, m2 = _NAME_PATTERN.fullmatch(name1), _NAME_PATTERN.fullmatch(name2)
    if m1 and m2:
        pre1, pre2 = m1.group(1).strip() or None, m2.group(1).strip() or None
        if pre1 != pre2:
            return -1 if pre1 is None else 1 if pre2 is None else (-1 if pre1 < pre2 else 1)
        if int(m1.group(2)) != int(m2.group(2)):
            return -1 if int(m1.group(2)) < int(m2.group(2)) else 1
        rest1, rest2 = m1.group(3).strip() or None, m2.group(3).strip() or None
        if rest1 != rest2:
            return -1 if rest1 is None else 1 if rest2 is None else (-1 if rest1 < rest2 else 1)
    return 0 if name1 == name2 else (-1 if name1 < name2 else 1)


_NAME_PATTERN = re.compile(r"(.*)(\d+)(.*)", re.S)
pharmcat_name_key = cmp_to_key(_pharmcat_name_cmp)


def _is_reference(name: str | None) -> bool:
    return bool(name) and (name in _REFERENCE_NAMES or "reference" in str(name).lower())


def _sorts_before(name1: str, name2: str) -> bool:
    """The reference allele first, then PharmCAT's name order."""
    if _is_reference(name1) != _is_reference(name2):
        return _is_reference(name1)
    return _pharmcat_name_cmp(name1, name2) < 0


def _split_combination(name: str) -> list[str]:
    """``[c.61C>T + c.1129-5923C>G, c.1236G>A (HapB3)]`` → its component allele names."""
    if name.startswith("[") and name.endswith("]"):
        return [p.strip() for p in name[1:-1].split(" + ") if p.strip()]
    return [name]


@dataclass(frozen=True)
class GenePhenotype:
    """One gene's allele functions, activity values and diplotype → phenotype table."""

    gene: str
    version: str
    source: str
    alleles: Mapping[str, tuple[str | None, float | None]]
    diplotypes: Mapping[tuple[str, ...], tuple[str, float | None]]
    activity_phenotypes: tuple[tuple[float, float, str], ...] = ()
    by_score: Mapping[float, str] = field(default_factory=dict)

    @property
    def uses_activity(self) -> bool:
        """True for activity-score genes (CYP2C9, CYP2D6, DPYD)."""
        return any(v[1] is not None for v in self.alleles.values())

    def _base(self, name: str) -> tuple[str, int]:
        match = re.fullmatch(r"(.+?)x(\d+|≥\d+)", name)
        if match and match.group(1) in self.alleles:
            return match.group(1), int(match.group(2).lstrip("≥"))
        return name, 1

    def function(self, name: str | None) -> str:
        """The allele's function (``Unassigned function`` if the allele is not in the table)."""
        if not name:
            return ""
        if name in self.alleles:
            return self.alleles[name][0] or UNASSIGNED_FUNCTION
        base, copies = self._base(name)
        if copies > 1:
            return self.alleles[base][0] or UNASSIGNED_FUNCTION
        return UNASSIGNED_FUNCTION

    def activity_value(self, name: str | None) -> float | None:
        """The allele's CPIC activity value (a copy-number allele ``*2x2`` counts its copies)."""
        if not name:
            return None
        if name in self.alleles:
            return self.alleles[name][1]
        base, copies = self._base(name)
        value = self.alleles.get(base, (None, None))[1]
        return None if value is None or copies == 1 else value * copies

    def phenotype_of_score(self, score: float | None) -> str:
        """The phenotype of an activity score (from the table's scores, else CPIC's ranges)."""
        if score is None:
            return NA
        if round(score, 4) in self.by_score:
            return self.by_score[round(score, 4)]
        for low, high, phenotype in self.activity_phenotypes:
            if low - 1e-9 <= score <= high + 1e-9:
                return phenotype
        return NA

    def lookup(self, allele1: str, allele2: str | None) -> tuple[str, float | None]:
        """Phenotype and activity score of a diplotype (``allele2`` None = haploid)."""
        key = tuple(sorted(a for a in (allele1, allele2) if a))
        if key in self.diplotypes:
            return self.diplotypes[key]
        if not self.diplotypes and not self.uses_activity:
            return "", None  # no CPIC phenotype for this gene (IFNL3): PharmCAT leaves it blank
        if self.gene in _MH_GENES and len(key) == 2:  # CPIC: any MHS-associated allele → susceptibility
            mhs = any("malignant" in self.function(a).lower() for a in key)
            return ("Malignant Hyperthermia Susceptibility" if mhs else "Uncertain Susceptibility"), None
        if self.uses_activity:
            values = [self.activity_value(a) for a in key]
            if all(v is not None for v in values) and len(values) == 2:
                score = float(sum(values))  # type: ignore[arg-type]
                return self.phenotype_of_score(score), score
            if not self.diplotypes and len(key) == 2 and all(a in self.alleles for a in key):
                return INDETERMINATE, None  # a defined allele of unknown activity (PharmCAT's CYP2D6 table)
        return NA, None


def _load(path: Path) -> GenePhenotype:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        alleles = {str(k): (v[0], None if v[1] is None else float(v[1])) for k, v in doc["alleles"].items()}
        diplotypes: dict[tuple[str, ...], tuple[str, float | None]] = {}
        by_score: dict[float, str] = {}
        for a1, a2, phenotype, score in doc["diplotypes"]:
            value = None if score is None else float(score)
            diplotypes[tuple(sorted(a for a in (a1, a2) if a))] = (phenotype, value)
            if value is not None:
                by_score.setdefault(round(value, 4), phenotype)
        ranges = tuple((float(lo), float(hi), str(p)) for lo, hi, p in doc.get("activity_phenotypes", []))
        return GenePhenotype(
            gene=str(doc["gene"]),
            version=str(doc.get("version", "")),
            source=str(doc.get("source", "")),
            alleles=alleles,
            diplotypes=diplotypes,
            activity_phenotypes=ranges,
            by_score=by_score,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"bad phenotype table ({exc!r})", file=path) from None


@lru_cache(maxsize=64)
def _gene_phenotype(folder: str, gene: str) -> GenePhenotype | None:
    path = Path(folder) / f"{gene.replace('-', '_')}.json"
    return _load(path) if path.exists() else None


def gene_phenotype(gene: str, *, data: str | os.PathLike[str] | None = None) -> GenePhenotype | None:
    """The shipped phenotype table of ``gene`` (``None`` if the gene has none, e.g. CYP4F2)."""
    from biolake.precision.pgx.data_update import data_dir

    folder = Path(data) if data is not None else data_dir()
    return _gene_phenotype(str(folder / "phenotypes"), gene)


def clear_cache() -> None:
    """Forget loaded phenotype tables (after :func:`~biolake.precision.pgx.data_update.update_pgx_data`)."""
    _gene_phenotype.cache_clear()


@dataclass(frozen=True)
class PhenotypeCall:
    """One possible diplotype of one sample and gene with its phenotype (PharmCAT's report row)."""

    sample_id: str
    gene: str
    allele1: str | None
    allele2: str | None
    function1: str
    function2: str
    activity1: float | None
    activity2: float | None
    phenotype: str
    activity_score: float | None
    lookup: tuple[str, ...]
    source: str = "matcher"
    ambiguous: bool = False
    inferred: bool = False
    positions_used: tuple[str, ...] = ()
    positions_missing: tuple[str, ...] = ()
    uncallable_alleles: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def diplotype(self) -> str:
        """The diplotype as PharmCAT writes it (``*1/*3A``; one allele when haploid)."""
        if self.allele1 is None:
            return f"{UNKNOWN}/{UNKNOWN}"
        if self.gene == "CFTR" and (self.allele1 == _CFTR_REFERENCE) != (self.allele2 == _CFTR_REFERENCE):
            other = self.allele2 if self.allele1 == _CFTR_REFERENCE else self.allele1
            return f"{other} (heterozygous)"  # PharmCAT's CFTR label
        return self.allele1 if self.allele2 is None else f"{self.allele1}/{self.allele2}"


def _lookup_values(gene: str, phenotype: str, score: float | None, a1: str | None, a2: str | None) -> tuple[str, ...]:
    values = []
    if phenotype and phenotype != NA:
        values.append(phenotype)
    if score is not None:
        values.append(format_activity(score))
    if gene == "IFNL3" and a1 is not None:  # CPIC keys IFNL3 on rs12979860 genotype
        unfavourable = any(a and "variant" in a for a in (a1, a2))
        values.append("Unfavorable Response" if unfavourable else "Favorable Response")
    if gene in HLA_ALLELES and a1 is not None:
        carried = {a1, a2}
        values.extend(f"{h} {'positive' if h in carried else 'negative'}" for h in HLA_ALLELES[gene])
    return tuple(values)


def _make(
    call: GeneCall | None,
    sample_id: str,
    gene: str,
    gp: GenePhenotype | None,
    a1: str | None,
    a2: str | None,
    **extra: Any,
) -> PhenotypeCall:
    if extra.pop("sort", False) and a1 is not None and a2 is not None and _sorts_before(a2, a1):
        a1, a2 = a2, a1
    if a1 is None:  # no call: PharmCAT's "No Result" (blank for genes without CPIC phenotypes)
        has_table = gp is not None and bool(gp.diplotypes) and gene not in _BLANK_GENES
        phenotype, score = ("No Result" if has_table else ""), None
    elif gp is None:
        phenotype, score = "", None
    else:
        phenotype, score = gp.lookup(a1, a2)
    phenotype = extra.pop("phenotype", None) or phenotype
    score = extra.pop("activity_score", score)
    f1 = gp.function(a1) if gp is not None else ""
    f2 = gp.function(a2) if gp is not None else ""
    v1 = gp.activity_value(a1) if gp is not None else None
    v2 = gp.activity_value(a2) if gp is not None else None
    fields: dict[str, Any] = {}
    if call is not None:
        fields = {
            "positions_used": tuple(call.positions_used),
            "positions_missing": tuple(call.positions_missing),
            "uncallable_alleles": tuple(call.uncallable_alleles),
            "warnings": tuple(call.warnings),
        }
    fields.update(extra)
    return PhenotypeCall(
        sample_id=sample_id,
        gene=gene,
        allele1=a1,
        allele2=a2,
        function1=f1,
        function2=f2,
        activity1=v1,
        activity2=v2,
        phenotype=phenotype,
        activity_score=score,
        lookup=_lookup_values(gene, phenotype, score, a1, a2),
        **fields,
    )


def _lowest_key(gene: str, gp: GenePhenotype) -> Any:
    def key(name: str) -> tuple:
        if gene == "RYR1":
            return (0 if "malignant" in gp.function(name).lower() else 1, pharmcat_name_key(name))
        value = gp.activity_value(name)
        return (0 if value is None else 1, -1.0 if value is None else value, pharmcat_name_key(name))

    return key


def _lowest_function(call: GeneCall, gp: GenePhenotype) -> tuple[str, str | None, bool]:
    """PharmCAT's LowestFunctionGeneCaller: one diplotype from the matcher's candidates."""
    key = _lowest_key(call.gene, gp)
    if call.diplotypes:
        best: tuple | None = None
        inferred = len(call.diplotypes) > 1
        for h1, h2 in call.diplotypes:
            parts1, parts2 = _split_combination(h1), _split_combination(h2) if h2 else []
            inferred = inferred or len(parts1) > 1 or len(parts2) > 1
            a1 = min(parts1, key=key)
            a2 = min(parts2, key=key) if parts2 else None
            if call.gene == "RYR1":
                rank: tuple = (-sum("malignant" in gp.function(a).lower() for a in (a1, a2) if a),)
            else:
                rank = (sum(1.0 if gp.activity_value(a) is None else gp.activity_value(a) for a in (a1, a2) if a),)  # type: ignore[misc]
            ordered = sorted([a for a in (a1, a2) if a], key=pharmcat_name_key)
            cand = (rank, tuple(pharmcat_name_key(a) for a in ordered), a1, a2)
            if best is None or cand[:2] < best[:2]:
                best = cand
        assert best is not None
        return best[2], best[3], inferred
    names = [p for h in call.haplotype_matches for p in _split_combination(h)]
    names = sorted(dict.fromkeys(names), key=key)
    if len(names) == 1:
        return names[0], names[0], True
    first, second = names[0], names[1]
    if _is_reference(second) and not _is_reference(first):
        first, second = second, first  # PharmCAT prints the reference allele first
    return first, second, len(names) > 2


def phenotype_calls(call: GeneCall, *, data: str | os.PathLike[str] | None = None) -> list[PhenotypeCall]:
    """The phenotype of each possible diplotype of one matcher call (one entry when unambiguous)."""
    gp = gene_phenotype(call.gene, data=data)
    if not call.diplotypes and not call.haplotype_matches:
        return [_make(call, call.sample_id, call.gene, gp, None, None)]
    if gp is not None and call.gene in LOWEST_FUNCTION_GENES:
        needs = (
            call.haplotype_matches
            or len(call.diplotypes) > 1
            or any("[" in a for pair in call.diplotypes for a in pair if a)
        )
        if needs:
            a1, a2, inferred = _lowest_function(call, gp)
            if a1 and a2 and _is_reference(a2) and not _is_reference(a1):
                a1, a2 = a2, a1
            return [_make(call, call.sample_id, call.gene, gp, a1, a2, inferred=inferred)]
    if not call.diplotypes:  # haplotype matches of a gene without lowest-function rule
        names = list(dict.fromkeys(call.haplotype_matches))
        pairs = [(names[0], names[1] if len(names) > 1 else names[0])]
        return [_make(call, call.sample_id, call.gene, gp, *pairs[0], ambiguous=len(names) > 2)]
    ambiguous = len(call.diplotypes) > 1
    out = []
    for pair in call.diplotypes:
        a1 = pair[0] if pair else None
        a2 = pair[1] if len(pair) > 1 and pair[1] else None
        out.append(_make(call, call.sample_id, call.gene, gp, a1, a2, ambiguous=ambiguous))
    return out


# --------------------------------------------------------------------------- outside calls


@dataclass(frozen=True)
class OutsideCall:
    """One line of a PharmCAT outside-call file."""

    gene: str
    diplotype: str | None
    phenotype: str | None
    activity_score: str | None
    line: int


def read_outside_calls(path: str | os.PathLike[str]) -> dict[str, OutsideCall]:
    """Read a PharmCAT outside-call TSV: ``gene<TAB>diplotype[<TAB>phenotype[<TAB>activity score]]``.

    Gene prefixes on allele names are stripped (``CYP2D6*3/CYP2D6*4`` → ``*3/*4``), CYP2D6 sub-alleles
    are truncated (``*1.001`` → ``*1``), ``.`` or ``./.`` is a no-call; ``#`` lines are comments. The
    calls apply to every sample of the VCF.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the outside calls ({exc.__class__.__name__})", file=path) from None
    calls: dict[str, OutsideCall] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in raw.split("\t")]
        gene = fields[0]
        if len(fields) < 2:
            raise InputError("expected at least 2 tab-separated fields (gene, diplotype)", file=path, line=number)
        if not gene:
            raise InputError("no gene specified", file=path, line=number)
        diplotype = fields[1] or None
        phenotype = (fields[2].replace(gene, "").strip() or None) if len(fields) > 2 else None
        activity = (fields[3] or None) if len(fields) > 3 else None
        if diplotype in {".", "./.", "/"}:
            diplotype = None
        if diplotype is not None:
            alleles = [re.sub(rf"^{re.escape(gene)}\s*", "", a.strip()) for a in diplotype.split("/")]
            if len(alleles) > 2 or not all(alleles):
                raise InputError(f"invalid diplotype {fields[1]!r}", file=path, line=number)
            if gene == "CYP2D6":
                alleles = [re.sub(r"^(\*\d+)\.\d+$", r"\1", a) for a in alleles]
            if gene in HLA_ALLELES:
                letter = gene[-1]
                alleles = [re.sub(r"^(\*\d+:\d+)(:\d+)+$", r"\1", a.removeprefix(letter)) for a in alleles]
            diplotype = "/".join(alleles)
        if diplotype is None and phenotype is None and activity is None:
            raise InputError(f"specify a diplotype, phenotype or activity score for {gene}", file=path, line=number)
        if activity is not None:
            try:
                float(activity.lstrip("≥"))
            except ValueError:
                raise InputError(f"activity score {activity!r} is not a number", file=path, line=number) from None
        if gene in calls:
            raise InputError(f"{gene} is called more than once", file=path, line=number)
        calls[gene] = OutsideCall(gene, diplotype, phenotype, activity, number)
    return calls


def outside_phenotype_call(
    sample_id: str, outside: OutsideCall, *, data: str | os.PathLike[str] | None = None
) -> PhenotypeCall:
    """The phenotype of an outside call (its phenotype/activity score win over the lookup)."""
    gp = gene_phenotype(outside.gene, data=data)
    a1 = a2 = None
    if outside.diplotype is not None:
        parts = outside.diplotype.split("/")
        a1, a2 = parts[0], parts[1] if len(parts) > 1 else None
    extra: dict[str, Any] = {"source": "outside call"}
    warnings = []
    if gp is not None:
        for allele in (a1, a2):
            if allele and allele not in gp.alleles and gp.function(allele) == UNASSIGNED_FUNCTION:
                warnings.append(f"Undocumented {outside.gene} named allele in outside call: {allele}")
    if outside.activity_score is not None:
        score = float(outside.activity_score.lstrip("≥"))
        extra["activity_score"] = score
        if outside.phenotype is None and gp is not None:
            extra["phenotype"] = gp.phenotype_of_score(score)
    if outside.phenotype is not None:
        extra["phenotype"] = outside.phenotype
    extra["warnings"] = tuple(warnings)
    if a1 is None:  # phenotype / activity only
        phen = extra.pop("phenotype", NA)
        score = extra.pop("activity_score", None)
        return PhenotypeCall(
            sample_id=sample_id,
            gene=outside.gene,
            allele1=None,
            allele2=None,
            function1="",
            function2="",
            activity1=None,
            activity2=None,
            phenotype=phen,
            activity_score=score,
            lookup=_lookup_values(outside.gene, phen, score, None, None),
            **extra,
        )
    return _make(None, sample_id, outside.gene, gp, a1, a2, **extra)


def sample_phenotypes(
    calls: Iterable[GeneCall],
    outside: Mapping[str, OutsideCall] | None = None,
    *,
    data: str | os.PathLike[str] | None = None,
) -> list[PhenotypeCall]:
    """Phenotype calls of one sample's gene calls, outside calls replacing the matcher's."""
    outside = dict(outside or {})
    out: list[PhenotypeCall] = []
    sample_id = ""
    for call in calls:
        sample_id = call.sample_id
        if call.gene in outside:
            continue
        out.extend(phenotype_calls(call, data=data))
    for oc in outside.values():
        out.append(outside_phenotype_call(sample_id, oc, data=data))
    return out


def phenotype_rows(calls: Sequence[PhenotypeCall]) -> list[dict[str, Any]]:
    """The ``--out`` rows: ``sample_id gene diplotype phenotype activity_score ambiguous``.

    ``activity_score`` is text as PharmCAT writes it (``2.0``, ``0.25``), empty when not defined."""
    return [
        {
            "sample_id": c.sample_id,
            "gene": c.gene,
            "diplotype": c.diplotype,
            "phenotype": c.phenotype,
            "activity_score": format_activity(c.activity_score) or None,
            "ambiguous": bool(c.ambiguous),
        }
        for c in calls
    ]
