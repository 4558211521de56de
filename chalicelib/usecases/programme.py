"""Telling registrants that the programme changed.

A material change of an event (``domain/programme.py``) becomes a notice: a campaign
(purpose ``change``) to the active registrants who hold a changed session, or to all of
them when a session was added. It is stored with the event's new revision in one write
(``events.put_event``), fanned out and sent like any campaign: one email per person,
in their language, times in their zone and the event's, with their calendar updated
(the same entries, a higher SEQUENCE; ``METHOD:CANCEL`` for a session cancelled or
removed). Reminders follow a moved session by themselves (their ids hold its start).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.domain.campaigns import Audience, Campaign, may_receive
from chalicelib.domain.events import Event
from chalicelib.domain.programme import ProgrammeChange, diff, notice_id
from chalicelib.domain.registrations import Status
from chalicelib.ports import Services

if TYPE_CHECKING:
    from chalicelib.config import Settings

PAGE = 500
CLOCK_SKEW = timedelta(seconds=5)  # between the containers' clocks, at most


def settled(settings: Settings) -> timedelta:
    """How long after a change is saved a confirmation may still show the programme
    before it: a container's cached event is at most ``event_cache_seconds`` old."""
    return timedelta(seconds=settings.event_cache_seconds) + CLOCK_SKEW


def notice(
    before: Event, after: Event, now: datetime, settled: timedelta = timedelta(0)
) -> Campaign | None:
    """The campaign that tells registrants what changed from ``before`` to ``after``
    (None when nothing material did). ``settled``: how long after ``now`` a
    confirmation may still be written from ``before`` (the containers' event cache):
    whoever registers until then is told too."""
    changes = diff(before, after)
    if not changes:
        return None
    change = ProgrammeChange(revision=after.revision, sessions=changes, told_until=now + settled)
    return Campaign(
        campaign_id=notice_id(after.id, after.revision),
        event_id=after.id,
        name=f"Programme change {after.revision}",
        # Everyone active when a session is added (a new choice for all), else whoever
        # holds a changed session.
        audience=Audience(
            status=[Status.REGISTERED, Status.WAITLISTED],
            sessions=[] if change.adds_sessions else change.affected,
        ),
        content={},
        purpose="change",
        change=change,
        created_at=now,
    )


def recipients(services: Services, campaign: Campaign) -> int:
    """How many people a notice will reach now (those whose address bounced or
    complained are left out, as the sending leaves them out)."""
    everyone = services.registrations.every(campaign.event_id, campaign.audience.where(), PAGE)
    return sum(1 for r in everyone if campaign.reaches(r) and may_receive(campaign, r))
