"""In-memory adapters with the same contract as the AWS ones (see chalicelib/ports.py).

Each keeps the promises its DynamoDB twin keeps — atomic conditional writes, the seat
rule, one email key per event — so use-case tests exercise the real rules without moto.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.adapters.caches import ContainerSeatHint
from chalicelib.config import Settings
from chalicelib.domain.campaigns import Campaign
from chalicelib.domain.events import Event
from chalicelib.domain.networks import MOST_NETWORKS
from chalicelib.domain.organizers import (
    AuditEntry,
    ConsoleSession,
    DraftMail,
    Organizer,
    Redrive,
    SignIn,
)
from chalicelib.domain.registrations import (
    EmailStatus,
    Registration,
    RegistrationFilter,
    Seats,
    Status,
    seat_free,
)
from chalicelib.jobs import Job
from chalicelib.ports import (
    BULK_LOOK_AHEAD,
    LATE_OK,
    AlreadyRegistered,
    Audit,
    CampaignStore,
    ClickRefused,
    Counted,
    DeadLetters,
    EmailRef,
    EventStore,
    Export,
    ExportFiles,
    ExportStore,
    JobQueue,
    Mailer,
    OrganizerStore,
    OverLimit,
    Page,
    Paused,
    RateLimiter,
    RegistrationStore,
    Rejected,
    RoomCount,
    RoomMove,
    RoomTaken,
    SeatsChanged,
    SendClaim,
    SendLog,
    SendPacer,
    SendQuota,
    Services,
    Stale,
    StatsStore,
    Throttled,
    TokenStore,
    ZoomClient,
    ZoomCredentials,
    ZoomFailure,
    ZoomInterpretation,
    ZoomLanguageUndefined,
    ZoomPanelist,
    ZoomRegistrant,
    ZoomSession,
    ZoomStore,
    slots_until,
)
from chalicelib.signed_links import Keys, StaticKeys

TEST_KEYS = Keys(
    active="k2", secrets={"k1": "old-key-for-tests" * 3, "k2": "new-key-for-tests" * 3}
)


class Clock:
    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeEventStore(EventStore):
    def __init__(self) -> None:
        self.campaigns: FakeCampaignStore | None = None  # where a change's notice goes
        self.events: dict[str, Event] = {}
        self.seats: dict[str, Seats] = {}
        self.reads = 0

    def get(self, event_id: str, fresh: bool = False) -> Event | None:
        self.reads += 1
        return self.events.get(event_id)

    def put(self, event: Event, now: datetime) -> bool:
        created = event.id not in self.events
        self.events[event.id] = event
        self.seats.setdefault(event.id, Seats())
        return created

    def save(
        self, event: Event, expected: int | None, notice: Campaign | None, now: datetime
    ) -> bool:
        stored = self.events.get(event.id)
        if (None if stored is None else stored.revision) != expected:
            return False
        if notice is not None and self.campaigns and not self.campaigns.create(notice):
            return False
        self.put(event, now)
        return True

    def ids(self) -> list[str]:
        return sorted(self.events)


class FakeRegistrationStore(RegistrationStore):
    def __init__(self, events: FakeEventStore) -> None:
        self._events = events
        self._lock = threading.Lock()
        self.limiter = FakeRateLimiter()  # its counters, written with the registration
        self.registrations: dict[str, Registration] = {}
        self.email_keys: dict[tuple[str, str], str] = {}
        self.audit: list[dict[str, Any]] = []
        self.rooms: dict[tuple[str, str, str], list] = {}
        self.writes = 0

    def add(
        self, registration: Registration, capacity: int | None, counted: Sequence[Counted] = ()
    ) -> None:
        with self._lock:
            self.writes += 1
            key = (registration.event_id, registration.email_key)
            if key in self.email_keys:
                raise AlreadyRegistered(self.email_keys[key])
            for request in counted:
                if self.limiter.full(request):
                    raise OverLimit(request)
            if registration.status is not Status.PENDING:  # a pending one takes no seat
                self._take_seat(registration.event_id, registration.status, capacity)
            for request in counted:
                self.limiter.admit(request)
            self.registrations[registration.registration_id] = registration
            self.email_keys[key] = registration.registration_id

    def _take_seat(self, event_id: str, status: Status, capacity: int | None) -> None:
        seats = self._events.seats[event_id]
        wants_seat = status is Status.REGISTERED
        if wants_seat != seat_free(seats, capacity):
            raise SeatsChanged()
        self._events.seats[event_id] = Seats(
            registered=seats.registered + wants_seat,
            waitlisted=seats.waitlisted + (not wants_seat),
            cancelled=seats.cancelled,
        )

    def confirm(
        self, registration: Registration, status: Status, capacity: int | None, now: datetime
    ) -> bool:
        with self._lock:
            self.writes += 1
            found = self.registrations.get(registration.registration_id)
            if (
                found is None
                or found.status is not Status.PENDING
                or found.link_version != registration.link_version
            ):
                return False
            self._take_seat(found.event_id, status, capacity)
            self.registrations[found.registration_id] = found.model_copy(
                update={
                    "status": status,
                    "expires_at": None,
                    "mail_seq": found.mail_seq + 1,
                    "mail_reason": "confirmed",
                    "mail_requested_at": now,
                    "updated_at": now,
                }
            )
            return True

    def forget_pending(self, registration: Registration) -> bool:
        with self._lock:
            found = self.registrations.get(registration.registration_id)
            if found is None or found.status is not Status.PENDING:
                return False
            self.writes += 1
            del self.registrations[found.registration_id]
            self.email_keys.pop((found.event_id, found.email_key), None)
            return True

    def expire_pending(self, now: datetime, most: int) -> int:
        with self._lock:
            expired = [
                r
                for r in self.registrations.values()
                if r.status is Status.PENDING and r.expires_at and r.expires_at < now
            ][:most]
            for registration in expired:
                self.writes += 1
                del self.registrations[registration.registration_id]
                self.email_keys.pop((registration.event_id, registration.email_key), None)
            return len(expired)

    def get(self, registration_id: str, consistent: bool = False) -> Registration | None:
        return self.registrations.get(registration_id)

    def get_many(self, registration_ids: list[str]) -> dict[str, Registration]:
        return {i: self.registrations[i] for i in registration_ids if i in self.registrations}

    def request_mail(
        self, registration_id: str, reason: str, now: datetime, not_since: datetime
    ) -> Status | None:
        with self._lock:
            self.writes += 1
            found = self.registrations.get(registration_id)
            if found is None or found.status is Status.CANCELLED:
                return None
            if found.mail_requested_at <= not_since:
                self.registrations[registration_id] = found.model_copy(
                    update={
                        "mail_seq": found.mail_seq + 1,
                        "mail_reason": reason,
                        "mail_requested_at": now,
                    }
                )
            return found.status

    def cancel(self, registration: Registration, now: datetime) -> Registration:
        with self._lock:
            self.writes += 1
            current = self.registrations[registration.registration_id]
            if current.status is Status.CANCELLED:
                return current
            seats = self._events.seats[current.event_id]
            was_registered = current.status is Status.REGISTERED
            self._events.seats[current.event_id] = Seats(
                registered=seats.registered - was_registered,
                waitlisted=seats.waitlisted - (not was_registered),
                cancelled=seats.cancelled + 1,
            )
            self.email_keys.pop((current.event_id, current.email_key), None)
            cancelled = current.model_copy(
                update={
                    "status": Status.CANCELLED,
                    "link_version": current.link_version + 1,
                    "mail_seq": current.mail_seq + 1,
                    "mail_reason": "cancelled",
                    "mail_requested_at": now,
                    "updated_at": now,
                    "calendar_cancel": current.sessions if was_registered else [],
                }
            )
            self.registrations[current.registration_id] = cancelled
            return cancelled

    def erase(self, registration: Registration, audit: Audit, now: datetime) -> None:
        with self._lock:
            self.writes += 1
            current = self.registrations[registration.registration_id]
            if current.erased_at is not None:
                return
            if current.status is not Status.CANCELLED:
                seats = self._events.seats[current.event_id]
                was_registered = current.status is Status.REGISTERED
                self._events.seats[current.event_id] = Seats(
                    registered=seats.registered - was_registered,
                    waitlisted=seats.waitlisted - (not was_registered),
                    cancelled=seats.cancelled + 1,
                )
                self.email_keys.pop((current.event_id, current.email_key), None)
            self.registrations[current.registration_id] = current.model_copy(
                update={
                    "status": Status.CANCELLED,
                    "email": "",
                    "email_key": "",
                    "first_name": "",
                    "last_name": "",
                    "zoom": {
                        s: {k: z[k] for k in ("registrant_id", "meeting") if z.get(k)}
                        for s, z in current.zoom.items()
                        if z.get("registrant_id")
                    },
                    "link_version": current.link_version + 1,
                    "mail_reason": "erased",
                    "updated_at": now,
                    "erased_at": now,
                }
            )
            self.audit.append(
                {
                    "action": audit.action,
                    "registration_id": current.registration_id,
                    "by": audit.by,
                    "at": now,
                }
            )

    def promote_next(
        self, event_id: str, capacity: int | None, now: datetime
    ) -> Registration | None:
        with self._lock:
            waiting = sorted(
                (
                    r
                    for r in self.registrations.values()
                    if r.event_id == event_id and r.status is Status.WAITLISTED
                ),
                key=lambda r: r.registration_id,
            )
            seats = self._events.seats[event_id]
            if not waiting or (capacity is not None and seats.registered >= capacity):
                return None
            self.writes += 1
            head = waiting[0]
            promoted = head.model_copy(
                update={
                    "status": Status.REGISTERED,
                    "mail_seq": head.mail_seq + 1,
                    "mail_reason": "promoted",
                    "mail_requested_at": now,
                    "updated_at": now,
                }
            )
            self.registrations[head.registration_id] = promoted
            self._events.seats[event_id] = Seats(
                registered=seats.registered + 1,
                waitlisted=seats.waitlisted - 1,
                cancelled=seats.cancelled,
            )
            return promoted

    def change(
        self,
        registration: Registration,
        changes: dict[str, Any],
        dropped: list[str],
        now: datetime,
    ) -> Registration:
        with self._lock:
            self.writes += 1
            current = self.registrations[registration.registration_id]
            if (
                current.status is Status.CANCELLED
                or current.link_version != registration.link_version
            ):
                raise Stale()
            clicks = dict(current.clicks)
            for session_id in changes.get("sessions", []):
                clicks.setdefault(session_id, {})
            changed = current.model_copy(
                update={
                    **changes,
                    "clicks": clicks,
                    "updated_at": now,
                    "mail_seq": current.mail_seq + 1,
                    "mail_reason": "updated",
                    "mail_requested_at": now,
                    "calendar_cancel": dropped,
                }
            )
            self.registrations[current.registration_id] = changed
            return changed

    def find_by_email(self, event_id: str, email_key: str) -> str | None:
        return self.email_keys.get((event_id, email_key))

    def replace_sessions(
        self, registration_id: str, sessions: list[str], now: datetime
    ) -> Registration | None:
        with self._lock:
            current = self.registrations.get(registration_id)
            if current is None or current.status is Status.CANCELLED:
                return None
            clicks = {**{s: {} for s in sessions}, **current.clicks}
            updated = current.model_copy(
                update={"sessions": sessions, "clicks": clicks, "updated_at": now}
            )
            self.registrations[registration_id] = updated
            return updated

    def unsubscribe(self, registration_id: str, now: datetime) -> Registration | None:
        with self._lock:
            current = self.registrations.get(registration_id)
            if current is None:
                return None
            status = current.email_status
            if status in (EmailStatus.OK, EmailStatus.UNSUBSCRIBED):
                status = EmailStatus.UNSUBSCRIBED
            updated = current.model_copy(update={"updates": False, "email_status": status})
            self.registrations[registration_id] = updated
            return updated

    def set_email_status(self, registration_id: str, status: EmailStatus, now: datetime) -> None:
        with self._lock:
            found = self.registrations.get(registration_id)
            if found is not None and found.email_status is not EmailStatus.COMPLAINED:
                self.registrations[registration_id] = found.model_copy(
                    update={"email_status": status}
                )

    def count_soft_bounce(self, registration_id: str, now: datetime) -> None:
        with self._lock:
            found = self.registrations.get(registration_id)
            if found is not None:
                self.registrations[registration_id] = found.model_copy(
                    update={"soft_bounces": found.soft_bounces + 1}
                )

    def record_click(
        self,
        registration_id: str,
        session_id: str,
        version: int,
        now: datetime,
        network: str | None = None,
    ) -> Registration:
        with self._lock:
            self.writes += 1
            found = self.registrations.get(registration_id)
            if found is None or not found.admits(session_id, version):
                raise ClickRefused(found)
            times = dict(found.clicks[session_id])
            times.setdefault("first", now)
            times["last"] = now
            networks = found.networks
            if network and network not in networks and len(networks) < MOST_NETWORKS:
                networks = [*networks, network]
            updated = found.model_copy(
                update={"clicks": {**found.clicks, session_id: times}, "networks": networks}
            )
            self.registrations[registration_id] = updated
            return updated

    def flag_shared(self, registration_id: str, now: datetime) -> None:
        with self._lock:
            self.writes += 1
            found = self.registrations.get(registration_id)
            if found is not None:
                self.registrations[registration_id] = found.model_copy(
                    update={"link_shared": True, "updated_at": now}
                )

    # rooms: (event, session, room) -> [seated, closed]
    def room_counts(self, event_id: str, session_id: str) -> dict[str, RoomCount]:
        with self._lock:
            return {
                room: RoomCount(seated, closed)
                for (event, session, room), (seated, closed) in self.rooms.items()
                if (event, session) == (event_id, session_id)
            }

    def move_rooms(self, registration_id: str, event_id: str, moves: Sequence[RoomMove]) -> bool:
        with self._lock:
            self.writes += 1
            found = self.registrations.get(registration_id)
            if found is None:
                return False
            for move in moves:
                if found.rooms.get(move.session_id) != move.old:
                    return False
                if move.new is not None and (
                    found.status is not Status.REGISTERED or move.session_id not in found.sessions
                ):
                    return False
            for move in moves:
                if move.new is None:
                    continue
                seated, closed = self.rooms.get((event_id, move.session_id, move.new), (0, False))
                if closed or (move.capacity is not None and seated >= move.capacity):
                    raise RoomTaken(move.session_id)
            rooms = dict(found.rooms)
            for move in moves:
                if move.old is not None:
                    seated, closed = self.rooms[(event_id, move.session_id, move.old)]
                    self.rooms[(event_id, move.session_id, move.old)] = [seated - 1, closed]
                    rooms.pop(move.session_id, None)
                if move.new is not None:
                    key = (event_id, move.session_id, move.new)
                    seated, closed = self.rooms.get(key, (0, False))
                    self.rooms[key] = [seated + 1, closed]
                    rooms[move.session_id] = move.new
            self.registrations[registration_id] = found.model_copy(update={"rooms": rooms})
            return True

    def close_room(self, event_id: str, session_id: str, room: str, now: datetime) -> None:
        with self._lock:
            seated, _ = self.rooms.get((event_id, session_id, room), (0, False))
            self.rooms[(event_id, session_id, room)] = [seated, True]

    def page(
        self, event_id: str, where: RegistrationFilter, limit: int, cursor: str | None
    ) -> Page:
        if cursor is not None and cursor not in self.registrations:
            raise ValueError("cursor")
        ordered = sorted(
            (r for r in self.registrations.values() if r.event_id == event_id),
            key=lambda r: r.registration_id,
        )
        after = [r for r in ordered if cursor is None or r.registration_id > cursor]
        matching = [r for r in after if where.matches(r)]
        items = matching[:limit]
        more = len(matching) > limit
        return Page(items, items[-1].registration_id if more else None)


class FakeSendLog(SendLog):
    def __init__(self, clock: Clock, lease: timedelta = timedelta(minutes=2)) -> None:
        self.clock = clock
        self.lease = lease
        self.records: dict[tuple[str, EmailRef], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def claim(
        self, registration_id: str, seq: EmailRef, kind: str, now: datetime, event_id: str = ""
    ) -> SendClaim:
        with self._lock:
            record = self.records.get((registration_id, seq))
            if record is not None and not (
                record["state"] == "sending" and record["lease_until"] < now
            ):
                return SendClaim(proceed=False, in_progress=record["state"] == "sending")
            self.records[(registration_id, seq)] = {
                "state": "sending",
                "kind": kind,
                "event_id": event_id,
                "lease_until": now + self.lease,
            }
            return SendClaim(proceed=True)

    def sent(self, registration_id: str, seq: EmailRef, message_id: str, now: datetime) -> None:
        self.records[(registration_id, seq)].update(state="sent", message_id=message_id)

    def failed(self, registration_id: str, seq: EmailRef, reason: str, now: datetime) -> None:
        self.records[(registration_id, seq)].update(state="failed", reason=reason)

    def registration_for(self, message_id: str) -> str | None:
        for (registration_id, _), record in self.records.items():
            if record.get("message_id") == message_id:
                return registration_id
        return None

    def release(self, registration_id: str, seq: EmailRef) -> None:
        with self._lock:
            if self.records.get((registration_id, seq), {}).get("state") == "sending":
                del self.records[(registration_id, seq)]

    def confirm(self, registration_id: str, seq: EmailRef, message_id: str, now: datetime) -> None:
        with self._lock:
            record = self.records.get((registration_id, seq))
            if record is not None and record["state"] == "sending":
                record.update(state="sent", message_id=message_id)

    def not_sent(
        self, registration_id: str, seq: EmailRef, event_id: str, state: str, now: datetime
    ) -> None:
        with self._lock:
            self.records.setdefault((registration_id, seq), {"state": state, "event_id": event_id})

    def outcome(self, message_id: str, outcome: str, now: datetime) -> str | None:
        for (registration_id, _), record in self.records.items():
            if record.get("message_id") == message_id:
                record[outcome] = True
                return registration_id
        return None


class FakeCampaignStore(CampaignStore):
    def __init__(self) -> None:
        self.campaigns: dict[str, Campaign] = {}
        self.advances: list[tuple[str | None, str | None]] = []
        self._lock = threading.Lock()

    def of_event(self, event_id: str, most: int) -> list[Campaign]:
        with self._lock:
            mine = [c for c in self.campaigns.values() if c.event_id == event_id]
        mine.sort(key=lambda c: (c.created_at, c.campaign_id), reverse=True)
        return [c.model_copy(deep=True) for c in mine[:most]]

    def create(self, campaign: Campaign) -> bool:
        with self._lock:
            if campaign.campaign_id in self.campaigns:
                return False
            self.campaigns[campaign.campaign_id] = campaign.model_copy(deep=True)
            return True

    def get(self, campaign_id: str) -> Campaign | None:
        found = self.campaigns.get(campaign_id)
        return found.model_copy(deep=True) if found else None

    def advance(
        self, campaign_id: str, after: str | None, cursor: str | None, counts: dict[str, int]
    ) -> bool:
        with self._lock:
            campaign = self.campaigns.get(campaign_id)
            if (
                campaign is None
                or campaign.cursor != after
                or campaign.fanned_out
                or campaign.status not in ("scheduled", "sending")
            ):
                return False
            changes: dict[str, Any] = {
                "status": "sending",
                "cursor": cursor,
                "fanned_out": cursor is None,
            }
            for name, count in counts.items():
                changes[name] = getattr(campaign, name) + count
            self.campaigns[campaign_id] = campaign.model_copy(update=changes)
            self.advances.append((after, cursor))
            return True

    def set_status(
        self, campaign_id: str, status: str, reason: str | None, only_from: tuple[str, ...]
    ) -> Campaign | None:
        with self._lock:
            campaign = self.campaigns.get(campaign_id)
            if campaign is None or campaign.status not in only_from:
                return None
            changed = campaign.model_copy(update={"status": status, "reason": reason})
            self.campaigns[campaign_id] = changed
            return changed.model_copy(deep=True)

    def note(self, campaign_id: str, reason: str | None) -> None:
        with self._lock:
            campaign = self.campaigns[campaign_id]
            self.campaigns[campaign_id] = campaign.model_copy(update={"reason": reason})


class RateLimitedSes(Mailer):
    """Accepts at most ``rate`` emails a second, like SES: a bucket of ``rate`` tokens
    refilled at ``rate`` a second; a send finding it empty is throttled. ``latency``
    is how long each accepted call takes."""

    def __init__(self, rate: float, latency: float = 0.0) -> None:
        self.rate = rate
        self.latency = latency
        self.tokens = rate
        self.updated = time.monotonic()
        self.sent_at: list[float] = []
        self.throttled = 0
        self._lock = threading.Lock()

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens < 1:
                self.throttled += 1
                raise Throttled("Maximum sending rate exceeded.")
            self.tokens -= 1
            self.sent_at.append(now)
            count = len(self.sent_at)
        if self.latency:
            time.sleep(self.latency)
        return f"paced-{count}"

    def sender_verified(self, address: str) -> bool:
        return True

    def quota(self) -> SendQuota:
        return SendQuota(self.rate, -1, 0)


class FakeRateLimiter(RateLimiter):
    """The counters of ``adapters/limits.py`` in memory."""

    def __init__(self) -> None:
        self.hits: dict[tuple[str, int, str], int] = {}

    def full(self, counted: Counted) -> bool:
        return self.hits.get(self._key(counted), 0) >= counted.limit.requests

    def admit(self, counted: Counted) -> bool:
        if self.full(counted):
            return False
        self.hits[self._key(counted)] = self.hits.get(self._key(counted), 0) + 1
        return True

    @staticmethod
    def _key(counted: Counted) -> tuple[str, int, str]:
        return (counted.limit.name, counted.limit.window(counted.now)[0], counted.address)


class FakeSendPacer(SendPacer):
    """The slots of ``adapters/pacer.py`` in memory, shared by threads."""

    def __init__(self) -> None:
        self.used: dict[int, int] = {}
        self.reservations = 0
        self._lock = threading.Lock()

    def reserve(self, wanted: int, rate: int, now: float, bulk: bool = False) -> list[float]:
        horizon = now + BULK_LOOK_AHEAD if bulk else float("inf")
        with self._lock:
            self.reservations += 1
            second = int(now)
            while second <= horizon:
                start = (
                    max(0, math.ceil(round((now - LATE_OK - second) * rate, 6)))
                    if second <= now
                    else 0
                )
                room = slots_until(horizon, second, rate)
                used = max(self.used.get(second, start), start)
                if used < room:
                    count = min(wanted, room - used)
                    self.used[second] = used + count
                    return [second + p / rate for p in range(used, used + count)]
                second += 1
            return []


class FakeExportStore(ExportStore):
    def __init__(self) -> None:
        self.exports: dict[str, Export] = {}

    def create(self, export: Export, now: datetime) -> None:
        assert export.export_id not in self.exports
        self.exports[export.export_id] = export

    def get(self, export_id: str) -> Export | None:
        return self.exports.get(export_id)

    def finish(self, export_id: str, rows: int, key: str, now: datetime) -> None:
        self.exports[export_id] = replace(
            self.exports[export_id], status="done", rows=rows, key=key
        )

    def fail(self, export_id: str, reason: str, now: datetime) -> None:
        self.exports[export_id] = replace(self.exports[export_id], status="failed", reason=reason)


class FakeExportFiles(ExportFiles):
    """Keeps each file's bytes, and the largest chunk it was handed at once."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.largest_chunk = 0

    def upload(self, key: str, chunks: Iterable[bytes]) -> None:
        data = bytearray()
        for chunk in chunks:
            self.largest_chunk = max(self.largest_chunk, len(chunk))
            data += chunk
        self.files[key] = bytes(data)

    def url(self, key: str, filename: str, seconds: int) -> str:
        return f"https://exports.example/{key}?expires={seconds}&name={filename}"


class FakeStatsStore(StatsStore):
    def __init__(self) -> None:
        self.counters: dict[str, dict[str, int]] = {}
        self.counted: set[str] = set()
        self._lock = threading.Lock()

    def apply(self, event_id: str, changes: list[tuple[str, dict[str, int]]]) -> int:
        new = 0
        with self._lock:
            counters = self.counters.setdefault(event_id, {})
            for change_id, moves in changes:
                if change_id in self.counted:
                    continue
                self.counted.add(change_id)
                new += 1
                for name, count in moves.items():
                    counters[name] = counters.get(name, 0) + count
        return new

    def read(self, event_id: str) -> dict[str, int]:
        return dict(self.counters.get(event_id, {}))


class FakeTokenStore(TokenStore):
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    def put(self, token_hash: str, record: dict[str, Any]) -> None:
        self.records[token_hash] = dict(record)

    def get(self, token_hash: str) -> dict[str, Any] | None:
        return self.records.get(token_hash)

    def all(self) -> list[tuple[str, dict[str, Any]]]:
        return sorted(
            ((h, dict(r)) for h, r in self.records.items()),
            key=lambda pair: (str(pair[1].get("created_at", "")), pair[0]),
        )

    def delete(self, token_hash: str) -> bool:
        return self.records.pop(token_hash, None) is not None


class FakeOrganizerStore(OrganizerStore):
    """The console's organisers in memory; a sign-in record, once used, is gone."""

    def __init__(self) -> None:
        self.organizers: dict[str, Organizer] = {}
        self.sign_ins: dict[str, SignIn] = {}
        self.sessions: dict[str, ConsoleSession] = {}
        self.trails: dict[str, list[AuditEntry]] = {}
        self.drafts: dict[str, DraftMail] = {}
        self.redrive_requests: list[Redrive] = []

    def grant(self, organizer: Organizer, event_id: str, role: str) -> None:
        known = self.organizers.get(organizer.key)
        grants = dict(known.grants) if known else {}
        grants[event_id] = role
        language = known.language if known else organizer.language
        self.organizers[organizer.key] = Organizer(organizer.key, organizer.email, language, grants)

    def revoke(self, organizer_key: str, event_id: str) -> bool:
        known = self.organizers.get(organizer_key)
        if known is None or event_id not in known.grants:
            return False
        grants = {e: r for e, r in known.grants.items() if e != event_id}
        self.organizers[organizer_key] = replace(known, grants=grants)
        return True

    def organizer(self, organizer_key: str) -> Organizer | None:
        return self.organizers.get(organizer_key)

    def set_language(self, organizer_key: str, language: str) -> None:
        known = self.organizers.get(organizer_key)
        if known is not None:
            self.organizers[organizer_key] = replace(known, language=language)

    def organizers_of(self, event_id: str) -> list[tuple[str, str, str]]:
        return sorted(
            (o.key, o.email, o.grants[event_id])
            for o in self.organizers.values()
            if event_id in o.grants
        )

    def start_sign_in(self, sign_in: SignIn) -> None:
        assert sign_in.signin_id not in self.sign_ins
        self.sign_ins[sign_in.signin_id] = sign_in

    def sign_in(self, signin_id: str) -> SignIn | None:
        return self.sign_ins.get(signin_id)

    def sign_in_mailed(self, signin_id: str, now: datetime) -> None:
        if signin_id in self.sign_ins:
            self.sign_ins[signin_id] = replace(self.sign_ins[signin_id], mailed=True)

    def use_sign_in(self, signin_id: str, now: datetime) -> SignIn | None:
        found = self.sign_ins.get(signin_id)
        if found is None or now >= found.expires_at:
            return None
        del self.sign_ins[signin_id]
        return found

    def open_session(self, session: ConsoleSession) -> None:
        self.sessions[session.session_hash] = session

    def session(
        self, session_hash: str, organizer_key: str
    ) -> tuple[ConsoleSession, Organizer] | None:
        found = self.sessions.get(session_hash)
        organizer = self.organizers.get(organizer_key)
        if found is None or organizer is None or found.organizer_key != organizer_key:
            return None
        return found, organizer

    def close_session(self, session_hash: str) -> None:
        self.sessions.pop(session_hash, None)

    def request_redrive(self, redrive: Redrive) -> None:
        self.redrive_requests.append(redrive)

    def redrive_done(self, redrive: Redrive, moved: int | None, failed: str | None) -> None:
        self.redrive_requests = [
            replace(r, moved=moved, failed=failed) if r.redrive_id == redrive.redrive_id else r
            for r in self.redrive_requests
        ]

    def redrives(self, most: int) -> list[Redrive]:
        return list(reversed(self.redrive_requests))[:most]

    def keep_draft(self, draft: DraftMail) -> None:
        self.drafts[draft.draft_id] = draft

    def draft(self, draft_id: str) -> DraftMail | None:
        return self.drafts.get(draft_id)

    def audit(self, event_id: str, entry: AuditEntry) -> None:
        self.trails.setdefault(event_id, []).append(entry)

    def audit_trail(self, event_id: str, most: int) -> list[AuditEntry]:
        return list(reversed(self.trails.get(event_id, [])))[:most]


class FakeDeadLetters(DeadLetters):
    def __init__(self) -> None:
        self.held: dict[str, int] = {}
        self.moved: dict[str, int] = {}  # to the queue each serves

    def counts(self) -> dict[str, int]:
        return dict(self.held)

    def redrive(self, queue: str, most: int) -> int:
        moving = min(most, self.held.get(queue, 0))
        self.held[queue] = self.held.get(queue, 0) - moving
        target = queue.removesuffix("-dlq")
        self.moved[target] = self.moved.get(target, 0) + moving
        return moving


class FakeQueue(JobQueue):
    """Holds each job as its message body would be, a JSON object (as a dict)."""

    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []
        self.fail_indexes: set[int] = set()
        self.delays: list[tuple[str, int]] = []
        self.delayed: list[tuple[dict[str, Any], int]] = []  # jobs sent with a delay

    def send(self, jobs: list[Job], delay_seconds: int = 0) -> list[int]:
        failed = sorted(i for i in self.fail_indexes if i < len(jobs))
        sent = [json.loads(job.message()) for i, job in enumerate(jobs) if i not in failed]
        if delay_seconds:
            self.delayed.extend((job, delay_seconds) for job in sent)
        else:
            self.jobs.extend(sent)
        return failed

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        self.delays.append((receipt_handle, seconds))


class FakeMailer(Mailer):
    """Records what it sends; ``throttle`` / ``reject`` make the next sends fail."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.throttle = 0
        self.reject: str | None = None
        self.paused: str | None = None
        self.verified: set[str] = set()
        self.max_send_rate = 1000.0
        self.max_24_hour_send = -1.0

    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        if self.throttle:
            self.throttle -= 1
            raise Throttled("TooManyRequestsException")
        if self.reject:
            raise Rejected(self.reject)
        if self.paused:
            raise Paused(self.paused)
        message_id = f"fake-{len(self.sent) + 1}"
        self.sent.append(
            {"raw": raw, "sender": sender, "recipient": recipient, "tags": tags, "id": message_id}
        )
        return message_id

    def sender_verified(self, address: str) -> bool:
        return address in self.verified or address.rpartition("@")[2] in self.verified

    def quota(self) -> SendQuota:
        return SendQuota(self.max_send_rate, self.max_24_hour_send, len(self.sent))


class FakeZoom(ZoomClient):
    """Zoom in memory: registrants by (kind, id), duplicate adds return the existing one;
    interpretation by (kind, id), refusing languages neither built in nor among
    ``custom_languages``; panelists by webinar (its interpreters among them)."""

    BUILT_IN = frozenset(
        {"English", "Chinese", "Japanese", "German", "French", "Russian", "Portuguese"}
        | {"Spanish", "Korean"}
    )

    def __init__(self) -> None:
        self.registrants_by: dict[tuple[str, str], dict[str, ZoomRegistrant]] = {}
        self.calls: list[str] = []
        self.fail: ZoomFailure | None = None  # the next call raises this (once)
        self.custom_languages: set[str] = set()
        self.interpretations: dict[tuple[str, str], ZoomInterpretation] = {}
        self.panelists_by: dict[str, dict[str, ZoomPanelist]] = {}

    def _raise(self) -> None:
        if self.fail is not None:
            failure, self.fail = self.fail, None
            raise failure

    def _meeting(self, kind: str, zoom_id: str) -> dict[str, ZoomRegistrant]:
        return self.registrants_by.setdefault((kind, zoom_id), {})

    def add(self, kind: str, zoom_id: str, person: dict[str, str]) -> ZoomRegistrant:
        self.calls.append("add")
        self._raise()
        return self._added(kind, zoom_id, person)

    def _added(self, kind: str, zoom_id: str, person: dict[str, str]) -> ZoomRegistrant:
        meeting = self._meeting(kind, zoom_id)
        email = person["email"].lower()
        if email not in meeting:
            number = sum(len(m) for m in self.registrants_by.values()) + 1
            meeting[email] = ZoomRegistrant(
                person["email"], f"zr{number}", f"https://us06web.zoom.us/w/{zoom_id}?tk={number}"
            )
        return meeting[email]

    def add_many(
        self, kind: str, zoom_id: str, people: list[dict[str, str]]
    ) -> list[ZoomRegistrant]:
        self.calls.append("add_many")
        self._raise()
        assert len(people) <= 30
        return [self._added(kind, zoom_id, person) for person in people]

    def registrants(
        self, kind: str, zoom_id: str, page_token: str = ""
    ) -> tuple[list[ZoomRegistrant], str]:
        self.calls.append("registrants")
        self._raise()
        everyone = list(self._meeting(kind, zoom_id).values())
        start = int(page_token or 0)
        page = everyone[start : start + 300]
        more = start + 300 < len(everyone)
        return page, str(start + 300) if more else ""

    def cancel(self, kind: str, zoom_id: str, registrants: list[ZoomRegistrant]) -> None:
        self.calls.append("cancel")
        self._raise()
        meeting = self._meeting(kind, zoom_id)
        for registrant in registrants:  # by id, as Zoom does (an erased one has no email)
            for email, there in list(meeting.items()):
                if there.registrant_id == registrant.registrant_id:
                    del meeting[email]

    def set_interpretation(
        self, kind: str, zoom_id: str, interpretation: ZoomInterpretation
    ) -> None:
        self.calls.append("set_interpretation")
        self._raise()
        for interpreter in interpretation.interpreters:
            for language in interpreter.languages:
                if language not in self.BUILT_IN | self.custom_languages:
                    raise ZoomLanguageUndefined(
                        language, f"Invalid interpreter language: {language}"
                    )
        self.interpretations[(kind, zoom_id)] = interpretation
        if kind == "webinar":
            webinar = self.panelists_by.setdefault(zoom_id, {})
            for interpreter in interpretation.interpreters:
                if interpreter.email.lower() not in webinar:
                    self._new_panelist(zoom_id, interpreter.email.split("@")[0], interpreter.email)

    def _new_panelist(self, webinar_id: str, name: str, email: str) -> None:
        number = sum(len(w) for w in self.panelists_by.values()) + 1
        self.panelists_by.setdefault(webinar_id, {})[email.lower()] = ZoomPanelist(
            f"zp{number}", email, name
        )

    def panelists(self, webinar_id: str) -> list[ZoomPanelist]:
        self.calls.append("panelists")
        self._raise()
        return list(self.panelists_by.get(webinar_id, {}).values())

    def add_panelists(self, webinar_id: str, people: Sequence[dict[str, str]]) -> None:
        self.calls.append("add_panelists")
        self._raise()
        for person in people:
            if person["email"].lower() not in self.panelists_by.get(webinar_id, {}):
                self._new_panelist(webinar_id, person["name"], person["email"])

    def remove_panelist(self, webinar_id: str, panelist_id: str) -> None:
        self.calls.append("remove_panelist")
        self._raise()
        webinar = self.panelists_by.get(webinar_id, {})
        for email, panelist in list(webinar.items()):
            if panelist.panelist_id == panelist_id:
                del webinar[email]
                return
        raise ZoomFailure("rejected", f"HTTP 404 code 404: Panelist does not exist: {panelist_id}.")


class FakeZoomStore(ZoomStore):
    def __init__(self, registrations: FakeRegistrationStore) -> None:
        self._registrations = registrations
        self.sessions: dict[str, ZoomSession] = {}
        self.events: set[str] = set()
        self.webhooks: dict[str, str] = {}
        self.seen: dict[tuple[str, str], int] = {}
        self.registrants: dict[str, str] = {}
        self.attendance: list[tuple[str | None, str, str]] = []
        self.full: set[tuple[str, str]] = set()
        self.setup: dict[tuple[str, str, str], dict[str, Any]] = {}

    def map_event(self, event: Event) -> None:
        for session in event.sessions:
            for link in session.zoom_links:
                self.events.add(event.id)
                self.sessions[link.id] = ZoomSession(event.id, session.id)

    def session_for(self, zoom_id: str) -> ZoomSession | None:
        return self.sessions.get(zoom_id)

    def event_ids(self) -> list[str]:
        return sorted(self.events)

    def record_webhook(self, digest: str, body: str, now: datetime) -> bool:
        if digest in self.webhooks:
            return False
        self.webhooks[digest] = body
        return True

    def forget_webhook_body(self, digest: str, now: datetime) -> None:
        if digest in self.webhooks:
            self.webhooks[digest] = ""

    def newer(self, zoom_id: str, subject: str, event_ts: int, action: str) -> bool:
        if self.seen.get((zoom_id, subject), -1) >= event_ts:
            return False
        self.seen[(zoom_id, subject)] = event_ts
        return True

    def registration_for_registrant(self, registrant_id: str) -> str | None:
        return self.registrants.get(registrant_id)

    def _update(self, registration_id: str, **changes: Any) -> None:
        store = self._registrations
        current = store.registrations[registration_id]
        store.registrations[registration_id] = current.model_copy(update=changes)

    def claim_adds(
        self,
        registration_id: str,
        session_ids: Sequence[str],
        day: str,
        max_per_day: int,
        now: datetime,
    ) -> bool:
        current = self._registrations.registrations[registration_id]
        keys = {f"{session_id}@{day}": session_id for session_id in session_ids}
        if any(current.zoom_tries.get(key, 0) >= max_per_day for key in keys):
            return False
        self._update(
            registration_id,
            zoom_tries={
                **current.zoom_tries,
                **{key: current.zoom_tries.get(key, 0) + 1 for key in keys},
            },
            zoom_sync={**current.zoom_sync, **{s: {"state": "sending"} for s in session_ids}},
        )
        return True

    def release_add(self, registration_id: str, session_id: str, day: str) -> None:
        current = self._registrations.registrations[registration_id]
        key = f"{session_id}@{day}"
        if current.zoom_tries.get(key, 0) > 0:
            self._update(
                registration_id, zoom_tries={**current.zoom_tries, key: current.zoom_tries[key] - 1}
            )

    def synced(
        self,
        registration_id: str,
        registrants: Mapping[str, tuple[ZoomRegistrant, str]],
        now: datetime,
    ) -> None:
        current = self._registrations.registrations[registration_id]
        self._update(
            registration_id,
            zoom={
                **current.zoom,
                **{
                    session_id: {
                        "registrant_id": registrant.registrant_id,
                        "join_url": registrant.join_url,
                        "meeting": meeting,
                    }
                    for session_id, (registrant, meeting) in registrants.items()
                },
            },
            zoom_sync={
                **current.zoom_sync,
                **{
                    session_id: {"state": "synced", "meeting": meeting}
                    for session_id, (_, meeting) in registrants.items()
                },
            },
        )
        for registrant, _ in registrants.values():
            self.registrants[registrant.registrant_id] = registration_id

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
        current = self._registrations.registrations[registration_id]
        record = {"state": state, "meeting": meeting, **({"reason": reason} if reason else {})}
        self._update(registration_id, zoom_sync={**current.zoom_sync, session_id: record})

    def forget(self, registration_id: str, session_id: str, now: datetime) -> None:
        current = self._registrations.registrations[registration_id]
        zoom = {k: v for k, v in current.zoom.items() if k != session_id}
        self._update(
            registration_id,
            zoom=zoom,
            zoom_sync={**current.zoom_sync, session_id: {"state": "cancelled"}},
        )

    def attended(
        self,
        registration_id: str | None,
        event_id: str,
        session_id: str,
        participant: dict,
        now: datetime,
    ) -> None:
        self.attendance.append((registration_id, event_id, session_id))
        if registration_id is not None:
            current = self._registrations.registrations[registration_id]
            joined = str(participant.get("join_time") or now.isoformat())
            # Earliest first join, latest last join, whatever the delivery order.
            first = min(joined, current.attended.get(session_id, joined))
            last = max(joined, current.attended_last.get(session_id, joined))
            self._update(
                registration_id,
                attended={**current.attended, session_id: first},
                attended_last={**current.attended_last, session_id: last},
            )

    def session_full(self, event_id: str, session_id: str, now: datetime) -> None:
        self.full.add((event_id, session_id))

    def zoom_setup(
        self, event_id: str, rooms: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (session_id, room): json.loads(json.dumps(self.setup[(event_id, session_id, room)]))
            for session_id, room in rooms
            if (event_id, session_id, room) in self.setup
        }

    def record_setup(
        self,
        event_id: str,
        session_id: str,
        room: str,
        part: str,
        record: dict[str, Any],
        now: datetime,
    ) -> None:
        assert part in ("interpretation", "panelists")
        kept = self.setup.setdefault((event_id, session_id, room), {})
        kept[part] = json.loads(json.dumps({**record, "at": now.isoformat()}))


ZOOM_CREDENTIALS = ZoomCredentials("acct", "client", "secret")
ZOOM_WEBHOOK_TOKEN = "zoom-webhook-secret"


def fake_majlis(clock: Clock | None = None, **settings: Any) -> Services:
    clock = clock or Clock()
    events = FakeEventStore()
    registrations = FakeRegistrationStore(events)
    events.campaigns = campaigns = FakeCampaignStore()
    config = Settings(**settings)
    return Services(
        settings=config,
        events=events,
        registrations=registrations,
        send_log=FakeSendLog(clock, timedelta(seconds=config.send_lease_seconds)),
        campaigns=campaigns,
        exports=FakeExportStore(),
        export_files=FakeExportFiles(),
        stats=FakeStatsStore(),
        tokens=FakeTokenStore(),
        organizers=FakeOrganizerStore(),
        mail_queue=FakeQueue(),
        announcement_queue=FakeQueue(),
        campaign_queue=FakeQueue(),
        export_queue=FakeQueue(),
        mailer=FakeMailer(),
        pacer=FakeSendPacer(),
        limiter=registrations.limiter,
        seat_hint=ContainerSeatHint(),
        keys=StaticKeys(TEST_KEYS),
        zoom=FakeZoom(),
        zoom_store=FakeZoomStore(registrations),
        zoom_queue=FakeQueue(),
        zoom_dead_letters=FakeQueue(),
        dead_letters=FakeDeadLetters(),
        zoom_credentials=lambda: ZOOM_CREDENTIALS,
        zoom_webhook_token=lambda: ZOOM_WEBHOOK_TOKEN,
        clock=clock,
    )
