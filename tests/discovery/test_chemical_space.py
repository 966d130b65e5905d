"""Chemical-space map: PCA of sampled library fingerprints against scikit-learn's PCA on RDKit bits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, RDConfig, RDLogger
from rdkit.Chem import rdFingerprintGenerator
from sklearn.decomposition import PCA

import biolake as bl
from biolake.discovery.space import chemical_space
from biolake.errors import InputError
from biolake.io.molecules import ingest_molecules

RDLogger.DisableLog("rdApp.*")
NCI = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> bl.Lake:
    d = tmp_path_factory.mktemp("space")
    lines = NCI.read_text().splitlines()[:400]
    (d / "nci.smi").write_text("\n".join(lines) + "\n")
    lake = bl.Lake.open(d / "lake")
    ingest_molecules(lake, d / "nci.smi", name="nci")
    return lake


def test_chemical_space__equals_sklearn_pca_on_rdkit_bits(lake: bl.Lake) -> None:
    space, ratio = chemical_space(lake, "nci", n=150, seed=3)
    assert len(space) == 150 and list(space.columns) == ["id", "smiles", "qed", "pc1", "pc2"]
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    bits = np.array([gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in space["smiles"]], dtype=float)
    pca = PCA(n_components=2, svd_solver="full").fit(bits)
    want = pca.transform(bits)
    np.testing.assert_allclose(space[["pc1", "pc2"]].to_numpy(), want, atol=1e-9)
    np.testing.assert_allclose(ratio, pca.explained_variance_ratio_, rtol=1e-9)
    table = lake.to_pandas("nci")
    assert space["id"].tolist() == [i for i in table["id"] if i in set(space["id"])]


def test_chemical_space__sample_larger_than_library_takes_all(lake: bl.Lake) -> None:
    space, _ = chemical_space(lake, "lake:nci", n=10_000)
    assert len(space) == len(lake.to_pandas("nci"))
    with pytest.raises(InputError, match="'n' parameter"):
        chemical_space(lake, "nci", n=2)


def test_ingest_report__shows_thresholds_and_chemical_space(lake: bl.Lake) -> None:
    import biolake.report.sections  # noqa: F401
    from biolake.report.runs import build_run_report

    run_id = next(r.id for r in lake.runs() if r.command == "ingest molecules")
    page = build_run_report(lake, run_id).to_html()
    assert "Chemical space" in page and "Lipinski (MW 500" in page
