"""constraints.txt pins every release the tests run on, and both installs use it: the virtual environment
(scripts/setup-venv.sh) and the image (Dockerfile), so the image cannot drift to newer releases."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: {line!r} is not pinned with =="
            found[normal(name)] = version
    return found


def requirement_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    return {normal(re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0]) for r in wanted}


def test_every_requirement_is_pinned() -> None:
    missing = requirement_names() - set(pins())
    assert not missing, f"constraints.txt does not pin {sorted(missing)}"


def test_the_environment_runs_the_pinned_releases() -> None:
    installed = {normal(d.metadata["Name"]): d.version for d in metadata.distributions()}
    differ = {
        name: (version, installed.get(name)) for name, version in pins().items() if installed.get(name) != version
    }
    assert not differ, f"pinned vs installed: {differ}"


def test_both_installs_use_the_constraints() -> None:
    assert "-c constraints.txt" in (ROOT / "scripts/setup-venv.sh").read_text(encoding="utf-8")
    assert "pip install -c constraints.txt ." in (ROOT / "Dockerfile").read_text(encoding="utf-8")
