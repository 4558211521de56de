"""The pages people see: registration form, thank-you, self-service, unsubscribe, errors.

Each function returns ``(html, status)``. Texts are translated with the page language's
catalog; field errors are shown in the visitor's language from their stable codes.

Time zones are offered by place, as people know them: each region's zone (the domain's,
``domain/zones.py``: tzdata's ``zone.tab``, a country's main zone first) named by its
city and country in the page's language (CLDR, the event's own country names first),
with its offset now; the person's country's zones first. The names cost Babel a moment
the first time, so they are kept per language. Countries are named by
:func:`chalicelib.i18n.country_name`, with the event's names, on every page.

Sessions are offered by time slot: a slot of one session is a checkbox, a slot of
sessions at the same time a radio group ("choose one", or none of them). A page's form
names each group ``slot-<n>`` (radio buttons of one name are one group);
:func:`posted_sessions` turns them back into the ``sessions`` the use cases read.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from babel.dates import get_timezone_location

from chalicelib import i18n
from chalicelib.domain.countries import COUNTRY_CODES
from chalicelib.domain.events import Event, Session
from chalicelib.domain.registrations import Registration, Status
from chalicelib.domain.zones import (
    is_time_zone,
    regional_offsets,
    regional_zones,
    utc_offset,
    zone,
    zone_aliases,
    zone_countries,
    zone_country,
)
from chalicelib.pages.render import render

if TYPE_CHECKING:
    from chalicelib.entrypoints.http import Problem

N_ = i18n.N_

# Field error codes (domain/errors.py) -> what a person reads.
FIELD_MESSAGES = {
    "required": N_("This field is required."),
    "invalid_email": N_("Please enter a valid email address."),
    "non_ascii_local_part": N_(
        "We cannot send email to addresses with non-Latin letters before the @. "
        "Please use another address."
    ),
    "disposable_address": N_(
        "This event does not accept addresses from disposable-mail services. "
        "Please use an address you keep."
    ),
    "control_character": N_("Please remove the special characters from this field."),
    "bidi_control": N_("Please remove the special characters from this field."),
    "too_long": N_("This is too long."),
    "invalid_country": N_("Please choose your country."),
    "invalid_language": N_("Please choose one of the languages offered."),
    "invalid_timezone": N_("Please choose your time zone."),
    "unknown_session": N_("Please choose among the sessions listed."),
    "consent_required": N_("Please give your consent to register."),
    "overlapping_sessions": N_(
        "Some of these sessions are at the same time: please choose only one of them."
    ),
    "cancelled_session": N_("A session you chose is cancelled: please choose another one."),
    "choose_per_slot": N_(
        "Some sessions are at the same time: please choose one session for each time slot."
    ),
    # The proof of work's field, altcha (chalicelib/challenges.py).
    "challenge_required": N_("Please tick the box “I'm not a robot”."),
    "challenge_expired": N_("The check has expired: please tick the box “I'm not a robot” again."),
    "challenge_used": N_("Please tick the box “I'm not a robot” again."),
    "challenge_invalid": N_("Please tick the box “I'm not a robot” again."),
}
# A form posted without JavaScript cannot have solved the event's challenge.
NO_SCRIPT_CHALLENGE = N_(
    "This form checks that you are a person with a short calculation in your browser, "
    "which needs JavaScript. Please turn JavaScript on, or use another browser, and try "
    "again."
)
# What ALTCHA's widget says (its own keys), from our catalogs: in all seven languages.
WIDGET_MESSAGES = {
    "label": N_("I'm not a robot"),
    "loading": N_("Loading…"),
    "verifying": N_("Checking…"),
    "waitAlert": N_("Checking… please wait."),
    "verified": N_("Checked"),
    "verificationRequired": N_("Please tick the box “I'm not a robot”."),
    "expired": N_("The check has expired: please tick the box “I'm not a robot” again."),
    "error": N_("The check failed. Please try again later."),
    "reload": N_("Try again"),
    "verify": N_("Check"),
    "cancel": N_("Cancel"),
}
GENERIC_FIELD_MESSAGE = N_("Please check this field.")
EMBED_MESSAGES = {
    "email": N_("Email address"),
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "optional": N_("optional"),
    "country": N_("Country"),
    "choose_country": N_("Choose your country"),
    "sessions": N_("Sessions"),
    "choose_one": N_("At the same time, choose one: %(time)s"),
    "none_of_these": N_("None of these"),
    "cancelled": N_("Cancelled"),
    "updates": N_("Send me announcements about this event (you can stop them at any time)."),
    "consent": N_(
        "I agree that the organisers keep my details to run this event and email me about it."
    ),
    "register": N_("Register"),
    "registered": N_("Thank you, you are registered!"),
    "waitlisted": N_("Thank you, you are on the waiting list."),
    "pending": N_("Almost done: please confirm your registration from the email we have sent you."),
    "check_email": N_(
        "We have sent you an email. If it does not arrive within a few minutes, please "
        "check your spam folder."
    ),
    "closed": N_("Registration is not open"),
}
PAGE_MESSAGES = {
    "summary": N_("Please correct the fields marked below."),
    "network": N_("We could not reach the server. Please check your connection and try again."),
    "busy": N_("Many people are registering right now. Please try again in a moment."),
    "sending": N_("Sending…"),
    "your_time": N_("Your time: %(time)s"),
    "thanks_zone": N_("Your emails show the session times in this time zone: %(zone)s."),
}
# What the zone picker's script says (zones.js).
ZONE_MESSAGES = {
    "filter": N_("Search by city or country"),
    "matches": N_("Time zones found: %(count)s"),
    "no_match": N_("No time zone matches. Try the name of a city or a country."),
    "all": N_("All time zones"),
}
YOUR_ZONE = N_("The time zone of my country")
SLOT_FIELD = "slot-"  # a slot's radio group: slot-0, slot-1 …


def _gettext(language: str) -> Callable[[str], str]:
    return i18n.translations(language).gettext


def _script_json(value: Any) -> str:
    # Inside <script type="application/json">: no "</" may appear.
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def event_countries(event: Event, language: str) -> list[tuple[str, str]]:
    """(code, name in ``language`` as the event says it), in alphabetical order."""
    named = [
        (code, i18n.country_name(code, language, event.country_names))
        for code in sorted(COUNTRY_CODES)
    ]
    return sorted(named, key=lambda pair: pair[1].casefold())


@functools.lru_cache(maxsize=16)
def language_choices(languages: tuple[str, ...]) -> list[tuple[str, str]]:
    """Each language named in itself, as a language switcher should."""
    return [(code, i18n.language_name(code, code)) for code in languages]


def field_errors_for(problem: Problem, language: str) -> dict[str, str]:
    gettext = _gettext(language)
    errors: dict[str, str] = {}
    for error in problem.errors:
        field = error.field.split(".")[0]
        code = "consent_required" if field == "consent" else error.code
        message = FIELD_MESSAGES.get(code, GENERIC_FIELD_MESSAGE)
        if field == "altcha":  # the page's own post: no script ran to solve it
            message = NO_SCRIPT_CHALLENGE
        errors.setdefault(field, gettext(message))
    return errors


def posted_sessions(fields: dict[str, Any]) -> dict[str, Any]:
    """A page's form as the use cases read it: each slot's radio group (``slot-<n>``: a
    session id, or "" for none of them) joins the ticked ``sessions``. A form with slots
    and nothing chosen at all asks for no session (a field error), not for every one."""
    groups = [name for name in fields if name.startswith(SLOT_FIELD)]
    if not groups:
        return fields
    folded = {name: value for name, value in fields.items() if name not in groups}
    ticked = folded.get("sessions") or []
    chosen = [ticked] if isinstance(ticked, str) else list(ticked)
    for name in groups:
        value = fields[name]
        chosen += [v for v in (value if isinstance(value, list) else [value]) if v]
    folded["sessions"] = chosen
    return folded


# -- time zones ------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneOption:
    value: str  # the IANA name, what the form sends
    label: str  # "کراچی — پاکستان (UTC+05:00)"
    country: str  # ISO code, "" when tzdata names none
    rank: int  # among its country's zones, 0 for its main zone (domain/zones.py)
    search: str  # other words it is found by (its English names)


@dataclass(frozen=True)
class ZonePicker:
    selected: str  # an IANA name, or "" for "the zone of my country"
    country: str  # whose zones come first ("" for none)
    country_label: str  # that country's name
    first: list[ZoneOption]  # the country's zones
    rest: list[ZoneOption]  # every other region's zone, by name
    country_default: bool  # offer "the time zone of my country" (value "")


@functools.lru_cache(maxsize=16)
def _cities(language: str) -> dict[str, str]:
    """Each regional zone's city in ``language`` (CLDR's exemplar city)."""
    where = i18n.locale(language)
    return {
        name: get_timezone_location(zone(name), locale=where, return_city=True)
        for name in regional_zones()
    }


def _city(name: str, language: str) -> str:
    city = _cities(language).get(name)
    if city is None:  # an older or odd name someone registered with (API, Zoom)
        try:
            city = get_timezone_location(zone(name), locale=i18n.locale(language), return_city=True)
        except (LookupError, ValueError):
            city = name
    return city


def _place(city: str, country: str | None) -> str:
    """ "کراچی — پاکستان"; "Singapore" once, where the city is the country."""
    return f"{city} — {country}" if country and country != city else city


def zone_label(name: str, event: Event, language: str, now: datetime | None = None) -> str:
    """ "کراچی — پاکستان", with the offset at ``now`` when given: "… (UTC+05:00)"."""
    city = _city(name, language)
    code = zone_country(name)
    label = _place(city, i18n.country_name(code, language, event.country_names) if code else None)
    if now is not None:
        label = f"{label} ({utc_offset(name, now)})"
    return label


@functools.lru_cache(maxsize=16)
def _english_words(language: str) -> dict[str, str]:
    """Each regional zone's English city and country, to find it by on other pages."""
    if language == "en":
        return {}
    cities = _cities("en")
    return {
        name: _place(cities[name], i18n.country_name(code, "en")).replace(" — ", " ")
        for name, (code, _) in zone_countries().items()
        if name in cities
    }


def zone_picker(
    event: Event,
    language: str,
    now: datetime,
    *,
    country: str | None,
    selected: str,
    country_default: bool = False,
) -> ZonePicker:
    """The zones offered to a person of ``country``: its zones first, then every
    region's; ``selected`` is offered even when it is no region's (an older name)."""
    country = (country or "").upper()
    offsets = regional_offsets(now)
    cities = _cities(language)
    english = _english_words(language)
    names: dict[str, str] = {}
    first: list[ZoneOption] = []
    rest: list[ZoneOption] = []
    for name, (code, rank) in zone_countries().items():
        if code not in names:
            names[code] = i18n.country_name(code, language, event.country_names)
        place = _place(cities[name], names[code])
        option = ZoneOption(
            value=name,
            label=f"{place} ({offsets[name]})",
            country=code,
            rank=rank,
            search=english.get(name, ""),
        )
        (first if code == country else rest).append(option)
    first.sort(key=lambda option: option.rank)
    rest.sort(key=lambda option: option.label.casefold())
    if selected and selected not in offsets and is_time_zone(selected):
        rest.insert(0, ZoneOption(selected, zone_label(selected, event, language, now), "", 0, ""))
    return ZonePicker(
        selected=selected,
        country=country if first else "",
        country_label=names.get(country, "") if first else "",
        first=first,
        rest=rest,
        country_default=country_default,
    )


@functools.lru_cache(maxsize=16)
def _zone_script_data(language: str) -> str:
    gettext = _gettext(language)
    return _script_json(
        {
            "messages": {key: gettext(text) for key, text in ZONE_MESSAGES.items()},
            "aliases": zone_aliases(),
        }
    )


# -- sessions and their time slots -----------------------------------------------------


def _times(starts_at: datetime, ends_at: datetime, zones: list[str], language: str) -> list[str]:
    shown = [i18n.when(starts_at, ends_at, name, language) for name in zones]
    return [f"{t.short_day} {t.hours} ({t.place})" for t in shown]


def _zones_for(event: Event, reader_zone: str | None) -> list[str]:
    """The reader's zone first, then the event's (each once)."""
    zones = [reader_zone] if reader_zone else []
    return zones + [name for name in event.time_zones if name not in zones]


def _session(session: Session, event: Event, language: str, zones: list[str]) -> dict[str, Any]:
    return {
        "id": session.id,
        "title": session.title_in(language, event.default_language),
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
        "times": _times(session.starts_at, session.ends_at, zones, language),
        "cancelled": session.cancelled,
    }


def programme(event: Event, language: str, reader_zone: str | None = None) -> list[dict[str, Any]]:
    """What a form offers, in time order: ``single`` (a slot of one session: a
    checkbox), ``parallel`` (sessions at the same time: a radio group named
    ``slot-<n>``; checkboxes on a page of someone who holds more than one of them) and
    ``cancelled`` (shown, not offered)."""
    zones = _zones_for(event, reader_zone)
    gettext = _gettext(language)
    clashing = {session_id for pair in event.clashes(event.open_session_ids) for session_id in pair}
    items: list[tuple[datetime, dict[str, Any]]] = []
    for index, slot in enumerate(event.slots()):
        sessions = [_session(s, event, language, zones) for s in slot]
        if len(slot) == 1:
            # A form ticks a session at first unless it overlaps another (a slot of one
            # that overlaps only some sessions of its neighbours, not all of them).
            single = {
                "kind": "single",
                "session": sessions[0],
                "ticked": slot[0].id not in clashing,
            }
            items.append((slot[0].starts_at, single))
            continue
        starts = min(s.starts_at for s in slot)
        ends = max(s.ends_at for s in slot)
        # The slot's time in the reader's zone (else the event's): its sessions say the rest.
        legend = gettext(EMBED_MESSAGES["choose_one"]) % {
            "time": _times(starts, ends, zones[:1], language)[0]
        }
        items.append(
            (
                starts,
                {
                    "kind": "parallel",
                    "name": f"{SLOT_FIELD}{index}",
                    "legend": legend,
                    "sessions": sessions,
                    "starts_at": starts.isoformat(),
                    "ends_at": ends.isoformat(),
                },
            )
        )
    for session in event.sessions:
        if session.cancelled:
            items.append(
                (
                    session.starts_at,
                    {"kind": "cancelled", "session": _session(session, event, language, zones)},
                )
            )
    items.sort(key=lambda item: item[0])
    return [item for _, item in items]


def client_messages(language: str) -> dict[str, Any]:
    """What the page's script (and the embeddable form) says, in ``language``."""
    gettext = _gettext(language)
    return {
        "fields": {code: gettext(text) for code, text in FIELD_MESSAGES.items()},
        "generic": gettext(GENERIC_FIELD_MESSAGE),
        **{key: gettext(text) for key, text in PAGE_MESSAGES.items()},
        **{key: gettext(text) for key, text in EMBED_MESSAGES.items()},
        "widget": {key: gettext(text) for key, text in WIDGET_MESSAGES.items()},
    }


def _client_messages(language: str) -> str:
    return _script_json(client_messages(language))


@functools.cache
def embed_script() -> str:
    """embed.js with every language's messages built in (one request for organisers' sites)."""
    from chalicelib.domain.events import LANGUAGES
    from chalicelib.pages.render import STATIC

    messages = {language: client_messages(language) for language in LANGUAGES}
    data = json.dumps(
        {"messages": messages, "countries": sorted(COUNTRY_CODES)}, ensure_ascii=False
    )
    return (STATIC / "embed.js").read_text(encoding="utf-8").replace("/*MAJLIS_DATA*/{}", data)


def _lost_links_url(event: Event, language: str, base_url: str) -> str:
    return f"{base_url}/events/{event.id}/links?lang={language}"


# -- pages -----------------------------------------------------------------------------


def registration_page(
    event: Event,
    language: str,
    now: datetime,
    *,
    base_url: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> tuple[str, int]:
    if not event.registration_open(now):
        return closed_page(event, language, base_url=base_url)
    posted = values is not None
    values = values or {}
    country = values.get("country") if isinstance(values.get("country"), str) else None
    chosen_zone = values.get("timezone") if isinstance(values.get("timezone"), str) else ""
    chosen = values.get("sessions") or []
    html = render(
        "register.html",
        language,
        base_url,
        switch_languages=language_choices(tuple(event.languages)),
        event_title=event.title_in(language),
        event_id=event.id,
        action=f"{base_url}/events/{event.id}/register?lang={language}",
        api=f"{base_url}/events/{event.id}/registrations",
        lost_links=_lost_links_url(event, language, base_url),
        programme=programme(event, language),
        countries=event_countries(event, language),
        zones=zone_picker(
            event, language, now, country=country, selected=chosen_zone, country_default=True
        ),
        zone_data=_zone_script_data(language),
        languages=language_choices(tuple(event.languages)),
        values=values,
        posted=posted,
        chosen_sessions=set(chosen if isinstance(chosen, list) else [chosen]),
        errors=errors or {},
        summary=_gettext(language)(PAGE_MESSAGES["summary"]) if errors else "",
        client_messages=_client_messages(language),
        challenge=f"{base_url}/events/{event.id}/challenge" if event.challenge else "",
        no_script=_gettext(language)(NO_SCRIPT_CHALLENGE),
    )
    return html, 422 if errors else 200


def thanks_page(
    event: Event, language: str, status: Status, *, base_url: str, timezone: str = ""
) -> tuple[str, int]:
    """Thank you; the zone the emails use (when this registration set it: one already
    made keeps its own) and how to change it."""
    html = render(
        "thanks.html",
        language,
        base_url,
        event_title=event.title_in(language),
        waitlisted=status is Status.WAITLISTED,
        pending=status is Status.PENDING,
        zone=zone_label(timezone, event, language) if is_time_zone(timezone) else "",
        lost_links=_lost_links_url(event, language, base_url),
    )
    return html, 200


def closed_page(event: Event, language: str, *, base_url: str) -> tuple[str, int]:
    html = render(
        "closed.html",
        language,
        base_url,
        switch_languages=language_choices(tuple(event.languages)),
        event_title=event.title_in(language),
    )
    return html, 409


def problem_page(status: int, language: str, *, base_url: str) -> tuple[str, int]:
    gettext = _gettext(language)
    if status == 404:
        heading = gettext("Page not found")
        text = gettext("There is nothing at this address. Please check the link you followed.")
    elif status in (400, 413, 415, 422):
        heading = gettext("This form could not be read")
        text = gettext("Please go back, check what you entered and send the form again.")
    elif status == 403:
        heading = gettext("This request was refused")
        text = gettext("Please use the buttons on the page itself, in the same browser window.")
    elif status == 429:
        heading = gettext("Too many attempts")
        text = gettext("Please wait a minute, then try again.")
    else:
        heading = gettext("Something went wrong")
        text = gettext("Please try again in a few minutes.")
    html = render(
        "link_problem.html",
        language,
        base_url,
        heading=heading,
        paragraphs=[text],
    )
    return html, status


def manage_page(
    registration: Registration,
    event: Event,
    *,
    base_url: str,
    token: str,
    now: datetime | None = None,
    join_links: dict[str, str] | None = None,
    message: str = "",
    errors: dict[str, str] | None = None,
) -> tuple[str, int]:
    """Their own page: the address, the status, their sessions in their zone and the
    event's with a join button each (registered people only), then what they can do:
    have the links emailed again, change, cancel."""
    language = registration.language
    now = now or datetime.now(UTC)
    zones = _zones_for(event, registration.timezone)
    registered = registration.status is Status.REGISTERED
    held = []
    for session_id in registration.sessions:
        session = event.session(session_id)
        if session is None:
            continue
        shown = _session(session, event, language, zones)
        link = (join_links or {}).get(session_id) if registered else None
        shown["join"] = link if link and not session.cancelled and now < session.ends_at else ""
        shown["ended"] = now >= session.ends_at
        held.append(shown)
    html = render(
        "manage.html",
        language,
        base_url,
        event_title=event.title_in(language),
        registration=registration,
        status=registration.status.value,
        action=f"{base_url}/manage/{token}",
        held=held,
        programme=programme(event, language, registration.timezone),
        chosen_sessions=set(registration.sessions),
        zones=zone_picker(
            event, language, now, country=registration.country, selected=registration.timezone
        ),
        zone_data=_zone_script_data(language),
        languages=language_choices(tuple(event.languages)),
        message=message,
        errors=errors or {},
    )
    return html, 422 if errors else 200


def cancelled_page(registration: Registration, event: Event, *, base_url: str) -> tuple[str, int]:
    language = registration.language
    html = render(
        "cancelled.html",
        language,
        base_url,
        event_title=event.title_in(language),
        register_url=f"{base_url}/events/{event.id}/register?lang={language}",
    )
    return html, 200


def unsubscribe_page(
    registration: Registration, event: Event, *, base_url: str, token: str, done: bool
) -> tuple[str, int]:
    language = registration.language
    html = render(
        "unsubscribe.html",
        language,
        base_url,
        event_title=event.title_in(language),
        action=f"{base_url}/unsubscribe/{token}",
        done=done,
    )
    return html, 200


def confirm_page(
    registration: Registration, event: Event, *, base_url: str, token: str
) -> tuple[str, int]:
    """A double opt-in's confirm link: a button while pending, then where the person is."""
    language = registration.language
    html = render(
        "confirm.html",
        language,
        base_url,
        event_title=event.title_in(language),
        action=f"{base_url}/confirm/{token}",
        status=registration.status.value,
    )
    return html, 200


def lost_links_page(
    event: Event,
    language: str,
    *,
    base_url: str,
    done: bool,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> tuple[str, int]:
    """ "Lost your links?": an address in, and the same answer for every address."""
    html = render(
        "lost_links.html",
        language,
        base_url,
        switch_languages=language_choices(tuple(event.languages)),
        event_title=event.title_in(language),
        action=_lost_links_url(event, language, base_url),
        register_url=f"{base_url}/events/{event.id}/register?lang={language}",
        done=done,
        values=values or {},
        errors=errors or {},
    )
    return html, 422 if errors else 200
