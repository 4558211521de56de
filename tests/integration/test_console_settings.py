"""The console's event settings through the API on moto: the form shows the event in
its own zone; saving a change that concerns registrants first says how many will be
emailed; a stale form, bad JSON and other roles are refused."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from chalicelib import i18n
from chalicelib.domain.zones import zone
from chalicelib.ports import Services
from chalicelib.usecases.registrations import register
from tests.builders import person, utc
from tests.integration.test_console_routes import EVENT_ID, FORM, _link_token, _sign_in

PATH = f"/console/events/{EVENT_ID}/settings"
_INPUT = re.compile(
    r'<input type="(?:text|number|datetime-local|url|hidden)" [^>]*?'
    r'name="([^"]+)"[^>]*?value="([^"]*)"'
)
_AREA = re.compile(r'<textarea [^>]*?name="([^"]+)"[^>]*>(.*?)</textarea>', re.S)
_CHECKED = re.compile(r'<input type="checkbox" [^>]*?name="([^"]+)" value="([^"]+)"[^>]*? checked>')
_SELECTED = re.compile(r'<select [^>]*?name="([^"]+)">(.*?)</select>', re.S)


def _fields(page: str) -> list[tuple[str, str]]:
    """The settings form as a browser would send it, untouched."""
    import html

    page = page[page.index('<main id="main">') :]
    found = [(n, html.unescape(v)) for n, v in _INPUT.findall(page)]
    found += [(n, html.unescape(v)) for n, v in _AREA.findall(page)]
    found += _CHECKED.findall(page)
    for name, options in _SELECTED.findall(page):
        chosen = re.search(r'<option value="([^"]*)" selected>', options)
        if chosen:
            found.append((name, chosen.group(1)))
    return found


def _post(api: Any, cookie: str, pairs: list[tuple[str, str]]) -> Any:
    headers = {"Content-Type": FORM, "Sec-Fetch-Site": "same-origin", "Cookie": cookie}
    return api.http.post(PATH, headers=headers, body=urlencode(pairs))


def _admin(api: Any, aws: Services) -> str:
    return _sign_in(api, _link_token(aws, "admin@example.org", "admin"))


def _moved(pairs: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    return [(n, value if n == name else v) for n, v in pairs]


def test_the_form_shows_the_event_in_its_zone_and_saving_it_unchanged_tells_nobody(api, aws):
    admin = _admin(api, aws)
    page = api.http.get(PATH, headers={"Cookie": admin}).body.decode()
    event = aws.events.get(EVENT_ID)
    first = event.sessions[0]
    shown = dict(_fields(page))
    local = first.starts_at.astimezone(zone(event.timezone)).strftime("%Y-%m-%dT%H:%M")
    assert shown["session.0.starts_at"] == local
    review = _post(api, admin, [*_fields(page), ("action", "review")])
    assert review.status_code == 200
    language = aws.events.get(EVENT_ID).default_language  # the invited admin's
    nobody = i18n.translations(language).gettext("No one is emailed about this change.")
    assert nobody in review.body.decode()


def test_moving_a_session_says_how_many_will_be_emailed_then_saves(api, aws):
    event = aws.events.get(EVENT_ID)
    first = event.sessions[0]
    for n in (1, 2):
        body = person(n, email=f"moved{n}@example.org", sessions=[first.id])
        register(aws, EVENT_ID, body, form=False)
    admin = _admin(api, aws)
    pairs = _fields(api.http.get(PATH, headers={"Cookie": admin}).body.decode())
    later = (first.starts_at.astimezone(zone(event.timezone))).replace(minute=30)
    pairs = _moved(pairs, "session.0.starts_at", later.strftime("%Y-%m-%dT%H:%M"))
    review = _post(api, admin, [*pairs, ("action", "review")])
    page = review.body.decode()
    assert review.status_code == 200 and "2" in page and 'value="save"' in page
    assert aws.events.get(EVENT_ID, fresh=True).revision == event.revision  # not yet
    confirmed = [(n, v) for n, v in _fields_of_confirmation(page)]
    saved = _post(api, admin, [*confirmed, ("action", "save")])
    assert saved.status_code == 303
    assert dict(parse_qsl(saved.headers["Location"].split("?", 1)[1]))["notified"] == "2"
    stored = aws.events.get(EVENT_ID, fresh=True)
    assert stored.sessions[0].starts_at.minute == 30
    assert stored.revision == event.revision + 1


def _fields_of_confirmation(page: str) -> list[tuple[str, str]]:
    import html

    form = page[page.index('<main id="main">') :]
    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)
    return [(n, html.unescape(v)) for n, v in hidden]


def test_a_stale_form_is_refused_with_the_reason(api, aws):
    admin = _admin(api, aws)
    pairs = _fields(api.http.get(PATH, headers={"Cookie": admin}).body.decode())
    pairs = _moved(pairs, "revision", "999")
    answer = _post(api, admin, [*pairs, ("action", "save")])
    assert answer.status_code == 409
    assert "meanwhile" in answer.body.decode()


def test_bad_json_for_rooms_is_a_422_naming_the_session(api, aws):
    admin = _admin(api, aws)
    pairs = _fields(api.http.get(PATH, headers={"Cookie": admin}).body.decode())
    pairs = [*[(n, v) for n, v in pairs if n != "session.0.advanced"], ("session.0.advanced", "{")]
    answer = _post(api, admin, [*pairs, ("action", "review")])
    assert answer.status_code == 422
    assert "sessions.0.advanced" in answer.body.decode()


def test_only_admins_open_the_settings(api, aws):
    sender = _sign_in(api, _link_token(aws, "sender@example.org", "send"))
    assert api.http.get(PATH, headers={"Cookie": sender}).status_code == 403


def test_an_event_of_24_sessions_in_7_languages_is_saved_from_the_form(api, aws):
    """Far past the 200 fields of a public form: the console's forms take whole events."""
    from datetime import timedelta

    from chalicelib.usecases.events import put_event
    from tests.builders import event_body

    body = event_body()
    first = body["sessions"][0]
    sessions = []
    for n in range(24):
        starts = datetime_of(first["starts_at"]) + timedelta(hours=3 * n)
        titles = {code: f"{title} {n}" for code, title in first["title"].items()}
        sessions.append(
            {
                "id": f"s{n}",
                "title": titles,
                "starts_at": utc(starts),
                "ends_at": utc(starts + timedelta(hours=2)),
                "zoom": {"type": "webinar", "id": f"8{n:09d}"},
            }
        )
    body["sessions"] = sessions
    put_event(aws, EVENT_ID, body)
    admin = _admin(api, aws)
    pairs = _fields(api.http.get(PATH, headers={"Cookie": admin}).body.decode())
    assert len(pairs) > 200
    review = _post(api, admin, [*pairs, ("action", "review")])
    assert review.status_code == 200, review.body[:300]


def datetime_of(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_interpretation_and_speakers_are_set_from_their_fields(api, aws):
    admin = _admin(api, aws)
    pairs = [
        (n, v)
        for n, v in _fields(api.http.get(PATH, headers={"Cookie": admin}).body.decode())
        if not n.startswith("session.0.into.")
    ]
    replaced = ("session.0.interpretation.from", "session.0.interpreters", "session.0.speakers")
    pairs = [
        *[(n, v) for n, v in pairs if n not in replaced],
        ("session.0.interpretation.from", "ar"),
        ("session.0.into.en", "on"),
        ("session.0.into.ur", "on"),
        ("session.0.interpreters", "huda@example.org, ar, en\nzain@example.org, ar, ur"),
        ("session.0.speakers", "Dr. Amal Haddad, amal@example.org"),
    ]
    review = _post(api, admin, [*pairs, ("action", "review")])
    assert review.status_code == 200, review.body[:400]
    saved = _post(api, admin, [*_fields_of_confirmation(review.body.decode()), ("action", "save")])
    assert saved.status_code == 303
    session = aws.events.get(EVENT_ID, fresh=True).sessions[0]
    assert session.interpretation.source == "ar" and session.interpretation.into == ["en", "ur"]
    assert [i.languages for i in session.interpretation.interpreters] == [
        ["ar", "en"],
        ["ar", "ur"],
    ]
    assert [(s.name, s.email) for s in session.speakers] == [
        ("Dr. Amal Haddad", "amal@example.org")
    ]
    shown = dict(_fields(api.http.get(PATH, headers={"Cookie": admin}).body.decode()))
    assert shown["session.0.interpretation.from"] == "ar"
    assert "zain@example.org, ar, ur" in shown["session.0.interpreters"]


def test_a_speaker_line_without_an_address_is_a_422_naming_the_session(api, aws):
    admin = _admin(api, aws)
    pairs = _fields(api.http.get(PATH, headers={"Cookie": admin}).body.decode())
    pairs = [
        *[(n, v) for n, v in pairs if n != "session.1.speakers"],
        ("session.1.speakers", "Amal"),
    ]
    answer = _post(api, admin, [*pairs, ("action", "review")])
    assert answer.status_code == 422
    assert "sessions.1.speakers" in answer.body.decode()
