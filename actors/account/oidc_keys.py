"""The RS256 key the account service signs ID tokens and logout tokens with: made on first use and kept in
`signing_keys`; its public half is the JWKS peers verify against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from joserfc.jwk import RSAKey
from sqlalchemy import select

from store.db import Store
from store.models import SigningKey
from store.upsert import insert_ignore

ALG = "RS256"


def _load(row: SigningKey) -> RSAKey:
    return RSAKey.import_key(row.private_pem, parameters={"kid": row.kid, "use": "sig", "alg": ALG})


@dataclass
class SigningKeys:
    """The store's signing keys, read once per process (a key made by another process is found on next read)."""

    store: Store
    _current: RSAKey | None = None
    _published: list[RSAKey] = field(default_factory=list)

    async def current(self) -> RSAKey:
        if self._current is None:
            await self._read()
        assert self._current is not None
        return self._current

    async def jwks(self) -> dict[str, Any]:
        if self._current is None:
            await self._read()
        return {"keys": [key.as_dict(private=False) for key in self._published]}

    async def _read(self) -> None:
        async with self.store.read() as db:
            rows = list(await db.scalars(select(SigningKey).order_by(SigningKey.created_at)))
        if not any(row.retired_at is None for row in rows):
            fresh = RSAKey.generate_key(2048)
            kid = fresh.thumbprint()
            async with self.store.write() as db:
                await insert_ignore(
                    db,
                    SigningKey,
                    {"kid": kid, "private_pem": fresh.as_pem(private=True).decode(), "created_at": self.store.clock()},
                    ("kid",),
                )
            async with self.store.read() as db:
                rows = list(await db.scalars(select(SigningKey).order_by(SigningKey.created_at)))
        keys = [(row, _load(row)) for row in rows]
        self._published = [key for _, key in keys]
        self._current = [key for row, key in keys if row.retired_at is None][-1]
