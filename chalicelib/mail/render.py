"""Rendering the registration emails in the reader's language.

Templates are Jinja2 (HTML autoescaped) with the language's catalog installed. People's
names are isolated for bidirectional text: ``dir="auto"`` in HTML (email clients drop
``<bdi>``) and FSI…PDI (U+2068…U+2069) in plain text and headers' neighbours.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from babel.lists import format_list
from babel.numbers import format_decimal
from markupsafe import Markup

from chalicelib import i18n
from chalicelib.domain.addresses import parse_address
from chalicelib.domain.events import Event, Session
from chalicelib.domain.registrations import Registration, Status
from chalicelib.domain.zoom import room_of
from chalicelib.mail.calendar import CalendarSession, invitation, sequence
from chalicelib.signed_links import RegistrationLinks

TEMPLATES = Path(__file__).parent / "templates"
FSI, PDI = "\u2068", "\u2069"
# Formatted here rather than in the templates: an email has many sessions, and a
# translation call in a template loop costs more than the rest of the loop.
YOUR_ZONE = i18n.N_("your time: %(place)s")
OTHER_ZONE = i18n.N_("%(place)s time")
# The reader's room in a session of several rooms (named by its label, else these).
YOUR_ROOM = i18n.N_("Your room: %(room)s")
ROOM_NUMBER = i18n.N_("Room %(number)s")
LIVE_STREAM = i18n.N_("Live stream")
WATCHING = i18n.N_("You will watch the live stream: your join link opens the stream page.")
# A session's interpretation, as it concerns the reader's language.
HELD_IN = i18n.N_("This session is held in %(language)s.")
INTERPRETED_INTO = i18n.N_("This session is interpreted into %(language)s.")
NOT_OFFERED = i18n.N_(
    "This session is not offered in %(language)s. Languages offered: %(languages)s."
)
CHANNEL = i18n.N_(
    "To hear the interpretation, click “Interpretation” (the globe icon) in Zoom’s "
    "meeting controls and choose %(channel)s. Interpretation is not available in "
    "Zoom’s web client: join with the Zoom desktop or mobile app."
)
# Zoom's built-in interpretation languages among ours (it shows them in the app's
# language); the others are custom languages, shown as the organiser named them in
# Zoom's portal: their English name (as usecases/zoomsetup.py asks them to create it).
ZOOM_BUILT_IN = frozenset({"en", "fr", "es"})


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    calendar: bytes | None = None  # METHOD:REQUEST, the sessions held
    cancellation: bytes | None = None  # METHOD:CANCEL, the sessions given up
    language: str = ""  # the language it is written in, when not the registrant's


_FONTS = {
    "ar": "Tahoma, 'Segoe UI', 'Noto Naskh Arabic', Arial, sans-serif",
    "ur": "'Noto Nastaliq Urdu', 'Jameel Noori Nastaleeq', 'Urdu Typesetting', "
    "'Noto Naskh Arabic', Tahoma, Arial, sans-serif",
}
_LEADING = {"ar": "1.8", "ur": "2.3"}  # Urdu's Nastaliq needs room between lines


def addressed_parts(
    template: str, language: str, context: dict[str, Any], name: str
) -> tuple[str, str]:
    """The text and HTML parts of ``template`` (``.txt`` and ``.html``) in ``language``,
    addressed to ``name``: isolated from the text around it (FSI…PDI in the text, an
    element with ``dir="auto"`` in the HTML), so a Latin name in an Arabic sentence, or
    the other way round, keeps its own direction."""
    env = i18n.environment(TEMPLATES, language)
    text = env.get_template(f"{template}.txt").render(context, name=f"{FSI}{name}{PDI}")
    html = env.get_template(f"{template}.html").render(
        context, name=Markup('<span dir="auto">%s</span>') % name
    )
    return text, html


def calendar_people(
    event: Event, registration: Registration, now: datetime, revision: int
) -> dict[str, Any]:
    """Who a calendar file is from and for, when it was made, and its SEQUENCE (from the
    registration's mail sequence and the event's ``revision``)."""
    return {
        "registration_id": registration.registration_id,
        "organizer_name": event.sender.name,
        "organizer_address": event.sender.email,
        "attendee_name": registration.full_name,
        "attendee_address": parse_address(registration.email).ascii,
        "now": now,
        "sequence": sequence(registration.mail_seq, revision),
    }


@functools.lru_cache(maxsize=16)
def email_frame(language: str, subject: str, event_title: str) -> dict[str, Any]:
    """What every email's layout takes: its language and direction, styles, subject
    (also the preheader) and the event's title."""
    return {
        "language": language,
        "dir": i18n.direction(language),
        "style": email_style(language),
        "subject": subject,
        "preheader": subject,
        "event_title": event_title,
    }


def email_style(language: str) -> dict[str, Markup]:
    """Inline styles for the HTML email: right to left on every table and cell, because
    Gmail drops attributes on <html> and <body>; fonts that clients have."""
    direction = i18n.direction(language)
    align = "right" if direction == "rtl" else "left"
    font = _FONTS.get(language, "Arial, Helvetica, sans-serif")
    leading = _LEADING.get(language, "1.55")
    cell = f"direction:{direction};text-align:{align};font-family:{font};line-height:{leading};"
    # Our own constants, no user text: safe to mark as markup.
    return {
        "align": Markup(align),  # noqa: S704
        "leading": Markup(leading),  # noqa: S704
        "cell": Markup(cell),  # noqa: S704
    }


@functools.lru_cache(maxsize=4096)
def _zone_label(template: str, place: str, language: str) -> str:
    return i18n.translations(language).gettext(template) % {"place": place}


def other_zones(
    event: Event, registration: Registration, starts_at: datetime, ends_at: datetime
) -> list[dict]:
    """The times in the event's zones other than the reader's own, each a line."""
    language = registration.language
    yours = i18n.when(starts_at, ends_at, registration.timezone, language)
    others = []
    for zone_name in event.time_zones:
        if zone_name == registration.timezone:
            continue
        other = i18n.when(starts_at, ends_at, zone_name, language)
        # Say the day only when it is not the reader's day.
        day = "" if other.date == yours.date else other.short_day + " "
        others.append(
            {"line": f"{day}{other.hours} {_zone_label(OTHER_ZONE, other.place, language)}"}
        )
    return others


def your_zone_label(place: str, language: str) -> str:
    return _zone_label(YOUR_ZONE, place, language)


def sessions_shown(
    event: Event, registration: Registration, links: RegistrationLinks
) -> list[dict]:
    """The sessions the reader holds that take place (not cancelled, not removed), each
    with the lines about its room and its interpretation that concern the reader."""
    language = registration.language
    shown = []
    for session_id in registration.sessions:
        session = event.session(session_id)
        if session is None or session.cancelled or session_id not in links.join:
            continue
        yours = i18n.when(session.starts_at, session.ends_at, registration.timezone, language)
        room, watching = room_lines(event, registration, session)
        interpretation = session.interpretation
        shown.append(
            {
                "id": session_id,
                "title": session.title_in(language, event.default_language),
                "yours": yours,
                "yours_label": _zone_label(YOUR_ZONE, yours.place, language),
                "others": other_zones(event, registration, session.starts_at, session.ends_at),
                "join_url": links.join[session_id],
                "starts_at": session.starts_at,
                "ends_at": session.ends_at,
                "room": room,
                "watching": watching,
                "interpretation": (
                    _language_line(interpretation.source, tuple(interpretation.into), language)
                    if interpretation
                    else ""
                ),
                # The reader picks a channel in Zoom (not on a stream page).
                "channel": bool(
                    interpretation and language in interpretation.into and not watching
                ),
            }
        )
    return shown


def room_lines(event: Event, registration: Registration, session: Session) -> tuple[str, str]:
    """The line naming the reader's room, for a session of several rooms they are seated
    in (else ""), and for its watch room the line saying the join link opens the live
    stream (else "")."""
    room = room_of(registration, session) if session.rooms else None
    if room is None:
        return "", ""
    language = registration.language
    gettext = i18n.translations(language).gettext
    label = room.label.get(language) or room.label.get(event.default_language)
    # The organisers' label, isolated: a Latin one in an Arabic line, or the other way.
    name = f"{FSI}{label}{PDI}" if label else ""
    if not name and room.watch_url is not None:
        name = gettext(LIVE_STREAM)
    elif not name:
        number = format_decimal(session.rooms.index(room) + 1, locale=i18n.locale(language))
        name = gettext(ROOM_NUMBER) % {"number": number}
    watching = gettext(WATCHING) if room.watch_url is not None else ""
    return gettext(YOUR_ROOM) % {"room": name}, watching


@functools.lru_cache(maxsize=1024)
def _language_line(source: str, into: tuple[str, ...], language: str) -> str:
    gettext = i18n.translations(language).gettext
    name = i18n.language_name(language, language)
    if language == source:
        return gettext(HELD_IN) % {"language": name}
    if language in into:
        return gettext(INTERPRETED_INTO) % {"language": name}
    offered = [i18n.language_name(other, language) for other in (source, *into)]
    return gettext(NOT_OFFERED) % {
        "language": name,
        "languages": format_list(offered, locale=i18n.locale(language)),
    }


@functools.lru_cache(maxsize=16)
def zoom_channel(language: str) -> str:
    """The interpretation channel to choose in Zoom, as the reader will see it listed."""
    english = i18n.language_name(language, "en")
    if language not in ZOOM_BUILT_IN or language == "en":
        return english
    return f"{i18n.language_name(language, language)} ({english})"


def channel_help(sessions: list[dict], language: str) -> str:
    """How to choose the reader's channel in Zoom, when a session shown is interpreted
    into their language (else "")."""
    if not any(session["channel"] for session in sessions):
        return ""
    gettext = i18n.translations(language).gettext
    return gettext(CHANNEL) % {"channel": zoom_channel(language)}


def interpretation_note(event: Event, language: str) -> dict[str, str] | None:
    """The event-wide note of an event whose sessions say nothing of interpretation
    (held in its default language, interpreted into the others); sessions that do
    say get a line each instead (``sessions_shown``, ``channel_help``)."""
    if language == event.default_language:
        return None
    if any(session.interpretation for session in event.sessions):
        return None
    target = i18n.language_name(language, language)
    if language != "en":
        target = f"{target} ({i18n.language_name(language, 'en')})"  # as Zoom may list it
    return {"source": i18n.language_name(event.default_language, language), "target": target}


def calendar_entry(
    event: Event,
    registration: Registration,
    session_id: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    links: RegistrationLinks | None,
    gettext: Callable[[str], str],
) -> CalendarSession:
    """One session as a calendar entry; ``links`` None for a cancelled entry (a link in
    it would not work, or not for long)."""
    event_title = event.title_in(registration.language)
    join_url = links.join.get(session_id, "") if links else ""
    description = ""
    if links and join_url:
        session = event.session(session_id)
        room, watching = room_lines(event, registration, session) if session else ("", "")
        seat = "".join(f"\n{line}" for line in (room, watching) if line)
        description = (
            f"{gettext('Join this session')}: {join_url}{seat}\n\n"
            f"{gettext('Manage my registration')}: {links.manage}"
        )
    return CalendarSession(
        session_id=session_id,
        summary=f"{title} — {event_title}",
        description=description,
        starts_at=starts_at,
        ends_at=ends_at,
        url=join_url,
    )


def _calendar_sessions(
    event: Event,
    registration: Registration,
    session_ids: list[str],
    links: RegistrationLinks,
    gettext: Callable[[str], str],
    with_links: bool = True,
) -> list[CalendarSession]:
    entries = []
    for session_id in session_ids:
        session = event.session(session_id)
        if session is None:
            continue
        entries.append(
            calendar_entry(
                event,
                registration,
                session_id,
                session.title_in(registration.language, event.default_language),
                session.starts_at,
                session.ends_at,
                links if with_links else None,
                gettext,
            )
        )
    return entries


def confirm_mail(event: Event, registration: Registration, links: RegistrationLinks) -> Rendered:
    """A double opt-in's one email: a link to confirm the registration, nothing else
    (no sessions, no join links, no calendar) until the person does."""
    language = registration.language
    gettext = i18n.translations(language).gettext
    event_title = event.title_in(language)
    subject = gettext("Please confirm your registration: %(event)s") % {"event": event_title}
    context = {
        **email_frame(language, subject, event_title),
        "confirm_url": links.confirm,
        "hours": event.opt_in_hours,
        "sender_name": event.sender.name,
    }
    text, html = addressed_parts("confirm", language, context, registration.full_name)
    return Rendered(subject=subject, text=text, html=html, calendar=None, cancellation=None)


def sign_in_mail(
    event: Event, language: str, signin_url: str, minutes: int, invited: bool
) -> Rendered:
    """An organiser's one-time link to the console (with the invitation, when it is
    one), from the event's sender."""
    gettext = i18n.translations(language).gettext
    event_title = event.title_in(language)
    subject = gettext("Your sign-in link: %(event)s") % {"event": event_title}
    context = {
        **email_frame(language, subject, event_title),
        "signin_url": signin_url,
        "minutes": minutes,
        "invited": invited,
        "sender_name": event.sender.name,
    }
    env = i18n.environment(TEMPLATES, language)
    text = env.get_template("signin.txt").render(context)
    html = env.get_template("signin.html").render(context)
    return Rendered(subject=subject, text=text, html=html, language=language)


def registration_mail(
    event: Event,
    registration: Registration,
    links: RegistrationLinks,
    now: datetime,
    register_url: str = "",
) -> Rendered:
    """The email a registration is owed now, by its status and ``mail_reason``:

    a confirmation (with join links and calendar), the waiting-list note, the note that
    a place became available, the updated confirmation after the registrant changed
    something, or the cancellation note.
    """
    if registration.status is Status.PENDING:
        return confirm_mail(event, registration, links)
    language = registration.language
    gettext = i18n.translations(language).gettext
    event_title = event.title_in(language)
    reason = registration.mail_reason
    cancelled = registration.status is Status.CANCELLED
    waitlisted = registration.status is Status.WAITLISTED
    if cancelled:
        subject = gettext("Your registration is cancelled: %(event)s")
    elif waitlisted:
        subject = gettext("You are on the waiting list: %(event)s")
    elif reason == "promoted":
        subject = gettext("A place is available: you are registered for %(event)s")
    elif reason == "updated":
        subject = gettext("Your registration has been updated: %(event)s")
    else:
        subject = gettext("Your registration is confirmed: %(event)s")
    subject = subject % {"event": event_title}
    sessions = [] if cancelled or waitlisted else sessions_shown(event, registration, links)
    context = {
        **email_frame(language, subject, event_title),
        "cancelled": cancelled,
        "waitlisted": waitlisted,
        "promoted": reason == "promoted",
        "updated": reason == "updated",
        "sessions": sessions,
        "removed_from_calendar": bool(registration.calendar_cancel),
        "interpretation": interpretation_note(event, language),
        "channel_help": channel_help(sessions, language),
        "manage_url": links.manage,
        "register_url": register_url,
        "reply_to": event.reply_to,
        "sender_name": event.sender.name,
    }
    text, html = addressed_parts("registration", language, context, registration.full_name)
    people = calendar_people(event, registration, now, event.revision)
    calendar = None
    if sessions:
        calendar = invitation(
            sessions=_calendar_sessions(
                event, registration, [s["id"] for s in sessions], links, gettext
            ),
            **people,
        )
    cancellation = None
    if registration.calendar_cancel:
        cancellation = invitation(
            # A cancelled entry carries no links: they would not work (or not for long).
            sessions=_calendar_sessions(
                event,
                registration,
                registration.calendar_cancel,
                links,
                gettext,
                with_links=False,
            ),
            method="CANCEL",
            **people,
        )
    return Rendered(
        subject=subject, text=text, html=html, calendar=calendar, cancellation=cancellation
    )
