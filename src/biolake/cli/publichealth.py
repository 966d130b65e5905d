"""``biolake publichealth surveil``: outbreak detection on count series."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, SchedulerOpt, open_lake, progress, say, state

app = typer.Typer(help="Public health: surveillance and outbreak detection.", no_args_is_help=True)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@app.command("surveil")
def surveil(
    counts: Annotated[str, typer.Argument(help="Counts in long format: a CSV/TSV/Parquet file or lake:NAME.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Result file (.parquet, .csv or .tsv), also registered.")],
    method: Annotated[
        str,
        typer.Option(
            help="ears-c1, ears-c2, ears-c3 (R surveillance::earsC C1/C2/C3), cusum (R cusum) or farrington "
            "(R farringtonFlexible)"
            ", or glr (R glrpois, Poisson GLR; needs --range-start)."
        ),
    ] = "ears-c1",
    by: Annotated[str | None, typer.Option(help="Series key columns, comma-separated (e.g. disease,region).")] = None,
    date_col: Annotated[
        str | None,
        typer.Option(help="Time column [default: 'date' or 'week' if present, else row order within each series]."),
    ] = None,
    count_col: Annotated[str, typer.Option(help="Count column.")] = "count",
    freq: Annotated[
        str, typer.Option(help="Time unit: auto, day, week, isoweek (2024-W05), epiweek (MMWR 202405) or index.")
    ] = "auto",
    fill_gaps: Annotated[bool, typer.Option("--fill-gaps", help="Count missing time points as zeros.")] = False,
    alpha: Annotated[
        float | None,
        typer.Option(help="Type I error rate [default: 0.001 for C1/C2, 0.025 for C3, 0.05 for farrington, as R]."),
    ] = None,
    baseline: Annotated[int, typer.Option(help="Baseline length (R's baseline).")] = 7,
    min_sigma: Annotated[float, typer.Option(help="Minimum baseline sigma (R's minSigma).")] = 0.0,
    range_start: Annotated[
        int | None, typer.Option(help="CUSUM: first monitored time point of each series, 1-based (R's range[1]).")
    ] = None,
    k: Annotated[float, typer.Option("--k", help="CUSUM: reference value k.")] = 1.04,
    h: Annotated[float, typer.Option("--h", help="CUSUM: decision boundary h.")] = 2.26,
    m: Annotated[
        float | None, typer.Option("--m", help="CUSUM: in-control mean [default: mean before --range-start].")
    ] = None,
    trans: Annotated[str, typer.Option(help="CUSUM: standard or rossi.")] = "standard",
    b: Annotated[int, typer.Option("--b", help="Farrington: years back (R's b).")] = 5,
    w: Annotated[int, typer.Option("--w", help="Farrington: half-width of the reference windows (R's w).")] = 3,
    no_periods: Annotated[int, typer.Option(help="Farrington: blocks per year, windows included (R's noPeriods).")] = 1,
    weights_threshold: Annotated[
        float, typer.Option(help="Farrington: Anscombe residual above which a point is down-weighted.")
    ] = 2.58,
    past_weeks_not_included: Annotated[
        int | None, typer.Option(help="Farrington: recent points left out of the fit [default: w].")
    ] = None,
    p_threshold_trend: Annotated[
        float, typer.Option(help="Farrington: p-value below which the time trend is kept.")
    ] = 0.05,
    threshold_method: Annotated[
        str, typer.Option(help="Farrington: delta, nbPlugin or muan (R's thresholdMethod).")
    ] = "delta",
    pow_trans: Annotated[
        str, typer.Option(help="Farrington (delta): power transformation 2/3, 1/2 or none (R's powertrans).")
    ] = "2/3",
    trend: Annotated[bool, typer.Option("--trend/--no-trend", help="Farrington: fit a time trend.")] = True,
    reweight: Annotated[
        bool, typer.Option("--reweight/--no-reweight", help="Farrington: down-weight past outbreaks.")
    ] = True,
    limit54: Annotated[
        str, typer.Option(help="Farrington: CASES,WEEKS — alarm only with >= CASES in the last WEEKS points.")
    ] = "5,4",
    population_col: Annotated[
        str | None, typer.Option(help="Farrington: population column, an offset log(population).")
    ] = None,
    c_arl: Annotated[float, typer.Option("--c-arl", help="GLR: alarm threshold of the statistic (R's c.ARL).")] = 5.0,
    m_tilde: Annotated[
        int, typer.Option("--m-tilde", help="GLR: points needed to estimate a change (R's Mtilde).")
    ] = 1,
    big_m: Annotated[
        int, typer.Option("--M", help="GLR: window, change points searched at most M back (R's M; -1: none).")
    ] = -1,
    change: Annotated[str, typer.Option("--change", help="GLR: kind of change, intercept (R's change).")] = "intercept",
    direction: Annotated[str, typer.Option("--dir", help="GLR: inc or dec, the change to detect (R's dir).")] = "inc",
    ret: Annotated[
        str,
        typer.Option(
            "--ret",
            help="GLR: upper_bound holds the cases needed for an alarm (cases) or the GLR statistic (value) (R's ret).",
        ),
    ] = "cases",
    mu0: Annotated[
        float | None,
        typer.Option("--mu0", help="GLR: constant in-control mean [default: R's Poisson GLM before --range-start]."),
    ] = None,
    mu0_s: Annotated[int, typer.Option("--mu0-S", help="GLR: harmonics of the in-control GLM (R's mu0$S).")] = 1,
    mu0_trend: Annotated[
        bool, typer.Option("--mu0-trend/--no-mu0-trend", help="GLR: time trend in the in-control GLM (R's mu0$trend).")
    ] = False,
    chunk_series: Annotated[int, typer.Option(help="Series per chunk of work.")] = 2_000,
    scheduler: SchedulerOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Flag aberrant counts in every series at once (EARS C1/C2/C3, CUSUM, Farrington; as R surveillance).

    Writes one row per series and monitored time point: the series keys, date (the time
    point; the 1-based row number without a time column), count, expected, upper_bound,
    alarm, score (and sigma for EARS; pvalue, phi, trend for Farrington).
    """
    from biolake.errors import InputError
    from biolake.publichealth.surveillance import surveil_job

    try:
        limit = tuple(int(v) for v in limit54.split(","))
    except ValueError:
        raise InputError(f"--limit54 must be two integers CASES,WEEKS; got {limit54!r}") from None

    opened = open_lake(lake)
    run_id, name = surveil_job(
        opened,
        counts,
        out=out,
        method=method,
        by=_split(by),
        date_col=date_col,
        count_col=count_col,
        freq=freq,
        fill_gaps=fill_gaps,
        alpha=alpha,
        baseline=baseline,
        min_sigma=min_sigma,
        k=k,
        h=h,
        m=m,
        trans=trans,
        range_start=range_start,
        b=b,
        w=w,
        no_periods=no_periods,
        weights_threshold=weights_threshold,
        past_weeks_not_included=past_weeks_not_included,
        p_threshold_trend=p_threshold_trend,
        threshold_method=threshold_method,
        pow_trans=pow_trans,
        trend=trend,
        reweight=reweight,
        limit54=limit,  # type: ignore[arg-type]
        population_col=population_col,
        c_arl=c_arl,
        m_tilde=m_tilde,
        big_m=big_m,
        change=change,
        direction=direction,
        ret=ret,
        mu0=mu0,
        mu0_s=mu0_s,
        mu0_trend=mu0_trend,
        scheduler=scheduler or state.scheduler,
        chunk_series=chunk_series,
        progress=progress(quiet),
    )
    say(f"wrote {out} (dataset {name}, run {run_id})", quiet=quiet)


from biolake.cli.rt import rt_command  # noqa: E402

app.command("rt")(rt_command)

from biolake.cli.epi import rates_command, risk_factors_command, two_by_two_command  # noqa: E402

app.command("rates")(rates_command)
app.command("two-by-two")(two_by_two_command)
app.command("risk-factors")(risk_factors_command)

from biolake.cli.impact import impact_app, seir_command  # noqa: E402

app.add_typer(impact_app, name="impact")
app.command("seir")(seir_command)
