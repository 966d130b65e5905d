"""A minimal DICOM header reader for the image scan: a few attributes of a Part 10 file, fast.

:func:`read_dicom_header` reads only the start of a file (16 KiB, more only when the
header is longer): the preamble, ``DICM``, the group 0002 file meta information; then a
compiled walk (numba, :func:`_walk_elements`) goes over the data set's elements —
explicit VR little endian, implicit VR little endian or explicit VR big endian (any other
transfer syntax but the deflated ones is explicit VR little endian until the pixel data,
as pydicom reads it) — recording where the attributes asked for are and skipping every
other value by its length (sequences and items of defined or undefined length, with their
delimiters, nested). It stops at the first element past the last tag asked for, so pixel
data, overlays and the private groups after group 0028 are never read.

It returns ``None`` — "read this file with pydicom" — for anything it does not handle
exactly as pydicom would: no ``DICM`` marker (raw data sets, non-DICOM files), a
deflated transfer syntax, a file meta group without a transfer syntax, a truncated or
malformed element, an explicit VR pydicom would have to guess, an attribute asked for
with VR SQ/OB/… or an ambiguous dictionary VR (``US or SS``), text that is not plain
ASCII (the specific character set would matter). The caller then falls back to
``pydicom.dcmread``, so corrupt files are reported as before.

Values are converted on first access, as ``pydicom.dcmread(path).get(keyword)`` gives
them but as plain Python: ``DS`` → float, ``IS`` and binary integers → int, text → str
(padding stripped as pydicom strips it for that VR), a list for several values; ``None``
for an empty numeric value and ``''`` for an empty text value. A ``DS``/``IS`` string
that is not a number is taken from pydicom (which keeps it as a string, with a warning).
Tested field by field against pydicom on every file pydicom ships.
"""

from __future__ import annotations

import os
import struct
from array import array
from functools import lru_cache
from typing import Any

import numba
import numpy as np

__all__ = ["DicomHeader", "header_spec", "read_dicom_header"]

_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQ_END = 0xFFFEE0DD
_PIXEL_DATA = 0x7FE00010
_FIRST_READ = 16384

_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_BE = "1.2.840.10008.1.2.2"
_DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1")  # deflated explicit VR LE; deflated image frames

# explicit VRs with a 2-byte reserved field and a 4-byte length (PS3.5 7.1.2)
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"})
_SINGLE_VALUED = frozenset({"LT", "ST", "UT", "UR"})  # backslash is not a delimiter in these
_BINARY = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d", "UV": "Q", "SV": "q"}
_SIZES = {vr: struct.calcsize(code) for vr, code in _BINARY.items()}


class _Fallback(Exception):
    """The file needs pydicom."""


class _Short(Exception):
    """The bytes read so far end inside the header."""


class DicomHeader:
    """Attribute keyword → value, readable like a header-only :class:`pydicom.Dataset`.

    Supports ``keyword in hdr``, ``hdr[keyword]``, ``hdr.get(keyword, default)`` and
    ``hdr.Keyword`` for the attributes that were read (present in the file, even with an
    empty value). Values are converted on first access (most of a series' headers are
    only asked for a few attributes); a value biolake would convert differently from
    pydicom (an ill-formed ``DS``/``IS`` string) is taken from pydicom, as pydicom gives it.
    """

    __slots__ = ("_buf", "_end", "_found", "_path", "_pydicom", "_spec", "_values")

    def __init__(self, path: str | os.PathLike[str], values: bytes, found: array, spec: _Spec, end: str) -> None:
        self._path = path
        self._buf = values
        # per attribute of the spec: start, length, VR letter, VR letter (start -1 if absent); an array.array,
        # not lists: thousands of headers held by a scan would otherwise be work for the garbage collector
        self._found = found
        self._spec = spec
        self._end = end
        self._values: dict[str, Any] = {}
        self._pydicom: Any = None

    def __contains__(self, keyword: object) -> bool:
        i = self._spec.index.get(keyword)  # type: ignore[call-overload]
        return i is not None and self._found[4 * i] >= 0

    def __getitem__(self, keyword: str) -> Any:
        try:
            return self._values[keyword]
        except KeyError:
            pass
        if keyword not in self:
            raise KeyError(keyword)
        i = 4 * self._spec.index[keyword]
        start, length, v0, v1 = self._found[i : i + 4]
        try:
            out = _convert(self._buf[start : start + length], chr(v0) + chr(v1), self._end)
        except _Fallback:
            out = self._from_pydicom(keyword)
        self._values[keyword] = out
        return out

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"DicomHeader({self.to_dict()!r})"

    def get(self, keyword: str, default: Any = None) -> Any:
        """The value of ``keyword``, or ``default`` when the file does not have the attribute."""
        if keyword not in self:
            return default
        return self[keyword]

    def keys(self) -> list[str]:
        """Keywords of the attributes read, in tag order."""
        return [k for k in self._spec.index if k in self]

    def to_dict(self) -> dict[str, Any]:
        """Every attribute read, converted."""
        return {k: self[k] for k in self.keys()}

    def _from_pydicom(self, keyword: str) -> Any:
        import pydicom
        from pydicom.multival import MultiValue

        if self._pydicom is None:
            self._pydicom = pydicom.dcmread(self._path, stop_before_pixels=True, force=True)
        value = self._pydicom.get(keyword)
        return list(value) if isinstance(value, MultiValue) else value


class _Spec:
    """Tags to read: tag → (keyword, dictionary VR); the tags sorted (the walk stops past the last)."""

    __slots__ = ("dict_vr", "index", "order", "tags")

    def __init__(self, tags: dict[int, tuple[str, str]]) -> None:
        self.tags = tags
        self.order = np.array(sorted(tags), np.int64)
        self.index = {tags[t][0]: i for i, t in enumerate(sorted(tags))}
        # the dictionary VR's two letters (0, 0 when ambiguous, e.g. "US or SS")
        self.dict_vr = np.array(
            [(ord(v[0]), ord(v[1])) if len(v) == 2 else (0, 0) for v in (tags[t][1] for t in sorted(tags))], np.int64
        ).reshape(-1, 2)


@lru_cache(maxsize=16)
def header_spec(keywords: tuple[str, ...]) -> _Spec:
    """The reading plan for these attribute keywords (sequences are not read; ask pydicom for them).

    Parameters
    ----------
    keywords
        DICOM attribute keywords (``"Rows"``, ``"ImagePositionPatient"`` …).

    Returns
    -------
    _Spec
        Opaque; pass it to :func:`read_dicom_header`.
    """
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    tags: dict[int, tuple[str, str]] = {}
    for keyword in keywords:
        tag = tag_for_keyword(keyword)
        if tag is None:
            raise ValueError(f"unknown DICOM keyword {keyword!r}")
        vr = dictionary_VR(tag)
        if vr == "SQ":
            raise ValueError(f"{keyword} is a sequence; the fast header reader does not read sequences")
        if tag >= _PIXEL_DATA:
            raise ValueError(f"{keyword} is not before the pixel data")
        tags[int(tag)] = (keyword, vr)
    tags[0x00080005] = ("SpecificCharacterSet", "CS")
    return _Spec(tags)


def read_dicom_header(path: str | os.PathLike[str], spec: _Spec) -> DicomHeader | None:
    """Read the attributes of ``spec`` from a DICOM Part 10 file.

    Parameters
    ----------
    path
        The file.
    spec
        From :func:`header_spec`.

    Returns
    -------
    DicomHeader or None
        The attributes present in the file; ``None`` when the file must be read with
        pydicom instead (see the module docstring). ``OSError`` propagates.
    """
    with open(path, "rb") as fh:
        buf = fh.read(_FIRST_READ)
        if len(buf) < 132 or buf[128:132] != b"DICM":
            return None
        while True:
            try:
                return _parse(buf, spec, path)
            except _Fallback:
                return None
            except _Short:  # a longer header: read 4 times as much again (never the whole of a large file at once)
                more = fh.read(4 * len(buf))
                if not more:
                    return None  # truncated
                buf += more


_U16LE = struct.Struct("<H").unpack_from
_U32LE = struct.Struct("<I").unpack_from
_META = struct.Struct("<HH2sH").unpack_from


def _parse(buf: bytes, spec: _Spec, path: str | os.PathLike[str]) -> DicomHeader:
    n = len(buf)
    pos = 132
    syntax = None
    # file meta information: always explicit VR little endian
    while True:
        if pos + 8 > n:
            raise _Short
        group, elem, vr, length = _META(buf, pos)
        if group != 0x0002:
            break
        if vr in _LONG_VRS:
            if pos + 12 > n:
                raise _Short
            length = _U32LE(buf, pos + 8)[0]
            pos += 12
        else:
            pos += 8
        if length == _UNDEFINED:
            raise _Fallback
        if pos + length > n:
            raise _Short
        if elem == 0x0010:
            syntax = buf[pos : pos + length].rstrip(b"\x00 ").decode("ascii", "replace")
        pos += length
    if syntax is None or syntax in _DEFLATED:
        raise _Fallback
    if syntax == _IMPLICIT_LE:
        return _walk(buf, pos, spec, path, explicit=False, little=True)
    return _walk(buf, pos, spec, path, explicit=True, little=syntax != _EXPLICIT_BE)


_SHORT_VRS = frozenset(
    {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN", b"SH", b"SL", b"SS"}
    | {b"ST", b"TM", b"UI", b"UL", b"US"}
)


def _vr_table() -> np.ndarray:
    """26 × 26 lookup by the VR's two letters: 0 not a VR, 1 a 2-byte length, 2 a 4-byte length."""
    table = np.zeros((26, 26), np.int8)
    for vrs, kind in ((_SHORT_VRS, 1), (_LONG_VRS, 2)):
        for vr in vrs:
            table[vr[0] - 65, vr[1] - 65] = kind
    return table


def _vr_class_table() -> np.ndarray:
    """26 × 26 lookup by the VR's two letters: 1 text (ASCII checked), 2/4/8 binary numbers of that size, 0 other."""
    table = np.zeros((26, 26), np.int8)
    for vr in (*_TEXT_VRS, "DS", "IS"):
        table[ord(vr[0]) - 65, ord(vr[1]) - 65] = 1
    for vr, size in _SIZES.items():
        table[ord(vr[0]) - 65, ord(vr[1]) - 65] = size
    return table


_VR_KIND = _vr_table()
_VR_CLASS = _vr_class_table()
_OK, _SHORT, _FALLBACK = 0, 1, 2
_SEQ_LEVEL, _ITEM_LEVEL = 1, 2
_MAX_DEPTH = 64


@numba.njit(cache=True, nogil=True, inline="always")
def _u16(buf: np.ndarray, p: int, little: bool) -> int:
    if little:
        return np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8)
    return (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])


@numba.njit(cache=True, nogil=True, inline="always")
def _u32(buf: np.ndarray, p: int, little: bool) -> int:
    if little:
        return _u16(buf, p, True) | (_u16(buf, p + 2, True) << 16)
    return (_u16(buf, p, False) << 16) | _u16(buf, p + 2, False)


@numba.njit(cache=True, nogil=True)
def _walk_elements(
    buf: np.ndarray,
    pos: int,
    explicit: bool,
    little: bool,
    wanted: np.ndarray,
    dict_vr: np.ndarray,
    vr_kind: np.ndarray,
    vr_class: np.ndarray,
    found: np.ndarray,
) -> tuple[int, int]:  # pragma: no cover - compiled
    """Walk the data set from ``pos``; ``found[i] = (start, length, VR letter, VR letter)`` of ``wanted[i]``.

    The VR recorded is the file's (explicit VR) or the dictionary's ``dict_vr[i]`` (implicit
    VR, and VR UN in little endian, as pydicom replaces it). A value that is not ASCII text
    (the character set would matter), a binary value of a length that is not a multiple of
    its size, or an attribute with another VR (UN, SQ, OB, ambiguous) makes the file
    ``_FALLBACK``.

    ``wanted`` holds the sorted tags to find; the walk stops at the first top-level tag past
    the last of them. Sequences of undefined length (and their items of undefined length,
    nested to any depth up to 64) are skipped by their delimiters; those with VR UN are
    implicit VR little endian inside. Returns ``(status, pos)``: ``_OK``, ``_SHORT`` (the
    bytes end inside an element) or ``_FALLBACK`` (something pydicom must read).
    """
    n = buf.shape[0]
    last = wanted[wanted.shape[0] - 1]
    kinds = np.zeros(_MAX_DEPTH, np.int8)
    lev_explicit = np.zeros(_MAX_DEPTH, np.bool_)
    lev_little = np.zeros(_MAX_DEPTH, np.bool_)
    depth = 0
    while True:
        ex = explicit if depth == 0 else lev_explicit[depth - 1]
        le = little if depth == 0 else lev_little[depth - 1]
        if pos + 8 > n:
            if depth == 0 and pos == n:
                return _OK, pos  # the data set ends before any pixel data: a header-only file
            return _SHORT, pos
        group = _u16(buf, pos, le)
        elem = _u16(buf, pos + 2, le)
        tag = (group << 16) | elem
        if depth > 0 and kinds[depth - 1] == _SEQ_LEVEL:  # an item or the sequence's end
            length = _u32(buf, pos + 4, le)
            pos += 8
            if tag == _SEQ_END:
                depth -= 1
            elif tag != _ITEM:
                return _FALLBACK, pos
            elif length != _UNDEFINED:
                pos += length
            else:
                if depth == _MAX_DEPTH:
                    return _FALLBACK, pos
                kinds[depth], lev_explicit[depth], lev_little[depth] = _ITEM_LEVEL, ex, le
                depth += 1
            continue
        if depth > 0 and group == 0xFFFE:  # in an item of undefined length: its end
            if tag != _ITEM_END:
                return _FALLBACK, pos
            pos += 8
            depth -= 1
            continue
        v0 = 0
        v1 = 0
        if ex:
            v0 = np.int64(buf[pos + 4])
            v1 = np.int64(buf[pos + 5])
            if v0 < 65 or v0 > 90 or v1 < 65 or v1 > 90:
                return _FALLBACK, pos  # not an explicit VR pydicom knows: its guesswork applies
            kind = vr_kind[v0 - 65, v1 - 65]
            if kind == 0:
                return _FALLBACK, pos
            if kind == 2:
                if pos + 12 > n:
                    return _SHORT, pos
                length = _u32(buf, pos + 8, le)
                pos += 12
            else:
                length = _u16(buf, pos + 6, le)
                pos += 8
        else:
            length = _u32(buf, pos + 4, le)
            pos += 8
        if depth == 0 and tag > last:
            return _OK, pos
        if depth == 0:
            i = np.searchsorted(wanted, tag)
            hit = i < wanted.shape[0] and wanted[i] == tag
        else:
            i = 0
            hit = False
        if length == _UNDEFINED:
            is_sq = v0 == 83 and v1 == 81  # "SQ"
            is_un = v0 == 85 and v1 == 78  # "UN"
            if hit or (ex and not (is_sq or is_un)) or depth == _MAX_DEPTH:
                return _FALLBACK, pos
            kinds[depth] = _SEQ_LEVEL
            lev_explicit[depth] = ex and is_sq
            lev_little[depth] = le if (ex and is_sq) or not ex else True
            depth += 1
            continue
        if hit:
            if not ex or (v0 == 85 and v1 == 78 and le):
                v0 = dict_vr[i, 0]
                v1 = dict_vr[i, 1]
            cls = vr_class[v0 - 65, v1 - 65] if 65 <= v0 <= 90 and 65 <= v1 <= 90 else 0
            if cls == 0 or pos + length > n:
                return (_FALLBACK if cls == 0 else _SHORT), pos
            if cls == 1:
                for k in range(pos, pos + length):
                    if buf[k] >= 0x80 or buf[k] == 0x1B:
                        return _FALLBACK, pos  # the character set would matter
            elif length % cls:
                return _FALLBACK, pos
            found[i, 0] = pos
            found[i, 1] = length
            found[i, 2] = v0
            found[i, 3] = v1
        pos += length


@numba.njit(cache=True, nogil=True)
def _pack_values(buf: np.ndarray, found: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """The values found, one after the other; ``found``'s starts re-based on the result."""
    total = 0
    for i in range(found.shape[0]):
        if found[i, 0] >= 0:
            total += found[i, 1]
    out = np.empty(total, np.uint8)
    at = 0
    for i in range(found.shape[0]):
        start = found[i, 0]
        if start >= 0:
            length = found[i, 1]
            out[at : at + length] = buf[start : start + length]
            found[i, 0] = at
            at += length
    return out


def _walk(
    buf: bytes, pos: int, spec: _Spec, path: str | os.PathLike[str], *, explicit: bool, little: bool
) -> DicomHeader:
    found = np.full((len(spec.order), 4), -1, np.int64)
    arr = np.frombuffer(buf, np.uint8)
    status, _ = _walk_elements(arr, pos, explicit, little, spec.order, spec.dict_vr, _VR_KIND, _VR_CLASS, found)
    if status == _SHORT:
        raise _Short
    if status == _FALLBACK:
        raise _Fallback
    # keep the values only (a scan holds the headers of every file until its volumes are built)
    values = _pack_values(arr, found).tobytes()
    start, length = found[spec.index["SpecificCharacterSet"], :2].tolist()
    if start >= 0 and b"13" in values[start : start + length]:  # JIS X 0201: 0x5C is the yen sign, not a backslash
        raise _Fallback
    return DicomHeader(path, values, array("q", found.tobytes()), spec, "<" if little else ">")


def _convert(value: bytes, vr: str, end: str) -> Any:
    """A value as pydicom 3 converts it (as plain Python); raises _Fallback when unsure."""
    if vr in _TEXT_VRS or vr in ("DS", "IS"):
        text = value.decode("ascii")
        if vr == "DS" or vr == "IS":
            if not value:
                return None
            parts = (text.strip() if vr == "DS" else text).rstrip(" \x00").split("\\")
            try:
                nums = [float(p) if vr == "DS" else int(p) for p in parts]
            except ValueError:
                raise _Fallback from None
            return nums[0] if len(nums) == 1 else nums
        if vr in _SINGLE_VALUED:
            return text.rstrip("\x00 ")
        if vr in ("LO", "SH", "UC"):  # pydicom's convert_text: each value right-stripped
            parts = [p.rstrip("\x00 ") for p in text.split("\\")]
        elif vr == "AE":  # leading and trailing spaces are not significant
            parts = [p.strip() for p in text.split("\\")]
        else:  # AS CS DA DT TM UI PN: the whole value right-stripped, then split
            parts = text.rstrip(" \x00").split("\\")
        return parts[0] if len(parts) == 1 else parts
    if not value:
        return None
    nums = list(struct.unpack(f"{end}{len(value) // _SIZES[vr]}{_BINARY[vr]}", value))
    return nums[0] if len(nums) == 1 else nums
