"""``biolake precision cohort``: a new-user comparative cohort study on an OMOP CDM (as OHDSI CohortMethod).

The command is registered on the ``precision`` Typer app in :mod:`biolake.cli.precision`
(``app.command("cohort")(cohort_command)``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, open_lake, progress, say
from biolake.errors import InputError

__all__ = ["cohort_command"]


def _ids(value: str, option: str) -> tuple[int, ...]:
    try:
        ids = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise InputError(f"expected comma-separated integer concept ids; got {value!r}", file=option) from None
    if not ids:
        raise InputError("no concept id given", file=option)
    return ids


def cohort_command(
    omop: Annotated[Path, typer.Option("--omop", help="Directory of OMOP CDM v5.4 tables (.parquet or .csv).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Estimate table (.parquet, .csv or .tsv), also registered.")],
    study: Annotated[
        Path | None, typer.Option("--study", help="Study YAML (target, comparator, outcomes, … see docs/cohort.md).")
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Target drug concept ids, comma-separated (descendants included).")
    ] = None,
    comparator: Annotated[
        str | None, typer.Option("--comparator", help="Comparator drug concept ids, comma-separated.")
    ] = None,
    outcome: Annotated[
        list[str] | None,
        typer.Option("--outcome", help="Outcome condition concept ids, comma-separated; repeat for more outcomes."),
    ] = None,
    negative_controls: Annotated[
        Path | None,
        typer.Option("--negative-controls", help="CSV (concept_id[,name]) or YAML list of negative-control outcomes."),
    ] = None,
    washout: Annotated[int | None, typer.Option("--washout", help="Days of prior observation [365].")] = None,
    lookback: Annotated[int | None, typer.Option("--lookback", help="Covariate window in days [365].")] = None,
    ps_match: Annotated[
        int | None, typer.Option("--ps-match", help="Match up to N comparators per target on the PS [1].")
    ] = None,
    ps_strata: Annotated[int | None, typer.Option("--ps-strata", help="Stratify on PS quantiles instead.")] = None,
    caliper: Annotated[float | None, typer.Option("--caliper", help="Caliper in SDs of the logit PS [0.2].")] = None,
    balance: Annotated[
        Path | None, typer.Option("--balance", help="Balance table file [OUT with _balance before the extension].")
    ] = None,
    attrition: Annotated[
        Path | None, typer.Option("--attrition", help="Attrition table file [OUT with _attrition].")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the PS cross-validation folds.")] = 0,
    threads: Annotated[int | None, typer.Option("--threads", help="DuckDB threads.")] = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """New-user cohort study: L1 propensity score, matching or stratification, balance, stratified Cox HR.

    Writes the estimates (outcome hr ci_lower ci_upper p calibrated_p … one row per outcome
    and negative control), the covariate balance (SMD before/after) and the attrition table.
    """
    from biolake.precision.cohort import cohort_job
    from biolake.precision.cohort.cohorts import (
        ConceptSet,
        Study,
        load_negative_controls,
        load_study,
        validate_study,
    )

    if study is not None:
        spec = load_study(study)
        if target or comparator or outcome:
            raise InputError("give either --study or --target/--comparator/--outcome, not both", file="--study")
    else:
        if not (target and comparator and outcome):
            raise InputError("--target, --comparator and --outcome are needed without --study", file="--target")
        spec = Study(
            target=ConceptSet("target", _ids(target, "--target")),
            comparator=ConceptSet("comparator", _ids(comparator, "--comparator")),
            outcomes=[ConceptSet(o.replace(" ", ""), _ids(o, "--outcome")) for o in outcome],
        )
    changes: dict[str, object] = {}
    if washout is not None:
        changes["washout"] = washout
    if lookback is not None:
        changes["lookback"] = lookback
    if ps_strata is not None:
        changes |= {"ps_strata": ps_strata, "ps_match": None}
    if ps_match is not None:
        changes |= {"ps_match": ps_match, "ps_strata": None}
    if ps_match is not None and ps_strata is not None:
        raise InputError("give one of --ps-match and --ps-strata", file="--ps-match")
    if caliper is not None:
        changes["caliper"] = caliper
    if negative_controls is not None:
        changes["negative_controls"] = load_negative_controls(negative_controls)
    for key, value in (("washout", washout), ("lookback", lookback), ("ps-match", ps_match), ("ps-strata", ps_strata)):
        if value is not None and value < (1 if key.startswith("ps") else 0):
            raise InputError(f"must be >= {1 if key.startswith('ps') else 0}; got {value}", file=f"--{key}")
    spec = dataclasses.replace(spec, **changes)  # type: ignore[arg-type]
    validate_study(spec, source="command line")
    opened = open_lake(lake)
    run_id, name = cohort_job(
        opened,
        omop,
        spec,
        out=out,
        balance_out=balance,
        attrition_out=attrition,
        seed=seed,
        threads=threads,
        progress=progress(quiet),
    )
    say(f"wrote {out} (dataset {name}, run {run_id})", quiet=quiet)
