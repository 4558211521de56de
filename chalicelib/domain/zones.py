"""IANA time zones, named by the ``tzdata`` package so Lambda and laptops agree.

The system's own zone files may add names such as ``localtime`` (the server's zone):
only the names the IANA database lists are time zones here.
"""

from __future__ import annotations

import functools
import importlib.resources
import zoneinfo


@functools.cache
def _known_zones() -> frozenset[str]:
    listed = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(listed.split())


def is_time_zone(name: str) -> bool:
    # Only names in the database: ZoneInfo() would also open paths like "../x".
    return name in _known_zones()


@functools.cache
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


@functools.cache
def known_zones() -> tuple[str, ...]:
    """Every IANA zone name, sorted (for time-zone choosers)."""
    return tuple(sorted(_known_zones()))
