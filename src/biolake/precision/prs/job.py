"""``biolake precision prs``: polygenic scores of every sample of a lake genotype dataset.

Output (long format, one row per sample and score):

=============  ===========================================================================
column         definition (plink2 ``--score … cols=+scoresums`` equivalent)
=============  ===========================================================================
sample_id      VCF sample name, or the .fam IID for a dataset ingested from PLINK
score          the score's name: the weight column's header (plain tables) or the PGS ID
allele_ct      2 × scored variants with a call (ALLELE_CT)
dosage_sum     sum of observed effect-allele dosages (after the dominant/recessive
               transform), imputed ones not counted (NAMED_ALLELE_DOSAGE_SUM)
score_sum      Σ weight × dosage, missing calls mean-imputed unless disabled (SCORE1_SUM)
score_avg      score_sum / denominator (SCORE1_AVG): 2 × scored variants with mean
               imputation, ``allele_ct`` with ``no-mean-imputation`` (plink2's DENOM)
percentile     only with ``reference``: percentage of the reference samples whose
               score_sum is at most this sample's
=============  ===========================================================================

The match rate (used weights rows / all rows) and the rows per match reason are in the
run's parameters; below ``min_match`` the job stops with an :class:`InputError`. The
per-variant match log (``match_log``) has the columns ``line id chrom pos effect_allele
other_allele variant_id ref alt reason used``.

Layers: :mod:`~biolake.precision.prs.weights` (parsing), :mod:`~.matching`,
:mod:`~.kernel` (numba kernel + one block as a backend task), :func:`prs` here.
"""

from __future__ import annotations

import collections
import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from biolake.errors import InputError, check_param
from biolake.genomics.store import GenotypeStore, open_genotypes
from biolake.lake import Lake
from biolake.lake.backend import get_backend
from biolake.lake.progress import NullProgress, Progress
from biolake.precision.prs.kernel import ScoreTask, score_task
from biolake.precision.prs.matching import Match, match_weights, release_memory
from biolake.precision.prs.weights import MODELS, Weights, read_weights

__all__ = ["COLUMNS", "PrsResult", "compute_scores", "prs"]

COLUMNS = ("sample_id", "score", "allele_ct", "dosage_sum", "score_sum", "score_avg")
LOG_COLUMNS = (
    "line",
    "id",
    "chrom",
    "pos",
    "effect_allele",
    "other_allele",
    "variant_id",
    "ref",
    "alt",
    "reason",
    "used",
)


@dataclass(frozen=True)
class PrsResult:
    """What :func:`prs` did."""

    run_id: str
    result: str
    scores: list[str]
    n_samples: int
    n_rows: int
    n_used: int
    match_rate: float
    association: dict[str, Any] | None
    params: dict[str, Any]


@dataclass
class Scores:
    """Per-sample sums of :func:`compute_scores`."""

    score_sum: np.ndarray  # samples × scores
    dosage_sum: np.ndarray
    allele_ct: np.ndarray
    denominator: np.ndarray

    @property
    def score_avg(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.score_sum / self.denominator[:, None]


def _tasks(
    store: GenotypeStore, weights: Weights, match: Match, model_codes: np.ndarray, chunk: int | None
) -> Iterator[ScoreTask]:
    size = int(chunk or store.variant_chunk)
    v = match.used_variant
    bounds = np.searchsorted(v, np.arange(0, store.n_variants + size, size))
    for b in range(len(bounds) - 1):
        lo, hi = int(bounds[b]), int(bounds[b + 1])
        if lo == hi:
            continue
        rows = match.used_rows[lo:hi]
        start, stop = int(v[lo]), int(v[hi - 1]) + 1
        yield ScoreTask(
            block=store.block(start, stop),
            rows=(v[lo:hi] - start).astype(np.int64),
            swap=np.ascontiguousarray(match.used_swap[lo:hi]),
            model=np.ascontiguousarray(model_codes[rows]),
            weights=np.ascontiguousarray(weights.weights[rows]),
        )


def compute_scores(
    store: GenotypeStore,
    weights: Weights,
    match: Match,
    *,
    model: str = "additive",
    mean_impute: bool = True,
    chunk_variants: int | None = None,
    backend: Any = None,
    progress: Progress | None = None,
) -> Scores:
    """Score every sample of ``store`` with the matched weights, block by block on ``backend``."""
    codes = np.where(weights.model > 0, weights.model, MODELS.index(model)).astype(np.int8)
    n, n_scores = store.n_samples, weights.weights.shape[1]
    acc = np.zeros((n, n_scores))
    dosage = np.zeros(n)
    missing = np.zeros(n, dtype=np.int64)
    progress = progress or NullProgress()
    sizes: collections.deque[int] = collections.deque()

    def tasks() -> Iterator[ScoreTask]:
        for t in _tasks(store, weights, match, codes, chunk_variants):
            sizes.append(t.rows.size)
            yield t

    done = 0
    with progress.task(f"scoring {store.name}", total=match.n_used) as task:
        for a, d, m in backend.map(score_task, tasks(), impute=mean_impute):
            acc += a
            dosage += d
            missing += m
            done += sizes.popleft()
            task.update(done)
    allele_ct = 2 * (match.n_used - missing)
    denominator = np.full(n, 2.0 * match.n_used) if mean_impute else allele_ct.astype(np.float64)
    return Scores(score_sum=acc, dosage_sum=dosage, allele_ct=allele_ct, denominator=denominator)


def _scoring_only(weights: Weights, match: Match) -> tuple[Weights, Match]:
    """The weights and match reduced to what :func:`compute_scores` reads: the used rows' weights and models.

    The per-row annotations (IDs, alleles, reasons: about 100 bytes per weights row) are
    only needed for the match log; dropping them before scoring lowers the peak memory.
    """
    rows = match.used_rows
    every = rows.size == len(weights) and bool((rows == np.arange(rows.size)).all())
    none = np.empty(0, dtype=object)
    slim_w = dataclasses.replace(
        weights,
        id=pa.array([], pa.string()),
        chrom=none,
        pos=np.empty(0, dtype=np.int64),
        effect_allele=none,
        other_allele=none,
        weights=weights.weights if every else weights.weights[rows],
        model=weights.model if every else weights.model[rows],
        line=np.empty(0, dtype=np.int64),
    )
    slim_m = Match(
        variant=np.empty(0, dtype=np.int64),
        reason=none,
        ref=none,
        alt=none,
        variant_id=none,
        used_rows=np.arange(rows.size, dtype=np.int64),
        used_variant=match.used_variant,
        used_swap=match.used_swap,
    )
    return slim_w, slim_m


def _check_match(match: Match, weights: Weights, spec: str, min_match: float) -> None:
    if match.rate < min_match or match.n_used == 0:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(match.counts().items()))
        raise InputError(
            f"only {match.n_used} of {match.n_rows} weights rows ({match.rate:.1%}) match {spec}, "
            f"below --min-match {min_match:g} ({reasons})",
            file=weights.path,
        )


def _log_table(weights: Weights, match: Match) -> pa.Table:
    used = np.zeros(match.n_rows, dtype=bool)
    used[match.used_rows] = True
    cols = {
        "line": pa.array(weights.line, pa.int64()),
        "id": weights.id,
        "chrom": pa.array(weights.chrom.tolist(), pa.string()),
        "pos": pa.array(np.where(weights.pos >= 0, weights.pos, 0), pa.int64(), mask=weights.pos < 0),
        "effect_allele": pa.array(weights.effect_allele.tolist(), pa.string()),
        "other_allele": pa.array(weights.other_allele.tolist(), pa.string()),
        "variant_id": pa.array(match.variant_id.tolist(), pa.string()),
        "ref": pa.array(match.ref.tolist(), pa.string()),
        "alt": pa.array(match.alt.tolist(), pa.string()),
        "reason": pa.array(match.reason.tolist(), pa.string()),
        "used": pa.array(used, pa.bool_()),
    }
    return pa.table(cols)


def _result_table(store: GenotypeStore, names: list[str], sc: Scores, percentile: np.ndarray | None) -> pa.Table:
    n, k = sc.score_sum.shape
    cols: dict[str, Any] = {
        "sample_id": pa.array(np.repeat(store.sample_id.astype(str), k).tolist(), pa.string()),
        "score": pa.array(np.tile(np.array(names, dtype=object), n).tolist(), pa.string()),
        "allele_ct": pa.array(np.repeat(sc.allele_ct, k), pa.int64()),
        "dosage_sum": pa.array(np.repeat(sc.dosage_sum, k), pa.float64()),
        "score_sum": pa.array(sc.score_sum.ravel(), pa.float64()),
        "score_avg": pa.array(sc.score_avg.ravel(), pa.float64()),
    }
    if percentile is not None:
        cols["percentile"] = pa.array(percentile.ravel(), pa.float64())
    return pa.table(cols)


def prs(
    lake: Lake,
    genotypes: str,
    *,
    weights: str | os.PathLike[str],
    out: str | os.PathLike[str],
    min_match: float = 0.75,
    keep_ambiguous: bool = False,
    mean_impute: bool = True,
    model: str = "additive",
    match_log: str | os.PathLike[str] | None = None,
    reference: str | None = None,
    pheno: str | os.PathLike[str] | None = None,
    pheno_col: str | None = None,
    sample_col: str = "IID",
    prevalence: float | None = None,
    chunk_variants: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> PrsResult:
    """Polygenic scores of every sample of a genotype dataset, as ``plink2 --score``.

    Parameters
    ----------
    lake, genotypes
        The lake and the genotype dataset (``lake:NAME`` or ``NAME``).
    weights
        A PGS Catalog scoring file or a plain ``id effect_allele NAME…`` table (see
        :mod:`biolake.precision.prs.weights`); several score columns are scored at once.
    out
        Result file (``.parquet``, ``.csv`` or ``.tsv``), long format (see the module docstring).
    min_match
        Smallest fraction of weights rows that must match the dataset (else InputError).
    keep_ambiguous
        Keep A/T and C/G SNVs (matched without strand flips) instead of dropping them.
    mean_impute
        Missing calls contribute the mean dosage (plink2's default); False is plink2's
        ``no-mean-imputation``.
    model
        ``"additive"``, ``"dominant"`` or ``"recessive"`` (plink2's modifiers); a PGS
        file's ``is_dominant``/``is_recessive`` flags override it per variant.
    match_log
        Also write the per-variant match log to this file (and register it).
    reference
        A reference genotype dataset: each sample's percentile among its scores.
    pheno, pheno_col, sample_col, prevalence
        A phenotype file and column: association of the (first) score with the trait
        (case/control coded 1/2 or 0/1, else quantitative), stored in the result's
        attributes and shown in the run report with a decile plot; ``prevalence`` is the
        population prevalence of the liability-scale R² (default: the sample's).
    chunk_variants
        Variants per block (default: the stored chunk); results do not depend on it.
    scheduler
        Where blocks are scored (:func:`biolake.lake.backend.get_backend`).
    progress
        Where to report progress.

    Raises
    ------
    InputError
        Unknown dataset, a malformed weights file (file and line named), a match rate
        below ``min_match``, a bad phenotype file or parameter.

    Examples
    --------
    >>> res = prs(lake, "lake:cohort", weights="PGS000018.txt", out="prs.tsv")   # doctest: +SKIP
    >>> res.match_rate                                                          # doctest: +SKIP
    0.97
    """
    fn = "prs"
    check_param(fn, "genotypes", genotypes, isinstance(genotypes, str) and bool(genotypes), "lake:NAME or NAME")
    check_param(fn, "model", model, model in MODELS, "'additive', 'dominant' or 'recessive'")
    check_param(
        fn, "min_match", min_match, isinstance(min_match, int | float) and 0 <= min_match <= 1, "a number in [0, 1]"
    )
    check_param(
        fn,
        "chunk_variants",
        chunk_variants,
        chunk_variants is None or (isinstance(chunk_variants, int) and chunk_variants >= 1),
        "a positive integer or None",
    )
    check_param(
        fn,
        "prevalence",
        prevalence,
        prevalence is None or (isinstance(prevalence, int | float) and 0 < prevalence < 1),
        "a number in (0, 1) or None",
    )
    if (pheno is None) != (pheno_col is None):
        raise InputError("--pheno and --pheno-col go together", file=str(pheno or "--pheno-col"))
    progress = progress or NullProgress()
    store = open_genotypes(lake, genotypes)
    w = read_weights(weights)
    release_memory()
    match = match_weights(w, store, keep_ambiguous=keep_ambiguous, variant_ids=match_log is not None)
    spec = f"lake:{store.name}"
    _check_match(match, w, spec, float(min_match))
    ref_store = ref_match = None
    if reference is not None:
        ref_store = open_genotypes(lake, reference)
        ref_match = match_weights(w, ref_store, keep_ambiguous=keep_ambiguous)
        _check_match(ref_match, w, f"lake:{ref_store.name}", float(min_match))
    trait = None
    binary = False
    if pheno is not None:
        from biolake.genomics.gwas import _match as match_samples
        from biolake.genomics.pheno import case_control, read_sample_values

        ids, values = read_sample_values(pheno, [str(pheno_col)], sample_col=sample_col)
        trait = match_samples(store.sample_id, ids, values)[:, 0]
        present = trait[np.isfinite(trait)]
        binary = bool(present.size) and set(np.unique(present).tolist()) <= {0.0, 1.0, 2.0}
        if binary:
            trait = case_control(trait, file=str(pheno), column=str(pheno_col))
    params: dict[str, Any] = {
        "genotypes": spec,
        "weights": str(weights),
        "weights_format": w.fmt,
        "scores": w.scores,
        "out": str(out),
        "min_match": float(min_match),
        "keep_ambiguous": bool(keep_ambiguous),
        "mean_impute": bool(mean_impute),
        "model": model,
        "match_log": None if match_log is None else str(match_log),
        "reference": None if ref_store is None else f"lake:{ref_store.name}",
        "pheno": None if pheno is None else str(pheno),
        "pheno_col": pheno_col,
        "n_samples": store.n_samples,
        "weights_rows": match.n_rows,
        "variants_used": match.n_used,
        "match_rate": round(match.rate, 6),
        "match_reasons": match.counts(),
        "genome_build": w.header.get("genome_build") or w.header.get("HmPOS_build"),
        "chunk_variants": chunk_variants,
        "scheduler": scheduler if isinstance(scheduler, str | None) else type(scheduler).__name__,
    }
    inputs: list[Any] = [spec, str(weights)]
    if ref_store is not None:
        inputs.append(f"lake:{ref_store.name}")
    if pheno is not None:
        inputs.append(str(pheno))
    assoc: dict[str, Any] | None = None
    n_rows, n_used, rate = match.n_rows, match.n_used, match.rate
    if match_log is None and ref_match is None:  # else the full rows are still needed
        w, match = _scoring_only(w, match)
    release_memory()
    with lake.run("precision prs", params=params, inputs=inputs) as run, get_backend(scheduler) as backend:
        kw: dict[str, Any] = {"model": model, "mean_impute": mean_impute, "chunk_variants": chunk_variants}
        sc = compute_scores(store, w, match, backend=backend, progress=progress, **kw)
        percentile = None
        if ref_store is not None and ref_match is not None:
            ref = compute_scores(ref_store, w, ref_match, backend=backend, progress=progress, **kw)
            percentile = np.empty_like(sc.score_sum)
            for k in range(sc.score_sum.shape[1]):
                sorted_ref = np.sort(ref.score_sum[:, k])
                percentile[:, k] = (
                    100.0 * np.searchsorted(sorted_ref, sc.score_sum[:, k], side="right") / sorted_ref.size
                )
        w.weights = np.empty((0, len(w.scores)))  # scored: the weights matrix is not needed any more
        release_memory()
        name = run.result(_result_table(store, w.scores, sc, percentile), out)
        attrs: dict[str, Any] = {"genotypes": store.name, "table": "prs", "match_rate": round(rate, 6)}
        if trait is not None:
            from biolake.precision.prs.association import association, deciles

            assoc = association(sc.score_sum[:, 0], trait, binary=binary, prevalence=prevalence)
            assoc.update(score=w.scores[0], trait=str(pheno_col), binary=binary)
            attrs["association"] = assoc
            attrs["deciles"] = deciles(sc.score_sum[:, 0], trait)
        run.annotate(name, attrs=attrs)
        if match_log is not None:
            log_name = run.result(_log_table(w, match), match_log)
            run.annotate(log_name, attrs={"table": "prs match log"})
        run_id = run.id
    return PrsResult(
        run_id=run_id,
        result=name,
        scores=w.scores,
        n_samples=store.n_samples,
        n_rows=n_rows,
        n_used=n_used,
        match_rate=rate,
        association=assoc,
        params=params,
    )
