"""Zoom's webhooks: verified on the request path, applied from the queue.

On the request path (Zoom waits at most 3 seconds): check the signature over the raw
body and the timestamp, answer ``endpoint.url_validation``, and record the event once
in the table (unless it lacks the fields Zoom sends: that is refused with a 400); the
table's stream puts it on the zoom queue. From the queue, events are
applied so that a duplicate, or an older event arriving late (a cancellation before its
creation), leaves the state it would have had in order: for each (meeting, registrant)
only an event newer than the last one applied changes anything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.addresses import parse_address
from chalicelib.domain.errors import Unreadable, Unsigned
from chalicelib.domain.events import Event
from chalicelib.domain.ids import new_id
from chalicelib.domain.kinds import ItemKind
from chalicelib.domain.registrations import Registration, Status
from chalicelib.domain.text import TextError, clean_text
from chalicelib.domain.zoom import on_zoom, registrant_of, sync_state_of, zoom_of
from chalicelib.ports import AlreadyRegistered, Change, Services, ZoomRegistrant, ZoomSession

TIMESTAMP_WINDOW = 300
# Identifiers of a handled event become parts of table keys (at most 2,048 bytes).
MAX_IDENTIFIER = 256
MAX_EVENT_TS = 10**15  # milliseconds: the year 33658
HANDLED = frozenset(
    f"{kind}.{action}"
    for kind in ("meeting", "webinar")
    for action in (
        "registration_created",
        "registration_approved",
        "registration_cancelled",
        "registration_denied",
        "participant_joined",
    )
)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def _seconds(timestamp: str) -> int | None:
    """Zoom's timestamp header: whole seconds in ASCII digits, else None."""
    # str.isdigit() also takes "²" and "١", and int() refuses more than 4,300 digits.
    if timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12:
        return int(timestamp)
    return None


def receive(services: Services, raw: bytes, headers: dict[str, str], now: datetime) -> Answer:
    """Verify and record one webhook; never anything slow."""
    secret = services.zoom_webhook_token()
    timestamp = headers.get("x-zm-request-timestamp", "")
    given = headers.get("x-zm-signature", "")
    sent_at = _seconds(timestamp)
    if not secret or sent_at is None or not given:
        raise Unsigned("This request is not signed by Zoom.")
    if abs(now.timestamp() - sent_at) > TIMESTAMP_WINDOW:
        raise Unsigned("This request's timestamp is too old or in the future.")
    # As bytes: compare_digest refuses text that is not ASCII.
    expected = signature(secret, timestamp, raw).encode()
    if not hmac.compare_digest(expected, given.encode("utf-8", "surrogatepass")):
        raise Unsigned("This request's signature does not match.")
    try:
        text = raw.decode("utf-8")  # what is recorded is what apply() reads back
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise Unreadable("The body is not valid JSON in UTF-8.") from None
    if not isinstance(document, dict):
        raise Unreadable("The body must be a JSON object.")
    kind = document.get("event")
    if kind == "endpoint.url_validation":
        return _validated(secret, document.get("payload"))
    if isinstance(kind, str) and kind in HANDLED:  # (a list or an object is no event name)
        if not _applicable(kind, document):
            raise Unreadable("This event does not have the fields Zoom sends with it.")
        services.zoom_store.record_webhook(_digest(raw), text, now)
    return Answer(200, {"status": "received"})


def _digest(raw: bytes) -> str:
    """What a webhook is recorded (and a resent one recognised) by."""
    return hashlib.sha256(raw).hexdigest()


def forget_queued(services: Services, changes: list[Change]) -> None:
    """The webhooks among ``changes`` are on the zoom queue now: their bodies (which may
    name a person) leave the table, their digests stay. Should the batch come again,
    the stream's records still have the bodies."""
    for change in changes:
        if change.kind() == ItemKind.ZOOM_WEBHOOK and change.event_name == "INSERT":
            digest = _digest(change.new["body"].encode("utf-8"))
            services.zoom_store.forget_webhook_body(digest, services.clock())


def _validated(secret: str, payload: Any) -> Answer:
    """The answer to Zoom's URL validation: its plain token, and our HMAC of it."""
    plain = payload.get("plainToken") if isinstance(payload, dict) else None
    if not isinstance(plain, str) or not plain.isascii():  # Zoom's is a short ASCII text
        raise Unreadable("A URL validation needs its plainToken.")
    encrypted = hmac.new(secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
    return Answer(200, {"plainToken": plain, "encryptedToken": encrypted})


def _applicable(kind: str, document: dict[str, Any]) -> bool:
    """Whether a handled event has the shape :func:`apply` reads.

    Anything else, even signed, is refused before it is recorded: once recorded, it
    would fail on the zoom queue again and again, and end among the dead letters.
    """
    payload = document.get("payload")
    subject = payload.get("object") if isinstance(payload, dict) else None
    event_ts = document.get("event_ts", 0)
    if not isinstance(subject, dict) or type(event_ts) is not int:
        return False
    role = "participant" if kind.endswith("participant_joined") else "registrant"
    person = subject.get(role) or {}
    if not 0 <= event_ts < MAX_EVENT_TS or not isinstance(person, dict):
        return False
    identifiers = [subject.get("id", "")] + [
        person.get(name, "")
        for name in ("id", "registrant_id", "email", "participant_uuid", "user_id", "join_time")
    ]
    return all(len(str(value)) <= MAX_IDENTIFIER for value in identifiers)


# -- applying them ---------------------------------------------------------------------


def _registrant(data: dict[str, Any], zoom_hosts: str) -> ZoomRegistrant:
    """The registrant a webhook names; a join URL not on ``zoom_hosts`` is not kept."""
    join_url = str(data.get("join_url") or "")
    return ZoomRegistrant(
        email=str(data.get("email") or ""),
        registrant_id=str(data.get("id") or data.get("registrant_id") or ""),
        join_url=join_url if on_zoom(join_url, zoom_hosts) else "",
    )


def _email_key(email: str) -> str | None:
    try:
        return parse_address(email).key
    except TextError:
        return None


def find_registration(
    services: Services, event_id: str, registrant: ZoomRegistrant
) -> Registration | None:
    registration_id = None
    if registrant.registrant_id:
        registration_id = services.zoom_store.registration_for_registrant(registrant.registrant_id)
    if registration_id is None and registrant.email:
        key = _email_key(registrant.email)
        registration_id = services.registrations.find_by_email(event_id, key) if key else None
    if registration_id is None:
        return None
    found = services.registrations.get(registration_id, consistent=True)
    return found if found and found.event_id == event_id else None


def _name(value: Any, fallback: str) -> str:
    try:
        return clean_text(str(value or ""), max_length=100) or fallback
    except TextError:
        return fallback


def registration_from_zoom(
    event: Event, session_id: str, person: dict[str, Any], email: str, now: datetime
) -> Registration:
    """Someone who registered in Zoom directly: ours too, for that session."""
    address = parse_address(email)
    return Registration(
        registration_id=new_id(),
        event_id=event.id,
        email=address.as_given,
        email_key=address.key,
        first_name=_name(person.get("first_name"), address.as_given.split("@")[0][:100]),
        last_name=_name(person.get("last_name"), "") or None,
        country=None,
        language=event.default_language,
        timezone=event.timezone,
        sessions=[session_id],
        clicks={session_id: {}},
        status=Status.REGISTERED,
        source="zoom",
        created_at=now,
        updated_at=now,
        mail_requested_at=now,
    )


def joined_zoom(
    services: Services,
    event: Event,
    session_id: str,
    registrant: ZoomRegistrant,
    person: dict,
    meeting: str | None = None,
) -> str:
    """A registrant exists in Zoom, in ``meeting`` (by default the session's one): make
    sure they are ours, for that session."""
    now = services.clock()
    registration = find_registration(services, event.id, registrant)
    outcome = "known"
    if registration is not None and registration.erased_at is not None:
        return "erased"  # nothing of theirs is kept again, not even from Zoom
    if registration is None:
        if not registrant.email or _email_key(registrant.email) is None:
            return "no usable email"
        fresh = registration_from_zoom(event, session_id, person, registrant.email, now)
        try:
            services.registrations.add(fresh, capacity=None)  # they hold a Zoom seat already
            registration, outcome = fresh, "created"
        except AlreadyRegistered as existing:
            registration = services.registrations.get(existing.registration_id, consistent=True)
            if registration is None:
                return "raced"
    elif registration.status is not Status.CANCELLED and session_id not in registration.sessions:
        if sync_state_of(registration, event.session(session_id)) is not None:
            # Our own add for a session the person has dropped since (its echo came
            # late; their change cancels the registrant): not a choice of theirs.
            return "dropped since"
        sessions = [s for s in event.session_ids if s in {*registration.sessions, session_id}]
        services.registrations.replace_sessions(registration.registration_id, sessions, now)
        outcome = "session added"
    session = event.session(session_id)
    known = registrant_of(registration, session)
    link = zoom_of(registration, session)
    if (
        link is not None
        and link.key == (meeting or link.key)
        and registrant.registrant_id
        and known.get("registrant_id") != registrant.registrant_id
    ):
        # (In another room's meeting than the person's own: theirs is made by the sync.)
        services.zoom_store.synced(
            registration.registration_id, {session_id: (registrant, link.key)}, now
        )
    return outcome


def left_zoom(services: Services, event: Event, session_id: str, registrant: ZoomRegistrant) -> str:
    """A registrant was cancelled or denied in Zoom: drop that session here too."""
    now = services.clock()
    registration = find_registration(services, event.id, registrant)
    if registration is None or registration.status is Status.CANCELLED:
        return "nothing to drop"
    if session_id not in registration.sessions:
        return "already dropped"
    held = registrant_of(registration, event.session(session_id)).get("registrant_id")
    if held and registrant.registrant_id and held != registrant.registrant_id:
        return "an earlier registrant: nothing to drop"  # they registered again since
    # Forget the Zoom registrant first, so the change that follows pushes nothing back.
    services.zoom_store.forget(registration.registration_id, session_id, now)
    remaining = [s for s in registration.sessions if s != session_id]
    if remaining:
        services.registrations.replace_sessions(registration.registration_id, remaining, now)
        return "session dropped"
    current = services.registrations.get(registration.registration_id, consistent=True)
    if current is not None:
        services.registrations.cancel(current, now)
    return "cancelled"


def apply(services: Services, body: str) -> str:
    """Apply one recorded webhook; returns what happened."""
    document = json.loads(body)
    kind = str(document.get("event", ""))
    payload = document.get("payload") or {}
    subject = payload.get("object") or {}
    zoom_id = str(subject.get("id", ""))
    session: ZoomSession | None = services.zoom_store.session_for(zoom_id) if zoom_id else None
    if session is None:
        return "not one of our sessions"
    event = services.events.get(session.event_id)
    ours = event.session(session.session_id) if event else None
    if event is None or ours is None:
        return "not one of our sessions"
    action = kind.split(".", 1)[-1]
    if action == "participant_joined":
        return _attendance(services, event, session.session_id, subject.get("participant") or {})
    links = {link.id: link for link in ours.zoom_links}
    if zoom_id not in links:
        # The organisers gave the session another meeting: whoever registers for the
        # earlier one or leaves it changes nothing here.
        return "an earlier meeting of the session"
    if ours.cancelled:
        return "the session is cancelled"
    person = subject.get("registrant") or {}
    registrant = _registrant(person, services.settings.zoom_join_urls)
    who = registrant.registrant_id or registrant.email.lower()
    event_ts = int(document.get("event_ts") or 0)
    if not who or not services.zoom_store.newer(zoom_id, who, event_ts, action):
        return "already applied"
    if action in ("registration_created", "registration_approved"):
        return joined_zoom(
            services, event, session.session_id, registrant, person, links[zoom_id].key
        )
    return left_zoom(services, event, session.session_id, registrant)


def _attendance(services: Services, event: Event, session_id: str, participant: dict) -> str:
    registrant = ZoomRegistrant(
        email=str(participant.get("email") or ""),
        registrant_id=str(participant.get("registrant_id") or ""),
        join_url="",
    )
    registration = None
    if registrant.registrant_id or registrant.email:
        registration = find_registration(services, event.id, registrant)
    services.zoom_store.attended(
        registration.registration_id if registration else None,
        event.id,
        session_id,
        participant,
        services.clock(),
    )
    return "attended" if registration else "attended, unmatched"
