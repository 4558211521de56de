"""Helpers for the browser tests: a page driven in Chromium, the outbox, axe-core."""

from __future__ import annotations

import base64
import email
import json
import re
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
from selenium.common.exceptions import (
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from chalicelib import i18n

HERE = Path(__file__).parent
ARTIFACTS = HERE.parents[1] / "test-artifacts" / "browser"
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"

_RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]})
  .then((result) => done(JSON.stringify(result.violations)))
  .catch((error) => done(JSON.stringify({error: String(error)})));
"""


def translated(language: str, text: str) -> str:
    """What a page in ``language`` says for the English ``text`` (its message catalog)."""
    return i18n.translations(language).gettext(text)


def _gone(element: WebElement) -> Any:
    """Like staleness_of, also when Chromium answers mid-navigation that the element's
    node "does not belong to the document" (an inspector error, not a stale reference)."""

    def left(_driver: WebDriver) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in (error.msg or ""):
                return True
            raise
        return False

    return left


class Page:
    """One test's view of a browser tab: steps, each with a screenshot."""

    def __init__(self, driver: WebDriver, test_name: str) -> None:
        self.driver = driver
        self.name = re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name).strip("-")
        self.steps = 0
        self.screenshots: list[Path] = []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for stale in ARTIFACTS.glob(f"{self.name}-[0-9][0-9]-*.png"):
            stale.unlink()

    # -- navigation and screenshots ------------------------------------------------------

    def open(self, url: str) -> None:
        self.driver.get(url)
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete")

    def shot(self, step: str) -> Path:
        """The whole page as it is now: test-artifacts/browser/<test>-<nn>-<step>.png."""
        self.steps += 1
        path = ARTIFACTS / f"{self.name}-{self.steps:02d}-{step}.png"
        capture = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        path.write_bytes(base64.b64decode(capture["data"]))
        self.screenshots.append(path)
        return path

    # -- reading and acting --------------------------------------------------------------

    def wait(self, condition: Any, timeout: float = 10.0, message: str = "") -> Any:
        return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(condition, message)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def visible(self, css: str, timeout: float = 10.0) -> WebElement:
        try:
            return self.wait(
                expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css)),
                timeout,
            )
        except TimeoutException:
            self.shot("timeout")
            url = self.driver.current_url
            raise AssertionError(f"{css} did not become visible on {url}") from None

    def submit(self, css: str) -> None:
        """Press a button that loads a new page, and wait for that page."""
        old = self.find("html")
        button = self.find(css)
        self.js("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()
        self.wait(_gone(old), 15, f"{css} loaded no page")
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete")
        # A same-origin form post must not be taken for a cross-site one (pages send no
        # referrer, so Chromium's Origin header is "null"; Sec-Fetch-Site tells).
        refused = translated(
            self.js("return document.documentElement.lang") or "en", "This request was refused"
        )
        if self.find("h1").text == refused:
            self.shot("refused")
            raise AssertionError(f"{css}: the server refused the form post (403)")

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def style(self, css: str, prop: str) -> str:
        return self.js(
            "return getComputedStyle(document.querySelector(arguments[0]))[arguments[1]]",
            css,
            prop,
        )

    def type(self, css: str, text: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(text)

    def choose(self, css: str, value: str) -> None:
        Select(self.find(css)).select_by_value(value)

    def selected(self, css: str) -> str:
        """A select's value (one call: Select() asks about each of hundreds of options)."""
        return self.js("return document.querySelector(arguments[0]).value", css)

    def tick(self, css: str, on: bool = True) -> None:
        box = self.find(css)
        if box.is_selected() != on:
            # Labels sit beside the box; clicking the box itself is what a person does.
            self.js("arguments[0].scrollIntoView({block: 'center'})", box)
            box.click()
        assert box.is_selected() == on, css

    def focused(self) -> dict[str, Any]:
        return self.js(
            """const e = document.activeElement;
            const s = getComputedStyle(e);
            const r = e.getBoundingClientRect();
            return {tag: e.tagName.toLowerCase(), id: e.id, type: e.type || "",
                    cls: e.className || "", href: e.getAttribute("href") || "",
                    text: (e.textContent || "").trim(),
                    outline: s.outlineStyle, outlineWidth: s.outlineWidth,
                    left: r.left, top: r.top, width: r.width, height: r.height,
                    viewportWidth: innerWidth};"""
        )

    # -- accessibility -------------------------------------------------------------------

    def axe_violations(self) -> list[dict[str, Any]]:
        """axe-core's violations, whatever their impact, on the page as it is now.

        Injected through the DevTools protocol (execute_script), which the page's
        Content-Security-Policy does not apply to.
        """
        if not self.js("return typeof window.axe === 'object'"):
            self.js(AXE.read_text(encoding="utf-8") + "\n;window.axe = axe;")
        self.driver.set_script_timeout(30)
        result = json.loads(self.driver.execute_async_script(_RUN_AXE))
        assert not isinstance(result, dict), f"axe failed: {result}"
        return result


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {node['target']}: {node.get('failureSummary', '')!r}")
    return "\n".join(lines)


# -- the outbox --------------------------------------------------------------------------


def outbox(local: Any) -> set[Path]:
    return set(local.outbox.glob("*.eml")) if local.outbox.exists() else set()


def email_to(local: Any, address: str, after: set[Path], timeout: float = 20.0) -> EmailMessage:
    """The first new email to ``address`` (not among ``after``), waiting for the pump."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outbox(local) - after):
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address.lower() in str(message["To"]).lower():
                return message  # type: ignore[return-value]
        time.sleep(0.1)
    raise AssertionError(f"no email to {address} within {timeout}s: {local.errors}")


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def link_in(message: EmailMessage, base_url: str, route: str) -> str:
    (url,) = set(re.findall(rf"{re.escape(base_url)}/{route}/[^\s<>\"]+", text_of(message)))
    return url


def calendars(message: EmailMessage) -> dict[str, set[str]]:
    """Attachment filename -> the session ids of its VEVENTs (from their UIDs)."""
    found: dict[str, set[str]] = {}
    for part in message.iter_attachments():
        calendar = icalendar.Calendar.from_ical(part.get_content())
        found[part.get_filename()] = {
            str(vevent["UID"]).split("@")[0].rsplit(".", 1)[1] for vevent in calendar.walk("VEVENT")
        }
    return found
