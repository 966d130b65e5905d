"""Tests of biolake.io.plink: PLINK 1 filesets into the lake in the VCF Zarr layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bed_reader import open_bed

from biolake.cli import main
from biolake.errors import InputError
from biolake.io import plink as plink_module
from biolake.io.plink import alt_count_to_genotype, ingest_plink
from biolake.lake import Lake


def _bim(prefix: Path) -> pd.DataFrame:
    return pd.read_csv(
        prefix.with_suffix(".bim"), sep="\t", header=None, names=["chrom", "id", "cm", "pos", "a1", "a2"], dtype=str
    )


def _copy_fileset(src: Path, dst_dir: Path) -> Path:
    for ext in (".bed", ".bim", ".fam"):
        shutil.copy(src.with_name(src.name + ext), dst_dir / f"x{ext}")
    return dst_dir / "x"


def test_ingest_plink__vcf_zarr_layout(sim_lake: Lake, sim_prefix: Path) -> None:
    info = sim_lake.info("sim")
    assert (info.kind, info.encoding, info.encoding_version, info.shape) == ("array", "vcf-zarr", 1, [1500, 250, 2])
    g = sim_lake.open_array("sim")
    assert g.attrs["vcf_zarr_version"] == "0.4"
    assert g.attrs["source"] == "plink"
    expected = {
        "call_genotype": ("int8", ["variants", "samples", "ploidy"]),
        "call_genotype_mask": ("bool", ["variants", "samples", "ploidy"]),
        "call_alt_count": ("int8", ["variants", "samples"]),
        "variant_contig": ("int8", ["variants"]),
        "variant_position": ("int32", ["variants"]),
        "variant_allele": ("object", ["variants", "alleles"]),
        "variant_id": ("object", ["variants"]),
        "variant_id_mask": ("bool", ["variants"]),
        "sample_id": ("object", ["samples"]),
        "sample_family_id": ("object", ["samples"]),
        "contig_id": ("object", ["contigs"]),
    }
    for name, (dtype, dims) in expected.items():
        assert info.schema[name]["dims"] == dims, name
        assert np.dtype(info.schema[name]["dtype"] if dtype != "object" else "O") == np.dtype(dtype), name
    assert info.schema["call_genotype"]["chunks"][0] == 400


def test_ingest_plink__genotypes_equal_bed_reader_decoding(sim_lake: Lake, sim_prefix: Path) -> None:
    """Against bed-reader's own float decoding of the whole file (A1 counted: ALT count, NaN missing)."""
    with open_bed(sim_prefix.with_suffix(".bed")) as bed:
        dosage = bed.read(dtype="float32").T  # variants x samples
    g = sim_lake.open_array("sim")
    counts = g["call_alt_count"][:]
    np.testing.assert_array_equal(counts, np.where(np.isnan(dosage), -1, dosage).astype(np.int8))
    gt = g["call_genotype"][:]
    np.testing.assert_array_equal(gt, alt_count_to_genotype(counts))
    np.testing.assert_array_equal(g["call_genotype_mask"][:], gt < 0)
    called = counts >= 0
    np.testing.assert_array_equal(gt.sum(axis=-1)[called], counts[called])
    assert np.all(gt[~called] == -1)


def test_ingest_plink__alleles_ids_positions(sim_lake: Lake, sim_prefix: Path) -> None:
    """A1 (.bim column 5) is ALT, A2 (column 6) is REF, as plink2 reads a .bim."""
    bim = _bim(sim_prefix)
    g = sim_lake.open_array("sim")
    alleles = g["variant_allele"][:]
    assert alleles[:, 0].tolist() == bim["a2"].tolist()
    assert alleles[:, 1].tolist() == bim["a1"].tolist()
    assert g["variant_id"][:].tolist() == bim["id"].tolist()
    assert g["variant_position"][:].tolist() == bim["pos"].astype(int).tolist()
    contigs = g["contig_id"][:]
    assert contigs.tolist() == ["1", "2", "3"]
    assert contigs[g["variant_contig"][:]].tolist() == bim["chrom"].tolist()
    fam = pd.read_csv(sim_prefix.with_suffix(".fam"), sep=r"\s+", header=None, dtype=str)
    assert g["sample_id"][:].tolist() == fam[1].tolist()
    assert g["sample_family_id"][:].tolist() == fam[0].tolist()


def test_ingest_plink__variants_table(sim_lake: Lake, sim_prefix: Path) -> None:
    bim = _bim(sim_prefix)
    table = sim_lake.to_pandas("sim_variants")
    assert list(table.columns) == ["chrom", "pos", "id", "ref", "alt"]
    assert table["chrom"].tolist() == bim["chrom"].tolist()
    assert table["pos"].tolist() == bim["pos"].astype(int).tolist()
    assert table["ref"].tolist() == bim["a2"].tolist()
    assert table["alt"].tolist() == bim["a1"].tolist()


@pytest.mark.parametrize("variant_chunk", [97, 5000])
def test_ingest_plink__same_data_for_any_chunk(
    tmp_path: Path, sim_lake: Lake, sim_prefix: Path, variant_chunk: int
) -> None:
    lake = Lake.open(tmp_path / "lake")
    ingest_plink(lake, str(sim_prefix) + ".bed", name="g", variant_chunk=variant_chunk)
    a, b = lake.open_array("g"), sim_lake.open_array("sim")
    for key in ("call_genotype", "call_alt_count", "variant_allele", "variant_position", "sample_id"):
        np.testing.assert_array_equal(a[key][:], b[key][:])


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("ext", "edit", "message"),
    [
        (".bim", lambda t: t.replace("\t0.0\t16509\t", "\t16509\t", 1), "x.bim: line 2: expected 6 fields"),
        (".bim", lambda t: t.replace("\t16509\t", "\t16509.5\t", 1), "x.bim: line 2: column 4: position '16509.5'"),
        (".bim", lambda t: t.replace("\t0.0\t16509\t", "\tcm\t16509\t", 1), "x.bim: line 2: column 3: centimorgan"),
        (".fam", lambda t: t.replace("F1 S0002 0 0 0 -9", "F1 S0002 0 0 -9", 1), "x.fam: line 2: expected 6 fields"),
        (".fam", lambda t: t.replace("S0002", "S0001", 1), "x.fam: line 2: duplicate sample ID 'S0001'"),
    ],
)
def test_ingest_plink__malformed_text_files(
    tmp_path: Path, sim_prefix: Path, ext: str, edit: object, message: str
) -> None:
    prefix = _copy_fileset(sim_prefix, tmp_path)
    path = prefix.with_suffix(ext)
    _write(path, edit(path.read_text(encoding="utf-8")))  # type: ignore[operator]
    lake = Lake.open(tmp_path / "lake")
    with pytest.raises(InputError) as err:
        ingest_plink(lake, prefix, name="x")
    assert message in str(err.value)
    assert lake.names() == []


def test_ingest_plink__bed_size_mismatch(tmp_path: Path, sim_prefix: Path) -> None:
    prefix = _copy_fileset(sim_prefix, tmp_path)
    bim = prefix.with_suffix(".bim")
    _write(bim, "".join(bim.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]))
    lake = Lake.open(tmp_path / "lake")
    with pytest.raises(InputError, match=r"x\.bed: size 94503 bytes does not match 250 samples .* 1499 variants"):
        ingest_plink(lake, prefix, name="x")
    assert lake.names() == []


def test_ingest_plink__not_a_bed_file(tmp_path: Path, sim_prefix: Path) -> None:
    prefix = _copy_fileset(sim_prefix, tmp_path)
    bed = prefix.with_suffix(".bed")
    bed.write_bytes(b"\x00\x00\x00" + bed.read_bytes()[3:])
    with pytest.raises(InputError, match=r"x\.bed: record 1: not a variant-major PLINK 1 \.bed file"):
        ingest_plink(Lake.open(tmp_path / "lake"), prefix, name="x")


def test_ingest_plink__missing_file(tmp_path: Path, sim_prefix: Path) -> None:
    prefix = _copy_fileset(sim_prefix, tmp_path)
    prefix.with_suffix(".fam").unlink()
    with pytest.raises(InputError, match=r"x\.fam: no such file"):
        ingest_plink(Lake.open(tmp_path / "lake"), prefix, name="x")


def test_ingest_plink__failure_midway_leaves_nothing(
    tmp_path: Path, sim_prefix: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake.open(tmp_path / "lake")
    original = plink_module.GenotypeWriter.write
    calls = []

    def failing_write(self: object, start: int, *args: object, **kwargs: object) -> None:
        calls.append(start)
        if len(calls) == 2:
            raise InputError("simulated failure", file="x.bed", record=start + 1)
        original(self, start, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(plink_module.GenotypeWriter, "write", failing_write)
    with pytest.raises(InputError, match="simulated failure"):
        ingest_plink(lake, sim_prefix, name="x", variant_chunk=500)
    assert lake.names() == []
    assert list((tmp_path / "lake" / ".tmp").iterdir()) == []
    assert lake.runs()[0].status == "failed"


def test_ingest_plink__bad_variant_chunk(tmp_path: Path, sim_prefix: Path) -> None:
    with pytest.raises(InputError, match="The 'variant_chunk' parameter of ingest_plink must be a positive integer"):
        ingest_plink(Lake.open(tmp_path / "lake"), sim_prefix, name="x", variant_chunk=0)


def test_cli_ingest_plink__ok_and_bad_input(
    tmp_path: Path, sim_prefix: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake_dir = tmp_path / "lake"
    with pytest.raises(SystemExit) as done:
        main(["--lake", str(lake_dir), "ingest", "plink", str(sim_prefix), "--name", "sim"])
    assert done.value.code == 0
    assert "ingested sim: 1500 variants x 250 samples" in capsys.readouterr().err
    prefix = _copy_fileset(sim_prefix, tmp_path)
    bim = prefix.with_suffix(".bim")
    _write(bim, bim.read_text(encoding="utf-8").replace("\t18690\t", "\tpos\t", 1))
    with pytest.raises(SystemExit) as done:
        main(["--lake", str(lake_dir), "ingest", "plink", str(prefix), "--name", "x"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith("x.bim: line 3: column 4: position 'pos' is not an integer\n")
    assert err.count("\n") == 1
    assert sorted(Lake.open(lake_dir).names()) == ["sim", "sim_variants"]


def test_ingest_plink__opens_with_xarray_like_sgkit(sim_lake: Lake) -> None:
    """sgkit.load_dataset is xarray.open_zarr on the group: dims named, int8 calls and bool masks undecoded."""
    xr = pytest.importorskip("xarray")
    ds = xr.open_zarr(sim_lake.info("sim").path, consolidated=True)
    assert ds["call_genotype"].dims == ("variants", "samples", "ploidy")
    assert ds["call_genotype"].dtype == np.int8
    assert ds["call_genotype_mask"].dtype == bool
    assert ds["variant_position"].dtype == np.int32
    assert ds.attrs["vcf_zarr_version"] == "0.4"
    assert int((ds["call_genotype"] == -1).sum()) == int(ds["call_genotype_mask"].sum())
