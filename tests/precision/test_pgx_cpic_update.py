"""The shipped CPIC recommendation table against CPIC's own data files, and ``pgx-data --from DIR`` round trips.

References (committed under ``tests/data/precision/pgx_cpic/``, provenance in its ``README.md``):

* ``prescribing_guidance.cpic_excerpt.json`` — eleven CPIC guideline packages (aminoglycosides/MT-RNR1,
  atorvastatin/SLCO1B1, azathioprine, mercaptopurine and thioguanine/TPMT+NUDT15 (2025 update), NSAIDs and
  tenoxicam/CYP2C9, citalopram+escitalopram, clopidogrel and voriconazole/CYP2C19, volatile anaesthetics and
  succinylcholine/RYR1+CACNA1S) copied from PharmCAT's ``prescribing_guidance.json``
  (CPIC data, CC0, as PharmCAT ships it; the copy read is named ``prescribing_guidance.v3.4.0.json``);
* ``cpic_data_changelog.recommendations.tsv`` — the ``RECOMMENDATION`` rows of CPIC's change log
  (cpicpgx/cpic-data ``data.tsv``, release 1.56.0).

The tests parse those files here, independently of ``biolake.precision.pgx.data_update``: HTML is reduced to text
with a regular expression and ``html.unescape``, lookups are rebuilt from the JSON, and each shipped row is
compared field by field.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from biolake.precision.pgx.data_update import data_dir

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "precision" / "pgx_cpic"
EXCERPT = DATA / "prescribing_guidance.cpic_excerpt.json"
CHANGELOG = DATA / "cpic_data_changelog.recommendations.tsv"
PYPGX_CPIC = HERE.parents[2] / "shared" / "data" / "pgx" / "pypgx" / "cpic-table.csv"
COLUMNS = ["drug", "genes", "lookup", "phenotypes", "population", "recommendation", "classification", "source"]


def _shipped() -> pd.DataFrame:
    path = data_dir() / "recommendations" / "cpic_recommendations.tsv"
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _expected_rows(excerpt: Path = EXCERPT) -> list[dict[str, str]]:
    """One expected row per recommendation, drug and lookup key of the excerpt (CPIC packages only)."""
    doc = json.loads(excerpt.read_text(encoding="utf-8"))
    rows = []
    for package in doc["guidelines"]:
        assert package["guideline"]["source"] == "CPIC"
        latest = max(package["citations"], key=lambda c: c["year"])
        for rec in package["recommendations"]:
            for chemical in rec["relatedChemicals"]:
                for key in rec["lookupKey"]:
                    rows.append(
                        {
                            "drug": chemical["name"],
                            "lookup": ";".join(f"{g}={key[g]}" for g in sorted(key)),
                            "population": rec["population"] or "general",
                            "recommendation": _text(rec["text"]["html"]),
                            "classification": rec["classification"]["term"],
                            "pmid": str(latest["pmid"]),
                            "id": rec["id"],
                        }
                    )
    return rows


def test_shipped_table__rows_equal_cpic_prescribing_guidance() -> None:
    """Every excerpt recommendation is a shipped row with the same text, strength and population; the drugs it
    covers have no other rows (a guideline update replaces a drug's rows as a whole)."""
    table = _shipped()
    expected = _expected_rows()
    assert len(expected) == 33 + 6 + 35 + 24 + 16 + 24 + 56 + 35 + 6 + 35 + 16
    drugs = {r["drug"] for r in expected}
    got = table[table["drug"].isin(drugs)]
    assert len(got) == len(expected)
    index = {(r.drug, r.lookup, r.population): r for r in got.itertuples()}
    for want in expected:
        row = index[(want["drug"], want["lookup"], want["population"])]
        assert row.recommendation == want["recommendation"], want["id"]
        assert row.classification == want["classification"], want["id"]
        assert f"PMID {want['pmid']}" in row.guideline_version, want["id"]
        assert row.source.startswith("CPIC data in PharmCAT prescribing_guidance.json"), want["id"]


def test_shipped_table__rows_equal_cpic_excerpt3() -> None:
    """The third excerpt (17 packages: UGT1A1, DPYD, CYP2B6, CYP2C19 PPIs, statins, CFTR, CYP2C9 NSAIDs, IFNL3,
    CYP3A5) is shipped row for row; the IFNL3 package has no recommendations in PharmCAT's data, so
    peginterferon and ribavirin keep their 2022 rows."""
    table = _shipped()
    expected = _expected_rows(DATA / "prescribing_guidance.cpic_excerpt3.json")
    drugs = {r["drug"] for r in expected}
    assert drugs >= {"capecitabine", "fluorouracil", "efavirenz", "omeprazole", "rosuvastatin", "tacrolimus"}
    assert not drugs & {"peginterferon alfa-2a", "peginterferon alfa-2b", "ribavirin"}
    got = table[table["drug"].isin(drugs)]
    assert len(got) == len(expected) == 170
    index = {(r.drug, r.lookup, r.population): r for r in got.itertuples()}
    for want in expected:
        row = index[(want["drug"], want["lookup"], want["population"])]
        assert (row.recommendation, row.classification) == (want["recommendation"], want["classification"])
        assert f"PMID {want['pmid']}" in row.guideline_version, want["id"]
    # hand-read on the source pages (CPIC DPYD 2017 update, PMID 29152729; NSAIDs 2020, PMID 32189324)
    pm = table[(table["drug"] == "capecitabine") & (table["lookup"] == "DPYD=0.5")]
    assert pm["recommendation"].str.contains("strongly reduced dose with early therapeutic drug monitoring").all()
    piroxicam = table[(table["drug"] == "piroxicam") & (table["lookup"] == "CYP2C9=1.0")]
    assert piroxicam["recommendation"].str.startswith("Choose an alternative therapy not metabolized by CYP2C9").all()


@pytest.mark.parametrize(
    ("drug", "lookup", "phenotypes", "classification", "starts"),
    [
        # hand-read on the source page: azathioprine, TPMT IM + NUDT15 IM, CPIC 2025 update (PMID 41618934)
        (
            "azathioprine",
            "NUDT15=Intermediate Metabolizer;TPMT=Intermediate Metabolizer",
            "NUDT15=Intermediate Metabolizer;TPMT=Intermediate Metabolizer",
            "Moderate",
            "Initiate therapy with reduced starting doses (20%-50% of standard starting dose)",
        ),
        # CYP2C9 activity score 1.0 is an intermediate metabolizer (CPIC: AS 1.0-1.5)
        ("celecoxib", "CYP2C9=1.0", "CYP2C9=Intermediate Metabolizer", "Moderate", "Initiate therapy with lowest"),
        ("ibuprofen", "CYP2C9=0.0", "CYP2C9=Poor Metabolizer", "Moderate", "Initiate therapy with 25-50% of"),
        ("gentamicin", "MT-RNR1=increased risk of aminoglycoside-induced hearing loss",
         "MT-RNR1=increased risk of aminoglycoside-induced hearing loss", "Strong", "Avoid aminoglycoside anitbiotics"),
        ("atorvastatin", "SLCO1B1=Poor Function", "SLCO1B1=Poor Function", "Moderate", "Prescribe ≤20mg as a starting"),
    ],
)  # fmt: skip
def test_shipped_table__hand_checked_rows(drug: str, lookup: str, phenotypes: str, classification: str, starts: str):
    table = _shipped()
    (row,) = table[(table["drug"] == drug) & (table["lookup"] == lookup)].itertuples()
    assert row.phenotypes == phenotypes
    assert row.classification == classification
    assert row.recommendation.startswith(starts)


@pytest.mark.skipif(not PYPGX_CPIC.exists(), reason="../shared/data/pgx/pypgx is not available")
def test_shipped_table__every_cpic_level_a_pair_covered() -> None:
    """Every final CPIC level A gene-drug pair of a gene biolake calls has rows naming that gene. Excluded, with
    the reason: warfarin (CPIC gives a dosing algorithm, not a genotype lookup table)."""
    pairs = pd.read_csv(PYPGX_CPIC, dtype=str, keep_default_na=False)
    genes = {p.stem.replace("_", "-") for p in (data_dir() / "phenotypes").glob("*.json")} | {"HLA-A", "HLA-B"}
    level_a = pairs[(pairs["CPICLevel"] == "A") & (pairs["CPICLevelStatus"] == "Final") & pairs["Gene"].isin(genes)]
    level_a = level_a[level_a["Drug"] != "warfarin"]
    assert len(level_a) >= 80
    table = _shipped()
    have = {(d, g) for d, gs in zip(table["drug"], table["genes"], strict=True) for g in gs.split(";")}
    missing = [(r.Drug, r.Gene) for r in level_a.itertuples() if (r.Drug, r.Gene) not in have]
    assert missing == []


def test_shipped_table__2022_rows_marked_from_cpic_change_log() -> None:
    """Each remaining 2022 PyPGx row says whether CPIC's change log records a recommendation change for its drug
    after 2022-08 (then the dates are listed), read here from the committed change log."""
    log = pd.read_csv(CHANGELOG, sep="\t", dtype=str, keep_default_na=False)
    recent = log[(log["Type of Data"] == "RECOMMENDATION") & (log["Date of Change"] >= "2022-09-01")]
    changed: dict[str, set[str]] = {}
    for date, drug in zip(recent["Date of Change"], recent["Subject"], strict=True):
        changed.setdefault(drug.strip().lower(), set()).add(date)
    table = _shipped()
    old = table[table["source"].str.startswith("PyPGx")]
    assert len(old) > 0
    for row in old.itertuples():
        dates = changed.get(row.drug.lower())
        if dates:
            assert "may be outdated" in row.source and all(d in row.source for d in dates), row.drug
        else:
            assert "records no recommendation change for this drug since 2022-09-01" in row.source, row.drug
    assert "clopidogrel" in changed and "2023-10-20" in changed["clopidogrel"]  # CVI PM text, per the log


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_pgx_data_command__prescribing_guidance_round_trip(tmp_path: Path, capsys) -> None:
    """``pgx-data --from DIR`` with a guidance file whose one recommendation changed: exactly that call changes;
    with the shipped excerpt again: exactly that call changes back and the table equals the shipped one."""
    target = tmp_path / "data"
    shutil.copytree(data_dir(), target)
    doc = json.loads(EXCERPT.read_text(encoding="utf-8"))
    nsaid = next(p for p in doc["guidelines"] if "celecoxib" in p["guideline"]["name"])
    changed = next(r for r in nsaid["recommendations"] if r["id"] == "PA166297316")  # celecoxib, CYP2C9 AS 0.5
    changed["text"]["html"] = "<p>Changed &amp; shorter text.</p>\n"
    changed["classification"]["term"] = "Optional"
    newer = tmp_path / "newer"
    newer.mkdir()
    (newer / "prescribing_guidance.json").write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "changes.tsv"
    argv = ["precision", "pgx-data", "--from", str(newer), "--to", str(target), "--out", str(out), "-q"]
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    changes = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert list(changes["call"]) == ["celecoxib: CYP2C9=0.5 (general)"]
    assert changes.loc[0, "change"] == "changed" and changes.loc[0, "after"] == "Changed & shorter text. [Optional]"
    shipped = _shipped()
    updated = pd.read_csv(target / "recommendations" / "cpic_recommendations.tsv", sep="\t", dtype=str,
                          keep_default_na=False)  # fmt: skip
    diff = updated[COLUMNS].merge(shipped[COLUMNS], how="outer", indicator=True)
    assert sorted(diff.loc[diff["_merge"] != "both", "lookup"]) == ["CYP2C9=0.5", "CYP2C9=0.5"]
    shutil.copyfile(EXCERPT, newer / "prescribing_guidance.json")
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    back = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert list(back["call"]) == ["celecoxib: CYP2C9=0.5 (general)"] and back.loc[0, "after"].endswith("[Moderate]")
    again = pd.read_csv(target / "recommendations" / "cpic_recommendations.tsv", sep="\t", dtype=str,
                        keep_default_na=False)  # fmt: skip
    pd.testing.assert_frame_equal(again[COLUMNS], shipped[COLUMNS])


def test_pgx_data_command__bad_prescribing_guidance(tmp_path: Path, capsys) -> None:
    newer = tmp_path / "newer"
    newer.mkdir()
    bad = newer / "prescribing_guidance.json"
    bad.write_text('{"guidelines": [', encoding="utf-8")
    argv = ["precision", "pgx-data", "--from", str(newer), "--to", str(tmp_path / "t"), "--dry-run", "-q"]
    code, _, err = _cli(argv, capsys)
    assert code == 2 and str(bad) in err and "prescribing_guidance" in err
    bad.write_text('{"drugs": {}}', encoding="utf-8")
    code, _, err = _cli(argv, capsys)
    assert code == 2 and str(bad) in err
