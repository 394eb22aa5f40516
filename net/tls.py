"""The certificates outgoing TLS trusts: certifi's bundle, or the file named by SSL_CERT_FILE (the variable
OpenSSL and httpx read) for a deployment behind its own CA; the loopback relay tests use it for a test CA."""

from __future__ import annotations

import os
import ssl


def ca_file() -> str:
    named = os.environ.get("SSL_CERT_FILE", "").strip()
    if named:
        return named
    import certifi

    return certifi.where()


def client_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file())
