"""Tests of Butina clustering and MaxMin picking (``biolake.discovery.cluster``) against RDKit.

Reference (RDKit, run in the test on the same molecules, in table order)::

    fps = [GetMorganGenerator(radius=2, fpSize=2048).GetFingerprint(m) for m in mols]
    dists = [1.0 - s for i in range(1, n) for s in BulkTanimotoSimilarity(fps[i], fps[:i])]
    Butina.ClusterData(dists, n, 1 - t, isDistData=True)
    MaxMinPicker().LazyBitVectorPick(fps, n, k, seed=42)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, DataStructs, RDConfig, RDLogger
from rdkit.Chem import rdFingerprintGenerator
from rdkit.ML.Cluster import Butina
from rdkit.SimDivFilters.rdSimDivPickers import MaxMinPicker

import biolake as bl
from biolake.cli import main as cli_main
from biolake.discovery.cluster import butina, cluster_library
from biolake.discovery.library import enumerate_library
from biolake.errors import InputError
from biolake.io.molecules import ingest_molecules

RDLogger.DisableLog("rdApp.*")
NCI_SMI = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    d = tmp_path_factory.mktemp("cluster")
    lines = NCI_SMI.read_text().splitlines()[:1500] + [f"{s} G{i}" for i, s in enumerate(enumerate_library(500))]
    path = d / "lib.smi"
    path.write_text("\n".join(lines) + "\n")
    lake = bl.Lake.open(d / "lake")
    ingest_molecules(lake, path, name="lib", scheduler="threads", chunk_size=500)
    table = lake.to_pandas("lib")
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in table.smiles]
    dists: list[float] = []
    for i in range(1, len(fps)):
        dists.extend(1.0 - s for s in DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i]))
    return lake, table, fps, dists


def _tuples(df: pd.DataFrame) -> tuple[tuple[int, ...], ...]:
    out = []
    for _, grp in df.groupby("cluster", sort=True):
        out.append(tuple(grp.row[grp.centroid].tolist() + sorted(grp.row[~grp.centroid].tolist())))
    return tuple(out)


@pytest.mark.parametrize("threshold", [0.6, 0.35])
def test_cluster_library__equals_rdkit_butina(library, threshold):
    lake, table, fps, dists = library
    expected = Butina.ClusterData(dists, len(fps), 1 - threshold, isDistData=True)
    got = cluster_library(lake, "lake:lib", threshold=threshold, block=700)
    assert got["id"].tolist() == table.id.tolist()
    assert _tuples(got) == expected
    assert got["cluster_size"].tolist() == [len(expected[c]) for c in got["cluster"]]
    assert 1 < len(expected) < len(fps)


def test_cluster_library__block_size_does_not_matter(library):
    lake = library[0]
    a = cluster_library(lake, "lib", threshold=0.5, block=64)
    b = cluster_library(lake, "lib", threshold=0.5, block=100_000)
    pd.testing.assert_frame_equal(a, b)
    assert lake.to_pandas("lib_clusters").equals(b)


def test_cluster_library__maxmin_equals_rdkit_lazy_pick(library):
    lake, _, fps, _ = library
    expected = list(MaxMinPicker().LazyBitVectorPick(fps, len(fps), 25, seed=42))
    got = cluster_library(lake, "lib", threshold=0.6, pick=25, seed=42)
    picked = got.dropna(subset=["pick"]).sort_values("pick")
    assert picked["row"].tolist() == expected
    assert picked["pick"].tolist() == list(range(1, 26))


def test_butina__ties_by_larger_index_first():
    # a path 0-1-2-3: 1 and 2 both have 3 members (with themselves); RDKit takes 2 first
    cluster, centroid = butina(4, np.array([0, 1, 2]), np.array([1, 2, 3]))
    assert cluster.tolist() == [1, 0, 0, 0]
    assert centroid.tolist() == [True, False, True, False]
    ref = Butina.ClusterData([0.0, 1.0, 0.0, 1.0, 1.0, 0.0], 4, 0.5, isDistData=True)  # d10 d20 d21 d30 d31 d32
    assert ref == ((2, 1, 3), (0,))


def test_cluster_cli__out_and_bad_threshold(library, tmp_path, capsys):
    lake, table, _, dists = library
    out = tmp_path / "clusters.parquet"
    argv = ["--lake", str(lake.root), "discovery", "cluster", "lake:lib"]
    with pytest.raises(SystemExit) as ok:
        cli_main([*argv, "--threshold", "0.6", "--pick", "5", "--out", str(out), "--quiet"])
    assert ok.value.code == 0
    df = pd.read_parquet(out)
    assert _tuples(df) == Butina.ClusterData(dists, len(table), 1 - 0.6, isDistData=True)
    assert int(df["pick"].notna().sum()) == 5
    with pytest.raises(SystemExit) as bad:
        cli_main([*argv, "--threshold", "1.5"])
    assert bad.value.code == 2
    assert "threshold" in capsys.readouterr().err
    with pytest.raises(InputError):
        cluster_library(lake, "lib", threshold=0.6, pick=10**6)
