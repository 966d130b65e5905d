"""Polygenic scores against ``plink2 --score`` and an independent float64 numpy computation.

Reference outputs: ``tests/data/precision/prs/make_reference.py`` (PLINK v2.00a3.5, 9 Aug 2022),
which ran, on the synthetic VCF imported with ``plink2 --vcf synth.vcf.gz --make-pgen``::

    plink2 --pfile synth --score synth.score 1 2 3 header-read [no-mean-imputation | dominant | recessive]
           cols=nallele,denom,dosagesum,scoreavgs,scoresums list-variants
    plink2 --pfile synth --score synth_plain.score 1 2 header-read --score-col-nums 3-5 cols=...

and on the pgsc_calc chr22 target (``--bfile cineca_synthetic_subset``) with its scoring files
(``scorefile_dominant_and_recessive.txt`` as three runs: additive rows, ``dominant`` rows,
``recessive`` rows, whose sums add). plink2 matches IDs and alleles only, so its scoring
files are the rows to use with the plink2 allele (strand flips complemented), as built.
plink2 prints 6 significant digits: tolerance relative 1e-5.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.genomics.store import open_genotypes
from biolake.io.plink import ingest_plink
from biolake.io.vcf import ingest_vcf
from biolake.lake import Lake
from biolake.lake.backend import get_backend
from biolake.precision.prs import compute_scores, match_weights, prs, read_weights

DATA = Path(__file__).resolve().parents[1] / "data" / "precision" / "prs"
PGSC = Path(__file__).resolve().parents[3] / "shared" / "data" / "prs" / "pgsc_calc"
COLUMNS = ["sample_id", "score", "allele_ct", "dosage_sum", "score_sum", "score_avg"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Lake:
    lk = Lake.open(tmp_path_factory.mktemp("prs") / "lake")
    ingest_vcf(lk, DATA / "synth.vcf.gz", name="synth")
    if PGSC.exists():
        ingest_plink(lk, PGSC / "target_genomes" / "cineca_synthetic_subset", name="cineca")
    return lk


def _run(lake: Lake, tmp_path: Path, weights: Path, genotypes: str = "lake:synth", **kw) -> pd.DataFrame:
    out = tmp_path / "scores.tsv"
    prs(lake, genotypes, weights=weights, out=out, **kw)
    return pd.read_csv(out, sep="\t", dtype={"sample_id": str})


def _plink(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", compression="gzip" if path.suffix == ".gz" else None, dtype={"#IID": str})


def _assert_plink(ours: pd.DataFrame, ref: pd.DataFrame, names: dict[str, str]) -> None:
    assert list(ours.columns[:6]) == COLUMNS
    for score, col in names.items():
        x = ours[ours["score"] == score].reset_index(drop=True)
        assert x["sample_id"].tolist() == ref["#IID"].tolist()
        np.testing.assert_array_equal(x["allele_ct"], ref["ALLELE_CT"])
        np.testing.assert_allclose(x["dosage_sum"], ref["NAMED_ALLELE_DOSAGE_SUM"], rtol=1e-5, atol=1e-12)
        np.testing.assert_allclose(x["score_sum"], ref[f"{col}_SUM"], rtol=1e-5, atol=1e-12)
        np.testing.assert_allclose(x["score_avg"], ref[f"{col}_AVG"], rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("default", {}),
        ("nomean", {"mean_impute": False}),
        ("dominant", {"model": "dominant"}),
        ("recessive", {"model": "recessive"}),
        ("ambiguous", {"keep_ambiguous": True}),
    ],
)
def test_prs__synthetic_agrees_with_plink2(lake, tmp_path, mode, options):
    """Flips, strand flips, ambiguous drops (or kept), multi-allelic drops, missing calls; all models."""
    ours = _run(lake, tmp_path, DATA / "synth_pgs.txt", **options)
    _assert_plink(ours, _plink(DATA / f"plink2_synth_{mode}.sscore"), {"SYNTH01": "SYNTH01"})


def test_prs__plain_three_scores_agree_with_plink2(lake, tmp_path):
    """A plain ``id effect_allele a b c`` table: three scores at once, matched by ID."""
    ours = _run(lake, tmp_path, DATA / "synth_plain.txt", min_match=0.5)
    assert ours["score"].unique().tolist() == ["a", "b", "c"]
    _assert_plink(ours, _plink(DATA / "plink2_synth_plain.sscore"), {k: k for k in "abc"})


def test_match_weights__reasons_as_constructed(lake):
    """Every row of the synthetic weights gets the category it was built as (synth_truth.tsv)."""
    truth = pd.read_csv(DATA / "synth_truth.tsv", sep="\t")
    w = read_weights(DATA / "synth_pgs.txt")
    m = match_weights(w, open_genotypes(lake, "lake:synth"))
    assert w.line.tolist() == truth["line"].tolist()
    assert m.reason.tolist() == truth["kind"].tolist()
    kept = match_weights(w, open_genotypes(lake, "lake:synth"), keep_ambiguous=True)
    amb = (truth["kind"] == "ambiguous").to_numpy()
    assert set(kept.reason[amb]) == {"match", "flip"}
    assert kept.reason[~amb].tolist() == truth["kind"][~amb].tolist()


def _vcf_counts() -> tuple[list[str], dict[str, np.ndarray]]:
    """ALT counts (-1 missing) per biallelic record of synth.vcf.gz, parsed here from the text."""
    out: dict[str, np.ndarray] = {}
    samples: list[str] = []
    with gzip.open(DATA / "synth.vcf.gz", "rt") as fh:
        for text in fh:
            if text.startswith("##"):
                continue
            f = text.rstrip("\n").split("\t")
            if text.startswith("#"):
                samples = f[9:]
                continue
            if "," in f[4]:
                continue
            g = np.array([-1 if "." in x else int(x[0]) + int(x[2]) for x in f[9:]], dtype=np.int64)
            out[f[2]] = g
    return samples, out


@pytest.mark.parametrize("model", ["additive", "dominant", "recessive"])
@pytest.mark.parametrize("impute", [True, False])
def test_prs__independent_float64(lake, tmp_path, model, impute):
    """score_sum/avg, allele_ct, dosage_sum recomputed with numpy float64 from the VCF text and the truth table."""
    samples, counts = _vcf_counts()
    truth = pd.read_csv(DATA / "synth_truth.tsv", sep="\t")
    used = truth[truth["kind"].isin(["match", "flip", "strand", "strand+flip"])]
    vcf_alt = {}
    with gzip.open(DATA / "synth.vcf.gz", "rt") as fh:
        for text in fh:
            if not text.startswith("#"):
                f = text.split("\t", 5)
                vcf_alt[f[2]] = f[4]
    total = np.zeros(len(samples))
    dosage = np.zeros(len(samples))
    called = np.zeros(len(samples))
    for vid, a1, w in zip(used["id"], used["plink_a1"], used["weight"], strict=True):
        g = counts[vid].astype(np.float64)
        miss = g < 0
        e = g if a1 == vcf_alt[vid] else 2 - g
        p = e[~miss].mean() / 2
        t = {"additive": e, "dominant": np.minimum(e, 1), "recessive": np.maximum(e - 1, 0)}[model]
        fill = (2 * p if model == "additive" else p) if impute else 0.0
        x = np.where(miss, fill, t)
        total += w * x
        dosage += np.where(miss, 0.0, t)
        called += ~miss
    denom = 2.0 * len(used) if impute else 2 * called
    ours = _run(lake, tmp_path, DATA / "synth_pgs.txt", model=model, mean_impute=impute)
    assert ours["sample_id"].tolist() == samples
    np.testing.assert_array_equal(ours["allele_ct"], 2 * called)
    np.testing.assert_allclose(ours["dosage_sum"], dosage, rtol=1e-12, atol=0)
    np.testing.assert_allclose(ours["score_sum"], total, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ours["score_avg"], total / denom, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("scheduler", ["synchronous", "threads", "dask"])
def test_compute_scores__chunking_and_backends(lake, scheduler):
    """Blocks of 7 variants on another backend give the sums of one synchronous pass (to 1e-12)."""
    store = open_genotypes(lake, "lake:synth")
    w = read_weights(DATA / "synth_plain.txt")
    m = match_weights(w, store)
    with get_backend("synchronous") as b:
        one = compute_scores(store, w, m, backend=b, chunk_variants=10_000)
    if scheduler == "dask":
        distributed = pytest.importorskip("distributed")
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
        with cluster, distributed.Client(cluster) as client, get_backend(client) as b:
            many = compute_scores(store, w, m, backend=b, chunk_variants=7)
    else:
        with get_backend(scheduler, workers=2) as b:
            many = compute_scores(store, w, m, backend=b, chunk_variants=7)
    np.testing.assert_allclose(many.score_sum, one.score_sum, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(many.allele_ct, one.allele_ct)
    np.testing.assert_allclose(many.dosage_sum, one.dosage_sum, rtol=0, atol=0)


pgsc = pytest.mark.skipif(not PGSC.exists(), reason="../shared/data/prs/pgsc_calc not available")


@pgsc
@pytest.mark.parametrize(
    ("src", "ref", "names"),
    [
        ("scorefile.txt", "pgsc_scorefile", {"PGS001229_22": "W"}),
        ("PGS001229_22.txt", "pgsc_pgs001229", {"PGS001229": "W"}),
        ("multiscore.txt", "pgsc_multiscore", {"PGS001229_22": "PGS001229_22", "second_score": "second_score"}),
    ],
)
def test_prs__pgs_catalog_files_agree_with_plink2(lake, tmp_path, src, ref, names):
    """The pgsc_calc test scoring files on its chr22 target (.bed, 2,504 samples): positions, rsIDs, CHR:POS IDs."""
    log = tmp_path / "log.tsv"
    ours = _run(lake, tmp_path, PGSC / "scorefiles" / src, genotypes="lake:cineca", match_log=log)
    _assert_plink(ours, _plink(DATA / f"plink2_{ref}.sscore.gz"), names)
    used = pd.read_csv(log, sep="\t").query("used")["variant_id"]
    plink_vars = (DATA / f"plink2_{ref}.sscore.vars").read_text().split()
    assert sorted(used) == sorted(plink_vars)


@pgsc
def test_prs__per_variant_dominant_recessive_flags(lake, tmp_path):
    """is_dominant/is_recessive columns: the sum of plink2's additive, dominant and recessive runs."""
    ours = _run(lake, tmp_path, PGSC / "scorefiles" / "scorefile_dominant_and_recessive.txt", genotypes="lake:cineca")
    refs = [_plink(DATA / f"plink2_pgsc_{k}.sscore.gz") for k in ("add", "dominant", "recessive")]
    total = sum(r["W_SUM"] for r in refs)
    allele_ct = sum(r["ALLELE_CT"] for r in refs)
    dosage = sum(r["NAMED_ALLELE_DOSAGE_SUM"] for r in refs)
    denom = sum(r["DENOM"] for r in refs)
    np.testing.assert_array_equal(ours["allele_ct"], allele_ct)
    np.testing.assert_allclose(ours["dosage_sum"], dosage, rtol=1e-5)
    np.testing.assert_allclose(ours["score_sum"], total, rtol=1e-5, atol=1e-6 * np.abs(total).max())
    np.testing.assert_allclose(ours["score_avg"], total / denom, rtol=1e-5, atol=1e-9)
