"""Tests of the fingerprint activity models (``biolake.discovery.models``).

The activity set is synthetic (``tests/data/discovery/screening/make_activities.py``): 800
molecules RDKit ships (NCI) with a planted rule — active when the molecule has a carboxylic
acid or a nitro group (3 % of labels flipped); pIC50 = 5 + 1.5·rule + 0.5·halogens + noise.
Independent references: scikit-learn's metrics recomputed from the out-of-fold predictions,
RDKit's ``MurckoScaffoldSmiles`` and ``BulkTanimotoSimilarity`` for the domain flag, and hand
calculations of the enrichment factor.
"""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import rdFingerprintGenerator
from rdkit.Chem.Scaffolds import MurckoScaffold

import biolake as bl
from biolake.cli import main as cli_main
from biolake.discovery.models import enrichment_factor, scaffold_folds, score_library, train_model
from biolake.errors import InputError
from biolake.io.molecules import ingest_molecules

RDLogger.DisableLog("rdApp.*")
ACTIVITIES = Path(__file__).parents[1] / "data" / "discovery" / "screening" / "activities.csv"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    lake = bl.Lake.open(d / "lake")
    model = d / "acid.joblib"
    meta = train_model(lake, ACTIVITIES, label_col="active", model="rf", n_estimators=25, folds=3, out=model)
    return lake, d, model, meta


def test_enrichment_factor__hand_calculation():
    y = np.zeros(200, bool)
    y[[0, 5, 10, 150]] = True  # 4 actives in 200: base rate 0.02
    score = -np.arange(200.0)  # rank = index; top 1 % = 2 molecules: rows 0, 1 → 1 active
    assert enrichment_factor(y, score) == pytest.approx((1 / 2) / (4 / 200))


def test_scaffold_folds__no_scaffold_in_two_folds():
    act = pd.read_csv(ACTIVITIES)
    scaffolds = [MurckoScaffold.MurckoScaffoldSmiles(mol=Chem.MolFromSmiles(s)) for s in act.smiles]
    fold = scaffold_folds(scaffolds, 5)
    per = pd.DataFrame({"s": scaffolds, "f": fold}).groupby("s")["f"].nunique()
    assert (per == 1).all()
    sizes = np.bincount(fold)
    assert sizes.max() - sizes.min() <= pd.Series(scaffolds).value_counts().max()


def test_train_model__metrics_and_sidecar(trained):
    lake, _, model, meta = trained
    side = json.loads(Path(str(model) + ".json").read_text())
    assert side["metrics"] == meta["metrics"]
    assert side["settings"]["split"] == "scaffold" and side["features"]["fp"] == "morgan2:2048"
    import hashlib

    assert side["data"]["sha256"] == hashlib.sha256(ACTIVITIES.read_bytes()).hexdigest()
    m = meta["metrics"]
    # the planted rule is learnable: far better than chance under a scaffold split
    assert m["roc_auc"] > 0.8 and m["pr_auc"] > 0.5 and m["ef1"] > 2
    assert m["n"] == 800 and m["n_active"] == int(pd.read_csv(ACTIVITIES)["active"].sum())
    cv = lake.to_pandas("acid_cv")
    assert cv["n_test"].sum() == 800 and len(cv) == 3


def test_train_model__regression_metrics(tmp_path):
    lake = bl.Lake.open(tmp_path / "lake")
    meta = train_model(
        lake,
        ACTIVITIES,
        value_col="pic50",
        model="rf",
        split="random",
        n_estimators=20,
        folds=3,
        out=tmp_path / "p.joblib",
    )
    assert set(meta["metrics"]) == {"rmse", "r2", "n"}
    assert meta["metrics"]["r2"] > 0.4
    y = pd.read_csv(ACTIVITIES)["pic50"]
    assert meta["metrics"]["rmse"] < y.std()


def test_score_library__scores_and_domain_equal_rdkit(trained):
    lake, d, model, _ = trained
    act = pd.read_csv(ACTIVITIES)
    lib = d / "lib.smi"
    extra = ["CCCCCCCCCCCCCCCC", "OC(=O)c1ccccc1[N+](=O)[O-]"]
    lib.write_text("".join(f"{s} L{i}\n" for i, s in enumerate(list(act.smiles[:40]) + extra)))
    ingest_molecules(lake, lib, name="lib", scheduler="threads")
    got = score_library(lake, "lake:lib", model, block=7)
    table = lake.to_pandas("lib")
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    train = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in act.smiles]
    best = [
        max(DataStructs.BulkTanimotoSimilarity(gen.GetFingerprint(Chem.MolFromSmiles(s)), train)) for s in table.smiles
    ]
    np.testing.assert_allclose(got["max_similarity"], best, rtol=0, atol=1e-15)
    assert got["in_domain"].tolist() == [b >= 0.35 for b in best]
    assert got["max_similarity"].iloc[:40].eq(1.0).all()
    est = joblib.load(model)["estimator"]
    bits = np.array([list(gen.GetFingerprint(Chem.MolFromSmiles(s))) for s in table.smiles], dtype=np.uint8)
    np.testing.assert_allclose(got["score"], est.predict_proba(bits)[:, 1], atol=1e-12)


def test_train_model__bad_input(tmp_path):
    lake = bl.Lake.open(tmp_path / "lake")
    bad = tmp_path / "bad.csv"
    bad.write_text("smiles,active\nCCO,1\nC1CC,0\n")
    with pytest.raises(InputError, match=r"bad.csv: line 3: RDKit cannot read the SMILES 'C1CC'"):
        train_model(lake, bad, label_col="active", out=tmp_path / "m.joblib")
    with pytest.raises(InputError, match="no column 'act'"):
        train_model(lake, ACTIVITIES, label_col="act", out=tmp_path / "m.joblib")
    with pytest.raises(InputError, match="label_col"):
        train_model(lake, ACTIVITIES, label_col="active", value_col="pic50", out=tmp_path / "m.joblib")


def test_model_cli__train_and_score(trained, tmp_path, capsys):
    lake, _, model, _ = trained
    root = ["--lake", str(lake.root), "discovery", "model"]
    out = tmp_path / "m2.joblib"
    with pytest.raises(SystemExit) as ok:
        cli_main([*root, "train", "--activities", str(ACTIVITIES), "--label-col", "active", "--split", "scaffold",
                  "--model", "gbm", "--n-estimators", "5", "--folds", "2", "--out", str(out), "--quiet"])  # fmt: skip
    assert ok.value.code == 0 and out.is_file()
    scores = tmp_path / "scores.csv"
    with pytest.raises(SystemExit) as ok2:
        cli_main([*root, "score", "lake:lib", "--model", str(model), "--out", str(scores), "--quiet"])
    assert ok2.value.code == 0
    assert pd.read_csv(scores).columns.tolist() == ["id", "score", "max_similarity", "in_domain"]
    with pytest.raises(SystemExit) as bad:
        cli_main([*root, "score", "lake:lib", "--model", str(ACTIVITIES)])
    assert bad.value.code == 2
    assert "not a biolake model file" in capsys.readouterr().err
