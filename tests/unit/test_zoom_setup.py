"""Setting up Zoom rooms on fakes: when it runs (a saved event, a zoom_setup job), what it
leaves alone (panelists it did not add, cancelled sessions), and how Zoom's refusals and
slow-downs come back (retries, organiser messages)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.domain.events import Event
from chalicelib.jobs import QUEUES, ZoomSetup, ZoomSync, parse
from chalicelib.ports import Change, Delivery, Services, ZoomFailure
from chalicelib.usecases import outbox, zoomsetup, zoomworker
from tests.builders import NOW, event_body
from tests.fakes import Clock, fake_majlis

WEBINAR = "81234567800"
MEETING = "81234567801"
AMINA = {"name": "Dr Amina Haddad", "email": "amina@example.org"}
YUSUF = {"name": "Yusuf Demir", "email": "yusuf@example.org"}


def conference(
    speakers: list[dict[str, str]] | None = None, interpreted: bool = True, **session: Any
) -> Event:
    body = event_body()
    first = body["sessions"][0]
    first.pop("zoom")
    first.pop("join_url")
    first["rooms"] = [
        {"zoom": {"type": "webinar", "id": WEBINAR}, "capacity": 4999},
        {"zoom": {"type": "meeting", "id": MEETING}, "capacity": 1000},
    ]
    if interpreted:
        first["interpretation"] = {
            "from": "ar",
            "into": ["en", "ur", "ms"],
            "interpreters": [
                {"email": "en.interpreter@example.org", "languages": ["ar", "en"]},
                {"email": "ur.interpreter@example.org", "languages": ["ar", "ur"]},
            ],
        }
    first["speakers"] = speakers or []
    first.update(session)
    body["sessions"] = [first, body["sessions"][1]]
    return Event.model_validate({**body, "id": "conf"})


@pytest.fixture
def majlis() -> Services:
    services = fake_majlis(Clock(NOW))
    services.zoom.custom_languages = {"Arabic", "Urdu"}  # type: ignore[attr-defined]
    return services


def saved(majlis: Services, event: Event) -> Event:
    majlis.events.put(event, NOW)
    return event


def panelist_emails(majlis: Services) -> set[str]:
    return {p.email for p in majlis.zoom.panelists_by.get(WEBINAR, {}).values()}  # type: ignore[attr-defined]


def event_change(before: Event | None, after: Event) -> Change:
    def image(event: Event | None) -> dict[str, Any]:
        if event is None:
            return {}
        return {"kind": "event", "event_id": event.id, "settings": event.model_dump_json()}

    return Change("7", "MODIFY" if before else "INSERT", image(before), image(after), "rec-1")


# -- when it runs ----------------------------------------------------------------------


def test_a_saved_event_queues_one_setup_job(majlis):
    # Given an event with Zoom rooms, saved
    event = saved(majlis, conference())
    # When its change goes through the outbox
    assert outbox.relay(majlis, [event_change(None, event)]) is None
    # Then the zoom queue carries one setup job for it
    [message] = majlis.zoom_queue.jobs  # type: ignore[attr-defined]
    assert parse(QUEUES["majlis-zoom"], message) == ZoomSetup(
        event_id="conf", correlation_id="rec-1"
    )


def test_an_event_saved_unchanged_or_without_zoom_queues_nothing(majlis):
    event = saved(majlis, conference())
    assert outbox._zoom_jobs(majlis, event_change(event, event)) == []
    plain = event_body()
    for session in plain["sessions"]:
        session.pop("zoom")
    no_zoom = saved(majlis, Event.model_validate({**plain, "id": "conf"}))
    assert outbox._zoom_jobs(majlis, event_change(None, no_zoom)) == []


def test_the_job_round_trips_on_the_zoom_queue():
    job = ZoomSetup(event_id="conf")
    assert parse(QUEUES["majlis-zoom"], job.message()) == job


# -- what it does --------------------------------------------------------------------------


def test_each_room_is_interpreted_and_urdu_unknown_to_zoom_is_an_organiser_message(majlis):
    majlis.zoom.custom_languages = {"Arabic"}  # type: ignore[attr-defined]
    saved(majlis, conference())
    outcome = zoomsetup.apply(majlis, "conf")
    assert outcome.rooms == 3 and outcome.applied == 2  # the other session: nothing to apply
    assert outcome.problems == [zoomsetup.missing_language_message("Urdu")] * 2
    for key in (("webinar", WEBINAR), ("meeting", MEETING)):
        applied = majlis.zoom.interpretations[key]  # type: ignore[attr-defined]
        assert [i.languages for i in applied.interpreters] == [("Arabic", "English")]
    assert (
        "Account Management > Account Settings > Meeting > Language Interpretation"
        in (outcome.problems[0])
    )
    room = zoomsetup.status(majlis, majlis.events.get("conf"))["sessions"]["education"]
    interpretation = room["rooms"][f"meeting:{MEETING}"]["interpretation"]
    assert interpretation["state"] == "incomplete"
    assert interpretation["uncovered"] == ["ur", "ms"]  # Urdu refused, nobody into Malay


def test_a_session_without_interpretation_is_turned_off_where_we_turned_it_on(majlis):
    saved(majlis, conference())
    zoomsetup.apply(majlis, "conf")
    saved(majlis, conference(interpreted=False))
    zoomsetup.apply(majlis, "conf")
    assert majlis.zoom.interpretations[("meeting", MEETING)].enable is False  # type: ignore[attr-defined]
    shown = zoomsetup.status(majlis, majlis.events.get("conf"))
    assert shown["sessions"]["education"]["rooms"][f"meeting:{MEETING}"]["interpretation"] == {
        "state": "off",
        "at": shown["sessions"]["education"]["rooms"][f"meeting:{MEETING}"]["interpretation"]["at"],
    }


def test_a_cancelled_session_is_left_alone(majlis):
    saved(majlis, conference(speakers=[AMINA], status="cancelled"))
    outcome = zoomsetup.apply(majlis, "conf")
    assert outcome.rooms == 1  # the other session's room only
    assert majlis.zoom.calls == []  # type: ignore[attr-defined]


def test_panelists_we_did_not_add_are_never_removed(majlis):
    # Given Yusuf, a panelist the organisers added in Zoom, who is also listed as a speaker
    majlis.zoom.add_panelists(WEBINAR, [YUSUF])
    saved(majlis, conference(speakers=[AMINA, YUSUF], interpreted=False))
    zoomsetup.apply(majlis, "conf")
    # When both stop being speakers
    saved(majlis, conference(speakers=[], interpreted=False))
    zoomsetup.apply(majlis, "conf")
    # Then only Amina, whom we added, leaves
    assert panelist_emails(majlis) == {"yusuf@example.org"}


def test_a_lost_answer_to_an_add_still_counts_as_ours(majlis):
    zoom = majlis.zoom
    added = zoom.add_panelists

    def added_then_lost(webinar_id: str, people: Any) -> None:
        added(webinar_id, people)
        raise ZoomFailure("unavailable", "HTTP 502")

    zoom.add_panelists = added_then_lost  # type: ignore[method-assign]
    saved(majlis, conference(speakers=[AMINA], interpreted=False))
    assert zoomsetup.apply(majlis, "conf").retry
    zoom.add_panelists = added  # type: ignore[method-assign]
    saved(majlis, conference(speakers=[], interpreted=False))
    zoomsetup.apply(majlis, "conf")
    assert panelist_emails(majlis) == set()


def test_a_permanent_refusal_is_recorded_not_retried(majlis):
    saved(majlis, conference(speakers=[AMINA], interpreted=False))
    majlis.zoom.fail = ZoomFailure("rejected", "HTTP 400 code 300: Invalid field.")  # type: ignore[attr-defined]
    outcome = zoomsetup.apply(majlis, "conf")
    assert not outcome.retry and outcome.failed == 1
    room = zoomsetup.status(majlis, majlis.events.get("conf"))["sessions"]["education"]
    panelists = room["rooms"][f"webinar:{WEBINAR}"]["panelists"]
    assert panelists["state"] == "failed"
    assert "Invalid field" in panelists["errors"][0]


# -- through the zoom worker -----------------------------------------------------------------


def test_the_worker_sets_up_once_per_event_and_asks_again_after_a_slow_down(majlis):
    saved(majlis, conference(speakers=[AMINA]))
    majlis.zoom.fail = ZoomFailure("rate_limited", "429 429", retry_after=4.0)  # type: ignore[attr-defined]
    first, second = Delivery("m1", "r1", 1), Delivery("m2", "r2", 1)
    gathered = [(ZoomSetup(event_id="conf"), first), (ZoomSetup(event_id="conf"), second)]
    again = zoomworker.sync(majlis, gathered)
    assert again == [first, second]
    assert majlis.zoom_queue.delays == [("r1", 5), ("r2", 5)]  # type: ignore[attr-defined]

    again = zoomworker.sync(majlis, [(ZoomSetup(event_id="conf"), first)])
    assert again == []
    assert "amina@example.org" in panelist_emails(majlis)


def test_setup_and_sync_jobs_share_a_batch(majlis):
    saved(majlis, conference())
    gathered = [
        (ZoomSetup(event_id="conf"), Delivery("m1", "r1", 1)),
        (ZoomSync(registration_id="01unknown"), Delivery("m2", "r2", 1)),
    ]
    assert zoomworker.sync(majlis, gathered) == []
    assert ("meeting", MEETING) in majlis.zoom.interpretations  # type: ignore[attr-defined]


def test_the_status_lists_each_room_of_each_session():
    majlis = fake_majlis(Clock(NOW))
    event = saved(majlis, conference(speakers=[AMINA]))
    shown = zoomsetup.status(majlis, event)
    assert json.loads(json.dumps(shown)) == shown  # plain JSON for the API
    rooms = shown["sessions"]["education"]["rooms"]
    assert rooms[f"webinar:{WEBINAR}"] == {
        "interpretation": {"state": "pending"},
        "panelists": {"state": "pending"},
    }
    assert shown["sessions"]["family"]["rooms"] == {
        "webinar:81234567891": {
            "interpretation": {"state": "none"},
            "panelists": {"state": "none"},
        }
    }
