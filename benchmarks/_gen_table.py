"""Write a deterministic CSV table of a given size, fast (pyarrow's CSV writer, in blocks).

``python -m benchmarks._gen_table OUT.csv --bytes N [--seed S]`` writes at least ``N`` bytes
(it stops after the block that crosses ``N``; the last block is cut to about the rows
needed) and prints a JSON line ``{"path", "rows", "bytes", "seed", "version"}``, also
written beside the file as ``OUT.csv.json``. The same arguments always give the same bytes.

Columns: ``id`` (string ``S00000000042``), ``site`` (one of 24 names, skewed),
``age`` (int 18–95), ``value`` (float, 3 decimals, 1 % empty), ``date`` (YYYY-MM-DD
2000–2024) and ``flag`` (``true``/``false``).

It runs in its own process so that the benchmark process stays small: on Linux a child's
``ru_maxrss`` starts from the RSS of the process that spawned it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

VERSION = 1
COLUMNS = ("id", "site", "age", "value", "date", "flag")
BLOCK_ROWS = 1_000_000
N_SITES = 24
_EPOCH_2000 = 10_957  # days from 1970-01-01 to 2000-01-01


def block(index: int, start_row: int, n: int, seed: int) -> pa.Table:
    """Rows ``start_row … start_row + n - 1`` of the table (block ``index`` of the stream)."""
    import numpy as np  # imported here: the benchmark imports VERSION and must stay small
    import pyarrow as pa
    import pyarrow.compute as pc

    sites = pa.array([f"site_{i:02d}" for i in range(1, N_SITES + 1)])
    weights = 1.0 / np.arange(1, N_SITES + 1)
    rng = np.random.default_rng([seed, index])
    ids = pc.binary_join_element_wise(
        "S", pc.utf8_lpad(pc.cast(pa.array(np.arange(start_row, start_row + n)), pa.string()), 11, "0"), ""
    )
    site = sites.take(pa.array(rng.choice(N_SITES, size=n, p=weights / weights.sum())))
    age = pa.array(rng.integers(18, 96, size=n, dtype=np.int64))
    raw = np.round(rng.normal(50.0, 15.0, size=n), 3)
    value = pa.array(raw, mask=rng.random(n) < 0.01)
    date = pa.array((_EPOCH_2000 + rng.integers(0, 9132, size=n)).astype(np.int32)).cast(pa.date32())
    flag = pa.array(rng.random(n) < 0.3)
    return pa.table([ids, site, age, value, date, flag], names=list(COLUMNS))


def generate(path: Path, target_bytes: int, seed: int = 20261127) -> dict:
    """Write the CSV (atomically) and its ``.json`` facts; return the facts."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    options = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=65_536)
    rows = 0
    index = 0
    with open(tmp, "wb") as fh:
        fh.write((",".join(COLUMNS) + "\n").encode())
        written = fh.tell()
        bytes_per_row = 48.0  # a first guess; measured after each block
        while written < target_bytes:
            n = min(BLOCK_ROWS, max(1, math.ceil((target_bytes - written) / bytes_per_row)))
            sink = pa.BufferOutputStream()
            pacsv.write_csv(block(index, rows, n, seed), sink, options)
            buf = sink.getvalue()
            fh.write(buf)
            written += buf.size
            bytes_per_row = buf.size / n
            rows += n
            index += 1
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    facts = {"path": str(path), "rows": rows, "bytes": path.stat().st_size, "seed": seed, "version": VERSION}
    Path(str(path) + ".json").write_text(json.dumps(facts) + "\n")
    return facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._gen_table", description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--bytes", type=int, required=True, help="at least this many bytes")
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args(argv)
    print(json.dumps(generate(args.out, args.bytes, args.seed)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
