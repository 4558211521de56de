"""The console's announcements, settings and exports in a real browser: the composer by
keyboard alone (its language tabs and "Insert" buttons), a preview, counting, sending
and the campaigns list, the HTML email in its sandbox, a test to oneself, moving a
session from the settings, an export's download, axe-core on every page, in Arabic
(right to left) and English."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from chalicelib.domain.campaigns import Audience
from chalicelib.domain.registrations import Status
from chalicelib.usecases import campaigns as campaign_usecase
from chalicelib.usecases.campaigns import SAMPLE_NAMES
from tests.browser.support import Page, describe, email_to, outbox, translated
from tests.browser.test_console import (
    DIGITS,
    EVENT,
    SAME_SITE,
    _cookie,
    _follow,
    _invite,
    _keys,
    _loaded,
    _mark,
    _name,
    _number,
    _path,
    _register,
    _shot,
    _submit,
    _tab,
)

LANGUAGES = ["ar", "en"]
WRITTEN = ["ar", "en", "ur"]  # the languages the announcements are written in
TAB_ORDER = ["ar", "en", "tr", "fr", "es", "ur", "ms"]  # the default language first
PLACEHOLDERS = [
    "{{first_name}}",
    "{{last_name}}",
    "{{sessions}}",
    "{{join_links}}",
    "{{manage_url}}",
    "{{recording_url}}",
]
SUBJECTS = {
    "ar": "أهلاً {{first_name}}: برنامج الغد",
    "en": "Hello {{first_name}}: tomorrow's programme",
    "ur": "{{first_name}}، کل کا پروگرام",
}
TEXTS = {
    "ar": "نلقاكم غداً في الجلسة الأولى. ",
    "en": "See you tomorrow at the first session.",
    "ur": "کل پہلی نشست میں ملاقات ہوگی۔",
}
# Campaign names without figures, so that the confirmation's one number is the count
NAMES = {"ar": "إعلان البرنامج", "en": "Programme announcement"}
RTL = {"ar", "ur"}
PHONE = (390, 900)
DESKTOP = (1024, 900)


# -- helpers ------------------------------------------------------------------------------


def _base(local: Any) -> str:
    return f"{local.url}/console/events/{EVENT}"


def _sample(code: str, template: str, name: str | None = None) -> str:
    """``template`` as ``name`` (default: the preview's sample registrant) gets it."""
    return template.replace("{{first_name}}", name or SAMPLE_NAMES[code][0])


def _visibly_focused(focused: dict[str, Any]) -> None:
    assert focused["outline"] != "none" and focused["outlineWidth"] != "0px", (
        f"no visible focus on {_name(focused)}: {focused['outline']} {focused['outlineWidth']}"
    )
    assert focused["width"] > 0 and focused["height"] > 0, focused


def _step(page: Page, shift: bool = False) -> dict[str, Any]:
    focused = _tab(page, shift)
    _visibly_focused(focused)
    return focused


def _tab_until(page: Page, wanted: Any, shift: bool = False, most: int = 80) -> dict[str, Any]:
    """Tab (or Shift+Tab) until ``wanted(focused)``, each control on the way visibly
    focused: the control reached."""
    reached = []
    for _ in range(most):
        focused = _step(page, shift)
        reached.append(_name(focused))
        if wanted(focused):
            return focused
    raise AssertionError(f"never reached: {reached}")


def _insert_button(code: str) -> Any:
    return lambda f: "insert" in f["cls"] and f["text"].endswith(code)


def _open_composer(local: Any, page: Page, language: str) -> None:
    page.open(f"{_base(local)}/campaigns/new?lang={language}")
    page.visible("#language-tabs")  # composer.js shows it


def _show_tab(page: Page, code: str) -> None:
    page.find(f"#tab-{code}").click()
    assert page.find(f"#panel-{code}").is_displayed()


def _write(page: Page, name: str, languages: list[str] = WRITTEN) -> None:
    """The composer's name and, by clicking its tabs, each language's subject and text."""
    page.type("#campaign-name", name)
    for code in languages:
        _show_tab(page, code)
        page.type(f"#subject-{code}", SUBJECTS[code])
        page.type(f"#text-{code}", TEXTS[code])


def _press(page: Page, action: str) -> None:
    _submit(page, f"#composer button[name=action][value={action}]")


def _preview(page: Page, code: str) -> str:
    """Preview in ``code``: the subject shown (its text checked to run the right way)."""
    page.choose("#preview-language", code)
    _press(page, "preview")
    text = page.find(".email-preview pre.email-text")
    assert text.get_attribute("dir") == ("rtl" if code in RTL else "ltr")
    assert text.get_attribute("lang") == code
    return page.find(".email-preview .facts dd").text


def _counted(page: Page) -> tuple[int, int]:
    """The count's (people matching, of them getting nothing)."""
    text = page.find("#composer-results section[aria-labelledby=counted-heading] p").text
    numbers = [int(n) for n in re.findall(r"\d+", text.translate(DIGITS))]
    assert len(numbers) >= 2, text
    return numbers[0], numbers[1]


def _registered(local: Any) -> int:
    """How many people hold a registration (status registered) of the demo event now."""
    where = Audience(status=[Status.REGISTERED]).where()
    return sum(1 for _ in local.majlis.registrations.every(EVENT, where, 500))


def _reload_until(page: Page, url: str, ready: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        page.open(url)
        if ready():
            return
        if time.monotonic() > deadline:
            _shot(page, "timeout")
            raise AssertionError(f"{what} within {timeout}s: {page.find('main').text[:500]}")
        time.sleep(0.5)


def _row(page: Page, name: str) -> Any:
    rows = [
        row
        for row in page.find_all("main tbody tr")
        if row.find_element(By.CSS_SELECTOR, "th").text == name
    ]
    assert rows, f"no campaign {name!r} listed"
    return rows[0]


def _changes_done(local: Any, timeout: float = 60.0) -> None:
    """Wait until every programme-change notice of the demo event has been sent, so that
    nobody who registers in a later test is told of a change."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = campaign_usecase.of_event(local.majlis, EVENT)
        busy = [c for c in listed if c["purpose"] == "change" and c["status"] != "done"]
        if not busy:
            return
        time.sleep(0.3)
    raise AssertionError(f"change notices still sending: {busy}: {local.errors[-3:]}")


def _axe(page: Page, found: dict[str, Any], name: str) -> None:
    _shot(page, name)
    violations = page.axe_violations()
    if violations:
        found[name] = violations


def _fits(page: Page) -> None:
    """Nothing sticks out sideways: the page does not scroll horizontally."""
    assert page.js("return document.documentElement.scrollWidth <= innerWidth"), page.js(
        "return [document.documentElement.scrollWidth, innerWidth]"
    )


# -- 1. the composer with the keyboard alone ------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_composer_with_the_keyboard_alone(local, page: Page, language: str):
    _follow(page, _invite(local, f"keys.composer.{language}@example.org", "send", language))
    _open_composer(local, page, language)
    # Arrows follow the reading direction: in Arabic, the next tab is on the left
    forward, back = (
        (Keys.ARROW_LEFT, Keys.ARROW_RIGHT)
        if language == "ar"
        else (Keys.ARROW_RIGHT, Keys.ARROW_LEFT)
    )

    page.js("document.getElementById('campaign-name').focus()")
    _keys(page, f"Keyboard {language}")
    # The placeholders' "Insert" buttons, then the selected tab (one stop for the list)
    for code in PLACEHOLDERS:
        focused = _step(page)
        assert _insert_button(code)(focused), _name(focused)
    assert _step(page)["id"] == "tab-ar"

    def at_tab(code: str) -> None:
        focused = page.focused()
        assert focused["id"] == f"tab-{code}", focused
        _visibly_focused(focused)
        assert page.find(f"#tab-{code}").get_attribute("aria-selected") == "true"
        shown = [
            p.get_attribute("id") for p in page.find_all(".language-panel") if p.is_displayed()
        ]
        assert shown == [f"panel-{code}"], shown

    _keys(page, forward)
    at_tab("en")
    _keys(page, back)
    at_tab("ar")
    _keys(page, back)  # from the first, round to the last
    at_tab("ms")
    _keys(page, Keys.HOME)
    at_tab("ar")
    _keys(page, Keys.END, back)
    at_tab("ur")
    _shot(page, f"composer-keys-tabs-{language}")

    for code, keys in [("ar", [Keys.HOME]), ("en", [Keys.HOME, forward]), ("ur", [Keys.END, back])]:
        _keys(page, *keys)
        at_tab(code)
        assert _step(page)["id"] == f"subject-{code}"
        _keys(page, SUBJECTS[code])
        assert _step(page)["id"] == f"text-{code}"
        _keys(page, TEXTS[code])
        if code == "ar":
            # Back to the "Insert" button of {{first_name}} (before the tabs), Enter: it
            # goes where the cursor was, and the text has the focus again
            _tab_until(page, _insert_button("{{first_name}}"), shift=True)
            _keys(page, Keys.ENTER)
            assert page.focused()["id"] == "text-ar"
            assert page.find("#text-ar").get_attribute("value") == TEXTS["ar"] + "{{first_name}}"
            _shot(page, f"composer-keys-inserted-{language}")
            _tab_until(page, lambda f: f["id"] == "tab-ar", shift=True)
        else:
            _step(page, shift=True)
            assert _step(page, shift=True)["id"] == f"tab-{code}"
    for code in WRITTEN:
        assert page.find(f"#subject-{code}").get_attribute("value") == SUBJECTS[code]

    # On to "Send at" (its parts: a stop each), "Preview in", choose the page's
    # language, then "Preview", Enter
    _tab_until(page, lambda f: f["id"] == "send-at")
    _shot(page, f"composer-keys-send-at-{language}")
    _tab_until(page, lambda f: f["id"] == "preview-language")
    if language != "ar":
        _keys(page, Keys.ARROW_DOWN)  # ar, en, …: the next option
    assert page.selected("#preview-language") == language
    preview = translated(language, "Preview")
    focused = _tab_until(page, lambda f: f["tag"] == "button" and f["text"] == preview)
    _shot(page, f"composer-keys-preview-button-{language}")
    assert page.js("return document.activeElement.value") == "preview", focused
    _mark(page)
    _keys(page, Keys.ENTER)
    _loaded(page, "Enter on Preview")
    # The answer is below the whole form: the focus is there, and so is the window
    page.wait(lambda _: page.focused()["id"] == "preview-heading", message="focus not on it")
    box = page.focused()
    assert 0 <= box["top"] < page.js("return innerHeight"), box

    assert page.find(".email-preview .facts dd").text == _sample(language, SUBJECTS[language])
    text = page.find(".email-preview pre.email-text")
    assert text.get_attribute("dir") == ("rtl" if language in RTL else "ltr")
    if language == "ar":  # the inserted placeholder, filled in
        assert SAMPLE_NAMES["ar"][0] in text.text
    for code in WRITTEN:  # kept as typed
        assert page.find(f"#subject-{code}").get_attribute("value") == SUBJECTS[code]
    assert page.find("#text-ar").get_attribute("value") == TEXTS["ar"] + "{{first_name}}"
    _shot(page, f"composer-keys-previewed-{language}")


# -- 2. preview, count, confirm, send, the list, the emails ---------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_announcement_in_three_languages_is_counted_confirmed_and_sent(
    local, page: Page, language: str
):
    people = {"ar": "خديجة", "en": "Zainab", "ur": "فاطمہ"}
    addresses = {code: f"announced.{code}.{language}@example.org" for code in WRITTEN}
    before = outbox(local)
    for n, code in enumerate(WRITTEN, start=1):
        _register(local, addresses[code], n, first_name=people[code], language=code)
    for code in WRITTEN:
        email_to(local, addresses[code], before)  # their confirmations
    organiser = f"announcer.{language}@example.org"
    _follow(page, _invite(local, organiser, "send", language))
    _open_composer(local, page, language)
    _write(page, NAMES[language])

    previews = {code: _preview(page, code) for code in WRITTEN}
    for code in WRITTEN:
        assert previews[code] == _sample(code, SUBJECTS[code]), code
    _shot(page, f"composer-previewed-{language}")

    _press(page, "count")
    recipients, suppressed = _counted(page)
    assert recipients == _registered(local)
    assert recipients >= 3
    _shot(page, f"composer-counted-{language}")

    _press(page, "review")
    assert _path(page) == f"/console/events/{EVENT}/campaigns/new"
    stated = page.find("main .notice strong").text
    assert NAMES[language] in stated
    assert _number(stated) == recipients - suppressed, stated
    send = page.find("main form button[name=action][value=send]")
    assert _number(send.text) == recipients - suppressed, send.text
    assert page.find("main form button[name=action][value=edit]")
    _shot(page, f"confirm-send-{language}")

    before = outbox(local)
    _submit(page, "main form button[name=action][value=send]")
    assert _path(page) == f"/console/events/{EVENT}/campaigns"
    assert page.find(".notice[role=status]").text == translated(
        language, "The announcement is on its way: its progress shows below."
    )
    _shot(page, f"campaigns-sending-{language}")
    if page.find_all("script[data-refresh]"):  # still sending: the list reloads itself
        assert not page.find_all("meta[http-equiv=refresh]")  # but not with a meta refresh
        _mark(page)
        _loaded(page, "the list's own refresh")
    _reload_until(
        page,
        f"{_base(local)}/campaigns?lang={language}",
        lambda: bool(_row(page, NAMES[language]).find_elements(By.CSS_SELECTOR, ".status-done")),
        60,
        "the announcement is not done",
    )
    row = _row(page, NAMES[language])
    bar = row.find_element(By.CSS_SELECTOR, "progress")
    assert bar.get_attribute("value") == bar.get_attribute("max")
    _shot(page, f"campaigns-done-{language}")

    for code in WRITTEN:
        message = email_to(local, addresses[code], before, timeout=30)
        assert str(message["Subject"]) == previews[code].replace(
            SAMPLE_NAMES[code][0], people[code]
        )
        assert str(message["Subject"]) == _sample(code, SUBJECTS[code], people[code])


# -- 3. the HTML email in its own sandboxed tab ---------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_html_email_opens_in_a_sandboxed_tab(local, page: Page, language: str):
    _follow(page, _invite(local, f"html.viewer.{language}@example.org", "send", language))
    _open_composer(local, page, language)
    _write(page, NAMES[language], ["ar", "en"])
    page.choose("#preview-language", language)
    driver = page.driver
    mine = driver.current_window_handle
    handles = set(driver.window_handles)
    button = page.find("#composer button[formtarget=_blank]")
    assert button.get_attribute("formaction").endswith(f"/campaigns/preview?lang={language}")
    button.click()
    try:
        page.wait(lambda d: len(d.window_handles) > len(handles), 15, "no new tab")
        [opened] = set(driver.window_handles) - handles
        driver.switch_to.window(opened)
        page.wait(lambda d: d.execute_script("return document.readyState") == "complete")
        assert page.js("return document.documentElement.dir") == (
            "rtl" if language in RTL else "ltr"
        )
        assert page.js("return document.documentElement.lang") == language
        assert TEXTS[language].strip() in page.find("body").text
        assert page.js("return document.title") == _sample(language, SUBJECTS[language])
        # Sandboxed: an opaque origin, no script of its own, and none may run
        assert page.js("return self.origin") == "null"
        assert page.js("return document.scripts.length") == 0
        ran = page.js(
            """const s = document.createElement("script");
            s.textContent = "window.sandboxBroken = true";
            document.body.appendChild(s);
            return window.sandboxBroken === true;"""
        )
        assert not ran, "a script ran in the HTML email's page"
        _shot(page, f"html-email-{language}")
    finally:
        for handle in set(driver.window_handles) - handles:
            driver.switch_to.window(handle)
            driver.close()
        driver.switch_to.window(mine)

    # The policy it is served with
    fields = {
        "csrf": page.find("#composer input[name=csrf]").get_attribute("value"),
        "name": "Policy",
        "subject.ar": SUBJECTS["ar"],
        "text.ar": TEXTS["ar"],
        "preview_language": "ar",
    }
    answer = requests.post(
        f"{_base(local)}/campaigns/preview?lang={language}",
        data=fields,
        cookies={"majlis_console": _cookie(page)},
        headers=SAME_SITE,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text[:300]
    policy = answer.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy, policy
    assert "<script" not in answer.text.lower()


# -- 4. a test to oneself -------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_send_a_test_to_me(local, page: Page, language: str):
    organiser = f"tester.{language}@example.org"
    _follow(page, _invite(local, organiser, "send", language))
    _open_composer(local, page, language)
    _write(page, NAMES[language], ["ar", "en"])
    subject = _preview(page, language)
    before = outbox(local)
    _press(page, "test")
    notice = page.find("#composer-results .notice[role=status]").text
    assert organiser in notice, notice
    _shot(page, f"composer-test-sent-{language}")
    message = email_to(local, organiser, before, timeout=30)
    assert subject in str(message["Subject"]), (message["Subject"], subject)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_audience_is_counted_live_as_it_is_built(local, page: Page, language: str):
    _follow(page, _invite(local, f"counter.{language}@example.org", "send", language))
    _open_composer(local, page, language)

    def shown() -> int:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            text = page.find("#live-count").text.translate(DIGITS)
            if re.search(r"\d", text):
                return int(re.findall(r"\d+", text)[0])
            time.sleep(0.1)
        raise AssertionError("the live count said nothing")

    everyone = shown()
    assert everyone == _registered(local)
    assert page.find("#live-count").get_attribute("aria-live") == "polite"
    page.find("label[for=language-ur]").click()  # only those who read Urdu
    expected = sum(
        1 for r in local.majlis.registrations.every(EVENT, Audience(languages=["ur"]).where(), 500)
    )
    deadline = time.monotonic() + 15
    while shown() != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert shown() == expected


# -- 5. moving a session from the settings ----------------------------------------------------


def _move_first_session(local: Any, page: Page, language: str, minutes: int, shot: str) -> int:
    """On the settings page, move the first session by ``minutes`` (start and end),
    review, save: how many people the confirmation said are emailed."""
    page.open(f"{_base(local)}/settings?lang={language}")
    for part in ("starts", "ends"):
        page.js(
            """const field = document.getElementById(arguments[0]);
            const moved = new Date(field.value + "Z");
            moved.setUTCMinutes(moved.getUTCMinutes() + arguments[1]);
            field.value = moved.toISOString().slice(0, 16);
            field.dispatchEvent(new Event("input", {bubbles: true}));
            field.dispatchEvent(new Event("change", {bubbles: true}));""",
            f"session.0-{part}",
            minutes,
        )
    _submit(page, "main form button[name=action][value=review]")
    assert page.find("h1").text == translated(language, "Save the settings?")
    stated = page.find("main .notice strong").text
    notifying = _number(stated)
    save = page.find("main form button[name=action][value=save]")
    assert _number(save.text) == notifying, save.text
    _shot(page, f"confirm-settings-{shot}-{language}")
    _submit(page, "main form button[name=action][value=save]")
    assert _path(page) == f"/console/events/{EVENT}/settings"
    notice = page.find(".notice[role=status]").text
    assert _number(notice) == notifying, notice
    return notifying


@pytest.mark.parametrize("language", LANGUAGES)
def test_moving_a_session_from_the_settings_says_who_is_emailed(local, page: Page, language: str):
    before = local.majlis.events.get(EVENT, fresh=True)
    first = before.sessions[0]
    _register(local, f"moved.{language}@example.org", first_name="Idris", sessions=[first.id])
    _follow(page, _invite(local, f"settings.admin.{language}@example.org", "admin", language))
    try:
        told = _move_first_session(local, page, language, 30, "later")
        assert told >= 1
        _shot(page, f"settings-saved-{language}")
        moved = local.majlis.events.get(EVENT, fresh=True)
        assert moved.sessions[0].starts_at == first.starts_at + timedelta(minutes=30)
        assert moved.sessions[0].ends_at == first.ends_at + timedelta(minutes=30)
        assert [s.starts_at for s in moved.sessions[1:]] == [
            s.starts_at for s in before.sessions[1:]
        ]
        assert moved.languages == before.languages and moved.capacity == before.capacity
        _changes_done(local)
    finally:
        if local.majlis.events.get(EVENT, fresh=True).sessions[0].starts_at != first.starts_at:
            _move_first_session(local, page, language, -30, "back")
            _changes_done(local)
    after = local.majlis.events.get(EVENT, fresh=True)
    assert after.sessions[0].starts_at == first.starts_at
    assert after.sessions[0].ends_at == first.ends_at
    assert [s.status for s in after.sessions] == [s.status for s in before.sessions]


# -- 6. axe-core on every page, and a phone's width ------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_axe_violations_on_the_announcement_settings_and_export_pages(
    local, page: Page, axe_source, language: str
):
    found: dict[str, list[dict[str, Any]]] = {}
    _follow(page, _invite(local, f"axe.admin.{language}@example.org", "admin", language))
    base = _base(local)

    page.open(f"{base}/campaigns?lang={language}")
    _axe(page, found, f"campaigns-{language}")
    _open_composer(local, page, language)
    _axe(page, found, f"composer-empty-{language}")

    # Without the default language's content: 422, said at the top and at the field
    page.type("#campaign-name", NAMES[language])
    _show_tab(page, "en")
    page.type("#subject-en", SUBJECTS["en"])
    page.type("#text-en", TEXTS["en"])
    _press(page, "preview")
    assert page.find(".summary[role=alert]").is_displayed()
    _axe(page, found, f"composer-422-{language}")

    _write(page, NAMES[language], ["ar", "en"])
    _preview(page, language)
    _axe(page, found, f"composer-preview-{language}")
    _press(page, "count")
    _axe(page, found, f"composer-count-{language}")
    _press(page, "review")
    _axe(page, found, f"confirm-send-{language}")
    _submit(page, "main form button[name=action][value=edit]")  # back, nothing sent
    assert page.find("#subject-ar").get_attribute("value") == SUBJECTS["ar"]

    page.open(f"{base}/settings?lang={language}")
    _axe(page, found, f"settings-{language}")
    _submit(page, "main form button[name=action][value=review]")  # nothing changed
    assert page.find("h1").text == translated(language, "Save the settings?")
    _axe(page, found, f"confirm-settings-{language}")

    page.open(f"{base}/operations?lang={language}")
    _axe(page, found, f"operations-{language}")
    _submit(page, "main form[action*='/exports'] button[type=submit]")
    assert "/exports/" in _path(page)
    _axe(page, found, f"export-{language}")

    # A phone's width: nothing sticks out sideways
    page.driver.set_window_size(*PHONE)
    try:
        page.open(f"{base}/campaigns?lang={language}")
        _axe(page, found, f"campaigns-phone-{language}")
        _fits(page)
        _open_composer(local, page, language)
        _axe(page, found, f"composer-phone-{language}")
        _fits(page)
    finally:
        page.driver.set_window_size(*DESKTOP)
    assert not found, "\n".join(f"{name}:\n{describe(v)}" for name, v in found.items())


# -- 7. an export, from the page to the file --------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_export_of_the_registrations_downloads_as_csv(local, page: Page, language: str):
    _register(local, f"exported.{language}@example.org")  # at least one row, whatever ran before
    _follow(page, _invite(local, f"exporter.{language}@example.org", "read", language))
    page.open(f"{_base(local)}/operations?lang={language}")
    assert page.find("#kind-registrations").is_selected()
    _submit(page, "main form[action*='/exports'] button[type=submit]")
    assert "/exports/" in _path(page)

    def ready(driver: Any) -> bool:  # the page reloads itself meanwhile
        try:
            return bool(driver.find_elements(By.CSS_SELECTOR, "main a[download]"))
        except WebDriverException:
            return False

    page.wait(ready, 60, "the export was not ready within 60s")
    page.wait(lambda d: d.execute_script("return document.readyState") == "complete")
    # Written: the page refreshes itself no more
    assert not page.find_all("meta[http-equiv=refresh], script[data-refresh]")
    _shot(page, f"export-ready-{language}")
    href = page.find("main a[download]").get_attribute("href")
    answer = requests.get(href, timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    lines = answer.content.decode("utf-8-sig").splitlines()
    assert len(lines) >= 2 and "," in lines[0], lines[:2]
    assert any("@example.org" in line for line in lines[1:]), lines[:3]
