"""FAERS quarterly ingest, case deduplication and unique-report counting.

References: counts recomputed independently with pandas from the DiAna sample tables
(``tests/data/precision/pv/DiAna``, MIT) rebuilt as FAERS ``$``-delimited quarterly
files, and small synthetic quarters whose expected outcome is worked out by hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from biolake.errors import InputError
from biolake.precision.signals import signals
from biolake.precision.signals.faers import find_faers_files, load_faers, normalize_drug_name

DIANA = Path(__file__).resolve().parent.parent / "data" / "precision" / "pv" / "DiAna"


def _write_dollar(path: Path, frame: pd.DataFrame, *, upper: bool = False, trailing: bool = False, crlf: bool = False):
    """Write a FAERS-style file: `$`-delimited, no quoting, optional trailing `$` and CRLF."""
    eol = "\r\n" if crlf else "\n"
    end = "$" if trailing else ""
    cols = [c.upper() if upper else c for c in frame.columns]
    lines = ["$".join(cols) + end]
    for row in frame.itertuples(index=False):
        lines.append(
            "$".join("" if (v is None or (isinstance(v, float) and math.isnan(v))) else str(v) for v in row) + end
        )
    path.write_bytes((eol.join(lines) + eol).encode("latin-1"))


def _diana_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    demo = pd.read_csv(DIANA / "sample_Demo.csv")
    supp = pd.read_csv(DIANA / "sample_Demo_Supp.csv").drop_duplicates("primaryid")
    demo = demo.merge(supp[["primaryid", "caseid", "caseversion", "quarter"]], on="primaryid")
    demo["primaryid"] = demo["primaryid"].astype("int64")
    demo = pd.DataFrame(
        {
            "primaryid": demo["primaryid"],
            "caseid": demo["caseid"],
            "caseversion": demo["caseversion"],
            "fda_dt": demo["fda_dt"],
            "age": demo["age_in_days"].map(lambda v: "" if pd.isna(v) else str(int(v))),
            "age_cod": demo["age_in_days"].map(lambda v: "" if pd.isna(v) else "DY"),
            "sex": demo["sex"],
            "quarter": demo["quarter"],
        }
    )
    names = pd.read_csv(DIANA / "sample_Drug_Name.csv")
    roles = pd.read_csv(DIANA / "sample_Drug.csv").drop_duplicates(["primaryid", "drug_seq"])
    drug = names.merge(roles[["primaryid", "drug_seq", "role_cod"]], on=["primaryid", "drug_seq"], how="left")
    drug["primaryid"] = drug["primaryid"].astype("int64")
    drug = drug[["primaryid", "drug_seq", "role_cod", "drugname", "prod_ai"]]
    reac = pd.read_csv(DIANA / "sample_Reac.csv")
    reac["primaryid"] = reac["primaryid"].astype("int64")
    return demo, drug, reac[["primaryid", "pt"]]


@pytest.fixture(scope="module")
def diana_folder(tmp_path_factory) -> Path:
    """DiAna's 1,000 reports split into their FAERS quarters, one DEMO/DRUG/REAC file each, mixed styles."""
    folder = tmp_path_factory.mktemp("diana_faers")
    demo, drug, reac = _diana_tables()
    for k, (quarter, part) in enumerate(demo.groupby("quarter")):
        ids = set(part["primaryid"])
        style = {"upper": k % 2 == 0, "trailing": k % 3 == 0, "crlf": k % 4 == 1}
        tag = quarter.replace("Q", "q") if k % 2 else quarter
        sub = folder / f"faers_ascii_20{quarter}" / "ascii"
        sub.mkdir(parents=True)
        _write_dollar(sub / f"DEMO{tag}.txt", part.drop(columns="quarter"), **style)
        _write_dollar(sub / f"DRUG{tag}.txt", drug[drug["primaryid"].isin(ids)], **style)
        _write_dollar(sub / f"REAC{tag}.txt", reac[reac["primaryid"].isin(ids)], **style)
    return folder


def _pandas_counts(demo, drug, reac, roles=("PS", "SS")) -> pd.DataFrame:
    """The reference: every kept drug × every event of each latest case, counted per distinct report."""
    latest = (
        demo.assign(v=demo["caseversion"].fillna(0))
        .sort_values(["caseid", "v", "fda_dt", "primaryid"], ascending=[True, False, False, False])
        .drop_duplicates("caseid")
    )
    ids = set(latest["primaryid"])
    d = drug[drug["primaryid"].isin(ids) & drug["role_cod"].isin(roles)].copy()
    d["name"] = [
        normalize_drug_name(a if isinstance(a, str) and a.strip() else b)
        for a, b in zip(d["prod_ai"], d["drugname"], strict=True)
    ]
    d = d.dropna(subset=["name"])[["primaryid", "name"]].drop_duplicates()
    r = reac[reac["primaryid"].isin(ids)].copy()
    r["event"] = [normalize_drug_name(p) for p in r["pt"]]
    r = r.dropna(subset=["event"])[["primaryid", "event"]].drop_duplicates()
    both = set(d["primaryid"]) & set(r["primaryid"])
    d, r = d[d["primaryid"].isin(both)], r[r["primaryid"].isin(both)]
    pairs = d.merge(r, on="primaryid")
    n = pairs.groupby(["name", "event"]).size().rename("n").reset_index()
    n1 = d.groupby("name").size().rename("n_drug")
    m1 = r.groupby("event").size().rename("n_event")
    n = n.join(n1, on="name").join(m1, on="event")
    n["expected"] = n["n_drug"] * n["n_event"] / len(both)
    return n.rename(columns={"name": "drug"}).sort_values(["drug", "event"]).reset_index(drop=True), len(both)


def test_find_faers_files__kinds_any_case(diana_folder):
    """Every quarter's DEMO/DRUG/REAC file is found in the subfolders, upper or lower case names."""
    files = find_faers_files(diana_folder)
    n_quarters = len(list(diana_folder.iterdir()))
    assert {k: len(v) for k, v in files.items()} == {"DEMO": n_quarters, "DRUG": n_quarters, "REAC": n_quarters}


def test_signals__diana_faers_counts(diana_folder):
    """Pairs, n, expected of the `$` files equal a pandas recount of the DiAna tables (exact; E to 1e-12)."""
    demo, drug, reac = _diana_tables()
    ref, n_reports = _pandas_counts(demo, drug, reac)
    res, facts = signals(diana_folder)
    assert facts["input"] == "faers" and facts["cases"] == 1000
    assert facts["reports"] == n_reports
    assert len(res) == len(ref)
    assert res["drug"].tolist() == ref["drug"].tolist()
    assert res["event"].tolist() == ref["event"].tolist()
    assert (res["n"].to_numpy() == ref["n"].to_numpy()).all()
    np.testing.assert_allclose(res["expected"], ref["expected"], rtol=1e-12)
    names = "drug event n expected prr prr_chi2 ror ror_lo ror_hi ic ic025 ebgm eb05 eb95 signal"
    assert list(res.columns) == names.split(" ")


def test_signals__diana_roles_and_csv_layout(diana_folder, tmp_path):
    """The same tables as .csv/.parquet with FAERS names give the same result; roles PS only: pandas recount."""
    demo, drug, reac = _diana_tables()
    demo.drop(columns="quarter").to_csv(tmp_path / "DEMO.csv", index=False)
    drug.to_csv(tmp_path / "DRUG.csv", index=False)
    reac.to_parquet(tmp_path / "REAC.parquet", index=False)
    from_csv, _ = signals(tmp_path)
    from_txt, _ = signals(diana_folder)
    pd.testing.assert_frame_equal(from_csv, from_txt)
    ref_ps, _ = _pandas_counts(demo, drug, reac, roles=("PS",))
    ps, _ = signals(diana_folder, roles=["PS"])
    assert len(ps) == len(ref_ps) < len(from_txt)
    assert (ps["n"].to_numpy() == ref_ps["n"].to_numpy()).all()


def _quarters(folder: Path) -> None:
    """Synthetic quarters (by hand):

    * case 100: legacy AERS 12Q3 (ISR 1001, no caseversion) then FAERS 12Q4 version 2 (1002) → keep 1002;
    * case 200: version 1 (2001, 13Q1), versions 3 (2003) and 2 (2002) in 13Q2 → keep 2003;
    * case 300: the same report 3001 in 13Q1 and 13Q2 → counted once;
    * case 400: reported in 13Q1, deleted by DELE13Q2 → dropped;
    * case 500: two versions with the same caseversion 1: later fda_dt (5002) kept.
    """
    legacy = folder / "aers_ascii_2012q3"
    legacy.mkdir()
    demo_l = "ISR$CASE$I_F_COD$FOLL_SEQ$FDA_DT$AGE$AGE_COD$GNDR_COD$\r\n1001$100$I$$20120801$40$YR$F$\r\n"
    (legacy / "DEMO12Q3.TXT").write_bytes(demo_l.encode("latin-1"))
    (legacy / "DRUG12Q3.TXT").write_bytes(b"ISR$DRUG_SEQ$ROLE_COD$DRUGNAME$VAL_VBM$\r\n1001$1$PS$OLDDRUG$1$\r\n")
    (legacy / "REAC12Q3.TXT").write_bytes(b"ISR$PT$\r\n1001$Nausea$\r\n")
    q4 = folder / "faers_ascii_2012q4"
    q4.mkdir()
    (q4 / "demo12q4.txt").write_text(
        "primaryid$caseid$caseversion$i_f_code$fda_dt$age$age_cod$sex\n1002$100$2$F$20121105$40$YR$F\n"
    )
    (q4 / "drug12q4.txt").write_bytes(
        "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai\n"
        "1002$100$1$PS$Aspirin Bayer$ASPIRIN\n1002$100$2$C$Omeprazole$OMEPRAZOLE\n".encode("latin-1")
    )
    (q4 / "reac12q4.txt").write_text("primaryid$caseid$pt$drug_rec_act\n1002$100$Headache$\n1002$100$Nausea$\n")
    q1 = folder / "faers_ascii_2013q1"
    q1.mkdir()
    (q1 / "DEMO13Q1.txt").write_text(
        "primaryid$caseid$caseversion$i_f_code$fda_dt$age$age_cod$sex\n"
        "2001$200$1$I$20130110$70$YR$M\n3001$300$1$I$20130111$8$YR$F\n4001$400$1$I$20130112$50$YR$M\n"
        "5001$500$1$I$20130105$30$YR$F\n5002$500$1$I$20130301$30$YR$F\n"
    )
    (q1 / "DRUG13Q1.txt").write_bytes(
        "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai\n"
        "2001$200$1$PS$WARFARIN$WARFARIN\n3001$300$1$SS$ aspirin. $\n4001$400$1$PS$DELETEDDRUG$\n"
        "5001$500$1$PS$Café tablets$\n5002$500$1$PS$CAFÉ  TABLETS$\n".encode("latin-1")
    )
    (q1 / "REAC13Q1.txt").write_text(
        "primaryid$caseid$pt$drug_rec_act\n2001$200$Bleeding$\n3001$300$Rash$\n4001$400$Rash$\n"
        "5001$500$Insomnia$\n5002$500$Palpitations$\n"
    )
    q2 = folder / "faers_ascii_2013q2"
    q2.mkdir()
    (q2 / "DEMO13Q2.txt").write_text(
        "primaryid$caseid$caseversion$i_f_code$fda_dt$age$age_cod$sex\n"
        "2003$200$3$F$20130420$70$YR$M\n2002$200$2$F$20130415$70$YR$M\n3001$300$1$I$20130111$8$YR$F\n"
    )
    (q2 / "DRUG13Q2.txt").write_text(
        "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai\n"
        "2003$200$1$PS$COUMADIN$WARFARIN SODIUM\n2003$200$2$SS$aspirin$\n2002$200$1$PS$OTHER$OTHER\n"
        "3001$300$1$SS$ aspirin. $\n"
    )
    (q2 / "REAC13Q2.txt").write_text(
        "primaryid$caseid$pt$drug_rec_act\n2003$200$Haemorrhage$\n2002$200$Rash$\n3001$300$Rash$\n"
    )
    (q2 / "DELE13Q2.txt").write_text("400\n")


def test_load_faers__latest_versions_and_deletions(tmp_path):
    """Kept reports 1002, 2003, 3001, 5002 (see _quarters); drugs normalized; concomitant dropped; latin-1 read."""
    _quarters(tmp_path)
    con = duckdb.connect()
    facts = load_faers(con, tmp_path)
    assert facts["files"] == {"DEMO": 4, "DRUG": 4, "REAC": 4, "DELE": 1}
    kept = sorted(r[0] for r in con.execute("SELECT id FROM pv_report").fetchall())
    assert kept == ["1002", "2003", "3001", "5002"]
    pairs = sorted(con.execute("SELECT id, drug, event FROM pv_pair").fetchall())
    assert pairs == [
        ("1002", "ASPIRIN", "HEADACHE"),
        ("1002", "ASPIRIN", "NAUSEA"),
        ("2003", "ASPIRIN", "HAEMORRHAGE"),
        ("2003", "WARFARIN SODIUM", "HAEMORRHAGE"),
        ("3001", "ASPIRIN", "RASH"),
        ("5002", "CAFÉ TABLETS", "PALPITATIONS"),
    ]


def test_signals__synthetic_quarters_counts(tmp_path):
    """n, expected by hand from the kept pairs (N = 4 reports): ASPIRIN in 3 reports, HAEMORRHAGE in 1 → E = 0.75."""
    _quarters(tmp_path)
    res, facts = signals(tmp_path)
    assert facts["reports"] == 4
    row = res[(res["drug"] == "ASPIRIN") & (res["event"] == "HAEMORRHAGE")].iloc[0]
    assert row["n"] == 1 and row["expected"] == pytest.approx(0.75, rel=1e-15)
    # a = 1, b = 2, c = 0, d = 1 → PRR = (1/3)/(0/1) = inf, ROR = 1/0 = inf, lower CI NaN
    assert row["prr"] == np.inf and row["ror"] == np.inf and np.isnan(row["ror_lo"])
    # ic = log2(1.5/1.25)
    assert row["ic"] == pytest.approx(math.log2(1.5 / 1.25), abs=1e-12)


def test_signals__drug_map_and_drugname(tmp_path):
    """A name→ingredient map merges WARFARIN SODIUM into WARFARIN; drug_name='drugname' uses verbatim names."""
    _quarters(tmp_path)
    mapping = tmp_path / "map.csv"
    mapping.write_text("name,ingredient\nwarfarin sodium,Warfarin\nCOUMADIN,warfarin\n")
    res, _ = signals(tmp_path, drug_map=mapping)
    assert "WARFARIN" in set(res["drug"]) and "WARFARIN SODIUM" not in set(res["drug"])
    verbatim, _ = signals(tmp_path, drug_name="drugname")
    assert "ASPIRIN BAYER" in set(verbatim["drug"])
    mapped, _ = signals(tmp_path, drug_name="drugname", drug_map={"coumadin": "warfarin"})
    assert "WARFARIN" in set(mapped["drug"]) and "COUMADIN" not in set(mapped["drug"])


def test_signals__faers_strata(tmp_path):
    """--stratify sex: E = Σ_s n_drug,s·n_event,s/N_s. ASPIRIN × RASH: F stratum (1002, 3001, 5002): 2·1/3; M: 1·0/1.

    By hand: F reports 1002 (ASPIRIN), 3001 (ASPIRIN, RASH), 5002 → n_drug,F = 2, n_event,F = 1, N_F = 3.
    """
    _quarters(tmp_path)
    res, facts = signals(tmp_path, stratify=["sex"])
    assert facts["stratified"]
    row = res[(res["drug"] == "ASPIRIN") & (res["event"] == "RASH")].iloc[0]
    assert row["expected"] == pytest.approx(2 / 3, rel=1e-15)


def test_signals__unique_reports_in_long_table(tmp_path):
    """Repeated rows count once: report 1 lists (A, x) three times → n = 1 (openEBGM counts unique ids)."""
    rows = pd.DataFrame(
        {"id": [1, 1, 1, 2, 3, 3], "var1": ["A", "A", "A", "A", "B", "B"], "var2": ["x", "x", "x", "y", "x", "y"]}
    )
    path = tmp_path / "rows.csv"
    rows.to_csv(path, index=False)
    res, facts = signals(path)
    assert facts["reports"] == 3
    got = {(r.drug, r.event): (r.n, r.expected) for r in res.itertuples()}
    # n_drug: A 2, B 1; n_event: x 2, y 2; N = 3
    assert got == {("A", "x"): (1, 4 / 3), ("A", "y"): (1, 4 / 3), ("B", "x"): (1, 2 / 3), ("B", "y"): (1, 2 / 3)}


def test_signals__missing_value_names_line(tmp_path):
    """A row without var2 is an InputError naming the file, line 3 and the column."""
    path = tmp_path / "rows.csv"
    path.write_text("id,var1,var2\n1,A,x\n2,B,\n")
    with pytest.raises(InputError, match=r"rows.csv: line 3: column var2: missing value"):
        signals(path)


def test_signals__not_a_layout_or_folder(tmp_path):
    """A table without id/var1/var2, or a folder without FAERS files: InputErrors."""
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="no 'id' column"):
        signals(path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a folder of FAERS"):
        signals(tmp_path / "empty")


def test_load_faers__demo_without_primaryid(tmp_path):
    """A DEMO file with neither primaryid nor ISR is an InputError naming it and line 1."""
    (tmp_path / "DEMO.txt").write_text("foo$bar\n1$2\n")
    (tmp_path / "DRUG.txt").write_text("primaryid$role_cod$drugname\n1$PS$A\n")
    (tmp_path / "REAC.txt").write_text("primaryid$pt\n1$X\n")
    with pytest.raises(InputError, match=r"DEMO.txt: line 1: DEMO file has no 'primaryid' column"):
        signals(tmp_path)
