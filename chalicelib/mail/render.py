"""Rendering emails from Jinja2 templates (autoescaped HTML) in the reader's language.

One Jinja2 environment per language, built on first use in a container, with that
language's catalog installed (new-style gettext: placeholders are escaped too).
People's names are isolated for bidirectional text: ``dir="auto"`` in HTML (email
clients drop ``<bdi>``) and FSI…PDI (U+2068…U+2069) in plain text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from chalicelib import i18n
from chalicelib.domain.events import Event
from chalicelib.domain.registrations import Registration, Status

TEMPLATES = Path(__file__).parent / "templates"
FSI, PDI = "\u2068", "\u2069"


@functools.cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _sessions(event: Event, registration: Registration) -> list[dict]:
    language = registration.language
    shown = []
    for session_id in registration.sessions:
        session = event.session(session_id)
        if session is None:
            continue
        others = [
            i18n.when(session.starts_at, session.ends_at, zone, language)
            for zone in event.time_zones
            if zone != registration.timezone
        ]
        shown.append(
            {
                "title": session.title_in(language, event.default_language),
                "yours": i18n.when(
                    session.starts_at, session.ends_at, registration.timezone, language
                ),
                "others": others,
            }
        )
    return shown


def registration_mail(event: Event, registration: Registration) -> Rendered:
    """The confirmation, or for a waitlisted registrant the waiting-list note."""
    language = registration.language
    env = environment(language)
    gettext = i18n.translations(language).gettext
    event_title = event.title_in(language)
    waitlisted = registration.status is Status.WAITLISTED
    subject = (
        gettext("You are on the waiting list: %(event)s")
        if waitlisted
        else gettext("Your registration is confirmed: %(event)s")
    ) % {"event": event_title}
    context = {
        "language": language,
        "dir": i18n.direction(language),
        "event_title": event_title,
        "waitlisted": waitlisted,
        "sessions": [] if waitlisted else _sessions(event, registration),
        "reply_to": event.reply_to,
    }
    name = registration.full_name
    text = env.get_template("registration.txt").render(context, name=f"{FSI}{name}{PDI}")
    html = env.get_template("registration.html").render(
        context, name=Markup('<span dir="auto">%s</span>') % name, subject=subject
    )
    return Rendered(subject=subject, text=text, html=html)
