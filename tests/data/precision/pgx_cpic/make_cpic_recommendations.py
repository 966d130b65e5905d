"""Bring the shipped CPIC recommendation table up to date from CPIC data (run by hand, not in CI).

    .venv/bin/python tests/data/precision/pgx_cpic/make_cpic_recommendations.py [PRESCRIBING_GUIDANCE.json ...]

Run after ``tests/data/precision/pgx_pheno/make_pgx_tables.py`` (which builds the table from PyPGx's 2022 rows
and PharmCAT's example reports). This script is idempotent and does two things to
``src/biolake/precision/pgx/data/recommendations/cpic_recommendations.tsv``:

1. Every drug covered by a PharmCAT ``prescribing_guidance*.json`` (CPIC data as PharmCAT ships it; the
   default is every committed excerpt ``prescribing_guidance.cpic_excerpt*.json`` beside this script, in name
   order: ``…excerpt.json``, ``…excerpt2.json`` (the CYP2D6 drugs), ``…excerpt3.json`` if present) gets all of
   its rows replaced by that file's CPIC rows (``biolake.precision.pgx.data_update.merge_prescribing_guidance``,
   the same code as ``biolake precision pgx-data --from DIR``). With the full file (PharmCAT's
   ``src/main/resources/org/pharmgkb/pharmcat/reporter/prescribing_guidance.json``, 5.1 MB) every CPIC drug
   is replaced.
2. Each remaining 2022 PyPGx row is marked with what CPIC's own change log says about its drug since
   2022-09-01 (``cpic_data_changelog.recommendations.tsv``: the ``RECOMMENDATION`` rows of ``data.tsv`` of
   cpicpgx/cpic-data @ 459e3ebdccdc, release 1.56.0, 2026-04-30, CC0).

Sources and their provenance: ``README.md`` beside this script.
"""

import json
import sys
from pathlib import Path

import pandas as pd

from biolake.precision.pgx.data_update import (
    annotate_pypgx_rows,
    guidance_label,
    merge_prescribing_guidance,
    read_recommendations,
    write_recommendations,
)

HERE = Path(__file__).resolve().parent
TABLE = HERE.parents[3] / "src/biolake/precision/pgx/data/recommendations/cpic_recommendations.tsv"
EXCERPTS = sorted(HERE.glob("prescribing_guidance.cpic_excerpt*.json"))
CHANGELOG = HERE / "cpic_data_changelog.recommendations.tsv"
RELEASE = "cpic-data 1.56.0, 2026-04-30"
SINCE = "2022-09-01"  # PyPGx's CPIC table was last updated in 2022-08
# cpicpgx.org page and CPIC level of drugs new to the table (the guidance file links to ClinPGx, has no level)
PYPGX_CPIC = Path("/work/shared/data/pgx/pypgx/cpic-table.csv")
KNOWN: dict[str, tuple[str, str]] = {}
if PYPGX_CPIC.exists():
    for r in pd.read_csv(PYPGX_CPIC, dtype=str, keep_default_na=False).itertuples():
        KNOWN.setdefault(r.Drug, (r.Guideline, r.CPICLevel))

table = read_recommendations(TABLE)
before = len(table)
for path in [Path(p) for p in sys.argv[1:]] or EXCERPTS:
    doc = json.loads(path.read_text(encoding="utf-8"))
    label = guidance_label(doc, path.name)
    table = merge_prescribing_guidance(table, doc, label=label, known=KNOWN)
    covered = {c["name"] for g in doc["guidelines"] for r in g["recommendations"] for c in r["relatedChemicals"]}
    print(f"{path.name}: {len(doc['guidelines'])} packages, {len(covered)} drugs")
changelog = pd.read_csv(CHANGELOG, sep="\t", dtype=str, keep_default_na=False)
table = annotate_pypgx_rows(table, changelog, since=SINCE, release=RELEASE)
write_recommendations(table, TABLE)
kinds = table["source"].str.extract(r"^(PyPGx|CPIC data in PharmCAT|CPIC data 20|cpicpgx.org|CPIC NSAID)")[0]
print(f"{before} -> {len(table)} rows")
print(kinds.value_counts(dropna=False).rename_axis("source").to_string())
pypgx = table[table["source"].str.startswith("PyPGx")]
print("PyPGx rows superseded per CPIC change log:", pypgx["source"].str.contains("may be outdated").sum())
