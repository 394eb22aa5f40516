"""Where image files live: a small interface, with local disk as the one implementation today."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

NAME = re.compile(r"^[0-9a-f]{32}-[0-9]{1,5}\.(jpg|png|webp|gif)$")


class Storage(Protocol):
    def put(self, name: str, data: bytes) -> None: ...

    def get(self, name: str) -> bytes | None: ...

    def delete(self, name: str) -> None: ...


class DiskStorage:
    """Files under `root`, written whole (temp file, then rename) so a reader never sees half of one."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        if not NAME.match(name):
            raise ValueError(f"{name!r} is not a media file name")
        return self.root / name[:2] / name

    def put(self, name: str, data: bytes) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> bytes | None:
        if not NAME.match(name):
            return None
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)
