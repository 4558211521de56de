"""Setting up Zoom rooms over real HTTP against the stand-in: the client's interpretation
and panelist calls, and the use case (usecases/zoomsetup.py) on moto's table — each room
interpreted, a language Zoom lacks turned into an organiser's message (never a crash),
speakers added and removed as panelists, and never registrants."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.adapters.zoom_api import ZoomApi
from chalicelib.domain.events import Event
from chalicelib.domain.registrations import RegistrationFilter
from chalicelib.ports import (
    Services,
    ZoomCredentials,
    ZoomFailure,
    ZoomInterpretation,
    ZoomInterpreter,
    ZoomLanguageUndefined,
)
from chalicelib.usecases import zoomsetup
from infra.local.zoom import ZoomStandIn
from tests.builders import NOW, event_body

WEBINAR = "81234567800"
MEETING = "81234567801"
FAST = {"light": 1000.0, "medium": 1000.0, "heavy": 1000.0}
NO_LIMITS = {"light": 0, "medium": 0, "heavy": 0}
URDU_MESSAGE = (
    "Zoom has no language 'Urdu' on this account: in Zoom's web portal, Account Management "
    "> Account Settings > Meeting > Language Interpretation, add Urdu as a custom language; "
    "Majlis applies it again at the next reconciliation."
)


@pytest.fixture
def standin() -> Iterator[ZoomStandIn]:
    with ZoomStandIn(rate_limits=NO_LIMITS) as started:
        yield started


def client(standin: ZoomStandIn) -> ZoomApi:
    credentials = ZoomCredentials(standin.account_id, standin.client_id, standin.client_secret)
    return ZoomApi(lambda: credentials, standin.api_url, standin.oauth_url, pace=FAST)


# -- the client ----------------------------------------------------------------------------


def test_built_in_pairs_go_as_codes_and_custom_ones_by_name(standin):
    standin.custom_languages = {"Arabic"}
    interpretation = ZoomInterpretation(
        enable=True,
        interpreters=(
            ZoomInterpreter("i1@example.org", ("English", "French")),
            ZoomInterpreter("i2@example.org", ("Arabic", "English")),
        ),
    )
    client(standin).set_interpretation("meeting", MEETING, interpretation)
    kept = standin.settings_of("meeting", MEETING)["language_interpretation"]
    assert kept["enable"] is True
    assert [(i["languages"], i["interpreter_languages"]) for i in kept["interpreters"]] == [
        ("US,FR", "English,French"),
        (",US", "Arabic,English"),
    ]
    assert standin.calls("update", "meeting") == 1


def test_an_undefined_language_is_a_failure_naming_it(standin):
    interpretation = ZoomInterpretation(
        enable=True, interpreters=(ZoomInterpreter("i1@example.org", ("Urdu", "English")),)
    )
    with pytest.raises(ZoomLanguageUndefined) as caught:
        client(standin).set_interpretation("webinar", WEBINAR, interpretation)
    assert caught.value.language == "Urdu"
    assert caught.value.kind == "rejected" and caught.value.permanent
    assert "Urdu" in caught.value.reason


def test_panelists_are_listed_added_and_removed(standin):
    zoom = client(standin)
    zoom.add_panelists(
        WEBINAR,
        [
            {"name": "Amina Haddad", "email": "amina@example.org"},
            {"name": "Yusuf Demir", "email": "yusuf@example.org"},
        ],
    )
    listed = zoom.panelists(WEBINAR)
    assert [(p.email, p.name) for p in listed] == [
        ("amina@example.org", "Amina Haddad"),
        ("yusuf@example.org", "Yusuf Demir"),
    ]
    zoom.remove_panelist(WEBINAR, listed[1].panelist_id)
    assert [p.email for p in zoom.panelists(WEBINAR)] == ["amina@example.org"]


@pytest.mark.parametrize("mode", ["before", "after"])
def test_interpretation_and_panelist_failures_are_classified(standin, mode):
    zoom = client(standin)
    standin.faults.set(error_rate=1.0, error_mode=mode)
    with pytest.raises(ZoomFailure) as caught:
        zoom.set_interpretation("meeting", MEETING, ZoomInterpretation(enable=True))
    assert caught.value.kind == "unavailable"
    with pytest.raises(ZoomFailure) as caught:
        zoom.panelists(WEBINAR)
    assert caught.value.kind == "unavailable"
    standin.faults.reset()
    standin.rate_limits = {"medium": 1}
    zoom.panelists(WEBINAR)
    with pytest.raises(ZoomFailure) as caught:
        zoom.panelists(WEBINAR)
    assert caught.value.kind == "rate_limited"


# -- the use case, on moto's table ---------------------------------------------------------


def conference(speakers: list[dict[str, str]] | None = None, **session: Any) -> Event:
    """The reference event; its first session in a webinar and an overflow meeting,
    interpreted from Arabic into six languages, with ``speakers``."""
    body = event_body()
    first = body["sessions"][0]
    first.pop("zoom")
    first.pop("join_url")
    first["rooms"] = [
        {"zoom": {"type": "webinar", "id": WEBINAR}, "capacity": 4999},
        {"zoom": {"type": "meeting", "id": MEETING}, "capacity": 1000},
        {"watch_url": "https://live.example.org/majlis", "label": {"en": "Live stream"}},
    ]
    first["interpretation"] = {
        "from": "ar",
        "into": ["en", "tr", "fr", "es", "ur", "ms"],
        "interpreters": [
            {"email": f"{code}.interpreter@example.org", "languages": ["ar", code]}
            for code in ("en", "tr", "fr", "es", "ur", "ms")
        ],
    }
    first["speakers"] = speakers or []
    first.update(session)
    body["sessions"] = [first]
    return Event.model_validate({**body, "id": "conf"})


@pytest.fixture
def wired(aws: Services, standin: ZoomStandIn) -> Services:
    return dataclasses.replace(aws, zoom=client(standin))


def saved(services: Services, event: Event) -> Event:
    services.events.put(event, NOW)
    found = services.events.get(event.id, fresh=True)
    assert found is not None
    return found


def test_interpretation_is_applied_to_each_zoom_room(wired, standin):
    standin.custom_languages = {"Arabic", "Turkish", "Urdu", "Malay"}
    event = saved(wired, conference())
    outcome = zoomsetup.apply(wired, event.id)
    assert outcome.rooms == 2 and outcome.applied == 2 and not outcome.problems
    for kind, zoom_id in (("webinar", WEBINAR), ("meeting", MEETING)):
        kept = standin.settings_of(kind, zoom_id)["language_interpretation"]
        assert kept["enable"] is True
        assert sorted(i["interpreter_languages"] for i in kept["interpreters"]) == sorted(
            f"Arabic,{name}"
            for name in ("English", "Turkish", "French", "Spanish", "Urdu", "Malay")
        )
    shown = zoomsetup.status(wired, event)
    rooms = shown["sessions"]["education"]["rooms"]
    assert set(rooms) == {f"webinar:{WEBINAR}", f"meeting:{MEETING}"}  # no watch room
    assert {r["interpretation"]["state"] for r in rooms.values()} == {"applied"}
    assert shown["problems"] == []


def test_an_undefined_language_gives_the_organisers_a_message_and_no_crash(wired, standin):
    standin.custom_languages = {"Arabic", "Turkish", "Malay"}  # no Urdu
    event = saved(wired, conference())
    outcome = zoomsetup.apply(wired, event.id)
    assert not outcome.retry
    assert outcome.problems == [URDU_MESSAGE, URDU_MESSAGE]  # one per room
    # everything else is applied
    kept = standin.settings_of("meeting", MEETING)["language_interpretation"]
    assert len(kept["interpreters"]) == 5
    assert all("Urdu" not in i["interpreter_languages"] for i in kept["interpreters"])
    shown = zoomsetup.status(wired, event)
    room = shown["sessions"]["education"]["rooms"][f"meeting:{MEETING}"]["interpretation"]
    assert room["state"] == "incomplete"
    assert room["missing"] == ["Urdu"]
    assert room["problems"] == [URDU_MESSAGE]
    assert "ur" not in room["languages"] and "ms" in room["languages"]
    assert shown["problems"] == [URDU_MESSAGE]  # said once for the event

    # the organisers create Urdu in Zoom's portal; the next reconciliation applies it
    standin.custom_languages = {"Arabic", "Turkish", "Malay", "Urdu"}
    wired.zoom_store.map_event(event)
    report = zoomsetup.reconcile(wired)
    assert report["problems"] == 0
    assert zoomsetup.status(wired, event)["problems"] == []
    kept = standin.settings_of("meeting", MEETING)["language_interpretation"]
    assert len(kept["interpreters"]) == 6


def test_no_custom_language_at_all_still_applies_what_zoom_has(wired, standin):
    event = saved(wired, conference())
    outcome = zoomsetup.apply(wired, event.id)
    # Arabic is the source of every pair: nothing can be applied, and Arabic is named
    assert any("'Arabic'" in message for message in outcome.problems)
    shown = zoomsetup.status(wired, event)
    assert shown["sessions"]["education"]["rooms"][f"webinar:{WEBINAR}"]["interpretation"][
        "state"
    ] in ("incomplete", "failed")


def test_speakers_become_panelists_and_leave_as_they_change(wired, standin):
    standin.custom_languages = {"Arabic", "Turkish", "Urdu", "Malay"}
    zoom = client(standin)
    zoom.add_panelists(WEBINAR, [{"name": "Host's guest", "email": "guest@example.org"}])
    amina = {"name": "Dr Amina Haddad", "email": "amina@example.org"}
    yusuf = {"name": "Yusuf Demir", "email": "yusuf@example.org"}
    event = saved(wired, conference(speakers=[amina, yusuf]))
    zoomsetup.apply(wired, event.id)
    emails = {p["email"] for p in standin.panelists(WEBINAR)}
    assert {"amina@example.org", "yusuf@example.org", "guest@example.org"} <= emails
    assert "en.interpreter@example.org" in emails  # interpreters are panelists too
    panelists = zoomsetup.status(wired, event)["sessions"]["education"]["rooms"][
        f"webinar:{WEBINAR}"
    ]["panelists"]
    assert panelists["state"] == "synced"
    assert panelists["added"] == ["amina@example.org", "yusuf@example.org"]
    assert zoomsetup.status(wired, event)["sessions"]["education"]["rooms"][f"meeting:{MEETING}"][
        "panelists"
    ] == {"state": "none"}

    # Yusuf no longer speaks: he leaves; the organisers' guest and the interpreters stay
    event = saved(wired, conference(speakers=[amina]))
    zoomsetup.apply(wired, event.id)
    emails = {p["email"] for p in standin.panelists(WEBINAR)}
    assert "yusuf@example.org" not in emails
    assert {"amina@example.org", "guest@example.org", "ur.interpreter@example.org"} <= emails

    # no speakers at all: Amina leaves too, nothing else does
    event = saved(wired, conference(speakers=[]))
    zoomsetup.apply(wired, event.id)
    emails = {p["email"] for p in standin.panelists(WEBINAR)}
    assert "amina@example.org" not in emails and "guest@example.org" in emails

    # speakers are never registrants, in Zoom or here
    assert standin.registrants("webinar", WEBINAR) == []
    assert standin.registrants("meeting", MEETING) == []
    assert list(wired.registrations.every("conf", RegistrationFilter())) == []


def test_a_zoom_outage_asks_for_the_job_again_and_records_why(wired, standin):
    standin.custom_languages = {"Arabic", "Turkish", "Urdu", "Malay"}
    event = saved(wired, conference(speakers=[{"name": "Amina", "email": "amina@example.org"}]))
    standin.faults.set(error_rate=1.0)
    outcome = zoomsetup.apply(wired, event.id)
    assert outcome.retry
    room = zoomsetup.status(wired, event)["sessions"]["education"]["rooms"][f"webinar:{WEBINAR}"]
    assert room["interpretation"]["state"] == "retrying"
    standin.faults.reset()
    outcome = zoomsetup.apply(wired, event.id)
    assert not outcome.retry and outcome.applied == 2
    assert [p["email"] for p in standin.panelists(WEBINAR) if p["email"].startswith("amina")]
