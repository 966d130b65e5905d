"""``biolake ingest proteomics`` + ``biolake genomics proteomics`` end to end on a MaxQuant file, and errors.

R (make_reference.R)::

    pg <- read.delim("proteinGroups.txt", check.names = FALSE, colClasses = "character")
    pg <- pg[pg[["Potential contaminant"]] != "+" & pg[["Reverse"]] != "+" & pg[["Only identified by site"]] != "+", ]
    x <- sapply(paste("LFQ intensity", smq), function(c) as.numeric(pg[[c]])); x[x == 0] <- NA
    # log2, >= 2 valid values in some condition, median centring, then
    topTable(eBayes(lmFit(y, model.matrix(~ condition))), coef = "conditiontreat", number = Inf, sort.by = "none")
"""

from __future__ import annotations

import pandas as pd
import pytest
from proteomics_data import DATA, assert_like_limma, load_reference

from biolake import Lake
from biolake.cli import main


def _cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return int(exc.value.code or 0)


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory):
    lake = tmp_path_factory.mktemp("cli") / "lake"
    pg = str(DATA / "proteinGroups.txt")
    assert _cli("--lake", str(lake), "-q", "ingest", "proteomics", pg, "--name", "pg", "--format", "maxquant") == 0
    assert _cli("--lake", str(lake), "-q", "ingest", "proteomics", pg, "--name", "ib", "--quant", "ibaq") == 0
    return lake


@pytest.mark.parametrize("quant", ["lfq", "ibaq"])
def test_proteomics_command__maxquant_like_limma(lake_dir, tmp_path, quant):
    out = tmp_path / "res.tsv"
    code = _cli(
        "--lake", str(lake_dir), "-q", "genomics", "proteomics", "lake:pg" if quant == "lfq" else "lake:ib",
        "--samples", str(DATA / "maxquant_samples.csv"), "--design", "~ condition",
        "--contrast", "condition,treat,ctrl", "--min-valid", "2", "--normalize", "median", "--out", str(out),
    )  # fmt: skip
    assert code == 0
    got = pd.read_csv(out, sep="\t", dtype={"protein": str})
    assert_like_limma(got, load_reference(f"maxquant_{quant}.csv"))
    lake = Lake.open(lake_dir)
    run = lake.runs()[0]
    assert run.command == "genomics proteomics" and run.status == "ok"
    assert lake.info("res").attrs["proteins_filtered"] == 291 - len(got)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--contrast", "condition,treat,ctl"], "error: --contrast: 'ctl' is not a level of 'condition'"),
        (["--contrast", "condition,treat"], "error: --contrast: expected FACTOR,NUMERATOR,DENOMINATOR"),
        (["--design", "~ batch"], "design factor 'batch' is not a column of the samples table"),
        (["--normalize", "vsn"], "The 'normalize' parameter of limma_da must be"),
    ],
)
def test_proteomics_command__bad_options_exit_2_with_one_line(lake_dir, tmp_path, capsys, args, message):
    base = {
        "--design": "~ condition",
        "--contrast": "condition,treat,ctrl",
        "--samples": str(DATA / "maxquant_samples.csv"),
        "--out": str(tmp_path / "x.csv"),
    }
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [a for kv in base.items() for a in kv]
    code = _cli("--lake", str(lake_dir), "-q", "genomics", "proteomics", "lake:pg", *flat)
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


def test_ingest_proteomics_command__bad_file_exit_2(tmp_path, capsys):
    bad = tmp_path / "m.csv"
    bad.write_text("protein,a,b\np1,1,2\np1,3,4\n")
    code = _cli("--lake", str(tmp_path / "lake"), "-q", "ingest", "proteomics", str(bad), "--name", "m")
    assert code == 2
    assert capsys.readouterr().err.strip() == f"error: {bad}: line 3: column 1: duplicate protein id 'p1'"
