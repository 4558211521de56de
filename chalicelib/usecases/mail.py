"""Sending the emails a registration is owed: exactly one per ``mail_seq``.

The send log holds one record per (registration, seq). It is claimed before the SES
call and completed with the SES message id after it, so a job delivered twice sends
once. A claim left by a worker that died mid-send is taken over when its lease ends.
Throttling gives the claim back and asks the queue to retry later; a permanent
rejection is recorded with its reason and never retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.bootstrap import Majlis
from chalicelib.domain.addresses import parse_address
from chalicelib.domain.registrations import EmailStatus, Status
from chalicelib.links import registration_links
from chalicelib.mail import mime
from chalicelib.mail.render import registration_mail
from chalicelib.ports import Rejected, Throttled


class RetryLater(Exception):
    """The job cannot be done now; the queue should deliver it again later."""


@dataclass(frozen=True)
class MailJob:
    registration_id: str
    seq: int

    @classmethod
    def parse(cls, body: dict[str, Any]) -> MailJob:
        if body.get("type") != "registration_mail":
            raise ValueError(f"unknown job type {body.get('type')!r}")
        return cls(registration_id=str(body["registration_id"]), seq=int(body["seq"]))


def send_registration_mail(majlis: Majlis, job: MailJob) -> str:
    """Send what the registration is owed for ``job.seq``; returns what happened."""
    registration = majlis.registrations.get(job.registration_id, consistent=True)
    if registration is None:
        return "gone"
    if job.seq < registration.mail_seq:
        return "superseded"  # a newer job will send the current state
    if job.seq > registration.mail_seq:
        raise RetryLater("registration not yet visible at this sequence")
    if registration.status is Status.CANCELLED and registration.mail_reason != "cancelled":
        return "cancelled"  # only the cancellation note goes to a cancelled registration
    if registration.email_status in (EmailStatus.BOUNCED, EmailStatus.COMPLAINED):
        return "suppressed"
    event = majlis.events.get(registration.event_id)
    if event is None:
        return "gone"
    now = majlis.clock()
    claim = majlis.send_log.claim(
        registration.registration_id, job.seq, registration.status.value, now
    )
    if not claim.proceed:
        if claim.in_progress:
            raise RetryLater("another worker is sending this email")
        return "duplicate"
    links = registration_links(
        majlis.keys.keys(), majlis.settings.public_base_url, event, registration
    )
    register_url = (
        f"{majlis.settings.public_base_url.rstrip('/')}/events/{event.id}/register"
        f"?lang={registration.language}"
    )
    rendered = registration_mail(event, registration, links, now, register_url)
    recipient = parse_address(registration.email).ascii
    raw = mime.build(
        mime.Mail(
            sender_name=event.sender.name,
            sender_address=event.sender.email,
            recipient_name=registration.full_name,
            recipient_address=recipient,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            language=registration.language,
            sent_at=now,
            reply_to=event.reply_to,
            calendar=rendered.calendar,
            cancellation=rendered.cancellation,
        )
    )
    try:
        message_id = majlis.mailer.send(
            raw,
            sender=event.sender.email,
            recipient=recipient,
            tags={
                "event": event.id,
                "registration": registration.registration_id,
                "kind": registration.status.value,
            },
        )
    except Throttled:
        majlis.send_log.release(registration.registration_id, job.seq)
        raise RetryLater("throttled") from None
    except Rejected as rejected:
        majlis.send_log.failed(registration.registration_id, job.seq, rejected.reason, now)
        return "rejected"
    majlis.send_log.sent(registration.registration_id, job.seq, message_id, now)
    return "sent"
