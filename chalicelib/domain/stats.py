"""Event statistics as counters that follow the table's changes.

Each item that counts toward an event's statistics *contributes* a set of counters
(a registered registration in Urdu from Pakistan contributes ``status.registered``,
``language.ur``, ``country.PK`` and one ``session.<id>`` per session). When an item
changes, the counters move by the contribution of its new image minus that of its old
one. Applied exactly once per change, the counters always equal a full recount, which
is what the tests check; nothing ever scans the table to answer ``GET …/stats``.
Registrations also count by the UTC hour they were made (``hour.2026-12-03T06``): the
console draws registrations over time from those.
An announcement's or reminder's send record also counts toward its campaign
(``campaign.<id>.sent`` …): that is where a campaign's progress is read.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from chalicelib.domain.kinds import ItemKind

STATUSES = ("registered", "waitlisted", "cancelled", "pending")
EMAIL_COUNTS = ("sent", "delivered", "bounced", "complained", "failed", "suppressed")
EMAIL_OUTCOMES = ("delivered", "bounced", "complained")  # flags set from SES events


COUNTED = (
    ItemKind.REGISTRATION,
    ItemKind.SEND,
    ItemKind.ZOOM_FULL,
    ItemKind.ATTENDANCE_UNMATCHED,
)


def event_of(image: dict[str, Any]) -> str | None:
    """The event an item counts toward, or None when it counts toward nothing.

    ``image`` is an item as a table change carries it (``adapters/dynamo/schema.py``,
    ``read_item``): with the ids its keys hold.
    """
    if image.get("kind") in COUNTED:
        return image.get("event_id") or None
    return None


def contribution(image: dict[str, Any]) -> Counter[str]:
    counts: Counter[str] = Counter()
    kind = image.get("kind")
    if kind == ItemKind.REGISTRATION:
        status = image.get("status")
        counts[f"status.{status}"] += 1
        if status != "pending" and image.get("created_at"):
            # When people registered, by the hour (UTC): the console's chart over time.
            counts[f"hour.{str(image['created_at'])[:13]}"] += 1
        if status == "registered":
            counts[f"language.{image.get('language')}"] += 1
            counts[f"country.{image.get('country') or 'unknown'}"] += 1
            for session, room in (image.get("rooms") or {}).items():
                counts[f"room.{session}.{room}"] += 1
            for session in image.get("sessions") or []:
                counts[f"session.{session}"] += 1
                state = ((image.get("zoom_sync") or {}).get(session) or {}).get("state")
                if state:
                    counts[f"zoom.{session}.{state}"] += 1
        for session in image.get("attended") or {}:
            counts[f"attended.{session}"] += 1
        if image.get("link_shared"):
            counts["link_shared"] += 1
    elif kind == ItemKind.SEND:
        state = image.get("state")
        if state in ("sent", "failed", "suppressed"):
            counts[f"email.{state}"] += 1
        outcomes = [outcome for outcome in EMAIL_OUTCOMES if image.get(outcome)]
        for outcome in outcomes:
            counts[f"email.{outcome}"] += 1
        campaign = image.get("campaign_id")
        if campaign:  # an announcement or a reminder: its campaign's progress too
            if state in ("sent", "failed", "suppressed", "skipped"):
                counts[f"campaign.{campaign}.{state}"] += 1
            for outcome in outcomes:
                counts[f"campaign.{campaign}.{outcome}"] += 1
    elif kind == ItemKind.ZOOM_FULL:
        counts[f"zoom_full.{image['session_id']}"] += 1
    elif kind == ItemKind.ATTENDANCE_UNMATCHED:
        counts[f"unmatched.{image['session_id']}"] += 1
    return counts


def delta(old: dict[str, Any], new: dict[str, Any]) -> dict[str, int]:
    """How the counters move when ``old`` becomes ``new`` (either may be empty)."""
    moved = Counter(contribution(new))
    moved.subtract(contribution(old))
    return {name: count for name, count in moved.items() if count}


def report(counters: dict[str, int]) -> dict[str, Any]:
    """The counters in the shape API.md gives ``GET /events/{id}/stats``."""

    def group(prefix: str) -> dict[str, int]:
        return {
            name.removeprefix(prefix): count
            for name, count in sorted(counters.items())
            if name.startswith(prefix) and count
        }

    zoom: dict[str, dict[str, int]] = {}
    for name, count in group("zoom.").items():
        session, state = name.rsplit(".", 1)
        zoom.setdefault(session, {})[state] = count
    by_room: dict[str, dict[str, int]] = {}
    for name, count in group("room.").items():
        session, room = name.split(".", 1)
        by_room.setdefault(session, {})[room] = count
    attendance: dict[str, dict[str, int]] = {}
    for which, prefix in (("matched", "attended."), ("unmatched", "unmatched.")):
        for session, count in group(prefix).items():
            attendance.setdefault(session, {"matched": 0, "unmatched": 0})[which] = count
    return {
        "registrations": {status: counters.get(f"status.{status}", 0) for status in STATUSES},
        "by_language": group("language."),
        "by_country": group("country."),
        "by_session": group("session."),
        "by_hour": group("hour."),  # registrations (not pending) by UTC hour of creation
        "by_room": by_room,  # registered people seated in each room of a session
        "emails": {name: counters.get(f"email.{name}", 0) for name in EMAIL_COUNTS},
        "zoom": {"full_sessions": sorted(group("zoom_full.")), "by_session": zoom},
        "attendance": attendance,
        "link_shared": counters.get("link_shared", 0),
    }
