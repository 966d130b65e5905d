"""Proteomics differential abundance: limma's moderated t on protein intensities.

:func:`limma_da` (a DataFrame of intensities) and :func:`proteomics_job` (a lake
protein matrix from ``biolake ingest proteomics``, with a run record and a result file)
run, in this order:

1. ``transform="log2"``: ``log2`` of the intensities (values ≤ 0 are missing);
   ``"none"`` for data already on a log scale;
2. the valid-value filter: a protein needs at least two observed values, and with
   ``min_valid = N > 0`` at least ``N`` observed values in at least one level of the
   contrast's factor (``N = 0`` keeps every protein with two values);
3. normalisation: ``"median"`` subtracts from each sample its median log2 intensity and
   adds back the mean of the medians (limma's scale normalisation on the log scale),
   ``"quantile"`` is limma's ``normalizeQuantiles`` (missing values as limma handles
   them), ``"none"``;
4. imputation: ``"minprob"`` as ``imputeLCMD::impute.MinProb(q = 0.01, tune.sigma = 1)``
   — missing values of sample ``j`` drawn from ``N(q_j, σ)``, ``q_j`` the 1 % quantile
   of the sample's observed values and ``σ`` the median SD of the proteins observed in
   more than half of the samples (SD of their observed values); seeded, but not
   R's random stream, so results cannot match R bit for bit; ``"none"`` keeps missing
   values, and each protein is then fitted on its observed samples, as ``lmFit`` does;
5. ``lmFit`` (:func:`biolake.stats.limma.lm_fit`) with the design's model matrix
   (treatment contrasts, the contrast's denominator level as reference, so the
   coefficient of the numerator level is ``NUM`` over ``DEN`` whatever the alphabetical
   order), chunked over proteins on the lake backend;
6. ``eBayes`` (``trend``, ``robust`` as limma's) and ``topTable(number = Inf,
   sort.by = "none")``.

Output columns: ``protein log_fc ave_expr t pvalue padj b`` (limma's ``logFC AveExpr t
P.Value adj.P.Val B``), one row per protein kept by the filter, in input order.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> x = pd.DataFrame(2 ** rng.normal(20, 1, size=(300, 6)), index=[f"p{i}" for i in range(300)],
...                  columns=list("abcdef"))
>>> samples = pd.DataFrame({"sample": list("abcdef"), "condition": ["A"] * 3 + ["B"] * 3})
>>> res = limma_da(x, samples, design="~ condition", contrast=("condition", "B", "A"))
>>> list(res.columns)
['protein', 'log_fc', 'ave_expr', 't', 'pvalue', 'padj', 'b']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from biolake.errors import InputError, check_param
from biolake.genomics.design import align_samples, check_full_rank, model_matrix, parse_design, read_samples
from biolake.lake import Lake
from biolake.lake.backend import get_backend
from biolake.lake.progress import NullProgress, Progress
from biolake.stats.limma import ebayes, lm_fit, normalize_quantiles

__all__ = [
    "RESULT_COLUMNS",
    "DAResult",
    "impute_minprob",
    "limma_da",
    "median_normalize",
    "proteomics_job",
    "simulate_intensities",
]

RESULT_COLUMNS = ["protein", "log_fc", "ave_expr", "t", "pvalue", "padj", "b"]
_CHUNK = 4096


def median_normalize(y: np.ndarray) -> np.ndarray:
    """Subtract each column's median (NaN ignored) and add back the mean of the medians.

    Examples
    --------
    >>> median_normalize(np.array([[1.0, 4.0], [3.0, np.nan], [2.0, 6.0]])).tolist()
    [[2.5, 2.5], [4.5, nan], [3.5, 4.5]]
    """
    yt = np.ascontiguousarray(y.T)
    med = np.full(yt.shape[0], np.nan)
    for j, col in enumerate(yt):
        v = col[~np.isnan(col)]
        if v.size:
            med[j] = np.median(v)
    return y - (med - np.nanmean(med))[None, :]


def impute_minprob(y: np.ndarray, *, q: float = 0.01, tune_sigma: float = 1.0, seed: int = 0) -> np.ndarray:
    """``imputeLCMD::impute.MinProb``: missing values drawn from ``N(q-quantile of the sample, σ)``.

    ``σ`` is ``tune_sigma`` × the median SD (over each protein's observed values) of the
    proteins observed in more than half of the samples, as ``impute.MinProb``.
    Draws use numpy's generator seeded with ``seed`` (not R's ``rnorm``).

    Examples
    --------
    >>> y = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 4.0], [4.0, 5.0]])
    >>> out = impute_minprob(y, seed=1)
    >>> bool(np.isfinite(out).all()), out[[0, 2, 3]].tolist() == y[[0, 2, 3]].tolist()
    (True, True)
    """
    y = np.array(y, dtype=np.float64)
    n, m = y.shape
    obs = ~np.isnan(y)
    mins = np.array([np.quantile(y[obs[:, j], j], q) if obs[:, j].any() else np.nan for j in range(m)])
    most = obs.sum(axis=1) / m > 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        sds = np.nanstd(y[most], axis=1, ddof=1) if most.any() else np.zeros(0)
    sds = sds[np.isfinite(sds)]
    if sds.size == 0:
        raise InputError("minprob imputation needs proteins observed in more than half of the samples", file="--impute")
    sd = float(np.median(sds)) * tune_sigma
    rng = np.random.default_rng(seed)
    for j in range(m):
        draws = rng.normal(mins[j], sd, size=n)
        miss = ~obs[:, j]
        y[miss, j] = draws[miss]
    return y


@dataclass
class DAResult:
    """A differential-abundance result and what was estimated on the way."""

    table: pd.DataFrame
    """Columns :data:`RESULT_COLUMNS`."""
    n_input: int
    n_filtered: int
    df_prior: float | list[float]
    s2_prior: float | list[float]
    samples: list[str]
    log_matrix: pd.DataFrame
    """The analysed (transformed, filtered, normalised, imputed) log matrix: proteins × samples."""


def _fit_kernel(chunk: np.ndarray, *, x: np.ndarray) -> dict[str, np.ndarray]:
    return lm_fit(chunk, x)


def _run(
    y: np.ndarray,
    proteins: np.ndarray,
    sample_ids: list[str],
    samples: pd.DataFrame,
    *,
    design: str,
    contrast: Sequence[str],
    transform: str,
    normalize: str,
    impute: str,
    min_valid: int,
    trend: bool,
    robust: bool,
    seed: int,
    sample_col: str,
    samples_file: str,
    scheduler: Any,
    progress: Progress,
    chunk_rows: int | None,
) -> DAResult:
    f = "limma_da"
    check_param(f, "transform", transform, transform in ("log2", "none"), "'log2' or 'none'")
    check_param(
        f, "normalize", normalize, normalize in ("median", "quantile", "none"), "'median', 'quantile' or 'none'"
    )
    check_param(f, "impute", impute, impute in ("minprob", "none"), "'minprob' or 'none'")
    check_param(
        f, "min_valid", min_valid, isinstance(min_valid, int) and min_valid >= 0, "an integer >= 0 (0: no filter)"
    )
    check_param(
        f,
        "contrast",
        contrast,
        isinstance(contrast, Sequence) and not isinstance(contrast, str) and len(contrast) == 3,
        "three strings: factor, numerator level, denominator level",
    )
    table = align_samples(samples, sample_ids, col=sample_col, file=samples_file, what="matrix")
    factors = parse_design(design)
    if not factors:
        raise InputError("the design must have at least one factor", file="--design")
    c_factor, c_num, c_den = (str(v) for v in contrast)
    d0 = model_matrix(table, factors, file=samples_file)
    if c_factor not in factors:
        raise InputError(f"contrast factor {c_factor!r} is not in the design {design!r}", file="--contrast")
    for level in (c_num, c_den):
        if level not in d0.levels[c_factor]:
            raise InputError(
                f"{level!r} is not a level of {c_factor!r} (levels: {', '.join(d0.levels[c_factor])})",
                file="--contrast",
            )
    if c_num == c_den:
        raise InputError("the contrast's two levels are the same", file="--contrast")
    levels = {c_factor: [c_den, *[v for v in d0.levels[c_factor] if v != c_den]]}
    d = model_matrix(table, factors, levels=levels, file=samples_file)
    check_full_rank(d, option="--design")
    m, p = d.matrix.shape
    if m <= p:
        raise InputError(f"{m} samples for {p} coefficients: no residual degrees of freedom", file="--design")
    col = d.column_of(c_factor, c_num)
    n_input = y.shape[0]
    y = np.array(y, dtype=np.float64)
    if transform == "log2":
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(y > 0, np.log2(y), np.nan)
    y[~np.isfinite(y)] = np.nan
    obs = ~np.isnan(y)
    keep = obs.sum(axis=1) >= 2
    if min_valid > 0:
        groups = d.values[c_factor]
        per = np.column_stack([obs[:, groups == lv].sum(axis=1) for lv in d.levels[c_factor]])
        keep &= (per >= min_valid).any(axis=1)
    y = y[keep]
    proteins = np.asarray(proteins)[keep]
    if y.shape[0] < 2:
        raise InputError(f"{y.shape[0]} proteins pass the valid-value filter: nothing to test", file="--min-valid")
    if normalize == "median":
        y = median_normalize(y)
    elif normalize == "quantile":
        y = normalize_quantiles(y)
    if impute == "minprob":
        y = impute_minprob(y, seed=seed)
    step = chunk_rows or _CHUNK
    chunks = [y[s : s + step] for s in range(0, y.shape[0], step)]
    parts = []
    with get_backend(scheduler) as backend, progress.task("Fitting linear models", total=len(chunks)) as task:
        for part in backend.map(_fit_kernel, chunks, x=d.matrix):
            parts.append(part)
            task.advance()
    fit = {k: np.concatenate([pt[k] for pt in parts]) for k in parts[0]}
    if not np.any(fit["df_residual"] > 0):
        raise InputError("no protein has residual degrees of freedom", file="--design")
    coef = fit["coefficients"][:, col]
    sdu = fit["stdev_unscaled"][:, col]
    eb = ebayes(coef, sdu, fit["sigma"], fit["df_residual"], amean=fit["amean"], trend=trend, robust=robust)
    res = pd.DataFrame(
        {
            "protein": proteins,
            "log_fc": coef,
            "ave_expr": fit["amean"],
            "t": eb["t"],
            "pvalue": eb["pvalue"],
            "padj": eb["padj"],
            "b": eb["b"],
        }
    )

    def _plain(v: Any) -> float | list[float]:
        return float(v) if np.ndim(v) == 0 else [float(a) for a in v]

    return DAResult(
        res,
        n_input,
        int((~keep).sum()),
        _plain(eb["df_prior"]),
        _plain(eb["s2_prior"]),
        list(sample_ids),
        pd.DataFrame(y, index=proteins, columns=sample_ids),
    )


def limma_da(
    intensities: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    design: str,
    contrast: Sequence[str],
    transform: str = "log2",
    normalize: str = "median",
    impute: str = "none",
    min_valid: int = 0,
    trend: bool = False,
    robust: bool = False,
    seed: int = 0,
    sample_col: str = "sample",
    chunk_rows: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
    details: bool = False,
) -> Any:
    """Differential abundance of a protein × sample intensity table by limma (module docstring).

    Parameters
    ----------
    intensities
        Proteins × samples (index: protein ids, columns: sample ids); NaN is missing.
    samples
        One row per sample: ``sample_col`` matches the columns; design factors are columns.
    design
        Formula, e.g. ``"~ batch + condition"`` (backtick-quote odd column names).
    contrast
        ``(factor, numerator, denominator)``: ``log_fc`` is numerator over denominator.
    transform, normalize, impute, min_valid, trend, robust, seed
        See the module docstring.
    sample_col
        Sample id column of ``samples``.
    chunk_rows
        Proteins per block of the linear-model fits (the result does not depend on it).
    scheduler, progress
        Backend (``"threads"`` default, ``"processes"``, ``"synchronous"``, Dask) and progress.
    details
        Return a :class:`DAResult` instead of the table.

    Returns
    -------
    pandas.DataFrame or DAResult
        Columns ``protein log_fc ave_expr t pvalue padj b``.
    """
    check_param(
        "limma_da", "intensities", type(intensities).__name__, isinstance(intensities, pd.DataFrame), "a DataFrame"
    )
    check_param("limma_da", "samples", type(samples).__name__, isinstance(samples, pd.DataFrame), "a DataFrame")
    try:
        y = intensities.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise InputError("intensities must be numbers", file="intensities") from None
    res = _run(
        y,
        intensities.index.astype(str).to_numpy(),
        [str(c) for c in intensities.columns],
        samples,
        design=design,
        contrast=contrast,
        transform=transform,
        normalize=normalize,
        impute=impute,
        min_valid=min_valid,
        trend=trend,
        robust=robust,
        seed=seed,
        sample_col=sample_col,
        samples_file="samples",
        scheduler=scheduler,
        progress=progress or NullProgress(),
        chunk_rows=chunk_rows,
    )
    return res if details else res.table


def proteomics_job(
    lake: Lake,
    dataset: str,
    *,
    samples: str | os.PathLike[str],
    design: str,
    contrast: Sequence[str],
    out: str | os.PathLike[str],
    transform: str = "log2",
    normalize: str = "median",
    impute: str = "none",
    min_valid: int = 0,
    trend: bool = False,
    robust: bool = False,
    seed: int = 0,
    sample_col: str = "sample",
    chunk_rows: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> tuple[str, DAResult]:
    """``biolake genomics proteomics``: limma on a lake protein matrix, as a run.

    Parameters
    ----------
    lake
        The lake.
    dataset
        ``lake:NAME`` of a matrix from :func:`biolake.io.proteomics.ingest_proteomics`.
    samples
        Samples table file (CSV, or TSV for other extensions).
    out
        Result file (.parquet, .csv, .tsv), also registered in the lake.
    design, contrast, transform, normalize, impute, min_valid, trend, robust, seed, sample_col, chunk_rows,
    scheduler, progress
        As for :func:`limma_da`.

    Returns
    -------
    tuple
        The run id and the :class:`DAResult`.
    """
    from biolake.io.proteomics import open_proteomics

    store = open_proteomics(lake, dataset)
    table = read_samples(samples)
    params = {
        "dataset": dataset,
        "samples": str(samples),
        "design": design,
        "contrast": list(contrast),
        "transform": transform,
        "normalize": normalize,
        "impute": impute,
        "min_valid": min_valid,
        "trend": trend,
        "robust": robust,
        "seed": seed,
        "sample_col": sample_col,
        "out": str(out),
        "quant": store.quant,
    }
    spec = dataset if dataset.startswith("lake:") else f"lake:{dataset}"
    with lake.run("genomics proteomics", params=params, inputs=[spec, str(samples)]) as run:
        run.hash_input(str(samples))
        res = _run(
            store.read(0, store.n_proteins),
            store.protein_id,
            store.sample_id,
            table,
            design=design,
            contrast=contrast,
            transform=transform,
            normalize=normalize,
            impute=impute,
            min_valid=min_valid,
            trend=trend,
            robust=robust,
            seed=seed,
            sample_col=sample_col,
            samples_file=str(samples),
            scheduler=scheduler,
            progress=progress or NullProgress(),
            chunk_rows=chunk_rows,
        )
        name = run.result(res.table, out)
        prior = res.df_prior if isinstance(res.df_prior, float) else float(np.median(res.df_prior))
        run.annotate(
            name,
            attrs={
                "proteins_in": res.n_input,
                "proteins_filtered": res.n_filtered,
                "df_prior": prior if np.isfinite(prior) else "inf",
            },
        )
        pca = _pca(res.log_matrix)
        run.table(f"{name}_pca", attrs={"role": "proteomics-pca"}).write(pca)
    return run.id, res


def _pca(y: pd.DataFrame) -> pd.DataFrame:
    """Sample coordinates on the first two principal components of the 500 most variable complete proteins.

    As DESeq2's ``plotPCA`` (``ntop = 500``): proteins observed in every sample, ranked by variance.
    """
    x = y.dropna().to_numpy()
    if x.shape[0] > 500:
        x = x[np.argsort(-x.var(axis=1), kind="stable")[:500]]
    samples = list(y.columns)
    if x.shape[0] < 2 or x.shape[1] < 2:
        return pd.DataFrame({"sample": samples, "pc1": np.nan, "pc2": np.nan, "pc1_var": np.nan, "pc2_var": np.nan})
    xc = (x - x.mean(axis=1, keepdims=True)).T
    xc = xc - xc.mean(axis=0)
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    var = s**2 / max((s**2).sum(), 1e-300)
    pcs = u * s
    pc2 = pcs[:, 1] if pcs.shape[1] > 1 else np.zeros(len(samples))
    return pd.DataFrame(
        {
            "sample": samples,
            "pc1": pcs[:, 0],
            "pc2": pc2,
            "pc1_var": float(var[0]),
            "pc2_var": float(var[1]) if var.size > 1 else 0.0,
        }
    )


def simulate_intensities(
    *, n_proteins: int = 1_000, n_per_group: int = 4, frac_changed: float = 0.1, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulated LFQ intensities (control vs treated) with intensity-dependent missing values.

    Log2 intensities ~ N(24, 2) per protein plus protein-specific noise; ``frac_changed``
    of the proteins change by ±1.5 in the treated group; low values go missing more often.

    Returns
    -------
    tuple
        Intensities (proteins × samples, NaN missing) and the samples table
        (``sample``, ``condition``).
    """
    rng = np.random.default_rng(seed)
    m = 2 * n_per_group
    cond = np.array(["control"] * n_per_group + ["treated"] * n_per_group)
    base = rng.normal(24, 2, n_proteins)
    sd = np.sqrt(0.4 / rng.chisquare(4, n_proteins))
    y = base[:, None] + rng.normal(size=(n_proteins, m)) * sd[:, None]
    changed = rng.random(n_proteins) < frac_changed
    y[np.ix_(changed, cond == "treated")] += rng.choice([-1.5, 1.5], changed.sum())[:, None]
    p_miss = 1 / (1 + np.exp(-(21 - y) * 1.5)) + 0.03
    y[rng.random(y.shape) < p_miss] = np.nan
    samples = [f"S{j + 1:02d}" for j in range(m)]
    x = pd.DataFrame(2.0**y, index=[f"PROT{i + 1:05d}" for i in range(n_proteins)], columns=samples)
    return x, pd.DataFrame({"sample": samples, "condition": cond})
