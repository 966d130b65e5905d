"""``biolake discovery targets`` as a lake run: evidence in, ranked targets out.

:func:`targets_job` reads every source, turns it into evidence rows (``gene score``),
scores the genes (:func:`biolake.discovery.targets.score.score_targets`) and writes, in
one run:

* ``out`` — the ranked targets: ``gene gene_name score rank n_evidence`` + one column per source;
* ``{name}_evidence`` (lake table) — every evidence row: ``source gene score`` and, for GWAS
  evidence, ``variant chrom pos p distance nearest``;
* ``{name}_loci`` (lake table, with ``--gwas``) — the association results with their loci
  (``lead`` = row of the lead variant, ``is_lead``, ``r2``) for the report's locus plots.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from biolake.discovery.targets.evidence import GeneResolver, de_evidence, proteomics_evidence, read_evidence
from biolake.discovery.targets.gwas import assign_genes, gwas_loci, read_gwas
from biolake.discovery.targets.score import score_targets
from biolake.errors import InputError, check_param

__all__ = ["TargetsResult", "targets_job"]

_SOURCE_NAME = "[A-Za-z][A-Za-z0-9_]*"


class TargetsResult:
    """What :func:`targets_job` made: run id, dataset name, the ranked table, evidence and loci."""

    def __init__(
        self, run_id: str, name: str, targets: pd.DataFrame, evidence: pd.DataFrame, loci: pd.DataFrame | None
    ):
        self.run_id, self.name, self.targets, self.evidence, self.loci = run_id, name, targets, evidence, loci


def _check_name(name: str, where: str) -> None:
    import re

    if not re.fullmatch(_SOURCE_NAME, name):
        raise InputError(f"source name {name!r} must be a letter followed by letters, digits or _", file=where)
    if name in ("gene", "gene_name", "score", "rank", "n_evidence"):
        raise InputError(f"source name {name!r} is an output column name", file=where)


def targets_job(
    lake: Any,
    *,
    out: str | os.PathLike[str],
    evidence: Mapping[str, str | os.PathLike[str]] | None = None,
    weights: Mapping[str, float] | None = None,
    gwas: str | os.PathLike[str] | None = None,
    gtf: str | os.PathLike[str] | None = None,
    de: str | os.PathLike[str] | None = None,
    proteomics: str | os.PathLike[str] | None = None,
    clump_kb: float = 500.0,
    clump_p: float = 5e-8,
    clump_p2: float = 1e-2,
    ld_ref: str | None = None,
    clump_r2: float = 0.1,
    window_kb: float = 500.0,
    gene_distance: str = "body",
    assign: str = "window",
    half_life_kb: float = 50.0,
) -> TargetsResult:
    """Rank targets from evidence tables, GWAS, DE and proteomics results (see the module docstring).

    Sources are named by ``evidence``'s keys, and ``gwas``, ``de``, ``proteomics`` for those
    inputs. ``gwas`` needs ``gtf`` (the gene annotation); the annotation also gives gene names
    and resolves gene names in the other tables to gene ids.

    Raises
    ------
    InputError
        Bad options, no source, a malformed input (file and line named).
    """
    f = "targets_job"
    evidence = dict(evidence or {})
    for name in evidence:
        _check_name(name, "--evidence")
    fixed = {"gwas": gwas, "de": de, "proteomics": proteomics}
    for name, spec in fixed.items():
        if spec is not None and name in evidence:
            raise InputError(f"source name {name!r} is taken by --{name}", file="--evidence")
    if not evidence and all(v is None for v in fixed.values()):
        raise InputError("give at least one source: --evidence NAME=FILE, --gwas, --de or --proteomics")
    if ld_ref is not None and gwas is None:
        raise InputError("--ld-ref needs --gwas (the association results to clump)", file="--ld-ref")
    if gwas is not None and gtf is None:
        raise InputError("--gwas needs --gtf (the gene annotation to map variants to genes)", file="--gwas")
    check_param(f, "clump_kb", clump_kb, bool(np.isfinite(clump_kb) and clump_kb > 0), "a number > 0")
    check_param(f, "clump_p", clump_p, bool(0 < clump_p <= 1), "in (0, 1]")
    check_param(f, "clump_p2", clump_p2, bool(0 < clump_p2 <= 1), "in (0, 1]")
    check_param(f, "clump_r2", clump_r2, bool(0 <= clump_r2 < 1), "in [0, 1)")
    check_param(f, "window_kb", window_kb, bool(np.isfinite(window_kb) and window_kb >= 0), "a number >= 0")
    check_param(f, "half_life_kb", half_life_kb, bool(np.isfinite(half_life_kb) and half_life_kb > 0), "a number > 0")
    check_param(f, "gene_distance", gene_distance, gene_distance in ("body", "tss"), "'body' or 'tss'")
    check_param(f, "assign", assign, assign in ("window", "nearest"), "'window' or 'nearest'")
    sources = [*evidence, *(k for k, v in fixed.items() if v is not None)]
    for name, w in (weights or {}).items():
        if name not in sources:
            raise InputError(f"no source named {name!r} (sources: {', '.join(sources)})", file="--weight")
        if not (np.isfinite(w) and w >= 0):
            raise InputError(f"weight of {name!r} must be a number >= 0, got {w:g}", file="--weight")

    inputs: list[str] = [str(v) for v in evidence.values()] + [str(v) for v in (gwas, gtf, de, proteomics, ld_ref) if v]
    params: dict[str, Any] = {
        "evidence": {k: str(v) for k, v in evidence.items()},
        "weights": dict(weights or {}),
        "gwas": None if gwas is None else str(gwas),
        "gtf": None if gtf is None else str(gtf),
        "de": None if de is None else str(de),
        "proteomics": None if proteomics is None else str(proteomics),
        "clump_kb": clump_kb,
        "clump_p": clump_p,
        "clump_p2": clump_p2,
        "ld_ref": ld_ref,
        "clump_r2": clump_r2,
        "window_kb": window_kb,
        "gene_distance": gene_distance,
        "assign": assign,
        "half_life_kb": half_life_kb,
        "sources": sources,
        "out": str(out),
    }
    genes = None
    if gtf is not None:
        from biolake.io.gtf import read_genes

        genes = read_genes(gtf)
    resolve = GeneResolver(genes)
    frames: dict[str, pd.DataFrame] = {}
    for name, spec in evidence.items():
        ev = read_evidence(spec, lake=lake)
        frames[name] = ev.assign(gene=resolve(ev["gene"]))
    loci = None
    if gwas is not None:
        assert genes is not None
        table = read_gwas(gwas, lake=lake)
        loci = gwas_loci(
            table, clump_p=clump_p, clump_kb=clump_kb, clump_p2=clump_p2, ld_ref=ld_ref, clump_r2=clump_r2, lake=lake
        )
        leads = loci[loci["is_lead"]]
        frames["gwas"] = assign_genes(
            leads, genes, window_kb=window_kb, distance=gene_distance, assign=assign, half_life_kb=half_life_kb
        )
        params["n_leads"] = len(leads)
        params["n_variants_not_in_ld_ref"] = int((~loci["in_ref"]).sum())
    if de is not None:
        ev = de_evidence(de, lake=lake)
        frames["de"] = ev.assign(gene=resolve(ev["gene"]))
    if proteomics is not None:
        ev = proteomics_evidence(proteomics, lake=lake)
        frames["proteomics"] = ev.assign(gene=resolve(ev["gene"]))
    frames = {s: frames[s] for s in sources}
    targets = score_targets(frames, weights=weights, gene_names=resolve.names)
    long = pd.concat([fr.assign(source=s) for s, fr in frames.items()], ignore_index=True)
    front = ["source", "gene", "score"]
    long = long[front + [c for c in long.columns if c not in front]]
    params["n_genes"] = len(targets)
    params["n_evidence"] = {s: len(fr) for s, fr in frames.items()}
    with lake.run("discovery targets", params=params, inputs=inputs) as run:
        name = run.result(targets, out)
        run.table(f"{name}_evidence", attrs={"role": "evidence", "of": name}).write(long)
        if loci is not None:
            run.table(f"{name}_loci", attrs={"role": "loci", "of": name}).write(loci)
    return TargetsResult(run.id, name, targets, long, loci)


def parse_pairs(values: Sequence[str], option: str, *, numeric: bool = False) -> dict[str, Any]:
    """``NAME=VALUE`` options (``--evidence``, ``--weight``) as a dict; a malformed one is an InputError."""
    out: dict[str, Any] = {}
    for item in values:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name or not value:
            raise InputError(f"expected NAME=VALUE, got {item!r}", file=option)
        if name in out:
            raise InputError(f"source {name!r} given twice", file=option)
        if numeric:
            try:
                out[name] = float(value)
            except ValueError:
                raise InputError(f"weight {value!r} of {name!r} is not a number", file=option) from None
        else:
            out[name] = value
    return out
