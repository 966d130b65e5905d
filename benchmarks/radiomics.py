"""IBSI radiomics: biolake vs MIRP vs PyRadiomics, on the IBSI CT phantom and synthetic CT-like volumes.

``python -m benchmarks radiomics [--n 20] [--shape 64,256,256] [--large [--large-n 100]] [--quick]
[--skip-mirp] [--mirp-cases K] [--pyradiomics-python PY]``

1. Inputs: the IBSI 1 CT phantom (read in place from ``../shared/data/ibsi``, never
   copied; skipped when absent) and ``--n`` synthetic CT-like volumes
   (:func:`biolake.imaging.demo.synthetic_ct`, seeds 0…n−1, ``--shape`` z,y,x voxels of
   0.8 × 0.8 × 2 mm, one lobulated textured lesion each) written once as NIfTI under
   ``benchmarks/work/radiomics/cases``. ``--large`` adds ``--large-n`` (default 100) volumes of
   512×512×100 (the same generator: one lesion of about 3·10⁵ voxels); ``--quick``: 3 × 32×128×128.
2. The same settings for every tool: no interpolation, re-segmentation range
   [−500, 400] HU, fixed bin size 25 HU, 3-D features (biolake ``3D_avg``/``3D_comb``
   aggregation, MIRP ``3d_average``/``3d_volume_merge``, PyRadiomics its default 107
   features, whose texture matrices are 3-D direction-averaged).
3. Each tool runs in its own process (wall time and peak RSS of the process tree by
   ``run_measured``) and times each case (read + features) itself, in CPU time
   (``time.process_time``: user + system, all threads) and wall time; one warm-up case is
   computed first and not counted (numba caches, imports). ``--mirp-cases K`` runs MIRP
   (slow) on the first K cases of each synthetic set only.
   MIRP: ``pip install mirp`` (2.7.0) in this interpreter. PyRadiomics 3.0.1 lives in its
   own venv (``benchmarks/work/radiomics/pyradiomics-venv``: ``numpy<2``, then
   ``pip install --no-build-isolation pyradiomics==3.0.1``).
4. Agreement: every feature biolake and MIRP share (max relative difference), and a
   hand-made map of PyRadiomics features onto IBSI tags (the differences and their causes
   are listed in the result).
5. biolake's table through :func:`biolake.imaging.radiomics_table` with 1 worker
   (synchronous), 1 thread, 2 threads, 2 processes and a 2-worker ``distributed.LocalCluster``:
   the tables must be identical.
6. Writes ``benchmarks/results/radiomics.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks._common import (
    ROOT,
    WORK_DIR,
    GiB,
    fmt_bytes,
    fmt_seconds,
    machine_facts,
    markdown_table,
    run_measured,
    write_results,
)

NAME = "radiomics"
LARGE_SHAPE = (100, 512, 512)
HERE = WORK_DIR / NAME
CT = ROOT.parent / "shared" / "data" / "ibsi" / "ibsi_1_ct_radiomics_phantom" / "nifti"
PYRADIOMICS_VENV = HERE / "pyradiomics-venv" / "bin" / "python"

_BIOLAKE = """
import json, sys, time
from biolake.imaging import RadiomicsSettings, radiomics_features
from biolake.io.images import read_nifti
cases = json.loads(open(sys.argv[1]).read()); out = sys.argv[2]
s = RadiomicsSettings(resegment_range=(-500, 400), discretization={"method": "fixed_bin_size", "width": 25},
                      aggregation=("3D_avg", "3D_comb"))
def one(img, msk):
    image, mask = read_nifti(img), read_nifti(msk)
    return radiomics_features(image, mask.array > 0, settings=s)
one(*cases[0])  # warm-up
res = []
for img, msk in cases:
    t0, c0 = time.perf_counter(), time.process_time(); f = one(img, msk)
    res.append({"case": img, "seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "features": f})
json.dump(res, open(out, "w"))
"""

_MIRP = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
from mirp import extract_features
cases = json.loads(open(sys.argv[1]).read()); out = sys.argv[2]
def one(img, msk):
    r = extract_features(image=img, mask=msk, image_modality="CT", by_slice=False,
        resegmentation_intensity_range=[-500.0, 400.0], base_discretisation_method="fixed_bin_size",
        base_discretisation_bin_width=25.0, ivh_discretisation_method="none",
        glcm_spatial_method=["3d_average", "3d_volume_merge"], glrlm_spatial_method=["3d_average", "3d_volume_merge"],
        num_cpus=1)[0].iloc[0]
    return {str(k): float(v) for k, v in r.items() if isinstance(v, (int, float))}
one(*cases[0])
res = []
for img, msk in cases:
    t0, c0 = time.perf_counter(), time.process_time(); f = one(img, msk)
    res.append({"case": img, "seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "features": f})
json.dump(res, open(out, "w"))
"""

_PYRADIOMICS = """
import json, sys, time, logging
import radiomics
from radiomics import featureextractor
radiomics.setVerbosity(logging.ERROR)
cases = json.loads(open(sys.argv[1]).read()); out = sys.argv[2]
ex = featureextractor.RadiomicsFeatureExtractor(binWidth=25, resegmentRange=[-500, 400])
def one(img, msk):
    r = ex.execute(img, msk)
    return {k: float(v) for k, v in r.items() if k.startswith("original_")}
one(*cases[0])
res = []
for img, msk in cases:
    t0, c0 = time.perf_counter(), time.process_time(); f = one(img, msk)
    res.append({"case": img, "seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "features": f})
json.dump(res, open(out, "w"))
"""

_BACKENDS = """
import json, sys
import pandas as pd
from biolake.imaging import RadiomicsCase, RadiomicsSettings, radiomics_table
from biolake.lake.backend import get_backend
cases = [RadiomicsCase(i, m) for i, m in json.loads(open(sys.argv[1]).read())]
s = RadiomicsSettings(resegment_range=(-500, 400), discretization={"method": "fixed_bin_size", "width": 25},
                      aggregation=("3D_avg", "3D_comb"))
tables = {"1 worker (synchronous)": radiomics_table(cases, settings=s, scheduler="synchronous")}
for name, kind, n in (("1 thread", "threads", 1), ("2 threads", "threads", 2), ("2 processes", "processes", 2)):
    with get_backend(kind, workers=n) as backend:
        tables[name] = radiomics_table(cases, settings=s, backend=backend)
try:
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, Client(cl) as c:
        tables["Dask LocalCluster (2 workers)"] = radiomics_table(cases, settings=s, scheduler=c)
except ImportError:
    pass
ref = tables["1 worker (synchronous)"]
json.dump({k: bool(t.equals(ref)) for k, t in tables.items()} | {"shape": list(ref.shape)}, open(sys.argv[2], "w"))
"""

# PyRadiomics feature → IBSI tag (3-D; texture matrices averaged over 13 directions = 3D_avg)
PYRADIOMICS_MAP = {
    "original_shape_MeshVolume": "morph_volume",
    "original_shape_VoxelVolume": "morph_vol_approx",
    "original_shape_SurfaceArea": "morph_area_mesh",
    "original_shape_Sphericity": "morph_sphericity",
    "original_shape_Maximum3DDiameter": "morph_diam",
    "original_shape_MajorAxisLength": "morph_pca_maj_axis",
    "original_shape_LeastAxisLength": "morph_pca_least_axis",
    "original_firstorder_Mean": "stat_mean",
    "original_firstorder_Variance": "stat_var",
    "original_firstorder_Skewness": "stat_skew",
    "original_firstorder_Kurtosis": "stat_kurt",
    "original_firstorder_Median": "stat_median",
    "original_firstorder_Minimum": "stat_min",
    "original_firstorder_Maximum": "stat_max",
    "original_firstorder_10Percentile": "stat_p10",
    "original_firstorder_90Percentile": "stat_p90",
    "original_firstorder_InterquartileRange": "stat_iqr",
    "original_firstorder_Range": "stat_range",
    "original_firstorder_MeanAbsoluteDeviation": "stat_mad",
    "original_firstorder_RobustMeanAbsoluteDeviation": "stat_rmad",
    "original_firstorder_Energy": "stat_energy",
    "original_firstorder_RootMeanSquared": "stat_rms",
    "original_firstorder_Entropy": "ih_entropy",
    "original_firstorder_Uniformity": "ih_uniformity",
    "original_glcm_Contrast": "cm_contrast_3D_avg",
    "original_glcm_JointEntropy": "cm_joint_entr_3D_avg",
    "original_glcm_JointEnergy": "cm_energy_3D_avg",
    "original_glcm_Idm": "cm_inv_diff_mom_3D_avg",
    "original_glcm_Correlation": "cm_corr_3D_avg",
    "original_glcm_JointAverage": "cm_joint_avg_3D_avg",
    "original_glrlm_ShortRunEmphasis": "rlm_sre_3D_avg",
    "original_glrlm_LongRunEmphasis": "rlm_lre_3D_avg",
    "original_glrlm_RunPercentage": "rlm_r_perc_3D_avg",
    "original_glszm_SmallAreaEmphasis": "szm_sze_3D",
    "original_glszm_ZonePercentage": "szm_z_perc_3D",
    "original_glszm_ZoneEntropy": "szm_zs_entr_3D",
    "original_ngtdm_Coarseness": "ngt_coarseness_3D",
    "original_ngtdm_Contrast": "ngt_contrast_3D",
    "original_ngtdm_Busyness": "ngt_busyness_3D",
}

# Differences of PyRadiomics from IBSI whose cause is documented (PyRadiomics docs, IBSI 1 definitions)
PYRADIOMICS_CAUSES = {
    "stat_kurt": "PyRadiomics reports kurtosis without the −3 (IBSI: excess kurtosis); the values differ by 3",
    "cm_joint_avg_3D_avg": "grey-level numbering: PyRadiomics numbers fixed-size bins from the bin of the ROI "
    "minimum, IBSI from the re-segmentation bound −500 HU; level-valued features shift (equal when the ROI reaches "
    "−500, as in the CT phantom)",
    "ngt_busyness_3D": "grey-level numbering (as cm_joint_avg): the denominator |i·p_i − j·p_j| uses level values",
    "morph_pca_maj_axis": "PCA covariance divided by n in PyRadiomics, n − 1 in biolake and MIRP (≈ 1/(2n))",
    "morph_pca_least_axis": "PCA covariance divided by n in PyRadiomics, n − 1 in biolake and MIRP (≈ 1/(2n))",
    "morph_volume": "PyRadiomics' own marching-cubes mesh (C extension) vs scikit-image Lewiner at 0.5 (IBSI/MIRP)",
    "morph_area_mesh": "PyRadiomics' own marching-cubes mesh (C extension) vs scikit-image Lewiner at 0.5",
    "morph_sphericity": "from the mesh volume and area (see morph_volume)",
}


_GENERATE = """
import json, sys
import SimpleITK as sitk
from biolake.imaging.demo import synthetic_ct
for k, img, msk in json.loads(sys.argv[1]):
    image, mask = synthetic_ct(seed=k, shape=tuple(json.loads(sys.argv[2])))
    for vol, path in ((image, img), (mask, msk)):
        itk = sitk.GetImageFromArray(vol.array)
        itk.SetSpacing(vol.spacing)
        itk.SetOrigin(vol.origin)
        sitk.WriteImage(itk, path)
"""


NOTES = """## Notes

- Times per case are measured inside each tool's process: **CPU** (user + system of the
  process, all its threads: `time.process_time`) and wall (`time.perf_counter`). The
  machine is a shared 2-core box where other jobs ran at the same time (see the load
  average below), so wall times are inflated by waiting for a core and vary from run to
  run; the CPU times and the CPU ratios are the figures to compare. biolake runs the
  morphology family (mesh, convex hull, Moran's I / Geary's C FFTs) on a second thread
  while the other families run, so on an idle machine its wall time is below its CPU time.
- biolake computes 211 features here, including Moran's I and Geary's C *exactly* (an FFT
  quadratic form over the ROI's box); MIRP estimates those two from random voxel subsets, PyRadiomics
  has neither. The MIRP differences above are the ones documented in `docs/imaging.md`
  ("Against MIRP"): Moran's I / Geary's C (MIRP's sampling) and `ivh_v10`/`ivh_v90`/
  `ivh_diff_v10_v90` without IVH discretisation (MIRP takes the fraction over the
  re-segmentation range, biolake and IBSI over the ROI's intensities).
- PyRadiomics: the kurtosis differs by exactly 3 and `cm_joint_avg_3D_avg` by exactly
  floor((ROI minimum + 500)/25) grey levels (14 levels on the synthetic lesions, 0 on the CT
  phantom whose ROI reaches −500 HU). On the CT phantom `ngt_contrast_3D` (4.1e-4),
  `ngt_coarseness_3D` and `ngt_busyness_3D` (1–2e-5) differ slightly while they agree to
  1e-14 on the synthetic volumes: not investigated.
- The large run (`--large`, `--large-n`, default 100 volumes of 512 × 512 × 100 voxels of
  0.8 × 0.8 × 2 mm, one lobulated textured lung lesion of about 3·10⁵ voxels each) and MIRP on a
  subset (`--mirp-cases K`: the warm-up case and the first K cases of each synthetic set) were run
  with the counts shown in the tables; see each table's "cases" column."""


def _cases(n: int, shape: tuple[int, int, int]) -> list[tuple[str, str]]:
    """Write the synthetic cases once (in a child process, so this process stays small)."""
    import subprocess

    folder = HERE / "cases" / f"{shape[0]}x{shape[1]}x{shape[2]}"
    folder.mkdir(parents=True, exist_ok=True)
    out, todo = [], []
    for k in range(n):
        img, msk = folder / f"case{k:03d}.nii.gz", folder / f"case{k:03d}_mask.nii.gz"
        if not (img.exists() and msk.exists()):
            todo.append((k, str(img), str(msk)))
        out.append((str(img), str(msk)))
    if todo:
        subprocess.run([sys.executable, "-c", _GENERATE, json.dumps(todo), json.dumps(list(shape))], check=True)
    return out


def _run(tool: str, python: str, code: str, cases: list[tuple[str, str]], tag: str, timeout: float) -> dict:
    listing = HERE / f"{tag}_cases.json"
    listing.write_text(json.dumps(cases))
    out = HERE / f"{tag}_{tool}.json"
    out.unlink(missing_ok=True)
    m = run_measured([python, "-c", code, listing, out], label=f"{tool} · {tag}", timeout=timeout, rss_limit=6 * GiB)
    res = json.loads(out.read_text()) if m.ok and out.exists() else []
    return {"m": m, "cases": res}


def _mirp_tag():
    """MIRP name → IBSI tag, from the script that made the MIRP test references."""
    import importlib.util

    path = ROOT / "tests" / "data" / "reference" / "imaging" / "mirp_reference.py"
    spec = importlib.util.spec_from_file_location("_mirp_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.biolake_tag


def _rel(a: float, b: float) -> float:
    if not (np.isfinite(a) and np.isfinite(b)):
        return 0.0 if (np.isnan(a) and np.isnan(b)) or a == b else float("inf")
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def _agreement(ours: list[dict], theirs: list[dict], mapping: dict[str, str] | None) -> dict[str, float]:
    """Feature (IBSI tag) → max relative difference over the cases."""
    worst: dict[str, float] = {}
    by_case = {c["case"]: c for c in ours}
    for b in theirs:  # the cases the other tool ran (MIRP may run a subset)
        if b["case"] not in by_case:
            continue
        fa, fb = by_case[b["case"]]["features"], b["features"]
        pairs = (
            [(t, fb[k]) for k, t in mapping.items() if k in fb and t in fa]
            if mapping
            else [(k, fb[k]) for k in fa if k in fb]
        )
        for tag, value in pairs:
            worst[tag] = max(worst.get(tag, 0.0), _rel(float(fa[tag]), float(value)))
    return worst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks radiomics", description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="synthetic volumes of --shape")
    ap.add_argument("--shape", default="64,256,256", help="z,y,x voxels of the synthetic volumes")
    ap.add_argument("--large", action="store_true", help="also the large run: --large-n volumes of 100×512×512")
    ap.add_argument("--large-n", type=int, default=100, help="volumes in the large run (default 100)")
    ap.add_argument("--quick", action="store_true", help="3 volumes of 32×128×128 (results under benchmarks/work/)")
    ap.add_argument("--skip-mirp", action="store_true")
    ap.add_argument(
        "--mirp-cases", type=int, default=None, help="MIRP on the first K cases of each synthetic set only (slow)"
    )
    ap.add_argument("--pyradiomics-python", default=str(PYRADIOMICS_VENV))
    ap.add_argument("--timeout", type=float, default=3600)
    args = ap.parse_args(argv)
    shape = tuple(int(v) for v in args.shape.split(","))
    n = args.n
    if args.quick:
        n, shape = 3, (32, 128, 128)
    HERE.mkdir(parents=True, exist_ok=True)
    tools: dict[str, tuple[str, str]] = {"biolake": (sys.executable, _BIOLAKE)}
    try:
        import mirp  # noqa: F401

        if not args.skip_mirp:
            tools["MIRP 2.7"] = (sys.executable, _MIRP)
    except ImportError:
        print("MIRP not importable here: skipped")
    if Path(args.pyradiomics_python).exists():
        tools["PyRadiomics 3.0.1"] = (args.pyradiomics_python, _PYRADIOMICS)
    else:
        print(f"no PyRadiomics interpreter at {args.pyradiomics_python}: skipped")

    datasets: dict[str, list[tuple[str, str]]] = {}
    if CT.is_dir():
        ct = (str(CT / "image" / "phantom.nii.gz"), str(CT / "mask" / "mask.nii.gz"))
        datasets["IBSI CT phantom"] = [ct, ct]  # the first is the warm-up
    synth = _cases(n + 1, shape)  # + 1 warm-up case
    datasets[f"{n} synthetic {shape[2]}×{shape[1]}×{shape[0]}"] = synth
    if args.large:
        datasets[f"{args.large_n} CT-like 512×512×100"] = _cases(args.large_n + 1, LARGE_SHAPE)

    body = [
        "Settings for every tool: no interpolation, re-segmentation [−500, 400] HU, fixed bin size 25 HU, "
        "3-D features. Each tool in its own process; seconds per case = read + all features of one case, "
        "one warm-up case not counted. Peak RSS: the largest sum over the process tree sampled every "
        "0.05 s, and the kernel's high-water mark `ru_maxrss` of the tool's process."
    ]
    results: dict[str, dict[str, dict]] = {}
    for dname, cases in datasets.items():
        tag = "ct" if dname.startswith("IBSI") else "large" if "512" in dname else "synthetic"
        results[dname] = {}
        for t, (py, code) in tools.items():
            subset = cases
            if t.startswith("MIRP") and tag != "ct" and args.mirp_cases is not None:
                subset = cases[: args.mirp_cases + 1]
            results[dname][t] = _run(t, py, code, subset, tag, args.timeout)
        rows = []
        base = {c["case"]: c for c in results[dname]["biolake"]["cases"][1:]}
        for t, r in results[dname].items():
            counted = r["cases"][1:]
            secs = [c["seconds"] for c in counted]
            cpus = [c.get("cpu", float("nan")) for c in counted]
            mean, cpu = (float(np.mean(secs)), float(np.mean(cpus))) if secs else (None, None)
            nfeat = len(counted[0]["features"]) if counted else 0
            # ratios over the cases both tools ran (MIRP may run a subset)
            ours_s = [base[c["case"]]["seconds"] for c in counted if c["case"] in base]
            ours_c = [base[c["case"]].get("cpu", float("nan")) for c in counted if c["case"] in base]
            speed = f"{mean / np.mean(ours_s):.1f}×" if mean and ours_s else "–"
            speed_cpu = f"{cpu / np.mean(ours_c):.1f}×" if cpu and ours_c else "–"
            rows.append(
                [
                    t,
                    r["m"].status,
                    len(counted),
                    nfeat,
                    fmt_seconds(cpu),
                    fmt_seconds(max(cpus) if cpus else None),
                    fmt_seconds(mean),
                    speed_cpu,
                    speed,
                    fmt_bytes(r["m"].peak_rss),
                    fmt_bytes(r["m"].ru_maxrss),
                ]
            )
        body.append(
            f"## {dname}\n\n"
            + markdown_table(
                [
                    "tool",
                    "status",
                    "cases",
                    "features",
                    "CPU s/case (mean)",
                    "CPU s/case (max)",
                    "wall s/case (mean)",
                    "biolake is … faster (CPU)",
                    "… (wall)",
                    "peak RSS (sampled)",
                    "ru_maxrss",
                ],
                rows,
            )
        )
        ours = results[dname]["biolake"]["cases"]
        if "MIRP 2.7" in results[dname] and results[dname]["MIRP 2.7"]["cases"]:
            biolake_tag = _mirp_tag()
            theirs = [
                {**c, "features": {biolake_tag(k): v for k, v in c["features"].items()}}
                for c in results[dname]["MIRP 2.7"]["cases"]
            ]
            worst = _agreement(ours, theirs, None)
            off = {k: v for k, v in worst.items() if v > 1e-4}
            body.append(
                f"**biolake vs MIRP** ({dname}): {len(worst)} shared features; {len(worst) - len(off)} agree to "
                f"1e-4 relative (max over cases {max((v for v in worst.values() if v <= 1e-4), default=0):.2g}); "
                "larger differences:\n\n"
                + (
                    markdown_table(["feature", "max rel. difference"], sorted((k, f"{v:.3g}") for k, v in off.items()))
                    if off
                    else "none"
                )
            )
        if "PyRadiomics 3.0.1" in results[dname] and results[dname]["PyRadiomics 3.0.1"]["cases"]:
            worst = _agreement(ours, results[dname]["PyRadiomics 3.0.1"]["cases"], PYRADIOMICS_MAP)
            inv = {v: k for k, v in PYRADIOMICS_MAP.items()}
            body.append(
                f"**biolake vs PyRadiomics** ({dname}): {len(worst)} mapped features\n\n"
                + markdown_table(
                    ["IBSI tag", "PyRadiomics", "max rel. difference", "known cause"],
                    [(k, inv[k], f"{v:.3g}", PYRADIOMICS_CAUSES.get(k, "")) for k, v in sorted(worst.items())],
                )
            )
    # identical tables on every backend
    listing = HERE / "backends_cases.json"
    listing.write_text(json.dumps(synth[: min(len(synth), 6)]))
    out = HERE / "backends.json"
    m = run_measured([sys.executable, "-c", _BACKENDS, listing, out], label="biolake backends", timeout=args.timeout)
    if m.ok:
        same = json.loads(out.read_text())
        shape_ = same.pop("shape")
        body.append(
            f"## Same table on every backend\n\n{shape_[0]} synthetic cases × {shape_[1] - 3} features "
            "(every feature family) through `radiomics_table` (also a test: "
            "`tests/imaging/test_radiomics_workers.py`):\n\n"
            + markdown_table(["backend", "identical to 1 worker"], [(k, "yes" if v else "NO") for k, v in same.items()])
        )
    body.append(NOTES)
    out_dir = HERE if args.quick else None
    path = write_results(
        NAME,
        "IBSI radiomics: biolake vs MIRP vs PyRadiomics",
        "\n\n".join(body),
        facts=machine_facts(("biolake", "numpy", "scipy", "scikit-image", "SimpleITK", "mirp")),
        **({"results_dir": out_dir} if out_dir else {}),
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
