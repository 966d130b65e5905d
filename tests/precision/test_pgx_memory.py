"""``biolake precision pgx`` keeps memory independent of the number of samples.

* The matcher reads a many-sample VCF's genotype codes into a temporary file and matches the samples a block
  at a time (``matcher._BLOCK``); the calls must still be PharmCAT's. Reference: PharmCAT 3.1.1's own
  ``*.match.json`` of its example VCFs (``../shared/data/pgx/pharmcat/examples``), made by::

      java -jar pharmcat.jar -vcf pharmcat.example.vcf -matcher

  The test VCF repeats the two example samples' genotype columns (both files have the same records).
* The job writes its tables in bounded batches: at most ``job._SPILL_ROWS`` rows are held, and every batch
  handed to the result writer has at most that many rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biolake.lake import Lake

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "pgx"
EXAMPLES = SHARED / "pharmcat" / "examples"
needs_shared = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="../shared/data/pgx is not available")
ORDER = ["pharmcat.example", "pharmcat.example2", "pharmcat.example", "pharmcat.example2", "pharmcat.example"]


def _five_sample_vcf(path: Path) -> Path:
    """The two PharmCAT example samples as five columns S0..S4 (example, example2, example, example2, example)."""
    lines = {e: (EXAMPLES / f"{e}.vcf").read_text().splitlines() for e in set(ORDER)}
    a, b = lines["pharmcat.example"], lines["pharmcat.example2"]
    assert len(a) == len(b)
    out = []
    for x, y in zip(a, b, strict=True):
        if x.startswith("##"):
            out.append(x)
        elif x.startswith("#CHROM"):
            out.append("\t".join(x.split("\t")[:9] + [f"S{k}" for k in range(len(ORDER))]))
        else:
            fx, fy = x.split("\t"), y.split("\t")
            assert fx[:9] == fy[:9]
            col = {"pharmcat.example": fx[9], "pharmcat.example2": fy[9]}
            out.append("\t".join(fx[:9] + [col[e] for e in ORDER]))
    path.write_text("\n".join(out) + "\n")
    return path


@needs_shared
def test_match_vcf__sample_blocks_from_spilled_codes_as_pharmcat(tmp_path: Path, monkeypatch) -> None:
    import biolake.precision.pgx._vcf as vcf_mod
    import biolake.precision.pgx.matcher as matcher

    vcf = _five_sample_vcf(tmp_path / "five.vcf")
    monkeypatch.setattr(matcher, "_BLOCK", 2)  # 5 samples: blocks of 2, 2, 1; codes spilled (5 > 2)
    stores = []
    real_store = vcf_mod._CodeStore

    def store() -> vcf_mod._CodeStore:
        stores.append(real_store())
        return stores[-1]

    monkeypatch.setattr(vcf_mod, "_CodeStore", store)
    calls = list(matcher.match_vcf(vcf))
    assert len(stores) == 1 and stores[0].size > 0 and stores[0].fh.closed  # spilled, and the file removed
    assert [c.sample_id for c in calls[:: len(calls) // len(ORDER)]] == [f"S{k}" for k in range(len(ORDER))]
    for k, example in enumerate(ORDER):
        exp = {g["gene"]: g for g in json.loads((EXAMPLES / f"{example}.match.json").read_text())["results"]}
        got = {c.gene: c for c in calls if c.sample_id == f"S{k}"}
        assert set(got) == set(exp)
        for gene, g in exp.items():
            assert list(got[gene].diplotype_names) == [d["name"] for d in g["diplotypes"]], (k, gene)
            assert list(got[gene].diplotype_scores) == [d["score"] for d in g["diplotypes"]], (k, gene)
            assert list(got[gene].haplotype_matches) == [h["name"] for h in g["haplotypeMatches"]], (k, gene)
            assert len(got[gene].positions_missing) == len(g["matchData"]["missingPositions"]), (k, gene)


@needs_shared
def test_pgx_job__result_writer_fed_bounded_batches(tmp_path: Path, monkeypatch) -> None:
    """Rows reach the writer in batches of ≤ _SPILL_ROWS and no more than that (+ one sample's rows) is held."""
    import biolake.precision.pgx.job as job
    import biolake.precision.pgx.matcher as matcher
    from biolake.lake import tables

    vcf = _five_sample_vcf(tmp_path / "five.vcf")
    monkeypatch.setattr(matcher, "_BLOCK", 2)
    monkeypatch.setattr(job, "_SPILL_ROWS", 7)
    held: list[int] = []
    real_add = job._Spill.add

    def add(self, rows):
        real_add(self, rows)
        held.append(len(self.rows))

    monkeypatch.setattr(job._Spill, "add", add)
    fed: dict[str, list[int]] = {}
    real_write = tables.write_result

    def write_result(data, path, **kw):
        sizes = fed.setdefault(Path(path).name, [])

        def counted():
            for batch in tables.to_batches(data):
                sizes.append(batch.num_rows)
                yield batch

        return real_write(counted(), path, **kw)

    monkeypatch.setattr(tables, "write_result", write_result)
    lake = Lake.open(tmp_path / "lake")
    job.pgx_job(lake, vcf, out=tmp_path / "p.parquet", recommendations_out=tmp_path / "r.parquet")
    import pyarrow.parquet as pq

    pheno = pq.read_table(tmp_path / "p.parquet").to_pandas()
    # PharmCAT calls 19 genes per sample (match.json): ≥ 19 phenotype rows per sample
    assert pheno["sample_id"].nunique() == len(ORDER) and len(pheno) >= 19 * len(ORDER)
    assert sum(fed["p.parquet"]) == len(pheno) and max(fed["p.parquet"]) <= 7
    assert sum(fed["r.parquet"]) == pq.read_metadata(tmp_path / "r.parquet").num_rows and max(fed["r.parquet"]) <= 7
    per_sample = pheno.groupby("sample_id").size().max()
    assert max(held) < 7  # flushed once 7 rows are reached
    assert len(fed["p.parquet"]) >= len(pheno) // 7 and per_sample >= 19
