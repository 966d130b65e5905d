"""CPIC drug recommendations for a sample's phenotypes, as PharmCAT's reporter chooses them.

The shipped table (``data/recommendations/cpic_recommendations.tsv``, see
:mod:`biolake.precision.pgx.data_update`) has one row per drug and genotype lookup: the value each
gene must have (phenotype, activity score such as ``CYP2D6=1.0``, ``HLA-B=*57:01 positive``, or
``No Result`` when the gene is not called). A row applies when every gene of it matches one of the
sample's lookup values for that gene and at least one of its genes is called; rows from current CPIC
data (via PharmCAT, or read on the CPIC pages) win over the 2022 PyPGx rows of the same drug and
phenotypes. An ambiguous gene call contributes the lookup values of every possible diplotype, so each
possible recommendation is listed (as PharmCAT does).

CPIC keys CYP2D6 copy-number results on open-ended activity scores (``CYP2D6=≥3.0`` … ``≥6.0``, as PharmCAT's
``*1x≥3`` alleles give them). Such a value matches its own text; a sample whose activity score (e.g. ``5.0`` from an
outside call ``*1x2/*2x3``) matches none of a drug's values for that gene gets the drug's ``≥`` row with the highest
threshold not above its score.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from biolake.precision.pgx.data_update import RECOMMENDATIONS_FILE, data_dir, read_recommendations
from biolake.precision.pgx.phenotype import PhenotypeCall

__all__ = ["RECOMMENDATION_OUTPUT_COLUMNS", "RecommendationTable", "load_recommendations", "recommend"]

RECOMMENDATION_OUTPUT_COLUMNS = (
    "sample_id",
    "drug",
    "gene",
    "phenotype",
    "recommendation",
    "classification",
    "guideline",
)
_NOT_CALLED = frozenset({"No Result", "None"})
_UNVERIFIED_PREFIX = "PyPGx"  # 2022 rows: a current row of the same drug and phenotypes wins


class RecommendationTable:
    """The recommendation rows indexed by drug, ready for per-sample lookups."""

    def __init__(self, frame: pd.DataFrame, *, path: str = "") -> None:
        self.frame = frame.reset_index(drop=True)
        self.path = path
        self.rules: list[tuple[dict[str, str], dict[str, Any]]] = []
        for row in self.frame.to_dict("records"):
            lookup = dict(part.split("=", 1) for part in str(row["lookup"]).split(";") if "=" in part)
            if lookup:
                self.rules.append((lookup, row))
        self.genes = sorted({g for lookup, _ in self.rules for g in lookup})
        # per (drug, gene): the exact lookup values and the thresholds of the open-ended ``≥X`` values
        self.exact: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.at_least: dict[tuple[str, str], list[float]] = defaultdict(list)
        for lookup, row in self.rules:
            for gene, value in lookup.items():
                threshold = _threshold(value)
                if threshold is None:
                    self.exact[(str(row["drug"]), gene)].add(value)
                else:
                    self.at_least[(str(row["drug"]), gene)].append(threshold)

    def open_ended_match(self, drug: str, gene: str, wanted: str, have: set[str]) -> bool:
        """Whether the sample's values ``have`` for ``gene`` fall under the open-ended lookup ``wanted`` (``≥X``):
        none of them is one of the drug's exact values for the gene, and ``X`` is the drug's highest threshold not
        above the sample's activity score."""
        threshold = _threshold(wanted)
        if threshold is None or have & self.exact.get((drug, gene), set()):
            return False
        thresholds = self.at_least.get((drug, gene), [])
        for value in have:
            try:
                score = float(value)
            except ValueError:
                continue
            below = [t for t in thresholds if t <= score + 1e-9]
            if below and max(below) == threshold:
                return True
        return False

    def __len__(self) -> int:
        return len(self.frame)


def _threshold(value: str) -> float | None:
    """``X`` of an open-ended lookup value ``≥X``, else None."""
    if not value.startswith("≥"):
        return None
    try:
        return float(value[1:])
    except ValueError:
        return None


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> RecommendationTable:
    return RecommendationTable(read_recommendations(path), path=path)


def load_recommendations(path: str | os.PathLike[str] | None = None) -> RecommendationTable:
    """The shipped recommendation table (or the TSV at ``path``)."""
    file = Path(path) if path is not None else data_dir() / "recommendations" / RECOMMENDATIONS_FILE
    return _load(str(file), file.stat().st_mtime if file.exists() else 0.0)


def _guideline_text(row: dict[str, Any]) -> str:
    parts = [str(row.get("guideline_version") or row.get("guideline") or "CPIC guideline")]
    if row.get("guideline_url"):
        parts.append(str(row["guideline_url"]))
    if row.get("source"):
        parts.append(str(row["source"]))
    return "; ".join(parts)


def recommend(calls: Sequence[PhenotypeCall], *, table: RecommendationTable | None = None) -> list[dict[str, Any]]:
    """Recommendation rows (``sample_id drug gene phenotype recommendation classification guideline``)
    for one sample's phenotype calls."""
    table = table if table is not None else load_recommendations()
    if not calls:
        return []
    sample_id = calls[0].sample_id
    values: dict[str, set[str]] = defaultdict(set)
    for call in calls:
        if call.allele1 is None and not call.lookup:
            continue
        values[call.gene].update(call.lookup)
    matched: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for lookup, row in table.rules:
        called = False
        for gene, wanted in lookup.items():
            have = values.get(gene)
            if have:
                if wanted not in have and not table.open_ended_match(str(row["drug"]), gene, wanted, have):
                    break
                called = True
            elif wanted not in _NOT_CALLED:
                break
        else:
            if called:
                matched[str(row["drug"])].append(row)
    out: list[dict[str, Any]] = []
    for drug in sorted(matched):
        rows = matched[drug]
        current = {r["phenotypes"] for r in rows if not str(r["source"]).startswith(_UNVERIFIED_PREFIX)}
        for row in rows:
            if str(row["source"]).startswith(_UNVERIFIED_PREFIX) and row["phenotypes"] in current:
                continue
            genes, phenotypes = [], []
            for part in str(row["phenotypes"]).split(";"):
                gene, _, phen = part.partition("=")
                genes.append(gene)
                phenotypes.append(phen)
            text = str(row["recommendation"])
            population = str(row.get("population") or "general")
            if population != "general":
                text = f"[{population}] {text}"
            out.append(
                {
                    "sample_id": sample_id,
                    "drug": drug,
                    "gene": ";".join(genes),
                    "phenotype": ";".join(phenotypes),
                    "recommendation": text,
                    "classification": str(row.get("classification") or ""),
                    "guideline": _guideline_text(row),
                }
            )
    return out
