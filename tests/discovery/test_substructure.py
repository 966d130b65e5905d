"""Tests of substructure search (``biolake.discovery.substructure``) against RDKit's ``HasSubstructMatch``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from rdkit import Chem, RDConfig, RDLogger

import biolake as bl
from biolake.cli import main as cli_main
from biolake.discovery.library import enumerate_library
from biolake.discovery.substructure import substructure
from biolake.errors import InputError
from biolake.io.molecules import ingest_molecules

RDLogger.DisableLog("rdApp.*")

NCI_SMI = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
PATTERNS = ["c1ccccc1", "[NX3][CX3](=O)", "S(=O)(=O)N", "[#7;R]", "C(F)(F)F", "[OH]c1ccccc1", "[Cl,Br]"]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    d = tmp_path_factory.mktemp("substructure")
    lines = NCI_SMI.read_text().splitlines()[:200] + [f"{s} G{i}" for i, s in enumerate(enumerate_library(200))]
    path = d / "lib.smi"
    path.write_text("\n".join(lines) + "\n")
    lake = bl.Lake.open(d / "lake")
    ingest_molecules(lake, path, name="lib", scheduler="threads", chunk_size=50)
    return lake, lake.to_pandas("lib")


@pytest.mark.parametrize("smarts", PATTERNS)
def test_substructure__equals_rdkit_has_substruct_match(library, smarts):
    lake, table = library
    pattern = Chem.MolFromSmarts(smarts)
    expected = [i for i, s in enumerate(table.smiles) if Chem.MolFromSmiles(s).HasSubstructMatch(pattern)]
    got = substructure(lake, "lake:lib", smarts, scheduler="threads", chunk_rows=60)
    assert got["row"].tolist() == expected
    assert got["id"].tolist() == table.id.iloc[expected].tolist()
    assert got["smiles"].tolist() == table.smiles.iloc[expected].tolist()
    assert 0 < len(expected) < len(table)


def test_substructure__any_chunking_same_result(library):
    lake = library[0]
    a = substructure(lake, "lib", "c1ccccc1C(=O)N", scheduler="threads", chunk_rows=1)
    b = substructure(lake, "lib", "c1ccccc1C(=O)N", scheduler="synchronous", chunk_rows=10_000)
    pd.testing.assert_frame_equal(a, b)
    assert lake.to_pandas("lib_substructure").equals(b)


def test_substructure__bad_pattern_and_library(library):
    lake = library[0]
    with pytest.raises(InputError, match=r"^--smarts: RDKit cannot parse the SMARTS pattern 'c1ccc\('$"):
        substructure(lake, "lib", "c1ccc(")
    with pytest.raises(InputError, match="is not a molecule library"):
        substructure(lake, "lib_rejects", "CC")


def test_substructure_cli__out_file_and_exit_code(library, tmp_path, capsys, monkeypatch):
    lake, table = library
    monkeypatch.setenv("BIOLAKE_SCHEDULER", "threads")
    out = tmp_path / "amides.csv"
    argv = ["--lake", str(lake.root), "discovery", "substructure", "lake:lib"]
    with pytest.raises(SystemExit) as ok:
        cli_main([*argv, "--smarts", "[NX3][CX3](=O)", "--out", str(out), "--quiet"])
    assert ok.value.code == 0
    pattern = Chem.MolFromSmarts("[NX3][CX3](=O)")
    expected = [s for s in table.smiles if Chem.MolFromSmiles(s).HasSubstructMatch(pattern)]
    assert pd.read_csv(out)["smiles"].tolist() == expected
    with pytest.raises(SystemExit) as bad:
        cli_main([*argv, "--smarts", "[X"])
    assert bad.value.code == 2
    assert capsys.readouterr().err.strip() == "error: --smarts: RDKit cannot parse the SMARTS pattern '[X'"


def test_discovery_demo__ingests_and_searches(tmp_path, monkeypatch):
    """The demo step (on a smaller generated library): an ingest run with rejects and a search run."""
    import biolake.discovery.library as library_module
    import biolake.report.sections.discovery as sections
    from biolake.lake.progress import NullProgress
    from biolake.report.demo import _STEPS

    assert any(step is sections._discovery_demo for _, step in _STEPS)
    small = enumerate_library(120)
    monkeypatch.setattr(library_module, "enumerate_library", lambda n: small)
    lake = bl.Lake.open(tmp_path / "lake")
    ingest_id, similar_id = sections._discovery_demo(lake, tmp_path, NullProgress())
    assert lake.run_record(ingest_id).command == "ingest molecules"
    assert lake.info("library").attrs["n_rejects"] == 3
    assert lake.run_record(similar_id).command == "discovery similar"
    hits = lake.to_pandas("similar_hits")
    assert hits.groupby("query").size().to_dict() == {"amide": 10, "aspirin": 10, "sulfonamide": 10}
