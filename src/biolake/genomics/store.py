"""Genotype datasets of the lake (VCF Zarr layout, see :mod:`biolake.io.plink`), read block by block.

:func:`open_genotypes` resolves ``lake:NAME`` or a bare ``NAME`` to a
:class:`GenotypeStore`; :func:`read_block` is the picklable reader that kernels run on
workers (threads, processes or a Dask cluster): it opens the Zarr group by path and
returns ALT allele counts and the variant annotations of one block of variants.

Examples
--------
>>> store = open_genotypes(lake, "lake:cohort")                    # doctest: +SKIP
>>> store.n_variants, store.n_samples                              # doctest: +SKIP
(1500, 250)
>>> block = read_block(store.block(0, 100))                        # doctest: +SKIP
>>> block["alt_count"].shape                                       # doctest: +SKIP
(100, 250)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from biolake.errors import InputError
from biolake.io.plink import GENOTYPE_ENCODING, GENOTYPE_ENCODING_VERSION
from biolake.lake import DatasetInfo, Lake
from biolake.lake.arrays import read_rows

__all__ = ["AUTOSOME_EXCLUDED", "Block", "GenotypeStore", "has_packed", "open_genotypes", "read_block"]

#: Contig names treated as non-autosomal (excluded from the per-sample F coefficient, as plink2 does).
AUTOSOME_EXCLUDED = frozenset(
    c + s for c in ("", "chr") for s in ("X", "Y", "XY", "MT", "M", "x", "y", "xy", "mt", "m", "23", "24", "25", "26")
)


@dataclass(frozen=True)
class Block:
    """A block of variants of a genotype dataset: what a worker needs to read it."""

    path: str
    start: int
    stop: int
    samples: np.ndarray | None = None  # sample indices to keep (None: all)


@dataclass
class GenotypeStore:
    """An opened genotype dataset.

    Attributes
    ----------
    name, info
        Dataset name and catalog entry.
    n_variants, n_samples
        Shape of the genotype matrix.
    sample_id
        Sample IDs (numpy object array).
    contigs
        Contig names (``variant_contig`` indexes them).
    variant_chunk
        Variants per stored chunk.
    attrs
        The Zarr group's attributes.
    sample_sex
        Per-sample sex (int8: 1 male, 2 female, -1 unknown) when the dataset records it
        (``sample_sex``, from a .fam), else None.
    """

    name: str
    info: DatasetInfo
    n_variants: int
    n_samples: int
    sample_id: np.ndarray
    sample_family_id: np.ndarray | None
    contigs: list[str]
    variant_chunk: int
    attrs: dict[str, Any]
    sample_sex: np.ndarray | None = None

    @property
    def path(self) -> str:
        """Path of the Zarr group."""
        return str(self.info.path)

    def block(self, start: int, stop: int, *, samples: np.ndarray | None = None) -> Block:
        """The :class:`Block` of variants ``start:stop`` (optionally of some samples only)."""
        return Block(self.path, start, stop, samples)

    def blocks(self, chunk_variants: int | None = None, *, samples: np.ndarray | None = None) -> list[Block]:
        """Blocks covering every variant, ``chunk_variants`` each (default: the stored chunk)."""
        size = int(chunk_variants or self.variant_chunk)
        return [self.block(s, min(s + size, self.n_variants), samples=samples) for s in range(0, self.n_variants, size)]


def open_genotypes(lake: Lake, spec: str) -> GenotypeStore:
    """Open the genotype dataset ``spec`` (``lake:NAME`` or ``NAME``).

    Raises
    ------
    InputError
        If there is no such dataset, or it is not a genotype dataset of a layout this
        biolake reads (encoding ``vcf-zarr`` up to version 1).
    """
    import zarr

    name = spec[5:] if spec.startswith("lake:") else spec
    if not lake.exists(name):
        hint = ""
        if Path(spec).exists() or Path(spec + ".bed").exists():
            hint = f" (ingest it first: biolake ingest plink {spec} --name NAME)"
        raise InputError(f"no genotype dataset named {name!r} in the lake at {lake.root}{hint}", file=spec)
    info = lake.info(name)
    if info.kind != "array" or info.encoding != GENOTYPE_ENCODING:
        raise InputError(
            f"dataset {name!r} is not a genotype dataset (encoding {info.encoding!r}, expected {GENOTYPE_ENCODING!r})",
            file=f"lake:{name}",
        )
    if info.encoding_version > GENOTYPE_ENCODING_VERSION:
        raise InputError(
            f"genotype layout version {info.encoding_version} is newer than this biolake reads "
            f"({GENOTYPE_ENCODING_VERSION}); upgrade biolake",
            file=f"lake:{name}",
        )
    group = zarr.open_group(str(info.path), mode="r")
    gt = group["call_genotype"]
    family = group["sample_family_id"][:] if "sample_family_id" in group else None
    return GenotypeStore(
        name=name,
        info=info,
        n_variants=int(gt.shape[0]),
        n_samples=int(gt.shape[1]),
        sample_id=np.asarray(group["sample_id"][:], dtype=object),
        sample_family_id=None if family is None else np.asarray(family, dtype=object),
        contigs=[str(c) for c in group["contig_id"][:]],
        variant_chunk=int(gt.chunks[0]),
        attrs=dict(group.attrs),
        sample_sex=np.asarray(group["sample_sex"][:], dtype=np.int8) if "sample_sex" in group else None,
    )


def _alt_count_from_genotype(gt: np.ndarray) -> np.ndarray:
    """ALT allele counts from biallelic allele indices (variants, samples, ploidy); -1 if any allele missing."""
    missing = (gt < 0).any(axis=-1)
    counts = (gt > 0).sum(axis=-1, dtype=np.int8)
    counts[missing] = -1
    return counts


@functools.lru_cache(maxsize=16)
def _open_group(path: str) -> Any:
    """The read-only Zarr group at ``path``, cached per worker (lake datasets never change in place)."""
    import zarr

    return zarr.open_group(path, mode="r")


def has_packed(path: str) -> bool:
    """Whether the genotype dataset at ``path`` has the 2-bit ``call_genotype_packed`` copy."""
    return "call_genotype_packed" in _open_group(path)


def read_block(block: Block, *, annotations: bool = True, packed: bool = False) -> dict[str, Any]:
    """Read one block: ``alt_count`` (variants × samples int8, -1 missing) and variant annotations.

    Reads the compact ``call_alt_count`` copy when the dataset has it, else derives the
    counts from ``call_genotype``. The result holds ``start``, ``alt_count`` and
    ``contig`` (indices into the contig names); with ``annotations`` also ``pos``,
    ``id``, ``ref`` and ``alt`` of the block. With ``packed`` and a dataset that has
    ``call_genotype_packed``, the result holds ``packed`` (2-bit rows of *all* samples,
    see :func:`biolake.io.plink.pack_alt_count`; ``block.samples`` is then the caller's to
    apply) instead of ``alt_count``.
    """
    group = _open_group(block.path)
    sl = slice(block.start, block.stop)
    if packed and "call_genotype_packed" in group:
        counts = None
        out_packed = read_rows(block.path, "call_genotype_packed", block.start, block.stop)
    elif "call_alt_count" in group:
        counts = read_rows(block.path, "call_alt_count", block.start, block.stop)
    else:
        counts = _alt_count_from_genotype(np.asarray(group["call_genotype"][sl]))
    if counts is not None and block.samples is not None:
        counts = np.ascontiguousarray(counts[:, block.samples])
    out: dict[str, Any] = {
        "start": block.start,
        "contig": np.asarray(group["variant_contig"][sl], dtype=np.int64),
    }
    if counts is None:
        out["packed"] = out_packed
    else:
        out["alt_count"] = counts
    if annotations:
        alleles = np.asarray(group["variant_allele"][sl], dtype=object)
        out.update(
            pos=np.asarray(group["variant_position"][sl], dtype=np.int64),
            id=np.asarray(group["variant_id"][sl], dtype=object),
            ref=alleles[:, 0],
            alt=alleles[:, 1] if alleles.shape[1] > 1 else np.full(len(alleles), ".", dtype=object),
        )
    return out
