"""Report sections of the drug-discovery commands, and their demo step.

* ``ingest molecules``: counts of molecules and rejects, the first rejects with their
  reasons, distributions of the drug-likeness properties (MW, cLogP, TPSA, QED …) with the
  Lipinski/Veber thresholds drawn on them, and a chemical-space map (PCA of the fingerprints
  of a random sample, :func:`biolake.discovery.space.chemical_space`).
* ``discovery similar``: per query, the top hits (table and 2-D depictions drawn by
  RDKit as inline SVG) and the distribution of the similarity scores.

The demo step ingests a generated library (:func:`biolake.discovery.library.enumerate_library`,
with a few unreadable records to show the rejects) and searches it with three queries.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from biolake.lake import Lake, RunRecord
from biolake.lake.progress import Progress
from biolake.report.demo import register_demo
from biolake.report.html import Section
from biolake.report.runs import register_section
from biolake.report.sections.tables import histogram, histogram_chart

__all__ = ["THRESHOLDS", "chemical_space_chart", "depict_svg", "similarity_histogram", "top_hits"]

_PROPERTIES = ["mw", "clogp", "tpsa", "qed", "hbd", "hba", "rotatable_bonds", "heavy_atoms"]
# rule thresholds drawn on the property histograms (Lipinski: MW, cLogP, HBD, HBA; Veber: TPSA,
# rotatable bonds), as biolake.discovery.filters applies them
THRESHOLDS = {"mw": 500, "clogp": 5, "hbd": 5, "hba": 10, "tpsa": 140, "rotatable_bonds": 10}
_SPACE_SAMPLE = 2_000
_TOP_ROWS = 10
_DEPICTIONS = 8
_BINS = 20


def depict_svg(smiles: str, *, legend: str = "", size: int = 180) -> str:
    """A 2-D depiction of a molecule as an SVG string (RDKit's drawing); empty if unreadable."""
    from rdkit import Chem, rdBase
    from rdkit.Chem.Draw import rdMolDraw2D

    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            return ""
        drawer = rdMolDraw2D.MolDraw2DSVG(size, size)
        drawer.DrawMolecule(mol, legend=legend)
        drawer.FinishDrawing()
    svg = drawer.GetDrawingText()
    return svg[svg.find("<svg") :]


def top_hits(df: pd.DataFrame, *, n: int = _TOP_ROWS) -> pd.DataFrame:
    """The first ``n`` hits of each query (rows are already ordered by query, rank)."""
    return df[df["rank"] <= n].reset_index(drop=True)


def similarity_histogram(df: pd.DataFrame, *, bins: int = _BINS) -> alt.Chart:
    """Histogram of the similarity scores of all hits (bins of width 1/``bins`` on [0, 1])."""
    width = 1.0 / bins
    b = (df["similarity"].clip(0, 1) / width).astype(int).clip(upper=bins - 1)
    counts = b.value_counts().reindex(range(bins), fill_value=0)
    data = pd.DataFrame({"bin_start": counts.index * width, "count": counts.to_numpy()})
    data["bin_end"] = data["bin_start"] + width
    return (
        alt.Chart(data, title="Similarity of the hits")
        .mark_bar()
        .encode(
            x=alt.X("bin_start:Q", bin="binned", title="similarity", scale=alt.Scale(domain=[0, 1])),
            x2="bin_end:Q",
            y=alt.Y("count:Q", title="hits"),
            tooltip=["bin_start", "bin_end", "count"],
        )
        .properties(width=420, height=180)
    )


def _current(lake: Lake, run: RunRecord, name: str) -> bool:
    return lake.exists(name) and lake.info(name).run_id == run.id


@register_section("ingest molecules")
def _ingest_molecules(lake: Lake, run: RunRecord, section: Section) -> None:
    name = run.params.get("name", "")
    if not _current(lake, run, name):
        section.text("The molecule table of this run has since been replaced or removed.")
        return
    info = lake.info(name)
    section.key_values(
        {
            "molecules": info.attrs.get("n_molecules"),
            "rejects": info.attrs.get("n_rejects"),
            "fingerprint": info.attrs.get("fp"),
            "format": info.attrs.get("format"),
        }
    )
    rejects = f"{name}_rejects"
    if info.attrs.get("n_rejects") and _current(lake, run, rejects):
        section.table(lake.to_pandas(rejects).head(20), caption="Records RDKit could not read (first 20)")
    charts: list[Any] = [_property_chart(histogram(lake, name, c), c) for c in _PROPERTIES]
    rows = [alt.hconcat(*charts[i : i + 4]) for i in range(0, len(charts), 4)]
    section.chart(
        alt.vconcat(*rows),
        caption="Distributions of the molecular properties; red lines: Lipinski (MW 500, cLogP 5, HBD 5, HBA 10) "
        "and Veber (TPSA 140, rotatable bonds 10) limits",
    )
    if (info.attrs.get("n_molecules") or 0) >= 3:
        from biolake.discovery.space import chemical_space

        space, ratio = chemical_space(lake, name, n=_SPACE_SAMPLE)
        section.chart(
            chemical_space_chart(space, ratio),
            caption=f"Chemical space: PCA of the fingerprints of {len(space)} molecules (a random sample when "
            "the library is larger), coloured by QED",
        )


def _property_chart(df: pd.DataFrame, column: str) -> alt.Chart | alt.LayerChart:
    chart = histogram_chart(df, column)
    if column not in THRESHOLDS:
        return chart
    rule = alt.Chart(pd.DataFrame({"limit": [THRESHOLDS[column]]})).mark_rule(color="#d62728").encode(x="limit:Q")
    return alt.layer(chart, rule)


def chemical_space_chart(space: pd.DataFrame, ratio: Any) -> alt.Chart:
    """Scatter of ``pc1``/``pc2`` (axis titles with the explained variance), coloured by QED."""
    return (
        alt.Chart(space, title="Chemical space (fingerprint PCA)")
        .mark_circle(size=18, opacity=0.7)
        .encode(
            x=alt.X("pc1:Q", title=f"PC1 ({100 * float(ratio[0]):.1f} %)"),
            y=alt.Y("pc2:Q", title=f"PC2 ({100 * float(ratio[1]):.1f} %)"),
            color=alt.Color("qed:Q", scale=alt.Scale(scheme="viridis"), title="QED"),
            tooltip=["id", "smiles", alt.Tooltip("qed:Q", format=".2f")],
        )
        .properties(width=420, height=320)
    )


@register_section("discovery similar")
def _similar(lake: Lake, run: RunRecord, section: Section) -> None:
    p = run.params
    section.text(
        f"{p.get('n_queries')} queries against {p.get('library')}: {p.get('metric')} on {p.get('fp')} "
        f"fingerprints, top_k={p.get('top_k')}, threshold={p.get('threshold')}."
    )
    outputs = [o for o in run.outputs if _current(lake, run, o)]
    if not outputs:
        section.text("The result of this run has since been replaced or removed.")
        return
    df = lake.to_pandas(outputs[0])
    if df.empty:
        section.text("No hits.")
        return
    summary = df.groupby("query", sort=False).agg(hits=("id", "size"), best=("similarity", "max"))
    section.table(summary.reset_index(), caption="Hits per query", max_rows=200)
    section.chart(similarity_histogram(df), caption="Scores of all hits")
    for query, hits in list(top_hits(df).groupby("query", sort=False))[:5]:
        sub = section.subsection(f"Top hits of {query}")
        sub.table(hits[["rank", "id", "similarity", "smiles"]], max_rows=_TOP_ROWS)
        cells = [
            f'<figure style="display:inline-block;margin:4px">{depict_svg(r.smiles)}'
            f"<figcaption>{r.rank}. {html.escape(str(r.id))} ({r.similarity:.3f})</figcaption></figure>"
            for r in hits.head(_DEPICTIONS).itertuples()
        ]
        sub.html(f"<div>{''.join(cells)}</div>")


# ----------------------------------------------------------------------- demo
@register_demo("Drug discovery: ingest a molecule library and search it by similarity")
def _discovery_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.discovery.library import enumerate_library
    from biolake.discovery.similarity import similar
    from biolake.io.molecules import ingest_molecules

    smiles = enumerate_library(2_000)
    path = data_dir / "library.smi"
    lines = [f"{s} LIB{i:05d}" for i, s in enumerate(smiles, start=1)]
    lines[100:100] = ["C1CC broken_ring", "c1cccc1 bad_aromatic", "C(C)(C)(C)(C)C pentavalent"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    info = ingest_molecules(lake, path, name="library", scheduler="threads", progress=progress)
    queries = {
        "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
        "amide": "c1ccc(F)cc1C(=O)N1CCOCC1",
        "sulfonamide": "c1ccc(Cl)cc1S(=O)(=O)NCc1ccccc1",
    }
    out = data_dir / "similar_hits.csv"
    similar(lake, "library", queries, top_k=10, out=out, progress=progress)
    return [info.run_id or "", lake.info("similar_hits").run_id or ""]
