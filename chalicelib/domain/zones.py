"""IANA time zones, named by the ``tzdata`` package so Lambda and laptops agree.

The system's own zone files may add names such as ``localtime`` (the server's zone):
only the names the IANA database lists are time zones here.

A country's zones are tzdata's ``zone.tab`` regions, its main zone first: the one of
:data:`MAIN_ZONES`, else zone.tab's first. Older names (``Europe/Kiev``) lead to the
region offered (:func:`zone_aliases`). How zones are named and shown is the pages'.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import zoneinfo
from datetime import UTC, datetime, timedelta

from chalicelib.domain.countries import COUNTRY_CODES

# The zone of most of a country's people, where zone.tab does not list it first:
# zone.tab orders a country's zones by place (roughly north to south, east to west),
# not by population. Each is one of the country's zone.tab zones (the tests check it;
# one that a newer tzdata dropped would leave zone.tab's order).
MAIN_ZONES: dict[str, str] = {
    "AU": "Australia/Sydney",  # not Lord Howe Island; Canberra keeps Sydney's time
    "BR": "America/Sao_Paulo",  # not Fernando de Noronha; Brasília keeps São Paulo's time
    "CA": "America/Toronto",  # not Newfoundland; Ottawa keeps Toronto's time
    "PS": "Asia/Hebron",  # the West Bank, more people than Gaza (the same clocks)
    "RU": "Europe/Moscow",  # not Kaliningrad
    "UA": "Europe/Kyiv",  # not Simferopol (Crimea), whose clocks differ from Kyiv's
    "UZ": "Asia/Tashkent",  # the east, with the capital; not Samarkand (the same clocks)
}
# zone.tab's first is the main zone of every other country with several (checked by the
# tests), e.g. America/New_York, America/Mexico_City, Asia/Jakarta, Asia/Almaty
# ("most of Kazakhstan", Astana with it), Pacific/Chuuk (Chuuk and Yap, more people than
# Pohnpei). Antarctica and the US minor islands have no population to count: zone.tab's
# order is kept.


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
    """tzdata's ``zone.tab``: each country's zones, its main zone first."""
    table = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab")
    found: dict[str, list[str]] = {}
    for line in table.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            country, _, name, *_ = line.split("\t")
            found.setdefault(country, []).append(name)
    for country, main in MAIN_ZONES.items():
        names = found.get(country, [])
        if main in names:
            names.insert(0, names.pop(names.index(main)))
    return {country: tuple(names) for country, names in found.items()}


def country_zones(country: str | None) -> tuple[str, ...]:
    """The zones of a country (ISO 3166 code), its main zone first, then zone.tab's order."""
    return _zone_table().get((country or "").upper(), ())


def default_zone(country: str | None, fallback: str) -> str:
    """A person's zone when they did not choose one: their country's (its main zone, for
    a country with several), else ``fallback`` (the event's)."""
    zones = country_zones(country)
    return zones[0] if zones else fallback


@functools.cache
def regional_zones() -> tuple[str, ...]:
    """One zone per region, as zone.tab lists them (what a picker offers), sorted."""
    return tuple(sorted({name for names in _zone_table().values() for name in names}))


@functools.cache
def zone_countries() -> dict[str, tuple[str, int]]:
    """Each regional zone -> (its country, its rank there: 0 for the main zone)."""
    found: dict[str, tuple[str, int]] = {}
    for code in sorted(COUNTRY_CODES):
        for rank, name in enumerate(country_zones(code)):
            found.setdefault(name, (code, rank))
    return found


def zone_country(name: str) -> str:
    """The country of a zone's region (an older name's too), "" when tzdata names none."""
    return zone_countries().get(zone_aliases().get(name, name), ("", 0))[0]


@functools.cache
def zone_aliases() -> dict[str, str]:
    """Older names a browser may report (``Asia/Calcutta``, ``Europe/Kiev``) -> the
    region's zone the picker offers: CLDR's aliases, else tzdata's links (same data)."""
    # CLDR's zone aliases are data about zones, not about a language: Babel ships them.
    # Imported here: only the pages need them, not a registration's cold start.
    from babel.core import get_global

    regional = set(regional_zones())
    aliases = {
        old: new
        for old, new in get_global("zone_aliases").items()
        if new in regional and old not in regional
    }
    files = importlib.resources.files("tzdata").joinpath("zoneinfo")

    def digest(name: str) -> str:
        path = files
        for part in name.split("/"):
            path = path.joinpath(part)
        return hashlib.sha256(path.read_bytes()).hexdigest()

    by_data: dict[str, str] = {}
    for name in sorted(regional):
        by_data.setdefault(digest(name), name)
    for name in known_zones():
        if name not in regional and name not in aliases:
            same = by_data.get(digest(name))
            if same:
                aliases[name] = same
    return aliases


def utc_offset(name: str, moment: datetime) -> str:
    """A zone's offset from UTC at ``moment``: "UTC+05:30"."""
    delta = moment.astimezone(zone(name)).utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def regional_offsets(moment: datetime) -> dict[str, str]:
    """Each regional zone's :func:`utc_offset` at the quarter hour of ``moment`` (kept
    for a few quarter hours: every page of that quarter hour shares them)."""
    moment = moment.astimezone(UTC)
    return _regional_offsets(
        moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
    )


@functools.lru_cache(maxsize=4)
def _regional_offsets(quarter_hour: datetime) -> dict[str, str]:
    return {name: utc_offset(name, quarter_hour) for name in regional_zones()}
