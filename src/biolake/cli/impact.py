"""``biolake publichealth impact its|did|synth`` and ``biolake publichealth seir``: interventions and epidemics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, open_lake, say

__all__ = ["impact_app", "seir_command"]

impact_app = typer.Typer(
    help="Evaluate an intervention: interrupted time series, difference-in-differences, synthetic control.",
    no_args_is_help=True,
)

OutOpt = Annotated[
    Path,
    typer.Option("--out", "-o", help="Effects table (.parquet, .csv or .tsv): term estimate se ci_lower ci_upper p."),
]
SeriesOutOpt = Annotated[
    Path | None,
    typer.Option("--series-out", help="Series table (observed, fitted, counterfactual, band), also registered."),
]
LevelOpt = Annotated[float, typer.Option(help="Confidence level of intervals and bands.")]


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@impact_app.command("its")
def its_command(
    data: Annotated[str, typer.Argument(help="Series in long format: a CSV/TSV/Parquet file or lake:NAME.")],
    intervention: Annotated[str, typer.Option(help="First time point under the intervention (a date or a number).")],
    out: OutOpt,
    series_out: SeriesOutOpt = None,
    outcome_col: Annotated[str, typer.Option(help="Outcome column (counts for the GLMs).")] = "count",
    date_col: Annotated[str, typer.Option(help="Time column (dates or period numbers).")] = "date",
    by: Annotated[str | None, typer.Option(help="Series key columns, comma-separated.")] = None,
    model: Annotated[
        str, typer.Option(help="ols (Newey-West SEs), poisson, quasipoisson or negbin (as R glm / MASS::glm.nb).")
    ] = "ols",
    covariates: Annotated[str | None, typer.Option(help="Numeric covariate columns, comma-separated.")] = None,
    season: Annotated[str, typer.Option(help="Seasonality: none, fourier or month.")] = "none",
    harmonics: Annotated[int, typer.Option(help="Fourier: sine/cosine pairs.")] = 2,
    period: Annotated[float, typer.Option(help="Fourier: period in time steps (12 monthly, 52 weekly).")] = 12.0,
    population_col: Annotated[str | None, typer.Option(help="GLMs: population column, offset log(population).")] = None,
    lag: Annotated[int | None, typer.Option(help="OLS: Newey-West lag [default: floor(4 (n/100)^(2/9))].")] = None,
    hac_adjust: Annotated[
        bool, typer.Option("--hac-adjust/--no-hac-adjust", help="OLS: n/(n-k) factor (R NeweyWest adjust).")
    ] = False,
    level: LevelOpt = 0.95,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Interrupted time series: level and slope change at the intervention, and the counterfactual.

    Segmented regression y ~ time + level + slope (+ covariates, seasonality, offset) for
    every series; OLS with Newey-West SEs as R sandwich::NeweyWest(prewhite = FALSE), or a
    Poisson / quasi-Poisson / negative-binomial GLM as R glm / MASS::glm.nb.
    """
    from biolake.publichealth.impact import impact_job

    run_id, names = impact_job(
        open_lake(lake),
        "its",
        data,
        out=out,
        series_out=series_out,
        intervention=intervention,
        outcome_col=outcome_col,
        date_col=date_col,
        by=_split(by),
        model=model,
        covariates=_split(covariates),
        season=season,
        harmonics=harmonics,
        period=period,
        population_col=population_col,
        lag=lag,
        hac_adjust=hac_adjust,
        level=level,
    )
    say(f"wrote {', '.join(names)} (run {run_id})", quiet=quiet)


@impact_app.command("did")
def did_command(
    data: Annotated[str, typer.Argument(help="Panel in long format (unit, period, outcome, treatment).")],
    out: OutOpt,
    series_out: SeriesOutOpt = None,
    unit_col: Annotated[str, typer.Option(help="Unit column (SEs are clustered by it).")] = "unit",
    time_col: Annotated[str, typer.Option(help="Period column.")] = "period",
    outcome_col: Annotated[str, typer.Option(help="Outcome column.")] = "y",
    treat_col: Annotated[str, typer.Option(help="0/1: the unit is treated in this period.")] = "treat",
    design: Annotated[str, typer.Option(help="twfe (two-way fixed effects) or event-study.")] = "twfe",
    leads: Annotated[int | None, typer.Option(help="Event study: bin event times below -LEADS.")] = None,
    lags: Annotated[int | None, typer.Option(help="Event study: bin event times above LAGS.")] = None,
    covariates: Annotated[str | None, typer.Option(help="Numeric covariate columns, comma-separated.")] = None,
    hc_type: Annotated[str, typer.Option(help="HC1 or HC0 (R sandwich::vcovCL type).")] = "HC1",
    level: LevelOpt = 0.95,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Difference-in-differences: two-way fixed effects or an event study, SEs clustered by unit.

    As R lm(y ~ treat + factor(unit) + factor(period)) with sandwich::vcovCL(cluster = ~unit,
    type = "HC1"); the event study has one indicator per event time, reference -1.
    """
    from biolake.publichealth.impact import impact_job

    run_id, names = impact_job(
        open_lake(lake),
        "did",
        data,
        out=out,
        series_out=series_out,
        unit_col=unit_col,
        time_col=time_col,
        outcome_col=outcome_col,
        treat_col=treat_col,
        design=design,
        leads=leads,
        lags=lags,
        covariates=_split(covariates),
        hc_type=hc_type,
        level=level,
    )
    say(f"wrote {', '.join(names)} (run {run_id})", quiet=quiet)


@impact_app.command("synth")
def synth_command(
    data: Annotated[str, typer.Argument(help="Balanced panel in long format (unit, period, outcome).")],
    treated: Annotated[str, typer.Option(help="The treated unit.")],
    intervention: Annotated[str, typer.Option(help="First period under the intervention (a date or a number).")],
    out: OutOpt,
    series_out: SeriesOutOpt = None,
    unit_col: Annotated[str, typer.Option(help="Unit column.")] = "unit",
    time_col: Annotated[str, typer.Option(help="Period column.")] = "period",
    outcome_col: Annotated[str, typer.Option(help="Outcome column.")] = "y",
    placebo: Annotated[
        bool, typer.Option("--placebo/--no-placebo", help="In-space placebos for the permutation p-value.")
    ] = True,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Synthetic control for one treated unit (weights on donors, V = identity on pre-period outcomes).

    Reports the average post-period gap (att) with the permutation p-value of the post/pre
    RMSPE ratio over in-space placebos, the RMSPEs and the donor weights.
    """
    from biolake.publichealth.impact import impact_job

    run_id, names = impact_job(
        open_lake(lake),
        "synth",
        data,
        out=out,
        series_out=series_out,
        treated=treated,
        intervention=intervention,
        unit_col=unit_col,
        time_col=time_col,
        outcome_col=outcome_col,
        placebo=placebo,
    )
    say(f"wrote {', '.join(names)} (run {run_id})", quiet=quiet)


def seir_command(
    incidence: Annotated[str, typer.Argument(help="Incidence in long format: a CSV/TSV/Parquet file or lake:NAME.")],
    population: Annotated[float, typer.Option(help="Population size N.")],
    out: OutOpt,
    series_out: SeriesOutOpt = None,
    model: Annotated[str, typer.Option(help="sir or seir.")] = "seir",
    count_col: Annotated[str, typer.Option(help="Cases per time step.")] = "count",
    date_col: Annotated[
        str | None, typer.Option(help="Time column [default: 'date' if present, else row order].")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Series key columns, comma-separated.")] = None,
    observation: Annotated[str, typer.Option(help="Observation model: poisson or negbin.")] = "poisson",
    beta: Annotated[float | None, typer.Option(help="Fix the transmission rate (per time step).")] = None,
    gamma: Annotated[float | None, typer.Option(help="Fix the recovery rate (per time step).")] = None,
    sigma: Annotated[float | None, typer.Option(help="SEIR: fix the rate E -> I (per time step).")] = None,
    horizon: Annotated[int, typer.Option(help="Project this many time steps beyond the data.")] = 0,
    draws: Annotated[int, typer.Option(help="Simulated parameter sets for the bands.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed of the bands.")] = 1,
    ci: Annotated[str, typer.Option(help="Parameter CIs: wald (log scale) or profile (profile likelihood).")] = "wald",
    level: LevelOpt = 0.95,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Fit an SIR/SEIR model to incidence by maximum likelihood and project it forward.

    Effects: beta, gamma, sigma, i0 (theta), R0 with Wald CIs (log scale). Series: observed,
    fitted, the incidence band (mean_lower, mean_upper) and the prediction band (lower, upper).
    """
    from biolake.publichealth.seir import seir_job

    run_id, names = seir_job(
        open_lake(lake),
        incidence,
        out=out,
        series_out=series_out,
        population=population,
        model=model,
        count_col=count_col,
        date_col=date_col,
        by=_split(by),
        observation=observation,
        beta=beta,
        gamma=gamma,
        sigma=sigma,
        horizon=horizon,
        draws=draws,
        seed=seed,
        ci=ci,
        level=level,
    )
    say(f"wrote {', '.join(names)} (run {run_id})", quiet=quiet)
