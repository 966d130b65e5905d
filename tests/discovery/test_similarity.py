"""Tests of similarity search (``biolake.stats.similarity`` kernels, ``biolake.discovery.similarity``).

The reference is RDKit: ``DataStructs.BulkTanimotoSimilarity``, ``BulkDiceSimilarity``
and ``BulkTverskySimilarity`` on RDKit's own fingerprints of the same molecules (real
molecules: the NCI sample RDKit ships), ranked here by score descending, then id.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import Chem, DataStructs, RDConfig, RDLogger
from rdkit.Chem import rdFingerprintGenerator

import biolake as bl
from biolake.cli import main as cli_main
from biolake.discovery import similarity as similarity_job
from biolake.discovery.similarity import RESULT_COLUMNS, similar
from biolake.errors import InputError
from biolake.io.molecules import ingest_molecules
from biolake.report.html import Report, Section
from biolake.report.runs import section_builders
from biolake.stats.similarity import bulk_scores, pack_bits, popcounts, threshold_search, topk_search

RDLogger.DisableLog("rdApp.*")

NCI_SMI = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
N_LIBRARY = 1_010  # lines; a few are rejected, leaving > 1,000 molecules
GEN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
RDKIT_BULK = {
    "tanimoto": lambda q, fps, a, b: DataStructs.BulkTanimotoSimilarity(q, fps),
    "dice": lambda q, fps, a, b: DataStructs.BulkDiceSimilarity(q, fps),
    "tversky": lambda q, fps, a, b: DataStructs.BulkTverskySimilarity(q, fps, a, b),
}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """The first NCI molecules ingested once; RDKit fingerprints of the accepted ones, in table order."""
    d = tmp_path_factory.mktemp("similarity")
    lines = NCI_SMI.read_text().splitlines()[:N_LIBRARY]
    path = d / "nci.smi"
    path.write_text("\n".join(lines) + "\n")
    lake = bl.Lake.open(d / "lake")
    ingest_molecules(lake, path, name="nci", scheduler="threads", chunk_size=256)
    table = lake.to_pandas("nci")
    assert len(table) >= 1_000
    smiles = [lines[i - 1].split()[0] for i in table.line]
    fps = [GEN.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    queries = {f"Q{i:02d}": table.smiles.iloc[i] for i in range(0, len(table), 25)}  # 41 queries
    queries["xenon"] = "[Xe]"  # shares no bit with any library molecule
    return lake, table, fps, queries, d


def _expected(table, fps, queries, metric, *, k=None, t=None, a=0.5, b=0.5) -> pd.DataFrame:
    """RDKit's scores, ranked by score descending, then id (then record)."""
    rows = []
    ids = table.id.tolist()
    for qid, smi in queries.items():
        scores = RDKIT_BULK[metric](GEN.GetFingerprint(Chem.MolFromSmiles(smi)), fps, a, b)
        order = sorted(range(len(fps)), key=lambda j: (-scores[j], ids[j], table.record.iloc[j]))
        if t is not None:
            order = [j for j in order if scores[j] >= t]
        if k is not None:
            order = order[:k]
        rows += [(qid, ids[j], scores[j], r, table.smiles.iloc[j]) for r, j in enumerate(order, start=1)]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert got.columns.tolist() == RESULT_COLUMNS
    assert got["query"].tolist() == expected["query"].tolist()
    assert got["id"].tolist() == expected["id"].tolist()
    assert got["rank"].tolist() == expected["rank"].tolist()
    assert got["smiles"].tolist() == expected["smiles"].tolist()
    np.testing.assert_allclose(got["similarity"].to_numpy(), expected["similarity"].to_numpy(), rtol=0, atol=1e-12)


# ------------------------------------------------------------------------- kernels
@pytest.mark.parametrize(("metric", "a", "b"), [("tanimoto", 0, 0), ("dice", 0, 0), ("tversky", 0.3, 0.8)])
def test_bulk_scores__equal_rdkit_bulk_functions(library, metric, a, b):
    fps = library[2]
    words = pack_bits(np.array([list(fp) for fp in fps], dtype=np.uint8))
    got = bulk_scores(words[::10], words, metric=metric, alpha=a, beta=b)
    expected = np.array([RDKIT_BULK[metric](fps[i], fps, a, b) for i in range(0, len(fps), 10)])
    assert got.shape == (len(range(0, len(fps), 10)), len(fps)) and len(fps) >= 1_000
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(popcounts(words), [fp.GetNumOnBits() for fp in fps])


def test_bulk_scores__empty_vectors_score_zero_like_rdkit():
    empty = DataStructs.ExplicitBitVect(64)
    one = DataStructs.ExplicitBitVect(64)
    one.SetBit(5)
    words = np.array([[0], [1 << 5]], dtype=np.uint64)
    for metric in ("tanimoto", "dice", "tversky"):
        expected = [RDKIT_BULK[metric](fp, [empty, one], 0.2, 0.7) for fp in (empty, one)]
        np.testing.assert_array_equal(bulk_scores(words, words, metric=metric, alpha=0.2, beta=0.7), expected)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 300),
    k=st.integers(1, 40),
    t=st.floats(0.05, 1.0),
    metric=st.sampled_from(["tanimoto", "dice", "tversky"]),
)
def test_topk_and_threshold_search__equal_brute_force_with_ties(seed, n, k, t, metric):
    rng = np.random.default_rng(seed)
    lib = (rng.random((n, 64)) < 0.15).astype(np.uint8)  # 64 bits: many equal scores
    queries = (rng.random((5, 64)) < 0.15).astype(np.uint8)
    words, qwords = pack_bits(lib) if n else np.zeros((0, 1), np.uint64), pack_bits(queries)
    pops = popcounts(words)
    order = np.argsort(pops, kind="stable")
    words, pops = words[order], pops[order]
    keys = rng.permutation(n).astype(np.int64)
    full = bulk_scores(qwords, words, metric=metric, alpha=0.7, beta=0.4)
    s, kk, r, counts = topk_search(qwords, words, pops, keys, k=k, metric=metric, alpha=0.7, beta=0.4)
    qi, rows, scores = threshold_search(qwords, words, pops, threshold=t, metric=metric, alpha=0.7, beta=0.4)
    for i in range(len(queries)):
        ranked = sorted(range(n), key=lambda j: (-full[i, j], keys[j]))
        got = sorted(zip(-s[i, : counts[i]], kk[i, : counts[i]], r[i, : counts[i]], strict=True))
        assert [g[2] for g in got] == ranked[:k]
        hits = sorted(rows[qi == i].tolist())
        assert hits == sorted(j for j in range(n) if full[i, j] >= t)
        np.testing.assert_array_equal(scores[qi == i], full[i, rows[qi == i]])


# ---------------------------------------------------------------------- the job
@pytest.mark.parametrize(("metric", "a", "b"), [("tanimoto", 0.5, 0.5), ("dice", 0.5, 0.5), ("tversky", 0.9, 0.1)])
def test_similar__top_k_equals_rdkit_ranking(library, metric, a, b):
    lake, table, fps, queries, _ = library
    got = similar(lake, "nci", queries, top_k=15, metric=metric, alpha=a, beta=b, chunk_rows=128)
    _assert_same(got, _expected(table, fps, queries, metric, k=15, a=a, b=b))


def test_similar__threshold_equals_rdkit(library):
    lake, table, fps, queries, _ = library
    got = similar(lake, "lake:nci", queries, threshold=0.3, chunk_rows=200)
    expected = _expected(table, fps, queries, "tanimoto", t=0.3)
    assert len(expected) > len(queries)
    _assert_same(got, expected)


def test_similar__top_k_within_threshold(library):
    lake, table, fps, queries, _ = library
    got = similar(lake, "nci", queries, top_k=5, threshold=0.4, metric="dice")
    _assert_same(got, _expected(table, fps, queries, "dice", k=5, t=0.4))
    assert set(got["query"]) < set(queries)  # some queries have no hit at 0.4


def test_similar__default_is_top_100_registered_in_lake(library):
    lake, table, fps, queries, _ = library
    one = {"Q00": queries["Q00"]}
    got = similar(lake, "nci", queries["Q00"])
    expected = _expected(table, fps, one, "tanimoto", k=100)
    expected["query"] = queries["Q00"]
    _assert_same(got, expected)
    assert lake.info("nci_hits").run_id == lake.runs(limit=1)[0].id
    assert lake.to_pandas("nci_hits").equals(got.astype(lake.to_pandas("nci_hits").dtypes.to_dict()))


@pytest.mark.parametrize(("chunk_rows", "threshold"), [(64, None), (300, None), (97, 0.35)])
def test_similar__top_k_second_round_equals_rdkit(library, monkeypatch, chunk_rows, threshold):
    """With a small first round (48 rows per query), the second round searches the rest of the bands."""
    monkeypatch.setattr(similarity_job, "_ROUND1_ROWS", 40)
    rounds = []
    run = similarity_job._run
    monkeypatch.setattr(
        similarity_job, "_run", lambda backend, tasks, *a, **kw: rounds.append(tasks) or run(backend, tasks, *a, **kw)
    )
    lake, table, fps, queries, _ = library
    got = similar(lake, "nci", queries, top_k=3, threshold=threshold, chunk_rows=chunk_rows)
    _assert_same(got, _expected(table, fps, queries, "tanimoto", k=3, t=threshold))
    assert len(rounds) == 2 and rounds[1]  # the second round searched rows
    searched = [(c.start, c.stop) for tasks in rounds for c in tasks]
    rows = [r for a, b in searched for r in range(a, b)]
    assert len(rows) == len(set(rows))  # no row twice


@pytest.fixture(scope="module")
def few(library):
    """Six queries and RDKit's top 7 and hits at 0.45 for them."""
    _, table, fps, queries, _ = library
    few = dict(list(queries.items())[:6])
    return few, _expected(table, fps, few, "tanimoto", k=7), _expected(table, fps, few, "tanimoto", t=0.45)


@settings(max_examples=4, deadline=None)
@given(chunk_rows=st.integers(40, 1_100), scheduler=st.sampled_from(["synchronous", "threads"]))
def test_similar__any_chunking_same_result(library, few, chunk_rows, scheduler):
    lake = library[0]
    queries, top7, at45 = few
    _assert_same(similar(lake, "nci", queries, top_k=7, chunk_rows=chunk_rows, scheduler=scheduler), top7)
    _assert_same(similar(lake, "nci", queries, threshold=0.45, chunk_rows=chunk_rows, scheduler=scheduler), at45)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_similar__local_and_dask_same_result(library, few, dask_client):
    """The same job on a real LocalCluster gives what RDKit (and so the local runs above) give."""
    lake = library[0]
    queries, top7, at45 = few
    _assert_same(similar(lake, "nci", queries, top_k=7, chunk_rows=150, scheduler=dask_client), top7)
    _assert_same(similar(lake, "nci", queries, threshold=0.45, chunk_rows=333, scheduler=dask_client), at45)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 1.5}, "The 'threshold' parameter of similar must be a number in (0, 1] or None; got 1.5"),
        ({"threshold": 0}, "The 'threshold' parameter of similar must be a number in (0, 1] or None; got 0"),
        ({"top_k": 0}, "The 'top_k' parameter of similar must be a positive integer or None; got 0"),
        ({"metric": "cosine"}, "The 'metric' parameter of similar must be one of 'tanimoto', 'dice', 'tversky'"),
        ({"metric": "tversky", "alpha": 2}, "The 'alpha' parameter of similar must be a number in [0, 1]; got 2"),
        ({"chunk_rows": -1}, "The 'chunk_rows' parameter of similar must be a positive integer or None; got -1"),
    ],
)
def test_similar__bad_options(library, kwargs, message):
    lake = library[0]
    with pytest.raises(InputError) as err:
        similar(lake, "nci", "CCO", **kwargs)
    assert str(err.value).startswith(message)


def test_similar__bad_query_and_library(library):
    lake = library[0]
    with pytest.raises(InputError, match=r"^--query: RDKit cannot read query 'C1CC' \(SMILES syntax error\)$"):
        similar(lake, "nci", "C1CC")
    with pytest.raises(InputError, match="no dataset named 'nope'"):
        similar(lake, "nope", "CCO")
    with pytest.raises(InputError, match="is not a molecule library"):
        similar(lake, "nci_rejects", "CCO")


def test_similar_cli__query_file_out_file_and_report(library, capsys, monkeypatch):
    lake, table, fps, queries, d = library
    qfile = d / "queries.smi"
    qfile.write_text("".join(f"{s} {q}\n" for q, s in list(queries.items())[:4]))
    out = d / "hits.tsv"
    argv = ["--lake", str(lake.root), "discovery", "similar", "lake:nci", "--query", str(qfile), "--top-k", "3"]
    with pytest.raises(SystemExit) as ok:
        cli_main([*argv, "--out", str(out), "--quiet"])
    assert ok.value.code == 0
    got = pd.read_csv(out, sep="\t", dtype={"id": str, "query": str})
    _assert_same(got, _expected(table, fps, dict(list(queries.items())[:4]), "tanimoto", k=3))
    _assert_report(lake, lake.info("hits").run_id)
    with pytest.raises(SystemExit) as bad:
        cli_main([*argv, "--threshold", "7"])
    assert bad.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: The 'threshold' parameter of similar must be a number in (0, 1] or None; got 7.0"
    ]


def _assert_report(lake, run_id):
    """The 'discovery similar' section: hits per query, a score histogram, top hits with depictions."""
    section = Report("r").section("discovery similar")
    run = lake.run_record(run_id)
    for builder in section_builders(run.command):
        builder(lake, run, section)
    blocks = list(section._walk())
    charts = [b for b in blocks if getattr(b, "kind", "") == "chart"]
    assert len(charts) == 1 and "Similarity of the hits" in charts[0].spec_json
    titles = [b.title for b in blocks if isinstance(b, Section)]
    assert titles[0] == "Top hits of Q00"
    svgs = [b for b in blocks if getattr(b, "kind", "") == "html"]
    assert svgs[0].markup.count("<svg") == 3


def test_similar__library_without_molecules(tmp_path):
    path = tmp_path / "bad.smi"
    path.write_text("C1CC a\n")
    lake = bl.Lake.open(tmp_path / "lake")
    ingest_molecules(lake, path, name="empty", scheduler="synchronous")
    assert lake.open_array("empty_fp")["fp"].shape == (0, 32)
    got = similar(lake, "empty", "CCO", top_k=3)
    assert got.empty and got.columns.tolist() == RESULT_COLUMNS
