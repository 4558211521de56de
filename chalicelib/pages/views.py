"""The pages people see: registration form, thank-you, self-service, unsubscribe, errors.

Each function returns ``(html, status)``. Texts are translated with the page language's
catalog; field errors are shown in the visitor's language from their stable codes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from babel import Locale

from chalicelib import i18n
from chalicelib.domain.countries import COUNTRY_CODES
from chalicelib.domain.events import Event
from chalicelib.domain.registrations import Registration, Status
from chalicelib.domain.zones import known_zones
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
    "control_character": N_("Please remove the special characters from this field."),
    "bidi_control": N_("Please remove the special characters from this field."),
    "too_long": N_("This is too long."),
    "invalid_country": N_("Please choose your country."),
    "invalid_language": N_("Please choose one of the languages offered."),
    "invalid_timezone": N_("Please choose your time zone."),
    "unknown_session": N_("Please choose among the sessions listed."),
    "consent_required": N_("Please give your consent to register."),
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
    "updates": N_("Send me announcements about this event (you can stop them at any time)."),
    "consent": N_(
        "I agree that the organisers keep my details to run this event and email me about it."
    ),
    "register": N_("Register"),
    "registered": N_("Thank you, you are registered!"),
    "waitlisted": N_("Thank you, you are on the waiting list."),
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
}


def _gettext(language: str) -> Callable[[str], str]:
    return i18n.translations(language).gettext


@functools.lru_cache(maxsize=16)
def countries(language: str) -> list[tuple[str, str]]:
    """(code, name in ``language``), in that language's alphabetical order."""
    names = Locale.parse(language).territories
    english = Locale.parse("en").territories
    found = [(code, names.get(code) or english.get(code) or code) for code in COUNTRY_CODES]
    return sorted(found, key=lambda pair: pair[1].casefold())


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
        errors.setdefault(field, gettext(message))
    return errors


def _sessions(event: Event, language: str) -> list[dict[str, Any]]:
    shown = []
    for session in event.sessions:
        times = [
            i18n.when(session.starts_at, session.ends_at, zone_name, language)
            for zone_name in event.time_zones
        ]
        shown.append(
            {
                "id": session.id,
                "title": session.title_in(language, event.default_language),
                "starts_at": session.starts_at.isoformat(),
                "ends_at": session.ends_at.isoformat(),
                "times": [f"{t.short_day} {t.hours} ({t.place})" for t in times],
            }
        )
    return shown


def client_messages(language: str) -> dict[str, Any]:
    """What the page's script (and the embeddable form) says, in ``language``."""
    gettext = _gettext(language)
    return {
        "fields": {code: gettext(text) for code, text in FIELD_MESSAGES.items()},
        "generic": gettext(GENERIC_FIELD_MESSAGE),
        **{key: gettext(text) for key, text in PAGE_MESSAGES.items()},
        **{key: gettext(text) for key, text in EMBED_MESSAGES.items()},
    }


def _client_messages(language: str) -> str:
    # Inside <script type="application/json">: no "</" may appear.
    return json.dumps(client_messages(language), ensure_ascii=False).replace("</", "<\\/")


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
    values = values or {}
    html = render(
        "register.html",
        language,
        base_url,
        switch_languages=language_choices(tuple(event.languages)),
        event_title=event.title_in(language),
        event_id=event.id,
        action=f"{base_url}/events/{event.id}/register?lang={language}",
        api=f"{base_url}/events/{event.id}/registrations",
        sessions=_sessions(event, language),
        countries=countries(language),
        zones=known_zones(),
        languages=language_choices(tuple(event.languages)),
        default_zone=values.get("timezone") or event.timezone,
        values=values,
        chosen_sessions=set(values.get("sessions") or []),
        errors=errors or {},
        summary=_gettext(language)(PAGE_MESSAGES["summary"]) if errors else "",
        client_messages=_client_messages(language),
    )
    return html, 422 if errors else 200


def thanks_page(event: Event, language: str, status: Status, *, base_url: str) -> tuple[str, int]:
    html = render(
        "thanks.html",
        language,
        base_url,
        event_title=event.title_in(language),
        waitlisted=status is Status.WAITLISTED,
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
    message: str = "",
    errors: dict[str, str] | None = None,
) -> tuple[str, int]:
    language = registration.language
    html = render(
        "manage.html",
        language,
        base_url,
        event_title=event.title_in(language),
        registration=registration,
        status=registration.status.value,
        action=f"{base_url}/manage/{token}",
        sessions=_sessions(event, language),
        chosen_sessions=set(registration.sessions),
        zones=known_zones(),
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
