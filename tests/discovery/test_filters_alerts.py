"""Tests of the screening filters (``biolake.discovery.filters``) against RDKit's ``FilterCatalog``.

The reference flags are committed in ``tests/data/discovery/screening/filter_reference.csv.gz``
(made by ``make_filter_reference.py`` there), per catalog C::

    params = FilterCatalogParams(); params.AddCatalog(FilterCatalogParams.FilterCatalogs.C)
    FilterCatalog(params).HasMatch(Chem.MolFromSmiles(canonical_smiles))

on 1500 NCI molecules and 1500 of the PAINS authors' test set (both ship with RDKit).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, RDLogger

import biolake as bl
from biolake.cli import main as cli_main
from biolake.discovery.filters import AlertScreen, filter_library, lipinski_pass
from biolake.errors import InputError
from biolake.io.molecules import ingest_molecules

RDLogger.DisableLog("rdApp.*")
REF = Path(__file__).parents[1] / "data" / "discovery" / "screening" / "filter_reference.csv.gz"


@pytest.fixture(scope="module")
def reference():
    return pd.read_csv(REF, dtype={"id": str})


@pytest.fixture(scope="module")
def library(tmp_path_factory, reference):
    d = tmp_path_factory.mktemp("filters")
    sub = reference.iloc[::5]  # 600 molecules, both sources
    path = d / "lib.smi"
    path.write_text("".join(f"{s} {i}\n" for s, i in zip(sub.smiles, sub.id, strict=True)))
    lake = bl.Lake.open(d / "lake")
    ingest_molecules(lake, path, name="lib", scheduler="threads", chunk_size=200)
    return lake, sub.reset_index(drop=True)


@pytest.mark.parametrize("catalog", ["PAINS", "BRENK", "NIH"])
def test_alert_screen__equals_filter_catalog_has_match(reference, catalog):
    mols = [Chem.MolFromSmiles(s) for s in reference.smiles]
    got = AlertScreen(catalog).has_matches(mols)
    expected = reference[catalog.lower()].to_numpy().astype(bool)
    assert 0 < expected.sum() < len(expected)
    np.testing.assert_array_equal(got, expected)


def test_alert_screen__prescreen_drops_most_pains_entries(reference):
    screen = AlertScreen("PAINS")
    mols = [Chem.MolFromSmiles(s) for s in reference.smiles[:500]]
    cand = screen.candidates(screen.features(mols))
    assert cand.shape == (500, 480)
    assert cand.mean() < 0.2  # measured about 0.05 on these molecules


def test_lipinski_pass__one_violation_allowed():
    # violations: 0, 1 (MW), 2 (MW + logP), 1 (HBA), 2 (HBD + HBA)
    mw = np.array([300, 600, 600, 300, 300])
    logp = np.array([2, 2, 6, 2, 2])
    hbd = np.array([1, 1, 1, 1, 6])
    hba = np.array([2, 2, 2, 11, 11])
    assert lipinski_pass(mw, logp, hbd, hba).tolist() == [True, True, False, True, False]


def test_filter_library__all_rules_equal_rdkit(library):
    lake, ref = library
    rules = ["lipinski", "veber", "ghose", "pains", "pains_a", "brenk", "nih"]
    got = filter_library(lake, "lake:lib", rules=",".join(rules), scheduler="threads", chunk_rows=150)
    assert got.columns.tolist() == ["id", "passed", "failed_rules", *rules]
    assert got["id"].tolist() == ref.id.tolist()
    viol = (ref.mw > 500).astype(int) + (ref.clogp > 5) + (ref.hbd > 5) + (ref.hba > 10)
    expected = {
        "lipinski": viol <= 1,
        "veber": (ref.rotb <= 10) & (ref.tpsa <= 140),
        "ghose": ref.mw.between(160, 480) & ref.clogp.between(-0.4, 5.6) & ref.mr.between(40, 130)
        & ref.atoms_h.between(20, 70),
        "pains": ref.pains == 0,
        "pains_a": ref.pains_a == 0,
        "brenk": ref.brenk == 0,
        "nih": ref.nih == 0,
    }  # fmt: skip
    for rule in rules:
        assert got[rule].tolist() == expected[rule].tolist(), rule
    failed = [",".join(r for r in rules if not expected[r].iloc[i]) for i in range(len(ref))]
    assert got["failed_rules"].fillna("").tolist() == failed
    assert got["passed"].tolist() == [f == "" for f in failed]


def test_filter_library__chunking_and_backend_do_not_matter(library):
    lake = library[0]
    a = filter_library(lake, "lib", rules="pains,veber", scheduler="threads", chunk_rows=1)
    b = filter_library(lake, "lib", rules=["pains", "veber"], scheduler="synchronous", chunk_rows=10_000)
    pd.testing.assert_frame_equal(a, b)
    assert lake.to_pandas("lib_filter").equals(b)


def test_filter_library__bad_rule_is_input_error(library):
    with pytest.raises(InputError, match="The 'rules' parameter of filter_library must be"):
        filter_library(library[0], "lib", rules="lipinski,nope")


def test_filter_cli__out_file_and_exit_codes(library, tmp_path, capsys, monkeypatch):
    lake, ref = library
    monkeypatch.setenv("BIOLAKE_SCHEDULER", "threads")
    out = tmp_path / "flags.csv"
    argv = ["--lake", str(lake.root), "discovery", "filter", "lake:lib"]
    with pytest.raises(SystemExit) as ok:
        cli_main([*argv, "--rules", "pains,brenk", "--out", str(out), "--quiet"])
    assert ok.value.code == 0
    df = pd.read_csv(out, keep_default_na=False)
    assert df["pains"].tolist() == (ref.pains == 0).tolist()
    assert df["brenk"].tolist() == (ref.brenk == 0).tolist()
    with pytest.raises(SystemExit) as bad:
        cli_main([*argv, "--rules", "pains,foo"])
    assert bad.value.code == 2
    assert "rules" in capsys.readouterr().err


def test_filter_report__failed_rule_counts(library, tmp_path):
    lake, ref = library
    df = filter_library(lake, "lib", rules="pains,brenk", scheduler="threads")
    run_id = lake.info("lib_filter").run_id
    html = tmp_path / "report.html"
    with pytest.raises(SystemExit) as ok:
        cli_main(["--lake", str(lake.root), "report", run_id, "-o", str(html), "-q"])
    assert ok.value.code == 0
    text = html.read_text()
    assert "Molecules failing each rule" in text
    assert int((ref.pains == 1).sum()) == int((~df["pains"]).sum()) > 0
