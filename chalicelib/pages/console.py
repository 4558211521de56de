"""The organisers' console pages: sign-in, the events, an event's overview, its
registrants and organisers.

Each page function returns ``(html, status)``, in the organiser's language (right to
left for Arabic and Urdu), with every number and date formatted by Babel for it. The
overview is one document (:func:`overview_document`): the page shows it as tables, and
``console.js`` draws its charts and fetches it again to stay current.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from babel.dates import format_date, format_datetime, format_skeleton, get_timezone_location
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent

from chalicelib import i18n
from chalicelib.domain.events import LANGUAGES, Event, Session
from chalicelib.domain.organizers import ROLES, SIGN_IN_MINUTES
from chalicelib.domain.registrations import Registration, Status
from chalicelib.domain.zones import zone
from chalicelib.pages.render import render

N_ = i18n.N_

STATUS_LABELS = {
    "registered": N_("Registered"),
    "waitlisted": N_("Waiting list"),
    "pending": N_("Not yet confirmed"),
    "cancelled": N_("Cancelled"),
}
EMAIL_LABELS = {
    "sent": N_("Sent"),
    "delivered": N_("Delivered"),
    "bounced": N_("Bounced"),
    "complained": N_("Marked as spam"),
    "failed": N_("Failed"),
    "suppressed": N_("Not sent (address bounced or complained)"),
}
ZOOM_LABELS = {
    "synced": N_("In Zoom"),
    "sending": N_("Being added"),
    "deferred": N_("Waiting for Zoom"),
    "full": N_("Zoom full"),
    "failed": N_("Zoom refused"),
    "cancelled": N_("Removed from Zoom"),
}
EVERY_EVENT_LABEL = N_("on every event (from the command line)")
ROLE_LABELS = {
    "read": N_("Read: overview, registrants, exports"),
    "send": N_("Send: also announcements and resending links"),
    "admin": N_("Admin: also settings, cancelling, erasing and organisers"),
}
# SES reviews an account whose bounce rate reaches 5 % or complaint rate 0.1 %; the
# console warns from half of each.
RATE_LIMITS = {"bounce": 0.05, "complaint": 0.001}
RATE_LABELS = {"bounce": N_("Bounce rate"), "complaint": N_("Complaint rate")}
LEVEL_LABELS = {
    "ok": N_("Well below the review threshold"),
    "warning": N_("Approaching the review threshold: check the bounced addresses"),
    "over": N_("At or above the review threshold: SES may pause sending"),
}
HOURS_SHOWN = 48
ACTION_LABELS = {
    "sign_in": N_("Signed in"),
    "sign_out": N_("Signed out"),
    "invite:read": N_("Invited (read)"),
    "invite:send": N_("Invited (send)"),
    "invite:admin": N_("Invited (admin)"),
    "revoke": N_("Access removed"),
    "resend": N_("Links sent again"),
    "cancel": N_("Registration cancelled"),
    "erase": N_("Personal data erased"),
    "erased": N_("Personal data erased"),
    "campaign": N_("Announcement sent"),
    "campaign_cancel": N_("Announcement cancelled"),
    "export": N_("Export started"),
    "test_mail": N_("Test email sent to themself"),
    "settings": N_("Settings saved"),
}


@dataclass(frozen=True)
class Chrome:
    """What every signed-in page's header shows (``console/base.html``)."""

    organiser: str
    csrf: str
    signout_url: str
    home_url: str
    event: dict[str, str] | None = None
    nav: tuple[tuple[str, str, bool], ...] = ()


def chrome(signed: Any, language: str, event: Event | None = None, current: str = "") -> Chrome:
    """The header of a page for ``signed`` (usecases/console.py's SignedIn)."""
    gettext = i18n.translations(language).gettext
    nav: tuple[tuple[str, str, bool], ...] = ()
    shown = None
    if event is not None:
        base = f"/console/events/{event.id}"
        pages = [
            ("overview", N_("Overview"), base),
            ("registrants", N_("Registrants"), f"{base}/registrants"),
            ("campaigns", N_("Announcements"), f"{base}/campaigns"),
            ("operations", N_("Exports and Zoom"), f"{base}/operations"),
        ]
        if signed.organizer.may("admin", event.id):
            pages.append(("settings", N_("Settings"), f"{base}/settings"))
            pages.append(("organizers", N_("Organisers"), f"{base}/organizers"))
        nav = tuple((gettext(label), url, key == current) for key, label, url in pages)
        shown = {"id": event.id, "title": event.title_in(language)}
    return Chrome(
        organiser=signed.organizer.email,
        csrf=signed.session.csrf,
        signout_url="/console/signout",
        home_url="/console/events",
        event=shown,
        nav=nav,
    )


def _languages() -> list[tuple[str, str]]:
    """The console's 7 languages, each named in itself (the language switch)."""
    return [(code, i18n.language_name(code, code)) for code in LANGUAGES]


def _page(
    template: str, language: str, base_url: str, status: int = 200, **context: Any
) -> tuple[str, int]:
    context.setdefault("console", None)
    context.setdefault("switch_languages", _languages())
    return render(template, language, base_url, **context), status


def _number(value: int | float, language: str) -> str:
    return format_decimal(value, locale=i18n.locale(language))


def _share(part: int, whole: int, language: str) -> str:
    return format_percent(
        part / whole if whole else 0, format="#,##0.#%", locale=i18n.locale(language)
    )


def _counted(value: int, language: str) -> dict[str, Any]:
    return {"value": value, "shown": _number(value, language)}


# -- signing in ----------------------------------------------------------------------

SIGN_IN_REFUSALS = {
    "gone": N_("This sign-in link was used already, or has expired: ask for a new one below."),
    "not_found": N_("This sign-in link is not one of ours: ask for a new one below."),
    "ended": N_("Your session has ended: sign in again."),
}
FORBIDDEN = N_(
    "Your role on this event does not allow this. An admin of the event can give you "
    "another role on its Organisers page."
)


def forbidden_page(
    signed: Any, event: Event | None, language: str, base_url: str
) -> tuple[str, int]:
    return _page(
        "console/forbidden.html",
        language,
        base_url,
        403,
        console=chrome(signed, language, event) if signed else None,
        message=i18n.translations(language).gettext(FORBIDDEN),
        home_url=f"/console/events/{event.id}?lang={language}" if event else "/console/events",
    )


def sign_in_page(
    language: str,
    base_url: str,
    *,
    done: bool = False,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    refused: str | None = None,
) -> tuple[str, int]:
    """The sign-in form; ``refused`` says why the page came instead of the console (a
    used or expired link, an ended session), in the page's language."""
    gettext = i18n.translations(language).gettext
    return _page(
        "console/signin.html",
        language,
        base_url,
        status,
        action=f"/console/signin?lang={language}",
        refused=gettext(SIGN_IN_REFUSALS[refused]) if refused else None,
        done=done,
        minutes=SIGN_IN_MINUTES,
        values=values or {},
        errors=errors or {},
    )


def sign_in_link_page(language: str, base_url: str, token: str) -> tuple[str, int]:
    return _page("console/signin_link.html", language, base_url, action=f"/console/signin/{token}")


# -- the events ------------------------------------------------------------------------


def events_page(signed: Any, events: list[Event], language: str, base_url: str) -> tuple[str, int]:
    gettext = i18n.translations(language).gettext
    shown = [
        {
            "title": event.title_in(language),
            "url": f"/console/events/{event.id}",
            "id": event.id,
            "role": gettext(ROLE_LABELS[signed.organizer.role_for(event.id) or "read"]),
        }
        for event in events
    ]
    return _page(
        "console/events.html", language, base_url, console=chrome(signed, language), events=shown
    )


# -- the overview ----------------------------------------------------------------------


def _in_zone(
    moment: datetime, zone_name: str, language: str, day: str | None, time: str = "Hm"
) -> str:
    """``moment`` in a zone: its day (a CLDR skeleton such as ``yMMMd``, or None) and
    time (``Hm``, ``Hms``), as the language writes them."""
    tz, where = zone(zone_name), i18n.locale(language)
    parts = [format_skeleton(day, moment, tzinfo=tz, locale=where)] if day else []
    parts.append(format_skeleton(time, moment, tzinfo=tz, locale=where))
    return " ".join(parts)


def _place(zone_name: str, language: str) -> str:
    return get_timezone_location(zone(zone_name), locale=i18n.locale(language), return_city=True)


def session_when(session: Session, event: Event, language: str) -> str:
    """A session's start in each of the event's announced zones: "Sat 6 Mar, 15:00
    (Jerusalem) · 16:00 (Istanbul)"."""
    parts = []
    for index, zone_name in enumerate(event.time_zones):
        day = "MMMEd" if index == 0 else None
        parts.append(
            f"{_in_zone(session.starts_at, zone_name, language, day)}"
            f" ({_place(zone_name, language)})"
        )
    return " · ".join(parts)


def room_label(session: Session, index: int, language: str, default_language: str) -> str:
    from chalicelib.mail.render import LIVE_STREAM, ROOM_NUMBER

    room = session.rooms[index]
    gettext = i18n.translations(language).gettext
    label = room.label.get(language) or room.label.get(default_language)
    if label:
        return label
    if room.watch_url is not None:
        return gettext(LIVE_STREAM)
    return gettext(ROOM_NUMBER) % {"number": _number(index + 1, language)}


def _over_time(by_hour: dict[str, int], event: Event, language: str) -> dict[str, Any]:
    """Registrations by hour (the last 48 hours that have any) and by day, in the
    event's zone."""
    tz = zone(event.timezone)
    hours: dict[datetime, int] = {}
    days: dict[str, int] = {}
    for text, count in sorted(by_hour.items()):
        try:
            moment = datetime.fromisoformat(f"{text}:00:00+00:00")
        except ValueError:
            continue
        local = moment.astimezone(tz)
        hours[moment] = hours.get(moment, 0) + count
        day = local.date().isoformat()
        days[day] = days.get(day, 0) + count
    where = i18n.locale(language)
    shown_hours = [
        {
            "at": moment.strftime("%Y-%m-%dT%H"),
            "label": _in_zone(moment, event.timezone, language, "MMMd"),
            **_counted(count, language),
        }
        for moment, count in sorted(hours.items())[-HOURS_SHOWN:]
    ]
    shown_days = [
        {
            "at": day,
            "label": format_skeleton(
                "yMMMd", datetime.fromisoformat(f"{day}T12:00:00"), locale=where
            ),
            **_counted(count, language),
        }
        for day, count in sorted(days.items())
    ]
    return {"hours": shown_hours, "days": shown_days}


def _rate(key: str, part: int, sent: int, language: str) -> dict[str, Any]:
    gettext = i18n.translations(language).gettext
    limit = RATE_LIMITS[key]
    value = part / sent if sent else 0.0
    level = "over" if value >= limit else "warning" if value >= limit / 2 else "ok"
    where = i18n.locale(language)
    return {
        "key": key,
        "label": gettext(RATE_LABELS[key]),
        "value": value,
        "shown": format_percent(value, format="#,##0.##%", locale=where),
        "limit": format_percent(limit, format="#,##0.##%", locale=where),
        "level": level,
        "level_label": gettext(LEVEL_LABELS[level]),
    }


def overview_document(
    event: Event, counted: dict[str, Any], language: str, now: datetime
) -> dict[str, Any]:
    """Everything the overview shows, from the event and its counters
    (``domain/stats.py``'s report): no other read."""
    gettext = i18n.translations(language).gettext
    registrations = counted["registrations"]
    registered = registrations.get("registered", 0)
    countries = sorted(counted["by_country"].items(), key=lambda kv: (-kv[1], kv[0]))
    languages = sorted(counted["by_language"].items(), key=lambda kv: (-kv[1], kv[0]))
    sessions = []
    zoom_sessions = []
    attendance = []
    full = []
    for session in event.sessions:
        title = session.title_in(language, event.default_language)
        taken = counted["by_session"].get(session.id, 0)
        seated = counted["by_room"].get(session.id, {})
        rooms = []
        for index, room in enumerate(session.rooms):
            count = seated.get(room.key, 0)
            is_full = room.capacity is not None and count >= room.capacity
            label = room_label(session, index, language, event.default_language)
            if is_full:
                full.append(f"{title} · {label}")
            rooms.append(
                {
                    "key": room.key,
                    "label": label,
                    **_counted(count, language),
                    "capacity": _counted(room.capacity, language) if room.capacity else None,
                    "full": is_full,
                }
            )
        if session.id in counted["zoom"]["full_sessions"]:
            full.append(title)
        sessions.append(
            {
                "id": session.id,
                "label": title,
                "when": session_when(session, event, language),
                **_counted(taken, language),
                "capacity": _counted(event.capacity, language) if event.capacity else None,
                "rooms": rooms,
            }
        )
        states = counted["zoom"]["by_session"].get(session.id, {})
        if session.has_zoom:
            zoom_sessions.append(
                {
                    "id": session.id,
                    "label": title,
                    "states": [
                        {
                            "key": state,
                            "label": gettext(ZOOM_LABELS.get(state, state)),
                            **_counted(n, language),
                        }
                        for state, n in sorted(states.items())
                    ],
                }
            )
        came = counted["attendance"].get(session.id, {}).get("matched", 0)
        attendance.append(
            {
                "id": session.id,
                "label": title,
                **_counted(came, language),
                "of": _number(taken, language),
                "share": _share(came, taken, language),
            }
        )
    emails = counted["emails"]
    sent = emails.get("sent", 0)
    updated = format_datetime(
        now, format="medium", tzinfo=zone(event.timezone), locale=i18n.locale(language)
    )
    return {
        "updated": gettext("Updated %(time)s (%(place)s)")
        % {"time": updated, "place": _place(event.timezone, language)},
        "counts": [
            {
                "key": status,
                "label": gettext(STATUS_LABELS[status]),
                **_counted(registrations.get(status, 0), language),
            }
            for status in ("registered", "waitlisted", "pending", "cancelled")
        ],
        "capacity": _counted(event.capacity, language) if event.capacity else None,
        "over_time": _over_time(counted.get("by_hour", {}), event, language),
        "countries": [
            {
                "code": code,
                "label": i18n.country_name(code, language, event.country_names)
                if code != "unknown"
                else gettext("Not given"),
                **_counted(n, language),
                "share": _share(n, registered, language),
            }
            for code, n in countries
        ],
        "languages": [
            {
                "code": code,
                "label": i18n.language_name(code, language),
                **_counted(n, language),
                "share": _share(n, registered, language),
            }
            for code, n in languages
        ],
        "sessions": sessions,
        "emails": {
            "rows": [
                {
                    "key": key,
                    "label": gettext(EMAIL_LABELS[key]),
                    **_counted(emails.get(key, 0), language),
                }
                for key in EMAIL_LABELS
            ],
            "rates": [
                _rate("bounce", emails.get("bounced", 0), sent, language),
                _rate("complaint", emails.get("complained", 0), sent, language),
            ],
        },
        "zoom": {"sessions": zoom_sessions, "full": full, "problems": []},
        "attendance": attendance,
    }


def overview_page(
    signed: Any, event: Event, document: dict[str, Any], language: str, base_url: str
) -> tuple[str, int]:
    return _page(
        "console/overview.html",
        language,
        base_url,
        console=chrome(signed, language, event, "overview"),
        overview=document,
        data_url=f"/console/events/{event.id}/overview.json?lang={language}",
        operations_url=f"/console/events/{event.id}/operations?lang={language}",
        refresh_seconds=30,
    )


# -- registrants -----------------------------------------------------------------------


def _registrant_row(registration: Registration, event: Event, language: str) -> dict[str, Any]:
    gettext = i18n.translations(language).gettext
    return {
        "url": f"/console/events/{event.id}/registrants/{registration.registration_id}",
        "name": registration.full_name,
        "email": registration.email,
        "status": gettext(STATUS_LABELS[registration.status.value]),
        "language": i18n.language_name(registration.language, language),
        "country": i18n.country_name(registration.country, language, event.country_names)
        if registration.country
        else "",
        "sessions": format_list(
            [
                s.title_in(language, event.default_language)
                for s in event.sessions
                if s.id in registration.sessions
            ],
            style="unit",
            locale=i18n.locale(language),
        ),
        "created": _in_zone(registration.created_at, event.timezone, language, "yMMMd"),
    }


def registrants_page(
    signed: Any,
    event: Event,
    items: list[Registration],
    cursor: str | None,
    filters: dict[str, str],
    language: str,
    base_url: str,
    *,
    errors: dict[str, str] | None = None,
    not_found: bool = False,
) -> tuple[str, int]:
    gettext = i18n.translations(language).gettext
    from urllib.parse import urlencode

    kept = {k: v for k, v in filters.items() if v}
    next_url = None
    if cursor:
        next_url = "?" + urlencode({**kept, "cursor": cursor, "lang": language})
    options = {
        "status": [
            (s, gettext(STATUS_LABELS[s]))
            for s in ("registered", "waitlisted", "pending", "cancelled")
        ],
        "language": [(code, i18n.language_name(code, language)) for code in event.languages],
        "session": [(s.id, s.title_in(language, event.default_language)) for s in event.sessions],
        "room": [
            (
                f"{s.id}/{room.key}",
                f"{s.title_in(language, event.default_language)} · "
                f"{room_label(s, index, language, event.default_language)}",
            )
            for s in event.sessions
            for index, room in enumerate(s.rooms)
        ],
    }
    return _page(
        "console/registrants.html",
        language,
        base_url,
        422 if errors else 200,
        console=chrome(signed, language, event, "registrants"),
        rows=[_registrant_row(r, event, language) for r in items],
        filters=kept,
        options=options,
        next_url=next_url,
        first_url="?" + urlencode({**kept, "lang": language}) if filters.get("cursor") else None,
        errors=errors or {},
        not_found=not_found,
    )


def _history(registration: Registration, event: Event, language: str) -> list[dict[str, str]]:
    """What happened to the registration, oldest first, as its record tells it."""
    gettext = i18n.translations(language).gettext
    tz = event.timezone
    items = [(registration.created_at, gettext("Registered"))]
    for session in event.sessions:
        title = session.title_in(language, event.default_language)
        clicked = registration.clicks.get(session.id) or {}
        if clicked.get("first"):
            items.append(
                (
                    clicked["first"],
                    gettext("Opened the join link: %(session)s") % {"session": title},
                )
            )
        if registration.attended.get(session.id):
            moment = datetime.fromisoformat(
                registration.attended[session.id].replace("Z", "+00:00")
            )
            items.append((moment, gettext("Joined in Zoom: %(session)s") % {"session": title}))
    if registration.updated_at != registration.created_at:
        items.append((registration.updated_at, gettext("Last changed")))
    return [
        {"at": _in_zone(moment, tz, language, "yMMMd"), "what": what}
        for moment, what in sorted(items, key=lambda item: item[0])
    ]


def registrant_page(
    signed: Any,
    event: Event,
    registration: Registration,
    language: str,
    base_url: str,
    notice: str | None = None,
) -> tuple[str, int]:
    gettext = i18n.translations(language).gettext
    base = f"/console/events/{event.id}/registrants/{registration.registration_id}"
    sessions = []
    for session in event.sessions:
        if session.id not in registration.sessions:
            continue
        room = ""
        key = registration.rooms.get(session.id)
        if key and session.room(key) is not None:
            room = room_label(
                session, session.rooms.index(session.room(key)), language, event.default_language
            )
        state = (registration.zoom_sync.get(session.id) or {}).get("state", "")
        sessions.append(
            {
                "label": session.title_in(language, event.default_language),
                "when": session_when(session, event, language),
                "room": room,
                "zoom": gettext(ZOOM_LABELS[state]) if state in ZOOM_LABELS else "",
                "clicked": bool((registration.clicks.get(session.id) or {}).get("first")),
                "attended": bool(registration.attended.get(session.id)),
            }
        )
    person = {
        "name": registration.full_name,
        "email": registration.email,
        "status": gettext(STATUS_LABELS[registration.status.value]),
        "language": i18n.language_name(registration.language, language),
        "timezone": registration.timezone,
        "country": i18n.country_name(registration.country, language, event.country_names)
        if registration.country
        else "",
        "email_status": registration.email_status.value,
        "updates": registration.updates,
        "link_shared": registration.link_shared,
    }
    may = {
        "resend": signed.organizer.may("send", event.id)
        and registration.status is not Status.CANCELLED,
        "cancel": signed.organizer.may("admin", event.id)
        and registration.status is not Status.CANCELLED,
        "erase": signed.organizer.may("admin", event.id),
    }
    return _page(
        "console/registrant.html",
        language,
        base_url,
        console=chrome(signed, language, event, "registrants"),
        person=person,
        sessions=sessions,
        history=_history(registration, event, language),
        may=may,
        actions={
            "resend": f"{base}/resend?lang={language}",
            "cancel": f"{base}/cancel?lang={language}",
            "erase": f"{base}/erase?lang={language}",
        },
        back_url=f"/console/events/{event.id}/registrants?lang={language}",
        notice=notice,
    )


def erase_page(
    signed: Any, event: Event, registration: Registration, language: str, base_url: str
) -> tuple[str, int]:
    """The confirmation before erasing: it names what goes and what stays."""
    return _page(
        "console/erase.html",
        language,
        base_url,
        console=chrome(signed, language, event, "registrants"),
        name=registration.full_name,
        email=registration.email,
        action=f"/console/events/{event.id}/registrants/{registration.registration_id}/erase?lang={language}",
        back_url=f"/console/events/{event.id}/registrants/{registration.registration_id}?lang={language}",
        sessions=len(registration.sessions),
    )


# -- organisers ------------------------------------------------------------------------


def organizers_page(
    signed: Any,
    event: Event,
    organizers: list[tuple[str, str, str]],
    trail: list[Any],
    language: str,
    base_url: str,
    *,
    every_event: list[tuple[str, str, str]] | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> tuple[str, int]:
    gettext = i18n.translations(language).gettext
    every_event = every_event or []
    names = {key[:12]: email for key, email, _ in [*organizers, *every_event]}
    base = f"/console/events/{event.id}/organizers"
    return _page(
        "console/organizers.html",
        language,
        base_url,
        422 if errors else 200,
        console=chrome(signed, language, event, "organizers"),
        organizers=[
            {
                "key": key,
                "email": email,
                "role": gettext(ROLE_LABELS.get(role, role)),
                "every_event": False,
            }
            for key, email, role in organizers
        ]
        + [
            {
                "key": key,
                "email": email,
                "role": f"{gettext(ROLE_LABELS.get(role, role))} · {gettext(EVERY_EVENT_LABEL)}",
                "every_event": True,
            }
            for key, email, role in every_event
        ],
        roles=[(role, gettext(ROLE_LABELS[role])) for role in ROLES],
        trail=[
            {
                "at": _in_zone(entry.at, event.timezone, language, "yMMMd", "Hms"),
                "who": names.get(entry.by.removeprefix("organizer:"), entry.by),
                "action": gettext(ACTION_LABELS[entry.action])
                if entry.action in ACTION_LABELS
                else entry.action,
                "target": names.get(entry.target, entry.target),
            }
            for entry in trail
        ],
        invite_action=f"{base}?lang={language}",
        revoke_action=f"{base}/revoke?lang={language}",
        values=values or {},
        errors=errors or {},
        notice=notice,
        self_key=signed.organizer.key,
    )


# -- announcements -----------------------------------------------------------------------

CAMPAIGN_STATUS_LABELS = {
    "scheduled": N_("Scheduled"),
    "sending": N_("Sending"),
    "done": N_("Done"),
    "cancelled": N_("Cancelled"),
    "failed": N_("Failed"),
}
PURPOSE_LABELS = {
    "announcement": N_("Announcement"),
    "reminder": N_("Reminder"),
    "change": N_("Programme change"),
}
COMPOSER_MESSAGES = {
    "default_language_missing": N_(
        "Write the announcement in the event's default language too: it goes to everyone "
        "whose own language has none."
    ),
    "unknown_country": N_("Use two-letter country codes, such as PK, separated by commas."),
    "recording_needs_one_session": N_(
        "{{recording_url}} needs an audience of exactly one session."
    ),
    "no_recording": N_("That session has no recording yet."),
    "missing": N_("This field is required."),
    "required": N_("This field is required."),
    "invalid_send_at": N_("Enter a date and time, or leave it empty to send now."),
    "past_send_at": N_("This time has passed: choose a later one, or leave it empty."),
    "invalid_datetime": N_("Enter a date and time."),
    "invalid_json": N_("This is not valid: see the details."),
    "not_a_number": N_("Enter a whole number, or leave it empty."),
    "invalid_line": N_("A line of this list is not as the label says: see the details."),
}
PLACEHOLDER_HELP = {
    "first_name": N_("their first name"),
    "last_name": N_("their last name"),
    "sessions": N_("their sessions, in their time zone"),
    "join_links": N_("their join links"),
    "manage_url": N_("the link to their registration page"),
    "recording_url": N_("the recording of the session the audience is about"),
}
AUDIENCE_STATUSES = ("registered", "waitlisted", "cancelled")
# Why SES holds a campaign back (its reason, as the mail worker notes it), for organisers.
SES_REASONS = {
    "SendingPausedException": N_(
        "Amazon SES has paused sending for this account: no email leaves until the pause is "
        "lifted in the SES console (its reputation page says why). Sending then resumes by "
        "itself."
    ),
    "AccountSuspendedException": N_(
        "Amazon SES has suspended this account: no email leaves until AWS lifts the "
        "suspension. Sending then resumes by itself."
    ),
    "quota": N_(
        "Today's SES sending quota is used up: sending resumes by itself as the quota frees."
    ),
}


def ses_reason(reason: str | None, language: str) -> str | None:
    """A campaign's reason in the organiser's language when it is one of SES's holds."""
    if not reason:
        return None
    gettext = i18n.translations(language).gettext
    for code in ("SendingPausedException", "AccountSuspendedException"):
        if reason.startswith(code):
            return gettext(SES_REASONS[code])
    if "quota" in reason.lower():
        return gettext(SES_REASONS["quota"])
    return None


def composer_errors(problem: Any, language: str) -> dict[str, dict[str, str]]:
    """Field errors by their full path (``content.ar.subject``): a message in the
    organiser's language, and the API's own words (English) as the details."""
    gettext = i18n.translations(language).gettext
    found: dict[str, dict[str, str]] = {}
    for error in problem.errors:
        message = COMPOSER_MESSAGES.get(error.code, "")
        found.setdefault(
            error.field,
            {
                "message": gettext(message) if message else gettext("Please check this field."),
                "details": error.message,
            },
        )
    return found


def composer_page(
    signed: Any,
    event: Event,
    values: dict[str, Any],
    language: str,
    base_url: str,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    counted: dict[str, Any] | None = None,
    preview: Any = None,
    test_sent: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    gettext = i18n.translations(language).gettext
    errors = errors or {}
    tabs = []
    for code in [
        event.default_language,
        *[code for code in event.languages if code != event.default_language],
    ]:
        tabs.append(
            {
                "code": code,
                "label": i18n.language_name(code, language),
                "dir": i18n.direction(code),
                "default": code == event.default_language,
                "subject": values.get(f"subject.{code}", ""),
                "text": values.get(f"text.{code}", ""),
                "html": values.get(f"html.{code}", ""),
                "errors": {
                    part: errors.get(f"content.{code}.{part}")
                    for part in ("subject", "text", "html")
                },
            }
        )
    chosen = lambda name: set(_many(values.get(name)))  # noqa: E731
    zones = [
        (z, f"{_place(z, language)} ({z})")
        for z in dict.fromkeys([event.timezone, *event.time_zones])
    ]
    return _page(
        "console/composer.html",
        language,
        base_url,
        status,
        console=chrome(signed, language, event, "campaigns"),
        action=f"/console/events/{event.id}/campaigns/new?lang={language}",
        html_preview_action=f"/console/events/{event.id}/campaigns/preview?lang={language}",
        count_action=f"/console/events/{event.id}/campaigns/count?lang={language}",
        values=values,
        tabs=tabs,
        statuses=[
            (s, gettext(STATUS_LABELS[s]), s in (chosen("status") or {"registered"}))
            for s in AUDIENCE_STATUSES
        ],
        languages=[
            (code, i18n.language_name(code, language), code in chosen("languages"))
            for code in event.languages
        ],
        sessions=[
            (
                s.id,
                s.title_in(language, event.default_language),
                s.id in chosen("sessions"),
                session_when(s, event, language),
            )
            for s in event.sessions
        ],
        placeholders=[
            (f"{{{{{name}}}}}", gettext(help_text)) for name, help_text in PLACEHOLDER_HELP.items()
        ],
        zone=_place(event.timezone, language),
        other_zones=[_place(z, language) for z in event.time_zones if z != event.timezone],
        preview_zones=zones,
        errors=errors,
        general_errors=[
            e for f, e in errors.items() if not f.startswith("content.") or f.count(".") < 2
        ],
        counted=_counted_audience(counted, event, language) if counted else None,
        preview=preview,
        test_sent=test_sent,
    )


def _hidden(values: dict[str, Any]) -> list[tuple[str, str]]:
    """A posted form again, as the hidden fields of its confirmation page."""
    return [
        (name, value)
        for name, many in values.items()
        for value in _many(many)
        if name not in ("action", "csrf")
    ]


def _many(value: Any) -> list[str]:
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if v]


def _counted_audience(counted: dict[str, Any], event: Event, language: str) -> dict[str, Any]:
    return {
        "recipients": _number(counted["recipients"], language),
        "suppressed": _number(counted["suppressed"], language),
        "by_language": [
            (i18n.language_name(code, language), _number(n, language))
            for code, n in counted["by_language"].items()
        ],
        "fallbacks": [
            (i18n.language_name(code, language), _number(n, language))
            for code, n in counted["fallbacks"].items()
        ],
        "default_language": i18n.language_name(event.default_language, language),
    }


def counted_sentence(counted: dict[str, Any], event: Event, language: str) -> str:
    """A dry run in one sentence, for the composer's live count."""
    gettext = i18n.translations(language).gettext
    shown = _counted_audience(counted, event, language)
    return gettext(
        "%(n)s people match; %(suppressed)s of them get nothing (unsubscribed, bounced or "
        "complained)."
    ) % {"n": shown["recipients"], "suppressed": shown["suppressed"]}


def confirm_send_page(
    signed: Any,
    event: Event,
    values: dict[str, Any],
    counted: dict[str, Any],
    send_at: datetime | None,
    language: str,
    base_url: str,
) -> tuple[str, int]:
    """Before sending: how many people, in which languages, and when, in every zone."""
    when = None
    if send_at is not None:
        when = [
            f"{_in_zone(send_at, z, language, 'yMMMEd')} ({_place(z, language)})"
            for z in dict.fromkeys([event.timezone, *event.time_zones])
        ]
    hidden = _hidden(values)
    return _page(
        "console/confirm_send.html",
        language,
        base_url,
        console=chrome(signed, language, event, "campaigns"),
        action=f"/console/events/{event.id}/campaigns/new?lang={language}",
        hidden=hidden,
        counted=_counted_audience(counted, event, language),
        recipients=counted["recipients"] - counted["suppressed"],
        shown_recipients=_number(counted["recipients"] - counted["suppressed"], language),
        when=when,
        name=values.get("name", ""),
    )


def _campaign_name(item: dict[str, Any], event: Event, language: str) -> str:
    """An announcement's name as its organisers gave it; Majlis's own campaigns (change
    notices, reminders) named in the organiser's language."""
    gettext = i18n.translations(language).gettext
    name = str(item["name"])
    if item["purpose"] == "change":
        revision = name.rsplit(" ", 1)[-1]
        return f"{gettext(PURPOSE_LABELS['change'])} {revision}" if revision.isdigit() else name
    if item["purpose"] == "reminder":
        about = name.rsplit(" ", 1)[-1]  # a session's id, or a day's date
        session = event.session(about)
        if session is not None:
            title = session.title_in(language, event.default_language)
            return f"{gettext(PURPOSE_LABELS['reminder'])} · {title}"
        with contextlib.suppress(ValueError):
            day = format_date(date.fromisoformat(about), "long", locale=i18n.locale(language))
            return f"{gettext(PURPOSE_LABELS['reminder'])} · {day}"
    return name


def campaigns_page(
    signed: Any,
    event: Event,
    listed: list[dict[str, Any]],
    language: str,
    base_url: str,
    notice: str | None = None,
) -> tuple[str, int]:
    gettext = i18n.translations(language).gettext
    base = f"/console/events/{event.id}/campaigns"
    rows = []
    for item in listed:
        counts = item["counts"]
        finished = counts["sent"] + counts["failed"] + counts["suppressed"]
        total = max(counts["recipients"], 1)
        send_at = item.get("send_at")
        rows.append(
            {
                "id": item["campaign_id"],
                "name": _campaign_name(item, event, language),
                "purpose": gettext(PURPOSE_LABELS.get(item["purpose"], item["purpose"])),
                "status": item["status"],
                "status_label": gettext(CAMPAIGN_STATUS_LABELS.get(item["status"], item["status"])),
                "sent": _number(counts["sent"], language),
                "recipients": _number(counts["recipients"], language),
                "failed": _number(counts["failed"], language),
                "suppressed": _number(counts["suppressed"], language),
                "bounced": _number(counts["bounced"], language),
                "progress": min(finished, total),
                "total": total,
                "share": _share(min(finished, total), total, language),
                "when": _in_zone(
                    datetime.fromisoformat(send_at.replace("Z", "+00:00"))
                    if send_at
                    else item["created_at"],
                    event.timezone,
                    language,
                    "yMMMd",
                ),
                "cancel": f"{base}/{item['campaign_id']}/cancel?lang={language}"
                if item["status"] in ("scheduled", "sending")
                and signed.organizer.may("send", event.id)
                else None,
                "reason": item.get("reason"),
                "reason_shown": ses_reason(item.get("reason"), language),
            }
        )
    active = any(row["status"] in ("scheduled", "sending") for row in rows)
    return _page(
        "console/campaigns.html",
        language,
        base_url,
        console=chrome(signed, language, event, "campaigns"),
        rows=rows,
        refresh=10 if active else None,
        new_url=f"/console/events/{event.id}/campaigns/new?lang={language}"
        if signed.organizer.may("send", event.id)
        else None,
        notice=notice,
    )


# -- exports and operations --------------------------------------------------------------

INTERPRETATION_LABELS = {
    "applied": N_("Set up in Zoom"),
    "incomplete": N_("Set up in Zoom, except the languages below"),
    "pending": N_("Not set up yet: Majlis is applying it"),
    "retrying": N_("Zoom did not answer: Majlis tries again"),
    "failed": N_("Zoom refused it: see the reason"),
    "none": N_("No interpretation"),
    "off": N_("Turned off"),
}
MISSING_LANGUAGE = N_(
    "Zoom has no language “%(language)s” on this account. In Zoom's web portal, open "
    "Account Management > Account Settings > Meeting > Language Interpretation and add "
    "%(language)s as a custom language: Majlis applies the interpretation again within "
    "30 minutes."
)
EXPORT_STATUS_LABELS = {
    "pending": N_("Being written…"),
    "running": N_("Being written…"),
    "done": N_("Ready"),
    "failed": N_("Failed"),
}


DEAD_LETTER_LABELS = {
    "majlis-mail-dlq": N_("Confirmations, notices and reminders"),
    "majlis-announcements-dlq": N_("Announcements"),
    "majlis-ses-events-dlq": N_("Deliveries, bounces and complaints from SES"),
    "majlis-zoom-dlq": N_("Zoom registrations and webhooks"),
    "majlis-campaigns-dlq": N_("Announcements being queued"),
    "majlis-exports-dlq": N_("Exports"),
}


def operations_page(
    signed: Any,
    event: Event,
    zoom: dict[str, Any],
    language: str,
    base_url: str,
    *,
    dead_letters: dict[str, int] | None = None,
    redrives: list[Any] | None = None,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
) -> tuple[str, int]:
    gettext = i18n.translations(language).gettext
    rooms = []
    missing: list[str] = []
    for session in event.sessions:
        title = session.title_in(language, event.default_language)
        occupancy = {room["room"]: room for room in zoom.get("rooms", {}).get(session.id, [])}
        setup = (zoom.get("sessions", {}).get(session.id) or {}).get("rooms", {})
        for index, link in enumerate(session.zoom_links):
            seat = occupancy.get(link.key, {})
            state = (setup.get(link.key) or {}).get("interpretation", {})
            for name in state.get("missing", []):
                if name not in missing:
                    missing.append(name)
            label = (
                room_label(session, index, language, event.default_language)
                if session.rooms
                else ""
            )
            rooms.append(
                {
                    "session": title,
                    "room": label,
                    "seated": _number(seat.get("seated", 0), language) if seat else "—",
                    "capacity": _number(seat["capacity"], language)
                    if seat.get("capacity")
                    else "—",
                    "full": bool(seat.get("full_in_zoom")),
                    "interpretation": gettext(
                        INTERPRETATION_LABELS.get(
                            state.get("state", "none"), INTERPRETATION_LABELS["none"]
                        )
                    ),
                    "reason": state.get("reason", ""),
                }
            )
    return _page(
        "console/operations.html",
        language,
        base_url,
        422 if errors else 200,
        console=chrome(signed, language, event, "operations"),
        export_action=f"/console/events/{event.id}/exports?lang={language}",
        statuses=[
            (s, gettext(STATUS_LABELS[s]))
            for s in ("registered", "waitlisted", "pending", "cancelled")
        ],
        languages=[(code, i18n.language_name(code, language)) for code in event.languages],
        sessions=[(s.id, s.title_in(language, event.default_language)) for s in event.sessions],
        rooms=rooms,
        problems=[gettext(MISSING_LANGUAGE) % {"language": name} for name in missing],
        dead_letters=[
            (
                name,
                gettext(DEAD_LETTER_LABELS.get(name, name)),
                count,
                _number(count, language),
            )
            for name, count in sorted((dead_letters or {}).items())
        ],
        operates=signed.organizer.operates,
        redrive_action=f"/console/events/{event.id}/dead-letters",
        redrives=[
            {
                "at": _in_zone(r.requested_at, event.timezone, language, "yMMMd"),
                "queue": r.queue,
                "label": gettext(DEAD_LETTER_LABELS.get(r.queue, r.queue)),
                "outcome": (
                    gettext("Moving back…")
                    if r.moved is None
                    else r.failed or gettext("%(n)s moved back") % {"n": _number(r.moved, language)}
                ),
            }
            for r in redrives or []
        ],
        notice=notice,
        errors=errors or {},
    )


def export_page(
    signed: Any, event: Event, progress: dict[str, Any], language: str, base_url: str
) -> tuple[str, int]:
    gettext = i18n.translations(language).gettext
    status = progress["status"]
    return _page(
        "console/export.html",
        language,
        base_url,
        console=chrome(signed, language, event, "operations"),
        state=status,
        status_label=gettext(EXPORT_STATUS_LABELS.get(status, status)),
        rows=_number(progress.get("rows") or 0, language),
        url=progress.get("url"),
        reason=progress.get("reason"),
        refresh=3 if status not in ("done", "failed") else None,
        back_url=f"/console/events/{event.id}/operations?lang={language}",
    )


# -- event settings ----------------------------------------------------------------------

ADVANCED_KEYS = ("rooms",)  # per session, edited as the API's JSON


def _local_input(moment: datetime | None, zone_name: str) -> str:
    """A moment as a datetime-local field shows it, in ``zone_name``."""
    if moment is None:
        return ""
    return moment.astimezone(zone(zone_name)).strftime("%Y-%m-%dT%H:%M")


def settings_values(event: Event) -> dict[str, Any]:
    """The settings form's fields for the event as stored."""
    import json

    values: dict[str, Any] = {
        "revision": str(event.revision),
        "capacity": "" if event.capacity is None else str(event.capacity),
        "languages": list(event.languages),
        "default_language": event.default_language,
        "double_opt_in": event.double_opt_in,
        "opt_in_hours": str(event.opt_in_hours),
        "challenge": event.challenge,
        "refuse_disposable": event.refuse_disposable,
        "blocked": "\n".join(event.blocked),
        "reminders": ", ".join(event.reminders),
        "opens_at": _local_input(event.registration.opens_at, event.timezone),
        "closes_at": _local_input(event.registration.closes_at, event.timezone),
    }
    for code in event.languages:
        values[f"title.{code}"] = event.title.get(code, "")
    for index, session in enumerate(event.sessions):
        prefix = f"session.{index}"
        values[f"{prefix}.starts_at"] = _local_input(session.starts_at, event.timezone)
        values[f"{prefix}.ends_at"] = _local_input(session.ends_at, event.timezone)
        values[f"{prefix}.status"] = session.status
        values[f"{prefix}.recording_url"] = session.recording_url or ""
        for code in event.languages:
            values[f"{prefix}.title.{code}"] = session.title.get(code, "")
        interpretation = session.interpretation
        values[f"{prefix}.interpretation.from"] = interpretation.source if interpretation else ""
        for code in interpretation.into if interpretation else []:
            values[f"{prefix}.into.{code}"] = "on"
        values[f"{prefix}.interpreters"] = "\n".join(
            f"{i.email}, {i.languages[0]}, {i.languages[1]}"
            for i in (interpretation.interpreters if interpretation else [])
        )
        values[f"{prefix}.speakers"] = "\n".join(f"{s.name}, {s.email}" for s in session.speakers)
        dumped = session.model_dump(mode="json", by_alias=True, exclude_none=True)
        advanced = {key: dumped[key] for key in ADVANCED_KEYS if dumped.get(key)}
        values[f"{prefix}.advanced"] = (
            json.dumps(advanced, ensure_ascii=False, indent=1) if advanced else ""
        )
    return values


def settings_page(
    signed: Any,
    event: Event,
    values: dict[str, Any],
    language: str,
    base_url: str,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    gettext = i18n.translations(language).gettext
    errors = errors or {}
    others = [z for z in event.time_zones if z != event.timezone]
    sessions = []
    for index, session in enumerate(event.sessions):
        prefix = f"session.{index}"
        beside = [
            f"{_place(z, language)}: {_in_zone(session.starts_at, z, language, 'MMMEd')}"
            for z in others
        ]
        sessions.append(
            {
                "index": index,
                "id": session.id,
                "label": session.title_in(language, event.default_language),
                "prefix": prefix,
                "beside": beside,
                "titles": [
                    (code, i18n.language_name(code, language), i18n.direction(code))
                    for code in event.languages
                ],
                "errors": [e for f, e in errors.items() if f.startswith(f"sessions.{index}.")],
            }
        )
    chosen = set(_many(values.get("languages")))
    return _page(
        "console/settings.html",
        language,
        base_url,
        status,
        console=chrome(signed, language, event, "settings"),
        action=f"/console/events/{event.id}/settings?lang={language}",
        values=values,
        zone=_place(event.timezone, language),
        others=[_place(z, language) for z in others],
        titles=[
            (code, i18n.language_name(code, language), i18n.direction(code))
            for code in event.languages
        ],
        languages=[
            (code, i18n.language_name(code, language), code in chosen) for code in LANGUAGES
        ],
        sessions=sessions,
        errors=errors,
        general_errors=[e for f, e in errors.items() if not f.startswith("sessions.")],
        notice=notice,
        statuses=[("scheduled", gettext("Scheduled")), ("cancelled", gettext("Cancelled"))],
    )


def confirm_settings_page(
    signed: Any, event: Event, values: dict[str, Any], notifying: int, language: str, base_url: str
) -> tuple[str, int]:
    hidden = _hidden(values)
    return _page(
        "console/confirm_settings.html",
        language,
        base_url,
        console=chrome(signed, language, event, "settings"),
        action=f"/console/events/{event.id}/settings?lang={language}",
        hidden=hidden,
        notifying=notifying,
        shown=_number(notifying, language),
    )
