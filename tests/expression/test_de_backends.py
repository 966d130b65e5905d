"""The DE job gives the same result for any gene chunking and on every backend (threads, a Dask cluster)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from expression_data import DATA, DATASETS, load_counts, load_samples

from biolake import Lake
from biolake.genomics.de import de_job, deseq2
from biolake.io.counts import ingest_counts


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    lake = Lake.open(tmp_path_factory.mktemp("de") / "lake")
    ingest_counts(lake, DATA / "sim_batch_counts.csv", name="batch")
    return lake


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert a["gene"].tolist() == b["gene"].tolist()
    for col in a.columns[1:]:
        np.testing.assert_array_equal(a[col].isna(), b[col].isna(), err_msg=col)
        np.testing.assert_allclose(a[col], b[col], rtol=1e-10, atol=1e-12, err_msg=col)


@pytest.mark.parametrize("chunk_genes", [7, 500])
def test_deseq2__any_chunking_same_result(chunk_genes):
    """R: results(DESeq(dds)) does not depend on how genes are split; here neither does biolake's."""
    design, _, contrast = DATASETS["sim_outlier"]
    counts, samples = load_counts("sim_outlier"), load_samples("sim_outlier")
    whole = deseq2(counts, samples, design=design, contrast=contrast, scheduler="synchronous")
    chunked = deseq2(counts, samples, design=design, contrast=contrast, chunk_genes=chunk_genes, scheduler="threads")
    _assert_same(whole, chunked)


def test_de_job__local_and_dask_give_same_result(lake, dask_client, tmp_path):
    """R: DESeq(dds) with BiocParallel gives the serial result; biolake's job on a Dask cluster does too."""
    design, reduced, contrast = DATASETS["sim_batch"]
    samples = DATA / "sim_batch_samples.csv"
    results = {}
    for scheduler in ("synchronous", dask_client):
        key = scheduler if isinstance(scheduler, str) else "dask"
        _, res = de_job(
            lake,
            "lake:batch",
            samples=samples,
            design=design,
            contrast=contrast,
            reduced=reduced,
            out=tmp_path / f"de_{key}.parquet",
            chunk_genes=300,
            scheduler=scheduler,
        )
        results[key] = res.table
    _assert_same(results["synchronous"], results["dask"])
    written = pd.read_parquet(tmp_path / "de_dask.parquet")
    assert list(written.columns) == ["gene", "base_mean", "log2_fold_change", "lfc_se", "stat", "pvalue", "padj"]
    assert lake.exists("de_dask") and lake.exists("de_dask_dispersions")
