"""``biolake ingest <format>``: external files into the lake."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, QuietOpt, open_lake, progress, say
from biolake.errors import InputError
from biolake.io import ingest_table

app = typer.Typer(help="Bring files into the lake.", no_args_is_help=True)


def _parse_types(types: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (types or "").split(","):
        if not item.strip():
            continue
        col, sep, typ = item.partition("=")
        if not sep or not col.strip() or not typ.strip():
            raise InputError(f"expected COLUMN=TYPE pairs separated by commas; got {item!r}", file="--types")
        out[col.strip()] = typ.strip().upper()
    return out


@app.command("table")
def table(
    file: Annotated[Path, typer.Argument(help="CSV/TSV (.gz too) or Parquet file.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name in the lake.")],
    delimiter: Annotated[str | None, typer.Option(help="Field delimiter [default: by extension].")] = None,
    types: Annotated[str | None, typer.Option(help="Column types, e.g. 'id=VARCHAR,dose=DOUBLE'.")] = None,
    sample_rows: Annotated[int, typer.Option(help="Rows used to infer types; -1 for the whole file.")] = 20_480,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Ingest a table file, streaming (bounded memory), as dataset NAME."""
    opened = open_lake(lake)
    info = ingest_table(
        opened,
        file,
        name=name,
        delimiter=delimiter,
        types=_parse_types(types),
        sample_rows=sample_rows,
        progress=progress(quiet),
    )
    say(f"ingested {info.name}: {info.n_rows} rows, {len(info.schema)} columns (run {info.run_id})", quiet=quiet)
