"""``biolake precision signals``: disproportionality and MGPS for every drug–event pair.

The command is registered on the ``precision`` Typer app in :mod:`biolake.cli.precision`
(``app.command("signals")(signals_command)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, open_lake, progress, say

__all__ = ["signals_command"]


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def signals_command(
    reports: Annotated[
        str,
        typer.Argument(
            help="A folder of FAERS quarterly files (DEMO*, DRUG*, REAC* … as $-delimited .txt, .csv or .parquet), "
            "or one CSV/TSV/Parquet table (or lake:NAME) with id, var1 (drug), var2 (event) and optional strat* "
            "columns."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Result file (.parquet, .csv or .tsv), also registered.")],
    stratify: Annotated[
        str | None,
        typer.Option(
            help="Strata for the expected counts: FAERS age,sex,year; a table's columns [default: its strat* "
            "columns]; 'none' for unstratified."
        ),
    ] = None,
    roles: Annotated[str, typer.Option(help="FAERS drug roles kept (PS, SS, C, I), comma-separated.")] = "PS,SS",
    drug_name: Annotated[
        str, typer.Option(help="FAERS drug name: prod_ai (active ingredient, else drugname) or drugname.")
    ] = "prod_ai",
    drug_map: Annotated[
        Path | None, typer.Option(help="CSV with columns name,ingredient mapping FAERS drug names (brands, salts).")
    ] = None,
    max_points: Annotated[int, typer.Option(help="Squash the (n, expected) points above this many pairs.")] = 20_000,
    threads: Annotated[int, typer.Option(help="Threads for DuckDB and the posterior.")] = 2,
    memory_limit: Annotated[
        str | None, typer.Option(help="DuckDB memory limit, e.g. 4GB [default: $BIOLAKE_DUCKDB_MEMORY or 2GB].")
    ] = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Signals for every drug–event pair: PRR, ROR, IC, EBGM (openEBGM's MGPS) and the default rules.

    Writes one row per pair with at least one report: drug event n expected prr prr_chi2
    ror ror_lo ror_hi ic ic025 ebgm eb05 eb95 signal.
    """
    from biolake.precision.signals import signals_job

    opened = open_lake(lake)
    strata = None if stratify is None else _split(stratify)
    run_id, name = signals_job(
        opened,
        reports,
        out=out,
        stratify=strata,
        roles=_split(roles),
        drug_name=drug_name,
        drug_map=drug_map,
        max_points=max_points,
        threads=threads,
        memory_limit=memory_limit,
        progress=progress(quiet),
    )
    say(f"wrote {out} (dataset {name}, run {run_id})", quiet=quiet)
