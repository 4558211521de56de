"""The Zoom stand-in's account survives a restart: export, stop, start (same port or
another), import; join links, registrants, daily limits and pending webhooks as before."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
import requests

from infra.local.zoom import ZoomStandIn
from tests.integration.test_zoom_standin import MEETING, SECRET, WEBINAR, Receiver, Zoom


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.stop()


def _restarted(standin: ZoomStandIn, port: int = 0, **options) -> ZoomStandIn:
    """``standin`` stopped, and a new one on ``port`` holding its exported state."""
    state = json.loads(json.dumps(standin.export_state()))  # what a file would hold
    standin.stop()
    again = ZoomStandIn(webhook_secret_token=SECRET, **options)
    again.start(port=port)
    again.import_state(state)
    return again


def _join(url: str) -> requests.Response:
    return requests.get(url, timeout=5, proxies={"http": "", "https": ""})


def test_registrants_and_join_links_survive_a_restart_on_the_same_port():
    standin = ZoomStandIn(webhook_secret_token=SECRET)
    base = standin.start()
    zoom = Zoom(standin)
    added = zoom.add("amina@example.org").json()
    zoom.add("yusuf@example.org", kind="webinars", zoom_id=WEBINAR)
    cancelled = zoom.add("omar@example.org").json()
    zoom.status("cancel", [{"id": cancelled["registrant_id"]}])
    zoom.add("amina@example.org")  # a second attempt today
    port = int(base.rsplit(":", 1)[1])

    again = _restarted(standin, port)
    try:
        assert again.base_url == base
        assert _join(added["join_url"]).status_code == 200
        assert "Amina Haddad" in _join(added["join_url"]).text
        assert _join(cancelled["join_url"]).status_code == 403  # still cancelled
        assert [r["email"] for r in again.registrants("meeting", MEETING)] == [
            "amina@example.org",
            "omar@example.org",
        ]
        assert again.registrants("webinar", WEBINAR)[0]["email"] == "yusuf@example.org"
        assert again.add_attempts(MEETING, "Amina@example.org") == 2
        # Majlis asks for a new access token; the same email gets the same registrant
        zoom = Zoom(again)
        same = zoom.add("amina@example.org").json()
        assert same["registrant_id"] == added["registrant_id"]
        assert same["join_url"] == added["join_url"]
        assert zoom.add("amina@example.org").status_code == 429  # the 4th add today
        # a cancelled address registers anew; the list is as Zoom would answer
        assert zoom.add("omar@example.org").json()["registrant_id"] != cancelled["registrant_id"]
        listed = zoom.list().json()
        assert [r["email"] for r in listed["registrants"]] == [
            "amina@example.org",
            "omar@example.org",
        ]
    finally:
        again.stop()


def test_on_another_port_every_join_url_follows_the_stand_in(receiver):
    standin = ZoomStandIn(webhook_secret_token=SECRET)
    old_base = standin.start()
    added = Zoom(standin).add("amina@example.org").json()
    with socket.socket() as probe:  # a free port, not the old one (still in use)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    again = _restarted(standin, port, webhook_url=receiver.url)
    try:
        assert again.base_url != old_base
        (registrant,) = again.registrants("meeting", MEETING)
        assert registrant["join_url"] == added["join_url"].replace(old_base, again.base_url)
        assert _join(registrant["join_url"]).status_code == 200
        listed = Zoom(again).list().json()["registrants"]
        assert listed[0]["join_url"].startswith(f"{again.base_url}/w/{MEETING}?tk=")
    finally:
        again.stop()


def test_webhooks_not_yet_delivered_are_sent_after_the_restart(receiver):
    standin = ZoomStandIn(webhook_secret_token=SECRET, webhook_url=receiver.url)
    standin.faults.webhook_delay = 60  # not sent before the stop
    standin.start()
    Zoom(standin).add("amina@example.org")
    assert receiver.events() == []
    again = _restarted(standin, webhook_url=receiver.url)
    try:
        assert again.wait_for_webhooks(5)
        (event,) = receiver.events()
        assert event["event"] == "meeting.registration_created"
        assert event["payload"]["object"]["registrant"]["email"] == "amina@example.org"
        assert event["payload"]["object"]["registrant"]["join_url"].startswith(again.base_url)
        assert event["payload"]["object"]["host_id"] == standin.host_id
    finally:
        again.stop()


def test_an_unknown_state_is_refused():
    standin = ZoomStandIn()
    standin.start()
    try:
        with pytest.raises(ValueError, match="version"):
            standin.import_state({"version": 99})
    finally:
        standin.stop()
