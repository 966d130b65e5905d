"""Run records: provenance of every job."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform

import pandas as pd
import pytest

from biolake import InputError, Lake


def test_run__record_fields(tmp_path):
    src = tmp_path / "in.txt"
    src.write_bytes(b"some input bytes\n" * 1000)
    lake = Lake.open(tmp_path / "lake")
    with lake.run("my job", params={"alpha": 0.05, "cols": ["a", "b"]}, inputs=[str(src)]) as run:
        digest = run.hash_input(str(src))
        run.table("out").write(pd.DataFrame({"a": [1]}))
    rec = lake.run_record(run.id)
    assert rec.command == "my job"
    assert rec.params == {"alpha": 0.05, "cols": ["a", "b"]}
    assert rec.status == "ok" and rec.error is None
    assert rec.outputs == ["out"]
    assert digest == "sha256:" + hashlib.sha256(src.read_bytes()).hexdigest()
    assert rec.inputs == [{"spec": str(src), "path": str(src.resolve()), "bytes": 17_000, "hash": digest}]
    assert rec.versions["python"] == platform.python_version()
    assert rec.versions["pyarrow"] == importlib.metadata.version("pyarrow")
    assert rec.started <= rec.ended
    assert rec.seconds >= 0
    assert rec.peak_rss > 10 * 2**20


def test_run__lake_input_records_dataset(tmp_path):
    lake = Lake.open(tmp_path / "lake")
    made = lake.write_table("a", pd.DataFrame({"x": [1]}))
    with lake.run("reader", inputs=["lake:a"]) as run:
        pass
    assert lake.run_record(run.id).inputs == [{"spec": "lake:a", "dataset": "a", "hash": None, "run_id": made.run_id}]


def test_run_record__prefix_and_errors(tmp_path):
    lake = Lake.open(tmp_path / "lake")
    with lake.run("one") as run:
        pass
    assert lake.run_record(run.id[:17]).id == run.id
    with pytest.raises(InputError, match="no run with id"):
        lake.run_record("19990101")
    with lake.run("two"):
        pass
    with pytest.raises(InputError, match="ambiguous"):
        lake.run_record("2")


def test_runs__newest_first(tmp_path):
    lake = Lake.open(tmp_path / "lake")
    for name in ("first", "second", "third"):
        with lake.run(name):
            pass
    assert [r.command for r in lake.runs()] == ["third", "second", "first"]
    assert [r.command for r in lake.runs(limit=1)] == ["third"]


def test_run__staging_outside_with_is_an_error(tmp_path):
    lake = Lake.open(tmp_path / "lake")
    with pytest.raises(RuntimeError, match="inside"):
        lake.run("x").table("t")


def test_run__same_output_twice_is_an_error(tmp_path):
    lake = Lake.open(tmp_path / "lake")
    with pytest.raises(ValueError, match="already staged"), lake.run("x") as run:
        run.table("t")
        run.table("t")
    assert lake.names() == []
