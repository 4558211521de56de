"""The hosted registration page in a real browser: with its script, and without it."""

from __future__ import annotations

import re

import pytest

from chalicelib.pages.views import FIELD_MESSAGES, PAGE_MESSAGES
from chalicelib.usecases import registrations
from tests.browser.support import Page, calendars, email_to, outbox, translated

ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff]")


def _event_title(local, language: str) -> str:
    return local.majlis.events.get("demo").title_in(language)


def _subject(local, language: str, template: str) -> str:
    return translated(language, template) % {"event": _event_title(local, language)}


def _assert_right_to_left(page: Page, language: str, *selectors: str) -> None:
    assert page.js("return document.documentElement.lang") == language
    assert page.style("html", "direction") == "rtl"
    for css in selectors:
        assert page.style(css, "direction") == "rtl", css


def _assert_field_error(page: Page, field: str, language: str, code: str) -> None:
    note = page.find(f"#{field}-error")
    assert note.is_displayed(), f"#{field}-error is not shown"
    assert note.text.strip() == translated(language, FIELD_MESSAGES[code])
    control = page.find(f"#{field}")
    assert control.get_attribute("aria-invalid") == "true", field
    assert f"{field}-error" in control.get_attribute("aria-describedby").split()
    # Next to its field: after it, in the same block
    assert page.js(
        """const [control, note] = arguments;
        const block = control.closest(".field");
        const after = control.compareDocumentPosition(note) & Node.DOCUMENT_POSITION_FOLLOWING;
        return block !== null && block.contains(note) && Boolean(after);""",
        control,
        note,
    ), f"#{field}-error is not next to #{field}"


def _assert_no_error(page: Page, field: str) -> None:
    assert not page.find(f"#{field}-error").is_displayed(), field
    assert page.find(f"#{field}").get_attribute("aria-invalid") is None, field


def test_register_in_arabic_with_javascript(local, page: Page):
    page.open(f"{local.url}/events/demo/register?lang=ar")
    _assert_right_to_left(page, "ar", "body", "main", "#registration")
    assert page.find("h1").text == _event_title(local, "ar")
    page.visible(".local-time")  # the script ran: each session in the visitor's own time
    assert page.selected("#timezone") == (
        "Asia/Karachi"  # the browser's zone, preselected by the script
    )
    page.shot("form")

    page.type("#email", "Layla.Haddad@Example.org")
    page.type("#first_name", "ليلى")
    page.type("#last_name", "حداد")
    page.choose("#country", "JO")
    assert page.selected("#language") == "ar"
    for session in ("economy", "media", "health", "environment"):
        page.tick(f"#session-{session}", on=False)
    page.tick("#consent")
    page.shot("filled")

    before = outbox(local)
    page.find("#registration button[type=submit]").click()
    thanks = page.visible("#thanks")
    assert not page.find("#registration").is_displayed()
    heading = page.find("#thanks-registered")
    assert heading.is_displayed()
    assert heading.text == translated("ar", "Thank you, you are registered!")
    assert page.focused()["id"] == "thanks"  # announced and focused for screen readers
    assert page.style("#thanks", "direction") == "rtl"
    assert thanks.get_attribute("role") == "status"
    page.shot("thanks")

    message = email_to(local, "layla.haddad@example.org", before)
    assert str(message["Subject"]) == _subject(
        local, "ar", "Your registration is confirmed: %(event)s"
    )
    assert calendars(message)["invite.ics"] == {"education", "family", "youth", "science"}


def test_errors_show_next_to_their_fields_with_javascript(local, page: Page):
    page.open(f"{local.url}/events/demo/register?lang=en")
    page.visible(".local-time")
    page.type("#email", "not-an-email")
    page.choose("#country", "GB")
    # first name left empty, consent not given
    page.shot("filled")

    before = outbox(local)
    page.find("#registration button[type=submit]").click()
    page.visible("#email-error")
    page.wait(lambda _: page.find("#summary").text.strip(), message="no summary")
    _assert_field_error(page, "email", "en", "invalid_email")
    _assert_field_error(page, "first_name", "en", "required")
    _assert_field_error(page, "consent", "en", "consent_required")
    for field in ("last_name", "country", "language", "timezone"):
        _assert_no_error(page, field)
    summary = page.find("#summary")
    assert summary.get_attribute("role") == "alert"
    assert summary.text == translated("en", PAGE_MESSAGES["summary"])
    assert summary.is_displayed()
    assert page.focused()["id"] == "email"  # the first invalid field, in the page's order
    assert page.find("#registration button[type=submit]").is_enabled()
    page.shot("errors")

    # Corrected, the same form goes through and the errors go away
    page.type("#email", "corrected@example.org")
    page.type("#first_name", "Grace")
    page.tick("#consent")
    page.find("#registration button[type=submit]").click()
    page.visible("#thanks")
    assert not page.find("#summary").text
    page.shot("thanks")
    email_to(local, "corrected@example.org", before)


def test_register_in_urdu_without_javascript(local, page_without_js: Page):
    page = page_without_js
    page.open(f"{local.url}/events/demo/register?lang=ur")
    _assert_right_to_left(page, "ur", "#registration")
    assert not page.find(".local-time").is_displayed()  # no script ran
    assert page.selected("#timezone") == ""  # "The time zone of my country": nothing guessed
    assert page.find("#timezone option[value='']").text == translated(
        "ur", "The time zone of my country"
    )
    # The zones named in Urdu, by city and country
    assert page.find("#timezone option[value='Asia/Karachi']").text.startswith(
        "کراچی — پاکستان (UTC+05:00)"
    )
    page.shot("form")

    page.type("#email", "bilal.urdu@example.pk")
    page.type("#first_name", "بلال")
    page.choose("#country", "PK")
    # the zone left as it is: the country's
    for session in ("youth", "science", "economy", "media", "health", "environment"):
        page.tick(f"#session-{session}", on=False)
    page.tick("#updates", on=False)
    page.tick("#consent")
    page.shot("filled")

    before = outbox(local)
    page.submit("#registration button[type=submit]")
    _assert_right_to_left(page, "ur", "main")
    assert page.find("h1").text == _event_title(local, "ur")
    assert page.find("[role=status] h2").text == translated("ur", "Thank you, you are registered!")
    assert not page.find_all("form")
    # Which zone the emails use, and where to get the links if the email does not come
    assert "کراچی — پاکستان" in page.find("main").text
    assert page.find("main a").get_attribute("href").endswith("/events/demo/links?lang=ur")
    page.shot("thanks")

    message = email_to(local, "bilal.urdu@example.pk", before)
    assert str(message["Subject"]) == _subject(
        local, "ur", "Your registration is confirmed: %(event)s"
    )
    assert calendars(message)["invite.ics"] == {"education", "family"}
    (found,) = [
        r
        for r in registrations.registrations(local.majlis, "demo", {"country": "PK"}).items
        if r.email.lower() == "bilal.urdu@example.pk"
    ]
    assert found.language == "ur"
    assert found.timezone == "Asia/Karachi"
    assert found.updates is False  # the unticked box, despite the hidden "false" before it


def test_errors_without_javascript_show_the_form_again_with_values_kept(
    local, page_without_js: Page
):
    page = page_without_js
    page.open(f"{local.url}/events/demo/register?lang=ur")
    page.type("#email", "ayesha@")
    page.type("#first_name", "عائشہ")
    page.type("#last_name", "خان")
    page.choose("#country", "PK")
    page.tick("#session-youth", on=False)
    page.tick("#updates", on=False)
    # consent not given
    page.shot("filled")

    page.submit("#registration button[type=submit]")
    _assert_right_to_left(page, "ur", "#registration")
    summary = page.find("#summary")
    assert summary.is_displayed()
    assert summary.text == translated("ur", PAGE_MESSAGES["summary"])
    _assert_field_error(page, "email", "ur", "invalid_email")
    _assert_field_error(page, "consent", "ur", "consent_required")
    for field in ("first_name", "last_name", "country", "language", "timezone"):
        _assert_no_error(page, field)
    # What was typed and chosen is kept
    assert page.find("#email").get_attribute("value") == "ayesha@"
    assert page.find("#first_name").get_attribute("value") == "عائشہ"
    assert page.find("#last_name").get_attribute("value") == "خان"
    assert page.selected("#country") == "PK"
    assert page.selected("#language") == "ur"
    assert not page.find("#session-youth").is_selected()
    assert page.find("#session-education").is_selected()
    assert not page.find("#updates").is_selected()
    assert not page.find("#consent").is_selected()
    page.shot("errors")


@pytest.mark.parametrize("language", ["ar", "ur"])
def test_the_registration_page_is_written_in_its_language(local, page: Page, language: str):
    page.open(f"{local.url}/events/demo/register?lang={language}")
    page.shot("form")
    texts = [
        page.find("label[for=email]").text,
        page.find("label[for=first_name]").text,
        page.find("#registration button[type=submit]").text,
        page.find("legend").text,
    ]
    untranslated = [text for text in texts if not ARABIC_SCRIPT.search(text)]
    assert not untranslated, f"English on the {language} page: {untranslated}"
