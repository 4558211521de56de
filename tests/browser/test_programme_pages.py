"""Parallel sessions, time zones by place and the attendee's own page, in a real browser.

The event: the test conference with ``family`` at the same time as ``education`` (one
time slot: choose one), ``media`` cancelled, and the event's own name for Palestine.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions

from chalicelib.signed_links import registration_links
from chalicelib.usecases import registrations
from tests.browser.support import Page, describe, email_to, link_in, outbox, translated
from tests.builders import event_body, person, zoom_base_for

EVENT = "parallel-browser"
SINGLES = ["youth", "science", "economy", "health", "environment"]


@pytest.fixture(scope="module")
def parallel(local) -> str:
    body = event_body(
        zoom_base_for(EVENT),
        registration={"opens_at": "2020-01-01T00:00:00Z"},
        country_names={"PS": {"ar": "فلسطين", "ur": "فلسطین"}},
    )
    body["sessions"][1]["starts_at"] = body["sessions"][0]["starts_at"]
    body["sessions"][1]["ends_at"] = body["sessions"][0]["ends_at"]
    body["sessions"][5]["status"] = "cancelled"
    response = requests.put(
        f"{local.url}/events/{EVENT}",
        json=body,
        headers={"Authorization": f"Bearer {local.organizer_token}"},
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text
    return EVENT


def _stored(local, email: str):
    """The registration as stored now (the list finds it, a consistent read is current)."""
    listed = registrations.registrations(local.majlis, EVENT, {}).items
    (found,) = [r for r in listed if r.email.lower() == email.lower()]
    return local.majlis.registrations.get(found.registration_id, consistent=True)


def _fill(page: Page, email: str, first_name: str, country: str) -> None:
    page.type("#email", email)
    page.type("#first_name", first_name)
    page.choose("#country", country)
    page.tick("#consent")


def _assert_slot_offered(page: Page, language: str) -> None:
    """One radio group for the slot (a fieldset with its legend), nothing chosen; the
    cancelled session shown, not offered."""
    legend = page.find("fieldset#slot-0 > legend").text
    assert legend.startswith(
        translated(language, "At the same time, choose one: %(time)s").split("%(time)s")[0].strip()
    )
    radios = page.find_all("input[name=slot-0]")
    assert [r.get_attribute("value") for r in radios] == ["education", "family", ""]
    assert not [r for r in radios if r.is_selected()]
    assert page.find("label[for=slot-0-none]").text == translated(language, "None of these")
    assert not page.find_all("input[value=media]")
    cancelled = page.find("#session-media-cancelled")
    assert translated(language, "Cancelled") in cancelled.text
    for session in SINGLES:
        assert page.find(f"#session-{session}").is_selected()  # one-session slots: ticked


def _choose_by_keyboard(page: Page, css: str) -> None:
    """Focus a radio button and press Space, as someone without a mouse does."""
    page.js("arguments[0].scrollIntoView({block: 'center'})", page.find(css))
    page.js("arguments[0].focus()", page.find(css))
    ActionChains(page.driver).send_keys(Keys.SPACE).perform()
    assert page.find(css).is_selected(), css


@pytest.mark.parametrize("language", ["ar", "en"])
def test_one_session_per_slot_with_javascript(local, parallel, page: Page, language: str):
    page.open(f"{local.url}/events/{parallel}/register?lang={language}")
    page.visible(".local-time")
    _assert_slot_offered(page, language)
    page.shot("form")
    address = f"slots.js.{language}@example.org"
    _fill(page, address, "Samir", "JO")
    _choose_by_keyboard(page, "#session-family")
    for session in ("science", "economy", "health", "environment"):
        page.tick(f"#session-{session}", on=False)
    page.shot("chosen")

    before = outbox(local)
    page.find("#registration button[type=submit]").click()
    page.visible("#thanks")
    note = page.visible("#thanks-zone")
    assert "Karachi" in note.text or "كراتشي" in note.text  # the browser's zone
    page.shot("thanks")
    stored = _stored(local, address)
    assert stored.sessions == ["family", "youth"]
    assert stored.timezone == "Asia/Karachi"
    email_to(local, address, before)


@pytest.mark.parametrize("language", ["ar", "en"])
def test_one_session_per_slot_without_javascript(
    local, parallel, page_without_js: Page, language: str
):
    page = page_without_js
    page.open(f"{local.url}/events/{parallel}/register?lang={language}")
    _assert_slot_offered(page, language)
    assert page.selected("#timezone") == ""  # "The time zone of my country"
    assert not page.find_all("#timezone-filter")  # the search box is the script's
    page.shot("form")
    address = f"slots.nojs.{language}@example.org"
    _fill(page, address, "Noura", "EG")
    _choose_by_keyboard(page, "#session-education")
    for session in ("youth", "science", "health", "environment"):
        page.tick(f"#session-{session}", on=False)
    page.shot("chosen")

    page.submit("#registration button[type=submit]")
    assert page.find("[role=status] h2").text == translated(
        language, "Thank you, you are registered!"
    )
    page.shot("thanks")
    stored = _stored(local, address)
    assert stored.sessions == ["education", "economy"]
    assert stored.timezone == "Africa/Cairo"  # Egypt's, as the form left it


def test_none_of_a_slot_and_nothing_ticked_is_an_error_by_the_sessions(
    local, parallel, page_without_js: Page
):
    page = page_without_js
    page.open(f"{local.url}/events/{parallel}/register?lang=ar")
    _fill(page, "nothing@example.org", "Huda", "PS")
    _choose_by_keyboard(page, "#slot-0-none")
    for session in SINGLES:
        page.tick(f"#session-{session}", on=False)
    page.submit("#registration button[type=submit]")
    note = page.visible("#sessions-error")
    assert note.text == translated("ar", "This field is required.")
    assert page.find("#sessions").get_attribute("aria-invalid") == "true"
    assert page.selected("#country") == "PS"
    page.shot("errors")


def test_none_of_a_slot_and_nothing_ticked_is_an_error_with_javascript(local, parallel, page: Page):
    page.open(f"{local.url}/events/{parallel}/register?lang=en")
    page.visible(".local-time")
    _fill(page, "nothing.js@example.org", "Huda", "PS")
    _choose_by_keyboard(page, "#slot-0-none")
    for session in SINGLES:
        page.tick(f"#session-{session}", on=False)
    page.find("#registration button[type=submit]").click()
    note = page.visible("#sessions-error")
    assert note.text == "This field is required."
    assert page.focused()["id"] == "session-education"  # the group's first choice
    page.shot("errors")


def test_the_urdu_zone_list_names_cities_in_urdu(local, parallel, page: Page):
    page.open(f"{local.url}/events/{parallel}/register?lang=ur")
    page.visible("#timezone-filter")
    karachi = page.js(
        "return document.querySelector('#timezone option[value=\"Asia/Karachi\"]').text"
    )
    assert karachi.startswith("کراچی — پاکستان (UTC+05:00)")
    assert page.selected("#timezone") == "Asia/Karachi"  # the browser's, preselected
    # The country list says Palestine as the event does
    palestine = page.js("return document.querySelector('#country option[value=PS]').text")
    assert palestine == "فلسطین"
    page.shot("form")


def test_the_zone_search_narrows_the_list_and_the_country_comes_first(local, parallel, page: Page):
    page.open(f"{local.url}/events/{parallel}/register?lang=en")
    search = page.visible("#timezone-filter")
    label = page.find("label[for=timezone-filter]")
    assert label.text == "Search by city or country"
    assert search.get_attribute("aria-controls") == "timezone"

    # Keyboard only: from the language select, Tab reaches the search box
    page.js("document.getElementById('language').focus()")
    ActionChains(page.driver).send_keys(Keys.TAB).perform()
    assert page.focused()["id"] == "timezone-filter"
    ActionChains(page.driver).send_keys("istanb").perform()
    # Said once the typing pauses (a slow machine may pause between keys: wait for it)
    page.wait(
        lambda _: page.find("#timezone-filter-status").text == "Time zones found: 1",
        message="no count of what matches",
    )
    values = page.js("return [...document.querySelectorAll('#timezone option')].map(o => o.value)")
    assert values == ["Europe/Istanbul"]
    assert page.selected("#timezone") == "Europe/Istanbul"
    page.shot("searched")
    # Enter goes to the list (it does not send the form), where the arrows choose
    ActionChains(page.driver).send_keys(Keys.ENTER).perform()
    assert page.focused()["id"] == "timezone"
    assert page.find("#registration").is_displayed()

    # Searching in another language's words, accents left out: "sao paulo"
    page.type("#timezone-filter", "sao paulo")
    page.wait(lambda _: page.selected("#timezone") == "America/Sao_Paulo")
    page.type("#timezone-filter", "zzzz")
    page.wait(
        lambda _: page.find("#timezone-filter-status").text.startswith("No time zone matches"),
        message="no word that nothing matches",
    )
    assert len(page.find_all("#timezone option")) > 400  # the whole list again
    page.find("#timezone-filter").clear()
    page.js(
        "const f = document.getElementById('timezone-filter'); f.value = '';"
        "f.dispatchEvent(new Event('input'));"
    )

    # Choosing a country puts its zones first
    page.choose("#country", "US")
    first_group = page.js(
        "const g = document.querySelector('#timezone optgroup');"
        "return [g.label, g.querySelector('option').value]"
    )
    assert first_group == ["United States", "America/New_York"]
    page.shot("country-first")


def _register(local, email: str, language: str, sessions: list[str]) -> Any:
    before = outbox(local)
    response = requests.post(
        f"{local.url}/events/{EVENT}/registrations",
        json=person(
            0,
            email=email,
            language=language,
            country="PK",
            timezone="Asia/Karachi",
            sessions=sessions,
        ),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return link_in(email_to(local, email, before), local.url, "manage")


@pytest.mark.parametrize("language", ["ar", "en"])
def test_the_attendee_page_shows_address_sessions_and_join_buttons(
    local, parallel, page: Page, language: str
):
    address = f"Owner.{language}@Example.org"
    manage = _register(local, address, language, ["family", "youth"])
    page.open(manage)
    assert page.find(".address").text == address
    assert page.find(".address").get_attribute("dir") == "ltr"
    assert page.find("#status").text == translated(language, "You are registered.")
    joins = page.find_all(".held a.button")
    assert [j.text for j in joins] == [translated(language, "Join this session")] * 2
    # Their own zone first, then the event's
    times = page.find_all("#held-family .session-time")
    assert len(times) == 3
    assert "Karachi" in times[0].text or "كراتشي" in times[0].text
    # The slot shows the session they hold; the zone list their country's zones first
    assert page.find("#session-family").is_selected()
    assert page.selected("#timezone") == "Asia/Karachi"
    page.visible("#timezone-filter")
    page.shot("manage")

    # Email me my links again (just sent: not twice within ten minutes)
    page.submit("form.resend button[type=submit]")
    assert page.find("p.notice[role=status]").text == translated(
        language,
        "We emailed you your links a few minutes ago. If they have not arrived, please "
        "check your spam folder.",
    )
    page.shot("resend")

    # Change the slot's session, keyboard only
    _choose_by_keyboard(page, "#session-education")
    page.submit("form:has(input[name=action][value=update]) button[type=submit]")
    assert _stored(local, address).sessions == ["education", "youth"]
    assert page.find("#session-education").is_selected()
    page.shot("changed")


@pytest.mark.parametrize("language", ["ar", "en"])
def test_someone_whose_two_sessions_were_moved_together_keeps_both_until_they_choose(
    local, page: Page, axe_source, language: str
):
    # Given education and family one after the other, someone holding both
    event = f"moved-together-{language}"
    admin = {"Authorization": f"Bearer {local.organizer_token}"}
    body = event_body(zoom_base_for(event), registration={"opens_at": "2020-01-01T00:00:00Z"})
    put = requests.put(f"{local.url}/events/{event}", json=body, headers=admin, timeout=30)
    assert put.status_code in (200, 201), put.text
    address = f"both.{language}@example.org"
    before = outbox(local)
    answer = requests.post(
        f"{local.url}/events/{event}/registrations",
        json=person(0, email=address, language=language, sessions=["education", "family"]),
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    manage = link_in(email_to(local, address, before), local.url, "manage")
    # When the organisers move family onto education's time
    body["sessions"][1]["starts_at"] = body["sessions"][0]["starts_at"]
    body["sessions"][1]["ends_at"] = body["sessions"][0]["ends_at"]
    put = requests.put(f"{local.url}/events/{event}", json=body, headers=admin, timeout=30)
    assert put.status_code == 200, put.text
    # Then their page keeps both ticked (no radio group silently drops one) and says why
    page.open(manage)
    assert page.find("#session-education").is_selected()
    assert page.find("#session-family").is_selected()
    assert not page.find_all("input[name=slot-0]")
    assert page.find("#slot-0-note").text == translated(
        language, "Some of these sessions are at the same time: please choose only one of them."
    )
    page.shot("both-held")
    violations = page.axe_violations()
    assert not violations, describe(violations)
    # And keeping one is a change like any other
    page.tick("#session-family", on=False)
    page.submit("form:has(input[name=action][value=update]) button[type=submit]")
    registration_id = answer.json()["registration_id"]
    stored = local.majlis.registrations.get(registration_id, consistent=True)
    assert stored.sessions == ["education"]
    assert page.find("#session-education").is_selected()
    assert page.find_all("input[name=slot-0]")  # now one of the slot, a radio group
    page.shot("kept-one")


@pytest.fixture(scope="module")
def links(local, parallel):
    response = requests.post(
        f"{local.url}/events/{EVENT}/registrations",
        json=person(0, email="axe.parallel@example.org", language="ar", sessions=["family"]),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    m = local.majlis
    registration = m.registrations.get(response.json()["registration_id"], consistent=True)
    return registration_links(m.keys.keys(), local.url, m.events.get(EVENT), registration)


def _lang(page: Page) -> str:
    return page.js("return document.documentElement.lang")


def _post_without_script(page: Page) -> None:
    """The form sent as a browser without JavaScript sends it (form.submit() skips the
    script's handler), so that axe (a script) can read the page the server answers."""
    old = page.find("html")
    page.js("document.getElementById('registration').submit()")
    page.wait(expected_conditions.staleness_of(old), 15, "the form loaded no page")
    page.wait(lambda d: d.execute_script("return document.readyState") == "complete")


def _thanks_without_js(page: Page) -> None:
    _fill(page, f"axe.thanks.{_lang(page)}@example.org", "Hana", "MY")
    _post_without_script(page)
    page.visible("[role=status] h2")


def _errors_without_js(page: Page) -> None:
    page.type("#email", "nobody@")
    page.tick("#session-family")
    _post_without_script(page)
    page.visible("#email-error")


def _thanks_with_js(page: Page) -> None:
    page.visible(".local-time")
    _fill(page, f"axe.inline.{_lang(page)}@example.org", "Hana", "MY")
    page.tick("#session-education")
    page.find("#registration button[type=submit]").click()
    page.visible("#thanks")


def _searched(page: Page) -> None:
    page.type("#timezone-filter", "kar")
    page.wait(lambda _: page.find("#timezone-filter-status").text)


AXE_PAGES = {
    "register": ("/events/{event}/register?lang={lang}", None),
    "register-searched": ("/events/{event}/register?lang={lang}", _searched),
    "register-errors": ("/events/{event}/register?lang={lang}", _errors_without_js),
    "thanks": ("/events/{event}/register?lang={lang}", _thanks_without_js),
    "thanks-js": ("/events/{event}/register?lang={lang}", _thanks_with_js),
    "lost-links": ("/events/{event}/links?lang={lang}", None),
    "manage": ("manage", None),
}


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize("name", list(AXE_PAGES))
def test_no_axe_violations_on_the_new_pages(
    local, parallel, links, page: Page, axe_source, name: str, language: str
):
    where, then = AXE_PAGES[name]
    if where == "manage":
        url = links.manage  # the registrant's own language: Arabic
        if language == "en":
            url = _register(local, "axe.manage.en@example.org", "en", ["education", "youth"])
    else:
        url = local.url + where.format(event=parallel, lang=language)
    page.open(url)
    if then:
        then(page)
    page.shot(f"{name}-{language}")
    violations = page.axe_violations()
    assert not violations, f"{name} ({language}):\n{describe(violations)}"
