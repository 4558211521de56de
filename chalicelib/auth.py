"""Organizer tokens: minted by the command line, stored only as SHA-256 hashes.

A token is ``mjt_`` and 43 random URL-safe characters. The table keeps its hash, the
events it may act on (or ``*``) and its roles: ``read`` (lists, stats, exports),
``send`` (campaigns) and ``admin`` (event settings, erasure). The API Gateway
authorizer resolves a bearer token to a :class:`Principal`, which travels to the route
as the authorizer context; each route then checks its event and role (403).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.errors import NoToken, NotPermitted
from chalicelib.domain.events import EVENT_ID, utc_text
from chalicelib.ports import TokenStore

ROLES = ("read", "send", "admin")
PREFIX = "mjt_"
MOST_DAYS = 366  # the longest a token minted by the command line lives


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Principal:
    token_id: str  # the first 12 hex digits of the hash: safe to log
    events: frozenset[str]
    roles: frozenset[str]

    def context(self) -> dict[str, str]:
        """As API Gateway authorizer context (string values only)."""
        return {
            "token_id": self.token_id,
            "events": ",".join(sorted(self.events)),
            "roles": ",".join(sorted(self.roles)),
        }

    @classmethod
    def from_context(cls, context: dict[str, object]) -> Principal | None:
        if not context.get("token_id"):
            return None
        return cls(
            token_id=str(context["token_id"]),
            events=frozenset(filter(None, str(context.get("events", "")).split(","))),
            roles=frozenset(filter(None, str(context.get("roles", "")).split(","))),
        )

    def allows(self, role: str, event_id: str) -> bool:
        return role in self.roles and ("*" in self.events or event_id in self.events)


def mint(
    store: TokenStore,
    events: list[str],
    roles: list[str],
    label: str,
    now: datetime,
    valid_for: timedelta | None = None,
) -> str:
    if not events or not all(e == "*" or EVENT_ID.fullmatch(e) for e in events):
        raise ValueError("events must be event ids or '*'")
    if not roles or not set(roles) <= set(ROLES):
        raise ValueError(f"roles must be among {', '.join(ROLES)}")
    if valid_for is not None and not timedelta(0) < valid_for <= timedelta(days=MOST_DAYS):
        raise ValueError(f"a token lives from a moment to {MOST_DAYS} days")
    token = PREFIX + secrets.token_urlsafe(32)
    record: dict[str, object] = {
        "events": sorted(set(events)),
        "roles": sorted(set(roles)),
        "label": label,
        "created_at": utc_text(now),
    }
    if valid_for is not None:
        record["expires_at"] = utc_text(now + valid_for)
    store.put(token_hash(token), record)
    return token


@dataclass(frozen=True)
class Listed:
    """A token as ``list-tokens`` shows it: never the token, its id (the hash's start)."""

    token_id: str
    label: str
    events: tuple[str, ...]
    roles: tuple[str, ...]
    created_at: str
    expires_at: str  # "" for a token minted before every token expired

    def expired(self, now: datetime) -> bool:
        return bool(self.expires_at) and self.expires_at <= utc_text(now)


def listed(store: TokenStore) -> list[Listed]:
    """Every token, oldest first."""
    return [_listed(digest, record) for digest, record in store.all()]


def revoke(store: TokenStore, token_id: str) -> Listed:
    """Forget the token whose id (as listed: the first 12 hex digits of its hash) is
    ``token_id``; ValueError when no token, or more than one, has it."""
    wanted = token_id.strip().lower()
    if not (len(wanted) == 12 and all(c in "0123456789abcdef" for c in wanted)):
        raise ValueError("a token id is the 12 hex digits list-tokens shows")
    matches = [(digest, record) for digest, record in store.all() if digest[:12] == wanted]
    if len(matches) > 1:
        raise ValueError(f"more than one token has the id {wanted}")
    if not matches or not store.delete(matches[0][0]):
        raise ValueError(f"no token has the id {wanted}")
    return _listed(*matches[0])


def _listed(digest: str, record: dict[str, Any]) -> Listed:
    return Listed(
        token_id=digest[:12],
        label=str(record.get("label", "")),
        events=tuple(record.get("events", [])),
        roles=tuple(record.get("roles", [])),
        created_at=str(record.get("created_at", "")),
        expires_at=str(record.get("expires_at", "")),
    )


def authenticate(store: TokenStore, authorization: str | None, now: datetime) -> Principal | None:
    """The principal behind an ``Authorization: Bearer …`` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(PREFIX) or len(token) > 100:
        return None
    digest = token_hash(token)
    record = store.get(digest)
    if record is None:
        return None
    expires_at = record.get("expires_at")
    if expires_at and str(expires_at) <= utc_text(now):
        return None
    return Principal(
        token_id=digest[:12],
        events=frozenset(record.get("events", [])),
        roles=frozenset(record.get("roles", [])),
    )


def require(principal: Principal | None, role: str, event_id: str) -> Principal:
    if principal is None:
        raise NoToken("Send an organizer token: Authorization: Bearer <token>.")
    if not principal.allows(role, event_id):
        raise NotPermitted(f"This token may not {role} for this event.")
    return principal
