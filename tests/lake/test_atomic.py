"""Writes are atomic: a process killed mid-write leaves nothing half-written visible."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from biolake import Lake

_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np, pyarrow as pa
    from biolake import Lake

    lake = Lake.open(sys.argv[1])

    def batches():
        for k in range(10_000):
            yield pa.record_batch({"x": pa.array(np.arange(k * 1000, (k + 1) * 1000))})
            if k == 3:
                print("writing", flush=True)
            time.sleep(0.01)

    lake.write_table("victim", batches())
    """
)

_DIE_AT_COMMIT = textwrap.dedent(
    """
    import os, sys
    import pandas as pd
    from biolake import Lake
    from biolake.lake import runs

    def die(*args, **kwargs):
        os._exit(9)  # after the data was renamed into place, before the catalog commits

    runs.Run._finish = die
    Lake.open(sys.argv[1]).write_table("victim", pd.DataFrame({"x": [99, 98]}))
    """
)


def _start(script: str, lake_dir) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", script, str(lake_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_write_table__killed_midway_leaves_nothing(tmp_path):
    lake_dir = tmp_path / "lake"
    Lake.open(lake_dir).write_table("keep", pd.DataFrame({"a": [1, 2, 3]}))
    with _start(_SLOW_WRITER, lake_dir) as proc:
        assert proc.stdout.readline().strip() == "writing"
        assert any((lake_dir / ".tmp").iterdir())  # the data being written is staged
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)

    lake = Lake.open(lake_dir)  # the next open works and cleans up
    assert lake.names() == ["keep"]
    assert lake.to_pandas("keep")["a"].tolist() == [1, 2, 3]
    assert list((lake_dir / ".tmp").iterdir()) == []
    died = [r for r in lake.runs() if r.command == "write_table" and r.params.get("name") == "victim"]
    assert [r.status for r in died] == ["failed"]
    assert "died" in died[0].error


def test_write_table__killed_at_commit_keeps_old_version(tmp_path):
    lake_dir = tmp_path / "lake"
    Lake.open(lake_dir).write_table("victim", pd.DataFrame({"x": [1, 2, 3]}))
    with _start(_DIE_AT_COMMIT, lake_dir) as proc:
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 9, err

    lake = Lake.open(lake_dir)
    assert lake.names() == ["victim"]
    assert lake.to_pandas("victim")["x"].tolist() == [1, 2, 3]
    assert lake.sql("select sum(x) as s from victim")["s"].tolist() == [6]


def test_run__exception_commits_nothing(tmp_path):
    lake = Lake.open(tmp_path / "lake")
    with pytest.raises(RuntimeError, match="boom"), lake.run("two outputs") as run:
        run.table("first").write(pd.DataFrame({"a": [1]}))
        run.table("second").write(pd.DataFrame({"b": [2]}))
        raise RuntimeError("boom")
    assert lake.names() == []
    assert list((tmp_path / "lake" / ".tmp").iterdir()) == []
    record = lake.runs()[0]
    assert (record.status, record.error, record.outputs) == ("failed", "RuntimeError: boom", [])


def test_run__outputs_commit_together(tmp_path):
    lake = Lake.open(tmp_path / "lake")
    with lake.run("two outputs", params={"k": 1}) as run:
        run.table("first").write(pd.DataFrame({"a": [1]}))
        run.array("second").write("m", [[1, 2], [3, 4]])
    assert lake.names() == ["first", "second"]
    assert {lake.info("first").run_id, lake.info("second").run_id} == {run.id}


def test_catalog__waits_for_a_concurrent_writer(tmp_path):
    """Two processes writing to one lake at once both succeed (the catalog lock is retried)."""
    lake_dir = tmp_path / "lake"
    Lake.open(lake_dir)
    script = textwrap.dedent(
        """
        import sys
        import pandas as pd
        from biolake import Lake
        lake = Lake.open(sys.argv[1])
        for i in range(8):
            lake.write_table(f"{sys.argv[2]}_{i}", pd.DataFrame({"i": [i]}))
        """
    )
    with (
        subprocess.Popen([sys.executable, "-c", script, str(lake_dir), "p"], stderr=subprocess.PIPE, text=True) as p,
        subprocess.Popen([sys.executable, "-c", script, str(lake_dir), "q"], stderr=subprocess.PIPE, text=True) as q,
    ):
        try:
            errors = [proc.communicate(timeout=300)[1] for proc in (p, q)]
        finally:
            for proc in (p, q):
                proc.kill()
    assert (p.returncode, q.returncode) == (0, 0), errors
    assert sorted(Lake.open(lake_dir).names()) == sorted(f"{t}_{i}" for t in "pq" for i in range(8))
