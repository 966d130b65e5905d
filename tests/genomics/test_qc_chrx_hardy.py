"""chrX in biolake.genomics.qc against plink2 2.00a3.5 ``--hardy`` (.hardy.x) and ``--hwe``.

Reference outputs: tests/data/reference/genomics/make_chrx_reference.sh, on
tests/data/genomics/chrx/chrx.{bed,bim,fam} (300 founders: 130 male, 150 female, 20 unknown sex;
40 variants on chr1, 360 on X, 40 on XY)::

    plink2 --bfile chrx --hardy --out ref              # ref.hardy (chr1 + XY), ref.hardy.x (X)
    plink2 --bfile chrx --hardy midp --out ref_midp
    plink2 --bfile chrx --hwe 0.001 --write-snplist --out filt_hwe
    plink2 --bfile chrx --hwe 0.001 midp --write-snplist --out filt_hwe_midp
    plink2 --bfile chrx --freq counts --out ref        # ref.acount: ALT_CTS, OBS_CT (males haploid on X)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.genomics.qc import qc, variant_qc
from biolake.genomics.store import open_genotypes
from biolake.io.plink import ingest_plink
from biolake.lake import Lake
from biolake.stats.hwe import hwe_test

DATA = Path(__file__).parents[1] / "data" / "genomics" / "chrx"
RTOL = 2e-5  # plink2 prints 6 significant digits


@pytest.fixture(scope="module")
def chrx_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake.open(tmp_path_factory.mktemp("chrx_lake"))
    ingest_plink(lake, DATA / "chrx", name="chrx", variant_chunk=64)
    return lake


def _run_qc(lake: Lake, out: Path, **kwargs: object) -> pd.DataFrame:
    qc(lake, "lake:chrx", out=out, **kwargs)  # type: ignore[arg-type]
    return pd.read_csv(out, sep="\t", dtype={"chrom": str})


@pytest.fixture(scope="module")
def chrx_qc(chrx_lake: Lake, tmp_path_factory: pytest.TempPathFactory) -> dict[bool, pd.DataFrame]:
    out = tmp_path_factory.mktemp("chrx_qc")
    return {midp: _run_qc(chrx_lake, out / f"v_{midp}.tsv", midp=midp) for midp in (False, True)}


def _close(actual: object, expected: object) -> None:
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(e))
    np.testing.assert_allclose(a[~np.isnan(a)], e[~np.isnan(e)], rtol=RTOL, atol=0)


def test_ingest_plink__keeps_fam_sex(chrx_lake: Lake) -> None:
    """sample_sex holds column 5 of the .fam (1 male, 2 female, 0 → -1 unknown)."""
    fam = pd.read_csv(DATA / "chrx.fam", sep=r"\s+", header=None, dtype=str)
    store = open_genotypes(chrx_lake, "lake:chrx")
    assert store.sample_sex is not None
    expected = fam[4].map({"1": 1, "2": 2, "0": -1}).to_numpy()
    assert store.sample_sex.tolist() == expected.tolist()
    assert (store.sample_sex == 1).sum() == 130 and (store.sample_sex == 2).sum() == 150
    assert chrx_lake.open_array("chrx")["sample_sex"].attrs["_ARRAY_DIMENSIONS"] == ["samples"]


@pytest.mark.parametrize(("midp", "name", "col"), [(False, "ref", "P"), (True, "ref_midp", "MIDP")])
def test_qc__chrx_matches_plink2_hardy_x(chrx_qc: dict[bool, pd.DataFrame], midp: bool, name: str, col: str) -> None:
    """hwe_p = .hardy.x P (MIDP); het_obs/het_exp = O(FEMALE_HET_A1)/E(FEMALE_HET_A1), chrX rows in order."""
    variants = chrx_qc[midp]
    ref = pd.read_csv(DATA / f"{name}.hardy.x", sep="\t")
    x = variants[variants["chrom"] == "X"]
    assert x["id"].tolist() == ref["ID"].tolist()
    _close(x["hwe_p"], ref[col])
    _close(x["het_obs"], ref["O(FEMALE_HET_A1)"])
    _close(x["het_exp"], ref["E(FEMALE_HET_A1)"])
    assert (x["hwe_p"] < 1e-6).sum() >= 20  # variants out of X-HWE are present


@pytest.mark.parametrize(("midp", "name", "col"), [(False, "ref", "P"), (True, "ref_midp", "MIDP")])
def test_qc__autosomes_and_par_match_plink2_hardy(
    chrx_qc: dict[bool, pd.DataFrame], midp: bool, name: str, col: str
) -> None:
    """chr1 and XY (PAR) are diploid for every sample, whatever the sex: plink2's .hardy."""
    variants = chrx_qc[midp]
    ref = pd.read_csv(DATA / f"{name}.hardy", sep="\t", dtype={"#CHROM": str})
    other = variants[variants["chrom"] != "X"]
    assert other["id"].tolist() == ref["ID"].tolist()
    assert sorted(set(ref["#CHROM"])) == ["1", "XY"]
    _close(other["hwe_p"], ref[col])
    _close(other["het_obs"], ref["O(HET_A1)"])
    _close(other["het_exp"], ref["E(HET_A1)"])


@pytest.mark.parametrize(("midp", "snplist"), [(False, "filt_hwe.snplist"), (True, "filt_hwe_midp.snplist")])
def test_qc__hwe_filter_uses_chrx_test_as_plink2(chrx_lake: Lake, tmp_path: Path, midp: bool, snplist: str) -> None:
    """plink2 --bfile chrx --hwe 0.001 [midp] --write-snplist: the same variants are kept."""
    res = qc(chrx_lake, "lake:chrx", out=tmp_path / "v.tsv", hwe=0.001, midp=midp, filtered_name=f"chrx_f{int(midp)}")
    kept = open_genotypes(chrx_lake, f"lake:{res.filtered}")
    ids = [str(v) for v in chrx_lake.open_array(res.filtered)["variant_id"][:]]
    assert ids == (DATA / snplist).read_text().split()
    assert (
        kept.sample_sex is not None
        and kept.sample_sex.tolist() == open_genotypes(chrx_lake, "chrx").sample_sex.tolist()
    )


def test_qc__chrx_same_results_for_any_chunk_size(
    chrx_lake: Lake, chrx_qc: dict[bool, pd.DataFrame], tmp_path: Path
) -> None:
    variants = _run_qc(chrx_lake, tmp_path / "v.tsv", chunk_variants=7, scheduler="threads")
    pd.testing.assert_frame_equal(variants, chrx_qc[False])


def test_qc__chrx_mind_refilter_uses_the_kept_samples_sex(chrx_lake: Lake, tmp_path: Path) -> None:
    """With --mind, --hwe is evaluated on the kept samples; their sexes must follow them."""
    store = open_genotypes(chrx_lake, "chrx")
    res = qc(chrx_lake, "lake:chrx", out=tmp_path / "v.tsv", mind=0.145, hwe=0.001, filtered_name="chrx_mind")
    assert 0 < res.n_samples_kept < store.n_samples
    kept = open_genotypes(chrx_lake, f"lake:{res.filtered}")
    keep = np.isin(store.sample_id, kept.sample_id)
    assert kept.sample_sex is not None and kept.sample_sex.tolist() == store.sample_sex[keep].tolist()
    # independent check: in-memory QC of the kept samples only, same chrX rule
    g = np.asarray(chrx_lake.open_array("chrx")["call_alt_count"][:])[:, keep]
    chrx = np.array([c == "X" for c in pd.read_csv(DATA / "chrx.bim", sep="\t", header=None)[0].astype(str)])
    expected = variant_qc(g, chrx=chrx, sex=store.sample_sex[keep])["hwe_p"].to_numpy() >= 0.001
    ids = [str(v) for v in chrx_lake.open_array(res.filtered)["variant_id"][:]]
    assert ids == list(store_ids(chrx_lake)[expected])


def store_ids(lake: Lake) -> np.ndarray:
    return np.asarray([str(v) for v in lake.open_array("chrx")["variant_id"][:]], dtype=object)


def test_variant_qc__chrx_hand_example() -> None:
    """Females AA, AB, AB (REF A), males B, B, one male het (ignored) and one unknown-sex sample (ignored).

    Female het_obs 2/3; twice the female REF frequency x = 4/3, het_exp = x(1 - x/2) = 4/9;
    hwe_p: 3/7 (mid-p 9/35) by the hand enumeration in tests/stats/test_hwe_chrx.py.
    """
    g = np.array([[0, 1, 1, 2, 2, 1, 0]], dtype=np.int8)
    sex = np.array([2, 2, 2, 1, 1, 1, 0])
    res = variant_qc(g, chrx=[True], sex=sex)
    assert res["het_obs"][0] == pytest.approx(2 / 3, rel=1e-15)
    assert res["het_exp"][0] == pytest.approx(4 / 9, rel=1e-15)
    assert res["hwe_p"][0] == pytest.approx(3 / 7, rel=1e-14)
    assert variant_qc(g, chrx=[True], sex=sex, midp=True)["hwe_p"][0] == pytest.approx(9 / 35, rel=1e-14)
    # alt_freq / obs_ct as plink2 --freq: females 2 ALT of 6, males 2 of 2, the male het 0.5 of 1,
    # the unknown-sex sample 0 of 2 -> 4.5 ALT of 11 alleles
    assert res["alt_freq"][0] == 4.5 / 11 and res["obs_ct"][0] == 11
    # not on chrX (or no sex given): the autosomal test of all samples (2 hom REF, 3 het, 2 hom ALT)
    assert variant_qc(g, chrx=[False], sex=sex)["hwe_p"][0] == hwe_test(3, 2, 2)
    assert variant_qc(g)["hwe_p"][0] == hwe_test(3, 2, 2)


def test_qc__chrx_freq_matches_plink2_acount(chrx_qc: dict[bool, pd.DataFrame]) -> None:
    """alt_freq · obs_ct = ALT_CTS and obs_ct = OBS_CT of ``plink2 --freq counts`` on every variant:
    chrX males count one allele (a heterozygous male half an ALT), chr1 and XY everyone two."""
    variants = chrx_qc[False]
    ref = pd.read_csv(DATA / "ref.acount", sep="\t")
    assert variants["id"].tolist() == ref["ID"].tolist()
    assert variants["obs_ct"].tolist() == ref["OBS_CT"].tolist()
    np.testing.assert_allclose(variants["alt_freq"] * variants["obs_ct"], ref["ALT_CTS"], rtol=0, atol=1e-9)
    x = variants["chrom"] == "X"
    assert (ref.loc[x.to_numpy(), "ALT_CTS"] % 1 == 0.5).sum() >= 10  # male heterozygous calls are present
    assert (variants.loc[x, "obs_ct"] < 2 * 300).all() and (variants.loc[~x, "obs_ct"] <= 2 * 300).all()


def test_variant_qc__chrx_freq_by_hand() -> None:
    """Two females (0, 2), a male (2 → one ALT), a male het (half an ALT), one of unknown sex (1)."""
    g = np.array([[0, 2, 2, 1, 1]], dtype=np.int8)
    sex = np.array([2, 2, 1, 1, 0])
    got = variant_qc(g, chrx=np.array([True]), sex=sex)
    assert got["obs_ct"].tolist() == [2 + 2 + 1 + 1 + 2]
    assert got["alt_freq"].tolist() == [(0 + 2 + 1 + 0.5 + 1) / 8]
    auto = variant_qc(g, chrx=np.array([False]), sex=sex)
    assert auto["obs_ct"].tolist() == [10] and auto["alt_freq"].tolist() == [6 / 10]
