"""The follow lifecycle, for follows of us (`in`) and ours of others (`out`)."""

from __future__ import annotations

from enum import StrEnum

from store.lifecycle import Lifecycle


class FollowState(StrEnum):
    PENDING = "pending"  # in: waiting for the admin's approval; out: waiting for the followee's answer
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNDONE = "undone"
    GONE = "gone"  # in: the follower's inbox answered 410


FOLLOW = Lifecycle(
    "follow",
    FollowState,
    {
        FollowState.PENDING: frozenset(
            {FollowState.ACCEPTED, FollowState.REJECTED, FollowState.UNDONE, FollowState.GONE}
        ),
        # A followee may answer again (an Accept repeated under a new id), or reject a follow it had accepted.
        FollowState.ACCEPTED: frozenset(
            {FollowState.ACCEPTED, FollowState.REJECTED, FollowState.UNDONE, FollowState.GONE}
        ),
        FollowState.REJECTED: frozenset({FollowState.REJECTED, FollowState.ACCEPTED, FollowState.GONE}),
    },
)
