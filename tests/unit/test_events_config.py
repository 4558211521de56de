"""Configuring an event (``PUT /events/{id}``): validation, normalisation, warnings, and
what the public view leaves out."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from chalicelib.domain.events import Event
from chalicelib.ports import Services
from chalicelib.usecases.events import public_event, put_event
from tests.builders import event_body
from tests.fakes import Clock, fake_majlis
from tests.unit.support import field_codes, problem_of


@pytest.fixture
def empty(clock: Clock) -> Services:
    """Majlis on fakes with no event yet and no sender check."""
    return fake_majlis(clock, check_sender_identity=False)


def refused(
    majlis: Services, body: dict[str, Any], event_id: str = "conf"
) -> list[tuple[str, str]]:
    problem = problem_of(lambda: put_event(majlis, event_id, body))
    assert problem.status == 422
    assert majlis.events.events == {}
    return field_codes(problem)


def with_session(index: int, **changes: Any) -> dict[str, Any]:
    body = event_body()
    body["sessions"][index].update(changes)
    return body


def test_a_valid_event_is_created_then_replaced(empty: Services) -> None:
    # Given the reference event's body
    body = event_body()
    # When it is stored twice
    first = put_event(empty, "conf", body)
    second = put_event(empty, "conf", {**body, "capacity": 10})
    # Then the first stores it (201) and the second replaces it (200)
    assert first.created is True
    assert second.created is False
    assert empty.events.events["conf"].capacity == 10
    assert first.warnings == []
    view = first.view()
    assert view["id"] == "conf"
    assert view["warnings"] == []


def test_a_body_may_repeat_the_paths_id(empty: Services) -> None:
    assert put_event(empty, "conf", {**event_body(), "id": "conf"}).event.id == "conf"


@pytest.mark.parametrize("event_id", ["Conf", "ab", "-conf", "conf_2027", "c" * 65, "كونف"])
def test_an_invalid_event_id_in_the_path_is_refused(empty: Services, event_id: str) -> None:
    assert refused(empty, event_body(), event_id) == [("id", "invalid_id")]


def test_a_body_id_that_differs_from_the_path_is_refused(empty: Services) -> None:
    assert refused(empty, event_body(id="other")) == [("id", "mismatch")]


def test_the_default_language_must_be_offered(empty: Services) -> None:
    body = event_body(languages=["en", "tr"], default_language="ar")
    assert ("default_language", "invalid_default_language") in refused(empty, body)


@pytest.mark.parametrize(
    ("languages", "code"), [(["ar", "de"], "unknown_language"), (["ar", "ar"], "duplicate")]
)
def test_languages_are_majlis_languages_once_each(
    empty: Services, languages: list[str], code: str
) -> None:
    body = event_body(languages=languages, title={"ar": "جسور"})
    for session in body["sessions"]:
        session["title"] = {"ar": "جلسة"}
    assert refused(empty, body) == [("languages", code)]


def test_the_title_needs_the_default_language(empty: Services) -> None:
    body = event_body(title={"en": "Bridges of Knowledge"})
    assert refused(empty, body) == [("title", "missing_default_title")]


def test_a_session_title_needs_the_default_language(empty: Services) -> None:
    body = event_body()
    del body["sessions"][2]["title"]["ar"]
    assert refused(empty, body) == [("sessions.2.title", "missing_default_title")]


def test_a_session_must_end_after_it_starts(empty: Services) -> None:
    body = with_session(3, ends_at="2027-03-06T17:00:00Z")
    assert body["sessions"][3]["starts_at"] == "2027-03-06T18:00:00Z"
    assert refused(empty, body) == [("sessions.3.ends_at", "invalid_times")]
    same = with_session(3, ends_at="2027-03-06T18:00:00Z")
    assert refused(empty, same) == [("sessions.3.ends_at", "invalid_times")]


def test_registration_must_close_after_it_opens(empty: Services) -> None:
    body = event_body(
        registration={"opens_at": "2027-03-01T00:00:00Z", "closes_at": "2027-02-01T00:00:00Z"}
    )
    assert refused(empty, body) == [("registration.closes_at", "invalid_times")]


def test_times_must_carry_a_zone(empty: Services) -> None:
    body = with_session(0, starts_at="2027-03-06T12:00:00")
    assert refused(empty, body) == [("sessions.0.starts_at", "timezone_aware")]


def test_session_ids_are_unique(empty: Services) -> None:
    body = with_session(1, id="education")
    assert refused(empty, body) == [("sessions", "duplicate")]


@pytest.mark.parametrize("session_id", ["Opening", "-opening", "day_1", "", "a" * 33, "open ing"])
def test_session_ids_follow_the_pattern(empty: Services, session_id: str) -> None:
    assert refused(empty, with_session(1, id=session_id)) == [("sessions.1.id", "invalid_id")]


def test_a_zoom_id_sent_as_a_json_number_is_kept_as_text(empty: Services) -> None:
    # Given a Zoom id of 11 digits sent as a JSON number (beyond 32 bits)
    body = json.loads(json.dumps(event_body()).replace('"81234567890"', "81234567890"))
    assert body["sessions"][0]["zoom"]["id"] == 81234567890
    # When the event is stored
    saved = put_event(empty, "conf", body)
    # Then the id is the same digits, as a string
    assert saved.event.sessions[0].zoom.id == "81234567890"
    assert saved.view()["sessions"][0]["zoom"] == {"type": "webinar", "id": "81234567890"}


@pytest.mark.parametrize("zoom_id", ["12", "1234567890123", "8123456789a", "", True])
def test_a_zoom_id_is_9_to_12_digits(empty: Services, zoom_id: object) -> None:
    body = with_session(0, zoom={"type": "webinar", "id": zoom_id})
    (field, code) = refused(empty, body)[0]
    assert field == "sessions.0.zoom.id"
    assert code in ("invalid_zoom_id", "invalid_type")


def test_a_zoom_link_is_a_meeting_or_a_webinar(empty: Services) -> None:
    body = with_session(0, zoom={"type": "call", "id": "81234567890"})
    assert refused(empty, body) == [("sessions.0.zoom.type", "invalid_choice")]


@pytest.mark.parametrize(
    "url", ["http://zoom.example/w/1", "ftp://zoom.example/w/1", "https://", "javascript:x"]
)
def test_a_join_url_must_be_https(empty: Services, url: str) -> None:
    assert refused(empty, with_session(0, join_url=url)) == [("sessions.0.join_url", "invalid_url")]


@pytest.mark.parametrize("zone", ["Mars/Base", "../etc/passwd", "asia/jerusalem"])
def test_display_time_zones_are_iana_names(empty: Services, zone: str) -> None:
    body = event_body(display_timezones=["Asia/Jerusalem", zone])
    assert refused(empty, body) == [("display_timezones", "invalid_timezone")]


def test_the_events_time_zone_is_an_iana_name(empty: Services) -> None:
    assert refused(empty, event_body(timezone="Mars/Base")) == [("timezone", "invalid_timezone")]


@pytest.mark.parametrize("reminders", [["P1D", "PT1H"], ["PT5M"], ["P30D"], ["P1DT12H"], []])
def test_reminders_are_accepted(empty: Services, reminders: list[str]) -> None:
    assert put_event(empty, "conf", event_body(reminders=reminders)).event.reminders == reminders


@pytest.mark.parametrize(
    "reminder", ["1 day", "P0D", "P40D", "PT4M", "P", "PT", "P1W", "-P1D", "p1d", ""]
)
def test_bad_reminders_are_refused(empty: Services, reminder: str) -> None:
    assert refused(empty, event_body(reminders=[reminder])) == [("reminders", "invalid_duration")]


def test_a_reminder_is_listed_once(empty: Services) -> None:
    assert refused(empty, event_body(reminders=["P1D", "P1D"])) == [("reminders", "duplicate")]


@pytest.mark.parametrize(
    "origin",
    [
        "conference.example.org",
        "https://conference.example.org/",
        "https://conference.example.org/path",
        "https://Conference.example.org",
        "*",
        "ftp://conference.example.org",
    ],
)
def test_allowed_origins_are_bare_origins(empty: Services, origin: str) -> None:
    body = event_body(allowed_origins=[origin])
    assert refused(empty, body) == [("allowed_origins", "invalid_origin")]


def test_an_origin_may_have_a_port(empty: Services) -> None:
    origins = ["http://localhost:8000", "https://conference.example.org"]
    assert put_event(empty, "conf", event_body(allowed_origins=origins)).event.allowed_origins == (
        origins
    )


def test_a_negative_capacity_is_refused(empty: Services) -> None:
    assert refused(empty, event_body(capacity=-1)) == [("capacity", "greater_than_equal")]


@pytest.mark.parametrize("capacity", [0, 1, None])
def test_capacity_may_be_zero_or_null(empty: Services, capacity: int | None) -> None:
    assert put_event(empty, "conf", event_body(capacity=capacity)).event.capacity == capacity


def test_a_boolean_capacity_is_refused(empty: Services) -> None:
    assert refused(empty, event_body(capacity=True)) == [("capacity", "invalid_type")]


def test_an_unknown_top_level_field_is_refused(empty: Services) -> None:
    assert refused(empty, event_body(colour="green")) == [("colour", "unknown_field")]


def test_an_unknown_session_field_is_refused(empty: Services) -> None:
    assert refused(empty, with_session(0, room="A")) == [("sessions.0.room", "unknown_field")]


@pytest.mark.parametrize("field", ["title", "languages", "sender", "sessions", "timezone"])
def test_required_fields(empty: Services, field: str) -> None:
    body = event_body()
    del body[field]
    assert (field, "required") in refused(empty, body)


def test_a_bad_sender_address_is_refused(empty: Services) -> None:
    body = event_body(sender={"email": "not-an-address", "name": "X"})
    assert refused(empty, body) == [("sender.email", "invalid_email")]


def test_a_title_may_not_hold_control_characters(empty: Services) -> None:
    body = event_body(title={"ar": "جسور\nالمعرفة"})
    assert refused(empty, body) == [("title", "control_character")]


def test_times_are_stored_in_utc_and_printed_with_z(empty: Services) -> None:
    # Given times with offsets
    body = event_body(
        registration={"opens_at": "2027-02-01T02:00:00+02:00", "closes_at": "2027-03-06T12:00:00Z"}
    )
    body["sessions"][0].update(
        starts_at="2027-03-06T14:00:00+02:00", ends_at="2027-03-06T19:30:00+05:30"
    )
    # When the event is stored
    view = put_event(empty, "conf", body).event.organizer_view()
    # Then the organizer view shows them in UTC with Z
    assert view["registration"] == {
        "opens_at": "2027-02-01T00:00:00Z",
        "closes_at": "2027-03-06T12:00:00Z",
    }
    assert (view["sessions"][0]["starts_at"], view["sessions"][0]["ends_at"]) == (
        "2027-03-06T12:00:00Z",
        "2027-03-06T14:00:00Z",
    )
    assert view["sessions"][7]["starts_at"] == "2027-03-07T18:00:00Z"
    json.dumps(view)  # plain JSON


def test_the_organizer_view_keeps_the_private_settings(empty: Services) -> None:
    view = put_event(empty, "conf", event_body()).event.organizer_view()
    assert view["capacity"] == 5000
    assert view["sender"] == {"email": "events@example.org", "name": "Bridges of Knowledge"}
    assert view["sessions"][0]["join_url"] == "https://us06web.zoom.us/w/81234567890"


# -- the sender check ---------------------------------------------------------------


def test_an_unverified_sender_gives_one_warning(clock: Clock) -> None:
    # Given Majlis in AWS (sender check on) and no verified SES identity
    majlis = fake_majlis(clock, check_sender_identity=True)
    assert majlis.mailer.verified == set()
    # When the event is stored
    saved = put_event(majlis, "conf", event_body())
    # Then it is stored, with one warning naming the sender
    assert saved.created is True
    assert len(saved.warnings) == 1
    assert "events@example.org" in saved.warnings[0]
    assert saved.view()["warnings"] == saved.warnings


@pytest.mark.parametrize("identity", ["example.org", "events@example.org"])
def test_a_verified_sender_gives_no_warning(clock: Clock, identity: str) -> None:
    majlis = fake_majlis(clock, check_sender_identity=True)
    majlis.mailer.verified.add(identity)
    assert put_event(majlis, "conf", event_body()).warnings == []


def test_no_sender_check_when_it_is_off(clock: Clock) -> None:
    majlis = fake_majlis(clock, check_sender_identity=False)
    assert put_event(majlis, "conf", event_body()).warnings == []


# -- the public view ----------------------------------------------------------------


def test_the_public_view_hides_capacity_sender_and_zoom(majlis: Services) -> None:
    # Given the reference event
    # When the registration form asks for it
    view = public_event(majlis, "conf")
    # Then it has what a form needs and nothing private
    assert set(view) == {
        "id",
        "title",
        "languages",
        "default_language",
        "timezone",
        "display_timezones",
        "registration_open",
        "challenge",  # whether the form solves a proof of work first
        "sessions",
        "slots",
    }
    assert view["registration_open"] is True and view["challenge"] is False
    for session in view["sessions"]:
        assert set(session) == {"id", "title", "starts_at", "ends_at", "status"}
    text = json.dumps(view, ensure_ascii=False)
    for secret in ("5000", "events@example.org", "help@example.org", "8123456789", "zoom"):
        assert secret not in text
    assert view["sessions"][0]["starts_at"] == "2027-03-06T12:00:00Z"


def test_the_public_view_says_when_registration_is_closed(majlis: Services, clock: Clock) -> None:
    clock.advance(days=30)
    assert public_event(majlis, "conf")["registration_open"] is False


def test_an_event_without_a_registration_window_is_always_open(
    empty: Services, clock: Clock
) -> None:
    # Given an event whose organisers set no registration window
    body = event_body()
    del body["registration"]
    put_event(empty, "conf", body)
    # When its form asks for it, now and a year on
    now = public_event(empty, "conf")["registration_open"]
    clock.advance(days=365)
    later = public_event(empty, "conf")["registration_open"]
    # Then registration is open throughout: the event is one with an empty window
    assert now is later is True
    assert empty.events.get("conf") == Event.model_validate(
        {**event_body(registration={}), "id": "conf"}
    )
    assert empty.events.get("conf").organizer_view()["registration"] == {}


def test_the_public_view_of_an_unknown_event_is_404(majlis: Services) -> None:
    assert problem_of(lambda: public_event(majlis, "nope")).status == 404


def test_a_stored_body_is_not_changed_by_the_callers_later_edits(empty: Services) -> None:
    body = event_body()
    put_event(empty, "conf", body)
    original = copy.deepcopy(body)
    body["title"]["ar"] = "changed"
    assert empty.events.events["conf"].title["ar"] == original["title"]["ar"]
