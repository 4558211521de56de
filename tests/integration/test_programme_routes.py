"""The HTTP side of programme changes and of the attendee's own links, through the API on
moto: PUT answers who will be told (and a dry run saves nothing); parallel sessions are
alternatives; HEAD answers like GET without a body and records nothing; a redirect is no
JSON; "lost your links?" answers every address alike; problem types fit their case."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

from chalicelib import auth
from chalicelib.adapters.dynamo.streams import changes_in
from chalicelib.ports import Services
from chalicelib.usecases import exports, stats
from infra.local.lambdas import TableStream
from tests.builders import event_body, person
from tests.integration.test_selfservice_routes import (
    CLICK,
    EVENT_ID,
    Registrant,
    post_form,
    post_json,
    sign_up,
    table_items,
    without,
)


def _admin(aws: Services) -> dict[str, str]:
    token = auth.mint(aws.tokens, [EVENT_ID], list(auth.ROLES), "test", aws.clock())
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _put(api: Any, aws: Services, body: dict[str, Any], query: str = "") -> Any:
    return api.http.put(f"/events/{EVENT_ID}{query}", headers=_admin(aws), body=json.dumps(body))


def _moved(body: dict[str, Any], session_id: str, starts: str, ends: str) -> dict[str, Any]:
    new = copy.deepcopy(body)
    for session in new["sessions"]:
        if session["id"] == session_id:
            session.update(starts_at=starts, ends_at=ends)
    return new


@pytest.fixture
def people(aws: Services) -> list[Registrant]:
    return [
        sign_up(aws, 1, language="ur", sessions=["education"]),
        sign_up(aws, 2, language="en", sessions=["education", "family"]),
        sign_up(aws, 3, language="ar", sessions=["family"]),
    ]


def test_a_put_says_how_many_will_be_told_and_a_dry_run_saves_nothing(api, aws, people):
    moved = _moved(event_body(), "education", "2027-03-06T12:30:00Z", "2027-03-06T14:00:00Z")
    dry = _put(api, aws, moved, "?dry_run=true")
    assert dry.status_code == 200, dry.body
    assert (dry.json_body["notifying"], dry.json_body["dry_run"]) == (2, True)
    assert aws.events.get(EVENT_ID, fresh=True).session("education").starts_at.minute == 0
    saved = _put(api, aws, moved)
    assert saved.status_code == 200 and saved.json_body["notifying"] == 2
    assert "dry_run" not in saved.json_body
    progress = api.http.get(
        f"/events/{EVENT_ID}/campaigns/{saved.json_body['notice_id']}", headers=_admin(aws)
    )
    assert progress.status_code == 200 and progress.json_body["status"] == "scheduled"
    again = _put(api, aws, moved)
    assert again.json_body["notifying"] == 0
    assert again.json_body["revision"] == saved.json_body["revision"]
    assert _put(api, aws, moved, "?dry_run=maybe").status_code == 422


def test_organisers_do_not_set_the_revision(api, aws):
    answer = _put(api, aws, {**event_body(), "revision": 9})
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json_body["errors"]] == ["revision"]


def test_parallel_sessions_are_alternatives(api, aws):
    body = _moved(event_body(), "family", "2027-03-06T12:30:00Z", "2027-03-06T13:30:00Z")
    assert _put(api, aws, body).status_code == 200
    public = api.http.get(f"/events/{EVENT_ID}").json_body
    assert ["education", "family"] in public["slots"]

    def registering(**fields: Any) -> Any:
        return post_json(api, f"/events/{EVENT_ID}/registrations", person(7, **fields))

    both = registering(sessions=["education", "family"])
    assert both.status_code == 422
    assert [(e["field"], e["code"]) for e in both.json_body["errors"]] == [
        ("sessions", "overlapping_sessions")
    ]
    unchosen = registering()
    assert unchosen.status_code == 422
    assert [(e["field"], e["code"]) for e in unchosen.json_body["errors"]] == [
        ("sessions", "choose_per_slot")
    ]
    assert registering(sessions=["family", "youth"]).status_code == 201


LINK_ROUTES = ("manage", "unsubscribe", "register", "links", "asset")


def _path(kind: str, someone: Registrant) -> str:
    return {
        "manage": someone.manage,
        "unsubscribe": someone.unsubscribe,
        "register": f"/events/{EVENT_ID}/register",
        "links": f"/events/{EVENT_ID}/links",
        "asset": "/assets/page.css",
    }[kind]


@pytest.mark.parametrize("kind", LINK_ROUTES)
def test_head_answers_like_get_without_a_body(api, aws, people, kind):
    path = _path(kind, people[0])
    got, head = api.http.get(path), api.http.head(path)
    assert head.status_code == got.status_code == 200
    assert head.body == b"" and got.body
    assert head.headers["Content-Type"] == got.headers["Content-Type"]


def test_head_on_a_join_link_answers_where_it_leads_and_records_nothing(api, aws, people):
    someone = people[1]
    before = table_items(aws)
    head = api.http.head(someone.join("education"))
    assert head.status_code == 302 and head.body == b""
    assert table_items(aws) == before  # not even the click
    got = api.http.get(someone.join("education"))
    assert got.status_code == 302 and got.headers["Location"] == head.headers["Location"]
    assert "json" not in got.headers["Content-Type"]
    assert without(table_items(aws), *CLICK) == without(before, *CLICK)
    # A forged link: the same status on HEAD, and counted as a guess, as on GET
    assert _guesses_counted() == 0
    refused = api.http.head(
        "/join/" + someone.links.join["education"].rsplit("/", 1)[1][:-3] + "abc"
    )
    assert refused.status_code == 404 and refused.body == b""
    assert _guesses_counted() == 1


def _guesses_counted() -> int:
    limits = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="majlis-limits")
    return sum(1 for item in limits["Items"] if item["pk"]["S"].startswith("refused-links#"))


def test_lost_links_answer_every_address_alike_and_email_only_the_registered(api, aws, people):
    someone = people[0]
    headers = {"Sec-Fetch-Site": "same-origin"}
    path = f"/events/{EVENT_ID}/links?lang=ur"
    seq = someone.stored().mail_seq
    aws.clock.advance(minutes=11)  # past the first email's resend interval
    known = post_form(api, path, [("email", "person1@example.org")], headers)
    unknown = post_form(api, path, [("email", "nobody@example.org")], headers)
    assert (known.status_code, unknown.status_code) == (200, 200)
    assert known.body == unknown.body
    assert someone.stored().mail_seq == seq + 1  # their email is on its way
    # Asked again within 10 minutes: the same answer, no second email
    again = post_form(api, path, [("email", "PERSON1@example.org")], headers)
    assert again.body == known.body and someone.stored().mail_seq == seq + 1
    # JSON (a script): 202 alike
    answers = [
        post_json(api, f"/events/{EVENT_ID}/links", {"email": address})
        for address in ("person2@example.org", "stranger@example.org")
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json_body == answers[1].json_body == {"status": "sent"}
    # Not an address: said so, next to the field
    bad = post_form(api, path, [("email", "not an address")], headers)
    assert bad.status_code == 422


def test_lost_links_take_ten_requests_a_minute_from_one_network(api, aws, people):
    headers = {"Sec-Fetch-Site": "same-origin"}
    path = f"/events/{EVENT_ID}/links?lang=ar"
    answers = [
        post_form(api, path, [("email", f"someone{n}@example.org")], headers) for n in range(10)
    ]
    assert [a.status_code for a in answers] == [200] * 10
    # The eleventh within the minute: refused, with when to come back, page and JSON alike
    page = post_form(api, path, [("email", "person1@example.org")], headers)
    assert page.status_code == 429
    assert 1 <= int(page.headers["Retry-After"]) <= 60
    assert 'lang="ar"' in page.body.decode()
    script = post_json(api, f"/events/{EVENT_ID}/links", {"email": "person1@example.org"})
    assert script.status_code == 429
    assert script.headers["Content-Type"] == "application/problem+json"
    # And the next minute, welcome again
    aws.clock.advance(minutes=1)
    assert post_form(api, path, [("email", "person1@example.org")], headers).status_code == 200


def test_resend_from_the_manage_page_at_most_every_ten_minutes(api, aws, people):
    someone = people[2]
    aws.clock.advance(minutes=11)
    first = post_json(api, someone.manage, {"action": "resend"})
    assert first.status_code == 200 and first.json_body["resent"] is True
    second = post_json(api, someone.manage, {"action": "resend"})
    assert second.json_body["resent"] is False
    form = post_form(api, someone.manage, [("action", "resend")], {"Sec-Fetch-Site": "same-origin"})
    assert form.status_code == 200


def test_problem_types_fit_their_case(api, aws, people):
    preflight = api.http.request(
        "OPTIONS",
        f"/events/{EVENT_ID}/registrations",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    assert preflight.json_body["type"] == "urn:majlis:problem:origin-not-allowed"
    cross = post_json(api, people[0].manage, {"action": "cancel"}, {"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert cross.json_body["type"] == "urn:majlis:problem:cross-site"
    assert "token" not in cross.json_body["title"].lower()


def test_the_events_country_names_are_in_stats_and_exports(api, aws):
    body = {**event_body(), "country_names": {"PS": {"ar": "فلسطين", "en": "Palestine"}}}
    assert _put(api, aws, body).status_code == 200
    someone = sign_up(aws, 9, country="PS", language="ar")
    # The counters follow the table's stream, as the stats worker reads it
    records = TableStream.of_table(aws.settings.table_name, "TRIM_HORIZON").everything()
    stats.count(aws, changes_in({"Records": records}))
    answer = stats.event_stats(aws, EVENT_ID)
    assert answer["by_country"]["PS"] == 1
    # In the event's default language (ar), as the event names it, not CLDR's
    assert answer["country_names"]["PS"] == "فلسطين"
    event = aws.events.get(EVENT_ID, fresh=True)
    row = exports._row(someone.stored(), event)
    assert row[exports.COLUMNS.index("country_name")] == "فلسطين"
