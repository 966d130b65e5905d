"""Target identification: multi-omic evidence combined per gene as the Open Targets Platform does.

* :func:`targets_job` — ``biolake discovery targets`` (a lake run);
* :func:`score_targets` — the harmonic-sum scoring of evidence tables;
* :func:`read_gwas`, :func:`gwas_loci`, :func:`assign_genes` — GWAS loci (distance or PLINK
  ``--clump`` LD clumping) and variant-to-gene evidence;
* :func:`read_evidence`, :func:`de_evidence`, :func:`proteomics_evidence` — the other sources.

See ``docs/targets.md``.
"""

from biolake.discovery.targets.evidence import de_evidence, proteomics_evidence, read_evidence
from biolake.discovery.targets.gwas import assign_genes, gwas_loci, gwas_score, read_gwas
from biolake.discovery.targets.job import TargetsResult, targets_job
from biolake.discovery.targets.score import RESULT_COLUMNS, score_targets

__all__ = [
    "RESULT_COLUMNS",
    "TargetsResult",
    "assign_genes",
    "de_evidence",
    "gwas_loci",
    "gwas_score",
    "proteomics_evidence",
    "read_evidence",
    "read_gwas",
    "score_targets",
    "targets_job",
]
