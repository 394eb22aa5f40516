"""The loop every sweep runs in: a pass that fails is logged and the next one runs; what a pass did is logged."""

from __future__ import annotations

import asyncio
import logging

import pytest

from actors.sweeps import keep_sweeping

log = logging.getLogger("tests.sweeps")


async def test_a_failed_pass_is_logged_and_the_next_one_runs(caplog: pytest.LogCaptureFixture) -> None:
    outcomes: list[int | Exception] = [RuntimeError("store away"), 0, 3]
    fourth = asyncio.Event()

    async def sweep() -> int:
        if not outcomes:  # the fourth pass: the test has seen enough, and stops the loop here
            fourth.set()
            await asyncio.Event().wait()
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    caplog.set_level(logging.INFO, logger="tests.sweeps")
    task = asyncio.create_task(keep_sweeping(sweep, 0, log=log, name="the test sweep", done="did %d things"))
    await fourth.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["the test sweep failed; trying again in 0 s", "did 3 things"]
