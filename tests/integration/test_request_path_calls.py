"""AWS calls on the request path, counted with botocore's event hooks.

A new registration costs one call (TransactWriteItems) once the container has the
event cached; a duplicate costs two (the refused transaction and the resend request);
a newcomer to a full event costs one once the container knows the event is full.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from chalicelib.adapters.aws import client
from tests.builders import event_body, person

SERVICES = ("dynamodb", "sqs", "sesv2", "secretsmanager")


@pytest.fixture
def calls(api) -> Iterator[list[str]]:
    made: list[str] = []

    def count(model, **_kwargs) -> None:
        made.append(model.name)

    for service in SERVICES:
        client(service).meta.events.register("before-call", count)
    yield made
    for service in SERVICES:
        client(service).meta.events.unregister("before-call", count)


def _register(api, body: dict) -> dict:
    response = api.http.post(
        "/events/conf/registrations",
        headers={"Content-Type": "application/json"},
        body=json.dumps(body),
    )
    assert response.status_code in (200, 201), response.body
    return json.loads(response.body)


def test_a_new_registration_is_one_write(api, calls):
    _register(api, person(1))  # the container caches the event here
    calls.clear()
    _register(api, person(2))
    assert calls == ["TransactWriteItems"]


def test_a_duplicate_is_two_calls(api, calls):
    _register(api, person(1))
    calls.clear()
    _register(api, person(1, email="PERSON1@example.org"))
    assert calls == ["TransactWriteItems", "UpdateItem"]


def test_a_full_event_costs_one_write_per_newcomer_after_the_first(api, aws, calls):
    from chalicelib.usecases.events import put_event

    put_event(aws, "conf", event_body(capacity=1))
    _register(api, person(1))
    calls.clear()
    assert _register(api, person(2))["status"] == "waitlisted"
    assert calls == ["TransactWriteItems", "TransactWriteItems"]  # tries a seat, learns: full
    calls.clear()
    assert _register(api, person(3))["status"] == "waitlisted"
    assert calls == ["TransactWriteItems"]


def test_refused_requests_make_no_call(api, calls):
    _register(api, person(1))
    calls.clear()
    response = api.http.post(
        "/events/conf/registrations",
        headers={"Content-Type": "application/json"},
        body=json.dumps(person(2, country="XX")),
    )
    assert response.status_code == 422
    assert calls == []
