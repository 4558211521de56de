"""What Majlis keeps about Zoom, in the one table (keys in ``schema.py``): which event
session each meeting or webinar is, webhooks received, the newest event applied per
registrant, registrants' ids, sessions full in Zoom, unmatched attendance and what
setting up each room (interpretation, panelists) came to; and, on
the registration itself, each session's Zoom registrant, sync state and add attempts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code
from chalicelib.adapters.dynamo import schema
from chalicelib.adapters.dynamo.schema import from_attributes, registration_key, to_attributes
from chalicelib.adapters.dynamo.table import CONFLICT_RETRIES, Table, backoff
from chalicelib.domain.events import Event, utc_text
from chalicelib.domain.kinds import ItemKind
from chalicelib.ports import StoreBusy, ZoomRegistrant, ZoomSession, ZoomStore


class DynamoZoomStore(Table, ZoomStore):
    def _put(self, item: dict[str, Any], condition: str | None = None) -> bool:
        request: dict[str, Any] = {"TableName": self.name, "Item": to_attributes(item)}
        if condition:
            request["ConditionExpression"] = condition
        try:
            self.db.put_item(**request)
            return True
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise

    def _update(
        self,
        key: dict[str, str],
        expression: str,
        names: dict[str, str],
        values: dict[str, Any],
        condition: str | None = None,
    ) -> bool:
        request: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_attributes(key),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": to_attributes(values),
        }
        if names:
            request["ExpressionAttributeNames"] = names
        if condition:
            request["ConditionExpression"] = condition
        try:
            self.db.update_item(**request)
            return True
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise

    # -- mappings ----------------------------------------------------------------------

    def map_event(self, event: Event) -> None:
        zoom_sessions = [s for s in event.sessions if s.has_zoom]
        if not zoom_sessions:
            return
        self._put(schema.zoom_event_index_item(event.id))
        for session in zoom_sessions:
            for link in session.zoom_links:  # its rooms', or its one
                self._put(schema.zoom_session_item(link.id, event.id, session.id))

    def session_for(self, zoom_id: str) -> ZoomSession | None:
        item = self.db.get_item(
            TableName=self.name, Key=to_attributes(schema.zoom_session_key(zoom_id))
        ).get("Item")
        if not item:
            return None
        return ZoomSession(item["event_id"]["S"], item["session_id"]["S"])

    def event_ids(self) -> list[str]:
        found = []
        for page in self.db.get_paginator("query").paginate(
            TableName=self.name,
            **schema.zoom_event_index_query(),
        ):
            found += schema.indexed_ids(page["Items"])
        return found

    def registration_for_registrant(self, registrant_id: str) -> str | None:
        item = self.db.get_item(
            TableName=self.name, Key=to_attributes(schema.zoom_registrant_key(registrant_id))
        ).get("Item")
        return item["registration_id"]["S"] if item else None

    # -- webhooks ----------------------------------------------------------------------

    def record_webhook(self, digest: str, body: str, now: datetime) -> bool:
        return self._put(
            schema.zoom_webhook_item(digest, body, now), condition="attribute_not_exists(pk)"
        )

    def forget_webhook_body(self, digest: str, now: datetime) -> None:
        self._update(
            schema.zoom_webhook_key(digest),
            "REMOVE body SET relayed_at = :now",
            {},
            {":now": now},
            condition="attribute_exists(pk)",
        )

    def newer(self, zoom_id: str, subject: str, event_ts: int, action: str) -> bool:
        return self._update(
            schema.zoom_seen_key(zoom_id, subject),
            f"SET last_ts = :ts, #action = :action, {schema.TTL} = :expires",
            {"#action": "action"},
            {
                ":ts": event_ts,
                ":action": action,
                ":expires": schema.zoom_seen_expiry(event_ts),
            },
            condition="attribute_not_exists(last_ts) OR last_ts < :ts",
        )

    # -- sync state on the registration --------------------------------------------------

    def claim_adds(
        self,
        registration_id: str,
        session_ids: Sequence[str],
        day: str,
        max_per_day: int,
        now: datetime,
    ) -> bool:
        if not session_ids:
            return True
        names: dict[str, str] = {}
        counts, within = [], ["attribute_exists(pk)"]
        for n, session_id in enumerate(session_ids):
            names |= {f"#try{n}": f"{session_id}@{day}", f"#session{n}": session_id}
            tries = f"zoom_tries.#try{n}"
            counts += [
                f"{tries} = if_not_exists({tries}, :zero) + :one",
                f"zoom_sync.#session{n} = :sending",
            ]
            within.append(f"(attribute_not_exists({tries}) OR {tries} < :max)")
        return self._update(
            registration_key(registration_id),
            "SET " + ", ".join(counts),
            names,
            {
                ":zero": 0,
                ":one": 1,
                ":max": max_per_day,
                ":sending": {"state": "sending", "at": utc_text(now)},
            },
            condition=" AND ".join(within),
        )

    def release_add(self, registration_id: str, session_id: str, day: str) -> None:
        self._update(
            registration_key(registration_id),
            "SET zoom_tries.#try = zoom_tries.#try - :one",
            {"#try": f"{session_id}@{day}"},
            {":one": 1, ":zero": 0},
            condition="attribute_exists(pk) AND zoom_tries.#try > :zero",
        )

    def synced(
        self,
        registration_id: str,
        registrants: Mapping[str, tuple[ZoomRegistrant, str]],
        now: datetime,
    ) -> None:
        if not registrants:
            return
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        kept = []
        for n, (session_id, (registrant, meeting)) in enumerate(registrants.items()):
            names[f"#session{n}"] = session_id
            values[f":zoom{n}"] = {
                "registrant_id": registrant.registrant_id,
                "join_url": registrant.join_url,
                "meeting": meeting,
            }
            values[f":state{n}"] = {"state": "synced", "at": utc_text(now), "meeting": meeting}
            kept += [f"zoom.#session{n} = :zoom{n}", f"zoom_sync.#session{n} = :state{n}"]
        self._update(
            registration_key(registration_id),
            "SET " + ", ".join(kept),
            names,
            values,
            condition="attribute_exists(pk)",
        )
        for session_id, (registrant, _) in registrants.items():
            self._put(
                schema.zoom_registrant_item(registrant.registrant_id, registration_id, session_id)
            )

    def mark(
        self,
        registration_id: str,
        session_id: str,
        state: str,
        now: datetime,
        reason: str = "",
        *,
        meeting: str,
    ) -> None:
        record = {"state": state, "at": utc_text(now), "meeting": meeting}
        if reason:
            record["reason"] = reason[:300]
        self._update(
            registration_key(registration_id),
            "SET zoom_sync.#session = :state",
            {"#session": session_id},
            {":state": record},
            condition="attribute_exists(pk)",
        )

    def forget(self, registration_id: str, session_id: str, now: datetime) -> None:
        self._update(
            registration_key(registration_id),
            "REMOVE zoom.#session SET zoom_sync.#session = :state",
            {"#session": session_id},
            {":state": {"state": "cancelled", "at": utc_text(now)}},
            condition="attribute_exists(pk)",
        )

    def attended(
        self,
        registration_id: str | None,
        event_id: str,
        session_id: str,
        participant: dict,
        now: datetime,
    ) -> None:
        joined = str(participant.get("join_time") or utc_text(now))
        if registration_id is not None:
            self._joined(registration_key(registration_id), session_id, joined)
            return
        who = str(
            participant.get("participant_uuid")
            or participant.get("id")
            or participant.get("user_id")
            or joined
        )
        self._put(
            schema.unmatched_attendance_item(
                event_id, session_id, who, str(participant.get("user_name", ""))[:200], joined
            )
        )

    def _joined(
        self, key: dict[str, str], session_id: str, joined: str, retried: bool = False
    ) -> None:
        """``attended`` keeps the earliest join, ``attended_last`` the latest, whatever
        order Zoom delivers them in (the times are RFC 3339 in UTC: they sort as text).
        In order, one write; a join older than the last one known, a second."""
        names = {"#session": session_id}
        values = {":joined": joined}
        try:
            later = self._update(
                key,
                "SET attended.#session = if_not_exists(attended.#session, :joined), "
                "attended_last.#session = :joined",
                names,
                values,
                condition="attribute_exists(pk) AND (attribute_not_exists(attended_last.#session)"
                " OR attended_last.#session < :joined)",
            )
        except ClientError as error:
            # A registration stored before attended_last existed has no map to set in.
            if retried or error_code(error) != "ValidationException":
                raise
            self._update(
                key,
                "SET attended_last = if_not_exists(attended_last, :empty)",
                {},
                {":empty": {}},
                condition="attribute_exists(pk)",
            )
            self._joined(key, session_id, joined, retried=True)
            return
        if not later:
            self._update(
                key,
                "SET attended.#session = :joined",
                names,
                values,
                condition="attribute_exists(pk) AND attended.#session > :joined",
            )

    def session_full(self, event_id: str, session_id: str, now: datetime) -> None:
        self._put(schema.zoom_full_item(event_id, session_id, now))

    # -- room setup ----------------------------------------------------------------------

    def zoom_setup(
        self, event_id: str, rooms: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[str, Any]]:
        # By key (BatchGetItem, 100 at a time), not by Query: the zoom worker reads no more
        # than the rooms its event names.
        found: dict[tuple[str, str], dict[str, Any]] = {}
        wanted = list(dict.fromkeys(rooms))
        for start in range(0, len(wanted), 100):
            keys = [
                to_attributes(schema.zoom_setup_key(event_id, session_id, room))
                for session_id, room in wanted[start : start + 100]
            ]
            request: dict[str, Any] = {self.name: {"Keys": keys, "ConsistentRead": True}}
            for attempt in range(CONFLICT_RETRIES * 2):
                answer = self.db.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.name, []):
                    values = from_attributes(item)
                    record = {k: values[k] for k in ("interpretation", "panelists") if k in values}
                    found[(values["session_id"], values["room"])] = record
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                backoff(attempt)
            else:
                raise StoreBusy()
        return found

    def record_setup(
        self,
        event_id: str,
        session_id: str,
        room: str,
        part: str,
        record: dict[str, Any],
        now: datetime,
    ) -> None:
        if part not in ("interpretation", "panelists"):
            raise ValueError(f"no setup part {part!r}")
        self._update(
            schema.zoom_setup_key(event_id, session_id, room),
            "SET #part = :record, #kind = :kind, #event = :event, #session = :session, "
            "#room = :room, #at = :now",
            {
                "#part": part,
                "#kind": "kind",
                "#event": "event_id",
                "#session": "session_id",
                "#room": "room",
                "#at": "updated_at",
            },
            {
                ":record": {**record, "at": utc_text(now)},
                ":kind": ItemKind.ZOOM_SETUP,
                ":event": event_id,
                ":session": session_id,
                ":room": room,
                ":now": now,
            },
        )
