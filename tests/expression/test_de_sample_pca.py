"""The sample PCA of the ``genomics de`` report against DESeq2's ``plotPCA`` on the VST.

References from tests/data/reference/expression/make_pca_reference.R (DESeq2 1.38.3)::

    dds <- DESeq(DESeqDataSetFromMatrix(counts, coldata, design))
    vsd <- varianceStabilizingTransformation(dds, blind = FALSE)
    plotPCA(vsd, intgroup = group, ntop = 500, returnData = TRUE)   # NAME_pca.csv
    assay(vsd)[1:50, ]                                              # NAME_vst.csv.gz

for sim_basic (``~ condition``) and the real Marioni kidney/liver matrix (``~ run + tissue``),
both with DESeq2's parametric trend. Principal components are compared up to their sign.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from expression_data import DATA, load_counts, load_samples

from biolake import Lake
from biolake.cli import main
from biolake.genomics.de import deseq2, sample_pca, variance_stabilizing_transform
from biolake.report.sections.expression import run_sample_pca

CASES = {
    "sim_basic": ("~ condition", ("condition", "B", "A")),
    "marioni": ("~ run + tissue", ("tissue", "Liver", "Kidney")),
}


def _data(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if name == "marioni":
        counts = pd.read_csv(DATA / "marioni_counts.csv.gz", index_col=0, dtype={"gene": str}).rename_axis(None)
        return counts, pd.read_csv(DATA / "marioni_samples.csv", dtype=str)
    return load_counts(name), load_samples(name)


def _assert_pca(got: pd.DataFrame, pct: np.ndarray, ref: pd.DataFrame, tol: float) -> None:
    assert got["sample"].tolist() == ref["sample"].tolist()
    for col in ("PC1", "PC2"):
        a, b = got[col].to_numpy(), ref[col].to_numpy()
        np.testing.assert_allclose(np.sign(a @ b) * a, b, rtol=0, atol=tol * np.abs(b).max(), err_msg=col)
    np.testing.assert_allclose(pct[:2], ref[["percent_var1", "percent_var2"]].iloc[0], rtol=1e-9)


@pytest.mark.parametrize("name", sorted(CASES))
def test_variance_stabilizing_transform__matches_deseq2_vst(name):
    """R: assay(varianceStabilizingTransformation(dds, blind = FALSE))[1:50, ]."""
    design, contrast = CASES[name]
    counts, samples = _data(name)
    res = deseq2(counts, samples, design=design, contrast=contrast, details=True)
    assert res.trend["fit_type"] == "parametric"
    vst = variance_stabilizing_transform(counts.to_numpy(float) / res.size_factors, res.trend)
    ref = pd.read_csv(DATA / f"{name}_vst.csv.gz", index_col=0)
    np.testing.assert_allclose(vst[:50], ref.to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_pca__matches_deseq2_plotpca(name):
    """R: plotPCA(vsd, ntop = 500, returnData = TRUE) and its percentVar attribute."""
    design, contrast = CASES[name]
    counts, samples = _data(name)
    res = deseq2(counts, samples, design=design, contrast=contrast, details=True)
    vst = variance_stabilizing_transform(counts.to_numpy(float) / res.size_factors, res.trend)
    got, pct = sample_pca(vst, res.samples, ntop=500)
    _assert_pca(got, pct, pd.read_csv(DATA / f"{name}_pca.csv"), 1e-9)


def test_variance_stabilizing_transform__mean_and_local_trends():
    """Mean trend: DESeq2's closed form (hand value); local trend: log2(q + 1) (normTransform)."""
    q = np.array([[0.0, 3.0, 100.0]])
    alpha = 0.2
    expected = (2 * np.arcsinh(np.sqrt(alpha * q)) - np.log(alpha) - np.log(4)) / np.log(2)
    got = variance_stabilizing_transform(q, {"fit_type": "mean", "mean": alpha})
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    assert got[0, 0] == pytest.approx(-np.log2(0.8))  # asinh(0) = 0: -log2(4 alpha)
    np.testing.assert_allclose(variance_stabilizing_transform(q, {"fit_type": "local"}), [[0.0, 2.0, np.log2(101)]])


def test_de_section__report_has_sample_pca_like_deseq2(tmp_path):
    """The report's PCA (from the lake, in blocks) equals DESeq2's plotPCA (R as in the module docstring)."""
    from biolake.report.runs import build_run_report

    lake_dir, out = tmp_path / "lake", tmp_path / "res.csv"
    for args in (
        ["ingest", "counts", str(DATA / "sim_basic_counts.csv"), "--name", "c"],
        ["genomics", "de", "lake:c", "--samples", str(DATA / "sim_basic_samples.csv"), "--design", "~ condition",
         "--contrast", "condition,B,A", "--out", str(out)],
    ):  # fmt: skip
        with pytest.raises(SystemExit) as exc:
            main(["--lake", str(lake_dir), "-q", *args])
        assert exc.value.code in (0, None)
    lake = Lake.open(lake_dir)
    run = next(r for r in lake.runs() if r.command == "genomics de")
    name = next(n for n in run.outputs if lake.info(n).attrs.get("role") == "result")
    sf = lake.to_pandas(f"{name}_size_factors")["size_factor"].to_numpy()
    (got, pct), _ = run_sample_pca(lake, "lake:c", sf, dict(lake.info(f"{name}_dispersions").attrs))
    _assert_pca(got, pct, pd.read_csv(DATA / "sim_basic_pca.csv"), 1e-9)
    section = next(s for s in build_run_report(lake, run.id).sections if s.title == "genomics de")
    specs = " ".join(b.spec_json for b in section._walk() if getattr(b, "kind", "") == "chart")
    assert '"PCA of samples"' in specs
    assert '"condition"' in specs  # coloured by the contrast's factor
