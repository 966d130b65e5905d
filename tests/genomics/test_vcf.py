"""Tests of biolake.io.vcf: VCF/BCF into the lake in the VCF Zarr layout, checked against bcftools.

Reference files come from tests/data/reference/genomics/make_vcf_reference.sh (bcftools 1.16,
plink2 v2.00a3.5); the fixed-field/GT query is
``bcftools query -f '%CHROM\\t%POS\\t%ID\\t%REF\\t%ALT\\t%QUAL\\t%FILTER[\\t%GT]\\n'``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.cli import main
from biolake.errors import InputError
from biolake.genomics.qc import qc
from biolake.io import vcf as vcf_module
from biolake.io.vcf import ingest_vcf
from biolake.lake import Lake

VCF = Path(__file__).parents[1] / "data" / "genomics" / "vcf"
QUERY_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "qual", "filter"]


def _query(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False)


def _gt_strings(gt: np.ndarray, phased: np.ndarray) -> np.ndarray:
    """Render call_genotype/call_genotype_phased as bcftools prints %GT (-2 fill: haploid)."""
    out = np.empty(gt.shape[:2], dtype=object)
    for i, j in np.ndindex(*gt.shape[:2]):
        alleles = ["." if a == -1 else str(a) for a in gt[i, j] if a != -2]
        out[i, j] = ("|" if phased[i, j] else "/").join(alleles)
    return out


def _dosage_strings(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), np.nan, values)


def _ingest(tmp_path: Path, file: Path, **kwargs: object) -> Lake:
    lake = Lake.open(tmp_path / "lake")
    ingest_vcf(lake, file, name="v", **kwargs)  # type: ignore[arg-type]
    return lake


def _check_against_query(lake: Lake, query: pd.DataFrame) -> None:
    g = lake.open_array("v")
    table = lake.to_pandas("v_variants")
    assert list(table.columns) == QUERY_COLUMNS
    assert len(table) == len(query) == g["call_genotype"].shape[0]
    for k, col in enumerate(["chrom", "pos", "id", "ref", "alt", "filter"]):
        k = k if col != "filter" else 6
        assert table[col].astype(str).tolist() == query[k].tolist(), col
    qual = pd.to_numeric(query[5].replace(".", np.nan)).to_numpy(dtype=float)
    np.testing.assert_allclose(table["qual"].to_numpy(dtype=float), qual, rtol=1e-6)
    assert table["qual"].isna().tolist() == np.isnan(qual).tolist()
    gt_text = _gt_strings(g["call_genotype"][:], g["call_genotype_phased"][:])
    np.testing.assert_array_equal(gt_text, query.iloc[:, 7:].to_numpy())
    contigs = g["contig_id"][:]
    assert contigs[g["variant_contig"][:]].tolist() == query[0].tolist()
    assert g["variant_position"][:].tolist() == query[1].astype(int).tolist()
    alleles = g["variant_allele"][:]
    assert alleles[:, 0].tolist() == query[3].tolist()
    assert alleles[:, 1].tolist() == query[4].tolist()
    assert g["variant_id"][:].tolist() == query[2].tolist()
    np.testing.assert_array_equal(g["variant_id_mask"][:], query[2].to_numpy() == ".")
    np.testing.assert_array_equal(g["call_genotype_mask"][:], g["call_genotype"][:] < 0)


@pytest.mark.parametrize("file", ["hand.vcf", "hand.vcf.gz", "hand.bcf"])
def test_ingest_vcf__split_records_match_bcftools_norm(tmp_path: Path, file: str) -> None:
    """bcftools norm -m- hand.vcf |
    bcftools query -f '%CHROM\\t%POS\\t%ID\\t%REF\\t%ALT\\t%QUAL\\t%FILTER[\\t%GT]\\n'"""
    lake = _ingest(tmp_path, VCF / file)
    _check_against_query(lake, _query(VCF / "hand.norm.gt.tsv"))
    g = lake.open_array("v")
    assert g["sample_id"][:].tolist() == ["m1", "f1", "m2", "f2", "s5", "s6"]
    assert g["contig_id"][:].tolist() == ["1", "2", "X", "Y", "MT"]
    assert g.attrs["source"] == "vcf"
    assert lake.info("v").encoding == "vcf-zarr"


def test_ingest_vcf__dummy_matches_bcftools_query(tmp_path: Path) -> None:
    """plink2 --dummy 60 400 0.05 dosage-freq=0.4 --export vcf bgz vcf-dosage=DS-force;
    bcftools query -f '%CHROM\\t%POS\\t%ID\\t%REF\\t%ALT\\t%QUAL\\t%FILTER[\\t%GT]\\n' dummy.vcf.gz"""
    lake = _ingest(tmp_path, VCF / "dummy.vcf.gz")
    _check_against_query(lake, _query(VCF / "dummy.gt.tsv"))


def _read_ds(path: Path) -> np.ndarray:
    rows = [line.rstrip("\n").rstrip("\t").split("\t") for line in path.read_text().splitlines()]
    return np.array([[np.nan if v in (".", "") else float(v) for v in row] for row in rows], dtype=float)


def test_ingest_vcf__dosage_matches_bcftools(tmp_path: Path) -> None:
    """bcftools query -f '[%DS\\t]\\n' dummy.vcf.gz (DS as float32, NaN where missing)"""
    lake = _ingest(tmp_path, VCF / "dummy.vcf.gz")
    ds = lake.open_array("v")["call_dosage"][:]
    assert ds.dtype == np.float32
    np.testing.assert_array_equal(ds, _read_ds(VCF / "dummy.ds.tsv").astype(np.float32))


def test_ingest_vcf__split_dosage_matches_bcftools_norm(tmp_path: Path) -> None:
    """bcftools norm -m- hand.vcf | bcftools query -f '[%DS\\t]\\n'

    DS (Number=A) takes the k-th value in the k-th split record, as bcftools does. One
    difference: bcftools writes a missing DS ('.') as an empty field in the second and later
    split records, which it then reads back as 0; biolake keeps it missing (NaN).
    """
    lake = _ingest(tmp_path, VCF / "hand.vcf")
    ds = lake.open_array("v")["call_dosage"][:]
    ref = _read_ds(VCF / "hand.norm.ds.tsv")
    assert ds.shape == ref.shape
    # bcftools' empty-field quirk: 1:150 C>G f2; 1:200 G>C, G>T s5; 2:5000 A>ATT m1, s5 (all 'DS=.')
    for cell in [(2, 3), (5, 4), (6, 4), (10, 0), (10, 4)]:
        assert ref[cell] == 0 and np.isnan(ds[cell])
        ref[cell] = np.nan
    np.testing.assert_array_equal(ds, ref.astype(np.float32))


def test_ingest_vcf__haploid_half_missing_and_alt_count(tmp_path: Path) -> None:
    """Haploid calls are [allele, -2]; call_alt_count counts a haploid ALT as 2 (plink2 --vcf);
    any missing allele makes the count missing (plink2 --vcf-half-call missing).
    bcftools query -f '[%GT\\t]\\n' -r X:1000 hand.vcf.gz → 1 0/1 0 1/1 . 0|1"""
    g = _ingest(tmp_path, VCF / "hand.vcf").open_array("v")
    gt, ac, mask = g["call_genotype"][:], g["call_alt_count"][:], g["call_genotype_mask"][:]
    x = 11  # X:1000
    assert gt[x].tolist() == [[1, -2], [0, 1], [0, -2], [1, 1], [-1, -2], [0, 1]]
    assert ac[x].tolist() == [2, 1, 0, 2, -1, 1]
    mask_x = [[False, True], [False, False], [False, True], [False, False], [True, True], [False, False]]
    assert mask[x].tolist() == mask_x
    assert gt[1, 3].tolist() == [-1, 1] and ac[1, 3] == -1  # ./1 half-missing
    assert g["call_genotype_phased"][1].tolist() == [False, False, False, False, True, True]
    assert ac.dtype == np.int8 and gt.dtype == np.int8


@pytest.mark.parametrize(
    ("plain", "block_bytes", "variant_chunk"), [(True, 2500, 97), (False, 20000, 64), (False, 1 << 24, None)]
)
def test_ingest_vcf__same_data_for_any_block_and_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plain: bool, block_bytes: int, variant_chunk: int | None
) -> None:
    """Blocks of text parsed in parallel (lines split between blocks) and Zarr chunks do not change the result."""
    monkeypatch.setattr(vcf_module, "_BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(vcf_module, "_BGZF_GROUP", block_bytes)
    file = VCF / "sim.vcf.gz"
    if plain:  # pieces of 2,500 bytes: most of them split a line (about 1,000 bytes)
        file = tmp_path / "sim.vcf"
        file.write_bytes(gzip.decompress((VCF / "sim.vcf.gz").read_bytes()))
    lake = _ingest(tmp_path, file, variant_chunk=variant_chunk)
    ref = _ingest(tmp_path / "ref", VCF / "sim.vcf.gz").open_array("v")
    g = lake.open_array("v")
    for key in ("call_genotype", "call_alt_count", "call_genotype_phased", "variant_allele", "variant_position"):
        np.testing.assert_array_equal(g[key][:], ref[key][:])
    assert g["call_genotype"].chunks[0] == (variant_chunk or 33554)  # default: 8 M calls / 250 samples
    assert len(lake.to_pandas("v_variants")) == 1500


def test_ingest_vcf__same_as_plink_ingest_and_qc(tmp_path: Path, sim_lake: Lake, sim_prefix: Path) -> None:
    """plink2 --bfile sim --export vcf bgz id-paste=iid: the VCF and the .bed give the same arrays and QC."""
    lake = sim_lake
    ingest_vcf(lake, VCF / "sim.vcf.gz", name="simvcf", variant_chunk=400)
    a, b = lake.open_array("simvcf"), lake.open_array("sim")
    for key in (
        "call_genotype",
        "call_genotype_mask",
        "call_alt_count",
        "variant_position",
        "variant_allele",
        "variant_id",
        "variant_id_mask",
        "sample_id",
        "contig_id",
        "variant_contig",
    ):
        np.testing.assert_array_equal(a[key][:], b[key][:], err_msg=key)
    assert not a["call_genotype_phased"][:].any()
    qc(lake, "simvcf", out=tmp_path / "vcf.tsv", samples_out=tmp_path / "vcf_s.tsv")
    qc(lake, "sim", out=tmp_path / "bed.tsv", samples_out=tmp_path / "bed_s.tsv")
    assert (tmp_path / "vcf.tsv").read_bytes() == (tmp_path / "bed.tsv").read_bytes()
    assert (tmp_path / "vcf_s.tsv").read_bytes() == (tmp_path / "bed_s.tsv").read_bytes()


def test_cli_genomics_qc__same_output_from_vcf_and_plink(
    tmp_path: Path, sim_prefix: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """biolake ingest vcf sim.vcf.gz / ingest plink sim, then biolake genomics qc on both (plink2 --export vcf)."""
    lake_dir = str(tmp_path / "lake")
    for args in (
        ["ingest", "vcf", str(VCF / "sim.vcf.gz"), "--name", "fromvcf"],
        ["ingest", "plink", str(sim_prefix), "--name", "fromplink"],
        ["genomics", "qc", "lake:fromvcf", "--out", str(tmp_path / "a.csv")],
        ["genomics", "qc", "lake:fromplink", "--out", str(tmp_path / "b.csv")],
    ):
        with pytest.raises(SystemExit) as done:
            main(["--lake", lake_dir, *args])
        assert done.value.code == 0
    assert "ingested fromvcf: 1500 variants x 250 samples" in capsys.readouterr().err
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\n"
GOOD = ["1\t10\t.\tA\tG\t.\t.\t.\tGT\t0/1\t1/1", "1\t20\t.\tA\tG,T\t.\t.\t.\tGT\t0/2\t1|1"]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("1\t30\t.\tA\tG\t.\t.\t.\tGT\t0/x\t1/1", "line 5: malformed GT (sample a)"),
        ("1\t30\t.\tA\tG\t.\t.\t.\tGT\t0/1", "line 5: expected 11 tab-separated columns (9 + 2 samples), found fewer"),
        ("1\t30\t.\tA\tG\t.\t.\t.\tGT\t0/1\t0/0\t1/1", "line 5: expected 11 tab-separated columns"),
        ("1\t30\t.\tA\tG", "line 5: expected 11 tab-separated columns (9 + 2 samples), found fewer"),
        ("1\tpos\t.\tA\tG\t.\t.\t.\tGT\t0/1\t1/1", "line 5: POS is not a positive integer"),
        ("1\t15\t.\tA\tG\t.\t.\t.\tGT\t0/1\t1/1", "line 5: position is below the previous record's"),
        ("1\t30\t.\tA\tG\t.\t.\t.\tGT\t0/2\t1/1", "line 5: GT allele index beyond the ALT alleles (sample a)"),
        ("1\t30\t.\tA\tG\t.\t.\t.\tGT\t0/1/1\t1/1", "line 5: ploidy above 2 is not supported (sample a)"),
        ("1\t30\t.\tA\tG\tq\t.\t.\tGT\t0/1\t1/1", "line 5: QUAL is not a number"),
        ("1\t30\t.\tA\tG\t.\t.\t.\tGT:DS\t0/1:1\t1/1:z", "line 5: DS is not a number (sample b)"),
        ("1\t30\t.\tA\tG\t.\t.\t.\tGT\t0/1\t", "line 5: malformed GT (sample b)"),
    ],
)
def test_ingest_vcf__malformed_records(tmp_path: Path, record: str, message: str) -> None:
    """bcftools view rejects or warns on each of these; biolake stops with the line and adds nothing."""
    path = tmp_path / "bad.vcf"
    path.write_text(HEADER + "\n".join([*GOOD, record, GOOD[0].replace("\t10\t", "\t99\t")]) + "\n")
    lake = Lake.open(tmp_path / "lake")
    with pytest.raises(InputError) as err:
        ingest_vcf(lake, path, name="x")
    assert f"bad.vcf: {message}" in str(err.value)
    assert lake.names() == []
    assert list((tmp_path / "lake" / ".tmp").iterdir()) == []
    assert lake.runs()[0].status == "failed"


def test_ingest_vcf__unsorted_or_regrouped_across_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Order checks hold across parser blocks (bcftools index refuses such files too)."""
    monkeypatch.setattr(vcf_module, "_BLOCK_BYTES", 64)
    lines = [f"1\t{p}\t.\tA\tG\t.\t.\t.\tGT\t0/1\t1/1" for p in (10, 20, 30, 40)]
    for bad, message in (
        ([*lines, "1\t35\t.\tA\tG\t.\t.\t.\tGT\t0/1\t1/1"], "line 7: position is below"),
        ([*lines, "2\t5\t.\tA\tG\t.\t.\t.\tGT\t0/1\t1/1", *lines[:1]], "line 8: contig '1' reappears"),
    ):
        path = tmp_path / "bad.vcf"
        path.write_text(HEADER + "\n".join(bad) + "\n")
        with pytest.raises(InputError, match=message):
            ingest_vcf(Lake.open(tmp_path / "lake"), path, name="x")


def test_ingest_vcf__bad_header_and_files(tmp_path: Path) -> None:
    lake = Lake.open(tmp_path / "lake")
    cases = {
        "nofmt.vcf": ("#CHROM\tPOS\n1\t2\n", "line 1: not a VCF file"),
        "nochrom.vcf": ("##fileformat=VCFv4.2\n1\t2\n", "no #CHROM header line"),
        "dup.vcf": (HEADER.replace("\tb\n", "\ta\n") + GOOD[0] + "\n", "line 2: column 11: duplicate sample name 'a'"),
        "empty.vcf": (HEADER, "no variant records"),
    }
    for file, (text, message) in cases.items():
        (tmp_path / file).write_text(text)
        with pytest.raises(InputError, match=message):
            ingest_vcf(lake, tmp_path / file, name="x")
    with pytest.raises(InputError, match="no such file"):
        ingest_vcf(lake, tmp_path / "absent.vcf", name="x")
    trunc = tmp_path / "trunc.vcf.gz"
    trunc.write_bytes((VCF / "sim.vcf.gz").read_bytes()[:50000])
    with pytest.raises(InputError, match="truncated BGZF"):
        ingest_vcf(lake, trunc, name="x")
    with pytest.raises(InputError, match="The 'variant_chunk' parameter of ingest_vcf must be a positive integer"):
        ingest_vcf(lake, VCF / "hand.vcf", name="x", variant_chunk=0)
    assert lake.names() == []


def test_ingest_vcf__plain_gzip_crlf_and_sites_only(tmp_path: Path) -> None:
    """Plain (non-bgzip) gzip and CRLF line ends read; a sites-only VCF has 0 samples."""
    plain = tmp_path / "plain.vcf.gz"
    plain.write_bytes(gzip.compress((HEADER + "\r\n".join(GOOD) + "\r\n").encode()))
    lake = Lake.open(tmp_path / "lake")
    ingest_vcf(lake, plain, name="p")
    g = lake.open_array("p")
    assert g["call_genotype"][:].tolist() == [[[0, 1], [1, 1]], [[0, 0], [1, 1]], [[0, 1], [0, 0]]]
    sites = tmp_path / "sites.vcf"
    sites.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t5\trs\tA\tC,G\t3\tPASS\t.\n"
    )
    ingest_vcf(lake, sites, name="s")
    assert lake.open_array("s")["call_genotype"].shape == (2, 0, 2)
    assert lake.to_pandas("s_variants")["alt"].tolist() == ["C", "G"]


def test_cli_ingest_vcf__ok_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """biolake ingest vcf FILE --name NAME; bad input: one error line, exit 2."""
    lake_dir = str(tmp_path / "lake")
    with pytest.raises(SystemExit) as done:
        main(["--lake", lake_dir, "ingest", "vcf", str(VCF / "hand.bcf"), "--name", "h"])
    assert done.value.code == 0
    assert "ingested h: 16 variants x 6 samples" in capsys.readouterr().err
    bad = tmp_path / "bad.vcf"
    bad.write_text(HEADER + GOOD[0].replace("0/1", "0/A") + "\n")
    with pytest.raises(SystemExit) as done:
        main(["--lake", lake_dir, "ingest", "vcf", str(bad), "--name", "x"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err == f"error: {bad}: line 3: malformed GT (sample a)\n"
    assert sorted(Lake.open(lake_dir).names()) == ["h", "h_variants"]


def test_ingest_vcf__opens_with_xarray_like_sgkit(tmp_path: Path) -> None:
    """sgkit.load_dataset is xarray.open_zarr on the group."""
    xr = pytest.importorskip("xarray")
    lake = _ingest(tmp_path, VCF / "hand.vcf.gz")
    ds = xr.open_zarr(lake.info("v").path, consolidated=True)
    assert ds["call_genotype"].dims == ("variants", "samples", "ploidy")
    assert ds["call_genotype_phased"].dims == ("variants", "samples")
    assert ds["call_dosage"].dtype == np.float32
    assert ds.attrs["vcf_zarr_version"] == "0.4"


def test_ingest_vcf__failure_midway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure in the writer thread after some chunks were written: no dataset, no staged data."""
    monkeypatch.setattr(vcf_module, "_BLOCK_BYTES", 20000)
    monkeypatch.setattr(vcf_module, "_BGZF_GROUP", 20000)
    original = vcf_module._StreamWriter.append
    calls = []

    def failing_append(self: object, part: dict[str, np.ndarray]) -> None:
        calls.append(1)
        if len(calls) == 5:
            raise InputError("simulated failure", file="x.vcf", record=1)
        original(self, part)  # type: ignore[arg-type]

    monkeypatch.setattr(vcf_module._StreamWriter, "append", failing_append)
    lake = Lake.open(tmp_path / "lake")
    with pytest.raises(InputError, match="simulated failure"):
        ingest_vcf(lake, VCF / "sim.vcf.gz", name="x", variant_chunk=50)
    assert len(calls) == 5
    assert lake.names() == []
    assert list((tmp_path / "lake" / ".tmp").iterdir()) == []
    assert lake.runs()[0].status == "failed"
