"""Tests of ``biolake ingest molecules`` (``biolake.io.molecules``).

Expected values are computed here with RDKit's own functions on the molecules the tests
write, never read back from biolake. Real molecules come from the NCI sample that RDKit
ships (``rdkit/Data/NCI``); generated ones from ``biolake.discovery.library``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, RDConfig, RDLogger
from rdkit.Chem import QED, Crippen, Descriptors, Lipinski, MACCSkeys, rdFingerprintGenerator, rdMolDescriptors

import biolake as bl
from biolake.cli import main as cli_main
from biolake.discovery.library import enumerate_library
from biolake.errors import InputError
from biolake.io.molecules import ingest_molecules, parse_fp_spec
from biolake.report.html import Report
from biolake.report.runs import section_builders

RDLogger.DisableLog("rdApp.*")

NCI_SMI = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
NCI_SDF = Path(RDConfig.RDDataDir) / "NCI" / "first_200.props.sdf"
BAD = [("C1CC", "SMILES syntax error"), ("c1cccc1", "kekulize"), ("C(C)(C)(C)(C)C", "valence")]


def _nci_lines(n: int) -> list[str]:
    return NCI_SMI.read_text().splitlines()[:n]


def _bits(words: np.ndarray, n_bits: int) -> np.ndarray:
    return np.unpackbits(words.view(np.uint8), bitorder="little")[:n_bits]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A .smi file of NCI and generated molecules with three bad records, ingested once."""
    d = tmp_path_factory.mktemp("molecules")
    lines = [*_nci_lines(120), *(f"{s} GEN{i}" for i, s in enumerate(enumerate_library(80)))]
    for k, (smi, _) in enumerate(BAD):
        lines.insert(10 + 20 * k, f"{smi} BAD{k}")
    path = d / "mixed.smi"
    path.write_text("\n".join(lines) + "\n")
    lake = bl.Lake.open(d / "lake")
    info = ingest_molecules(lake, path, name="mixed", scheduler="threads", chunk_size=64)
    return lake, info, lines, path


def test_ingest_molecules__properties_equal_rdkit(mixed):
    lake, _, lines, _ = mixed
    df = lake.to_pandas("mixed")
    assert len(df) == len(lines) - len(BAD)
    for row in df.itertuples():
        smi, ident = lines[row.line - 1].split()[:2]
        mol = Chem.MolFromSmiles(smi)
        assert row.id == ident
        assert row.smiles == Chem.MolToSmiles(mol)
        assert row.inchikey == (Chem.MolToInchiKey(mol) or None)
        assert row.heavy_atoms == mol.GetNumHeavyAtoms()
        assert row.mw == Descriptors.MolWt(mol)
        assert row.clogp == Crippen.MolLogP(mol)
        assert row.hbd == Lipinski.NumHDonors(mol)
        assert row.hba == Lipinski.NumHAcceptors(mol)
        assert row.tpsa == Descriptors.TPSA(mol)
        assert row.rotatable_bonds == Descriptors.NumRotatableBonds(mol)
        assert row.aromatic_rings == rdMolDescriptors.CalcNumAromaticRings(mol)
        assert row.qed == pytest.approx(QED.qed(mol), abs=1e-12)


def test_ingest_molecules__rejects_with_line_and_reason(mixed):
    lake, info, lines, _ = mixed
    rejects = lake.to_pandas("mixed_rejects")
    assert rejects["id"].tolist() == ["BAD0", "BAD1", "BAD2"]
    for r, (smi, reason) in zip(rejects.itertuples(), BAD, strict=True):
        assert lines[r.line - 1] == f"{smi} BAD{r.Index}"
        assert r.input == smi
        assert reason.lower() in r.reason.lower()
    assert info.attrs["n_rejects"] == 3
    assert info.attrs["n_molecules"] == len(lines) - 3
    assert lake.info("mixed_rejects").attrs["n_rejects"] == 3
    assert lake.run_record(info.run_id).outputs == ["mixed", "mixed_rejects", "mixed_fp"]


def test_ingest_molecules__report_section_shows_counts_rejects_and_properties(mixed):
    lake, info, _, _ = mixed
    section = Report("r").section("ingest molecules")
    run = lake.run_record(info.run_id)
    for builder in section_builders(run.command):
        builder(lake, run, section)
    kinds = [b.kind for b in section.blocks]
    assert kinds == ["key_values", "table", "chart", "chart"]  # properties, then the chemical-space map
    assert '"qed"' in section.blocks[2].spec_json
    assert '"pc1"' in section.blocks[3].spec_json


def test_ingest_molecules__fingerprints_sorted_by_popcount_and_equal_rdkit(mixed):
    lake, _, lines, _ = mixed
    df = lake.to_pandas("mixed")
    g = lake.open_array("mixed_fp")
    fp, pop, row, key, bins = (g[k][:] for k in ("fp", "popcount", "row", "key", "bin_start"))
    assert fp.dtype == np.uint64 and fp.shape == (len(df), 32)
    assert np.all(np.diff(pop) >= 0)
    assert sorted(row.tolist()) == list(range(len(df)))
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    for p in range(len(df)):
        smi = lines[df.line.iloc[row[p]] - 1].split()[0]
        ref = gen.GetFingerprint(Chem.MolFromSmiles(smi))
        got = _bits(fp[p], 2048)
        assert list(np.nonzero(got)[0]) == list(ref.GetOnBits())
        assert pop[p] == ref.GetNumOnBits()
        assert bins[pop[p]] <= p < bins[pop[p] + 1]
    # key ranks (id, record): sorting by key sorts by id
    ids = df.id.to_numpy()[row]
    assert list(ids[np.argsort(key)]) == sorted(df.id.tolist())


@pytest.mark.parametrize("spec", ["maccs", "rdkit:1024", "atompair:512", "morgan3:256"])
def test_ingest_molecules__other_fingerprints_equal_rdkit(tmp_path, spec):
    lines = _nci_lines(25)
    path = tmp_path / "m.smi"
    path.write_text("\n".join(lines) + "\n")
    lake = bl.Lake.open(tmp_path / "lake")
    ingest_molecules(lake, path, name="m", fp=spec, scheduler="synchronous")
    g = lake.open_array("m_fp")
    s = parse_fp_spec(spec)
    df = lake.to_pandas("m")
    for p, r in enumerate(g["row"][:]):
        mol = Chem.MolFromSmiles(lines[df.line.iloc[r] - 1].split()[0])
        if s.kind == "maccs":
            ref = MACCSkeys.GenMACCSKeys(mol)
        elif s.kind == "rdkit":
            ref = rdFingerprintGenerator.GetRDKitFPGenerator(fpSize=s.n_bits).GetFingerprint(mol)
        elif s.kind == "atompair":
            ref = rdFingerprintGenerator.GetAtomPairGenerator(fpSize=s.n_bits).GetFingerprint(mol)
        else:
            ref = rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=s.n_bits).GetFingerprint(mol)
        assert list(np.nonzero(_bits(g["fp"][p], s.n_bits))[0]) == list(ref.GetOnBits())
    assert g.attrs["fp"] == spec and g.attrs["n_bits"] == s.n_bits


def test_ingest_molecules__gz_equals_plain_and_processes_equal_threads(tmp_path):
    lines = _nci_lines(60)
    plain = tmp_path / "m.smi"
    plain.write_text("\n".join(lines) + "\n")
    gz = tmp_path / "m.smi.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    lake = bl.Lake.open(tmp_path / "lake")
    ingest_molecules(lake, plain, name="a", scheduler="threads", chunk_size=7)
    ingest_molecules(lake, gz, name="b", scheduler="processes", chunk_size=13)
    assert lake.to_pandas("a").equals(lake.to_pandas("b"))
    for k in ("fp", "popcount", "row", "key"):
        np.testing.assert_array_equal(lake.open_array("a_fp")[k][:], lake.open_array("b_fp")[k][:])


def test_ingest_molecules__sdf_properties_and_gz(tmp_path):
    records = NCI_SDF.read_text().split("$$$$\n")[:60]
    sdf = tmp_path / "nci.sdf"
    sdf.write_text("$$$$\n".join(records) + "$$$$\n")
    gz = tmp_path / "nci.sdf.gz"
    gz.write_bytes(gzip.compress(sdf.read_bytes()))
    lake = bl.Lake.open(tmp_path / "lake")
    info = ingest_molecules(lake, gz, name="sdf", scheduler="threads")
    df = lake.to_pandas("sdf")
    ref = list(Chem.SDMolSupplier(str(sdf)))
    assert len(ref) == 60
    assert info.attrs["n_molecules"] == sum(m is not None for m in ref) == len(df)
    for row, mol in zip(df.itertuples(), (m for m in ref if m is not None), strict=True):
        assert row.smiles == Chem.MolToSmiles(mol)
        assert row.id == (mol.GetProp("_Name") or str(row.record))
        assert json.loads(row.properties) == {k: mol.GetProp(k) for k in mol.GetPropNames()}
    ingest_molecules(lake, sdf, name="sdf2", id_prop="SMILES", scheduler="synchronous")
    assert lake.to_pandas("sdf2").id.tolist() == [m.GetProp("SMILES") for m in ref if m is not None]


def test_ingest_molecules__csv_columns_and_tsv(tmp_path):
    smiles = enumerate_library(30)
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("name,SMILES,activity\n" + "".join(f"m{i},{s},{i / 10}\n" for i, s in enumerate(smiles)))
    lake = bl.Lake.open(tmp_path / "lake")
    ingest_molecules(lake, csv_path, name="c", scheduler="synchronous")
    df = lake.to_pandas("c")
    assert df.id.tolist() == [f"m{i}" for i in range(30)]
    assert df.smiles.tolist() == [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in smiles]
    assert json.loads(df.properties.iloc[3]) == {"activity": "0.3"}
    tsv = tmp_path / "m.tsv"
    tsv.write_text("structure\tcode\n" + "".join(f"{s}\tX{i}\n" for i, s in enumerate(smiles)))
    ingest_molecules(lake, tsv, name="t", smiles_col="structure", id_col="code", scheduler="synchronous")
    assert lake.to_pandas("t").id.tolist() == [f"X{i}" for i in range(30)]


def test_ingest_molecules__strict_names_file_and_record(tmp_path):
    path = tmp_path / "m.smi"
    path.write_text("CCO a\nCCN b\nC1CC c\nCCC d\n")
    lake = bl.Lake.open(tmp_path / "lake")
    with pytest.raises(InputError) as err:
        ingest_molecules(lake, path, name="m", strict=True, scheduler="synchronous")
    assert str(err.value) == f"{path}: line 3: record 3: RDKit cannot read the molecule (SMILES syntax error)"
    assert lake.names() == []
    assert list(lake.tmp_dir.iterdir()) == []


def test_ingest_molecules__bad_options_and_files(tmp_path):
    lake = bl.Lake.open(tmp_path / "lake")
    path = tmp_path / "m.smi"
    path.write_text("CCO a\n")
    with pytest.raises(InputError, match=r"The 'fp' parameter of ingest_molecules must be .*; got 'ecfp4'"):
        ingest_molecules(lake, path, name="m", fp="ecfp4")
    with pytest.raises(InputError, match=r"unknown molecule format '\.xyz'"):
        (tmp_path / "m.xyz").write_text("x")
        ingest_molecules(lake, tmp_path / "m.xyz", name="m")
    with pytest.raises(InputError, match="no such file"):
        ingest_molecules(lake, tmp_path / "missing.smi", name="m")
    bad_csv = tmp_path / "b.csv"
    bad_csv.write_text("id,structure\n1,CCO\n")
    with pytest.raises(InputError, match=r"b.csv: line 1: no SMILES column"):
        ingest_molecules(lake, bad_csv, name="m", scheduler="synchronous")
    assert lake.names() == []


def test_ingest_molecules_cli__exit_codes(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BIOLAKE_SCHEDULER", "threads")
    path = tmp_path / "m.smi"
    path.write_text("CCO a\nC1CC b\n")
    lake = str(tmp_path / "lake")
    with pytest.raises(SystemExit) as ok:
        cli_main(["--lake", lake, "ingest", "molecules", str(path), "--name", "m", "--quiet"])
    assert ok.value.code == 0
    with pytest.raises(SystemExit) as bad:
        cli_main(["--lake", lake, "ingest", "molecules", str(path), "--name", "m2", "--strict"])
    assert bad.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {path}: line 2: record 2: RDKit cannot read the molecule (SMILES syntax error)"]
