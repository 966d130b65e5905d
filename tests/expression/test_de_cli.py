"""``biolake genomics de`` end to end, and its one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from expression_data import DATA, load_reference

from biolake import InputError
from biolake.cli import main
from biolake.genomics.design import model_matrix, parse_design


def _cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return int(exc.value.code or 0)


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory):
    lake = tmp_path_factory.mktemp("cli") / "lake"
    assert _cli("--lake", str(lake), "-q", "ingest", "counts", str(DATA / "sim_batch_counts.csv"), "--name", "b") == 0
    return lake


def test_de_command__lrt_writes_result_like_deseq2(lake_dir, tmp_path):
    """R: results(DESeq(dds, test = "LRT", reduced = ~ batch), contrast = c("condition", "treated", "control"))."""
    out = tmp_path / "lrt.tsv"
    code = _cli(
        "--lake", str(lake_dir), "-q", "genomics", "de", "lake:b",
        "--samples", str(DATA / "sim_batch_samples.csv"), "--design", "~ batch + condition",
        "--contrast", "condition,treated,control", "--reduced", "~ batch", "--out", str(out),
    )  # fmt: skip
    assert code == 0
    got = pd.read_csv(out, sep="\t", dtype={"gene": str})
    ref = load_reference("sim_batch", "lrt")
    assert list(got.columns) == ["gene", "base_mean", "log2_fold_change", "lfc_se", "stat", "pvalue", "padj"]
    assert got["gene"].tolist() == ref["gene"].tolist()
    assert (got["padj"].isna() == ref["padj"].isna()).all()
    ok = ref["padj"].notna()
    np.testing.assert_allclose(got["padj"][ok], ref["padj"][ok], rtol=1e-7)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--contrast", "condition,treated,ctl"], "error: --contrast: 'ctl' is not a level of 'condition'"),
        (["--contrast", "condition,treated"], "error: --contrast: expected FACTOR,NUMERATOR,DENOMINATOR"),
        (["--design", "~ batch * condition"], "error: --design: unsupported term 'batch * condition'"),
        (["--contrast", "batch,b2,b1", "--design", "~ condition"], "error: --contrast: contrast factor 'batch'"),
    ],
)
def test_de_command__bad_options_exit_2(lake_dir, tmp_path, capsys, args, message):
    base = {
        "--design": "~ batch + condition",
        "--contrast": "condition,treated,control",
    }
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = ["--lake", str(lake_dir), "genomics", "de", "lake:b", "--samples", str(DATA / "sim_batch_samples.csv")]
    argv += [x for kv in base.items() for x in kv] + ["--out", str(tmp_path / "x.csv")]
    assert _cli(*argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert not (tmp_path / "x.csv").exists()


def test_model_matrix__treatment_contrasts_and_confounding():
    samples = pd.DataFrame({"b": ["x", "x", "y", "y"], "c": ["p", "q", "p", "q"], "d": ["x", "x", "y", "y"]})
    d = model_matrix(samples, parse_design("~ b + `c`"))
    assert d.columns == ["Intercept", "b_y_vs_x", "c_q_vs_p"]
    assert d.column_of("c", "p") is None and d.column_of("c", "q") == 2
    with pytest.raises(InputError, match="not a column"):
        model_matrix(samples, ["e"])
    with pytest.raises(InputError, match="starts with '~'"):
        parse_design("b + c")


def test_de_section__report_has_ma_volcano_dispersion_and_top_genes(lake_dir, tmp_path):
    from biolake import Lake
    from biolake.report.runs import build_run_report

    out = tmp_path / "wald.csv"
    code = _cli(
        "--lake", str(lake_dir), "-q", "genomics", "de", "lake:b",
        "--samples", str(DATA / "sim_batch_samples.csv"), "--design", "~ batch + condition",
        "--contrast", "condition,treated,control", "--out", str(out),
    )  # fmt: skip
    assert code == 0
    lake = Lake.open(lake_dir)
    run = next(r for r in lake.runs() if r.command == "genomics de" and r.params["out"] == str(out))
    report = build_run_report(lake, run.id)
    section = next(s for s in report.sections if s.title == "genomics de")
    specs = " ".join(b.spec_json for b in section._walk() if getattr(b, "kind", "") == "chart")
    for title in ("MA plot", "Volcano plot", "Dispersion estimates"):
        assert f'"{title}"' in specs
    assert "Top 25 genes by adjusted p-value" in repr([getattr(b, "caption", "") for b in section._walk()])
