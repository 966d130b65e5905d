"""Report section of ``precision signals`` and its demo step.

A signals report shows, for the result dataset of the run:

* a summary (reports, pairs, pairs flagged by each default rule, the fitted MGPS prior);
* the top signals: flagged pairs by decreasing EB05 (then EBGM), up to :data:`MAX_TOP` rows;
* a drug-by-event heat map of EBGM (log scale) for the :data:`MAX_HEAT` drugs and events
  with the strongest signals (highest EB05 of a flagged pair), flagged cells outlined.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd

from biolake.lake import Lake, RunRecord
from biolake.lake.progress import Progress
from biolake.report.demo import register_demo
from biolake.report.html import Section
from biolake.report.runs import register_section

__all__ = ["MAX_HEAT", "MAX_TOP", "heat_map_chart", "top_signals"]

MAX_TOP = 50
MAX_HEAT = 25


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def top_signals(lake: Lake, name: str, *, limit: int = MAX_TOP) -> pd.DataFrame:
    """Flagged pairs by decreasing EB05, then EBGM and n."""
    query = (
        "SELECT drug, event, n, expected, prr, prr_chi2, ror, ror_lo, ic025, ebgm, eb05, eb95 "
        f"FROM {_q(name)} WHERE signal ORDER BY eb05 DESC NULLS LAST, ebgm DESC, n DESC LIMIT {int(limit)}"
    )
    return lake.sql(query)


def heat_map_chart(cells: pd.DataFrame) -> alt.Chart:
    """Drug × event cells coloured by EBGM (log scale), flagged pairs outlined."""
    base = alt.Chart(cells).encode(
        x=alt.X("event:N", title="event", sort=None, axis=alt.Axis(labelAngle=-60, labelLimit=160)),
        y=alt.Y("drug:N", title="drug", sort=None, axis=alt.Axis(labelLimit=160)),
        tooltip=[
            "drug",
            "event",
            "n",
            alt.Tooltip("expected:Q", format=".2f"),
            alt.Tooltip("ebgm:Q", format=".2f"),
            alt.Tooltip("eb05:Q", format=".2f"),
            alt.Tooltip("prr:Q", format=".2f"),
            "signal",
        ],
    )
    rect = base.mark_rect().encode(
        color=alt.Color(
            "ebgm:Q", title="EBGM", scale=alt.Scale(type="log", scheme="redblue", reverse=True, domainMid=1)
        ),
    )
    flagged = base.transform_filter(alt.datum.signal).mark_rect(fill=None, stroke="#222", strokeWidth=1.5)
    return alt.layer(rect, flagged).properties(width=alt.Step(16), height=alt.Step(16))


def _heat_cells(lake: Lake, name: str) -> pd.DataFrame:
    t = _q(name)
    query = (
        f"WITH d AS (SELECT drug FROM {t} GROUP BY drug ORDER BY max(CASE WHEN signal THEN eb05 END) DESC "
        f"NULLS LAST, sum(n) DESC LIMIT {MAX_HEAT}), e AS (SELECT event FROM {t} GROUP BY event "
        f"ORDER BY max(CASE WHEN signal THEN eb05 END) DESC NULLS LAST, sum(n) DESC LIMIT {MAX_HEAT}) "
        "SELECT r.drug, r.event, r.n, r.expected, r.prr, r.ebgm, r.eb05, r.signal "
        f"FROM {t} r JOIN d USING (drug) JOIN e USING (event) ORDER BY r.drug, r.event"
    )
    return lake.sql(query)


@register_section("precision signals")
def _signals(lake: Lake, run: RunRecord, section: Section) -> None:
    for name in run.outputs:
        if not lake.exists(name) or lake.info(name).run_id != run.id:
            continue
        info = lake.info(name)
        facts = info.attrs.get("signals", {})
        counts = lake.sql(
            f"SELECT count(*) AS pairs, sum(signal::INT) AS flagged, "
            f"sum((n >= 3 AND prr >= 2 AND prr_chi2 >= 4)::INT) AS evans, sum((ror_lo > 1)::INT) AS ror, "
            f"sum((ic025 > 0)::INT) AS ic, sum((eb05 >= 2)::INT) AS eb05 FROM {_q(name)}"
        ).iloc[0]
        prior = facts.get("prior", {})
        section.key_values(
            {
                "reports": facts.get("reports", ""),
                "drug–event pairs": int(counts["pairs"]),
                "pairs flagged (any rule)": int(counts["flagged"] or 0),
                "Evans (n ≥ 3, PRR ≥ 2, χ² ≥ 4)": int(counts["evans"] or 0),
                "ROR lower 95 % > 1": int(counts["ror"] or 0),
                "IC025 > 0": int(counts["ic"] or 0),
                "EB05 ≥ 2": int(counts["eb05"] or 0),
                "expected counts": "stratified" if facts.get("stratified") else "unstratified",
                "MGPS prior (α1, β1, α2, β2, P)": ", ".join(
                    f"{prior[k]:.4g}" for k in ("alpha1", "beta1", "alpha2", "beta2", "p") if k in prior
                ),
            }
        )
        top = top_signals(lake, name)
        section.subsection("Top signals").table(
            top, caption=f"Flagged pairs by decreasing EB05 (at most {MAX_TOP})", max_rows=MAX_TOP
        )
        cells = _heat_cells(lake, name)
        if len(cells):
            section.subsection("Drug-by-event heat map").chart(
                heat_map_chart(cells),
                caption=f"EBGM of the pairs of the {MAX_HEAT} drugs and events with the strongest signals "
                "(log colour scale, blue < 1 < red); outlined: flagged pairs; blank: no report",
            )


# --------------------------------------------------------------------------- demo


@register_demo("Real-world evidence: pharmacovigilance signals (PRR, ROR, IC, MGPS) on synthetic FAERS quarters")
def _signals_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.precision.signals import signals_job
    from biolake.precision.signals.simulate import synthetic_reports, write_faers

    folder = write_faers(synthetic_reports(), data_dir / "faers")
    run_id, _ = signals_job(lake, folder, out=data_dir / "faers_signals.csv", progress=progress)
    return [run_id]
