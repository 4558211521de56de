"""The table schema: every item Majlis keeps in DynamoDB, how it is keyed, and how items
become domain objects. No key is built or parsed anywhere else.

Majlis keeps one table (``majlis``: single-table design, on demand, a stream of new and
old images, point-in-time recovery, TTL on ``expires_at_epoch``) and one small table of
rate-limit counters (``majlis-limits``: no stream, TTL). Both are defined in
``infra/resources.yaml``. Every item of the main table carries ``kind``
(:class:`~chalicelib.domain.kinds.ItemKind`), so a reader of the stream can tell items apart
without looking at their keys.

Main table (``pk`` / ``sk``)
===========================

Each item by its ``kind``; those in parentheses are counters written by updates, with
no ``kind``.

- ``event``: ``EVENT#{event}`` / ``EVENT``; ``settings`` (the Event, as JSON) and its
  ``revision`` (saves are conditional on it).
- ``seats``: ``EVENT#{event}`` / ``SEATS``; ``registered``, ``waitlisted``, ``cancelled``.
- (statistics): ``EVENT#{event}`` / ``STATS``; one number per counter (domain/stats.py).
- ``event_index``: ``EVENTINDEX`` / event id: every event (for the schedules); and
  ``EVENTS`` / event id: the events with Zoom sessions (for reconciliation).
- ``registration``: ``REG#{registration}`` / ``REG``; in ``gsi1``, and in ``gsi3``
  while waiting (below).
- ``email``: ``EVENT#{event}#EMAIL#{email key}`` / ``EMAIL``; ``registration_id``: one
  active registration per address and event.
- ``send``: ``REG#{registration}`` / ``MAIL#{seq:08d}`` (the registration's own email at
  that ``mail_seq``) or ``CAMP#{campaign}`` (a campaign's); in ``gsi2`` once SES took it.
- ``campaign``: ``CAMPAIGN#{campaign}`` / ``CAMPAIGN``; the Campaign and its checkpoint;
  in ``gsi1`` (an event's campaigns).
- ``export``: ``EXPORT#{export}`` / ``EXPORT``; TTL 8 days (the file goes after 7).
- ``token``: ``TOKEN#{sha256 of the token}`` / ``TOKEN``; events, roles, expiry.
- ``audit``: ``EVENT#{event}#AUDIT`` / ``{time}#{registration or id}``; who did what
  (erased whom, from the API; every organiser's action in the console), and nothing
  personal.
- ``organizer``: ``ORGANIZER#{organizer key}`` / ``ORGANIZER``; their address, language
  and a ``role:{event}`` per grant (``role:*``: every event): who may sign in to the
  console.
- ``organizer_grant``: ``EVENT#{event}#ORGANIZERS`` / organizer key; role and address:
  an event's organisers, one Query away.
- ``sign_in``: ``SIGNIN#{id}`` / ``SIGNIN``; whose one-time link; TTL at its expiry,
  deleted when used.
- ``console_session``: ``CONSOLE#{sha256 of the session id}`` / ``SESSION``; whose, its
  CSRF token; TTL at its expiry, deleted at sign-out.
- ``redrive``: ``REDRIVES`` / ``{time}#{id}``; an operator's request to move a
  dead-letter queue's messages back, and how many moved; TTL 30 days.
- ``draft_mail``: ``DRAFT#{id}`` / ``DRAFT``; an announcement's draft an organiser
  sends to themself (its body, language and zone); TTL a day.
- ``stats_mark``: ``STATSMARK#{stream record id}`` / ``MARK``; TTL 2 days: that change
  was counted.
- (send rate): ``SENDRATE`` / epoch second; ``used`` slots of that second; TTL 1 hour.
- ``zoom_session``: ``ZOOM#{meeting or webinar id}`` / ``SESSION``; event and session.
- ``zoom_registrant``: ``ZOOMREG#{registrant id}`` / ``REG``; registration and session.
- ``zoom_webhook``: ``ZOOMHOOK#{sha256 of its body}`` / ``HOOK``; the body until the stream
  has queued it (then only ``relayed_at``); TTL 7 days.
- (zoom seen): ``ZOOMSEEN#{zoom id}#{registrant}`` / ``SEEN``; the newest ``event_ts``
  applied; TTL 30 days.
- ``zoom_full``: ``EVENT#{event}#ZOOMFULL`` / session id: Zoom took no more registrants.
- ``zoom_setup``: ``EVENT#{event}#ZOOMSETUP`` / ``{session}#{room key}``; what applying
  the session's interpretation (``interpretation``) and speakers (``panelists``, with
  the panelists Majlis added) to that Zoom room came to.
- (room seats): ``EVENT#{event}#ROOMS`` / ``{session}#{room key}``; ``seated``, and
  ``closed_at`` once Zoom said the room was full.
- ``attendance_unmatched``: ``EVENT#{event}#ATTEND#{session}`` / participant id: a join
  that matched no registration.

Indexes
-------

- ``gsi1`` (``gsi1pk`` = ``EVENT#{event}#REG``, ``gsi1sk`` = registration id): an
  event's registrations, oldest first (ids sort by creation time), so a page's cursor
  is the id of the last registration it looked at. Also (``gsi1pk`` =
  ``EVENT#{event}#CAMPAIGNS``, ``gsi1sk`` = ``{created at}#{campaign id}``): an event's
  campaigns, oldest first. Also (``gsi1pk`` = ``TOKENS``, ``gsi1sk`` = ``{created
  at}#{hash}``): every organizer token, for the operators' ``list-tokens``.
- ``gsi2`` (``gsi2pk`` = ``SESMSG#{SES message id}``): the send record of an email SES
  accepted, for its bounce and complaint events.
- ``gsi3`` (``gsi3pk`` = ``EVENT#{event}#WAIT``, ``gsi3sk`` = registration id, or for a
  double opt-in a new id made when it was confirmed): only the registrations waiting,
  in the order they joined the list: the head of the waiting list is one Query away.
  Also (``gsi3pk`` = ``PENDING``, ``gsi3sk`` = ``{expiry, epoch seconds}#{registration}``)
  the pending registrations of every event, soonest to expire first: those expired are
  one Query away. A pending registration and its email key also carry the TTL.

On a registration itself: ``clicks.{session}`` (first and last join click),
``zoom.{session}`` (registrant id, join URL), ``zoom_sync.{session}`` (state, reason),
``zoom_tries.{session}@{day}`` (adds sent to Zoom that UTC day), ``attended.{session}``
(first join reported by Zoom) and ``attended_last.{session}`` (last),
``rooms.{session}`` (the key of the room the person is seated in).

Rate-limit table (``pk``)
=========================

``{limit}#{window start}#{hash of the client address}``: ``hits``, TTL two windows.

Stream images
=============

:func:`read_item` turns an item as stored into what a table change carries: its
attributes as plain values, plus what its keys say (``event_id``, ``session_id``,
``campaign_id``), so the stream's readers never parse a key.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib.domain.events import Event, utc_text
from chalicelib.domain.kinds import ItemKind
from chalicelib.domain.organizers import (
    AuditEntry,
    ConsoleSession,
    DraftMail,
    Organizer,
    Redrive,
    SignIn,
)
from chalicelib.domain.registrations import Registration, Status
from chalicelib.ports import Audit, CampaignEmail, Counted, EmailRef, Export

if TYPE_CHECKING:
    from chalicelib.domain.campaigns import Campaign

TTL = "expires_at_epoch"  # the attribute both tables expire items by

# Key prefixes, each written once here.
EVENT = "EVENT#"
REGISTRATION = "REG#"
CAMPAIGN = "CAMPAIGN#"
EXPORT = "EXPORT#"
TOKEN = "TOKEN#"  # noqa: S105 - a key prefix
ORGANIZER = "ORGANIZER#"
SIGN_IN = "SIGNIN#"
CONSOLE_SESSION = "CONSOLE#"
DRAFT_MAIL = "DRAFT#"
REDRIVES = "REDRIVES"
STATS_MARK = "STATSMARK#"
SEND_MAIL = "MAIL#"
SEND_CAMPAIGN = "CAMP#"
SES_MESSAGE = "SESMSG#"
ZOOM_SESSION = "ZOOM#"
ZOOM_REGISTRANT = "ZOOMREG#"
ZOOM_WEBHOOK = "ZOOMHOOK#"
ZOOM_SEEN = "ZOOMSEEN#"
EVENT_INDEX = "EVENTINDEX"
ZOOM_EVENT_INDEX = "EVENTS"
SEND_RATE = "SENDRATE"

# Index names, and the attributes of their keys.
EVENT_REGISTRATIONS_INDEX = "gsi1"
EVENT_CAMPAIGNS_INDEX = EVENT_REGISTRATIONS_INDEX  # the same index, its own partitions
TOKENS_INDEX = EVENT_REGISTRATIONS_INDEX  # and the tokens' partition
ALL_TOKENS = "TOKENS"  # gsi1pk of every token
SES_MESSAGE_INDEX = "gsi2"
WAITING_LIST_INDEX = "gsi3"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# -- values ------------------------------------------------------------------------------


def to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """Plain values (datetimes, enums, ints) as DynamoDB attribute values."""
    return {k: _serializer.serialize(_plain(v)) for k, v in values.items() if v is not None}


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values as plain values (whole numbers as ints)."""
    return {k: _native(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _native(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _native(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_native(v) for v in value]
    return value


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


# -- events ------------------------------------------------------------------------------


def event_key(event_id: str) -> dict[str, str]:
    return {"pk": f"{EVENT}{event_id}", "sk": "EVENT"}


def seats_key(event_id: str) -> dict[str, str]:
    return {"pk": f"{EVENT}{event_id}", "sk": "SEATS"}


def room_key(event_id: str, session_id: str, room: str) -> dict[str, str]:
    return {"pk": f"{EVENT}{event_id}#ROOMS", "sk": f"{session_id}#{room}"}


def rooms_query(event_id: str, session_id: str) -> dict[str, Any]:
    """A Query's arguments for the seat counters of a session's rooms."""
    return {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :session)",
        "ExpressionAttributeValues": to_attributes(
            {":pk": f"{EVENT}{event_id}#ROOMS", ":session": f"{session_id}#"}
        ),
    }


def room_in(item: dict[str, Any]) -> str:
    """The room key of a room counter item (as the table holds it)."""
    return item["sk"]["S"].split("#", 1)[1]


def stats_key(event_id: str) -> dict[str, str]:
    return {"pk": f"{EVENT}{event_id}", "sk": "STATS"}


def event_item(event: Event, now: datetime) -> dict[str, Any]:
    return {
        **event_key(event.id),
        "kind": ItemKind.EVENT,
        "settings": event.model_dump_json(),
        "revision": event.revision,  # also in the settings: this one is for conditions
        "updated_at": utc_text(now),
    }


def event_from(item: dict[str, Any]) -> Event:
    return Event.model_validate_json(from_attributes(item)["settings"], context={"stored": True})


def seats_item(event_id: str) -> dict[str, Any]:
    """A new event's seat counter."""
    return {
        **seats_key(event_id),
        "kind": ItemKind.SEATS,
        "registered": 0,
        "waitlisted": 0,
        "cancelled": 0,
    }


def event_index_item(event_id: str) -> dict[str, Any]:
    return {"pk": EVENT_INDEX, "sk": event_id, "kind": ItemKind.EVENT_INDEX}


def event_index_query() -> dict[str, Any]:
    """The key condition of the index of every event (its ids are the sort keys)."""
    return {
        "KeyConditionExpression": "pk = :index",
        "ExpressionAttributeValues": {":index": {"S": EVENT_INDEX}},
    }


def indexed_ids(items: list[dict[str, Any]]) -> list[str]:
    """The ids an index partition's items name (``EVENTINDEX``, ``EVENTS``)."""
    return [item["sk"]["S"] for item in items]


# -- registrations -----------------------------------------------------------------------


def registration_key(registration_id: str) -> dict[str, str]:
    return {"pk": f"{REGISTRATION}{registration_id}", "sk": "REG"}


def registration_of(pk: str) -> str:
    """The registration id in a registration's or a send record's partition key."""
    return pk.removeprefix(REGISTRATION)


def email_key(event_id: str, email_key_value: str) -> dict[str, str]:
    return {"pk": f"{EVENT}{event_id}#EMAIL#{email_key_value}", "sk": "EMAIL"}


def email_item(registration: Registration) -> dict[str, Any]:
    """The address's place in its event: one active registration per address."""
    item: dict[str, Any] = {
        **email_key(registration.event_id, registration.email_key),
        "kind": ItemKind.EMAIL_KEY,
        "registration_id": registration.registration_id,
    }
    if registration.status is Status.PENDING and registration.expires_at:
        item[TTL] = epoch(registration.expires_at)  # gone with the registration
    return item


def event_registrations(event_id: str) -> str:
    """``gsi1pk`` of an event's registrations."""
    return f"{EVENT}{event_id}#REG"


def waiting_list(event_id: str) -> str:
    """``gsi3pk`` of an event's waiting list."""
    return f"{EVENT}{event_id}#WAIT"


PENDING_LIST = "PENDING"  # gsi3pk of every pending registration


def pending_until(expires_at: datetime) -> str:
    """The start of a pending registration's ``gsi3sk``: its expiry, in sortable text."""
    return f"{epoch(expires_at):012d}#"


def registration_item(registration: Registration) -> dict[str, Any]:
    values = registration.model_dump()
    # A string set, added to by clicks (record_click); DynamoDB has no empty set.
    values.pop("networks")
    values.update(
        registration_key(registration.registration_id),
        kind=ItemKind.REGISTRATION,
        gsi1pk=event_registrations(registration.event_id),
        gsi1sk=registration.registration_id,
    )
    if registration.status is Status.WAITLISTED:
        # gsi3 holds only those waiting, oldest first: the head is one Query away.
        values.update(
            gsi3pk=waiting_list(registration.event_id), gsi3sk=registration.registration_id
        )
    if registration.status is Status.PENDING and registration.expires_at:
        values.update(
            gsi3pk=PENDING_LIST,
            gsi3sk=pending_until(registration.expires_at) + registration.registration_id,
            **{TTL: epoch(registration.expires_at)},
        )
    return to_attributes(values)


def registrations_in(items: list[dict[str, Any]]) -> list[str]:
    """The registration ids of an index query's items (keys alone, as gsi3 holds them)."""
    return [registration_of(item["pk"]["S"]) for item in items]


def registration_from(item: dict[str, Any]) -> Registration:
    return Registration.model_validate(from_attributes(item))


def waiting_head(items: list[dict[str, Any]]) -> str | None:
    """The registration id at the head of a gsi3 (waiting list) query's answer."""
    return registration_of(items[0]["pk"]["S"]) if items else None


def page_position(last_evaluated_key: dict[str, Any]) -> str:
    """Where a gsi1 page stopped: the id of the last registration it looked at."""
    return str(from_attributes(last_evaluated_key)["gsi1sk"])


def page_start(event_id: str, registration_id: str) -> dict[str, Any]:
    """``ExclusiveStartKey`` of a gsi1 query that resumes after this registration."""
    return to_attributes(
        {
            **registration_key(registration_id),
            "gsi1pk": event_registrations(event_id),
            "gsi1sk": registration_id,
        }
    )


def audit_item(event_id: str, registration_id: str, audit: Audit, now: datetime) -> dict:
    return {
        "pk": f"{EVENT}{event_id}#AUDIT",
        "sk": f"{utc_text(now)}#{registration_id}",
        "kind": ItemKind.AUDIT,
        "action": audit.action,
        "registration_id": registration_id,
        "by": audit.by,
        "at": utc_text(now),
    }


# -- send records ------------------------------------------------------------------------


def send_key(registration_id: str, email: EmailRef) -> dict[str, str]:
    """The send record of one email owed to a registration: its own (``mail_seq``) or a
    campaign's."""
    if isinstance(email, CampaignEmail):
        sort_key = f"{SEND_CAMPAIGN}{email.campaign_id}"
    else:
        sort_key = f"{SEND_MAIL}{email:08d}"
    return {"pk": f"{REGISTRATION}{registration_id}", "sk": sort_key}


def ses_message(message_id: str) -> str:
    """``gsi2pk`` of the send record of an email SES accepted."""
    return f"{SES_MESSAGE}{message_id}"


def send_claim_item(
    registration_id: str,
    email: EmailRef,
    kind: str,
    event_id: str,
    now: datetime,
    lease_until: datetime,
) -> dict[str, Any]:
    """A send record claimed before the SES call (``state`` sending, with its lease)."""
    return {
        **send_key(registration_id, email),
        "kind": ItemKind.SEND,
        "event_id": event_id,
        "mail_kind": kind,
        "state": "sending",
        "lease_until": lease_until,
        "claimed_at": now,
    }


def send_decided_item(
    registration_id: str, email: EmailRef, event_id: str, state: str, now: datetime
) -> dict[str, Any]:
    """A send record of an email owed but not sent (``suppressed``, ``skipped``)."""
    return {
        **send_key(registration_id, email),
        "kind": ItemKind.SEND,
        "event_id": event_id,
        "state": state,
        "decided_at": now,
    }


def registration_of_record(item: dict[str, Any]) -> str:
    """The registration a send record (as DynamoDB returned it) belongs to."""
    return registration_of(item["pk"]["S"])


def key_of(item: dict[str, Any]) -> dict[str, Any]:
    """The key of an item as DynamoDB returned it."""
    return {"pk": item["pk"], "sk": item["sk"]}


# -- campaigns, exports, tokens ----------------------------------------------------------


def campaign_key(campaign_id: str) -> dict[str, str]:
    return {"pk": f"{CAMPAIGN}{campaign_id}", "sk": "CAMPAIGN"}


def event_campaigns(event_id: str) -> str:
    """The gsi1 partition of an event's campaigns (oldest first, by creation)."""
    return f"{EVENT}{event_id}#CAMPAIGNS"


def campaign_item(campaign: Campaign) -> dict[str, Any]:
    return {
        **campaign.model_dump(mode="json", exclude_none=True),
        **campaign_key(campaign.campaign_id),
        "kind": ItemKind.CAMPAIGN,
        "gsi1pk": event_campaigns(campaign.event_id),
        # By creation, then id: reminders' and change notices' ids are derived, not timed.
        "gsi1sk": f"{utc_text(campaign.created_at)}#{campaign.campaign_id}",
    }


def campaign_from(item: dict[str, Any]) -> Campaign:
    # Imported here: campaign models are not needed on a registration's cold start.
    from chalicelib.domain.campaigns import Campaign

    return Campaign.model_validate(from_attributes(item))


EXPORT_RECORD_DAYS = 8  # export records go a day after their files (7 days)


def export_key(export_id: str) -> dict[str, str]:
    return {"pk": f"{EXPORT}{export_id}", "sk": "EXPORT"}


def export_item(export: Export, now: datetime) -> dict[str, Any]:
    return {
        **export_key(export.export_id),
        "kind": ItemKind.EXPORT,
        "export_id": export.export_id,
        "event_id": export.event_id,
        "filters": export.filters,
        "status": export.status,
        "rows": 0,
        "created_at": now,
        TTL: epoch(now) + EXPORT_RECORD_DAYS * 86400,
    }


def export_from(item: dict[str, Any]) -> Export:
    values = from_attributes(item)
    return Export(
        export_id=values["export_id"],
        event_id=values["event_id"],
        filters=values.get("filters") or {},
        status=values["status"],
        rows=int(values.get("rows", 0)),
        key=values.get("object_key", ""),
        reason=values.get("reason", ""),
    )


def token_key(token_hash: str) -> dict[str, str]:
    return {"pk": f"{TOKEN}{token_hash}", "sk": "TOKEN"}


def token_item(token_hash: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        **token_key(token_hash),
        "kind": ItemKind.TOKEN,
        **record,
        "gsi1pk": ALL_TOKENS,
        "gsi1sk": f"{record.get('created_at', '')}#{token_hash}",
    }


def token_from(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The hash and the record of a token item."""
    record = {k: v for k, v in item.items() if k not in ("pk", "sk", "kind", "gsi1pk", "gsi1sk")}
    return str(item["pk"]).removeprefix(TOKEN), record


# -- the console's organisers, sign-in links and sessions -------------------------------


def organizer_key_of(key: str) -> dict[str, str]:
    return {"pk": f"{ORGANIZER}{key}", "sk": "ORGANIZER"}


GRANT = "role:"  # an organizer's role on an event: role:{event} (role:* on every event)


def grant_attribute(event_id: str) -> str:
    return f"{GRANT}{event_id}"


def organizer_grant_key(event_id: str, key: str) -> dict[str, str]:
    return {"pk": f"{EVENT}{event_id}#ORGANIZERS", "sk": key}


def event_organizers(event_id: str) -> str:
    """The partition of an event's organisers."""
    return f"{EVENT}{event_id}#ORGANIZERS"


def organizer_grant_item(event_id: str, key: str, email: str, role: str) -> dict[str, Any]:
    return {
        **organizer_grant_key(event_id, key),
        "kind": ItemKind.ORGANIZER_GRANT,
        "email": email,
        "role": role,
    }


def read_grant(values: dict[str, Any]) -> tuple[str, str, str]:
    """An event's organiser as its list holds them: (key, address, role)."""
    return str(values["sk"]), str(values["email"]), str(values["role"])


def sign_in_key(signin_id: str) -> dict[str, str]:
    return {"pk": f"{SIGN_IN}{signin_id}", "sk": "SIGNIN"}


def sign_in_item(sign_in: SignIn) -> dict[str, Any]:
    item: dict[str, Any] = {
        **sign_in_key(sign_in.signin_id),
        "kind": ItemKind.SIGN_IN,
        "signin_id": sign_in.signin_id,
        "organizer_key": sign_in.organizer_key,
        "language": sign_in.language,
        "expires_at": utc_text(sign_in.expires_at),
        TTL: int(sign_in.expires_at.timestamp()),
    }
    if sign_in.invited_by:
        item["invited_by"] = sign_in.invited_by
    if sign_in.event_id:
        item["event_id"] = sign_in.event_id
    return item


def read_sign_in(values: dict[str, Any]) -> SignIn:
    return SignIn(
        signin_id=str(values["signin_id"]),
        organizer_key=str(values["organizer_key"]),
        language=str(values.get("language") or "en"),
        expires_at=datetime.fromisoformat(str(values["expires_at"])),
        invited_by=values.get("invited_by") or None,
        event_id=str(values.get("event_id") or ""),
        mailed=bool(values.get("mailed_at")),
    )


def console_session_key(session_hash: str) -> dict[str, str]:
    return {"pk": f"{CONSOLE_SESSION}{session_hash}", "sk": "SESSION"}


def console_session_item(session: ConsoleSession) -> dict[str, Any]:
    return {
        **console_session_key(session.session_hash),
        "kind": ItemKind.CONSOLE_SESSION,
        "organizer_key": session.organizer_key,
        "csrf": session.csrf,
        "expires_at": utc_text(session.expires_at),
        TTL: int(session.expires_at.timestamp()),
    }


def read_console_session(values: dict[str, Any]) -> ConsoleSession:
    return ConsoleSession(
        session_hash=str(values["pk"]).removeprefix(CONSOLE_SESSION),
        organizer_key=str(values["organizer_key"]),
        csrf=str(values["csrf"]),
        expires_at=datetime.fromisoformat(str(values["expires_at"])),
    )


def read_organizer(values: dict[str, Any]) -> Organizer:
    return Organizer(
        key=str(values["pk"]).removeprefix(ORGANIZER),
        email=str(values["email"]),
        language=str(values.get("language") or "en"),
        grants={
            name.removeprefix(GRANT): str(role)
            for name, role in values.items()
            if name.startswith(GRANT)
        },
    )


def draft_key(draft_id: str) -> dict[str, str]:
    return {"pk": f"{DRAFT_MAIL}{draft_id}", "sk": "DRAFT"}


def draft_item(draft: DraftMail) -> dict[str, Any]:
    return {
        **draft_key(draft.draft_id),
        "kind": ItemKind.DRAFT_MAIL,
        "draft_id": draft.draft_id,
        "event_id": draft.event_id,
        "organizer_key": draft.organizer_key,
        "body": draft.body,
        "language": draft.language,
        "timezone": draft.timezone,
        "expires_at": utc_text(draft.expires_at),
        TTL: int(draft.expires_at.timestamp()),
    }


def read_draft(values: dict[str, Any]) -> DraftMail:
    return DraftMail(
        draft_id=str(values["draft_id"]),
        event_id=str(values["event_id"]),
        organizer_key=str(values["organizer_key"]),
        body=dict(values["body"]),
        language=str(values["language"]),
        timezone=str(values["timezone"]),
        expires_at=datetime.fromisoformat(str(values["expires_at"])),
    )


def redrive_key(redrive_id: str, requested_at: datetime) -> dict[str, str]:
    return {"pk": REDRIVES, "sk": f"{utc_text(requested_at)}#{redrive_id}"}


def redrive_item(redrive: Redrive) -> dict[str, Any]:
    return {
        **redrive_key(redrive.redrive_id, redrive.requested_at),
        "kind": ItemKind.REDRIVE,
        "redrive_id": redrive.redrive_id,
        "queue": redrive.queue,
        "by": redrive.by,
        "requested_at": utc_text(redrive.requested_at),
        TTL: int((redrive.requested_at + timedelta(days=30)).timestamp()),
    }


def read_redrive(values: dict[str, Any]) -> Redrive:
    return Redrive(
        redrive_id=str(values["redrive_id"]),
        queue=str(values["queue"]),
        by=str(values.get("by") or ""),
        requested_at=datetime.fromisoformat(str(values["requested_at"])),
        moved=int(values["moved"]) if values.get("moved") is not None else None,
        failed=values.get("failed") or None,
    )


def console_audit_item(event_id: str, entry: AuditEntry, unique: str) -> dict[str, Any]:
    return {
        "pk": f"{EVENT}{event_id}#AUDIT",
        "sk": f"{utc_text(entry.at)}#{unique}",
        "kind": ItemKind.AUDIT,
        "action": entry.action,
        "by": entry.by,
        "target": entry.target,
        "at": utc_text(entry.at),
    }


def event_audit(event_id: str) -> str:
    """The partition of an event's audit trail."""
    return f"{EVENT}{event_id}#AUDIT"


def read_audit(values: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        at=datetime.fromisoformat(str(values["at"])),
        by=str(values.get("by") or ""),
        action=str(values.get("action") or ""),
        target=str(values.get("target") or values.get("registration_id") or ""),
    )


# -- statistics and the send rate ----------------------------------------------------------


STATS_MARK_DAYS = 2  # longer than a stream record lives (24 hours)


def stats_mark_item(change_id: str, now_epoch: int) -> dict[str, Any]:
    """The mark that a stream record's change was counted."""
    return {
        "pk": f"{STATS_MARK}{change_id}",
        "sk": "MARK",
        "kind": ItemKind.STATS_MARK,
        TTL: now_epoch + STATS_MARK_DAYS * 86400,
    }


SEND_RATE_KEEP_SECONDS = 3600  # slot items expire an hour after their second


def send_rate_key(second: int) -> dict[str, Any]:
    """The item whose ``used`` counter hands out one second's send slots."""
    return to_attributes({"pk": SEND_RATE, "sk": str(second)})


def send_rate_expiry(second: int) -> int:
    return second + SEND_RATE_KEEP_SECONDS


# -- Zoom --------------------------------------------------------------------------------

ZOOM_WEBHOOK_DAYS = 7
ZOOM_SEEN_DAYS = 30


def zoom_event_index_item(event_id: str) -> dict[str, Any]:
    return {"pk": ZOOM_EVENT_INDEX, "sk": event_id, "kind": ItemKind.EVENT_INDEX}


def zoom_event_index_query() -> dict[str, Any]:
    return {
        "KeyConditionExpression": "pk = :events",
        "ExpressionAttributeValues": {":events": {"S": ZOOM_EVENT_INDEX}},
    }


def zoom_session_key(zoom_id: str) -> dict[str, str]:
    return {"pk": f"{ZOOM_SESSION}{zoom_id}", "sk": "SESSION"}


def zoom_session_item(zoom_id: str, event_id: str, session_id: str) -> dict[str, Any]:
    return {
        **zoom_session_key(zoom_id),
        "kind": ItemKind.ZOOM_SESSION,
        "event_id": event_id,
        "session_id": session_id,
    }


def zoom_registrant_key(registrant_id: str) -> dict[str, str]:
    return {"pk": f"{ZOOM_REGISTRANT}{registrant_id}", "sk": "REG"}


def zoom_registrant_item(registrant_id: str, registration_id: str, session_id: str) -> dict:
    return {
        **zoom_registrant_key(registrant_id),
        "kind": ItemKind.ZOOM_REGISTRANT,
        "registration_id": registration_id,
        "session_id": session_id,
    }


def zoom_webhook_key(digest: str) -> dict[str, str]:
    return {"pk": f"{ZOOM_WEBHOOK}{digest}", "sk": "HOOK"}


def zoom_webhook_item(digest: str, body: str, now: datetime) -> dict[str, Any]:
    return {
        **zoom_webhook_key(digest),
        "kind": ItemKind.ZOOM_WEBHOOK,
        "body": body,
        "received_at": now,
        TTL: epoch(now + timedelta(days=ZOOM_WEBHOOK_DAYS)),
    }


def zoom_seen_key(zoom_id: str, subject: str) -> dict[str, str]:
    return {"pk": f"{ZOOM_SEEN}{zoom_id}#{subject}", "sk": "SEEN"}


def zoom_seen_expiry(event_ts: int) -> int:
    return event_ts // 1000 + ZOOM_SEEN_DAYS * 86400


def zoom_full_item(event_id: str, session_id: str, now: datetime) -> dict[str, Any]:
    return {
        "pk": f"{EVENT}{event_id}#ZOOMFULL",
        "sk": session_id,
        "kind": ItemKind.ZOOM_FULL,
        "at": now,
    }


def zoom_setup_key(event_id: str, session_id: str, room: str) -> dict[str, str]:
    return {"pk": f"{EVENT}{event_id}#ZOOMSETUP", "sk": f"{session_id}#{room}"}


def unmatched_attendance_item(
    event_id: str, session_id: str, who: str, user_name: str, joined: str
) -> dict[str, Any]:
    return {
        "pk": f"{EVENT}{event_id}#ATTEND#{session_id}",
        "sk": who,
        "kind": ItemKind.ATTENDANCE_UNMATCHED,
        "user_name": user_name,
        "joined_at": joined,
    }


# -- the rate-limit table ------------------------------------------------------------------


def address_hash(address: str) -> str:
    return hashlib.sha256(f"majlis-limits:{address}".encode()).hexdigest()[:32]


def limit_counter_key(counted: Counted) -> dict[str, Any]:
    start, _ = counted.limit.window(counted.now)
    return {"pk": {"S": f"{counted.limit.name}#{start}#{address_hash(counted.address)}"}}


# -- stream images -----------------------------------------------------------------------


def read_item(values: dict[str, Any]) -> dict[str, Any]:
    """An item (plain values) as a table change carries it: with what its keys say.

    ``event_id`` for an event's settings, seats, Zoom-full and unmatched attendance
    items (registrations and send records hold it already); ``session_id`` for the last
    two; ``campaign_id`` for a campaign's send records.
    """
    if not values:
        return values
    found = dict(values)
    kind, pk, sk = values.get("kind"), str(values.get("pk", "")), str(values.get("sk", ""))
    if kind in (ItemKind.EVENT, ItemKind.SEATS):
        found.setdefault("event_id", pk.removeprefix(EVENT))
    elif kind == ItemKind.ZOOM_FULL:
        found.setdefault("event_id", pk.removeprefix(EVENT).removesuffix("#ZOOMFULL"))
        found.setdefault("session_id", sk)
    elif kind == ItemKind.ATTENDANCE_UNMATCHED:
        event_id, _, session_id = pk.removeprefix(EVENT).partition("#ATTEND#")
        found.setdefault("event_id", event_id)
        found.setdefault("session_id", session_id)
    elif kind == ItemKind.SEND and sk.startswith(SEND_CAMPAIGN):
        found.setdefault("campaign_id", sk.removeprefix(SEND_CAMPAIGN))
    return found


def image(attributes: dict[str, Any]) -> dict[str, Any]:
    """A stream record's image (DynamoDB attribute values) as :func:`read_item` gives it."""
    return read_item(from_attributes(attributes))
