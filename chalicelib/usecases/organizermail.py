"""What the mail worker sends organisers: their sign-in links, and the drafts of
announcements they asked to receive (the outbox queued each job when its record was
kept: ``usecases/console.py``, the console's composer).

A sign-in email comes from the sender of the event the record names (the first the organiser
may open, when they asked), in the language they asked in. It is sent at least once: a
job delivered again after the send but before the record says so sends the same link
again, which is still good once.
"""

from __future__ import annotations

from typing import Any

from chalicelib import metrics
from chalicelib.domain.addresses import parse_address
from chalicelib.domain.organizers import SIGN_IN_MINUTES
from chalicelib.i18n import N_
from chalicelib.jobs import DraftMailJob, SignInMail
from chalicelib.mail import mime
from chalicelib.mail.render import sign_in_mail
from chalicelib.ports import Paused, Rejected, Services, Throttled, Unsure
from chalicelib.usecases.sending import Pace, RetryLater


def send_sign_in_mail(services: Services, job: SignInMail) -> str:
    from chalicelib.usecases.console import sign_in_token

    found = services.organizers.sign_in(job.signin_id)
    now = services.clock()
    if found is None:
        return "gone"  # used, or expired and deleted
    if found.mailed:
        return "duplicate"
    if now >= found.expires_at:
        return "expired"
    organizer = services.organizers.organizer(found.organizer_key)
    event = services.events.get(found.event_id) if found.event_id else None
    if organizer is None or event is None:
        return "gone"
    base = services.settings.public_base_url.rstrip("/")
    url = f"{base}/console/signin/{sign_in_token(services, found)}"
    rendered = sign_in_mail(event, found.language, url, SIGN_IN_MINUTES, bool(found.invited_by))
    outcome = _send(services, event, organizer.email, rendered.subject, rendered, "sign_in")
    if outcome == "sent":
        services.organizers.sign_in_mailed(job.signin_id, now)
    return outcome


def _send(
    services: Services, event: Any, address: str, subject: str, rendered: Any, kind: str
) -> str:
    """One email to an organiser from the event's sender, in its turn of the send rate:
    "sent" or "rejected" (raises RetryLater while SES holds sending back)."""
    recipient = parse_address(address).ascii
    raw = mime.build(
        mime.Mail(
            sender_name=event.sender.name,
            sender_address=event.sender.email,
            recipient_name="",
            recipient_address=recipient,
            subject=subject,
            text=rendered.text,
            html=rendered.html,
            language=rendered.language,
            sent_at=services.clock(),
        )
    )
    try:
        Pace(services).wait_turn(1)
        services.mailer.send(
            raw, sender=event.sender.email, recipient=recipient, tags={"kind": kind}
        )
    except (Throttled, Paused, Unsure) as later:
        raise RetryLater(str(later) or "throttled") from None
    except Rejected:
        metrics.count("EmailsFailed")
        return "rejected"
    metrics.count("EmailsSent")
    return "sent"


TEST_SUBJECT = N_("Test: %(subject)s")


def send_draft_mail(services: Services, job: DraftMailJob) -> str:
    """An announcement's draft to the organiser who asked for it: the email a sample
    registrant of the chosen language and zone would get, its subject marked as a test."""
    from chalicelib import i18n
    from chalicelib.usecases.campaigns import preview

    draft = services.organizers.draft(job.draft_id)
    now = services.clock()
    if draft is None or now >= draft.expires_at:
        return "gone"
    organizer = services.organizers.organizer(draft.organizer_key)
    event = services.events.get(draft.event_id)
    if organizer is None or event is None or not organizer.may("send", event.id):
        return "gone"
    rendered = preview(services, event.id, draft.body, draft.language, draft.timezone)
    subject = i18n.translations(organizer.language).gettext(TEST_SUBJECT) % {
        "subject": rendered.subject
    }
    return _send(services, event, organizer.email, subject, rendered, "draft")
