"""Following a join link: one signature check, one DynamoDB call, a redirect to Zoom.

The DynamoDB call is the click record itself: a conditional update that also returns
the registration (its Zoom join URL) or, when refused, says why (cancelled, revoked,
waitlisted). A GET changes nothing but that record.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chalicelib.bootstrap import Majlis
from chalicelib.domain.registrations import Registration, Status
from chalicelib.links import ExpiredLink, InvalidLink, Purpose, verify
from chalicelib.ports import ClickRefused


class Refusal(StrEnum):
    INVALID = "invalid"  # 404
    EXPIRED = "expired"  # 410 from here on
    REVOKED = "revoked"
    CANCELLED = "cancelled"
    WAITLISTED = "waitlisted"
    UNAVAILABLE = "unavailable"

    @property
    def status(self) -> int:
        return 404 if self in (Refusal.INVALID, Refusal.UNAVAILABLE) else 410


@dataclass(frozen=True)
class JoinRefused(Exception):
    reason: Refusal
    language: str | None  # the registrant's, when we know who they are


def join(majlis: Majlis, token: str) -> str:
    """The Zoom URL to send the person to. Raises JoinRefused."""
    now = majlis.clock()
    try:
        link = verify(majlis.keys.keys(), Purpose.JOIN, token, now)
    except InvalidLink:
        raise JoinRefused(Refusal.INVALID, None) from None
    except ExpiredLink:
        raise JoinRefused(Refusal.EXPIRED, None) from None
    try:
        registration = majlis.registrations.record_click(
            link.registration_id, link.session_id, link.version, now
        )
    except ClickRefused as refused:
        raise JoinRefused(_why(refused.registration, link.version), _language(refused)) from None
    zoom = registration.zoom.get(link.session_id, {})
    if zoom.get("join_url"):
        return zoom["join_url"]
    event = majlis.events.get(registration.event_id)
    session = event.session(link.session_id) if event else None
    if session is None or not session.join_url:
        raise JoinRefused(Refusal.UNAVAILABLE, registration.language)
    return session.join_url


def _language(refused: ClickRefused) -> str | None:
    return refused.registration.language if refused.registration else None


def _why(registration: Registration | None, version: int) -> Refusal:
    if registration is None:
        return Refusal.INVALID
    if registration.status is Status.CANCELLED:
        return Refusal.CANCELLED
    if registration.link_version != version:
        return Refusal.REVOKED
    if registration.status is Status.WAITLISTED:
        return Refusal.WAITLISTED
    return Refusal.REVOKED  # the session is no longer among theirs
