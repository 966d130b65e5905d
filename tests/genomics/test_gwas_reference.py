"""GWAS against plink2 2.00a3.5 ``--glm`` (outputs of tests/data/reference/genomics/make_gwas_reference.sh).

Tolerances: plink2 prints 6 significant digits, so BETA/SE/P agree to relative 2e-5
(P where P > 1e-300), OBS_CT exactly and A1_FREQ to the printed digits. plink2
2.00a3.5 fits logistic models in single precision: its log odds ratios agree to 3e-5,
but its standard errors are off by up to 34 % for a few variants (a float64 fit and
an independent numpy fit agree with each other there, see test_gwas.py), and its Firth
fits stop at 1e-4 tolerances; those comparisons are stated per test below.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.genomics.gwas import LINEAR_COLUMNS, LOGISTIC_COLUMNS, gwas
from biolake.io.plink import ingest_plink
from biolake.lake import Lake

GW = Path(__file__).parents[1] / "data" / "genomics" / "gwas"
COVARS = ["age", "sex", "batch", "pc1", "pc2"]


@pytest.fixture(scope="module")
def gwas_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """The reference fileset (500 samples x 600 variants) as genotype dataset ``gw``, chunks of 128 variants."""
    lake = Lake.open(tmp_path_factory.mktemp("gwas-lake"))
    ingest_plink(lake, GW / "gwas", name="gw", variant_chunk=128)
    return lake


def run_gwas(lake: Lake, out: Path, **kwargs: object) -> pd.DataFrame:
    gwas(lake, "lake:gw", pheno=GW / "gwas.pheno", out=out, **kwargs)  # type: ignore[arg-type]
    if out.suffix == ".tsv":
        text = dict.fromkeys(["chrom", "id", "ref", "alt", "a1", "errcode"], str)
        return pd.read_csv(out, sep="\t", dtype=text)  # type: ignore[arg-type]
    return pd.read_parquet(out)


def plink(name: str) -> pd.DataFrame:
    return pd.read_csv(GW / name, sep="\t", dtype=str, keep_default_na=False)


def rel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b) / np.abs(b)


def check_common(ours: pd.DataFrame, ref: pd.DataFrame) -> np.ndarray:
    """Identity columns, errcode, obs_ct, a1_freq; returns the rows plink2 tested (ERRCODE '.')."""
    assert len(ours) == len(ref)
    for col, rcol in (("chrom", "#CHROM"), ("id", "ID"), ("ref", "REF"), ("alt", "ALT"), ("a1", "A1")):
        assert (ours[col].to_numpy() == ref[rcol].to_numpy()).all(), col
    assert (ours["pos"].to_numpy() == ref["POS"].astype(int).to_numpy()).all()
    assert (ours["obs_ct"].to_numpy() == ref["OBS_CT"].astype(int).to_numpy()).all()
    freq = [f"{v:.6g}" if v == v else "nan" for v in ours["a1_freq"].fillna(np.nan)]
    assert freq == ref["A1_FREQ"].tolist()
    compared = ref["ERRCODE"].to_numpy() != "UNFINISHED"  # plink2's float32 IRLS did not converge there
    ours_err = ours["errcode"].fillna(".").to_numpy()
    assert (ours_err[compared] == ref["ERRCODE"].to_numpy()[compared]).all()
    tested = ref["ERRCODE"].to_numpy() == "."
    assert ours.loc[~tested & compared, "beta"].isna().all()
    return tested


def test_gwas__linear_no_covariates_matches_plink2(gwas_lake: Lake, tmp_path: Path) -> None:
    """plink2 --bfile gwas --pheno gwas.pheno --pheno-name qt --glm allow-no-covars omit-ref cols=+a1freq"""
    ours = run_gwas(gwas_lake, tmp_path / "lin.parquet", pheno_col="qt")
    assert tuple(ours.columns) == LINEAR_COLUMNS
    ref = plink("lin_nocov.qt.glm.linear")
    tested = check_common(ours, ref)
    assert tested.sum() == 597
    for col, rcol in (("beta", "BETA"), ("se", "SE"), ("stat", "T_STAT"), ("p", "P")):
        r = ref.loc[tested, rcol].astype(float).to_numpy()
        assert rel(ours.loc[tested, col].to_numpy(), r).max() < 2e-5, col


def test_gwas__linear_covariates_matches_plink2(gwas_lake: Lake, tmp_path: Path) -> None:
    """plink2 --bfile gwas --pheno gwas.pheno --pheno-name qt --covar gwas.covar
    --covar-name age,sex,batch,pc1,pc2 --glm hide-covar omit-ref cols=+a1freq"""
    ours = run_gwas(
        gwas_lake, tmp_path / "lin.tsv", pheno_col="qt", covar=GW / "gwas.covar", covar_cols="age,sex,batch,pc1,pc2"
    )
    ref = plink("lin_cov.qt.glm.linear")
    tested = check_common(ours, ref)
    p = ref.loc[tested, "P"].astype(float).to_numpy()
    assert p.min() < 1e-10  # the causal variants are found
    for col, rcol in (("beta", "BETA"), ("se", "SE"), ("stat", "T_STAT"), ("p", "P")):
        r = ref.loc[tested, rcol].astype(float).to_numpy()
        assert rel(ours.loc[tested, col].to_numpy(), r).max() < 2e-5, col


def run_logistic(lake: Lake, out: Path, firth: str) -> pd.DataFrame:
    return run_gwas(
        lake, out, pheno_col="bt", covar=GW / "gwas.covar", covar_cols=COVARS, model="logistic", firth=firth
    )


def test_gwas__logistic_no_firth_matches_plink2(gwas_lake: Lake, tmp_path: Path) -> None:
    """plink2 --pheno-name bt --covar gwas.covar --covar-name age,sex,batch,pc1,pc2 --covar-variance-standardize
    --glm no-firth hide-covar omit-ref cols=+a1freq"""
    ours = run_logistic(gwas_lake, tmp_path / "log.parquet", "no")
    assert tuple(ours.columns) == LOGISTIC_COLUMNS
    ref = plink("log_nofirth.bt.glm.logistic")
    tested = check_common(ours, ref)
    assert (ref["ERRCODE"] == "SEPARATION,ALT1").sum() >= 5
    odds = ref.loc[tested, "OR"].astype(float).to_numpy()
    assert rel(ours.loc[tested, "or"].to_numpy(), odds).max() < 3e-5
    np.testing.assert_allclose(ours["or"], np.exp(ours["beta"]), rtol=1e-15)
    for col, rcol in (("se", "LOG(OR)_SE"), ("p", "P")):
        d = rel(ours.loc[tested, col].to_numpy(), ref.loc[tested, rcol].astype(float).to_numpy())
        assert np.mean(d < 2e-5) > 0.96, col  # plink2's float32 standard errors (see module docstring)


def test_gwas__logistic_firth_fallback_matches_plink2(gwas_lake: Lake, tmp_path: Path) -> None:
    """plink2 ... --covar-variance-standardize --glm firth-fallback hide-covar omit-ref cols=+a1freq"""
    ours = run_logistic(gwas_lake, tmp_path / "fb.parquet", "fallback")
    ref = plink("log_fallback.bt.glm.logistic.hybrid")
    tested = check_common(ours, ref)
    firth = (ref["FIRTH?"] == "Y").to_numpy() & tested
    assert firth.sum() >= 5
    irls = tested & ~firth
    odds = ref["OR"].replace("NA", "nan").astype(float).to_numpy()
    assert rel(ours.loc[irls, "or"].to_numpy(), odds[irls]).max() < 3e-5
    # plink2's Firth stops at 1e-4 tolerances in single precision
    assert rel(ours.loc[firth, "beta"].to_numpy(), np.log(odds[firth])).max() < 2e-3
    d = rel(ours.loc[tested, "p"].to_numpy(), ref.loc[tested, "P"].astype(float).to_numpy())
    assert np.mean(d < 2e-5) > 0.94


def test_gwas__logistic_firth_always_matches_plink2(gwas_lake: Lake, tmp_path: Path) -> None:
    """plink2 ... --covar-variance-standardize --glm firth hide-covar omit-ref cols=+a1freq"""
    ours = run_logistic(gwas_lake, tmp_path / "firth.parquet", "always")
    ref = plink("log_firth.bt.glm.firth")
    tested = check_common(ours, ref)
    beta = np.log(ref.loc[tested, "OR"].astype(float).to_numpy())
    d = np.abs(ours.loc[tested, "beta"].to_numpy() - beta) / np.maximum(np.abs(beta), 0.1)
    assert np.median(d) < 2e-5
    assert np.mean(d < 1e-3) > 0.97
