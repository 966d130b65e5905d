"""``biolake lake init|ls|info|rm|sql``: the lake itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

import duckdb
import pyarrow as pa
import typer

from biolake.cli._common import LakeOpt, OutOpt, QuietOpt, open_lake, progress, say, stdout_is_tty, write_out
from biolake.lake.catalog import sql_input_error
from biolake.lake.progress import ProgressTask

app = typer.Typer(help="Create and inspect the lake: datasets, SQL.", no_args_is_help=True)


@app.command("init")
def init(lake: LakeOpt = None, quiet: QuietOpt = False) -> None:
    """Create a lake (or check an existing one) and print its path."""
    opened = open_lake(lake)
    typer.echo(str(opened.root))
    say(f"{len(opened.names())} datasets", quiet=quiet)


def _size(info: object) -> str:
    n_rows = getattr(info, "n_rows", None)
    shape = getattr(info, "shape", None)
    if n_rows is not None:
        return f"{n_rows} rows"
    return "x".join(str(s) for s in shape or [])


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@app.command("ls")
def ls(lake: LakeOpt = None) -> None:
    """List datasets: name first, then kind, size, bytes and creation time (UTC)."""
    infos = open_lake(lake).datasets()
    width = max((len(i.name) for i in infos), default=0)
    for i in infos:
        created = i.created.strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(f"{i.name:<{width}}  {i.kind:<5}  {_size(i):>14}  {_bytes(i.bytes):>9}  {created}")


@app.command("info")
def info(name: Annotated[str, typer.Argument(help="Dataset name (or lake:NAME).")], lake: LakeOpt = None) -> None:
    """Show a dataset's catalog entry and schema as JSON."""
    typer.echo(json.dumps(open_lake(lake).info(name).to_dict(), indent=2, default=str))


@app.command("rm")
def rm(
    names: Annotated[list[str], typer.Argument(help="Dataset names.")], lake: LakeOpt = None, quiet: QuietOpt = False
) -> None:
    """Remove datasets (catalog entry and data)."""
    opened = open_lake(lake)
    for n in names:
        opened.info(n)  # every name is checked before anything is removed
    for n in names:
        opened.drop(n)
        say(f"removed {n}", quiet=quiet)


@app.command("sql")
def sql(
    query: Annotated[str, typer.Argument(help="SQL over the lake's tables, each a view by its dataset name.")],
    out: OutOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
    max_rows: Annotated[int, typer.Option(help="Rows shown on the terminal when there is no --out.")] = 50,
) -> None:
    """Run a SQL query (DuckDB dialect) over the lake's tables.

    With --out the whole result is streamed to the file (header row, then rows) and
    registered in the lake; without it the result is printed (CSV when piped).
    """
    opened = open_lake(lake)
    with opened.connect() as con:
        try:
            reader = con.sql(query).to_arrow_reader(65_536)
        except duckdb.Error as exc:
            raise sql_input_error(exc) from None
        if out is not None:
            with (
                opened.run("lake sql", params={"query": query, "out": str(out)}) as run,
                progress(quiet).task(f"Writing {out.name}") as task,
            ):
                write_out(run, _counted(_checked_batches(reader), task), out, schema=reader.schema)
            say(f"wrote {out}", quiet=quiet)
            return
        table = pa.Table.from_batches(list(_checked_batches(reader)), schema=reader.schema)
    _print_table(table, max_rows=max_rows)


def _counted(batches: Iterator[pa.RecordBatch], task: ProgressTask) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        task.advance(batch.num_rows)
        yield batch


def _checked_batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """The query's batches; an error DuckDB raises while they stream is the query's fault (exit 2)."""
    batches = iter(reader)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (duckdb.Error, pa.ArrowException, OSError) as exc:  # pyarrow reraises DuckDB's as OSError
            raise sql_input_error(exc) from None
        yield batch


def _print_table(table: object, *, max_rows: int) -> None:
    import sys

    from biolake.lake.tables import delimited_header, delimited_rows

    assert isinstance(table, pa.Table)
    if not stdout_is_tty():
        out = sys.stdout.buffer
        out.write(delimited_header(table.schema, ","))
        for batch in table.to_batches(max_chunksize=65_536):
            out.write(delimited_rows(batch, ","))
        out.flush()
        return
    from rich.console import Console
    from rich.table import Table

    shown = Table(show_lines=False)
    for name in table.column_names:
        shown.add_column(name)
    for row in table.slice(0, max_rows).to_pylist():
        shown.add_row(*("" if v is None else str(v) for v in row.values()))
    console = Console()
    console.print(shown)
    if table.num_rows > max_rows:
        console.print(f"({max_rows} of {table.num_rows} rows shown; use --out FILE for all)")
