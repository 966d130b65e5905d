"""GWAS evidence: loci from association results, variant-to-gene assignment and the GWAS score.

* :func:`read_gwas` reads biolake's ``genomics gwas`` table or any table with a chromosome,
  position and p-value column (names matched case-insensitively: ``chrom chr #chrom
  chromosome``, ``pos bp position base_pair_location``, ``p pvalue p_value pval``; optional
  ``id snp rsid variant_id`` and ``beta``). Rows without a p-value (untested variants) are
  dropped; a p-value outside [0, 1] or a non-integer position is an error naming the line.
* :func:`gwas_loci` finds the lead variants: by distance (:func:`biolake.stats.clump.distance_clump`)
  or, with an LD reference genotype dataset of the lake, as PLINK 1.9 ``--clump``
  (:func:`biolake.stats.clump.ld_clump`; variants are matched to the reference by ``id`` when
  the table has one (and any id matches), else by chromosome and position; variants not in the reference are left
  out, as PLINK does).
* :func:`assign_genes` gives each lead variant the genes within ``window_kb``: the distance
  is 0 inside the gene body (``distance="body"``) or the distance to the TSS (``"tss"``:
  start on ``+``, end on ``−``); ``assign="nearest"`` keeps only the nearest gene.
  Each (lead, gene) pair is one piece of evidence scored
  ``min(1, −log10 p / 20) · 2^(−distance / half_life)`` (p = 1e−20 at distance 0 scores 1;
  with the default 50 kb half-life a gene 50 kb away gets half, 500 kb away 1/1024).
  Chromosome names match with or without a ``chr`` prefix (``M`` = ``MT``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from biolake.discovery.targets.evidence import read_frame
from biolake.errors import InputError
from biolake.stats.clump import Clumps, distance_clump, ld_clump

__all__ = ["assign_genes", "gwas_loci", "gwas_score", "normalise_chrom", "read_gwas"]

_CHROM = ("chrom", "chr", "#chrom", "chromosome", "#chr")
_POS = ("pos", "bp", "position", "base_pair_location")
_P = ("p", "pvalue", "p_value", "pval")
_ID = ("id", "snp", "rsid", "variant_id", "rs_id")


def normalise_chrom(values: Any) -> np.ndarray:
    """Chromosome names without a ``chr`` prefix; ``M`` becomes ``MT``."""
    s = pd.Series(np.asarray(values, dtype=object)).astype(str).str.strip()
    s = s.str.replace(r"^(?i:chr)", "", regex=True)
    return s.replace({"M": "MT", "m": "MT"}).to_numpy(dtype=object)


def _find(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lower = {str(c).lower(): str(c) for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def read_gwas(spec: str | os.PathLike[str], *, lake: Any = None) -> pd.DataFrame:
    """Association results as ``chrom pos p`` (+ ``id``, ``beta`` when present), rows with a p-value."""

    def wanted(names: list[str]) -> list[str]:
        lower = {n.lower(): n for n in names}
        keep = {lower[n] for group in (_CHROM, _POS, _P, _ID, ("beta",)) for n in group[:] if n in lower}
        return [n for n in names if n in keep]

    frame, source, text_lines = read_frame(spec, lake=lake, select=wanted)
    cols = {k: _find(frame, names) for k, names in (("chrom", _CHROM), ("pos", _POS), ("p", _P))}
    missing = [k for k, v in cols.items() if v is None]
    if missing:
        raise InputError(
            f"no {', '.join(missing)} column (looked for chrom|chr|#chrom, pos|bp, p|pvalue|p_value; "
            f"columns: {', '.join(map(str, frame.columns))})",
            file=source,
        )

    def where(i: int) -> dict[str, Any]:
        return {"file": source, "line": i + 2} if text_lines else {"file": source, "record": i + 1}

    raw_p = frame[cols["p"]]
    p = pd.to_numeric(raw_p, errors="coerce").to_numpy(dtype=np.float64)
    text = raw_p.astype(str).str.strip()
    empty = raw_p.isna().to_numpy() | text.isin(["", "NA", "NaN", "nan", "None", "<NA>", "."]).to_numpy()
    bad = np.isnan(p) & ~empty
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"p-value {str(raw_p.iloc[i])!r} is not a number", **where(i))
    outside = ~np.isnan(p) & ~((p >= 0) & (p <= 1))
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise InputError(f"p-value {p[i]:g} is outside [0, 1]", **where(i))
    pos = pd.to_numeric(frame[cols["pos"]], errors="coerce").to_numpy(dtype=np.float64)
    bad_pos = np.isnan(pos) | (pos != np.round(pos)) | (pos < 0)
    if bad_pos.any():
        i = int(np.flatnonzero(bad_pos)[0])
        raise InputError(f"position {str(frame[cols['pos']].iloc[i])!r} is not an integer", **where(i))
    out = pd.DataFrame(
        {"chrom": frame[cols["chrom"]].astype(str).to_numpy(dtype=object), "pos": pos.astype(np.int64), "p": p}
    )
    id_col, beta_col = _find(frame, _ID), _find(frame, ("beta",))
    if id_col is not None:
        out["id"] = frame[id_col].astype(str).to_numpy(dtype=object)
    if beta_col is not None:
        out["beta"] = pd.to_numeric(frame[beta_col], errors="coerce").to_numpy(dtype=np.float64)
    return out[~np.isnan(p)].reset_index(drop=True)


def gwas_loci(
    gwas: pd.DataFrame,
    *,
    clump_p: float = 5e-8,
    clump_kb: float = 500.0,
    clump_p2: float = 1e-2,
    ld_ref: str | None = None,
    clump_r2: float = 0.1,
    lake: Any = None,
) -> pd.DataFrame:
    """Every variant with its locus: columns of ``gwas`` plus ``lead`` (the lead's row, -1), ``is_lead``, ``r2``.

    By distance without ``ld_ref``; as PLINK 1.9 ``--clump`` with it (``clump_p`` = ``--clump-p1``,
    ``clump_p2`` = ``--clump-p2``: variants with p ≥ ``clump_p2`` are not listed as members).
    Variants that are not in the reference get ``lead`` -1 and ``in_ref`` False.
    """
    df = gwas.reset_index(drop=True).copy()
    chrom = normalise_chrom(df["chrom"])
    if ld_ref is None:
        clumps = distance_clump(chrom, df["pos"].to_numpy(), df["p"].to_numpy(), p1=clump_p, kb=clump_kb)
        df["in_ref"] = True
    else:
        clumps, in_ref = _ld_clumps(df, chrom, ld_ref, lake, clump_p=clump_p, clump_kb=clump_kb, clump_r2=clump_r2)
        df["in_ref"] = in_ref
    lead = clumps.lead.copy()
    member = (lead >= 0) & ((df["p"].to_numpy() < clump_p2) | (lead == np.arange(lead.size)))
    df["lead"] = np.where(member, lead, -1)
    df["is_lead"] = np.zeros(len(df), dtype=bool)
    df.loc[clumps.leads, "is_lead"] = True
    df["r2"] = np.where(member, clumps.r2, np.nan)
    return df


def _ld_clumps(
    df: pd.DataFrame, chrom: np.ndarray, ld_ref: str, lake: Any, *, clump_p: float, clump_kb: float, clump_r2: float
) -> tuple[Clumps, np.ndarray]:
    from biolake.genomics.store import open_genotypes, read_block

    if lake is None:
        raise InputError("an LD reference needs a lake", file=ld_ref)
    store = open_genotypes(lake, ld_ref)
    import zarr

    group = zarr.open_group(store.path, mode="r")
    ref_contig = np.asarray(group["variant_contig"][:], dtype=np.int64)
    ref_pos = np.asarray(group["variant_position"][:], dtype=np.int64)
    contig_names = normalise_chrom(store.contigs)

    def match(ref_key: pd.Index, key: pd.Series) -> np.ndarray:
        first = pd.Series(np.arange(len(ref_key)), index=ref_key)
        first = first[~first.index.duplicated()]  # the first of duplicated reference keys (e.g. '.')
        return first.reindex(key.to_numpy()).fillna(-1).to_numpy(dtype=np.int64)

    ref_row = np.full(len(df), -1, dtype=np.int64)
    if "id" in df.columns:  # by variant id, as PLINK; by position when no id matches
        ids = df["id"].astype(str)
        ids = ids.where(~ids.isin([".", ""]), "\x00missing")  # a missing id matches nothing
        ref_row = match(pd.Index(np.asarray(group["variant_id"][:], dtype=object).astype(str)), ids)
    if not (ref_row >= 0).any():
        ref_chrom_pos = pd.Series(contig_names[ref_contig]).astype(str) + ":" + pd.Series(ref_pos).astype(str)
        ref_row = match(pd.Index(ref_chrom_pos), pd.Series(chrom).astype(str) + ":" + df["pos"].astype(str))
    in_ref = ref_row >= 0
    if not in_ref.any():
        raise InputError("no variant of the association results is in the LD reference", file=ld_ref)
    # one row per reference variant (the smallest p if the table lists it twice), in reference order
    sub = pd.DataFrame({"row": np.flatnonzero(in_ref), "ref": ref_row[in_ref], "p": df["p"].to_numpy()[in_ref]})
    sub = sub.sort_values(["ref", "p"], kind="stable").drop_duplicates("ref")
    sub["contig"], sub["pos"] = ref_contig[sub["ref"]], ref_pos[sub["ref"]]
    sub = sub.sort_values(["contig", "pos", "ref"], kind="stable").reset_index(drop=True)
    # only variants within clump_kb of a candidate index variant can be clumped: read those
    radius = int(clump_kb * 1000) + 1
    need = np.zeros(len(sub), dtype=bool)
    cand = sub.index[sub["p"] <= clump_p].to_numpy()
    for c in np.unique(sub["contig"].to_numpy()[cand]) if cand.size else []:
        on = np.flatnonzero(sub["contig"].to_numpy() == c)
        pos_on = sub["pos"].to_numpy()[on]
        lead_pos = np.sort(pos_on[sub["p"].to_numpy()[on] <= clump_p])
        k = np.searchsorted(lead_pos, pos_on)
        left = np.abs(pos_on - lead_pos[np.clip(k - 1, 0, lead_pos.size - 1)])
        right = np.abs(lead_pos[np.clip(k, 0, lead_pos.size - 1)] - pos_on)
        need[on] = np.minimum(left, right) <= radius
    sub = sub[need].reset_index(drop=True)
    geno = np.full((len(sub), store.n_samples), -1, dtype=np.int8)
    refs = sub["ref"].to_numpy()
    order = np.argsort(refs, kind="stable")
    for block in store.blocks():
        lo, hi = np.searchsorted(refs[order], [block.start, block.stop])
        if lo == hi:
            continue
        counts = read_block(block, annotations=False)["alt_count"]
        take = order[lo:hi]
        geno[take] = counts[refs[take] - block.start]
    clumps = ld_clump(
        sub["contig"].to_numpy(), sub["pos"].to_numpy(), sub["p"].to_numpy(), geno, p1=clump_p, r2=clump_r2, kb=clump_kb
    )
    # back to rows of the association table
    n = len(df)
    rows = sub["row"].to_numpy()
    lead = np.full(n, -1, dtype=np.int64)
    r2 = np.full(n, np.nan)
    has = clumps.lead >= 0
    lead[rows[has]] = rows[clumps.lead[has]]
    r2[rows] = clumps.r2
    return Clumps(rows[clumps.leads], lead, r2), in_ref


def gwas_score(p: np.ndarray, distance: np.ndarray, *, half_life_kb: float = 50.0) -> np.ndarray:
    """``min(1, −log10 p / 20) · 2^(−distance / (half_life_kb·1000))``."""
    with np.errstate(divide="ignore"):
        strength = np.minimum(1.0, -np.log10(np.asarray(p, dtype=np.float64)) / 20.0)
    return strength * np.exp2(-np.asarray(distance, dtype=np.float64) / (half_life_kb * 1000.0))


def assign_genes(
    leads: pd.DataFrame,
    genes: pd.DataFrame,
    *,
    window_kb: float = 500.0,
    distance: str = "body",
    assign: str = "window",
    half_life_kb: float = 50.0,
) -> pd.DataFrame:
    """Evidence rows of lead variants: ``gene gene_name variant chrom pos p distance nearest gene_start gene_end
    strand score`` (``nearest``: the lead's nearest gene; ties by gene id).

    ``leads`` has ``chrom pos p`` (and ``id``); ``genes`` is :func:`biolake.io.gtf.read_genes`' table.
    """
    gchrom = normalise_chrom(genes["chrom"])
    gstart, gend = genes["start"].to_numpy(np.int64), genes["end"].to_numpy(np.int64)
    minus = genes["strand"].to_numpy() == "-"
    tss = np.where(minus, gend, gstart)
    rows = []
    lchrom = normalise_chrom(leads["chrom"])
    window = window_kb * 1000.0
    for i in range(len(leads)):
        pos = int(leads["pos"].iat[i])
        on = gchrom == lchrom[i]
        if distance == "tss":
            d = np.abs(tss - pos).astype(np.float64)
        else:
            d = np.maximum(0, np.maximum(gstart - pos, pos - gend)).astype(np.float64)
        d[~on] = np.inf
        hit = np.flatnonzero(d <= window)
        if hit.size == 0:
            continue
        hit = hit[np.lexsort((genes["gene_id"].to_numpy()[hit].astype(str), d[hit]))]
        if assign == "nearest":
            hit = hit[:1]
        variant = leads["id"].iat[i] if "id" in leads.columns else f"{leads['chrom'].iat[i]}:{pos}"
        for rank, g in enumerate(hit):
            rows.append(
                (
                    genes["gene_id"].iat[g],
                    genes["gene_name"].iat[g],
                    variant,
                    leads["chrom"].iat[i],
                    pos,
                    float(leads["p"].iat[i]),
                    int(d[g]),
                    rank == 0,
                    int(gstart[g]),
                    int(gend[g]),
                    str(genes["strand"].iat[g]),
                )
            )
    columns = [
        "gene",
        "gene_name",
        "variant",
        "chrom",
        "pos",
        "p",
        "distance",
        "nearest",
        "gene_start",
        "gene_end",
        "strand",
    ]
    out = pd.DataFrame(rows, columns=columns)
    out["score"] = gwas_score(out["p"].to_numpy(), out["distance"].to_numpy(), half_life_kb=half_life_kb)
    return out
