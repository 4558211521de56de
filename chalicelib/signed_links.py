"""Signed links: ``join`` (a registration and a session), ``manage`` and ``unsubscribe``.

A token is ``<key id>~<registration>~<session>~<link version>~<expiry>.<signature>``:

- the signature is an HMAC-SHA256 (itsdangerous's :class:`~itsdangerous.Signer`) whose
  salt is the link's purpose, so a manage token can never open a join link;
- the key id names the key that signed it: the newest key signs, every listed key
  verifies, so keys rotate without breaking links already sent;
- the link version is the registration's ``link_version``: raising it revokes every
  link of that registration at once;
- the expiry is in minutes since the epoch, in base 36; join links expire a while after
  their session ends.

No email address or name is inside a token, and a token is about 110 characters. Keys
live in the signing-keys secret of ``infra/resources.yaml``: ``{"active": "k2",
"k1": "...", "k2": "..."}``, cached per container (``adapters/secrets.py``).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from itsdangerous import BadSignature, Signer

from chalicelib.domain.events import Event
from chalicelib.domain.registrations import Registration, Status
from chalicelib.ports import SigningKeys

JOIN_MARGIN = timedelta(hours=12)  # after the session's end
MANAGE_LIFETIME = timedelta(days=90)  # after the event's last session
UNSUBSCRIBE_LIFETIME = timedelta(days=730)  # unsubscribing must keep working
_FIELDS = re.compile(
    r"(k[0-9a-z]{1,8})~([0-9a-z]{26})~([a-z0-9-]{0,32})~([0-9]{1,6})~([0-9a-z]{1,8})"
)


class Purpose(StrEnum):
    JOIN = "join"
    MANAGE = "manage"
    UNSUBSCRIBE = "unsubscribe"
    CONFIRM = "confirm"  # a double opt-in's: valid until the pending registration expires
    SIGN_IN = "signin"  # an organiser's one-time console sign-in (its id in place of a
    # registration's; used up in the store)


class InvalidLink(Exception):
    """Not a token we signed (tampered, truncated, another purpose, unknown key): 404."""


class ExpiredLink(Exception):
    """A genuine token past its expiry: 410."""


@dataclass(frozen=True)
class Link:
    purpose: Purpose
    registration_id: str
    session_id: str  # "" unless purpose is join
    version: int
    expires_at: datetime


@dataclass(frozen=True)
class Keys:
    active: str
    secrets: dict[str, str]

    @classmethod
    def from_secret(cls, value: dict[str, str]) -> Keys:
        secrets = {k: v for k, v in value.items() if k != "active" and v}
        active = value.get("active", "")
        if active not in secrets:
            raise ValueError("the signing-keys secret has no active key")
        return cls(active=active, secrets=secrets)


@functools.lru_cache(maxsize=64)
def _signer(key: str, purpose: Purpose) -> Signer:
    # Kept per key and purpose: building one derives its key (a hash) each time.
    return Signer(key, salt=f"majlis.link.{purpose.value}", sep=".", digest_method=hashlib.sha256)


def _minutes(moment: datetime) -> str:
    value = int(moment.timestamp() // 60)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while value:
        value, remainder = divmod(value, 36)
        text = digits[remainder] + text
    return text or "0"


def sign(keys: Keys, link: Link) -> str:
    payload = "~".join(
        [
            keys.active,
            link.registration_id,
            link.session_id,
            str(link.version),
            _minutes(link.expires_at),
        ]
    )
    return _signer(keys.secrets[keys.active], link.purpose).sign(payload).decode("ascii")


def verify(keys: Keys, purpose: Purpose, token: str, now: datetime) -> Link:
    """The link a token stands for. Raises InvalidLink or ExpiredLink."""
    if len(token) > 300 or not token.isascii():
        raise InvalidLink()
    payload, _, _signature = token.rpartition(".")
    match = _FIELDS.fullmatch(payload)
    if not match:
        raise InvalidLink()
    key_id, registration_id, session_id, version, expiry = match.groups()
    key = keys.secrets.get(key_id)
    if key is None:
        raise InvalidLink()
    try:
        _signer(key, purpose).unsign(token)
    except BadSignature:
        raise InvalidLink() from None
    if (purpose is Purpose.JOIN) != bool(session_id):
        raise InvalidLink()
    expires_at = datetime.fromtimestamp(int(expiry, 36) * 60, UTC)
    if now >= expires_at:
        raise ExpiredLink()
    return Link(purpose, registration_id, session_id, int(version), expires_at)


class StaticKeys(SigningKeys):
    """Keys given directly (tests, benchmarks)."""

    def __init__(self, keys: Keys) -> None:
        self._keys = keys

    def keys(self) -> Keys:
        return self._keys


@dataclass(frozen=True)
class RegistrationLinks:
    join: dict[str, str]  # session id -> URL
    manage: str
    unsubscribe: str
    confirm: str = ""  # a pending registration's alone


def registration_links(
    keys: Keys, base_url: str, event: Event, registration: Registration
) -> RegistrationLinks:
    """Every link one registrant's emails carry, signed with the active key."""
    base = base_url.rstrip("/")
    last_end = max(s.ends_at for s in event.sessions)

    def url(route: str, link: Link) -> str:
        return f"{base}/{route}/{sign(keys, link)}"

    def own(purpose: Purpose, session_id: str, expires_at: datetime) -> Link:
        return Link(
            purpose, registration.registration_id, session_id, registration.link_version, expires_at
        )

    join = {}
    for session_id in registration.sessions:
        session = event.session(session_id)
        if session is not None:
            join[session_id] = url(
                "join", own(Purpose.JOIN, session_id, session.ends_at + JOIN_MARGIN)
            )
    expires_at = registration.expires_at
    return RegistrationLinks(
        join=join,
        manage=url("manage", own(Purpose.MANAGE, "", last_end + MANAGE_LIFETIME)),
        unsubscribe=url(
            "unsubscribe", own(Purpose.UNSUBSCRIBE, "", last_end + UNSUBSCRIBE_LIFETIME)
        ),
        confirm=url("confirm", own(Purpose.CONFIRM, "", expires_at))
        if registration.status is Status.PENDING and expires_at
        else "",
    )
