"""The peers of ``biolake ingest table``: CSV → Parquet with pandas or pyarrow, the usual way.

``python -m benchmarks._peer_table {pandas,pyarrow} IN.csv OUT.parquet`` reads the whole
CSV into memory and writes one Parquet file (zstd, like biolake), then prints a JSON
line ``{"rows": N}``.

- pandas: ``pd.read_csv(IN)`` (default C parser and dtypes) → ``DataFrame.to_parquet``.
- pyarrow: ``pyarrow.csv.read_csv(IN)`` (multithreaded) → ``pyarrow.parquet.write_table``.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 3 or argv[0] not in ("pandas", "pyarrow"):
        print("usage: python -m benchmarks._peer_table {pandas,pyarrow} IN.csv OUT.parquet", file=sys.stderr)
        return 2
    tool, src, dst = argv
    if tool == "pandas":
        import pandas as pd

        df = pd.read_csv(src)
        df.to_parquet(dst, engine="pyarrow", compression="zstd", index=False)
        rows = len(df)
    else:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        table = pacsv.read_csv(src)
        pq.write_table(table, dst, compression="zstd")
        rows = table.num_rows
    print(json.dumps({"rows": rows}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
