"""``biolake discovery targets``: the job and CLI end to end, GWAS gene assignment by hand, errors, report, demo."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from biolake.discovery.targets.evidence import de_evidence, proteomics_evidence
from biolake.discovery.targets.gwas import assign_genes
from biolake.lake import Lake

M = 1.64393456668156  # Σ_{i=1}^{1000} 1/i²
DATA = Path(__file__).resolve().parents[1] / "data" / "discovery" / "targets"


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def _gtf(path: Path) -> Path:
    """G1 chr1:100,000–120,000 (+), G2 chr1:200,000–210,000 (−), G3 chr1:1,000,000–1,010,000 (+), G4 chr2."""
    rows = [
        ("chr1", 100_000, 120_000, "+", "G1", "ONE"),
        ("chr1", 200_000, 210_000, "-", "G2", "TWO"),
        ("chr1", 1_000_000, 1_010_000, "+", "G3", "THREE"),
        ("chr2", 100_000, 120_000, "+", "G4", "FOUR"),
    ]
    path.write_text(
        "".join(
            f'{c}\tT\tgene\t{s}\t{e}\t.\t{st}\t.\tgene_id "{g}"; gene_type "protein_coding"; gene_name "{n}";\n'
            for c, s, e, st, g, n in rows
        )
    )
    return path


def test_assign_genes__distances_and_scores_by_hand(tmp_path: Path) -> None:
    """Lead chr1:110,000, p = 1e-10 → strength min(1, 10/20) = 0.5; window 500 kb.

    body: G1 contains it (d = 0, score 0.5); G2 d = 200,000 − 110,000 = 90,000 → 0.5·2^(−1.8) =
    0.1435873; G3 d = 890,000 > 500 kb (out); G4 another chromosome. tss: G1 d = 10,000 →
    0.5·2^(−0.2) = 0.4352753; G2's TSS is its end 210,000 → d = 100,000 → 0.5·2^(−2) = 0.125.
    """
    from biolake.io.gtf import read_genes

    genes = read_genes(_gtf(tmp_path / "g.gtf"))
    leads = pd.DataFrame({"chrom": ["1"], "pos": [110_000], "p": [1e-10], "id": ["rsA"]})
    body = assign_genes(leads, genes, window_kb=500)
    assert body["gene"].tolist() == ["G1", "G2"] and body["nearest"].tolist() == [True, False]
    assert body["distance"].tolist() == [0, 90_000]
    assert body["score"].tolist() == pytest.approx([0.5, 0.5 * 2**-1.8], rel=1e-14)
    tss = assign_genes(leads, genes, window_kb=500, distance="tss")
    assert tss["distance"].tolist() == [10_000, 100_000]
    assert tss["score"].tolist() == pytest.approx([0.5 * 2**-0.2, 0.125], rel=1e-14)
    nearest = assign_genes(leads, genes, window_kb=500, assign="nearest")
    assert nearest["gene"].tolist() == ["G1"]


def test_de_and_proteomics_evidence__documented_transform(tmp_path: Path) -> None:
    """padj 1e-5, log2FC −1 → min(1, 5/10)·min(1, 1/2) = 0.25; padj 1e-12, 3 → 1·1 = 1; padj 0.2 → no evidence."""
    de = tmp_path / "de.csv"
    pd.DataFrame(
        {"gene": ["a", "b", "c"], "base_mean": 1.0, "log2_fold_change": [-1.0, 3.0, 2.0], "padj": [1e-5, 1e-12, 0.2]}
    ).to_csv(de, index=False)
    ev = de_evidence(de)
    assert ev["gene"].tolist() == ["a", "b"] and ev["score"].tolist() == pytest.approx([0.25, 1.0], rel=1e-14)
    prot = tmp_path / "prot.tsv"
    pd.DataFrame({"protein": ["P1", "P2"], "gene": ["a", "z"], "log_fc": [0.5, 1.0], "padj": [1e-3, 0.01]}).to_csv(
        prot, sep="\t", index=False
    )
    pv = proteomics_evidence(prot)
    assert pv["gene"].tolist() == ["a", "z"]
    assert pv["score"].tolist() == pytest.approx([0.3 * 0.25, 0.2 * 0.5], rel=1e-14)


def test_targets_cli__gwas_de_evidence_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """GWAS lead chr1:110,000 p 1e-10 (its neighbour at 150,000 is clumped away) → G1 0.5, G2 0.1435873;
    literature (by gene name): ONE 1.0, THREE 0.4; DE G3 (padj 1e-5, log2FC −1) 0.25; weight literature 0.5.

    Source scores: gwas G1 0.5/M, G2 0.1435873/M; literature G1 1/M, G3 0.4/M; de G3 0.25/M.
    G1: weighted 0.5/M (gwas), 0.5/M (literature) → (0.5/M + 0.5/M/4)/M = 0.6250/M² = 0.2312656.
    G3: literature 0.2/M, de 0.25/M → (0.25/M + 0.2/M/4)/M = 0.30/M² = 0.1110075.
    G2: 0.1435873/M² = 0.0531309.
    """
    gtf = _gtf(tmp_path / "genes.gtf")
    gwas = tmp_path / "gwas.tsv"
    pd.DataFrame(
        {"CHR": [1, 1, 2], "BP": [110_000, 150_000, 5_000_000], "SNP": ["rsA", "rsB", "rsC"], "P": [1e-10, 1e-9, 0.3]}
    ).to_csv(gwas, sep="\t", index=False)
    lit = tmp_path / "lit.csv"
    lit.write_text("gene,score\nONE,1.0\nTHREE,0.4\n")
    de = tmp_path / "de.csv"
    de.write_text("gene,log2_fold_change,padj\nG3,-1,1e-5\nG2,0.1,0.9\n")
    out = tmp_path / "targets.tsv"
    code, _, err = _cli(
        [
            "discovery",
            "targets",
            "--lake",
            str(tmp_path / "lake"),
            "-q",
            "--evidence",
            f"literature={lit}",
            "--weight",
            "literature=0.5",
            "--gwas",
            str(gwas),
            "--gtf",
            str(gtf),
            "--de",
            str(de),
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    res = pd.read_csv(out, sep="\t")
    assert list(res.columns) == ["gene", "gene_name", "score", "rank", "n_evidence", "literature", "gwas", "de"]
    assert res["gene"].tolist() == ["G1", "G3", "G2"]
    assert res["gene_name"].tolist() == ["ONE", "THREE", "TWO"]
    g2 = 0.5 * 2**-1.8
    assert res["score"].tolist() == pytest.approx([0.625 / M**2, 0.30 / M**2, g2 / M**2], rel=1e-12)
    assert res["score"].tolist() == pytest.approx([0.2312656, 0.1110075, 0.0531309], abs=1e-7)
    assert res["n_evidence"].tolist() == [2, 2, 1]
    assert res["gwas"].tolist() == pytest.approx([0.5 / M, 0.0, g2 / M], rel=1e-12)
    lake = Lake.open(tmp_path / "lake")
    record = lake.runs()[0]
    assert record.command == "discovery targets" and record.params["n_leads"] == 1
    loci = lake.to_pandas("targets_loci")
    assert loci.loc[loci["id"] == "rsB", "lead"].tolist() == [0]  # joined rsA's locus


def test_targets_cli__ld_clumping_from_lake_matches_plink(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--ld-ref with PLINK 1.9's setting a (--clump-p1 1e-4 --clump-p2 0.01 --clump-r2 0.1 --clump-kb 250): 5 clumps."""
    from biolake.io.plink import ingest_plink

    lake = Lake.open(tmp_path / "lake")
    ingest_plink(lake, DATA / "ld", name="ld")
    gtf = tmp_path / "genes.gtf"
    gtf.write_text('1\tT\tgene\t900000\t920000\t.\t+\t.\tgene_id "GX"; gene_name "X";\n')
    code, _, err = _cli(
        [
            "discovery",
            "targets",
            "--lake",
            str(tmp_path / "lake"),
            "-q",
            "--gwas",
            str(DATA / "gwas.tsv"),
            "--gtf",
            str(gtf),
            "--ld-ref",
            "lake:ld",
            "--clump-p",
            "1e-4",
            "--clump-p2",
            "0.01",
            "--clump-r2",
            "0.1",
            "--clump-kb",
            "250",
            "--window-kb",
            "100",
            "--out",
            str(tmp_path / "t.csv"),
        ],
        capsys,
    )
    assert code == 0, err
    n_plink = sum(1 for line in (DATA / "clump_a.clumped").read_text().splitlines()[1:] if line.strip())
    assert lake.runs()[0].params["n_leads"] == n_plink == 5
    res = pd.read_csv(tmp_path / "t.csv")
    # GX's only lead within 100 kb is rs1_331 (913,878, inside GX): score min(1, −log10 p / 20)·2⁰
    p = pd.read_csv(DATA / "gwas.tsv", sep="\t").set_index("SNP").loc["rs1_331", "P"]
    assert res["gene"].tolist() == ["GX"]
    assert res["gwas"].iloc[0] == pytest.approx(min(1.0, -math.log10(p) / 20) / M, rel=1e-12)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("gene,score\nA,0.5\nB,1.5\n", "ev.csv: line 3: score 1.5 is outside [0, 1]"),
        ("gene,score\nA,high\n", "ev.csv: line 2: score 'high' is not a number"),
        ("gene,score\nA,-0.1\n", "ev.csv: line 2: score -0.1 is outside [0, 1]"),
        ("gene,value\nA,0.1\n", "ev.csv: no column 'score'"),
    ],
)
def test_targets_cli__bad_evidence__exit_2_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    ev = tmp_path / "ev.csv"
    ev.write_text(content)
    code, _, err = _cli(
        [
            "discovery",
            "targets",
            "--lake",
            str(tmp_path / "lake"),
            "-q",
            "--evidence",
            f"lit={ev}",
            "--out",
            str(tmp_path / "t.csv"),
        ],
        capsys,
    )
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: ") and expected in err, err
    assert not (tmp_path / "t.csv").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--evidence", "lit"], "--evidence: expected NAME=VALUE, got 'lit'"),
        (["--evidence", "lit=EV", "--weight", "other=2"], "--weight: no source named 'other'"),
        (["--evidence", "lit=EV", "--weight", "lit=x"], "--weight: weight 'x' of 'lit' is not a number"),
        (["--gwas", "EV"], "--gwas: --gwas needs --gtf"),
        ([], "give at least one source"),
        (["--evidence", "lit=EV", "--ld-ref", "lake:ref"], "--ld-ref: --ld-ref needs --gwas"),
        (["--evidence", "score=EV"], "source name 'score' is an output column name"),
    ],
)
def test_targets_cli__bad_options__exit_2_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    ev = tmp_path / "ev.csv"
    ev.write_text("gene,score\nA,0.5\n")
    args = [a.replace("EV", str(ev)) for a in args]
    code, _, err = _cli(
        ["discovery", "targets", "--lake", str(tmp_path / "lake"), "-q", *args, "--out", str(tmp_path / "t.csv")],
        capsys,
    )
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: ") and expected in err, err


def test_targets_cli__bad_gwas_p__names_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gwas = tmp_path / "g.tsv"
    gwas.write_text("chrom\tpos\tp\n1\t100\t0.5\n1\t200\t2\n")
    code, _, err = _cli(
        [
            "discovery",
            "targets",
            "--lake",
            str(tmp_path / "lake"),
            "-q",
            "--gwas",
            str(gwas),
            "--gtf",
            str(_gtf(tmp_path / "x.gtf")),
            "--out",
            str(tmp_path / "t.csv"),
        ],
        capsys,
    )
    assert code == 2 and err.strip() == f"error: {gwas}: line 3: p-value 2 is outside [0, 1]", err


def test_targets_demo_and_report__ranked_table_heatmap_loci(tmp_path: Path) -> None:
    """The demo step runs; its report has the ranked table, the heat map and three locus plots.

    Demo data: GENE6 has the strongest GWAS locus (p ≈ 1e-14 inside the gene), the strongest DE
    (padj 1e-12, log2FC 2.5) and two literature scores → rank 1.
    """
    from biolake.report.runs import build_run_report
    from biolake.report.sections.targets import _targets_demo

    lake = Lake.open(tmp_path / "lake")
    (run_id,) = _targets_demo(lake, tmp_path / "demo", None)  # type: ignore[arg-type]
    targets = lake.to_pandas("targets")
    assert targets["gene_name"].iloc[0] == "GENE6"
    report = build_run_report(lake, run_id)
    (section,) = [s for s in report.sections if s.title == "discovery targets"]
    subs = {sub.title: [type(b).__name__ for b in sub.blocks] for sub in section.subsections}
    assert subs == {"Ranked targets": ["_Table"], "Evidence heat map": ["_Chart"], "Top loci": ["_Image"] * 3}
    assert "Evidence by source" in report._charts()[0].spec_json


def test_read_gwas__biolake_gwas_table_in_the_lake_and_parquet(tmp_path: Path) -> None:
    """biolake's ``genomics gwas`` columns (untested variants have p = null and an errcode): those rows are dropped."""
    from biolake.discovery.targets.gwas import read_gwas

    table = pd.DataFrame(
        {
            "chrom": ["1", "1", "2"],
            "pos": [100, 200, 300],
            "id": ["v1", "v2", "v3"],
            "beta": [0.1, None, -0.2],
            "p": [1e-9, None, 0.5],
            "errcode": [None, "CONST_OMITTED_ALLELE", None],
        }
    )
    lake = Lake.open(tmp_path / "lake")
    lake.write_table("qt_gwas", table)
    table.to_parquet(tmp_path / "qt.parquet")
    for spec in ("lake:qt_gwas", tmp_path / "qt.parquet"):
        g = read_gwas(spec, lake=lake)
        assert list(g.columns) == ["chrom", "pos", "p", "id", "beta"]
        assert g["id"].tolist() == ["v1", "v3"] and g["p"].tolist() == [1e-9, 0.5]
