"""Make activities.csv: a synthetic activity set with a planted substructure-activity rule.

No public activity set ships with an installed package here, so the molecules are the
first 800 readable SMILES of RDKit's own ``Data/NCI/first_5K.smi`` and the activities are
planted: ``active`` = 1 when the molecule has a carboxylic acid or a nitro group
(SMARTS below), with 3 % of the labels flipped (seed 7); ``pic50`` = 5 + 1.5·[acid or nitro]
+ 0.5·(halogen atoms, at most 3) + N(0, 0.3²). Run: ``python make_activities.py`` (RDKit 2026.09.1).
"""

from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, RDConfig, RDLogger

RDLogger.DisableLog("rdApp.*")
RULE = Chem.MolFromSmarts("[$([CX3](=O)[OX2H1]),$([N+](=O)[O-])]")
HALOGEN = Chem.MolFromSmarts("[F,Cl,Br,I]")

rng = np.random.default_rng(7)
rows = []
for line in (Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi").read_text().splitlines():
    smi, ident = line.split()[:2]
    mol = Chem.MolFromSmiles(smi)
    if mol is None:
        continue
    rows.append((ident, Chem.MolToSmiles(mol), mol))
    if len(rows) == 800:
        break
hit = np.array([m.HasSubstructMatch(RULE) for _, _, m in rows])
hal = np.array([min(3, len(m.GetSubstructMatches(HALOGEN))) for _, _, m in rows])
flip = rng.random(len(rows)) < 0.03
active = (hit ^ flip).astype(int)
pic50 = 5 + 1.5 * hit + 0.5 * hal + rng.normal(0, 0.3, len(rows))
out = pd.DataFrame(
    {"id": [r[0] for r in rows], "smiles": [r[1] for r in rows], "active": active, "pic50": pic50.round(3)}
)
out.to_csv(Path(__file__).with_name("activities.csv"), index=False)
print(len(out), int(hit.sum()), int(active.sum()))
