"""A packaged stage's public address: ``python -m infra.stage <build dir> <url>``
(``--check <url>`` only checks it, before anything is packaged).

``make package`` runs it after ``chalice package``: it refuses an address people could
not reach (empty, not https, a path, a loopback, private or link-local host) with one
line saying what to set, and otherwise records it in the template as the default of
its ``PublicBaseUrl`` parameter, which every function reads as
``MAJLIS_PUBLIC_BASE_URL`` (``infra/resources.yaml``'s ``Globals``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from chalicelib.config import unreachable


def check(url: str) -> None:
    """Refuse ``url`` (ValueError, saying why) unless it is an https origin people reach."""
    problem = unreachable(url)
    if not problem and urlsplit(url).path not in ("", "/"):
        problem = f"must be an origin, without a path ({url!r})"
    if problem:
        raise ValueError(problem)


def record(build: Path, url: str) -> None:
    """Refuse ``url`` (see :func:`check`) or record it in ``build/sam.yaml``."""
    check(url)
    path = build / "sam.yaml"
    template = yaml.safe_load(path.read_text(encoding="utf-8"))
    template["Parameters"]["PublicBaseUrl"]["Default"] = url.rstrip("/")
    path.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")


def main(argv: list[str]) -> int:
    where, url = argv[0], argv[1] if len(argv) > 1 else ""
    try:
        check(url) if where == "--check" else record(Path(where), url)
    except ValueError as error:
        print(
            f"make package: PUBLIC_BASE_URL {error}; e.g. "
            "make package STAGE=prod PUBLIC_BASE_URL=https://majlis.example.org",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
