"""Screening benchmark: PAINS/Brenk/NIH alerts, substructure search and Butina clustering, biolake vs RDKit.

Run: ``.venv/bin/python benchmarks/screening.py [--n-alerts 6000] [--n-cluster 4000] [--n-sub 100000]``;
prints a Markdown table (copied into ``benchmarks/results/screening.md``). All times are **CPU
time** (``time.process_time``, plus the CPU of reaped worker processes where a job uses them):
on a shared machine wall time says more about the other users than about the code.

* Alerts: RDKit ``FilterCatalog(C).HasMatch`` (a plain loop) vs biolake's pre-screened
  ``AlertScreen(C).has_matches``, on the same RDKit molecules (parsing excluded from both);
  molecules per CPU second, i.e. per core; flags compared for equality. Then the whole
  ``filter_library`` job (parsing from the lake included) on two processes.
* Substructure: a library of ``--n-sub`` molecules (tiles of RDKit's NCI set, the PAINS
  authors' set and the project's generated amide library, distinct ids) ingested once; per
  SMARTS, the ``substructure`` job with the stored pattern-fingerprint screen vs the same job
  on a copy of the library without the screen (every molecule parsed and matched, as before)
  vs an RDKit loop over molecules already parsed in memory; hits compared with the loop.
  Also the CPU the screen adds to the ingest (rebuilding the molecule from its canonical
  SMILES when the input differs, ``PatternFingerprint``, packing) per molecule.
* Clustering: RDKit ``Butina.ClusterData`` on ``1 - BulkTanimotoSimilarity`` distances
  (fingerprints in memory) vs ``cluster_library`` on the lake; assignments compared.
"""

from __future__ import annotations

import argparse
import csv
import resource
import shutil
import tempfile
import time
from pathlib import Path

import zarr
from rdkit import Chem, DataStructs, RDConfig, RDLogger
from rdkit.Chem import rdFingerprintGenerator
from rdkit.ML.Cluster import Butina

import biolake as bl
from biolake.discovery.cluster import cluster_library
from biolake.discovery.filters import AlertScreen, filter_library
from biolake.discovery.library import enumerate_library
from biolake.discovery.substructure import substructure
from biolake.io.molecules import ingest_molecules, pattern_words

RDLogger.DisableLog("rdApp.*")


def molecules(n: int) -> list[tuple[str, str]]:
    data = Path(RDConfig.RDDataDir)
    items = [tuple(line.split()[:2]) for line in (data / "NCI" / "first_5K.smi").read_text().splitlines()]
    with open(data / "Pains" / "test_data" / "wehi_mols.csv") as fh:
        items += [(r[0], r[1]) for r in csv.reader(fh)]
    out = []
    for smi, ident in items:
        mol = Chem.MolFromSmiles(smi)
        if mol is not None:
            out.append((Chem.MolToSmiles(mol), ident))
        if len(out) == n:
            break
    return out


def cpu() -> float:
    """CPU seconds of this process and of its reaped children (worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


SUB_SMARTS = [
    ("benzene (common)", "c1ccccc1"),
    ("amide (common)", "[NX3][CX3](=O)"),
    ("sulfonamide", "S(=O)(=O)N"),
    ("CF3 (rare)", "C(F)(F)F"),
    ("nitro (rare)", "[N+](=O)[O-]"),
    ("quinoline (rare)", "c1ccc2ncccc2c1"),
    ("any halogen, recursive", "[$([Cl,Br,I])]"),
]


def substructure_rows(n: int, d: Path) -> list[str]:
    """Ingest cost of the screen and substructure speed on an ``n``-molecule library."""
    base = [(s, i) for s, i in molecules(10**6)] + [(s, f"G{i}") for i, s in enumerate(enumerate_library(4500))]
    path = d / "sub.smi"
    with open(path, "w") as fh:
        for k in range(n):
            s, i = base[k % len(base)]
            fh.write(f"{s} {i}_{k // len(base)}\n")
    rows = []
    # ingest cost the screen adds, on a sample of the input (as the ingest kernel does it)
    sample = [Chem.MolFromSmiles(s) for s, _ in base[:5000]]
    canon = [Chem.MolToSmiles(m) for m in sample]
    inputs = [s for s, _ in base[:5000]]
    t = time.process_time()
    rebuilt = [m if text == c else Chem.MolFromSmiles(c) for m, text, c in zip(sample, inputs, canon, strict=True)]
    pattern_words(rebuilt)
    t_screen = (time.process_time() - t) / len(sample) * 1e6
    lake = bl.Lake.open(d / "sublake")
    t = cpu()
    ingest_molecules(lake, path, name="sub", chunk_size=2000)
    t_ingest = (cpu() - t) / n * 1e6
    rows.append(
        f"| ingest, CPU µs/molecule (both processes) | {n} | — | {t_ingest:,.0f} (screen: {t_screen:,.0f}, "
        f"{t_screen / t_ingest:.0%}) | — | — |"
    )
    # the same library without the screen: as ingested before it existed
    shutil.copytree(d / "sublake", d / "oldlake")
    old = bl.Lake.open(d / "oldlake")
    fp_path = Path(old.info("sub_fp").path)
    shutil.rmtree(fp_path / "pattern")
    zarr.consolidate_metadata(str(fp_path), zarr_format=2)
    table = lake.to_pandas("sub", columns=["smiles"])
    mols = [Chem.MolFromSmiles(s) for s in table.smiles]
    for label, smarts in SUB_SMARTS:
        pattern = Chem.MolFromSmarts(smarts)
        t = time.process_time()
        ref = [i for i, m in enumerate(mols) if m.HasSubstructMatch(pattern)]
        t_loop = time.process_time() - t
        t = time.process_time()
        got = substructure(lake, "sub", smarts, scheduler="synchronous")
        t_screen_job = time.process_time() - t
        n_verified = lake.info("sub_substructure").attrs["n_verified"]
        t = time.process_time()
        plain = substructure(old, "sub", smarts, scheduler="synchronous")
        t_plain = time.process_time() - t
        same = got["row"].tolist() == ref == plain["row"].tolist()
        rows.append(
            f"| substructure `{smarts}` {label}: {len(ref):,} hits, {n_verified:,} verified; CPU s: "
            f"no screen {t_plain:.2f}, RDKit loop on parsed mols {t_loop:.2f} | {n} | {t_plain:.2f} | "
            f"{t_screen_job:.2f} | {t_plain / t_screen_job:.1f}× ({t_loop / t_screen_job:.1f}× the loop) | {same} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its Markdown table (``python -m benchmarks screening`` or this file)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-alerts", type=int, default=6000)
    ap.add_argument("--n-cluster", type=int, default=4000)
    ap.add_argument("--n-sub", type=int, default=100_000)
    args = ap.parse_args(argv)
    rows = ["| task (CPU time) | n | RDKit / before | biolake | speed-up | identical |", "|---|---|---|---|---|---|"]
    mols_smi = molecules(max(args.n_alerts, args.n_cluster))
    sub = mols_smi[: args.n_alerts]
    mols = [Chem.MolFromSmiles(s) for s, _ in sub]
    for cat in ("PAINS", "BRENK", "NIH"):
        screen = AlertScreen(cat)
        screen.has_matches(mols[:20])  # warm-up (numba)
        t = time.process_time()
        ref = [screen.catalog.HasMatch(m) for m in mols]
        t_ref = time.process_time() - t
        t = time.process_time()
        got = screen.has_matches(mols, prescreen=True).tolist()
        t_got = time.process_time() - t
        rows.append(
            f"| {cat} alerts, mol per CPU s | {len(mols)} | {len(mols) / t_ref:,.0f} | {len(mols) / t_got:,.0f} "
            f"| {t_ref / t_got:.1f}× | {got == ref} |"
        )
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "lib.smi"
        path.write_text("".join(f"{s} {i}\n" for s, i in sub))
        lake = bl.Lake.open(Path(d) / "lake")
        ingest_molecules(lake, path, name="lib")
        filter_library(lake, "lib", rules="pains", chunk_rows=500)  # warm-up (numba cache)
        t = cpu()
        df = filter_library(lake, "lib", rules="pains,brenk,nih", chunk_rows=500)
        t_job = cpu() - t
        rows.append(
            f"| filter --rules pains,brenk,nih job, 2 processes (parsing, worker start-up included), "
            f"mol per CPU s | {len(df)} | — | {len(df) / t_job:,.0f} | — | — |"
        )
        csub = mols_smi[: args.n_cluster]
        path2 = Path(d) / "c.smi"
        path2.write_text("".join(f"{s} {i}\n" for s, i in csub))
        ingest_molecules(lake, path2, name="c")
        gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
        fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s, _ in csub]
        t = time.process_time()
        dists: list[float] = []
        for i in range(1, len(fps)):
            dists.extend(1.0 - s for s in DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i]))
        ref_c = Butina.ClusterData(dists, len(fps), 0.4, isDistData=True)
        t_ref = time.process_time() - t
        cluster_library(lake, "c", threshold=0.6)  # warm-up (numba)
        t = cpu()
        got_c = cluster_library(lake, "c", threshold=0.6)
        t_got = cpu() - t
        tuples = tuple(
            tuple(g.row[g.centroid].tolist() + sorted(g.row[~g.centroid].tolist()))
            for _, g in got_c.groupby("cluster", sort=True)
        )
        rows.append(
            f"| Butina t=0.6 (distances + clustering), CPU s | {len(fps)} | {t_ref:.2f} | {t_got:.2f} "
            f"| {t_ref / t_got:.1f}× | {tuples == ref_c} |"
        )
        if args.n_sub:
            rows += substructure_rows(args.n_sub, Path(d))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
