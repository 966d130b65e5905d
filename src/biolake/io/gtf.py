"""Gene annotations from GTF (GTF2.2) and GFF3 files of Ensembl and GENCODE, streamed.

:func:`read_genes` reads a ``.gtf``/``.gff3``/``.gff`` file (``.gz`` too, read as a stream,
never all in memory) and returns one row per gene:

==========  ===============================================================================
column      from
==========  ===============================================================================
gene_id     GTF ``gene_id``; GFF3 ``gene_id``, else ``ID`` without an ``gene:`` prefix
gene_name   GTF ``gene_name``; GFF3 ``gene_name``, else ``Name``; empty if absent
chrom       column 1 (seqid)
start, end  columns 4 and 5: 1-based, inclusive (as in the file)
strand      column 7: ``+``, ``-`` or ``.``
biotype     ``gene_type`` (GENCODE) or ``gene_biotype`` / ``biotype`` (Ensembl); empty if absent
==========  ===============================================================================

Genes are the records whose feature (column 3) is ``gene`` (and Ensembl GFF3's
``ncRNA_gene`` and ``pseudogene``). A file without gene records (only transcripts/exons)
still gives genes: each ``gene_id``'s span of all its records. Rows come in file order.

Malformed lines — not 9 tab-separated fields, a start or end that is not a positive integer,
start > end, a strand other than ``+ - .``, a gene record whose attribute column cannot be
parsed or has no gene id — raise :class:`~biolake.errors.InputError` naming the file and the
line. (Once gene records have been seen, the attributes of other records are not parsed: a
whole GENCODE file reads in seconds.)

Examples
--------
>>> genes = read_genes("gencode.v44.basic.annotation.gtf.gz")   # doctest: +SKIP
>>> genes.columns.tolist()                                      # doctest: +SKIP
['gene_id', 'gene_name', 'chrom', 'start', 'end', 'strand', 'biotype']
"""

from __future__ import annotations

import gzip
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pandas as pd

from biolake.errors import InputError

__all__ = ["GENE_COLUMNS", "read_genes"]

GENE_COLUMNS = ["gene_id", "gene_name", "chrom", "start", "end", "strand", "biotype"]
_GENE_FEATURES = frozenset({"gene", "ncRNA_gene", "pseudogene"})
_GTF_ATTR = re.compile(r'\s*([A-Za-z_][\w.\-]*)\s+(?:"([^"]*)"|([^;"\s]+))\s*(?:;|$)')
_NAME_KEYS = ("gene_name", "Name", "gene")
_BIOTYPE_KEYS = ("gene_type", "gene_biotype", "biotype")


def _open_text(path: Path) -> IO[str]:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


def _parse_gtf_attributes(text: str) -> dict[str, str] | None:
    out: dict[str, str] = {}
    pos, n = 0, len(text)
    while pos < n:
        if text[pos:].strip() == "":
            break
        m = _GTF_ATTR.match(text, pos)
        if m is None or m.end() == pos:
            return None
        key = m.group(1)
        if key not in out:  # the first value of a repeated key (e.g. GENCODE's tag)
            out[key] = m.group(2) if m.group(2) is not None else m.group(3)
        pos = m.end()
    return out


def _parse_gff3_attributes(text: str) -> dict[str, str] | None:
    from urllib.parse import unquote

    out: dict[str, str] = {}
    for item in text.strip().split(";"):
        if not item.strip():
            continue
        if "=" not in item:
            return None
        key, _, value = item.partition("=")
        out[key.strip()] = unquote(value.split(",")[0])
    return out


def _records(handle: IO[str], file: str, gff3: bool | None) -> Iterator[tuple[int, list[str], bool]]:
    """Validated records: (line number, the 9 fields, whether the attributes are GFF3)."""
    for lineno, raw in enumerate(handle, start=1):
        line = raw.rstrip("\r\n")
        if not line:
            continue
        if line[0] == "#":
            if gff3 is None and line.startswith("##gff-version 3"):
                gff3 = True
            if line.startswith("##FASTA"):
                return
            continue
        fields = line.split("\t")
        if len(fields) != 9:
            raise InputError(f"expected 9 tab-separated fields, found {len(fields)}", file=file, line=lineno)
        start, end = fields[3], fields[4]
        if not (start.isdigit() and end.isdigit() and int(start) >= 1 and int(end) >= 1):
            bad, name = (start, "start") if not (start.isdigit() and int(start) >= 1) else (end, "end")
            raise InputError(f"{name} {bad!r} is not a positive integer", file=file, line=lineno)
        if int(start) > int(end):
            raise InputError(f"start {start} is after end {end}", file=file, line=lineno)
        if fields[6] not in ("+", "-", "."):
            raise InputError(f"strand {fields[6]!r} is not +, - or .", file=file, line=lineno)
        if gff3 is None:  # no header: GTF attributes have a space before the value, GFF3 an '='
            first = fields[8].split(";")[0]
            gff3 = "=" in first and '"' not in first
        yield lineno, fields, gff3


def _attributes(fields: list[str], gff3: bool, file: str, lineno: int) -> dict[str, str]:
    attrs = _parse_gff3_attributes(fields[8]) if gff3 else _parse_gtf_attributes(fields[8])
    if attrs is None:
        kind = "GFF3 (key=value;…)" if gff3 else 'GTF (key "value";…)'
        raise InputError(f"cannot parse the attributes as {kind}: {fields[8][:60]!r}", file=file, line=lineno)
    return attrs


def _gene_id(attrs: dict[str, str], feature: str) -> str | None:
    if "gene_id" in attrs:
        return attrs["gene_id"]
    if feature in _GENE_FEATURES and "ID" in attrs:
        ident = attrs["ID"]
        return ident[5:] if ident.startswith("gene:") else ident
    if "Parent" in attrs and attrs["Parent"].startswith("gene:"):
        return attrs["Parent"][5:]
    return None


def _first(attrs: dict[str, str], keys: tuple[str, ...]) -> str:
    return next((attrs[k] for k in keys if k in attrs), "")


def read_genes(path: str | os.PathLike[str], *, format: str | None = None) -> pd.DataFrame:
    """Genes of a GTF or GFF3 annotation (``.gz`` too), one row per gene (see the module docstring).

    Parameters
    ----------
    path
        The annotation file.
    format
        ``"gtf"`` or ``"gff3"``; default: ``gff3`` for ``.gff3``/``.gff`` names or a
        ``##gff-version 3`` header, else detected from the first record's attributes.

    Raises
    ------
    InputError
        No such file; a malformed line (file and line named); no genes at all.
    """
    from biolake.io._formats import data_suffix

    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", file=path)
    if format is not None and format not in ("gtf", "gff3"):
        raise InputError(f"The 'format' parameter of read_genes must be 'gtf' or 'gff3'; got {format!r}")
    gff3: bool | None = {"gtf": False, "gff3": True}.get(format or "")
    if gff3 is None and data_suffix(p) in (".gff3", ".gff"):
        gff3 = True
    if gff3 is None and data_suffix(p) == ".gtf":
        gff3 = False
    genes: dict[str, list[object]] = {}
    spans: dict[str, list[object]] = {}
    try:
        with _open_text(p) as handle:
            for lineno, fields, is_gff3 in _records(handle, str(path), gff3):
                feature = fields[2]
                if feature not in _GENE_FEATURES and genes:
                    continue  # gene records exist: other records only need to be well-formed
                attrs = _attributes(fields, is_gff3, str(path), lineno)
                gid = _gene_id(attrs, feature)
                start, end = int(fields[3]), int(fields[4])
                if feature in _GENE_FEATURES:
                    if not gid:
                        raise InputError("gene record without gene_id or ID", file=str(path), line=lineno)
                    if gid not in genes:
                        name, biotype = _first(attrs, _NAME_KEYS), _first(attrs, _BIOTYPE_KEYS)
                        genes[gid] = [gid, name, fields[0], start, end, fields[6], biotype]
                elif gid:
                    span = spans.get(gid)
                    if span is None:
                        name, biotype = _first(attrs, _NAME_KEYS), _first(attrs, _BIOTYPE_KEYS)
                        spans[gid] = [gid, name, fields[0], start, end, fields[6], biotype]
                    else:
                        span[3], span[4] = min(int(span[3]), start), max(int(span[4]), end)  # type: ignore[call-overload]
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"cannot read the annotation: {exc}", file=str(path)) from None
    rows = list(genes.values()) or list(spans.values())
    if not rows:
        raise InputError("no gene records (feature 'gene' or records with a gene_id)", file=str(path))
    df = pd.DataFrame(rows, columns=GENE_COLUMNS)
    df["start"] = df["start"].astype("int64")
    df["end"] = df["end"].astype("int64")
    return df
