"""Report section of ``discovery dock``: the ranked ligands, their best scores and depictions."""

from __future__ import annotations

import html

import altair as alt

from biolake.lake import Lake, RunRecord
from biolake.report.html import Section
from biolake.report.runs import register_section
from biolake.report.sections.discovery import depict_svg

_TOP = 12


@register_section("discovery dock")
def _dock(lake: Lake, run: RunRecord, section: Section) -> None:
    p = run.params
    section.key_values(
        {
            "receptor": p.get("receptor"),
            "box centre (Å)": p.get("center"),
            "box size (Å)": p.get("size"),
            "exhaustiveness": p.get("exhaustiveness"),
            "seed": p.get("seed"),
        }
    )
    outputs = [o for o in run.outputs if lake.exists(o) and lake.info(o).run_id == run.id]
    poses_name = next((o for o in outputs if lake.info(o).attrs.get("table") == "poses"), None)
    if poses_name is None:
        section.text("The result of this run has since been replaced or removed.")
        return
    df = lake.to_pandas(poses_name, columns=["id", "smiles", "pose", "score", "inter", "intra", "rank"])
    rejects_name = lake.info(poses_name).attrs.get("rejects")
    n_rej = len(lake.to_pandas(rejects_name)) if rejects_name and lake.exists(rejects_name) else 0
    best = df[df["pose"] == 1].sort_values("rank")
    section.text(f"{len(best)} ligands docked, {n_rej} rejected (see the rejects table for the reasons).")
    if best.empty:
        return
    section.table(
        best[["rank", "id", "score", "inter", "intra", "smiles"]], caption="Best pose per ligand", max_rows=50
    )
    chart = (
        alt.Chart(best, title="Best Vina score per ligand")
        .mark_bar()
        .encode(
            x=alt.X("score:Q", bin=alt.Bin(maxbins=30), title="score (kcal/mol)"),
            y=alt.Y("count():Q", title="ligands"),
        )
        .properties(width=360, height=160)
    )
    section.chart(chart, caption="Distribution of the best docking scores (lower binds better)")
    cells = [
        f'<figure style="display:inline-block;margin:4px">{depict_svg(r.smiles)}'
        f"<figcaption>{r.rank}. {html.escape(str(r.id))} ({r.score:.2f} kcal/mol)</figcaption></figure>"
        for r in best.head(_TOP).itertuples()
    ]
    section.html(f"<div>{''.join(cells)}</div>")
