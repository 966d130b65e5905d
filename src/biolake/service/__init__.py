"""The biolake service: a REST API and web pages over a lake (``biolake serve``).

>>> from biolake.service import ServiceConfig, create_app
>>> app = create_app(ServiceConfig(lake="lake/", tokens=("a-long-secret-token",)))  # doctest: +SKIP

See ``docs/service.md`` for the endpoints and the security model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from biolake.service.app import create_app
    from biolake.service.config import ServiceConfig

__all__ = ["ServiceConfig", "create_app"]


def __getattr__(name: str) -> Any:
    """Imported on first use, so job workers (``python -m biolake.service.worker``) start light."""
    if name == "create_app":
        from biolake.service.app import create_app

        return create_app
    if name == "ServiceConfig":
        from biolake.service.config import ServiceConfig

        return ServiceConfig
    raise AttributeError(f"module 'biolake.service' has no attribute {name!r}")
