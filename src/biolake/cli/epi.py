"""``biolake publichealth rates | two-by-two | risk-factors``: rates, 2×2 measures, risk factors (as R)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, open_lake, say

__all__ = ["rates_command", "risk_factors_command", "two_by_two_command"]


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


_DATA = Annotated[str, typer.Argument(help="A CSV/TSV/Parquet file or lake:NAME.")]
_OUT = Annotated[Path, typer.Option("--out", "-o", help="Result file (.parquet, .csv or .tsv), also registered.")]
_CONF = Annotated[float, typer.Option(help="Confidence level of the intervals.")]


def rates_command(
    data: _DATA,
    out: _OUT,
    count_col: Annotated[str, typer.Option(help="Event counts (whole numbers >= 0).")],
    population_col: Annotated[str, typer.Option(help="Population or person-time.")],
    by: Annotated[str | None, typer.Option(help="Group columns, comma-separated (one row per group).")] = None,
    age_col: Annotated[str | None, typer.Option(help="Age group column (with --standard).")] = None,
    standard: Annotated[
        str | None,
        typer.Option(
            help="Standard population: a table with the age column and 'population' (indirect: also 'count' or 'rate')."
        ),
    ] = None,
    method: Annotated[
        str, typer.Option(help="direct (Fay-Feuer CI, as ageadjust.direct) or indirect (SMR, as ageadjust.indirect).")
    ] = "direct",
    per: Annotated[float, typer.Option(help="Rates per this many persons.")] = 100_000,
    conf_level: _CONF = 0.95,
    smr_ci: Annotated[
        str, typer.Option(help="Indirect: exact (Poisson) or log-normal (as epitools::ageadjust.indirect).")
    ] = "exact",
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Crude rates (exact Poisson CI) or age-standardized rates (direct: Fay-Feuer gamma CI; indirect: SMR).

    Writes one row per group: crude — count population rate ci_lower ci_upper; direct —
    count population crude_rate adj_rate ci_lower ci_upper; indirect — observed expected
    smr smr_lower smr_upper population crude_rate adj_rate ci_lower ci_upper (rates per --per).
    """
    from biolake.publichealth.rates import rates_job

    run_id, name = rates_job(
        open_lake(lake),
        data,
        out=out,
        count_col=count_col,
        population_col=population_col,
        by=_split(by),
        age_col=age_col,
        standard=standard,
        method=method,
        per=per,
        conf_level=conf_level,
        smr_ci=smr_ci,
    )
    say(f"wrote {out} (dataset {name}, run {run_id})", quiet=quiet)


def two_by_two_command(
    data: _DATA,
    out: _OUT,
    exposure: Annotated[str, typer.Option(help="Binary exposure column(s), comma-separated.")],
    outcome: Annotated[str, typer.Option(help="Binary outcome column.")],
    strata: Annotated[str | None, typer.Option(help="Stratum column: per-stratum tables and Mantel-Haenszel.")] = None,
    count_col: Annotated[str | None, typer.Option(help="Persons per row (for tables of cells).")] = None,
    exposed_value: Annotated[
        str | None, typer.Option(help="Exposure value that counts as exposed [default: 1/yes/y/true].")
    ] = None,
    case_value: Annotated[
        str | None, typer.Option(help="Outcome value that counts as a case [default: 1/yes/y/true].")
    ] = None,
    conf_level: _CONF = 0.95,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Risk ratio, odds ratio (Wald and mid-p) and risk difference of 2x2 tables (as epitools and epiR).

    Writes per exposure and stratum (crude, each stratum, mantel-haenszel): exposure stratum
    measure method estimate ci_lower ci_upper p a b c d homogeneity_test homogeneity_stat
    homogeneity_df homogeneity_p.
    """
    from biolake.publichealth.rates import two_by_two_job

    run_id, name = two_by_two_job(
        open_lake(lake),
        data,
        out=out,
        exposure=_split(exposure),
        outcome=outcome,
        strata=strata,
        count_col=count_col,
        exposed_value=exposed_value,
        case_value=case_value,
        conf_level=conf_level,
    )
    say(f"wrote {out} (dataset {name}, run {run_id})", quiet=quiet)


def risk_factors_command(
    data: _DATA,
    out: _OUT,
    outcome: Annotated[str, typer.Option(help="Outcome: binary (logistic) or a count (poisson, negbin).")],
    exposures: Annotated[str, typer.Option(help="Exposure and covariate columns, comma-separated.")],
    strata: Annotated[
        str | None, typer.Option(help="Stratum column: Mantel-Haenszel OR/RR with homogeneity tests; a model factor.")
    ] = None,
    person_time: Annotated[str | None, typer.Option(help="Person-time column: offset log(person-time).")] = None,
    model: Annotated[
        str | None,
        typer.Option(help="logistic, poisson or negbin [default: poisson with --person-time, else logistic]."),
    ] = None,
    factors: Annotated[
        str | None, typer.Option(help="Numeric exposure columns to treat as categorical, comma-separated.")
    ] = None,
    conf_level: _CONF = 0.95,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Adjusted odds or rate ratios (R glm, MASS glm.nb) and Mantel-Haenszel summaries (epiR), one row per term.

    Writes analysis term measure estimate ci_lower ci_upper p coef se n homogeneity_test
    homogeneity_stat homogeneity_df homogeneity_p.
    """
    from biolake.publichealth.riskfactors import risk_factors_job

    run_id, name = risk_factors_job(
        open_lake(lake),
        data,
        out=out,
        outcome=outcome,
        exposures=_split(exposures),
        strata=strata,
        person_time=person_time,
        model=model,
        factors=_split(factors),
        conf_level=conf_level,
    )
    say(f"wrote {out} (dataset {name}, run {run_id})", quiet=quiet)
