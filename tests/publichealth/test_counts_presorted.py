"""The count reader's shortcuts give the same series as DuckDB's full sort.

* An in-memory table already in series order is streamed without ``ORDER BY``
  (``_in_series_order``); tables without a time column are numbered 1, 2, … within each
  series by the chunk reader instead of a partitioned window. The same rows read from a
  Parquet file (always sorted by DuckDB) are the independent reference: ``load_counts`` and
  EARS results must be equal, for any ``chunk_series``, whether or not the rows came sorted.
* Series starts are found by comparing each key with the previous row's (Arrow compute); the
  reference is a factorization with pandas where missing values (None and NaN) are one code.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biolake.errors import InputError
from biolake.publichealth.counts import _in_series_order, _series_starts, load_counts
from biolake.publichealth.surveillance import surveil


def _frame(lengths: list[int], seed: int, shuffle: str, dated: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for s, n in enumerate(lengths):
        parts.append(
            pd.DataFrame(
                {
                    "region": f"r{s % 3}",
                    "group": s // 3,
                    "week": np.arange(1, n + 1, dtype=np.int64) + 10 * s,
                    "count": rng.poisson(5 + s, n).astype(np.int64),
                }
            )
        )
    df = pd.concat(parts, ignore_index=True)
    if shuffle == "series":  # whole series in a random order, rows in time order within each
        keys = df[["region", "group"]].drop_duplicates().sample(frac=1.0, random_state=seed)
        df = keys.merge(df, on=["region", "group"], how="left", sort=False)
    elif shuffle == "rows" and dated:
        df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    else:
        df = df.sort_values(["region", "group", "week"], kind="stable").reset_index(drop=True)
    if not dated:
        df = df.drop(columns="week")
    return df


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 14), min_size=1, max_size=7),
    seed=st.integers(0, 2**31 - 1),
    shuffle=st.sampled_from(["none", "series", "rows"]),
    dated=st.booleans(),
    chunk_series=st.integers(1, 4),
)
def test_load_counts__in_memory_equals_sorted_file(lengths, seed, shuffle, dated, chunk_series):
    df = _frame(lengths, seed, shuffle, dated)
    opts = {"by": ["region", "group"], "date_col": "week" if dated else None}
    with tempfile.TemporaryDirectory(prefix="ph_speed_presorted_") as tmp:
        path = Path(tmp) / "counts.parquet"
        df.to_parquet(path, index=False)
        want = load_counts(str(path), **opts)
        want_ears = surveil(str(path), method="ears-c1", baseline=3, scheduler="synchronous", **opts)
    for data in (df, pa.Table.from_pandas(df, preserve_index=False)):
        pd.testing.assert_frame_equal(load_counts(data, **opts), want)
        got = surveil(data, method="ears-c1", baseline=3, chunk_series=chunk_series, scheduler="synchronous", **opts)
        pd.testing.assert_frame_equal(got, want_ears)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 3)), min_size=0, max_size=12))
def test_in_series_order__as_sorted_tuples(rows):
    table = pa.table({"k": [r[0] for r in rows], "t": pa.array([r[1] for r in rows], type=pa.int64())})
    assert _in_series_order(table, ["k"], "t", "index") == (rows == sorted(rows))
    keys_only = [r[0] for r in rows]
    assert _in_series_order(table, ["k"], None, "index") == (keys_only == sorted(keys_only))


def test_in_series_order__missing_keys_take_the_sort():
    table = pa.table({"k": ["a", None, None]})
    assert not _in_series_order(table, ["k"], None, "index")  # DuckDB decides where nulls go


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.sampled_from([1.0, 2.0, float("nan"), None]), min_size=1, max_size=15))
def test_series_starts__as_factorize_with_one_missing_code(values):
    table = pa.table({"x": pa.array(values, type=pa.float64(), from_pandas=False)})
    codes, _ = pd.factorize(table.column("x").to_pandas(), use_na_sentinel=False)
    want = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    np.testing.assert_array_equal(_series_starts(table, ["x"]), want)


def test_in_series_order__categoricals_take_the_sort():
    # DuckDB orders a categorical (ENUM) by its categories, not by the labels' bytes
    df = pd.DataFrame({"k": pd.Categorical(["a", "b"], categories=["b", "a"]), "count": [1, 2]})
    assert not _in_series_order(df, ["k"], None, "index")
    got = load_counts(df, by=["k"])
    assert got["k"].astype(str).tolist() == ["b", "a"]  # DuckDB's ENUM order, as before the shortcut


@settings(max_examples=25, deadline=None)
@given(
    steps=st.lists(st.lists(st.integers(1, 3), min_size=1, max_size=9), min_size=1, max_size=5),
    seed=st.integers(0, 2**31 - 1),
    weekly=st.booleans(),
    chunk_series=st.integers(1, 3),
)
def test_series_matrix__gaps_and_dates_as_pivot(steps, seed, weekly, chunk_series):
    """A presorted Arrow table with date32 dates and gaps (direct table + one-pass layout) gives the
    counts a pandas pivot of the same rows gives, with zeros in the gaps (``fill_gaps``)."""
    rng = np.random.default_rng(seed)
    unit = 7 if weekly else 1
    rows = []
    for s, gaps in enumerate(steps):
        day = np.datetime64("2024-01-01") + np.timedelta64(unit * s, "D")
        for g in gaps:
            rows.append((f"r{s}", day, int(rng.poisson(4))))
            day = day + np.timedelta64(unit * g, "D")
    df = pd.DataFrame(rows, columns=["region", "date", "count"])
    table = pa.table(
        {
            "region": df["region"].tolist(),
            "date": pa.array(df["date"].to_numpy().astype("datetime64[D]"), type=pa.date32()),
            "count": pa.array(df["count"].to_numpy(), type=pa.int64()),
        }
    )
    got = load_counts(table, by=["region"], fill_gaps=True, freq="week" if weekly else "day")
    full = []
    for region, sub in df.groupby("region", sort=True):
        grid = pd.date_range(sub["date"].min(), sub["date"].max(), freq=f"{unit}D")
        filled = sub.set_index("date")["count"].reindex(grid, fill_value=0)
        full += list(zip([region] * len(grid), grid.date, filled.tolist(), strict=True))
    assert list(zip(got["region"], got["date"], got["count"], strict=True)) == full
    if any(g > 1 for gaps in steps for g in gaps[:-1]):
        with tempfile.TemporaryDirectory(prefix="ph_gap_") as tmp:
            path = Path(tmp) / "counts.parquet"
            pq.write_table(table, path)
            messages = []
            for data in (table, str(path)):  # the one-pass layout and DuckDB's sorted stream
                with pytest.raises(InputError, match="--fill-gaps") as info:
                    load_counts(data, by=["region"], freq="week" if weekly else "day")
                messages.append(str(info.value).split(": ", 1)[-1])
            assert messages[0] == messages[1]
    ears = surveil(table, method="ears-c1", baseline=3, fill_gaps=True, chunk_series=chunk_series, by=["region"])
    want = surveil(df, method="ears-c1", baseline=3, fill_gaps=True, scheduler="synchronous", by=["region"])
    pd.testing.assert_frame_equal(ears, want)
