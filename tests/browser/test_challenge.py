"""ALTCHA's proof of work in a real browser: the hosted and the embedded forms solve
their event's challenge in the visitor's language (Web Workers under the pages' CSP),
register, and stay accessible; without JavaScript the page says what it needs."""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib.pages.views import NO_SCRIPT_CHALLENGE
from tests.browser.support import Page, describe, email_to, outbox, translated
from tests.browser.test_embedded_form import ORGANISER_PAGE, organiser_site  # noqa: F401
from tests.builders import put_open_event

# An organiser's page that is itself accessible (a main landmark), so that axe judges
# the form and its widget.
SITE_PAGE = ORGANISER_PAGE.replace("<body>", "<body><main>").replace("</body>", "</main></body>")
EVENT = "altcha-form"
WIDGET = "altcha-widget"


def _put_event(local, event_id: str, **settings) -> None:
    put_open_event(local.url, local.organizer_token, event_id, challenge=True, **settings)


@pytest.fixture(scope="module")
def event(local) -> str:
    _put_event(local, EVENT)
    return EVENT


def _state(page: Page) -> str:
    return page.js(f"var w = document.querySelector('{WIDGET}'); return w.getState && w.getState()")


def _solved(page: Page) -> dict:
    """Wait for the widget to be solved; its solution (counter, key, time)."""
    page.wait(lambda _: _state(page) == "verified", timeout=60, message="not solved")
    payload = page.js("return document.querySelector('input[name=altcha]').value")
    return json.loads(base64.b64decode(payload))


def _fill(page: Page, prefix: str, address: str) -> None:
    page.type(prefix + "email", address)
    page.type(prefix + "first_name", "Hana")
    page.choose(prefix + "country", "MY")
    page.tick(prefix + "consent")


def _no_violations(page: Page, name: str) -> None:
    violations = page.axe_violations()
    assert not violations, f"{name}:\n{describe(violations)}"


@pytest.mark.parametrize("language", ["ar", "ms"])
def test_the_hosted_form_solves_its_challenge_and_registers(
    local, event, page: Page, language: str
):
    page.open(f"{local.url}/events/{event}/register?lang={language}")
    page.visible(".local-time")
    widget = page.find(WIDGET)
    assert translated(language, "I'm not a robot") in widget.text  # our catalogs' words
    assert _state(page) == "unverified"
    page.find("#email").click()  # the first focus in the form starts the work
    solution = _solved(page)["solution"]
    assert solution["counter"] > 0 and solution["derivedKey"]
    assert translated(language, "Checked") in widget.text
    page.js(f"document.querySelector('{WIDGET}').scrollIntoView({{block: 'center'}})")
    page.shot("solved")
    _no_violations(page, f"register-challenge-{language}")

    address = f"altcha.{language}@example.org"
    before = outbox(local)
    _fill(page, "#", address)
    page.find("#registration button[type=submit]").click()
    page.visible("#thanks-registered")
    page.shot("thanks")
    assert email_to(local, address, before)["Content-Language"] == language
    # The browser's console saw no refusal by the CSP (a worker, a style, a script)
    console = page.driver.get_log("browser")
    refused = [e for e in console if "Content Security Policy" in e["message"]]
    assert not refused, refused


def test_a_refused_solution_asks_for_the_box_again_and_then_registers(local, event, page: Page):
    page.open(f"{local.url}/events/{event}/register?lang=en")
    page.visible(".local-time")
    page.find("#email").click()
    _solved(page)
    _fill(page, "#", "tampered@example.org")
    # What a tampered payload gets: the person is asked to tick the box again
    page.js("document.querySelector('input[name=altcha]').value = 'AAAA';")
    page.find("#registration button[type=submit]").click()
    note = page.visible("#altcha-error")
    assert note.text == translated("en", "Please tick the box “I'm not a robot” again.")
    page.wait(lambda _: _state(page) == "unverified", message="the widget was not reset")
    page.shot("refused")
    _no_violations(page, "register-challenge-refused-en")
    # The form, sent again, solves a new challenge first and registers
    page.find("#registration button[type=submit]").click()
    page.visible("#thanks-registered", timeout=60)


def test_the_embedded_form_solves_its_challenge_across_origins(
    local,
    page: Page,
    organiser_site,  # noqa: F811 - the fixture
):
    origin = f"http://127.0.0.1:{organiser_site.server_address[1]}"
    _put_event(local, "altcha-embedded", allowed_origins=[origin])
    organiser_site.page = SITE_PAGE.format(event="altcha-embedded", lang="ur", api=local.url)
    page.open(origin + "/")
    prefix = "#majlis-altcha-embedded-"
    page.visible(prefix + "email", timeout=15)
    page.wait(lambda _: translated("ur", "I'm not a robot") in page.find(WIDGET).text)
    assert page.find("[data-majlis-event]").get_attribute("dir") == "rtl"
    page.find(prefix + "email").click()
    _solved(page)
    page.js(f"document.querySelector('{WIDGET}').scrollIntoView({{block: 'center'}})")
    page.shot("solved")
    _no_violations(page, "embedded-challenge-ur")

    before = outbox(local)
    _fill(page, prefix, "altcha.embedded@example.org")
    page.find("[data-majlis-event] button[type=submit]").click()
    status = page.visible("[data-majlis-event] [role=status]", timeout=15)
    page.shot("thanks")
    assert translated("ur", "Thank you, you are registered!") in status.text
    assert email_to(local, "altcha.embedded@example.org", before)["Content-Language"] == "ur"


def test_the_embedded_form_solves_even_when_sent_before_the_box_is_ticked(
    local,
    page: Page,
    organiser_site,  # noqa: F811 - the fixture
):
    """A person quicker than the work (or one who never focused a field before the
    button): the form solves first, then sends."""
    origin = f"http://127.0.0.1:{organiser_site.server_address[1]}"
    _put_event(local, "altcha-quick", allowed_origins=[origin])
    organiser_site.page = ORGANISER_PAGE.format(event="altcha-quick", lang="en", api=local.url)
    page.open(origin + "/")
    prefix = "#majlis-altcha-quick-"
    page.visible(prefix + "email", timeout=15)
    page.wait(lambda _: _state(page) == "unverified")
    # Filled by script, not by focus: the widget has not started
    page.js(
        "var p = arguments[0];"
        "document.querySelector(p + 'email').value = 'quick@example.org';"
        "document.querySelector(p + 'first_name').value = 'Quick';"
        "document.querySelector(p + 'country').value = 'FR';"
        "document.querySelector(p + 'consent').checked = true;"
        "document.querySelector('[data-majlis-event] form').requestSubmit();",
        prefix,
    )
    status = page.visible("[data-majlis-event] [role=status]", timeout=60)
    assert translated("en", "Thank you, you are registered!") in status.text


def test_without_javascript_the_page_says_what_it_needs(local, event, page_without_js: Page):
    page = page_without_js
    page.open(f"{local.url}/events/{event}/register?lang=ar")
    notice = page.find("#no-script")  # before the form: said before it is filled in
    assert notice.text == translated("ar", NO_SCRIPT_CHALLENGE)
    page.shot("form")
    _fill(page, "#", "no.script@example.org")
    page.submit("#registration button[type=submit]")
    # The form comes back with the reason at the field, and nothing was stored
    note = page.visible("#altcha-error")
    assert note.text == translated("ar", NO_SCRIPT_CHALLENGE)
    page.shot("refused")
    stored = local.majlis.registrations.find_by_email(event, "no.script@example.org")
    assert stored is None
