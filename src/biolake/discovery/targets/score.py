"""Target scores from evidence of several sources, as the Open Targets Platform combines them.

For each gene and source, the source score is the normalised harmonic sum of that source's
evidence scores (:func:`biolake.stats.harmonic.harmonic_sum`: Σ sᵢ/i² over the scores sorted
descending, divided by Σ_{i=1}^{1000} 1/i²). The gene's ``score`` is the same normalised
harmonic sum over its source scores each multiplied by the source's weight (default 1).
Genes are ranked by score, highest first; ties are broken by gene id (ascending), ranks are
1, 2, 3, … with no shared ranks. ``n_evidence`` is the number of evidence rows of the gene
over all sources. A source without evidence for a gene has 0 in its column.

Example (worked in ``tests/discovery/test_targets_scoring.py``): gene A with literature
scores 1.0 and 0.5 and a GWAS score 0.8 has literature = (1 + 0.5/4)/1.6439345667 =
0.684334, gwas = 0.8/1.6439345667 = 0.486637, score = (0.684334 + 0.486637/4)/1.6439345667 =
0.490283.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from biolake.errors import check_param
from biolake.stats.harmonic import grouped_harmonic_sum

__all__ = ["RESULT_COLUMNS", "score_targets"]

RESULT_COLUMNS = ["gene", "gene_name", "score", "rank", "n_evidence"]


def score_targets(
    evidence: Mapping[str, pd.DataFrame],
    *,
    weights: Mapping[str, float] | None = None,
    gene_names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Rank genes by their combined evidence.

    Parameters
    ----------
    evidence
        Source name → table with columns ``gene`` and ``score`` (in [0, 1]), one row per piece of evidence.
    weights
        Source name → weight ≥ 0 (default 1 for every source).
    gene_names
        Gene id → name, for the ``gene_name`` column (empty when unknown).

    Returns
    -------
    pandas.DataFrame
        ``gene gene_name score rank n_evidence`` and one column per source (its source score),
        sorted by rank.
    """
    weights = dict(weights or {})
    for name, w in weights.items():
        check_param(
            "score_targets", "weights", {name: w}, name in evidence, f"weights of given sources ({', '.join(evidence)})"
        )
        check_param("score_targets", "weights", {name: w}, bool(np.isfinite(w) and w >= 0), "finite numbers >= 0")
    sources = list(evidence)
    per_source: dict[str, pd.Series] = {}
    n_evidence = pd.Series(dtype=np.int64)
    for name in sources:
        ev = evidence[name]
        genes, sums, counts = grouped_harmonic_sum(ev["gene"].astype(str).to_numpy(), ev["score"].to_numpy(np.float64))
        per_source[name] = pd.Series(sums, index=genes)
        n_evidence = n_evidence.add(pd.Series(counts, index=genes), fill_value=0)
    table = pd.DataFrame(per_source, columns=sources).fillna(0.0)
    table.index = table.index.astype(str)
    if table.empty:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in zip(RESULT_COLUMNS, ["str", "str", "float64", "int64", "int64"], strict=True)
            }
            | {s: pd.Series(dtype="float64") for s in sources}
        )
    long = table.stack()
    w = np.array([weights.get(s, 1.0) for s in long.index.get_level_values(1)])
    genes, overall, _ = grouped_harmonic_sum(long.index.get_level_values(0).to_numpy().astype(str), long.to_numpy() * w)
    result = pd.DataFrame({"gene": genes, "score": overall})
    result = result.sort_values(["score", "gene"], ascending=[False, True], kind="stable").reset_index(drop=True)
    result["rank"] = np.arange(1, len(result) + 1, dtype=np.int64)
    names = gene_names or {}
    result.insert(1, "gene_name", [names.get(g, "") for g in result["gene"]])
    result["n_evidence"] = n_evidence.reindex(result["gene"]).to_numpy().astype(np.int64)
    for s in sources:
        result[s] = table[s].reindex(result["gene"]).to_numpy()
    return result[[*RESULT_COLUMNS, *sources]]
