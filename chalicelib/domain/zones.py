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


@functools.cache
def _zone_table() -> dict[str, tuple[str, ...]]:
    """tzdata's ``zone.tab``: each country's zones, its most populous region first."""
    table = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab")
    found: dict[str, list[str]] = {}
    for line in table.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            country, _, name, *_ = line.split("\t")
            found.setdefault(country, []).append(name)
    return {country: tuple(names) for country, names in found.items()}


def country_zones(country: str | None) -> tuple[str, ...]:
    """The zones of a country (ISO 3166 code), its most populous region first."""
    return _zone_table().get((country or "").upper(), ())


def default_zone(country: str | None, fallback: str) -> str:
    """A person's zone when they did not choose one: their country's (its most populous
    region's, for a country with several), else ``fallback`` (the event's)."""
    zones = country_zones(country)
    return zones[0] if zones else fallback


@functools.cache
def regional_zones() -> tuple[str, ...]:
    """One zone per region, as zone.tab lists them (what a picker offers), sorted."""
    return tuple(sorted({name for names in _zone_table().values() for name in names}))
