"""Languages: message catalogs and locale-aware dates, through Babel.

Catalogs are gettext ``.po`` files in ``chalicelib/locales/<lang>/LC_MESSAGES/``
(English is the source language). They are compiled in memory the first time a
language is used in a container, so there is no build step and no binary file in
the repository. Dates, times and time-zone names come from CLDR via Babel, so Arabic
gets Arabic month names and digits, Urdu its own, and so on.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_interval, format_time, get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from chalicelib.domain.events import RTL_LANGUAGES
from chalicelib.domain.zones import zone

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"


@functools.cache
def translations(language: str) -> Translations:
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return Translations()  # English: the message ids are the text
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


@functools.cache
def locale(language: str) -> Locale:
    return Locale.parse(language)


def direction(language: str) -> str:
    return "rtl" if language in RTL_LANGUAGES else "ltr"


@dataclass(frozen=True)
class When:
    """A session's time as one person reads it, in one time zone."""

    day: str  # "Saturday, 6 March 2027"
    hours: str  # "15:00–17:00"
    place: str  # "Istanbul" — the zone's exemplar city, in the reader's language


def when(starts_at: datetime, ends_at: datetime, zone_name: str, language: str) -> When:
    tz = zone(zone_name)
    where = locale(language)
    start = starts_at.astimezone(tz)
    end = ends_at.astimezone(tz)
    day = format_date(start, format="full", locale=where)
    if start.date() == end.date():
        hours = format_interval(start, end, skeleton="Hm", tzinfo=tz, locale=where)
    else:
        hours = (
            f"{format_time(start, 'short', tzinfo=tz, locale=where)} – "
            f"{format_date(end, 'medium', locale=where)} "
            f"{format_time(end, 'short', tzinfo=tz, locale=where)}"
        )
    place = get_timezone_location(tz, locale=where, return_city=True)
    return When(day=day, hours=hours, place=place)
