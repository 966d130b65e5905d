"""Star-allele matching agrees with PharmCAT's NamedAlleleMatcher (PharmCAT 3.1.1, matcher 2.0.0).

References (PharmCAT is Java and not installed: its own expected results are used):

* ``tests/data/precision/pgx/pharmcat_matcher_cases.json`` — every simple case of PharmCAT's
  ``NamedAlleleMatcher*Test.java`` (synthetic ``TestVcfBuilder`` VCFs and the resource VCFs in
  ``../shared/data/pgx/test_vcfs``) with PharmCAT's asserted diplotype list, in PharmCAT's order;
  extracted by ``make_pharmcat_cases.py`` from PharmGKB/PharmCAT@5431bf1187e5. E.g.::

      assertDiplotypePairs(Lists.newArrayList("*1/*4", "*1/*17"), testMatchNamedAlleles(s_env, sf_definitionFile,
          new TestVcfBuilder(testInfo, "*1/*4 and *1/*17")
              .variation("CYP2C19", "rs12248560", "C", "T").variation("CYP2C19", "rs3758581", "G", "G")
              .missing("CYP2C19", "rs28399504").generate(), true));

* ``../shared/data/pgx/pharmcat/test/haplotype/NAT2/tests.tsv`` — PharmCAT's NAT2 sheet (NamedAlleleMatcherNat2Test).
* ``../shared/data/pgx/pharmcat/examples/*.match.json`` — PharmCAT 3.1.1's output for its example VCFs.
* ``../shared/data/pgx/test_vcfs`` — PharmCAT's test VCFs whose file name states the diplotype.

Tests reading ``../shared`` skip when it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biolake.errors import InputError
from biolake.precision.pgx._definitions import load_definitions
from biolake.precision.pgx.matcher import match_vcf

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[0] / "data" / "precision" / "pgx"
SHARED = HERE.parents[2] / "shared" / "data" / "pgx"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/pgx not available")
CASES = json.loads((DATA / "pharmcat_matcher_cases.json").read_text())["cases"]
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{}\n"


def _vcf_for_case(case: dict, path: Path) -> Path:
    """TestVcfBuilder: every position of the gene 0/0 (0|0 if phased) except the edits; missing ones left out."""
    gd = load_definitions()[case["gene"]]
    sep = "|" if case["phased"] else "/"
    lines = [HEADER.format("S")]
    for i, pos in enumerate(gd.positions):
        if pos in case["missing"]:
            continue
        ref, alt, gt = case["records"].get(str(pos)) or (gd.refs[i], ",".join(gd.alts[i]), f"0{sep}0")
        lines.append(f"{gd.chromosome}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t{gt}\n")
    path.write_text("".join(lines))
    return path


def _calls(vcf: Path, gene: str, **kw) -> list[str]:
    return [d for c in match_vcf(vcf, genes=[gene], **kw) for d in c.diplotype_names]


@pytest.mark.parametrize("case", [c for c in CASES if "vcf" not in c], ids=lambda c: f"{c['class']}.{c['test']}")
def test_match_vcf__pharmcat_unit_cases(case, tmp_path):
    vcf = _vcf_for_case(case, tmp_path / "case.vcf")
    assert _calls(vcf, case["gene"], top_candidates_only=case["top_only"]) == case["expected"]


@needs_shared
@pytest.mark.parametrize("case", [c for c in CASES if "vcf" in c], ids=lambda c: f"{c['class']}.{c['test']}")
def test_match_vcf__pharmcat_resource_vcfs(case):
    gene_dir, name = case["vcf"].split("/")
    vcf = SHARED / "test_vcfs" / gene_dir / name
    assert _calls(vcf, case["gene"], top_candidates_only=case["top_only"]) == case["expected"]


# file name → PharmCAT's diplotype (old allele names updated: CYP2C19 *4B→*4, TPMT unchanged); the named
# diplotype must be among the top candidates (several when unphased data cannot decide)
NAMED = {
    "CYP2B6/s1s1.vcf": "*1/*1", "CYP2B6/s1s34.vcf": "*1/*34",
    "DPYD/c1156het.vcf": "Reference/c.1156G>T (*12)", "DPYD/c2846het.vcf": "Reference/c.2846A>T",
    "DPYD/novariant.vcf": "Reference/Reference",
    "NUDT15/refref.vcf": "*1/*1", "NUDT15/s2ref.vcf": "*1/*2", "NUDT15/s3ref.vcf": "*1/*3",
    "SLCO1B1/SLCO1B1_s14_s19_t1.vcf": "*14/*19", "SLCO1B1/SLCO1B1_s1_s14_t1.vcf": "*1/*14",
    "SLCO1B1/SLCO1B1_s1_s15_t1.vcf": "*1/*15", "SLCO1B1/SLCO1B1_s1_s25_t1.vcf": "*1/*25",
    "SLCO1B1/SLCO1B1_s37_s40_t1.vcf": "*37/*40", "SLCO1B1/SLCO1B1_s5_s14_t1.vcf": "*5/*14",
    "SLCO1B1/s1s1.vcf": "*1/*1", "SLCO1B1/s1s15.vcf": "*1/*15", "SLCO1B1/s1s44.vcf": "*1/*44",
    "SLCO1B1/s2s2.vcf": "*2/*2", "SLCO1B1/s5s15.vcf": "*5/*15", "SLCO1B1/s5s45.vcf": "*5/*45",
    "TPMT/het3a.vcf": "*1/*3A", "TPMT/hom1s_het3a.vcf": "*1/*3A", "TPMT/s16s22.vcf": "*16/*22",
    "TPMT/s3as3b.vcf": "*3A/*3B",
    "UGT1A1/s1s1.vcf": "*1/*1", "UGT1A1/s28het.vcf": "*1/*28", "UGT1A1/s28s37.vcf": "*28/*37",
    "UGT1A1/s6s6.vcf": "*6/*6",
    "cyp2c19/s1s1.vcf": "*1/*1", "cyp2c19/s1s2.vcf": "*1/*2", "cyp2c19/s1s28.vcf": "*1/*28",
    "cyp2c19/s1s17.vcf": "*1/*17", "cyp2c19/s1s35.vcf": "*1/*35", "cyp2c19/s2s2.vcf": "*2/*2",
    "cyp2c19/s2s3.vcf": "*2/*3", "cyp2c19/s1s4b.vcf": "*1/*4", "cyp2c19/s4as4b.vcf": "*4/*4",
    "cyp2c19/s4bs17.vcf": "*4/*17", "cyp2c19/s4s17het.vcf": "*4/*17", "cyp2c19/s15s28.vcf": "*15/*28",
    "cyp2c9/s1s1.vcf": "*1/*1", "cyp2c9/s1s61.vcf": "*1/*61", "cyp2c9/s24s24.vcf": "*24/*24",
    "cyp2c9/s2s24.vcf": "*2/*24", "cyp2c9/s2s25.vcf": "*2/*25", "cyp2c9/s2s3.vcf": "*2/*3",
    "cyp3a5/s1s1.vcf": "*1/*1",
}  # fmt: skip
# unphased DPYD: PharmCAT lists the alleles found (haplotypeMatches), not a diplotype
NAMED_HAPLOTYPES = {
    "DPYD/c1129-5923c2846.vcf": ["c.1129-5923C>G", "c.2846A>T"],
    "DPYD/c1679c1156.vcf": ["c.1156G>T (*12)", "c.1679T>G (*13)"],
    "DPYD/c557c703.vcf": ["c.557A>G", "c.703C>T (*8)"],
}
GENE_OF = {"cyp2c19": "CYP2C19", "cyp2c9": "CYP2C9", "cyp3a5": "CYP3A5"}


@needs_shared
@pytest.mark.parametrize("name", sorted(NAMED))
def test_match_vcf__test_vcf_named_diplotype(name):
    gene_dir = name.split("/")[0]
    calls = _calls(SHARED / "test_vcfs" / name, GENE_OF.get(gene_dir, gene_dir))
    assert NAMED[name] in calls


@needs_shared
@pytest.mark.parametrize("name", sorted(NAMED_HAPLOTYPES))
def test_match_vcf__dpyd_unphased_haplotype_matches(name):
    (call,) = match_vcf(SHARED / "test_vcfs" / name, genes=["DPYD"])
    assert call.diplotypes == ()
    assert list(call.haplotype_matches) == NAMED_HAPLOTYPES[name]


def _pharmcat_json(path: Path) -> dict[str, dict]:
    return {g["gene"]: g for g in json.loads(path.read_text())["results"]}


@needs_shared
@pytest.mark.parametrize("example", ["pharmcat.example", "pharmcat.example2"])
def test_match_vcf__pharmcat_examples(example):
    exp = _pharmcat_json(SHARED / "pharmcat" / "examples" / f"{example}.match.json")
    got = {c.gene: c for c in match_vcf(SHARED / "pharmcat" / "examples" / f"{example}.vcf")}
    assert set(got) == set(exp)
    for gene, g in exp.items():
        assert list(got[gene].diplotype_names) == [d["name"] for d in g["diplotypes"]], gene
        assert list(got[gene].diplotype_scores) == [d["score"] for d in g["diplotypes"]], gene
        assert list(got[gene].haplotype_matches) == [h["name"] for h in g["haplotypeMatches"]], gene
        assert got[gene].phased == g["phased"], gene
        assert len(got[gene].positions_missing) == len(g["matchData"]["missingPositions"]), gene


@needs_shared
def test_match_vcf__sample_1_match_json():
    """Sample_1.match.json was written by PharmCAT in 2023-10 (data v1.16): NAT2 did not exist and RYR1 was not
    yet a lowest-function gene (PharmCAT commit 596058a7, 2024-01), so those two are not compared."""
    exp = _pharmcat_json(SHARED / "pharmcat" / "test" / "Sample_1.match.json")
    got = {c.gene: c for c in match_vcf(SHARED / "pharmcat" / "test" / "Sample_1.preprocessed.vcf")}
    for gene, g in exp.items():
        if gene == "RYR1":
            continue
        assert list(got[gene].diplotype_names) == [d["name"] for d in g["diplotypes"]], gene
        assert list(got[gene].haplotype_matches) == [h["name"] for h in g["haplotypeMatches"]], gene


@needs_shared
def test_match_vcf__nat2_sheet(tmp_path):
    """PharmCAT's NamedAlleleMatcherNat2Test.nat2Sheet: rows of 5 genotypes (+ missing positions) → output/pick."""
    gd = load_definitions()["NAT2"]
    rows = (SHARED / "pharmcat" / "test" / "haplotype" / "NAT2" / "tests.tsv").read_text().splitlines()[1:]
    cols = ["rs1801279", "rs1801280", "rs1799930", "rs1208", "rs1799931"]
    for n, line in enumerate(rows, start=2):
        data = line.rstrip("\t").split("\t")
        missing = set()
        if data[0] and data[0] != "none":
            missing = {part.split("(")[0].strip() for part in data[0].split("),")}
        edits = {rs: data[2 + k].split("/") for k, rs in enumerate(cols)}
        body = [HEADER.format("S")]
        for i, pos in enumerate(gd.positions):
            rs = gd.rsids[i]
            if rs in missing:
                continue
            gt = "0/0"
            if rs in edits:
                alle = [gd.refs[i], *gd.alts[i]]
                gt = "/".join(str(alle.index(a)) for a in edits[rs])
            body.append(f"chr8\t{pos}\t{rs}\t{gd.refs[i]}\t{','.join(gd.alts[i])}\t.\tPASS\t.\tGT\t{gt}\n")
        vcf = tmp_path / f"row{n}.vcf"
        vcf.write_text("".join(body))
        got = _calls(vcf, "NAT2")
        if data[7] == "not called":
            assert got == [], n
        elif len(data) > 8 and data[8]:
            assert got == [data[8]], n
        else:
            assert got == [s.strip() for s in data[7].split("or") if s.strip()], n


@needs_shared
def test_match_vcf__multisample_equals_single_sample(tmp_path):
    src = SHARED / "pharmcat" / "examples" / "multisample.vcf"
    multi = list(match_vcf(src))
    lines = src.read_text().splitlines()
    header = next(i for i, x in enumerate(lines) if x.startswith("#CHROM"))
    samples = lines[header].split("\t")[9:]
    assert {c.sample_id for c in multi} == set(samples)
    for k, s in enumerate(samples):
        one = tmp_path / f"{s}.vcf"
        body = ["\t".join([*x.split("\t")[:9], x.split("\t")[9 + k]]) for x in lines[header:]]
        one.write_text("\n".join(lines[:header] + body) + "\n")
        single = list(match_vcf(one))
        assert [(c.gene, c.diplotypes, c.haplotype_matches) for c in single] == [
            (c.gene, c.diplotypes, c.haplotype_matches) for c in multi if c.sample_id == s
        ]
    # selecting samples keeps their order
    sel = list(match_vcf(src, samples=samples[::-1], genes=["CYP2C19"]))
    assert [c.sample_id for c in sel] == samples[::-1]


def test_match_vcf__chr_naming_and_missing_positions(tmp_path):
    """`10` and `chr10` read alike; a position the VCF lacks is reported missing and the call becomes the list of
    possible diplotypes (CYP2C19 *1/*17 with rs12248560 absent → PharmCAT's s1s1rs12248560missing case:
    *1/*1, *1/*17, *17/*17 when all candidates are asked for)."""
    gd = load_definitions()["CYP2C19"]
    rows = []
    for i, pos in enumerate(gd.positions):
        if gd.rsids[i] == "rs12248560":
            continue
        gt = "1/1" if gd.rsids[i] == "rs3758581" else "0/0"
        rows.append(f"10\t{pos}\t.\t{gd.refs[i]}\t{','.join(gd.alts[i])}\t.\tPASS\t.\tGT\t{gt}\n")
    vcf = tmp_path / "x.vcf"
    vcf.write_text(HEADER.format("S") + "".join(rows))
    (call,) = match_vcf(vcf, genes=["CYP2C19"], top_candidates_only=False)
    assert call.diplotype_names == ("*1/*1", "*1/*17", "*17/*17")
    assert call.positions_missing == ("chr10:94761900",)
    assert "*4" not in call.uncallable_alleles  # *4 is also defined elsewhere
    assert len(call.positions_used) == len(gd.positions) - 1


def test_match_vcf__half_missing_genotypes(tmp_path):
    """VcfReader: ``1/.`` is kept as a half call and MatchData.hasPartialMissingAlleles makes the gene uncallable;
    ``0/.`` (a lone reference allele off chrX) is discarded, i.e. the position is missing."""
    gd = load_definitions()["CYP3A5"]
    for first, expected, n_missing in (("1/.", (), 0), ("0/.", ("*1/*1",), 1)):
        rows = [
            f"chr7\t{pos}\t.\t{gd.refs[i]}\t{','.join(gd.alts[i])}\t.\tPASS\t.\tGT\t{first if i == 0 else '0/0'}\n"
            for i, pos in enumerate(gd.positions)
        ]
        vcf = tmp_path / "x.vcf"
        vcf.write_text(HEADER.format("S") + "".join(rows))
        (call,) = match_vcf(vcf, genes=["CYP3A5"])
        assert call.diplotype_names == expected
        assert len(call.positions_missing) == n_missing


def test_match_vcf__bad_input_names_file_and_line(tmp_path):
    gd = load_definitions()["CYP3A5"]
    vcf = tmp_path / "bad.vcf"
    vcf.write_text(HEADER.format("S") + f"chr7\t{gd.positions[0]}\t.\t{gd.refs[0]}\t{gd.alts[0][0]}\t.\tPASS\n")
    with pytest.raises(InputError, match=r"bad\.vcf: line 3: expected 10 tab-separated fields"):
        list(match_vcf(vcf))
    vcf.write_text(
        HEADER.format("S") + f"chr7\t{gd.positions[0]}\t.\t{gd.refs[0]}\t{gd.alts[0][0]}\t.\tPASS\t.\tGT\t0/7\n"
    )
    with pytest.raises(InputError, match=r"line 3: invalid GT allele value"):
        list(match_vcf(vcf))
    with pytest.raises(InputError, match="sample"):
        list(match_vcf(vcf, samples=["nobody"]))
    with pytest.raises(InputError, match="genes"):
        list(match_vcf(vcf, genes=["CYP2D6"]))


def test_match_vcf__haploid_chrx(tmp_path):
    """A male G6PD call (GT ``0`` / ``1`` on chrX): PharmCAT's DiplotypeMatcher.determineHomozygousPairs makes a
    one-haplotype diplotype, named without ``/``, scored by that haplotype alone."""
    gd = load_definitions()["G6PD"]
    rows = [
        f"chrX\t{pos}\t.\t{gd.refs[i]}\t{','.join(gd.alts[i])}\t.\tPASS\t.\tGT\t0\n"
        for i, pos in enumerate(gd.positions)
    ]
    vcf = tmp_path / "male.vcf"
    vcf.write_text(HEADER.format("M") + "".join(rows))
    (call,) = match_vcf(vcf, genes=["G6PD"])
    assert call.diplotypes == (("B (reference)",),)
    assert call.diplotype_names == ("B (reference)",)
    assert call.phased  # a haploid GT has no "/"
