"""The registry: the distribution API client and the server.

aiohttp builds two default TLS contexts when it is imported, and each parses the
system's CA bundle file: about 40 ms that every pull and push paid before its first
request. dockyard never uses those contexts (every request names its own, see
``client.endpoints``), so aiohttp is imported here, first, with the bundle file hidden
from OpenSSL. They still trust the system CAs that OpenSSL finds in the hashed
certificate directory (/etc/ssl/certs on Debian), which it reads only when a chain
needs one.
"""

from __future__ import annotations

import os
import sys


def _import_aiohttp_without_ca_bundle() -> None:
    if "aiohttp" in sys.modules:
        return
    saved = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = os.devnull
    try:
        import aiohttp  # noqa: F401
    finally:
        if saved is None:
            del os.environ["SSL_CERT_FILE"]
        else:
            os.environ["SSL_CERT_FILE"] = saved


_import_aiohttp_without_ca_bundle()
