"""Delivery state from SES events (configuration set -> SNS -> SQS -> here).

A permanent bounce marks the registration's address ``bounced`` and a complaint
``complained``: both stop every further email to that registrant (the mail worker
checks). A transient bounce is counted, not suppressed. Events are matched to their
registration by the message tag Majlis sends with every email, else by the SES
message id kept on the send record. A ``Send`` event completes the email's send record
if the worker that sent it died before it could.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from chalicelib import metrics
from chalicelib.domain.registrations import EmailStatus
from chalicelib.ports import CampaignEmail, EmailRef, Services


@dataclass(frozen=True)
class SesEvent:
    kind: str  # Bounce, Complaint, Delivery, Send, Reject, …
    message_id: str
    registration_id: str | None
    bounce_type: str | None = None
    reason: str | None = None
    email: EmailRef | None = None  # which of the registration's emails (from tags)

    @classmethod
    def parse(cls, body: str) -> SesEvent:
        """An SQS body: an SNS notification whose Message is the SES event (or the event)."""
        document = json.loads(body)
        if isinstance(document, dict) and document.get("Type") == "Notification":
            document = json.loads(document["Message"])
        if not isinstance(document, dict):
            raise ValueError("not an SES event")
        kind = document.get("eventType") or document.get("notificationType")
        mail = document.get("mail") or {}
        if not kind or not mail.get("messageId"):
            raise ValueError("not an SES event")
        tags: dict[str, list[str]] = mail.get("tags") or {}
        registration = (tags.get("registration") or [None])[0]
        campaign = (tags.get("campaign") or [None])[0]
        seq = (tags.get("seq") or [None])[0]
        email: EmailRef | None = None
        if campaign:
            email = CampaignEmail(campaign)
        elif seq and seq.isascii() and seq.isdigit():
            email = int(seq)
        bounce = document.get("bounce") or {}
        reason = None
        if bounce.get("bouncedRecipients"):
            # The SMTP status only: the diagnostic text can quote the address.
            reason = bounce["bouncedRecipients"][0].get("status")
        return cls(
            kind=kind,
            message_id=mail["messageId"],
            registration_id=registration,
            bounce_type=bounce.get("bounceType"),
            reason=reason,
            email=email,
        )


def apply_ses_event(services: Services, event: SesEvent) -> str:
    """Record what SES says happened to one email; returns what was done."""
    now = services.clock()
    if event.kind == "Send":
        # SES accepted the email. A worker that died after the SES call, before it could
        # complete its send record, is completed here: nobody takes its claim over
        # and sends the email twice.
        if event.registration_id is None or event.email is None:
            return "noted"
        services.send_log.confirm(event.registration_id, event.email, event.message_id, now)
        return "confirmed"
    outcome = {"Delivery": "delivered", "Complaint": "complained"}.get(event.kind)
    if event.kind == "Bounce" and event.bounce_type == "Permanent":
        outcome = "bounced"
    # Counted as SES reports them, matched to a registration or not (the account's
    # reputation counts them all).
    if outcome == "bounced":
        metrics.count("EmailsBounced")
    elif outcome == "complained":
        metrics.count("EmailsComplained")
    # The email's own record carries the outcome (for the event's stats) and knows whose
    # it was when the message tag is missing.
    if outcome:
        sent_to = services.send_log.outcome(event.message_id, outcome, now)
    else:
        sent_to = (
            None if event.registration_id else services.send_log.registration_for(event.message_id)
        )
    registration_id = event.registration_id or sent_to
    if registration_id is None:
        return "unknown message"
    if outcome == "bounced":
        services.registrations.set_email_status(registration_id, EmailStatus.BOUNCED, now)
        return "bounced"
    if event.kind == "Bounce":
        services.registrations.count_soft_bounce(registration_id, now)
        return "soft bounce"
    if outcome == "complained":
        services.registrations.set_email_status(registration_id, EmailStatus.COMPLAINED, now)
        return "complained"
    return "noted"
