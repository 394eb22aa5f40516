"""Which certificate authorities the peer's outgoing https trusts: certifi's bundle (Mozilla's roots), or the
PEM file named by `SSL_CERT_FILE`, which replaces it, as it does for OpenSSL and for httpx with its
environment. An operator with a CA of their own (a private network, the deployment test's local CA) names a
file holding it together with whatever public roots the peer should still trust.

Every https connection of the peer verifies its certificate and host name against that bundle; nothing
turns verification off."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping


class NoCaBundle(ValueError):
    """SSL_CERT_FILE names a file that does not exist or holds no certificate."""


def ca_bundle(env: Mapping[str, str] | None = None) -> str:
    """The path of the CA bundle outgoing https verifies against."""
    named = (os.environ if env is None else env).get("SSL_CERT_FILE", "").strip()
    if named:
        if not os.path.isfile(named):
            raise NoCaBundle(f"SSL_CERT_FILE names {named}, which is not a file")
        return named
    import certifi

    return certifi.where()


def client_context(env: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """A verifying client context over `ca_bundle()`."""
    bundle = ca_bundle(env)
    try:
        return ssl.create_default_context(cafile=bundle)
    except ssl.SSLError as exc:
        raise NoCaBundle(f"SSL_CERT_FILE {bundle} holds no usable certificate: {exc}") from None
