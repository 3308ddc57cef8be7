"""The registry server core: OCI Distribution v1.1 over CNCF distribution's layout.

create_app(settings) -> aiohttp.web.Application
serve(settings, host, port, ssl_context=None, workers=1)
purge_stale_uploads(root, older_than) -> int
"""

from dockyard.registry.server.app import create_app
from dockyard.registry.server.authz import Authorizer, Scope
from dockyard.registry.server.server import serve
from dockyard.registry.server.settings import ServerSettings
from dockyard.registry.server.uploadstore import purge_stale_uploads

__all__ = ["Authorizer", "Scope", "ServerSettings", "create_app", "purge_stale_uploads", "serve"]
