"""Report sections of the imaging commands (``ingest images``, ``imaging radiomics``) and the imaging demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from biolake.lake import Lake, RunRecord
from biolake.lake.progress import Progress
from biolake.report.demo import register_demo
from biolake.report.html import Section
from biolake.report.runs import register_section

_MAX_OVERLAYS = 4
_MAX_CASES_IN_TABLE = 8


def _overlays(section: Section, cases: list[tuple[str, Any, Any]]) -> None:
    from biolake.imaging.plots import overlay_figure

    for title, image, mask in cases[:_MAX_OVERLAYS]:
        section.image(
            overlay_figure(image, mask=mask, title=title),
            caption=f"{title}: the slice with the largest ROI area, ROI outlined",
        )


def _lake_image(lake: Lake, name: str, image_id: str) -> tuple[Any, Any]:
    from biolake.io.images import load_image

    image, mask, _ = load_image(lake, name, image_id=image_id)
    return image, mask


@register_section("ingest images")
def _ingest_images(lake: Lake, run: RunRecord, section: Section) -> None:
    name = run.params.get("name", "")
    meta = f"{name}_meta"
    deid = (
        "original identifiers kept (--keep-phi)" if run.params.get("keep_phi") else "de-identified (keyed pseudonyms)"
    )
    section.text(f"Image volumes ingested as {name!r} ({deid}).")
    if not lake.exists(meta) or lake.info(meta).run_id != run.id:
        section.text(f"Dataset {meta!r} has since been replaced or removed.")
        return
    df = lake.to_pandas(meta)
    section.table(df, caption=f"{len(df)} image volume(s)", max_rows=200)
    cases = []
    for image_id in df["image_id"].head(_MAX_OVERLAYS):
        try:
            image, mask = _lake_image(lake, name, image_id)
        except Exception as exc:  # a report never fails on one figure
            section.text(f"{image_id}: cannot draw ({type(exc).__name__})")
            continue
        cases.append((image_id, image, mask))
    _overlays(section, cases)


@register_section("imaging radiomics")
def _radiomics(lake: Lake, run: RunRecord, section: Section) -> None:
    params = run.params
    settings = params.get("settings", {})
    section.key_values(
        {
            "image": params.get("image", ""),
            "mask": params.get("mask") or "(the image's own mask in the lake)",
            "IBSI configuration": params.get("config") or "(custom)",
            "resampling (mm)": settings.get("resample") or "none",
            "re-segmentation range": settings.get("resegment_range") or "none",
            "outlier re-segmentation (σ)": settings.get("resegment_outlier_sigma") or "none",
            "discretisation": settings.get("discretization", ""),
            "aggregation": " ".join(settings.get("aggregation", [])),
        }
    )
    result = next((o for o in run.outputs if lake.exists(o) and lake.info(o).run_id == run.id), None)
    if result is None:
        section.text("The result table has since been replaced or removed.")
        return
    df = lake.to_pandas(result)
    head = df.head(_MAX_CASES_IN_TABLE)
    features = [c for c in df.columns if c not in ("image", "mask", "label")]
    wide = head[features].T
    wide.columns = [f"{Path(str(r.image)).name} · {r.label}" for r in head.itertuples()]
    wide.insert(0, "family", [f.split("_", 1)[0] for f in features])
    wide.index.name = "feature"
    section.table(
        wide.reset_index(),
        caption=f"{len(features)} IBSI features of {len(df)} ROI(s) (first {len(head)} shown)",
        max_rows=2000,
        float_format="{:.4g}",
    )
    if len(df) >= 3:
        chart = correlation_chart(df[features])
        if chart is not None:
            section.chart(chart, caption="Spearman correlation between features across ROIs (most variable features)")
    cases = []
    seen = set()
    for r in head.itertuples():
        if r.image in seen:
            continue
        seen.add(r.image)
        try:
            cases.append((Path(str(r.image)).name, *_case_volumes(lake, str(r.image), params.get("mask"))))
        except Exception as exc:  # a report never fails on one figure
            section.text(f"{r.image}: cannot draw ({type(exc).__name__})")
    _overlays(section, cases)


def correlation_chart(features: Any, *, max_features: int = 30) -> Any:
    """A Vega-Lite heat map of the Spearman correlations of the most variable features (None if < 2)."""
    import altair as alt
    import numpy as np
    import pandas as pd

    numeric = features.apply(pd.to_numeric, errors="coerce")
    spread = (numeric.std() / numeric.abs().mean()).replace([np.inf, -np.inf], np.nan).dropna()
    keep = spread[spread > 1e-12].sort_values(ascending=False).index[:max_features]
    if len(keep) < 2:
        return None
    corr = numeric[keep].corr(method="spearman")
    long = corr.reset_index(names="feature_a").melt(id_vars="feature_a", var_name="feature_b", value_name="rho")
    return (
        alt.Chart(long)
        .mark_rect()
        .encode(
            x=alt.X("feature_a:N", sort=list(keep), title=None),
            y=alt.Y("feature_b:N", sort=list(keep), title=None),
            color=alt.Color("rho:Q", scale=alt.Scale(scheme="redblue", domain=[-1, 1]), title="ρ"),
            tooltip=["feature_a", "feature_b", alt.Tooltip("rho:Q", format=".2f")],
        )
        .properties(width=360, height=360)
    )


def _case_volumes(lake: Lake, image: str, mask: str | None) -> tuple[Any, Any]:
    from biolake.io.images import read_image

    if image.startswith("lake:"):
        name, _, image_id = image[5:].partition("/")
        vol, own = _lake_image(lake, name, image_id)
        return vol, (read_image(mask) if mask else own)
    return read_image(image), (read_image(mask) if mask else None)


@register_demo("Imaging: ingest CT-like volumes with lesion masks, then IBSI radiomics")
def _imaging_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.imaging.demo import write_synthetic_cases
    from biolake.imaging.radiomics import run_radiomics
    from biolake.io.images import ingest_images

    images, masks = write_synthetic_cases(data_dir / "imaging", n=2)
    info = ingest_images(lake, images, name="ct_demo", mask_dir=masks, progress=progress)
    run_id, _ = run_radiomics(
        lake, "lake:ct_demo", out=data_dir / "ct_demo_radiomics.csv", config="C", progress=progress
    )
    return [info.run_id or "", run_id]


# ============================================================ segment / measure / track
def mid_slices_figure(image: Any, mask: Any, *, title: str = "") -> Any:
    """Axial, coronal and sagittal slices through the middle of the labelled region, each label outlined."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    img = np.asarray(image.array, dtype=np.float64)
    m = np.asarray(mask.array if hasattr(mask, "array") else mask)
    nz, ny, nx = img.shape
    if m.any():  # through the middle of the first label's bounding box
        k, j, i = ((int(a.min()) + int(a.max())) // 2 for a in np.nonzero(m == np.min(m[m != 0])))
    else:
        k, j, i = nz // 2, ny // 2, nx // 2
    sx, sy, sz = image.spacing
    views = [
        ("axial", img[k], m[k], (sx, sy)),
        ("coronal", img[:, j, :], m[:, j, :], (sx, sz)),
        ("sagittal", img[:, :, i], m[:, :, i], (sy, sz)),
    ]
    lo, hi = np.percentile(img, [1, 99])
    colors = ["#ff3b30", "#34c759", "#0a84ff", "#ffcc00", "#af52de", "#ff9500"]
    fig = Figure(figsize=(10.5, 3.8))
    for n, (name, plane, lab, (du, dv)) in enumerate(views):
        ax = fig.add_subplot(1, 3, n + 1)
        rows, cols = plane.shape
        ax.imshow(
            plane,
            cmap="gray",
            vmin=lo,
            vmax=hi if hi > lo else lo + 1,
            extent=(0, cols * du, rows * dv, 0),
            interpolation="nearest",
        )
        us, vs = (np.arange(cols) + 0.5) * du, (np.arange(rows) + 0.5) * dv
        for c, value in enumerate(v for v in np.unique(lab) if v != 0):
            ax.contour(
                us, vs, (lab == value).astype(float), levels=[0.5], colors=[colors[c % len(colors)]], linewidths=1.1
            )
        ax.set_title(f"{name}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        if name != "axial":
            ax.invert_yaxis()  # head up
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _segment_volumes(lake: Lake, image: str, mask: str | None) -> tuple[Any, Any]:
    from biolake.imaging.segment import read_input_image, read_mask

    vol, own, _, _ = read_input_image(lake, image)
    if mask is None:
        return vol, own
    return vol, read_mask(lake, mask, vol)[0]


@register_section("imaging segment")
def _segment(lake: Lake, run: RunRecord, section: Section) -> None:
    import pandas as pd

    p = run.params
    section.key_values(
        {
            "image": p.get("image", ""),
            "method": p.get("method", ""),
            "HU range": f"[{p.get('lower')}, {p.get('upper')}]",
            "seed (x, y, z)": p.get("seed") or "–",
            "minimum component volume (mm³)": p.get("min_volume") or "–",
            "label map": p.get("out_mask", ""),
        }
    )
    labels = p.get("labels", {})
    vols = p.get("volumes_mm3", {})
    section.table(
        pd.DataFrame(
            {"label": list(labels), "name": list(labels.values()), "volume_mm3": [vols.get(k) for k in labels]}
        ),
        caption="Labels of the segmentation",
        float_format="{:.1f}",
    )
    out = str(p.get("out_mask", ""))
    mask_spec = out if out.lower().endswith((".nii", ".nii.gz")) else f"lake:{out}/{p.get('image_id', '')}"
    try:
        image, mask = _segment_volumes(lake, p["image"], mask_spec)
        figure = mid_slices_figure(image, mask, title=p.get("method", ""))
        section.image(figure, caption="Label contours on the middle slices")
    except Exception as exc:  # a report never fails on one figure
        section.text(f"cannot draw the overlay ({type(exc).__name__}: the image or mask has moved?)")


@register_section("imaging measure")
def _measure(lake: Lake, run: RunRecord, section: Section) -> None:
    p = run.params
    section.key_values({"image": p.get("image", ""), "mask": p.get("mask") or "(the image's own mask in the lake)"})
    result = next((o for o in run.outputs if lake.exists(o) and lake.info(o).run_id == run.id), None)
    if result is None:
        section.text("The result table has since been replaced or removed.")
        return
    df = lake.to_pandas(result)
    section.table(
        df.drop(columns=["image", "mask"]), caption=f"{len(df)} structure(s)", max_rows=500, float_format="{:.4g}"
    )
    try:
        image, mask = _segment_volumes(lake, p["image"], p.get("mask"))
        section.image(mid_slices_figure(image, mask), caption="Measured structures outlined on the middle slices")
    except Exception as exc:  # a report never fails on one figure
        section.text(f"cannot draw the overlay ({type(exc).__name__})")


@register_section("imaging track")
def _track(lake: Lake, run: RunRecord, section: Section) -> None:
    p = run.params
    section.key_values({k: p.get(k, "") for k in ("measurements", "patient_col", "time_col", "lesion_col")})
    result = next((o for o in run.outputs if lake.exists(o) and lake.info(o).run_id == run.id), None)
    if result is None:
        section.text("The result table has since been replaced or removed.")
        return
    df = lake.to_pandas(result)
    per_time = df.drop_duplicates(["patient", "time"])[
        ["patient", "time", "sum_diameters_mm", "sld_change_baseline_pct", "sld_change_nadir_pct", "response"]
    ]
    section.table(
        per_time, caption="RECIST 1.1 (target lesions) per patient and time point", max_rows=500, float_format="{:.1f}"
    )
    section.table(df, caption="Per lesion and time point", max_rows=500, float_format="{:.4g}")


@register_demo("CT segmentation: lung fields and a lesion (region growing) on a synthetic CT, measured")
def _segment_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    import numpy as np
    import SimpleITK as sitk

    from biolake.imaging.demo import synthetic_ct
    from biolake.imaging.measure import run_measure
    from biolake.imaging.preprocess import to_sitk
    from biolake.imaging.segment import run_segment

    folder = data_dir / "imaging_segment"
    folder.mkdir(parents=True, exist_ok=True)
    image, truth = synthetic_ct(seed=7)
    path = folder / "chest.nii.gz"
    sitk.WriteImage(to_sitk(image), str(path))
    k, j, i = (int(np.rint(a.mean())) for a in np.nonzero(truth.array))
    lung_run, _, _ = run_segment(lake, str(path), method="lung", out_mask="ct_demo_lungs")
    lesion_run, lesion_mask, _ = run_segment(
        lake,
        str(path),
        method="region-grow",
        seed=(i, j, k),
        lower=-300,
        upper=400,
        out_mask=str(folder / "lesion.nii.gz"),
    )
    measure_run, _ = run_measure(lake, str(path), mask=lesion_mask, out=data_dir / "ct_demo_lesion_measure.csv")
    lungs_measure, _ = run_measure(lake, "lake:ct_demo_lungs", out=data_dir / "ct_demo_lung_measure.csv")
    return [lung_run, lesion_run, measure_run, lungs_measure]
