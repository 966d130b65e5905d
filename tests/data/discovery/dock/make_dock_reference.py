"""Reference for tests/discovery/test_dock_vina.py: dock with biolake, re-score with Debian's Vina.

Run from the repository root:  .venv/bin/python tests/data/discovery/dock/make_dock_reference.py
(needs Debian's ``autodock-vina`` 1.2.3 for the ``vina`` command; the docking itself uses the
``vina`` Python package 1.2.7 through biolake).

1. ``biolake discovery dock`` on ligands.csv into DHFR (receptor and box from dockstring 0.3.4,
   Apache-2.0, see LICENSE-dockstring.txt), box 18 Å, exhaustiveness 1, 2 poses, seed 1
   → dock_poses.csv (without the SDF column).
2. Every pose written to its own PDBQT and scored by ``vina --score_only`` (an independent
   build of Vina's scoring function) → vina_cli_scores.csv (``id pose cli_score``).
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
CENTER, SIZE = "14.554,5.102,0.063", "18,18,18"

with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp) / "poses.parquet"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "biolake",
            "--lake",
            f"{tmp}/lake",
            "discovery",
            "dock",
            "--receptor",
            str(HERE / "DHFR_target.pdbqt"),
            "--ligands",
            str(HERE / "ligands.csv"),
            "--center",
            CENTER,
            "--size",
            SIZE,
            "--exhaustiveness",
            "1",
            "--n-poses",
            "2",
            "--seed",
            "1",
            "--out",
            str(out),
            "-q",
        ],
        check=True,
    )
    poses = pd.read_parquet(out)
    poses.drop(columns=["pose_sdf"]).to_csv(HERE / "dock_poses.csv", index=False)
    version = subprocess.run(["vina", "--version"], capture_output=True, text=True).stdout.strip()
    rows = []
    for r in poses.itertuples():
        lig = Path(tmp) / f"{r.id}_{r.pose}.pdbqt"
        lig.write_text("".join(ln + "\n" for ln in r.pose_pdbqt.splitlines() if not ln.startswith(("MODEL", "ENDMDL"))))
        cx, cy, cz = CENTER.split(",")
        res = subprocess.run(
            [
                "vina",
                "--receptor",
                str(HERE / "DHFR_target.pdbqt"),
                "--ligand",
                str(lig),
                "--score_only",
                "--center_x",
                cx,
                "--center_y",
                cy,
                "--center_z",
                cz,
                "--size_x",
                "18",
                "--size_y",
                "18",
                "--size_z",
                "18",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        score = float(re.search(r"Estimated Free Energy of Binding\s*:\s*(-?[\d.]+)", res.stdout).group(1))
        rows.append({"id": r.id, "pose": r.pose, "cli_score": score, "vina_cli": version})
    pd.DataFrame(rows).to_csv(HERE / "vina_cli_scores.csv", index=False)
    print(pd.DataFrame(rows))
