"""Key pairs for actors."""

from bovine.crypto import generate_rsa_public_private_key


def new_key_pair() -> tuple[str, str]:
    """(public PEM, private PEM) of a fresh RSA-2048 pair."""
    return generate_rsa_public_private_key()
