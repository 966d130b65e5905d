"""``biolake precision pgx`` / ``pgx-data`` on the command line: columns, lake run, report, errors, updates.

End-to-end reference: PharmCAT v3.1.0's calls-only report of its own example VCFs
(``docs/examples/pharmcat.example*.report.tsv``), made by::

    java -jar pharmcat.jar -vcf pharmcat.example.vcf -po pharmcat.example.outsideCall.tsv -reporterCallsOnlyTsv
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from biolake.lake import Lake
from biolake.precision.pgx.data_update import data_dir
from biolake.report.sections.pgx import demo_vcf

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "pgx"
EXAMPLES = SHARED / "pharmcat" / "examples"
needs_shared = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="../shared/data/pgx is not available")
PHENOTYPE_COLUMNS = ["sample_id", "gene", "diplotype", "phenotype", "activity_score", "ambiguous"]
RECOMMENDATION_COLUMNS = ["sample_id", "drug", "gene", "phenotype", "recommendation", "classification", "guideline"]


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return demo_vcf(tmp_path_factory.mktemp("pgx_demo"))


def test_pgx_command__columns_lake_and_report(tmp_path: Path, demo: tuple[Path, Path], capsys) -> None:
    """The shipped demo VCF (PharmCAT example 2: CYP2C19 *2/*2, CYP2B6 *1/*6 per PharmCAT's report.tsv)."""
    vcf, outside = demo
    out, recs, html = tmp_path / "pgx.tsv", tmp_path / "recs.csv", tmp_path / "pgx.html"
    argv = ["--lake", str(tmp_path / "lake"), "precision", "pgx", str(vcf), "--out", str(out)]
    argv += ["--recommendations", str(recs), "--report", str(html), "--outside-calls", str(outside), "-q"]
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    pheno = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert list(pheno.columns) == PHENOTYPE_COLUMNS
    calls = {r.gene: (r.diplotype, r.phenotype, r.activity_score) for r in pheno.itertuples()}
    assert calls["CYP2C19"] == ("*2/*2", "Poor Metabolizer", "")
    assert calls["CYP2B6"] == ("*1/*6", "Intermediate Metabolizer", "")
    assert calls["CYP2C9"] == ("*1/*1", "Normal Metabolizer", "2.0")
    assert calls["CYP2D6"] == ("*1/*4", "Intermediate Metabolizer", "1.0")  # outside call: 1.0 + 0.0
    rec = pd.read_csv(recs, dtype=str, keep_default_na=False)
    assert list(rec.columns) == RECOMMENDATION_COLUMNS
    clopidogrel = rec[rec["drug"] == "clopidogrel"]
    assert set(clopidogrel["classification"]) == {"Strong", "Moderate"}
    assert all("35034351" in g for g in clopidogrel["guideline"])  # CPIC 2022 update
    codeine = rec[rec["drug"] == "codeine"]
    assert list(codeine["phenotype"]) == ["Intermediate Metabolizer"]
    page = html.read_text()
    assert "Sample Sample_2" in page and page.index("Summary") < page.index("CPIC prescribing recommendations")
    lake = Lake.open(tmp_path / "lake")
    assert lake.to_pandas("pgx").shape == (len(pheno), 6)
    assert lake.to_pandas("recs").shape == (len(rec), 7)


@pytest.mark.parametrize("bad", ["missing", "record"])
def test_pgx_command__bad_vcf_exits_2_one_line(tmp_path: Path, capsys, bad: str) -> None:
    vcf = tmp_path / "bad.vcf"
    if bad == "record":
        vcf.write_text(
            "##fileformat=VCFv4.2\n##contig=<ID=chr10>\n"
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
            "chr10\tnot_a_number\t.\tC\tT\t.\tPASS\t.\tGT\t0/1\n"
        )
    out = tmp_path / "pgx.tsv"
    code, _, err = _cli(["--lake", str(tmp_path / "lake"), "precision", "pgx", str(vcf), "--out", str(out)], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "bad.vcf" in lines[0]
    assert not out.exists()
    assert not [d for d in Lake.open(tmp_path / "lake").datasets() if d.name == "pgx"]


def test_pgx_command__bad_outside_calls_exits_2(tmp_path: Path, demo: tuple[Path, Path], capsys) -> None:
    bad = tmp_path / "outside.tsv"
    bad.write_text("CYP2D6\t*1/*4\nCYP2D6\t*1/*1\n")
    argv = ["--lake", str(tmp_path / "lake"), "precision", "pgx", str(demo[0]), "--out", str(tmp_path / "o.tsv")]
    code, _, err = _cli([*argv, "--outside-calls", str(bad)], capsys)
    assert code == 2 and err.strip() == f"error: {bad}: line 2: CYP2D6 is called more than once"


@needs_shared
@pytest.mark.parametrize(("stem", "outside"), [("pharmcat.example", True), ("pharmcat.example2", False)])
def test_pgx_command__end_to_end_pharmcat_report_tsv(tmp_path: Path, capsys, stem: str, outside: bool) -> None:
    """VCF → biolake matcher + phenotyper → the diplotype, phenotype and activity score of every gene in
    PharmCAT's calls-only report."""
    out = tmp_path / "pgx.tsv"
    argv = ["--lake", str(tmp_path / "lake"), "precision", "pgx", str(EXAMPLES / f"{stem}.vcf"), "--out", str(out)]
    if outside:
        argv += ["--outside-calls", str(EXAMPLES / "pharmcat.example.outsideCall.tsv")]
    code, _, err = _cli([*argv, "-q"], capsys)
    assert code == 0, err
    got = {r.gene: r for r in pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False).itertuples()}
    lines = (EXAMPLES / f"{stem}.report.tsv").read_text().splitlines()[1:]
    for row in csv.DictReader(lines, delimiter="\t"):
        mine = got[row["Gene"]]
        assert (mine.diplotype, mine.phenotype, mine.activity_score) == (
            row["Source Diplotype"],
            row["Phenotype"].strip(),
            row["Activity Score"],
        ), row["Gene"]


@needs_shared
def test_pgx_command__multisample_and_sample_option(tmp_path: Path, capsys) -> None:
    vcf = EXAMPLES / "multisample.vcf"
    header = next(line for line in vcf.read_text().splitlines() if line.startswith("#CHROM"))
    samples = header.split("\t")[9:]
    out = tmp_path / "all.tsv"
    code, _, err = _cli(
        ["--lake", str(tmp_path / "lake"), "precision", "pgx", str(vcf), "--out", str(out), "-q"], capsys
    )
    assert code == 0, err
    every = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert list(dict.fromkeys(every["sample_id"])) == samples
    one = tmp_path / "one.tsv"
    argv = ["--lake", str(tmp_path / "lake"), "precision", "pgx", str(vcf), "--out", str(one), "--sample", samples[1]]
    code, _, err = _cli([*argv, "-q"], capsys)
    assert code == 0, err
    single = pd.read_csv(one, sep="\t", dtype=str, keep_default_na=False)
    assert set(single["sample_id"]) == {samples[1]}
    pd.testing.assert_frame_equal(
        single.reset_index(drop=True), every[every["sample_id"] == samples[1]].reset_index(drop=True)
    )


def test_pgx_data_command__reports_changed_calls(tmp_path: Path, capsys) -> None:
    """A newer TPMT phenotype file (PharmCAT format) with one diplotype changed, and a recommendation
    table with one text changed: exactly those calls are listed and then used."""
    target = tmp_path / "data"
    shutil.copytree(data_dir(), target)
    tpmt = json.loads((target / "phenotypes" / "TPMT.json").read_text())
    newer = tmp_path / "newer"
    newer.mkdir()
    pharmcat_doc = {
        "gene": "TPMT",
        "version": "2099-01-01",
        "namedAlleles": [{"name": k, "functionValue": v[0], "activityValue": None} for k, v in tpmt["alleles"].items()],
        "diplotypes": [
            {
                "diplotypekey": {a1: 2} if a1 == a2 else {a1: 1, a2: 1},
                "phenotype": "Poor Metabolizer" if (a1, a2) == ("*1", "*3A") else p,
                "activityScore": None,
            }
            for a1, a2, p, _ in tpmt["diplotypes"]
        ],
    }
    (newer / "TPMT.json").write_text(json.dumps(pharmcat_doc))
    recs = pd.read_csv(
        target / "recommendations" / "cpic_recommendations.tsv", sep="\t", dtype=str, keep_default_na=False
    )
    first = recs.index[recs["drug"] == "tacrolimus"][0]
    recs.loc[first, "recommendation"] = "Changed text."
    recs.to_csv(newer / "cpic_recommendations.tsv", sep="\t", index=False)
    changes = tmp_path / "changes.csv"
    argv = ["precision", "pgx-data", "--from", str(newer), "--to", str(target), "--out", str(changes), "-q"]
    code, _, err = _cli(argv, capsys)
    assert code == 0, err
    got = pd.read_csv(changes, dtype=str, keep_default_na=False)
    assert list(got["table"]) == ["phenotype", "recommendation"]
    assert got.loc[0, "call"] == "*1/*3A" and got.loc[0, "after"].startswith("Poor Metabolizer")
    assert got.loc[1, "call"].startswith("tacrolimus:") and got.loc[1, "after"].startswith("Changed text.")
    from biolake.precision.pgx.calls import GeneCall
    from biolake.precision.pgx.phenotype import phenotype_calls

    call = GeneCall("S", "TPMT", (("*1", "*3A"),), (), False, (), (), (), ())
    assert phenotype_calls(call, data=target)[0].phenotype == "Poor Metabolizer"
    assert phenotype_calls(call)[0].phenotype == "Intermediate Metabolizer"  # the package is untouched


def test_pgx_demo__report_section(tmp_path: Path) -> None:
    """The demo step runs without ../shared and its run report has the PGx section."""
    from biolake.lake.progress import NullProgress
    from biolake.report.runs import build_run_report
    from biolake.report.sections.pgx import _pgx_demo

    lake = Lake.open(tmp_path / "lake")
    (run_id,) = _pgx_demo(lake, tmp_path, NullProgress())
    page = build_run_report(lake, run_id).to_html()
    assert "Genotypes and phenotypes" in page and "CPIC recommendations" in page
    assert "Poor Metabolizer" in page  # CYP2C19 *2/*2
    clinician = (tmp_path / "pgx_report.html").read_text()
    assert clinician.count("Sample Sample_2") >= 1 and "clopidogrel" in clinician


def test_pgx_job__spilled_rows_equal_in_memory(tmp_path: Path, demo: tuple[Path, Path], monkeypatch) -> None:
    """Rows spilled to Parquet every few rows (bounded memory) give the same tables as one in-memory batch."""
    import biolake.precision.pgx.job as job

    vcf, outside = demo
    lake = Lake.open(tmp_path / "lake")
    kw = {"outside_calls": outside}
    job.pgx_job(lake, vcf, out=tmp_path / "a.tsv", recommendations_out=tmp_path / "ra.tsv", **kw)
    monkeypatch.setattr(job, "_SPILL_ROWS", 7)
    job.pgx_job(lake, vcf, out=tmp_path / "b.tsv", recommendations_out=tmp_path / "rb.tsv", **kw)

    def read(name: str) -> pd.DataFrame:  # quoting is chosen per batch by the writer: compare values
        return pd.read_csv(tmp_path / name, sep="\t", dtype=str, keep_default_na=False)

    pd.testing.assert_frame_equal(read("a.tsv"), read("b.tsv"))
    pd.testing.assert_frame_equal(read("ra.tsv"), read("rb.tsv"))
    assert len(read("rb.tsv")) > 30
