"""The start-up shortcut that skips Alembic on a store at the newest revision must agree with Alembic itself."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from store.migrate import alembic_config, head_revision


def test_head_read_from_the_files_is_alembics_head() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_two_heads_are_not_mistaken_for_one(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    (tmp_path / "c.py").write_text('revision: str = "c"\ndown_revision: str | None = "a"\n')
    assert head_revision(tmp_path) is None
    (tmp_path / "c.py").unlink()
    assert head_revision(tmp_path) == "b"
