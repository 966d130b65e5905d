"""PLINK 1 filesets (``PREFIX.bed/.bim/.fam``) → a lake genotype dataset in the VCF Zarr layout.

The genotypes are read with bed-reader in blocks of variants (memory is bounded by the
block, not by the file) and written as one Zarr group in the layout sgkit and bio2zarr
use (VCF Zarr), so ``sgkit.load_dataset`` / ``xarray.open_zarr`` open it:

====================  ===========================  =======================================
array                 dims                         content
====================  ===========================  =======================================
call_genotype         variants, samples, ploidy    int8 allele indices (0 REF, 1 ALT), -1 missing
call_genotype_mask    variants, samples, ploidy    bool, true where missing
call_alt_count        variants, samples            int8 ALT allele count 0/1/2, -1 missing
                                                   (biolake's compact copy for fast kernels)
call_genotype_packed  variants, packed_samples     uint8, 2-bit ALT counts, 4 samples per byte,
                                                   3 missing, uncompressed (association kernels)
variant_contig        variants                     index into ``contig_id``
variant_position      variants                     int32 base-pair position
variant_allele        variants, alleles            [REF, ALT] strings
variant_id            variants                     variant ID (``.`` when unknown)
variant_id_mask       variants                     bool, true where the ID is ``.``
sample_id             samples                      IID (column 2 of the .fam)
sample_family_id      samples                      FID (column 1 of the .fam)
sample_sex            samples                      int8 sex (column 5 of the .fam): 1 male, 2 female,
                                                   -1 unknown (other codes; M/F as 1/2, as plink2)
contig_id             contigs                      contig names in order of appearance
====================  ===========================  =======================================

The group attributes hold ``vcf_zarr_version`` and ``source: plink``; the catalog
records the encoding ``vcf-zarr`` version 1. A variants table ``NAME_variants``
(``chrom pos id ref alt``) is written too.

Alleles follow plink2: the .bim's A1 (column 5) is the counted allele and becomes ALT;
A2 (column 6) is REF. The missing-allele code ``0`` becomes ``.``.

Examples
--------
>>> from biolake.io.plink import ingest_plink
>>> info = ingest_plink(lake, "cohort", name="cohort")     # cohort.bed/.bim/.fam  # doctest: +SKIP
>>> info.shape                                             # doctest: +SKIP
[2000, 300, 2]
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pyarrow as pa

from biolake.errors import InputError, check_param
from biolake.lake import DatasetInfo, Lake, validate_name
from biolake.lake._fs import content_hash
from biolake.lake.arrays import ArrayStage
from biolake.lake.progress import NullProgress, Progress

__all__ = [
    "GENOTYPE_ENCODING",
    "GENOTYPE_ENCODING_VERSION",
    "VCF_ZARR_VERSION",
    "GenotypeWriter",
    "alt_count_to_genotype",
    "create_packed",
    "default_variant_chunk",
    "ingest_plink",
    "pack_alt_count",
    "plink_paths",
    "variants_schema",
]

GENOTYPE_ENCODING = "vcf-zarr"
GENOTYPE_ENCODING_VERSION = 1
VCF_ZARR_VERSION = "0.4"
_TARGET_GENOTYPES_PER_CHUNK = 1 << 23  # about 8 M calls: 16 MB of call_genotype per chunk
_BED_MAGIC = b"\x6c\x1b\x01"
# .fam sex codes kept in sample_sex, as plink2 reads them; anything else (0, -9, ...) is unknown (-1)
_FAM_SEX = {"1": 1, "M": 1, "m": 1, "2": 2, "F": 2, "f": 2}


def variants_schema() -> pa.Schema:
    """Arrow schema of a variants table: ``chrom pos id ref alt``."""
    return pa.schema(
        [("chrom", pa.string()), ("pos", pa.int64()), ("id", pa.string()), ("ref", pa.string()), ("alt", pa.string())]
    )


def default_variant_chunk(n_samples: int) -> int:
    """Variants per chunk so that a chunk holds about 8 M genotype calls."""
    return max(1, _TARGET_GENOTYPES_PER_CHUNK // max(1, n_samples))


@numba.njit(cache=True, nogil=True)
def _decode_counts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """In one pass: negative counts set to -1 in place; allele indices and missing mask."""
    n_var, n_smp = counts.shape
    gt = np.empty((n_var, n_smp, 2), dtype=np.int8)
    mask = np.empty((n_var, n_smp, 2), dtype=np.bool_)
    for i in range(n_var):
        for j in range(n_smp):
            c = counts[i, j]
            if c < 0 or c > 2:
                counts[i, j] = -1
                gt[i, j, 0] = -1
                gt[i, j, 1] = -1
                mask[i, j, 0] = True
                mask[i, j, 1] = True
            else:
                gt[i, j, 0] = 1 if c == 2 else 0
                gt[i, j, 1] = 1 if c >= 1 else 0
                mask[i, j, 0] = False
                mask[i, j, 1] = False
    return gt, mask


@numba.njit(cache=True, nogil=True)
def _pack_counts(counts: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    n_var, n_smp = counts.shape
    nb = (n_smp + 3) // 4
    out = np.zeros((n_var, nb), dtype=np.uint8)
    for i in range(n_var):
        for j in range(n_smp):
            c = counts[i, j]
            code = c if 0 <= c <= 2 else 3
            out[i, j >> 2] |= np.uint8(code << (2 * (j & 3)))
    return out


def pack_alt_count(alt_count: np.ndarray) -> np.ndarray:
    """ALT allele counts (variants × samples int8) → 2-bit codes, four samples per byte.

    Sample ``j`` is in byte ``j // 4`` at bits ``2·(j % 4)``; the code is the ALT count
    (0, 1, 2) or 3 for a missing call; padding samples of the last byte are 0. This is
    ``call_genotype_packed``, the copy the association kernels read (a quarter of the
    bytes of ``call_alt_count``, stored without compression).

    Examples
    --------
    >>> pack_alt_count(np.array([[0, 1, 2, -1, 2]], dtype=np.int8)).tolist()
    [[228, 2]]
    """
    counts = np.ascontiguousarray(alt_count, dtype=np.int8)
    check_param("pack_alt_count", "alt_count", counts.shape, counts.ndim == 2, "a 2-D (variants × samples) array")
    return _pack_counts(counts)


def create_packed(stage: ArrayStage, *, n_variants: int, n_samples: int, variant_chunk: int) -> Any:
    """The ``call_genotype_packed`` array of a genotype stage (uncompressed: the kernels read it at memory speed)."""
    nb = (n_samples + 3) // 4
    arr = stage.group.create_array(
        "call_genotype_packed",
        shape=(n_variants, nb),
        dtype="uint8",
        chunks=(max(int(variant_chunk), 1), max(nb, 1)),
        compressors=None,
        fill_value=0,
    )
    arr.attrs["_ARRAY_DIMENSIONS"] = ["variants", "packed_samples"]
    arr.attrs["description"] = "biolake: 2-bit ALT counts, 4 samples per byte (sample j at bits 2*(j % 4)), 3 = missing"
    return arr


def alt_count_to_genotype(alt_count: np.ndarray) -> np.ndarray:
    """ALT allele counts (variants × samples, -1 missing) → diploid allele indices (…, 2), REF before ALT."""
    counts = np.array(alt_count, dtype=np.int8, copy=True, ndmin=2)
    check_param(
        "alt_count_to_genotype",
        "alt_count",
        counts.shape,
        counts.ndim == 2,
        "a 2-D (variants × samples) array",
    )
    return _decode_counts(counts)[0]


class GenotypeWriter:
    """Writes a genotype dataset in the VCF Zarr layout block by block (see the module docstring).

    Parameters
    ----------
    stage
        The array stage of a run (``run.array(name, encoding=GENOTYPE_ENCODING, ...)``).
    n_variants
        Number of variants that will be written.
    sample_id, sample_family_id
        Per-sample IDs (family IDs optional).
    sample_sex
        Per-sample sex (1 male, 2 female, -1 unknown; optional): written as ``sample_sex``.
    contigs
        Contig names; ``variant_contig`` indexes them.
    variant_chunk
        Variants per Zarr chunk (default: :func:`default_variant_chunk`).
    source
        Written to the group attribute ``source``.
    """

    def __init__(
        self,
        stage: ArrayStage,
        *,
        n_variants: int,
        sample_id: Sequence[str],
        contigs: Sequence[str],
        sample_family_id: Sequence[str] | None = None,
        variant_chunk: int | None = None,
        source: str = "plink",
        sample_sex: Sequence[int] | None = None,
    ) -> None:
        n = len(sample_id)
        m = int(n_variants)
        vc = max(1, min(int(variant_chunk or default_variant_chunk(n)), max(m, 1)))
        self.n_variants = m
        self.n_samples = n
        self.variant_chunk = vc
        n_ct = len(contigs)
        contig_dtype = np.int8 if n_ct < 128 else np.int16 if n_ct < 32768 else np.int32
        self.call_genotype = stage.create(
            "call_genotype",
            shape=(m, n, 2),
            dtype="int8",
            chunks=(vc, max(n, 1), 2),
            dims=("variants", "samples", "ploidy"),
        )
        self.call_genotype_mask = stage.create(
            "call_genotype_mask",
            shape=(m, n, 2),
            dtype="bool",
            chunks=(vc, max(n, 1), 2),
            dims=("variants", "samples", "ploidy"),
        )
        self.call_alt_count = stage.create(
            "call_alt_count", shape=(m, n), dtype="int8", chunks=(vc, max(n, 1)), dims=("variants", "samples")
        )
        self.call_genotype_packed = create_packed(stage, n_variants=m, n_samples=n, variant_chunk=vc)
        self.variant_contig = stage.create(
            "variant_contig", shape=(m,), dtype=contig_dtype, chunks=(vc,), dims=("variants",)
        )
        self.variant_position = stage.create(
            "variant_position", shape=(m,), dtype="int32", chunks=(vc,), dims=("variants",)
        )
        self.variant_allele = stage.create(
            "variant_allele", shape=(m, 2), dtype=str, chunks=(vc, 2), dims=("variants", "alleles")
        )
        self.variant_id = stage.create("variant_id", shape=(m,), dtype=str, chunks=(vc,), dims=("variants",))
        self.variant_id_mask = stage.create(
            "variant_id_mask", shape=(m,), dtype="bool", chunks=(vc,), dims=("variants",)
        )
        stage.write("sample_id", np.asarray(list(sample_id), dtype=object), dims=("samples",))
        if sample_family_id is not None:
            stage.write("sample_family_id", np.asarray(list(sample_family_id), dtype=object), dims=("samples",))
        if sample_sex is not None:
            stage.write("sample_sex", np.asarray(list(sample_sex), dtype=np.int8), dims=("samples",))
        stage.write("contig_id", np.asarray(list(contigs), dtype=object), dims=("contigs",))
        stage.main = "call_genotype"
        stage.attrs.update({"vcf_zarr_version": VCF_ZARR_VERSION, "source": source})

    def write(
        self,
        start: int,
        alt_count: np.ndarray,
        *,
        contig: np.ndarray,
        position: np.ndarray,
        variant_id: np.ndarray,
        ref: np.ndarray,
        alt: np.ndarray,
    ) -> None:
        """Write variants ``start : start + len(alt_count)``.

        ``alt_count`` is a C-contiguous (variants, samples) int8 array of ALT allele
        counts; any value outside 0..2 is missing (it is set to -1 in place).
        """
        stop = start + alt_count.shape[0]
        if stop == start:
            return
        counts = np.ascontiguousarray(alt_count, dtype=np.int8)
        gt, mask = _decode_counts(counts)
        self.call_genotype[start:stop] = gt
        self.call_genotype_mask[start:stop] = mask
        self.call_alt_count[start:stop] = counts
        self.call_genotype_packed[start:stop] = _pack_counts(counts)
        self.variant_contig[start:stop] = contig
        self.variant_position[start:stop] = position
        self.variant_allele[start:stop] = np.stack([np.asarray(ref, dtype=object), np.asarray(alt, dtype=object)], 1)
        ids = np.asarray(variant_id, dtype=object)
        self.variant_id[start:stop] = ids
        self.variant_id_mask[start:stop] = ids == "."


# ------------------------------------------------------------------------------ reading


def plink_paths(prefix: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """The ``.bed``, ``.bim`` and ``.fam`` of a prefix (given with or without one of those suffixes)."""
    p = Path(prefix)
    if p.suffix.lower() in (".bed", ".bim", ".fam"):
        p = p.with_suffix("")
    paths = tuple(p.with_name(p.name + ext) for ext in (".bed", ".bim", ".fam"))
    for path in paths:
        if not path.is_file():
            raise InputError("no such file (a PLINK fileset needs PREFIX.bed, PREFIX.bim and PREFIX.fam)", file=path)
    return paths  # type: ignore[return-value]


def _read_fam(path: Path, sexes: list[int] | None = None) -> tuple[list[str], list[str]]:
    """FIDs and IIDs of a .fam; with ``sexes``, the sex codes (1 male, 2 female, -1 unknown) are appended to it."""
    fids: list[str] = []
    iids: list[str] = []
    seen: dict[str, int] = {}
    with open(path, encoding="utf-8", errors="strict") as fh:
        try:
            for line_no, line in enumerate(fh, 1):
                fields = line.split()
                if not fields:
                    continue
                if len(fields) != 6:
                    raise InputError(
                        f"expected 6 fields (FID IID father mother sex phenotype), found {len(fields)}",
                        file=path,
                        line=line_no,
                    )
                iid = fields[1]
                if iid in seen:
                    raise InputError(
                        f"duplicate sample ID {iid!r} (also on line {seen[iid]}); biolake uses the IID as sample_id",
                        file=path,
                        line=line_no,
                    )
                seen[iid] = line_no
                fids.append(fields[0])
                iids.append(iid)
                if sexes is not None:
                    sexes.append(_FAM_SEX.get(fields[4], -1))
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text ({exc.reason})", file=path) from None
    if not iids:
        raise InputError("no samples", file=path)
    return fids, iids


def _iter_bim(path: Path) -> Iterator[tuple[int, str, int, str, str, str]]:
    """Validated .bim records: (line, chrom, pos, id, ref, alt)."""
    with open(path, encoding="utf-8", errors="strict") as fh:
        try:
            for line_no, line in enumerate(fh, 1):
                fields = line.split()
                if not fields:
                    continue
                if len(fields) != 6:
                    raise InputError(
                        f"expected 6 fields (chrom id cM pos A1 A2), found {len(fields)}", file=path, line=line_no
                    )
                chrom, vid, cm, pos_s, a1, a2 = fields
                try:
                    pos = int(pos_s)
                except ValueError:
                    raise InputError(
                        f"position {pos_s!r} is not an integer", file=path, line=line_no, column=4
                    ) from None
                if not 0 <= pos < 2**31:
                    raise InputError(f"position {pos} is outside [0, 2^31)", file=path, line=line_no, column=4)
                try:
                    float(cm)
                except ValueError:
                    raise InputError(
                        f"centimorgan position {cm!r} is not a number", file=path, line=line_no, column=3
                    ) from None
                yield line_no, chrom, pos, vid, "." if a2 == "0" else a2, "." if a1 == "0" else a1
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text ({exc.reason})", file=path) from None


def _scan_bim(path: Path) -> tuple[int, list[str]]:
    """Validate the whole .bim once: number of variants and contigs in order of appearance."""
    n = 0
    contigs: dict[str, None] = {}
    for _, chrom, *_ in _iter_bim(path):
        n += 1
        contigs.setdefault(chrom, None)
    if n == 0:
        raise InputError("no variants", file=path)
    return n, list(contigs)


def _check_bed(path: Path, n_samples: int, n_variants: int) -> None:
    expected = 3 + ((n_samples + 3) // 4) * n_variants
    with open(path, "rb") as fh:
        magic = fh.read(3)
    if magic != _BED_MAGIC:
        raise InputError(
            "not a variant-major PLINK 1 .bed file (its first 3 bytes are not 6c 1b 01)", file=path, record=1
        )
    size = path.stat().st_size
    if size != expected:
        raise InputError(
            f"size {size} bytes does not match {n_samples} samples (.fam) x {n_variants} variants (.bim): "
            f"expected {expected} bytes",
            file=path,
        )


def _write_block(
    writer: GenotypeWriter,
    table: Any,
    start: int,
    counts: np.ndarray,
    rows: list[tuple[int, str, int, str, str, str]],
    contig_index: dict[str, int],
) -> None:
    chrom = [r[1] for r in rows]
    pos = np.array([r[2] for r in rows], dtype=np.int64)
    ids = np.array([r[3] for r in rows], dtype=object)
    ref = np.array([r[4] for r in rows], dtype=object)
    alt = np.array([r[5] for r in rows], dtype=object)
    writer.write(
        start,
        counts,
        contig=np.array([contig_index[c] for c in chrom]),
        position=pos.astype(np.int32),
        variant_id=ids,
        ref=ref,
        alt=alt,
    )
    columns = [pa.array(chrom, pa.string()), pa.array(pos), pa.array(ids, pa.string())]
    columns += [pa.array(ref, pa.string()), pa.array(alt, pa.string())]
    table.write(pa.RecordBatch.from_arrays(columns, schema=variants_schema()))


def ingest_plink(
    lake: Lake,
    prefix: str | os.PathLike[str],
    *,
    name: str,
    variant_chunk: int | None = None,
    progress: Progress | None = None,
) -> DatasetInfo:
    """Ingest a PLINK 1 fileset as the genotype dataset ``name`` (and the table ``name_variants``).

    Parameters
    ----------
    lake
        The lake to write into.
    prefix
        ``PREFIX`` of ``PREFIX.bed/.bim/.fam`` (``PREFIX.bed`` is accepted too).
    name
        Name of the genotype dataset; the variants table is ``{name}_variants``.
    variant_chunk
        Variants per Zarr chunk and per block read (default: about 8 M calls per chunk).
    progress
        Where to report progress (variants written).

    Returns
    -------
    DatasetInfo
        The catalog entry of the genotype dataset (encoding ``vcf-zarr`` v1).

    Raises
    ------
    InputError
        A missing file; a .fam or .bim line without 6 fields, a non-integer position,
        a duplicate IID (with file and line); a .bed whose header or size does not match.
        Nothing is added to the lake then.

    Examples
    --------
    >>> info = ingest_plink(lake, "tests/data/genomics/sim", name="sim")   # doctest: +SKIP
    >>> lake.open_array("sim")["call_genotype"].shape                      # doctest: +SKIP
    (1500, 250, 2)
    """
    from bed_reader import open_bed

    validate_name(name)
    check_param(
        "ingest_plink",
        "variant_chunk",
        variant_chunk,
        variant_chunk is None or (isinstance(variant_chunk, int) and variant_chunk >= 1),
        "a positive integer or None",
    )
    bed, bim, fam = plink_paths(prefix)
    progress = progress or NullProgress()
    sexes: list[int] = []
    fids, iids = _read_fam(fam, sexes)
    n_variants, contigs = _scan_bim(bim)
    _check_bed(bed, len(iids), n_variants)
    contig_index = {c: i for i, c in enumerate(contigs)}
    params = {"name": name, "prefix": str(Path(bed).with_suffix("")), "variant_chunk": variant_chunk}
    with (
        cf.ThreadPoolExecutor(3, thread_name_prefix="biolake-hash") as hashers,
        lake.run("ingest plink", params=params, inputs=[str(bed), str(bim), str(fam)]) as run,
    ):
        hashes = {str(p): hashers.submit(content_hash, p) for p in (bed, bim, fam)}
        source = str(bed.resolve())
        stage = run.array(
            name,
            source=source,
            encoding=GENOTYPE_ENCODING,
            encoding_version=GENOTYPE_ENCODING_VERSION,
            attrs={"format": "plink1", "n_variants": n_variants, "n_samples": len(iids)},
        )
        writer = GenotypeWriter(
            stage,
            n_variants=n_variants,
            sample_id=iids,
            sample_family_id=fids,
            sample_sex=sexes,
            contigs=contigs,
            variant_chunk=variant_chunk,
        )
        table = run.table(f"{name}_variants", source=str(bim.resolve()), attrs={"genotypes": name})
        block = writer.variant_chunk
        records = _iter_bim(bim)
        with (
            open_bed(bed, iid_count=len(iids), sid_count=n_variants, count_A1=True, skip_format_check=True) as reader,
            cf.ThreadPoolExecutor(1, thread_name_prefix="biolake-write") as write_pool,
            progress.task(f"Ingesting {bed.name}", total=n_variants) as task,
        ):
            pending: cf.Future[None] | None = None  # one block is written while the next is read
            for start in range(0, n_variants, block):
                stop = min(start + block, n_variants)
                rows = [next(records) for _ in range(stop - start)]
                # samples x variants in Fortran order: its transpose is C-contiguous, no copy
                counts = reader.read(index=np.s_[:, start:stop], dtype="int8", order="F").T
                if pending is not None:
                    pending.result()
                    task.update(start)
                pending = write_pool.submit(_write_block, writer, table, start, counts, rows, contig_index)
            if pending is not None:
                pending.result()
                task.update(n_variants)
        for spec, future in hashes.items():
            run.set_input_hash(spec, future.result())
        run.annotate(name, source_hash=hashes[str(bed)].result())
        run.annotate(f"{name}_variants", source_hash=hashes[str(bim)].result())
    return lake.info(name)
