"""One report per run: parameters, inputs, outputs, key tables and figures.

Areas add their own sections through one small interface::

    from biolake.report.runs import register_section

    @register_section("genomics qc")
    def _qc(lake, run, section):      # section: a biolake.report.Section to fill
        section.chart(manhattan_spec(lake.to_pandas(run.outputs[0])))

The builders registered for a run's command are called in order after the generic
sections; each gets its own section titled by the command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from biolake.lake import Lake, RunRecord
from biolake.report.html import Report, Section

__all__ = ["SectionBuilder", "build_run_report", "register_section", "section_builders"]

SectionBuilder = Callable[[Lake, RunRecord, Section], None]
_BUILDERS: dict[str, list[SectionBuilder]] = {}
_PREVIEW_ROWS = 20


def register_section(command: str) -> Callable[[SectionBuilder], SectionBuilder]:
    """Register a function that adds a section to the reports of runs of ``command``."""

    def decorate(fn: SectionBuilder) -> SectionBuilder:
        _BUILDERS.setdefault(command, []).append(fn)
        return fn

    return decorate


def section_builders(command: str) -> list[SectionBuilder]:
    """The builders registered for a command (after loading every area's sections)."""
    import biolake.report.sections  # noqa: F401  (registers the areas' builders)

    return list(_BUILDERS.get(command, []))


def _human_bytes(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def build_run_report(lake: Lake, run_id: str) -> Report:
    """Build the report of one run (a unique id prefix is enough)."""
    import pandas as pd

    run = lake.run_record(run_id)
    report = Report(f"biolake run {run.id}", subtitle=run.command)
    summary = report.section("Summary")
    summary.key_values(
        {
            "run id": run.id,
            "command": run.command,
            "status": run.status,
            "error": run.error or "",
            "started (UTC)": run.started.isoformat(timespec="seconds"),
            "ended (UTC)": run.ended.isoformat(timespec="seconds") if run.ended else "",
            "seconds": f"{run.seconds:.2f}" if run.seconds is not None else "",
            "peak memory": _human_bytes(run.peak_rss),
            "lake": str(lake.root),
        }
    )
    report.section("Parameters").key_values(run.params or {"(none)": ""})
    if run.inputs:
        report.section("Inputs").table(pd.DataFrame(run.inputs), max_rows=200)
    for builder in section_builders(run.command):
        builder(lake, run, report.section(run.command))
    outputs = report.section("Outputs")
    if not run.outputs:
        outputs.text("This run registered no dataset.")
    for name in run.outputs:
        sub = outputs.subsection(name)
        if not lake.exists(name) or lake.info(name).run_id != run.id:
            sub.text(f"Dataset {name!r} has since been replaced or removed.")
            continue
        info = lake.info(name)
        sub.key_values(_dataset_facts(info))
        if info.kind == "table":
            sub.table(
                _first_rows(lake, name, _PREVIEW_ROWS),
                caption=f"First rows of {name} ({info.n_rows} in all)",
                max_rows=_PREVIEW_ROWS,
            )
        else:
            sub.table(
                pd.DataFrame([{"array": k, **v} for k, v in info.schema.items()]),
                caption="Arrays of the Zarr group",
            )
    report.section("Environment").key_values(run.versions)
    return report


def _dataset_facts(info: Any) -> dict[str, Any]:
    facts = {
        "kind": info.kind,
        "encoding": f"{info.encoding} v{info.encoding_version}",
        "rows" if info.kind == "table" else "shape": info.n_rows if info.kind == "table" else info.shape,
        "bytes": _human_bytes(info.bytes),
        "source": info.source or "",
        "source hash": info.source_hash or "",
    }
    if info.kind == "table":
        facts["columns"] = ", ".join(f"{k}: {v}" for k, v in info.schema.items())
    return facts


def _first_rows(lake: Lake, name: str, n: int) -> Any:
    import pyarrow as pa

    batches = []
    got = 0
    for batch in lake.iter_batches(name, batch_size=n):
        batches.append(batch)
        got += batch.num_rows
        if got >= n:
            break
    if not batches:
        import pandas as pd

        return pd.DataFrame()
    return pa.Table.from_batches(batches).slice(0, n).to_pandas()
