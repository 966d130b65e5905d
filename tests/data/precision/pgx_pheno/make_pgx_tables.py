"""Build the shipped PGx phenotype and recommendation tables (run by hand, not in CI).

    .venv/bin/python tests/data/precision/pgx_pheno/make_pgx_tables.py [/work/shared/data/pgx]

Sources (see ../shared/data/SOURCES-personalized.md):
- PharmCAT phenotype files ``pgx/phenotypes/GENE.json`` (CPIC/PharmGKB data 2025-11-05, MPL-2.0 / CC0)
  → ``src/biolake/precision/pgx/data/phenotypes/GENE.json`` (compact form);
- PyPGx tables ``pgx/pypgx/`` (MIT, fa6b9f70747b, 2022-08) → CYP2D6, G6PD, RYR1 phenotype files and the
  2022 CPIC recommendation rows;
- PharmCAT's example reports ``pgx/pharmcat/examples/*.report.json`` (PharmCAT v3.1.0, CPIC data
  2025-11-05) → the current CPIC rows (recommendation, strength, guideline citation) they state.
"""

import json
import shutil
import sys
from pathlib import Path

import pandas as pd

from biolake.precision.pgx.data_update import (
    build_recommendation_table,
    compact_pharmcat_phenotype,
    pypgx_gene_phenotype,
    write_recommendations,
)

shared = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/pgx")
root = Path(__file__).resolve().parents[4] / "src/biolake/precision/pgx/data"
pheno, recs = root / "phenotypes", root / "recommendations"
pheno.mkdir(parents=True, exist_ok=True)
recs.mkdir(parents=True, exist_ok=True)
for path in sorted((shared / "phenotypes").glob("*.json")):
    doc = compact_pharmcat_phenotype(json.loads(path.read_text()), source=f"PharmCAT phenotype/{path.name}")
    (pheno / path.name).write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
for gene in ("CYP2D6", "G6PD", "RYR1"):
    doc = pypgx_gene_phenotype(shared / "pypgx", gene)
    (pheno / f"{gene}.json").write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
shutil.copyfile(shared / "LICENSE.PharmCAT", pheno / "LICENSE.PharmCAT")
shutil.copyfile(shared / "pypgx/LICENSE", pheno / "LICENSE.PyPGx")
shutil.copyfile(shared / "pypgx/LICENSE", recs / "LICENSE.PyPGx")
shutil.copyfile(shared / "LICENSE.PharmCAT", recs / "LICENSE.PharmCAT")
reports = sorted((shared / "pharmcat/examples").glob("*.report.json"))
table = build_recommendation_table(shared / "pypgx", reports=reports)
# CPIC 2020 NSAID guideline, Table 3 (meloxicam; PMC8080882/table/T3): intermediate metabolizers split by activity score
NSAID = "https://cpicpgx.org/guidelines/cpic-guideline-for-nsaids-based-on-cyp2c9-genotype/"
meloxicam = table[table["drug"] == "meloxicam"].iloc[0].to_dict()
common = "In accordance with the meloxicam prescribing information, use the lowest effective dosage for shortest "
common += "duration consistent with individual patient treatment goals."
for score, text in (
    ("1.5", "Initiate therapy with recommended starting dose. " + common),
    (
        "1.0",
        "Initiate therapy with 50% of the lowest recommended starting dose. Titrate dose upward to clinical effect or "
        "50% of the maximum recommended dose with caution. " + common + " Upward dose titration should not occur "
        "until after steady state is reached (at least 7 days); carefully monitor adverse events such as blood "
        "pressure and kidney function. Alternatively, choose an alternative therapy not metabolized by CYP2C9 or not "
        "significantly impacted by CYP2C9 genetic variants in vivo, or an NSAID metabolized by CYP2C9 with a shorter "
        "half-life.",
    ),
):
    row = dict(meloxicam)
    row.update(
        lookup=f"CYP2C9={score}",
        phenotypes="CYP2C9=Intermediate Metabolizer",
        recommendation=text,
        classification="Moderate",
        implications="",
        guideline_url=NSAID,
        source="CPIC NSAID guideline 2020, Table 3 (PMC8080882), read on its published table",
    )
    table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
table = table.sort_values(["drug", "lookup", "population"], kind="stable").reset_index(drop=True)

# CPIC level C/D pairs have no CPIC prescribing action (PyPGx's F5/contraceptive rows are DPWG text): drop them
table = table[~table["cpic_level"].isin(["C", "D"])].reset_index(drop=True)

# Amendments read on the CPIC guideline pages (pages corpus, cpicpgx.org), applied to the 2022 rows they supersede.
THIOPURINE_PAGE = "https://cpicpgx.org/guidelines/guideline-for-thiopurines-and-tpmt/"
IM = ("Intermediate Metabolizer", "Possible Intermediate Metabolizer")
for drug in ("azathioprine", "mercaptopurine", "thioguanine"):
    for nudt15 in IM:
        for tpmt in IM:
            rows = (table["drug"] == drug) & (table["lookup"] == f"NUDT15={nudt15};TPMT={tpmt}")
            table.loc[rows, "recommendation"] = (
                f"Intermediate metabolizer for both TPMT and NUDT15: start {drug} at 20-50% of the normal starting "
                "dose (depending on the starting dose) and adjust to the degree of myelosuppression and "
                "disease-specific guidelines (CPIC update of March 2024, PMID 38230823)."
            )
            table.loc[rows, "guideline_url"] = THIOPURINE_PAGE
            table.loc[rows, "source"] = (
                "cpicpgx.org guideline page, update of March 2024 (replaces the 2022 PyPGx text; strength not stated)"
            )
write_recommendations(table, recs / "cpic_recommendations.tsv")
print(len(table), "recommendation rows;", table["source"].str.startswith("CPIC data").sum(), "from PharmCAT 2025 data")
