"""What a Zoom sync writes to the registration, on moto with the Zoom stand-in.

A registration for several Zoom sessions is counted against Zoom's daily budget in
one write and given its registrants in one more, whichever meetings they are in; when
one session's budget is spent, the others are still counted and added, and that one
waits for tomorrow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.adapters.aws import client
from chalicelib.adapters.dynamo.schema import registration_key, to_attributes
from chalicelib.adapters.zoom_api import ZoomApi
from chalicelib.ports import Services, ZoomCredentials
from chalicelib.usecases import zoomsync
from chalicelib.usecases.registrations import register
from infra.local.zoom import ZoomStandIn
from tests.builders import person

SESSIONS = ["education", "family", "youth"]


@pytest.fixture
def wired(aws: Services) -> Iterator[Services]:
    with ZoomStandIn() as standin:
        credentials = ZoomCredentials(standin.account_id, standin.client_id, standin.client_secret)
        yield dataclasses.replace(
            aws, zoom=ZoomApi(lambda: credentials, standin.api_url, standin.oauth_url)
        )


@pytest.fixture
def writes() -> Iterator[list[dict[str, Any]]]:
    """The UpdateItem requests sent, as sent."""
    sent: list[dict[str, Any]] = []

    def keep(params: dict[str, Any], **_: Any) -> None:
        sent.append(dict(params))

    db = client("dynamodb")
    db.meta.events.register("provide-client-params.dynamodb.UpdateItem", keep)
    yield sent
    db.meta.events.unregister("provide-client-params.dynamodb.UpdateItem", keep)


def _registration(wired: Services) -> str:
    wired.zoom_store.map_event(wired.events.get("conf"))
    outcome = register(wired, "conf", person(1, sessions=SESSIONS), form=False)
    return outcome.registration_id


def _on_registration(sent: list[dict[str, Any]], registration_id: str) -> list[dict[str, Any]]:
    key = to_attributes(registration_key(registration_id))
    return [request for request in sent if request["Key"] == key]


def test_three_sessions_are_counted_in_one_write_and_kept_in_one_more(wired, writes):
    rid = _registration(wired)
    outcome = zoomsync.sync(wired, [rid])
    assert outcome.synced == 3 and outcome.calls == 3  # one add call per meeting
    claim, kept = _on_registration(writes, rid)
    assert claim["UpdateExpression"].count("zoom_tries.") == 6  # each: read and counted
    assert kept["UpdateExpression"].count("zoom.#session") == 3
    registration = wired.registrations.get(rid, consistent=True)
    assert set(registration.zoom) == set(SESSIONS)
    assert {s: v["state"] for s, v in registration.zoom_sync.items()} == dict.fromkeys(
        SESSIONS, "synced"
    )
    assert all(registration.zoom[s]["join_url"].startswith("http") for s in SESSIONS)
    assert registration.zoom_tries == {f"{s}@2027-03-01": 1 for s in SESSIONS}
    for session_id in SESSIONS:
        registrant_id = registration.zoom[session_id]["registrant_id"]
        assert wired.zoom_store.registration_for_registrant(registrant_id) == rid


def test_a_spent_budget_defers_that_session_alone(wired, writes):
    rid = _registration(wired)
    budget = wired.settings.zoom_adds_per_day
    now = wired.clock()
    for _ in range(budget):
        assert wired.zoom_store.claim_adds(rid, ["family"], "2027-03-01", budget, now)
    assert not wired.zoom_store.claim_adds(rid, SESSIONS, "2027-03-01", budget, now)
    untouched = wired.registrations.get(rid, consistent=True)
    assert untouched.zoom_tries == {"family@2027-03-01": budget}  # all or none
    writes.clear()
    outcome = zoomsync.sync(wired, [rid])
    assert outcome.synced == 2 and outcome.skipped == 1
    registration = wired.registrations.get(rid, consistent=True)
    assert set(registration.zoom) == {"education", "youth"}
    assert registration.zoom_sync["family"]["state"] == "deferred"
    assert registration.zoom_tries == {
        "education@2027-03-01": 1,
        "family@2027-03-01": budget,
        "youth@2027-03-01": 1,
    }
