"""The benchmark phases, in the order a full run takes them; `--only NAME` picks some."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bench.phases.common import Run
from bench.phases.fanout import phase_blog_fanout, phase_fanout
from bench.phases.idle import phase_idle
from bench.phases.ingest import phase_inbox
from bench.phases.pages import phase_pages
from bench.phases.paging import phase_collections
from bench.phases.purchases import phase_purchases
from bench.phases.rush import phase_rush

Phase = Callable[[Run], Awaitable[None]]

# The blog the inbox phase starts serves the collections and blog-fanout phases after it; the idle peers go
# first, while the run's own processes are still few.
PHASES: dict[str, Phase] = {
    "idle": phase_idle,
    "fanout": phase_fanout,
    "inbox": phase_inbox,
    "collections": phase_collections,
    "pages": phase_pages,
    "blog-fanout": phase_blog_fanout,
    "purchases": phase_purchases,
    "rush": phase_rush,
}
