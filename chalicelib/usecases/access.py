"""Following the links in emails: join, manage and unsubscribe.

A join link is one signature check and one DynamoDB call, then a redirect to Zoom: the
call is the click record itself, a conditional update that also returns the
registration (its Zoom join URL) or, when refused, says why (cancelled, revoked,
waitlisted). A GET changes nothing but that record. Manage and unsubscribe links lead
to the registration they were signed for, while it is theirs to act on.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chalicelib.domain.events import Event
from chalicelib.domain.networks import network_of
from chalicelib.domain.registrations import Registration, Status
from chalicelib.domain.zoom import on_zoom, registrant_of, room_of
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


def registration_behind(
    services: Services, purpose: Purpose, token: str, gone: Refusal = Refusal.INVALID
) -> Registration:
    """The registration a link stands for (``gone``: what its absence means). Raises
    LinkRefused."""
    try:
        link = verify(services.keys.keys(), purpose, token, services.clock())
    except InvalidLink:
        raise LinkRefused(Refusal.INVALID, None) from None
    except ExpiredLink:
        raise LinkRefused(Refusal.EXPIRED, None) from None
    registration = services.registrations.get(link.registration_id, consistent=True)
    if registration is None:
        raise LinkRefused(gone, None)
    if registration.status is Status.CANCELLED:
        raise LinkRefused(Refusal.CANCELLED, registration.language)
    if registration.link_version != link.version:
        raise LinkRefused(Refusal.REVOKED, registration.language)
    return registration


def join(services: Services, token: str, address: str | None = None) -> str:
    """The Zoom URL to send the person to, the click recorded (from the client network
    of ``address``). Raises LinkRefused."""
    now = services.clock()
    link = _join_link(services, token, now)
    network = network_of(address)
    try:
        registration = services.registrations.record_click(
            link.registration_id,
            link.session_id,
            link.version,
            now,
            _keyed(services, network) if network else None,
        )
    except ClickRefused as refused:
        raise LinkRefused(_why(refused.registration, link.version), _language(refused)) from None
    event = services.events.get(registration.event_id)
    location = _location(event, registration, link.session_id, services.settings.zoom_join_urls)
    if (
        event is not None
        and not registration.link_shared
        and len(registration.networks) > event.shared_link_networks
    ):
        services.registrations.flag_shared(registration.registration_id, now)
    return location


def _keyed(services: Services, network: str) -> str:
    """A network as stored: a keyed hash (no address is kept; a new active signing key
    counts a network anew)."""
    keys = services.keys.keys()
    secret = keys.secrets[keys.active].encode()
    return hmac.new(secret, f"network:{network}".encode(), hashlib.sha256).hexdigest()[:16]


def peek(services: Services, token: str) -> str:
    """Where a join link leads, as :func:`join` answers, recording nothing (a HEAD: link
    checkers and mail scanners). Raises LinkRefused."""
    link = _join_link(services, token, services.clock())
    registration = services.registrations.get(link.registration_id, consistent=True)
    if registration is None or not registration.admits(link.session_id, link.version):
        refused = ClickRefused(registration)
        raise LinkRefused(_why(registration, link.version), _language(refused))
    event = services.events.get(registration.event_id)
    return _location(event, registration, link.session_id, services.settings.zoom_join_urls)


def _join_link(services: Services, token: str, now: datetime) -> Link:
    try:
        return verify(services.keys.keys(), Purpose.JOIN, token, now)
    except InvalidLink:
        raise LinkRefused(Refusal.INVALID, None) from None
    except ExpiredLink:
        raise LinkRefused(Refusal.EXPIRED, None) from None


def _location(
    event: Event | None, registration: Registration, session_id: str, zoom_hosts: str
) -> str:
    """The person's own Zoom URL for their room's meeting (when it is on ``zoom_hosts``),
    else their room's (its watch page, or its shared join URL), else the session's."""
    session = event.session(session_id) if event else None
    if session is not None and session.cancelled:
        raise LinkRefused(Refusal.SESSION_CANCELLED, registration.language)
    room = room_of(registration, session)
    if room is not None and room.watch_url:
        return room.watch_url
    own = registrant_of(registration, session).get("join_url")
    if own and on_zoom(own, zoom_hosts):
        return own
    shared = (room.join_url if room is not None else None) or (session and session.join_url)
    if not shared:
        raise LinkRefused(Refusal.UNAVAILABLE, registration.language)
    return shared


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
