"""``biolake precision prs`` on the command line: output columns, match log, run record, bad input → exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.io.vcf import ingest_vcf
from biolake.lake import Lake
from biolake.precision.prs.association import association, deciles, liability_r2

DATA = Path(__file__).resolve().parents[1] / "data" / "precision" / "prs"
COLUMNS = ["sample_id", "score", "allele_ct", "dosage_sum", "score_sum", "score_avg"]


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from biolake.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("prscli") / "lake"
    ingest_vcf(Lake.open(root), DATA / "synth.vcf.gz", name="synth")
    return root


def test_prs_command__columns_match_log_and_run_record(lake_dir, tmp_path, capsys):
    """Columns exactly as the interface; the match log's reasons count as built; the match rate in the run."""
    out, log = tmp_path / "prs.csv", tmp_path / "log.tsv"
    code, _, err = _cli(
        ["precision", "prs", "lake:synth", "--weights", str(DATA / "synth_pgs.txt"), "--out", str(out),
         "--match-log", str(log), "--lake", str(lake_dir), "-q"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    df = pd.read_csv(out)
    assert list(df.columns) == COLUMNS
    assert df["sample_id"].iloc[0] == "S0000" and len(df) == 300
    truth = pd.read_csv(DATA / "synth_truth.tsv", sep="\t")
    got = pd.read_csv(log, sep="\t")
    assert got["reason"].value_counts().to_dict() == truth["kind"].value_counts().to_dict()
    used = truth["kind"].isin(["match", "flip", "strand", "strand+flip"]).sum()
    lake = Lake.open(lake_dir)
    run = next(r for r in lake.runs() if r.command == "precision prs")
    assert run.params["variants_used"] == used == 210
    assert run.params["match_rate"] == pytest.approx(used / len(truth), abs=1e-6)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("id\teffect_allele\ts1\nrs900000\tA\t0.1\nrs900001\tC\tabc\n", 3, "'abc'"),
        ("id effect_allele s1 s2\nrs900000 A 0.1 0.2\nrs900001 C 0.3\n", 3, "missing value in column 's2'"),
        (
            "#pgs_id=X\nchr_name\tchr_position\teffect_allele\teffect_weight\n1\t10000\tA\t0.1\n1\t10137\t\t0.2\n",
            4,
            "missing value in column 'effect_allele'",
        ),
        (
            "#pgs_id=X\nchr_name\tchr_position\teffect_allele\teffect_weight\n1\t10000\tA\t0.1\n1\t10137\tG\tNA\n",
            4,
            "'NA'",
        ),
    ],
)
def test_prs_command__bad_weights_exit_2_one_line(lake_dir, tmp_path, capsys, text, line, words):
    """A non-numeric weight or a missing column: exit 2, one line naming the file and the line."""
    weights = tmp_path / "bad.txt"
    weights.write_text(text)
    code, _, err = _cli(
        ["precision", "prs", "lake:synth", "--weights", str(weights), "--out", str(tmp_path / "o.tsv"),
         "--lake", str(lake_dir), "-q"],
        capsys,
    )  # fmt: skip
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert f"{weights}: line {line}:" in err and words in err
    assert not (tmp_path / "o.tsv").exists()


def test_prs_command__below_min_match_exit_2(lake_dir, tmp_path, capsys):
    """210 of 270 rows (77.8 %) match: --min-match 0.9 fails with one line, 0.7 passes."""
    args = ["precision", "prs", "lake:synth", "--weights", str(DATA / "synth_pgs.txt"), "--out",
            str(tmp_path / "o.tsv"), "--lake", str(lake_dir), "-q"]  # fmt: skip
    code, _, err = _cli([*args, "--min-match", "0.9"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "only 210 of 270 weights rows (77.8%)" in err
    code, _, err = _cli([*args, "--min-match", "0.7"], capsys)
    assert code == 0, err


def test_prs_command__reference_percentile_and_association(lake_dir, tmp_path, capsys):
    """The dataset as its own reference: percentiles are the ranks; the association is stored for the report."""
    out = tmp_path / "p.tsv"
    pheno = tmp_path / "pheno.tsv"
    scores = pd.read_csv(DATA / "plink2_synth_default.sscore", sep="\t")
    rng = np.random.default_rng(3)
    z = (scores["SYNTH01_SUM"] - scores["SYNTH01_SUM"].mean()) / scores["SYNTH01_SUM"].std()
    case = (rng.random(len(z)) < 1 / (1 + np.exp(-(z - 0.5)))).astype(int) + 1
    pd.DataFrame({"IID": scores["#IID"], "cad": case}).to_csv(pheno, sep="\t", index=False)
    code, _, err = _cli(
        ["precision", "prs", "lake:synth", "--weights", str(DATA / "synth_pgs.txt"), "--out", str(out),
         "--reference", "lake:synth", "--pheno", str(pheno), "--pheno-col", "cad", "--lake", str(lake_dir), "-q"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    df = pd.read_csv(out, sep="\t")
    ranks = df["score_sum"].rank(method="max").to_numpy()
    np.testing.assert_allclose(df["percentile"], 100 * ranks / len(df))
    info = Lake.open(lake_dir).info("p")
    assoc = info.attrs["association"]
    assert assoc["cases"] + assoc["controls"] == 300
    assert len(info.attrs["deciles"]) == 10
    assert json.dumps(assoc)


def test_association__hand_values():
    """AUC counted by hand; OR per SD > 1; Lee et al. with K = P reduces to R²_obs · C."""
    from scipy import stats

    s = np.arange(10, dtype=float)
    y = np.array([0, 0, 0, 1, 0, 1, 0, 1, 1, 1], dtype=float)
    res = association(s, y, binary=True)
    # AUC: (case, control) pairs with the case scored higher: 3 + 4 + 5 + 5 + 5 = 22 of 25
    assert res["auc"] == pytest.approx(22 / 25)
    assert res["or_per_sd"] > 1
    r2 = np.corrcoef(s, y)[0, 1] ** 2
    k = 0.5
    t = stats.norm.isf(k)
    c = (k * (1 - k)) ** 2 / stats.norm.pdf(t) ** 2 / (k * (1 - k))
    assert res["r2_liability"] == pytest.approx(r2 * c, rel=1e-12)
    assert liability_r2(0.1, case_fraction=0.5, prevalence=0.5) == pytest.approx(0.1 * 0.25 / stats.norm.pdf(0) ** 2)
    d = deciles(s, y)
    assert [g["trait_mean"] for g in d] == y.tolist()


def test_prs_demo__report_has_decile_plot(tmp_path):
    """The demo step scores a simulated cohort; its run report shows the match summary and the decile plot."""
    import biolake.report.sections  # noqa: F401
    from biolake.report.demo import _STEPS
    from biolake.report.runs import build_run_report

    step = next(fn for title, fn in _STEPS if title.startswith("Precision medicine: polygenic risk score"))
    lake = Lake.open(tmp_path / "lake")
    (tmp_path / "data").mkdir()
    (run_id,) = step(lake, tmp_path / "data", __import__("biolake.lake.progress").lake.progress.NullProgress())
    record = lake.run_record(run_id)
    assert record.params["match_rate"] == 1.0 and record.params["variants_used"] == 300
    info = lake.info("prs_scores")
    deciles_ = info.attrs["deciles"]
    # the simulated trait depends on the score: more cases in the top decile than in the bottom one
    assert deciles_[-1]["trait_mean"] > deciles_[0]["trait_mean"]
    assert info.attrs["association"]["or_per_sd"] > 1.5
    html = build_run_report(lake, run_id).save(tmp_path / "r.html").read_text()
    assert "by decile of DEMO01" in html and "Weights rows by match outcome" in html
