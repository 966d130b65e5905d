"""Per-sample, per-gene star-allele calls: the record the PGx matcher yields.

This is the interface between the matcher (:func:`biolake.precision.pgx.matcher.match_vcf`)
and the phenotype / recommendation / report steps. It mirrors one ``GeneCall`` of PharmCAT's
``*.match.json`` (NamedAlleleMatcher 2.0.0, data version 2025-11-05):

``diplotypes``
    PharmCAT's top-scoring diplotypes in PharmCAT's order, each ``(allele1, allele2)`` named exactly
    as the definition files name them (``"*1"``, ``"*3A"``, ``"rs12979860 reference (C)"``,
    ``"Reference"``, ``"B (reference)"`` …). PharmCAT's printed diplotype is ``"/".join(pair)``
    (see :attr:`GeneCall.diplotype_names`). Several entries = ambiguous (all tie on the top score).
    Empty when nothing can be called (no position of the gene in the VCF, a half call such as ``1/.``,
    a missing required position, or no definition fits). A haploid call (G6PD on a male chrX: GT ``1``)
    is a 1-tuple ``(allele,)``, printed without ``/`` as PharmCAT does. For DPYD and RYR1 (PharmCAT's
    lowest-function path) every exact or combination diplotype is listed, best score first, and an
    allele may be a combination ``"[c.1627A>G (*5) + c.1905+1G>A (*2A)]"`` or a partial ``"g.97573863C>T"``.
``diplotype_scores``
    PharmCAT's score of each diplotype (same order): the sum of the two haplotype scores, where a
    haplotype's score is the number of positions that the allele defines and the sample covers (the
    reference allele defines all), minus IUPAC wobble positions at which the sample is reference.
``haplotype_matches``
    For PharmCAT's lowest-function genes (DPYD, RYR1) when the genotypes are unphased and no diplotype can
    be made, PharmCAT lists every named allele found instead (``haplotypeMatches`` in match.json; an allele
    found on both strands twice); ``diplotypes`` is then empty. Else ``()``.
``phased``
    PharmCAT's ``phased`` of the gene call: every genotype used is written phased (``|`` or haploid).
``positions_used`` / ``positions_missing``
    ``"chrN:pos"`` (GRCh38, as in the definition files) of the gene's defined positions that the VCF
    covers with a call / that are absent or no-call (``./.``) — PharmCAT's ``missingPositions``.
``uncallable_alleles``
    Named alleles that could not be evaluated because all of their defining positions are missing
    (PharmCAT's ``uncallableHaplotypes``).
``warnings``
    Human-readable warnings (undocumented alleles at a position, mismatched REF, discarded genotypes, NAT2
    unphased priority pick, DPYD HapB3 message keys such as ``pcat-dpyd-hapB3-exonic-only`` …).

:func:`biolake.precision.pgx.matcher.match_vcf` yields these sample by sample (VCF column order), genes in
alphabetical order within a sample.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GeneCall"]


@dataclass(frozen=True)
class GeneCall:
    """One sample's star-allele call for one gene (see the module docstring for the semantics)."""

    sample_id: str
    gene: str
    diplotypes: tuple[tuple[str, ...], ...]
    haplotype_matches: tuple[str, ...]
    phased: bool
    positions_used: tuple[str, ...]
    positions_missing: tuple[str, ...]
    uncallable_alleles: tuple[str, ...]
    warnings: tuple[str, ...]
    diplotype_scores: tuple[int, ...] = ()

    @property
    def diplotype_names(self) -> tuple[str, ...]:
        """The diplotypes as PharmCAT prints them: ``"*1/*3A"``."""
        return tuple("/".join(d) for d in self.diplotypes)

    @property
    def ambiguous(self) -> bool:
        """More than one top-scoring diplotype (or haplotype matches only)."""
        return len(self.diplotypes) > 1

    @property
    def callable(self) -> bool:
        """At least one diplotype or haplotype match."""
        return bool(self.diplotypes or self.haplotype_matches)
