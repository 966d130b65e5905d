"""``biolake discovery similar|substructure``: virtual screening of molecule libraries in the lake."""

from __future__ import annotations

from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, OutOpt, QuietOpt, SchedulerOpt, open_lake, progress, say, state

app = typer.Typer(
    help="Drug discovery: molecule search (similarity, substructure) and clinical-trial design.", no_args_is_help=True
)


@app.command("similar")
def similar_command(
    library: Annotated[str, typer.Argument(help="Molecule library: lake:NAME (from 'biolake ingest molecules').")],
    query: Annotated[
        list[str],
        typer.Option("--query", help="A SMILES or a molecule file (.smi/.csv/.tsv/.sdf, .gz too); repeatable."),
    ],
    top_k: Annotated[
        int | None, typer.Option("--top-k", help="Best K hits per query (default: 100 without --threshold).")
    ] = None,
    threshold: Annotated[float | None, typer.Option(help="Keep hits with similarity >= T (0 < T <= 1).")] = None,
    metric: Annotated[str, typer.Option(help="tanimoto, dice or tversky.")] = "tanimoto",
    alpha: Annotated[float, typer.Option(help="Tversky weight of the query's own bits.")] = 0.5,
    beta: Annotated[float, typer.Option(help="Tversky weight of the library molecule's own bits.")] = 0.5,
    out: OutOpt = None,
    scheduler: SchedulerOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Find the library molecules most similar to each query (exact RDKit scores).

    Output columns: query, id, similarity, rank, smiles; ordered by query, then
    similarity descending, ties by id.
    """
    from biolake.discovery.similarity import similar

    opened = open_lake(lake)
    q: str | list[str] = query[0] if len(query) == 1 else list(query)
    df = similar(
        opened,
        library,
        q,
        top_k=top_k,
        threshold=threshold,
        metric=metric,
        alpha=alpha,
        beta=beta,
        out=out,
        scheduler=scheduler or state.scheduler,
        progress=progress(quiet),
    )
    if out is None:
        typer.echo(df.to_csv(index=False), nl=False)
    else:
        say(f"wrote {out}: {len(df)} hits for {df['query'].nunique()} queries", quiet=quiet)


@app.command("substructure")
def substructure_command(
    library: Annotated[str, typer.Argument(help="Molecule library: lake:NAME (from 'biolake ingest molecules').")],
    smarts: Annotated[str, typer.Option("--smarts", help="The substructure as a SMARTS pattern.")],
    out: OutOpt = None,
    scheduler: SchedulerOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List the library molecules that contain a substructure (RDKit HasSubstructMatch).

    Output columns: id, smiles, row (in library order).
    """
    from biolake.discovery.substructure import substructure

    df = substructure(
        open_lake(lake), library, smarts, out=out, scheduler=scheduler or state.scheduler, progress=progress(quiet)
    )
    if out is None:
        typer.echo(df.to_csv(index=False), nl=False)
    else:
        say(f"wrote {out}: {len(df)} molecules contain {smarts}", quiet=quiet)


from biolake.cli.trial import app as _trial_app  # noqa: E402  (registers "discovery trial …")

app.add_typer(_trial_app, name="trial")

from biolake.cli.targets import targets_command  # noqa: E402  (registers "discovery targets")

app.command("targets")(targets_command)

from biolake.cli.screening import cluster_command, filter_command, model_app  # noqa: E402  (screening commands)

app.command("filter")(filter_command)
app.command("cluster")(cluster_command)
app.add_typer(model_app, name="model")

from biolake.cli.dock import dock_command  # noqa: E402  (registers "discovery dock")

app.command("dock")(dock_command)
