"""Install the door's camera QR scanner (the npm package qr-scanner, pinned with its registry integrity hash) into
templates/static/vendor/qr-scanner/, where the check-in page loads it from this peer's own origin.

Plain Python, no Node: it runs on a laptop, in CI and inside the image build alike. Idempotent: a file already in
place with the pinned version is left as it is. The registry is NPM_CONFIG_REGISTRY, else the public one.
    python3 scripts/install-scanner.py
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

NAME, VERSION = "qr-scanner", "1.4.2"
INTEGRITY = "sha512-kV1yQUe2FENvn59tMZW6mOVfpq9mGxGf8l6+EGaXUOd4RBOLg7tRC83OrirM5AtDvZRpdjdlXURsHreAOSPOUw=="
FILES = ("qr-scanner.umd.min.js", "qr-scanner-worker.min.js", "LICENSE")
TARGET = Path(__file__).resolve().parent.parent / "templates" / "static" / "vendor" / NAME
STAMP = TARGET / "VERSION"


def main() -> int:
    if STAMP.is_file() and STAMP.read_text().strip() == VERSION and all((TARGET / f).is_file() for f in FILES):
        return 0
    registry = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")
    url = f"{registry}/{NAME}/-/{NAME}-{VERSION}.tgz"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            tarball = response.read()
    except OSError as exc:
        print(f"install-scanner: could not download {url}: {exc}", file=sys.stderr)
        return 1
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if digest != INTEGRITY:
        print(f"install-scanner: {url} does not match its pinned integrity hash; nothing installed", file=sys.stderr)
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for name in FILES:
            member = archive.extractfile(f"package/{name}")
            if member is None:
                print(f"install-scanner: {name} is missing from {url}", file=sys.stderr)
                return 1
            (TARGET / name).write_bytes(member.read())
    STAMP.write_text(VERSION + "\n")
    print(f"install-scanner: {NAME} {VERSION} in {TARGET}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
