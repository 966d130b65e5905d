"""One streaming pass over a VCF that keeps only the PGx positions, genotypes coded compactly.

Every record at a position of interest becomes a :class:`Record`: its REF/ALT/FILTER and, per selected
sample, a small integer code into the record's list of distinct genotype tokens ``(GT, PS, AD-says-hom)``.
Memory is therefore about 2 bytes per sample per PGx position (≈ 2.4 kB per sample for the ~1,200
positions), whatever the VCF's size; all other records are skipped after reading CHROM and POS. With
``spill_above`` the codes of a VCF with more samples than that go to an anonymous temporary file instead
(record-major) and are read back a block of samples at a time (:meth:`VcfData.codes`), so memory does not
grow with the number of samples at all.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from biolake.errors import InputError

__all__ = ["Record", "VcfData", "read_pgx_vcf"]


@dataclass
class Record:
    chrom: str
    pos: int
    ref: str
    alts: tuple[str, ...]
    filters: frozenset[str]
    line: int
    tokens: list[tuple[str | None, str | None, bool]]  # distinct (GT, PS, AD indicates homozygous)
    codes: np.ndarray  # uint16/uint32 per selected sample → index into tokens (empty when spilled)
    decoded: dict = field(default_factory=dict)  # token index → (SampleAllele | None, warning), filled lazily
    offset: int = -1  # byte offset of the codes in the VcfData's code store when spilled, else -1


class _CodeStore:
    """Records' sample codes in an anonymous temporary file, one record after the other; read back by slices."""

    def __init__(self) -> None:
        self.fh = tempfile.TemporaryFile()  # noqa: SIM115 (closed by VcfData.close)
        self.size = 0
        self.flushed = True

    def put(self, codes: np.ndarray) -> int:
        offset = self.size
        self.fh.write(codes.tobytes())
        self.size += codes.nbytes
        self.flushed = False
        return offset

    def get(self, offset: int, dtype: np.dtype, start: int, stop: int) -> np.ndarray:
        if not self.flushed:
            self.fh.flush()
            self.flushed = True
        item = dtype.itemsize
        buf = os.pread(self.fh.fileno(), (stop - start) * item, offset + start * item)
        return np.frombuffer(buf, dtype=dtype)


@dataclass
class VcfData:
    path: str
    samples: list[str]
    records: dict[str, list[Record]] = field(default_factory=dict)  # "chrN:pos" → records in file order
    warnings: list[str] = field(default_factory=list)
    store: _CodeStore | None = None  # where spilled records' codes are (see read_pgx_vcf's spill_above)

    def codes(self, record: Record, start: int, stop: int) -> np.ndarray:
        """The codes of samples ``start:stop`` (selection order) at ``record``."""
        if record.offset < 0:
            return record.codes[start:stop]
        assert self.store is not None
        return self.store.get(record.offset, record.codes.dtype, start, stop)

    def close(self) -> None:
        """Remove the temporary code file (if any)."""
        if self.store is not None:
            self.store.fh.close()
            self.store = None


def normalize_chrom(chrom: str) -> str:
    """``1`` → ``chr1``, ``X`` → ``chrX``, ``MT``/``M`` → ``chrM``; ``chr…`` unchanged."""
    if chrom.startswith("chr"):
        return chrom
    if chrom in ("MT", "M"):
        return "chrM"
    return "chr" + chrom


def _open(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="\n")
    return open(path, encoding="utf-8", errors="replace", newline="\n")


def read_pgx_vcf(
    vcf: str | Path, wanted: set[str], *, samples: Sequence[str] | None = None, spill_above: int | None = None
) -> VcfData:
    """Read the records at ``wanted`` positions ("chrN:pos") for the selected ``samples`` (default all).

    With more than ``spill_above`` selected samples the codes go to a temporary file (read them with
    :meth:`VcfData.codes`; :meth:`VcfData.close` removes the file).
    """
    path = Path(vcf)
    if not path.is_file():
        raise InputError("no such VCF file", file=path)
    data: VcfData | None = None
    sel: np.ndarray | None = None
    n_cols = 0
    ad_number: str | None = None
    try:
        with _open(path) as fh:
            for lineno, line in enumerate(fh, start=1):
                if line.startswith("##"):
                    if line.startswith("##FORMAT=<ID=AD,"):
                        ad_number = line.split("Number=", 1)[1].split(",", 1)[0] if "Number=" in line else None
                    continue
                if line.startswith("#"):
                    cols = line.rstrip("\r\n").split("\t")
                    if len(cols) < 10 or cols[0] != "#CHROM":
                        raise InputError(
                            "header line must be #CHROM … FORMAT SAMPLE… with ≥ 1 sample", file=path, line=lineno
                        )
                    names = cols[9:]
                    if samples is None:
                        idx = list(range(len(names)))
                    else:
                        pos_of = {n: i for i, n in enumerate(names)}
                        missing = [s for s in samples if s not in pos_of]
                        if missing:
                            raise InputError(
                                f"sample(s) not in the VCF: {', '.join(missing[:5])}", file=path, line=lineno
                            )
                        idx = [pos_of[s] for s in samples]
                    sel = None if idx == list(range(len(names))) else np.asarray(idx, dtype=np.int64)
                    data = VcfData(str(path), [names[i] for i in idx])
                    if spill_above is not None and len(idx) > spill_above:
                        data.store = _CodeStore()
                    n_cols = len(cols)
                    continue
                if not line.strip():
                    continue
                if data is None:
                    raise InputError("data line before the #CHROM header line", file=path, line=lineno)
                head = line.split("\t", 2)
                if len(head) < 3:
                    raise InputError(
                        f"expected {n_cols} tab-separated fields, found {len(head)}", file=path, line=lineno
                    )
                chrom = normalize_chrom(head[0])
                key = f"{chrom}:{head[1]}"
                if key not in wanted:
                    if not head[1].isdigit():
                        raise InputError(f"POS must be a positive integer; got {head[1]!r}", file=path, line=lineno)
                    continue
                fields = line.rstrip("\r\n").split("\t")
                if len(fields) != n_cols:
                    raise InputError(
                        f"expected {n_cols} tab-separated fields, found {len(fields)}", file=path, line=lineno
                    )
                rec = _record(path, lineno, chrom, fields, sel, ad_number in (None, "R"))
                del fields
                if data.store is not None:
                    rec.offset = data.store.put(rec.codes)
                    rec.codes = rec.codes[:0].copy()
                data.records.setdefault(key, []).append(rec)
    except BaseException:
        if data is not None:
            data.close()
        raise
    if data is None:
        raise InputError("no #CHROM header line (is this a VCF?)", file=path)
    if ad_number not in (None, "R", "."):
        data.warnings.append(
            f"INFO header for AD has unexpected number ({ad_number}). Expecting 'R'. "
            "Treating number as '.' and ignoring AD field."
        )
    return data


def _record(path: Path, lineno: int, chrom: str, fields: list[str], sel, use_ad: bool) -> Record:
    ref = fields[3].upper()
    alts = tuple(a.upper() for a in fields[4].split(",")) if fields[4] not in (".", "") else ()
    filters = frozenset(fields[6].split(";"))
    fmt = fields[8].split(":")
    if "GT" not in fmt:
        gi = None
    else:
        gi = fmt.index("GT")
    psi = fmt.index("PS") if "PS" in fmt else None
    adi = fmt.index("AD") if ("AD" in fmt and use_ad) else None
    sample_fields = fields[9:]
    if sel is not None:
        sample_fields = [sample_fields[i] for i in sel]
    index: dict = {}
    if fmt == ["GT"]:
        raw = [index.setdefault(f, len(index)) for f in sample_fields]
        tokens = [(f if f not in ("", ".") else None, None, False) for f in index]
    else:
        raw = []
        for f in sample_fields:
            sub = f.split(":")
            gt = sub[gi] if gi is not None and gi < len(sub) else None
            ps = sub[psi] if psi is not None and psi < len(sub) else None
            adhom = False
            if adi is not None and adi < len(sub) and gt and sub[adi] not in (".", ""):
                adhom = _ad_says_hom(gt, sub[adi])
            raw.append(index.setdefault((gt, ps, adhom), len(index)))
        tokens = [(g if g not in ("", ".") else None, p, a) for g, p, a in index]
    dtype = np.uint16 if len(index) < 65536 else np.uint32
    try:
        pos = int(fields[1])
    except ValueError:
        raise InputError(f"POS must be a positive integer; got {fields[1]!r}", file=path, line=lineno) from None
    return Record(chrom, pos, ref, alts, filters, lineno, tokens, np.asarray(raw, dtype=dtype))


def _ad_says_hom(gt: str, ad: str) -> bool:
    """PharmCAT discards a call whose GT is heterozygous while AD has exactly one allele with depth > 0."""
    calls = {g for g in gt.replace("|", "/").split("/") if g != "."}
    if len(calls) < 2:
        return False
    try:
        depths = [int(d) for d in ad.split(",") if d != "."]
    except ValueError:
        return False
    return sum(d > 0 for d in depths) == 1
