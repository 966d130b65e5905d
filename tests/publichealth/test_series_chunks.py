"""``iter_series_chunks``: whole series per chunk, whatever the reader's batch size.

Series may span many reader batches (the starts of the rows already pending are kept and
only the new batch's are computed); the chunks must still hold whole series, at most
``chunk_series`` of them, and together be the whole table in series order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from biolake.publichealth.counts import iter_series_chunks, open_counts


def _frame(lengths: list[int], with_null: bool) -> pd.DataFrame:
    rows = []
    for s, n in enumerate(lengths):
        region = None if (with_null and s == 0) else f"r{s:02d}"
        for t in range(n):
            rows.append({"region": region, "week": t + 1, "count": (s * 7 + t) % 5})
    return pd.DataFrame(rows)


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=9),
    batch_rows=st.integers(1, 20),
    chunk_series=st.integers(1, 4),
    with_null=st.booleans(),
)
def test_iter_series_chunks__whole_series_any_batch_size(lengths, batch_rows, chunk_series, with_null):
    df = _frame(lengths, with_null)
    source = open_counts(df, by=["region"], date_col="week", freq="index")
    chunks = list(iter_series_chunks(source, chunk_series=chunk_series, batch_rows=batch_rows))
    seen: list[tuple] = []
    total = 0
    for chunk in chunks:
        keys = chunk.column("region").to_pylist()
        series = [k for i, k in enumerate(keys) if i == 0 or keys[i - 1] != k]
        assert len(series) <= chunk_series
        seen.extend(series)
        total += chunk.num_rows
    assert total == len(df)
    assert len(seen) == len(lengths)  # no series split across chunks or repeated
    assert len(set(seen)) == len(seen)
    expected = sorted(df.groupby("region", dropna=False).size().to_dict().items(), key=lambda kv: str(kv[0]))
    got = {k: 0 for k in seen}
    for chunk in chunks:
        for k, n in zip(
            *np.unique(np.array(chunk.column("region").to_pylist(), dtype=object).astype(str), return_counts=True),
            strict=True,
        ):
            got[None if k == "None" else k] = got.get(None if k == "None" else k, 0) + int(n)
    assert sorted(((k, v) for k, v in got.items() if v), key=lambda kv: str(kv[0])) == [
        (k if isinstance(k, str) else None, v) for k, v in expected
    ]
