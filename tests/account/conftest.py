"""The account suite's fixtures: the four peers running together."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.account.cooperative import Cooperative, start_cooperative
from tests.support.databases import Peek
from tests.support.processes import PeerProcess


@pytest.fixture
def coop(
    peer_process: Callable[..., PeerProcess], peek: Callable[[str], Peek], request: pytest.FixtureRequest
) -> Cooperative:
    return start_cooperative(peer_process, peek, request)
