"""Structure-based screening: dock the top hits of a library with AutoDock Vina.

``biolake discovery dock --receptor FILE.pdbqt --ligands LIBRARY --center x,y,z --size x,y,z
--top N --out FILE`` takes the first ``N`` distinct molecules of ``LIBRARY`` (a lake table or a
CSV/TSV/Parquet file with ``id`` and ``smiles`` columns — a molecule library, or a ranked
result such as ``discovery similar``'s or ``discovery model score``'s joined to SMILES — in
table order), prepares each ligand and docks it into the box with the ``vina`` Python package
(Eberhardt et al. 2021, the Vina 1.2 scoring function).

Ligand preparation (each step's failure rejects the ligand with its reason; the batch goes on):

1. RDKit parses the SMILES; for salts and mixtures the largest fragment is docked
   (``rdMolStandardize.LargestFragmentChooser``).
2. Hydrogens are added and one conformer is embedded by ETKDG v3 with ``random_seed``, then
   relaxed by MMFF94 (UFF when MMFF has no parameters).
3. Meeko (``MoleculePreparation``, ``PDBQTWriterLegacy``) assigns AutoDock atom types, merges
   non-polar hydrogens and writes the torsion tree as PDBQT.

Docking: one ``Vina(sf_name="vina", seed=seed)`` per worker computes the affinity maps of the
box once and docks its ligands one after another (``exhaustiveness``, ``n_poses``,
``energy_range`` as Vina's options). The same seed gives the same poses and scores with 1, 2 or
N workers and on Dask, because every ligand's search starts from the same seed. ``score`` is
Vina's estimated free energy of binding (kcal/mol; lower is better) — exactly what
``vina --score_only`` reports for the pose (tested against Debian's ``vina`` 1.2.3).

Output, one row per pose: ``id smiles pose score inter intra rank pose_pdbqt pose_sdf``
(``inter``/``intra``: Vina's intermolecular and intramolecular energy terms; ``rank``: the
ligand's rank by its best score, ties by id; ``pose_pdbqt`` as Vina writes it, ``pose_sdf``
the pose with all hydrogens as an MDL molblock, by Meeko's ``RDKitMolCreate``). Rejected
ligands are registered in the lake as ``<out stem>_rejects`` (``id smiles reason``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from biolake.errors import InputError, check_param
from biolake.lake import Lake
from biolake.lake.backend import get_backend
from biolake.lake.progress import NullProgress, Progress

__all__ = ["DockSettings", "dock", "dock_ligands", "prepare_ligand", "score_pose"]

COLUMNS = ("id", "smiles", "pose", "score", "inter", "intra", "rank", "pose_pdbqt", "pose_sdf")
_EXTRA = "the docking extra is not installed: pip install 'biolake[docking]' (vina, meeko, gemmi)"


def _import_vina() -> Any:
    try:
        import meeko  # noqa: F401
        from vina import Vina
    except ImportError:
        raise InputError(_EXTRA, file="--receptor") from None
    return Vina


@dataclass(frozen=True)
class DockSettings:
    """What every worker needs (picklable)."""

    receptor: str
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    exhaustiveness: int = 8
    n_poses: int = 1
    energy_range: float = 3.0
    seed: int = 1
    cpu: int = 1


# ----------------------------------------------------------------------------- preparation
def prepare_ligand(smiles: str, *, seed: int = 1) -> str:
    """PDBQT text of one ligand (see the module); raises ``ValueError`` with the reason."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem import AllChem
    from rdkit.Chem.MolStandardize import rdMolStandardize

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError("RDKit cannot parse the SMILES")
    if len(Chem.GetMolFrags(mol)) > 1:
        mol = rdMolStandardize.LargestFragmentChooser().choose(mol)
    if mol.GetNumHeavyAtoms() < 2:
        raise ValueError("fewer than 2 heavy atoms")
    mol = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    if AllChem.EmbedMolecule(mol, params) != 0:
        params.useRandomCoords = True
        if AllChem.EmbedMolecule(mol, params) != 0:
            raise ValueError("no 3-D conformer could be embedded (ETKDG)")
    if AllChem.MMFFHasAllMoleculeParams(mol):
        AllChem.MMFFOptimizeMolecule(mol, maxIters=2000)
    elif AllChem.UFFHasAllMoleculeParams(mol):
        AllChem.UFFOptimizeMolecule(mol, maxIters=2000)
    else:
        raise ValueError("no MMFF94 or UFF parameters for an atom")
    from meeko import MoleculePreparation, PDBQTWriterLegacy

    try:
        setups = MoleculePreparation().prepare(mol)
    except Exception as exc:  # meeko raises plain exceptions for unsupported chemistry
        raise ValueError(f"Meeko cannot prepare it: {' '.join(str(exc).split())[:200]}") from None
    if len(setups) != 1:
        raise ValueError(f"Meeko made {len(setups)} molecule setups, expected 1")
    pdbqt, ok, err = PDBQTWriterLegacy.write_string(setups[0])
    if not ok:
        raise ValueError(f"Meeko cannot write PDBQT: {' '.join(str(err).split())[:200]}")
    return pdbqt


def _pose_sdf(pdbqt: str) -> str:
    from meeko import PDBQTMolecule, RDKitMolCreate
    from rdkit import Chem

    try:
        mols = RDKitMolCreate.from_pdbqt_mol(PDBQTMolecule(pdbqt, skip_typing=True))
    except Exception:  # the pose is still kept as PDBQT
        return ""
    return Chem.MolToMolBlock(mols[0]) if mols and mols[0] is not None else ""


def _split_models(text: str) -> list[str]:
    poses, cur = [], []
    for line in text.splitlines(keepends=True):
        cur.append(line)
        if line.startswith("ENDMDL"):
            poses.append("".join(cur))
            cur = []
    if cur and any(s.strip() for s in cur):
        poses.append("".join(cur))
    return poses


# ----------------------------------------------------------------------------- worker
def _new_vina(settings: DockSettings) -> Any:
    Vina = _import_vina()
    v = Vina(sf_name="vina", cpu=settings.cpu, seed=settings.seed, verbosity=0)
    v.set_receptor(settings.receptor)
    v.compute_vina_maps(center=list(settings.center), box_size=list(settings.size))
    return v


def dock_ligands(batch: Sequence[tuple[str, str]], *, settings: DockSettings) -> tuple[list[dict], list[dict]]:
    """Dock ``(id, smiles)`` pairs: pose rows and rejects (``id smiles reason``)."""
    rows: list[dict] = []
    rejects: list[dict] = []
    v = None
    for lig_id, smiles in batch:
        try:
            pdbqt = prepare_ligand(smiles, seed=settings.seed)
        except ValueError as exc:
            rejects.append({"id": lig_id, "smiles": smiles, "reason": str(exc)})
            continue
        if v is None:
            v = _new_vina(settings)
        try:
            v.set_ligand_from_string(pdbqt)
            v.dock(exhaustiveness=settings.exhaustiveness, n_poses=max(settings.n_poses, 1))
            energies = np.asarray(v.energies(n_poses=settings.n_poses, energy_range=settings.energy_range))
            poses = _split_models(v.poses(n_poses=settings.n_poses, energy_range=settings.energy_range))
        except Exception as exc:  # Vina raises RuntimeError/TypeError for ligands it cannot handle
            rejects.append({"id": lig_id, "smiles": smiles, "reason": f"Vina: {' '.join(str(exc).split())[:200]}"})
            continue
        for k, (e, pose) in enumerate(zip(energies, poses, strict=False), start=1):
            rows.append(
                {
                    "id": lig_id,
                    "smiles": smiles,
                    "pose": k,
                    "score": float(e[0]),
                    "inter": float(e[1]),
                    "intra": float(e[2]),
                    "pose_pdbqt": pose,
                    "pose_sdf": _pose_sdf(pose),
                }
            )
    return rows, rejects


def score_pose(pose_pdbqt: str, *, receptor: str, center: Sequence[float], size: Sequence[float]) -> float:
    """Vina's score of a pose as it stands (``vina --score_only``), kcal/mol."""
    v = _new_vina(DockSettings(str(receptor), tuple(map(float, center)), tuple(map(float, size))))
    lines = _split_models(pose_pdbqt)[0].splitlines(keepends=True)
    v.set_ligand_from_string("".join(ln for ln in lines if not ln.startswith(("MODEL", "ENDMDL"))))
    return float(v.score()[0])


# ----------------------------------------------------------------------------- inputs
def _triple(name: str, value: Any) -> tuple[float, float, float]:
    if isinstance(value, str):
        parts = [p for p in value.replace(" ", "").split(",") if p]
    else:
        parts = list(value)
    try:
        out = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        out = ()
    if len(out) != 3 or not all(math.isfinite(v) for v in out):
        raise InputError(f"--{name} must be three numbers x,y,z (Å); got {value!r}", file=f"--{name}")
    return out  # type: ignore[return-value]


def _read_ligands(lake: Lake, ligands: str | os.PathLike[str], *, id_col: str, smiles_col: str) -> pd.DataFrame:
    spec = str(ligands)
    if spec.startswith("lake:") or (not Path(spec).exists() and lake.exists(spec)):
        name = spec[5:] if spec.startswith("lake:") else spec
        if not lake.exists(name):
            raise InputError("no such lake dataset", file=spec)
        cols = list(lake.info(name).schema)
        source = f"lake:{name}"
        missing = [c for c in (id_col, smiles_col) if c not in cols]
        if missing:
            raise InputError(f"no column(s) {', '.join(missing)} (columns: {', '.join(cols)})", file=source)
        df = lake.to_pandas(name, columns=[id_col, smiles_col])
    else:
        from biolake.io.table import table_format

        path = Path(spec)
        if not path.is_file():
            raise InputError("no such file or lake dataset", file=spec)
        fmt, delimiter = table_format(path)
        try:
            if fmt == "parquet":
                import pyarrow.parquet as pq

                cols = pq.read_schema(path).names
                df = None
            else:
                cols = list(pd.read_csv(path, sep=delimiter or ",", nrows=0).columns)
                df = None
        except Exception as exc:  # unreadable file
            raise InputError(f"cannot read the ligand table ({' '.join(str(exc).split())[:200]})", file=spec) from None
        missing = [c for c in (id_col, smiles_col) if c not in cols]
        if missing:
            raise InputError(f"no column(s) {', '.join(missing)} (columns: {', '.join(cols)})", file=spec)
        if fmt == "parquet":
            df = pd.read_parquet(path, columns=[id_col, smiles_col])
        else:
            df = pd.read_csv(path, sep=delimiter or ",", usecols=[id_col, smiles_col], dtype=str, keep_default_na=False)
    df = df.rename(columns={id_col: "id", smiles_col: "smiles"})
    df = df[df["smiles"].notna()]
    df["id"] = df["id"].astype(str)
    df["smiles"] = df["smiles"].astype(str)
    return df.drop_duplicates("id", keep="first").reset_index(drop=True)


# ----------------------------------------------------------------------------- job
def dock(
    lake: Lake,
    ligands: str | os.PathLike[str],
    *,
    receptor: str | os.PathLike[str],
    center: Sequence[float] | str,
    size: Sequence[float] | str,
    top: int | None = None,
    exhaustiveness: int = 8,
    n_poses: int = 1,
    energy_range: float = 3.0,
    seed: int = 1,
    id_col: str = "id",
    smiles_col: str = "smiles",
    batch_size: int = 8,
    out: str | os.PathLike[str] | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Dock the first ``top`` ligands of ``ligands`` into ``receptor`` (see the module).

    Parameters
    ----------
    lake
        The lake (the run, the poses and the rejects are registered there).
    ligands
        ``lake:NAME`` or a CSV/TSV/Parquet file with ``id_col`` and ``smiles_col``; its row
        order is the order of preference (repeated ids are docked once).
    receptor
        Receptor PDBQT (prepared, e.g. by Meeko's ``mk_prepare_receptor`` or the targets
        ``dockstring`` ships).
    center, size
        Search box centre and edge lengths in Å (``"x,y,z"`` or three numbers).
    top
        Dock at most this many ligands (default: all).
    exhaustiveness, n_poses, energy_range
        Vina's search effort, poses kept per ligand, and energy window (kcal/mol) of kept poses.
    seed
        Seed of the conformer embedding and of Vina's search.
    id_col, smiles_col
        Column names in ``ligands``.
    batch_size
        Ligands per task (each task computes the box's maps once).
    out
        Write the poses to this file and register it under the file's stem (default: the
        lake table ``dock_<receptor stem>``).
    scheduler
        ``"threads"``, ``"processes"``, ``"synchronous"``, a Dask address or client.
    progress
        Progress reporter.

    Returns
    -------
    pandas.DataFrame
        One row per pose, columns ``id smiles pose score inter intra rank pose_pdbqt pose_sdf``,
        ordered by rank then pose.
    """
    fn = "dock"
    _import_vina()
    rec = Path(receptor)
    if not rec.is_file():
        raise InputError("no such receptor file", file=str(receptor))
    if rec.suffix.lower() != ".pdbqt":
        raise InputError("the receptor must be a PDBQT file (.pdbqt)", file=str(receptor))
    c, s = _triple("center", center), _triple("size", size)
    if min(s) <= 0:
        raise InputError(f"--size must be positive; got {size!r}", file="--size")
    check_param(fn, "top", top, top is None or (isinstance(top, int) and top >= 1), "a positive integer")
    check_param(
        fn, "exhaustiveness", exhaustiveness, isinstance(exhaustiveness, int) and exhaustiveness >= 1, "an integer >= 1"
    )
    check_param(fn, "n_poses", n_poses, isinstance(n_poses, int) and 1 <= n_poses <= 20, "an integer in [1, 20]")
    check_param(fn, "energy_range", energy_range, energy_range > 0, "a positive number")
    check_param(fn, "batch_size", batch_size, isinstance(batch_size, int) and batch_size >= 1, "a positive integer")
    _check_receptor(rec, c, s)
    table = _read_ligands(lake, ligands, id_col=id_col, smiles_col=smiles_col)
    if top is not None:
        table = table.head(top)
    if table.empty:
        raise InputError("no ligands to dock", file=str(ligands))
    settings = DockSettings(str(rec.resolve()), c, s, exhaustiveness, n_poses, float(energy_range), int(seed))
    pairs = list(zip(table["id"], table["smiles"], strict=True))
    batches = [pairs[i : i + batch_size] for i in range(0, len(pairs), batch_size)]
    params = {
        "ligands": str(ligands),
        "receptor": str(rec),
        "center": list(c),
        "size": list(s),
        "top": top,
        "exhaustiveness": exhaustiveness,
        "n_poses": n_poses,
        "energy_range": energy_range,
        "seed": seed,
        "out": None if out is None else str(out),
    }
    inputs = [str(ligands)] if str(ligands).startswith("lake:") else [str(ligands), str(rec)]
    rows: list[dict] = []
    rejects: list[dict] = []
    progress = progress or NullProgress()
    with lake.run("discovery dock", params=params, inputs=inputs) as run:
        with get_backend(scheduler) as backend, progress.task("Docking", total=len(pairs)) as bar:
            for (r, j), batch in zip(backend.map(dock_ligands, batches, settings=settings), batches, strict=True):
                rows.extend(r)
                rejects.extend(j)
                bar.advance(len(batch))
        result = _ranked(rows)
        arrow = pa.Table.from_pandas(result, preserve_index=False, schema=_schema())
        stem = Path(str(out)).name.split(".")[0] if out is not None else f"dock_{rec.stem}"
        if out is not None:
            name = run.result(arrow, out)
        else:
            name = lake.result_name(stem)
            run.table(name, attrs={"role": "result", "receptor": str(rec)}).write(arrow)
        rej = pd.DataFrame(rejects, columns=["id", "smiles", "reason"])
        rej_name = lake.result_name(f"{stem}_rejects", taken={name})
        run.table(rej_name, attrs={"role": "rejects", "table": "rejects"}).write(
            pa.Table.from_pandas(rej.astype(str), preserve_index=False)
        )
        run.annotate(
            name,
            attrs={"table": "poses", "docked": int(result["id"].nunique()), "rejected": len(rej), "rejects": rej_name},
        )
    return result


def _check_receptor(rec: Path, center: tuple[float, ...], size: tuple[float, ...]) -> None:
    """Read the receptor with Vina once, so a bad file is one clear error, not one per worker."""
    Vina = _import_vina()
    v = Vina(sf_name="vina", cpu=1, verbosity=0)
    try:
        v.set_receptor(str(rec))
    except Exception as exc:  # Vina's PDBQT parser raises RuntimeError
        raise InputError(f"Vina cannot read the receptor: {' '.join(str(exc).split())[:200]}", file=str(rec)) from None


def _schema() -> pa.Schema:
    return pa.schema(
        [
            ("id", pa.string()),
            ("smiles", pa.string()),
            ("pose", pa.int32()),
            ("score", pa.float64()),
            ("inter", pa.float64()),
            ("intra", pa.float64()),
            ("rank", pa.int32()),
            ("pose_pdbqt", pa.string()),
            ("pose_sdf", pa.string()),
        ]
    )


def _ranked(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "rank"])
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    best = df.groupby("id", sort=False)["score"].min().reset_index()
    best = best.sort_values(["score", "id"], kind="mergesort").reset_index(drop=True)
    best["rank"] = np.arange(1, len(best) + 1)
    df = df.merge(best[["id", "rank"]], on="id")
    df = df.sort_values(["rank", "pose"], kind="mergesort").reset_index(drop=True)
    df["pose"] = df["pose"].astype("int32")
    df["rank"] = df["rank"].astype("int32")
    return df[list(COLUMNS)]
