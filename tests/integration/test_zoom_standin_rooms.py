"""The Zoom stand-in's room settings over real HTTP: a room's own capacity (3043 early),
language interpretation (built-in and custom languages, refusals, 20 interpreters),
webinar panelists (interpreters among them) and livestream settings — behind the same
OAuth gate and per-second limits as the registrant endpoints, and kept across a restart."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.local.zoom import CATEGORY, INTERPRETERS_MAX, ZoomStandIn
from tests.integration.test_zoom_standin import MEETING, SECRET, WEBINAR, Zoom


@pytest.fixture
def make_zoom() -> Iterator[Callable[..., Zoom]]:
    started: list[ZoomStandIn] = []

    def make(**options: Any) -> Zoom:
        standin = ZoomStandIn(webhook_secret_token=SECRET, **options)
        standin.start()
        started.append(standin)
        return Zoom(standin)

    yield make
    for standin in started:
        standin.stop()


@pytest.fixture
def zoom(make_zoom) -> Zoom:
    return make_zoom(rate_limits={"light": 0, "medium": 0, "heavy": 0})


def interpretation(*interpreters: dict[str, str], enable: bool = True) -> dict[str, Any]:
    return {
        "settings": {
            "language_interpretation": {"enable": enable, "interpreters": list(interpreters)}
        }
    }


def patch(zoom: Zoom, body: dict[str, Any], kind: str = "meetings", zoom_id: str = MEETING):
    return zoom.call("PATCH", f"/{kind}/{zoom_id}", json=body)


# -- a room's own capacity -----------------------------------------------------------


def test_a_room_refuses_with_3043_at_its_own_capacity(zoom):
    zoom.standin.add_session("meeting", MEETING, capacity=2)
    assert [zoom.add(f"p{n}@example.org").status_code for n in range(2)] == [201, 201]
    full = zoom.add("late@example.org")
    assert full.status_code == 400
    assert full.json()["code"] == 3043
    assert zoom.batch(["late@example.org"]).json()["code"] == 3043
    # another room of the account still takes people (the account's cap is 4,999)
    assert zoom.add("late@example.org", kind="webinars", zoom_id=WEBINAR).status_code == 201


def test_the_accounts_capacity_still_caps_a_larger_room(make_zoom):
    zoom = make_zoom(capacity=1)
    zoom.standin.add_session("meeting", MEETING, capacity=10)
    assert zoom.add("a@example.org").status_code == 201
    assert zoom.add("b@example.org").json()["code"] == 3043


# -- interpretation ----------------------------------------------------------------------


def test_built_in_languages_by_code_are_applied_and_read_back(zoom):
    answer = patch(zoom, interpretation({"email": "i1@example.org", "languages": "US,FR"}))
    assert answer.status_code == 204
    read = zoom.call("GET", f"/meetings/{MEETING}").json()
    assert read["id"] == int(MEETING)
    assert read["settings"]["language_interpretation"] == {
        "enable": True,
        "interpreters": [
            {
                "email": "i1@example.org",
                "languages": "US,FR",
                "interpreter_languages": "English,French",
            }
        ],
    }


def test_custom_languages_need_the_account_to_define_them(zoom):
    body = interpretation(
        {"email": "i1@example.org", "interpreter_languages": "Arabic,English"},
        {"email": "i2@example.org", "interpreter_languages": "Arabic,Urdu"},
    )
    refused = patch(zoom, body)
    assert refused.status_code == 400
    assert refused.json()["code"] == 300
    assert "Arabic" in refused.json()["message"]
    assert zoom.standin.settings_of("meeting", MEETING) == {}  # refused whole

    zoom.standin.custom_languages = {"Arabic"}
    refused = patch(zoom, body)
    assert "Urdu" in refused.json()["message"]

    zoom.standin.custom_languages = {"Arabic", "Urdu"}
    assert patch(zoom, body).status_code == 204
    kept = zoom.standin.settings_of("meeting", MEETING)["language_interpretation"]
    assert [i["interpreter_languages"] for i in kept["interpreters"]] == [
        "Arabic,English",
        "Arabic,Urdu",
    ]


def test_the_older_form_takes_only_built_in_codes(zoom):
    zoom.standin.custom_languages = {"Arabic"}
    refused = patch(zoom, interpretation({"email": "i1@example.org", "languages": "US,AR"}))
    assert refused.status_code == 400
    assert "AR" in refused.json()["message"]


def test_at_most_20_interpreters_each_between_two_languages(zoom):
    many = [{"email": f"i{n}@example.org", "languages": "US,ES"} for n in range(21)]
    assert patch(zoom, interpretation(*many)).status_code == 400
    assert patch(zoom, interpretation(*many[:INTERPRETERS_MAX])).status_code == 204
    one = patch(zoom, interpretation({"email": "i@example.org", "languages": "US"}))
    assert one.status_code == 400
    same = patch(zoom, interpretation({"email": "i@example.org", "languages": "US,US"}))
    assert same.status_code == 400


def test_a_webinars_interpreters_become_its_panelists(zoom):
    body = interpretation(
        {"email": "i1@example.org", "languages": "US,FR"},
        {"email": "i2@example.org", "languages": "US,ES"},
    )
    assert patch(zoom, body, "webinars", WEBINAR).status_code == 204
    listed = zoom.call("GET", f"/webinars/{WEBINAR}/panelists").json()
    assert {p["email"] for p in listed["panelists"]} == {"i1@example.org", "i2@example.org"}
    # an interpreter no longer listed is no longer a panelist
    body = interpretation({"email": "i1@example.org", "languages": "US,FR"})
    patch(zoom, body, "webinars", WEBINAR)
    assert [p["email"] for p in zoom.standin.panelists(WEBINAR)] == ["i1@example.org"]
    assert zoom.standin.registrants("webinar", WEBINAR) == []


# -- panelists ---------------------------------------------------------------------------


def test_panelists_are_added_listed_and_removed(zoom):
    path = f"/webinars/{WEBINAR}/panelists"
    body = {
        "panelists": [
            {"name": "Dr Amina Haddad", "email": "amina@example.org"},
            {"name": "Yusuf Demir", "email": "yusuf@example.org"},
        ]
    }
    added = zoom.call("POST", path, json=body)
    assert added.status_code == 201
    assert added.json()["id"] == WEBINAR
    again = zoom.call("POST", path, json={"panelists": [body["panelists"][0]]})
    assert again.status_code == 201  # already a panelist: the same one
    listed = zoom.call("GET", path).json()
    assert listed["total_records"] == 2
    by_email = {p["email"]: p for p in listed["panelists"]}
    assert by_email["amina@example.org"]["name"] == "Dr Amina Haddad"
    assert by_email["amina@example.org"]["join_url"].startswith(zoom.standin.base_url)

    gone = zoom.call("DELETE", f"{path}/{by_email['yusuf@example.org']['id']}")
    assert gone.status_code == 204
    assert [p["email"] for p in zoom.call("GET", path).json()["panelists"]] == ["amina@example.org"]
    assert zoom.call("DELETE", f"{path}/nobody").status_code == 404
    # panelists are never registrants, and send no registration webhook
    assert zoom.standin.registrants("webinar", WEBINAR) == []
    assert zoom.standin.webhooks_sent == []


def test_meetings_have_no_panelists_and_bodies_are_checked(zoom):
    assert zoom.call("GET", f"/meetings/{MEETING}/panelists").status_code == 404
    path = f"/webinars/{WEBINAR}/panelists"
    assert zoom.call("POST", path, json={"panelists": []}).status_code == 400
    bad = {"panelists": [{"name": "X", "email": "not-an-address"}]}
    assert zoom.call("POST", path, json=bad).status_code == 400


# -- livestream --------------------------------------------------------------------------


def test_livestream_settings_and_status_are_stored_and_readable(zoom):
    path = f"/webinars/{WEBINAR}/livestream"
    early = zoom.call("PATCH", f"{path}/status", json={"action": "start"})
    assert early.status_code == 400  # nothing to stream to yet
    stream = {
        "stream_url": "rtmp://live.example.org/app",
        "stream_key": "key-1",
        "page_url": "https://live.example.org/majlis",
    }
    assert zoom.call("PATCH", path, json=stream).status_code == 204
    assert zoom.call("PATCH", f"{path}/status", json={"action": "start"}).status_code == 204
    read = zoom.call("GET", path).json()
    assert read["page_url"] == "https://live.example.org/majlis"
    assert read["status"] == "started"
    assert zoom.standin.livestream("webinar", WEBINAR)["stream_key"] == "key-1"
    assert zoom.call("PATCH", f"{path}/status", json={"action": "pause"}).status_code == 400
    meeting = f"/meetings/{MEETING}/livestream"
    assert zoom.call("PATCH", meeting, json=stream).status_code == 204


# -- the gate, the limits and persistence --------------------------------------------------


def test_the_new_endpoints_want_a_token_and_are_counted_in_their_categories(make_zoom):
    zoom = make_zoom(rate_limits={"light": 2, "medium": 1, "heavy": 0})
    assert zoom.http.get(f"{zoom.standin.api_url}/meetings/{MEETING}", timeout=5).status_code == 401
    statuses = [zoom.call("GET", f"/webinars/{WEBINAR}/panelists").status_code for _ in range(2)]
    assert statuses == [200, 429]
    assert CATEGORY["panelists"] == "medium"
    assert CATEGORY["update"] == CATEGORY["remove_panelist"] == "light"
    assert zoom.standin.calls("panelists", "webinar") == 2


def test_settings_panelists_and_capacity_survive_a_restart(zoom):
    standin = zoom.standin
    standin.custom_languages = {"Arabic"}
    standin.add_session("webinar", WEBINAR, capacity=3)
    body = interpretation({"email": "i1@example.org", "interpreter_languages": "Arabic,English"})
    patch(zoom, body, "webinars", WEBINAR)
    zoom.call(
        "POST",
        f"/webinars/{WEBINAR}/panelists",
        json={"panelists": [{"name": "Amina", "email": "amina@example.org"}]},
    )
    stream = {"stream_url": "rtmp://s", "stream_key": "k", "page_url": "https://p.example.org"}
    zoom.call("PATCH", f"/webinars/{WEBINAR}/livestream", json=stream)
    state = json.loads(json.dumps(standin.export_state()))
    standin.stop()

    again = ZoomStandIn(webhook_secret_token=SECRET)
    again.start()
    try:
        again.import_state(state)
        assert again.custom_languages == {"Arabic"}
        assert again.settings_of("webinar", WEBINAR)["language_interpretation"]["enable"]
        panelists = again.panelists(WEBINAR)
        assert {p["email"] for p in panelists} == {"i1@example.org", "amina@example.org"}
        assert all(p["join_url"].startswith(again.base_url) for p in panelists)
        assert again.livestream("webinar", WEBINAR)["page_url"] == "https://p.example.org"
        other = Zoom(again)
        for n in range(3):
            assert (
                other.add(f"p{n}@example.org", kind="webinars", zoom_id=WEBINAR).status_code == 201
            )
        assert other.add("p9@example.org", kind="webinars", zoom_id=WEBINAR).json()["code"] == 3043
    finally:
        again.stop()
