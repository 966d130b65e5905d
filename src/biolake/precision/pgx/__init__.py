"""biolake.precision.pgx — pharmacogenomics: star-allele matching as PharmCAT's NamedAlleleMatcher.

:func:`match_vcf` streams a (multi-sample) VCF and yields one :class:`GeneCall` per sample and gene.
"""

from biolake.precision.pgx.calls import GeneCall

__all__ = ["GeneCall", "match_vcf"]


def __getattr__(name: str):  # lazy: importing the package must not load the definitions
    if name == "match_vcf":
        from biolake.precision.pgx.matcher import match_vcf

        return match_vcf
    raise AttributeError(name)
