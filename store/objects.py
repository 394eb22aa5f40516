"""Documents this peer serves at their ids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import StoredObject
from store.upsert import insert_ignore


def primary_type(data: dict[str, Any]) -> str:
    """The type a document is filed under: its own type, not the generic `Object` it may also carry."""
    kind = data["type"]
    if isinstance(kind, list):
        specific = [k for k in kind if k != "Object"]
        kind = specific[0] if specific else "Object"
    return str(kind)


async def get(session: AsyncSession, object_id: str) -> StoredObject | None:
    return await session.get(StoredObject, object_id)


async def get_many(session: AsyncSession, object_ids: list[str]) -> dict[str, StoredObject]:
    """The stored documents among `object_ids`, by id, in one query per 500 (SQLite's limit on parameters)."""
    found: dict[str, StoredObject] = {}
    unique = list(dict.fromkeys(object_ids))
    for start in range(0, len(unique), 500):
        rows = await session.scalars(select(StoredObject).where(StoredObject.id.in_(unique[start : start + 500])))
        found.update({row.id: row for row in rows})
    return found


async def put(
    session: AsyncSession,
    data: dict[str, Any],
    *,
    actor: str,
    now: float,
    public: bool = True,
    readers: list[str] | None = None,
    capability: str | None = None,
) -> StoredObject:
    """Insert or replace the document at `data["id"]`."""
    row = await session.get(StoredObject, data["id"])
    if row is None:
        row = StoredObject(
            id=data["id"],
            actor=actor,
            type=primary_type(data),
            data=data,
            public=public,
            readers=readers,
            capability=capability,
            created_at=now,
            updated_at=now,
            deleted_at=None,
        )
        session.add(row)
    else:
        row.type, row.data, row.public, row.readers, row.updated_at = primary_type(data), data, public, readers, now
        if capability is not None:
            row.capability = capability
    await session.flush()
    return row


async def put_new(session: AsyncSession, data: dict[str, Any], *, actor: str, now: float, **access: Any) -> None:
    """`put` for a document whose id was just made (an activity being emitted, a purchase): one INSERT instead
    of a read and an insert. Should the id be stored already after all, it is replaced as `put` replaces it.
    `access`: `public` and `readers`, as `put` takes them."""
    values = {"public": True, "readers": None, **access, "capability": None, "deleted_at": None}
    values |= {"id": data["id"], "actor": actor, "type": primary_type(data), "data": data}
    if not await insert_ignore(session, StoredObject, values | {"created_at": now, "updated_at": now}, ("id",)):
        await put(session, data, actor=actor, now=now, **access)


async def of_type(session: AsyncSession, actor: str, kind: str) -> list[StoredObject]:
    rows = await session.scalars(
        select(StoredObject)
        .where(StoredObject.actor == actor, StoredObject.type == kind, StoredObject.deleted_at.is_(None))
        .order_by(StoredObject.created_at.desc())
    )
    return list(rows)


async def embed_public(session: AsyncSession, ids: list[str]) -> list[Any]:
    """Public documents inline (as Mastodon expects in an outbox); anything else by its id."""
    rows = {row.id: row for row in await session.scalars(select(StoredObject).where(StoredObject.id.in_(ids)))}
    out: list[Any] = []
    for item_id in ids:
        row = rows.get(item_id)
        if row is not None and row.public and row.deleted_at is None:
            out.append({k: v for k, v in row.data.items() if k not in ("bto", "bcc")})
        else:
            out.append(item_id)
    return out
