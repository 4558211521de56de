"""Rendering an announcement (campaign email) for one recipient.

The organisers' subject, text and HTML are rendered in Jinja2's sandbox with the
placeholders filled for the recipient: their names, their manage link, their sessions
with the time in their own zone, their join links, and the recording of the session
the audience is about. In HTML every value is escaped
(the lists we build are markup of our own, with escaped values inside); the organisers'
HTML goes in our frame (right to left for Arabic and Urdu), followed by a footer with
the manage and unsubscribe links. Without HTML content, the text becomes the HTML.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from chalicelib import i18n
from chalicelib.domain.campaigns import Campaign, compiled, recording_url
from chalicelib.domain.events import Event
from chalicelib.domain.registrations import Registration
from chalicelib.mail.render import (
    FSI,
    PDI,
    TEMPLATES,
    Rendered,
    addressed_parts,
    channel_help,
    email_frame,
    interpretation_note,
    sessions_shown,
)
from chalicelib.signed_links import RegistrationLinks


def _details(session: dict) -> list[str]:
    """A session's room and interpretation lines for the reader (none for most events)."""
    return [
        line for line in (session["room"], session["watching"], session["interpretation"]) if line
    ]


def _session_lines(sessions: list[dict], language: str) -> str:
    lines = []
    for session in sessions:
        lines.append(f"* {session['title']}")
        lines.append(f"  {session['yours'].day}")
        lines.append(f"  {session['yours'].hours} ({session['yours_label']})")
        lines.extend(f"  {other['line']}" for other in session["others"])
        lines.extend(f"  {line}" for line in _details(session))
    help_text = channel_help(sessions, language)
    if help_text:
        lines.extend(["", help_text])
    return "\n".join(lines)


def _session_markup(sessions: list[dict], language: str) -> Markup:
    items = Markup("").join(
        Markup("<li><strong>%s</strong><br>%s<br>%s (%s)%s%s</li>")
        % (
            session["title"],
            session["yours"].day,
            session["yours"].hours,
            session["yours_label"],
            Markup("").join(Markup("<br>%s") % other["line"] for other in session["others"]),
            Markup("").join(Markup("<br>%s") % line for line in _details(session)),
        )
        for session in sessions
    )
    markup = Markup('<ul style="padding-inline-start:20px;">%s</ul>') % items
    help_text = channel_help(sessions, language)
    if help_text:
        markup += Markup('<p style="margin:0 0 16px 0;">%s</p>') % help_text
    return markup


def _join_markup(sessions: list[dict]) -> Markup:
    items = Markup("").join(
        Markup('<li><a href="%s" style="color:#2f6fde;">%s</a></li>')
        % (session["join_url"], session["title"])
        for session in sessions
    )
    return Markup('<ul style="padding-inline-start:20px;">%s</ul>') % items


def announcement_mail(
    event: Event,
    campaign: Campaign,
    registration: Registration,
    links: RegistrationLinks,
    unsubscribe_url: str,
) -> Rendered:
    language, content = campaign.content_for(registration.language, event.default_language)
    # The reader's sessions, dates in their zone, in the language of the content they get.
    reader = registration.model_copy(update={"language": language})
    sessions = sessions_shown(event, reader, links)
    first, last = registration.first_name, registration.last_name
    recording = recording_url(campaign, event)
    text_values = {
        "first_name": f"{FSI}{first}{PDI}",
        "last_name": f"{FSI}{last}{PDI}",
        "manage_url": links.manage,
        "sessions": _session_lines(sessions, language),
        "join_links": "\n".join(f"{s['title']}: {s['join_url']}" for s in sessions),
        "recording_url": recording,
    }
    html_values = {
        "first_name": Markup('<span dir="auto">%s</span>') % first,
        "last_name": Markup('<span dir="auto">%s</span>') % last,
        "manage_url": links.manage,
        "sessions": _session_markup(sessions, language),
        "join_links": _join_markup(sessions),
        "recording_url": recording,
    }
    subject_values = {**text_values, "first_name": first, "last_name": last}
    subject = " ".join(compiled(content.subject, False).render(subject_values).split())
    body_text = compiled(content.text, False).render(text_values)
    if content.html:
        body_html = Markup(compiled(content.html, True).render(html_values))  # noqa: S704
    else:
        paragraphs = body_text.strip().split("\n\n")
        body_html = Markup("").join(
            Markup('<p style="margin:0 0 16px 0;">%s</p>')
            % Markup("<br>").join(escape(line) for line in paragraph.split("\n"))
            for paragraph in paragraphs
        )
    context = {
        **email_frame(language, subject, event.title_in(language)),
        "manage_url": links.manage,
        "unsubscribe_url": unsubscribe_url,
        "sender_name": event.sender.name,
    }
    env = i18n.environment(TEMPLATES, language)
    text = env.get_template("campaign.txt").render(context, body=body_text)
    html = env.get_template("campaign.html").render(context, body=body_html)
    return Rendered(subject=subject, text=text, html=html, language=language)


REMINDER_SUBJECT = i18n.N_("Reminder: %(session)s — %(event)s")
DAY_REMINDER_SUBJECT = i18n.N_("Reminder: your sessions — %(event)s")


def reminder_mail(
    event: Event, campaign: Campaign, registration: Registration, links: RegistrationLinks
) -> Rendered:
    """A reminder of a session, or of the reader's sessions of a day (the campaign's
    sessions they hold), in the registrant's own language and time zone."""
    language = registration.language
    gettext = i18n.translations(language).gettext
    event_title = event.title_in(language)
    about = {campaign.session_id} if campaign.session_id else set(campaign.audience.sessions)
    sessions = [s for s in sessions_shown(event, registration, links) if s["id"] in about]
    if len(sessions) == 1:
        subject = gettext(REMINDER_SUBJECT) % {
            "session": sessions[0]["title"],
            "event": event_title,
        }
    else:
        subject = gettext(DAY_REMINDER_SUBJECT) % {"event": event_title}
    context = {
        **email_frame(language, subject, event_title),
        "sessions": sessions,
        "interpretation": interpretation_note(event, language),
        "channel_help": channel_help(sessions, language),
        "manage_url": links.manage,
        "reply_to": event.reply_to,
        "sender_name": event.sender.name,
    }
    text, html = addressed_parts("reminder", language, context, registration.full_name)
    return Rendered(subject=subject, text=text, html=html, language=language)
