"""Follow-up by attendance on fakes: the ``attended`` audience, {{recording_url}}, and
the attendance export of one session.

Attendance is a join click (``GET /join/{token}``) or Zoom's ``participant_joined``;
either is enough to have come, and those who missed a session are the people
registered for it who did neither.
"""

from __future__ import annotations

import csv
import email
import io
from email import policy
from typing import Any

import pytest

from chalicelib.domain.attendance import joins
from chalicelib.domain.registrations import Status
from chalicelib.jobs import CampaignMail
from chalicelib.ports import Services
from chalicelib.usecases import campaigns, exports
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import send_campaign_mail
from tests.builders import event_body, person
from tests.unit.support import EVENT_ID, configure, field_codes, problem_of

RECORDING = "https://video.example.org/recordings/education"
FOLLOW_UP = {
    "ar": {"subject": "فاتتك الجلسة", "text": "التسجيل: {{recording_url}}"},
    "en": {
        "subject": "Missed it, {{first_name}}?",
        "text": "Watch it again: {{recording_url}}",
        "html": '<p><a href="{{recording_url}}">Watch it again</a></p>',
    },
}


def _sessions(recording: str | None = RECORDING, **more: Any) -> list[dict[str, Any]]:
    sessions = event_body()["sessions"]
    sessions[0]["recording_url"] = recording  # education
    sessions[0].update(more)
    return sessions


@pytest.fixture
def event(majlis: Services):
    return configure(majlis, sessions=_sessions())


def _person(majlis: Services, n: int, **spec: Any) -> str:
    return register(majlis, EVENT_ID, person(n, **spec), form=False).registration_id


def _clicked(majlis: Services, registration_id: str, session_id: str = "education") -> None:
    version = majlis.registrations.get(registration_id).link_version
    majlis.registrations.record_click(registration_id, session_id, version, majlis.clock())


def _zoom_joined(
    majlis: Services, registration_id: str | None, at: str, session_id: str = "education"
) -> None:
    majlis.zoom_store.attended(
        registration_id, EVENT_ID, session_id, {"join_time": at}, majlis.clock()
    )


def _follow_up(value: bool, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "Recording",
        "audience": {"attended": {"session": "education", "value": value}},
        "content": FOLLOW_UP,
        **overrides,
    }


def _sent(majlis: Services, body: dict[str, Any]) -> dict[str, str]:
    """Create and fan out the campaign, send every email: recipient -> plain text."""
    status, answer = campaigns.create(majlis, EVENT_ID, body)
    assert status == 202, answer
    assert campaigns.fan_out(majlis, answer["campaign_id"], lambda: 900).outcome == "queued"
    while majlis.announcement_queue.jobs:
        job = majlis.announcement_queue.jobs.pop(0)
        send_campaign_mail(majlis, CampaignMail.model_validate(job))
    found = {}
    for sent in majlis.mailer.sent:
        message = email.message_from_bytes(sent["raw"], policy=policy.default)
        found[sent["recipient"]] = (
            message.get_body(("plain",)).get_content() + message.get_body(("html",)).get_content()
        )
    return found


@pytest.fixture
def crowd(majlis: Services, event) -> dict[str, str]:
    """Six people around the education session, each with a different story."""
    ids = {
        "clicked": _person(majlis, 1, language="en"),
        "zoomed": _person(majlis, 2, language="en"),
        "both": _person(majlis, 3, language="ar"),
        "missed": _person(majlis, 4, language="en"),
        "missed_ms": _person(majlis, 5, language="ms", sessions=["education", "family"]),
        "elsewhere": _person(majlis, 6, language="en", sessions=["family"]),
    }
    _clicked(majlis, ids["clicked"])
    _zoom_joined(majlis, ids["zoomed"], "2027-03-06T12:03:00Z")
    _clicked(majlis, ids["both"])
    _zoom_joined(majlis, ids["both"], "2027-03-06T12:04:00Z")
    _clicked(majlis, ids["elsewhere"], "family")  # not registered for education
    _clicked(majlis, ids["missed"], "family")  # came to another of their sessions
    return ids


def _address(n: int) -> str:
    return f"person{n}@example.org"


# -- who -------------------------------------------------------------------------------


def test_a_follow_up_to_attended_false_reaches_exactly_those_who_neither_clicked_nor_joined(
    majlis, crowd
):
    # Given people who clicked, joined in Zoom, did both, or did neither
    # When the organiser sends the recording to those who missed the session
    sent = _sent(majlis, _follow_up(False))
    # Then exactly those registered for it who did neither get it, with the link
    assert set(sent) == {_address(4), _address(5)}
    for text in sent.values():
        assert RECORDING in text and "{{" not in text


def test_attended_true_reaches_those_who_clicked_or_joined_in_zoom(majlis, crowd):
    sent = _sent(majlis, _follow_up(True))
    assert set(sent) == {_address(1), _address(2), _address(3)}


def test_the_dry_run_counts_the_same_people_by_language_with_fallbacks(majlis, crowd):
    status, answer = campaigns.create(majlis, EVENT_ID, _follow_up(False, dry_run=True))
    assert status == 200
    # person5 reads Malay, for which there is no content: the default language's (ar).
    assert answer["recipients"] == 2
    assert answer["by_language"] == {"ar": 1, "en": 1}
    assert answer["fallbacks"] == {"ms": 1}
    assert majlis.mailer.sent == []
    status, answer = campaigns.create(majlis, EVENT_ID, _follow_up(True, dry_run=True))
    assert answer["by_language"] == {"ar": 1, "en": 2} and answer["fallbacks"] == {}


def test_someone_who_joins_after_the_fan_out_is_no_longer_sent_the_missed_it_email(majlis, crowd):
    _, answer = campaigns.create(majlis, EVENT_ID, _follow_up(False))
    campaigns.fan_out(majlis, answer["campaign_id"], lambda: 900)
    _zoom_joined(majlis, crowd["missed"], "2027-03-06T13:30:00Z")  # late, but came
    while majlis.announcement_queue.jobs:
        job = majlis.announcement_queue.jobs.pop(0)
        send_campaign_mail(majlis, CampaignMail.model_validate(job))
    assert [sent["recipient"] for sent in majlis.mailer.sent] == [_address(5)]


def test_unmatched_zoom_joins_count_for_nobody(majlis, event):
    missed = _person(majlis, 1, language="en")
    _zoom_joined(majlis, None, "2027-03-06T12:03:00Z")
    assert set(_sent(majlis, _follow_up(False))) == {_address(1)}
    assert majlis.registrations.get(missed).attended == {}


def test_a_single_sessions_filter_also_names_the_recording(majlis, crowd):
    body = {**_follow_up(True), "audience": {"sessions": ["education"]}}
    sent = _sent(majlis, body)
    assert len(sent) == 5 and all(RECORDING in text for text in sent.values())


# -- refused ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attended", "field", "code"),
    [
        ({"session": "nope", "value": False}, "audience.attended.session", "unknown_session"),
        ({"session": "education", "value": "no"}, "audience.attended.value", "invalid_type"),
        ({"session": "education", "value": 0}, "audience.attended.value", "invalid_type"),
        ({"session": "education"}, "audience.attended.value", "required"),
        ({"session": "education", "value": True, "x": 1}, "audience.attended.x", "unknown_field"),
    ],
)
def test_a_bad_attended_filter_is_422_on_its_field(majlis, event, attended, field, code):
    body = {"name": "F", "audience": {"attended": attended}, "content": {"ar": FOLLOW_UP["ar"]}}
    problem = problem_of(lambda: campaigns.create(majlis, EVENT_ID, body))
    assert problem.status == 422 and (field, code) in field_codes(problem)
    assert majlis.campaigns.campaigns == {}


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_recording_needs_one_session_named_by_the_audience(majlis, event, dry_run):
    for audience in ({}, {"sessions": ["education", "family"]}):
        body = {"name": "F", "audience": audience, "content": FOLLOW_UP, "dry_run": dry_run}
        problem = problem_of(lambda body=body: campaigns.create(majlis, EVENT_ID, body))
        assert problem.status == 422
        assert ("content.ar.text", "recording_needs_one_session") in field_codes(problem)


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_session_without_its_recording_yet_is_refused(majlis, dry_run):
    configure(majlis, sessions=_sessions(recording=None))
    problem = problem_of(
        lambda: campaigns.create(majlis, EVENT_ID, _follow_up(False, dry_run=dry_run))
    )
    assert problem.status == 422
    (error,) = [e for e in problem.errors if e.code == "no_recording"]
    assert error.field == "content.ar.text" and "education" in error.message
    assert majlis.campaigns.campaigns == {}


def test_recording_url_is_allow_listed_and_a_follow_up_without_it_needs_no_recording(majlis):
    configure(majlis, sessions=_sessions(recording=None))
    body = _follow_up(False, content={"ar": {"subject": "؟", "text": "{{first_name}}"}})
    assert campaigns.create(majlis, EVENT_ID, body)[0] == 202
    problem = problem_of(
        lambda: campaigns.create(
            majlis,
            EVENT_ID,
            _follow_up(False, content={"ar": {"subject": "x", "text": "{{recording}}"}}),
        )
    )
    (error,) = problem.errors
    assert error.code == "template" and "{{recording_url}}" in error.message


# -- first and last join ---------------------------------------------------------------


def test_first_and_last_join_combine_clicks_and_zoom_in_any_order(majlis, event, clock):
    rid = _person(majlis, 1)
    _zoom_joined(majlis, rid, "2027-03-06T12:10:00Z")
    _zoom_joined(majlis, rid, "2027-03-06T12:30:00Z")
    _zoom_joined(majlis, rid, "2027-03-06T12:02:00Z")  # delivered late: moves first back
    stored = majlis.registrations.get(rid)
    assert stored.attended == {"education": "2027-03-06T12:02:00Z"}
    assert stored.attended_last == {"education": "2027-03-06T12:30:00Z"}
    clock.advance(days=5, hours=3, minutes=45)  # 2027-03-06T12:45Z
    _clicked(majlis, rid)
    came = joins(majlis.registrations.get(rid), "education")
    assert (came.first.isoformat(), came.last.isoformat()) == (
        "2027-03-06T12:02:00+00:00",
        "2027-03-06T12:45:00+00:00",
    )
    assert not joins(majlis.registrations.get(rid), "family").attended


# -- the attendance export -------------------------------------------------------------


def _attendance(majlis: Services, **params: str) -> tuple[dict, list[dict[str, str]]]:
    started = exports.start(majlis, EVENT_ID, {"kind": "attendance", **params})
    assert exports.write(majlis, started["export_id"]) == "done"
    answer = exports.progress(majlis, EVENT_ID, started["export_id"])
    data = majlis.export_files.files[f"{EVENT_ID}/{started['export_id']}.csv"]
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    return answer, rows


def test_the_attendance_export_lists_the_sessions_people_with_joins_and_rooms(majlis, crowd):
    rid = crowd["zoomed"]
    _zoom_joined(majlis, rid, "2027-03-06T12:40:00Z")
    store = majlis.registrations.registrations
    store[rid] = store[rid].model_copy(update={"rooms": {"education": "overflow"}})
    cancelled = _person(majlis, 9, sessions=["education"])
    store[cancelled] = store[cancelled].model_copy(update={"status": Status.CANCELLED})

    answer, rows = _attendance(majlis, session="education")

    assert answer["status"] == "done" and answer["rows"] == 5
    assert answer["url"] and "attendance-education" in answer["url"]
    assert list(rows[0]) == list(exports.ATTENDANCE_COLUMNS)
    by_id = {row["registration_id"]: row for row in rows}
    assert set(by_id) == {crowd[k] for k in ("clicked", "zoomed", "both", "missed", "missed_ms")}
    zoomed = by_id[rid]
    assert (zoomed["attended"], zoomed["room"], zoomed["joined_by"]) == ("yes", "overflow", "zoom")
    assert (zoomed["first_join"], zoomed["last_join"]) == (
        "2027-03-06T12:03:00Z",
        "2027-03-06T12:40:00Z",
    )
    assert by_id[crowd["both"]]["joined_by"] == "link zoom"
    assert by_id[crowd["clicked"]]["first_join"] == "2027-03-01T09:00:00Z"
    missed = by_id[crowd["missed"]]
    assert (missed["attended"], missed["first_join"], missed["room"]) == ("no", "", "")


def test_speakers_are_never_in_the_attendance_export(majlis):
    speaker = {"name": "Dr Speaker", "email": "speaker@example.org"}
    configure(majlis, sessions=_sessions(speakers=[speaker]))
    _person(majlis, 1)
    _, rows = _attendance(majlis, session="education")
    assert len(rows) == 1 and "speaker@example.org" not in {row["email"] for row in rows}


def test_the_attendance_export_takes_other_statuses_when_asked(majlis, event):
    rid = _person(majlis, 1)
    store = majlis.registrations.registrations
    store[rid] = store[rid].model_copy(update={"status": Status.CANCELLED})
    assert _attendance(majlis, session="education")[0]["rows"] == 0
    assert _attendance(majlis, session="education", status="cancelled")[0]["rows"] == 1


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"kind": "attendance"}, "session", "one_session_required"),
        ({"kind": "attendance", "session": "education,family"}, "session", "one_session_required"),
        ({"kind": "attendance", "session": "nope"}, "session", "invalid_choice"),
        ({"kind": "attendees"}, "kind", "invalid_choice"),
    ],
)
def test_a_bad_attendance_export_is_refused(majlis, event, params, field, code):
    problem = problem_of(lambda: exports.start(majlis, EVENT_ID, params))
    assert problem.status == 422 and (field, code) in field_codes(problem)
    assert majlis.exports.exports == {}


def test_the_registrations_export_is_unchanged_by_kind(majlis, event):
    _person(majlis, 1)
    started = exports.start(majlis, EVENT_ID, {"kind": "registrations"})
    assert exports.write(majlis, started["export_id"]) == "done"
    data = majlis.export_files.files[f"{EVENT_ID}/{started['export_id']}.csv"]
    header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header == list(exports.COLUMNS)
