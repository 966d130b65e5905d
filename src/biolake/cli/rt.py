"""``biolake publichealth rt``: the time-varying reproduction number (Cori et al. 2013, as EpiEstim)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, SchedulerOpt, open_lake, progress, say, state

__all__ = ["rt_command"]


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def rt_command(
    incidence: Annotated[str, typer.Argument(help="Incidence in long format: a CSV/TSV/Parquet file or lake:NAME.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Result file (.parquet, .csv or .tsv), also registered.")],
    count_col: Annotated[
        str, typer.Option(help="Cases per time step (the local cases when --imported-col is given).")
    ] = "count",
    imported_col: Annotated[
        str | None, typer.Option(help="Imported cases per time step (EpiEstim's incid$imported).")
    ] = None,
    date_col: Annotated[
        str | None,
        typer.Option(help="Time column (default: 'date' or 'week' if present, else row order within each series)."),
    ] = None,
    by: Annotated[str | None, typer.Option(help="Series key columns, comma-separated (e.g. region).")] = None,
    si_mean: Annotated[
        float | None, typer.Option(help="Mean serial interval in time steps (parametric_si; > 1).")
    ] = None,
    si_sd: Annotated[float | None, typer.Option(help="Sd of the serial interval (parametric_si).")] = None,
    si_distr: Annotated[
        str | None,
        typer.Option(help="SI distribution (non_parametric_si): a CSV or lake table, one column w_0 = 0, w_1, ..."),
    ] = None,
    window: Annotated[int, typer.Option(help="Sliding window length (t_start = 2 ... T - window + 1).")] = 7,
    mean_prior: Annotated[float, typer.Option(help="Mean of the gamma prior of R.")] = 5.0,
    std_prior: Annotated[float, typer.Option(help="Sd of the gamma prior of R.")] = 5.0,
    freq: Annotated[
        str, typer.Option(help="Time unit: auto, day, week, isoweek (2024-W05), epiweek (MMWR 202405) or index.")
    ] = "auto",
    fill_gaps: Annotated[bool, typer.Option("--fill-gaps", help="Count missing time points as zeros.")] = False,
    chunk_series: Annotated[int, typer.Option(help="Series per chunk of work.")] = 2_000,
    scheduler: SchedulerOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Estimate R_t in sliding windows for every series at once (Cori et al. 2013; as EpiEstim's estimate_R).

    Writes one row per series and window: the series keys, t_start, t_end (1-based time
    steps), date_start and date_end (with a time column), mean_r, std_r and the posterior
    quantiles q025 q05 q25 median q75 q95 q975 (empty where EpiEstim gives NA).
    """
    from biolake.publichealth.rt import rt_job

    opened = open_lake(lake)
    run_id, name = rt_job(
        opened,
        incidence,
        out=out,
        count_col=count_col,
        imported_col=imported_col,
        date_col=date_col,
        by=_split(by),
        si_mean=si_mean,
        si_sd=si_sd,
        si_distr=si_distr,
        window=window,
        mean_prior=mean_prior,
        std_prior=std_prior,
        freq=freq,
        fill_gaps=fill_gaps,
        scheduler=scheduler or state.scheduler,
        chunk_series=chunk_series,
        progress=progress(quiet),
    )
    say(f"wrote {out} (dataset {name}, run {run_id})", quiet=quiet)
