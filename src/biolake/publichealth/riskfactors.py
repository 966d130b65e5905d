"""Which factors raise disease risk: Mantel–Haenszel and multivariable GLMs (as R epiR, glm, MASS).

:func:`risk_factors` reads a line list (one row per person) and reports, one row per term:

* with ``strata`` and a binary outcome, for every binary exposure (0/1, booleans, yes/no,
  …; other exposures get model rows only): the Mantel–Haenszel odds ratio and risk
  ratio over the strata (``epiR::epi.2by2``: ``OR.mh.wald``, ``RR.mh.wald``), ``p`` from
  the Cochran–Mantel–Haenszel test (``stats::mantelhaen.test(correct = FALSE)``), and the
  test of homogeneity across strata — Breslow–Day for the odds ratio (epiR's
  ``bOR.homog``, without Tarone's correction), Woolf for the risk ratio (``wRR.homog``);
* a multivariable GLM of the outcome on all exposures (and the strata as a factor):
  ``logistic`` (binary outcome; adjusted odds ratios, as R ``glm(family = binomial)``),
  ``poisson`` (counts with offset ``log(person_time)``; adjusted rate ratios, as
  ``glm(family = poisson)``) or ``negbin`` (as ``MASS::glm.nb``), fitted to full
  precision by :mod:`biolake.stats.glm`; ``estimate = exp(coef)``, Wald CI
  ``exp(coef ± z·se)`` (R ``confint.default``), ``p`` the Wald z-test (``summary.glm``).

Exposure columns may be numeric (one term, as R), boolean (term ``colTRUE``) or text
(a factor: one term ``colLEVEL`` per level but the first in code-point order, R's
treatment contrasts with ``factor(x, levels = sort(unique(x), method = "radix"))``). Rows
with a missing value in a used column are left out (R's ``na.omit``); ``n`` says how many
rows each analysis used.

Result columns (:data:`RISK_FACTOR_COLUMNS`): ``analysis term measure estimate ci_lower
ci_upper p coef se n homogeneity_test homogeneity_stat homogeneity_df homogeneity_p``;
``analysis`` is ``mantel-haenszel``, ``logistic``, ``poisson`` or ``negbin``; ``measure``
is ``odds_ratio``/``risk_ratio``/``rate_ratio`` (``odds``/``rate`` for the intercept);
``coef``/``se`` are on the log scale (for MH rows, the log estimate and its Wald SE).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from biolake.errors import InputError, check_param
from biolake.publichealth._epidata import as_binary, numeric_column, read_columns, spec_of
from biolake.publichealth._twobytwo import stratified_cells
from biolake.stats.epitables import mantel_haenszel
from biolake.stats.glm import GlmFit, glm_fit, glm_nb

__all__ = ["MODELS", "RISK_FACTOR_COLUMNS", "risk_factors", "risk_factors_job"]

MODELS = ("logistic", "poisson", "negbin")
RISK_FACTOR_COLUMNS = (
    "analysis",
    "term",
    "measure",
    "estimate",
    "ci_lower",
    "ci_upper",
    "p",
    "coef",
    "se",
    "n",
    "homogeneity_test",
    "homogeneity_stat",
    "homogeneity_df",
    "homogeneity_p",
)


def _design(
    df: pd.DataFrame, columns: list[str], source: str, factors: Sequence[str] = ()
) -> tuple[np.ndarray, list[str]]:
    """Model matrix with an intercept and R's term names (treatment contrasts for text/boolean columns)."""
    parts = [np.ones(len(df))]
    names = ["(Intercept)"]
    for col in columns:
        s = df[col]
        if s.dtype == bool:
            parts.append(s.to_numpy(dtype=np.float64))
            names.append(f"{col}TRUE")
        elif pd.api.types.is_numeric_dtype(s.dtype) and col not in factors:
            parts.append(s.to_numpy(dtype=np.float64))
            names.append(col)
        else:
            codes, uniques = pd.factorize(s, sort=False)
            if pd.api.types.is_numeric_dtype(s.dtype):  # a numeric factor: levels in numeric order, as R
                values = np.asarray(uniques, dtype=np.float64)
                whole = bool(np.all(values == np.floor(values)))
                labels = [str(int(v)) if whole else repr(float(v)) for v in values]
                order = np.argsort(values, kind="stable")
            else:  # text: levels in code-point order (R's sort(method = "radix"))
                labels = [str(v) for v in uniques]
                order = np.array(sorted(range(len(labels)), key=labels.__getitem__), dtype=np.int64)
            if len(labels) < 2:
                raise InputError(f"column {col!r} has only one value ({labels[0]!r}) in the rows used", file=source)
            for k in order[1:]:
                parts.append((codes == k).astype(np.float64))
                names.append(f"{col}{labels[int(k)]}")
    x = np.column_stack(parts)
    # R's glm.fit: a column whose QR diagonal is below 1e-7 (relative to its norm) is aliased
    norms = np.linalg.norm(x, axis=0)
    diag = np.abs(np.diag(np.linalg.qr(x / np.where(norms > 0, norms, 1.0), mode="r")))
    bad = np.flatnonzero((diag < 1e-7) | (norms == 0))
    if len(bad):
        raise InputError(
            f"term {names[int(bad[0])]!r} is collinear with the terms before it (R would report NA); drop or merge it",
            file=source,
        )
    return x, names


def _text_or_none(s: pd.Series) -> np.ndarray:
    """Values as text (None where missing), converting each distinct value once."""
    codes, uniques = pd.factorize(s)
    labels = np.array([str(v) for v in uniques] + [None], dtype=object)
    return labels[np.where(codes >= 0, codes, len(uniques))]


def _binary_or_none(s: pd.Series, col: str, source: str) -> np.ndarray | None:
    """The column as 0/1/NaN if it is binary (see :func:`as_binary`), else None."""
    try:
        return as_binary(s, col, source)
    except InputError:
        return None


def _glm_rows(fit: GlmFit, names: list[str], model: str, n: int, conf_level: float) -> list[dict[str, Any]]:
    z = float(stats.norm.ppf(0.5 * (1 + conf_level)))
    ratio = "odds_ratio" if model == "logistic" else "rate_ratio"
    base = "odds" if model == "logistic" else "rate"
    rows = []
    for j, name in enumerate(names):
        coef, se = float(fit.coef[j]), float(fit.se[j])
        rows.append(
            {
                "analysis": model,
                "term": name,
                "measure": base if j == 0 else ratio,
                "estimate": math.exp(coef),
                "ci_lower": math.exp(coef - z * se),
                "ci_upper": math.exp(coef + z * se),
                "p": float(fit.p[j]),
                "coef": coef,
                "se": se,
                "n": n,
            }
        )
    return rows


def risk_factors(
    data: Any,
    *,
    outcome: str,
    exposures: Sequence[str],
    strata: str | None = None,
    person_time: str | None = None,
    model: str | None = None,
    factors: Sequence[str] = (),
    conf_level: float = 0.95,
    lake: Any = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Mantel–Haenszel summaries (with ``strata``) and a multivariable GLM, one row per term.

    Parameters
    ----------
    data
        A DataFrame, a CSV/TSV/Parquet file or a lake table: one row per person (or per
        cohort cell with ``person_time`` for Poisson/negative-binomial models).
    outcome
        Binary (``logistic``, Mantel–Haenszel) or count (``poisson``, ``negbin``) column.
    exposures
        Exposure and covariate columns, all in the model together.
    strata
        Stratum column: Mantel–Haenszel over its values, and a factor in the model.
    person_time
        Person-time column (> 0): the offset ``log(person_time)``.
    model
        ``logistic`` (default without ``person_time``), ``poisson`` (default with it) or
        ``negbin``.
    factors
        Numeric exposure columns to treat as categorical (R's ``factor(col)``).
    conf_level
        Confidence level.
    lake
        The lake holding ``lake:NAME`` tables.

    Returns
    -------
    (pandas.DataFrame, dict)
        The rows (columns :data:`RISK_FACTOR_COLUMNS`) and facts of the fit (model,
        rows used, negative-binomial ``theta``, IRLS iterations).

    Examples
    --------
    >>> df = pd.DataFrame({"ill": [1, 0, 1, 1, 0, 0, 1, 0, 0, 1], "ate": [1, 1, 1, 1, 0, 0, 0, 0, 1, 0]})
    >>> res, info = risk_factors(df, outcome="ill", exposures=["ate"])
    >>> res[["term", "estimate"]].round(4).to_string(index=False)
    '       term  estimate\\n(Intercept)    0.6667\\n        ate    2.2500'
    """
    exposures = [exposures] if isinstance(exposures, str) else list(exposures)
    model = model or ("poisson" if person_time else "logistic")
    check_param("risk_factors", "model", model, model in MODELS, f"one of {', '.join(MODELS)}")
    check_param("risk_factors", "exposures", exposures, len(exposures) >= 1, "one or more column names")
    check_param("risk_factors", "conf_level", conf_level, 0 < conf_level < 1, "a number between 0 and 1")
    if model == "logistic" and person_time:
        raise InputError("--person-time is an offset of the poisson and negbin models, not of logistic regression")
    if outcome in exposures or (strata is not None and strata in exposures):
        raise InputError("the outcome and the strata cannot also be exposures")
    cols = [outcome, *exposures] + ([strata] if strata else []) + ([person_time] if person_time else [])
    df, source = read_columns(data, cols, lake=lake)
    used = df.dropna(subset=cols).reset_index(drop=True)
    if not len(used):
        raise InputError("no row without a missing value in the columns used", file=source)
    rows: list[dict[str, Any]] = []
    info: dict[str, Any] = {"model": model, "rows": len(df), "rows_used": len(used)}
    y_bin = _binary_or_none(df[outcome], outcome, source) if strata is not None else None
    if y_bin is not None:
        strat = _text_or_none(df[strata])
        for col in exposures:
            exposed = _binary_or_none(df[col], col, source)
            if exposed is None:  # MH needs a binary exposure; the model still has the term
                continue
            tab = stratified_cells(exposed, y_bin, np.ones(len(df)), strat)
            mh = mantel_haenszel(tab["a"], tab["b"], tab["c"], tab["d"], conf_level=conf_level)
            n_mh = int(tab[["a", "b", "c", "d"]].to_numpy().sum())
            z = float(stats.norm.ppf(0.5 * (1 + conf_level)))
            for measure, (est, lo, hi), test, stat, p_h in (
                ("odds_ratio", mh.odds_ratio, "breslow-day", mh.breslow_day, mh.breslow_day_p),
                ("risk_ratio", mh.risk_ratio, "woolf", mh.woolf_rr, mh.woolf_rr_p),
            ):
                coef = math.log(est) if est > 0 else -math.inf
                rows.append(
                    {
                        "analysis": "mantel-haenszel",
                        "term": col,
                        "measure": measure,
                        "estimate": est,
                        "ci_lower": lo,
                        "ci_upper": hi,
                        "p": mh.cmh_p,
                        "coef": coef,
                        "se": (math.log(hi) - coef) / z if est > 0 and math.isfinite(hi) else math.nan,
                        "n": n_mh,
                        "homogeneity_test": test,
                        "homogeneity_stat": stat,
                        "homogeneity_df": mh.df,
                        "homogeneity_p": p_h,
                    }
                )
    factors = [factors] if isinstance(factors, str) else list(factors)
    unknown = [f for f in factors if f not in exposures]
    if unknown:
        raise InputError(f"--factors names {unknown[0]!r}, which is not one of the exposures")
    x, names = _design(
        used, exposures + ([strata] if strata else []), source, [*factors, *([strata] if strata else [])]
    )
    if model == "logistic":
        y = as_binary(used[outcome], outcome, source)
        fit = glm_fit(x, y, family="binomial")
    else:
        y = numeric_column(used, outcome, source, what="count", integer=True)
        offset = None
        if person_time:
            offset = np.log(numeric_column(used, person_time, source, what="person-time", positive=True))
        fit = glm_fit(x, y, family="poisson", offset=offset) if model == "poisson" else glm_nb(x, y, offset=offset)
        if model == "negbin":
            info["theta"] = fit.theta
    if not fit.converged:
        raise InputError(f"the {model} model did not converge (separation or too few events?)", file=source)
    info["iterations"] = fit.iterations
    info["deviance"] = fit.deviance
    rows += _glm_rows(fit, names, model, len(used), conf_level)
    out = pd.DataFrame(rows)
    for name in RISK_FACTOR_COLUMNS:
        if name not in out:
            out[name] = None
    out = out[list(RISK_FACTOR_COLUMNS)]
    out["n"] = out["n"].astype(np.int64)
    out["homogeneity_df"] = out["homogeneity_df"].astype("Int64")
    for name in ("homogeneity_stat", "homogeneity_p"):
        out[name] = out[name].astype(np.float64)
    out["homogeneity_test"] = out["homogeneity_test"].astype(object).where(out["homogeneity_test"].notna(), None)
    return out, info


def risk_factors_job(
    lake: Any,
    data: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    outcome: str,
    exposures: Sequence[str],
    strata: str | None = None,
    person_time: str | None = None,
    model: str | None = None,
    factors: Sequence[str] = (),
    conf_level: float = 0.95,
) -> tuple[str, str]:
    """:func:`risk_factors` as a lake run: write the result to ``out`` and register it; returns (run id, dataset)."""
    exposures = [exposures] if isinstance(exposures, str) else list(exposures)
    model = model or ("poisson" if person_time else "logistic")
    check_param("risk_factors", "model", model, model in MODELS, f"one of {', '.join(MODELS)}")
    spec = spec_of(data)
    params = {
        "data": spec,
        "out": str(out),
        "outcome": outcome,
        "exposures": exposures,
        "strata": strata,
        "person_time": person_time,
        "model": model,
        "factors": list(factors),
        "conf_level": conf_level,
    }
    with lake.run("publichealth risk-factors", params=params, inputs=[spec]) as run:
        if not spec.startswith("lake:"):
            run.hash_input(spec)
        result, info = risk_factors(
            spec,
            outcome=outcome,
            exposures=exposures,
            strata=strata,
            person_time=person_time,
            model=model,
            factors=factors,
            conf_level=conf_level,
            lake=lake,
        )
        name = run.result(result, out)
        run.annotate(name, attrs={**{k: v for k, v in info.items() if isinstance(v, int | float | str)}})
    return run.id, name
