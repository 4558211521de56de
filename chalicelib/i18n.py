"""Languages: message catalogs, templates and locale-aware dates, through Babel.

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
from babel.dates import format_date, format_interval, format_skeleton, get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from chalicelib.domain.events import LANGUAGES, RTL_LANGUAGES

__all__ = ["LANGUAGES", "direction", "environment", "negotiate", "translations", "when"]
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


def N_(message: str) -> str:
    """Marks a message for translation where it is defined; translated where it is used."""
    return message


def direction(language: str) -> str:
    return "rtl" if language in RTL_LANGUAGES else "ltr"


def language_name(language: str, in_language: str) -> str:
    """``language_name("ur", "fr")`` -> ``"ourdou"``."""
    return locale(language).get_display_name(locale(in_language)) or language


def country_name(
    code: str, language: str, overrides: dict[str, dict[str, str]] | None = None
) -> str:
    """A country's name in ``language``: the event's own (``overrides``, its
    ``country_names``) where it set one, else CLDR's, else English, else the code. The
    one way a country is named: pages, zone labels, stats and exports."""
    own = ((overrides or {}).get(code) or {}).get(language)
    if own:
        return own
    return locale(language).territories.get(code) or locale("en").territories.get(code) or code


def negotiate(accept_language: str | None, offered: list[str], default: str) -> str:
    """The first of ``offered`` that an ``Accept-Language`` header asks for."""
    preferences = []
    for position, part in enumerate((accept_language or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary and quality > 0:
            preferences.append((-quality, position, primary))
    for _, _, primary in sorted(preferences):
        if primary in offered:
            return primary
    return default


@functools.cache
def environment(templates: Path, language: str) -> Environment:
    """A Jinja2 environment (HTML autoescaped) with ``language``'s catalog installed.

    One per folder and language, built on first use in a container; new-style gettext,
    so placeholders are escaped too.
    """
    env = Environment(
        loader=FileSystemLoader(templates),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


@dataclass(frozen=True)
class When:
    """A session's time as one person reads it, in one time zone."""

    day: str  # "Saturday, 6 March 2027"
    hours: str  # "15:00–17:00"
    place: str  # "Istanbul" — the zone's exemplar city, in the reader's language
    short_day: str  # "Sat, 6 Mar"
    date: str  # ISO date in that zone, to tell when two zones' days differ


@functools.lru_cache(maxsize=8192)
def when(starts_at: datetime, ends_at: datetime, zone_name: str, language: str) -> When:
    """A session's times as read in one zone and language (the same for every reader of
    a campaign, so kept: formatting dates is the costliest part of an email)."""
    tz = zone(zone_name)
    where = locale(language)
    start = starts_at.astimezone(tz)
    end = ends_at.astimezone(tz)
    day = format_date(start, format="full", locale=where)
    if start.date() == end.date():
        hours = format_interval(start, end, skeleton="Hm", tzinfo=tz, locale=where)
    else:
        # Ends on another day: name that day, keeping the same 24-hour clock.
        hours = (
            f"{format_skeleton('Hm', start, tzinfo=tz, locale=where)} – "
            f"{format_skeleton('MMMEd', end, tzinfo=tz, locale=where)} "
            f"{format_skeleton('Hm', end, tzinfo=tz, locale=where)}"
        )
    place = get_timezone_location(tz, locale=where, return_city=True)
    short_day = format_skeleton("MMMEd", start, tzinfo=tz, locale=where)
    return When(
        day=day, hours=hours, place=place, short_day=short_day, date=start.date().isoformat()
    )
