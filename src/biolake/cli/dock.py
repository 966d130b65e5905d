"""``biolake discovery dock``: structure-based screening with AutoDock Vina (registered from cli/discovery.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from biolake.cli._common import LakeOpt, OutOpt, QuietOpt, SchedulerOpt, open_lake, progress, say, state

__all__ = ["dock_command"]


def dock_command(
    receptor: Annotated[Path, typer.Option("--receptor", help="Receptor PDBQT file (prepared for Vina).")],
    ligands: Annotated[
        str, typer.Option("--ligands", help="lake:NAME or a CSV/TSV/Parquet file with id and smiles columns.")
    ],
    center: Annotated[str, typer.Option("--center", help="Box centre x,y,z in Å.")],
    size: Annotated[str, typer.Option("--size", help="Box edge lengths x,y,z in Å.")],
    top: Annotated[int | None, typer.Option("--top", help="Dock the first N ligands (default: all).")] = None,
    exhaustiveness: Annotated[int, typer.Option("--exhaustiveness", help="Vina's search effort.")] = 8,
    n_poses: Annotated[int, typer.Option("--n-poses", help="Poses kept per ligand (1-20).")] = 1,
    energy_range: Annotated[
        float, typer.Option("--energy-range", help="Keep poses within this many kcal/mol of the best.")
    ] = 3.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the conformers and of Vina's search.")] = 1,
    id_col: Annotated[str, typer.Option("--id-col", help="Ligand id column.")] = "id",
    smiles_col: Annotated[str, typer.Option("--smiles-col", help="SMILES column.")] = "smiles",
    out: OutOpt = None,
    scheduler: SchedulerOpt = None,
    lake: LakeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Dock the top ligands of a library into a receptor with AutoDock Vina.

    Output columns: id, smiles, pose, score (kcal/mol, lower is better), inter, intra, rank,
    pose_pdbqt, pose_sdf; ligands that cannot be prepared go to the <out>_rejects table with
    their reason.
    """
    from biolake.discovery.dock import dock

    df = dock(
        open_lake(lake),
        ligands,
        receptor=receptor,
        center=center,
        size=size,
        top=top,
        exhaustiveness=exhaustiveness,
        n_poses=n_poses,
        energy_range=energy_range,
        seed=seed,
        id_col=id_col,
        smiles_col=smiles_col,
        out=out,
        scheduler=scheduler or state.scheduler,
        progress=progress(quiet),
    )
    if out is None:
        typer.echo(df.drop(columns=["pose_pdbqt", "pose_sdf"]).to_csv(index=False), nl=False)
    else:
        say(f"wrote {out}: {df['id'].nunique()} ligands docked, {len(df)} poses", quiet=quiet)
