"""The Zoom API client (chalicelib.adapters.zoom_api.ZoomApi) over real HTTP against the stand-in.

The token is fetched once and cached, renewed once when Zoom refuses it; each call
goes to the endpoint and in the shape Zoom documents; every failure is classified so
the sync knows what to do; calls are paced per category.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.adapters.zoom_api import ZoomApi
from chalicelib.domain.events import Event
from chalicelib.ports import ZoomCredentials, ZoomFailure, ZoomRegistrant
from chalicelib.usecases import zoomsync
from chalicelib.usecases.registrations import register
from infra.local.zoom import ZoomStandIn
from tests.builders import NOW, event_body, person
from tests.fakes import Clock, fake_majlis

WEBINAR = "81234567890"
MEETING = "71234567890"
FAST = {"light": 1000.0, "medium": 1000.0, "heavy": 1000.0}
NO_LIMITS = {"light": 0, "medium": 0, "heavy": 0}


@pytest.fixture
def standin() -> Iterator[ZoomStandIn]:
    zoom = ZoomStandIn(rate_limits=NO_LIMITS)
    zoom.start()
    try:
        yield zoom
    finally:
        zoom.stop()


def client(
    standin: ZoomStandIn, pace: dict[str, float] | None = None, secret: str | None = None
) -> ZoomApi:
    credentials = ZoomCredentials(
        standin.account_id,
        standin.client_id,
        standin.client_secret if secret is None else secret,
    )
    return ZoomApi(lambda: credentials, standin.api_url, standin.oauth_url, pace=pace or FAST)


def who(n: int, **extra: str) -> dict[str, str]:
    return {"email": f"person{n}@example.org", "first_name": "Amina", **extra}


def failure_of(call: Any) -> ZoomFailure:
    with pytest.raises(ZoomFailure) as caught:
        call()
    return caught.value


def log(standin: ZoomStandIn, endpoint: str | None = None) -> list[dict[str, Any]]:
    return [r for r in standin.requests_log if endpoint in (None, r["endpoint"])]


# -- the token ---------------------------------------------------------------------


def test_the_token_is_fetched_once_for_many_calls(standin):
    zoom = client(standin)
    for n in range(5):
        zoom.add("webinar", WEBINAR, who(n))
    zoom.registrants("webinar", WEBINAR)
    zoom.add_many("meeting", MEETING, [who(10), who(11)])
    assert standin.calls("token") == 1
    assert standin.calls("add") == 5


def test_a_refused_token_is_renewed_once_and_the_call_retried(standin):
    zoom = client(standin)
    zoom.add("webinar", WEBINAR, who(1))
    standin.revoke_tokens()  # Zoom answers 401 code 124 to the cached token
    registrant = zoom.add("webinar", WEBINAR, who(2))
    assert registrant.registrant_id
    assert standin.calls("token") == 2
    statuses = [r["status"] for r in log(standin, "add")]
    assert statuses == [201, 401, 201]


def test_a_short_lived_token_is_renewed(standin):
    standin.token_lifetime = 1
    zoom = client(standin)
    zoom.add("webinar", WEBINAR, who(1))
    time.sleep(1.1)  # expired at Zoom
    assert zoom.add("webinar", WEBINAR, who(2)).registrant_id
    assert standin.calls("token") == 2
    assert len(standin.registrants("webinar", WEBINAR)) == 2


def test_a_token_refused_twice_is_an_auth_failure(standin, monkeypatch):
    zoom = client(standin)
    zoom.add("webinar", WEBINAR, who(1))
    # every token refused from now on (as when the app's scopes were removed)
    monkeypatch.setattr(
        standin, "_authorize", lambda header: (401, {}, {"code": 124, "message": "Invalid."})
    )
    failure = failure_of(lambda: zoom.add("webinar", WEBINAR, who(2)))
    assert failure.kind == "auth" and failure.permanent
    assert standin.calls("token") == 2  # renewed once, not more


def test_a_bad_client_secret_is_an_auth_failure(standin):
    zoom = client(standin, secret="not-the-secret")
    failure = failure_of(lambda: zoom.add("webinar", WEBINAR, who(1)))
    assert failure.kind == "auth"
    assert failure.permanent
    assert standin.calls("add") == 0


def test_oauth_is_called_as_server_to_server_oauth(standin):
    client(standin).registrants("webinar", WEBINAR)
    [token] = log(standin, "token")
    assert (token["method"], token["path"]) == ("POST", "/oauth/token")


# -- endpoints and shapes ----------------------------------------------------------


def test_add_posts_one_registrant_and_returns_zooms_ids(standin):
    zoom = client(standin)
    found = zoom.add("webinar", WEBINAR, who(1, last_name="Rahman"))
    [there] = standin.registrants("webinar", WEBINAR)
    assert found == ZoomRegistrant("person1@example.org", there["id"], there["join_url"])
    assert (there["first_name"], there["last_name"], there["status"]) == (
        "Amina",
        "Rahman",
        "approved",
    )
    [request] = log(standin, "add")
    assert (request["method"], request["path"]) == ("POST", f"/v2/webinars/{WEBINAR}/registrants")


def test_a_meeting_add_is_auto_approved(standin):
    standin.add_session("meeting", MEETING, approval_type=1)  # manual approval
    found = client(standin).add("meeting", MEETING, who(1))
    [there] = standin.registrants("meeting", MEETING)
    assert there["status"] == "approved"
    assert found.registrant_id == there["id"]
    assert log(standin, "add")[0]["path"] == f"/v2/meetings/{MEETING}/registrants"


def test_add_many_posts_a_batch_and_returns_each_registrant(standin):
    standin.add_session("meeting", MEETING, approval_type=1)
    people = [who(n) for n in range(30)]
    found = client(standin).add_many("meeting", MEETING, people)
    there = {r["email"]: r for r in standin.registrants("meeting", MEETING)}
    assert [r.email for r in found] == [p["email"] for p in people]
    for registrant in found:
        assert registrant.registrant_id == there[registrant.email]["id"]
        assert registrant.join_url == there[registrant.email]["join_url"]
        assert there[registrant.email]["status"] == "approved"
    [request] = log(standin, "batch")
    assert (request["method"], request["path"]) == (
        "POST",
        f"/v2/meetings/{MEETING}/batch_registrants",
    )
    assert standin.calls("batch", "meeting") == 1


def test_add_many_to_a_webinar(standin):
    found = client(standin).add_many("webinar", WEBINAR, [who(1), who(2)])
    assert len(found) == 2
    assert log(standin, "batch")[0]["path"] == f"/v2/webinars/{WEBINAR}/batch_registrants"


def test_registrants_pages_through_every_approved_registrant(standin):
    zoom = client(standin)
    for start in range(0, 650, 30):
        zoom.add_many("webinar", WEBINAR, [who(n) for n in range(start, min(start + 30, 650))])
    gone = zoom.registrants("webinar", WEBINAR)[0][:1]
    zoom.cancel("webinar", WEBINAR, gone)
    pages, token, seen = 0, "", []
    while True:
        page, token = zoom.registrants("webinar", WEBINAR, token)
        pages += 1
        seen += page
        if not token:
            break
    assert pages == 3  # 300 a page
    emails = [r.email for r in seen]
    assert len(emails) == len(set(emails)) == 649
    assert gone[0].email not in emails
    there = {r["email"]: r for r in standin.registrants("webinar", WEBINAR, "approved")}
    for registrant in seen:
        assert registrant.registrant_id == there[registrant.email]["id"]
        assert registrant.join_url == there[registrant.email]["join_url"]
    paths = [r["path"] for r in log(standin, "list")]
    assert set(paths) == {f"/v2/webinars/{WEBINAR}/registrants"}


def test_cancel_puts_the_status_with_ids(standin):
    zoom = client(standin)
    found = zoom.add_many("webinar", WEBINAR, [who(1), who(2), who(3)])
    zoom.cancel("webinar", WEBINAR, found[:2])
    statuses = {r["email"]: r["status"] for r in standin.registrants("webinar", WEBINAR)}
    assert statuses == {
        "person1@example.org": "cancelled",
        "person2@example.org": "cancelled",
        "person3@example.org": "approved",
    }
    [request] = log(standin, "status")
    assert (request["method"], request["path"], request["status"]) == (
        "PUT",
        f"/v2/webinars/{WEBINAR}/registrants/status",
        204,
    )
    cancels = [e for e in standin.events if e["event"] == "webinar.registration_cancelled"]
    assert len(cancels) == 2


def test_a_cancel_of_someone_already_cancelled_is_no_error(standin):
    zoom = client(standin)
    found = zoom.add("webinar", WEBINAR, who(1))
    zoom.cancel("webinar", WEBINAR, [found])
    zoom.cancel("webinar", WEBINAR, [found])
    assert standin.registrants("webinar", WEBINAR)[0]["status"] == "cancelled"


def test_a_long_zoom_id_stays_exact(standin):
    long_id = "987654321012"  # beyond 32 bits
    found = client(standin).add("meeting", long_id, who(1))
    assert standin.registrants("meeting", long_id)[0]["id"] == found.registrant_id
    body = next(e for e in standin.events if e["event"] == "meeting.registration_created")
    assert str(body["payload"]["object"]["id"]) == long_id


# -- failures, classified ----------------------------------------------------------


def test_3043_is_full(standin):
    standin.capacity = 1
    zoom = client(standin)
    zoom.add("webinar", WEBINAR, who(1))
    failure = failure_of(lambda: zoom.add("webinar", WEBINAR, who(2)))
    assert failure.kind == "full" and "3043" in failure.reason
    assert not failure.permanent
    batch = failure_of(lambda: zoom.add_many("webinar", WEBINAR, [who(3), who(4)]))
    assert batch.kind == "full"


def test_the_daily_limit_per_registrant_is_daily_limit_with_retry_after(standin):
    zoom = client(standin)
    for _ in range(3):  # Zoom answers the same registrant, and counts each
        zoom.add("webinar", WEBINAR, who(1))
    failure = failure_of(lambda: zoom.add("webinar", WEBINAR, who(1)))
    assert failure.kind == "daily_limit"
    assert failure.retry_after is not None and 0 < failure.retry_after <= 86400
    assert standin.add_attempts(WEBINAR, "person1@example.org") == 4
    assert len(standin.registrants("webinar", WEBINAR)) == 1


def test_the_per_second_limit_is_rate_limited_without_retry_after(standin):
    standin.rate_limits = {"light": 1}
    zoom = client(standin)
    zoom.add("webinar", WEBINAR, who(1))
    failure = failure_of(lambda: zoom.add("webinar", WEBINAR, who(2)))
    assert failure.kind == "rate_limited"
    assert failure.retry_after is None
    assert not failure.permanent


def test_an_extra_429_is_rate_limited(standin):
    standin.faults.extra_429_rate = 1.0
    failure = failure_of(lambda: client(standin).registrants("webinar", WEBINAR))
    assert failure.kind == "rate_limited"


@pytest.mark.parametrize("mode", ["before", "after"])
def test_a_5xx_is_unavailable(standin, mode):
    standin.faults.set(error_rate=1.0, error_mode=mode)
    failure = failure_of(lambda: client(standin).add("webinar", WEBINAR, who(1)))
    assert failure.kind == "unavailable"
    assert not failure.permanent
    assert len(standin.registrants("webinar", WEBINAR)) == (1 if mode == "after" else 0)


def test_an_unknown_webinar_is_rejected(standin):
    standin.delete_session("webinar", WEBINAR)
    failure = failure_of(lambda: client(standin).add("webinar", WEBINAR, who(1)))
    assert failure.kind == "rejected"
    assert failure.permanent
    assert "404" in failure.reason and "3001" in failure.reason


def test_an_invalid_registrant_is_rejected_with_zooms_message(standin):
    failure = failure_of(
        lambda: client(standin).add("webinar", WEBINAR, {"email": "nope", "first_name": "A"})
    )
    assert failure.kind == "rejected"
    assert "400" in failure.reason and "300" in failure.reason


def test_zoom_unreachable_is_unavailable(standin):
    zoom = client(standin)
    zoom.add("webinar", WEBINAR, who(1))
    standin.stop()
    failure = failure_of(lambda: zoom.add("webinar", WEBINAR, who(2)))
    assert failure.kind == "unavailable"


# -- pacing ------------------------------------------------------------------------


def test_calls_are_paced_per_category(standin):
    zoom = client(standin, pace={"light": 5})
    started = time.monotonic()
    for n in range(10):
        zoom.add("webinar", WEBINAR, who(n))
    elapsed = time.monotonic() - started
    assert elapsed >= 1.75, elapsed  # 9 intervals of 0.2 s
    assert elapsed < 5, elapsed


def test_pacing_keeps_under_zooms_per_second_limit(standin):
    standin.rate_limits = {"light": 5}
    zoom = client(standin, pace={"light": 4.5})
    for n in range(12):
        zoom.add("webinar", WEBINAR, who(n))  # none refused
    assert all(r["status"] == 201 for r in log(standin, "add"))


# -- through the sync: what Zoom's own rules do to our registrants ------------------


@pytest.fixture
def synced_to_standin(standin: ZoomStandIn) -> Any:
    """Majlis on fakes, except Zoom: the real client against the stand-in."""
    majlis = fake_majlis(Clock(NOW))
    majlis.events.put(Event.model_validate({**event_body(), "id": "conf"}), majlis.clock())
    majlis.zoom_store.map_event(majlis.events.get("conf"))
    majlis.zoom = client(standin)
    return majlis


def _register(majlis: Any, n: int, **form: Any) -> str:
    return register(
        majlis, "conf", person(n, sessions=["education"], **form), form=False
    ).registration_id


def test_the_sync_adds_arabic_names_to_zoom_as_they_are(synced_to_standin, standin):
    rid = _register(synced_to_standin, 1, first_name="عبد الرحمن", last_name="الفلسطيني")
    assert zoomsync.sync(synced_to_standin, [rid]).synced == 1
    [there] = standin.registrants("webinar", WEBINAR)
    assert (there["first_name"], there["last_name"]) == ("عبد الرحمن", "الفلسطيني")


def test_a_name_longer_than_zooms_64_characters_is_still_added(synced_to_standin, standin):
    rid = _register(synced_to_standin, 1, first_name="ن" * 80)
    outcome = zoomsync.sync(synced_to_standin, [rid])
    assert outcome.dead == {}
    assert outcome.synced == 1


def test_one_refused_registrant_does_not_sink_the_rest_of_its_batch(synced_to_standin, standin):
    # A valid address of 136 characters: ours takes up to 254, Zoom only 128.
    long_address = f"{'a' * 60}@{'b' * 60}.{'c' * 10}.org"
    ids = [_register(synced_to_standin, n) for n in range(4)]
    refused = _register(synced_to_standin, 9, email=long_address)
    outcome = zoomsync.sync(synced_to_standin, [*ids, refused])
    assert outcome.synced == 4
    assert len(standin.registrants("webinar", WEBINAR)) == 4
    assert list(outcome.dead) == [refused]
    state = synced_to_standin.registrations.get(refused).zoom_sync["education"]
    assert state["state"] == "failed" and "Invalid email." in state["reason"]


def test_the_zoom_workers_together_stay_under_the_pro_plans_limits():
    """Each container paces itself; the zoom worker runs at most two at once, so two at
    their default pace must stay under every per-second limit of the account (with a
    little room for a second's edges: a 429 gives its attempt back, but costs a second)."""
    import ast

    from chalicelib.adapters.zoom_api import DEFAULT_PACE
    from infra import PROJECT_DIR
    from infra.local.runner import PRO_PLAN

    source = (PROJECT_DIR / "chalicelib" / "entrypoints" / "workers.py").read_text()
    (worker,) = [
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name == "zoom_worker"
    ]
    (decorator,) = worker.decorator_list
    (concurrency,) = [k.value.value for k in decorator.keywords if k.arg == "maximum_concurrency"]
    assert concurrency == 2
    for category, limit in PRO_PLAN.items():
        assert concurrency * DEFAULT_PACE[category] <= 0.98 * limit, category
