"""GTF/GFF3 gene annotations: GENCODE GTF and Ensembl GFF3 excerpts (written in their real formats), gzip, errors."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from biolake.errors import InputError
from biolake.io.gtf import GENE_COLUMNS, read_genes

DATA = Path(__file__).resolve().parents[1] / "data" / "discovery" / "targets"


def test_read_genes__gencode_gtf_excerpt() -> None:
    """Gene records only (transcript/exon/CDS lines skipped), 1-based inclusive coordinates as written."""
    genes = read_genes(DATA / "gencode_excerpt.gtf")
    assert list(genes.columns) == GENE_COLUMNS
    assert genes["gene_id"].tolist() == [
        "ENSG00000290825.1",
        "ENSG00000227232.5",
        "ENSG00000278267.1",
        "ENSG00000186092.7",
        "ENSG00000198888.2",
    ]
    assert genes["gene_name"].tolist() == ["DDX11L2", "WASH7P", "MIR6859-1", "OR4F5", "MT-ND1"]
    assert genes["biotype"].tolist() == [
        "lncRNA",
        "unprocessed_pseudogene",
        "miRNA",
        "protein_coding",
        "protein_coding",
    ]
    row = genes.iloc[1].to_dict()
    assert row == {
        "gene_id": "ENSG00000227232.5",
        "gene_name": "WASH7P",
        "chrom": "chr1",
        "start": 14404,
        "end": 29570,
        "strand": "-",
        "biotype": "unprocessed_pseudogene",
    }


def test_read_genes__ensembl_gff3_excerpt_gzipped(tmp_path: Path) -> None:
    """Ensembl GFF3: gene, ncRNA_gene and pseudogene records; %3B unescaped; read from .gz as a stream."""
    gz = tmp_path / "ensembl.gff3.gz"
    with open(DATA / "ensembl_excerpt.gff3", "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    genes = read_genes(gz)
    assert genes["gene_id"].tolist() == ["ENSG00000223972", "ENSG00000278267", "ENSG00000186092"]
    assert genes["gene_name"].tolist() == ["DDX11L1", "MIR6859-1", "OR4F5"]
    assert genes["biotype"].tolist() == ["transcribed_unprocessed_pseudogene", "miRNA", "protein_coding"]
    assert genes[["chrom", "start", "end", "strand"]].iloc[1].tolist() == ["1", 17369, 17436, "-"]


def test_read_genes__transcripts_only_gives_gene_spans(tmp_path: Path) -> None:
    """Without gene records, each gene_id spans its records: G1 = [100, 900] from exons 100–200 and 700–900."""
    path = tmp_path / "tx.gtf"
    path.write_text(
        'chr2\tX\texon\t700\t900\t.\t-\t.\tgene_id "G1"; transcript_id "T1"; gene_name "ONE";\n'
        'chr2\tX\texon\t100\t200\t.\t-\t.\tgene_id "G1"; transcript_id "T1"; gene_name "ONE";\n'
        'chr2\tX\texon\t5000\t5100\t.\t+\t.\tgene_id "G2"; transcript_id "T2";\n'
    )
    genes = read_genes(path)
    assert genes[["gene_id", "gene_name", "start", "end"]].values.tolist() == [
        ["G1", "ONE", 100, 900],
        ["G2", "", 5000, 5100],
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('chr1\tX\tgene\t10\t20\t.\t+\tgene_id "A";', "expected 9 tab-separated fields, found 8"),
        ('chr1\tX\tgene\tten\t20\t.\t+\t.\tgene_id "A";', "start 'ten' is not a positive integer"),
        ('chr1\tX\tgene\t30\t20\t.\t+\t.\tgene_id "A";', "start 30 is after end 20"),
        ('chr1\tX\tgene\t10\t20\t.\t*\t.\tgene_id "A";', "strand '*' is not +, - or ."),
        ('chr1\tX\tgene\t10\t20\t.\t+\t.\tgene_id "A; gene_name', "cannot parse the attributes"),
        ('chr1\tX\tgene\t10\t20\t.\t+\t.\tgene_name "A";', "gene record without gene_id"),
    ],
)
def test_read_genes__malformed_line__names_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "bad.gtf"
    path.write_text('##format: gtf\nchr1\tX\tgene\t1\t5\t.\t+\t.\tgene_id "OK";\n' + line + "\n")
    with pytest.raises(InputError) as info:
        read_genes(path)
    message = info.value.one_line()
    assert message.startswith(f"error: {path}: line 3: ") and problem in message
    assert "\n" not in message
