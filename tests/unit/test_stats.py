"""How each change moves an event's counters (domain/stats.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo.schema import read_item
from chalicelib.domain import stats
from chalicelib.domain.stats import report


# The items below are as stored; a table change carries them as the schema reads them.
def delta(old: dict[str, Any], new: dict[str, Any]) -> dict[str, int]:
    return stats.delta(read_item(old), read_item(new))


def event_of(item: dict[str, Any]) -> str | None:
    return stats.event_of(read_item(item))


def _person(**overrides: Any) -> dict[str, Any]:
    image: dict[str, Any] = {
        "pk": "REG#r1",
        "sk": "REG",
        "kind": "registration",
        "event_id": "conf",
        "status": "registered",
        "language": "ur",
        "country": "PK",
        "sessions": ["education", "youth"],
    }
    image.update(overrides)
    return image


def test_a_new_registration_counts_everywhere():
    assert delta({}, _person()) == {
        "status.registered": 1,
        "language.ur": 1,
        "country.PK": 1,
        "session.education": 1,
        "session.youth": 1,
    }


def test_someone_waiting_counts_only_as_waiting_until_promoted():
    waiting = _person(status="waitlisted")
    assert delta({}, waiting) == {"status.waitlisted": 1}
    assert delta(waiting, _person()) == {
        "status.waitlisted": -1,
        "status.registered": 1,
        "language.ur": 1,
        "country.PK": 1,
        "session.education": 1,
        "session.youth": 1,
    }


def test_a_cancellation_takes_back_what_the_registration_counted():
    assert delta(_person(), _person(status="cancelled")) == {
        "status.registered": -1,
        "status.cancelled": 1,
        "language.ur": -1,
        "country.PK": -1,
        "session.education": -1,
        "session.youth": -1,
    }


def test_changing_sessions_or_language_moves_only_those_counters():
    before = _person()
    after = _person(sessions=["youth", "health"], language="ar")
    assert delta(before, after) == {
        "session.education": -1,
        "session.health": 1,
        "language.ur": -1,
        "language.ar": 1,
    }


def test_changes_that_count_nothing_move_nothing():
    assert delta(_person(), _person(updated_at="2027-03-01T00:00:00Z", clicks={})) == {}
    assert delta({}, {"pk": "EVENT#conf", "sk": "SEATS", "kind": "seats", "taken": 3}) == {}
    assert event_of({"pk": "STATSMARK#x", "sk": "MARK", "kind": "stats_mark"}) is None


def test_an_unknown_country_from_zoom_counts_as_unknown():
    assert delta({}, _person(country=None, sessions=[]))["country.unknown"] == 1


def test_emails_count_by_their_record_and_what_ses_reported():
    claimed = {"pk": "REG#r1", "sk": "MAIL#00000001", "kind": "send", "event_id": "conf"}
    sending = {**claimed, "state": "sending"}
    sent = {**claimed, "state": "sent", "ses_message_id": "m1"}
    assert event_of(sent) == "conf"
    assert delta({}, sending) == {}
    assert delta(sending, sent) == {"email.sent": 1}
    assert delta(sent, {**sent, "delivered": True}) == {"email.delivered": 1}
    assert delta({**sent, "delivered": True}, {**sent, "delivered": True}) == {}
    assert delta({}, {**claimed, "state": "suppressed"}) == {"email.suppressed": 1}
    assert delta(sending, {**claimed, "state": "failed"}) == {"email.failed": 1}


def test_zoom_sync_states_and_full_sessions_are_counted_per_session():
    pending = _person(zoom_sync={"education": {"state": "sending"}})
    full = _person(zoom_sync={"education": {"state": "full"}, "youth": {"state": "synced"}})
    assert delta(pending, full) == {
        "zoom.education.sending": -1,
        "zoom.education.full": 1,
        "zoom.youth.synced": 1,
    }
    marker = {"pk": "EVENT#conf#ZOOMFULL", "sk": "education", "kind": "zoom_full"}
    assert event_of(marker) == "conf"
    assert delta({}, marker) == {"zoom_full.education": 1}


def test_the_report_has_the_shape_of_the_api():
    counters = {
        "status.registered": 2,
        "status.cancelled": 1,
        "language.ur": 2,
        "country.PK": 2,
        "session.education": 2,
        "email.sent": 3,
        "email.bounced": 1,
        "zoom.education.synced": 1,
        "zoom.education.full": 1,
        "zoom_full.education": 1,
        "attended.education": 1,
        "unmatched.education": 4,
        "link_shared": 1,
        "room.education.webinar:81234567890": 2,
        "room.education.watch": 0,
        "language.ar": 0,  # counted and taken back: not shown
        "hour.2027-03-06T09": 3,
    }
    assert report(counters) == {
        "registrations": {"registered": 2, "waitlisted": 0, "cancelled": 1, "pending": 0},
        "by_language": {"ur": 2},
        "by_country": {"PK": 2},
        "by_session": {"education": 2},
        "by_room": {"education": {"webinar:81234567890": 2}},
        "by_hour": {"2027-03-06T09": 3},
        "emails": {
            "sent": 3,
            "delivered": 0,
            "bounced": 1,
            "complained": 0,
            "failed": 0,
            "suppressed": 0,
        },
        "zoom": {
            "full_sessions": ["education"],
            "by_session": {"education": {"full": 1, "synced": 1}},
        },
        "attendance": {"education": {"matched": 1, "unmatched": 4}},
        "link_shared": 1,
    }


def test_a_shared_link_counts_once_whatever_becomes_of_it():
    shared = _person(link_shared=True)
    assert delta(_person(), shared) == {"link_shared": 1}
    assert delta(shared, _person(link_shared=True, status="cancelled")) == {
        "status.registered": -1,
        "status.cancelled": 1,
        "language.ur": -1,
        "country.PK": -1,
        "session.education": -1,
        "session.youth": -1,
    }


def test_attendance_counts_matched_and_unmatched_joins():
    joined = _person(attended={"education": "2027-03-06T12:01:00Z"})
    assert delta(_person(), joined) == {"attended.education": 1}
    stranger = {
        "pk": "EVENT#conf#ATTEND#education",
        "sk": "participant-1",
        "kind": "attendance_unmatched",
    }
    assert event_of(stranger) == "conf"
    assert delta({}, stranger) == {"unmatched.education": 1}


def test_a_pending_registration_counts_as_pending_alone_until_confirmed():
    pending = _person(status="pending")
    assert delta({}, pending) == {"status.pending": 1}
    assert delta(pending, _person()) == {
        "status.pending": -1,
        "status.registered": 1,
        "language.ur": 1,
        "country.PK": 1,
        "session.education": 1,
        "session.youth": 1,
    }
