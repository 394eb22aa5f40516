"""Key pairs for actors."""


def new_key_pair() -> tuple[str, str]:
    """(public PEM, private PEM) of a fresh RSA-2048 pair, made by bovine's helper (imported only here:
    importing bovine is slow and a key is made once per actor)."""
    from bovine.crypto import generate_rsa_public_private_key

    return generate_rsa_public_private_key()
