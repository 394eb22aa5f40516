"""A peer loads at start only what every request may need: the payment packages, feed and calendar writers and
the Ghost importer's HTML reading are imported when a request first uses them (issue 16: an idle peer's memory)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFERRED = ["stripe", "sumup", "pydantic", "requests", "feedgen", "lxml", "icalendar", "bs4", "markdownify"]


def loaded_at_start(kind: str) -> list[str]:
    """The deferred packages in sys.modules after a fresh interpreter imports the peer and the kind's app."""
    code = (
        "import importlib, json, sys, peer.app, peer.cli, peer.services\n"
        f"importlib.import_module('actors.{kind}')\n"
        f"print(json.dumps([m for m in {DEFERRED!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout))


@pytest.mark.parametrize("kind", ["blog", "events", "shop"])
def test_a_peer_starts_without_the_packages_only_some_requests_need(kind: str) -> None:
    assert loaded_at_start(kind) == []
