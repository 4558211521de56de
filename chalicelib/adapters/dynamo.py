"""The DynamoDB table: Majlis's one table and its key scheme.

===================  ===============================  ==========  =====================
item                 pk                               sk          index keys
===================  ===============================  ==========  =====================
event settings       ``EVENT#{event}``                ``EVENT``
event seat counter   ``EVENT#{event}``                ``SEATS``
registration         ``REG#{registration}``           ``REG``     gsi1: ``EVENT#{event}#REG``
                                                                  / registration id;
                                                                  gsi3 (waiting only):
                                                                  ``EVENT#{event}#WAIT``
email key (unique)   ``EVENT#{event}#EMAIL#{key}``    ``EMAIL``
email owed (log)     ``REG#{registration}``           ``MAIL#{n}``  gsi2: ``SESMSG#{id}``
organizer token      ``TOKEN#{sha256}``               ``TOKEN``
===================  ===============================  ==========  =====================

Every item carries ``kind`` so that the stream handler can tell them apart. Registration
ids sort by creation time, so ``gsi1`` pages through an event oldest first and a
cursor is simply the id of the last registration a page looked at.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.adapters.aws import client, error_code
from chalicelib.adapters.limits import counter_update
from chalicelib.domain.events import Event, utc_text
from chalicelib.domain.ids import is_id
from chalicelib.domain.registrations import (
    EmailStatus,
    Registration,
    RegistrationFilter,
    Status,
)
from chalicelib.ports import (
    AlreadyRegistered,
    CampaignStore,
    ClickRefused,
    Counted,
    EventStore,
    Export,
    ExportStore,
    OverLimit,
    Page,
    RegistrationStore,
    SeatsChanged,
    SendClaim,
    SendLog,
    StatsStore,
    StoreBusy,
    TokenStore,
)

if TYPE_CHECKING:
    from chalicelib.domain.campaigns import Campaign

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

CONFLICT_RETRIES = 4
MAX_QUERIES_PER_PAGE = 20


def event_key(event_id: str) -> dict[str, str]:
    return {"pk": f"EVENT#{event_id}", "sk": "EVENT"}


def seats_key(event_id: str) -> dict[str, str]:
    return {"pk": f"EVENT#{event_id}", "sk": "SEATS"}


def registration_key(registration_id: str) -> dict[str, str]:
    return {"pk": f"REG#{registration_id}", "sk": "REG"}


def email_key(event_id: str, key: str) -> dict[str, str]:
    return {"pk": f"EVENT#{event_id}#EMAIL#{key}", "sk": "EMAIL"}


def send_key(registration_id: str, seq: int | str) -> dict[str, str]:
    """A send record: ``seq`` is the registration's mail sequence number, or the key of
    another email (``CAMP#{campaign id}``)."""
    sort_key = f"MAIL#{seq:08d}" if isinstance(seq, int) else seq
    return {"pk": f"REG#{registration_id}", "sk": sort_key}


def token_key(token_hash: str) -> dict[str, str]:
    return {"pk": f"TOKEN#{token_hash}", "sk": "TOKEN"}


def event_registrations(event_id: str) -> str:
    return f"EVENT#{event_id}#REG"


def to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_plain(v)) for k, v in values.items() if v is not None}


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _native(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, Status):
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


def waiting_list(event_id: str) -> str:
    return f"EVENT#{event_id}#WAIT"


def registration_item(registration: Registration) -> dict[str, Any]:
    values = registration.model_dump()
    values.update(
        registration_key(registration.registration_id),
        kind="registration",
        gsi1pk=event_registrations(registration.event_id),
        gsi1sk=registration.registration_id,
    )
    if registration.status is Status.WAITLISTED:
        # gsi3 holds only those waiting, oldest first: the head is one Query away.
        values.update(
            gsi3pk=waiting_list(registration.event_id), gsi3sk=registration.registration_id
        )
    return to_attributes(values)


def registration_from(item: dict[str, Any]) -> Registration:
    return Registration.model_validate(from_attributes(item))


def _reasons(error: ClientError) -> list[dict[str, Any]]:
    return error.response.get("CancellationReasons") or []


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.02 * 2**attempt))


class Table:
    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def db(self) -> Any:
        return client("dynamodb")


class DynamoEventStore(Table, EventStore):
    def get(self, event_id: str, fresh: bool = False) -> Event | None:
        item = self.db.get_item(TableName=self.name, Key=to_attributes(event_key(event_id))).get(
            "Item"
        )
        if not item:
            return None
        return Event.model_validate_json(from_attributes(item)["settings"])

    def put(self, event: Event, now: datetime) -> bool:
        stamp = utc_text(now)
        response = self.db.put_item(
            TableName=self.name,
            Item=to_attributes(
                {
                    **event_key(event.id),
                    "kind": "event",
                    "settings": event.model_dump_json(),
                    "updated_at": stamp,
                }
            ),
            ReturnValues="ALL_OLD",
        )
        try:
            self.db.put_item(
                TableName=self.name,
                Item=to_attributes(
                    {
                        **seats_key(event.id),
                        "kind": "seats",
                        "registered": 0,
                        "waitlisted": 0,
                        "cancelled": 0,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
        self.db.put_item(
            TableName=self.name,
            Item=to_attributes({"pk": "EVENTINDEX", "sk": event.id, "kind": "event_index"}),
        )
        return "Attributes" not in response

    def ids(self) -> list[str]:
        found = []
        for page in self.db.get_paginator("query").paginate(
            TableName=self.name,
            KeyConditionExpression="pk = :index",
            ExpressionAttributeValues={":index": {"S": "EVENTINDEX"}},
        ):
            found += [item["sk"]["S"] for item in page["Items"]]
        return found


class CachedEventStore(EventStore):
    """Keeps each event for a few seconds, so the registration path makes one call."""

    def __init__(self, inner: EventStore, seconds: float) -> None:
        self._inner = inner
        self._seconds = seconds
        self._cache: dict[str, tuple[float, Event | None]] = {}

    def get(self, event_id: str, fresh: bool = False) -> Event | None:
        hit = self._cache.get(event_id)
        if hit and not fresh and time.monotonic() - hit[0] < self._seconds:
            return hit[1]
        event = self._inner.get(event_id)
        self._cache[event_id] = (time.monotonic(), event)
        return event

    def ids(self) -> list[str]:
        return self._inner.ids()

    def put(self, event: Event, now: datetime) -> bool:
        created = self._inner.put(event, now)
        self._cache.pop(event.id, None)
        return created


class DynamoRegistrationStore(Table, RegistrationStore):
    def __init__(self, name: str, limits_table: str = "") -> None:
        super().__init__(name)
        self.limits_table = limits_table

    def add(
        self, registration: Registration, capacity: int | None, counted: Counted | None = None
    ) -> None:
        seat = "registered" if registration.status is Status.REGISTERED else "waitlisted"
        update: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_attributes(seats_key(registration.event_id)),
            "UpdateExpression": f"ADD {seat} :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if capacity is not None:
            # The seat rule of chalicelib.domain.registrations.seat_free, and its negation.
            update["ConditionExpression"] = (
                "registered < :cap AND waitlisted = :zero"
                if seat == "registered"
                else "registered >= :cap OR waitlisted > :zero"
            )
            update["ExpressionAttributeValues"].update(
                {":cap": {"N": str(capacity)}, ":zero": {"N": "0"}}
            )
        elif seat == "waitlisted":
            raise SeatsChanged()
        items = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": registration_item(registration),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self.name,
                    "Item": to_attributes(
                        {
                            **email_key(registration.event_id, registration.email_key),
                            "kind": "email",
                            "registration_id": registration.registration_id,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {"Update": update},
        ]
        if counted is not None:  # the rate limit, counted in the same write
            items.append({"Update": counter_update(self.limits_table, counted)})
        for attempt in range(CONFLICT_RETRIES):
            try:
                self.db.transact_write_items(TransactItems=items)
                return
            except ClientError as error:
                code = error_code(error)
                if code != "TransactionCanceledException":
                    if code in ("ProvisionedThroughputExceededException", "ThrottlingException"):
                        raise StoreBusy() from error
                    raise
                reasons = _reasons(error)
                codes = [r.get("Code") for r in reasons]
                if len(codes) == len(items) and codes[1] == "ConditionalCheckFailed":
                    existing = from_attributes(reasons[1].get("Item") or {})
                    raise AlreadyRegistered(existing["registration_id"]) from None
                if len(codes) == 4 and codes[3] == "ConditionalCheckFailed":
                    raise OverLimit() from None
                if len(codes) == len(items) and codes[2] == "ConditionalCheckFailed":
                    raise SeatsChanged() from None
                if "TransactionConflict" in codes or "ThrottlingError" in codes:
                    _backoff(attempt)
                    continue
                raise
        raise StoreBusy()

    def get(self, registration_id: str, consistent: bool = False) -> Registration | None:
        item = self.db.get_item(
            TableName=self.name,
            Key=to_attributes(registration_key(registration_id)),
            ConsistentRead=consistent,
        ).get("Item")
        return registration_from(item) if item else None

    def get_many(self, registration_ids: list[str]) -> dict[str, Registration]:
        found: dict[str, Registration] = {}
        ids = list(dict.fromkeys(registration_ids))
        for start in range(0, len(ids), 100):  # BatchGetItem takes 100 keys
            request = {
                self.name: {
                    "Keys": [to_attributes(registration_key(i)) for i in ids[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            for attempt in range(CONFLICT_RETRIES * 2):
                answer = self.db.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.name, []):
                    registration = registration_from(item)
                    found[registration.registration_id] = registration
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                _backoff(attempt)
            else:
                raise StoreBusy()
        return found

    def request_mail(
        self, registration_id: str, reason: str, now: datetime, not_since: datetime
    ) -> Status | None:
        try:
            response = self.db.update_item(
                TableName=self.name,
                Key=to_attributes(registration_key(registration_id)),
                UpdateExpression=(
                    "SET mail_seq = mail_seq + :one, mail_reason = :reason, "
                    "mail_requested_at = :now"
                ),
                ConditionExpression=(
                    "attribute_exists(pk) AND #status <> :cancelled "
                    "AND mail_requested_at <= :not_since"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_attributes(
                    {
                        ":one": 1,
                        ":reason": reason,
                        ":now": now,
                        ":cancelled": Status.CANCELLED,
                        ":not_since": not_since,
                    }
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return Status(from_attributes(response["Attributes"])["status"])
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old = error.response.get("Item")
            if not old:
                return None
            status = Status(from_attributes(old)["status"])
            return None if status is Status.CANCELLED else status

    def _release(self, current: Registration) -> list[dict[str, Any]]:
        """Transaction items that give up an active registration's email key (the address
        may register again) and its place in the seat counter."""
        seat = "registered" if current.status is Status.REGISTERED else "waitlisted"
        return [
            {
                "Delete": {
                    "TableName": self.name,
                    "Key": to_attributes(email_key(current.event_id, current.email_key)),
                }
            },
            {
                "Update": {
                    "TableName": self.name,
                    "Key": to_attributes(seats_key(current.event_id)),
                    "UpdateExpression": f"ADD {seat} :minus, cancelled :one",
                    "ExpressionAttributeValues": to_attributes({":minus": -1, ":one": 1}),
                }
            },
        ]

    def cancel(self, registration: Registration, now: datetime) -> Registration:
        current: Registration | None = registration
        for attempt in range(CONFLICT_RETRIES):
            if current is None or current.status is Status.CANCELLED:
                return current  # type: ignore[return-value]
            seat = "registered" if current.status is Status.REGISTERED else "waitlisted"
            items = [
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": to_attributes(registration_key(current.registration_id)),
                        "UpdateExpression": (
                            "SET #status = :cancelled, link_version = link_version + :one, "
                            "mail_seq = mail_seq + :one, mail_reason = :cancelled, "
                            "mail_requested_at = :now, updated_at = :now, cancelled_at = :now, "
                            "calendar_cancel = :calendar REMOVE gsi3pk, gsi3sk"
                        ),
                        "ConditionExpression": "#status = :was",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": to_attributes(
                            {
                                ":cancelled": Status.CANCELLED,
                                ":one": 1,
                                ":now": now,
                                ":was": current.status,
                                # Only a registered person holds calendar entries.
                                ":calendar": current.sessions if seat == "registered" else [],
                            }
                        ),
                    }
                },
                *self._release(current),
            ]
            try:
                self.db.transact_write_items(TransactItems=items)
            except ClientError as error:
                if error_code(error) != "TransactionCanceledException":
                    raise
                _backoff(attempt)
                current = self.get(current.registration_id, consistent=True)
                continue
            return self.get(current.registration_id, consistent=True)  # type: ignore[return-value]
        raise StoreBusy()

    def erase(self, registration: Registration, audit: dict[str, Any], now: datetime) -> None:
        current: Registration | None = registration
        for attempt in range(CONFLICT_RETRIES):
            if current is None or current.erased_at is not None:
                return
            active = current.status is not Status.CANCELLED
            # Zoom keeps only the registrant ids (to cancel them there), no join URLs.
            zoom = {
                s: {"registrant_id": z["registrant_id"]}
                for s, z in current.zoom.items()
                if z.get("registrant_id")
            }
            items: list[dict[str, Any]] = [
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": to_attributes(registration_key(current.registration_id)),
                        "UpdateExpression": (
                            "SET #status = :cancelled, email = :blank, email_key = :blank, "
                            "first_name = :blank, last_name = :blank, zoom = :zoom, "
                            "link_version = link_version + :one, mail_reason = :erased, "
                            "updated_at = :now, erased_at = :now REMOVE gsi3pk, gsi3sk"
                        ),
                        "ConditionExpression": "#status = :was AND attribute_not_exists(erased_at)",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": to_attributes(
                            {
                                ":cancelled": Status.CANCELLED,
                                ":blank": "",
                                ":zoom": zoom,
                                ":one": 1,
                                ":erased": "erased",
                                ":now": now,
                                ":was": current.status,
                            }
                        ),
                    }
                },
                {"Put": {"TableName": self.name, "Item": to_attributes(audit)}},
            ]
            if active:
                items += self._release(current)
            try:
                self.db.transact_write_items(TransactItems=items)
                return
            except ClientError as error:
                if error_code(error) != "TransactionCanceledException":
                    raise
                _backoff(attempt)
                current = self.get(current.registration_id, consistent=True)
        raise StoreBusy()

    def promote_next(
        self, event_id: str, capacity: int | None, now: datetime
    ) -> Registration | None:
        for attempt in range(CONFLICT_RETRIES):
            head = self.db.query(
                TableName=self.name,
                IndexName="gsi3",
                KeyConditionExpression="gsi3pk = :wait",
                ExpressionAttributeValues={":wait": {"S": waiting_list(event_id)}},
                Limit=1,
            ).get("Items", [])
            if not head:
                return None
            registration_id = head[0]["gsi3sk"]["S"]
            seats: dict[str, Any] = {
                "TableName": self.name,
                "Key": to_attributes(seats_key(event_id)),
                "UpdateExpression": "ADD registered :one, waitlisted :minus",
                "ExpressionAttributeValues": to_attributes({":one": 1, ":minus": -1}),
            }
            if capacity is not None:
                seats["ConditionExpression"] = "registered < :cap"
                seats["ExpressionAttributeValues"][":cap"] = {"N": str(capacity)}
            try:
                self.db.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": self.name,
                                "Key": to_attributes(registration_key(registration_id)),
                                "UpdateExpression": (
                                    "SET #status = :registered, mail_seq = mail_seq + :one, "
                                    "mail_reason = :promoted, mail_requested_at = :now, "
                                    "updated_at = :now REMOVE gsi3pk, gsi3sk"
                                ),
                                "ConditionExpression": "#status = :waitlisted",
                                "ExpressionAttributeNames": {"#status": "status"},
                                "ExpressionAttributeValues": to_attributes(
                                    {
                                        ":registered": Status.REGISTERED,
                                        ":waitlisted": Status.WAITLISTED,
                                        ":promoted": "promoted",
                                        ":one": 1,
                                        ":now": now,
                                    }
                                ),
                            }
                        },
                        {"Update": seats},
                    ]
                )
            except ClientError as error:
                if error_code(error) != "TransactionCanceledException":
                    raise
                codes = [r.get("Code") for r in _reasons(error)]
                if len(codes) == 2 and codes[1] == "ConditionalCheckFailed":
                    return None  # no free seat
                _backoff(attempt)  # the head moved (promoted or cancelled): look again
                continue
            return self.get(registration_id, consistent=True)
        raise StoreBusy()

    def change(
        self,
        registration: Registration,
        changes: dict[str, Any],
        dropped: list[str],
        now: datetime,
    ) -> Registration:
        values: dict[str, Any] = {
            ":now": now,
            ":one": 1,
            ":updated": "updated",
            ":cancelled": Status.CANCELLED,
            ":version": registration.link_version,
            ":calendar": dropped,
        }
        names = {"#status": "status"}
        sets = [
            "updated_at = :now",
            "mail_seq = mail_seq + :one",
            "mail_reason = :updated",
            "mail_requested_at = :now",
            "calendar_cancel = :calendar",
        ]
        for i, (field, value) in enumerate(sorted(changes.items())):
            names[f"#f{i}"] = field
            values[f":v{i}"] = value
            sets.append(f"#f{i} = :v{i}")
        if changes.get("sessions"):
            values[":empty"] = {}
        for i, session_id in enumerate(changes.get("sessions", [])):
            names[f"#s{i}"] = session_id
            sets.append(f"clicks.#s{i} = if_not_exists(clicks.#s{i}, :empty)")
        try:
            response = self.db.update_item(
                TableName=self.name,
                Key=to_attributes(registration_key(registration.registration_id)),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="#status <> :cancelled AND link_version = :version",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_attributes(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise StoreBusy() from None
            raise
        return registration_from(response["Attributes"])

    def find_by_email(self, event_id: str, email_key_value: str) -> str | None:
        item = self.db.get_item(
            TableName=self.name, Key=to_attributes(email_key(event_id, email_key_value))
        ).get("Item")
        return item["registration_id"]["S"] if item else None

    def replace_sessions(
        self, registration_id: str, sessions: list[str], now: datetime
    ) -> Registration | None:
        names = {"#status": "status"}
        values: dict[str, Any] = {
            ":sessions": sessions,
            ":now": now,
            ":cancelled": Status.CANCELLED,
            ":empty": {},
        }
        sets = ["sessions = :sessions", "updated_at = :now"]
        for i, session_id in enumerate(sessions):
            names[f"#s{i}"] = session_id
            sets.append(f"clicks.#s{i} = if_not_exists(clicks.#s{i}, :empty)")
        try:
            response = self.db.update_item(
                TableName=self.name,
                Key=to_attributes(registration_key(registration_id)),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="attribute_exists(pk) AND #status <> :cancelled",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_attributes(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return registration_from(response["Attributes"])

    def unsubscribe(self, registration_id: str, now: datetime) -> Registration | None:
        key = to_attributes(registration_key(registration_id))
        try:
            response = self.db.update_item(
                TableName=self.name,
                Key=key,
                UpdateExpression=(
                    "SET updates = :false, email_status = :unsubscribed, unsubscribed_at = :now"
                ),
                ConditionExpression="attribute_exists(pk) AND email_status IN (:ok, :unsubscribed)",
                ExpressionAttributeValues=to_attributes(
                    {
                        ":false": False,
                        ":unsubscribed": EmailStatus.UNSUBSCRIBED,
                        ":ok": EmailStatus.OK,
                        ":now": now,
                    }
                ),
                ReturnValues="ALL_NEW",
            )
            return registration_from(response["Attributes"])
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
        # Bounced or complained: those stay, announcements stop all the same.
        try:
            response = self.db.update_item(
                TableName=self.name,
                Key=key,
                UpdateExpression="SET updates = :false, unsubscribed_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_attributes({":false": False, ":now": now}),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return registration_from(response["Attributes"])

    def set_email_status(self, registration_id: str, status: EmailStatus, now: datetime) -> None:
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(registration_key(registration_id)),
                UpdateExpression="SET email_status = :status, email_status_at = :now",
                ConditionExpression="attribute_exists(pk) AND email_status <> :complained",
                ExpressionAttributeValues=to_attributes(
                    {":status": status, ":now": now, ":complained": EmailStatus.COMPLAINED}
                ),
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def count_soft_bounce(self, registration_id: str, now: datetime) -> None:
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(registration_key(registration_id)),
                UpdateExpression="ADD soft_bounces :one SET last_soft_bounce_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_attributes({":one": 1, ":now": now}),
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def record_click(
        self, registration_id: str, session_id: str, version: int, now: datetime
    ) -> Registration:
        try:
            response = self.db.update_item(
                TableName=self.name,
                Key=to_attributes(registration_key(registration_id)),
                UpdateExpression=(
                    "SET clicks.#session.#first = if_not_exists(clicks.#session.#first, :now), "
                    "clicks.#session.#last = :now"
                ),
                ConditionExpression=(
                    "attribute_exists(clicks.#session) AND link_version = :version "
                    "AND #status = :registered AND contains(sessions, :session)"
                ),
                ExpressionAttributeNames={
                    "#session": session_id,
                    "#first": "first",
                    "#last": "last",
                    "#status": "status",
                },
                ExpressionAttributeValues=to_attributes(
                    {
                        ":now": now,
                        ":version": version,
                        ":registered": Status.REGISTERED,
                        ":session": session_id,
                    }
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old = error.response.get("Item")
            raise ClickRefused(registration_from(old) if old else None) from None
        return registration_from(response["Attributes"])

    def page(
        self, event_id: str, where: RegistrationFilter, limit: int, cursor: str | None
    ) -> Page:
        if cursor is not None and not is_id(cursor):
            raise ValueError("cursor")
        query: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :event",
            "ExpressionAttributeValues": {":event": {"S": event_registrations(event_id)}},
        }
        filter_expression = _filter_expression(where, query)
        if filter_expression:
            query["FilterExpression"] = filter_expression
        items: list[Registration] = []
        position = cursor
        for _ in range(MAX_QUERIES_PER_PAGE):
            if position:
                query["ExclusiveStartKey"] = to_attributes(
                    {
                        **registration_key(position),
                        "gsi1pk": event_registrations(event_id),
                        "gsi1sk": position,
                    }
                )
            query["Limit"] = limit - len(items)
            response = self.db.query(**query)
            for item in response.get("Items", []):
                items.append(registration_from(item))
            last = response.get("LastEvaluatedKey")
            if not last:
                return Page(items, None)
            position = from_attributes(last)["gsi1sk"]
            if len(items) >= limit:
                break
        return Page(items, position)


def _filter_expression(where: RegistrationFilter, query: dict[str, Any]) -> str:
    names: dict[str, str] = {}
    values: dict[str, Any] = query["ExpressionAttributeValues"]
    clauses = []
    for attribute, wanted in (
        ("status", where.status),
        ("language", where.languages),
        ("country", where.countries),
    ):
        if wanted:
            names[f"#{attribute}"] = attribute
            placeholders = []
            for i, value in enumerate(sorted(wanted)):
                values[f":{attribute}{i}"] = {"S": str(value)}
                placeholders.append(f":{attribute}{i}")
            clauses.append(f"#{attribute} IN ({', '.join(placeholders)})")
    if where.sessions:
        parts = []
        for i, session_id in enumerate(sorted(where.sessions)):
            values[f":session{i}"] = {"S": session_id}
            parts.append(f"contains(sessions, :session{i})")
        clauses.append(f"({' OR '.join(parts)})")
    if names:
        query["ExpressionAttributeNames"] = names
    return " AND ".join(clauses)


class DynamoSendLog(Table, SendLog):
    def __init__(self, name: str, lease_seconds: int) -> None:
        super().__init__(name)
        self._lease = timedelta(seconds=lease_seconds)

    def claim(
        self, registration_id: str, seq: int | str, kind: str, now: datetime, event_id: str = ""
    ) -> SendClaim:
        try:
            self.db.put_item(
                TableName=self.name,
                Item=to_attributes(
                    {
                        **send_key(registration_id, seq),
                        "kind": "send",
                        "event_id": event_id,
                        "mail_kind": kind,
                        "state": "sending",
                        "lease_until": now + self._lease,
                        "claimed_at": now,
                    }
                ),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (#state = :sending AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_attributes({":sending": "sending", ":now": now}),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return SendClaim(proceed=True)
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old = from_attributes(error.response.get("Item") or {})
            return SendClaim(proceed=False, in_progress=old.get("state") == "sending")

    def sent(self, registration_id: str, seq: int | str, message_id: str, now: datetime) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(send_key(registration_id, seq)),
            UpdateExpression=(
                "SET #state = :sent, ses_message_id = :id, gsi2pk = :msg, sent_at = :now "
                "REMOVE lease_until"
            ),
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=to_attributes(
                {":sent": "sent", ":id": message_id, ":msg": f"SESMSG#{message_id}", ":now": now}
            ),
        )

    def failed(self, registration_id: str, seq: int | str, reason: str, now: datetime) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(send_key(registration_id, seq)),
            UpdateExpression="SET #state = :failed, reason = :reason, failed_at = :now "
            "REMOVE lease_until",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=to_attributes(
                {":failed": "failed", ":reason": reason[:500], ":now": now}
            ),
        )

    def _record_of(self, message_id: str) -> dict[str, Any] | None:
        found = self.db.query(
            TableName=self.name,
            IndexName="gsi2",
            KeyConditionExpression="gsi2pk = :message",
            ExpressionAttributeValues={":message": {"S": f"SESMSG#{message_id}"}},
            Limit=1,
        ).get("Items", [])
        return found[0] if found else None

    def registration_for(self, message_id: str) -> str | None:
        record = self._record_of(message_id)
        return record["pk"]["S"].removeprefix("REG#") if record else None

    def confirm(self, registration_id: str, seq: int | str, message_id: str, now: datetime) -> None:
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(send_key(registration_id, seq)),
                UpdateExpression=(
                    "SET #state = :sent, ses_message_id = :id, gsi2pk = :msg, sent_at = :now "
                    "REMOVE lease_until"
                ),
                ConditionExpression="#state = :sending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=to_attributes(
                    {
                        ":sent": "sent",
                        ":sending": "sending",
                        ":id": message_id,
                        ":msg": f"SESMSG#{message_id}",
                        ":now": now,
                    }
                ),
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def not_sent(
        self, registration_id: str, seq: int | str, event_id: str, state: str, now: datetime
    ) -> None:
        try:
            self.db.put_item(
                TableName=self.name,
                Item=to_attributes(
                    {
                        **send_key(registration_id, seq),
                        "kind": "send",
                        "event_id": event_id,
                        "state": state,
                        "decided_at": now,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def outcome(self, message_id: str, outcome: str, now: datetime) -> str | None:
        record = self._record_of(message_id)
        if record is None:
            return None
        self.db.update_item(
            TableName=self.name,
            Key={"pk": record["pk"], "sk": record["sk"]},
            UpdateExpression="SET #outcome = :yes, #at = if_not_exists(#at, :now)",
            ExpressionAttributeNames={"#outcome": outcome, "#at": f"{outcome}_at"},
            ExpressionAttributeValues=to_attributes({":yes": True, ":now": now}),
        )
        return str(record["pk"]["S"]).removeprefix("REG#")

    def release(self, registration_id: str, seq: int | str) -> None:
        try:
            self.db.delete_item(
                TableName=self.name,
                Key=to_attributes(send_key(registration_id, seq)),
                ConditionExpression="#state = :sending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":sending": {"S": "sending"}},
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise


class DynamoTokenStore(Table, TokenStore):
    def put(self, token_hash: str, record: dict[str, Any]) -> None:
        self.db.put_item(
            TableName=self.name,
            Item=to_attributes({**token_key(token_hash), "kind": "token", **record}),
        )

    def get(self, token_hash: str) -> dict[str, Any] | None:
        item = self.db.get_item(TableName=self.name, Key=to_attributes(token_key(token_hash))).get(
            "Item"
        )
        return from_attributes(item) if item else None


STATS_MARK_DAYS = 2  # longer than a stream record lives (24 hours)
STATS_CHUNK = 99  # a transaction holds 100 items: the counters and 99 change marks


def stats_key(event_id: str) -> dict[str, str]:
    return {"pk": f"EVENT#{event_id}", "sk": "STATS"}


class DynamoStatsStore(Table, StatsStore):
    """Counters on one item per event. Each change is counted in the same transaction
    that writes a mark keyed by its stream record id, on condition that the mark is new:
    a batch delivered again adds nothing twice."""

    def apply(self, event_id: str, changes: list[tuple[str, dict[str, int]]]) -> int:
        counted = 0
        for start in range(0, len(changes), STATS_CHUNK):
            counted += self._apply_chunk(event_id, changes[start : start + STATS_CHUNK])
        return counted

    def _apply_chunk(self, event_id: str, pending: list[tuple[str, dict[str, int]]]) -> int:
        conflicts = 0
        while pending:
            try:
                self.db.transact_write_items(TransactItems=self._items(event_id, pending))
                return len(pending)
            except ClientError as error:
                code = error_code(error)
                codes = [r.get("Code") for r in _reasons(error)]
            if code == "TransactionCanceledException" and "ConditionalCheckFailed" in codes:
                # Those marks exist: their changes were counted. Count the others.
                pending = [
                    c
                    for c, why in zip(pending, codes, strict=False)
                    if why != "ConditionalCheckFailed"
                ]
                continue
            if conflicts >= CONFLICT_RETRIES:
                raise StoreBusy()
            _backoff(conflicts)  # contended counters, throttling: try again shortly
            conflicts += 1
        return 0

    def _items(self, event_id: str, changes: list[tuple[str, dict[str, int]]]) -> list[dict]:
        total: dict[str, int] = {"changes": len(changes)}
        for _, moves in changes:
            for name, count in moves.items():
                total[name] = total.get(name, 0) + count
        names = {f"#c{index}": name for index, name in enumerate(total)}
        values = {f":c{index}": count for index, count in enumerate(total.values())}
        expires = int(time.time()) + STATS_MARK_DAYS * 86400
        marks = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": to_attributes(
                        {
                            "pk": f"STATSMARK#{change_id}",
                            "sk": "MARK",
                            "kind": "stats_mark",
                            "expires_at_epoch": expires,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for change_id, _ in changes
        ]
        adds = ", ".join(f"{name} {value}" for name, value in zip(names, values, strict=True))
        counters = {
            "Update": {
                "TableName": self.name,
                "Key": to_attributes(stats_key(event_id)),
                "UpdateExpression": f"ADD {adds}",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_attributes(values),
            }
        }
        return [*marks, counters]

    def read(self, event_id: str) -> dict[str, int]:
        item = self.db.get_item(
            TableName=self.name, Key=to_attributes(stats_key(event_id)), ConsistentRead=True
        ).get("Item")
        values = from_attributes(item or {})
        return {
            name: value
            for name, value in values.items()
            if name not in ("pk", "sk", "changes") and isinstance(value, int)
        }


def campaign_key(campaign_id: str) -> dict[str, str]:
    return {"pk": f"CAMPAIGN#{campaign_id}", "sk": "CAMPAIGN"}


def _campaign(item: dict[str, Any]) -> Campaign:
    # Imported here: campaign models are not needed on a registration's cold start.
    from chalicelib.domain.campaigns import Campaign

    return Campaign.model_validate(from_attributes(item))


class DynamoCampaignStore(Table, CampaignStore):
    def create(self, campaign: Campaign) -> bool:
        try:
            self.db.put_item(
                TableName=self.name,
                Item=to_attributes(
                    {
                        **campaign.model_dump(mode="json", exclude_none=True),
                        **campaign_key(campaign.campaign_id),
                        "kind": "campaign",
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, campaign_id: str) -> Campaign | None:
        if not is_id(campaign_id):
            return None
        item = self.db.get_item(
            TableName=self.name, Key=to_attributes(campaign_key(campaign_id)), ConsistentRead=True
        ).get("Item")
        return _campaign(item) if item else None

    def advance(
        self, campaign_id: str, after: str | None, cursor: str | None, counts: dict[str, int]
    ) -> bool:
        names = {"#status": "status", "#cursor": "cursor"}
        values: dict[str, Any] = {
            ":sending": "sending",
            ":scheduled": "scheduled",
            ":done": cursor is None,
        }
        sets = ["#status = :sending", "fanned_out = :done"]
        if cursor is None:
            removes = " REMOVE #cursor"
        else:
            sets.append("#cursor = :cursor")
            values[":cursor"] = cursor
            removes = ""
        adds = []
        for index, (name, count) in enumerate(counts.items()):
            names[f"#n{index}"] = name
            values[f":n{index}"] = count
            adds.append(f"#n{index} :n{index}")
        if after is None:
            condition = "attribute_not_exists(#cursor)"
        else:
            condition = "#cursor = :after"
            values[":after"] = after
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(campaign_key(campaign_id)),
                UpdateExpression="SET "
                + ", ".join(sets)
                + (" ADD " + ", ".join(adds) if adds else "")
                + removes,
                ConditionExpression=f"{condition} AND fanned_out = :false "
                "AND #status IN (:scheduled, :sending)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_attributes({**values, ":false": False}),
            )
            return True
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise

    def set_status(
        self, campaign_id: str, status: str, reason: str | None, only_from: tuple[str, ...]
    ) -> Campaign | None:
        allowed = {f":from{i}": value for i, value in enumerate(only_from)}
        try:
            item = self.db.update_item(
                TableName=self.name,
                Key=to_attributes(campaign_key(campaign_id)),
                UpdateExpression="SET #status = :status, reason = :reason",
                ConditionExpression=f"#status IN ({', '.join(allowed)})",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_attributes(
                    {":status": status, ":reason": reason or "", **allowed}
                ),
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return _campaign(item)

    def note(self, campaign_id: str, reason: str | None) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(campaign_key(campaign_id)),
            UpdateExpression="SET reason = :reason",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_attributes({":reason": reason or ""}),
        )


def export_key(export_id: str) -> dict[str, str]:
    return {"pk": f"EXPORT#{export_id}", "sk": "EXPORT"}


class DynamoExportStore(Table, ExportStore):
    def create(self, export: Export, now: datetime) -> None:
        self.db.put_item(
            TableName=self.name,
            Item=to_attributes(
                {
                    **export_key(export.export_id),
                    "kind": "export",
                    "export_id": export.export_id,
                    "event_id": export.event_id,
                    "filters": export.filters,
                    "status": export.status,
                    "rows": 0,
                    "created_at": now,
                    # Export records go a day after their files (7 days).
                    "expires_at_epoch": int(now.timestamp()) + 8 * 86400,
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, export_id: str) -> Export | None:
        if not is_id(export_id):
            return None
        item = self.db.get_item(
            TableName=self.name, Key=to_attributes(export_key(export_id)), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
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

    def finish(self, export_id: str, rows: int, key: str, now: datetime) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(export_key(export_id)),
            UpdateExpression=(
                "SET #status = :done, #rows = :rows, object_key = :key, done_at = :now"
            ),
            ExpressionAttributeNames={"#status": "status", "#rows": "rows"},
            ExpressionAttributeValues=to_attributes(
                {":done": "done", ":rows": rows, ":key": key, ":now": now}
            ),
        )

    def fail(self, export_id: str, reason: str, now: datetime) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(export_key(export_id)),
            UpdateExpression="SET #status = :failed, reason = :reason, done_at = :now",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_attributes(
                {":failed": "failed", ":reason": reason[:300], ":now": now}
            ),
        )
