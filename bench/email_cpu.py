"""email_cpu: CPU per confirmation email (render, sign links, MIME, calendar), in each
language, against a naive floor: a Jinja2 template, a Babel date per session, an
EmailMessage.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.common import _spread

_NAIVE_TEXT = (
    "Dear {{ name }},\n{% for s in sessions %}* {{ s.title }}\n  {{ s.when }}\n"
    "  {{ s.url }}\n{% endfor %}"
)


_NAIVE_HTML = (
    "<p>Dear {{ name }},</p>{% for s in sessions %}<p><b>{{ s.title }}</b><br>"
    "{{ s.when }}<br><a href='{{ s.url }}'>Join</a></p>{% endfor %}"
)


def email_cpu(emails: int = 1000) -> dict[str, Any]:
    """CPU per confirmation (render, sign links, MIME, calendar) against a naive floor."""
    from email.message import EmailMessage

    from babel.dates import format_datetime
    from jinja2 import Environment

    from chalicelib.domain.events import LANGUAGES, Event
    from chalicelib.domain.registrations import Registration, RegistrationForm
    from chalicelib.mail import mime
    from chalicelib.mail.render import registration_mail
    from chalicelib.signed_links import registration_links
    from infra.local.demo import demo_event
    from tests.fakes import TEST_KEYS

    event = Event.model_validate({**demo_event(), "id": "demo"})
    now = event.sessions[0].starts_at
    naive_env = Environment(autoescape=True)
    naive_text, naive_html = naive_env.from_string(_NAIVE_TEXT), naive_env.from_string(_NAIVE_HTML)

    def naive(registration: Registration) -> bytes:
        sessions = [
            {
                "title": s.title_in(registration.language, event.default_language),
                "when": format_datetime(
                    s.starts_at, "full", tzinfo=registration.timezone, locale=registration.language
                ),
                "url": "https://example.org/join/x",
            }
            for s in event.sessions
        ]
        message = EmailMessage()
        message["Subject"] = event.title_in(registration.language)
        message["From"] = event.sender.email
        message["To"] = registration.email
        message.set_content(naive_text.render(name=registration.first_name, sessions=sessions))
        message.add_alternative(
            naive_html.render(name=registration.first_name, sessions=sessions), subtype="html"
        )
        return message.as_bytes()

    def majlis_email(registration: Registration) -> bytes:
        links = registration_links(TEST_KEYS, "https://register.example.org", event, registration)
        rendered = registration_mail(event, registration, links, now)
        return mime.build(
            mime.Mail(
                sender_name=event.sender.name,
                sender_address=event.sender.email,
                recipient_name=registration.full_name,
                recipient_address=registration.email,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                language=registration.language,
                sent_at=now,
                reply_to=event.reply_to,
                calendar=rendered.calendar,
            )
        )

    rows = {}
    for language in LANGUAGES:
        form = RegistrationForm.model_validate(
            {
                "email": "amina@example.org",
                "first_name": "Amina",
                "last_name": "Rahman",
                "country": "MY",
                "language": language,
                "timezone": "Asia/Kuala_Lumpur",
                "consent": True,
            },
            context={"event": event},
        )
        registration = Registration.new("01m8k4e4s39a821wjg4my0bqy9", event, form, now)
        naive(registration)
        majlis_email(registration)  # warm: catalogs, templates
        floor, figure = [], []
        for _ in range(emails):
            start = time.process_time()
            naive(registration)
            floor.append(time.process_time() - start)
            start = time.process_time()
            majlis_email(registration)
            figure.append(time.process_time() - start)
        rows[language] = {
            "floor": _spread(floor),
            "figure": _spread(figure),
            "ratio": statistics.median(figure) / statistics.median(floor),
            "sessions": len(event.sessions),
        }
    return rows
