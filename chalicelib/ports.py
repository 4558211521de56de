"""The small abstract interfaces the use cases depend on, and :class:`Services`, the set
of them a use case is given.

``chalicelib/adapters`` implements them on AWS (``bootstrap.py`` wires them);
``tests/fakes.py`` implements them in memory so the rules can be tested without moto.
The errors below are part of the contract: adapters translate their own failures into
them. Use cases depend on this module and ``domain/``, never on an adapter, on
``bootstrap`` or on an entrypoint.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.events import Event
from chalicelib.domain.limits import Limit
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
    Status,
)

if TYPE_CHECKING:  # campaign models and link signing stay out of a registration's cold start
    from chalicelib.config import Settings
    from chalicelib.domain.campaigns import Campaign, CampaignStatus
    from chalicelib.jobs import Job
    from chalicelib.signed_links import Keys


class AlreadyRegistered(Exception):
    """This email already has an active registration for the event."""

    def __init__(self, registration_id: str) -> None:
        super().__init__(registration_id)
        self.registration_id = registration_id


class SeatsChanged(Exception):
    """The seat rule did not hold for the status tried: try the other one."""


class StoreBusy(Exception):
    """The store was throttled or conflicted past our retries; the client may retry."""


class Stale(Exception):
    """What the caller read has changed since: retrying the same change cannot work."""


@dataclass(frozen=True)
class RoomCount:
    """A room's seat counter: how many are seated in it, and whether Zoom said it was
    full (then nobody new is seated in it, whatever its capacity)."""

    seated: int = 0
    closed: bool = False


@dataclass(frozen=True)
class RoomMove:
    """One session's change of room for a registration: from ``old`` (None: seated in
    none) to ``new`` (None: leaves), taking a seat of ``capacity`` (None: no cap)."""

    session_id: str
    old: str | None
    new: str | None
    capacity: int | None = None


class RoomTaken(Exception):
    """The room chosen for ``session_id`` had no seat left (or was closed)."""

    def __init__(self, session_id: str) -> None:
        super().__init__(session_id)
        self.session_id = session_id


@dataclass(frozen=True)
class Counted:
    """One request from ``address`` to count against ``limit`` (usecases/limits.py)."""

    limit: Limit
    address: str
    now: datetime


class OverLimit(Exception):
    """The window of ``counted``'s rate limit is full: nothing was written."""

    def __init__(self, counted: Counted) -> None:
        super().__init__(counted.limit.name)
        self.counted = counted


class ClickRefused(Exception):
    """A join link's click was refused; ``registration`` says why (None: no such one)."""

    def __init__(self, registration: Registration | None) -> None:
        super().__init__(registration.registration_id if registration else None)
        self.registration = registration


class Throttled(Exception):
    """A downstream service asked us to slow down; retry the work later."""


class Unsure(Exception):
    """A downstream call whose outcome is unknown (a 5xx, an answer lost on the way):
    the work may have been done. It is not simply retried: what the service reports
    afterwards (SES's events) tells whether it was."""


class Rejected(Exception):
    """A downstream service refused the work for good; retrying cannot help."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Page:
    items: list[Registration]
    cursor: str | None


@dataclass(frozen=True)
class Audit:
    """An organiser's action on a registration, recorded without personal data."""

    action: str  # "erased"
    by: str  # the organizer token's id, never the token


class EventStore(abc.ABC):
    @abc.abstractmethod
    def get(self, event_id: str, fresh: bool = False) -> Event | None:
        """The event; ``fresh`` skips any cache (when a decision rests on its capacity or
        its revision)."""

    @abc.abstractmethod
    def put(self, event: Event, now: datetime) -> bool:
        """Store the event as it is, whatever is stored; True when it was new. Creates its
        seat counter once. (Seeding and tests; organisers' changes go through save.)"""

    @abc.abstractmethod
    def save(
        self, event: Event, expected: int | None, notice: Campaign | None, now: datetime
    ) -> bool:
        """Store the event (at its own ``revision``) on condition that the stored one is
        at revision ``expected`` (None: that there is none), with ``notice`` (the
        campaign telling registrants of the change) in the same write. False when the
        condition failed: someone saved the event meanwhile."""

    @abc.abstractmethod
    def ids(self) -> list[str]:
        """Every event's id (for the schedules that go through them all)."""


class RegistrationStore(abc.ABC):
    @abc.abstractmethod
    def add(
        self, registration: Registration, capacity: int | None, counted: Sequence[Counted] = ()
    ) -> None:
        """Store a new registration atomically with its email key, seat count and the
        rate-limit counters of ``counted`` (the same single write).

        Raises AlreadyRegistered, OverLimit, SeatsChanged (the seat rule does not hold
        for ``registration.status``) or StoreBusy.
        """

    @abc.abstractmethod
    def get(self, registration_id: str, consistent: bool = False) -> Registration | None: ...

    @abc.abstractmethod
    def get_many(self, registration_ids: list[str]) -> dict[str, Registration]:
        """Those of the registrations that exist, by id (strongly consistent reads)."""

    @abc.abstractmethod
    def request_mail(
        self, registration_id: str, reason: str, now: datetime, not_since: datetime
    ) -> Status | None:
        """Owe the registrant another email unless one was requested after ``not_since``.

        Returns the registration's status, or None when it is gone or cancelled.
        """

    @abc.abstractmethod
    def confirm(
        self, registration: Registration, status: Status, capacity: int | None, now: datetime
    ) -> bool:
        """Confirm a pending registration as ``status`` (registered or waitlisted), as one
        transaction with its seat: it no longer expires, and its confirmation is owed.

        False when it is no longer pending at that link version (confirmed already,
        cancelled, or gone). Raises SeatsChanged (the seat rule does not hold for
        ``status``) or StoreBusy.
        """

    @abc.abstractmethod
    def forget_pending(self, registration: Registration) -> bool:
        """Delete a pending registration and its email key, if it is still pending;
        whether it was."""

    @abc.abstractmethod
    def expire_pending(self, now: datetime, most: int) -> int:
        """Delete up to ``most`` pending registrations (of any event) whose time to be
        confirmed is over, with their email keys; returns how many."""

    @abc.abstractmethod
    def cancel(self, registration: Registration, now: datetime) -> Registration:
        """Cancel, as one transaction: the registration (its links revoked, a last email
        owed), its email key (so the address may register again) and the seat counter.

        ``registration`` is what the caller read; if it changed meanwhile the store
        reads it again. Returns the cancelled registration. Raises StoreBusy.
        """

    @abc.abstractmethod
    def erase(self, registration: Registration, audit: Audit, now: datetime) -> None:
        """Erase the registrant's personal data (email, names, Zoom join URLs) as one
        transaction with its cancellation when it is active (links revoked, email key
        and seat freed; no email owed) and an ``audit`` record without personal data.
        Raises StoreBusy."""

    @abc.abstractmethod
    def promote_next(
        self, event_id: str, capacity: int | None, now: datetime
    ) -> Registration | None:
        """Give a free seat to the first person waiting, atomically (seat and status in one
        transaction); None when no seat is free or nobody waits."""

    @abc.abstractmethod
    def change(
        self,
        registration: Registration,
        changes: dict[str, Any],
        dropped: list[str],
        now: datetime,
    ) -> Registration:
        """Apply a registrant's changes (language, timezone, sessions) and owe them an
        email with the updated calendar (``dropped`` sessions to cancel). Raises Stale
        when the registration was cancelled or its links replaced since it was read."""

    @abc.abstractmethod
    def find_by_email(self, event_id: str, email_key: str) -> str | None:
        """The id of the active registration of this address for the event, if any."""

    @abc.abstractmethod
    def replace_sessions(
        self, registration_id: str, sessions: list[str], now: datetime
    ) -> Registration | None:
        """Set the sessions (Zoom said so): no email owed; None if cancelled or gone."""

    @abc.abstractmethod
    def unsubscribe(self, registration_id: str, now: datetime) -> Registration | None:
        """No more announcements (``updates`` false); bounced or complained stay so."""

    @abc.abstractmethod
    def set_email_status(self, registration_id: str, status: EmailStatus, now: datetime) -> None:
        """Mark the registrant's address; a complaint is never overwritten by a bounce."""

    @abc.abstractmethod
    def count_soft_bounce(self, registration_id: str, now: datetime) -> None: ...

    @abc.abstractmethod
    def record_click(
        self,
        registration_id: str,
        session_id: str,
        version: int,
        now: datetime,
        network: str | None = None,
    ) -> Registration:
        """Record a join click (first and last per session, and the client ``network``
        among the registration's while it holds fewer than MOST_NETWORKS) and return the
        registration.

        Only for a registered registration holding that session at that link version;
        otherwise raises ClickRefused with the registration as it is.
        """

    @abc.abstractmethod
    def flag_shared(self, registration_id: str, now: datetime) -> None:
        """Mark the registration's join links as shared (``link_shared``)."""

    @abc.abstractmethod
    def room_counts(self, event_id: str, session_id: str) -> dict[str, RoomCount]:
        """The seat counters of a session's rooms, by room key (read consistently)."""

    @abc.abstractmethod
    def move_rooms(self, registration_id: str, event_id: str, moves: Sequence[RoomMove]) -> bool:
        """Seat the registration as ``moves`` say, in one transaction with the rooms'
        counters: a new room only while it has a seat and is open, and only while the
        registration is registered for that session and in each ``old`` room still.
        Returns False when the registration is not as the moves assume (read it again);
        raises RoomTaken when a new room has no seat left."""

    @abc.abstractmethod
    def close_room(self, event_id: str, session_id: str, room: str, now: datetime) -> None:
        """Zoom said the room is full: seat nobody new in it."""

    @abc.abstractmethod
    def page(
        self, event_id: str, where: RegistrationFilter, limit: int, cursor: str | None
    ) -> Page:
        """Registrations of an event, oldest first. Raises ValueError on a bad cursor."""

    def every(
        self, event_id: str, where: RegistrationFilter, page_size: int = 500
    ) -> Iterator[Registration]:
        """Every registration of an event that ``where`` matches, oldest first, a page
        at a time (for a count or a sync that needs no checkpoint)."""
        cursor: str | None = None
        while True:
            page = self.page(event_id, where, page_size, cursor)
            yield from page.items
            if page.cursor is None:
                return
            cursor = page.cursor


@dataclass(frozen=True)
class CampaignEmail:
    """The email a campaign (an announcement or a reminder) owes one recipient."""

    campaign_id: str


# Which email of a registration a send record is for: its own (the registration's
# ``mail_seq`` when it was owed) or a campaign's.
EmailRef = int | CampaignEmail


@dataclass(frozen=True)
class SendClaim:
    """The outcome of claiming the right to send one email."""

    proceed: bool  # False: already sent (or failed for good): nothing to do
    in_progress: bool = False  # another worker holds a live claim: retry later


class SendLog(abc.ABC):
    """One record per email owed, written before sending and completed after."""

    @abc.abstractmethod
    def claim(
        self, registration_id: str, seq: EmailRef, kind: str, now: datetime, event_id: str = ""
    ) -> SendClaim: ...

    @abc.abstractmethod
    def sent(self, registration_id: str, seq: EmailRef, message_id: str, now: datetime) -> None: ...

    @abc.abstractmethod
    def failed(self, registration_id: str, seq: EmailRef, reason: str, now: datetime) -> None: ...

    @abc.abstractmethod
    def registration_for(self, message_id: str) -> str | None:
        """The registration an SES message id was sent to, if Majlis sent it."""

    @abc.abstractmethod
    def release(self, registration_id: str, seq: EmailRef) -> None:
        """Give a claim back after a retryable failure, so a retry can take it at once."""

    @abc.abstractmethod
    def confirm(self, registration_id: str, seq: EmailRef, message_id: str, now: datetime) -> None:
        """SES accepted this email: a claim still open becomes ``sent``."""

    @abc.abstractmethod
    def not_sent(
        self, registration_id: str, seq: EmailRef, event_id: str, state: str, now: datetime
    ) -> None:
        """Record that this email was owed but is not sent: ``suppressed`` (the address
        bounced, complained or unsubscribed) or ``skipped`` (no longer in the audience)."""

    @abc.abstractmethod
    def outcome(self, message_id: str, outcome: str, now: datetime) -> str | None:
        """Flag what SES reported (delivered, bounced, complained) on the email's record;
        returns its registration id, or None when Majlis did not send it."""


class CampaignStore(abc.ABC):
    @abc.abstractmethod
    def of_event(self, event_id: str, most: int) -> list[Campaign]:
        """The event's latest campaigns, newest first."""

    @abc.abstractmethod
    def create(self, campaign: Campaign) -> bool:
        """Store a new campaign; False when one with its id exists (a reminder made
        before)."""

    @abc.abstractmethod
    def get(self, campaign_id: str) -> Campaign | None: ...

    @abc.abstractmethod
    def advance(
        self,
        campaign_id: str,
        after: str | None,
        cursor: str | None,
        counts: dict[str, int],
    ) -> bool:
        """Record one fan-out page: on condition that the checkpoint is still ``after``
        and the campaign is not cancelled, move it to ``cursor`` (None: every page is
        queued) and add ``counts`` (recipients, queued, suppressed). False when the
        condition failed: another worker got there first, or the campaign was cancelled."""

    @abc.abstractmethod
    def set_status(
        self,
        campaign_id: str,
        status: CampaignStatus,
        reason: str | None,
        only_from: tuple[CampaignStatus, ...],
    ) -> Campaign | None:
        """Set the status if it is one of ``only_from``; returns the campaign after, or
        None when it is gone or its status was not one of them."""

    @abc.abstractmethod
    def note(self, campaign_id: str, reason: str | None) -> None:
        """Show organisers why sending is held up (None: it is not any more)."""


@dataclass(frozen=True)
class Export:
    export_id: str
    event_id: str
    filters: dict[str, str]  # the query string's filters, as given
    status: str = "running"  # running, done, failed
    rows: int = 0
    key: str = ""  # the file in the exports bucket, once done
    reason: str = ""


class ExportStore(abc.ABC):
    @abc.abstractmethod
    def create(self, export: Export, now: datetime) -> None: ...

    @abc.abstractmethod
    def get(self, export_id: str) -> Export | None: ...

    @abc.abstractmethod
    def finish(self, export_id: str, rows: int, key: str, now: datetime) -> None: ...

    @abc.abstractmethod
    def fail(self, export_id: str, reason: str, now: datetime) -> None: ...


class ExportFiles(abc.ABC):
    @abc.abstractmethod
    def upload(self, key: str, chunks: Iterable[bytes]) -> None:
        """Write the chunks as one file, streamed: they never all sit in memory."""

    @abc.abstractmethod
    def url(self, key: str, filename: str, seconds: int) -> str:
        """A link that downloads the file for ``seconds``."""


class StatsStore(abc.ABC):
    """Counters per event (see ``domain/stats.py``), each change counted exactly once."""

    @abc.abstractmethod
    def apply(self, event_id: str, changes: list[tuple[str, dict[str, int]]]) -> int:
        """Add each change's counter moves unless its id was counted before; returns how
        many were new. Raises StoreBusy when the counters stay contended."""

    @abc.abstractmethod
    def read(self, event_id: str) -> dict[str, int]: ...


class TokenStore(abc.ABC):
    @abc.abstractmethod
    def put(self, token_hash: str, record: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def get(self, token_hash: str) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def all(self) -> list[tuple[str, dict[str, Any]]]:
        """Every token's hash and record, oldest first."""

    @abc.abstractmethod
    def delete(self, token_hash: str) -> bool:
        """Forget the token: False when there was none."""


class OrganizerStore(abc.ABC):
    """The console's organisers, their one-time sign-in links, sessions and audit trail
    (``domain/organizers.py``)."""

    @abc.abstractmethod
    def grant(self, organizer: Organizer, event_id: str, role: str) -> None:
        """Give ``organizer`` (created if new, keeping their other grants) ``role`` on
        ``event_id``: on their record and in the event's list, together."""

    @abc.abstractmethod
    def revoke(self, organizer_key: str, event_id: str) -> bool:
        """Take away their grant on ``event_id``; False when they had none."""

    @abc.abstractmethod
    def organizer(self, organizer_key: str) -> Organizer | None: ...

    @abc.abstractmethod
    def set_language(self, organizer_key: str, language: str) -> None: ...

    @abc.abstractmethod
    def organizers_of(self, event_id: str) -> list[tuple[str, str, str]]:
        """The event's organisers: (key, address, role), in key order."""

    @abc.abstractmethod
    def start_sign_in(self, sign_in: SignIn) -> None:
        """Keep a one-time link's record (the outbox then emails the link)."""

    @abc.abstractmethod
    def sign_in(self, signin_id: str) -> SignIn | None:
        """The link's record, unused and whatever its expiry, or None."""

    @abc.abstractmethod
    def sign_in_mailed(self, signin_id: str, now: datetime) -> None:
        """Note that the link went out (nothing, if it was used or is gone)."""

    @abc.abstractmethod
    def use_sign_in(self, signin_id: str, now: datetime) -> SignIn | None:
        """Use the link up (once: a second use, or a use after expiry, gets None)."""

    @abc.abstractmethod
    def open_session(self, session: ConsoleSession) -> None: ...

    @abc.abstractmethod
    def session(
        self, session_hash: str, organizer_key: str
    ) -> tuple[ConsoleSession, Organizer] | None:
        """The session and its organiser, read together; None unless both exist and
        the session is that organiser's."""

    @abc.abstractmethod
    def close_session(self, session_hash: str) -> None: ...

    @abc.abstractmethod
    def request_redrive(self, redrive: Redrive) -> None:
        """Keep an operator's request (the outbox queues the move)."""

    @abc.abstractmethod
    def redrive_done(self, redrive: Redrive, moved: int | None, failed: str | None) -> None: ...

    @abc.abstractmethod
    def redrives(self, most: int) -> list[Redrive]:
        """The latest requests, newest first."""

    @abc.abstractmethod
    def keep_draft(self, draft: DraftMail) -> None:
        """Keep a draft to send to its organiser (the outbox then queues it)."""

    @abc.abstractmethod
    def draft(self, draft_id: str) -> DraftMail | None: ...

    @abc.abstractmethod
    def audit(self, event_id: str, entry: AuditEntry) -> None: ...

    @abc.abstractmethod
    def audit_trail(self, event_id: str, most: int) -> list[AuditEntry]:
        """The event's audit trail, newest first."""


class RateLimiter(abc.ABC):
    @abc.abstractmethod
    def admit(self, counted: Counted) -> bool:
        """Count one request; False once its window is full. A limiter that cannot
        count admits: it never turns people away on its own."""


@dataclass(frozen=True)
class Delivery:
    """One delivery of a queued job: what a worker needs to have it delivered again."""

    message_id: str
    receipt_handle: str
    receive_count: int  # 1 the first time


class JobQueue(abc.ABC):
    @abc.abstractmethod
    def send(self, jobs: list[Job], delay_seconds: int = 0) -> list[int]:
        """Queue jobs (delivered no sooner than ``delay_seconds``, at most 900); returns
        the indexes of those that could not be queued."""

    @abc.abstractmethod
    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        """Deliver a received message again after ``seconds`` (not before)."""


class DeadLetters(abc.ABC):
    """The dead-letter queues, as the console shows them."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """How many messages each holds, by queue name (``majlis-mail-dlq`` …)."""

    @abc.abstractmethod
    def redrive(self, queue: str, most: int) -> int:
        """Move up to ``most`` of ``queue``'s messages back to the queue it serves (its
        name without ``-dlq``); returns how many. Each is sent before it is deleted: a
        failure midway leaves one in both queues (the workers are idempotent)."""


class Paused(Exception):
    """The provider stopped all sending for now (paused, suspended, daily quota spent)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SendQuota:
    max_send_rate: float  # emails (recipients) per second, the whole account
    max_24_hour_send: float  # -1: unlimited
    sent_last_24_hours: float

    @property
    def left_today(self) -> float:
        if self.max_24_hour_send < 0:
            return float("inf")
        return self.max_24_hour_send - self.sent_last_24_hours


class Mailer(abc.ABC):
    @abc.abstractmethod
    def send(self, raw: bytes, sender: str, recipient: str, tags: dict[str, str]) -> str:
        """Send one raw MIME message; returns the provider's message id.

        Raises Throttled (retry later), Paused (retry much later) or Rejected (never).
        """

    @abc.abstractmethod
    def sender_verified(self, address: str) -> bool: ...

    @abc.abstractmethod
    def quota(self) -> SendQuota:
        """The account's sending quota as the provider reports it now (may be cached)."""


# How late a send's turn may still be taken. SES's limiter allows a second's worth at
# once, so a tenth of a second of lateness (scheduling, a store's round trip) costs
# nothing, and a worker does not give up its turns and ask again at every jitter.
LATE_OK = 0.1


# Seconds ahead an announcement may take a turn (transactional mail: two minutes).
BULK_LOOK_AHEAD = 1.0


def slots_until(horizon: float, second: int, rate: int) -> int:
    """How many of ``second``'s slots (slot p is due at ``second + p / rate``) are due
    by ``horizon``."""
    if horizon - second >= 1:
        return rate
    return max(0, min(rate, math.floor(round((horizon - second) * rate, 3)) + 1))


class SendPacer(abc.ABC):
    """One send rate shared by every worker (see ``adapters/dynamo/pacer.py``)."""

    @abc.abstractmethod
    def reserve(self, wanted: int, rate: int, now: float, bulk: bool = False) -> list[float]:
        """Reserve up to ``wanted`` of the next sends allowed at ``rate`` per second for
        all workers together; returns the epoch time at which each may be sent.

        ``bulk`` (announcements): only turns due at most :data:`BULK_LOOK_AHEAD`
        seconds from now, so that transactional mail always finds turns that soon and
        takes every turn beyond; an empty list when there are none that close."""


# -- Zoom --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoomRegistrant:
    email: str
    registrant_id: str
    join_url: str


class ZoomFailure(Exception):
    """A Zoom call that did not work, by what to do about it:

    ``rate_limited`` (retry after ``retry_after`` or a backoff), ``unavailable`` (5xx,
    timeout: back off), ``daily_limit`` (this registrant's adds are used up until 00:00
    UTC), ``full`` (code 3043: the session holds no more registrants), ``auth`` (the
    token was refused) and ``rejected`` (any other 4xx: retrying cannot help).
    """

    def __init__(self, kind: str, reason: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason
        self.retry_after = retry_after

    @property
    def permanent(self) -> bool:
        return self.kind in ("auth", "rejected")


@dataclass(frozen=True)
class ZoomInterpreter:
    """An interpreter of a meeting or webinar, between two of Zoom's languages, by name
    ("Arabic", "English"): built in, or custom languages of the account."""

    email: str
    languages: tuple[str, str]


@dataclass(frozen=True)
class ZoomInterpretation:
    """A meeting's or webinar's ``settings.language_interpretation``."""

    enable: bool
    interpreters: tuple[ZoomInterpreter, ...] = ()


@dataclass(frozen=True)
class ZoomPanelist:
    panelist_id: str
    email: str
    name: str


class ZoomLanguageUndefined(ZoomFailure):
    """Zoom refused a language the account does not define (a ``rejected`` failure:
    nothing changes until an organiser creates it in Zoom's web portal)."""

    def __init__(self, language: str, reason: str) -> None:
        super().__init__("rejected", reason)
        self.language = language


class ZoomClient(abc.ABC):
    @abc.abstractmethod
    def add(self, kind: str, zoom_id: str, person: dict[str, str]) -> ZoomRegistrant: ...

    @abc.abstractmethod
    def add_many(
        self, kind: str, zoom_id: str, people: list[dict[str, str]]
    ) -> list[ZoomRegistrant]:
        """Up to 30 people in one call (Zoom's batch registration)."""

    @abc.abstractmethod
    def registrants(
        self, kind: str, zoom_id: str, page_token: str = ""
    ) -> tuple[list[ZoomRegistrant], str]:
        """One page of the approved registrants, and the token of the next ("" at the end)."""

    @abc.abstractmethod
    def cancel(self, kind: str, zoom_id: str, registrants: list[ZoomRegistrant]) -> None: ...

    @abc.abstractmethod
    def set_interpretation(
        self, kind: str, zoom_id: str, interpretation: ZoomInterpretation
    ) -> None:
        """Set the meeting's or webinar's language interpretation, whole. Raises
        ZoomLanguageUndefined (naming the first language Zoom refused; nothing is changed)."""

    @abc.abstractmethod
    def panelists(self, webinar_id: str) -> list[ZoomPanelist]:
        """Every panelist of the webinar (its interpreters among them)."""

    @abc.abstractmethod
    def add_panelists(self, webinar_id: str, people: Sequence[dict[str, str]]) -> None:
        """Make these people (``name``, ``email``) panelists; one already is stays one."""

    @abc.abstractmethod
    def remove_panelist(self, webinar_id: str, panelist_id: str) -> None: ...


@dataclass(frozen=True)
class ZoomSession:
    event_id: str
    session_id: str


class ZoomStore(abc.ABC):
    """What Majlis keeps about Zoom: id mappings, webhook records, sync state, attendance."""

    @abc.abstractmethod
    def map_event(self, event: Event) -> None:
        """Remember which event session each Zoom meeting or webinar is, and the event."""

    @abc.abstractmethod
    def session_for(self, zoom_id: str) -> ZoomSession | None: ...

    @abc.abstractmethod
    def event_ids(self) -> list[str]: ...

    @abc.abstractmethod
    def record_webhook(self, digest: str, body: str, now: datetime) -> bool:
        """Keep a verified webhook once (False: already received); the stream relays it."""

    @abc.abstractmethod
    def forget_webhook_body(self, digest: str, now: datetime) -> None:
        """Drop a relayed webhook's body (it may name a person), keeping its digest: a
        resent webhook is still received once."""

    @abc.abstractmethod
    def newer(self, zoom_id: str, subject: str, event_ts: int, action: str) -> bool:
        """True if this event is newer than any applied for (meeting, registrant): apply it.

        Recording the newest makes a duplicate or a late, older event change nothing.
        """

    @abc.abstractmethod
    def registration_for_registrant(self, registrant_id: str) -> str | None: ...

    @abc.abstractmethod
    def claim_adds(
        self,
        registration_id: str,
        session_ids: Sequence[str],
        day: str,
        max_per_day: int,
        now: datetime,
    ) -> bool:
        """Count one add attempt for today in each of these (distinct) sessions, all or
        none; False when today's attempts are used up in any of them."""

    @abc.abstractmethod
    def release_add(self, registration_id: str, session_id: str, day: str) -> None:
        """Give back an attempt Zoom refused unread (a per-second 429 counts for nothing)."""

    @abc.abstractmethod
    def synced(
        self,
        registration_id: str,
        registrants: Mapping[str, tuple[ZoomRegistrant, str]],
        now: datetime,
    ) -> None:
        """Keep, for each session id, the registrant id and personal join URL Zoom gave
        in that meeting (``(registrant, ZoomLink.key)``), in one write of the
        registration; and each registrant -> us mapping."""

    @abc.abstractmethod
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
        """Where adding the registration to ``meeting`` stands (full, deferred …)."""

    @abc.abstractmethod
    def forget(self, registration_id: str, session_id: str, now: datetime) -> None:
        """The Zoom registrant of this session is gone (cancelled there or here)."""

    @abc.abstractmethod
    def attended(
        self,
        registration_id: str | None,
        event_id: str,
        session_id: str,
        participant: dict,
        now: datetime,
    ) -> None:
        """Attendance, matched to a registration or kept unmatched."""

    @abc.abstractmethod
    def session_full(self, event_id: str, session_id: str, now: datetime) -> None: ...

    @abc.abstractmethod
    def zoom_setup(
        self, event_id: str, rooms: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """What setting up these Zoom rooms of the event came to, by (session id, room
        key): each record's ``interpretation`` and ``panelists`` parts (read
        consistently; a room never set up is absent)."""

    @abc.abstractmethod
    def record_setup(
        self,
        event_id: str,
        session_id: str,
        room: str,
        part: str,
        record: dict[str, Any],
        now: datetime,
    ) -> None:
        """Keep one part (``interpretation`` or ``panelists``) of a room's setup record,
        leaving the other as it is."""


@dataclass(frozen=True)
class ZoomCredentials:
    """The Zoom app's Server-to-Server OAuth credentials (empty until an operator puts
    them in their secret). The webhook secret token has a secret of its own, which only
    the API reads."""

    account_id: str
    client_id: str
    client_secret: str

    @classmethod
    def from_secret(cls, value: dict[str, str]) -> ZoomCredentials:
        return cls(
            account_id=value.get("account_id", ""),
            client_id=value.get("client_id", ""),
            client_secret=value.get("client_secret", ""),
        )


# -- the table's changes ---------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One change of the table, with its images as plain dicts.

    The images carry the item's attributes, its ``kind`` and what its keys say about it
    (``event_id``, ``session_id``, ``campaign_id`` where the key holds them), so that no
    reader of a change parses a key.
    """

    sequence_number: str
    event_name: str  # INSERT, MODIFY, REMOVE
    old: dict[str, Any]
    new: dict[str, Any]
    record_id: str = ""  # the stream record's id (eventID), also the correlation id

    def kind(self) -> str | None:
        return self.new.get("kind") or self.old.get("kind")


# -- per-container state ---------------------------------------------------------------


class SeatHint(abc.ABC):
    """Which status to try first for an event's next registration, so that a full event
    costs one write too. A wrong guess costs one more write, never a wrong answer."""

    @abc.abstractmethod
    def first_try(self, event_id: str) -> Status: ...

    @abc.abstractmethod
    def learn(self, event_id: str, status: Status) -> None:
        """The status the event's last registration got."""


class SigningKeys(abc.ABC):
    """The keys that sign and check links (the newest signs, every one checks)."""

    @abc.abstractmethod
    def keys(self) -> Keys: ...


# -- the container ---------------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class Services:
    """Everything a use case works with: the stores, queues and providers behind the
    interfaces above, the settings and the clock.

    ``bootstrap.py`` wires the AWS-backed set once per Lambda container; tests wire
    fakes (``tests/fakes.py``) or moto.
    """

    settings: Settings
    events: EventStore
    registrations: RegistrationStore
    send_log: SendLog
    campaigns: CampaignStore
    exports: ExportStore
    export_files: ExportFiles
    stats: StatsStore
    tokens: TokenStore
    organizers: OrganizerStore
    mail_queue: JobQueue  # transactional mail (sent first)
    announcement_queue: JobQueue  # announcements' emails
    campaign_queue: JobQueue
    export_queue: JobQueue
    mailer: Mailer
    pacer: SendPacer
    limiter: RateLimiter
    seat_hint: SeatHint
    keys: SigningKeys
    zoom: ZoomClient
    zoom_store: ZoomStore
    zoom_queue: JobQueue
    zoom_dead_letters: JobQueue
    dead_letters: DeadLetters
    zoom_credentials: Callable[[], ZoomCredentials]
    # Zoom's webhook secret token ("" until an operator puts it in its secret).
    zoom_webhook_token: Callable[[], str]
    clock: Callable[[], datetime] = utc_now
