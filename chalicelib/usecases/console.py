"""The organisers' console: inviting organisers, signing in by a one-time emailed link,
console sessions, and the audit trail of what organisers do.

- An admin of an event (or the command line) invites an address with a role; the
  invited organiser is emailed a sign-in link.
- Asking for a sign-in link answers the same whether or not the address may sign in;
  only an organiser's ask keeps a link's record, which the outbox emails
  (``usecases/organizermail.py``). The link is signed (``signed_links``, purpose
  ``signin``), expires after 15 minutes, and is used up by signing in.
- Signing in opens a session of 12 hours: the browser holds ``<session id>.<organizer
  key>`` in an HttpOnly cookie; the store keeps the id's hash and a CSRF token that every
  form which changes something must send back. Signing out deletes it.
- Each action is audited per event: who (the organiser's key, shortened), what, when.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.addresses import parse_address
from chalicelib.domain.errors import FieldError, Gone, Invalid, NotFound
from chalicelib.domain.events import LANGUAGES
from chalicelib.domain.ids import new_id
from chalicelib.domain.limits import Limit
from chalicelib.domain.organizers import (
    EVERY_EVENT,
    ROLES,
    SESSION_LIFETIME,
    SIGN_IN_LIFETIME,
    AuditEntry,
    ConsoleSession,
    DraftMail,
    Organizer,
    SignIn,
    organizer_key,
    secret_hash,
)
from chalicelib.domain.text import TextError
from chalicelib.ports import Counted, Services
from chalicelib.signed_links import ExpiredLink, InvalidLink, Link, Purpose, sign, verify

SIGN_INS_PER_ADDRESS = Limit("sign-ins", 20, 600)  # per client address, 10 minutes
SIGN_INS_PER_ORGANIZER = Limit("sign-ins-organizer", 5, 900)  # per address asked for


@dataclass(frozen=True)
class SignedIn:
    """A request's organiser, from its console session."""

    session: ConsoleSession
    organizer: Organizer

    @property
    def who(self) -> str:
        return f"organizer:{self.organizer.key[:12]}"

    def csrf_ok(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(str(sent), self.session.csrf)


def _address(value: object) -> str:
    """An address's key, or a 422 on ``email``."""
    if not isinstance(value, str):
        raise Invalid([FieldError("email", "required", "This field is required.")])
    try:
        return parse_address(value).key
    except TextError as error:
        raise Invalid([FieldError("email", error.code, str(error))]) from None


def invite(
    services: Services,
    event_id: str,
    email: object,
    role: str,
    by: str,
    language: str | None = None,
) -> tuple[Organizer, SignIn]:
    """Give the address ``role`` on ``event_id`` (every event: ``*``) and email them a
    sign-in link (whose record is returned). Inviting again changes the role."""
    if role not in ROLES:
        raise Invalid([FieldError("role", "invalid_role", f"One of {', '.join(ROLES)}.")])
    if event_id != EVERY_EVENT and services.events.get(event_id) is None:
        raise NotFound("There is no event with this id.")
    key_text = _address(email)
    key = organizer_key(key_text)
    known = services.organizers.organizer(key)
    if language not in LANGUAGES:
        event = services.events.get(event_id) if event_id != EVERY_EVENT else None
        language = known.language if known else (event.default_language if event else "en")
    organizer = Organizer(key=key, email=str(email).strip(), language=language)
    services.organizers.grant(organizer, event_id, role)
    now = services.clock()
    if event_id != EVERY_EVENT:
        services.organizers.audit(event_id, AuditEntry(now, by, f"invite:{role}", key[:12]))
    granted = services.organizers.organizer(key) or organizer
    link = SignIn(
        new_id(),
        key,
        known.language if known else language,
        now + SIGN_IN_LIFETIME,
        invited_by=by,
        event_id=event_id
        if event_id != EVERY_EVENT
        else granted.first_event(services.events.ids()),
    )
    services.organizers.start_sign_in(link)
    return granted, link


def revoke(services: Services, event_id: str, key: str, by: str) -> bool:
    revoked = services.organizers.revoke(key, event_id)
    if revoked:
        services.organizers.audit(event_id, AuditEntry(services.clock(), by, "revoke", key[:12]))
    return revoked


def ask_sign_in(services: Services, email: object, language: str, client: str | None) -> None:
    """Email a sign-in link if the address may sign in; the same outcome either way.

    Counted per client address and per address asked for (a 429 says so, for any
    address alike)."""
    from chalicelib.usecases import limits

    key = organizer_key(_address(email))
    now = services.clock()
    limits.count(services, SIGN_INS_PER_ADDRESS, client)
    limits.admit_all(services, [Counted(SIGN_INS_PER_ORGANIZER, key, now)])
    organizer = services.organizers.organizer(key)
    if organizer is None or not organizer.grants:
        return
    chosen = language if language in LANGUAGES else organizer.language
    sender = organizer.first_event(services.events.ids())
    services.organizers.start_sign_in(
        SignIn(new_id(), key, chosen, now + SIGN_IN_LIFETIME, event_id=sender)
    )


def sign_in_token(services: Services, sign_in: SignIn) -> str:
    """The token of a sign-in link (``/console/signin/{token}``)."""
    link = Link(Purpose.SIGN_IN, sign_in.signin_id, "", 0, sign_in.expires_at)
    return sign(services.keys.keys(), link)


def _link(services: Services, token: str, now: datetime) -> Link:
    try:
        return verify(services.keys.keys(), Purpose.SIGN_IN, token, now)
    except InvalidLink:
        raise NotFound("This sign-in link is not one of ours.") from None
    except ExpiredLink:
        raise Gone("This sign-in link has expired: ask for a new one.") from None


def check_sign_in(services: Services, token: str) -> SignIn:
    """The link's record, still usable (a GET shows the button; nothing is used up)."""
    now = services.clock()
    found = services.organizers.sign_in(_link(services, token, now).registration_id)
    if found is None or now >= found.expires_at:
        raise Gone("This sign-in link was used already: ask for a new one.")
    return found


def sign_in(services: Services, token: str) -> tuple[str, SignedIn]:
    """Use the link up and open a session: the cookie's value and the session."""
    now = services.clock()
    used = services.organizers.use_sign_in(_link(services, token, now).registration_id, now)
    if used is None:
        raise Gone("This sign-in link was used already: ask for a new one.")
    organizer = services.organizers.organizer(used.organizer_key)
    if organizer is None or not organizer.grants:
        raise Gone("This address may no longer sign in.")
    if used.language != organizer.language:
        services.organizers.set_language(organizer.key, used.language)
        organizer = organizer.with_language(used.language)
    session_id = secrets.token_urlsafe(32)
    session = ConsoleSession(
        session_hash=secret_hash(session_id),
        organizer_key=organizer.key,
        csrf=secrets.token_urlsafe(24),
        expires_at=now + SESSION_LIFETIME,
    )
    services.organizers.open_session(session)
    signed = SignedIn(session, organizer)
    for event_id in organizer.grants:
        if event_id != EVERY_EVENT:
            services.organizers.audit(event_id, AuditEntry(now, signed.who, "sign_in"))
    return f"{session_id}.{organizer.key}", signed


def signed_in(services: Services, cookie: str | None) -> SignedIn | None:
    """The organiser behind a console cookie's value, or None (none, unknown, ended)."""
    if not cookie or len(cookie) > 200 or not cookie.isascii():
        return None
    session_id, _, key = cookie.partition(".")
    if not session_id or len(key) != 32:
        return None
    found = services.organizers.session(secret_hash(session_id), key)
    if found is None or not found[0].open_at(services.clock()):
        return None
    return SignedIn(*found)


def sign_out(services: Services, signed: SignedIn) -> None:
    services.organizers.close_session(signed.session.session_hash)
    now = services.clock()
    for event_id in signed.organizer.grants:
        if event_id != EVERY_EVENT:
            services.organizers.audit(event_id, AuditEntry(now, signed.who, "sign_out"))


def choose_language(services: Services, signed: SignedIn, language: str) -> SignedIn:
    """Keep the console's language for this organiser (their emails follow it)."""
    if language not in LANGUAGES or language == signed.organizer.language:
        return signed
    services.organizers.set_language(signed.organizer.key, language)
    return SignedIn(signed.session, signed.organizer.with_language(language))


def audit(services: Services, event_id: str, signed: SignedIn, action: str, target: str) -> None:
    services.organizers.audit(event_id, AuditEntry(services.clock(), signed.who, action, target))


DRAFT_LIFETIME_HOURS = 24


def send_draft(
    services: Services,
    event_id: str,
    signed: SignedIn,
    body: dict,
    language: str,
    timezone: str,
) -> DraftMail:
    """ "Send a test to me": the draft goes to the organiser as a sample registrant of
    ``language`` in ``timezone`` would get it (checked now, sent by the mail worker)."""
    from datetime import timedelta

    from chalicelib.usecases.campaigns import preview

    preview(services, event_id, body, language, timezone)  # refuses what creating would
    now = services.clock()
    draft = DraftMail(
        new_id(),
        event_id,
        signed.organizer.key,
        {k: v for k, v in body.items() if k != "dry_run"},
        language,
        timezone,
        now + timedelta(hours=DRAFT_LIFETIME_HOURS),
    )
    services.organizers.keep_draft(draft)
    audit(services, event_id, signed, "test_mail", draft.draft_id)
    return draft
