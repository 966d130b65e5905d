"""Run the benchmarks: ``python -m benchmarks [NAME ...] [-- OPTIONS]``.

Every module ``benchmarks/<name>.py`` (not ``_``-prefixed) that defines
``main(argv: list[str] | None = None) -> int`` is a benchmark. Without names all of them
run; with names only those. Options after the names (the first argument starting with
``-``, or everything after ``--``) are passed to each selected benchmark, e.g.
``python -m benchmarks ingest_table --quick``. The exit status is non-zero when any
benchmark returns non-zero or raises.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

_PACKAGE = "benchmarks"
_HERE = Path(__file__).resolve().parent


def discover() -> dict[str, Callable[[list[str] | None], int]]:
    """Benchmark name → its ``main``, for every module of the package that defines one."""
    found: dict[str, Callable[[list[str] | None], int]] = {}
    for info in sorted(pkgutil.iter_modules([str(_HERE)]), key=lambda m: m.name):
        if info.name.startswith("_") or info.ispkg:
            continue
        module = importlib.import_module(f"{_PACKAGE}.{info.name}")
        main = getattr(module, "main", None)
        if callable(main):
            found[info.name] = main
    return found


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    names: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            return names, argv[i + 1 :]
        if arg.startswith("-"):
            return names, argv[i:]
        names.append(arg)
    return names, []


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print("\nbenchmarks:", ", ".join(discover()) or "(none)")
        return 0
    if argv and argv[0] == "--list":
        print("\n".join(discover()))
        return 0
    names, rest = _split(argv)
    available = discover()
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"error: unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    selected = names or list(available)
    failed: list[str] = []
    for name in selected:
        print(f"== benchmark {name} {' '.join(rest)}".rstrip(), flush=True)
        start = time.perf_counter()
        try:
            status = available[name](rest)
        except SystemExit as exc:  # argparse errors and explicit exits
            status = exc.code if isinstance(exc.code, int) else 1
        except Exception:
            traceback.print_exc()
            status = 1
        took = time.perf_counter() - start
        print(f"== {name}: {'ok' if status == 0 else f'FAILED (status {status})'} in {took:.1f} s", flush=True)
        if status != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
