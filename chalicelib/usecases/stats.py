"""Event statistics: counted from the table's stream, read in one request."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.stats import delta, event_of, report
from chalicelib.ports import Change, Services
from chalicelib.usecases.events import known_event


def count(services: Services, changes: list[Change]) -> int:
    """Move each event's counters by a batch of changes; returns how many counted.

    Safe to call again with the same changes (a stream retry): each is counted once.
    """
    by_event: dict[str, list[tuple[str, dict[str, int]]]] = {}
    for change in changes:
        event_id = event_of(change.new) or event_of(change.old)
        moves = delta(change.old, change.new) if event_id else {}
        if moves:
            by_event.setdefault(event_id, []).append((change.record_id, moves))
    return sum(services.stats.apply(event_id, moved) for event_id, moved in by_event.items())


def event_stats(services: Services, event_id: str) -> dict[str, Any]:
    from chalicelib import i18n

    event = known_event(services, event_id)
    answer = report(services.stats.read(event_id))
    # The countries' names as the event says them, in its default language.
    answer["country_names"] = {
        code: i18n.country_name(code, event.default_language, event.country_names)
        for code in answer["by_country"]
        if code != "unknown"
    }
    return answer


def zoom_status(services: Services, event_id: str) -> dict[str, Any]:
    """``GET /events/{id}/zoom``: per session and room, the seats taken, the sync states,
    whether Zoom said full, and where interpretation and panelists stand, with what the
    organisers must do in Zoom's portal (``problems``)."""
    from chalicelib.usecases import rooms, zoomsetup

    event = known_event(services, event_id)
    answer = zoomsetup.status(services, event)
    counted = report(services.stats.read(event_id))
    answer["rooms"] = rooms.occupancy(services, event)
    answer["sync"] = counted["zoom"]["by_session"]
    answer["full_sessions"] = counted["zoom"]["full_sessions"]
    answer["full_rooms"] = {
        session: [room["room"] for room in shown if room["full_in_zoom"]]
        for session, shown in answer["rooms"].items()
        if any(room["full_in_zoom"] for room in shown)
    }
    return answer
