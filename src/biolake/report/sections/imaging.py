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
