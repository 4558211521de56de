"""Organisers of the console: who may sign in, to which events, with which role.

An organiser is known by their address's key (``addresses.parse_address``), and the
store keys them by its hash (:func:`organizer_key`), so no key holds an address. Each
grant names one event and one role; a role includes the ones below it: ``read`` (the
overview, registrants, exports), ``send`` (announcements, resending links) and
``admin`` (event settings, cancelling and erasing registrations, inviting organisers).

Signing in is by a one-time link (:data:`SIGN_IN_MINUTES`), opening a console session
(:data:`SESSION_HOURS`); both are records of the store, found by the hash of what the
browser holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.domain.events import LANGUAGES

ROLES = ("read", "send", "admin")  # each includes the ones before it
SIGN_IN_MINUTES = 15
SIGN_IN_LIFETIME = timedelta(minutes=SIGN_IN_MINUTES)
SESSION_HOURS = 12
SESSION_LIFETIME = timedelta(hours=SESSION_HOURS)
EVERY_EVENT = "*"  # a grant on every event: local mode's admin


def organizer_key(address_key: str) -> str:
    """How the store knows an organiser: a hash of their address's key (32 hex digits)."""
    return hashlib.sha256(f"organizer:{address_key}".encode()).hexdigest()[:32]


def secret_hash(secret: str) -> str:
    """What the store keeps of a session id: its hash, never the id the cookie holds."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def roles_of(role: str) -> frozenset[str]:
    """The roles ``role`` includes (itself and those before it)."""
    if role not in ROLES:
        return frozenset()
    return frozenset(ROLES[: ROLES.index(role) + 1])


@dataclass(frozen=True)
class Organizer:
    key: str
    email: str  # as they gave it, to send their sign-in links to
    language: str = "en"  # the console's and their emails' language until they pick one
    grants: dict[str, str] = field(default_factory=dict)  # event id (or "*") -> role

    def role_for(self, event_id: str) -> str | None:
        role = self.grants.get(event_id) or self.grants.get(EVERY_EVENT)
        return role if role in ROLES else None

    def may(self, role: str, event_id: str) -> bool:
        granted = self.role_for(event_id)
        return granted is not None and role in roles_of(granted)

    def events(self, known: list[str]) -> list[str]:
        """Of the events ``known``, those this organiser may read, in that order."""
        return [event_id for event_id in known if self.may("read", event_id)]

    @property
    def operates(self) -> bool:
        """An admin of every event: what concerns the whole installation (the dead-letter
        queues) is theirs."""
        return self.grants.get(EVERY_EVENT) == "admin"

    def first_event(self, known: list[str]) -> str:
        """The event whose sender emails this organiser: their first (by id)."""
        mine = sorted(e for e in self.grants if e != EVERY_EVENT)
        if EVERY_EVENT in self.grants:
            mine += sorted(known)
        return mine[0] if mine else ""

    def with_language(self, language: str) -> Organizer:
        if language not in LANGUAGES:
            return self
        return Organizer(self.key, self.email, language, dict(self.grants))


@dataclass(frozen=True)
class SignIn:
    """A one-time sign-in link's record: whose, until when; gone once used."""

    signin_id: str
    organizer_key: str
    language: str
    expires_at: datetime
    invited_by: str | None = None  # the organiser who invited them (the email says so)
    event_id: str = ""  # the event whose sender emails the link
    mailed: bool = False  # the link went out (a job delivered again sends nothing)


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in browser: whose, its CSRF token, until when."""

    session_hash: str
    organizer_key: str
    csrf: str
    expires_at: datetime

    def open_at(self, now: datetime) -> bool:
        return now < self.expires_at


@dataclass(frozen=True)
class DraftMail:
    """An announcement's draft that an organiser asked to receive themself, as a sample
    registrant of ``language`` in ``timezone`` would get it (kept for a day)."""

    draft_id: str
    event_id: str
    organizer_key: str
    body: dict  # the campaign's body, as the API takes it
    language: str
    timezone: str
    expires_at: datetime


@dataclass(frozen=True)
class Redrive:
    """An operator's request to move a dead-letter queue's messages back, and what came
    of it (``moved``, once done; ``failed``, why not)."""

    redrive_id: str
    queue: str  # the dead-letter queue's name: majlis-mail-dlq …
    by: str
    requested_at: datetime
    moved: int | None = None
    failed: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    """An organiser's action in the console or the API, without personal data."""

    at: datetime
    by: str  # "organizer:<first 12 of their key>" or the token's id
    action: str  # "resend", "cancel", "erase", "invite", "sign_in", "sign_out", …
    target: str = ""  # a registration, campaign or organiser key
