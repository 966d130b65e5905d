"""``biolake discovery dock``: AutoDock Vina docking of library hits.

Reference (``tests/data/discovery/dock/make_dock_reference.py``): biolake docked ``ligands.csv``
into DHFR (receptor and box from dockstring 0.3.4) with seed 1, exhaustiveness 1, 2 poses;
Debian's AutoDock Vina 1.2.3 then re-scored every pose on its own::

    vina --receptor DHFR_target.pdbqt --ligand pose.pdbqt --score_only \\
         --center_x 14.554 --center_y 5.102 --center_z 0.063 --size_x 18 --size_y 18 --size_z 18
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("vina")
pytest.importorskip("meeko")

from biolake.discovery.dock import dock, score_pose
from biolake.lake import Lake

DATA = Path(__file__).resolve().parents[1] / "data" / "discovery" / "dock"
RECEPTOR = DATA / "DHFR_target.pdbqt"
CENTER, SIZE = "14.554,5.102,0.063", "18,18,18"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def _dock_args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "--lake",
        str(tmp_path / "lake"),
        "discovery",
        "dock",
        "--receptor",
        str(RECEPTOR),
        "--ligands",
        str(DATA / "ligands.csv"),
        "--center",
        CENTER,
        "--size",
        SIZE,
        "-q",
        *extra,
    ]


def test_score_pose__equals_vina_cli_score_only() -> None:
    """Every committed pose scored through biolake equals Debian Vina's ``--score_only`` value
    (printed with 3 decimals)."""
    poses = pd.read_csv(DATA / "dock_poses.csv")
    cli = pd.read_csv(DATA / "vina_cli_scores.csv")
    merged = poses.merge(cli, on=["id", "pose"])
    assert len(merged) == len(poses) == 6
    for r in merged.itertuples():
        ours = score_pose(r.pose_pdbqt, receptor=str(RECEPTOR), center=(14.554, 5.102, 0.063), size=(18, 18, 18))
        assert ours == pytest.approx(r.cli_score, abs=6e-4)
    # the best pose's docked score is the re-scored value up to the PDBQT's 3-decimal coordinates
    best = merged[merged["pose"] == 1]
    assert (best["score"] - best["cli_score"]).abs().max() <= 0.01


def test_dock__same_seed_reproduces_reference_and_rejects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Same settings and seed as the reference: the same poses and scores; cisplatin (no force
    field parameters for Pt) and the selenide (no AutoDock type for Se) are rejected with their
    reason without stopping the batch; the repeated id is docked once; ranks by best score."""
    out = tmp_path / "poses.parquet"
    code, _, err = _cli(
        _dock_args(tmp_path, "--exhaustiveness", "1", "--n-poses", "2", "--seed", "1", "--out", str(out)), capsys
    )
    assert code == 0, err
    got = pd.read_parquet(out)
    ref = pd.read_csv(DATA / "dock_poses.csv")
    assert list(got.columns) == ["id", "smiles", "pose", "score", "inter", "intra", "rank", "pose_pdbqt", "pose_sdf"]
    pd.testing.assert_frame_equal(
        got[["id", "pose", "score", "inter", "intra", "rank"]].reset_index(drop=True),
        ref[["id", "pose", "score", "inter", "intra", "rank"]].astype(got[["pose", "rank"]].dtypes.to_dict()),
        check_exact=False,
        atol=1e-9,
    )
    assert got["pose_pdbqt"].tolist() == ref["pose_pdbqt"].tolist()
    assert got["pose_sdf"].str.contains("M  END").all()
    lake = Lake.open(tmp_path / "lake")
    rejects = lake.to_pandas("poses_rejects").set_index("id")["reason"]
    assert set(rejects.index) == {"cisplatin", "methyl_phenyl_selenide"}
    assert "MMFF94 or UFF" in rejects["cisplatin"]
    assert "Meeko" in rejects["methyl_phenyl_selenide"]
    best = got[got["pose"] == 1].sort_values("rank")
    assert best["score"].is_monotonic_increasing
    import biolake.report.sections  # noqa: F401
    from biolake.report.runs import build_run_report

    run_id = next(r.id for r in lake.runs() if r.command == "discovery dock")
    page = build_run_report(lake, run_id).to_html()
    assert "Best pose per ligand" in page and "3 ligands docked, 2 rejected" in page and "<svg" in page


def test_dock__same_result_with_one_or_two_workers(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    kwargs = {"receptor": RECEPTOR, "center": CENTER, "size": SIZE, "top": 3, "exhaustiveness": 1, "batch_size": 1}
    one = dock(lake, DATA / "ligands.csv", scheduler="synchronous", out=tmp_path / "a.csv", **kwargs)
    two = dock(lake, DATA / "ligands.csv", scheduler="threads", out=tmp_path / "b.csv", **kwargs)
    pd.testing.assert_frame_equal(one, two)
    assert one["id"].tolist() == ["pteridine_amine", "paracetamol"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"--receptor": "missing.pdbqt"}, "no such receptor file"),
        ({"--receptor": "ligands.csv"}, "PDBQT"),
        ({"--center": "1,2"}, "--center must be three numbers"),
        ({"--size": "10,-1,10"}, "--size must be positive"),
        ({"--ligands": "DHFR_conf.txt"}, "no column"),
        ({"--receptor": "bad.pdbqt"}, "Vina cannot read the receptor"),
    ],
)
def test_dock__bad_input_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, str], needle: str
) -> None:
    (tmp_path / "bad.pdbqt").write_text("ATOM  this is not a receptor\n")
    args = _dock_args(tmp_path, "--out", str(tmp_path / "o.csv"))
    for opt, value in change.items():
        path = tmp_path / value if value == "bad.pdbqt" else DATA / value
        args[args.index(opt) + 1] = value if opt in ("--center", "--size") else str(path)
    code, _, err = _cli(args, capsys)
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.csv").exists()
