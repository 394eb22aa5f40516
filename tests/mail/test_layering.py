"""`mail/` is core: it imports no actor kind and nothing of the peer (DESIGN: the core never imports a kind)."""

from __future__ import annotations

import ast
from pathlib import Path

MAIL = Path(__file__).resolve().parents[2] / "mail"


def test_mail_imports_neither_actors_nor_peer() -> None:
    imported: set[str] = set()
    for path in MAIL.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    assert imported, "no imports found: the walk is broken"
    assert {"mail.compose", "store.models"} <= imported
    assert not {name for name in imported if name.split(".")[0] in ("actors", "peer", "inbox")}
