"""A lifecycle: a closed set of states and the moves allowed between them, declared once per kind of row.

Rows keep their state as the StrEnum's value (the database strings); code moves a row only through
`Lifecycle.move`, so a move the declaration does not allow is a bug that fails loudly, not a silent write."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)


class IllegalTransition(Exception):
    def __init__(self, lifecycle: str, old: str, new: str) -> None:
        super().__init__(f"{lifecycle}: {old} → {new} is not an allowed move")
        self.lifecycle, self.old, self.new = lifecycle, old, new


class Lifecycle(Generic[S]):
    def __init__(self, name: str, states: type[S], moves: Mapping[S, frozenset[S]]) -> None:
        unknown = {s for targets in moves.values() for s in targets} - set(states)
        if unknown:
            raise ValueError(f"{name}: moves to states it does not declare: {unknown}")
        self.name = name
        self.states = states
        self.moves: dict[S, frozenset[S]] = {state: moves.get(state, frozenset()) for state in states}

    def can_move(self, old: str, new: S) -> bool:
        return new in self.moves.get(self.states(old), frozenset())

    def move(self, old: str, new: S) -> S:
        """`new` when the move from `old` is allowed; IllegalTransition otherwise."""
        if not self.can_move(old, new):
            raise IllegalTransition(self.name, old, new)
        return new

    def terminal(self, state: str) -> bool:
        return not self.moves[self.states(state)]

    def sources_of(self, new: S) -> frozenset[S]:
        """The states a row may move to `new` from (for an UPDATE's WHERE clause)."""
        return frozenset(old for old, targets in self.moves.items() if new in targets)
