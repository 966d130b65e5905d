"""``biolake demo``: a lake built from small generated data, every analysis run once.

Each area adds itself with :func:`register_demo`; a step gets the lake, a folder for
its input files and a progress reporter, and returns the ids of the runs it made.
``run_demo`` writes one report per run and ``index.html`` linking them.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from biolake.lake import Lake
from biolake.lake._fs import atomic_path
from biolake.lake.progress import NullProgress, Progress
from biolake.report.runs import build_run_report

__all__ = ["DemoStep", "register_demo", "run_demo"]

DemoStep = Callable[[Lake, Path, Progress], list[str]]
_STEPS: list[tuple[str, DemoStep]] = []


def register_demo(title: str) -> Callable[[DemoStep], DemoStep]:
    """Register a demo step shown under ``title`` in the demo index."""

    def decorate(fn: DemoStep) -> DemoStep:
        _STEPS.append((title, fn))
        return fn

    return decorate


def demo_patients(n: int = 5_000, *, seed: int = 20261127) -> pd.DataFrame:
    """A deterministic synthetic cohort: id, site, sex, age, BMI, systolic BP, LDL, smoker, event."""
    rng = np.random.default_rng(seed)
    age = rng.normal(58, 11, n).clip(18, 95).round(0)
    sex = rng.choice(["F", "M"], n)
    bmi = rng.normal(27.5, 4.5, n).clip(15, 60).round(1)
    sbp = (105 + 0.45 * age + 0.8 * (bmi - 27) + rng.normal(0, 12, n)).round(0)
    ldl = rng.normal(3.3, 0.9, n).clip(0.8, 9).round(2)
    smoker = rng.random(n) < 0.22
    logit = -9.2 + 0.07 * age + 0.02 * (sbp - 130) + 0.35 * (ldl - 3.3) + 0.7 * smoker + 0.3 * (sex == "M")
    event = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "patient_id": [f"P{i:05d}" for i in range(1, n + 1)],
            "site": rng.choice(["Boston", "Leiden", "Lyon", "Osaka"], n, p=[0.35, 0.25, 0.2, 0.2]),
            "sex": sex,
            "age": age.astype(int),
            "bmi": bmi,
            "sbp": sbp.astype(int),
            "ldl": ldl,
            "smoker": smoker,
            "event": event.astype(int),
        }
    )


@register_demo("Tables: ingest a cohort CSV and summarise it with SQL")
def _tables_demo(lake: Lake, data_dir: Path, progress: Progress) -> list[str]:
    from biolake.io import ingest_table

    csv = data_dir / "patients.csv"
    demo_patients().to_csv(csv, index=False)
    info = ingest_table(lake, csv, name="patients", progress=progress)
    query = (
        "SELECT site, sex, count(*) AS n, round(avg(age), 1) AS mean_age, round(avg(sbp), 1) AS mean_sbp, "
        "round(avg(event), 3) AS event_rate FROM patients GROUP BY site, sex ORDER BY site, sex"
    )
    out = data_dir / "site_summary.csv"
    with lake.run("lake sql", params={"query": query, "out": str(out)}) as run, lake.connect() as con:
        run.result(con.sql(query).to_arrow_table(), out)
    return [info.run_id or "", run.id]


def run_demo(
    out_dir: str | os.PathLike[str], *, lake: str | os.PathLike[str] | None = None, progress: Progress | None = None
) -> Path:
    """Run every registered demo step and write ``out_dir/index.html``; return its path.

    The lake defaults to ``out_dir/lake``; input files go to ``out_dir/data``.
    """
    out = Path(out_dir)
    data_dir = out / "data"
    runs_dir = out / "runs"
    data_dir.mkdir(parents=True, exist_ok=True)
    runs_dir.mkdir(parents=True, exist_ok=True)
    opened = Lake.open(lake if lake is not None else out / "lake")
    progress = progress or NullProgress()
    import biolake.report.sections  # noqa: F401  (areas register their demo steps on import)

    entries: list[tuple[str, list[tuple[str, str, str]]]] = []
    for title, step in _STEPS:
        links = []
        for run_id in step(opened, data_dir, progress):
            record = opened.run_record(run_id)
            path = build_run_report(opened, run_id).save(runs_dir / f"{run_id}.html")
            links.append((record.command, run_id, str(path.relative_to(out))))
        entries.append((title, links))
    index = out / "index.html"
    with atomic_path(index) as tmp:
        tmp.write_text(_index_html(entries, opened), encoding="utf-8")
    return index.resolve()


def _index_html(entries: list[tuple[str, list[tuple[str, str, str]]]], lake: Lake) -> str:
    from biolake import __version__

    items = []
    for title, links in entries:
        lis = "".join(
            f'<li><a href="{html.escape(href)}">{html.escape(cmd)}</a> <code>{html.escape(rid)}</code></li>'
            for cmd, rid, href in links
        )
        items.append(f"<h2>{html.escape(title)}</h2><ul>{lis}</ul>")
    rows = "".join(
        f"<tr><td>{html.escape(d.name)}</td><td>{d.kind}</td><td>{d.n_rows if d.n_rows is not None else d.shape}"
        f"</td></tr>"
        for d in lake.datasets()
    )
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>biolake demo</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.25rem .6rem}}code{{color:#555}}</style>
</head><body><h1>biolake demo</h1>
<p>Every analysis of biolake run once on small generated data. Each link opens the report of one run.</p>
{"".join(items)}
<h2>Datasets in the demo lake</h2><table><tr><th>name</th><th>kind</th><th>rows / shape</th></tr>{rows}</table>
<footer><p>biolake {html.escape(__version__)} · {stamp} · lake {html.escape(str(lake.root))}</p></footer>
</body></html>
"""
