"""Bounded counters: one conditional UPDATE decides, so concurrent buyers can never overshoot.

The statements are built once, their values bound at execution: building and keying a statement on every call
cost SQLAlchemy more CPU than the round trip to the database (the counters are on every buyer's path)."""

from __future__ import annotations

from sqlalchemy import BindParameter, Integer, String, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import table_of
from store.models import Counter
from store.upsert import insert_ignore

_COUNTERS = table_of(Counter)
# not named after a column: an UPDATE's SET clause would take them for its own
_NAME: BindParameter[str] = bindparam("counter", type_=String())
_AMOUNT: BindParameter[int] = bindparam("amount", type_=Integer())
_SET_LIMIT = update(_COUNTERS).where(_COUNTERS.c.name == _NAME).values(limit=bindparam("new_limit"))
_TAKE = (
    update(_COUNTERS)
    .where(
        _COUNTERS.c.name == _NAME,
        _COUNTERS.c.limit.is_(None) | (_COUNTERS.c.value + _AMOUNT <= _COUNTERS.c.limit),
    )
    .values(value=_COUNTERS.c.value + _AMOUNT)
    .returning(_COUNTERS.c.value)
)
_VALUE = select(_COUNTERS.c.value).where(_COUNTERS.c.name == _NAME)


async def ensure(session: AsyncSession, name: str, limit: int | None) -> None:
    await insert_ignore(session, Counter, {"name": name, "value": 0, "limit": limit}, ("name",))
    if limit is not None:
        await session.execute(_SET_LIMIT, {"counter": name, "new_limit": limit})


async def take(session: AsyncSession, name: str, amount: int) -> int | None:
    """Add `amount` if that stays within the limit; the new value, or None when it would not fit."""
    result = await session.execute(_TAKE, {"counter": name, "amount": amount})
    value: int | None = result.scalar_one_or_none()
    return value


async def value(session: AsyncSession, name: str) -> int:
    return await session.scalar(_VALUE, {"counter": name}) or 0
