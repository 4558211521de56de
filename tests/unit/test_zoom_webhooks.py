"""Zoom's webhooks on fakes: verified on receipt, applied in any order, applied once.

``receive`` checks Zoom's signature over the raw bytes and the timestamp window and
records what it handles; ``apply`` makes Zoom's registrant changes ours, for meetings
and webinars alike, so that a duplicate or a late, older event changes nothing.
Payloads are shaped exactly as Zoom sends them (ids as JSON numbers, ``last_name``,
``email`` and ``registrant_id`` sometimes absent).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.addresses import parse_address
from chalicelib.domain.events import Event
from chalicelib.domain.registrations import Registration, Status
from chalicelib.ports import Services, ZoomRegistrant
from chalicelib.usecases import zoomhooks
from chalicelib.usecases.registrations import register
from tests.builders import NOW, event_body, person
from tests.fakes import Clock, fake_majlis
from tests.unit.support import problem_of

SECRET = "zoom-webhook-secret"  # tests.fakes.ZOOM_WEBHOOK_TOKEN
WEBINAR_EVENT = "conf"
MEETING_EVENT = "meet"
MEETING_BASE = "712345678"
ACCOUNT = "D8cJuqWVQ623CI4Q8yQK0Q"
HOST = "uLoRgfbbTayCX6r2Q_qQsQ"

# DESIGN.md, "Facts to build on": the independently reproduced vector.
VECTOR_SECRET = "secretValueTest"
VECTOR_TIMESTAMP = "1658940994"
VECTOR_BODY = (
    b'{"event":"session.started","payload":{"account_id":"{ACCOUNT_ID}","object":'
    b'{"start_time":"2022-07-27T16:56:34Z","id":"{SESSION_ID}"}},"event_ts":1658940994914}'
)
VECTOR_SIGNATURE = "v0=96e8a131e9983d4bc96627eee7c67f9506d0aeb8f767260a822fb3f2abe703d5"


# -- helpers ---------------------------------------------------------------------------


@pytest.fixture
def zmajlis(majlis: Services) -> Services:
    """The ``majlis`` fixture with the webinar event mapped and a meeting event beside it."""
    majlis.zoom_store.map_event(majlis.events.get(WEBINAR_EVENT))
    body = event_body(MEETING_BASE)
    for session in body["sessions"]:
        session["zoom"] = {"type": "meeting", "id": session["zoom"]["id"]}
    meeting_event = Event.model_validate({**body, "id": MEETING_EVENT})
    majlis.events.put(meeting_event, majlis.clock())
    majlis.zoom_store.map_event(meeting_event)
    return majlis


KINDS = {
    # kind -> (event id, Zoom id of "education", Zoom id of "family")
    "webinar": (WEBINAR_EVENT, "81234567890", "81234567891"),
    "meeting": (MEETING_EVENT, f"{MEETING_BASE}90", f"{MEETING_BASE}91"),
}
SESSION_OF = {0: "education", 1: "family"}


def zoom_object(kind: str, zoom_id: str) -> dict[str, Any]:
    return {
        "uuid": "4444AAAiAAAAAiAiAiiAii==",
        "id": int(zoom_id),  # a JSON number, as Zoom sends it
        "host_id": HOST,
        "topic": "Education and the future",
        "type": 2 if kind == "meeting" else 5,
        "start_time": "2027-03-06T12:00:00Z",
        "duration": 60,
        "timezone": "Asia/Jerusalem",
    }


def registrant(
    rid: str, email: str, first: str = "Amina", last: str | None = "Rahman", **extra: Any
) -> dict[str, Any]:
    found: dict[str, Any] = {"id": rid, "first_name": first, "email": email}
    if last is not None:
        found["last_name"] = last
    found.update(extra)
    return found


def created(
    kind: str,
    zoom_id: str,
    rid: str,
    email: str,
    ts: int = 1700000000000,
    action: str = "registration_created",
    **fields: Any,
) -> dict[str, Any]:
    person_fields = registrant(rid, email, **fields)
    person_fields.setdefault("status", "approved")
    person_fields.setdefault("join_url", f"https://us06web.zoom.us/w/{zoom_id}?tk=tk-{rid}")
    return {
        "event": f"{kind}.{action}",
        "event_ts": ts,
        "payload": {
            "account_id": ACCOUNT,
            "object": {**zoom_object(kind, zoom_id), "registrant": person_fields},
        },
    }


def cancelled(
    kind: str,
    zoom_id: str,
    rid: str,
    email: str,
    ts: int = 1700000001000,
    action: str = "registration_cancelled",
    **fields: Any,
) -> dict[str, Any]:
    return {
        "event": f"{kind}.{action}",
        "event_ts": ts,
        "payload": {
            "account_id": ACCOUNT,
            "operator": "host@example.org",
            "operator_id": HOST,
            "object": {
                **zoom_object(kind, zoom_id),
                "registrant": registrant(rid, email, **fields),
            },
        },
    }


def joined(
    kind: str,
    zoom_id: str,
    *,
    email: str | None = None,
    registrant_id: str | None = None,
    ts: int = 1700000002000,
    uuid: str = "A1B2C3D4-0000-4000-8000-000000000001",
) -> dict[str, Any]:
    participant: dict[str, Any] = {
        "user_id": "16778240",
        "user_name": "Amina Rahman",
        "id": "iFxeBPYun6SAiWUzBcEkX",
        "participant_uuid": uuid,
        "join_time": "2027-03-06T12:01:02Z",
    }
    if email is not None:
        participant["email"] = email
    if registrant_id is not None:
        participant["registrant_id"] = registrant_id
    return {
        "event": f"{kind}.participant_joined",
        "event_ts": ts,
        "payload": {
            "account_id": ACCOUNT,
            "object": {**zoom_object(kind, zoom_id), "participant": participant},
        },
    }


def apply(majlis: Services, event: dict[str, Any]) -> str:
    return zoomhooks.apply(majlis, json.dumps(event, ensure_ascii=False, separators=(",", ":")))


def by_email(majlis: Services, event_id: str, email: str) -> Registration | None:
    """The active registration of an email, else its latest cancelled one, else None."""
    found = sorted(
        all_for(majlis, event_id, email),
        key=lambda r: (r.status is not Status.CANCELLED, r.registration_id),
    )
    return found[-1] if found else None


def all_for(majlis: Services, event_id: str, email: str) -> list[Registration]:
    key = parse_address(email).key
    return [
        r
        for r in majlis.registrations.registrations.values()
        if r.event_id == event_id and r.email_key == key
    ]


def form_registration(majlis: Services, event_id: str, n: int, sessions: list[str]) -> Registration:
    outcome = register(majlis, event_id, person(n, sessions=sessions), form=False)
    found = majlis.registrations.get(outcome.registration_id)
    assert found is not None and found.status is Status.REGISTERED
    return found


def signed_headers(body: bytes, timestamp: str, secret: str = SECRET) -> dict[str, str]:
    return {
        "x-zm-request-timestamp": timestamp,
        "x-zm-signature": zoomhooks.signature(secret, timestamp, body),
        "content-type": "application/json",
    }


def now_ts(majlis: Services) -> str:
    return str(int(majlis.clock().timestamp()))


def raw(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


# -- the signature ---------------------------------------------------------------------


def test_the_known_vector_of_the_design():
    assert zoomhooks.signature(VECTOR_SECRET, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_a_signature_is_hex_hmac_sha256_over_v0_timestamp_and_the_raw_body():
    body = raw(created("webinar", "81234567890", "r1", "a@example.org"))
    expected = hmac.new(SECRET.encode(), b"v0:1700000000:" + body, hashlib.sha256).hexdigest()
    assert zoomhooks.signature(SECRET, "1700000000", body) == "v0=" + expected


def test_a_validly_signed_webhook_is_recorded_and_answered_200(zmajlis):
    body = raw(created("webinar", "81234567890", "r1", "a@example.org"))
    answer = zoomhooks.receive(
        zmajlis, body, signed_headers(body, now_ts(zmajlis)), zmajlis.clock()
    )
    assert answer.status == 200
    assert list(zmajlis.zoom_store.webhooks.values()) == [body.decode()]
    assert list(zmajlis.zoom_store.webhooks) == [hashlib.sha256(body).hexdigest()]


def test_the_same_webhook_twice_is_recorded_once(zmajlis):
    body = raw(created("webinar", "81234567890", "r1", "a@example.org"))
    for _ in range(2):
        answer = zoomhooks.receive(
            zmajlis, body, signed_headers(body, now_ts(zmajlis)), zmajlis.clock()
        )
        assert answer.status == 200
    assert len(zmajlis.zoom_store.webhooks) == 1


UNICODE_EVENT = created(
    "webinar", "81234567890", "r-ar", "fatima@example.org", first="فاطمة", last="الزهراء 🌙✨"
)


def _bad_requests(majlis: Services) -> dict[str, tuple[bytes, dict[str, str]]]:
    body = raw(created("webinar", "81234567890", "r1", "a@example.org"))
    ts = now_ts(majlis)
    good = signed_headers(body, ts)
    flipped = bytearray(body)
    flipped[body.index(b"a@example")] ^= 0x01  # one byte of the email changed
    spaced = json.dumps(json.loads(body), indent=1).encode()  # same JSON, other spacing
    unicode_raw = raw(UNICODE_EVENT)
    escaped = json.dumps(UNICODE_EVENT, ensure_ascii=True, separators=(",", ":")).encode()
    assert escaped != unicode_raw and json.loads(escaped) == json.loads(unicode_raw)
    old = str(int(ts) - 301)
    ahead = str(int(ts) + 301)
    return {
        "wrong secret": (body, signed_headers(body, ts, secret="not-the-secret")),
        "one byte of the body changed": (bytes(flipped), good),
        "re-serialised with other spacing": (spaced, good),
        "re-serialised with \\u escapes": (escaped, signed_headers(unicode_raw, ts)),
        "timestamp 301 s old": (body, signed_headers(body, old)),
        "timestamp 301 s ahead": (body, signed_headers(body, ahead)),
        "no signature header": (body, {"x-zm-request-timestamp": ts}),
        "no timestamp header": (body, {"x-zm-signature": good["x-zm-signature"]}),
        "empty signature": (body, {**good, "x-zm-signature": ""}),
        "timestamp not a number": (body, signed_headers(body, ts + ".5")),
        "signature of another timestamp": (
            body,
            {**good, "x-zm-request-timestamp": str(int(ts) - 1)},
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "wrong secret",
        "one byte of the body changed",
        "re-serialised with other spacing",
        "re-serialised with \\u escapes",
        "timestamp 301 s old",
        "timestamp 301 s ahead",
        "no signature header",
        "no timestamp header",
        "empty signature",
        "timestamp not a number",
        "signature of another timestamp",
    ],
)
def test_what_zoom_did_not_sign_is_refused_with_401_and_not_recorded(zmajlis, case):
    body, headers = _bad_requests(zmajlis)[case]
    refused = problem_of(lambda: zoomhooks.receive(zmajlis, body, headers, zmajlis.clock()))
    assert refused.status == 401
    assert refused.document()["status"] == 401
    assert zmajlis.zoom_store.webhooks == {}


@pytest.mark.parametrize("seconds", [-300, 0, 300])
def test_timestamps_within_300_seconds_either_way_are_accepted(zmajlis, seconds):
    body = raw(created("webinar", "81234567890", "r1", "a@example.org"))
    ts = str(int(zmajlis.clock().timestamp()) + seconds)
    answer = zoomhooks.receive(zmajlis, body, signed_headers(body, ts), zmajlis.clock())
    assert answer.status == 200
    assert len(zmajlis.zoom_store.webhooks) == 1


def test_arabic_and_emoji_names_sent_as_raw_utf8_verify_and_are_kept_as_sent(zmajlis):
    body = raw(UNICODE_EVENT)
    assert "فاطمة".encode() in body and "🌙".encode() in body
    answer = zoomhooks.receive(
        zmajlis, body, signed_headers(body, now_ts(zmajlis)), zmajlis.clock()
    )
    assert answer.status == 200
    [kept] = zmajlis.zoom_store.webhooks.values()
    assert kept == body.decode("utf-8")
    # and applied from the record, the names are intact
    assert zoomhooks.apply(zmajlis, kept) == "created"
    found = by_email(zmajlis, WEBINAR_EVENT, "fatima@example.org")
    assert (found.first_name, found.last_name) == ("فاطمة", "الزهراء 🌙✨")


def test_url_validation_is_answered_with_the_hmac_of_the_plain_token_and_not_recorded(zmajlis):
    event = {
        "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
        "event_ts": 1654503849680,
        "event": "endpoint.url_validation",
    }
    body = raw(event)
    answer = zoomhooks.receive(
        zmajlis, body, signed_headers(body, now_ts(zmajlis)), zmajlis.clock()
    )
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert answer.status == 200
    assert answer.body == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}
    assert zmajlis.zoom_store.webhooks == {}


def test_an_unsigned_url_validation_is_refused(zmajlis):
    body = raw({"payload": {"plainToken": "x"}, "event": "endpoint.url_validation"})
    refused = problem_of(
        lambda: zoomhooks.receive(
            zmajlis, body, {"x-zm-request-timestamp": now_ts(zmajlis)}, zmajlis.clock()
        )
    )
    assert refused.status == 401


@pytest.mark.parametrize("kind", ["meeting.started", "webinar.ended", "session.started"])
def test_events_not_handled_are_acknowledged_and_not_recorded(zmajlis, kind):
    event = {
        "event": kind,
        "event_ts": 1700000000000,
        "payload": {"account_id": ACCOUNT, "object": zoom_object("meeting", "71234567890")},
    }
    body = raw(event)
    answer = zoomhooks.receive(
        zmajlis, body, signed_headers(body, now_ts(zmajlis)), zmajlis.clock()
    )
    assert answer.status == 200
    assert zmajlis.zoom_store.webhooks == {}


@pytest.mark.parametrize(
    "action",
    [
        "registration_created",
        "registration_approved",
        "registration_cancelled",
        "registration_denied",
        "participant_joined",
    ],
)
@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_every_handled_event_of_meetings_and_webinars_is_recorded(zmajlis, kind, action):
    event = created(kind, KINDS[kind][1], "r1", "a@example.org", action=action)
    body = raw(event)
    zoomhooks.receive(zmajlis, body, signed_headers(body, now_ts(zmajlis)), zmajlis.clock())
    assert len(zmajlis.zoom_store.webhooks) == 1


# -- applying: registrations created in Zoom -----------------------------------------


@pytest.mark.parametrize("action", ["registration_created", "registration_approved"])
@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_a_zoom_registrant_unknown_to_us_becomes_a_registration_for_that_session(
    zmajlis, kind, action
):
    event_id, education, _ = KINDS[kind]
    event = created(kind, education, "zr-1", "Newcomer@Example.org", action=action, last=None)
    assert apply(zmajlis, event) == "created"
    found = by_email(zmajlis, event_id, "newcomer@example.org")
    assert found is not None
    assert found.source == "zoom"
    assert found.status is Status.REGISTERED
    assert found.language == "ar"  # the event's default
    assert found.country is None
    assert found.first_name == "Amina" and found.last_name is None
    assert found.sessions == ["education"]
    assert found.zoom == {
        "education": {
            "registrant_id": "zr-1",
            "join_url": f"https://us06web.zoom.us/w/{education}?tk=tk-zr-1",
            "meeting": f"{kind}:{education}",
        }
    }
    assert zmajlis.zoom_store.registration_for_registrant("zr-1") == found.registration_id
    assert zmajlis.events.seats[event_id].registered == 1


@pytest.mark.parametrize("action", ["registration_created", "registration_approved"])
@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_a_zoom_registrant_we_know_by_email_gets_the_session_added(zmajlis, kind, action):
    event_id, _education, family = KINDS[kind]
    mine = form_registration(zmajlis, event_id, 1, ["education"])
    event = created(kind, family, "zr-7", "PERSON1@example.org", action=action)
    assert apply(zmajlis, event) == "session added"
    after = zmajlis.registrations.get(mine.registration_id)
    assert after.sessions == ["education", "family"]
    assert after.zoom["family"] == {
        "registrant_id": "zr-7",
        "join_url": f"https://us06web.zoom.us/w/{family}?tk=tk-zr-7",
        "meeting": f"{kind}:{family}",
    }
    assert after.source == "form" and after.language == "ms" and after.country == "MY"
    assert len(all_for(zmajlis, event_id, "person1@example.org")) == 1
    assert zmajlis.events.seats[event_id].registered == 1


def test_a_join_url_off_zoom_s_hosts_is_not_kept(zmajlis):
    mine = form_registration(zmajlis, WEBINAR_EVENT, 1, ["education"])
    for n, forged in enumerate(
        ["https://evil.example/w/1", "http://us06web.zoom.us/w/1", "https://zoom.us.evil.example/w"]
    ):
        event = created(
            "webinar",
            "81234567891",
            f"zr-{n}",
            "person1@example.org",
            ts=1700000000000 + n,
            join_url=forged,
        )
        assert apply(zmajlis, event) == ("session added" if not n else "known")
        after = zmajlis.registrations.get(mine.registration_id)
        assert after.zoom["family"]["join_url"] == ""  # never followed


def test_a_zoom_registrant_for_a_session_we_already_hold_only_records_the_ids(zmajlis):
    mine = form_registration(zmajlis, WEBINAR_EVENT, 1, ["education", "family"])
    assert apply(zmajlis, created("webinar", "81234567890", "zr-2", "person1@example.org")) == (
        "known"
    )
    after = zmajlis.registrations.get(mine.registration_id)
    assert after.sessions == ["education", "family"]
    assert after.zoom["education"]["registrant_id"] == "zr-2"


def test_a_zoom_registrant_without_a_usable_email_is_ignored(zmajlis):
    event = created("webinar", "81234567890", "zr-3", "not an email")
    assert apply(zmajlis, event) == "no usable email"
    assert zmajlis.registrations.registrations == {}


# -- applying: cancelled and denied ---------------------------------------------------


@pytest.mark.parametrize("action", ["registration_cancelled", "registration_denied"])
@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_a_cancelled_registrant_loses_that_session_only(zmajlis, kind, action):
    event_id, _education, family = KINDS[kind]
    mine = form_registration(zmajlis, event_id, 1, ["education", "family"])
    apply(zmajlis, created(kind, family, "zr-f", "person1@example.org", ts=1000))
    event = cancelled(kind, family, "zr-f", "person1@example.org", ts=2000, action=action)
    assert apply(zmajlis, event) == "session dropped"
    after = zmajlis.registrations.get(mine.registration_id)
    assert after.status is Status.REGISTERED
    assert after.sessions == ["education"]
    assert "family" not in after.zoom
    assert after.link_version == mine.link_version
    assert zmajlis.events.seats[event_id].registered == 1


@pytest.mark.parametrize("action", ["registration_cancelled", "registration_denied"])
@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_losing_the_last_session_cancels_the_registration_revokes_links_frees_the_seat(
    zmajlis, kind, action
):
    event_id, education, _ = KINDS[kind]
    mine = form_registration(zmajlis, event_id, 1, ["education"])
    apply(zmajlis, created(kind, education, "zr-e", "person1@example.org", ts=1000))
    assert zmajlis.events.seats[event_id].registered == 1
    event = cancelled(kind, education, "zr-e", "person1@example.org", ts=2000, action=action)
    assert apply(zmajlis, event) == "cancelled"
    after = zmajlis.registrations.get(mine.registration_id)
    assert after.status is Status.CANCELLED
    assert after.link_version == mine.link_version + 1
    assert "education" not in after.zoom
    seats = zmajlis.events.seats[event_id]
    assert (seats.registered, seats.cancelled) == (0, 1)


def test_a_cancellation_matched_by_email_when_the_registrant_id_is_unknown(zmajlis):
    mine = form_registration(zmajlis, WEBINAR_EVENT, 1, ["education", "family"])
    event = cancelled("webinar", "81234567891", "zr-never-seen", "Person1@Example.org", last=None)
    assert apply(zmajlis, event) == "session dropped"
    assert zmajlis.registrations.get(mine.registration_id).sessions == ["education"]


def test_a_cancellation_of_someone_unknown_changes_nothing(zmajlis):
    mine = form_registration(zmajlis, WEBINAR_EVENT, 1, ["education"])
    assert apply(zmajlis, cancelled("webinar", "81234567890", "zr-x", "other@example.org")) == (
        "nothing to drop"
    )
    assert zmajlis.registrations.get(mine.registration_id) == mine


def test_a_cancellation_for_a_session_not_held_changes_nothing(zmajlis):
    mine = form_registration(zmajlis, WEBINAR_EVENT, 1, ["education"])
    event = cancelled("webinar", "81234567891", "zr-x", "person1@example.org")
    assert apply(zmajlis, event) == "already dropped"
    assert zmajlis.registrations.get(mine.registration_id) == mine


# -- applying: attendance -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_a_participant_is_matched_by_registrant_id(zmajlis, kind):
    event_id, education, _ = KINDS[kind]
    mine = form_registration(zmajlis, event_id, 1, ["education"])
    apply(zmajlis, created(kind, education, "zr-9", "person1@example.org"))
    # no email: Zoom often leaves it out
    assert apply(zmajlis, joined(kind, education, registrant_id="zr-9")) == "attended"
    assert zmajlis.registrations.get(mine.registration_id).attended == {
        "education": "2027-03-06T12:01:02Z"
    }
    assert zmajlis.zoom_store.attendance == [(mine.registration_id, event_id, "education")]


@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_a_participant_without_registrant_id_is_matched_by_email(zmajlis, kind):
    event_id, education, _ = KINDS[kind]
    mine = form_registration(zmajlis, event_id, 1, ["education"])
    assert apply(zmajlis, joined(kind, education, email="PERSON1@example.org")) == "attended"
    assert "education" in zmajlis.registrations.get(mine.registration_id).attended
    assert zmajlis.zoom_store.attendance == [(mine.registration_id, event_id, "education")]


@pytest.mark.parametrize(
    "who",
    [{}, {"email": "stranger@example.org"}, {"registrant_id": "zr-unknown"}],
    ids=["neither", "unknown email", "unknown registrant"],
)
@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_a_participant_we_cannot_match_is_kept_unmatched(zmajlis, kind, who):
    event_id, education, _ = KINDS[kind]
    mine = form_registration(zmajlis, event_id, 1, ["education"])
    assert apply(zmajlis, joined(kind, education, **who)) == "attended, unmatched"
    assert zmajlis.zoom_store.attendance == [(None, event_id, "education")]
    assert zmajlis.registrations.get(mine.registration_id).attended == {}


# -- applying: not ours ---------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        created("webinar", "99999999999", "zr-1", "a@example.org"),
        created("meeting", "99999999999", "zr-1", "a@example.org"),
        cancelled("webinar", "99999999999", "zr-1", "person1@example.org"),
        joined("meeting", "99999999999", email="person1@example.org"),
    ],
    ids=["created", "created (meeting)", "cancelled", "joined"],
)
def test_an_unknown_meeting_id_changes_nothing(zmajlis, event):
    mine = form_registration(zmajlis, WEBINAR_EVENT, 1, ["education"])
    before = dict(zmajlis.registrations.registrations)
    assert apply(zmajlis, event) == "not one of our sessions"
    assert zmajlis.registrations.registrations == before
    assert zmajlis.registrations.get(mine.registration_id) == mine
    assert zmajlis.zoom_store.attendance == []
    assert zmajlis.zoom_store.seen == {}


# -- idempotence and order ------------------------------------------------------------


def state(majlis: Services) -> dict[tuple[str, str], Any]:
    """What matters of every registration, by (event, email); cancelled = not registered."""
    found: dict[tuple[str, str], Any] = {}
    for r in majlis.registrations.registrations.values():
        if r.status is Status.CANCELLED:
            continue
        found[(r.event_id, r.email_key)] = (
            r.status,
            tuple(r.sessions),
            {s: z["registrant_id"] for s, z in sorted(r.zoom.items())},
            r.source,
            tuple(sorted(r.attended.items())),
            r.link_version,
        )
    return found


def seats(majlis: Services) -> dict[str, int]:
    return {event_id: s.registered for event_id, s in majlis.events.seats.items()}


@pytest.mark.parametrize(
    "make",
    [
        lambda k, e, f: created(k, f, "zr-new", "new@example.org"),
        lambda k, e, f: created(k, f, "zr-new", "new@example.org", action="registration_approved"),
        lambda k, e, f: created(k, f, "zr-p1", "person1@example.org"),
        lambda k, e, f: cancelled(k, e, "zr-p1e", "person1@example.org"),
        lambda k, e, f: cancelled(
            k, e, "zr-p1e", "person1@example.org", action="registration_denied"
        ),
        lambda k, e, f: cancelled(k, e, "zr-p2e", "person2@example.org"),
        lambda k, e, f: joined(k, e, registrant_id="zr-p1e"),
        lambda k, e, f: joined(k, e, email="person2@example.org"),
        lambda k, e, f: joined(k, e),
    ],
    ids=[
        "created, unknown",
        "approved, unknown",
        "created, known",
        "cancelled, one of two sessions",
        "denied, one of two sessions",
        "cancelled, the last session",
        "joined by registrant id",
        "joined by email",
        "joined unmatched",
    ],
)
@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_every_event_delivered_twice_changes_nothing_the_second_time(zmajlis, kind, make):
    event_id, education, family = KINDS[kind]
    p1 = form_registration(zmajlis, event_id, 1, ["education", "family"])
    p2 = form_registration(zmajlis, event_id, 2, ["education"])
    for who, registrant_id in ((p1, "zr-p1e"), (p2, "zr-p2e")):
        zmajlis.zoom_store.synced(
            who.registration_id,
            {"education": (ZoomRegistrant(who.email, registrant_id, "u"), f"{kind}:{education}")},
            NOW,
        )
    event = make(kind, education, family)
    apply(zmajlis, event)
    once = (state(zmajlis), seats(zmajlis), set(zmajlis.zoom_store.attendance))
    second = apply(zmajlis, event)
    assert (state(zmajlis), seats(zmajlis), set(zmajlis.zoom_store.attendance)) == once
    if "participant" not in json.dumps(event):
        assert second == "already applied"


def test_a_duplicate_received_twice_then_applied_twice_is_applied_once(zmajlis):
    body = raw(created("webinar", "81234567891", "zr-1", "new@example.org"))
    for _ in range(2):
        zoomhooks.receive(zmajlis, body, signed_headers(body, now_ts(zmajlis)), zmajlis.clock())
    [kept] = zmajlis.zoom_store.webhooks.values()
    assert zoomhooks.apply(zmajlis, kept) == "created"
    assert zoomhooks.apply(zmajlis, body.decode()) == "already applied"
    assert len(all_for(zmajlis, WEBINAR_EVENT, "new@example.org")) == 1


def scenario(kind: str) -> list[dict[str, Any]]:
    """Events for several registrants, with increasing event_ts (Zoom's order)."""
    _, education, family = KINDS[kind]
    ts = iter(range(1700000000000, 1700000100000, 1000))
    return [
        # p10, unknown: registers in Zoom, then cancels (last session)
        created(kind, family, "zr-10", "person10@example.org", ts=next(ts)),
        cancelled(kind, family, "zr-10", "person10@example.org", ts=next(ts)),
        # p11, unknown: registers for two sessions
        created(kind, education, "zr-11e", "person11@example.org", ts=next(ts)),
        created(kind, family, "zr-11f", "person11@example.org", ts=next(ts), last=None),
        # p3 (ours, education): adds family in Zoom, then the host denies it
        created(kind, family, "zr-3f", "person3@example.org", ts=next(ts)),
        cancelled(
            kind, family, "zr-3f", "person3@example.org", ts=next(ts), action="registration_denied"
        ),
        # p12, unknown, manual approval: created, then approved
        created(kind, education, "zr-12", "person12@example.org", ts=next(ts)),
        created(
            kind,
            education,
            "zr-12",
            "person12@example.org",
            ts=next(ts),
            action="registration_approved",
        ),
        # p4 (ours, education + family, synced): our add's echo, then a cancel in Zoom
        created(kind, education, "zr-4e", "person4@example.org", ts=next(ts)),
        cancelled(kind, education, "zr-4e", "person4@example.org", ts=next(ts)),
        # p5 (ours, education): registers family in Zoom; echo twice
        created(kind, family, "zr-5f", "person5@example.org", ts=next(ts)),
        created(kind, family, "zr-5f", "person5@example.org", ts=next(ts)),
        # p3 attends education: matched by email whatever the order
        joined(kind, education, email="person3@example.org", ts=next(ts)),
        # p13, unknown: registers for education, cancels it, then registers for family
        created(kind, education, "zr-13", "person13@example.org", ts=next(ts)),
        cancelled(kind, education, "zr-13", "person13@example.org", ts=next(ts)),
        created(kind, family, "zr-13f", "person13@example.org", ts=next(ts)),
    ]


def _prepared(majlis: Services, kind: str) -> Services:
    event_id = KINDS[kind][0]
    form_registration(majlis, event_id, 3, ["education"])
    p4 = form_registration(majlis, event_id, 4, ["education", "family"])
    form_registration(majlis, event_id, 5, ["education"])
    _, education, family = KINDS[kind]
    for session_id, zoom_id, registrant_id in (
        ("education", education, "zr-4e"),
        ("family", family, "zr-4f"),
    ):
        majlis.zoom_store.synced(
            p4.registration_id,
            {
                session_id: (
                    ZoomRegistrant("person4@example.org", registrant_id, "u"),
                    f"{kind}:{zoom_id}",
                )
            },
            NOW,
        )
    return majlis


def _fresh(kind: str) -> Services:
    majlis = fake_majlis(Clock(NOW))
    majlis.events.put(Event.model_validate({**event_body(), "id": WEBINAR_EVENT}), majlis.clock())
    majlis.zoom_store.map_event(majlis.events.get(WEBINAR_EVENT))
    body = event_body(MEETING_BASE)
    for session in body["sessions"]:
        session["zoom"] = {"type": "meeting", "id": session["zoom"]["id"]}
    meeting_event = Event.model_validate({**body, "id": MEETING_EVENT})
    majlis.events.put(meeting_event, majlis.clock())
    majlis.zoom_store.map_event(meeting_event)
    return _prepared(majlis, kind)


@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_the_scenario_in_order_ends_as_zoom_says(kind):
    majlis = _fresh(kind)
    event_id = KINDS[kind][0]
    for event in scenario(kind):
        apply(majlis, event)
    final = state(majlis)

    def key(n: int) -> tuple[str, str]:
        return (event_id, f"person{n}@example.org")

    assert key(10) not in final
    assert final[key(11)][1:3] == (
        ("education", "family"),
        {"education": "zr-11e", "family": "zr-11f"},
    )
    assert final[key(3)][1] == ("education",)
    assert final[key(3)][4] == (("education", "2027-03-06T12:01:02Z"),)
    assert final[key(12)][1:3] == (("education",), {"education": "zr-12"})
    assert final[key(4)][1:3] == (("family",), {"family": "zr-4f"})
    assert final[key(5)][1:3] == (("education", "family"), {"family": "zr-5f"})
    assert final[key(13)][1:3] == (("family",), {"family": "zr-13f"})


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_any_order_of_delivery_ends_as_the_order_zoom_sent_them(kind, seed):
    events = scenario(kind)
    in_order = _fresh(kind)
    for event in events:
        apply(in_order, event)

    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    # and some delivered twice, as Zoom does
    shuffled += random.Random(seed + 100).sample(events, 4)
    random.Random(seed + 200).shuffle(shuffled)
    any_order = _fresh(kind)
    for event in shuffled:
        apply(any_order, event)

    assert state(any_order) == state(in_order)
    assert seats(any_order) == seats(in_order)


@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_a_cancel_delivered_before_its_create_leaves_the_registrant_not_registered(zmajlis, kind):
    event_id, education, _ = KINDS[kind]
    create = created(kind, education, "zr-1", "late@example.org", ts=1700000000000)
    cancel = cancelled(kind, education, "zr-1", "late@example.org", ts=1700000005000)
    assert apply(zmajlis, cancel) == "nothing to drop"
    assert apply(zmajlis, create) == "already applied"
    assert by_email(zmajlis, event_id, "late@example.org") is None
    # and for someone of ours, holding the session: dropped, not re-added
    mine = form_registration(zmajlis, event_id, 1, ["education", "family"])
    create = created(kind, education, "zr-2", "person1@example.org", ts=1700000000000)
    cancel = cancelled(kind, education, "zr-2", "person1@example.org", ts=1700000005000)
    assert apply(zmajlis, cancel) == "session dropped"
    assert apply(zmajlis, create) == "already applied"
    after = zmajlis.registrations.get(mine.registration_id)
    assert after.sessions == ["family"] and "education" not in after.zoom


@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_a_late_cancel_of_an_old_registrant_id_does_not_undo_a_later_registration(zmajlis, kind):
    # Zoom: registered (zr-a), cancelled, registered again (a new registrant, zr-b).
    event_id, education, _ = KINDS[kind]
    first = created(kind, education, "zr-a", "again@example.org", ts=1700000000000)
    cancel = cancelled(kind, education, "zr-a", "again@example.org", ts=1700000001000)
    second = created(kind, education, "zr-b", "again@example.org", ts=1700000002000)
    in_order = _fresh(kind)
    for event in (first, cancel, second):
        apply(in_order, event)
    expected = state(in_order)
    assert expected[(event_id, "again@example.org")][1:3] == (("education",), {"education": "zr-b"})
    # delivered: first, second, then the cancel of the first registrant id, late
    for event in (first, second, cancel):
        apply(zmajlis, event)
    got = {k: v for k, v in state(zmajlis).items() if k == (event_id, "again@example.org")}
    assert got == {k: v for k, v in expected.items() if k == (event_id, "again@example.org")}


def test_events_for_one_registrant_in_two_sessions_are_ordered_separately(zmajlis):
    # The newest event for education must not hide an older one for family.
    apply(zmajlis, created("webinar", "81234567890", "zr-e", "two@example.org", ts=2000))
    apply(zmajlis, created("webinar", "81234567891", "zr-f", "two@example.org", ts=1000))
    found = by_email(zmajlis, WEBINAR_EVENT, "two@example.org")
    assert found.sessions == ["education", "family"]


def test_a_zoom_retry_90_minutes_later_still_loses_to_a_newer_event(zmajlis):
    # event_ts in milliseconds; a retry from Zoom ~90 minutes later must still lose.
    late = 1700000000000 + int(timedelta(minutes=90).total_seconds() * 1000)
    apply(zmajlis, cancelled("webinar", "81234567890", "zr-1", "x@example.org", ts=late))
    apply(zmajlis, created("webinar", "81234567890", "zr-1", "x@example.org", ts=1700000000000))
    assert by_email(zmajlis, WEBINAR_EVENT, "x@example.org") is None


@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_a_late_echo_of_our_own_add_does_not_give_back_a_session_the_person_dropped(zmajlis, kind):
    """Zoom's registration_created for a registrant we added can come after the person
    dropped that session on their page: it is our echo, not their choice."""
    event_id, _education, family = KINDS[kind]
    mine = form_registration(zmajlis, event_id, 1, ["education", "family"])
    ours = ZoomRegistrant("person1@example.org", "zr-ours", "u")
    zmajlis.zoom_store.synced(
        mine.registration_id, {"family": (ours, f"{kind}:{family}")}, zmajlis.clock()
    )
    held = zmajlis.registrations.get(mine.registration_id)
    zmajlis.registrations.change(held, {"sessions": ["education"]}, ["family"], zmajlis.clock())
    echo = created(kind, family, "zr-ours", "person1@example.org")
    assert apply(zmajlis, echo) == "dropped since"
    assert zmajlis.registrations.get(mine.registration_id).sessions == ["education"]
    # (A session chosen in Zoom itself is still added: the test above.)
