"""The organisers' console end to end, on local mode, over real HTTP with a browser's
cookie jar: local mode's admin signs in with the link ``make run`` prints, invites an
organiser, who signs in with the link the outbox holds; the overview counts the people
who registered; a three-language announcement is previewed, counted, confirmed and
sent, its progress reaches done, and every email in the outbox says what the preview
said, in the reader's language."""

from __future__ import annotations

import email
import html
import re
import time
from email import policy
from email.message import EmailMessage
from typing import Any

import requests

from tests.builders import event_body, person, zoom_base_for

EVENT_ID = "console-flow"
TIMEOUT = 60.0
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_SIGN_IN = re.compile(r"(/console/signin/[A-Za-z0-9._~-]+)")
PEOPLE = [("ar", "سلمى"), ("en", "Grace"), ("ur", "زینب"), ("fr", "Inès")]
CONTENT = {  # ar is the event's default language: French readers get it
    "ar": ("لقاء الغد [{n}]", "أهلا {{first_name}}، نلتقي غدا."),
    "en": ("Tomorrow [{n}]", "Hello {{first_name}}, see you tomorrow."),
    "ur": ("کل کی ملاقات [{n}]", "خوش آمدید {{first_name}}، کل ملتے ہیں۔"),
}


def _wait_for(what: str, check: Any, local: Any, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    found = None
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"waited {timeout} s in vain for {what}; errors: {local.errors[-3:]}")


def _emails_to(local: Any, address: str) -> list[EmailMessage]:
    found = []
    for path in sorted(local.outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if address in str(message["To"]):
            found.append(message)
    return found


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content()


def _sign_in(local: Any, link: str) -> requests.Session:
    browser = requests.Session()
    path = link.removeprefix(local.url)
    shown = browser.get(f"{local.url}{path}", timeout=30)
    assert shown.status_code == 200 and 'method="post"' in shown.text
    answer = browser.post(f"{local.url}{path}", headers=SAME_SITE, timeout=30)
    assert answer.status_code == 200, answer.text[:300]  # followed to the console
    assert "majlis_console" in browser.cookies.get_dict()
    return browser


def _csrf(browser: requests.Session, url: str) -> str:
    page = browser.get(url, timeout=30)
    assert page.status_code == 200, page.text[:300]
    found = _CSRF.search(page.text)
    assert found
    return found.group(1)


def test_an_organiser_signs_in_sees_the_counts_and_sends_a_three_language_announcement(local):
    # Given an event, and four people registered in four languages
    put = requests.put(
        f"{local.url}/events/{EVENT_ID}",
        json=event_body(zoom_base_for(EVENT_ID), registration={"opens_at": "2020-01-01T00:00:00Z"}),
        headers={"Authorization": f"Bearer {local.organizer_token}"},
        timeout=30,
    )
    assert put.status_code in (200, 201), put.text
    for n, (language, name) in enumerate(PEOPLE, start=1):
        answer = requests.post(
            f"{local.url}/events/{EVENT_ID}/registrations",
            json=person(n, email=f"flow{n}@example.org", language=language, first_name=name),
            timeout=30,
        )
        assert answer.status_code == 201, answer.text

    # When local mode's admin signs in with the printed link and invites an organiser
    admin = _sign_in(local, local.console_link)
    organizers = f"{local.url}/console/events/{EVENT_ID}/organizers"
    invited = admin.post(
        organizers,
        data={"csrf": _csrf(admin, organizers), "email": "huda@example.org", "role": "send"},
        headers=SAME_SITE,
        timeout=30,
    )
    assert invited.status_code == 200 and "huda@example.org" in invited.text
    # Then the organiser's sign-in link comes by email, and signs them in
    message = _wait_for("the sign-in email", lambda: _emails_to(local, "huda@example.org"), local)
    link = _SIGN_IN.search(_text(message[-1])).group(1)
    organiser = _sign_in(local, f"{local.url}{link}")

    # And the overview counts the four
    overview = f"{local.url}/console/events/{EVENT_ID}/overview.json"

    def registered() -> int:
        counts = organiser.get(overview, timeout=30).json()["counts"]
        return next(c["value"] for c in counts if c["key"] == "registered") >= 4

    _wait_for("the overview to count 4 registered", registered, local)

    # When they preview the announcement in each language
    new = f"{local.url}/console/events/{EVENT_ID}/campaigns/new"
    csrf = _csrf(organiser, new)
    marker = str(time.time_ns())
    form: list[tuple[str, str]] = [("csrf", csrf), ("name", "Tomorrow"), ("status", "registered")]
    for code, (subject, text) in CONTENT.items():
        form += [(f"subject.{code}", subject.format(n=marker)), (f"text.{code}", text)]
    previews = {}
    for code in CONTENT:
        page = organiser.post(
            new,
            data=[*form, ("action", "preview"), ("preview_language", code)],
            headers=SAME_SITE,
            timeout=30,
        )
        assert page.status_code == 200, page.text[:300]
        shown = re.search(r'<pre class="email-text"[^>]*>(.*?)</pre>', page.text, re.S)
        previews[code] = html.unescape(shown.group(1))
    # And count, confirm and send
    counted = organiser.post(new, data=[*form, ("action", "count")], headers=SAME_SITE)
    assert counted.status_code == 200
    review = organiser.post(new, data=[*form, ("action", "review")], headers=SAME_SITE)
    assert review.status_code == 200 and 'value="send"' in review.text
    assert re.search(r"\b4\b", review.text)  # the confirmation states the number
    sent = organiser.post(new, data=[*form, ("action", "send")], headers=SAME_SITE)
    assert sent.status_code == 200 and "<progress" in sent.text

    # Then its progress reaches done
    listing = f"{local.url}/console/events/{EVENT_ID}/campaigns"
    _wait_for(
        "the campaign to be done", lambda: "status-done" in organiser.get(listing).text, local
    )
    # And each person got what the preview of their language said, with their own name
    samples = {"ar": "أمينة", "en": "Amina", "ur": "آمنہ"}
    for n, (language, name) in enumerate(PEOPLE, start=1):
        mine = [m for m in _emails_to(local, f"flow{n}@example.org") if marker in str(m["Subject"])]
        assert len(mine) == 1, (language, len(mine))
        reads = language if language in CONTENT else "ar"
        expected = CONTENT[reads][1].replace("{{first_name}}", name)
        assert expected in _text(mine[0]).replace("\u2068", "").replace("\u2069", "")
        assert CONTENT[reads][1].replace("{{first_name}}", samples[reads]) in previews[
            reads
        ].replace("\u2068", "").replace("\u2069", "")
        assert mine[0]["Subject"] == CONTENT[reads][0].format(n=marker)

    # And signing out ends the session
    signout = f"{local.url}/console/signout"
    out = organiser.post(signout, data={"csrf": csrf}, headers=SAME_SITE, timeout=30)
    assert out.status_code == 200 and 'name="email"' in out.text
    again = organiser.get(f"{local.url}/console/events/{EVENT_ID}", timeout=30)
    assert 'name="email"' in again.text  # back at the sign-in page
