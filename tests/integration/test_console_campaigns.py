"""The console's announcements through the API on moto: compose in several languages,
preview the exact email, count the audience, confirm with the number of recipients,
send, follow the progress, cancel; and who may do each."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.ports import Services
from chalicelib.usecases.registrations import register
from tests.builders import person
from tests.integration.test_console_routes import EVENT_ID, FORM, _csrf, _link_token, _sign_in

BASE = f"/console/events/{EVENT_ID}/campaigns"
CONTENT = {
    "ar": ("إعلان: {{first_name}}", "مرحبا {{first_name}}\n\n{{sessions}}"),
    "en": ("News for {{first_name}}", "Hello {{first_name}}\n\n{{sessions}}"),
    "ur": ("اعلان: {{first_name}}", "السلام علیکم {{first_name}}"),
}


@pytest.fixture
def sender(api: Any, aws: Services) -> str:
    return _sign_in(api, _link_token(aws, "sender@example.org", "send"))


def _people(aws: Services) -> None:
    for n, language in enumerate(["ar", "ar", "en", "ur", "fr"], start=1):
        register(aws, EVENT_ID, person(n, email=f"p{n}@example.org", language=language), form=False)


def _form(csrf: str, action: str, **extra: Any) -> str:
    pairs: list[tuple[str, str]] = [("csrf", csrf), ("action", action), ("name", "Day two")]
    for code, (subject, text) in CONTENT.items():
        pairs += [(f"subject.{code}", subject), (f"text.{code}", text)]
    pairs += [("status", "registered")]
    pairs += [(k, v) for k, v in extra.items()]
    return urlencode(pairs)


def _post(api: Any, cookie: str, body: str, path: str = f"{BASE}/new") -> Any:
    headers = {"Content-Type": FORM, "Sec-Fetch-Site": "same-origin", "Cookie": cookie}
    return api.http.post(path, headers=headers, body=body)


def test_the_preview_is_the_email_a_registrant_of_that_language_gets(api, aws, sender):
    csrf = _csrf(api, f"{BASE}/new", sender)
    answer = _post(api, sender, _form(csrf, "preview", preview_language="ar"))
    assert answer.status_code == 200
    html = answer.body.decode()
    assert "إعلان: أمينة" in html  # the placeholder filled for the sample registrant
    assert 'lang="ar" dir="rtl"' in html
    # In English, for someone in Istanbul
    answer = _post(
        api, sender, _form(csrf, "preview", preview_language="en", preview_zone="Europe/Istanbul")
    )
    assert "News for Amina" in answer.body.decode()


def test_the_html_email_opens_as_its_own_sandboxed_page(api, aws, sender):
    csrf = _csrf(api, f"{BASE}/new", sender)
    answer = _post(api, sender, _form(csrf, "", preview_language="ur"), f"{BASE}/preview")
    assert answer.status_code == 200
    assert "sandbox" in answer.headers["Content-Security-Policy"]
    assert "script-src" not in answer.headers["Content-Security-Policy"]
    assert 'dir="rtl"' in answer.body.decode()


def test_counting_says_who_reads_which_language_and_who_falls_back(api, aws, sender):
    _people(aws)
    csrf = _csrf(api, f"{BASE}/new", sender)
    html = _post(api, sender, _form(csrf, "count")).body.decode()
    assert "5" in html
    # fr has no content: that person reads the default language's (ar)
    assert re.search(r"<li>[^<]*: 1</li>", html)


def test_sending_asks_first_with_the_number_of_recipients_then_sends(api, aws, sender):
    _people(aws)
    csrf = _csrf(api, f"{BASE}/new", sender)
    review = _post(api, sender, _form(csrf, "review"))
    assert review.status_code == 200
    page = review.body.decode()
    assert 'value="send"' in page and "5" in page
    assert aws.campaigns.of_event(EVENT_ID, 10) == []  # nothing sent before the confirmation
    sent = _post(api, sender, _form(csrf, "send"))
    assert sent.status_code == 303 and sent.headers["Location"].startswith(BASE)
    (campaign,) = aws.campaigns.of_event(EVENT_ID, 10)
    assert set(campaign.content) == {"ar", "en", "ur"}
    listed = api.http.get(BASE, headers={"Cookie": sender}).body.decode()
    assert "Day two" in listed and "<progress" in listed
    trail = [entry.action for entry in aws.organizers.audit_trail(EVENT_ID, 10)]
    assert "campaign" in trail


def test_a_scheduled_announcement_is_in_the_event_s_zone_and_can_be_cancelled(api, aws, sender):
    csrf = _csrf(api, f"{BASE}/new", sender)
    later = aws.clock().replace(year=aws.clock().year + 1).strftime("%Y-%m-%dT10:00")
    review = _post(api, sender, _form(csrf, "review", send_at=later)).body.decode()
    assert "10:00" in review
    assert _post(api, sender, _form(csrf, "send", send_at=later)).status_code == 303
    (campaign,) = aws.campaigns.of_event(EVENT_ID, 10)
    event = aws.events.get(EVENT_ID)
    from chalicelib.domain.zones import zone

    assert campaign.send_at.astimezone(zone(event.timezone)).strftime("%H:%M") == "10:00"
    cancel = f"{BASE}/{campaign.campaign_id}/cancel"
    assert _post(api, sender, f"csrf={csrf}", cancel).status_code == 303
    assert aws.campaigns.get(campaign.campaign_id).status == "cancelled"


def test_a_missing_default_language_is_a_422_naming_it(api, aws, sender):
    csrf = _csrf(api, f"{BASE}/new", sender)
    body = urlencode(
        [
            ("csrf", csrf),
            ("action", "count"),
            ("name", "x"),
            ("subject.en", "Hi"),
            ("text.en", "Hi"),
        ]
    )
    answer = _post(api, sender, body)
    assert answer.status_code == 422
    assert "default" in answer.body.decode()


def test_a_past_send_time_is_refused(api, aws, sender):
    csrf = _csrf(api, f"{BASE}/new", sender)
    answer = _post(api, sender, _form(csrf, "review", send_at="2001-01-01T10:00"))
    assert answer.status_code == 422
    assert 'id="send-at-error"' in answer.body.decode()


def test_a_reader_sees_the_list_but_cannot_compose_send_or_cancel(api, aws):
    reader = _sign_in(api, _link_token(aws, "reader@example.org", "read"))
    assert api.http.get(BASE, headers={"Cookie": reader}).status_code == 200
    assert api.http.get(f"{BASE}/new", headers={"Cookie": reader}).status_code == 403
    csrf = _csrf(api, f"/console/events/{EVENT_ID}", reader)
    assert _post(api, reader, _form(csrf, "send")).status_code == 403
    assert aws.campaigns.of_event(EVENT_ID, 10) == []


def test_a_cross_site_send_is_refused(api, aws, sender):
    csrf = _csrf(api, f"{BASE}/new", sender)
    headers = {"Content-Type": FORM, "Sec-Fetch-Site": "cross-site", "Cookie": sender}
    answer = api.http.post(f"{BASE}/new", headers=headers, body=_form(csrf, "send"))
    assert answer.status_code == 403
    assert aws.campaigns.of_event(EVENT_ID, 10) == []


def test_a_test_goes_to_the_organiser_as_the_chosen_language_s_reader_gets_it(api, aws, sender):
    from chalicelib.jobs import DraftMailJob
    from chalicelib.usecases.organizermail import send_draft_mail
    from tests.integration.test_console_routes import _last_email

    csrf = _csrf(api, f"{BASE}/new", sender)
    answer = _post(api, sender, _form(csrf, "test", preview_language="ur"))
    assert answer.status_code == 200 and "sender@example.org" in answer.body.decode()
    (draft,) = [
        e.target for e in aws.organizers.audit_trail(EVENT_ID, 10) if e.action == "test_mail"
    ]
    assert send_draft_mail(aws, DraftMailJob(draft_id=draft)) == "sent"
    text = _last_email(aws)
    assert "السلام علیکم آمنہ" in text.replace("\u2068", "").replace("\u2069", "")
    assert aws.campaigns.of_event(EVENT_ID, 10) == []  # a test is no campaign


def test_the_live_count_answers_the_dry_run_as_the_form_changes(api, aws, sender):
    _people(aws)
    csrf = _csrf(api, f"{BASE}/new", sender)
    everyone = _post(
        api, sender, urlencode([("csrf", csrf), ("status", "registered")]), f"{BASE}/count"
    )
    assert everyone.status_code == 200
    assert everyone.json_body["recipients"] == 5 and everyone.json_body["text"]
    body = urlencode([("csrf", csrf), ("status", "registered"), ("languages", "ar")])
    only_ar = _post(api, sender, body, f"{BASE}/count")
    assert only_ar.json_body["recipients"] == 2
    bad = _post(api, sender, urlencode([("csrf", csrf), ("countries", "Nowhere")]), f"{BASE}/count")
    assert bad.status_code == 422 and bad.json_body["text"]
