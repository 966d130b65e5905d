"""``precision risk survival``: Kaplan–Meier, log-rank, Cox (Efron) and the PH test in one call.

:func:`survival_analysis` reads the columns once, drops rows with a missing time, event or
covariate, and returns every table; :func:`survival_job` does it as a lake run: the Cox
table goes to ``out`` and, when asked, the Kaplan–Meier, log-rank and PH-test tables to
their own files, each registered in the lake.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from biolake.errors import InputError, check_param
from biolake.lake.progress import NullProgress, Progress
from biolake.precision.survival._data import check_event_coding, prepare
from biolake.precision.survival.concordance import concordance_index
from biolake.precision.survival.cox import COX_COLUMNS, cox_table, fit_design
from biolake.precision.survival.km import KM_COLUMNS, kaplan_meier_table
from biolake.precision.survival.logrank import LogRankResult, logrank_test
from biolake.precision.survival.zph import ZPH_COLUMNS, zph_table

__all__ = [
    "COX_SCHEMA",
    "KM_SCHEMA",
    "LOGRANK_SCHEMA",
    "ZPH_SCHEMA",
    "SurvivalResult",
    "survival_analysis",
    "survival_job",
]

COX_SCHEMA = pa.schema([pa.field("term", pa.string())] + [pa.field(c, pa.float64()) for c in COX_COLUMNS[1:]])
KM_SCHEMA = pa.schema(
    [
        pa.field("group", pa.string()),
        pa.field("time", pa.float64()),
        pa.field("n_risk", pa.int64()),
        pa.field("n_event", pa.int64()),
        *(pa.field(c, pa.float64()) for c in KM_COLUMNS[4:]),
    ]
)
LOGRANK_SCHEMA = pa.schema(
    [
        pa.field("group", pa.string()),
        pa.field("n", pa.int64()),
        pa.field("observed", pa.float64()),
        pa.field("expected", pa.float64()),
        pa.field("chisq", pa.float64()),
        pa.field("df", pa.int64()),
        pa.field("p", pa.float64()),
    ]
)
ZPH_SCHEMA = pa.schema(
    [
        pa.field("term", pa.string()),
        pa.field("chisq", pa.float64()),
        pa.field("df", pa.int64()),
        pa.field("p", pa.float64()),
    ]
)


@dataclass
class SurvivalResult:
    """Everything :func:`survival_analysis` computes."""

    cox: pd.DataFrame | None
    """The Cox table (``term coef se robust_se z p hazard_ratio ci_lower ci_upper``), or None without covariates."""
    km: pd.DataFrame
    """The Kaplan–Meier table (``group time n_risk n_event survival std_err ci_lower ci_upper``)."""
    logrank: LogRankResult | None
    """The log-rank test across ``group``, or None without a group."""
    zph: pd.DataFrame | None
    """The proportional-hazards test (``term chisq df p``, last row ``GLOBAL``), or None."""
    info: dict[str, Any] = field(default_factory=dict)
    """Counts and fit facts: rows read, dropped, used, events, iterations, log likelihoods, and
    Harrell's concordance of the Cox linear predictor (``concordance`` and its pair counts
    ``concordance_concordant`` …, as R ``concordance(fit)``)."""

    def logrank_table(self) -> pd.DataFrame:
        """The log-rank test as a table: one row per group with the test repeated."""
        if self.logrank is None:
            return pd.DataFrame({f.name: [] for f in LOGRANK_SCHEMA})
        t = self.logrank.table.copy()
        t["chisq"] = self.logrank.chisq
        t["df"] = self.logrank.df
        t["p"] = self.logrank.p
        return t


def _check(function: str, conf_int: float, zph: bool) -> None:
    check_param(function, "conf_int", conf_int, isinstance(conf_int, float) and 0 < conf_int < 1, "a number in (0, 1)")
    check_param(function, "zph", zph, isinstance(zph, bool), "True or False")


def survival_analysis(
    data: Any,
    *,
    time: str,
    event: str,
    covars: Sequence[str] = (),
    group: str | None = None,
    event_coding: Sequence[float] | str = (0, 1),
    conf_int: float = 0.95,
    zph: bool = True,
    lake: Any = None,
    progress: Progress | None = None,
) -> SurvivalResult:
    """Kaplan–Meier curves, the log-rank test, a Cox model and its PH test, as R ``survival``.

    Parameters
    ----------
    data
        A DataFrame, a CSV/TSV/Parquet file or a lake table (``lake:NAME``).
    time, event
        The time and event columns (event 1 = event, 0 = censored by default).
    covars
        Cox covariates; text columns are one-hot coded (first sorted level = baseline).
        Rows with a missing time, event or covariate are dropped from every analysis.
    group
        A column defining the Kaplan–Meier curves and the log-rank groups (it does not
        enter the Cox model); rows with a missing group are left out of those two only.
    event_coding
        The ``(censored, event)`` codes: ``(0, 1)`` or R's ``(1, 2)`` (also ``"1,2"``).
    conf_int
        Confidence level of the Kaplan–Meier and hazard-ratio intervals.
    zph
        Also run the proportional-hazards test (R ``cox.zph``).
    lake
        The lake for ``lake:NAME`` inputs.
    progress
        Where to report progress.

    Returns
    -------
    SurvivalResult
        The Cox, Kaplan–Meier, log-rank and PH-test tables and the counts.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t": [5, 8, 8, 3, 10, 12, 4, 9], "d": [1, 1, 0, 1, 1, 0, 1, 1],
    ...                    "arm": ["b", "a", "b", "b", "a", "a", "b", "a"], "age": [61, 50, 70, 66, 58, 49, 72, 55]})
    >>> res = survival_analysis(df, time="t", event="d", covars=["arm", "age"], group="arm")
    >>> list(res.cox.term), round(res.logrank.p, 4)
    (['armb', 'age'], 0.1005)
    """
    _check("survival_analysis", conf_int, zph)
    coding = check_event_coding("survival_analysis", event_coding)
    progress = progress or NullProgress()
    with progress.task("Survival analysis", total=4) as task:
        design = prepare(
            data,
            time=time,
            event=event,
            covars=covars,
            group=group,
            event_coding=coding,
            lake=lake,
            function="survival_analysis",
        )
        task.advance(1)
        km = kaplan_meier_table(
            design.time,
            design.event,
            group=design.group,
            levels=design.group_levels if group else None,
            conf_int=conf_int,
        )
        lr = None
        if group:
            assert design.group is not None
            if not design.group_levels:
                raise InputError(f"group column {group!r} has no values", file=design.source)
            lr = logrank_test(design.time, design.event, design.group, levels=design.group_levels)
        task.advance(1)
        cox = zph_t = None
        info: dict[str, Any] = {
            "rows": design.n_input,
            "dropped": design.dropped,
            "used": len(design.time),
            "events": int(design.event.sum()),
        }
        if covars:
            fit = fit_design(design.time, design.event, design.x, design.names, source=design.source)
            cox = cox_table(fit, design.names, conf_int=conf_int)
            info.update(
                iterations=fit.iterations,
                converged=fit.converged,
                loglik_null=fit.loglik[0],
                loglik=fit.loglik[1],
                score_test=fit.score_test,
                levels=design.levels,
            )
            conc = concordance_index(design.time, design.event, design.x @ fit.coef)
            info.update({f"concordance{'' if k == 'concordance' else '_' + k}": v for k, v in conc.items()})
            task.advance(1)
            if zph:
                zph_t = zph_table(design.time, design.event, design.x, fit.coef, design.terms)
        task.advance(1)
    if lr is not None:
        info.update(logrank_chisq=lr.chisq, logrank_df=lr.df, logrank_p=lr.p)
    return SurvivalResult(cox=cox, km=km, logrank=lr, zph=zph_t, info=info)


def _jsonable(info: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in info.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            v = None
        out[k] = v
    return out


def survival_job(
    lake: Any,
    data: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    time: str,
    event: str,
    covars: Sequence[str] = (),
    group: str | None = None,
    event_coding: Sequence[float] | str = (0, 1),
    km_out: str | os.PathLike[str] | None = None,
    logrank_out: str | os.PathLike[str] | None = None,
    zph_out: str | os.PathLike[str] | None = None,
    conf_int: float = 0.95,
    progress: Progress | None = None,
) -> tuple[str, str]:
    """:func:`survival_analysis` as a lake run (``precision risk survival``).

    Parameters
    ----------
    lake
        The lake (a :class:`biolake.Lake`).
    data
        A CSV/TSV/Parquet file or a lake table (``lake:NAME`` or a bare name).
    out
        The Cox table's file (``.parquet``, ``.csv`` or ``.tsv``); without ``covars`` it
        has no rows.
    time, event, covars, group, event_coding, conf_int
        As for :func:`survival_analysis`.
    km_out
        Also write the Kaplan–Meier table here.
    logrank_out
        Also write the log-rank test here (needs ``group``): ``group n observed expected
        chisq df p``.
    zph_out
        Also write the proportional-hazards test here (needs ``covars``): ``term chisq df p``.
    progress
        Where to report progress.

    Returns
    -------
    tuple of str
        The run id and the name of the Cox result dataset.
    """
    _check("survival_job", conf_int, True)
    coding = check_event_coding("survival_job", event_coding)
    if logrank_out is not None and not group:
        raise InputError("the log-rank test needs a group column", file="--logrank")
    if zph_out is not None and not covars:
        raise InputError("the proportional-hazards test needs covariates", file="--zph")
    from biolake.lake.tables import result_format

    for path in (out, km_out, logrank_out, zph_out):
        if path is not None:
            result_format(Path(path))  # a bad extension fails before the run starts
    spec = str(data)
    if not spec.startswith("lake:") and not Path(spec).is_file():
        spec = f"lake:{spec}"
    covars = list(covars)
    params: dict[str, Any] = {
        "data": spec,
        "out": str(out),
        "time": time,
        "event": event,
        "covars": covars,
        "group": group,
        "event_coding": list(coding),
        "km_out": None if km_out is None else str(km_out),
        "logrank_out": None if logrank_out is None else str(logrank_out),
        "zph_out": None if zph_out is None else str(zph_out),
        "conf_int": conf_int,
    }
    with lake.run("precision risk survival", params=params, inputs=[spec]) as run:
        if not spec.startswith("lake:"):
            run.hash_input(spec)
        res = survival_analysis(
            spec,
            time=time,
            event=event,
            covars=covars,
            group=group,
            event_coding=coding,
            conf_int=conf_int,
            zph=zph_out is not None or bool(covars),
            lake=lake,
            progress=progress,
        )
        cox = res.cox if res.cox is not None else pd.DataFrame({c: [] for c in COX_COLUMNS})
        attrs = {"time": time, "event": event, "covars": covars, "group": group, **_jsonable(res.info)}
        name = run.result(pa.Table.from_pandas(cox, schema=COX_SCHEMA, preserve_index=False), out, schema=COX_SCHEMA)
        run.annotate(name, attrs={"table": "cox", **attrs})
        if km_out is not None:
            km_name = run.result(
                pa.Table.from_pandas(res.km, schema=KM_SCHEMA, preserve_index=False), km_out, schema=KM_SCHEMA
            )
            run.annotate(km_name, attrs={"table": "km", **attrs})
        if logrank_out is not None:
            lr_name = run.result(
                pa.Table.from_pandas(res.logrank_table(), schema=LOGRANK_SCHEMA, preserve_index=False),
                logrank_out,
                schema=LOGRANK_SCHEMA,
            )
            run.annotate(lr_name, attrs={"table": "logrank", **attrs})
        if zph_out is not None and res.zph is not None:
            z_name = run.result(
                pa.Table.from_pandas(res.zph[list(ZPH_COLUMNS)], schema=ZPH_SCHEMA, preserve_index=False),
                zph_out,
                schema=ZPH_SCHEMA,
            )
            run.annotate(z_name, attrs={"table": "zph", **attrs})
    return run.id, name
