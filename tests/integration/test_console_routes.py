"""The organisers' console through the API on moto: signing in by a one-time link, the
session cookie, roles, same-site and CSRF checks, the pages and the audit trail.

The sign-in link is taken from the email the mail worker sends for the record the
outbox relays (the table's stream is played by hand here, as the tests' own sources).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib import i18n
from chalicelib.domain.organizers import organizer_key
from chalicelib.ports import Services
from chalicelib.usecases import console
from chalicelib.usecases.registrations import register
from tests.builders import person

EVENT_ID = "conf"
SELF = "http://127.0.0.1:8000"
FORM = "application/x-www-form-urlencoded"
SAME_SITE = {"Content-Type": FORM, "Sec-Fetch-Site": "same-origin"}
_TOKEN = re.compile(r"/console/signin/([A-Za-z0-9._~-]+)")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _link_token(aws: Services, email: str, role: str = "read", event: str = EVENT_ID) -> str:
    _, link = console.invite(aws, event, email, role, "test")
    return console.sign_in_token(aws, link)


def _sign_in(api: Any, token: str) -> str:
    answer = api.http.post(f"/console/signin/{token}", headers=SAME_SITE, body="")
    assert answer.status_code == 303, answer.body
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    return cookie.split(";", 1)[0]


@pytest.fixture
def admin(api: Any, aws: Services) -> str:
    return _sign_in(api, _link_token(aws, "admin@example.org", "admin"))


@pytest.fixture
def reader(api: Any, aws: Services) -> str:
    return _sign_in(api, _link_token(aws, "reader@example.org", "read"))


def _page(api: Any, path: str, cookie: str | None = None) -> Any:
    return api.http.get(path, headers={"Cookie": cookie} if cookie else {})


def _csrf(api: Any, path: str, cookie: str) -> str:
    found = _CSRF.search(_page(api, path, cookie).body.decode())
    assert found, "no form with a CSRF token"
    return found.group(1)


def _someone(aws: Services, email: str = "amina@example.org") -> str:
    outcome = register(aws, EVENT_ID, person(1, email=email), form=False)
    return outcome.registration_id


# -- signing in ------------------------------------------------------------------------


def test_no_cookie_goes_to_the_sign_in_page(api):
    answer = _page(api, f"/console/events/{EVENT_ID}")
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/console")
    page = _page(api, "/console", None)
    assert page.status_code == 200
    assert 'name="email"' in page.body.decode()


def test_asking_for_a_link_answers_the_same_for_invited_and_unknown_addresses(api, aws):
    console.invite(aws, EVENT_ID, "known@example.org", "read", "test")
    before = len(aws.organizers.organizers_of(EVENT_ID))

    def ask(email: str) -> Any:
        return api.http.post("/console/signin", headers=SAME_SITE, body=f"email={email}")

    known, unknown = ask("known%40example.org"), ask("nobody%40example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.body == unknown.body
    assert len(aws.organizers.organizers_of(EVENT_ID)) == before


def test_a_bad_address_is_a_422_page_naming_the_field(api):
    answer = api.http.post("/console/signin", headers=SAME_SITE, body="email=not-an-address")
    assert answer.status_code == 422
    assert 'aria-invalid="true"' in answer.body.decode()


def test_the_link_shows_a_button_and_uses_nothing_up_on_get(api, aws):
    token = _link_token(aws, "someone@example.org")
    for _ in range(2):
        shown = _page(api, f"/console/signin/{token}")
        assert shown.status_code == 200
        assert 'method="post"' in shown.body.decode()
    assert _sign_in(api, token).startswith("majlis_console=")


def test_a_reused_link_is_refused(api, aws):
    token = _link_token(aws, "someone@example.org")
    _sign_in(api, token)
    again = api.http.post(f"/console/signin/{token}", headers=SAME_SITE, body="")
    assert again.status_code == 410
    assert "Set-Cookie" not in again.headers


def test_an_expired_link_is_refused(api, aws, clock):
    token = _link_token(aws, "someone@example.org")
    clock.advance(minutes=16)
    assert _page(api, f"/console/signin/{token}").status_code == 410
    assert api.http.post(f"/console/signin/{token}", headers=SAME_SITE, body="").status_code == 410


def test_a_tampered_link_is_a_404(api, aws):
    token = _link_token(aws, "someone@example.org")
    assert _page(api, f"/console/signin/{token[:-3]}abc").status_code == 404


def test_a_cross_site_sign_in_is_refused(api, aws):
    token = _link_token(aws, "someone@example.org")
    answer = api.http.post(
        f"/console/signin/{token}", headers={"Content-Type": FORM, "Sec-Fetch-Site": "cross-site"}
    )
    assert answer.status_code == 403
    assert "Set-Cookie" not in answer.headers


def test_the_session_is_kept_hashed_and_ends_at_sign_out(api, aws, admin):
    session_id = admin.split("=", 1)[1].split(".", 1)[0]
    stored = aws.organizers.session(
        console.secret_hash(session_id), organizer_key("admin@example.org")
    )
    assert stored is not None and stored[0].session_hash != session_id
    csrf = _csrf(api, f"/console/events/{EVENT_ID}", admin)
    out = api.http.post(
        "/console/signout", headers={**SAME_SITE, "Cookie": admin}, body=f"csrf={csrf}"
    )
    assert out.status_code == 303
    assert "Max-Age=0" in out.headers["Set-Cookie"]
    assert _page(api, f"/console/events/{EVENT_ID}", admin).status_code == 303


def test_a_session_ends_after_12_hours(api, admin, clock):
    assert _page(api, f"/console/events/{EVENT_ID}", admin).status_code == 200
    clock.advance(hours=12, seconds=1)
    assert _page(api, f"/console/events/{EVENT_ID}", admin).status_code == 303


# -- roles, same site, CSRF ------------------------------------------------------------


def test_a_reader_cannot_erase_or_resend(api, aws, reader):
    registration_id = _someone(aws)
    base = f"/console/events/{EVENT_ID}/registrants/{registration_id}"
    page = _page(api, base, reader)
    assert page.status_code == 200
    html = page.body.decode()
    assert "/erase" not in html and "/resend" not in html
    csrf = _csrf(api, f"/console/events/{EVENT_ID}", reader)
    for action in ("erase", "resend", "cancel"):
        answer = api.http.post(
            f"{base}/{action}", headers={**SAME_SITE, "Cookie": reader}, body=f"csrf={csrf}"
        )
        assert answer.status_code == 403, action
    assert _page(api, f"{base}/erase", reader).status_code == 403
    assert aws.registrations.get(registration_id).erased_at is None


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused(api, aws, admin):
    registration_id = _someone(aws)
    action = f"/console/events/{EVENT_ID}/registrants/{registration_id}/cancel"
    csrf = _csrf(api, f"/console/events/{EVENT_ID}", admin)
    without = api.http.post(action, headers={**SAME_SITE, "Cookie": admin}, body="")
    cross = api.http.post(
        action,
        headers={"Content-Type": FORM, "Sec-Fetch-Site": "cross-site", "Cookie": admin},
        body=f"csrf={csrf}",
    )
    assert without.status_code == cross.status_code == 403
    assert aws.registrations.get(registration_id).status.value == "registered"


def test_an_organiser_of_one_event_cannot_read_another_s_registrants(api, aws, admin):
    from chalicelib.usecases.events import put_event
    from tests.builders import event_body, zoom_base_for

    put_event(aws, "other", event_body(zoom_base_for("other")))
    outsider = register(aws, "other", person(2, email="bilal@example.org"), form=False)
    outsider = outsider.registration_id
    assert _page(api, "/console/events/other", admin).status_code == 403
    assert _page(api, "/console/events/other/registrants", admin).status_code == 403
    # Nor through their own event's path.
    answer = _page(api, f"/console/events/{EVENT_ID}/registrants/{outsider}", admin)
    assert answer.status_code == 404


# -- the pages -------------------------------------------------------------------------


def test_the_overview_shows_the_counts_in_the_organiser_s_language(api, aws, admin):
    from chalicelib.adapters.dynamo.schema import image
    from chalicelib.ports import Change
    from chalicelib.usecases import stats

    stored = [aws.registrations.get(_someone(aws, f"p{i}@example.org")) for i in range(3)]
    changes = [
        Change(str(i), "INSERT", {}, image(_attributes(r)), f"r{i}") for i, r in enumerate(stored)
    ]
    stats.count(aws, changes)
    page = _page(api, f"/console/events/{EVENT_ID}?lang=ar", admin)
    assert page.status_code == 200
    html = page.body.decode()
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    data = api.http.get(
        f"/console/events/{EVENT_ID}/overview.json?lang=ar", headers={"Cookie": admin}
    )
    document = data.json_body
    counts = {c["key"]: c["value"] for c in document["counts"]}
    assert counts["registered"] == 3
    assert sum(h["value"] for h in document["over_time"]["hours"]) == 3
    country = document["countries"][0]
    assert country["label"] == i18n.country_name(country["code"], "ar")  # in Arabic


def _attributes(registration: Any) -> dict[str, Any]:
    from chalicelib.adapters.dynamo import schema

    return schema.registration_item(registration)


def test_finding_by_address_opens_the_person_s_page(api, aws, admin):
    registration_id = _someone(aws, "Find.Me@Example.org")
    answer = _page(
        api, f"/console/events/{EVENT_ID}/registrants?email=find.me%40example.org", admin
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith(
        f"/console/events/{EVENT_ID}/registrants/{registration_id}"
    )


def test_resend_cancel_and_erase_are_audited(api, aws, admin):
    registration_id = _someone(aws)
    base = f"/console/events/{EVENT_ID}/registrants/{registration_id}"
    csrf = _csrf(api, base, admin)
    headers = {**SAME_SITE, "Cookie": admin}
    assert api.http.post(f"{base}/resend", headers=headers, body=f"csrf={csrf}").status_code == 303
    assert api.http.post(f"{base}/cancel", headers=headers, body=f"csrf={csrf}").status_code == 303
    assert aws.registrations.get(registration_id).status.value == "cancelled"
    confirm = _page(api, f"{base}/erase", admin).body.decode()
    assert "amina@example.org" in confirm  # the confirmation names what goes
    assert api.http.post(f"{base}/erase", headers=headers, body=f"csrf={csrf}").status_code == 303
    assert aws.registrations.get(registration_id).erased_at is not None
    actions = [entry.action for entry in aws.organizers.audit_trail(EVENT_ID, 50)]
    assert {"sign_in", "resend", "cancel", "erase"} <= set(actions)
    assert all(
        "@" not in entry.by + entry.target for entry in aws.organizers.audit_trail(EVENT_ID, 50)
    )


def test_an_admin_invites_from_the_organisers_page(api, aws, admin):
    path = f"/console/events/{EVENT_ID}/organizers"
    csrf = _csrf(api, path, admin)
    answer = api.http.post(
        path,
        headers={**SAME_SITE, "Cookie": admin},
        body=f"csrf={csrf}&email=new%40example.org&role=send",
    )
    assert answer.status_code == 303
    found = aws.organizers.organizer(organizer_key("new@example.org"))
    assert found is not None and found.role_for(EVENT_ID) == "send"
    assert "new@example.org" in _page(api, path, admin).body.decode()


def test_the_sign_in_email_holds_a_working_link(api, aws):
    from chalicelib.jobs import SignInMail
    from chalicelib.usecases.organizermail import send_sign_in_mail

    _, link = console.invite(aws, EVENT_ID, "mailed@example.org", "read", "test", "ur")
    assert send_sign_in_mail(aws, SignInMail(signin_id=link.signin_id)) == "sent"
    assert send_sign_in_mail(aws, SignInMail(signin_id=link.signin_id)) == "duplicate"
    raw = _last_email(aws)
    token = _TOKEN.search(raw).group(1)
    assert _sign_in(api, token).startswith("majlis_console=")


def _last_email(aws: Services) -> str:
    """The text part of the last email SES took."""
    import email
    from email import policy

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    message = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages[-1]
    parsed = email.message_from_string(message.raw_data, policy=policy.default)
    return parsed.get_body(preferencelist=("plain",)).get_content()


def test_the_overview_of_50000_registrations_takes_at_most_3_dynamodb_calls(api, aws, admin):
    """Counters the size of the reference conference: 50,000 registrations over 60 days
    from 200 countries; the page reads the session, the event and the counters."""
    from chalicelib.adapters.aws import client
    from chalicelib.domain.countries import COUNTRY_CODES

    countries = sorted(COUNTRY_CODES)[:200]
    counters = {"status.registered": 50_000, "session.education": 30_000}
    counters |= {f"country.{code}": 250 for code in countries}
    counters |= {f"language.{lang}": 50_000 // 7 for lang in ("ar", "en", "tr", "fr", "es", "ur")}
    counters |= {f"hour.2027-01-{1 + h // 24:02d}T{h % 24:02d}": 35 for h in range(24 * 30)}
    counters |= {f"hour.2027-02-{1 + h // 24:02d}T{h % 24:02d}": 35 for h in range(24 * 28)}
    names = sorted(counters)
    for start in range(0, len(names), 50):  # as the stream counts them: batch by batch
        chunk = {name: counters[name] for name in names[start : start + 50]}
        aws.stats.apply(EVENT_ID, [(f"synthetic-{start}", chunk)])
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    dynamodb = client("dynamodb")
    dynamodb.meta.events.register("before-call", count)
    try:
        page = _page(api, f"/console/events/{EVENT_ID}", admin)
        shown = len(calls)
        data = _page(api, f"/console/events/{EVENT_ID}/overview.json", admin)
    finally:
        dynamodb.meta.events.unregister("before-call", count)
    assert page.status_code == data.status_code == 200
    assert shown <= 3, calls
    assert len(calls) - shown <= 3, calls
    assert {c["key"]: c["value"] for c in data.json_body["counts"]}["registered"] == 50_000
    assert len(data.json_body["countries"]) == 200
    days = data.json_body["over_time"]["days"]
    assert sum(day["value"] for day in days) == 35 * 24 * 58  # by day in the event's zone
    assert len(data.json_body["over_time"]["hours"]) == 48


def test_a_room_that_is_not_the_session_s_is_a_422_on_the_filter(api, aws, admin):
    answer = _page(
        api, f"/console/events/{EVENT_ID}/registrants?room=education%2Fmeeting%3A1", admin
    )
    assert answer.status_code == 422
    assert '<div class="summary" role="alert">' in answer.body.decode()
