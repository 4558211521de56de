"""Rate limits per client address (moto): registrations, and links refused for their
signature; and each event's ceiling of new registrations a minute. Over a limit: 429
with Retry-After, nothing stored; other addresses and valid links are not affected; a
registration is still one write, and a limiter that cannot count lets requests
through."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.aws import client
from chalicelib.signed_links import registration_links
from chalicelib.usecases.events import put_event
from chalicelib.usecases.registrations import register
from tests.builders import event_body, person

UNIVERSITY = "192.0.2.10"
ELSEWHERE = "198.51.100.7"


@pytest.fixture
def from_address(api):
    """Make the test client's requests come from an address (API Gateway's sourceIp)."""
    converter = api.http._local_gateway.event_converter

    def use(address: str) -> None:
        converter.LOCAL_SOURCE_IP = address

    use(UNIVERSITY)
    return use


def _limited(aws, **limits: int) -> None:
    aws.settings = aws.settings.model_copy(update=limits)


def _post(api, n: int):
    return api.http.post(
        "/events/conf/registrations",
        headers={"Content-Type": "application/json"},
        body=json.dumps(person(n)),
    )


def _registrations(aws) -> int:
    scan = boto3.client("dynamodb").get_paginator("scan")
    return sum(
        1
        for page in scan.paginate(TableName=aws.settings.table_name, ConsistentRead=True)
        for item in page["Items"]
        if item["pk"]["S"].startswith("REG#") and item["sk"]["S"] == "REG"
    )


def _counters(aws, *limits: str) -> list[dict]:
    """The counters of ``limits`` (by name), or of every limit."""
    items = boto3.client("dynamodb").scan(TableName=aws.settings.limits_table_name)["Items"]
    return [i for i in items if not limits or i["pk"]["S"].split("#")[0] in limits]


def test_a_university_registering_200_people_in_a_minute_is_not_limited(api, aws, from_address):
    assert aws.settings.registrations_per_minute >= 200  # the default, as deployed
    statuses = {_post(api, n).status_code for n in range(200)}
    assert statuses == {201}
    assert _registrations(aws) == 200


def test_over_the_limit_a_registration_is_a_429_with_retry_after_and_nothing_stored(
    api, aws, clock, from_address
):
    _limited(aws, registrations_per_minute=5)
    clock.now = clock.now.replace(second=15)
    assert [_post(api, n).status_code for n in range(5)] == [201] * 5

    refused = _post(api, 5)
    assert refused.status_code == 429
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.headers["Retry-After"] == "45"  # the seconds left in the minute
    problem = json.loads(refused.body)
    assert problem["status"] == 429
    assert problem["type"] == "urn:majlis:problem:rate-limited"
    assert _registrations(aws) == 5


def test_the_limit_is_per_address_and_per_minute(api, aws, clock, from_address):
    _limited(aws, registrations_per_minute=2)
    assert [_post(api, n).status_code for n in range(3)] == [201, 201, 429]
    from_address(ELSEWHERE)
    assert _post(api, 3).status_code == 201
    from_address(UNIVERSITY)
    clock.advance(minutes=1)
    assert _post(api, 4).status_code == 201
    assert _registrations(aws) == 4


def test_a_registration_is_still_one_write_counter_included(api, aws, from_address):
    calls: list[str] = []

    def count(model, **_):
        calls.append(model.name)

    _post(api, 0)  # the event is now cached
    client("dynamodb").meta.events.register("before-call", count)
    try:
        assert _post(api, 1).status_code == 201
    finally:
        client("dynamodb").meta.events.unregister("before-call", count)
    assert calls == ["TransactWriteItems"]
    [address, event] = _counters(aws, "registrations"), _counters(aws, "event-registrations")
    assert address[0]["hits"] == event[0]["hits"] == {"N": "2"}


def test_an_address_already_registered_is_answered_not_counted(api, aws, from_address):
    _limited(aws, registrations_per_minute=1)
    assert _post(api, 1).status_code == 201
    assert _post(api, 1).status_code == 200  # the same person again: their registration
    assert _post(api, 2).status_code == 429


def test_counters_hold_no_address_and_expire(api, aws, clock, from_address):
    _post(api, 1)
    counters = _counters(aws)
    assert len(counters) == 2  # the address's and the event's
    window_start = int(clock.now.timestamp()) - int(clock.now.timestamp()) % 60
    for counter in counters:
        assert UNIVERSITY not in json.dumps(counter)
        assert "conf" not in counter["pk"]["S"]  # the event's id is hashed too
        assert counter["hits"] == {"N": "1"}
        assert int(counter["expires_at_epoch"]["N"]) == window_start + 120


def test_the_registration_page_over_the_limit_is_a_kind_page_with_retry_after(
    api, aws, from_address
):
    _limited(aws, registrations_per_minute=1)
    form = "first_name=Amina&email=amina{}%40example.org&country=MY&consent=true"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Sec-Fetch-Site": "same-origin",
        "Accept-Language": "tr",
    }
    first = api.http.post("/events/conf/register", headers=headers, body=form.format(1))
    assert first.status_code == 200
    response = api.http.post("/events/conf/register", headers=headers, body=form.format(2))
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Çok fazla deneme" in response.body.decode()


@pytest.fixture
def join_token(aws):
    outcome = register(aws, "conf", person(1), form=False)
    registration = aws.registrations.get(outcome.registration_id)
    links = registration_links(
        aws.keys.keys(), "https://r.example", aws.events.get("conf"), registration
    )
    return links.join["education"].rsplit("/", 1)[1]


def _forged(token: str, n: int) -> str:
    return token[:-10] + f"{n:010d}"


def test_guessing_at_links_is_limited_while_valid_links_still_work(
    api, aws, join_token, from_address
):
    _limited(aws, refused_links_per_minute=3)
    headers = {"Accept-Language": "fr"}
    guesses = [api.http.get(f"/join/{_forged(join_token, n)}", headers=headers) for n in range(4)]
    assert [r.status_code for r in guesses] == [404, 404, 404, 429]
    assert int(guesses[-1].headers["Retry-After"]) >= 1
    assert "Trop de tentatives" in guesses[-1].body.decode()
    # Unsubscribe and manage pages share the one limit on refused links.
    assert api.http.get(f"/unsubscribe/{_forged(join_token, 9)}").status_code == 429
    manage = api.http.post(
        f"/manage/{_forged(join_token, 10)}",
        headers={"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"},
        body=json.dumps({"action": "cancel"}),
    )
    assert manage.status_code == 429
    assert manage.headers["Content-Type"] == "application/problem+json"

    # The person whose link it is, behind the same address, still gets in.
    assert api.http.get(f"/join/{join_token}").status_code == 302
    from_address(ELSEWHERE)
    assert api.http.get(f"/join/{_forged(join_token, 11)}").status_code == 404


def test_a_valid_click_costs_no_rate_limit_call(api, aws, join_token, from_address):
    before = _counters(aws)  # the registration's
    api.http.get(f"/join/{join_token}")
    assert _counters(aws) == before


def test_a_limiter_that_cannot_count_refuses_links_as_before(api, aws, join_token, from_address):
    _limited(aws, refused_links_per_minute=1)

    def unavailable(**_: object) -> None:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "injected"}},
            "UpdateItem",
        )

    events = client("dynamodb").meta.events
    events.register("before-call.dynamodb.UpdateItem", unavailable)
    try:
        guesses = [api.http.get(f"/join/{_forged(join_token, n)}") for n in range(3)]
    finally:
        events.unregister("before-call.dynamodb.UpdateItem", unavailable)
    assert [r.status_code for r in guesses] == [404, 404, 404]


def test_the_event_s_ceiling_refuses_every_address_with_a_429(api, aws, clock, from_address):
    put_event(aws, "conf", event_body(registrations_per_minute=2))
    clock.now = clock.now.replace(second=30)
    assert [_post(api, n).status_code for n in (1, 2)] == [201, 201]
    from_address(ELSEWHERE)  # another network: its own limit is far off, not the event's
    refused = _post(api, 3)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30"
    assert "registering right now" in json.loads(refused.body)["detail"]
    assert _registrations(aws) == 2
