"""The pages of an event with parallel sessions and a cancelled one, through the API on
moto: the registration form's time slots and zone default, the thank-you page's zone,
and the attendee's own page (address, join buttons, resend, changing a slot's session).
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.registrations import Registration, Status
from chalicelib.ports import Services
from chalicelib.signed_links import registration_links
from chalicelib.usecases.events import put_event
from chalicelib.usecases.registrations import register
from tests.builders import event_body, person, zoom_base_for
from tests.integration.test_selfservice_routes import (
    assert_secure_page,
    element,
    gettext,
    page,
    post_form,
    tags,
)

PARALLEL = "parallel-conf"


def _parallel_body(**overrides: Any) -> dict[str, Any]:
    """The test conference with ``family`` at the time of ``education`` and ``media``
    cancelled."""
    body = event_body(zoom_base_for(PARALLEL), **overrides)
    body["sessions"][1]["starts_at"] = body["sessions"][0]["starts_at"]
    body["sessions"][1]["ends_at"] = body["sessions"][0]["ends_at"]
    body["sessions"][5]["status"] = "cancelled"
    return body


@pytest.fixture
def parallel(aws: Services) -> Services:
    put_event(aws, PARALLEL, _parallel_body())
    return aws


def _listed(aws: Services, email: str) -> list[Registration]:
    from chalicelib.usecases.registrations import registrations

    listed = registrations(aws, PARALLEL, {}).items
    return [r for r in listed if r.email.lower() == email.lower()]


def _stored(aws: Services, email: str) -> Registration:
    (found,) = _listed(aws, email)
    return found


def _form(**overrides: Any) -> list[tuple[str, str]]:
    fields = {
        "email": "slots@example.org",
        "first_name": "Bilal",
        "country": "PK",
        "language": "ur",
        "timezone": "",  # "The time zone of my country", as the page leaves it
        "updates": "false",
        "consent": "true",
        "website": "",
    }
    sessions = overrides.pop("sessions", [("slot-0", "family"), ("sessions", "youth")])
    fields.update(overrides)
    return [*((k, v) for k, v in fields.items() if v is not None), *sessions]


def _manage_path(aws: Services, registration: Registration) -> str:
    event = aws.events.get(registration.event_id)
    assert event is not None
    links = registration_links(aws.keys.keys(), aws.settings.public_base_url, event, registration)
    return "/manage/" + links.manage.rsplit("/", 1)[1]


def _sign_up(aws: Services, **fields: Any) -> Registration:
    outcome = register(aws, PARALLEL, person(1, **fields), form=False)
    found = aws.registrations.get(outcome.registration_id, consistent=True)
    assert found is not None
    return found


def _join_buttons(html: str) -> list[str]:
    return [str(a["href"]) for t, a in tags(html) if t == "a" and a.get("class") == "button"]


# -- the registration page -------------------------------------------------------------


def test_the_registration_page_offers_one_session_per_slot_and_no_cancelled_one(api, parallel):
    response = api.http.get(f"/events/{PARALLEL}/register?lang=ar")
    assert response.status_code == 200
    assert_secure_page(response)
    html = page(response)
    radios = [
        (a["name"], a["value"]) for t, a in tags(html) if t == "input" and a.get("type") == "radio"
    ]
    assert radios == [("slot-0", "education"), ("slot-0", "family"), ("slot-0", "")]
    assert gettext("ar", "None of these") in html
    assert not [a for t, a in tags(html) if t == "input" and a.get("value") == "media"]
    my_country = gettext("ar", "The time zone of my country")
    assert f'<option value="" selected>{my_country}</option>' in html
    assert f'href="http://127.0.0.1:8000/events/{PARALLEL}/links?lang=ar"' in html


def test_a_form_from_pakistan_left_at_its_zone_is_stored_with_karachi(api, parallel):
    response = post_form(api, f"/events/{PARALLEL}/register?lang=ur", _form())
    assert response.status_code == 200, response.body
    html = page(response)
    assert gettext("ur", "Thank you, you are registered!") in html
    assert "کراچی — پاکستان" in html  # the zone its emails use, named in Urdu
    assert gettext("ur", "Manage my registration") in html
    stored = _stored(parallel, "slots@example.org")
    assert stored.timezone == "Asia/Karachi"
    assert stored.sessions == ["family", "youth"]  # the slot's choice and the ticked box


def test_a_form_from_ukraine_left_at_its_zone_is_stored_with_kyiv(api, parallel):
    # zone.tab lists Crimea (Europe/Simferopol) first: the main zone is Kyiv's
    fields = _form(email="kyiv@example.org", country="UA", language="en")
    response = post_form(api, f"/events/{PARALLEL}/register?lang=en", fields)
    assert response.status_code == 200, response.body
    assert "Kyiv — Ukraine" in page(response)  # the zone its emails use
    assert _stored(parallel, "kyiv@example.org").timezone == "Europe/Kyiv"


def test_a_form_with_none_of_a_slot_and_no_box_ticked_asks_for_a_session(api, parallel):
    response = post_form(
        api, f"/events/{PARALLEL}/register?lang=en", _form(sessions=[("slot-0", "")])
    )
    assert response.status_code == 422
    html = page(response)
    error = element(html, "p", id="sessions-error")
    assert "hidden" not in error
    assert gettext("en", "This field is required.") in html
    assert not _listed(parallel, "slots@example.org")


def test_a_form_without_any_session_field_is_told_to_choose_per_slot(api, parallel):
    response = post_form(api, f"/events/{PARALLEL}/register?lang=fr", _form(sessions=[]))
    assert response.status_code == 422
    html = page(response)
    message = gettext(
        "fr",
        "Some sessions are at the same time: please choose one session for each time slot.",
    )
    assert message.replace("'", "&#39;") in html or message in html


def test_a_form_choosing_two_sessions_of_one_slot_is_told_so(api, parallel):
    # Only a hand-made form can: the page's radio buttons hold one each.
    response = post_form(
        api,
        f"/events/{PARALLEL}/register?lang=en",
        _form(sessions=[("sessions", "education"), ("sessions", "family")]),
    )
    assert response.status_code == 422
    assert gettext(
        "en", "Some of these sessions are at the same time: please choose only one of them."
    ) in page(response)


# -- the attendee's own page -----------------------------------------------------------


def test_the_manage_page_shows_the_address_and_working_join_buttons(api, parallel):
    someone = _sign_up(
        parallel, email="Owner@Example.org", language="en", sessions=["family", "youth"]
    )
    response = api.http.get(_manage_path(parallel, someone))
    assert response.status_code == 200
    html = page(response)
    assert '<span dir="ltr" class="address">Owner@Example.org</span>' in html
    assert gettext("en", "You are registered.") in html
    buttons = _join_buttons(html)
    assert len(buttons) == 2
    # Each is the registrant's own signed join link: it opens Zoom
    follow = api.http.get(buttons[0].removeprefix("http://127.0.0.1:8000"))
    assert follow.status_code == 302
    assert follow.headers["Location"].startswith("https://us06web.zoom.us/")
    # The slot shows what they hold
    checked = {
        (a["name"], a["value"])
        for t, a in tags(html)
        if t == "input" and a.get("type") == "radio" and "checked" in a
    }
    assert checked == {("slot-0", "family")}


def test_a_waitlisted_person_has_no_join_button(api, aws):
    put_event(aws, PARALLEL, _parallel_body(capacity=0))
    waiting = _sign_up(aws, email="waiting@example.org", language="en", sessions=["youth"])
    assert waiting.status is Status.WAITLISTED
    html = page(api.http.get(_manage_path(aws, waiting)))
    assert gettext("en", "You are on the waiting list.") in html
    assert _join_buttons(html) == []


def test_the_resend_button_posts_action_resend(api, parallel):
    someone = _sign_up(parallel, email="again@example.org", language="en", sessions=["youth"])
    path = _manage_path(parallel, someone)
    html = page(api.http.get(path))
    forms = html.split("<form")[1:]
    (resend,) = [form for form in forms if 'value="resend"' in form]
    assert f'action="http://127.0.0.1:8000{path}"' in resend
    # Right after registering, the email has just gone: nothing is sent twice
    response = post_form(api, path, [("action", "resend")])
    assert response.status_code == 200
    assert gettext(
        "en",
        "We emailed you your links a few minutes ago. If they have not arrived, please "
        "check your spam folder.",
    ) in page(response)
    seq = _stored(parallel, "again@example.org").mail_seq
    # Ten minutes later, the button sends them again, and the page still has its buttons
    parallel.clock.advance(minutes=11)  # type: ignore[attr-defined]
    response = post_form(api, path, [("action", "resend")])
    html = page(response)
    assert gettext("en", "We have emailed you your links again.") in html
    assert _stored(parallel, "again@example.org").mail_seq == seq + 1
    assert len(_join_buttons(html)) == 1


def test_changing_a_slot_s_session_on_the_manage_page(api, parallel):
    someone = _sign_up(parallel, email="changer@example.org", language="tr", sessions=["family"])
    path = _manage_path(parallel, someone)
    response = post_form(
        api,
        path,
        [
            ("action", "update"),
            ("slot-0", "education"),
            ("sessions", "science"),
            ("language", "tr"),
            ("timezone", "Europe/Istanbul"),
        ],
    )
    assert response.status_code == 200, response.body
    stored = _stored(parallel, "changer@example.org")
    assert stored.sessions == ["education", "science"]
    assert stored.timezone == "Europe/Istanbul"
    # And "None of these" with nothing ticked is a field error, nothing changed
    response = post_form(
        api, path, [("action", "update"), ("slot-0", ""), ("timezone", "Europe/Istanbul")]
    )
    assert response.status_code == 422
    assert gettext("tr", "This field is required.") in page(response)
    assert _stored(parallel, "changer@example.org").sessions == ["education", "science"]


def test_the_zone_picker_script_is_served(api):
    response = api.http.get("/assets/zones.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert b"timezone-filter" in response.body
