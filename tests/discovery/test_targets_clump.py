"""Locus definition: LD clumping against PLINK 1.9 ``--clump``, distance clumping and r² by hand.

The reference (``tests/data/discovery/targets``, made by ``make_clump_reference.py`` with
PLINK v1.90b6.26; versions in ``versions.txt``)::

    plink1.9 --bfile ld --clump gwas.tsv --clump-p1 1e-4 --clump-p2 0.01 --clump-r2 0.1 --clump-kb 250 --out clump_a
    plink1.9 --bfile ld --clump gwas.tsv --clump-p1 5e-8 --clump-p2 1e-3 --clump-r2 0.5 --clump-kb 100 --out clump_b
    plink1.9 --bfile ld --clump gwas.tsv --clump-p1 0.01 --clump-p2 0.05 --clump-r2 0.2 --clump-kb 50  --out clump_c
    # and each again with --clump-verbose (the r² of every clump member, RSQ, 3 significant digits)

``ld`` has 600 founders and 600 variants with LD (1% missing calls); ``gwas.tsv`` lists most
of them plus 3 variants that are not in the fileset (ignored by PLINK, and by biolake).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from biolake.discovery.targets.gwas import gwas_loci, read_gwas
from biolake.io.plink import ingest_plink
from biolake.lake import Lake
from biolake.stats.clump import distance_clump, plink_r2

DATA = Path(__file__).resolve().parents[1] / "data" / "discovery" / "targets"
SETTINGS = {
    "a": {"clump_p": 1e-4, "clump_p2": 0.01, "clump_r2": 0.1, "clump_kb": 250},
    "b": {"clump_p": 5e-8, "clump_p2": 1e-3, "clump_r2": 0.5, "clump_kb": 100},
    "c": {"clump_p": 0.01, "clump_p2": 0.05, "clump_r2": 0.2, "clump_kb": 50},
}


def _clumped(path: Path) -> list[tuple[str, set[str]]]:
    """(index SNP, SP2 members) per clump of a PLINK 1.9 .clumped file, in file order (by p)."""
    out = []
    for line in path.read_text().splitlines()[1:]:
        fields = line.split()
        if not fields:
            continue
        sp2 = set() if fields[11] == "NONE" else {re.sub(r"\(\d+\)$", "", s) for s in fields[11].split(",")}
        out.append((fields[2], sp2))
    return out


def _verbose_r2(path: Path) -> dict[tuple[str, str], float]:
    """(index, member) → RSQ of a --clump-verbose file."""
    out: dict[tuple[str, str], float] = {}
    index = None
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "(INDEX)":
            index = fields[1]
        elif index and len(fields) == 6 and re.fullmatch(r"rs\S+", fields[0]):
            out[(index, fields[0])] = float(fields[2])
        elif fields[:1] == ["RANGE:"]:
            index = None
    return out


@pytest.fixture(scope="module")
def ld_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake.open(tmp_path_factory.mktemp("clump") / "lake")
    ingest_plink(lake, DATA / "ld", name="ld")
    return lake


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_gwas_loci__ld_clumps_equal_plink19(ld_lake: Lake, setting: str) -> None:
    """Index variants (in PLINK's order), their SP2 members and r² (to PLINK's 3 printed digits) agree."""
    gwas = read_gwas(DATA / "gwas.tsv")
    loci = gwas_loci(gwas, ld_ref="lake:ld", lake=ld_lake, **SETTINGS[setting])
    expected = _clumped(DATA / f"clump_{setting}.clumped")
    leads = loci[loci["is_lead"]].sort_values("p", kind="stable")
    assert leads["id"].tolist() == [e[0] for e in expected]
    rsq = _verbose_r2(DATA / f"clump_{setting}_verbose.clumped")
    n_checked = 0
    for (index, sp2), (row, _) in zip(expected, leads.iterrows(), strict=True):
        members = loci[(loci["lead"] == row) & ~loci["is_lead"]]
        assert set(members["id"]) == sp2, index
        for vid, r2 in zip(members["id"], members["r2"], strict=True):
            assert r2 == pytest.approx(rsq[(index, vid)], abs=6e-4), (index, vid)
            n_checked += 1
    assert n_checked == sum(len(e[1]) for e in expected) > 10
    assert not loci.loc[loci["id"].str.startswith("rsX"), "in_ref"].any()


def test_plink_r2__hand_worked_without_double_heterozygotes() -> None:
    """ALT counts (a, b) per sample: (2,2), (2,2), (0,0), (2,0), and one missing call (ignored).

    Haplotypes are known (no double heterozygote): 11 ×4, 00 ×2, 10 ×2 of 8 → p_a = 0.75,
    p_b = 0.5, p_11 = 0.5, D = 0.5 − 0.375 = 0.125, r² = D²/(0.75·0.25·0.5·0.5) = 0.015625/0.046875 = 1/3.
    """
    a = np.array([2, 2, 0, 2, -1], dtype=np.int8)
    b = np.array([2, 2, 0, 0, 1], dtype=np.int8)
    assert plink_r2(a, b) == pytest.approx(1 / 3, rel=1e-12)
    assert plink_r2(b, a) == pytest.approx(1 / 3, rel=1e-12)
    assert plink_r2(a, a) == pytest.approx(1.0, rel=1e-12)
    assert plink_r2(a, 2 - a.clip(0)) == pytest.approx(-1.0, rel=1e-12)  # alleles swapped: r² signed like D
    assert np.isnan(plink_r2(a, np.zeros(5, dtype=np.int8)))  # monomorphic


def test_distance_clump__greedy_by_p_within_window() -> None:
    """p: v0 1e-9 @100, v1 1e-10 @200,000, v2 1e-8 @900,000, v3 1e-12 chr2 @100, v4 0.5 @600,000 (kb = 500).

    v3 (best) leads chr2; v1 leads and takes v0 (199,900 bp away) and v4 (399,800 bp); v2 is
    700,000 bp from v1 → its own lead. Window is |Δ| ≤ 499,999 (PLINK's radius).
    """
    chrom = np.array(["1", "1", "1", "2", "1"], dtype=object)
    pos = np.array([100, 200_000, 900_000, 100, 600_000])
    p = np.array([1e-9, 1e-10, 1e-8, 1e-12, 0.5])
    res = distance_clump(chrom, pos, p, p1=5e-8, kb=500)
    assert res.leads.tolist() == [3, 1, 2]
    assert res.lead.tolist() == [1, 1, 2, 3, 1]
    edge = distance_clump(np.array(["1", "1"]), np.array([0, 500_000]), np.array([1e-9, 1e-8]), p1=5e-8, kb=500)
    assert edge.leads.tolist() == [0, 1]  # exactly 500 kb apart: outside the window


def test_gwas_loci__distance_members_respect_p2() -> None:
    """Without an LD reference: members are variants within the window with p < clump_p2."""
    gwas = pd.DataFrame({"chrom": ["chr1", "1", "1"], "pos": [1000, 5000, 9000], "p": [1e-9, 0.5, 1e-3]})
    loci = gwas_loci(gwas, clump_p=5e-8, clump_kb=100, clump_p2=0.01)
    assert loci["is_lead"].tolist() == [True, False, False]
    assert loci["lead"].tolist() == [0, -1, 0]


def test_gwas_loci__matched_by_position_without_ids(ld_lake: Lake) -> None:
    """Without usable ids (no column, or '.'), variants match the reference by chromosome:position: same clumps."""
    gwas = read_gwas(DATA / "gwas.tsv")
    by_id = gwas_loci(gwas, ld_ref="lake:ld", lake=ld_lake, **SETTINGS["a"])
    for table in (gwas.drop(columns=["id"]), gwas.assign(id=".")):
        by_pos = gwas_loci(table, ld_ref="lake:ld", lake=ld_lake, **SETTINGS["a"])
        assert by_pos["lead"].tolist() == by_id["lead"].tolist()
        assert int((~by_pos["in_ref"]).sum()) == 3  # the rsX variants are at positions the fileset lacks
