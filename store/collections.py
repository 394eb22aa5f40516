"""Ordered collections with keyset paging: page N costs what page 1 costs.

Each collection's size is kept in `collection_sizes`, changed in the same transaction as the items, so
`count()` is one primary-key read. Everything that adds or removes items must go through this module (or keep
`collection_sizes` right itself).

A transaction's changes to the sizes are written as it commits (one statement for all its collections, in the
order of their names), not at each add or remove: a size row is a hot row (every buyer of an event changes the
event's held or sold tickets), locked from its UPDATE to the COMMIT, and written mid-transaction it made every
other buyer wait for the rest of the transaction's statements. Within the transaction, `count()` and `counts()`
include its own changes not yet written (`pending_size`). Nothing here uses savepoints, and a transaction that
changes collections must not either: releasing one writes the changes so far, but rolling one back forgets them
all, the changes made before it included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, delete, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from store.db import affected
from store.models import CollectionItem, CollectionSize
from store.upsert import insert_ignore, insert_or_add_statement

# Items per DELETE … IN (…) in remove_many: well under both databases' limits on bound parameters.
_REMOVE_CHUNK = 1000


@dataclass(frozen=True)
class Page:
    items: list[CollectionItem]
    next_cursor: int | None
    prev_cursor: int | None


async def add(
    session: AsyncSession, collection: str, item: str, now: float, data: dict[str, Any] | None = None
) -> bool:
    """Add `item`; False when it was already there (the collection is a set)."""
    values = {"collection": collection, "item": item, "data": data, "created_at": now}
    added = await insert_ignore(session, CollectionItem, values, ("collection", "item"))
    if added:
        _change_size(session, collection, 1)
    return added


async def remove(session: AsyncSession, collection: str, item: str) -> bool:
    result = await session.execute(
        delete(CollectionItem).where(CollectionItem.collection == collection, CollectionItem.item == item)
    )
    removed = bool(affected(result))
    if removed:
        _change_size(session, collection, -1)
    return removed


async def remove_many(session: AsyncSession, collection: str, items: list[str]) -> int:
    """Remove every one of `items` that is in the collection; how many were."""
    removed = 0
    for start in range(0, len(items), _REMOVE_CHUNK):
        chunk = items[start : start + _REMOVE_CHUNK]
        result = await session.execute(
            delete(CollectionItem).where(CollectionItem.collection == collection, CollectionItem.item.in_(chunk))
        )
        removed += affected(result)
    if removed:
        _change_size(session, collection, -removed)
    return removed


_SIZE_CHANGES = "collection_size_changes"  # in Session.info: collection -> items added less items removed


def _change_size(session: AsyncSession, collection: str, by: int) -> None:
    changes: dict[str, int] = session.info.setdefault(_SIZE_CHANGES, {})
    changes[collection] = changes.get(collection, 0) + by


def pending_size(session: AsyncSession, collection: str) -> int:
    """What this transaction added to `collection` less what it removed, not yet written to its size row."""
    changes: dict[str, int] = session.info.get(_SIZE_CHANGES, {})
    return changes.get(collection, 0)


@event.listens_for(Session, "before_commit")
def _write_sizes(session: Session) -> None:
    changes: dict[str, int] | None = session.info.pop(_SIZE_CHANGES, None)
    rows = [{"collection": name, "size": by} for name, by in sorted((changes or {}).items()) if by]
    if rows:  # sorted: two transactions lock the size rows they share in the same order, so never deadlock
        kind = session.get_bind().dialect.name
        session.execute(insert_or_add_statement(kind, CollectionSize, ("collection",), "size"), rows)


@event.listens_for(Session, "after_rollback")
def _forget_sizes(session: Session) -> None:
    session.info.pop(_SIZE_CHANGES, None)


async def set_data(session: AsyncSession, collection: str, item: str, data: dict[str, Any]) -> None:
    await session.execute(
        update(CollectionItem)
        .where(CollectionItem.collection == collection, CollectionItem.item == item)
        .values(data=data)
    )


_COLLECTION, _ITEM = bindparam("of_collection", type_=String()), bindparam("of_item", type_=String())
# built once, values bound at execution: building and keying a statement costs more than its round trip
_GET = select(CollectionItem).where(CollectionItem.collection == _COLLECTION, CollectionItem.item == _ITEM)
_COUNT = select(CollectionSize.size).where(CollectionSize.collection == _COLLECTION)


async def get(session: AsyncSession, collection: str, item: str) -> CollectionItem | None:
    return await session.scalar(_GET, {"of_collection": collection, "of_item": item})


async def contains(session: AsyncSession, collection: str, item: str) -> bool:
    return await get(session, collection, item) is not None


async def count(session: AsyncSession, collection: str) -> int:
    """The number of items: one primary-key read of the size kept by add/remove/remove_many."""
    return (await session.scalar(_COUNT, {"of_collection": collection}) or 0) + pending_size(session, collection)


async def counts(session: AsyncSession, names: list[str]) -> dict[str, int]:
    """The number of items of each collection named, in one query (0 for one never written)."""
    found: dict[str, int] = dict.fromkeys(names, 0)
    for start in range(0, len(names), 500):  # SQLite's limit on bound parameters
        chunk = names[start : start + 500]
        rows = await session.execute(
            select(CollectionSize.collection, CollectionSize.size).where(CollectionSize.collection.in_(chunk))
        )
        found.update({name: size for name, size in rows})
    for name in names:
        found[name] += pending_size(session, name)
    return found


async def holding(session: AsyncSession, item: str, prefix: str, suffix: str) -> list[str]:
    """The collections named `prefix…suffix` that hold `item` (found by the item's index, whatever the store's size)."""
    rows = await session.scalars(select(CollectionItem.collection).where(CollectionItem.item == item))
    return [c for c in rows if c.startswith(prefix) and c.endswith(suffix)]


async def all_items(session: AsyncSession, collection: str, newest_first: bool = True) -> list[CollectionItem]:
    order = CollectionItem.seq.desc() if newest_first else CollectionItem.seq.asc()
    rows = await session.scalars(select(CollectionItem).where(CollectionItem.collection == collection).order_by(order))
    return list(rows)


async def page(
    session: AsyncSession, collection: str, *, before: int | None = None, after: int | None = None, size: int = 20
) -> Page:
    """Newest first. `before=seq` gives the next (older) page, `after=seq` the previous (newer) one."""
    query = select(CollectionItem).where(CollectionItem.collection == collection)
    if after is not None:
        query = query.where(CollectionItem.seq > after).order_by(CollectionItem.seq.asc())
    else:
        if before is not None:
            query = query.where(CollectionItem.seq < before)
        query = query.order_by(CollectionItem.seq.desc())
    rows = list(await session.scalars(query.limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    if after is not None:
        rows.reverse()
    if not rows:
        return Page([], None, None)
    newest, oldest = rows[0].seq, rows[-1].seq
    has_older = more if after is None else await _exists(session, collection, older_than=oldest)
    has_newer = (
        more if after is not None else before is not None and await _exists(session, collection, newer_than=newest)
    )
    return Page(rows, oldest if has_older else None, newest if has_newer else None)


async def _exists(
    session: AsyncSession, collection: str, *, older_than: int | None = None, newer_than: int | None = None
) -> bool:
    """One index probe. The ORDER BY matters: without it PostgreSQL may pick a sequential scan that reads
    every row before the first match, making deep pages cost in proportion to their depth."""
    query = select(CollectionItem.seq).where(CollectionItem.collection == collection)
    if older_than is not None:
        query = query.where(CollectionItem.seq < older_than).order_by(CollectionItem.seq.desc())
    else:
        query = query.where(CollectionItem.seq > newer_than).order_by(CollectionItem.seq.asc())
    return await session.scalar(query.limit(1)) is not None
