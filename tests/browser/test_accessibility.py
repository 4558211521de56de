"""Accessibility in a real browser: axe-core on every kind of page, and the keyboard alone."""

from __future__ import annotations

import pytest
import requests
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from chalicelib.domain.registrations import RegistrationFilter
from chalicelib.signed_links import registration_links
from tests.browser.support import Page, describe
from tests.builders import person

SESSIONS = ["education", "family", "youth", "science", "economy", "media", "health", "environment"]


@pytest.fixture(scope="module")
def links(local):
    """The signed links of one registrant (Malay, all sessions)."""
    response = requests.post(
        f"{local.url}/events/demo/registrations",
        json=person(0, email="axe@example.org", language="ms"),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    m = local.majlis
    registration = m.registrations.get(response.json()["registration_id"], consistent=True)
    return registration_links(m.keys.keys(), local.url, m.events.get("demo"), registration)


@pytest.fixture(scope="module")
def confirm_links(local) -> dict[str, str]:
    """The confirm links of pending registrants of a double opt-in event, by language."""
    from tests.builders import event_body, zoom_base_for

    body = event_body(zoom_base_for("doi-axe"), registration={"opens_at": "2020-01-01T00:00:00Z"})
    body["double_opt_in"] = True
    saved = requests.put(
        f"{local.url}/events/doi-axe",
        json=body,
        headers={"Authorization": f"Bearer {local.organizer_token}"},
        timeout=30,
    )
    assert saved.status_code in (200, 201), saved.text
    m = local.majlis
    found = {}
    for n, language in enumerate(["ar", "ur", "en"]):
        address = f"confirm.{language}@example.org"
        answer = requests.post(
            f"{local.url}/events/doi-axe/registrations",
            json=person(n, email=address, language=language),
            timeout=30,
        )
        assert answer.status_code == 202, answer.text
        page = m.registrations.page("doi-axe", RegistrationFilter(), 10, None)
        [registration] = [r for r in page.items if r.email == address]
        found[language] = registration_links(
            m.keys.keys(), local.url, m.events.get("doi-axe"), registration
        ).confirm
    return found


def _confirm(page: Page) -> None:
    page.find("main form button[type=submit]").click()
    page.visible(".notice")


def _register_pending(page: Page) -> None:
    page.visible(".local-time")
    page.type("#email", "pending.axe@example.org")
    page.type("#first_name", "Hana")
    page.choose("#country", "MY")
    page.tick("#consent")
    page.find("#registration button[type=submit]").click()
    page.visible("#thanks-pending")


def _show_errors(page: Page) -> None:
    page.visible(".local-time")  # the script is ready
    page.type("#email", "nobody@")
    page.find("#registration button[type=submit]").click()
    page.visible("#email-error")


def _register(page: Page) -> None:
    page.visible(".local-time")
    page.type("#email", "thanks.axe@example.org")
    page.type("#first_name", "Hana")
    page.choose("#country", "MY")
    page.tick("#consent")
    page.find("#registration button[type=submit]").click()
    page.visible("#thanks")


PAGES = {
    "register-ar": ("/events/demo/register?lang=ar", None),
    "register-en": ("/events/demo/register?lang=en", None),
    "register-ur": ("/events/demo/register?lang=ur", None),
    "register-errors-ar": ("/events/demo/register?lang=ar", _show_errors),
    "register-thanks-en": ("/events/demo/register?lang=en", _register),
    "manage": ("manage", None),
    "unsubscribe": ("unsubscribe", None),
    "join-invalid": ("/join/invalid", None),
    "confirm-ar": ("confirm:ar", None),
    "confirm-done-ur": ("confirm:ur", _confirm),
    "confirm-done-en": ("confirm:en", _confirm),
    "register-pending-en": ("/events/doi-axe/register?lang=en", _register_pending),
    "unknown-event": ("/events/nothing-here/register", None),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_or_critical_axe_violations(
    local, links, confirm_links, page: Page, axe_source, name: str
):
    where, then = PAGES[name]
    if where in ("manage", "unsubscribe"):
        url = getattr(links, where)
    elif where.startswith("confirm:"):
        url = confirm_links[where.removeprefix("confirm:")]
    else:
        url = local.url + where
    page.open(url)
    if then:
        then(page)
    page.shot(name)
    violations = page.axe_violations()
    assert not violations, f"{name}:\n{describe(violations)}"


def _tab(page: Page, shift: bool = False) -> dict:
    actions = ActionChains(page.driver)
    if shift:
        actions.key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT)
    else:
        actions.send_keys(Keys.TAB)
    actions.perform()
    return page.focused()


def _name(focused: dict) -> str:
    if focused["id"]:
        return f"#{focused['id']}"
    if focused["tag"] == "a":
        return f"a[href='{focused['href']}']"
    return f"{focused['tag']}:{focused['text']}"


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_keyboard_reaches_everything_in_order_with_a_visible_focus(
    local, page: Page, language: str
):
    page.open(f"{local.url}/events/demo/register?lang={language}")
    page.visible(".local-time")
    languages = ["ar", "en", "tr", "fr", "es", "ur", "ms"]
    expected = [
        "a[href='#main']",
        *[f"a[href='?lang={code}']" for code in languages],
        f"a[href='{local.url}/events/demo/links?lang={language}']",  # lost your links?
        "#email",
        "#first_name",
        "#last_name",
        "#country",
        "#language",
        "#timezone-filter",  # the script's search box over the zone list
        "#timezone",
        *[f"#session-{session}" for session in SESSIONS],
        "#updates",
        "#consent",
        "button:" + page.find("#registration button[type=submit]").text,
    ]
    reached = []
    for step in range(len(expected)):
        focused = _tab(page)
        reached.append(_name(focused))
        assert focused["outline"] != "none" and focused["outlineWidth"] != "0px", (
            f"no visible focus on {reached[-1]}: outline {focused['outline']} "
            f"{focused['outlineWidth']}"
        )
        if step == 0:
            # The skip link shows itself when focused, on the reading side of the page
            assert focused["text"]
            assert (
                focused["left"] >= 0
                and focused["left"] + focused["width"] <= focused["viewportWidth"]
            ), focused
            assert focused["top"] >= 0 and focused["height"] > 0, focused
            page.shot("skip-link")
        if reached[-1] == "#email":
            page.shot("email")
    page.shot("submit")
    assert reached == expected
    # The honeypot never takes focus: after the button, focus leaves the form
    assert _name(_tab(page)) not in ("#website", *expected[-3:])

    # The skip link jumps over the language switcher
    page.open(f"{local.url}/events/demo/register?lang={language}")
    assert _name(_tab(page)) == "a[href='#main']"
    ActionChains(page.driver).send_keys(Keys.ENTER).perform()
    assert _name(_tab(page)) == f"a[href='{local.url}/events/demo/links?lang={language}']"
    page.shot("after-skip")
    # and back: Shift+Tab from the first link of main goes back past its start
    assert _name(_tab(page, shift=True)) == "a[href='?lang=ms']"
