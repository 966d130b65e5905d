"""``biolake precision pgx``: VCF → star alleles → phenotypes → CPIC recommendations, as a lake run.

:func:`pgx_sample_calls` streams the matcher's calls sample by sample and turns them into
:class:`~biolake.precision.pgx.phenotype.PhenotypeCall` lists; :func:`pgx_job` writes the phenotype
table (``sample_id gene diplotype phenotype activity_score ambiguous``), optionally the
recommendation table (``sample_id drug gene phenotype recommendation classification guideline``) and
the clinician report, and registers the tables in the lake.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from biolake.errors import InputError, check_param
from biolake.lake.progress import NullProgress, Progress
from biolake.precision.pgx.phenotype import (
    OutsideCall,
    PhenotypeCall,
    phenotype_rows,
    read_outside_calls,
    sample_phenotypes,
)
from biolake.precision.pgx.recommendations import (
    RECOMMENDATION_OUTPUT_COLUMNS,
    RecommendationTable,
    load_recommendations,
    recommend,
)

__all__ = ["PHENOTYPE_SCHEMA", "RECOMMENDATION_SCHEMA", "pgx_job", "pgx_sample_calls"]

PHENOTYPE_SCHEMA = pa.schema(
    [
        ("sample_id", pa.string()),
        ("gene", pa.string()),
        ("diplotype", pa.string()),
        ("phenotype", pa.string()),
        ("activity_score", pa.string()),
        ("ambiguous", pa.bool_()),
    ]
)
RECOMMENDATION_SCHEMA = pa.schema([(c, pa.string()) for c in RECOMMENDATION_OUTPUT_COLUMNS])


# Rows held in memory before they go to the spill file, and the size of the batches read back from it: the
# recommendation rows carry long texts (≈ 1 kB per row as Python dicts), so a batch costs ≈ 10 MB.
_SPILL_ROWS = 10_000


class _Spill:
    """Rows collected in memory and written to a Parquet file every ``_SPILL_ROWS`` rows."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.schema = path, schema
        self.rows: list[dict[str, Any]] = []
        self.writer: pq.ParquetWriter | None = None

    def add(self, rows: list[dict[str, Any]]) -> None:
        self.rows.extend(rows)
        if len(self.rows) >= _SPILL_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
        self.rows = []

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Every row, in order, as record batches."""
        if self.writer is not None:
            if self.rows:
                self._flush()
            self.writer.close()
            pool = pa.default_memory_pool()
            for batch in pq.ParquetFile(self.path).iter_batches(batch_size=_SPILL_ROWS):
                yield batch
                del batch
                pool.release_unused()  # the reader's threads leave freed pages in their allocator heaps
        elif self.rows:
            yield from pa.Table.from_pylist(self.rows, schema=self.schema).to_batches()


class _PageSpill:
    """The report's per-sample inputs, pickled to a file as they come and read back in order.

    :func:`~biolake.precision.pgx.report.pgx_report` takes the samples twice (the summary table,
    then one page per sample); keeping every sample's calls and recommendation rows in memory
    until then would grow with the number of samples.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.n = 0
        self._fh: Any = None

    def add(self, item: tuple[list[PhenotypeCall], list[dict[str, Any]]]) -> None:
        if self._fh is None:
            self._fh = open(self.path, "wb")  # noqa: SIM115 (closed in __iter__/close)
        pickle.dump(item, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.n += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[tuple[list[PhenotypeCall], list[dict[str, Any]]]]:
        self.close()
        if not self.n:
            return
        with open(self.path, "rb") as fh:
            for _ in range(self.n):
                yield pickle.load(fh)


def pgx_sample_calls(
    vcf: str | os.PathLike[str],
    *,
    samples: Sequence[str] | None = None,
    outside_calls: Mapping[str, OutsideCall] | None = None,
) -> Iterator[list[PhenotypeCall]]:
    """One list of phenotype calls per sample of ``vcf`` (VCF column order), in one pass."""
    from biolake.precision.pgx import match_vcf

    path = Path(vcf)
    if not path.is_file():
        raise InputError("no such VCF file", file=path)
    stream = match_vcf(path, samples=list(samples) if samples else None)
    for _, calls in groupby(stream, key=lambda c: c.sample_id):
        yield sample_phenotypes(list(calls), outside_calls)


def pgx_job(
    lake: Any,
    vcf: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    samples: Sequence[str] | None = None,
    recommendations_out: str | os.PathLike[str] | None = None,
    report_out: str | os.PathLike[str] | None = None,
    outside_calls: str | os.PathLike[str] | None = None,
    recommendation_table: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> tuple[str, str]:
    """Call star alleles, phenotypes and CPIC recommendations for the samples of a VCF.

    Parameters
    ----------
    lake
        The lake (:class:`biolake.Lake`) the run and its result tables are registered in.
    vcf
        A VCF/BCF (GRCh38, PharmCAT-normalised positions), one or many samples.
    out
        Phenotype table (``.parquet``, ``.csv`` or ``.tsv``): ``sample_id gene diplotype phenotype
        activity_score ambiguous``; an ambiguous call has one row per possible diplotype, flagged.
    samples
        Sample ids to report (default: every sample).
    recommendations_out
        Also write ``sample_id drug gene phenotype recommendation classification guideline``.
    report_out
        Also write the clinician HTML report (one page per sample).
    outside_calls
        A PharmCAT outside-call TSV (``gene diplotype [phenotype [activity]]``; CYP2D6, HLA-A/B …),
        applied to every sample.
    recommendation_table
        Use this recommendation TSV instead of the shipped one.
    progress
        Where to report progress.

    Returns
    -------
    tuple of str
        The run id and the name of the phenotype result dataset.

    Examples
    --------
    >>> run_id, name = pgx_job(lake, "patient.vcf", out="pgx.tsv", recommendations_out="recs.tsv")  # doctest: +SKIP
    """
    from biolake.lake.tables import result_format

    progress = progress or NullProgress()
    for path in (out, recommendations_out):
        if path is not None:
            result_format(Path(path))
    if report_out is not None and Path(report_out).suffix.lower() not in {".html", ".htm"}:
        raise InputError("the report must be an .html file", file=report_out)
    if samples is not None:
        check_param("pgx_job", "samples", samples, all(isinstance(s, str) and s for s in samples), "sample ids")
    spec = str(vcf)
    if not Path(spec).is_file():
        raise InputError("no such VCF file", file=spec)
    outside = read_outside_calls(outside_calls) if outside_calls is not None else None
    table: RecommendationTable = load_recommendations(recommendation_table)
    params = {
        "vcf": spec,
        "out": str(out),
        "samples": list(samples) if samples else None,
        "recommendations": None if recommendations_out is None else str(recommendations_out),
        "report": None if report_out is None else str(report_out),
        "outside_calls": None if outside_calls is None else str(outside_calls),
        "recommendation_table": table.path,
    }
    inputs = [spec] + ([str(outside_calls)] if outside_calls is not None else [])
    want_recs = recommendations_out is not None or report_out is not None
    with lake.run("precision pgx", params=params, inputs=inputs) as run, tempfile.TemporaryDirectory() as tmp:
        run.hash_input(spec)
        # rows are spilled to Parquet every _SPILL_ROWS rows, report inputs to a pickle file as they come:
        # memory does not grow with the sample count (only the report's HTML does, as its file)
        pheno_spill = _Spill(Path(tmp) / "phenotypes.parquet", PHENOTYPE_SCHEMA)
        rec_spill = _Spill(Path(tmp) / "recommendations.parquet", RECOMMENDATION_SCHEMA)
        per_sample = _PageSpill(Path(tmp) / "report-pages.pickle")
        n_samples = 0
        with progress.task("PGx: matching, phenotypes, recommendations") as task:
            for calls in pgx_sample_calls(spec, samples=samples, outside_calls=outside):
                recs = recommend(calls, table=table) if want_recs else []
                pheno_spill.add(phenotype_rows(calls))
                if recommendations_out is not None:
                    rec_spill.add(recs)
                if report_out is not None:
                    per_sample.add((calls, recs))
                n_samples += 1
                task.advance(1)
        attrs = {"vcf": spec, "samples": n_samples, "outside_calls": params["outside_calls"]}
        name = run.result(pheno_spill.batches(), out, schema=PHENOTYPE_SCHEMA)
        run.annotate(name, attrs={"table": "pgx_phenotypes", **attrs})
        if recommendations_out is not None:
            rec_name = run.result(rec_spill.batches(), recommendations_out, schema=RECOMMENDATION_SCHEMA)
            run.annotate(rec_name, attrs={"table": "pgx_recommendations", **attrs})
        if report_out is not None:
            from biolake.precision.pgx.report import pgx_report

            pgx_report(per_sample, vcf=spec).save(report_out)  # type: ignore[arg-type]  # a sized iterable
        per_sample.close()
    return run.id, name
