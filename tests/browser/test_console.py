"""The organisers' console in a real browser: signing in from the outbox, the overview's
charts, finding a registrant and resending their links, roles, signing out, axe-core on
every page and the keyboard alone, in Arabic (right to left) and English."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from chalicelib import i18n
from chalicelib.adapters.dynamo.schema import registration_key, to_attributes
from chalicelib.domain.organizers import SIGN_IN_MINUTES, organizer_key
from chalicelib.usecases import console
from tests.browser.support import Page, describe, email_to, link_in, outbox, translated
from tests.builders import person

LANGUAGES = ["ar", "en"]
EVENT = "demo"
ADMIN = "organizer@example.com"  # local mode's admin, on every event (infra/local/runner.py)
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}
# Arabic-Indic and Eastern Arabic-Indic digits, as Babel may write Arabic and Urdu figures
DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)
CHARTS = ["chart-over-time", "chart-countries", "chart-languages", "chart-sessions", "chart-emails"]
COUNTRIES = ["MY", "TR", "PK"]
REFUSED = "Not allowed"  # the console's 403 page, and what it says
FORBIDDEN = (
    "Your role on this event does not allow this. An admin of the event can give you "
    "another role on its Organisers page."
)
LINK_SENT = (
    "If this address may sign in, we have emailed it a sign-in link. It works once, for "
    "%(minutes)s minutes. If nothing arrives within a few minutes, please check your spam "
    "folder."
)


# -- helpers ------------------------------------------------------------------------------


def _register(local: Any, address: str, n: int = 0, **fields: Any) -> str:
    response = requests.post(
        f"{local.url}/events/{EVENT}/registrations",
        json=person(n, email=address, **fields),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["registration_id"]


def _invite(local: Any, address: str, role: str, language: str | None = None) -> str:
    """``role`` on the demo event for ``address``: the sign-in link its invitation
    brings (delivered, so that the next email to it is the one asked for at /console)."""
    before = outbox(local)
    console.invite(local.majlis, EVENT, address, role, "test", language)
    return link_in(email_to(local, address, before), local.url, "console/signin")


def _follow(page: Page, link: str) -> None:
    """Open a sign-in link and press its button: signed in."""
    page.open(link)
    _submit(page, "main form button[type=submit]")
    assert _path(page).startswith("/console/events"), page.driver.current_url


def _sign_in(local: Any, page: Page, address: str, language: str, check: Any = None) -> str:
    """Ask at /console, follow the emailed link, press its button: the link used.

    ``check(name)`` runs on each page of the way (the form, "link sent", the button).
    Local mode admits 20 asks in 10 minutes from one client address (usecases/console.py's
    SIGN_INS_PER_ADDRESS), so tests about something else follow their invitation's link."""
    page.open(f"{local.url}/console?lang={language}")
    assert page.js("return document.documentElement.lang") == language
    if check:
        check("signin")
    before = outbox(local)
    page.type("#email", address)
    _submit(page, "main form button[type=submit]")
    assert page.visible(".notice[role=status]").text == translated(language, LINK_SENT) % {
        "minutes": SIGN_IN_MINUTES
    }
    if check:
        check("link-sent")
    link = link_in(email_to(local, address, before), local.url, "console/signin")
    page.open(link)
    assert page.js("return document.documentElement.lang") == language  # the asked language
    assert page.find("main form button[type=submit]").text == translated(language, "Sign in")
    if check:
        check("signin-link")
    _submit(page, "main form button[type=submit]")
    assert _path(page).startswith("/console/events"), page.driver.current_url
    return link


def _mark(page: Page) -> None:
    """Mark the page shown now, so that _loaded can tell when another has replaced it."""
    page.js("window.consoleTestOldPage = true")


def _loaded(page: Page, what: str) -> None:
    def replaced(driver: Any) -> bool:
        try:
            return driver.execute_script(
                "return !window.consoleTestOldPage && document.readyState === 'complete'"
            )
        except WebDriverException:  # the old document went away while we asked
            return False

    page.wait(replaced, 15, f"{what} loaded no page")


def _submit(page: Page, css: str) -> None:
    """Press a button that loads a new page, and wait for that page (as Page.submit,
    without its staleness check, which can race a navigation in chromedriver)."""
    _mark(page)
    button = page.find(css)
    page.js("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    _loaded(page, css)
    refused = translated(page.js("return document.documentElement.lang"), REFUSED)
    assert page.find("h1").text != refused, f"{css}: the server refused the form post (403)"


def _shot(page: Page, name: str) -> None:
    """Page.shot; a page that fits the window is taken as the window shows it, since
    Chromium's captureBeyondViewport lays a short right-to-left page out shifted
    sideways (cut off at one edge) in the picture, though not on the screen."""
    path = page.shot(name)
    if page.js("return document.documentElement.scrollHeight <= innerHeight"):
        path.write_bytes(page.driver.get_screenshot_as_png())


def _text_side(page: Page, css: str) -> str:
    """Which side of its box the first ``css`` element's text stands: left or right."""
    return page.js(
        """const box = document.querySelector(arguments[0]);
        const range = document.createRange();
        range.selectNodeContents(box);
        const text = range.getBoundingClientRect(), edge = box.getBoundingClientRect();
        return text.left - edge.left <= edge.right - text.right ? "left" : "right";""",
        css,
    )


def _path(page: Page) -> str:
    return urlsplit(page.driver.current_url).path


def _number(text: str) -> int:
    digits = re.sub(r"[^0-9]", "", text.translate(DIGITS))
    return int(digits) if digits else 0


def _overview(local: Any, page: Page, language: str, at_least: int, timeout: float = 30.0) -> int:
    """The overview, reloaded until it counts ``at_least`` registered (the table's
    stream counts them), its charts drawn: the count."""
    url = f"{local.url}/console/events/{EVENT}?lang={language}"
    deadline = time.monotonic() + timeout
    while True:
        page.open(url)
        counted = _number(page.find("[data-count=registered]").text)
        if counted >= at_least or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert counted >= at_least, f"the overview counts {counted} registered: {local.errors[-3:]}"
    page.wait(lambda _: page.js("return document.querySelector('#overview.charted') !== null"))
    # Drawn to the end of their animation (for the screenshots)
    page.wait(
        lambda _: page.js(
            """return arguments[0].every((id) => {
                 const chart = Chart.getChart(document.getElementById(id));
                 return chart && !Chart.animator.running(chart);
               });""",
            CHARTS,
        ),
        message="the charts are still animating",
    )
    return counted


def _charts(page: Page) -> dict[str, dict[str, Any]]:
    return page.js(
        """const found = {};
        for (const id of arguments[0]) {
          const canvas = document.getElementById(id);
          const chart = canvas && window.Chart ? Chart.getChart(canvas) : null;
          found[id] = {chart: chart !== null && chart !== undefined,
                       width: canvas ? canvas.width : 0, height: canvas ? canvas.height : 0,
                       labels: chart ? chart.data.labels.map(String) : [],
                       named: chart && chart.options.indexAxis === "y"
                         ? chart.scales.y.ticks.length : null,
                       points: chart ? chart.data.datasets[0].data.length : 0};
        }
        return found;""",
        CHARTS,
    )


def _row_heads(page: Page, table: str) -> list[str]:
    return [cell.text for cell in page.find_all(f"#{table} tbody th")]


def _cookie(page: Page) -> str:
    [found] = [c for c in page.driver.get_cookies() if c["name"] == "majlis_console"]
    return found["value"]


def _csrf(page: Page) -> str:
    return page.find("form.console-signout input[name=csrf]").get_attribute("value")


def _tab(page: Page, shift: bool = False) -> dict[str, Any]:
    actions = ActionChains(page.driver)
    if shift:
        actions.key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT)
    else:
        actions.send_keys(Keys.TAB)
    actions.perform()
    return page.focused()


def _keys(page: Page, *keys: str) -> None:
    ActionChains(page.driver).send_keys(*keys).perform()


def _name(focused: dict[str, Any]) -> str:
    if focused["id"]:
        return f"#{focused['id']}"
    if focused["tag"] == "a":
        return f"a[href='{focused['href']}']"
    return f"{focused['tag']}:{focused['text']}"


def _tab_through(page: Page, expected: list[str]) -> None:
    """Tab from the top of the page: focus reaches ``expected`` in order, each visibly."""
    reached = []
    for _ in expected:
        focused = _tab(page)
        reached.append(_name(focused))
        assert focused["outline"] != "none" and focused["outlineWidth"] != "0px", (
            f"no visible focus on {reached[-1]}: {focused['outline']} {focused['outlineWidth']}"
        )
        assert focused["width"] > 0 and focused["height"] > 0, focused
    assert reached == expected


def _language_links() -> list[str]:
    return [f"a[href='?lang={code}']" for code in i18n.LANGUAGES]


@pytest.fixture(scope="module")
def registrant(local) -> tuple[str, str]:
    """One registrant of the demo event: (registration id, address)."""
    address = "console.person@example.org"
    return _register(local, address, first_name="سلمى", last_name="Haddad", language="ar"), address


# -- 1. invited, signed in from the outbox, the overview -----------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_invited_organiser_signs_in_from_the_outbox_and_sees_the_overview(
    local, page: Page, language: str
):
    address = f"sender.{language}@example.org"
    for n, country in enumerate(COUNTRIES, start=1):
        _register(local, f"counted{n}.{language}@example.org", n, country=country, language="en")
    _invite(local, address, "send")

    _sign_in(local, page, address, language)
    # One event: /console/events goes straight on to its overview
    assert _path(page) == f"/console/events/{EVENT}"
    assert page.js("return document.documentElement.dir") == ("rtl" if language == "ar" else "ltr")
    assert page.find(".console-who").text == address

    _overview(local, page, language, at_least=3)
    charts = _charts(page)
    for chart_id, drawn in charts.items():
        assert drawn["chart"], f"{chart_id} has no Chart.js chart"
    for chart_id in ("chart-over-time", "chart-countries", "chart-languages", "chart-sessions"):
        assert charts[chart_id]["width"] > 0 and charts[chart_id]["height"] > 0, charts[chart_id]
        assert charts[chart_id]["points"] > 0, charts[chart_id]
    for chart_id, drawn in charts.items():  # every bar of a horizontal chart is named
        assert drawn["named"] in (None, len(drawn["labels"])), (chart_id, drawn)
    event = local.majlis.events.get(EVENT)
    names = [i18n.country_name(code, language, event.country_names) for code in COUNTRIES]
    assert set(names) <= set(_row_heads(page, "table-countries")), _row_heads(
        page, "table-countries"
    )
    assert set(names) <= {label.rstrip("…") for label in charts["chart-countries"]["labels"]}
    assert i18n.language_name("en", language) in _row_heads(page, "table-languages")
    assert len(_row_heads(page, "table-sessions")) == len(event.sessions)
    assert page.find("#overview-updated").text
    _shot(page, f"console-overview-{language}")

    # The JSON the page refreshes from says the same
    data = requests.get(
        f"{local.url}/console/events/{EVENT}/overview.json?lang={language}",
        cookies={"majlis_console": _cookie(page)},
        timeout=30,
    ).json()
    [registered] = [c for c in data["counts"] if c["key"] == "registered"]
    assert registered["value"] >= 3


# -- 2. find a registrant, send their links again ------------------------------------------


def _age_last_email(local: Any, registration_id: str, minutes: int) -> None:
    """As if the registrant's last email had been asked for ``minutes`` ago (the resend
    interval is 10 minutes)."""
    store = local.majlis.registrations
    then = local.majlis.clock() - timedelta(minutes=minutes)
    store.db.update_item(
        TableName=store.name,
        Key=to_attributes(registration_key(registration_id)),
        UpdateExpression="SET mail_requested_at = :then",
        ExpressionAttributeValues=to_attributes({":then": then}),
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_find_a_registrant_by_address_and_send_their_links_again(local, page: Page, language: str):
    address = f"found.{language}@example.org"
    before = outbox(local)
    registration_id = _register(local, address, first_name="Yusuf", language=language)
    email_to(local, address, before)  # their confirmation
    organiser = f"resender.{language}@example.org"
    _invite(local, organiser, "send")
    _sign_in(local, page, organiser, language)

    page.open(f"{local.url}/console/events/{EVENT}/registrants?lang={language}")
    page.type("#find-email", address.upper())  # as an organiser might type it
    _submit(page, "form[role=search] button[type=submit]")
    assert _path(page) == f"/console/events/{EVENT}/registrants/{registration_id}"
    assert page.find("h1").text == "Yusuf Rahman"
    assert page.find(".facts dd[dir=ltr]").text == address
    # The address runs left to right, on the side where the page's lines start
    assert _text_side(page, ".facts dd[dir=ltr]") == ("right" if language == "ar" else "left")
    # A send organiser may resend, not cancel or erase
    assert not page.find_all("form[action*='/cancel']")
    assert not page.find_all("a[href*='/erase']")
    _shot(page, f"console-registrant-{language}")

    # Their last email went out more than the resend interval (10 minutes) ago
    _age_last_email(local, registration_id, 11)
    before = outbox(local)
    _submit(page, "form[action*='/resend'] button[type=submit]")
    assert _path(page) == f"/console/events/{EVENT}/registrants/{registration_id}"
    assert page.find(".notice[role=status]").text == translated(
        language, "Their email with their links is on its way."
    )
    _shot(page, f"console-resent-{language}")
    again = email_to(local, address, before)
    assert link_in(again, local.url, "manage")
    trail = local.majlis.organizers.audit_trail(EVENT, 5)
    assert any(entry.action == "resend" and entry.target == registration_id for entry in trail)


def test_resending_within_the_interval_says_it_was_not_sent_again(local, page: Page):
    address = "too.soon@example.org"
    before = outbox(local)
    registration_id = _register(local, address, first_name="Maryam", language="en")
    email_to(local, address, before)  # their confirmation, moments ago
    _follow(page, _invite(local, "impatient@example.org", "send", "en"))
    page.open(f"{local.url}/console/events/{EVENT}/registrants/{registration_id}?lang=en")
    _submit(page, "form[action*='/resend'] button[type=submit]")
    _shot(page, "console-resent-too-soon-en")
    assert page.find(".notice[role=status]").text == translated(
        "en", "Their links were sent a short while ago: they were not sent again yet."
    )


# -- 3. a read organiser ---------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_read_organiser_sees_no_actions_and_may_not_erase(
    local, page: Page, registrant, language: str
):
    registration_id, address = registrant
    reader = f"reader.{language}@example.org"
    _invite(local, reader, "read")
    _sign_in(local, page, reader, language)
    nav = [link.get_attribute("href") for link in page.find_all(".console-bar nav a")]
    assert not [href for href in nav if href.endswith(("/settings", "/organizers"))], nav

    person_url = f"{local.url}/console/events/{EVENT}/registrants/{registration_id}"
    page.open(f"{person_url}?lang={language}")
    assert page.find(".facts dd[dir=ltr]").text == address
    assert not page.find_all("main form"), "a read organiser is offered a form"
    assert not page.find_all("a[href*='/erase']")
    assert translated(language, "Send their links again") not in page.find("main").text
    _shot(page, f"console-registrant-read-{language}")

    page.open(f"{person_url}/erase?lang={language}")
    assert page.find("h1").text == translated(language, REFUSED)
    assert page.find("main p").text == translated(language, FORBIDDEN)
    assert page.js("return document.documentElement.lang") == language
    assert not page.find_all("main form")
    _shot(page, f"console-erase-refused-{language}")
    cookies = {"majlis_console": _cookie(page)}
    assert requests.get(f"{person_url}/erase", cookies=cookies, timeout=30).status_code == 403
    # Nor can the forms be sent by hand, with the session's own CSRF token
    page.open(f"{person_url}?lang={language}")
    csrf = _csrf(page)
    for action in ("erase", "cancel"):
        refused = requests.post(
            f"{person_url}/{action}",
            data={"csrf": csrf},
            cookies=cookies,
            headers=SAME_SITE,
            timeout=30,
            allow_redirects=False,
        )
        assert refused.status_code == 403, (action, refused.status_code)
    kept = local.majlis.registrations.get(registration_id, consistent=True)
    assert kept.erased_at is None and kept.status.value == "registered"


# -- 4. signing out ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_signing_out_ends_the_session(local, page: Page, language: str):
    _follow(page, _invite(local, f"leaver.{language}@example.org", "read", language))
    overview = f"{local.url}/console/events/{EVENT}?lang={language}"
    page.open(overview)
    old = _cookie(page)

    _submit(page, ".console-signout button[type=submit]")
    assert _path(page) == "/console"
    assert page.find("#email")
    assert not [c for c in page.driver.get_cookies() if c["name"] == "majlis_console"]
    _shot(page, f"console-signed-out-{language}")

    page.open(overview)
    assert _path(page) == "/console", page.driver.current_url
    assert page.find("h1").text == translated(language, "Sign in to the organisers' console")
    # The old cookie is no good either: the session itself is closed
    answer = requests.get(
        overview, cookies={"majlis_console": old}, timeout=30, allow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/console?")


# -- 5. axe-core on every page ---------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_axe_violations_on_the_console_pages(
    local, page: Page, axe_source, registrant, language: str
):
    registration_id, _ = registrant
    found: dict[str, list[dict[str, Any]]] = {}

    def check(name: str) -> None:
        _shot(page, f"console-{name}-{language}")
        violations = page.axe_violations()
        if violations:
            found[name] = violations

    _sign_in(local, page, ADMIN, language, check)
    _overview(local, page, language, at_least=1)
    check("overview")
    base = f"{local.url}/console/events/{EVENT}"
    person_url = f"{base}/registrants/{registration_id}"
    for name, url in [
        ("registrants", f"{base}/registrants?lang={language}"),
        ("person", f"{person_url}?lang={language}"),
        ("erase", f"{person_url}/erase?lang={language}"),
        ("organizers", f"{base}/organizers?lang={language}"),
    ]:
        page.open(url)
        assert page.find("h1").text, name
        if name == "person":  # erasing does not look like the harmless, primary action
            erase, resend = "a[href*='/erase']", "form[action*='/resend'] button"
            assert page.style(erase, "background-color") != page.style(resend, "background-color")
            assert page.style(erase, "color") == page.style(
                "form[action*='/cancel'] button", "color"
            )
        if name == "registrants":
            assert _text_side(page, "main tbody td[dir=ltr]") == (
                "right" if language == "ar" else "left"
            )
        check(name)
    assert not found, "\n".join(f"{name}:\n{describe(v)}" for name, v in found.items())


# -- 6. the keyboard alone ---------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sign_in_form_with_the_keyboard_alone(local, page: Page, language: str):
    page.open(f"{local.url}/console?lang={language}")
    button = page.find("main form button[type=submit]").text
    _tab_through(page, ["a[href='#main']", *_language_links(), "#email", f"button:{button}"])
    _shot(page, f"console-signin-focus-{language}")
    assert _name(_tab(page, shift=True)) == "#email"
    _keys(page, "nobody.here@example.org")
    _mark(page)
    _keys(page, Keys.ENTER)
    _loaded(page, "Enter")
    assert page.visible(".notice[role=status]")  # the same answer for any address


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_invite_form_with_the_keyboard_alone(local, page: Page, language: str):
    _follow(page, _invite(local, f"keys.admin.{language}@example.org", "admin", language))
    page.open(f"{local.url}/console/events/{EVENT}/organizers?lang={language}")
    header = [f"a[href='{a.get_dom_attribute('href')}']" for a in page.find_all(".console-bar a")]
    revoke = [
        f"button:{b.text}" for b in page.find_all("form[action*='/revoke'] button[type=submit]")
    ]
    expected = [
        "a[href='#main']",
        *header,  # the brand, then the event's pages
        "button:" + translated(language, "Sign out"),
        *_language_links(),
        *revoke,
        "#invite-email",
        "#role-read",  # the checked radio: one stop for the group
        "button:" + translated(language, "Invite"),
    ]
    assert f"a[href='/console/events/{EVENT}/organizers']" in header
    _tab_through(page, expected)
    _shot(page, f"console-organizers-focus-{language}")

    # Back to the address, type it, choose "send" with an arrow key, send with Enter
    invited = f"keyboard.{language}@example.org"
    assert _name(_tab(page, shift=True)) == "#role-read"
    assert _name(_tab(page, shift=True)) == "#invite-email"
    _keys(page, invited, Keys.TAB, Keys.ARROW_DOWN)
    assert page.focused()["id"] == "role-send"
    assert page.find("#role-send").is_selected()
    assert _name(_tab(page)) == "button:" + translated(language, "Invite")
    before = outbox(local)
    _mark(page)
    _keys(page, Keys.ENTER)
    _loaded(page, "Enter")
    assert page.find(".notice[role=status]").text == translated(
        language, "Invited: they have been emailed a sign-in link."
    )
    roles = {
        row.find_element(By.CSS_SELECTOR, "th").text: row.find_element(By.CSS_SELECTOR, "td").text
        for row in page.find_all("main tbody tr:has(th[scope=row])")
    }
    assert roles.get(invited) == translated(
        language, "Send: also announcements and resending links"
    ), roles
    _shot(page, f"console-invited-{language}")
    assert link_in(email_to(local, invited, before), local.url, "console/signin")
    granted = local.majlis.organizers.organizer(organizer_key(invited))
    assert granted.may("send", EVENT) and not granted.may("admin", EVENT)


# -- 7. a used link ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_used_sign_in_link_is_refused_with_a_form_to_ask_again(local, page: Page, language: str):
    link = _invite(local, f"twice.{language}@example.org", "read", language)
    _follow(page, link)
    assert requests.get(link, timeout=30).status_code == 410
    page.open(f"{link}?lang={language}")
    _shot(page, f"console-link-used-{language}")
    assert page.js("return document.documentElement.lang") == language
    assert page.find(".summary[role=alert]").text == translated(
        language, "This sign-in link was used already, or has expired: ask for a new one below."
    )
    forms = [form.get_attribute("action") for form in page.find_all("main form")]
    assert forms and all("/console/signin?" in action for action in forms), forms
