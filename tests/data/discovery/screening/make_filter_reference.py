"""Make filter_reference.csv.gz: RDKit FilterCatalog.HasMatch flags of molecules RDKit ships.

Molecules: the first 1500 readable SMILES of ``Data/NCI/first_5K.smi`` and the first 1500 of
``Data/Pains/test_data/wehi_mols.csv`` (the PAINS authors' test set), as canonical SMILES
(what the library stores). Reference, per catalog C in PAINS, PAINS_A, PAINS_B, PAINS_C,
BRENK, NIH::

    params = FilterCatalogParams(); params.AddCatalog(FilterCatalogParams.FilterCatalogs.C)
    FilterCatalog(params).HasMatch(Chem.MolFromSmiles(canonical_smiles))

plus the drug-likeness inputs computed directly with RDKit (MolWt, MolLogP, CalcNumHBD,
CalcNumHBA, CalcTPSA, CalcNumRotatableBonds, MolMR, atoms with hydrogens).
Run: ``python make_filter_reference.py`` (RDKit 2026.09.1).
"""

import csv
import gzip
from pathlib import Path

from rdkit import Chem, RDConfig, RDLogger, rdBase
from rdkit.Chem import Crippen, Descriptors, rdMolDescriptors
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

RDLogger.DisableLog("rdApp.*")
CATALOGS = ["PAINS", "PAINS_A", "PAINS_B", "PAINS_C", "BRENK", "NIH"]


def first(items, n):
    out = []
    for smi, ident in items:
        mol = Chem.MolFromSmiles(smi)
        if mol is not None:
            out.append((ident, Chem.MolToSmiles(mol)))
        if len(out) == n:
            break
    return out


data = Path(RDConfig.RDDataDir)
nci = first((line.split()[:2] for line in (data / "NCI" / "first_5K.smi").read_text().splitlines()), 1500)
with open(data / "Pains" / "test_data" / "wehi_mols.csv") as fh:
    wehi = first(((r[0], r[1]) for r in csv.reader(fh)), 1500)
catalogs = {}
for name in CATALOGS:
    params = FilterCatalogParams()
    params.AddCatalog(getattr(FilterCatalogParams.FilterCatalogs, name))
    catalogs[name] = FilterCatalog(params)
out = Path(__file__).with_name("filter_reference.csv.gz")
with gzip.open(out, "wt", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(
        ["id", "smiles", *[c.lower() for c in CATALOGS], "mw", "clogp", "hbd", "hba", "tpsa", "rotb", "mr", "atoms_h"]
    )
    for ident, smi in nci + wehi:
        mol = Chem.MolFromSmiles(smi)
        flags = [int(catalogs[c].HasMatch(mol)) for c in CATALOGS]
        props = [
            Descriptors.MolWt(mol),
            Crippen.MolLogP(mol),
            rdMolDescriptors.CalcNumHBD(mol),
            rdMolDescriptors.CalcNumHBA(mol),
            rdMolDescriptors.CalcTPSA(mol),
            rdMolDescriptors.CalcNumRotatableBonds(mol),
            Crippen.MolMR(mol),
            Chem.AddHs(mol).GetNumAtoms(),
        ]
        w.writerow([ident, smi, *flags, *[repr(p) for p in props]])
print(rdBase.rdkitVersion, len(nci) + len(wehi))
