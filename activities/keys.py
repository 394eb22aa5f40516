"""Key pairs for actors."""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def new_key_pair() -> tuple[str, str]:
    """(public PEM, private PEM) of a fresh RSA-2048 pair. Made with `cryptography` itself rather than bovine's
    helper of the same few lines: importing bovine loads its aiohttp client and JSON-LD processor, 37 MiB that a
    peer making its key on first start would then carry for its whole life."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public_pem.decode(), private_pem.decode()
