"""A country's time zones: tzdata's zone.tab regions, its main zone first (the zone of most
of its people, which zone.tab, ordered by place, does not always list first); older names
leading to the region offered; offsets from UTC."""

from __future__ import annotations

import importlib.resources
import zoneinfo
from datetime import UTC, datetime

import pytest

from chalicelib.domain import zones

WINTER = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)

# Every country zone.tab gives several zones, and the one a person of it gets: the
# table of domain/zones.py where zone.tab's first is not the main one, else zone.tab's.
# A new tzdata that adds a country here, or reorders one, fails the last test below.
MAIN_ZONE_OF_EACH_COUNTRY_WITH_SEVERAL = {
    "AQ": "Antarctica/McMurdo",
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CD": "Africa/Kinshasa",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "CY": "Asia/Nicosia",
    "DE": "Europe/Berlin",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "FM": "Pacific/Chuuk",
    "GL": "America/Nuuk",
    "ID": "Asia/Jakarta",
    "KI": "Pacific/Tarawa",
    "KZ": "Asia/Almaty",
    "MH": "Pacific/Majuro",
    "MN": "Asia/Ulaanbaatar",
    "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland",
    "PF": "Pacific/Tahiti",
    "PG": "Pacific/Port_Moresby",
    "PS": "Asia/Hebron",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "UM": "Pacific/Midway",
    "US": "America/New_York",
    "UZ": "Asia/Tashkent",
}


def zone_tab() -> dict[str, list[str]]:
    """zone.tab as tzdata ships it, each country's zones in its order."""
    text = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            country, _, name, *_ = line.split("\t")
            found.setdefault(country, []).append(name)
    return found


@pytest.mark.parametrize(
    ("country", "main"),
    [
        ("UA", "Europe/Kyiv"),
        ("RU", "Europe/Moscow"),
        ("CA", "America/Toronto"),
        ("BR", "America/Sao_Paulo"),
        ("AU", "Australia/Sydney"),
        ("MX", "America/Mexico_City"),
        ("ID", "Asia/Jakarta"),
        ("KZ", "Asia/Almaty"),
        ("PK", "Asia/Karachi"),
        ("TR", "Europe/Istanbul"),
        ("US", "America/New_York"),
    ],
)
def test_a_person_without_a_zone_gets_their_country_s_main_zone(country, main):
    assert zones.default_zone(country, "Asia/Jerusalem") == main
    assert zones.default_zone(country.lower(), "Asia/Jerusalem") == main
    assert zones.country_zones(country)[0] == main
    assert zones.zone_countries()[main] == (country, 0)


def test_the_main_zone_comes_first_then_zone_tab_s_order():
    # Given zone.tab, which lists Crimea before the rest of Ukraine
    assert zone_tab()["UA"] == ["Europe/Simferopol", "Europe/Kyiv"]
    # Then Kyiv comes first, and every other country keeps zone.tab's order after its main
    assert zones.country_zones("UA") == ("Europe/Kyiv", "Europe/Simferopol")
    for country, names in zone_tab().items():
        main = zones.country_zones(country)[0]
        assert zones.country_zones(country) == (main, *[n for n in names if n != main])


def test_a_country_tzdata_gives_no_zone_gets_the_fallback():
    assert zones.default_zone("XK", "Asia/Jerusalem") == "Asia/Jerusalem"
    assert zones.default_zone(None, "Europe/Istanbul") == "Europe/Istanbul"
    assert zones.country_zones("") == ()


def test_the_table_names_only_canonical_zones_of_their_country_that_zone_tab_puts_later():
    listed = zone_tab()
    for country, main in zones.MAIN_ZONES.items():
        assert main in listed[country][1:], country  # zone.tab's first needs no entry
        assert zones.is_time_zone(main)
        assert zones.zone_aliases().get(main) is None  # a region's own name, no alias
        assert zoneinfo.ZoneInfo(main).utcoffset(WINTER) is not None
    assert zones.is_time_zone("Europe/Kyiv")


def test_palestine_s_main_zone_is_the_west_bank_s_with_the_same_clocks_as_gaza():
    assert zones.country_zones("PS") == ("Asia/Hebron", "Asia/Gaza")
    for month in range(1, 13):
        moment = WINTER.replace(month=month)
        assert zones.utc_offset("Asia/Hebron", moment) == zones.utc_offset("Asia/Gaza", moment)


def test_every_country_with_several_zones_has_had_its_main_zone_chosen():
    several = {country for country, names in zone_tab().items() if len(names) > 1}
    assert {c: zones.country_zones(c)[0] for c in several} == (
        MAIN_ZONE_OF_EACH_COUNTRY_WITH_SEVERAL
    )


def test_older_names_lead_to_the_region_offered_and_its_country():
    aliases = zones.zone_aliases()
    assert aliases["Europe/Kiev"] == "Europe/Kyiv"
    assert aliases["Asia/Calcutta"] == "Asia/Kolkata"
    assert aliases["US/Eastern"] == "America/New_York"
    assert set(aliases.values()) <= set(zones.regional_zones())
    assert zones.zone_country("Europe/Kiev") == "UA"
    assert zones.zone_country("Asia/Karachi") == "PK"
    assert zones.zone_country("UTC") == ""


def test_offsets_are_those_of_the_moment_and_the_regions_those_of_its_quarter_hour():
    assert zones.utc_offset("Asia/Kolkata", WINTER) == "UTC+05:30"
    assert zones.utc_offset("America/St_Johns", WINTER) == "UTC-03:30"
    # London's clocks go forward at 01:00 UTC on 28 March 2027
    before = datetime(2027, 3, 28, 0, 59, tzinfo=UTC)
    after = datetime(2027, 3, 28, 1, 14, tzinfo=UTC)
    assert zones.regional_offsets(before)["Europe/London"] == "UTC+00:00"
    assert zones.regional_offsets(after)["Europe/London"] == "UTC+01:00"
    # Every page of a quarter hour shares one computation
    assert zones.regional_offsets(after) is zones.regional_offsets(after.replace(minute=0))
