"""Fixtures of the expression tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dask_client():
    """A real two-process Dask cluster."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
