"""``biolake precision …``: personalized medicine (``risk survival``; other commands join ``app``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, open_lake, progress, say

app = typer.Typer(help="Personalized medicine: risk models, survival, real-world evidence.", no_args_is_help=True)
risk_app = typer.Typer(help="Predictive analytics: clinical risk and survival models.", no_args_is_help=True)
app.add_typer(risk_app, name="risk")


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@risk_app.command("survival")
def survival(
    data: Annotated[str, typer.Option("--data", help="Patients: a CSV/TSV/Parquet file or lake:NAME.")],
    time: Annotated[str, typer.Option("--time", help="Follow-up time column.")],
    event: Annotated[str, typer.Option("--event", help="Event column: 1 = event, 0 = censored (see --event-coding).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Cox table file (.parquet, .csv or .tsv), also registered.")],
    covars: Annotated[
        str | None,
        typer.Option("--covars", help="Cox covariates, comma-separated; text columns are one-hot coded."),
    ] = None,
    group: Annotated[
        str | None, typer.Option("--group", help="Column defining the Kaplan–Meier curves and the log-rank test.")
    ] = None,
    event_coding: Annotated[
        str, typer.Option("--event-coding", help="Censored,event codes of the event column: 0,1 or R's 1,2.")
    ] = "0,1",
    km: Annotated[Path | None, typer.Option("--km", help="Also write the Kaplan–Meier table to FILE.")] = None,
    logrank: Annotated[
        Path | None, typer.Option("--logrank", help="Also write the log-rank test (needs --group) to FILE.")
    ] = None,
    zph: Annotated[
        Path | None,
        typer.Option("--zph", help="Also write the proportional-hazards test (R cox.zph; needs --covars) to FILE."),
    ] = None,
    conf_int: Annotated[float, typer.Option("--conf-int", help="Confidence level of the intervals.")] = 0.95,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Kaplan–Meier, log-rank, Cox proportional hazards (Efron ties, robust SE) and cox.zph, as R survival.

    The Cox table (--out) has columns term coef se robust_se z p hazard_ratio ci_lower
    ci_upper; the Kaplan–Meier table (--km) group time n_risk n_event survival std_err
    ci_lower ci_upper. Rows with a missing time, event or covariate are dropped.
    """
    from biolake.precision.survival import survival_job

    opened = open_lake(lake)
    run_id, name = survival_job(
        opened,
        data,
        out=out,
        time=time,
        event=event,
        covars=_split(covars),
        group=group,
        event_coding=event_coding,
        km_out=km,
        logrank_out=logrank,
        zph_out=zph,
        conf_int=conf_int,
        progress=progress(quiet),
    )
    say(f"wrote {out} (dataset {name}, run {run_id})", quiet=quiet)


from biolake.cli.signals import signals_command  # noqa: E402

app.command("signals")(signals_command)

from biolake.cli.pgx import pgx_command, pgx_data_command  # noqa: E402

app.command("pgx")(pgx_command)
app.command("pgx-data")(pgx_data_command)

from biolake.cli.prs import prs_command  # noqa: E402

app.command("prs")(prs_command)

from biolake.cli.risk import risk_predict_command, risk_train_command  # noqa: E402

risk_app.command("train")(risk_train_command)
risk_app.command("predict")(risk_predict_command)

from biolake.cli.cohort import cohort_command  # noqa: E402

app.command("cohort")(cohort_command)
