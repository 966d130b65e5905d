"""CYP2D6, G6PD and RYR1 phenotype tables from PharmCAT's current phenotype files.

Reference: PharmCAT's ``src/main/resources/org/pharmgkb/pharmcat/phenotype/{CYP2D6,G6PD,RYR1}.json`` as stored in
the GitHub fork ``phonegor95/PharmCAT`` (CPIC/PharmGKB data, CC0), read page by page (16,000 characters):
CYP2D6 @ 1697910573cc (version 2026-07-05-00-25), G6PD @ 0bbce803558e (2025-11-05-00-25), RYR1 @ 1b3716464dbc
(2026-02-05-15-04). The values below were copied by hand from those pages (offset of the page in each comment),
e.g. CYP2D6 ``"activityValues": {"*10": "0.25", "*41": "0.25", ...}`` (offset 0) and the diplotype entry
``{"diplotype": "*1x2/*41", "activityScore": "2.25", "phenotype": "Normal Metabolizer"}`` (offset 74000).
The tables are rebuilt by ``tests/data/precision/pgx_pheno/make_pgx_tables_pharmcat2026.py``.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pytest

from biolake.precision.pgx.data_update import data_dir
from biolake.precision.pgx.phenotype import OutsideCall, gene_phenotype, outside_phenotype_call

PAGES = Path(__file__).resolve().parent.parent / "data" / "precision" / "pgx_pheno"
MHS, US = "Malignant Hyperthermia Susceptibility", "Uncertain Susceptibility"


def test_gene_phenotype__cyp2d6_pharmcat_allele_values() -> None:
    gp = gene_phenotype("CYP2D6")
    assert gp is not None and gp.version == "2026-07-05-00-25" and "PharmCAT" in gp.source
    # offset 0 (activityValues): *10 0.25, *9 0.25 and *41 0.25 (PyPGx 2022 had 0.5 for *9 and *41), *17 0.5
    assert [gp.activity_value(a) for a in ("*10", "*9", "*41", "*17", "*4", "*1")] == [0.25, 0.25, 0.25, 0.5, 0.0, 1.0]
    # offset 4609000 (namedAlleles): *4 "No function", *1x2 "Increased function", *10 "Decreased function"
    assert [gp.function(a) for a in ("*4", "*1x2", "*10")] == [
        "No function",
        "Increased function",
        "Decreased function",
    ]
    # offset 4623000: *58 "Unknown function", *61 "Uncertain function" (both activity n/a); *57 is not listed
    assert (gp.function("*58"), gp.activity_value("*58")) == ("Unknown function", None)
    assert gp.function("*61") == "Uncertain function" and "*57" not in gp.alleles


@pytest.mark.parametrize(
    ("diplotype", "phenotype", "score"),
    [
        ("*1/*9", "Normal Metabolizer", 1.25),  # offset 0
        ("*1/*13 + *68x2 + *4", "Intermediate Metabolizer", 1.0),  # offset 0
        ("*1x2/*41", "Normal Metabolizer", 2.25),  # offset 74000
        ("*1x2/*41x2", "Ultrarapid Metabolizer", 2.5),
        ("*1x2/*41x3", "Ultrarapid Metabolizer", 2.75),
        ("*1x2/*45x2", "Ultrarapid Metabolizer", 4.0),
        ("*156/*161", "Poor Metabolizer", 0.0),  # offset 4609000
    ],
)
def test_outside_phenotype_call__cyp2d6_pharmcat_rows(diplotype: str, phenotype: str, score: float) -> None:
    c = outside_phenotype_call("S", OutsideCall("CYP2D6", diplotype, None, None, 1))
    assert (c.phenotype, c.activity_score) == (phenotype, pytest.approx(score))


def test_gene_phenotype__cyp2d6_every_checked_pharmcat_row() -> None:
    """Every CYP2D6 diplotype entry read off PharmCAT's pages (``checked_rows`` of the saved pages, incl.
    ``*1x2/*43`` and ``*157/*158`` → Indeterminate, n/a: an allele of unknown activity) gives that row."""
    pages = json.loads((PAGES / "pharmcat_phenotype_pages.json").read_text(encoding="utf-8"))
    rows = pages["genes"]["CYP2D6"]["checked_rows"]
    assert sum(r[2] == "Indeterminate" for r in rows) >= 3
    gp = gene_phenotype("CYP2D6")
    assert gp is not None
    for a1, a2, phenotype, score in rows:
        got_phenotype, got_score = gp.lookup(a1, a2)
        assert got_phenotype == phenotype, (a1, a2)
        if score == "n/a":
            assert got_score is None, (a1, a2)
        elif not score.startswith("≥"):
            assert got_score == pytest.approx(float(score)), (a1, a2)


def test_gene_phenotype__g6pd_pharmcat_functions_and_rows() -> None:
    gp = gene_phenotype("G6PD")
    assert gp is not None and gp.version == "2025-11-05-00-25"
    # offset 0 (haplotypes): Cairo "II/Deficient" and "No name" "I/Deficient with CNSHA" (PyPGx: unknown function)
    assert [gp.function(a) for a in ("Cairo", "No name", "Dagua", "A", "Mahidol")] == [
        "II/Deficient",
        "I/Deficient with CNSHA",
        "Uncertain function",
        "IV/Normal",
        "III/Deficient",
    ]
    rows = [
        ("Dagua", None, "Indeterminate"),  # offset 16000: hemizygous entries
        ("Insuli", None, "Normal"),
        ("202G>A_376A>G_1264C>G", "Chinese-1", "Deficient"),  # offset 70000
        ("202G>A_376A>G_1264C>G", "Insuli", "Variable"),
        ("A", "Dagua", "Indeterminate"),  # offset 130000
        ("A", "Insuli", "Normal"),
        ("Fukaya", "Tomah", "Deficient with CNSHA"),  # offset 2600000
        ("Fushan", "Insuli", "Variable"),
        ("Fushan", "Laibin", "Indeterminate"),
    ]
    assert [gp.lookup(a1, a2)[0] for a1, a2, _ in rows] == [p for _, _, p in rows]


def test_gene_phenotype__ryr1_pharmcat_functions_and_rule() -> None:
    gp = gene_phenotype("RYR1")
    assert gp is not None and gp.version == "2026-02-05-15-04"
    # offset 0 (haplotypes): c.1589G>A is now MH associated, c.14387A>G uncertain, c.418G>A normal
    assert [gp.function(a) for a in ("c.1589G>A", "c.14387A>G", "c.418G>A", "c.7042_7044delGAG")] == [
        "Malignant Hyperthermia associated",
        "Uncertain function",
        "Normal function",
        "Malignant Hyperthermia associated",
    ]
    rows = [
        ("Reference", "Reference", US),  # offset 0
        ("Reference", "c.38T>G", MHS),
        ("Reference", "c.51_53del", US),
        ("c.4775C>T", "c.12406C>A", US),  # offset 10000000 (pairs not listed in the shipped table: CPIC MH rule)
        ("c.4775C>T", "c.12700G>C", MHS),
        ("c.4775C>T", "c.14510delA", US),
        ("c.4775C>T", "c.14539G>C", MHS),
    ]
    assert [gp.lookup(a1, a2)[0] for a1, a2, _ in rows] == [p for _, _, p in rows]


def test_gene_phenotype__every_defined_allele_has_a_function() -> None:
    """Each G6PD and RYR1 allele of the shipped allele definitions has a PharmCAT function (PyPGx's RYR1 table
    lacked 291 of the 339)."""
    with gzip.open(data_dir() / "allele_definitions.json.gz", "rt", encoding="utf-8") as fh:
        definitions = json.load(fh)
    for gene in ("G6PD", "RYR1"):
        gp = gene_phenotype(gene)
        assert gp is not None
        missing = [a[0] for a in definitions[gene]["namedAlleles"] if a[0] not in gp.alleles]
        assert missing == [], gene


def test_build__shipped_tables_match_saved_pages() -> None:
    spec = importlib.util.spec_from_file_location("make_pharmcat2026", PAGES / "make_pgx_tables_pharmcat2026.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build(json.loads((PAGES / "pharmcat_phenotype_pages.json").read_text(encoding="utf-8")))
    for gene, doc in built.items():
        shipped = json.loads((data_dir() / "phenotypes" / f"{gene}.json").read_text(encoding="utf-8"))
        assert json.loads(json.dumps(doc)) == shipped, gene
