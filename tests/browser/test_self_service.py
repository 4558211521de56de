"""The links in a registrant's emails, followed in a real browser: manage and unsubscribe."""

from __future__ import annotations

from typing import Any

import requests

from chalicelib.signed_links import registration_links
from tests.browser.support import (
    Page,
    calendars,
    email_to,
    link_in,
    outbox,
    translated,
)
from tests.builders import person


def _register(local, **fields: Any) -> str:
    response = requests.post(
        f"{local.url}/events/demo/registrations", json=person(0, **fields), timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json()["registration_id"]


def _stored(local, registration_id: str):
    return local.majlis.registrations.get(registration_id, consistent=True)


def _links(local, registration_id: str):
    event = local.majlis.events.get("demo")
    return registration_links(
        local.majlis.keys.keys(), local.url, event, _stored(local, registration_id)
    )


def _ticked(page: Page) -> set[str]:
    return {
        box.get_attribute("value")
        for box in page.find_all("input[name=sessions]")
        if box.is_selected()
    }


def _subject(local, language: str, template: str) -> str:
    title = local.majlis.events.get("demo").title_in(language)
    return translated(language, template) % {"event": title}


def test_the_manage_link_opens_the_registration(local, page: Page):
    before = outbox(local)
    _register(local, email="opener@example.org", language="tr", sessions=["youth", "health"])
    manage = link_in(email_to(local, "opener@example.org", before), local.url, "manage")

    page.open(manage)
    assert page.js("return document.documentElement.lang") == "tr"
    assert page.style("html", "direction") == "ltr"
    assert page.find("h2").text == translated("tr", "Your registration")
    assert _ticked(page) == {"youth", "health"}
    assert page.selected("#language") == "tr"
    assert page.selected("#timezone") == "Asia/Kuala_Lumpur"
    assert page.find("#confirm").get_attribute("required") is not None
    page.shot("manage")


def test_change_sessions_then_cancel_through_the_manage_link(local, page: Page):
    address = "changer@example.org"
    before = outbox(local)
    registration_id = _register(
        local, email=address, language="fr", country="FR", sessions=["education", "family"]
    )
    confirmation = email_to(local, address, before)
    assert calendars(confirmation)["invite.ics"] == {"education", "family"}
    manage = link_in(confirmation, local.url, "manage")

    page.open(manage)
    assert _ticked(page) == {"education", "family"}
    page.shot("manage")
    page.tick("#session-family", on=False)
    page.tick("#session-media")
    page.shot("changed")

    before = outbox(local)
    page.submit("form:has(input[name=action][value=update]) button[type=submit]")
    saved = page.visible("p.notice[role=status]")
    assert saved.text == translated(
        "fr", "Your changes are saved. We have sent you an email with your updated sessions."
    )
    assert _ticked(page) == {"education", "media"}
    page.shot("saved")
    assert set(_stored(local, registration_id).sessions) == {"education", "media"}

    updated = email_to(local, address, before)
    assert str(updated["Subject"]) == _subject(
        local, "fr", "Your registration has been updated: %(event)s"
    )
    assert calendars(updated) == {"invite.ics": {"education", "media"}, "cancel.ics": {"family"}}

    # Cancelling needs the box ticked first
    page.tick("#confirm")
    page.shot("confirm-cancel")
    before = outbox(local)
    page.submit("form:has(input[name=action][value=cancel]) button[type=submit]")
    assert page.find("[role=status] h2").text == translated("fr", "Your registration is cancelled.")
    page.shot("cancelled")
    assert _stored(local, registration_id).status.value == "cancelled"
    goodbye = email_to(local, address, before)
    assert str(goodbye["Subject"]) == _subject(
        local, "fr", "Your registration is cancelled: %(event)s"
    )

    # The link that managed it now says so, kindly
    page.open(manage)
    assert page.find("h1").text == translated("fr", "This link is no longer valid")
    assert page.find("main p").text == translated("fr", "This registration has been cancelled.")
    assert not page.find_all("form")
    page.shot("old-link")


def test_the_unsubscribe_page_asks_before_it_changes_anything(local, page: Page):
    registration_id = _register(local, email="asker@example.org", language="ur", updates=True)
    page.open(_links(local, registration_id).unsubscribe)
    assert page.js("return document.documentElement.lang") == "ur"
    assert page.style("main", "direction") == "rtl"
    button = page.find("form button[type=submit]")
    assert button.text == translated("ur", "Unsubscribe")
    page.shot("question")
    assert _stored(local, registration_id).updates is True  # a GET (a mail scanner) is harmless


def test_unsubscribe_in_the_browser(local, page: Page):
    registration_id = _register(local, email="leaver@example.org", language="ar", updates=True)
    page.open(_links(local, registration_id).unsubscribe)
    page.shot("question")
    assert _stored(local, registration_id).updates is True

    page.submit("form button[type=submit]")
    assert page.find("[role=status] h2").text == translated("ar", "You are unsubscribed.")
    assert page.style("main", "direction") == "rtl"
    assert not page.find_all("form")
    page.shot("unsubscribed")
    assert _stored(local, registration_id).updates is False
