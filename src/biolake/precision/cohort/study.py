"""A new-user comparative cohort study on an OMOP CDM (``precision cohort``), as OHDSI CohortMethod.

:func:`run_study` goes cohorts → covariates → propensity score → (per outcome) prior-outcome
removal → matching or stratification → balance → stratified Cox → empirical calibration, and
returns three tables:

* **estimates**, one row per outcome and negative control — ``outcome hr ci_lower ci_upper p
  calibrated_p calibrated_hr calibrated_ci_lower calibrated_ci_upper log_hr se_log_hr
  target_subjects comparator_subjects target_days comparator_days target_outcomes
  comparator_outcomes target_ir comparator_ir mdrr max_sdm equipoise negative_control``
  (``*_ir`` per 1,000 person-years; ``max_sdm`` the largest |SMD| after adjustment;
  ``equipoise`` the fraction of the population with preference score in [0.3, 0.7]; the
  ``calibrated_*`` columns are NaN without negative controls);
* **balance**, one row per covariate and (non-control) outcome — ``outcome covariate_id
  covariate_name target_mean_before comparator_mean_before std_diff_before
  target_mean_after comparator_mean_after std_diff_after`` (CohortMethod's column names);
* **attrition** — ``outcome sequence_number description target_subjects comparator_subjects``,
  the shared cohort steps repeated for each outcome, then "No prior outcome" and the
  matching/stratification step (CohortMethod's order).

The propensity model is fitted once on the population (before the outcome-specific
removal, as CohortMethod's ``createPs`` on the cohort); matching/stratification is redone
for each outcome's population.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from biolake.errors import InputError
from biolake.lake.progress import NullProgress, Progress
from biolake.precision.cohort.calibration import calibrate_ci, calibrate_p, fit_null
from biolake.precision.cohort.cohorts import Study, build_covariates, build_population, load_study, outcome_times
from biolake.precision.cohort.outcome import incidence_rate, mdrr, stratified_cox
from biolake.precision.cohort.ps import balance, fit_propensity, match_on_ps, preference_score, stratify_by_ps

__all__ = [
    "ATTRITION_COLUMNS",
    "BALANCE_COLUMNS",
    "ESTIMATE_COLUMNS",
    "CohortResult",
    "cohort_job",
    "run_study",
]

ESTIMATE_COLUMNS = (
    "outcome", "hr", "ci_lower", "ci_upper", "p", "calibrated_p", "calibrated_hr", "calibrated_ci_lower",
    "calibrated_ci_upper", "log_hr", "se_log_hr", "target_subjects", "comparator_subjects", "target_days",
    "comparator_days", "target_outcomes", "comparator_outcomes", "target_ir", "comparator_ir", "mdrr", "max_sdm",
    "equipoise", "negative_control",
)  # fmt: skip
BALANCE_COLUMNS = (
    "outcome", "covariate_id", "covariate_name", "target_mean_before", "comparator_mean_before", "std_diff_before",
    "target_mean_after", "comparator_mean_after", "std_diff_after",
)  # fmt: skip
ATTRITION_COLUMNS = ("outcome", "sequence_number", "description", "target_subjects", "comparator_subjects")
_INT = {"target_subjects", "comparator_subjects", "target_days", "comparator_days", "target_outcomes",
        "comparator_outcomes", "covariate_id", "sequence_number"}  # fmt: skip


def _schema(columns: tuple[str, ...]) -> pa.Schema:
    def kind(c: str) -> pa.DataType:
        if c in ("outcome", "covariate_name", "description"):
            return pa.string()
        if c == "negative_control":
            return pa.bool_()
        return pa.int64() if c in _INT else pa.float64()

    return pa.schema([(c, kind(c)) for c in columns])


ESTIMATE_SCHEMA = _schema(ESTIMATE_COLUMNS)
BALANCE_SCHEMA = _schema(BALANCE_COLUMNS)
ATTRITION_SCHEMA = _schema(ATTRITION_COLUMNS)


@dataclass
class CohortResult:
    """Tables of a cohort study and a few facts (PS model, population, null distribution)."""

    estimates: pd.DataFrame
    balance: pd.DataFrame
    attrition: pd.DataFrame
    ps: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def run_study(
    omop: str | os.PathLike[str],
    study: Study | str | os.PathLike[str] | dict[str, Any],
    *,
    seed: int = 0,
    threads: int | None = None,
    progress: Progress | None = None,
) -> CohortResult:
    """Run a new-user cohort study over the OMOP CDM directory ``omop`` (see the module docstring).

    Parameters
    ----------
    omop
        Directory of OMOP CDM v5.4 tables as Parquet or CSV files (``person``,
        ``observation_period``, ``drug_exposure``, ``condition_occurrence``, ``concept_ancestor``
        for descendants; ``concept`` for covariate names).
    study
        A :class:`Study`, a study YAML file or its mapping (:func:`load_study`).
    seed
        Seed of the cross-validation folds (and of the PS fitting sample on large cohorts).
    """
    from biolake.discovery.trials.match import OmopCdm

    spec = study if isinstance(study, Study) else load_study(study)
    prog = progress or NullProgress()
    all_outcomes = [(o, False) for o in spec.outcomes] + [(o, True) for o in spec.negative_controls]
    with prog.task("cohort study", total=3 + len(all_outcomes)) as task, OmopCdm(omop, threads=threads) as db:
        pop, steps = build_population(db, spec)
        task.advance(1)
        n_t, n_c = int(pop["treatment"].sum()), int((pop["treatment"] == 0).sum())
        if n_t == 0 or n_c == 0:
            raise InputError(
                f"the study population has {n_t} target and {n_c} comparator persons; both cohorts are needed",
                file=omop,
            )
        cov = build_covariates(db, spec)
        task.advance(1)
        treat = pop["treatment"].to_numpy().astype(bool)
        ps, ps_info = fit_propensity(cov.x, treat, c=spec.ps_c, seed=seed)
        pref = preference_score(ps, treat)
        equipoise = float(np.mean((pref >= 0.3) & (pref <= 0.7)))
        task.advance(1)
        rows, bal_frames, att_rows = [], [], []
        for outcome, negative in all_outcomes:
            occ = outcome_times(db, outcome)
            keep = ~occ["prior"].to_numpy(bool)
            o_steps = [*steps, ("No prior outcome", int((keep & treat).sum()), int((keep & ~treat).sum()))]
            idx = np.nonzero(keep)[0]
            t_sub = treat[idx]
            if spec.ps_match is not None:
                group = match_on_ps(ps[idx], t_sub, max_ratio=spec.ps_match, caliper=spec.caliper)
                label = f"Matched on propensity score (1:{spec.ps_match}, caliper {spec.caliper} SD of logit PS)"
            else:
                group = stratify_by_ps(ps[idx], strata=int(spec.ps_strata or 5))
                label = f"Stratified by propensity score ({spec.ps_strata} strata)"
            used = group >= 0
            o_steps.append((label, int((used & t_sub).sum()), int((used & ~t_sub).sum())))
            att_rows += [(outcome.name, i, d, a, b) for i, (d, a, b) in enumerate(o_steps, 1)]
            bal = balance(cov.x[idx], t_sub, group)
            max_sdm = float(np.nanmax(np.abs(bal["std_diff_after"]))) if bal["std_diff_after"].notna().any() else np.nan
            if not negative:
                bal.insert(0, "covariate_name", cov.names)
                bal.insert(0, "covariate_id", cov.ids)
                bal.insert(0, "outcome", outcome.name)
                bal_frames.append(bal)
            sel = idx[used]
            time = occ["time"].to_numpy(float)[sel]
            event = occ["event"].to_numpy(float)[sel]
            ts = treat[sel]
            fit = stratified_cox(time, event, ts.astype(float), strata=group[used])
            hr, lo, hi, p = fit.hr_ci()
            t_days, c_days = int(time[ts].sum()), int(time[~ts].sum())
            t_ev, c_ev = int(event[ts].sum()), int(event[~ts].sum())
            rows.append(
                {
                    "outcome": outcome.name, "hr": hr, "ci_lower": lo, "ci_upper": hi, "p": p,
                    "log_hr": fit.coef, "se_log_hr": fit.se,
                    "target_subjects": int(ts.sum()), "comparator_subjects": int((~ts).sum()),
                    "target_days": t_days, "comparator_days": c_days, "target_outcomes": t_ev,
                    "comparator_outcomes": c_ev, "target_ir": incidence_rate(t_ev, t_days),
                    "comparator_ir": incidence_rate(c_ev, c_days),
                    "mdrr": mdrr(int(ts.sum()), int((~ts).sum()), t_ev + c_ev), "max_sdm": max_sdm,
                    "equipoise": equipoise, "negative_control": negative,
                }
            )  # fmt: skip
            task.advance(1)
    est = pd.DataFrame(rows)
    nc = est[est["negative_control"]]
    info: dict[str, Any] = {
        "persons": len(pop),
        "target_persons": n_t,
        "comparator_persons": n_c,
        "covariates": int(cov.x.shape[1]),
        "ps_C": ps_info["C"],
        "ps_nonzero": ps_info["nonzero"],
        "ps_folds": ps_info["folds"],
        "equipoise": equipoise,
    }
    for c in ("calibrated_p", "calibrated_hr", "calibrated_ci_lower", "calibrated_ci_upper"):
        est[c] = np.nan
    if len(nc):
        null = fit_null(nc["log_hr"].to_numpy(), nc["se_log_hr"].to_numpy())
        info |= {"null_mean": null.mean, "null_sd": null.sd, "null_controls": null.n}
        if null.n >= 1 and np.isfinite(null.mean):
            est["calibrated_p"] = calibrate_p(null, est["log_hr"].to_numpy(), est["se_log_hr"].to_numpy())
            chr_, clo, chi = calibrate_ci(null, est["log_hr"].to_numpy(), est["se_log_hr"].to_numpy())
            est["calibrated_hr"], est["calibrated_ci_lower"], est["calibrated_ci_upper"] = chr_, clo, chi
    est = est[list(ESTIMATE_COLUMNS)]
    bal_all = pd.concat(bal_frames, ignore_index=True) if bal_frames else pd.DataFrame(columns=list(BALANCE_COLUMNS))
    attrition = pd.DataFrame(att_rows, columns=list(ATTRITION_COLUMNS))
    ps_table = pd.DataFrame({"person_id": pop["person_id"].to_numpy(), "treatment": treat.astype(int), "ps": ps,
                             "preference_score": pref})  # fmt: skip
    return CohortResult(est, bal_all[list(BALANCE_COLUMNS)], attrition, ps_table, info)


def _histogram(ps: pd.DataFrame, bins: int = 50) -> list[dict[str, Any]]:
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for treat, label in ((1, "target"), (0, "comparator")):
        values = ps.loc[ps["treatment"] == treat, "preference_score"].to_numpy()
        counts, _ = np.histogram(values, edges)
        dens = counts / max(len(values), 1) * bins
        out += [
            {"group": label, "x": float((edges[i] + edges[i + 1]) / 2), "density": float(dens[i])} for i in range(bins)
        ]
    return out


def _derived(out: Path, suffix: str) -> Path:
    name = out.name
    for ext in (".parquet", ".csv", ".tsv"):
        if name.endswith(ext):
            return out.with_name(name[: -len(ext)] + suffix + ext)
    return out.with_name(name + suffix)


def cohort_job(
    lake: Any,
    omop: str | os.PathLike[str],
    study: Study | str | os.PathLike[str] | dict[str, Any],
    *,
    out: str | os.PathLike[str],
    balance_out: str | os.PathLike[str] | None = None,
    attrition_out: str | os.PathLike[str] | None = None,
    seed: int = 0,
    threads: int | None = None,
    progress: Progress | None = None,
) -> tuple[str, str]:
    """:func:`run_study` as a lake run (``precision cohort``): estimates, balance and attrition tables.

    ``balance_out``/``attrition_out`` default to ``out`` with ``_balance``/``_attrition`` before
    the extension. Returns the run id and the estimate dataset's name.
    """
    out = Path(out)
    balance_out = Path(balance_out) if balance_out is not None else _derived(out, "_balance")
    attrition_out = Path(attrition_out) if attrition_out is not None else _derived(out, "_attrition")
    spec = study if isinstance(study, Study) else load_study(study)
    params = {
        "omop": str(omop),
        "study": str(study) if not isinstance(study, (Study, dict)) else None,
        "target": list(spec.target.concepts),
        "comparator": list(spec.comparator.concepts),
        "outcomes": [o.name for o in spec.outcomes],
        "negative_controls": [o.name for o in spec.negative_controls],
        "washout": spec.washout,
        "lookback": spec.lookback,
        "ps_match": spec.ps_match,
        "ps_strata": spec.ps_strata,
        "caliper": spec.caliper,
        "ps_c": spec.ps_c,
        "risk_window_end": spec.risk_window_end,
        "seed": seed,
    }
    with lake.run("precision cohort", params=params, inputs=[str(omop)]) as run:
        res = run_study(omop, spec, seed=seed, threads=threads, progress=progress)
        attrs = {
            "target_name": spec.target.name,
            "comparator_name": spec.comparator.name,
            **{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in res.info.items()},
        }
        name = run.result(pa.Table.from_pandas(res.estimates, schema=ESTIMATE_SCHEMA, preserve_index=False), out,
                          schema=ESTIMATE_SCHEMA)  # fmt: skip
        run.annotate(name, attrs={"table": "estimates", "ps_hist": _histogram(res.ps), **attrs})
        b_name = run.result(pa.Table.from_pandas(res.balance, schema=BALANCE_SCHEMA, preserve_index=False),
                            balance_out, schema=BALANCE_SCHEMA)  # fmt: skip
        run.annotate(b_name, attrs={"table": "balance", **attrs})
        a_name = run.result(pa.Table.from_pandas(res.attrition, schema=ATTRITION_SCHEMA, preserve_index=False),
                            attrition_out, schema=ATTRITION_SCHEMA)  # fmt: skip
        run.annotate(a_name, attrs={"table": "attrition", **attrs})
    return run.id, name
