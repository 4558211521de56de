"""IANA time zones, from the ``tzdata`` package so Lambda and laptops agree."""

from __future__ import annotations

import functools
import zoneinfo


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_time_zone(name: str) -> bool:
    # Only names in the database: ZoneInfo() would also open paths like "../x".
    return name in _known_zones()


@functools.cache
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)
