"""File formats by extension: the one rule every reader uses."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from biolake.errors import InputError

__all__ = ["data_suffix", "format_by_suffix"]

T = TypeVar("T")
_COMPRESSION = (".gz", ".gzip")


def data_suffix(path: str | os.PathLike[str]) -> str:
    """The lower-case extension that names a file's format, ignoring a ``.gz`` after it.

    >>> data_suffix("counts.TSV.gz")
    '.tsv'
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def format_by_suffix(path: str | os.PathLike[str], formats: Mapping[str, T], *, what: str, expected: str) -> T:
    """``formats[data_suffix(path)]``; an unknown extension is an InputError naming ``expected``."""
    suffix = data_suffix(path)
    if suffix not in formats:
        raise InputError(f"unknown {what} format {suffix or '(no extension)'!r}: use {expected}", file=path)
    return formats[suffix]
