"""Announcements (campaigns) end to end, on local mode, over real HTTP.

The organiser's POST stores the campaign; the table's stream puts a fan-out job on the
campaign queue; ``campaign_fanout`` pages through the audience onto the mail queue;
``mail_worker`` renders and sends through SES; SES writes each email, as sent, to the
local outbox. These tests read those files as a recipient's mail client would and
prove what tests/unit/test_campaigns.py proves on fakes: who gets an announcement,
what it says, one-click unsubscribe, templates that cannot run code, schedules,
cancellation and who may do what.
"""

from __future__ import annotations

import email
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

import boto3
import pytest
import requests

from chalicelib.adapters.dynamo.schema import from_attributes
from tests.builders import event_body, person, zoom_base_for

TIMEOUT = 60.0  # generous: under two test workers the mail queue may hold a backlog


# -- helpers ---------------------------------------------------------------------------


def _organizer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _put_event(local, event_id: str) -> None:
    body = event_body(zoom_base_for(event_id), registration={"opens_at": "2020-01-01T00:00:00Z"})
    response = requests.put(
        f"{local.url}/events/{event_id}",
        json=body,
        headers=_organizer(local.organizer_token),
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text


def _register(local, event_id: str, n: int, **spec: Any) -> str:
    response = requests.post(
        f"{local.url}/events/{event_id}/registrations", json=person(n, **spec), timeout=30
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "registered"
    return response.json()["registration_id"]


def _register_all(local, event_id: str, specs: list[dict[str, Any]]) -> list[str]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(
            pool.map(lambda n: _register(local, event_id, n, **specs[n]), range(len(specs)))
        )


def _post_campaign(
    local, event_id: str, body: dict[str, Any], token: str | None = None
) -> requests.Response:
    return requests.post(
        f"{local.url}/events/{event_id}/campaigns",
        json=body,
        headers=_organizer(token or local.organizer_token),
        timeout=30,
    )


def _create(local, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = _post_campaign(local, event_id, body)
    assert response.status_code == 202, response.text
    return response.json()


def _dry_run(local, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = _post_campaign(local, event_id, {**body, "dry_run": True})
    assert response.status_code == 200, response.text
    return response.json()


def _get(local, event_id: str, campaign_id: str, token: str | None = None) -> requests.Response:
    return requests.get(
        f"{local.url}/events/{event_id}/campaigns/{campaign_id}",
        headers=_organizer(token or local.organizer_token),
        timeout=30,
    )


def _progress(local, event_id: str, campaign_id: str) -> dict[str, Any]:
    response = _get(local, event_id, campaign_id)
    assert response.status_code == 200, response.text
    return response.json()


def _cancel(local, event_id: str, campaign_id: str) -> requests.Response:
    return requests.post(
        f"{local.url}/events/{event_id}/campaigns/{campaign_id}/cancel",
        headers=_organizer(local.organizer_token),
        timeout=30,
    )


def _wait_for(what: str, check: Any, local, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    found = None
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(
        f"waited {timeout} s in vain for {what} (last: {found!r}); errors: {local.errors}"
    )


def _done(local, event_id: str, campaign_id: str) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def finished() -> dict[str, Any] | None:
        seen[:] = [_progress(local, event_id, campaign_id)]
        return seen[0] if seen[0]["status"] == "done" else None

    try:
        return _wait_for(f"campaign {campaign_id} to be done", finished, local)
    except AssertionError as error:
        raise AssertionError(f"{error}; last progress: {seen}") from None


_parsed: dict[str, EmailMessage] = {}


def _outbox(local) -> list[EmailMessage]:
    """Every email SES sent so far (parsed once per file)."""
    if not local.outbox.exists():
        return []
    messages = []
    for path in sorted(local.outbox.glob("*.eml")):
        key = str(path)
        if key not in _parsed:
            _parsed[key] = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        messages.append(_parsed[key])
    return messages


def _announcements(local, marker: str) -> list[EmailMessage]:
    """The emails of one campaign: its subjects carry a marker of the test's own."""
    return [m for m in _outbox(local) if marker in str(m["Subject"])]


def _address(message: EmailMessage) -> str:
    (address,) = message["To"].addresses
    return address.addr_spec.lower()


def _texts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def _at_least(local, marker: str, count: int) -> list[EmailMessage]:
    """Waits until ``count`` emails of the campaign marked ``marker`` have been sent."""

    def enough() -> list[EmailMessage] | None:
        found = _announcements(local, marker)
        return found if len(found) >= count else None

    return _wait_for(f"{count} emails marked {marker}", enough, local)


def _stored_campaigns(local, event_id: str) -> list[dict[str, Any]]:
    items = []
    for page in (
        boto3.client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=local.table,
            FilterExpression="kind = :k AND event_id = :e",
            ExpressionAttributeValues={":k": {"S": "campaign"}, ":e": {"S": event_id}},
        )
    ):
        items.extend(from_attributes(i) for i in page["Items"])
    return items


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _content(marker: str) -> dict[str, Any]:
    return {
        "ar": {
            "subject": f"إعلان {marker} إلى {{{{first_name}}}}",
            "text": "مرحبًا {{first_name}}\n\n{{sessions}}\n\n{{join_links}}",
        },
        "ur": {
            "subject": f"اعلان {marker}: {{{{first_name}}}}",
            "text": "السلام علیکم {{first_name}} {{last_name}}\n\n{{join_links}}",
            "html": "<p>السلام علیکم {{first_name}}</p>{{sessions}}{{join_links}}",
        },
    }


@pytest.fixture
def errors_before(local) -> int:
    return len(local.errors)


def _no_new_errors(local, before: int) -> None:
    assert local.errors[before:] == [], local.errors[before:]


# -- 1. a segment ----------------------------------------------------------------------


def test_a_segment_campaign_reaches_exactly_the_segment_in_its_language(local, errors_before):
    event_id = "camp-segment"
    _put_event(local, event_id)
    specs = [
        {"language": "ur", "country": "PK", "sessions": ["youth"], "first_name": "Ayesha"},
        {"language": "ur", "country": "PK", "sessions": ["youth", "health"], "first_name": "Bilal"},
        {"language": "ur", "country": "pk", "sessions": ["family", "youth"], "first_name": "Sana"},
        {"language": "ur", "country": "PK", "first_name": "Zain"},  # all sessions: in
        {"language": "ur", "country": "PK", "sessions": ["health"]},  # other session
        {"language": "ur", "country": "IN", "sessions": ["youth"]},  # other country
        {"language": "ur", "country": "GB", "sessions": ["youth", "media"]},  # other country
        {"language": "ar", "country": "PK", "sessions": ["youth"]},  # other language
        {"language": "en", "country": "PK", "sessions": ["youth"]},  # other language
        {"language": "tr", "country": "TR", "sessions": ["youth"]},
        {"language": "ar", "country": "SA", "sessions": ["education"]},
        {"language": "fr", "country": "FR", "sessions": ["youth", "economy"]},
    ]
    specs = [{"email": f"seg{n}@example.org", **spec} for n, spec in enumerate(specs)]
    _register_all(local, event_id, specs)
    segment = {specs[n]["email"]: specs[n]["first_name"] for n in range(4)}
    body = {
        "name": "Youth workshop, Pakistan",
        "audience": {"languages": ["ur"], "countries": ["PK"], "sessions": ["youth"]},
        "content": _content("SEG1"),
    }
    # The dry run counts the segment and stores nothing.
    dry = _dry_run(local, event_id, body)
    assert dry == {"recipients": 4, "by_language": {"ur": 4}, "fallbacks": {}, "suppressed": 0}
    assert _stored_campaigns(local, event_id) == []
    created = _create(local, event_id, body)
    assert created["recipients"] == dry["recipients"]
    campaign_id = created["campaign_id"]
    progress = _done(local, event_id, campaign_id)
    _at_least(local, "SEG1", 4)
    time.sleep(1.0)  # room for a wrong extra email to show
    messages = _announcements(local, "SEG1")
    assert Counter(_address(m) for m in messages) == {address: 1 for address in segment}
    assert len(messages) == dry["recipients"]
    for message in messages:
        first_name = segment[_address(message)]
        assert str(message["Subject"]) == f"اعلان SEG1: {first_name}"  # the Urdu content
        assert message["Content-Language"] == "ur"
        unsubscribe = str(message["List-Unsubscribe"])
        assert unsubscribe.startswith(("<https://", "<http://")) and unsubscribe.endswith(">")
        assert "/unsubscribe/" in unsubscribe
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Id"] == f"<{event_id}.example.org>"
        text, html = _texts(message)
        link = unsubscribe[1:-1]
        assert link in text and link in html  # visible in both parts
        assert "السلام علیکم" in text and first_name in text
        assert 'dir="rtl"' in html
        assert "{{" not in text and "{{" not in html
    # Progress: everyone queued was sent.
    counts = progress["counts"]
    assert progress["name"] == "Youth workshop, Pakistan"
    assert counts["sent"] == counts["recipients"] == counts["queued"] == 4, progress
    assert (counts["failed"], counts["suppressed"]) == (0, 0), progress
    # Once done, there is nothing left to cancel.
    refused = _cancel(local, event_id, campaign_id)
    assert refused.status_code == 409, refused.text
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.json()["type"] == "urn:majlis:problem:conflict"
    assert _progress(local, event_id, campaign_id)["status"] == "done"
    _no_new_errors(local, errors_before)


# -- 2. one-click unsubscribe ----------------------------------------------------------


def test_one_click_unsubscribe_from_the_header_suppresses_the_next_campaign(local, errors_before):
    event_id = "camp-unsub"
    _put_event(local, event_id)
    specs = [
        {"email": "unsub-ur@example.org", "language": "ur", "first_name": "Hamza"},
        {"email": "unsub-ar@example.org", "language": "ar", "first_name": "Huda"},
        {"email": "unsub-en@example.org", "language": "en", "first_name": "Emma"},
        {"email": "unsub-tr@example.org", "language": "tr", "first_name": "Elif"},
    ]
    ids = _register_all(local, event_id, specs)
    everyone = {spec["email"] for spec in specs}
    first = _create(local, event_id, {"name": "First", "content": _content("UNS1")})
    assert first["recipients"] == 4
    _done(local, event_id, first["campaign_id"])
    _at_least(local, "UNS1", 4)
    by_address = {_address(m): m for m in _announcements(local, "UNS1")}
    assert set(by_address) == everyone
    # Without content in their language, people read the event's default (Arabic).
    assert str(by_address["unsub-en@example.org"]["Subject"]) == "إعلان UNS1 إلى Emma"
    assert str(by_address["unsub-tr@example.org"]["Subject"]) == "إعلان UNS1 إلى Elif"
    assert str(by_address["unsub-ur@example.org"]["Subject"]) == "اعلان UNS1: Hamza"
    # The Urdu reader unsubscribes as a mail client does (RFC 8058): a POST from its
    # server to the List-Unsubscribe URL, with neither Origin nor Sec-Fetch-Site.
    leaving = "unsub-ur@example.org"
    url = str(by_address[leaving]["List-Unsubscribe"]).strip("<>")
    assert url.startswith(local.url)
    for _ in range(2):  # idempotent
        response = requests.post(
            url,
            data="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
    registration = requests.get(
        f"{local.url}/events/{event_id}/registrations/{ids[0]}",
        headers=_organizer(local.organizer_token),
        timeout=30,
    ).json()
    assert registration["email"] == leaving
    assert registration["email_status"] == "unsubscribed", registration
    assert registration["status"] == "registered"  # still registered, only no announcements
    # The next campaign to everyone skips them and counts them as suppressed.
    body = {"name": "Second", "content": _content("UNS2")}
    dry = _dry_run(local, event_id, body)
    # Recipients: everyone the audience matches; by language: those who will read it.
    # (the English and Turkish readers read the Arabic content: no content of theirs)
    assert dry == {
        "recipients": 4,
        "by_language": {"ar": 3},
        "fallbacks": {"en": 1, "tr": 1},
        "suppressed": 1,
    }
    second = _create(local, event_id, body)
    assert second["recipients"] == 4
    progress = _done(local, event_id, second["campaign_id"])
    assert progress["counts"]["recipients"] == 4, progress
    assert progress["counts"]["sent"] == 3, progress
    assert progress["counts"]["suppressed"] == 1, progress
    _at_least(local, "UNS2", 3)
    time.sleep(1.0)  # room for a wrong extra email to show
    got = Counter(_address(m) for m in _announcements(local, "UNS2"))
    assert got == {address: 1 for address in everyone - {leaving}}
    _no_new_errors(local, errors_before)


# -- 3. templates ----------------------------------------------------------------------


EVIL = [
    "{{ first_name.__class__ }}",
    "{% for x in range(9) %}x{% endfor %}",
    "{{ first_name|attr('__class__') }}",
    "{{ cycler.__init__.__globals__.os }}",
]


def test_a_template_beyond_placeholders_is_refused_and_nothing_is_sent(local, errors_before):
    event_id = "camp-evil"
    _put_event(local, event_id)
    _register(local, event_id, 1, email="evil-target@example.org", language="ar")
    for template in EVIL:
        body = {"name": "Evil", "content": {"ar": {"subject": "EVIL1 hello", "text": template}}}
        response = _post_campaign(local, event_id, body)
        assert response.status_code == 422, (template, response.text)
        assert response.headers["Content-Type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["status"] == 422
        assert "content.ar.text" in {error["field"] for error in problem["errors"]}, problem
    assert _stored_campaigns(local, event_id) == []
    time.sleep(1.0)  # a stored campaign would be on its way by now
    assert _announcements(local, "EVIL1") == []
    _no_new_errors(local, errors_before)


def test_a_script_in_a_name_stays_text_in_the_html(local, errors_before):
    event_id = "camp-script"
    _put_event(local, event_id)
    name = "<script>alert(1)</script>"
    # One reads organiser HTML (ur), one the HTML made from the text (ar).
    _register_all(
        local,
        event_id,
        [
            {"email": "script-ur@example.org", "language": "ur", "first_name": name},
            {"email": "script-ar@example.org", "language": "ar", "first_name": name},
        ],
    )
    created = _create(local, event_id, {"name": "Names", "content": _content("XSS1")})
    _done(local, event_id, created["campaign_id"])
    messages = _at_least(local, "XSS1", 2)
    assert {_address(m) for m in messages} == {"script-ur@example.org", "script-ar@example.org"}
    for message in messages:
        text, html = _texts(message)
        assert "<script" not in html.lower(), html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert name in text  # plain text needs no escaping
    _no_new_errors(local, errors_before)


# -- 4. schedule -----------------------------------------------------------------------


def test_a_scheduled_campaign_waits_for_its_send_at(local, errors_before):
    event_id = "camp-later"
    _put_event(local, event_id)
    addresses = [f"later{n}@example.org" for n in range(3)]
    _register_all(local, event_id, [{"email": a, "language": "ar"} for a in addresses])
    send_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    created = _create(
        local,
        event_id,
        {"name": "Later", "content": _content("LATE1"), "send_at": _utc(send_at)},
    )
    campaign_id = created["campaign_id"]
    assert created["recipients"] == 3
    # Before send_at: scheduled, and nobody has it.
    checks = 0
    while datetime.now(UTC) < send_at - timedelta(seconds=0.5):
        progress = _progress(local, event_id, campaign_id)
        assert progress["status"] == "scheduled", progress
        assert progress["counts"]["sent"] == 0, progress
        assert _announcements(local, "LATE1") == []
        checks += 1
        time.sleep(0.5)
    assert checks >= 2  # it was looked at while scheduled
    # After it: everyone, once, sent no earlier than send_at.
    messages = _at_least(local, "LATE1", 3)
    arrived = datetime.now(UTC)
    assert arrived >= send_at
    assert sorted(_address(m) for m in messages) == addresses
    for message in messages:
        assert parsedate_to_datetime(str(message["Date"])) >= send_at, message["Date"]
    progress = _done(local, event_id, campaign_id)
    assert progress["counts"]["sent"] == 3, progress
    assert progress["send_at"] == _utc(send_at)
    _no_new_errors(local, errors_before)


# -- 5. who may -------------------------------------------------------------------------


def test_only_a_send_token_for_the_event_may_create_and_unknown_campaigns_are_404(
    local, errors_before, capsys
):
    from chalicelib import cli

    event_id = "camp-auth"
    _put_event(local, event_id)
    _put_event(local, "camp-auth-other")
    _register(local, event_id, 1, email="auth1@example.org", language="ar")
    # Scheduled an hour ahead: nothing of it is sent while the test runs.
    later = _utc(datetime.now(UTC) + timedelta(hours=1))
    body = {"name": "Auth", "content": _content("AUTH1"), "send_at": later}
    url = f"{local.url}/events/{event_id}/campaigns"
    # No token, or a token that is not one: 401.
    assert requests.post(url, json=body, timeout=30).status_code == 401
    assert (
        requests.post(url, json=body, headers=_organizer("mjt_" + "x" * 43), timeout=30).status_code
        == 401
    )

    # Tokens minted by the operators' command line (local mode's table is the one in use).
    def mint(*argv: str) -> str:
        assert cli.main(["mint-token", *argv, "--label", "campaign tests"]) == 0
        # The last line: the pump's handlers log to stdout meanwhile.
        token = capsys.readouterr().out.strip().splitlines()[-1]
        assert token.startswith("mjt_")
        return token

    reader = mint("--event", event_id, "--role", "read")
    other_event = mint("--event", "camp-auth-other", "--role", "send")
    sender = mint("--event", event_id, "--role", "send", "--role", "read")
    # A read-only token, or a send token for another event: 403, nothing stored.
    for token in (reader, other_event):
        response = _post_campaign(local, event_id, body, token=token)
        assert response.status_code == 403, response.text
        assert response.headers["Content-Type"].startswith("application/problem+json")
        dry = _post_campaign(local, event_id, {**body, "dry_run": True}, token=token)
        assert dry.status_code == 403, dry.text
    assert _stored_campaigns(local, event_id) == []
    # The send token works; reading progress needs only read; cancelling needs send.
    response = _post_campaign(local, event_id, body, token=sender)
    assert response.status_code == 202, response.text
    campaign_id = response.json()["campaign_id"]
    assert requests.get(f"{url}/{campaign_id}", timeout=30).status_code == 401
    assert _get(local, event_id, campaign_id, token=reader).status_code == 200
    assert _get(local, event_id, campaign_id, token=other_event).status_code == 403
    for token in (reader, other_event):
        cancel = requests.post(f"{url}/{campaign_id}/cancel", headers=_organizer(token), timeout=30)
        assert cancel.status_code == 403, cancel.text
    assert _progress(local, event_id, campaign_id)["status"] == "scheduled"
    # Unknown campaign ids, and a campaign asked for under another event: 404.
    for unknown in ("0" * 26, "no-such-campaign"):
        assert _get(local, event_id, unknown).status_code == 404
        assert _cancel(local, event_id, unknown).status_code == 404
    assert _get(local, "camp-auth-other", campaign_id).status_code == 404
    assert _cancel(local, "camp-auth-other", campaign_id).status_code == 404
    assert _get(local, "no-such-event", campaign_id).status_code == 404
    cancel = requests.post(f"{url}/{campaign_id}/cancel", headers=_organizer(sender), timeout=30)
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["status"] == "cancelled"
    _no_new_errors(local, errors_before)


# -- 5b. follow-up by attendance -------------------------------------------------------


def test_a_follow_up_to_attended_false_reaches_those_who_neither_clicked_nor_joined(
    local, errors_before
):
    from chalicelib.signed_links import registration_links

    event_id = "camp-followup"
    recording = "https://video.example.org/camp-followup/education"
    body = event_body(zoom_base_for(event_id), registration={"opens_at": "2020-01-01T00:00:00Z"})
    body["sessions"][0]["recording_url"] = recording  # education
    response = requests.put(
        f"{local.url}/events/{event_id}",
        json=body,
        headers=_organizer(local.organizer_token),
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text
    specs = [
        {"email": "fu-click@example.org", "language": "en", "sessions": ["education"]},
        {"email": "fu-zoom@example.org", "language": "en", "sessions": ["education"]},
        {"email": "fu-missed@example.org", "language": "en", "sessions": ["education"]},
        {"email": "fu-missed-ar@example.org", "language": "ar"},  # every session
        {"email": "fu-other@example.org", "language": "en", "sessions": ["family"]},
    ]
    ids = _register_all(local, event_id, specs)
    # One clicks the join link of their email; one joins with Zoom's own link.
    event = local.majlis.events.get(event_id)
    clicker = local.majlis.registrations.get(ids[0], consistent=True)
    links = registration_links(local.majlis.keys.keys(), local.url, event, clicker)
    clicked = requests.get(links.join["education"], allow_redirects=False, timeout=10)
    assert clicked.status_code == 302, clicked.text
    education_zoom = body["sessions"][0]["zoom"]["id"]
    local.zoom.join(education_zoom, email="fu-zoom@example.org", kind="webinar")
    _wait_for(
        "Zoom's participant_joined applied",
        lambda: "education" in local.majlis.registrations.get(ids[1], consistent=True).attended,
        local,
    )
    follow_up = {
        "name": "The recording",
        "audience": {"attended": {"session": "education", "value": False}},
        "content": {
            "ar": {"subject": "FUP1 فاتتك الجلسة", "text": "التسجيل: {{recording_url}}"},
            "en": {
                "subject": "FUP1 Missed it, {{first_name}}?",
                "text": "Watch it again: {{recording_url}}",
                "html": '<p><a href="{{recording_url}}">Watch it again</a></p>',
            },
        },
    }
    dry = _dry_run(local, event_id, follow_up)
    assert (dry["recipients"], dry["by_language"]) == (2, {"ar": 1, "en": 1}), dry
    created = _create(local, event_id, follow_up)
    assert created["recipients"] == 2
    _done(local, event_id, created["campaign_id"])
    _at_least(local, "FUP1", 2)
    time.sleep(1.0)  # room for a wrong extra email to show
    messages = _announcements(local, "FUP1")
    assert Counter(_address(m) for m in messages) == {
        "fu-missed@example.org": 1,
        "fu-missed-ar@example.org": 1,
    }
    for message in messages:
        text, html = _texts(message)
        assert recording in text and recording in html
        assert "{{" not in text and "{{" not in html
    # Without a recording yet, a campaign that links to it is refused.
    refused = _post_campaign(
        local,
        event_id,
        {**follow_up, "audience": {"attended": {"session": "family", "value": False}}},
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["code"] == "no_recording"
    _no_new_errors(local, errors_before)


# -- 6. cancel -------------------------------------------------------------------------


# Last in the file: its 30 confirmations keep the pump busy for a while.
def test_a_cancelled_campaign_sends_nothing(local, errors_before):
    event_id = "camp-cancel"
    _put_event(local, event_id)
    _register_all(
        local,
        event_id,
        [
            {"email": f"cancel{n}@example.org", "language": "ar", "country": "EG" if n else "JO"}
            for n in range(30)
        ],
    )
    # Time enough to create both campaigns and cancel one on a busy machine.
    send_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=12)
    created = _create(
        local,
        event_id,
        {"name": "Oops", "content": _content("CANC1"), "send_at": _utc(send_at)},
    )
    assert created["recipients"] == 30
    campaign_id = created["campaign_id"]
    # A control: the same send_at, not cancelled, for one of them.
    control = _create(
        local,
        event_id,
        {
            "name": "Control",
            "audience": {"countries": ["JO"]},
            "content": _content("CANC2"),
            "send_at": _utc(send_at),
        },
    )
    assert control["recipients"] == 1
    response = _cancel(local, event_id, campaign_id)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert datetime.now(UTC) < send_at  # cancelled before its time
    # The control is fanned out once send_at has come: the fan-out ran for that time.
    _wait_for(
        "the control's fan-out",
        lambda: _progress(local, event_id, control["campaign_id"])["counts"]["queued"] == 1,
        local,
    )
    # A few seconds later, nobody has the cancelled one and none of it was queued.
    fanned_out = datetime.now(UTC)
    assert fanned_out >= send_at
    while datetime.now(UTC) < max(send_at, fanned_out) + timedelta(seconds=3):
        time.sleep(0.25)
    progress = _progress(local, event_id, campaign_id)
    assert progress["status"] == "cancelled", progress
    assert (progress["counts"]["queued"], progress["counts"]["sent"]) == (0, 0), progress
    assert _announcements(local, "CANC1") == []
    # Cancelling again answers the same.
    again = _cancel(local, event_id, campaign_id)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "cancelled"
    _no_new_errors(local, errors_before)
