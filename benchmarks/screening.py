"""Screening benchmark: PAINS/Brenk/NIH alerts and Butina clustering, biolake vs RDKit.

Run: ``.venv/bin/python benchmarks/screening.py [--n-alerts 6000] [--n-cluster 4000]``; prints a
Markdown table (copied into ``benchmarks/results/screening.md``).

* Alerts: RDKit ``FilterCatalog(C).HasMatch`` on one core (a plain loop) vs biolake's
  pre-screened ``AlertScreen(C).has_matches`` on one core, on the same RDKit molecules
  (parsing excluded from both); flags compared for equality. Then the whole
  ``filter_library`` job (parsing from the lake included) on both cores.
* Clustering: RDKit ``Butina.ClusterData`` on ``1 - BulkTanimotoSimilarity`` distances
  (fingerprints in memory) vs ``cluster_library`` on the lake; assignments compared.
Molecules: RDKit's own NCI set and the PAINS authors' test set (``wehi_mols.csv``).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from rdkit import Chem, DataStructs, RDConfig, RDLogger
from rdkit.Chem import rdFingerprintGenerator
from rdkit.ML.Cluster import Butina

import biolake as bl
from biolake.discovery.cluster import cluster_library
from biolake.discovery.filters import AlertScreen, filter_library
from biolake.io.molecules import ingest_molecules

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-alerts", type=int, default=6000)
    ap.add_argument("--n-cluster", type=int, default=4000)
    args = ap.parse_args()
    rows = ["| task | n | RDKit (1 core) | biolake | speed-up | identical |", "|---|---|---|---|---|---|"]
    mols_smi = molecules(max(args.n_alerts, args.n_cluster))
    sub = mols_smi[: args.n_alerts]
    mols = [Chem.MolFromSmiles(s) for s, _ in sub]
    for cat in ("PAINS", "BRENK", "NIH"):
        screen = AlertScreen(cat)
        t = time.perf_counter()
        ref = [screen.catalog.HasMatch(m) for m in mols]
        t_ref = time.perf_counter() - t
        t = time.perf_counter()
        got = screen.has_matches(mols, prescreen=True).tolist()
        t_got = time.perf_counter() - t
        rows.append(
            f"| {cat} alerts, 1 core, mol/s | {len(mols)} | {len(mols) / t_ref:,.0f} | {len(mols) / t_got:,.0f} "
            f"| {t_ref / t_got:.1f}× | {got == ref} |"
        )
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "lib.smi"
        path.write_text("".join(f"{s} {i}\n" for s, i in sub))
        lake = bl.Lake.open(Path(d) / "lake")
        ingest_molecules(lake, path, name="lib")
        filter_library(lake, "lib", rules="pains", chunk_rows=500)  # warm-up (worker start)
        t = time.perf_counter()
        df = filter_library(lake, "lib", rules="pains", chunk_rows=500)
        t_job = time.perf_counter() - t
        rows.append(
            f"| filter --rules pains job, 2 processes (parsing included), mol/s | {len(df)} | — "
            f"| {len(df) / t_job:,.0f} | — | — |"
        )
        csub = mols_smi[: args.n_cluster]
        path2 = Path(d) / "c.smi"
        path2.write_text("".join(f"{s} {i}\n" for s, i in csub))
        ingest_molecules(lake, path2, name="c")
        gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
        fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s, _ in csub]
        t = time.perf_counter()
        dists: list[float] = []
        for i in range(1, len(fps)):
            dists.extend(1.0 - s for s in DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i]))
        ref_c = Butina.ClusterData(dists, len(fps), 0.4, isDistData=True)
        t_ref = time.perf_counter() - t
        cluster_library(lake, "c", threshold=0.6)  # warm-up (numba)
        t = time.perf_counter()
        got_c = cluster_library(lake, "c", threshold=0.6)
        t_got = time.perf_counter() - t
        tuples = tuple(
            tuple(g.row[g.centroid].tolist() + sorted(g.row[~g.centroid].tolist()))
            for _, g in got_c.groupby("cluster", sort=True)
        )
        rows.append(
            f"| Butina t=0.6 (distances + clustering), s | {len(fps)} | {t_ref:.2f} | {t_got:.2f} "
            f"| {t_ref / t_got:.1f}× | {tuples == ref_c} |"
        )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
