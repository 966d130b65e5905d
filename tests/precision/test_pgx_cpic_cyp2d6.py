"""CPIC recommendations of the CYP2D6 drugs: the shipped table against CPIC's data, and lookups by activity score.

Reference: ``tests/data/precision/pgx_cpic/prescribing_guidance.cpic_excerpt2.json`` — the CPIC guideline packages of
amitriptyline, clomipramine, doxepin, imipramine and trimipramine (CYP2D6 activity score x CYP2C19 phenotype),
atomoxetine, codeine, desipramine, fluvoxamine, hydrocodone, nortriptyline, ondansetron, paroxetine, tamoxifen,
tramadol and tropisetron copied from PharmCAT's ``prescribing_guidance.json`` (CPIC data, CC0; the copy read is
``phonegor95/PharmCAT`` @ ``4bb18575d510``, ``prescribing_guidance.v3.4.0.json``; offsets in the file's ``_excerpt``).

The excerpt is parsed here independently of ``biolake.precision.pgx.data_update``: HTML is reduced to text with a
regular expression and ``html.unescape``, and an activity score is turned into a phenotype with CPIC's CYP2D6
ranges written out by hand (2019/2023 standardisation: 0 poor, 0.25-1.0 intermediate, 1.25-2.25 normal, >2.25
ultrarapid). The hand-checked rows quote the texts as read in the source file.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from biolake.precision.pgx.data_update import data_dir, update_pgx_data
from biolake.precision.pgx.phenotype import OutsideCall, outside_phenotype_call
from biolake.precision.pgx.recommendations import RecommendationTable, recommend

DATA = Path(__file__).resolve().parent.parent / "data" / "precision" / "pgx_cpic"
EXCERPT2 = DATA / "prescribing_guidance.cpic_excerpt2.json"
DRUGS = {"amitriptyline", "atomoxetine", "clomipramine", "codeine", "desipramine", "doxepin", "fluvoxamine",
         "hydrocodone", "imipramine", "nortriptyline", "ondansetron", "paroxetine", "tamoxifen", "tramadol",
         "trimipramine", "tropisetron"}  # fmt: skip
# CYP2D6 lookup values of one single-gene package: activity scores 0-3 by 0.25 (without 3.25-3.75), 4.0, the
# open-ended copy-number scores and n/a (PharmCAT's "xN combinations" notice is not a recommendation)
SCORES = {"0.0", "0.25", "0.5", "0.75", "1.0", "1.25", "1.5", "1.75", "2.0", "2.25", "2.5", "2.75", "3.0", "4.0",
          "≥3.0", "≥3.25", "≥3.5", "≥3.75", "≥4.0", "≥5.0", "≥6.0", "n/a"}  # fmt: skip


def _shipped() -> pd.DataFrame:
    path = data_dir() / "recommendations" / "cpic_recommendations.tsv"
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


CYP2C19 = {"Normal Metabolizer", "Intermediate Metabolizer", "Poor Metabolizer", "Rapid Metabolizer",
           "Ultrarapid Metabolizer", "Likely Intermediate Metabolizer", "Likely Poor Metabolizer", "Indeterminate",
           "No Result"}  # fmt: skip


def _cpic_phenotype(value: str) -> str:
    """CPIC's CYP2D6 activity score → phenotype (by hand: 0 PM, 0.25-1 IM, 1.25-2.25 NM, >2.25 UM)."""
    if value in ("n/a", "No Result"):
        return value
    score = float(value.lstrip("≥"))
    if score == 0:
        return "Poor Metabolizer"
    if score <= 1.0:
        return "Intermediate Metabolizer"
    return "Normal Metabolizer" if score <= 2.25 else "Ultrarapid Metabolizer"


def _expected_rows() -> list[dict[str, str]]:
    doc = json.loads(EXCERPT2.read_text(encoding="utf-8"))
    rows = []
    for package in doc["guidelines"]:
        assert package["guideline"]["source"] == "CPIC"
        latest = max(package["citations"], key=lambda c: c["year"])
        for rec in package["recommendations"]:
            for chemical in rec["relatedChemicals"]:
                for key in rec["lookupKey"]:
                    assert set(key) <= {"CYP2D6", "CYP2C19"} and "CYP2D6" in key, rec["id"]
                    c19 = f"CYP2C19={key['CYP2C19']};" if "CYP2C19" in key else ""
                    rows.append(
                        {
                            "drug": chemical["name"],
                            "lookup": f"{c19}CYP2D6={key['CYP2D6']}",
                            "phenotypes": f"{c19}CYP2D6={_cpic_phenotype(key['CYP2D6'])}",
                            "population": rec["population"],
                            "recommendation": _text(rec["text"]["html"]),
                            "classification": rec["classification"]["term"],
                            "implications": " ".join(_text(i) for i in rec["implications"]),
                            "pmid": str(latest["pmid"]),
                            "id": rec["id"],
                        }
                    )
    return rows


def test_excerpt2__packages_complete() -> None:
    """Every package has one recommendation per CYP2D6 lookup value (per population for atomoxetine; per CYP2C19
    value, plus CYP2D6 "No Result", for the tricyclics keyed on both genes, without the No Result x No Result pair)."""
    doc = json.loads(EXCERPT2.read_text(encoding="utf-8"))
    assert {c["name"] for p in doc["guidelines"] for c in p["guideline"]["relatedChemicals"]} == DRUGS
    for package in doc["guidelines"]:
        recs = package["recommendations"]
        if "CYP2C19" in package["guideline"]["name"]:
            pairs = sorted((k["CYP2C19"], k["CYP2D6"]) for r in recs for k in r["lookupKey"])
            want = {(c, d) for c in CYP2C19 for d in SCORES | {"No Result"}} - {("No Result", "No Result")}
            assert pairs == sorted(want) and len(pairs) == 9 * 23 - 1
            assert len({r["id"] for r in recs}) == len(recs)
            continue
        populations = {r["population"] for r in recs}
        atomoxetine = "atomoxetine" in package["guideline"]["name"]
        assert populations == ({"pediatrics", "adults"} if atomoxetine else {"general"})
        for population in populations:
            values = [k["CYP2D6"] for r in recs if r["population"] == population for k in r["lookupKey"]]
            assert sorted(values) == sorted(SCORES), (package["guideline"]["name"], population)
        assert len({r["id"] for r in recs}) == len(recs)


def test_shipped_table__cyp2d6_rows_equal_cpic_prescribing_guidance() -> None:
    """The shipped rows of the sixteen drugs are exactly the excerpt's recommendations (text, strength, population,
    implications, phenotype of the activity score, latest citation): 10 x 22 + 44 + 5 x 206 = 1294 rows, no 2022
    rows left."""
    expected = _expected_rows()
    assert len(expected) == 10 * 22 + 44 + 5 * 206
    table = _shipped()
    got = table[table["drug"].isin(DRUGS)]
    assert len(got) == len(expected)
    index = {(r.drug, r.lookup, r.population): r for r in got.itertuples()}
    assert len(index) == len(got)
    for want in expected:
        row = index[(want["drug"], want["lookup"], want["population"])]
        assert row.recommendation == want["recommendation"], want["id"]
        assert row.classification == want["classification"], want["id"]
        assert row.implications == want["implications"], want["id"]
        assert row.phenotypes == want["phenotypes"], want["id"]
        assert f"PMID {want['pmid']}" in row.guideline_version, want["id"]
        assert row.source.startswith("CPIC data in PharmCAT prescribing_guidance.json"), want["id"]
        assert "cpicpgx.org" in row.guideline_url and row.cpic_level in {"A", "B"}, want["id"]


def test_pgx_data__excerpt2_changes_nothing(tmp_path: Path) -> None:
    """Applying the excerpt again (``pgx-data --from DIR`` code path) to a copy of the shipped data changes no call."""
    target = tmp_path / "data"
    shutil.copytree(data_dir(), target)
    src = tmp_path / "src"
    src.mkdir()
    shutil.copyfile(EXCERPT2, src / "prescribing_guidance.json")
    changes = update_pgx_data(src, target=target, dry_run=True)
    assert changes.empty


def _recs(diplotype: str, drug: str) -> list[dict]:
    call = outside_phenotype_call("S", OutsideCall("CYP2D6", diplotype, None, None, 1))
    return [r for r in recommend([call]) if r["drug"] == drug]


@pytest.mark.parametrize(
    ("diplotype", "drug", "phenotype", "classification", "text"),
    [
        # *4/*4: AS 0.0 (codeine PA166297602, source offset ~906000)
        ("*4/*4", "codeine", "Poor Metabolizer", "Strong",
         "Avoid codeine use because of possibility of diminished analgesia. If opioid use is warranted, consider a "
         "non-tramadol opioid."),
        # *1/*2x2: AS 1 + 2 = 3.0 (codeine PA166297604)
        ("*1/*2x2", "codeine", "Ultrarapid Metabolizer", "Strong",
         "Avoid codeine use because of potential for serious toxicity. If opioid use is warranted, consider a "
         "non-tramadol opioid."),
        # *1/*4: AS 1.0 (codeine PA166297596; tramadol PA166298581)
        ("*1/*4", "codeine", "Intermediate Metabolizer", "Moderate",
         "Use codeine label recommended age- or weight-specific dosing. If no response and opioid use is warranted, "
         "consider a non-tramadol opioid."),
        ("*1/*4", "tramadol", "Intermediate Metabolizer", "Optional",
         "Use tramadol label recommended age- or weight-specific dosing. If no response and opioid use is warranted, "
         "consider non-codeine opioid."),
        # *1/*2x2 → 3.0: nortriptyline PA166298256, ondansetron PA166298301 (5-HT3 guideline, 2026 update)
        ("*1/*2x2", "nortriptyline", "Ultrarapid Metabolizer", "Strong",
         "Avoid tricyclic use due to potential lack of efficacy. Consider alternative drug not metabolized by CYP2D6."),
        ("*1/*2x2", "ondansetron", "Ultrarapid Metabolizer", "Moderate",
         "Select alternative drug not predominantly metabolized by CYP2D6 (i.e., granisetron)."),
        # *4/*4 → 0.0: tamoxifen PA166298530; *1/*41 → 1.25: paroxetine PA166298351 (SSRI guideline 2023)
        ("*4/*4", "tamoxifen", "Poor Metabolizer", "Strong",
         "Recommend alternative hormonal therapy such as an aromatase inhibitor for postmenopausal women"),
        ("*1/*41", "paroxetine", "Normal Metabolizer", "Strong", "Initiate therapy with recommended starting dose"),
    ],
)  # fmt: skip
def test_recommend__cyp2d6_hand_checked(diplotype: str, drug: str, phenotype: str, classification: str, text: str):
    (row,) = _recs(diplotype, drug)
    assert row["gene"] == "CYP2D6" and row["phenotype"] == phenotype
    assert row["classification"] == classification
    assert row["recommendation"].startswith(text)
    assert "CPIC data in PharmCAT prescribing_guidance.json" in row["guideline"]


def test_recommend__amitriptyline_cyp2d6_and_cyp2c19() -> None:
    """Two-gene lookups (TCA guideline 2016 update): CYP2C19 *1/*1 (normal) with CYP2D6 *1/*2x2 (AS 3.0, ultrarapid)
    is PA166297019; CYP2D6 *4/*4 (AS 0.0) with CYP2C19 not called is the "No Result" row PA166297183."""
    c19 = outside_phenotype_call("S", OutsideCall("CYP2C19", "*1/*1", None, None, 1))
    d6 = outside_phenotype_call("S", OutsideCall("CYP2D6", "*1/*2x2", None, None, 1))
    (row,) = [r for r in recommend([c19, d6]) if r["drug"] == "amitriptyline"]
    assert row["gene"] == "CYP2C19;CYP2D6" and row["phenotype"] == "Normal Metabolizer;Ultrarapid Metabolizer"
    assert row["classification"] == "Strong"
    assert row["recommendation"] == (
        "Avoid amitriptyline use; If amitriptyline is warranted, consider titrating to a higher target dose (compared "
        "to normal metabolizers). Utilize therapeutic drug monitoring to guide dose adjustment."
    )
    (row,) = _recs("*4/*4", "amitriptyline")
    assert row["phenotype"] == "No Result;Poor Metabolizer" and row["classification"] == "Strong"
    assert row["recommendation"].startswith(
        "Avoid tricyclic use due to potential for side effects. Consider alternative drug not metabolized by CYP2D6. "
        "If a TCA is warranted, consider a 50% reduction of recommended starting dose."
    )


@pytest.mark.parametrize(
    ("drug", "rec_id"),
    [("clomipramine", "PA166297405"), ("doxepin", "PA166297727"), ("imipramine", "PA166298032"),
     ("trimipramine", "PA166298648")],
)  # fmt: skip
def test_recommend__tertiary_amines_cyp2c19_poor(drug: str, rec_id: str) -> None:
    """CYP2C19 *2/*2 (poor) with CYP2D6 *1/*1 (AS 2.0, normal): the tertiary amines' PM50 row (``rec_id``, Optional,
    text as read in the source); CYP2C19 *1/*1 with CYP2D6 *1/*41 (AS 1.25) is "Initiate therapy ...", Strong."""
    doc = json.loads(EXCERPT2.read_text(encoding="utf-8"))
    (rec,) = [r for p in doc["guidelines"] for r in p["recommendations"] if r["id"] == rec_id]
    assert rec["lookupKey"] == [{"CYP2D6": "2.0", "CYP2C19": "Poor Metabolizer"}]
    c19 = outside_phenotype_call("S", OutsideCall("CYP2C19", "*2/*2", None, None, 1))
    d6 = outside_phenotype_call("S", OutsideCall("CYP2D6", "*1/*1", None, None, 1))
    (row,) = [r for r in recommend([c19, d6]) if r["drug"] == drug]
    assert row["phenotype"] == "Poor Metabolizer;Normal Metabolizer" and row["classification"] == "Optional"
    assert row["recommendation"] == (
        f"Avoid {drug} use. If {drug} is warranted, consider a 50% reduction of recommended starting dose. "
        "Utilize therapeutic drug monitoring to guide dose adjustments."
    )
    c19 = outside_phenotype_call("S", OutsideCall("CYP2C19", "*1/*1", None, None, 1))
    d6 = outside_phenotype_call("S", OutsideCall("CYP2D6", "*1/*41", None, None, 1))
    (row,) = [r for r in recommend([c19, d6]) if r["drug"] == drug]
    assert row["classification"] == "Strong"
    assert row["recommendation"] == "Initiate therapy with recommended starting dose."


def test_recommend__atomoxetine_two_populations() -> None:
    """*1/*1 (AS 2.0): one row for children (PA166297211) and one for adults (PA166297234), both Moderate."""
    rows = _recs("*1/*1", "atomoxetine")
    texts = sorted(r["recommendation"] for r in rows)
    assert len(texts) == 2
    assert texts[0].startswith("[adults] Initiate with a dose of 40 mg/day and increase to 80 mg/day after 3 days.")
    assert texts[1].startswith("[pediatrics] Initiate with a dose of 0.5 mg/kg/day and increase to 1.2 mg/kg/day")
    assert {r["classification"] for r in rows} == {"Moderate"}


def test_recommend__open_ended_activity_score() -> None:
    """AS 5.0 (*1x2/*2x3 = 2 + 3) is not one of CPIC's exact keys: the drug's ``≥5.0`` row applies, and only it
    (codeine PA166297558); AS 4.0 matches its exact key only."""
    (row,) = _recs("*1x2/*2x3", "codeine")
    assert row["phenotype"] == "Ultrarapid Metabolizer"
    assert row["recommendation"].startswith("Avoid codeine use because of potential for serious toxicity.")
    assert len(_recs("*1x2/*2x2", "codeine")) == 1


def test_recommendation_table__open_ended_lookup_by_hand() -> None:
    """A made-up table: exact keys win; otherwise the highest ``≥`` threshold not above the score; none below it."""
    rows = [("CYP2D6=4.0", "exact 4"), ("CYP2D6=≥3.0", "ge 3"), ("CYP2D6=≥4.0", "ge 4"), ("CYP2D6=2.0", "exact 2")]
    frame = pd.DataFrame(
        [{"drug": "x", "lookup": k, "phenotypes": k, "recommendation": t, "source": "s"} for k, t in rows]
    )
    table = RecommendationTable(frame)
    assert table.open_ended_match("x", "CYP2D6", "≥4.0", {"4.5"})
    assert not table.open_ended_match("x", "CYP2D6", "≥3.0", {"4.5"})
    assert table.open_ended_match("x", "CYP2D6", "≥3.0", {"3.5", "Ultrarapid Metabolizer"})
    assert not table.open_ended_match("x", "CYP2D6", "≥4.0", {"4.0"})  # exact key 4.0 exists
    assert not table.open_ended_match("x", "CYP2D6", "≥3.0", {"2.5"})
    assert not table.open_ended_match("x", "CYP2D6", "≥3.0", {"n/a"})
