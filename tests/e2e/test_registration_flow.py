"""End to end on local mode: HTTP -> one transaction -> stream -> queue -> SES -> .eml.

These run the whole of local mode (moto server, event pump, Chalice's local server) on
free ports, and talk to it over real HTTP, as a registration form would.
"""

from __future__ import annotations

import email
import json
import time
from email import policy
from pathlib import Path

import requests

from tests.builders import event_body, person, zoom_base_for


def _outbox(local, count: int, timeout: float = 15.0) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(local.outbox.glob("*.eml")) if local.outbox.exists() else []
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"expected {count} emails, outbox has {len(found)}: {local.errors}")


def _organizer(local) -> dict[str, str]:
    return {"Authorization": f"Bearer {local.organizer_token}"}


def _put_event(local, event_id: str, **overrides) -> None:
    """An event open for registration now (the local server runs on the real clock)."""
    body = event_body(zoom_base_for(event_id), registration={"opens_at": "2020-01-01T00:00:00Z"})
    body.update(overrides)
    response = requests.put(f"{local.url}/events/{event_id}", json=body, headers=_organizer(local))
    assert response.status_code in (200, 201), response.text


def _eml_for(local, address: str, before: set[Path], timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(set(local.outbox.glob("*.eml")) - before):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address.lower() in str(message["To"]).lower():
                return message
        time.sleep(0.1)
    raise AssertionError(f"no email to {address}: {local.errors}")


def _existing(local) -> set[Path]:
    return set(local.outbox.glob("*.eml")) if local.outbox.exists() else set()


def test_demo_event_is_seeded_in_seven_languages(local):
    event = requests.get(f"{local.url}/events/demo").json()
    assert event["languages"] == ["ar", "en", "tr", "fr", "es", "ur", "ms"]
    assert len(event["sessions"]) == 8
    for item in [event, *event["sessions"]]:
        assert set(item["title"]) == set(event["languages"])
    assert event["display_timezones"] == ["Asia/Jerusalem", "Europe/Istanbul"]
    assert event["registration_open"] is True
    assert "capacity" not in event and "sender" not in event
    assert all("zoom" not in s and "join_url" not in s for s in event["sessions"])
    assert (local.root / "organizer-token").read_text().strip() == local.organizer_token


def test_register_in_urdu_by_form_and_receive_the_confirmation(local):
    before = _existing(local)
    # Given a person posting the plain HTML form in Urdu for two sessions
    response = requests.post(
        f"{local.url}/events/demo/registrations",
        data={
            "email": "Bilal@Example.PK",
            "first_name": "بلال",
            "last_name": "احمد",
            "country": "pk",
            "language": "ur",
            "timezone": "Asia/Karachi",
            "sessions": ["youth", "family"],
            "consent": "on",
        },
    )
    # Then the answer is 201 with an id and no link
    assert response.status_code == 201, response.text
    answer = response.json()
    assert set(answer) == {"registration_id", "status"}
    assert answer["status"] == "registered"
    # And one confirmation leaves through SES, in Urdu, to the address as given
    message = _eml_for(local, "bilal@example.pk", before)
    assert message["Content-Language"] == "ur"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] is None
    assert "علم کے پل" in str(message["Subject"])
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "بلال" in text and "نوجوانوں کی ورکشاپ" in text
    assert 'dir="rtl"' in html and "direction:rtl" in html
    assert text.count("* ") == 2  # exactly the two sessions chosen
    # And the organizer sees the registration as stored
    stored = requests.get(
        f"{local.url}/events/demo/registrations/{answer['registration_id']}",
        headers=_organizer(local),
    ).json()
    assert stored["country"] == "PK" and stored["timezone"] == "Asia/Karachi"
    assert stored["sessions"] == ["family", "youth"]  # the event's order
    assert stored["source"] == "form" and stored["email_status"] == "ok"


def test_a_full_event_sends_the_waiting_list_note(local):
    _put_event(local, "full-event", capacity=0)
    before = _existing(local)
    response = requests.post(
        f"{local.url}/events/full-event/registrations",
        json=person(1, email="wait@example.org", language="en"),
    )
    assert response.status_code == 201
    assert response.json()["status"] == "waitlisted"
    message = _eml_for(local, "wait@example.org", before)
    text = message.get_body(("plain",)).get_content()
    assert "waiting list" in text
    assert "Your sessions" not in text  # no sessions, no links for the waiting list


def test_a_duplicate_gets_200_and_no_second_email_within_ten_minutes(local):
    before = _existing(local)
    first = requests.post(
        f"{local.url}/events/demo/registrations", json=person(7, email="twice@example.org")
    )
    _eml_for(local, "twice@example.org", before)
    again = requests.post(
        f"{local.url}/events/demo/registrations", json=person(7, email="TWICE@example.org")
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    time.sleep(1.5)  # the pump would have sent a second email by now
    sent = [p for p in _existing(local) - before if "twice@example.org" in p.read_text().lower()]
    assert len(sent) == 1


def test_gateway_errors_are_problem_documents(local):
    for response, status in (
        (requests.get(f"{local.url}/events/demo/registrations"), 401),
        (
            requests.get(
                f"{local.url}/events/demo/registrations",
                headers={"Authorization": "Bearer mjt_unknown"},
            ),
            401,
        ),
        (requests.get(f"{local.url}/no/such/path"), 404),
        (requests.get(f"{local.url}/events/nope"), 404),
    ):
        assert response.status_code == status
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == status


def test_registration_window_and_scope(local):
    _put_event(local, "closed-event", registration={"closes_at": "2020-01-01T00:00:00Z"})
    closed = requests.post(f"{local.url}/events/closed-event/registrations", json=person(1))
    assert closed.status_code == 409
    assert closed.json()["type"] == "urn:majlis:problem:registration-closed"
    assert requests.get(f"{local.url}/events/closed-event").json()["registration_open"] is False


def test_body_limits(local):
    huge = json.dumps(person(1, first_name="x" * 70_000))
    response = requests.post(
        f"{local.url}/events/demo/registrations",
        data=huge,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    response = requests.post(
        f"{local.url}/events/demo/registrations",
        data="hello",
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 415


def test_through_chalices_test_client_and_the_pump(local):
    """The same flow with chalice.test.Client in this process, on local mode's AWS."""
    import app
    from infra.local.gateway import problem_client

    before = _existing(local)
    with problem_client(app.app) as client:
        response = client.http.post(
            "/events/demo/registrations",
            headers={"Content-Type": "application/json"},
            body=json.dumps(
                person(77, email="client@example.org", language="fr", timezone="Europe/Paris")
            ),
        )
    assert response.status_code == 201
    message = _eml_for(local, "client@example.org", before)
    assert message["Content-Language"] == "fr"
    text = message.get_body(("plain",)).get_content()
    assert "Ponts du savoir" in str(message["Subject"])
    assert "Paris" in text


def test_a_blocked_address_is_answered_like_anyone_and_gets_no_email(local):
    _put_event(local, "blocking", blocked=["spam.example", "bot@example.net"])
    before = _existing(local)
    url = f"{local.url}/events/blocking/registrations"
    real = requests.post(url, json=person(1, email="real@example.org"))
    blocked = [
        requests.post(url, json=person(n, email=email))
        for n, email in enumerate(["x@spam.example", "y@mx.spam.example", "BOT@example.net"])
    ]
    for response in blocked:
        assert response.status_code == real.status_code == 201
        assert response.json().keys() == real.json().keys()
        assert response.json()["status"] == real.json()["status"] == "registered"
        assert response.headers["Content-Type"] == real.headers["Content-Type"]
    _eml_for(local, "real@example.org", before)
    time.sleep(1.5)  # the pump would have sent the others theirs by now
    sent = [p.read_text().lower() for p in _existing(local) - before]
    assert not [t for t in sent if "spam.example" in t or "bot@example.net" in t]
    listed = requests.get(
        f"{local.url}/events/blocking/registrations", headers=_organizer(local)
    ).json()
    assert [r["email"] for r in listed["items"]] == ["real@example.org"]
