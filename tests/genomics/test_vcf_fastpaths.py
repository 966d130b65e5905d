"""Tests of the fast paths of biolake.io.vcf: the GT:DS line parser and libdeflate BGZF inflate.

The fast paths must give exactly what the general parser (validated field by field against
bcftools in test_vcf.py) and zlib give. The general parser is forced on the same sample text
by a FORMAT of ``GT:DS:ZZ`` (trailing sample fields may be dropped, so the samples read the
same) or ``GT:ZZ``.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from biolake.io import vcf as vcf_module
from biolake.io.vcf import ingest_vcf, parse_vcf_text
from biolake.lake import Lake

VCF = Path(__file__).parents[1] / "data" / "genomics" / "vcf"
ARRAYS = ("gt", "mask", "phased", "alt_count", "dosage", "pos", "qual", "line")


def _random_lines(rng: np.random.Generator, n_lines: int, n_samples: int, *, ds: bool) -> tuple[bytes, bytes]:
    """The same random records twice: FORMAT GT:DS (or GT) and GT:DS:ZZ (or GT:ZZ), the general path."""
    calls = ["0/0", "0/1", "1/0", "1/1", "0|1", "1|0", "1|1", "./.", ".|.", "./1", "0/."]
    odd_calls = ["1", "0", ".", "0/2", "10/1"]  # haploid, an ALT index beyond G (replaced), 2-digit (replaced)
    values = ["0", "1", "2", "0.25", "1.9873", "2.", ".5", "0.000001", "."]
    odd_values = ["-0.5", "1e-3", "1.5E2", "0.1234567890123456", "", "1,0.5", "+1"]
    fast, slow = [], []
    for i in range(n_lines):
        kind = rng.integers(0, 6)  # 0-2 plain, 3 odd call, 4 odd DS, 5 multi-allelic / CRLF
        alt = "G,T" if kind == 5 and i % 2 else "G"
        eol = "\r\n" if kind == 5 and not i % 2 else "\n"
        samples = []
        for _ in range(n_samples):
            gt = str(rng.choice(calls))
            if kind == 3 and rng.random() < 0.3:
                gt = str(rng.choice(odd_calls))
                if alt == "G" and "2" in gt:
                    gt = "0/1"
            if alt == "G,T" and rng.random() < 0.3:
                gt = "1/2"
            if ds:
                v = str(rng.choice(odd_values if kind == 4 and rng.random() < 0.3 else values))
                if alt == "G,T" and v == "1,0.5":
                    v = "1"
                samples.append(f"{gt}:{v}")
            else:
                samples.append(gt)
        if "10/1" in "".join(samples):
            samples = [s.replace("10/1", "1/1") for s in samples]
        head = f"1\t{i + 1}\tv{i}\tA\t{alt}\t{rng.integers(0, 99)}\tPASS\t.\t"
        body = "\t".join(samples) + eol
        fmt = "GT:DS" if ds else "GT"
        fast.append(f"{head}{fmt}\t{body}")
        slow.append(f"{head}{fmt}:ZZ\t{body}")
    return "".join(fast).encode(), "".join(slow).encode()


def _assert_same(a: dict, b: dict) -> None:
    assert a["error"] is None and b["error"] is None, (a["error"], b["error"])
    assert a["n_rows"] == b["n_rows"]
    for key in ARRAYS:
        if a[key] is None or b[key] is None:
            assert a[key] is None and b[key] is None, key
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    for key in ("chrom", "id", "ref", "alt", "filter"):
        assert a[key].equals(b[key]), key


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_parse_vcf_text__gt_ds_fast_path_equals_general_parser(seed: int) -> None:
    """Random GT:DS lines (missing, half-missing, phased, haploid, multi-allelic, CRLF, odd DS that must fall back)."""
    rng = np.random.default_rng(seed)
    fast, slow = _random_lines(rng, 300, 7, ds=True)
    a = parse_vcf_text(fast, n_samples=7)
    b = parse_vcf_text(slow, n_samples=7)
    _assert_same(a, b)
    assert a["dosage"] is not None and np.isnan(a["dosage"]).any() and (a["dosage"] == 2).any()


@pytest.mark.parametrize("seed", [4, 5])
def test_parse_vcf_text__gt_only_fast_path_equals_general_parser(seed: int) -> None:
    """Random GT-only lines through the fixed-width path and through the general one (FORMAT GT:ZZ)."""
    rng = np.random.default_rng(seed)
    fast, slow = _random_lines(rng, 300, 9, ds=False)
    _assert_same(parse_vcf_text(fast, n_samples=9), parse_vcf_text(slow, n_samples=9))


def test_parse_vcf_text__gt_ds_fast_path_by_hand() -> None:
    """Hand-computed: 0|1:0.25 → [0,1] phased, DS 0.25; ./.:. → missing, NaN; 1/1:2 → 2; 0/1:1.9873."""
    line = b"1\t5\t.\tA\tG\t.\t.\t.\tGT:DS\t0|1:0.25\t./.:.\t1/1:2\t0/1:1.9873\n"
    r = parse_vcf_text(line, n_samples=4)
    assert r["gt"].tolist() == [[[0, 1], [-1, -1], [1, 1], [0, 1]]]
    assert r["phased"].tolist() == [[True, False, False, False]]
    assert r["alt_count"].tolist() == [[1, -1, 2, 1]]
    np.testing.assert_array_equal(r["dosage"], np.array([[0.25, np.nan, 2.0, 1.9873]], dtype=np.float32))
    # a bad DS after a good prefix is still an error (the fast path falls back, the general parser reports)
    bad = parse_vcf_text(b"1\t5\t.\tA\tG\t.\t.\t.\tGT:DS\t0|1:0.25\t0/0:x\n", n_samples=2)
    assert bad["error"] == ("DS is not a number (sample 2)", 0, 1)
    short = parse_vcf_text(b"1\t5\t.\tA\tG\t.\t.\t.\tGT:DS\t0|1:0.25\n", n_samples=2)
    assert short["error"][0].endswith("found fewer")


def _bgzf(text: bytes, block: int) -> bytes:
    """BGZF (bgzip) of ``text`` in blocks of ``block`` bytes of text, with the EOF block."""
    out = []
    for i in [*range(0, len(text), block), len(text)]:
        data = text[i : i + block]
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = c.compress(data) + c.flush()
        head = struct.pack("<4BI2BH2BHH", 0x1F, 0x8B, 8, 4, 0, 0, 0xFF, 6, 66, 67, 2, len(payload) + 25)
        out.append(head + payload + struct.pack("<II", zlib.crc32(data), len(data)))
    return b"".join(out)


def test_inflate__libdeflate_equals_zlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """BGZF blocks of 1,000 bytes of text: libdeflate and zlib give the text back; a corrupt block is zlib.error."""
    text = (VCF / "hand.vcf").read_bytes() * 5
    data = _bgzf(text, 1000)
    blocks, used = vcf_module._bgzf_blocks(data)
    assert used == len(data) and len(blocks) == -(-len(text) // 1000) + 1
    assert vcf_module._libdeflate is not None
    assert vcf_module._inflate(data, blocks) == text
    bad = bytearray(data)
    bad[blocks[1][0] + 20] ^= 0xFF
    with pytest.raises(zlib.error):
        vcf_module._inflate(bytes(bad), blocks)
    monkeypatch.setattr(vcf_module, "_libdeflate", None)
    assert vcf_module._inflate(data, blocks) == text


@pytest.mark.parametrize(("threads", "group"), [(1, 1 << 20), (2, 3000), (2, 50000)])
def test_ingest_vcf__same_arrays_for_threads_and_bgzf_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int, group: int
) -> None:
    """dummy.vcf.gz (GT:DS) re-blocked in 2,000-byte BGZF blocks, inflated in groups by 1 or 2 threads,
    with libdeflate or zlib: the same arrays as the original file through zlib with 1 thread."""
    src = gzip.decompress((VCF / "dummy.vcf.gz").read_bytes())
    file = tmp_path / "reblocked.vcf.gz"
    file.write_bytes(_bgzf(src, 2000))
    monkeypatch.setattr(vcf_module, "_BGZF_GROUP", group)
    lake = Lake.open(tmp_path / "lake")
    ingest_vcf(lake, file, name="v", threads=threads)
    monkeypatch.setattr(vcf_module, "_libdeflate", None)
    monkeypatch.setattr(vcf_module, "_BGZF_GROUP", 1 << 20)
    ingest_vcf(lake, VCF / "dummy.vcf.gz", name="ref", threads=1)
    g, ref = lake.open_array("v"), lake.open_array("ref")
    for key in ("call_genotype", "call_genotype_phased", "call_alt_count", "call_dosage", "variant_position"):
        np.testing.assert_array_equal(g[key][:], ref[key][:], err_msg=key)
    assert g["call_genotype"].shape == (400, 60, 2)
