"""What a Lambda container keeps between invocations, so the request path stays one call.

Each is an adapter like any other: the use cases see the port (``EventStore``,
``SeatHint``); tests wire these same classes around their fakes.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.domain.events import Event
from chalicelib.domain.registrations import Status
from chalicelib.ports import EventStore, SeatHint

if TYPE_CHECKING:
    from chalicelib.domain.campaigns import Campaign


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

    def save(
        self, event: Event, expected: int | None, notice: Campaign | None, now: datetime
    ) -> bool:
        saved = self._inner.save(event, expected, notice, now)
        self._cache.pop(event.id, None)
        return saved


class ContainerSeatHint(SeatHint):
    """After an attempt finds an event full, this container's newcomers go straight for
    the waiting list for a while (a wrong guess costs one more write, never a wrong
    answer)."""

    def __init__(self, seconds: float = 30.0) -> None:
        self._seconds = seconds
        self._full_since: dict[str, float] = {}

    def first_try(self, event_id: str) -> Status:
        since = self._full_since.get(event_id)
        if since is not None and time.monotonic() - since < self._seconds:
            return Status.WAITLISTED
        return Status.REGISTERED

    def learn(self, event_id: str, status: Status) -> None:
        if status is Status.WAITLISTED:
            self._full_since[event_id] = time.monotonic()
        else:
            self._full_since.pop(event_id, None)
