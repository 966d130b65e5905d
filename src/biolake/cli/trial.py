"""``biolake discovery trial design|size|simulate|enrollment|match``: design, size, simulate, recruit, screen."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, open_lake, say
from biolake.errors import InputError

app = typer.Typer(help="Clinical-trial design: group sequential boundaries and sample sizes.", no_args_is_help=True)

_OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Result file (.parquet, .csv or .tsv), also registered.")]


def _rates(value: str | None) -> list[float] | None:
    if value is None or not value.strip():
        return None
    try:
        return [float(v) for v in value.split(",")]
    except ValueError:
        raise InputError(f"expected comma-separated numbers, got {value!r}", file="--information-rates") from None


def _in_unit(name: str, value: float) -> None:
    if not (math.isfinite(value) and 0 < value < 1):
        raise InputError(f"must be in (0, 1), got {value:g}", file=name)


@app.command("design")
def design_command(
    out: _OutOpt,
    kmax: Annotated[int, typer.Option("--kmax", help="Number of looks K (1 to 20).")] = 3,
    alpha: Annotated[float, typer.Option("--alpha", help="Total type I error, in (0, 1).")] = 0.025,
    sided: Annotated[int, typer.Option("--sided", help="1 or 2.")] = 1,
    type_of_design: Annotated[
        str, typer.Option("--type-of-design", help="OF, P, asOF, asP, asKD or asHSD (rpact's typeOfDesign).")
    ] = "OF",
    gamma: Annotated[float | None, typer.Option("--gamma", help="γ of asKD (0.4 to 8) or asHSD (-10 to 5).")] = None,
    information_rates: Annotated[
        str | None, typer.Option("--information-rates", help="K increasing rates ending with 1, e.g. 0.3,0.6,1.")
    ] = None,
    beta: Annotated[
        float, typer.Option("--beta", help="Type II error (design characteristics and beta spending).")
    ] = 0.2,
    type_beta_spending: Annotated[
        str | None,
        typer.Option(
            "--type-beta-spending", help="Futility bounds by beta spending: bsOF, bsP, bsKD or bsHSD (one-sided)."
        ),
    ] = None,
    gamma_b: Annotated[float | None, typer.Option("--gamma-b", help="γ of bsKD or bsHSD.")] = None,
    binding_futility: Annotated[
        bool, typer.Option("--binding-futility", help="Binding futility bounds (default non-binding).")
    ] = False,
    summary: Annotated[
        Path | None,
        typer.Option("--summary", help="Also write inflation_factor expected_n_h0 expected_n_h01 expected_n_h1."),
    ] = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Boundaries of a group sequential design by recursive numerical integration (as rpact).

    Writes one row per look: look information_rate critical_value nominal_alpha
    cumulative_alpha_spent (with --type-beta-spending also futility_bound and
    cumulative_beta_spent). The inflation factor and expected sample sizes go to the run
    record and to --summary.
    """
    from biolake.discovery.trials.design import design_job

    if kmax < 1:
        raise InputError(f"must be at least 1, got {kmax}", file="--kmax")
    _in_unit("--alpha", alpha)
    _in_unit("--beta", beta)
    if sided not in (1, 2):
        raise InputError(f"must be 1 or 2, got {sided}", file="--sided")
    run_id, name, _, chars = design_job(
        open_lake(lake),
        out=out,
        kmax=kmax,
        alpha=alpha,
        sided=sided,
        type_of_design=type_of_design,
        gamma=gamma,
        information_rates=_rates(information_rates),
        beta=beta,
        type_beta_spending=type_beta_spending,
        gamma_b=gamma_b,
        binding_futility=binding_futility,
        summary=summary,
    )
    say(
        f"wrote {out} (dataset {name}, run {run_id}); inflation factor {chars['inflation_factor']:.6f}",
        quiet=quiet,
    )


@app.command("size")
def size_command(
    out: _OutOpt,
    endpoint: Annotated[str, typer.Option("--endpoint", help="means, rates or survival.")] = "means",
    alpha: Annotated[
        float, typer.Option("--alpha", help="Total type I error (split over both tails if --sided 2).")
    ] = 0.025,
    power: Annotated[float, typer.Option("--power", help="Power 1 - β.")] = 0.8,
    sided: Annotated[int, typer.Option("--sided", help="1 or 2.")] = 1,
    allocation_ratio: Annotated[
        float, typer.Option("--allocation-ratio", help="n1/n2 (rpact's allocationRatioPlanned; 1 = treatment).")
    ] = 1.0,
    alternative: Annotated[float | None, typer.Option("--alternative", help="Means: difference under H1.")] = None,
    stdev: Annotated[float, typer.Option("--stdev", help="Means: standard deviation.")] = 1.0,
    theta_h0: Annotated[float | None, typer.Option("--theta-h0", help="Effect under H0 (rpact's thetaH0).")] = None,
    normal_approximation: Annotated[
        bool, typer.Option("--normal-approximation", help="Means: z test instead of the t test.")
    ] = False,
    pi1: Annotated[float | None, typer.Option("--pi1", help="Rates: event rate of group 1.")] = None,
    pi2: Annotated[
        float | None, typer.Option("--pi2", help="Rates: rate of group 2; survival: event rate at --event-time.")
    ] = None,
    risk_ratio: Annotated[bool, typer.Option("--risk-ratio", help="Rates: test the ratio pi1/pi2.")] = False,
    hazard_ratio: Annotated[
        float | None, typer.Option("--hazard-ratio", help="Survival: hazard ratio under H1.")
    ] = None,
    lambda2: Annotated[float | None, typer.Option("--lambda2", help="Survival: hazard of group 2.")] = None,
    event_time: Annotated[float, typer.Option("--event-time", help="Survival: time of --pi2.")] = 12.0,
    type_of_computation: Annotated[
        str, typer.Option("--type-of-computation", help="Survival: Schoenfeld, Freedman or HsiehFreedman.")
    ] = "Schoenfeld",
    accrual_time: Annotated[float, typer.Option("--accrual-time", help="Survival: uniform accrual duration.")] = 12.0,
    follow_up_time: Annotated[float, typer.Option("--follow-up-time", help="Survival: follow-up after accrual.")] = 6.0,
    dropout_rate1: Annotated[
        float, typer.Option("--dropout-rate1", help="Survival: dropout by --dropout-time, group 1.")
    ] = 0.0,
    dropout_rate2: Annotated[
        float, typer.Option("--dropout-rate2", help="Survival: dropout by --dropout-time, group 2.")
    ] = 0.0,
    dropout_time: Annotated[float, typer.Option("--dropout-time", help="Survival: time of the dropout rates.")] = 12.0,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Sample size of a fixed two-arm trial (as rpact getSampleSizeMeans/Rates/Survival).

    Writes one row: n1 n2 n_total (each arm rounded up), and events for survival.
    """
    from biolake.discovery.trials.size import size_job

    _in_unit("--alpha", alpha)
    _in_unit("--power", power)
    if sided not in (1, 2):
        raise InputError(f"must be 1 or 2, got {sided}", file="--sided")
    if not (math.isfinite(allocation_ratio) and allocation_ratio > 0):
        raise InputError(f"must be > 0, got {allocation_ratio:g}", file="--allocation-ratio")
    options: dict[str, object] = {
        "endpoint": endpoint,
        "alpha": alpha,
        "power": power,
        "sided": sided,
        "allocation_ratio": allocation_ratio,
    }
    if endpoint == "means":
        if alternative is None:
            raise InputError("is required for --endpoint means", file="--alternative")
        options.update(
            alternative=alternative, stdev=stdev, theta_h0=theta_h0, normal_approximation=normal_approximation
        )
    elif endpoint == "rates":
        for flag, value in (("--pi1", pi1), ("--pi2", pi2)):
            if value is None:
                raise InputError("is required for --endpoint rates", file=flag)
        options.update(pi1=pi1, pi2=pi2, risk_ratio=risk_ratio, theta_h0=theta_h0)
    elif endpoint == "survival":
        if hazard_ratio is None:
            raise InputError("is required for --endpoint survival", file="--hazard-ratio")
        options.update(
            hazard_ratio=hazard_ratio,
            lambda2=lambda2,
            pi2=pi2,
            event_time=event_time,
            theta_h0=theta_h0,
            type_of_computation=type_of_computation,
            accrual_time=accrual_time,
            follow_up_time=follow_up_time,
            dropout_rate1=dropout_rate1,
            dropout_rate2=dropout_rate2,
            dropout_time=dropout_time,
        )
    else:
        raise InputError(f"must be means, rates or survival, got {endpoint!r}", file="--endpoint")
    run_id, name, table = size_job(open_lake(lake), out=out, **options)
    row = table.iloc[0]
    say(
        f"wrote {out} (dataset {name}, run {run_id}): n1 {row['n1']}, n2 {row['n2']}, total {row['n_total']}",
        quiet=quiet,
    )


@app.command("simulate")
def simulate_command(
    out: _OutOpt,
    kmax: Annotated[int, typer.Option("--kmax", help="Number of looks K (1 to 20).")] = 3,
    alpha: Annotated[float, typer.Option("--alpha", help="Total type I error, in (0, 1).")] = 0.025,
    sided: Annotated[int, typer.Option("--sided", help="1 or 2.")] = 1,
    type_of_design: Annotated[
        str, typer.Option("--type-of-design", help="OF, P, asOF, asP, asKD or asHSD (rpact's typeOfDesign).")
    ] = "OF",
    gamma: Annotated[float | None, typer.Option("--gamma", help="γ of asKD (0.4 to 8) or asHSD (-10 to 5).")] = None,
    information_rates: Annotated[
        str | None, typer.Option("--information-rates", help="K increasing rates ending with 1, e.g. 0.3,0.6,1.")
    ] = None,
    beta: Annotated[float, typer.Option("--beta", help="Type II error of the design (power 1 - β).")] = 0.2,
    type_beta_spending: Annotated[
        str | None, typer.Option("--type-beta-spending", help="Futility bounds: bsOF, bsP, bsKD or bsHSD.")
    ] = None,
    gamma_b: Annotated[float | None, typer.Option("--gamma-b", help="γ of bsKD or bsHSD.")] = None,
    binding_futility: Annotated[bool, typer.Option("--binding-futility", help="Binding futility bounds.")] = False,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="means, rates or survival (default: the design's alternative).")
    ] = None,
    alternative: Annotated[float | None, typer.Option("--alternative", help="Means: difference under H1.")] = None,
    stdev: Annotated[float, typer.Option("--stdev", help="Means: standard deviation.")] = 1.0,
    theta_h0: Annotated[float | None, typer.Option("--theta-h0", help="Effect under H0 (rpact's thetaH0).")] = None,
    pi1: Annotated[float | None, typer.Option("--pi1", help="Rates: event rate of group 1 under H1.")] = None,
    pi2: Annotated[float | None, typer.Option("--pi2", help="Rates: event rate of group 2.")] = None,
    hazard_ratio: Annotated[
        float | None, typer.Option("--hazard-ratio", help="Survival: hazard ratio under H1.")
    ] = None,
    allocation_ratio: Annotated[float, typer.Option("--allocation-ratio", help="n1/n2.")] = 1.0,
    n_max: Annotated[
        float | None,
        typer.Option("--n-max", help="Maximum total sample size (events for survival); default: the design's."),
    ] = None,
    iterations: Annotated[int, typer.Option("--iterations", help="Simulated trials per hypothesis.")] = 100_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 1,
    patient_level: Annotated[
        bool, typer.Option("--patient-level", help="Means/rates: simulate per-stage patient data.")
    ] = False,
    ignore_futility: Annotated[
        bool, typer.Option("--ignore-futility", help="Do not stop at (non-binding) futility bounds.")
    ] = False,
    summary: Annotated[
        Path | None, typer.Option("--summary", help="Also write one row per hypothesis (rejection, expected n …).")
    ] = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Monte Carlo operating characteristics of a group sequential design (type I error, power,
    expected sample size, stopping probabilities per look), beside the exact values.

    Writes one row per hypothesis (H0, H1) and look: hypothesis look information_rate
    sample_size critical_value futility_bound stop_efficacy stop_futility cumulative_stop
    stop_efficacy_se exact_stop_efficacy exact_stop_futility.
    """
    from biolake.discovery.trials.design import design
    from biolake.discovery.trials.simulate import simulate_job

    if kmax < 1:
        raise InputError(f"must be at least 1, got {kmax}", file="--kmax")
    _in_unit("--alpha", alpha)
    _in_unit("--beta", beta)
    if endpoint not in (None, "means", "rates", "survival"):
        raise InputError(f"must be means, rates or survival, got {endpoint!r}", file="--endpoint")
    if endpoint == "means" and alternative is None:
        raise InputError("is required for --endpoint means", file="--alternative")
    if endpoint == "rates":
        for flag, value in (("--pi1", pi1), ("--pi2", pi2)):
            if value is None:
                raise InputError("is required for --endpoint rates", file=flag)
    if endpoint == "survival" and hazard_ratio is None:
        raise InputError("is required for --endpoint survival", file="--hazard-ratio")
    d = design(
        kmax=kmax,
        alpha=alpha,
        sided=sided,
        type_of_design=type_of_design,
        gamma=gamma,
        information_rates=_rates(information_rates),
        beta=beta,
        type_beta_spending=type_beta_spending,
        gamma_b=gamma_b,
        binding_futility=binding_futility,
    )
    effect = {
        "means": {"alternative": alternative, "stdev": stdev, "theta_h0": theta_h0},
        "rates": {"pi1": pi1, "pi2": pi2, "theta_h0": theta_h0},
        "survival": {"hazard_ratio": hazard_ratio, "theta_h0": theta_h0},
    }.get(endpoint or "", {})
    if endpoint is not None:
        effect["allocation_ratio"] = allocation_ratio
    run_id, name, _, summ = simulate_job(
        open_lake(lake),
        d,
        out=out,
        summary=summary,
        iterations=iterations,
        seed=seed,
        endpoint=endpoint,
        n_max=n_max,
        patient_level=patient_level,
        ignore_futility=ignore_futility,
        **effect,
    )
    h0, h1 = summ.iloc[0], summ.iloc[1]
    say(
        f"wrote {out} (dataset {name}, run {run_id}): type I error {h0['rejection']:.5f} "
        f"(exact {h0['exact_rejection']:.5f}), power {h1['rejection']:.4f} (exact {h1['exact_rejection']:.4f})",
        quiet=quiet,
    )


@app.command("enrollment")
def enrollment_command(
    out: _OutOpt,
    sites: Annotated[int, typer.Option("--sites", help="Number of sites.")],
    rate: Annotated[float, typer.Option("--rate", help="Mean recruitment rate per site (patients/site/month).")],
    target: Annotated[int, typer.Option("--target", help="Patients to recruit.")],
    shape: Annotated[
        float, typer.Option("--shape", help="Gamma shape of the site rates (CV 1/√shape); inf for fixed rates.")
    ] = 2.0,
    site_start: Annotated[
        str | None,
        typer.Option("--site-start", help="Site opening times (months): T, A:B (evenly spread) or one per site."),
    ] = None,
    iterations: Annotated[int, typer.Option("--iterations", help="Monte Carlo iterations.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 1,
    level: Annotated[float, typer.Option("--level", help="Prediction interval level.")] = 0.9,
    curve: Annotated[
        Path | None,
        typer.Option("--curve", help="Also write the recruitment band: time n_lower n_median n_upper n_mean."),
    ] = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Time to recruit --target patients across sites (Poisson–gamma model, Anisimov & Fedorov).

    Writes one row: target sites time_median time_lower time_upper time_mean level iterations
    (months; the prediction interval at --level).
    """
    from biolake.discovery.trials.enrollment import enrollment_job, parse_site_start

    if sites < 1:
        raise InputError(f"must be at least 1, got {sites}", file="--sites")
    if not (math.isfinite(rate) and rate > 0):
        raise InputError(f"must be > 0, got {rate:g}", file="--rate")
    if target < 1:
        raise InputError(f"must be at least 1, got {target}", file="--target")
    _in_unit("--level", level)
    run_id, name, summ, _ = enrollment_job(
        open_lake(lake),
        out=out,
        curve=curve,
        sites=sites,
        rate=rate,
        target=target,
        shape=shape,
        site_start=parse_site_start(site_start, sites),
        iterations=iterations,
        seed=seed,
        level=level,
    )
    row = summ.iloc[0]
    say(
        f"wrote {out} (dataset {name}, run {run_id}): {target} patients in {row['time_median']:.2f} months "
        f"({level:.0%} interval {row['time_lower']:.2f}–{row['time_upper']:.2f})",
        quiet=quiet,
    )


@app.command("match")
def match_command(
    out: _OutOpt,
    omop: Annotated[Path, typer.Option("--omop", help="Directory of OMOP CDM v5.4 tables (CSV or Parquet).")],
    criteria: Annotated[Path, typer.Option("--criteria", help="Eligibility criteria (YAML).")],
    funnel: Annotated[
        Path | None, typer.Option("--funnel", help="Also write the attrition funnel: criterion kind remaining removed.")
    ] = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Eligible persons of an OMOP CDM for YAML eligibility criteria (compiled to SQL, run by DuckDB).

    Writes the eligible person_id (one column); --funnel the persons remaining after each criterion.
    """
    from biolake.discovery.trials.match import match_job

    run_id, name, eligible, table = match_job(open_lake(lake), omop=omop, criteria=criteria, out=out, funnel=funnel)
    say(
        f"wrote {out} (dataset {name}, run {run_id}): {len(eligible)} of {table['remaining'].iloc[0]} persons eligible",
        quiet=quiet,
    )
