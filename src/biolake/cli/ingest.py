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


@app.command("molecules")
def molecules(
    file: Annotated[Path, typer.Argument(help="SMILES (.smi), CSV/TSV with a SMILES column, or SDF; .gz too.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name (also NAME_fp, NAME_rejects).")],
    fp: Annotated[
        str,
        typer.Option(
            "--fp", help="morganR:BITS, featmorganR:BITS, morgancountR:BITS, rdkit:BITS, atompair:BITS or maccs."
        ),
    ] = "morgan2:2048",
    id_col: Annotated[str | None, typer.Option("--id-col", help="CSV/TSV id column (default: id, name).")] = None,
    smiles_col: Annotated[
        str | None, typer.Option("--smiles-col", help="CSV/TSV SMILES column (default: smiles).")
    ] = None,
    id_prop: Annotated[str | None, typer.Option("--id-prop", help="SDF data field of the id (default: title).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Stop at the first record RDKit cannot read.")] = False,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Ingest molecules: properties table, packed fingerprints, rejects."""
    from biolake.cli._common import state
    from biolake.io.molecules import ingest_molecules

    info = ingest_molecules(
        open_lake(lake),
        file,
        name=name,
        fp=fp,
        id_col=id_col,
        smiles_col=smiles_col,
        id_prop=id_prop,
        strict=strict,
        scheduler=state.scheduler,
        progress=progress(quiet),
    )
    say(
        f"ingested {info.name}: {info.attrs['n_molecules']} molecules, {info.attrs['n_rejects']} rejects "
        f"(run {info.run_id})",
        quiet=quiet,
    )


@app.command("counts")
def counts(
    file: Annotated[Path, typer.Argument(help="Count matrix: CSV/TSV (.gz too), gene id then one column per sample.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name in the lake.")],
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Ingest a gene x sample count matrix as dataset NAME (plus NAME_genes and NAME_samples)."""
    from biolake.io.counts import ingest_counts

    info = ingest_counts(open_lake(lake), file, name=name, progress=progress(quiet))
    say(f"ingested {info.name}: {info.shape[0]} genes x {info.shape[1]} samples (run {info.run_id})", quiet=quiet)


@app.command("images")
def images(
    directory: Annotated[Path, typer.Argument(help="Folder tree of DICOM files and/or NIfTI volumes.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name (arrays NAME, table NAME_meta).")],
    mask_dir: Annotated[Path | None, typer.Option(help="Folder of masks (RTSTRUCT, NIfTI).")] = None,
    keep_phi: Annotated[bool, typer.Option(help="Keep original identifiers (no de-identification).")] = False,
    resample: Annotated[bool, typer.Option(help="Resample series with uneven slice spacing.")] = False,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
    header_only: Annotated[
        bool, typer.Option(help="Read headers only: register NAME_meta, no voxels (no NAME arrays, no masks).")
    ] = False,
) -> None:
    """Ingest DICOM series and NIfTI volumes (de-identified unless --keep-phi)."""
    from biolake.io.images import ingest_images

    def skip(file: str, problem: str) -> None:
        typer.echo(f"warning: {file}: {problem}, skipped", err=True)

    info = ingest_images(
        open_lake(lake),
        directory,
        name=name,
        mask_dir=mask_dir,
        keep_phi=keep_phi,
        resample_nonuniform=resample,
        on_skip=skip,
        progress=progress(quiet),
        header_only=header_only,
    )
    if header_only:
        say(f"read the headers of {info.n_rows} image volume(s) into {info.name} (run {info.run_id})", quiet=quiet)
        return
    say(f"ingested {info.n_rows} image volume(s) as {name} and {info.name} (run {info.run_id})", quiet=quiet)


from biolake.cli.proteomics import ingest_proteomics as _ingest_proteomics  # noqa: E402

app.command("proteomics")(_ingest_proteomics)
