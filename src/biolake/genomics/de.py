"""RNA-seq differential expression: DESeq2's method, written here, chunked over genes.

:func:`deseq2` (a DataFrame of counts) and :func:`de_job` (a lake count matrix, with a
run record and a result file) follow DESeq2's ``DESeq()`` + ``results()`` with default
settings:

1. size factors by the median-of-ratios (``size_factors="ratio"``) or over positive
   counts only (``"poscounts"``);
2. gene-wise dispersions: rough moments estimate, fitted means (linear model when
   the design's groups are as many as its coefficients, else an NB GLM), then the
   Cox–Reid adjusted profile likelihood maximised by DESeq2's line search (grid
   search for genes that did not converge);
3. the dispersion trend ``a + b / mean`` by DESeq2's iterated Gamma-family GLM
   (``fit_type="parametric"``), DESeq2's local regression — ``locfit`` of the log
   dispersions on the log means, weighted by the means, reproduced in
   :mod:`biolake.stats.locfit` (``"local"``, also substituted when the parametric fit
   fails, as DESeq2 does) — or the trimmed mean (``"mean"``);
4. the prior width: ``max(mad(log residuals)^2 - trigamma((m - p) / 2), 0.25)``;
   MAP dispersions by the same line search with the normal prior, gene-wise
   estimates kept for genes more than two prior SDs above the trend;
5. the NB GLM by IRLS with DESeq2's ridge ``1e-6`` on the log2 scale, its deviance
   convergence rule and L-BFGS-B for genes that do not converge;
6. the Wald test of the contrast (or the likelihood-ratio test against ``reduced``);
7. Cook's distances (robust method-of-moments dispersion); in design cells with at
   least ``min_replicates_for_replace`` (7) samples, counts whose distance exceeds the
   0.99 quantile of F(p, m - p) are replaced by the 20 %-trimmed mean and those genes
   refitted (dispersions and GLM); elsewhere the p-values of genes whose maximum Cook's
   distance exceeds that quantile are set to NA (with DESeq2's exception for one
   two-level factor);
8. independent filtering on the mean of normalized counts (``alpha = 0.1``, the
   threshold where rejections first exceed the lowess fit minus its RMSE) and
   Benjamini–Hochberg adjustment.

Genes are processed in blocks on any :mod:`biolake.lake.backend` (threads, processes, a
Dask cluster); the per-gene work is compiled (:mod:`biolake.stats.negbin`), and the
result does not depend on the block size or the backend.

Output columns: ``gene base_mean log2_fold_change lfc_se stat pvalue padj``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> counts = pd.DataFrame(rng.negative_binomial(5, 0.1, size=(300, 6)),
...                       index=[f"g{i}" for i in range(300)], columns=list("abcdef"))
>>> samples = pd.DataFrame({"sample": list("abcdef"), "condition": ["ctl"] * 3 + ["trt"] * 3})
>>> res = deseq2(counts, samples, design="~ condition", contrast=("condition", "trt", "ctl"))
>>> list(res.columns)
['gene', 'base_mean', 'log2_fold_change', 'lfc_se', 'stat', 'pvalue', 'padj']
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from threadpoolctl import threadpool_limits

from biolake.errors import InputError, check_param
from biolake.genomics.design import align_samples, check_full_rank, model_matrix, parse_design, read_samples
from biolake.lake import Lake
from biolake.lake.backend import get_backend
from biolake.lake.chunks import ArrayChunk
from biolake.lake.progress import NullProgress, Progress
from biolake.stats.locfit import LocalFit, locfit_1d
from biolake.stats.multitest import lowess, p_adjust_bh
from biolake.stats.negbin import fit_nb_dispersion, fit_nb_dispersion_grid, fit_nb_glm, nb_log_likelihood

__all__ = [
    "RESULT_COLUMNS",
    "DEResult",
    "de_job",
    "deseq2",
    "sample_pca",
    "size_factors",
    "variance_stabilizing_transform",
]

RESULT_COLUMNS = ["gene", "base_mean", "log2_fold_change", "lfc_se", "stat", "pvalue", "padj"]
_MIN_DISP = 1e-8
_MINMU = 0.5
_LOG2E = 1.0 / math.log(2.0)
_DEFAULT_CHUNK = 4096


# ---------------------------------------------------------------------------- chunks
@dataclass(frozen=True)
class _MemoryChunk:
    """Rows of an in-memory count matrix (shipped with the task)."""

    data: np.ndarray

    def read(self) -> np.ndarray:
        return self.data


def _read(chunk: Any) -> np.ndarray:
    return np.asarray(chunk.read(), dtype=np.float64)


# ----------------------------------------------------------------------- size factors
def _sf_kernel(chunk: Any, *, kind: str) -> tuple[np.ndarray, list[np.ndarray], int]:
    y = _read(chunk)
    with np.errstate(divide="ignore", invalid="ignore"):
        lc = np.log(y)
    if kind == "ratio":
        lgm = lc.mean(axis=1)
    else:
        lpos = np.where(y > 0, lc, 0.0)
        n = y.shape[1]
        gm = np.where((y > 0).any(axis=1), np.exp(lpos.sum(axis=1) / n), 0.0)
        with np.errstate(divide="ignore"):
            lgm = np.log(gm)
    finite = np.isfinite(lgm)
    # per sample (a row of the transposed block): log ratios of the genes with a finite mean and a positive count
    use = ((y > 0) & finite[:, None]).T
    with np.errstate(invalid="ignore"):
        diff = np.ascontiguousarray((lc - lgm[:, None]).T)
    ratios = [diff[j][use[j]] for j in range(y.shape[1])]
    return lgm, ratios, int(finite.sum())


def size_factors(counts: np.ndarray, *, kind: str = "ratio") -> np.ndarray:
    """DESeq2's size factors of a count matrix (genes × samples).

    Parameters
    ----------
    counts
        Non-negative counts, genes × samples.
    kind
        ``"ratio"``: median over genes of each sample's ratio to the gene's geometric
        mean (genes with a zero count are skipped); ``"poscounts"``: geometric means
        over positive counts only, then scaled to a geometric mean of 1.

    Returns
    -------
    numpy.ndarray
        One factor per sample.

    Examples
    --------
    >>> size_factors(np.array([[10, 20], [30, 60], [5, 10]])).round(4).tolist()
    [0.7071, 1.4142]
    """
    check_param("size_factors", "kind", kind, kind in ("ratio", "poscounts"), "'ratio' or 'poscounts'")
    return _combine_size_factors([_sf_kernel(_MemoryChunk(np.asarray(counts)), kind=kind)], kind)


def _combine_size_factors(parts: Sequence[tuple[np.ndarray, list[np.ndarray], int]], kind: str) -> np.ndarray:
    if not parts or sum(p[2] for p in parts) == 0:
        raise InputError(
            "every gene contains at least one zero, cannot compute log geometric means (use --size-factors poscounts)",
            file="counts",
        )
    n = len(parts[0][1])
    sf = np.empty(n)
    for j in range(n):
        vals = np.concatenate([p[1][j] for p in parts])
        if vals.size == 0:
            raise InputError(f"sample {j + 1} has no positive count in genes usable for size factors", file="counts")
        sf[j] = math.exp(float(np.median(vals)))
    if kind == "poscounts":
        sf = sf / math.exp(float(np.mean(np.log(sf))))
    return sf


# ----------------------------------------------------------------------- the model
@dataclass(frozen=True)
class _Model:
    """Everything a block kernel needs besides its counts (small, picklable)."""

    x: np.ndarray
    x_reduced: np.ndarray | None
    sf: np.ndarray
    linear_mu: bool
    max_disp: float
    contrast: np.ndarray
    contrast_samples: np.ndarray  # samples of the contrast's two levels (all-zero check)
    cells3: np.ndarray  # samples in model-matrix cells with >= 3 replicates
    cell_codes: np.ndarray  # cell index per sample
    replaceable: np.ndarray  # samples in cells with >= min_replicates_for_replace replicates
    cooks_cutoff: float


def _qr(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q, r = np.linalg.qr(x)
    return q, r


def _linear_model_mu(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    q, r = _qr(x)
    return (y @ q) @ (x @ np.linalg.inv(r)).T


def _beta_init(norm: np.ndarray, x: np.ndarray) -> np.ndarray:
    q, r = _qr(x)
    lg = norm + 0.1
    np.log(lg, out=lg)
    return np.linalg.solve(r, q.T @ lg.T).T


def _fit_glm(
    y: np.ndarray,
    x: np.ndarray,
    sf: np.ndarray,
    alpha: np.ndarray,
    norm: np.ndarray,
    contrast: np.ndarray | None,
    *,
    loglike: bool = False,
) -> dict[str, np.ndarray]:
    """DESeq2's fitNbinomGLMs (no weights): IRLS, then L-BFGS-B for rows that need it.

    The log likelihoods (``loglike``, only the LRT needs them) are computed on request.
    """
    n, m = y.shape
    nf = np.broadcast_to(sf, (n, m))
    p = x.shape[1]
    lam_log2 = np.full(p, 1e-6)
    lam = lam_log2 / math.log(2.0) ** 2
    beta0 = _beta_init(norm, x)
    fit = fit_nb_glm(y, x, nf, alpha, beta0, lam, contrast=contrast, tol=1e-8, maxit=100, minmu=_MINMU)
    beta = fit["beta"]
    mu = beta @ x.T
    np.exp(mu, out=mu)
    mu *= nf
    stable = ~np.isnan(beta).any(axis=1)
    var_pos = (fit["beta_var"] > 0).all(axis=1)
    conv = fit["iter"] < 100
    beta_log2 = _LOG2E * beta
    se_log2 = _LOG2E * np.sqrt(np.maximum(np.nan_to_num(fit["beta_var"], nan=0.0), 0.0))
    c_est = _LOG2E * fit["contrast"]
    c_se = _LOG2E * fit["contrast_se"]
    ll = nb_log_likelihood(y, mu, alpha) if loglike else np.full(n, np.nan)
    rows = np.flatnonzero(~conv | ~stable | ~var_pos)
    for i in rows:
        start = beta_log2[i] if stable[i] and np.all(np.abs(beta_log2[i]) < 30) else beta0[i]
        b, se, ok, mu_i, ll_i, ce, cse = _optim_row(y[i], x, sf, alpha[i], start, lam_log2, lam, contrast)
        beta_log2[i], se_log2[i], mu[i], ll[i] = b, se, mu_i, ll_i
        c_est[i], c_se[i] = ce, cse
        conv[i] = conv[i] or ok
    return {
        "beta": beta_log2,
        "se": se_log2,
        "mu": mu,
        "hat": fit["hat"],
        "loglike": ll,
        "conv": conv,
        "contrast": c_est,
        "contrast_se": c_se,
    }


def _optim_row(
    k: np.ndarray,
    x: np.ndarray,
    sf: np.ndarray,
    alpha: float,
    start: np.ndarray,
    lam_log2: np.ndarray,
    lam: np.ndarray,
    contrast: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray, float, float, float]:
    from scipy.optimize import minimize

    size = 1.0 / alpha
    sd = np.sqrt(1.0 / lam_log2)

    def objective(p: np.ndarray) -> float:
        mu = sf * 2.0 ** (x @ p)
        ll = float(nb_log_likelihood(k[None, :], mu[None, :], np.array([alpha]))[0])
        prior = float(np.sum(-0.5 * (p / sd) ** 2 - np.log(sd) - 0.5 * math.log(2.0 * math.pi)))
        v = -(ll + prior)
        return v if math.isfinite(v) else 1e300

    res = minimize(
        objective, np.asarray(start, dtype=np.float64), method="L-BFGS-B", bounds=[(-30.0, 30.0)] * len(start)
    )
    b = res.x
    mu_raw = sf * 2.0 ** (x @ b)
    mu_c = np.maximum(mu_raw, _MINMU)
    w = 1.0 / (1.0 / mu_c + alpha)
    xtwx = x.T @ (x * w[:, None])
    inv = np.linalg.inv(xtwx + np.diag(lam))
    sigma = inv @ xtwx @ inv
    se = _LOG2E * np.sqrt(np.maximum(np.diag(sigma), 0.0))
    ll = float(nb_log_likelihood(k[None, :], mu_c[None, :], np.array([size]) ** -1)[0])
    if contrast is None:
        ce, cse = math.nan, math.nan
    else:
        ce = float(contrast @ b)
        cse = _LOG2E * math.sqrt(max(float(contrast @ sigma @ contrast), 0.0))
    return b, se, bool(res.success), mu_raw, ll, ce, cse


def _gene_means(y: np.ndarray, sf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    norm = y / sf
    base_mean = norm.mean(axis=1)
    base_var = norm.var(axis=1, ddof=1)
    all_zero = y.sum(axis=1) == 0
    return norm, base_mean, base_var, all_zero


def _rough_alpha(
    y_norm: np.ndarray, base_mean: np.ndarray, base_var: np.ndarray, model: _Model, lm: np.ndarray | None = None
) -> np.ndarray:
    """DESeq2's rough dispersion start; ``lm``: the linear model's fitted normalized counts, if already computed."""
    x = model.x
    m, p = x.shape
    mu = np.maximum(1.0, _linear_model_mu(y_norm, x) if lm is None else lm)
    rough = np.maximum((((y_norm - mu) ** 2 - mu) / mu**2).sum(axis=1) / (m - p), 0.0)
    xim = np.mean(1.0 / model.sf)
    moments = (base_var - xim * base_mean) / base_mean**2
    alpha = np.minimum(rough, moments)
    return np.minimum(np.maximum(_MIN_DISP, alpha), model.max_disp)


def _genewise_mu(
    y: np.ndarray, norm: np.ndarray, alpha_hat: np.ndarray | None, model: _Model, lm: np.ndarray | None = None
) -> np.ndarray:
    """The gene-wise step's fitted means: the linear model's (``lm`` if already computed) or the NB GLM's at
    ``alpha_hat`` (only needed then)."""
    if model.linear_mu:
        mu = (_linear_model_mu(norm, model.x) if lm is None else lm) * model.sf
    else:
        assert alpha_hat is not None
        mu = _fit_glm(y, model.x, model.sf, alpha_hat, norm, None)["mu"]
    return np.maximum(mu, _MINMU)


def _genewise_arrays(
    yz: np.ndarray, nzn: np.ndarray, base_mean: np.ndarray, base_var: np.ndarray, model: _Model
) -> tuple[np.ndarray, np.ndarray]:
    """Gene-wise dispersion estimates and the fitted means they used (non-zero genes only)."""
    lm = _linear_model_mu(nzn, model.x)
    alpha_hat = _rough_alpha(nzn, base_mean, base_var, model, lm)
    mu = _genewise_mu(yz, nzn, alpha_hat, model, lm)
    res = fit_nb_dispersion(
        yz, model.x, mu, np.log(alpha_hat), min_log_alpha=math.log(_MIN_DISP / 10), tol=1e-6, maxit=100
    )
    est = np.minimum(np.exp(res["log_alpha"]), model.max_disp)
    no_increase = res["last_lp"] < res["initial_lp"] + np.abs(res["initial_lp"]) / 1e6
    est[no_increase] = alpha_hat[no_increase]
    conv = (res["iter"] < 100) & (res["iter"] != 1)
    refit = ~conv & (est > _MIN_DISP * 10)
    if refit.any():
        est[refit] = fit_nb_dispersion_grid(yz[refit], model.x, mu[refit], max_disp=model.max_disp)
    return np.minimum(np.maximum(est, _MIN_DISP), model.max_disp), mu


def _genewise_kernel(chunk: Any, *, model: _Model) -> dict[str, np.ndarray]:
    """Pass 1 over a block: base means and gene-wise dispersion estimates."""
    y = _read(chunk)
    norm, base_mean, base_var, all_zero = _gene_means(y, model.sf)
    disp = np.full(y.shape[0], np.nan)
    nz = ~all_zero
    if nz.any():
        disp[nz], _ = _genewise_arrays(y[nz], norm[nz], base_mean[nz], base_var[nz], model)
    return {"base_mean": base_mean, "all_zero": all_zero, "disp_gene_est": disp}


@dataclass(frozen=True)
class _Prior:
    disp_prior_var: float
    var_log_disp_ests: float
    trend: tuple[float, ...]  # (a, b) of a + b / mean, or (mean,); () for a local fit
    local: LocalFit | None = None  # fit_type "local": locfit(log disp ~ log mean, weights = mean)

    def fit(self, base_mean: np.ndarray) -> np.ndarray:
        if self.local is not None:
            return np.exp(self.local.predict(np.log(base_mean)))
        if len(self.trend) == 2:
            return self.trend[0] + self.trend[1] / base_mean
        return np.full(base_mean.shape, self.trend[0])


def _trimmed_mean(x: np.ndarray, trim: float) -> np.ndarray:
    """R's ``mean(x, trim=)`` along the last axis."""
    n = x.shape[-1]
    if trim >= 0.5:
        return np.median(x, axis=-1)
    lo = math.floor(n * trim)
    s = np.sort(x, axis=-1)[..., lo : n - lo]
    return s.mean(axis=-1)


def _robust_moments_disp(norm: np.ndarray, model: _Model) -> np.ndarray:
    codes = model.cell_codes
    if model.cells3.any():
        cells = np.unique(codes[model.cells3])
        var = np.full((norm.shape[0], len(cells)), -np.inf)
        for k, c in enumerate(cells):
            cols = norm[:, codes == c]
            n = cols.shape[1]
            tr, scale = (1 / 3, 2.04) if n <= 3.5 else ((1 / 4, 1.86) if n <= 23.5 else (1 / 8, 1.51))
            cm = _trimmed_mean(cols, tr)
            var[:, k] = scale * _trimmed_mean((cols - cm[:, None]) ** 2, tr)
        v = var.max(axis=1)
    else:
        rm = _trimmed_mean(norm, 1 / 8)
        v = 1.51 * _trimmed_mean((norm - rm[:, None]) ** 2, 1 / 8)
    mean = norm.mean(axis=1)
    return np.maximum((v - mean) / mean**2, 0.04)


def _map_dispersion(
    yz: np.ndarray, mu: np.ndarray, dge: np.ndarray, dfit: np.ndarray, model: _Model, prior: _Prior
) -> np.ndarray:
    """MAP dispersions (DESeq2's estimateDispersionsMAP) from the gene-wise step's means."""
    init = np.where(dge > 0.1 * dfit, dge, dfit)
    init = np.where(np.isnan(init), dfit, init)
    res = fit_nb_dispersion(
        yz,
        model.x,
        mu,
        np.log(init),
        prior_mean=np.log(dfit),
        prior_var=prior.disp_prior_var,
        min_log_alpha=math.log(_MIN_DISP / 10),
        tol=1e-6,
        maxit=100,
    )
    disp = np.exp(res["log_alpha"])
    refit = ~(res["iter"] < 100)
    if refit.any():
        disp[refit] = fit_nb_dispersion_grid(
            yz[refit],
            model.x,
            mu[refit],
            max_disp=model.max_disp,
            prior_mean=np.log(dfit[refit]),
            prior_var=prior.disp_prior_var,
        )
    disp = np.minimum(np.maximum(disp, _MIN_DISP), model.max_disp)
    outlier = np.log(dge) > np.log(dfit) + 2.0 * math.sqrt(prior.var_log_disp_ests)
    outlier &= ~np.isnan(outlier)
    disp[outlier] = dge[outlier]
    return disp


def _fit_and_test(yz: np.ndarray, nzn: np.ndarray, disp: np.ndarray, mu_gw: np.ndarray, model: _Model) -> dict:
    """GLM fit, contrast, Wald (and LRT) tests and Cook's distances of non-zero genes."""
    x = model.x
    p = x.shape[1]
    full = _fit_glm(yz, x, model.sf, disp, nzn, model.contrast, loglike=model.x_reduced is not None)
    lfc, se = full["contrast"], full["contrast_se"]
    stat = lfc / se
    pval = 2.0 * special.ndtr(-np.abs(stat))
    # Cook's distances; DESeq2's LRT uses the means of the gene-wise dispersion step here
    rdisp = _robust_moments_disp(nzn, model)
    mu_f = mu_gw if model.x_reduced is not None else full["mu"]
    h = full["hat"]
    cooks = (yz - mu_f) ** 2 / (mu_f + rdisp[:, None] * mu_f**2) / p * h / (1.0 - h) ** 2
    # contrast levels all zero
    cz = (yz[:, model.contrast_samples] == 0).all(axis=1)
    out = {
        "lfc": np.where(cz, 0.0, lfc),
        "lfc_se": se,
        "stat": np.where(cz, 0.0, stat),
        "pvalue": np.where(cz, 1.0, pval),
        "cooks": cooks,
        "conv": full["conv"],
        "lrt_stat": np.full(yz.shape[0], np.nan),
        "lrt_pvalue": np.full(yz.shape[0], np.nan),
    }
    if model.x_reduced is not None:
        if model.x_reduced.shape[1] == 1 and np.all(model.x_reduced == 1):
            mu_r = np.broadcast_to(model.sf, yz.shape) * 2.0 ** np.log2(nzn.mean(axis=1))[:, None]
            ll_r = nb_log_likelihood(yz, mu_r, disp)
        else:
            ll_r = _fit_glm(yz, model.x_reduced, model.sf, disp, nzn, None, loglike=True)["loglike"]
        lrt = 2.0 * (full["loglike"] - ll_r)
        df = x.shape[1] - model.x_reduced.shape[1]
        out["lrt_stat"] = lrt
        out["lrt_pvalue"] = special.chdtrc(df, np.maximum(lrt, 0.0))  # R: pchisq(x < 0) = 1
    return out


_RESULT_KEYS = ("lfc", "lfc_se", "stat", "pvalue", "lrt_stat", "lrt_pvalue")


def _replace_outliers(
    yz: np.ndarray, nzn: np.ndarray, res: dict, dge: np.ndarray, dfit: np.ndarray, disp: np.ndarray, model: _Model,
    prior: _Prior,
) -> dict[str, np.ndarray]:  # fmt: skip
    """DESeq2's replaceOutliers + refitWithoutOutliers for the genes of a block.

    Counts with a Cook's distance above the cutoff, in samples of cells with enough
    replicates, are replaced by the 20 %-trimmed mean of normalized counts times the
    size factor; every gene with such a distance (in any sample) is refitted.
    """
    over = res["cooks"] > model.cooks_cutoff
    rows = np.flatnonzero(over.any(axis=1))
    base_mean = nzn.mean(axis=1)
    new = {"base_mean": base_mean, "disp_gene_est": dge.copy(), "disp_fit": dfit.copy(), "dispersion": disp.copy()}
    new |= {k: res[k].copy() for k in _RESULT_KEYS}
    new["conv"] = res["conv"].copy()
    new["replaced"] = np.zeros(yz.shape[0], dtype=bool)
    if rows.size == 0:
        return new
    trim = _trimmed_mean(nzn[rows], 0.2)
    replacement = np.trunc(trim[:, None] * model.sf[None, :])
    y2 = yz[rows].copy()
    mask = over[rows] & model.replaceable[None, :]
    y2[mask] = replacement[mask]
    n2, bm2, bv2, zero2 = _gene_means(y2, model.sf)
    new["replaced"][rows] = True
    new["base_mean"][rows] = bm2
    for k in (*_RESULT_KEYS, "disp_gene_est", "disp_fit", "dispersion"):
        new[k][rows[zero2]] = np.nan
    keep = ~zero2
    if keep.any():
        r = rows[keep]
        yk, nk = y2[keep], n2[keep]
        dge2, mu2 = _genewise_arrays(yk, nk, bm2[keep], bv2[keep], model)
        dfit2 = prior.fit(bm2[keep])
        disp2 = _map_dispersion(yk, mu2, dge2, dfit2, model, prior)
        res2 = _fit_and_test(yk, nk, disp2, mu2, model)
        new["disp_gene_est"][r], new["disp_fit"][r], new["dispersion"][r] = dge2, dfit2, disp2
        for k in _RESULT_KEYS:
            new[k][r] = res2[k]
        new["conv"][r] = res2["conv"]
    return new


def _test_kernel(item: tuple[Any, np.ndarray, np.ndarray], *, model: _Model, prior: _Prior) -> dict[str, np.ndarray]:
    """Pass 2 over a block: MAP dispersions, GLM fits, Wald/LRT, Cook's distances (and outlier refits)."""
    chunk, disp_gene_est, disp_fit = item
    y = _read(chunk)
    n, m = y.shape
    norm, base_mean, base_var, all_zero = _gene_means(y, model.sf)
    out = {k: np.full(n, np.nan) for k in ("dispersion", "max_cooks", *_RESULT_KEYS)}
    out["base_mean"] = base_mean
    out["disp_gene_est"] = disp_gene_est.copy()
    out["disp_fit"] = disp_fit.copy()
    out["dont_filter"] = np.zeros(n, dtype=bool)
    out["conv"] = np.ones(n, dtype=bool)
    out["replaced"] = np.zeros(n, dtype=bool)
    nz = ~all_zero
    if not nz.any():
        return out
    yz, nzn = y[nz], norm[nz]
    dge, dfit = disp_gene_est[nz], disp_fit[nz]
    rough = None if model.linear_mu else _rough_alpha(nzn, base_mean[nz], base_var[nz], model)
    mu = _genewise_mu(yz, nzn, rough, model)
    disp = _map_dispersion(yz, mu, dge, dfit, model, prior)
    res = _fit_and_test(yz, nzn, disp, mu, model)
    cooks = res["cooks"]
    worst = np.argmax(cooks, axis=1)
    out_count = yz[np.arange(yz.shape[0]), worst]
    out["dont_filter"][nz] = (yz > out_count[:, None]).sum(axis=1) >= 3
    p = model.x.shape[1]
    out["max_cooks_replaced"] = np.full(n, np.nan)
    if m > p and model.cells3.any():
        out["max_cooks"][nz] = cooks[:, model.cells3].max(axis=1)
    if model.replaceable.any():
        new = _replace_outliers(yz, nzn, res, dge, dfit, disp, model, prior)
        for k in ("base_mean", "disp_gene_est", "disp_fit", "conv", "replaced"):
            out[k][nz] = new[k]
        disp = new["dispersion"]
        res = {**res, **{k: new[k] for k in _RESULT_KEYS}}
        # DESeq2 after a refit: Cook's distances of replaceable samples no longer count
        if not model.replaceable.all() and m > p and model.cells3.any():
            masked = cooks.copy()
            masked[:, model.replaceable] = 0.0
            out["max_cooks_replaced"][nz] = masked[:, model.cells3].max(axis=1)
    out["dispersion"][nz] = disp
    for k in _RESULT_KEYS:
        out[k][nz] = res[k]
    if out["replaced"].any():  # DESeq2's results(): genes all zero after replacement
        now_zero = out["replaced"] & (out["base_mean"] == 0)
        out["lfc"][now_zero] = 0.0
        out["lfc_se"][now_zero] = 0.0
        out["stat"][now_zero] = 0.0
        out["pvalue"][now_zero] = 1.0
        out["lrt_stat"][now_zero] = 0.0
        out["lrt_pvalue"][now_zero] = 1.0
    return out


# ------------------------------------------------------------------ global steps
def _glm_gamma_identity(x: np.ndarray, y: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, bool]:
    """R's ``glm(y ~ x, family = Gamma("identity"), start = start)`` (IRLS of ``glm.fit``)."""

    def dev_of(mu: np.ndarray) -> float:
        return float(np.sum(-2.0 * (np.log(np.where(y == 0, 1.0, y / mu)) - (y - mu) / mu)))

    coef = start.astype(np.float64).copy()
    coefold = coef.copy()
    eta = x @ coef
    mu = eta
    if not (np.all(np.isfinite(mu)) and np.all(mu > 0)):
        raise _FitFailed("cannot find valid starting values")
    devold = dev_of(mu)
    for _ in range(25):
        w = 1.0 / mu
        z = eta + (y - mu)
        coef, *_ = np.linalg.lstsq(x * w[:, None], z * w, rcond=None)
        eta = x @ coef
        mu = eta
        dev = dev_of(mu) if np.all(mu > 0) else math.inf
        halvings = 0
        while not (np.all(np.isfinite(mu)) and np.all(mu > 0)) or not math.isfinite(dev):
            halvings += 1
            if halvings > 25:
                raise _FitFailed("inner loop; cannot correct step size")
            coef = (coef + coefold) / 2.0
            eta = x @ coef
            mu = eta
            dev = dev_of(mu) if np.all(mu > 0) else math.inf
        if abs(dev - devold) / (abs(dev) + 0.1) < 1e-8:
            return coef, True
        devold = dev
        coefold = coef.copy()
    return coef, False


class _FitFailed(Exception):
    pass


def _parametric_trend(means: np.ndarray, disps: np.ndarray) -> np.ndarray:
    coefs = np.array([0.1, 1.0])
    it = 0
    while True:
        residuals = disps / (coefs[0] + coefs[1] / means)
        good = (residuals > 1e-4) & (residuals < 15)
        x = np.column_stack([np.ones(good.sum()), 1.0 / means[good]])
        old = coefs
        coefs, converged = _glm_gamma_identity(x, disps[good], coefs)
        if not np.all(coefs > 0):
            raise _FitFailed("parametric dispersion fit failed")
        if np.sum(np.log(coefs / old) ** 2) < 1e-6 and converged:
            return coefs
        it += 1
        if it > 10:
            raise _FitFailed("dispersion fit did not converge")


def _mad(x: np.ndarray) -> float:
    med = np.median(x)
    return 1.4826 * float(np.median(np.abs(x - med)))


def _prior_variance(residuals: np.ndarray, var_log: float, m: int, p: int) -> float:
    if m - p > 3:
        return max(var_log - float(special.polygamma(1, (m - p) / 2)), 0.25)
    # 1-3 residual degrees of freedom: DESeq2 matches the residual distribution by
    # simulation (R's RNG and loess); here the same matching with numpy's RNG, without
    # the loess smoothing, so the value is close to DESeq2's but not identical.
    rng = np.random.default_rng(2)
    brks = np.arange(-20, 21) / 2
    obs = residuals[(residuals > brks[0]) & (residuals < brks[-1])]
    obs_d, _ = np.histogram(obs, bins=brks, density=True)
    grid = np.linspace(0, 8, 200)
    kl = np.empty(grid.size)
    for i, v in enumerate(grid):
        r = np.log(rng.chisquare(m - p, 10_000)) + rng.normal(0, math.sqrt(v), 10_000) - math.log(m - p)
        r = r[(r > brks[0]) & (r < brks[-1])]
        rd, _ = np.histogram(r, bins=brks, density=True)
        z = np.concatenate([obs_d, rd])
        small = z[z > 0].min()
        kl[i] = np.sum(obs_d * (np.log(obs_d + small) - np.log(rd + small)))
    return max(float(grid[int(np.argmin(kl))]), 0.25)


def _independent_filtering(base_mean: np.ndarray, pvalue: np.ndarray, alpha: float) -> np.ndarray:
    """DESeq2's ``pvalueAdjustment`` with ``filter = baseMean`` and BH."""
    lower = float(np.mean(base_mean == 0))
    upper = 0.95 if lower < 0.95 else 1.0
    theta = np.linspace(lower, upper, 50)
    cutoffs = np.quantile(base_mean, theta)
    padj = np.full((base_mean.size, theta.size), np.nan)
    for i, c in enumerate(cutoffs):
        use = base_mean >= c
        if use.any():
            padj[use, i] = p_adjust_bh(pvalue[use])
    num_rej = np.sum(np.nan_to_num(padj, nan=1.0) < alpha, axis=0)
    if num_rej.max() <= 10:
        j = 0
    else:
        _, fit = lowess(theta, num_rej.astype(np.float64), f=1 / 5)
        residual = num_rej[num_rej > 0] - fit[num_rej > 0] if np.any(num_rej > 0) else np.zeros(1)
        max_fit = fit.max()
        thresh = max_fit - math.sqrt(float(np.mean(residual**2)))
        if np.any(num_rej > thresh):
            j = int(np.flatnonzero(num_rej > thresh)[0])
        elif np.any(num_rej > 0.9 * max_fit):
            j = int(np.flatnonzero(num_rej > 0.9 * max_fit)[0])
        elif np.any(num_rej > 0.8 * max_fit):
            j = int(np.flatnonzero(num_rej > 0.8 * max_fit)[0])
        else:
            j = 0
    return padj[:, j]


def _cells(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, codes, counts = np.unique(x, axis=0, return_inverse=True, return_counts=True)
    codes = codes.ravel()
    return codes, counts[codes]


@dataclass
class DEResult:
    """A DE result: the table and what the analysis estimated on the way."""

    table: pd.DataFrame
    """Columns :data:`RESULT_COLUMNS` (one row per gene, input order)."""
    size_factors: np.ndarray
    dispersions: pd.DataFrame
    """Per gene: ``gene base_mean disp_gene_est disp_fit dispersion max_cooks``."""
    trend: dict[str, Any]
    """``fit_type``, the coefficients (parametric) or mean, ``disp_prior_var``, ``var_log_disp_ests``."""
    samples: list[str]


def _run(
    chunks: Sequence[Any],
    genes: np.ndarray,
    sample_ids: list[str],
    samples: pd.DataFrame,
    *,
    design: str,
    contrast: Sequence[str],
    reduced: str | None,
    size_factor_kind: str,
    fit_type: str,
    alpha: float,
    min_replicates_for_replace: float,
    scheduler: Any,
    progress: Progress,
    sample_col: str,
    samples_file: str,
) -> DEResult:
    check_param(
        "deseq2", "size_factors", size_factor_kind, size_factor_kind in ("ratio", "poscounts"), "'ratio' or 'poscounts'"
    )
    check_param(
        "deseq2", "fit_type", fit_type, fit_type in ("parametric", "local", "mean"), "'parametric', 'local' or 'mean'"
    )
    check_param("deseq2", "alpha", alpha, isinstance(alpha, float | int) and 0 < alpha < 1, "a number in (0, 1)")
    check_param(
        "deseq2",
        "contrast",
        contrast,
        isinstance(contrast, Sequence) and not isinstance(contrast, str) and len(contrast) == 3,
        "three strings: factor, numerator level, denominator level",
    )
    table = align_samples(samples, sample_ids, col=sample_col, file=samples_file)
    factors = parse_design(design)
    if not factors:
        raise InputError("the design must have at least one factor", file="--design")
    d = model_matrix(table, factors, file=samples_file)
    m, p = d.matrix.shape
    check_full_rank(d, option="--design")
    if m <= p:
        raise InputError(f"{m} samples for {p} coefficients: no replicates to estimate the dispersion", file="--design")
    c_factor, c_num, c_den = (str(v) for v in contrast)
    if c_factor not in d.factors:
        raise InputError(f"contrast factor {c_factor!r} is not in the design {design!r}", file="--contrast")
    for level in (c_num, c_den):
        if level not in d.levels[c_factor]:
            raise InputError(
                f"{level!r} is not a level of {c_factor!r} (levels: {', '.join(d.levels[c_factor])})",
                file="--contrast",
            )
    if c_num == c_den:
        raise InputError("the contrast's two levels are the same", file="--contrast")
    cvec = np.zeros(p)
    for level, sign in ((c_num, 1.0), (c_den, -1.0)):
        col = d.column_of(c_factor, level)
        if col is not None:
            cvec[col] = sign
    x_red = None
    if reduced is not None:
        rf = parse_design(reduced, option="--reduced")
        missing = [f for f in rf if f not in factors]
        if missing:
            raise InputError(f"reduced-model factors not in the design: {', '.join(missing)}", file="--reduced")
        if len(rf) >= len(factors):
            raise InputError("the reduced design must drop at least one factor of the design", file="--reduced")
        x_red = model_matrix(table, rf, levels=d.levels, file=samples_file).matrix
    check_param(
        "deseq2",
        "min_replicates_for_replace",
        min_replicates_for_replace,
        isinstance(min_replicates_for_replace, int | float) and min_replicates_for_replace >= 3,
        "a number >= 3 (inf: never replace)",
    )
    codes, per_cell = _cells(d.matrix)
    linear_mu = len(np.unique(codes)) == p
    contrast_samples = np.isin(d.values[c_factor], [c_num, c_den])
    n_genes = len(genes)
    # the blocks already keep both cores busy: BLAS threads inside them only spin (about 15 % more CPU time)
    with get_backend(scheduler) as backend, threadpool_limits(1, user_api="blas"):
        with progress.task("Size factors", total=len(chunks)) as task:
            parts = []
            for part in backend.map(_sf_kernel, chunks, kind=size_factor_kind):
                parts.append(part)
                task.advance()
        sf = _combine_size_factors(parts, size_factor_kind)
        del parts
        model = _Model(
            x=d.matrix,
            x_reduced=x_red,
            sf=sf,
            linear_mu=linear_mu,
            max_disp=float(max(10, m)),
            contrast=cvec,
            contrast_samples=contrast_samples,
            cells3=per_cell >= 3,
            cell_codes=codes,
            replaceable=per_cell >= min_replicates_for_replace,
            cooks_cutoff=float(special.fdtri(p, m - p, 0.99)),
        )
        with progress.task("Gene-wise dispersions", total=len(chunks)) as task:
            pass1 = []
            for res in backend.map(_genewise_kernel, chunks, model=model):
                pass1.append(res)
                task.advance()
        base_mean = np.concatenate([r["base_mean"] for r in pass1])
        all_zero = np.concatenate([r["all_zero"] for r in pass1])
        dge = np.concatenate([r["disp_gene_est"] for r in pass1])
        if all_zero.all():
            raise InputError("every gene has only zero counts", file="counts")
        nz = ~all_zero
        use = dge[nz] > 100 * _MIN_DISP
        if not use.any():
            raise InputError(
                "all gene-wise dispersion estimates are within 2 orders of magnitude of the minimum: no trend can be"
                " fitted",
                file="counts",
            )
        trend: dict[str, Any] = {"fit_type": fit_type}
        trend_params: tuple[float, ...] = ()
        local_fit: LocalFit | None = None
        fitted = fit_type
        if fit_type == "parametric":
            try:
                coefs = _parametric_trend(base_mean[nz][use], dge[nz][use])
            except _FitFailed as exc:
                # DESeq2 substitutes the local regression fit, with a note
                fitted = "local"
                trend["note"] = (
                    f"fitType='parametric', but the dispersion trend was not well captured by a + b/mean ({exc});"
                    " a local regression fit was substituted, as DESeq2 does"
                )
            else:
                trend["coefficients"] = coefs.tolist()
                trend_params = (float(coefs[0]), float(coefs[1]))
                dfit_nz = coefs[0] + coefs[1] / base_mean[nz]
        if fitted == "local":
            means_fit, disps_fit = base_mean[nz][use], dge[nz][use]
            if np.all(disps_fit < _MIN_DISP * 10):
                trend_params = (_MIN_DISP,)
                dfit_nz = np.full(nz.sum(), _MIN_DISP)
            else:
                keep = disps_fit >= _MIN_DISP * 10
                local_fit = locfit_1d(np.log(means_fit[keep]), np.log(disps_fit[keep]), weights=means_fit[keep])
                dfit_nz = np.exp(local_fit.predict(np.log(base_mean[nz])))
            trend["fit_type"] = "local"
        elif fitted == "mean":
            g = dge[nz]
            mean_disp = float(_r_trimmed_mean_1d(g[g > 10 * _MIN_DISP], 0.001))
            trend["mean"] = mean_disp
            trend_params = (mean_disp,)
            dfit_nz = np.full(nz.sum(), mean_disp)
        dfit = np.full(n_genes, np.nan)
        dfit[nz] = dfit_nz
        above = dge[nz] >= _MIN_DISP * 100
        resid = np.log(dge[nz]) - np.log(dfit_nz)
        var_log = _mad(resid[above]) ** 2
        prior_var = _prior_variance(resid[above], var_log, m, p)
        trend["disp_prior_var"] = prior_var
        trend["var_log_disp_ests"] = var_log
        prior = _Prior(prior_var, var_log, trend_params, local_fit)
        items = []
        start = 0
        for ch, r in zip(chunks, pass1, strict=True):
            stop = start + r["base_mean"].size
            items.append((ch, dge[start:stop], dfit[start:stop]))
            start = stop
        with progress.task("Testing", total=len(items)) as task:
            pass2 = []
            for res in backend.map(_test_kernel, items, model=model, prior=prior):
                pass2.append(res)
                task.advance()
    cat = {k: np.concatenate([r[k] for r in pass2]) for k in pass2[0]}
    pvalue = cat["lrt_pvalue"] if x_red is not None else cat["pvalue"]
    stat = cat["lrt_stat"] if x_red is not None else cat["stat"]
    pvalue = pvalue.copy()
    cutoff = float(special.fdtri(p, m - p, 0.99))
    max_cooks = cat["max_cooks"]
    refitted = cat["replaced"] & (cat["base_mean"] > 0)
    if refitted.any():  # DESeq2 refitted genes without their outliers (refitWithoutOutliers)
        max_cooks = cat["max_cooks_replaced"]
    base_mean = cat["base_mean"]
    outlier = np.nan_to_num(max_cooks, nan=-np.inf) > cutoff
    if len(factors) == 1 and len(d.levels[factors[0]]) == 2:
        outlier &= ~cat["dont_filter"]
    pvalue[outlier] = np.nan
    padj = _independent_filtering(base_mean, pvalue, float(alpha))
    result = pd.DataFrame(
        {
            "gene": genes,
            "base_mean": base_mean,
            "log2_fold_change": cat["lfc"],
            "lfc_se": cat["lfc_se"],
            "stat": stat,
            "pvalue": pvalue,
            "padj": padj,
        }
    )
    disp = pd.DataFrame(
        {
            "gene": genes,
            "base_mean": base_mean,
            "disp_gene_est": cat["disp_gene_est"],
            "disp_fit": cat["disp_fit"],
            "dispersion": cat["dispersion"],
            "max_cooks": max_cooks,
        }
    )
    return DEResult(result, sf, disp, trend, list(sample_ids))


def _r_trimmed_mean_1d(x: np.ndarray, trim: float) -> float:
    n = x.size
    lo = math.floor(n * trim)
    return float(np.sort(x)[lo : n - lo].mean())


def deseq2(
    counts: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    design: str,
    contrast: Sequence[str],
    reduced: str | None = None,
    size_factors: str = "ratio",
    fit_type: str = "parametric",
    alpha: float = 0.1,
    min_replicates_for_replace: float = 7,
    sample_col: str = "sample",
    chunk_genes: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
    details: bool = False,
) -> Any:
    """Differential expression of a count matrix by DESeq2's method (see the module docstring).

    Parameters
    ----------
    counts
        Counts, genes × samples: the index holds gene ids, the columns sample ids.
    samples
        One row per sample: the ``sample_col`` column matches the count columns, and
        the design's factors are columns (read as text).
    design
        Formula, e.g. ``"~ batch + condition"``.
    contrast
        ``(factor, numerator level, denominator level)``: the log2 fold change is
        numerator over denominator, whatever the order of the levels.
    reduced
        Reduced formula for a likelihood-ratio test (``stat``/``pvalue`` are then the
        LRT's; the fold change is still the contrast's).
    size_factors
        ``"ratio"`` (median of ratios) or ``"poscounts"``.
    fit_type
        Dispersion trend: ``"parametric"`` (DESeq2's ``a + b / mean``; the local fit is
        substituted when it cannot be fitted, as DESeq2 does), ``"local"`` (R ``locfit`` of
        log dispersion on log mean weighted by the mean, :mod:`biolake.stats.locfit`) or
        ``"mean"``.
    alpha
        FDR level that independent filtering optimises for.
    min_replicates_for_replace
        Outlier counts in design cells with at least this many replicates are replaced
        and their genes refitted (DESeq2's ``minReplicatesForReplace``); ``float("inf")``
        never replaces (outliers then only get a p-value of NA).
    sample_col
        Sample id column of ``samples``.
    chunk_genes
        Genes per block (default: a 16th of the genes, at least 256 and at most 4,096); the result does not depend on
        it.
    scheduler
        Backend: ``"threads"`` (default), ``"processes"``, ``"synchronous"``, a Dask
        scheduler address or a ``distributed.Client``.
    progress
        Progress reporter.
    details
        Return a :class:`DEResult` (size factors, dispersions, trend) instead of the table.

    Returns
    -------
    pandas.DataFrame or DEResult
        Columns ``gene base_mean log2_fold_change lfc_se stat pvalue padj``.

    Raises
    ------
    InputError
        For a malformed design or contrast, mismatched samples, a rank-deficient design,
        negative or non-integer counts.
    """
    check_param("deseq2", "counts", type(counts).__name__, isinstance(counts, pd.DataFrame), "a pandas DataFrame")
    check_param("deseq2", "samples", type(samples).__name__, isinstance(samples, pd.DataFrame), "a pandas DataFrame")
    check_param(
        "deseq2",
        "chunk_genes",
        chunk_genes,
        chunk_genes is None or (isinstance(chunk_genes, int) and chunk_genes > 0),
        "a positive integer or None",
    )
    y = counts.to_numpy()
    if y.dtype.kind not in "iuf" or (y.size and (np.any(y < 0) or np.any(y != np.round(y)))):
        raise InputError("counts must be non-negative integers", file="counts")
    y = y.astype(np.float64)
    step = chunk_genes or _block_rows(y.shape[0], _DEFAULT_CHUNK)
    chunks = [_MemoryChunk(y[s : s + step]) for s in range(0, y.shape[0], step)]
    res = _run(
        chunks,
        counts.index.astype(str).to_numpy(),
        [str(c) for c in counts.columns],
        samples,
        design=design,
        contrast=contrast,
        reduced=reduced,
        size_factor_kind=size_factors,
        fit_type=fit_type,
        alpha=alpha,
        min_replicates_for_replace=min_replicates_for_replace,
        scheduler=scheduler,
        progress=progress or NullProgress(),
        sample_col=sample_col,
        samples_file="samples",
    )
    return res if details else res.table


def _block_rows(n_genes: int, most: int) -> int:
    """Genes per block: a 16th of the genes (at least 256, at most ``most``), so every core stays busy to the end."""
    return max(1, min(most, max(256, -(-n_genes // 16))))


def de_job(
    lake: Lake,
    counts: str,
    *,
    samples: str | os.PathLike[str],
    design: str,
    contrast: Sequence[str],
    out: str | os.PathLike[str],
    reduced: str | None = None,
    size_factors: str = "ratio",
    fit_type: str = "parametric",
    alpha: float = 0.1,
    min_replicates_for_replace: float = 7,
    sample_col: str = "sample",
    chunk_genes: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> tuple[str, DEResult]:
    """``biolake genomics de``: DESeq2's analysis of a lake count matrix, as a run.

    Parameters
    ----------
    lake
        The lake.
    counts
        ``lake:NAME`` (or ``NAME``) of a count matrix ingested by
        :func:`biolake.io.counts.ingest_counts`.
    samples
        Samples table file (CSV, or TSV for other extensions).
    out
        Result file (.parquet, .csv, .tsv); also registered in the lake. The
        dispersions go to dataset ``<result>_dispersions``.
    design, contrast, reduced, size_factors, fit_type, alpha, min_replicates_for_replace, sample_col, chunk_genes,
    scheduler, progress
        As for :func:`deseq2`.

    Returns
    -------
    tuple
        The run id and the :class:`DEResult`.
    """
    from biolake.io.counts import COUNTS_ENCODING, open_counts

    store = open_counts(lake, counts)
    table = read_samples(samples)
    params = {
        "counts": counts,
        "samples": str(samples),
        "design": design,
        "contrast": list(contrast),
        "reduced": reduced,
        "size_factors": size_factors,
        "fit_type": fit_type,
        "alpha": alpha,
        "min_replicates_for_replace": min_replicates_for_replace,
        "sample_col": sample_col,
        "out": str(out),
        "test": "LRT" if reduced else "Wald",
        "encoding": COUNTS_ENCODING,
    }
    spec = counts if counts.startswith("lake:") else f"lake:{counts}"
    with lake.run("genomics de", params=params, inputs=[spec, str(samples)]) as run:
        run.hash_input(str(samples))
        step = chunk_genes or _block_rows(store.n_genes, store.chunk_rows)
        chunks = [
            ArrayChunk(store.path, "counts", s, min(s + step, store.n_genes)) for s in range(0, store.n_genes, step)
        ]
        res = _run(
            chunks,
            store.gene_id,
            store.sample_id,
            table,
            design=design,
            contrast=contrast,
            reduced=reduced,
            size_factor_kind=size_factors,
            fit_type=fit_type,
            alpha=alpha,
            min_replicates_for_replace=min_replicates_for_replace,
            scheduler=scheduler,
            progress=progress or NullProgress(),
            sample_col=sample_col,
            samples_file=str(samples),
        )
        name = run.result(res.table, out)
        run.table(f"{name}_dispersions", attrs={"role": "de-dispersions", **_jsonable(res.trend)}).write(
            res.dispersions
        )
        run.table(f"{name}_size_factors").write(pd.DataFrame({"sample": res.samples, "size_factor": res.size_factors}))
    return run.id, res


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in d.items()}


# ------------------------------------------------------------- VST and sample PCA
def variance_stabilizing_transform(norm: np.ndarray, trend: dict[str, Any]) -> np.ndarray:
    """DESeq2's ``varianceStabilizingTransformation(dds, blind = FALSE)`` of normalized counts.

    Parameters
    ----------
    norm
        Normalized counts (counts / size factors), genes × samples.
    trend
        :attr:`DEResult.trend` of the analysis: with a parametric trend ``a + b / mean`` the
        closed form ``log2((1 + b + 2aq + 2 sqrt(aq (1 + b + aq))) / (4a))``; with a mean
        trend ``(2 asinh(sqrt(alpha q)) - log(alpha) - log(4)) / log(2)``. A local trend has
        no closed form (DESeq2 integrates it numerically): there ``log2(q + 1)``
        (DESeq2's ``normTransform``) is returned instead.

    Returns
    -------
    numpy.ndarray
        Transformed values, same shape.

    Examples
    --------
    >>> trend = {"fit_type": "parametric", "coefficients": [0.05, 2.0]}
    >>> variance_stabilizing_transform(np.array([[0.0, 100.0]]), trend).round(4).tolist()
    [[3.9069, 7.0028]]
    """
    q = np.asarray(norm, dtype=np.float64)
    if trend.get("fit_type") == "parametric" and "coefficients" in trend:
        a0, a1 = (float(c) for c in trend["coefficients"])
        return np.log((1 + a1 + 2 * a0 * q + 2 * np.sqrt(a0 * q * (1 + a1 + a0 * q))) / (4 * a0)) / math.log(2.0)
    if trend.get("fit_type") == "mean" and "mean" in trend:
        alpha = float(trend["mean"])
        return (2 * np.arcsinh(np.sqrt(alpha * q)) - math.log(alpha) - math.log(4.0)) / math.log(2.0)
    return np.log2(q + 1.0)


def sample_pca(values: np.ndarray, samples: Sequence[str], *, ntop: int = 500) -> tuple[pd.DataFrame, np.ndarray]:
    """DESeq2's ``plotPCA``: PCA of the samples over the ``ntop`` genes of largest variance.

    Parameters
    ----------
    values
        Transformed values (e.g. :func:`variance_stabilizing_transform`), genes × samples.
    samples
        Sample ids (columns of ``values``).
    ntop
        Genes kept, by decreasing variance across samples (ties in input order, as R's ``order``).

    Returns
    -------
    tuple
        A table ``sample PC1 PC2`` (scores of the centred, unscaled PCA, as ``prcomp``; the
        sign of each component is arbitrary) and the percentage of variance of every component.
    """
    v = np.asarray(values, dtype=np.float64)
    check_param("sample_pca", "ntop", ntop, isinstance(ntop, int) and ntop > 0, "a positive integer")
    rv = v.var(axis=1, ddof=1)
    select = np.argsort(-rv, kind="stable")[: min(ntop, v.shape[0])]
    x = v[select].T
    x = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    scores = u * s
    var = s**2
    pct = 100 * var / var.sum() if var.sum() > 0 else np.zeros_like(var)
    k = scores.shape[1]
    table = pd.DataFrame(
        {
            "sample": list(samples),
            "PC1": scores[:, 0] if k > 0 else 0.0,
            "PC2": scores[:, 1] if k > 1 else 0.0,
        }
    )
    return table, pct
