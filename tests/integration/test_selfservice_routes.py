"""The self-service routes, the registration page and CORS, through the API on moto.

``/manage/{token}`` and ``/unsubscribe/{token}`` show on GET and act on POST; link
scanners (a GET or HEAD without cookies) change nothing in the table; cross-site POSTs
are refused; one-click unsubscribe works as RFC 8058 says; the hosted registration
page speaks the visitor's language; CORS allows exactly the event's origins.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from chalicelib import i18n
from chalicelib.domain.registrations import Registration, Status
from chalicelib.ports import Services
from chalicelib.signed_links import RegistrationLinks, registration_links
from chalicelib.usecases.events import put_event
from chalicelib.usecases.registrations import register
from tests.builders import event_body, person, zoom_base_for

EVENT_ID = "conf"
ALLOWED_ORIGIN = "https://conference.example.org"
SELF_ORIGIN = "http://127.0.0.1:8000"  # the default public base URL
FORM = "application/x-www-form-urlencoded"


# -- helpers ---------------------------------------------------------------------------


class Registrant:
    def __init__(self, aws: Services, registration: Registration) -> None:
        self.aws = aws
        self.id = registration.registration_id
        event = aws.events.get(EVENT_ID)
        assert event is not None
        self.links: RegistrationLinks = registration_links(
            aws.keys.keys(), aws.settings.public_base_url, event, registration
        )

    @property
    def manage(self) -> str:
        return "/manage/" + self.links.manage.rsplit("/", 1)[1]

    @property
    def unsubscribe(self) -> str:
        return "/unsubscribe/" + self.links.unsubscribe.rsplit("/", 1)[1]

    def join(self, session_id: str) -> str:
        return "/join/" + self.links.join[session_id].rsplit("/", 1)[1]

    def stored(self) -> Registration:
        found = self.aws.registrations.get(self.id, consistent=True)
        assert found is not None
        return found


def sign_up(aws: Services, n: int = 1, **fields: Any) -> Registrant:
    outcome = register(aws, EVENT_ID, person(n, **fields), form=False)
    registration = aws.registrations.get(outcome.registration_id, consistent=True)
    assert registration is not None
    return Registrant(aws, registration)


@pytest.fixture
def someone(aws: Services) -> Registrant:
    return sign_up(aws, 1, language="fr", sessions=["education", "youth"])


def table_items(aws: Services) -> dict[tuple[str, str], dict[str, Any]]:
    """Every item of the table, by key."""
    db = boto3.client("dynamodb", region_name="us-east-1")
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for page in db.get_paginator("scan").paginate(
        TableName=aws.settings.table_name, ConsistentRead=True
    ):
        for item in page["Items"]:
            items[(item["pk"]["S"], item["sk"]["S"])] = item
    return items


def without(items: dict, *attributes: str) -> dict:
    return {
        key: {k: v for k, v in item.items() if k not in attributes} for key, item in items.items()
    }


# What a click records: its times, and the client's network.
CLICK = ("clicks", "networks")


def post_json(api: Any, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return api.http.post(
        path,
        headers={"Content-Type": "application/json", **(headers or {})},
        body=json.dumps(body),
    )


def post_form(
    api: Any, path: str, fields: list[tuple[str, str]], headers: dict[str, str] | None = None
) -> Any:
    return api.http.post(
        path, headers={"Content-Type": FORM, **(headers or {})}, body=urlencode(fields)
    )


def multipart(fields: list[tuple[str, str]], boundary: str = "----MajlisBoundary7MA4YWxk") -> Any:
    """A multipart/form-data body as a browser or a mail provider sends it."""
    parts = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    body = "".join(parts) + f"--{boundary}--\r\n"
    return body.encode("utf-8"), f"multipart/form-data; boundary={boundary}"


def page(response: Any) -> str:
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    return response.body.decode("utf-8")


def problem(response: Any) -> dict[str, Any]:
    assert response.headers["Content-Type"] == "application/problem+json"
    return json.loads(response.body)


def gettext(language: str, text: str) -> str:
    return i18n.translations(language).gettext(text)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def element(html: str, tag: str, **attrs: str) -> dict[str, str | None]:
    found = [a for t, a in tags(html) if t == tag and all(a.get(k) == v for k, v in attrs.items())]
    assert len(found) == 1, (tag, attrs, found)
    return found[0]


def checked_sessions(html: str) -> set[str]:
    return {
        str(a["value"])
        for t, a in tags(html)
        if t == "input" and a.get("name") == "sessions" and "checked" in a
    }


def assert_secure_page(response: Any) -> None:
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"


# -- GET /manage/{token} ---------------------------------------------------------------


def test_the_manage_page_shows_the_registration_in_its_language(api, someone):
    response = api.http.get(someone.manage, headers={"Accept-Language": "ar"})
    assert response.status_code == 200
    assert_secure_page(response)
    html = page(response)
    # In the registrant's language (French), not the browser's
    assert '<html lang="fr" dir="ltr">' in html
    assert gettext("fr", "Your registration") in html
    assert gettext("fr", "You are registered.") in html
    # With their sessions ticked, and their language and time zone selected
    assert checked_sessions(html) == {"education", "youth"}
    assert "selected" in element(html, "option", value="fr", lang="fr")
    assert "selected" in element(html, "option", value="Asia/Kuala_Lumpur")
    # Both forms post back to the same page
    actions = {a.get("action") for t, a in tags(html) if t == "form"}
    assert actions == {f"{SELF_ORIGIN}{someone.manage}"}
    assert response.headers["Cache-Control"] == "no-store"


def test_a_garbage_manage_token_is_a_404_page(api):
    response = api.http.get("/manage/nonsense", headers={"Accept-Language": "tr"})
    assert response.status_code == 404
    assert_secure_page(response)
    assert '<html lang="tr"' in page(response)


# -- POST /manage/{token}: forms -------------------------------------------------------


def test_a_form_update_saves_and_shows_the_page_again(api, someone):
    response = post_form(
        api,
        someone.manage,
        [
            ("action", "update"),
            ("sessions", "family"),
            ("sessions", "education"),
            ("language", "es"),
            ("timezone", "Europe/Madrid"),
        ],
    )
    assert response.status_code == 200, response.body
    assert_secure_page(response)
    html = page(response)
    # The page is now in the new language, with the saved message and the new choices
    assert '<html lang="es"' in html
    assert (
        gettext(
            "es", "Your changes are saved. We have sent you an email with your updated sessions."
        )
        in html
    )
    assert checked_sessions(html) == {"education", "family"}
    stored = someone.stored()
    assert stored.sessions == ["education", "family"]
    assert (stored.language, stored.timezone) == ("es", "Europe/Madrid")
    assert stored.mail_reason == "updated"
    assert stored.calendar_cancel == ["youth"]


def test_a_form_with_every_session_unticked_is_a_422_page(api, someone):
    before = someone.stored()
    response = post_form(api, someone.manage, [("action", "update"), ("language", "fr")])
    assert response.status_code == 422
    assert_secure_page(response)
    html = page(response)
    assert 'id="sessions-error"' in html
    assert element(html, "fieldset", id="sessions").get("aria-invalid") == "true"
    assert someone.stored() == before


def test_a_form_cancel_shows_the_cancelled_page(api, someone):
    response = post_form(api, someone.manage, [("action", "cancel"), ("confirm", "yes")])
    assert response.status_code == 200
    assert_secure_page(response)
    html = page(response)
    assert gettext("fr", "Your registration is cancelled.") in html
    assert f"/events/{EVENT_ID}/register?lang=fr" in html
    assert someone.stored().status is Status.CANCELLED


# -- POST /manage/{token}: JSON --------------------------------------------------------


def test_a_json_update_answers_json(api, someone):
    response = post_json(
        api, someone.manage, {"action": "update", "sessions": ["science"], "timezone": "UTC"}
    )
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == {"registration_id": someone.id, "status": "registered"}
    stored = someone.stored()
    assert (stored.sessions, stored.timezone, stored.language) == (["science"], "UTC", "fr")
    assert stored.calendar_cancel == ["education", "youth"]


# Changing the language or time zone alone (DynamoDB refuses unused expression values).


def test_a_json_update_of_the_language_alone(api, someone):
    response = post_json(api, someone.manage, {"action": "update", "language": "en"})
    assert response.status_code == 200, response.body
    stored = someone.stored()
    assert stored.language == "en"
    assert stored.mail_reason == "updated"
    assert stored.calendar_cancel == []


def test_a_json_update_of_the_time_zone_alone(api, someone):
    response = post_json(api, someone.manage, {"action": "update", "timezone": "Europe/Paris"})
    assert response.status_code == 200, response.body
    assert someone.stored().timezone == "Europe/Paris"


def test_a_form_keeping_the_sessions_and_changing_the_language(api, someone):
    # The manage page's form as a browser sends it: the same boxes ticked, a new language
    response = post_form(
        api,
        someone.manage,
        [
            ("action", "update"),
            ("sessions", "education"),
            ("sessions", "youth"),
            ("language", "ar"),
            ("timezone", "Asia/Kuala_Lumpur"),
        ],
    )
    assert response.status_code == 200
    assert '<html lang="ar" dir="rtl">' in page(response)
    assert someone.stored().language == "ar"


def test_a_json_update_without_changes_owes_no_email(api, someone):
    before = someone.stored()
    response = post_json(api, someone.manage, {"action": "update", "language": "fr"})
    assert response.status_code == 200
    assert someone.stored() == before


def test_a_json_cancel_revokes_every_link_and_frees_the_seat(api, aws, someone):
    response = post_json(api, someone.manage, {"action": "cancel"})
    assert response.status_code == 200, response.body
    assert json.loads(response.body) == {"registration_id": someone.id, "status": "cancelled"}
    stored = someone.stored()
    assert stored.status is Status.CANCELLED
    assert stored.link_version == 2
    assert stored.mail_reason == "cancelled"
    # The old links now lead to a 410 page in the registrant's language
    for path in (someone.manage, someone.unsubscribe, someone.join("education")):
        gone = api.http.get(path)
        assert gone.status_code == 410, path
        assert_secure_page(gone)
        assert gettext("fr", "This registration has been cancelled.") in page(gone)
    # And acting on the old manage link again is refused
    again = post_json(api, someone.manage, {"action": "cancel"})
    assert again.status_code == 410
    assert problem(again)["status"] == 410
    # And the seat is free, the address free to register again
    items = table_items(aws)
    seats = items[(f"EVENT#{EVENT_ID}", "SEATS")]
    assert (seats["registered"]["N"], seats["cancelled"]["N"]) == ("0", "1")
    assert not [key for key in items if "#EMAIL#" in key[0]]
    response = post_json(api, f"/events/{EVENT_ID}/registrations", person(1, language="fr"))
    assert response.status_code == 201
    assert json.loads(response.body)["registration_id"] != someone.id


def test_an_invalid_json_action_is_a_422_problem(api, aws, someone):
    before = table_items(aws)
    for body, field in (
        ({"action": "delete"}, "action"),
        ({}, "action"),
        ({"action": "update", "language": "de"}, "language"),
        ({"action": "update", "sessions": ["nope"]}, "sessions"),
        ({"action": "update", "sessions": []}, "sessions"),
        ({"action": "update", "email": "x@example.org"}, "email"),
        ({"action": "cancel", "reason": "busy"}, "reason"),
    ):
        response = post_json(api, someone.manage, body)
        assert response.status_code == 422, body
        document = problem(response)
        assert document["status"] == 422
        assert field in {error["field"] for error in document["errors"]}, body
    assert table_items(aws) == before


def test_unreadable_json_is_400_and_changes_nothing(api, someone):
    before = someone.stored()
    response = api.http.post(
        someone.manage, headers={"Content-Type": "application/json"}, body=b"{not json"
    )
    assert response.status_code == 400
    assert someone.stored() == before


# -- cross-site POSTs ------------------------------------------------------------------


CROSS_SITE = [
    {"Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    {"Origin": ALLOWED_ORIGIN},  # allowed to embed the form, not to act on tokens
]


def test_a_cross_site_post_to_the_manage_page_is_403(api, aws, someone):
    before = table_items(aws)
    for headers in CROSS_SITE:
        json_cancel = post_json(api, someone.manage, {"action": "cancel"}, headers)
        assert json_cancel.status_code == 403, headers
        assert problem(json_cancel)["status"] == 403
        for fields in (
            [("action", "cancel"), ("confirm", "yes")],
            [("action", "update"), ("sessions", "family")],
        ):
            response = post_form(api, someone.manage, fields, headers)
            assert response.status_code == 403, headers
            assert_secure_page(response)
    assert table_items(aws) == before


def test_a_cross_site_post_to_unsubscribe_is_403(api, aws, someone):
    before = table_items(aws)
    for headers in CROSS_SITE:
        response = post_form(api, someone.unsubscribe, [("List-Unsubscribe", "One-Click")], headers)
        assert response.status_code == 403, headers
        assert_secure_page(response)
    assert table_items(aws) == before


def test_a_same_site_post_is_accepted(api, someone):
    for headers, session in (
        ({}, "media"),
        ({"Sec-Fetch-Site": "same-origin", "Origin": SELF_ORIGIN}, "health"),
        ({"Sec-Fetch-Site": "none"}, "science"),
        ({"Origin": SELF_ORIGIN}, "economy"),
    ):
        response = post_json(
            api, someone.manage, {"action": "update", "sessions": [session]}, headers
        )
        assert response.status_code == 200, headers
        assert someone.stored().sessions == [session]


def test_the_pages_own_form_post_from_a_browser_is_accepted(api, someone):
    browser = {"Origin": "null", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}
    response = post_form(
        api, someone.manage, [("action", "update"), ("sessions", "family")], browser
    )
    assert response.status_code == 200
    assert someone.stored().sessions == ["family"]


# -- POST /unsubscribe/{token} ---------------------------------------------------------


def _one_click_bodies() -> list[tuple[bytes, str]]:
    return [
        (b"List-Unsubscribe=One-Click", FORM),
        multipart([("List-Unsubscribe", "One-Click")]),
    ]


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
def test_one_click_unsubscribe(api, aws, someone, kind):
    body, content_type = _one_click_bodies()[0 if kind == "urlencoded" else 1]
    assert someone.stored().updates is True
    # A mail provider's POST: no Origin, no Sec-Fetch-Site, no cookies
    response = api.http.post(someone.unsubscribe, headers={"Content-Type": content_type}, body=body)
    assert response.status_code == 200, response.body
    assert_secure_page(response)
    assert gettext("fr", "You are unsubscribed.") in page(response)
    stored = someone.stored()
    assert stored.updates is False
    assert stored.email_status.value == "unsubscribed"
    # Still registered, links intact, no email owed
    assert stored.status is Status.REGISTERED
    assert (stored.link_version, stored.mail_seq) == (1, 1)
    # And again: the same answer, nothing more changes
    after_first = without(table_items(aws), "unsubscribed_at")
    again = api.http.post(someone.unsubscribe, headers={"Content-Type": content_type}, body=body)
    assert again.status_code == 200
    assert without(table_items(aws), "unsubscribed_at") == after_first
    assert api.http.get(someone.manage).status_code == 200


def test_a_multipart_cancel_from_the_manage_page(api, someone):
    body, content_type = multipart([("action", "cancel"), ("confirm", "yes")])
    response = api.http.post(someone.manage, headers={"Content-Type": content_type}, body=body)
    assert response.status_code == 200
    assert someone.stored().status is Status.CANCELLED


def test_a_multipart_update_with_several_sessions(api, someone):
    body, content_type = multipart(
        [("action", "update"), ("sessions", "family"), ("sessions", "media")]
    )
    response = api.http.post(someone.manage, headers={"Content-Type": content_type}, body=body)
    assert response.status_code == 200
    assert someone.stored().sessions == ["family", "media"]


def test_the_unsubscribe_page_button_posts_one_click(api, someone):
    response = api.http.get(someone.unsubscribe)
    assert response.status_code == 200
    assert_secure_page(response)
    html = page(response)
    form = element(html, "form")
    assert form["method"] == "post"
    assert form["action"] == f"{SELF_ORIGIN}{someone.unsubscribe}"
    hidden = element(html, "input", type="hidden")
    assert (hidden["name"], hidden["value"]) == ("List-Unsubscribe", "One-Click")
    assert someone.stored().updates is True


def test_a_bounced_address_stays_bounced_when_it_unsubscribes(api, aws, someone):
    from chalicelib.domain.registrations import EmailStatus

    aws.registrations.set_email_status(someone.id, EmailStatus.BOUNCED, aws.clock())
    response = api.http.post(
        someone.unsubscribe, headers={"Content-Type": FORM}, body=b"List-Unsubscribe=One-Click"
    )
    assert response.status_code == 200
    stored = someone.stored()
    assert (stored.updates, stored.email_status) == (False, EmailStatus.BOUNCED)


def test_a_manage_token_does_not_unsubscribe(api, aws, someone):
    before = table_items(aws)
    path = "/unsubscribe/" + someone.manage.rsplit("/", 1)[1]
    response = api.http.post(
        path, headers={"Content-Type": FORM}, body=b"List-Unsubscribe=One-Click"
    )
    assert response.status_code == 404
    assert table_items(aws) == before


# -- link scanners ---------------------------------------------------------------------


SCANNER_HEADERS = [
    {},
    {"User-Agent": "Mozilla/5.0 (compatible; SafeLinks)", "Accept": "*/*"},
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"},
]


def test_scanners_opening_manage_and_unsubscribe_links_change_nothing(api, aws, someone):
    before = table_items(aws)
    for method in ("GET", "HEAD"):
        for headers in SCANNER_HEADERS:
            for path in (someone.manage, someone.unsubscribe):
                for _ in range(2):
                    response = api.http.request(method, path, headers=dict(headers))
                    assert response.status_code < 500, (method, path, response.status_code)
                    if method == "GET":
                        assert response.status_code == 200
    assert table_items(aws) == before


def test_scanners_opening_a_join_link_only_record_the_click(api, aws, someone):
    before = table_items(aws)
    for method in ("GET", "HEAD"):
        for headers in SCANNER_HEADERS:
            response = api.http.request(method, someone.join("youth"), headers=dict(headers))
            assert response.status_code < 500
    after = table_items(aws)
    assert without(after, *CLICK) == without(before, *CLICK)
    assert someone.stored().organizer_view()["clicks"].keys() == {"youth"}
    stored = someone.stored()
    assert stored.status is Status.REGISTERED and stored.updates is True


def test_a_scanner_opening_every_link_of_the_email_changes_nothing_but_clicks(api, aws, someone):
    before = table_items(aws)
    paths = [someone.manage, someone.unsubscribe] + [someone.join(s) for s in someone.links.join]
    for path in paths:
        for method in ("HEAD", "GET"):
            api.http.request(method, path, headers={"User-Agent": "Proofpoint URL Defense"})
    assert without(table_items(aws), *CLICK) == without(before, *CLICK)
    # And the registrant can still do everything afterwards
    assert post_json(api, someone.manage, {"action": "cancel"}).status_code == 200


# -- the registration page -------------------------------------------------------------


def test_the_registration_page_in_arabic_reads_right_to_left(api):
    response = api.http.get(f"/events/{EVENT_ID}/register?lang=ar")
    assert response.status_code == 200
    assert_secure_page(response)
    html = page(response)
    assert tags(html)[0] == ("html", {"lang": "ar", "dir": "rtl"})
    assert "جسور المعرفة" in html
    # The language switcher lists every language of the event, each in itself
    nav = html.split('<nav class="languages"', 1)[1].split("</nav>", 1)[0]
    links = re.findall(r'<a href="\?lang=(\w+)"', nav)
    assert links == event_body()["languages"]
    assert 'lang="ar" hreflang="ar" aria-current="true"' in nav
    # The form posts to the page itself, in its language
    form = element(html, "form", id="registration")
    assert form["action"].endswith(f"/events/{EVENT_ID}/register?lang=ar")
    assert form["method"] == "post"


def test_the_page_language_comes_from_lang_then_the_browser_then_the_event(api):
    for query, accept_language, expected, direction in (
        ("?lang=ur", None, "ur", "rtl"),
        ("?lang=en", "ar", "en", "ltr"),
        ("?lang=xx", "fr-FR,fr;q=0.9,en;q=0.5", "fr", "ltr"),
        ("?lang=xx", "de-DE,de;q=0.9", "ar", "rtl"),
        ("?lang=xx", None, "ar", "rtl"),
        ("", "ms", "ms", "ltr"),
        ("", None, "ar", "rtl"),
    ):
        headers = {"Accept-Language": accept_language} if accept_language else {}
        response = api.http.get(f"/events/{EVENT_ID}/register{query}", headers=headers)
        assert response.status_code == 200
        found = tags(page(response))[0]
        assert found == ("html", {"lang": expected, "dir": direction}), (query, accept_language)


def _page_form(**overrides: Any) -> list[tuple[str, str]]:
    fields = {
        "email": "page@example.org",
        "first_name": "Yusuf",
        "last_name": "Demir",
        "country": "tr",
        "language": "tr",
        "timezone": "Europe/Istanbul",
        "updates": "false",
        "consent": "true",
        "website": "",
    }
    fields.update(overrides)
    pairs = [(k, v) for k, v in fields.items() if v is not None]
    return [*pairs, ("sessions", "education"), ("sessions", "science")]


def test_a_registration_form_with_errors_is_a_422_page_with_the_errors_by_the_fields(api, aws):
    response = post_form(
        api,
        f"/events/{EVENT_ID}/register?lang=en",
        _page_form(email="not-an-address", country="ZZ", consent=None),
    )
    assert response.status_code == 422
    assert_secure_page(response)
    html = page(response)
    for field in ("email", "country", "consent"):
        control = element(html, "select" if field == "country" else "input", id=field)
        assert control.get("aria-invalid") == "true", field
        assert f"{field}-error" in str(control.get("aria-describedby"))
        error = element(html, "p", id=f"{field}-error")
        assert "hidden" not in error, field
    assert gettext("en", "Please enter a valid email address.") in html
    assert gettext("en", "Please choose your country.") in html
    # Fields without errors are not marked, and what was typed is kept
    first_name = element(html, "input", id="first_name")
    assert "aria-invalid" not in first_name
    assert first_name["value"] == "Yusuf"
    assert element(html, "input", id="email")["value"] == "not-an-address"
    assert element(html, "input", id="last_name")["value"] == "Demir"
    assert checked_sessions(html) == {"education", "science"}
    assert "selected" in element(html, "option", value="tr", lang="tr")
    assert "selected" in element(html, "option", value="Europe/Istanbul")
    assert "checked" not in element(html, "input", id="updates")
    # And nothing was stored
    assert not [key for key in table_items(aws) if key[0].startswith("REG#")]


def test_a_registration_form_success_is_the_thank_you_page(api, aws):
    response = post_form(api, f"/events/{EVENT_ID}/register?lang=tr", _page_form())
    assert response.status_code == 200, response.body
    assert_secure_page(response)
    html = page(response)
    assert '<html lang="tr"' in html
    assert gettext("tr", "Thank you, you are registered!") in html
    (registration,) = [item for key, item in table_items(aws).items() if key[0].startswith("REG#")]
    assert registration["email"]["S"] == "page@example.org"
    assert registration["country"]["S"] == "TR"
    assert registration["updates"]["BOOL"] is False
    assert [s["S"] for s in registration["sessions"]["L"]] == ["education", "science"]


def test_a_registration_form_from_another_site_is_refused(api, aws):
    response = post_form(
        api,
        f"/events/{EVENT_ID}/register?lang=en",
        _page_form(),
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert_secure_page(response)
    assert not [key for key in table_items(aws) if key[0].startswith("REG#")]


def test_a_closed_event_shows_the_closed_page(api, aws):
    put_event(
        aws,
        "closed-conf",
        event_body(
            zoom_base_for("closed-conf"), registration={"closes_at": "2027-02-15T00:00:00Z"}
        ),
    )
    for response in (
        api.http.get("/events/closed-conf/register?lang=en"),
        post_form(api, "/events/closed-conf/register?lang=en", _page_form()),
    ):
        assert response.status_code == 409
        assert_secure_page(response)
        assert gettext("en", "Registration is not open") in page(response)
    assert not [key for key in table_items(aws) if key[0].startswith("REG#")]


def test_an_unknown_event_is_a_404_page(api):
    for response in (
        api.http.get("/events/no-such-event/register", headers={"Accept-Language": "es"}),
        post_form(api, "/events/no-such-event/register", _page_form()),
    ):
        assert response.status_code == 404
        assert_secure_page(response)
    html = page(api.http.get("/events/no-such-event/register", headers={"Accept-Language": "es"}))
    assert '<html lang="es"' in html
    assert gettext("es", "Page not found") in html


# -- CORS ------------------------------------------------------------------------------


def test_a_preflight_from_an_allowed_origin_is_204(api):
    response = api.http.request(
        "OPTIONS",
        f"/events/{EVENT_ID}/registrations",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_preflight_from_another_origin_is_403_without_acao(api):
    for origin in (
        "https://evil.example",
        "https://conference.example.org.evil.example",
        "http://conference.example.org",
        "https://conference.example.org:8443",
        "https://CONFERENCE.example.org.",
        "null",
        "*",
    ):
        response = api.http.request(
            "OPTIONS",
            f"/events/{EVENT_ID}/registrations",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert response.status_code == 403, origin
        assert "Access-Control-Allow-Origin" not in response.headers
    no_origin = api.http.request("OPTIONS", f"/events/{EVENT_ID}/registrations", headers={})
    assert no_origin.status_code == 403
    assert "Access-Control-Allow-Origin" not in no_origin.headers


def test_a_preflight_for_an_unknown_event_is_403(api):
    response = api.http.request(
        "OPTIONS", "/events/no-such-event/registrations", headers={"Origin": ALLOWED_ORIGIN}
    )
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_an_allowed_origin_reads_the_201_and_the_422(api):
    created = post_json(
        api, f"/events/{EVENT_ID}/registrations", person(5), {"Origin": ALLOWED_ORIGIN}
    )
    assert created.status_code == 201
    assert created.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Origin" in created.headers["Vary"]
    invalid = post_json(
        api,
        f"/events/{EVENT_ID}/registrations",
        person(6, email="nope"),
        {"Origin": ALLOWED_ORIGIN},
    )
    assert invalid.status_code == 422
    assert invalid.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Origin" in invalid.headers["Vary"]
    again = post_json(
        api, f"/events/{EVENT_ID}/registrations", person(5), {"Origin": ALLOWED_ORIGIN}
    )
    assert again.status_code == 200
    assert again.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN


def test_another_origin_gets_no_acao_but_still_vary(api):
    response = post_json(
        api, f"/events/{EVENT_ID}/registrations", person(7), {"Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in response.headers["Vary"]
    plain = post_json(api, f"/events/{EVENT_ID}/registrations", person(8))
    assert plain.status_code == 201
    assert "Access-Control-Allow-Origin" not in plain.headers
    assert "Origin" in plain.headers["Vary"]


def test_the_public_event_is_readable_by_an_allowed_origin_only(api):
    allowed = api.http.get(f"/events/{EVENT_ID}", headers={"Origin": ALLOWED_ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Origin" in allowed.headers["Vary"]
    other = api.http.get(f"/events/{EVENT_ID}", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Origin" in other.headers["Vary"]


def test_cors_follows_the_events_own_origins(api, aws):
    put_event(
        aws, "other", event_body(zoom_base_for("other"), allowed_origins=["https://other.example"])
    )
    for path in ("/events/other/registrations", f"/events/{EVENT_ID}/registrations"):
        own = "https://other.example" if path.startswith("/events/other") else ALLOWED_ORIGIN
        foreign = ALLOWED_ORIGIN if own != ALLOWED_ORIGIN else "https://other.example"
        assert api.http.request("OPTIONS", path, headers={"Origin": own}).status_code == 204
        assert api.http.request("OPTIONS", path, headers={"Origin": foreign}).status_code == 403


# -- security headers on every page ----------------------------------------------------


def test_every_page_carries_the_security_headers(api, aws):
    first = sign_up(aws, 11)
    second = sign_up(aws, 12)
    responses = {
        "register": api.http.get(f"/events/{EVENT_ID}/register"),
        "register 422": post_form(api, f"/events/{EVENT_ID}/register", _page_form(email="x")),
        "thanks": post_form(api, f"/events/{EVENT_ID}/register", _page_form()),
        "unknown event": api.http.get("/events/nope-nope/register"),
        "manage": api.http.get(first.manage),
        "manage saved": post_form(
            api, first.manage, [("action", "update"), ("sessions", "family")]
        ),
        "manage 422": post_form(api, first.manage, [("action", "update")]),
        "manage 403": post_form(
            api, first.manage, [("action", "cancel")], {"Origin": "https://evil.example"}
        ),
        "unsubscribe": api.http.get(first.unsubscribe),
        "unsubscribed": post_form(api, first.unsubscribe, [("List-Unsubscribe", "One-Click")]),
        "cancelled": post_form(api, second.manage, [("action", "cancel"), ("confirm", "yes")]),
        "gone": api.http.get(second.manage),
        "invalid link": api.http.get("/manage/garbage"),
    }
    for name, response in responses.items():
        assert response.status_code < 500, name
        assert_secure_page(response)


def test_every_page_and_the_join_redirect_ask_browsers_for_https(api, someone):
    for path in (
        f"/events/{EVENT_ID}/register",
        someone.manage,
        someone.join("education"),
        "/assets/page.css",
        "/console",
    ):
        answer = api.http.get(path)
        assert answer.headers.get("Strict-Transport-Security") == "max-age=31536000", path
