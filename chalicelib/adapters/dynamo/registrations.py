"""Registrations: the request path's one transaction, and every later change of a
registration (mail owed, cancel, erase, promote, self-service, unsubscribe, clicks).

Each write is one conditional request or transaction: two people racing for the last
seat, or one address registering twice at once, cannot both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code
from chalicelib.adapters.dynamo import schema
from chalicelib.adapters.dynamo.limits import counter_update
from chalicelib.adapters.dynamo.schema import from_attributes, to_attributes
from chalicelib.adapters.dynamo.table import CONFLICT_RETRIES, THROTTLED, Table, backoff, reasons
from chalicelib.domain.ids import is_id, new_id
from chalicelib.domain.networks import MOST_NETWORKS
from chalicelib.domain.registrations import EmailStatus, Registration, RegistrationFilter, Status
from chalicelib.ports import (
    AlreadyRegistered,
    Audit,
    ClickRefused,
    Counted,
    OverLimit,
    Page,
    RegistrationStore,
    RoomCount,
    RoomMove,
    RoomTaken,
    SeatsChanged,
    Stale,
    StoreBusy,
)

MAX_QUERIES_PER_PAGE = 20


class DynamoRegistrationStore(Table, RegistrationStore):
    def __init__(self, name: str, limits_table: str = "") -> None:
        super().__init__(name)
        self.limits_table = limits_table

    def add(
        self, registration: Registration, capacity: int | None, counted: Sequence[Counted] = ()
    ) -> None:
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.name,
                    "Item": schema.registration_item(registration),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self.name,
                    "Item": to_attributes(schema.email_item(registration)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]
        seat = registration.status.seat  # a pending registration takes none
        if seat is not None:
            items.append({"Update": self._take_seat(registration.event_id, seat, capacity)})
        limits_at = len(items)
        # The rate limits, counted in the same write.
        items.extend({"Update": counter_update(self.limits_table, c)} for c in counted)
        for attempt in range(CONFLICT_RETRIES):
            try:
                self.db.transact_write_items(TransactItems=items)
                return
            except ClientError as error:
                code = error_code(error)
                if code != "TransactionCanceledException":
                    if code in THROTTLED:
                        raise StoreBusy() from error
                    raise
                why = reasons(error)
                codes = [r.get("Code") for r in why]
                failed = [c == "ConditionalCheckFailed" for c in codes]
                if len(codes) == len(items) and failed[1]:
                    existing = from_attributes(why[1].get("Item") or {})
                    raise AlreadyRegistered(existing["registration_id"]) from None
                if len(codes) == len(items) and any(failed[limits_at:]):
                    raise OverLimit(counted[failed.index(True, limits_at) - limits_at]) from None
                if len(codes) == len(items) and seat is not None and failed[2]:
                    raise SeatsChanged() from None
                if "TransactionConflict" in codes or "ThrottlingError" in codes:
                    backoff(attempt)
                    continue
                raise
        raise StoreBusy()

    def _take_seat(self, event_id: str, seat: str, capacity: int | None) -> dict[str, Any]:
        """The seat counter's update that takes a place in ``seat`` (registered or
        waitlisted), on the seat rule's condition. Raises SeatsChanged when there is no
        waiting list to join (no capacity)."""
        update: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_attributes(schema.seats_key(event_id)),
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
        return update

    def get(self, registration_id: str, consistent: bool = False) -> Registration | None:
        item = self.db.get_item(
            TableName=self.name,
            Key=to_attributes(schema.registration_key(registration_id)),
            ConsistentRead=consistent,
        ).get("Item")
        return schema.registration_from(item) if item else None

    def get_many(self, registration_ids: list[str]) -> dict[str, Registration]:
        found: dict[str, Registration] = {}
        ids = list(dict.fromkeys(registration_ids))
        for start in range(0, len(ids), 100):  # BatchGetItem takes 100 keys
            request = {
                self.name: {
                    "Keys": [
                        to_attributes(schema.registration_key(i)) for i in ids[start : start + 100]
                    ],
                    "ConsistentRead": True,
                }
            }
            for attempt in range(CONFLICT_RETRIES * 2):
                answer = self.db.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.name, []):
                    registration = schema.registration_from(item)
                    found[registration.registration_id] = registration
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                backoff(attempt)
            else:
                raise StoreBusy()
        return found

    def request_mail(
        self, registration_id: str, reason: str, now: datetime, not_since: datetime
    ) -> Status | None:
        try:
            response = self.db.update_item(
                TableName=self.name,
                Key=to_attributes(schema.registration_key(registration_id)),
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
        may register again) and its place in the seat counter (a pending one has none)."""
        items: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": self.name,
                    "Key": to_attributes(schema.email_key(current.event_id, current.email_key)),
                }
            }
        ]
        seat = current.status.seat
        if seat is not None:
            items.append(
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": to_attributes(schema.seats_key(current.event_id)),
                        "UpdateExpression": f"ADD {seat} :minus, cancelled :one",
                        "ExpressionAttributeValues": to_attributes({":minus": -1, ":one": 1}),
                    }
                }
            )
        return items

    def confirm(
        self, registration: Registration, status: Status, capacity: int | None, now: datetime
    ) -> bool:
        seat = status.seat
        assert seat is not None, status
        values: dict[str, Any] = {
            ":status": status,
            ":pending": Status.PENDING,
            ":version": registration.link_version,
            ":one": 1,
            ":confirmed": "confirmed",
            ":now": now,
        }
        update = (
            "SET #status = :status, mail_seq = mail_seq + :one, mail_reason = :confirmed, "
            "mail_requested_at = :now, confirmed_at = :now, updated_at = :now"
        )
        if status is Status.WAITLISTED:  # its place on the waiting list, for the pending one
            update += ", gsi3pk = :wait, gsi3sk = :id REMOVE expires_at, #ttl"
            values.update(
                {
                    ":wait": schema.waiting_list(registration.event_id),
                    ":id": new_id(),  # in line from now: those who confirmed earlier go first
                }
            )
        else:
            update += " REMOVE gsi3pk, gsi3sk, expires_at, #ttl"
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.name,
                    "Key": to_attributes(schema.registration_key(registration.registration_id)),
                    "UpdateExpression": update,
                    "ConditionExpression": "#status = :pending AND link_version = :version",
                    "ExpressionAttributeNames": {"#status": "status", "#ttl": schema.TTL},
                    "ExpressionAttributeValues": to_attributes(values),
                }
            },
            {
                "Update": {
                    "TableName": self.name,
                    "Key": to_attributes(
                        schema.email_key(registration.event_id, registration.email_key)
                    ),
                    "UpdateExpression": "REMOVE #ttl",  # the address's key stays with it
                    "ConditionExpression": "registration_id = :id",
                    "ExpressionAttributeNames": {"#ttl": schema.TTL},
                    "ExpressionAttributeValues": to_attributes(
                        {":id": registration.registration_id}
                    ),
                }
            },
            {"Update": self._take_seat(registration.event_id, seat, capacity)},
        ]
        for attempt in range(CONFLICT_RETRIES):
            try:
                self.db.transact_write_items(TransactItems=items)
                return True
            except ClientError as error:
                code = error_code(error)
                if code != "TransactionCanceledException":
                    if code in THROTTLED:
                        raise StoreBusy() from error
                    raise
                codes = [r.get("Code") for r in reasons(error)]
                if len(codes) == len(items) and "ConditionalCheckFailed" in codes[:2]:
                    return False
                if len(codes) == len(items) and codes[2] == "ConditionalCheckFailed":
                    raise SeatsChanged() from None
                backoff(attempt)
        raise StoreBusy()

    def expire_pending(self, now: datetime, most: int) -> int:
        query: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": schema.WAITING_LIST_INDEX,
            "KeyConditionExpression": "gsi3pk = :pending AND gsi3sk < :now",
            "ExpressionAttributeValues": to_attributes(
                {":pending": schema.PENDING_LIST, ":now": schema.pending_until(now)}
            ),
            "Limit": min(most, 100),
        }
        deleted = 0
        while deleted < most:
            answer = self.db.query(**query)
            for registration_id in schema.registrations_in(answer.get("Items", [])):
                found = self.get(registration_id, consistent=True)  # the index holds keys
                if found is not None and found.status is Status.PENDING:
                    deleted += self.forget_pending(found)
            if "LastEvaluatedKey" not in answer:
                break
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return deleted

    def forget_pending(self, registration: Registration) -> bool:
        registration_id = registration.registration_id
        try:
            self.db.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self.name,
                            "Key": to_attributes(schema.registration_key(registration_id)),
                            "ConditionExpression": "#status = :pending",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": to_attributes(
                                {":pending": Status.PENDING}
                            ),
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self.name,
                            "Key": to_attributes(
                                schema.email_key(registration.event_id, registration.email_key)
                            ),
                            # (TTL may have taken the key first)
                            "ConditionExpression": (
                                "attribute_not_exists(pk) OR registration_id = :id"
                            ),
                            "ExpressionAttributeValues": to_attributes({":id": registration_id}),
                        }
                    },
                ]
            )
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            return False  # confirmed (or changed) meanwhile: the next sweep looks again
        return True

    def cancel(self, registration: Registration, now: datetime) -> Registration:
        current: Registration | None = registration
        for attempt in range(CONFLICT_RETRIES):
            if current is None or current.status is Status.CANCELLED:
                return current  # type: ignore[return-value]
            seat = current.status.seat
            items = [
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": to_attributes(schema.registration_key(current.registration_id)),
                        "UpdateExpression": (
                            "SET #status = :cancelled, link_version = link_version + :one, "
                            "mail_seq = mail_seq + :one, mail_reason = :cancelled, "
                            "mail_requested_at = :now, updated_at = :now, cancelled_at = :now, "
                            "calendar_cancel = :calendar REMOVE gsi3pk, gsi3sk, #ttl"
                        ),
                        "ConditionExpression": "#status = :was",
                        "ExpressionAttributeNames": {"#status": "status", "#ttl": schema.TTL},
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
                backoff(attempt)
                current = self.get(current.registration_id, consistent=True)
                continue
            return self.get(current.registration_id, consistent=True)  # type: ignore[return-value]
        raise StoreBusy()

    def erase(self, registration: Registration, audit: Audit, now: datetime) -> None:
        current: Registration | None = registration
        for attempt in range(CONFLICT_RETRIES):
            if current is None or current.erased_at is not None:
                return
            active = current.status is not Status.CANCELLED
            # Zoom keeps only the registrant ids and their meetings (to cancel them there),
            # no join URLs.
            zoom = {
                s: {k: z[k] for k in ("registrant_id", "meeting") if z.get(k)}
                for s, z in current.zoom.items()
                if z.get("registrant_id")
            }
            items: list[dict[str, Any]] = [
                {
                    "Update": {
                        "TableName": self.name,
                        "Key": to_attributes(schema.registration_key(current.registration_id)),
                        "UpdateExpression": (
                            "SET #status = :cancelled, email = :blank, email_key = :blank, "
                            "first_name = :blank, last_name = :blank, zoom = :zoom, "
                            "link_version = link_version + :one, mail_reason = :erased, "
                            "updated_at = :now, erased_at = :now "
                            "REMOVE gsi3pk, gsi3sk, networks, #ttl"
                        ),
                        "ConditionExpression": "#status = :was AND attribute_not_exists(erased_at)",
                        "ExpressionAttributeNames": {"#status": "status", "#ttl": schema.TTL},
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
                {
                    "Put": {
                        "TableName": self.name,
                        "Item": to_attributes(
                            schema.audit_item(current.event_id, current.registration_id, audit, now)
                        ),
                    }
                },
            ]
            if active:
                items += self._release(current)
            try:
                self.db.transact_write_items(TransactItems=items)
                return
            except ClientError as error:
                if error_code(error) != "TransactionCanceledException":
                    raise
                backoff(attempt)
                current = self.get(current.registration_id, consistent=True)
        raise StoreBusy()

    def promote_next(
        self, event_id: str, capacity: int | None, now: datetime
    ) -> Registration | None:
        for attempt in range(CONFLICT_RETRIES):
            head = self.db.query(
                TableName=self.name,
                IndexName=schema.WAITING_LIST_INDEX,
                KeyConditionExpression="gsi3pk = :wait",
                ExpressionAttributeValues={":wait": {"S": schema.waiting_list(event_id)}},
                Limit=1,
            ).get("Items", [])
            registration_id = schema.waiting_head(head)
            if registration_id is None:
                return None
            seats: dict[str, Any] = {
                "TableName": self.name,
                "Key": to_attributes(schema.seats_key(event_id)),
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
                                "Key": to_attributes(schema.registration_key(registration_id)),
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
                codes = [r.get("Code") for r in reasons(error)]
                if len(codes) == 2 and codes[1] == "ConditionalCheckFailed":
                    return None  # no free seat
                backoff(attempt)  # the head moved (promoted or cancelled): look again
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
                Key=to_attributes(schema.registration_key(registration.registration_id)),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="#status <> :cancelled AND link_version = :version",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_attributes(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise Stale() from None
            raise
        return schema.registration_from(response["Attributes"])

    def find_by_email(self, event_id: str, email_key_value: str) -> str | None:
        item = self.db.get_item(
            TableName=self.name, Key=to_attributes(schema.email_key(event_id, email_key_value))
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
                Key=to_attributes(schema.registration_key(registration_id)),
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
        return schema.registration_from(response["Attributes"])

    def unsubscribe(self, registration_id: str, now: datetime) -> Registration | None:
        key = to_attributes(schema.registration_key(registration_id))
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
            return schema.registration_from(response["Attributes"])
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
        return schema.registration_from(response["Attributes"])

    def set_email_status(self, registration_id: str, status: EmailStatus, now: datetime) -> None:
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(schema.registration_key(registration_id)),
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
                Key=to_attributes(schema.registration_key(registration_id)),
                UpdateExpression="ADD soft_bounces :one SET last_soft_bounce_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_attributes({":one": 1, ":now": now}),
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def record_click(
        self,
        registration_id: str,
        session_id: str,
        version: int,
        now: datetime,
        network: str | None = None,
    ) -> Registration:
        values = {
            ":now": now,
            ":version": version,
            ":registered": Status.REGISTERED,
            ":session": session_id,
        }
        update = (
            "SET clicks.#session.#first = if_not_exists(clicks.#session.#first, :now), "
            "clicks.#session.#last = :now"
        )
        condition = (
            "attribute_exists(clicks.#session) AND link_version = :version "
            "AND #status = :registered AND contains(sessions, :session)"
        )
        if network is not None:
            update += " ADD networks :networks"
            condition += (
                " AND (attribute_not_exists(networks) OR size(networks) < :most"
                " OR contains(networks, :network))"
            )
            values.update({":network": network, ":most": MOST_NETWORKS})
        attributes = to_attributes(values)
        if network is not None:
            attributes[":networks"] = {"SS": [network]}
        try:
            response = self.db.update_item(
                TableName=self.name,
                Key=to_attributes(schema.registration_key(registration_id)),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    "#session": session_id,
                    "#first": "first",
                    "#last": "last",
                    "#status": "status",
                },
                ExpressionAttributeValues=attributes,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            old = error.response.get("Item")
            found = schema.registration_from(old) if old else None
            if network is not None and found is not None and found.admits(session_id, version):
                # Only the networks were full: the click counts all the same.
                return self.record_click(registration_id, session_id, version, now)
            raise ClickRefused(found) from None
        return schema.registration_from(response["Attributes"])

    def flag_shared(self, registration_id: str, now: datetime) -> None:
        try:
            self.db.update_item(
                TableName=self.name,
                Key=to_attributes(schema.registration_key(registration_id)),
                UpdateExpression="SET link_shared = :yes, updated_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_attributes({":yes": True, ":now": now}),
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":  # else: deleted since
                raise

    # -- rooms ---------------------------------------------------------------------

    def room_counts(self, event_id: str, session_id: str) -> dict[str, RoomCount]:
        found: dict[str, RoomCount] = {}
        query: dict[str, Any] = {
            "TableName": self.name,
            "ConsistentRead": True,
            **schema.rooms_query(event_id, session_id),
        }
        while True:
            answer = self.db.query(**query)
            for item in answer.get("Items", []):
                found[schema.room_in(item)] = RoomCount(
                    seated=int(item.get("seated", {}).get("N", "0")),
                    closed="closed_at" in item,
                )
            if "LastEvaluatedKey" not in answer:
                return found
            query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def move_rooms(self, registration_id: str, event_id: str, moves: Sequence[RoomMove]) -> bool:
        if not moves:
            return True
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets, removes, conditions = [], [], ["attribute_exists(pk)"]
        counters: list[tuple[str, dict[str, Any]]] = []  # (session, update)
        for n, move in enumerate(moves):
            names[f"#s{n}"] = move.session_id
            path = f"rooms.#s{n}"
            if move.old is None:
                conditions.append(f"attribute_not_exists({path})")
            else:
                values[f":old{n}"] = move.old
                conditions.append(f"{path} = :old{n}")
                counters.append(
                    (move.session_id, self._seat(event_id, move.session_id, move.old, -1))
                )
            if move.new is None:
                removes.append(path)
                continue
            values[f":new{n}"] = move.new
            values[f":sid{n}"] = move.session_id
            sets.append(f"{path} = :new{n}")
            conditions.append(f"contains(sessions, :sid{n})")
            counters.append(
                (move.session_id, self._seat(event_id, move.session_id, move.new, 1, move.capacity))
            )
        if any(move.new is not None for move in moves):
            names["#status"] = "status"
            values[":registered"] = Status.REGISTERED
            conditions.append("#status = :registered")
        expression = " ".join(
            part
            for part in (
                "SET " + ", ".join(sets) if sets else "",
                "REMOVE " + ", ".join(removes) if removes else "",
            )
            if part
        )
        update: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_attributes(schema.registration_key(registration_id)),
            "UpdateExpression": expression,
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
        }
        if values:
            update["ExpressionAttributeValues"] = to_attributes(values)
        items = [{"Update": update}] + [{"Update": counter} for _, counter in counters]
        for attempt in range(CONFLICT_RETRIES):
            try:
                self.db.transact_write_items(TransactItems=items)
                return True
            except ClientError as error:
                code = error_code(error)
                if code != "TransactionCanceledException":
                    if code in THROTTLED:
                        raise StoreBusy() from error
                    raise
                codes = [r.get("Code") for r in reasons(error)]
                if len(codes) == len(items) and codes[0] == "ConditionalCheckFailed":
                    return False
                if len(codes) == len(items) and "ConditionalCheckFailed" in codes[1:]:
                    raise RoomTaken(
                        counters[codes.index("ConditionalCheckFailed", 1) - 1][0]
                    ) from None
                backoff(attempt)
        raise StoreBusy()

    def _seat(
        self, event_id: str, session_id: str, room: str, step: int, capacity: int | None = None
    ) -> dict[str, Any]:
        """A room counter's update: a seat taken (``step`` 1, on the room's condition)
        or given back (-1)."""
        update: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_attributes(schema.room_key(event_id, session_id, room)),
            "UpdateExpression": "ADD seated :step",
            "ExpressionAttributeValues": to_attributes({":step": step}),
        }
        if step > 0:
            condition = "attribute_not_exists(closed_at)"
            if capacity is not None:
                condition += " AND (attribute_not_exists(seated) OR seated < :cap)"
                update["ExpressionAttributeValues"][":cap"] = {"N": str(capacity)}
            update["ConditionExpression"] = condition
        return update

    def close_room(self, event_id: str, session_id: str, room: str, now: datetime) -> None:
        self.db.update_item(
            TableName=self.name,
            Key=to_attributes(schema.room_key(event_id, session_id, room)),
            UpdateExpression="SET closed_at = if_not_exists(closed_at, :now)",
            ExpressionAttributeValues=to_attributes({":now": now}),
        )

    def page(
        self, event_id: str, where: RegistrationFilter, limit: int, cursor: str | None
    ) -> Page:
        if cursor is not None and not is_id(cursor):
            raise ValueError("cursor")
        query: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": schema.EVENT_REGISTRATIONS_INDEX,
            "KeyConditionExpression": "gsi1pk = :event",
            "ExpressionAttributeValues": {":event": {"S": schema.event_registrations(event_id)}},
        }
        filter_expression = _filter_expression(where, query)
        if filter_expression:
            query["FilterExpression"] = filter_expression
        items: list[Registration] = []
        position = cursor
        for _ in range(MAX_QUERIES_PER_PAGE):
            if position:
                query["ExclusiveStartKey"] = schema.page_start(event_id, position)
            query["Limit"] = limit - len(items)
            response = self.db.query(**query)
            for item in response.get("Items", []):
                items.append(schema.registration_from(item))
            last = response.get("LastEvaluatedKey")
            if not last:
                return Page(items, None)
            position = schema.page_position(last)
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
    if where.attended is not None:
        # domain/attendance.py's rule: a click (clicks.{s}.first) or Zoom's join
        # (attended.{s}); those who missed it had the session among theirs.
        session_id, came = where.attended
        names.update({"#attended_session": session_id, "#first_click": "first"})
        if came:
            clauses.append(
                "(attribute_exists(attended.#attended_session)"
                " OR attribute_exists(clicks.#attended_session.#first_click))"
            )
        else:
            values[":attended_session"] = {"S": session_id}
            clauses.append(
                "contains(sessions, :attended_session)"
                " AND attribute_not_exists(attended.#attended_session)"
                " AND attribute_not_exists(clicks.#attended_session.#first_click)"
            )
    if where.room is not None:
        # domain/registrations.py's rule: seated in that room (rooms.{session}).
        names["#room_session"] = where.room[0]
        values[":room"] = {"S": where.room[1]}
        clauses.append("rooms.#room_session = :room")
    if names:
        query["ExpressionAttributeNames"] = names
    return " AND ".join(clauses)
