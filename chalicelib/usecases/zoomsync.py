"""Keeping Zoom's registrants the same as ours: pushing changes out, and reconciling.

For each registration that changed, the registered person should be a Zoom registrant
of each chosen session that has a Zoom meeting or webinar, and of no other. Adds are
grouped by meeting and sent 30 to a call when more than one is waiting. Zoom accepts
only 3 add requests per registrant and meeting a day, so every add is counted before it
is sent, and at most ``zoom_adds_per_day`` are ever sent (a lost answer is retried
within that budget, never blindly; reconciliation settles the rest). Registrants that
Zoom echoes back through its webhook are recognised by email and never pushed again.

A batch is read in one request and its records written a few at a time in parallel, so
that an import of thousands waits on Zoom's limits rather than on the table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from chalicelib.domain.addresses import parse_address
from chalicelib.domain.events import Event, Session, ZoomLink, meeting_key
from chalicelib.domain.kinds import ItemKind
from chalicelib.domain.registrations import Registration, RegistrationFilter, Status
from chalicelib.domain.zoom import registrant_of, sync_state_of, wanted, zoom_of
from chalicelib.jobs import Job, ZoomSync, ZoomWebhook
from chalicelib.ports import Change, Services, ZoomFailure, ZoomRegistrant
from chalicelib.usecases import rooms, zoomhooks

BATCH = 30
ZOOM_NAME_MAX = 64
WRITERS = 8  # table writes in flight at once
T = TypeVar("T")
Cancel = tuple[Registration, str, ZoomRegistrant]  # who, which session, their registrant
NOT_AGAIN = frozenset({"full", "failed"})  # states no automatic add may leave


@dataclass
class Outcome:
    """What a sync run did, and which registrations to try again (with a delay hint)."""

    synced: int = 0
    cancelled: int = 0
    skipped: int = 0
    retry: dict[str, float | None] = field(default_factory=dict)
    dead: dict[str, str] = field(default_factory=dict)  # registration id -> reason
    calls: int = 0

    def again(self, registration_id: str, after: float | None) -> None:
        known = self.retry.get(registration_id)
        self.retry[registration_id] = max(filter(None, (known, after)), default=None)


def _person(registration: Registration) -> dict[str, str]:
    """The registrant as Zoom takes it (names of at most 64 characters)."""
    person = {
        "email": parse_address(registration.email).ascii,
        "first_name": registration.first_name[:ZOOM_NAME_MAX].strip(),
    }
    if last_name := (registration.last_name or "")[:ZOOM_NAME_MAX].strip():
        person["last_name"] = last_name
    return person


def sync(services: Services, registration_ids: list[str]) -> Outcome:
    outcome = Outcome()
    # By (kind, Zoom id): who to add, and who to cancel.
    adds: dict[tuple[str, str], list[tuple[Registration, str]]] = defaultdict(list)
    cancels: dict[tuple[str, str], list[Cancel]] = defaultdict(list)
    day = services.clock().strftime("%Y-%m-%d")
    for registration in services.registrations.get_many(registration_ids).values():
        event = services.events.get(registration.event_id)
        if event is None:
            continue
        want = wanted(registration, event)
        moved = _moved_rooms(registration, event)
        for session_id in sorted(want):
            session = event.session(session_id)
            zoom = zoom_of(registration, session)
            assert zoom is not None
            if registrant_of(registration, session).get("registrant_id"):
                continue
            if session_id in moved:
                # Out of the earlier room's meeting first (below), then into the new
                # one's: the job comes again for that.
                outcome.again(registration.registration_id, None)
                continue
            if sync_state_of(registration, session) in NOT_AGAIN:
                outcome.skipped += 1
                continue
            adds[(zoom.type, zoom.id)].append((registration, session_id))
        for session_id in registration.zoom:
            session = event.session(session_id)
            if session is None or not session.has_zoom or session.cancelled:
                continue
            if session_id in want and session_id not in moved:
                continue
            # Only a registrant of a meeting the session has now is cancelled: an
            # earlier meeting's is the organisers' to close with that meeting.
            link = _recorded_meeting(registration, session) if session_id in moved else None
            known = registration.zoom[session_id] if link else registrant_of(registration, session)
            link = link or zoom_of(registration, session)
            if not known.get("registrant_id") or link is None:
                continue
            # An erased registration keeps only the registrant id: Zoom cancels by id.
            address = parse_address(registration.email).ascii if registration.email else ""
            registrant = ZoomRegistrant(address, known["registrant_id"], "")
            cancels[(link.type, link.id)].append((registration, session_id, registrant))
    # Each registration's adds are counted in one write, whichever meetings they are for,
    # and what Zoom answers is kept in one write per registration once every meeting has
    # answered (or as this run ends, however it ends).
    claimed = _claim(
        services,
        [(r, s, meeting_key(*meeting)) for meeting, people in adds.items() for r, s in people],
        day,
        outcome,
    )
    answers = Answers()
    try:
        for (kind, zoom_id), people in adds.items():
            mine = [(r, s) for r, s in people if (r.registration_id, s) in claimed]
            _add(services, kind, zoom_id, mine, day, outcome, answers)
    finally:
        answers.keep(services)
    for (kind, zoom_id), people in cancels.items():
        _cancel(services, kind, zoom_id, people, outcome)
    return outcome


def _recorded_meeting(registration: Registration, session: Session) -> ZoomLink | None:
    """The meeting of the session the registration's recorded registrant is in, if it
    is still one of the session's."""
    meeting = registration.zoom.get(session.id, {}).get("meeting")
    return next((link for link in session.zoom_links if link.key == meeting), None)


def _moved_rooms(registration: Registration, event: Event) -> set[str]:
    """Sessions whose recorded Zoom registrant is in another room's meeting than the one
    the person is seated in now (the organisers changed the rooms)."""
    moved = set()
    for session_id, record in registration.zoom.items():
        session = event.session(session_id)
        if session is None or not session.rooms or not record.get("registrant_id"):
            continue
        now = zoom_of(registration, session)
        recorded = _recorded_meeting(registration, session)
        if recorded is not None and (now is None or now.key != recorded.key):
            moved.add(session_id)
    return moved


class Answers:
    """Zoom's registrants for this run's adds, by registration: kept together."""

    def __init__(self) -> None:
        self._found: dict[str, dict[str, tuple[ZoomRegistrant, str]]] = defaultdict(dict)

    def add(
        self, registration: Registration, session_id: str, found: ZoomRegistrant, meeting: str
    ) -> None:
        self._found[registration.registration_id][session_id] = (found, meeting)

    def keep(self, services: Services) -> None:
        now = services.clock()
        _each(lambda one: services.zoom_store.synced(*one, now), self._found.items())


def _each(action: Callable[[T], Any], items: Iterable[T]) -> list[Any]:
    """``action`` on every item, a few at a time (each is one table write)."""
    items = list(items)
    if len(items) < 2:
        return [action(item) for item in items]
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        return list(pool.map(action, items))


def _claim(
    services: Services,
    people: list[tuple[Registration, str, str]],
    day: str,
    outcome: Outcome,
) -> set[tuple[str, str]]:
    """Count an add for each (registration, session, meeting) before it is sent, one
    write per registration; the sessions over today's budget wait. Returns the
    (registration id, session id) pairs counted."""
    now = services.clock()
    limit = services.settings.zoom_adds_per_day
    by_registration: dict[str, list[tuple[Registration, str, str]]] = defaultdict(list)
    for one in people:
        by_registration[one[0].registration_id].append(one)

    def claim(theirs: list[tuple[Registration, str, str]]) -> list[tuple[str, str]]:
        rid = theirs[0][0].registration_id
        if services.zoom_store.claim_adds(rid, [s for _, s, _ in theirs], day, limit, now):
            return [(rid, session_id) for _, session_id, _ in theirs]
        if len(theirs) > 1:  # one of them is over its budget: each on its own, then
            return [claimed for one in theirs for claimed in claim([one])]
        _, session_id, meeting = theirs[0]
        services.zoom_store.mark(
            rid,
            session_id,
            "deferred",
            now,
            f"{limit} adds sent to Zoom today: reconciliation tries again tomorrow",
            meeting=meeting,
        )
        outcome.skipped += 1
        return []

    return {one for claimed in _each(claim, by_registration.values()) for one in claimed}


def _send(
    services: Services,
    kind: str,
    zoom_id: str,
    group: list[tuple[Registration, str]],
    outcome: Outcome,
    answers: Answers,
) -> ZoomFailure | None:
    """One add call for the group (a batch when more than one), its answers noted."""
    try:
        outcome.calls += 1
        if len(group) == 1:
            added = [services.zoom.add(kind, zoom_id, _person(group[0][0]))]
        else:
            added = services.zoom.add_many(kind, zoom_id, [_person(r) for r, _ in group])
    except ZoomFailure as failure:
        return failure
    by_email = {r.email.lower(): r for r in added}
    for registration, session_id in group:
        registrant = by_email.get(parse_address(registration.email).ascii.lower())
        if registrant is None:
            outcome.again(registration.registration_id, None)
            continue
        answers.add(registration, session_id, registrant, meeting_key(kind, zoom_id))
        outcome.synced += 1
    return None


def _add(
    services: Services,
    kind: str,
    zoom_id: str,
    claimed: list[tuple[Registration, str]],
    day: str,
    outcome: Outcome,
    answers: Answers,
) -> None:
    meeting = meeting_key(kind, zoom_id)
    for start in range(0, len(claimed), BATCH):
        group = claimed[start : start + BATCH]
        failure = _send(services, kind, zoom_id, group, outcome, answers)
        if failure is None:
            continue
        if failure.kind not in ("full", "rejected") or len(group) == 1:
            _failed(services, kind, zoom_id, group, failure, day, outcome)
            continue
        # Zoom refuses a whole batch for one person it will not take, or when not all of
        # it fits: one by one then, each within its budget, until Zoom says full for one
        # (and so for the rest).
        for index, (registration, session_id) in enumerate(group):
            if not _claim(services, [(registration, session_id, meeting)], day, outcome):
                continue
            one = (registration, session_id)
            failure = _send(services, kind, zoom_id, [one], outcome, answers)
            if failure is not None and failure.kind == "full":
                _failed(services, kind, zoom_id, group[index:], failure, day, outcome)
                break
            if failure is not None:
                _failed(services, kind, zoom_id, [one], failure, day, outcome)


def _failed(
    services: Services,
    kind: str,
    zoom_id: str,
    group: list[tuple[Registration, str]],
    failure: ZoomFailure,
    day: str,
    outcome: Outcome,
) -> None:
    now = services.clock()
    if failure.kind == "rate_limited":
        # Zoom refuses a per-second 429 before reading it: no add happened, none counts.
        _each(
            lambda one: services.zoom_store.release_add(one[0].registration_id, one[1], day), group
        )
    meeting = meeting_key(kind, zoom_id)
    event: Event | None = None
    if failure.kind == "full":
        session = services.zoom_store.session_for(zoom_id)
        event = services.events.get(session.event_id) if session is not None else None
        ours = event.session(session.session_id) if event and session else None
        if session is not None and (ours is None or ours.room(meeting) is None):
            services.zoom_store.session_full(session.event_id, session.session_id, now)
    for registration, session_id in group:
        rid = registration.registration_id
        if failure.kind == "full":
            services.zoom_store.mark(
                rid, session_id, "full", now, "Zoom's capacity is reached", meeting=meeting
            )
            if event is not None and (ours := event.session(session_id)) and ours.room(meeting):
                # Full in Zoom before its capacity here: the next room, once (a seat
                # change, which the stream turns into an add to that room's meeting).
                rooms.move_on(services, event, registration, session_id, meeting)
        elif failure.kind == "daily_limit":
            services.zoom_store.mark(
                rid, session_id, "deferred", now, failure.reason, meeting=meeting
            )
        elif failure.kind == "auth":
            # Our credentials, not this person: reconciliation adds them once they work.
            services.zoom_store.mark(
                rid, session_id, "auth_failed", now, failure.reason, meeting=meeting
            )
            outcome.dead[rid] = f"zoom {kind} {zoom_id}: {failure}"
        elif failure.permanent:
            services.zoom_store.mark(
                rid, session_id, "failed", now, failure.reason, meeting=meeting
            )
            outcome.dead[rid] = f"zoom {kind} {zoom_id}: {failure}"
        else:
            outcome.again(rid, failure.retry_after)


def _cancel(
    services: Services,
    kind: str,
    zoom_id: str,
    people: list[Cancel],
    outcome: Outcome,
) -> None:
    now = services.clock()
    for start in range(0, len(people), BATCH):
        group = people[start : start + BATCH]
        try:
            outcome.calls += 1
            services.zoom.cancel(kind, zoom_id, [registrant for _, _, registrant in group])
        except ZoomFailure as failure:
            for registration, _, _ in group:
                if failure.permanent:
                    outcome.dead[registration.registration_id] = f"zoom cancel: {failure}"
                else:
                    outcome.again(registration.registration_id, failure.retry_after)
            continue
        for registration, session_id, _ in group:
            services.zoom_store.forget(registration.registration_id, session_id, now)
            outcome.cancelled += 1


# -- reconciliation --------------------------------------------------------------------


@dataclass
class Report:
    """What a reconciliation run found and repaired."""

    sessions: int = 0
    in_zoom: int = 0
    ids_recorded: int = 0
    adds_queued: int = 0
    cancelled_in_zoom: int = 0
    dropped_here: int = 0
    created_here: int = 0

    @property
    def repairs(self) -> int:
        return (
            self.ids_recorded
            + self.adds_queued
            + self.cancelled_in_zoom
            + self.dropped_here
            + self.created_here
        )


def _all_registrations(services: Services, event_id: str) -> list[Registration]:
    return list(services.registrations.every(event_id, RegistrationFilter()))


def _zoom_registrants(services: Services, kind: str, zoom_id: str) -> list[ZoomRegistrant]:
    found, token = [], ""
    while True:
        page, token = services.zoom.registrants(kind, zoom_id, token)
        found += page
        if not token:
            return found


def reconcile(services: Services) -> Report:
    """Compare every Zoom session with our registrations and repair the drift both ways."""
    report = Report()
    for event_id in services.zoom_store.event_ids():
        event = services.events.get(event_id, fresh=True)
        if event is None:
            continue
        ours = _all_registrations(services, event_id)
        for session in event.sessions:
            # A cancelled session's meeting is the organisers' to close in Zoom.
            if session.cancelled:
                continue
            for link in session.zoom_links:  # each room's meeting, or the session's one
                _reconcile_session(services, event, session.id, link, ours, report)
    return report


def _recorded_in(registration: Registration, session: Session, link: ZoomLink) -> dict[str, Any]:
    """The registration's recorded registrant for the session, if it is in ``link``."""
    record = registration.zoom.get(session.id, {})
    default = session.zoom.key if session.zoom is not None else None
    return record if record.get("meeting", default) == link.key else {}


def _reconcile_session(
    services: Services,
    event: Event,
    session_id: str,
    zoom: ZoomLink,
    ours: list[Registration],
    report: Report,
) -> None:
    now = services.clock()
    session = event.session(session_id)
    assert session is not None
    registrants = _zoom_registrants(services, zoom.type, zoom.id)
    report.sessions += 1
    report.in_zoom += len(registrants)
    in_zoom = {r.email.lower(): r for r in registrants}
    matched: set[str] = set()
    to_cancel: list[ZoomRegistrant] = []
    to_sync: list[str] = []

    def here(registration: Registration) -> bool:  # belongs in this meeting for the session
        link = zoom_of(registration, session)
        return session_id in wanted(registration, event) and link is not None and link == zoom

    # Someone who cancelled and registered again is two registrations with one email.
    held = {parse_address(r.email).ascii.lower() for r in ours if r.erased_at is None and here(r)}
    by_id = {r.registrant_id: r for r in registrants}
    for registration in ours:
        if registration.erased_at is not None:
            # Erased here: cancel its registrant in Zoom (known by id only), and never
            # take it for a stranger to register from Zoom.
            known = _recorded_in(registration, session, zoom).get("registrant_id")
            there = by_id.get(known) if known else None
            if there is not None:
                matched.add(there.email.lower())
                to_cancel.append(there)
            continue
        email = parse_address(registration.email).ascii.lower()
        there = in_zoom.get(email)
        if there is not None:
            matched.add(email)
        holds = here(registration)
        known = _recorded_in(registration, session, zoom).get("registrant_id")
        state = sync_state_of(registration, session)
        elsewhere = session.rooms and session_id in wanted(registration, event)
        if holds and there is not None and known != there.registrant_id:
            services.zoom_store.synced(
                registration.registration_id, {session_id: (there, zoom.key)}, now
            )
            report.ids_recorded += 1
        elif holds and there is None and known:
            # Cancelled in Zoom and the webhook never came: drop it here too.
            zoomhooks.left_zoom(services, event, session_id, ZoomRegistrant(email, known, ""))
            report.dropped_here += 1
        elif holds and there is None:
            if state not in NOT_AGAIN:
                to_sync.append(registration.registration_id)
                report.adds_queued += 1
        elif not holds and there is not None and email not in held:
            if registration.status is Status.CANCELLED or known or state == "cancelled":
                to_cancel.append(there)  # we gave it up; Zoom never heard
            elif elsewhere:
                to_cancel.append(there)  # seated in another room of the session
            elif registration.status is Status.REGISTERED:
                # They registered in Zoom and we never heard: the session is theirs here too.
                zoomhooks.joined_zoom(services, event, session_id, there, {}, zoom.key)
                report.created_here += 1
    strangers = [r for email, r in in_zoom.items() if email not in matched]
    for registrant in strangers:
        outcome = zoomhooks.joined_zoom(services, event, session_id, registrant, {}, zoom.key)
        if outcome in ("created", "session added"):
            report.created_here += 1
    if to_cancel:
        services.zoom.cancel(zoom.type, zoom.id, to_cancel)
        report.cancelled_in_zoom += len(to_cancel)
    if to_sync:
        services.zoom_queue.send([ZoomSync(registration_id=r) for r in to_sync])


def jobs_for_change(change: Change) -> list[Job]:
    """Zoom work a table change sets off (see outbox.jobs_for)."""
    new, old = change.new, change.old
    kind = change.kind()
    if kind == ItemKind.ZOOM_WEBHOOK and change.event_name == "INSERT":
        return [ZoomWebhook(body=new["body"])]
    if kind == ItemKind.EVENT and change.event_name != "REMOVE":
        from chalicelib.jobs import ZoomSetup

        # Its sessions' interpretation and speakers, applied to its Zoom rooms.
        if change.event_name == "INSERT" or new.get("settings") != old.get("settings"):
            return [ZoomSetup(event_id=new["event_id"], correlation_id=change.record_id or None)]
        return []
    if kind != ItemKind.REGISTRATION or change.event_name == "REMOVE":
        return []
    inserted = change.event_name == "INSERT"
    moved = (
        new.get("status") != old.get("status")
        or new.get("sessions") != old.get("sessions")
        or (new.get("rooms") or {}) != (old.get("rooms") or {})  # seated, or another room
    )
    if inserted and new.get("status") != Status.REGISTERED.value:
        return []
    if inserted or moved:
        return [ZoomSync(registration_id=new["registration_id"])]
    return []
