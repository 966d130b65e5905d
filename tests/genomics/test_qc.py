"""Tests of biolake.genomics.qc against plink2 2.00a3.5 (tests/data/reference/genomics/make_reference.sh)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.cli import main
from biolake.errors import InputError
from biolake.genomics.qc import SAMPLE_COLUMNS, VARIANT_COLUMNS, QCResult, qc, sample_qc, variant_qc
from biolake.lake import Lake

DATA = Path(__file__).parents[1] / "data" / "genomics"
RTOL = 2e-5  # plink2 prints 6 significant digits


def _ref(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, sep="\t")


def _assert_printed_close(actual: object, expected: object) -> None:
    """Equal at plink2's printed precision (relative 2e-5); NaN where plink2 prints nan."""
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(e))
    np.testing.assert_allclose(a[~np.isnan(a)], e[~np.isnan(e)], rtol=RTOL, atol=0)


@pytest.fixture(scope="module")
def qc_run(sim_lake: Lake, tmp_path_factory: pytest.TempPathFactory) -> tuple[QCResult, pd.DataFrame, pd.DataFrame]:
    out = tmp_path_factory.mktemp("qc")
    res = qc(sim_lake, "lake:sim", out=out / "variants.tsv", samples_out=out / "samples.parquet")
    return res, _read_tsv(out / "variants.tsv"), pd.read_parquet(out / "samples.parquet")


def _read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype={"chrom": str})


def test_qc__columns(qc_run: tuple[QCResult, pd.DataFrame, pd.DataFrame]) -> None:
    _, variants, samples = qc_run
    assert tuple(variants.columns) == VARIANT_COLUMNS
    assert tuple(samples.columns) == SAMPLE_COLUMNS
    assert len(variants) == 1500 and len(samples) == 250


def test_qc__annotations_match_plink2_freq(qc_run: tuple[QCResult, pd.DataFrame, pd.DataFrame]) -> None:
    """plink2 --bfile sim --freq --out ref: #CHROM ID REF ALT in order."""
    _, variants, _ = qc_run
    afreq = _ref("ref.afreq")
    assert variants["chrom"].tolist() == afreq["#CHROM"].astype(str).tolist()
    assert variants[["id", "ref", "alt"]].to_numpy().tolist() == afreq[["ID", "REF", "ALT"]].to_numpy().tolist()


def test_qc__alt_freq_and_obs_ct_match_plink2_freq(qc_run: tuple[QCResult, pd.DataFrame, pd.DataFrame]) -> None:
    """plink2 --bfile sim --freq --out ref: ALT_FREQS (6 digits, nan without calls), OBS_CT exact."""
    _, variants, _ = qc_run
    afreq = _ref("ref.afreq")
    assert variants["obs_ct"].tolist() == afreq["OBS_CT"].tolist()
    _assert_printed_close(variants["alt_freq"], afreq["ALT_FREQS"])


def test_qc__missing_rate_matches_plink2_missing(qc_run: tuple[QCResult, pd.DataFrame, pd.DataFrame]) -> None:
    """plink2 --bfile sim --missing --out ref: .vmiss F_MISS; MISSING_CT = F_MISS x 250 exactly."""
    _, variants, _ = qc_run
    vmiss = _ref("ref.vmiss")
    _assert_printed_close(variants["missing_rate"], vmiss["F_MISS"])
    np.testing.assert_array_equal(np.rint(variants["missing_rate"] * 250).astype(int), vmiss["MISSING_CT"])


def test_qc__hardy_columns_match_plink2_hardy(qc_run: tuple[QCResult, pd.DataFrame, pd.DataFrame]) -> None:
    """plink2 --bfile sim --hardy --out ref: O(HET_A1), E(HET_A1), P; counts from OBS_CT exact."""
    _, variants, _ = qc_run
    hardy = _ref("ref.hardy")
    n_called = hardy["HOM_A1_CT"] + hardy["HET_A1_CT"] + hardy["TWO_AX_CT"]
    assert (variants["obs_ct"] // 2).tolist() == n_called.tolist()
    _assert_printed_close(variants["het_obs"], hardy["O(HET_A1)"])
    _assert_printed_close(variants["het_exp"], hardy["E(HET_A1)"])
    _assert_printed_close(variants["hwe_p"], hardy["P"])


def test_qc__midp_matches_plink2_hardy_midp(sim_lake: Lake, tmp_path: Path) -> None:
    """plink2 --bfile sim --hardy midp --out ref_midp: MIDP."""
    qc(sim_lake, "sim", out=tmp_path / "midp.parquet", midp=True)
    variants = pd.read_parquet(tmp_path / "midp.parquet")
    _assert_printed_close(variants["hwe_p"], _ref("ref_midp.hardy")["MIDP"])


def test_qc__samples_match_plink2_smiss_and_het(qc_run: tuple[QCResult, pd.DataFrame, pd.DataFrame]) -> None:
    """plink2 --bfile sim --missing --het --out ref: .smiss MISSING_CT/F_MISS; .het O(HOM) E(HOM) OBS_CT F."""
    _, _, samples = qc_run
    smiss, het = _ref("ref.smiss"), _ref("ref.het")
    assert samples["sample_id"].tolist() == smiss["IID"].tolist() == het["IID"].tolist()
    assert samples["missing_ct"].tolist() == smiss["MISSING_CT"].tolist()
    _assert_printed_close(1.0 - samples["call_rate"], smiss["F_MISS"])
    assert samples["o_hom"].tolist() == het["O(HOM)"].tolist()
    assert samples["f_obs_ct"].tolist() == het["OBS_CT"].tolist()
    _assert_printed_close(samples["e_hom"], het["E(HOM)"])
    _assert_printed_close(samples["f"], het["F"])
    np.testing.assert_allclose(samples["het_rate"], 1 - het["O(HOM)"] / het["OBS_CT"], rtol=1e-12)


def test_qc__filters_match_plink2(sim_lake: Lake, tmp_path: Path) -> None:
    """plink2 --bfile sim --mind 0.1 --geno 0.1 --hwe 1e-6 --maf 0.05 --write-snplist --write-samples --out filt."""
    res = qc(sim_lake, "lake:sim", out=tmp_path / "v.csv", mind=0.1, geno=0.1, hwe=1e-6, maf=0.05)
    expected_variants = (DATA / "filt.snplist").read_text(encoding="utf-8").split()
    expected_samples = pd.read_csv(DATA / "filt.id", sep="\t")["IID"].tolist()
    assert (res.filtered, res.n_variants_kept, res.n_samples_kept) == ("sim_filtered", 1118, 246)
    g = sim_lake.open_array("sim_filtered")
    assert g["variant_id"][:].tolist() == expected_variants
    assert g["sample_id"][:].tolist() == expected_samples
    src = sim_lake.open_array("sim")
    vi = np.flatnonzero(np.isin(src["variant_id"][:], expected_variants))
    si = np.flatnonzero(np.isin(src["sample_id"][:], expected_samples))
    np.testing.assert_array_equal(g["call_genotype"][:], src["call_genotype"][:][vi][:, si])
    assert sim_lake.to_pandas("sim_filtered_variants")["id"].tolist() == expected_variants
    assert sim_lake.info("sim_filtered").encoding == "vcf-zarr"


@pytest.mark.parametrize("chunk_variants", [13, 97, 1500])
def test_qc__same_results_for_any_chunk_size(
    sim_lake: Lake, tmp_path: Path, qc_run: tuple[QCResult, pd.DataFrame, pd.DataFrame], chunk_variants: int
) -> None:
    _, variants, samples = qc_run
    qc(sim_lake, "sim", out=tmp_path / "v.tsv", samples_out=tmp_path / "s.parquet", chunk_variants=chunk_variants)
    pd.testing.assert_frame_equal(_read_tsv(tmp_path / "v.tsv"), variants)
    _assert_same_samples(pd.read_parquet(tmp_path / "s.parquet"), samples)


def _assert_same_samples(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Counts exactly; the floating sums over variants to 1e-12 (their order depends on the chunks)."""
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    for col in ("sample_id", "missing_ct", "o_hom", "f_obs_ct"):
        assert got[col].tolist() == expected[col].tolist()


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_qc__same_results_on_local_backends(
    sim_lake: Lake, tmp_path: Path, qc_run: tuple[QCResult, pd.DataFrame, pd.DataFrame], scheduler: str
) -> None:
    _, variants, samples = qc_run
    qc(sim_lake, "sim", out=tmp_path / "v.tsv", samples_out=tmp_path / "s.parquet", scheduler=scheduler)
    pd.testing.assert_frame_equal(_read_tsv(tmp_path / "v.tsv"), variants)
    _assert_same_samples(pd.read_parquet(tmp_path / "s.parquet"), samples)


def test_qc__same_results_on_dask(
    sim_lake: Lake, tmp_path: Path, qc_run: tuple[QCResult, pd.DataFrame, pd.DataFrame], dask_client: object
) -> None:
    """A real distributed.LocalCluster (2 worker processes), with filters writing a filtered dataset."""
    _, variants, samples = qc_run
    res = qc(
        sim_lake,
        "sim",
        out=tmp_path / "v.tsv",
        samples_out=tmp_path / "s.parquet",
        scheduler=dask_client,
        chunk_variants=300,
        mind=0.1,
        geno=0.1,
        hwe=1e-6,
        maf=0.05,
        filtered_name="dask_filtered",
    )
    pd.testing.assert_frame_equal(_read_tsv(tmp_path / "v.tsv"), variants)
    _assert_same_samples(pd.read_parquet(tmp_path / "s.parquet"), samples)
    assert (res.n_variants_kept, res.n_samples_kept) == (1118, 246)
    expected = (DATA / "filt.snplist").read_text(encoding="utf-8").split()
    assert sim_lake.open_array("dask_filtered")["variant_id"][:].tolist() == expected


def test_variant_qc__in_memory_equals_job(sim_lake: Lake, qc_run: tuple[QCResult, pd.DataFrame, pd.DataFrame]) -> None:
    _, variants, samples = qc_run
    counts = sim_lake.open_array("sim")["call_alt_count"][:]
    pd.testing.assert_frame_equal(variant_qc(counts), variants[list(VARIANT_COLUMNS[5:])])
    pd.testing.assert_frame_equal(sample_qc(counts), samples[list(SAMPLE_COLUMNS[1:])], rtol=1e-12)


def test_variant_qc__small_example() -> None:
    alt_count = np.array([[0, 1, 2, 1], [0, 0, -1, 0], [-1, -1, -1, -1]], dtype=np.int8)
    got = variant_qc(alt_count)
    assert got["obs_ct"].tolist() == [8, 6, 0]
    assert got["alt_freq"].tolist()[:2] == [0.5, 0.0]
    assert np.isnan(got["alt_freq"].iloc[2]) and np.isnan(got["het_obs"].iloc[2])
    assert got["missing_rate"].tolist() == [0.0, 0.25, 1.0]
    assert got["het_exp"].tolist() == [0.5, 0.0, 0.0]
    assert got["hwe_p"].tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"maf": 0.6}, "The 'maf' parameter of qc must be a number in [0, 0.5] or None; got 0.6"),
        ({"geno": -0.1}, "The 'geno' parameter of qc must be a number in [0, 1] or None; got -0.1"),
        ({"mind": "x"}, "The 'mind' parameter of qc must be a number in [0, 1] or None; got 'x'"),
        ({"hwe": 2}, "The 'hwe' parameter of qc must be a number in [0, 1] or None; got 2"),
        ({"chunk_variants": 0}, "The 'chunk_variants' parameter of qc must be a positive integer or None; got 0"),
        ({"midp": 1}, "The 'midp' parameter of qc must be True or False; got 1"),
    ],
)
def test_qc__bad_parameters(sim_lake: Lake, tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as err:
        qc(sim_lake, "sim", out=tmp_path / "x.csv", **kwargs)  # type: ignore[arg-type]
    assert str(err.value) == message


def test_qc__unknown_or_wrong_dataset(sim_lake: Lake, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no genotype dataset named 'nope'"):
        qc(sim_lake, "lake:nope", out=tmp_path / "x.csv")
    with pytest.raises(InputError, match="dataset 'sim_variants' is not a genotype dataset"):
        qc(sim_lake, "sim_variants", out=tmp_path / "x.csv")
    with pytest.raises(InputError, match="needs a filter"):
        qc(sim_lake, "sim", out=tmp_path / "x.csv", filtered_name="y")
    assert not (tmp_path / "x.csv").exists()


def test_cli_genomics_qc__writes_and_registers(
    sim_lake: Lake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli_qc.csv"
    args = ["--lake", str(sim_lake.root), "genomics", "qc", "lake:sim", "--out", str(out), "--hwe-midp"]
    with pytest.raises(SystemExit) as done:
        main([*args, "--samples-out", str(tmp_path / "cli_samples.tsv"), "--geno", "0.1"])
    assert done.value.code == 0
    assert list(pd.read_csv(out).columns) == list(VARIANT_COLUMNS)
    assert sim_lake.exists("cli_qc") and sim_lake.exists("cli_samples") and sim_lake.exists("sim_filtered")
    assert "filtered dataset sim_filtered:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main([*args, "--maf", "0.9"])
    assert done.value.code == 2
    assert capsys.readouterr().err == "error: The 'maf' parameter of qc must be a number in [0, 0.5] or None; got 0.9\n"


def test_qc__reads_call_genotype_when_no_compact_copy(
    sim_lake: Lake, tmp_path: Path, qc_run: tuple[QCResult, pd.DataFrame, pd.DataFrame]
) -> None:
    """A VCF Zarr dataset written by another tool (no call_alt_count) gives the same results."""
    _, variants, _ = qc_run
    src = sim_lake.open_array("sim")
    with sim_lake.run("copy") as run:
        stage = run.array("bare", encoding="vcf-zarr", encoding_version=1)
        for key in ("call_genotype", "variant_contig", "variant_position", "variant_allele", "variant_id"):
            stage.write(key, src[key][:], chunks=(400, *src[key].shape[1:]), dims=src[key].attrs["_ARRAY_DIMENSIONS"])
        stage.write("sample_id", src["sample_id"][:].astype(object), dims=("samples",))
        stage.write("contig_id", src["contig_id"][:].astype(object), dims=("contigs",))
    qc(sim_lake, "bare", out=tmp_path / "bare.tsv")
    pd.testing.assert_frame_equal(_read_tsv(tmp_path / "bare.tsv"), variants)
