"""A programme change end to end, on local mode over real HTTP: the organiser's PUT moves
a session and cancels another; the table's stream fans the notice out; the mail worker
sends each affected registrant one email, which SES writes to the outbox. Read as a
mail client reads them: one email each, in the registrant's language and zone, a
calendar that updates the entry they hold (same UID, a higher SEQUENCE, CRLF lines) or
cancels it; nobody unaffected hears a thing, and a repeated PUT sends nothing more."""

from __future__ import annotations

import copy
import time
from collections import Counter
from typing import Any

import pytest
import requests
from icalendar import Calendar

from tests.builders import event_body, person, zoom_base_for
from tests.e2e.test_campaigns import _outbox, _register_all, _wait_for

EVENT = "programme-e2e"
PEOPLE = [
    {"language": "ar", "timezone": "Asia/Jerusalem", "sessions": ["education"]},
    {"language": "en", "timezone": "America/New_York", "sessions": ["education", "family"]},
    {"language": "tr", "timezone": "Europe/Istanbul", "sessions": ["family"]},
    {"language": "fr", "timezone": "Europe/Paris", "sessions": ["youth"]},  # unaffected
    {"language": "es", "timezone": "America/Bogota", "sessions": ["education"]},
    {"language": "ur", "timezone": "Asia/Karachi", "sessions": ["family", "youth"]},
    {"language": "ms", "timezone": "Asia/Kuala_Lumpur", "sessions": ["science"]},  # unaffected
]


def _headers(local: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {local.organizer_token}"}


def _put(local: Any, body: dict[str, Any]) -> requests.Response:
    return requests.put(
        f"{local.url}/events/{EVENT}", json=body, headers=_headers(local), timeout=30
    )


def _to(message: Any) -> str:
    (address,) = message["To"].addresses
    return address.addr_spec.lower()


def _calendars(message: Any) -> dict[str, bytes]:
    return {
        part.get_filename(): part.get_payload(decode=True)
        for part in message.iter_attachments()
        if part.get_content_type() == "text/calendar"
    }


@pytest.mark.slow
def test_a_moved_and_a_cancelled_session_reach_their_registrants_once(local):
    body = event_body(zoom_base_for(EVENT), registration={"opens_at": "2020-01-01T00:00:00Z"})
    for session in body["sessions"]:
        session.pop("zoom")  # no Zoom here: the email is what is under test
    assert _put(local, body).status_code in (200, 201)
    _register_all(local, EVENT, [{**spec} for spec in PEOPLE])
    addresses = [person(n)["email"].lower() for n in range(len(PEOPLE))]
    confirmed = _wait_for(
        "the confirmations",
        lambda: (
            (found := [m for m in _outbox(local) if _to(m) in addresses])
            and len(found) >= len(PEOPLE)
            and found
        ),
        local,
    )
    first_invites = {_to(m): Calendar.from_ical(_calendars(m)["invite.ics"]) for m in confirmed}
    seen = {id(m) for m in _outbox(local)}
    # When the organiser moves education by 30 minutes and cancels family
    changed = copy.deepcopy(body)
    for session in changed["sessions"]:
        if session["id"] == "education":
            session.update(starts_at="2027-03-06T12:30:00Z", ends_at="2027-03-06T14:30:00Z")
        if session["id"] == "family":
            session["status"] = "cancelled"
    answer = _put(local, changed)
    assert answer.status_code == 200, answer.text
    affected = {
        addresses[n]
        for n, spec in enumerate(PEOPLE)
        if {"education", "family"} & set(spec["sessions"])
    }
    assert answer.json()["notifying"] == len(affected) == 5
    # And the same PUT again (a retry): nothing more to tell
    assert _put(local, changed).json()["notifying"] == 0

    def notices() -> list[Any]:
        return [m for m in _outbox(local) if id(m) not in seen and _to(m) in addresses]

    found = _wait_for(
        "the change emails", lambda: len(notices()) >= len(affected) and notices(), local
    )
    time.sleep(3)  # and nothing more comes
    found = notices()
    assert Counter(_to(m) for m in found) == dict.fromkeys(affected, 1)
    for message in found:
        address = _to(message)
        calendars = _calendars(message)
        for data in calendars.values():
            assert b"\n" not in data.replace(b"\r\n", b""), address  # CRLF only
        held = set(PEOPLE[addresses.index(address)]["sessions"])
        if "education" in held:
            invite = Calendar.from_ical(calendars["invite.ics"])
            (entry,) = invite.walk("VEVENT")
            (old,) = [
                e
                for e in first_invites[address].walk("VEVENT")
                if str(e["uid"]) == str(entry["uid"])
            ]
            assert int(entry["sequence"]) > int(old["sequence"])
            assert entry.decoded("dtstart").isoformat() == "2027-03-06T12:30:00+00:00"
        if "family" in held:
            cancel = Calendar.from_ical(calendars["cancel.ics"])
            assert str(cancel["method"]) == "CANCEL"
            assert [str(e["uid"]).rsplit(".", 1)[1] for e in cancel.walk("VEVENT")] == [
                "family@majlis"
            ]
    english = next(m for m in found if _to(m) == addresses[1])
    text = english.get_body(("plain",)).get_content()
    assert "New time:" in text and "(it was" in text and "This session is cancelled." in text
