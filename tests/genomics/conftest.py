"""Fixtures of the genomics tests: the plink2 reference fileset ingested into a lake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from biolake.io.plink import ingest_plink
from biolake.lake import Lake

DATA = Path(__file__).parents[1] / "data" / "genomics"


@pytest.fixture(scope="session")
def sim_prefix() -> Path:
    """tests/data/genomics/sim.{bed,bim,fam}: 250 samples x 1500 variants (make_reference.sh)."""
    return DATA / "sim"


@pytest.fixture(scope="module")
def sim_lake(tmp_path_factory: pytest.TempPathFactory, sim_prefix: Path) -> Lake:
    """A lake holding the reference fileset as genotype dataset ``sim`` (chunks of 400 variants)."""
    lake = Lake.open(tmp_path_factory.mktemp("lake"))
    ingest_plink(lake, sim_prefix, name="sim", variant_chunk=400)
    return lake


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    """A real two-process Dask cluster; closed client first, then cluster."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client
