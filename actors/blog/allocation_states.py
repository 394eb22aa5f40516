"""An allocation of a post to a calendar, as the blog sees it: pending until the events peer answers the Add."""

from __future__ import annotations

from enum import StrEnum

from store.lifecycle import Lifecycle


class AllocationState(StrEnum):
    PENDING = "pending"
    ALLOCATED = "allocated"
    REJECTED = "rejected"


ALLOCATION = Lifecycle(
    "allocation",
    AllocationState,
    {
        AllocationState.PENDING: frozenset({AllocationState.ALLOCATED, AllocationState.REJECTED}),
        # The calendar answers again when the same post is allocated again (an Accept under a new id).
        AllocationState.ALLOCATED: frozenset({AllocationState.ALLOCATED}),
        AllocationState.REJECTED: frozenset({AllocationState.REJECTED}),
    },
)
