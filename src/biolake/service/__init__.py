"""The biolake service: a REST API and web pages over a lake (``biolake serve``).

>>> from biolake.service import ServiceConfig, create_app
>>> app = create_app(ServiceConfig(lake="lake/", tokens=("a-long-secret-token",)))  # doctest: +SKIP

See ``docs/service.md`` for the endpoints and the security model.
"""

from biolake.service.app import create_app
from biolake.service.config import ServiceConfig

__all__ = ["ServiceConfig", "create_app"]
