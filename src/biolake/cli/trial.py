"""``biolake discovery trial design|size``: group sequential designs and sample sizes (as R rpact)."""

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
