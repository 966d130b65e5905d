"""Fixtures of the service tests: a lake with a small table, and TestClients over it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_helpers import PATIENTS

import biolake as bl
from biolake.service.app import create_app
from biolake.service.config import ServiceConfig


@pytest.fixture(scope="session")
def template_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake holding the table ``patients`` (4 rows), made once; never changed."""
    path = tmp_path_factory.mktemp("template") / "lake"
    bl.Lake.open(path).write_table("patients", PATIENTS)
    return path


@pytest.fixture
def lake_dir(template_lake: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template lake, for tests that change it."""
    path = tmp_path / "lake"
    shutil.copytree(template_lake, path)
    return path


@pytest.fixture(scope="session")
def ro_client(template_lake: Path) -> TestClient:
    """A TestClient over the template lake, shared: only for requests that change nothing."""
    return TestClient(create_app(ServiceConfig(lake=template_lake)), base_url="http://localhost")


@pytest.fixture
def make_client(lake_dir: Path) -> Callable[..., TestClient]:
    """``make_client(**config)``: a TestClient over ``lake_dir`` (Host: localhost)."""

    def make(*, headers: dict[str, str] | None = None, **settings: Any) -> TestClient:
        config = ServiceConfig(lake=lake_dir, **settings)
        return TestClient(create_app(config), base_url="http://localhost", headers=headers or {})

    return make


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A TestClient of a service without tokens."""
    return make_client()


@pytest.fixture(autouse=True, scope="session")
def _small_report_bundle() -> Iterator[None]:
    """Reports inline the Vega bundle, which vl_convert takes seconds to produce once per
    process; these tests check how the service sends reports, not the bundle, so a stub
    stands in for it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("biolake.report.html._javascript_bundle", lambda: "/* vega-embed bundle */")
        yield
