"""PGx phenotypes and CPIC recommendations against PharmCAT's own outputs and hand-checked values.

PharmCAT's matcher output (``*.match.json``) is fed to biolake's phenotyper; the result is compared
with what PharmCAT's Phenotyper/Reporter wrote for the same run (``*.report.tsv``, ``*.phenotype.json``,
``*.report.json``), i.e. the reference is PharmCAT v3.1.0 as run by its authors::

    java -jar pharmcat.jar -vcf pharmcat.example.vcf -po pharmcat.example.outsideCall.tsv \
         -reporterJson -reporterCallsOnlyTsv          # docs/examples of PharmCAT (MPL-2.0)

Those files live in ``../shared/data/pgx/pharmcat`` (tests skip when it is absent).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from biolake.errors import InputError
from biolake.precision.pgx.calls import GeneCall
from biolake.precision.pgx.phenotype import (
    OutsideCall,
    format_activity,
    gene_phenotype,
    outside_phenotype_call,
    phenotype_calls,
    read_outside_calls,
    sample_phenotypes,
)
from biolake.precision.pgx.recommendations import recommend

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "pgx"
EXAMPLES = SHARED / "pharmcat" / "examples"
needs_shared = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="../shared/data/pgx is not available")
# PharmCAT 3.1 gives no CPIC annotation for the IFNL3 drugs (IFNL3 has no CPIC phenotype in its data);
# biolake keeps the 2014 CPIC IFNL3 guideline rows (PyPGx table): a documented, intended difference.
IFNL3_DRUGS = {"peginterferon alfa-2a", "peginterferon alfa-2b", "ribavirin"}


def _call(gene: str, *pairs: tuple[str, str | None], matches: tuple[str, ...] = (), sample: str = "S") -> GeneCall:
    return GeneCall(sample, gene, tuple(pairs), matches, False, (), (), (), ())


def calls_from_match_json(path: Path) -> list[GeneCall]:
    """PharmCAT match.json → the GeneCalls the matcher would yield."""
    doc = json.loads(path.read_text())
    sample = doc["metadata"].get("sampleId") or "Sample"
    out = []
    for r in doc["results"]:
        pairs = tuple(
            (d["haplotype1"]["name"], d["haplotype2"]["name"] if d.get("haplotype2") else None) for d in r["diplotypes"]
        )
        matches = tuple(h["name"] for h in r.get("haplotypeMatches") or [])
        missing = tuple(r["matchData"].get("missingPositions") or [])
        out.append(GeneCall(sample, r["gene"], pairs, matches, r["phased"], (), missing, (), ()))
    return out


def _report_tsv(path: Path) -> dict[str, dict[str, str]]:
    lines = path.read_text().splitlines()[1:]
    return {row["Gene"]: row for row in csv.DictReader(lines, delimiter="\t")}


EXAMPLE_RUNS = [("pharmcat.example", "pharmcat.example.outsideCall.tsv"), ("pharmcat.example2", None)]


@needs_shared
@pytest.mark.parametrize(("stem", "outside"), EXAMPLE_RUNS)
def test_sample_phenotypes__pharmcat_examples_report_tsv(stem: str, outside: str | None) -> None:
    calls = calls_from_match_json(EXAMPLES / f"{stem}.match.json")
    oc = read_outside_calls(EXAMPLES / outside) if outside else None
    got = {c.gene: c for c in sample_phenotypes(calls, oc)}
    expected = _report_tsv(EXAMPLES / f"{stem}.report.tsv")
    assert len(expected) == 20 if outside else 19
    for gene, row in expected.items():
        c = got[gene]
        assert c.diplotype == row["Source Diplotype"], gene
        assert c.phenotype == row["Phenotype"].strip(), gene
        assert format_activity(c.activity_score) == row["Activity Score"], gene
        assert format_activity(c.activity1) == row["Haplotype 1 Activity Value"], gene
        if row["Haplotype 1 Function"] != "null":  # PharmCAT prints null for genes without function data
            assert c.function1 == row["Haplotype 1 Function"], gene
            assert c.function2 == row["Haplotype 2 Function"], gene
        assert (c.source == "outside call") == (row["Outside Call"] == "yes"), gene


@needs_shared
def test_sample_phenotypes__sample1_phenotype_json() -> None:
    """PharmCAT's Sample_1 (its test resources): DPYD lowest-function call from haplotype matches,
    G6PD deficient, RYR1 susceptible, CFTR heterozygous label, ambiguous UGT1A1, uncalled genes."""
    calls = calls_from_match_json(SHARED / "pharmcat/test/Sample_1.match.json")
    got: dict[str, list] = {}
    for c in sample_phenotypes(calls):
        got.setdefault(c.gene, []).append((c.diplotype, c.phenotype, format_activity(c.activity_score)))
    reports = json.loads((SHARED / "pharmcat/test/Sample_1.phenotype.json").read_text())["geneReports"]
    compared = 0
    for gene, rep in reports.items():
        if rep["callSource"] == "NONE":  # CYP2D6, HLA, MT-RNR1: outside calls only
            assert gene not in got
            continue
        expected = [
            (
                d["label"],
                (d["phenotypes"] or [""])[0],
                "" if d["activityScore"] in (None, "n/a") else d["activityScore"],
            )
            for d in rep["recommendationDiplotypes"]
        ]
        assert got[gene] == expected, gene
        compared += 1
    assert compared == 17


@needs_shared
@pytest.mark.parametrize(("stem", "outside"), EXAMPLE_RUNS)
def test_recommend__pharmcat_examples_report_json(stem: str, outside: str | None) -> None:
    calls = calls_from_match_json(EXAMPLES / f"{stem}.match.json")
    oc = read_outside_calls(EXAMPLES / outside) if outside else None
    recs = recommend(sample_phenotypes(calls, oc))
    report = json.loads((EXAMPLES / f"{stem}.report.json").read_text())
    expected: dict[str, list[tuple[str, str]]] = {}
    for drug, doc in report["drugs"]["CPIC Guideline Annotation"].items():
        for guideline in doc["guidelines"]:
            for ann in guideline["annotations"]:
                if ann.get("drugRecommendation"):
                    expected.setdefault(drug, []).append((ann["classification"], ann.get("population") or "general"))
    got: dict[str, list[tuple[str, str]]] = {}
    for r in recs:
        population = r["recommendation"][1:].split("]")[0] if r["recommendation"].startswith("[") else "general"
        got.setdefault(r["drug"], []).append((r["classification"], population))
    assert set(got) - set(expected) == IFNL3_DRUGS
    assert set(expected) <= set(got)
    for drug in expected:
        assert sorted(got[drug]) == sorted(expected[drug]), drug
    clopidogrel = [r for r in recs if r["drug"] == "clopidogrel"]
    assert clopidogrel and all(r["gene"] == "CYP2C19" for r in clopidogrel)
    if stem == "pharmcat.example2":  # CYP2C19 *2/*2 poor metabolizer
        assert any(r["recommendation"].startswith("[CVI ACS PCI] Avoid clopidogrel if possible") for r in clopidogrel)
        assert {r["phenotype"] for r in clopidogrel} == {"Poor Metabolizer"}


# --------------------------------------------------------------------------- hand-checked values


@pytest.mark.parametrize(
    ("gene", "pair", "phenotype", "score"),
    [
        # CPIC allele activity values: CYP2C9 *1 1.0, *2 0.5, *3 0.0 → sum; CPIC: AS 1.0-1.5 IM, 0-0.5 PM, 2 NM
        ("CYP2C9", ("*1", "*3"), "Intermediate Metabolizer", 1.0),
        ("CYP2C9", ("*2", "*3"), "Poor Metabolizer", 0.5),
        ("CYP2C9", ("*1", "*2"), "Intermediate Metabolizer", 1.5),
        # DPYD: Reference 1.0, c.1905+1G>A (*2A) 0.0, HapB3 0.5 (CPIC 2017 update)
        ("DPYD", ("Reference", "c.1905+1G>A (*2A)"), "Intermediate Metabolizer", 1.0),
        ("DPYD", ("Reference", "c.1129-5923C>G, c.1236G>A (HapB3)"), "Intermediate Metabolizer", 1.5),
        ("DPYD", ("c.1905+1G>A (*2A)", "c.1129-5923C>G, c.1236G>A (HapB3)"), "Poor Metabolizer", 0.5),
    ],
)
def test_phenotype_calls__activity_scores_by_hand(
    gene: str, pair: tuple[str, str], phenotype: str, score: float
) -> None:
    (c,) = phenotype_calls(_call(gene, pair))
    assert (c.phenotype, c.activity_score) == (phenotype, score)
    assert c.activity1 + c.activity2 == pytest.approx(score)


@pytest.mark.parametrize(
    ("diplotype", "phenotype", "score"),
    [
        # CYP2D6 (CPIC 2019 AS ranges: 0 PM, 0.25-1 IM, 1.25-2.25 NM, >2.25 UM); *1 1, *4 0, *10 0.25,
        # *41 0.25 (CPIC's 2024 value, as PharmCAT ships it)
        ("*1/*4", "Intermediate Metabolizer", 1.0),
        ("*4/*4", "Poor Metabolizer", 0.0),
        ("*10/*10", "Intermediate Metabolizer", 0.5),
        ("*1/*41", "Normal Metabolizer", 1.25),
        ("*1x2/*4", "Normal Metabolizer", 2.0),
        ("*1/*2x2", "Ultrarapid Metabolizer", 3.0),
    ],
)
def test_outside_phenotype_call__cyp2d6_by_hand(diplotype: str, phenotype: str, score: float) -> None:
    c = outside_phenotype_call("S", OutsideCall("CYP2D6", diplotype, None, None, 1))
    assert (c.diplotype, c.phenotype, c.activity_score) == (diplotype, phenotype, score)


def test_phenotype_calls__dpyd_lowest_function_from_haplotype_matches() -> None:
    """PharmCAT's DPYD rule (haplotype matches, unphased): the two lowest-activity alleles; cases from
    PharmCAT's ``haplotype/DPYD/hapb3.tsv`` expected calls."""
    hapb3 = "c.1129-5923C>G, c.1236G>A (HapB3)"
    cases = [
        (("Reference", "c.61C>T"), "Reference/c.61C>T", "Intermediate Metabolizer", 1.0),
        (("c.61C>T", hapb3), f"c.61C>T/{hapb3}", "Poor Metabolizer", 0.5),
        (("c.61C>T", "Reference", hapb3), f"c.61C>T/{hapb3}", "Poor Metabolizer", 0.5),
    ]
    for matches, label, phenotype, score in cases:
        (c,) = phenotype_calls(_call("DPYD", matches=matches))
        assert (c.diplotype, c.phenotype, c.activity_score) == (label, phenotype, score)
    (c,) = phenotype_calls(_call("DPYD", matches=("c.61C>T", "Reference", hapb3)))
    assert c.inferred


def test_phenotype_calls__g6pd_hemizygous_and_ambiguous() -> None:
    (male,) = phenotype_calls(_call("G6PD", ("A- 202A_376G", None)))
    assert (male.diplotype, male.phenotype) == ("A- 202A_376G", "Deficient")
    (ref,) = phenotype_calls(_call("G6PD", ("B (reference)", None)))
    assert ref.phenotype == "Normal"
    both = phenotype_calls(_call("CYP2C19", ("*1", "*2"), ("*2", "*17")))
    assert [(c.diplotype, c.phenotype, c.ambiguous) for c in both] == [
        ("*1/*2", "Intermediate Metabolizer", True),
        ("*2/*17", "Intermediate Metabolizer", True),
    ]
    (none,) = phenotype_calls(_call("TPMT"))
    assert (none.diplotype, none.phenotype) == ("Unknown/Unknown", "No Result")


def test_read_outside_calls__pharmcat_format(tmp_path: Path) -> None:
    path = tmp_path / "outside.tsv"
    path.write_text("# comment\nCYP2D6\tCYP2D6*3/CYP2D6*4\nHLA-B\tB*57:01:01/*08:01\nG6PD\t\tDeficient\n")
    calls = read_outside_calls(path)
    assert calls["CYP2D6"].diplotype == "*3/*4"
    assert calls["HLA-B"].diplotype == "*57:01/*08:01"
    assert calls["G6PD"].phenotype == "Deficient" and calls["G6PD"].diplotype is None
    hla = outside_phenotype_call("S", calls["HLA-B"])
    assert "*57:01 positive" in hla.lookup and "*58:01 negative" in hla.lookup
    recs = recommend([hla])
    assert [r["drug"] for r in recs if r["drug"] == "abacavir"] == ["abacavir"]
    assert next(r for r in recs if r["drug"] == "abacavir")["classification"] == "Strong"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("CYP2D6\n", 1),
        ("CYP2C9\t*1/*2\nCYP2C9\t*1/*3\n", 2),
        ("CYP2D6\t*1/*2/*3\n", 1),
        ("CYP2D6\t*1/*4\tx\tfast\n", 1),
    ],
)
def test_read_outside_calls__bad_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_outside_calls(path)
    assert err.value.line == line and str(path) in str(err.value)


def test_gene_phenotype__shipped_tables_have_versions() -> None:
    for gene in ("CYP2C19", "CYP2C9", "DPYD", "TPMT", "NUDT15", "SLCO1B1", "UGT1A1", "CYP3A5", "CYP2B6", "G6PD"):
        gp = gene_phenotype(gene)
        assert gp is not None and gp.version and gp.diplotypes, gene
    assert gene_phenotype("CYP2C19").version == "2025-11-05-00-25"
    assert gene_phenotype("CYP4F2") is None


def test_recommend__cpic_page_amendments() -> None:
    """Rows read on CPIC's pages replace the 2022 ones: meloxicam by CYP2C9 activity score (NSAID guideline 2020,
    Table 3: AS 1.0 → 50 % of the lowest starting dose, AS 1.5 → standard dose, both Moderate) and TPMT + NUDT15
    intermediate metabolizers (thiopurine page, March 2024 update: 20-50 % of the normal starting dose)."""
    as10 = recommend(phenotype_calls(_call("CYP2C9", ("*1", "*3"))))
    as15 = recommend(phenotype_calls(_call("CYP2C9", ("*1", "*2"))))
    (mel10,) = [r for r in as10 if r["drug"] == "meloxicam"]
    (mel15,) = [r for r in as15 if r["drug"] == "meloxicam"]
    assert mel10["recommendation"].startswith("Initiate therapy with 50% of the lowest recommended starting dose")
    assert mel15["recommendation"].startswith("Initiate therapy with recommended starting dose")
    assert mel10["classification"] == mel15["classification"] == "Moderate"
    calls = phenotype_calls(_call("TPMT", ("*1", "*3A"))) + phenotype_calls(_call("NUDT15", ("*1", "*3")))
    assert [c.phenotype for c in calls] == ["Intermediate Metabolizer", "Intermediate Metabolizer"]
    thio = {r["drug"]: r for r in recommend(calls) if r["drug"] in {"azathioprine", "mercaptopurine", "thioguanine"}}
    # the thiopurines now carry the CPIC 2025-update texts (PharmCAT prescribing_guidance.json, e.g. azathioprine
    # PA166297269 and thioguanine PA166298558 say "20%-50%", mercaptopurine PA166298215 "20-50%")
    assert len(thio) == 3
    assert all(("20-50%" in r["recommendation"]) != ("20%-50%" in r["recommendation"]) for r in thio.values())
