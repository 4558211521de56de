"""Following the links in emails: join, manage and unsubscribe.

A join link is one signature check and one DynamoDB call, then a redirect to Zoom: the
call is the click record itself, a conditional update that also returns the
registration (its Zoom join URL) or, when refused, says why (cancelled, revoked,
waitlisted). A GET changes nothing but that record. Manage and unsubscribe links lead
to the registration they were signed for, while it is theirs to act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chalicelib.domain.registrations import Registration, Status
from chalicelib.domain.zoom import registrant_of
from chalicelib.ports import ClickRefused, Services
from chalicelib.signed_links import ExpiredLink, InvalidLink, Link, Purpose, verify


class Refusal(StrEnum):
    INVALID = "invalid"  # 404
    EXPIRED = "expired"  # 410 from here on
    REVOKED = "revoked"
    CANCELLED = "cancelled"
    WAITLISTED = "waitlisted"
    SESSION_CANCELLED = "session_cancelled"  # the organisers cancelled the session
    UNAVAILABLE = "unavailable"

    @property
    def status(self) -> int:
        return 404 if self in (Refusal.INVALID, Refusal.UNAVAILABLE) else 410


@dataclass(frozen=True)
class LinkRefused(Exception):
    reason: Refusal
    language: str | None  # the registrant's, when we know who they are


def registration_behind(services: Services, purpose: Purpose, token: str) -> Registration:
    """The registration a manage or unsubscribe link stands for. Raises LinkRefused."""
    try:
        link = verify(services.keys.keys(), purpose, token, services.clock())
    except InvalidLink:
        raise LinkRefused(Refusal.INVALID, None) from None
    except ExpiredLink:
        raise LinkRefused(Refusal.EXPIRED, None) from None
    registration = services.registrations.get(link.registration_id, consistent=True)
    if registration is None:
        raise LinkRefused(Refusal.INVALID, None)
    if registration.status is Status.CANCELLED:
        raise LinkRefused(Refusal.CANCELLED, registration.language)
    if registration.link_version != link.version:
        raise LinkRefused(Refusal.REVOKED, registration.language)
    return registration


def join(services: Services, token: str) -> str:
    """The Zoom URL to send the person to, the click recorded. Raises LinkRefused."""
    now = services.clock()
    link = _join_link(services, token, now)
    try:
        registration = services.registrations.record_click(
            link.registration_id, link.session_id, link.version, now
        )
    except ClickRefused as refused:
        raise LinkRefused(_why(refused.registration, link.version), _language(refused)) from None
    return _location(services, registration, link.session_id)


def peek(services: Services, token: str) -> str:
    """Where a join link leads, as :func:`join` answers, recording nothing (a HEAD: link
    checkers and mail scanners). Raises LinkRefused."""
    link = _join_link(services, token, services.clock())
    registration = services.registrations.get(link.registration_id, consistent=True)
    holds = (
        registration is not None
        and registration.status is Status.REGISTERED
        and registration.link_version == link.version
        and link.session_id in registration.sessions
        and link.session_id in registration.clicks  # as record_click's condition
    )
    if not holds:
        refused = ClickRefused(registration)
        raise LinkRefused(_why(registration, link.version), _language(refused))
    assert registration is not None
    return _location(services, registration, link.session_id)


def _join_link(services: Services, token: str, now: datetime) -> Link:
    try:
        return verify(services.keys.keys(), Purpose.JOIN, token, now)
    except InvalidLink:
        raise LinkRefused(Refusal.INVALID, None) from None
    except ExpiredLink:
        raise LinkRefused(Refusal.EXPIRED, None) from None


def _location(services: Services, registration: Registration, session_id: str) -> str:
    """The person's own Zoom URL for the session's meeting, else the session's."""
    event = services.events.get(registration.event_id)
    session = event.session(session_id) if event else None
    if session is not None and session.cancelled:
        raise LinkRefused(Refusal.SESSION_CANCELLED, registration.language)
    own = registrant_of(registration, session).get("join_url")
    if own:
        return own
    if session is None or not session.join_url:
        raise LinkRefused(Refusal.UNAVAILABLE, registration.language)
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
