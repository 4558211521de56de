"""Proof of work on registrations: ALTCHA challenges, made and checked (``altcha`` v2).

On an event with ``"challenge": true`` the form first fetches a challenge
(``GET /events/{id}/challenge``), the person's browser solves it (the ALTCHA widget:
PBKDF2-SHA-256 in Web Workers, about a second), and the registration carries the
solution as its ``altcha`` field. A bot that wants a thousand seats has to pay a
thousand solutions; a person pays one and sees a tick box.

A challenge is *deterministic* (altcha's own term): we draw the counter the browser has
to reach and keep an HMAC of the key it derives there in the challenge, so checking a
solution is two HMACs, no key derivation, on the request path. The parameters carry
the event, the key id and an expiry, all signed with a key derived from the signing
keys' secret (``signed_links.py``): a challenge made for one event does not open
another, and keys rotate as links' do. Each solution is good once: the registration's
own write marks it used (``usecases/limits.py``), until the challenge expires.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.errors import FieldError, Invalid
from chalicelib.signed_links import Keys

ALGORITHM = "PBKDF2/SHA-256"
# Long enough to fill in the form after the box is ticked (the widget asks anew when
# a challenge runs out on the page), short enough that used ones are soon forgotten.
LIFETIME = timedelta(minutes=20)
MAX_PAYLOAD = 4_000  # characters of base64: a real payload is about 700


@dataclass(frozen=True)
class Work:
    """What one challenge costs the browser: ``counter`` key derivations (drawn between
    half and one and a half times it) of ``cost`` PBKDF2 iterations each."""

    cost: int
    counter: int


@dataclass(frozen=True)
class Solved:
    """A solution that holds: what marks it used (its challenge's signature) and until
    when it has to stay marked."""

    signature: str
    expires_at: datetime


def _key(keys: Keys, key_id: str, use: str) -> bytes:
    return hmac.new(
        keys.secrets[key_id].encode(), f"majlis.altcha.{use}".encode(), hashlib.sha256
    ).digest()


def new_challenge(keys: Keys, event_id: str, work: Work, now: datetime) -> dict:
    """A challenge for ``event_id`` as the widget reads it (JSON)."""
    import altcha

    counter = work.counter // 2 + secrets.randbelow(work.counter + 1)
    challenge = altcha.create_challenge(
        ALGORITHM,
        work.cost,
        counter=counter,
        expires_at=int((now + LIFETIME).timestamp()),
        data={"event": event_id, "key": keys.active},
        hmac_secret=_key(keys, keys.active, "challenge"),
        hmac_key_secret=_key(keys, keys.active, "solution"),
    )
    return challenge.to_dict()


def _refused(code: str, message: str) -> Invalid:
    return Invalid([FieldError("altcha", code, message)])


def check(keys: Keys, event_id: str, payload: object, now: datetime) -> Solved:
    """The solution in a registration's ``altcha`` field, if it holds for ``event_id``
    at ``now``; raises Invalid (field ``altcha``) when it is missing, not ours, wrong or
    expired. Whether it was used already is the registration's write to find out."""
    import altcha

    if not payload:
        raise _refused("challenge_required", "Tick the box that checks you are a person.")
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD:
        raise _refused("challenge_invalid", "This check is not one we gave out.")
    try:
        parsed = altcha.Payload.from_base64(payload)
        data = parsed.challenge.parameters.data or {}
        expires = parsed.challenge.parameters.expires_at
        key_id = data.get("key")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise _refused("challenge_invalid", "This check is not one we gave out.") from None
    if not isinstance(key_id, str) or key_id not in keys.secrets or data.get("event") != event_id:
        raise _refused("challenge_invalid", "This check is not one we gave out.")
    if not isinstance(expires, int) or expires <= now.timestamp():
        raise _refused("challenge_expired", "This check has expired: tick the box again.")
    result = altcha.verify_solution(
        parsed,
        _key(keys, key_id, "challenge"),
        hmac_key_secret=_key(keys, key_id, "solution"),
    )
    if result.expired:  # altcha's own check, by the machine's clock
        raise _refused("challenge_expired", "This check has expired: tick the box again.")
    if not result.verified:
        raise _refused("challenge_invalid", "This check is not one we gave out.")
    return Solved(
        signature=str(parsed.challenge.signature),
        expires_at=datetime.fromtimestamp(expires, now.tzinfo),
    )
