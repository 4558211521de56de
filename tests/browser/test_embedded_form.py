"""The embeddable form on an organiser's own site, in a real browser, across origins.

The organiser's page is served from another origin (another port on loopback). The form
reads the event and registers through the API only because that origin is in the
event's ``allowed_origins``; from any other origin the browser refuses (CORS).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from chalicelib.usecases import registrations
from tests.browser.support import Page, email_to, outbox, translated
from tests.builders import event_body, zoom_base_for
from tests.conftest import free_port

ORGANISER_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Our conference</title></head>
<body><h1>Register for our conference</h1>
<div data-majlis-event="{event}" data-lang="{lang}"></div>
<script src="{api}/assets/embed.js" async></script>
</body></html>"""


class _OrganiserSite(ThreadingHTTPServer):
    page = ""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.server.page.encode("utf-8")  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def organiser_site() -> Iterator[_OrganiserSite]:
    server = _OrganiserSite(("127.0.0.1", free_port()), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _event(local, event_id: str, origin: str, parallel: bool = False, chain: bool = False) -> None:
    body = event_body(
        zoom_base_for(event_id),
        registration={"opens_at": "2020-01-01T00:00:00Z"},
        allowed_origins=[origin],
    )
    if parallel:  # family at the time of education, media cancelled
        body["sessions"][1]["starts_at"] = body["sessions"][0]["starts_at"]
        body["sessions"][1]["ends_at"] = body["sessions"][0]["ends_at"]
        body["sessions"][5]["status"] = "cancelled"
    if chain:  # education 12-14, family 13-15, youth 14:30-16:30: family overlaps both
        body["sessions"][1].update(starts_at="2027-03-06T13:00:00Z", ends_at="2027-03-06T15:00:00Z")
        body["sessions"][2].update(starts_at="2027-03-06T14:30:00Z", ends_at="2027-03-06T16:30:00Z")
    response = requests.put(
        f"{local.url}/events/{event_id}",
        json=body,
        headers={"Authorization": f"Bearer {local.organizer_token}"},
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text


def test_a_registration_through_the_embedded_form(local, page: Page, organiser_site):
    origin = f"http://127.0.0.1:{organiser_site.server_address[1]}"
    _event(local, "embedded", origin)
    organiser_site.page = ORGANISER_PAGE.format(event="embedded", lang="fr", api=local.url)
    before = outbox(local)
    page.open(origin + "/")
    prefix = "#majlis-embedded-"
    page.visible(prefix + "email", timeout=15)
    page.shot("form")
    # The form speaks French and lists the event's sessions
    assert page.find("[data-majlis-event]").get_attribute("lang") == "fr"
    assert len(page.find_all("[data-majlis-event] [name=sessions]")) == 8
    page.type(prefix + "email", "embedded@example.org")
    page.type(prefix + "first_name", "Élise")
    page.choose(prefix + "country", "FR")
    page.tick(prefix + "consent")
    page.shot("filled")
    page.find("[data-majlis-event] button[type=submit]").click()
    status = page.visible("[data-majlis-event] [role=status]", timeout=15)
    page.shot("thanks")
    # (Selenium reads non-breaking spaces as spaces.)
    thanks = translated("fr", "Thank you, you are registered!").replace("\xa0", " ")
    assert thanks in status.text
    message = email_to(local, "embedded@example.org", before)
    assert message["Content-Language"] == "fr"


def test_another_origin_cannot_use_the_form(local, page: Page, organiser_site):
    _event(local, "embedded-elsewhere", "https://conference.example.org")
    origin = f"http://127.0.0.1:{organiser_site.server_address[1]}"
    organiser_site.page = ORGANISER_PAGE.format(
        event="embedded-elsewhere", lang="en", api=local.url
    )
    page.open(origin + "/")
    # The browser refuses to hand the event to this page: no form is built.
    page.wait(lambda d: d.execute_script("return document.readyState") == "complete")
    time.sleep(1.5)  # time enough for the (refused) request
    page.shot("no-form")
    assert page.find_all("[data-majlis-event] form") == []


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_embedded_form_offers_one_session_per_time_slot(
    local, page: Page, organiser_site, language: str
):
    event_id = f"embedded-slots-{language}"
    origin = f"http://127.0.0.1:{organiser_site.server_address[1]}"
    _event(local, event_id, origin, parallel=True)
    organiser_site.page = ORGANISER_PAGE.format(event=event_id, lang=language, api=local.url)
    page.open(origin + "/")
    prefix = f"#majlis-{event_id}-"
    page.visible(prefix + "email", timeout=15)
    host = "[data-majlis-event]"
    assert page.find(host).get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
    # The slot: a fieldset with its legend, its two sessions and "none of these", none chosen
    group = page.find(f"{host} fieldset.majlis-slot")
    legend = group.find_element("css selector", "legend").text
    assert legend.startswith(translated(language, "At the same time, choose one: %(time)s")[:8])
    radios = group.find_elements("css selector", "input[type=radio]")
    assert [r.get_attribute("value") for r in radios] == ["education", "family", ""]
    assert not [r for r in radios if r.is_selected()]
    # One-session slots stay ticked boxes; the cancelled session is shown, not offered
    boxes = page.find_all(f"{host} input[type=checkbox][name=sessions]")
    assert [b.get_attribute("value") for b in boxes] == [
        "youth",
        "science",
        "economy",
        "health",
        "environment",
    ]
    assert not page.find_all(f"{host} input[value=media]")
    assert translated(language, "Cancelled") in page.find(f"{host} .majlis-cancelled").text
    page.shot("form")

    address = f"embedded.slots.{language}@example.org"
    page.type(prefix + "email", address)
    page.type(prefix + "first_name", "Rania")
    page.choose(prefix + "country", "LB")
    page.tick(prefix + "s-family")
    for session in ("science", "economy", "health", "environment"):
        page.tick(f"{prefix}s-{session}", on=False)
    page.tick(prefix + "consent")
    before = outbox(local)
    page.find(f"{host} button[type=submit]").click()
    page.visible(f"{host} [role=status]", timeout=15)
    page.shot("thanks")
    email_to(local, address, before)
    listed = registrations.registrations(local.majlis, event_id, {}).items
    (stored,) = [r for r in listed if r.email == address]
    assert stored.sessions == ["family", "youth"]


def test_the_embedded_form_leaves_sessions_that_overlap_another_unticked(
    local, page: Page, organiser_site
):
    event_id = "embedded-chain"
    origin = f"http://127.0.0.1:{organiser_site.server_address[1]}"
    _event(local, event_id, origin, chain=True)
    organiser_site.page = ORGANISER_PAGE.format(event=event_id, lang="ur", api=local.url)
    page.open(origin + "/")
    prefix = f"#majlis-{event_id}-"
    page.visible(prefix + "email", timeout=15)
    host = "[data-majlis-event]"
    # No slot of sessions that all overlap: every session a box, those that overlap
    # another unticked (ticking all of them would be refused)
    assert not page.find_all(f"{host} input[type=radio]")
    boxes = {
        b.get_attribute("value"): b.is_selected()
        for b in page.find_all(f"{host} input[type=checkbox][name=sessions]")
    }
    assert boxes == {
        **dict.fromkeys(["education", "family", "youth"], False),
        **dict.fromkeys(["science", "economy", "media", "health", "environment"], True),
    }
    page.shot("form")
    # The first and the last of the three may be held together
    address = "embedded.chain@example.org"
    page.type(prefix + "email", address)
    page.type(prefix + "first_name", "Ayesha")
    page.choose(prefix + "country", "PK")
    page.tick(prefix + "s-education")
    page.tick(prefix + "s-youth")
    page.tick(prefix + "consent")
    before = outbox(local)
    page.find(f"{host} button[type=submit]").click()
    page.visible(f"{host} [role=status]", timeout=15)
    email_to(local, address, before)
    listed = registrations.registrations(local.majlis, event_id, {}).items
    (stored,) = [r for r in listed if r.email == address]
    assert stored.sessions == [
        "education",
        "youth",
        "science",
        "economy",
        "media",
        "health",
        "environment",
    ]
