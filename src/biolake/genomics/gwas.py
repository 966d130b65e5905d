"""Genome-wide association tests of a lake genotype dataset, as ``plink2 --glm``.

One row per variant, in dataset order:

=============  ==========================================================================
column         definition (plink2 ``--glm omit-ref cols=+a1freq`` equivalent)
=============  ==========================================================================
chrom, pos     contig and base-pair position
id, ref, alt   variant ID, REF and ALT alleles
a1             the counted allele: ALT (plink2 A1 with ``omit-ref``)
a1_freq        ALT frequency among the tested samples with a call (A1_FREQ)
obs_ct         samples in the variant's regression (OBS_CT)
beta           genotype coefficient (BETA; for logistic, the log odds ratio)
or             logistic only: ``exp(beta)`` (OR)
se             its standard error (SE, LOG(OR)_SE)
stat           t statistic (linear, T_STAT) or Wald z (logistic, Z_STAT)
p              two-sided p-value (P)
errcode        why a variant was not tested (ERRCODE: CONST_OMITTED_ALLELE,
               SAMPLE_CT<=PREDICTOR_CT, CORR_TOO_HIGH, VIF_INFINITE, VIF_TOO_HIGH,
               SEPARATION,ALT1, LOGISTIC_CONVERGE_FAIL, FIRTH_CONVERGE_FAIL,
               INVALID_RESULT; UNFINISHED keeps its statistics); null when tested
=============  ==========================================================================

Semantics: samples are matched by IID (or ``sample_col``); samples of the genotype
data missing from the phenotype file, or with a missing phenotype or covariate, are
dropped; a missing call drops the sample for that variant only. Linear models are
:mod:`biolake.stats.linreg` (covariates projected out once, one matrix product per
block); logistic models :mod:`biolake.stats.logistic` (IRLS, Firth fallback as plink2).

Layers: the kernels in :mod:`biolake.stats`; :func:`gwas_block` applies them to one
block of variants (it reads its own block, so it runs on any backend); :func:`gwas`
validates, reads the phenotypes, maps the blocks on a :mod:`biolake.lake.backend`
backend and writes the result into the lake.

Examples
--------
>>> res = gwas(lake, "lake:cohort", pheno="cohort.pheno", pheno_col="qt",
...            covar="cohort.covar", covar_cols=["age", "sex"], out="qt.parquet")   # doctest: +SKIP
>>> res.n_samples, res.n_variants                                                  # doctest: +SKIP
(480, 5000)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from biolake.errors import InputError, check_param
from biolake.genomics.pheno import case_control, read_sample_values
from biolake.genomics.store import Block, has_packed, open_genotypes, read_block
from biolake.lake import Lake
from biolake.lake.backend import get_backend
from biolake.lake.progress import NullProgress, Progress
from biolake.stats.linreg import ERRCODES, PackedPrep, linreg_block, linreg_prepare, packed_prep
from biolake.stats.logistic import FIRTH_MODES, logistic_block

__all__ = ["LINEAR_COLUMNS", "LOGISTIC_COLUMNS", "MODELS", "GwasResult", "gwas", "gwas_block", "result_schema"]

MODELS = ("linear", "logistic")
LINEAR_COLUMNS = ("chrom", "pos", "id", "ref", "alt", "a1", "a1_freq", "obs_ct", "beta", "se", "stat", "p", "errcode")
LOGISTIC_COLUMNS = (
    "chrom",
    "pos",
    "id",
    "ref",
    "alt",
    "a1",
    "a1_freq",
    "obs_ct",
    "beta",
    "or",
    "se",
    "stat",
    "p",
    "errcode",
)
_TYPES = {"pos": pa.int64(), "obs_ct": pa.int64()}
_PACKED_BLOCK_BYTES = 8 << 20  # packed genotype bytes per block of the linear kernel (tables amortised over it)


def result_schema(model: str) -> pa.Schema:
    """The Arrow schema of the result of ``model``."""
    cols = LINEAR_COLUMNS if model == "linear" else LOGISTIC_COLUMNS
    strings = {"chrom", "id", "ref", "alt", "a1", "errcode"}
    return pa.schema(
        [(c, pa.string() if c in strings else _TYPES.get(c, pa.float64())) for c in cols],
        metadata={"model": model},
    )


@dataclass(frozen=True)
class GwasResult:
    """What :func:`gwas` did: the run, the result dataset, the samples and variants tested."""

    run_id: str
    result: str
    model: str
    n_samples: int
    n_variants: int
    n_covariates: int
    params: dict[str, Any]


def gwas_block(
    block: Block,
    *,
    model: str,
    y: np.ndarray,
    x: np.ndarray,
    prep: dict[str, Any] | None = None,
    firth: str = "fallback",
    packed_prep: PackedPrep | None = None,
) -> dict[str, Any]:
    """Read one block of variants (of the analysis samples) and test every variant in it.

    With ``packed_prep`` (linear model on a dataset with the 2-bit copy) the block's packed
    rows of all samples are read and the kernel selects the analysis samples itself.
    """
    data = read_block(block, packed=packed_prep is not None)
    if "packed" in data:
        assert prep is not None
        stats = linreg_block(None, prep, packed=data.pop("packed"), packed_prep=packed_prep)
        data["stats"] = stats
        return data
    dosage = data["alt_count"]
    if model == "linear":
        assert prep is not None
        stats = linreg_block(dosage, prep)
    else:
        stats = logistic_block(dosage, y, x, firth=firth, prep=prep)
    data.pop("alt_count")
    data["stats"] = stats
    return data


def _one_blas_thread_per_worker(backend: Any) -> contextlib.AbstractContextManager[Any]:
    """BLAS on one thread while blocks run in this process (synchronous or worker threads).

    The kernels' matrix products are skinny (thousands × tens): a BLAS thread pool on top
    of the worker threads oversubscribes the cores, and its spinning threads cost more
    CPU time than they save (measured: the logistic kernel took 10× the CPU time).
    """
    if getattr(backend, "name", None) in ("synchronous", "threads"):
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=1, user_api="blas")
    return contextlib.nullcontext()


def _split_cols(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(v).strip() for v in items if str(v).strip()]


def _match(sample_id: np.ndarray, ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Rows of ``values`` in the genotype sample order (NaN for samples not in the file)."""
    pos = {s: i for i, s in enumerate(ids.tolist())}
    out = np.full((len(sample_id), values.shape[1]), np.nan)
    idx = np.array([pos.get(str(s), -1) for s in sample_id.tolist()], dtype=np.int64)
    found = idx >= 0
    out[found] = values[idx[found]]
    return out


def gwas(
    lake: Lake,
    genotypes: str,
    *,
    pheno: str | os.PathLike[str],
    pheno_col: str,
    out: str | os.PathLike[str],
    covar: str | os.PathLike[str] | None = None,
    covar_cols: str | Sequence[str] | None = None,
    sample_col: str = "IID",
    model: str = "linear",
    firth: str = "fallback",
    chunk_variants: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> GwasResult:
    """Test every variant of a genotype dataset for association with a trait (``plink2 --glm``).

    Parameters
    ----------
    lake
        The lake holding the genotypes; the result is registered in it.
    genotypes
        Genotype dataset: ``lake:NAME`` or ``NAME`` (from ``biolake ingest plink``/``vcf``).
    pheno, pheno_col
        Phenotype file (header row; comma-, tab- or whitespace-separated; plink2's
        ``#FID IID …`` files as they are) and the trait's column.
    out
        Result file (``.parquet``, ``.csv`` or ``.tsv``), also registered in the lake.
    covar, covar_cols
        Covariate file (default: the phenotype file when ``covar_cols`` is given) and its
        columns (a list or ``"a,b,c"``), used as numbers (code categories as numbers or
        indicator columns).
    sample_col
        The column of sample IDs matched with the genotype data's sample IDs.
    model
        ``"linear"`` (quantitative trait) or ``"logistic"`` (case/control: 1/2 with 0/-9
        missing, or 0/1).
    firth
        Logistic only: ``"no"``, ``"fallback"`` (plink2's default ``firth-fallback``) or
        ``"always"``.
    chunk_variants
        Variants per block (default: the stored chunk). Results do not depend on it.
    scheduler
        Where blocks are computed, as :func:`biolake.lake.backend.get_backend`.
    progress
        Where to report progress.

    Returns
    -------
    GwasResult
        The run id, the result dataset's name and the numbers of samples and variants.

    Raises
    ------
    InputError
        Unknown dataset, unreadable phenotype/covariate file (file, line, column named),
        a trait with no usable samples, collinear covariates, a bad parameter.

    Examples
    --------
    >>> res = gwas(lake, "lake:cohort", pheno="cohort.pheno", pheno_col="bt",
    ...            covar="cohort.covar", covar_cols="age,sex,pc1", model="logistic",
    ...            out="bt.tsv")                                            # doctest: +SKIP
    >>> lake.connect().sql("SELECT id, beta, p FROM bt ORDER BY p LIMIT 1")  # doctest: +SKIP
    """
    fn = "gwas"
    check_param(fn, "model", model, model in MODELS, "'linear' or 'logistic'")
    check_param(fn, "firth", firth, firth in FIRTH_MODES, "'no', 'fallback' or 'always'")
    check_param(fn, "genotypes", genotypes, isinstance(genotypes, str) and bool(genotypes), "lake:NAME or NAME")
    check_param(fn, "pheno_col", pheno_col, isinstance(pheno_col, str) and bool(pheno_col), "a column name")
    check_param(fn, "sample_col", sample_col, isinstance(sample_col, str) and bool(sample_col), "a column name")
    check_param(
        fn,
        "chunk_variants",
        chunk_variants,
        chunk_variants is None or (isinstance(chunk_variants, int) and chunk_variants >= 1),
        "a positive integer or None",
    )
    cols = _split_cols(covar_cols)
    if covar is not None and not cols:
        raise InputError("--covar needs --covar-cols (the covariate columns to use)", file=str(covar))
    covar_file = covar if covar is not None else (pheno if cols else None)
    store = open_genotypes(lake, genotypes)
    progress = progress or NullProgress()

    ids, values = read_sample_values(pheno, [pheno_col], sample_col=sample_col)
    trait = _match(store.sample_id, ids, values)[:, 0]
    if model == "logistic":
        trait = case_control(trait, file=str(pheno), column=pheno_col)
    keep = ~np.isnan(trait)
    cov = np.zeros((store.n_samples, 0))
    if covar_file is not None:
        cids, cvalues = read_sample_values(covar_file, cols, sample_col=sample_col)
        cov = _match(store.sample_id, cids, cvalues)
        keep &= ~np.isnan(cov).any(axis=1)
    samples = np.flatnonzero(keep)
    if samples.size == 0:
        raise InputError(
            f"no sample of lake:{store.name} has a {pheno_col!r} value"
            + (" and every covariate" if cols else "")
            + f" (samples are matched by {sample_col})",
            file=str(pheno),
        )
    y = trait[samples]
    c = cov[samples]
    x = np.column_stack([np.ones(samples.size), c])
    if model == "logistic" and np.all(y == y[0]):
        raise InputError(f"the tested samples are all {'cases' if y[0] else 'controls'}", file=str(pheno))
    try:
        prep = linreg_prepare(y, covariates=c)
    except ValueError as exc:
        raise InputError(str(exc), file=str(covar_file)) from None
    params = {
        "genotypes": f"lake:{store.name}",
        "pheno": str(pheno),
        "pheno_col": pheno_col,
        "covar": None if covar_file is None else str(covar_file),
        "covar_cols": cols,
        "sample_col": sample_col,
        "model": model,
        "firth": firth if model == "logistic" else None,
        "out": str(out),
        "chunk_variants": chunk_variants,
        "scheduler": scheduler if isinstance(scheduler, str | None) else type(scheduler).__name__,
        "n_samples": int(samples.size),
    }
    inputs: list[Any] = [f"lake:{store.name}", str(pheno)]
    if covar_file is not None and Path(covar_file) != Path(pheno):
        inputs.append(str(covar_file))
    schema = result_schema(model)
    contigs = np.array(store.contigs, dtype=object)
    errcodes = np.array([e or None for e in ERRCODES], dtype=object)
    sample_sel = None if samples.size == store.n_samples else samples
    kwargs: dict[str, Any] = {"model": model, "y": y, "x": x, "prep": prep, "firth": firth}
    use_packed = model == "linear" and has_packed(store.path)
    if use_packed:
        # the 2-bit copy: a quarter of the bytes, no decompression; the kernel selects the samples
        kwargs["packed_prep"] = packed_prep(prep, samples=sample_sel, n_all=store.n_samples)
        chunk_variants = chunk_variants or _PACKED_BLOCK_BYTES // max(1, (store.n_samples + 3) // 4)
    with (
        lake.run("genomics gwas", params=params, inputs=inputs) as run,
        get_backend(scheduler) as backend,
        _one_blas_thread_per_worker(backend),
    ):

        def batches() -> Iterator[pa.RecordBatch]:
            blocks = store.blocks(chunk_variants, samples=sample_sel)
            with progress.task(f"GWAS ({model}) of {pheno_col} on {store.name}", total=store.n_variants) as task:
                for res in backend.map(gwas_block, blocks, **kwargs):
                    st = res["stats"]
                    k = len(st["beta"])
                    columns: dict[str, Any] = {
                        "chrom": contigs[res["contig"]],
                        "pos": res["pos"],
                        "id": res["id"],
                        "ref": res["ref"],
                        "alt": res["alt"],
                        "a1": res["alt"],
                        "a1_freq": st["a1_freq"],
                        "obs_ct": st["obs_ct"],
                        "beta": st["beta"],
                        "se": st["se"],
                        "stat": st["stat"],
                        "p": st["p"],
                        "errcode": errcodes[st["errcode"]],
                    }
                    if model == "logistic":
                        columns["or"] = np.exp(st["beta"])
                    arrays = [pa.array(columns[f.name], f.type, from_pandas=True) for f in schema]
                    yield pa.RecordBatch.from_arrays(arrays, schema=schema)
                    task.update(res["start"] + k)

        name = run.result(batches(), out, schema=schema)
        run.annotate(name, attrs={"genotypes": store.name, "table": f"gwas {model}", "trait": pheno_col})
        run_id = run.id
    return GwasResult(
        run_id=run_id,
        result=name,
        model=model,
        n_samples=int(samples.size),
        n_variants=store.n_variants,
        n_covariates=len(cols),
        params=params,
    )
