"""The email that tells a registrant the programme changed (a campaign of purpose
``change``): what changed in the sessions they hold, and any session added, old → new,
times in their zone and the event's; their sessions as they are now, with join links;
and their calendar brought up to date — the same entries, a higher SEQUENCE, and
``METHOD:CANCEL`` for a session that will not take place.
"""

from __future__ import annotations

from chalicelib import i18n
from chalicelib.domain.campaigns import Campaign
from chalicelib.domain.events import Event
from chalicelib.domain.programme import ChangeKind, SessionChange, SessionState
from chalicelib.domain.registrations import Registration, Status
from chalicelib.mail.calendar import invitation
from chalicelib.mail.render import (
    Rendered,
    addressed_parts,
    calendar_entry,
    calendar_people,
    channel_help,
    email_frame,
    interpretation_note,
    other_zones,
    sessions_shown,
    your_zone_label,
)
from chalicelib.signed_links import RegistrationLinks

N_ = i18n.N_
SUBJECT = N_("Programme change: %(event)s")
SAYS = {
    ChangeKind.MOVED: N_("New time: %(when)s (it was %(was)s)."),
    ChangeKind.RETITLED: N_("New title (it was “%(title)s”)."),
    ChangeKind.RELINKED: N_("Its Zoom link changed: your join link leads to the new one."),
    ChangeKind.CANCELLED: N_("This session is cancelled."),
    ChangeKind.RESTORED: N_("This session takes place again: %(when)s."),
    ChangeKind.ADDED: N_(
        "A new session: %(when)s. To attend it, add it on your registration page."
    ),
    ChangeKind.REMOVED: N_("This session is taken out of the programme."),
}
OUT_OF_CALENDAR = N_("It is taken out of your calendar (cancel.ics).")
# Changes that keep a calendar entry but change what it says.
UPDATES_ENTRY = frozenset({ChangeKind.MOVED, ChangeKind.RETITLED, ChangeKind.RESTORED})


def _when(state: SessionState, registration: Registration) -> str:
    yours = i18n.when(state.starts_at, state.ends_at, registration.timezone, registration.language)
    return f"{yours.day}, {yours.hours} ({your_zone_label(yours.place, registration.language)})"


def _told(
    event: Event, registration: Registration, change: SessionChange, registered: bool
) -> dict:
    """One change as the reader is told it: the session's title and what happened."""
    language = registration.language
    gettext = i18n.translations(language).gettext
    now, was = change.after, change.before
    shown = now or was
    assert shown is not None
    lines = []
    for kind in change.kinds:
        values = {}
        if kind is ChangeKind.MOVED and now and was:
            values = {"when": _when(now, registration), "was": _when(was, registration)}
        elif kind is ChangeKind.RETITLED and was:
            values = {"title": was.title_in(language, event.default_language)}
        elif kind in (ChangeKind.RESTORED, ChangeKind.ADDED) and now:
            values = {"when": _when(now, registration)}
        lines.append(gettext(SAYS[kind]) % values if values else gettext(SAYS[kind]))
    if change.gone and registered:
        lines.append(gettext(OUT_OF_CALENDAR))
    others = []
    if now and not change.gone and (change.has(ChangeKind.MOVED) or change.has(ChangeKind.ADDED)):
        others = [o["line"] for o in other_zones(event, registration, now.starts_at, now.ends_at)]
    return {
        "id": change.session_id,
        "title": shown.title_in(language, event.default_language),
        "lines": lines,
        "others": others,
    }


def change_mail(
    event: Event, campaign: Campaign, registration: Registration, links: RegistrationLinks
) -> Rendered:
    assert campaign.change is not None
    language = registration.language
    gettext = i18n.translations(language).gettext
    event_title = event.title_in(language)
    registered = registration.status is Status.REGISTERED
    told = campaign.change.for_sessions(registration.sessions)
    subject = gettext(SUBJECT) % {"event": event_title}
    sessions = sessions_shown(event, registration, links) if registered else []
    context = {
        **email_frame(language, subject, event_title),
        "changes": [_told(event, registration, c, registered) for c in told],
        "waitlisted": registration.status is Status.WAITLISTED,
        "sessions": sessions,
        "interpretation": interpretation_note(event, language) if registered else None,
        "channel_help": channel_help(sessions, language),
        "manage_url": links.manage,
        "reply_to": event.reply_to,
        "sender_name": event.sender.name,
    }
    text, html = addressed_parts("change", language, context, registration.full_name)
    calendar = cancellation = None
    if registered:
        # The entries are the notice's (its sessions after the change), so is their
        # SEQUENCE: a notice delivered after a later one carries a lower SEQUENCE, and
        # calendars keep the later times.
        people = calendar_people(event, registration, campaign.created_at, campaign.change.revision)
        held = [c for c in told if c.session_id in registration.sessions]
        updated = [
            calendar_entry(
                event,
                registration,
                c.session_id,
                c.after.title_in(language, event.default_language),
                c.after.starts_at,
                c.after.ends_at,
                links,
                gettext,
            )
            for c in held
            if c.after and not c.gone and UPDATES_ENTRY.intersection(c.kinds)
        ]
        gone = [
            calendar_entry(
                event,
                registration,
                c.session_id,
                c.before.title_in(language, event.default_language),
                c.before.starts_at,
                c.before.ends_at,
                None,
                gettext,
            )
            for c in held
            if c.gone and c.before
        ]
        if updated:
            calendar = invitation(sessions=updated, **people)
        if gone:
            cancellation = invitation(sessions=gone, method="CANCEL", **people)
    return Rendered(
        subject=subject,
        text=text,
        html=html,
        calendar=calendar,
        cancellation=cancellation,
        language=language,
    )
