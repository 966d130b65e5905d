"""Build the shipped CYP2D6, G6PD and RYR1 phenotype tables from PharmCAT's phenotype files (run by hand).

    .venv/bin/python tests/data/precision/pgx_pheno/make_pgx_tables_pharmcat2026.py

This step runs after ``make_pgx_tables.py`` and replaces the three tables that script builds from PyPGx's 2022
tables. Input: ``pharmcat_phenotype_pages.json`` (here), the allele maps of PharmCAT's ``phenotype/CYP2D6.json``,
``G6PD.json`` and ``RYR1.json`` transcribed from the GitHub fork ``phonegor95/PharmCAT`` (commits, versions and
offsets of the pages read are in that file; CPIC/PharmGKB data, CC0; PharmCAT MPL-2.0, ``LICENSE.PharmCAT``).

The diplotype → phenotype rules below were read off PharmCAT's diplotype lists at several offsets; every
``checked_rows`` entry of the input is asserted against them before anything is written.

* CYP2D6: activity score = sum of the two alleles' CPIC activity values; 0 Poor, 0.25-1.0 Intermediate,
  1.25-2.25 Normal, >= 2.5 Ultrarapid Metabolizer (``n/a`` value → Indeterminate). The compact table keeps the
  rule (``activity_phenotypes``) instead of the 17,000-row list.
* G6PD (X-linked): one allele → Normal (IV), Deficient (II, III), Deficient with CNSHA (I), Indeterminate
  (uncertain). Two alleles: any uncertain → Indeterminate; both IV → Normal; one IV → Variable; both I →
  Deficient with CNSHA; otherwise Deficient. Shipped as the full list (the phenotyper has no G6PD rule).
* RYR1: any "Malignant Hyperthermia associated" allele → Malignant Hyperthermia Susceptibility, otherwise
  Uncertain Susceptibility (also Reference/Reference). Shipped as the Reference/x rows; other pairs use the
  phenotyper's MH rule (``GenePhenotype.lookup``), which is this rule.
"""

from __future__ import annotations

import json
from itertools import combinations_with_replacement
from pathlib import Path

from biolake.precision.pgx.data_update import compact_pharmcat_phenotype

HERE = Path(__file__).resolve().parent
PAGES = HERE / "pharmcat_phenotype_pages.json"
OUT = HERE.parents[3] / "src/biolake/precision/pgx/data/phenotypes"
CYP2D6_RANGES = [
    [0.0, 0.0, "Poor Metabolizer"],
    [0.25, 1.0, "Intermediate Metabolizer"],
    [1.25, 2.25, "Normal Metabolizer"],
    [2.5, 99.0, "Ultrarapid Metabolizer"],
]
MHS, US = "Malignant Hyperthermia Susceptibility", "Uncertain Susceptibility"


def _value(text: str | None) -> float | None:
    return None if text in (None, "n/a") else float(str(text).lstrip("≥"))


def cyp2d6_phenotype(values: dict[str, str], a1: str, a2: str) -> tuple[str, float | None]:
    v1, v2 = _value(values.get(a1)), _value(values.get(a2))
    if v1 is None or v2 is None:
        return "Indeterminate", None
    score = v1 + v2
    for low, high, phenotype in CYP2D6_RANGES:
        if low <= score <= high:
            return str(phenotype), score
    raise ValueError(f"no CYP2D6 phenotype for activity score {score}")


def g6pd_phenotype(functions: dict[str, str], a1: str, a2: str | None) -> str:
    classes = [functions[a].split("/")[0] for a in (a1, a2) if a is not None]
    if "Uncertain function" in classes:
        return "Indeterminate"
    if len(classes) == 1:
        return {"I": "Deficient with CNSHA", "IV": "Normal"}.get(classes[0], "Deficient")
    if classes.count("IV") == 2:
        return "Normal"
    if "IV" in classes:
        return "Variable"
    return "Deficient with CNSHA" if classes == ["I", "I"] else "Deficient"


def ryr1_phenotype(functions: dict[str, str], a1: str, a2: str) -> str:
    return MHS if any("malignant" in functions[a].lower() for a in (a1, a2)) else US


def _named(functions: dict[str, str], values: dict[str, str] | None = None) -> list[dict[str, object]]:
    return [
        {"name": name, "functionValue": function, "activityValue": (values or {}).get(name)}
        for name, function in functions.items()
    ]


def _row(a1: str, a2: str | None, phenotype: str, score: float | None = None) -> dict[str, object]:
    key = {a1: 2} if a1 == a2 else {a1: 1, **({a2: 1} if a2 else {})}
    return {"diplotypekey": key, "phenotype": phenotype, "activityScore": score}


def build(pages: dict) -> dict[str, dict]:
    genes = pages["genes"]
    out = {}
    # CYP2D6
    g = genes["CYP2D6"]
    for a1, a2, phenotype, score in g["checked_rows"]:
        got, got_score = cyp2d6_phenotype(g["activityValues"], a1, a2)
        assert got == phenotype and (got_score is None) == (score == "n/a"), (a1, a2, got, phenotype)
        assert got_score is None or abs(got_score - _value(score)) < 1e-9, (a1, a2, got_score, score)
    doc = {"gene": "CYP2D6", "version": g["version"], "namedAlleles": _named(g["functions"], g["activityValues"])}
    doc["diplotypes"] = []
    out["CYP2D6"] = {**compact_pharmcat_phenotype(doc), "activity_phenotypes": CYP2D6_RANGES}
    # G6PD
    g = genes["G6PD"]
    functions = g["haplotypes"]
    for a1, a2, phenotype, _ in g["checked_rows"]:
        assert g6pd_phenotype(functions, a1, a2) == phenotype, (a1, a2, phenotype)
    rows = [_row(a, None, g6pd_phenotype(functions, a, None)) for a in functions]
    rows += [_row(a1, a2, g6pd_phenotype(functions, a1, a2)) for a1, a2 in combinations_with_replacement(functions, 2)]
    doc = {"gene": "G6PD", "version": g["version"], "namedAlleles": _named(functions), "diplotypes": rows}
    out["G6PD"] = compact_pharmcat_phenotype(doc)
    # RYR1
    g = genes["RYR1"]
    functions = g["haplotypes"]
    for a1, a2, phenotype, _ in g["checked_rows"]:
        assert ryr1_phenotype(functions, a1, a2) == phenotype, (a1, a2, phenotype)
    rows = [_row("Reference", a, ryr1_phenotype(functions, "Reference", a)) for a in functions]
    doc = {"gene": "RYR1", "version": g["version"], "namedAlleles": _named(functions), "diplotypes": rows}
    out["RYR1"] = compact_pharmcat_phenotype(doc)
    for gene, compact in out.items():
        g = genes[gene]
        compact["version"] = g["version"]
        compact["source"] = f"PharmCAT phenotype/{gene}.json ({pages['repo']} @ {g['commit'][:12]})"
    return out


def main() -> None:
    pages = json.loads(PAGES.read_text(encoding="utf-8"))
    for gene, compact in build(pages).items():
        path = OUT / f"{gene}.json"
        path.write_text(json.dumps(compact, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        print(gene, len(compact["alleles"]), "alleles,", len(compact["diplotypes"]), "rows →", path)


if __name__ == "__main__":
    main()
