"""The Zoom stand-in over real HTTP: OAuth, registrant rules, limits, webhooks and faults."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from infra.local.zoom import ZoomStandIn, sign

MEETING = "81234567890"
WEBINAR = "98765432101"
SECRET = "test-webhook-secret"


class Receiver:
    """A webhook endpoint on loopback that records raw bodies and headers."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []  # statuses to answer first, then 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.received.append(
                        ({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/zoom"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Zoom:
    """Majlis's side of the wire, reduced to what the tests need."""

    def __init__(self, standin: ZoomStandIn) -> None:
        self.standin = standin
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only, never through a proxy
        self._token: str | None = None

    def token_response(self, secret: str | None = None, account: str | None = None):
        return self.http.post(
            self.standin.oauth_url,
            params={
                "grant_type": "account_credentials",
                "account_id": account or self.standin.account_id,
            },
            auth=(self.standin.client_id, secret or self.standin.client_secret),
            timeout=5,
        )

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.token_response().json()["access_token"]
        return self._token

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.http.request(
            method, f"{self.standin.api_url}{path}", headers=headers, timeout=5, **kwargs
        )

    def add(self, email: str, first: str = "Amina", kind: str = "meetings", zoom_id: str = MEETING):
        body = {"email": email, "first_name": first, "last_name": "Haddad"}
        return self.call("POST", f"/{kind}/{zoom_id}/registrants", json=body)

    def batch(self, emails: list[str], kind: str = "meetings", zoom_id: str = MEETING):
        body = {
            "auto_approve": True,
            "registrants": [{"email": e, "first_name": "Yusuf"} for e in emails],
        }
        return self.call("POST", f"/{kind}/{zoom_id}/batch_registrants", json=body)

    def list(self, kind: str = "meetings", zoom_id: str = MEETING, **params: Any):
        return self.call("GET", f"/{kind}/{zoom_id}/registrants", params=params)

    def status(self, action: str, registrants: list[dict], kind: str = "meetings"):
        body = {"action": action, "registrants": registrants}
        return self.call("PUT", f"/{kind}/{MEETING}/registrants/status", json=body)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.stop()


@pytest.fixture
def make_zoom() -> Iterator[Callable[..., Zoom]]:
    started: list[ZoomStandIn] = []

    def make(**options: Any) -> Zoom:
        standin = ZoomStandIn(webhook_secret_token=SECRET, **options)
        standin.start()
        started.append(standin)
        return Zoom(standin)

    yield make
    for standin in started:
        standin.stop()


@pytest.fixture
def zoom(make_zoom) -> Zoom:
    return make_zoom()


def emails(count: int, prefix: str = "p") -> list[str]:
    return [f"{prefix}{n}@example.org" for n in range(count)]


def test_the_signature_matches_the_known_vector():
    body = (
        b'{"event":"session.started","payload":{"account_id":"{ACCOUNT_ID}","object":'
        b'{"start_time":"2022-07-27T16:56:34Z","id":"{SESSION_ID}"}},"event_ts":1658940994914}'
    )
    expected = "v0=96e8a131e9983d4bc96627eee7c67f9506d0aeb8f767260a822fb3f2abe703d5"
    assert sign("secretValueTest", 1658940994, body) == expected
    assert sign(b"secretValueTest", "1658940994", body) == expected


def test_oauth_issues_tokens_and_refuses_wrong_credentials(zoom):
    granted = zoom.token_response()
    assert granted.status_code == 200
    assert granted.json()["token_type"] == "bearer"
    assert granted.json()["expires_in"] == 3600
    assert granted.json()["scope"]

    wrong_secret = zoom.token_response(secret="nope")
    assert wrong_secret.status_code == 400
    assert wrong_secret.json() == {
        "reason": "Invalid client_id or client_secret",
        "error": "invalid_client",
    }
    wrong_account = zoom.token_response(account="someone-else")
    assert wrong_account.status_code == 400
    assert wrong_account.json() == {"reason": "Invalid account id", "error": "invalid_request"}
    assert zoom.standin.calls("token") == 3


def test_the_api_wants_a_valid_bearer_token(zoom):
    url = f"{zoom.standin.api_url}/meetings/{MEETING}/registrants"
    missing = zoom.http.get(url, timeout=5)
    assert missing.status_code == 401
    assert missing.json() == {"code": 124, "message": "Invalid access token."}
    forged = zoom.http.get(url, headers={"Authorization": "Bearer forged"}, timeout=5)
    assert forged.status_code == 401
    assert forged.json()["code"] == 124

    assert zoom.list().status_code == 200
    zoom.standin.revoke_tokens()
    assert zoom.list().status_code == 401


def test_a_token_expires_after_its_lifetime(make_zoom):
    zoom = make_zoom(token_lifetime=1)
    assert zoom.token_response().json()["expires_in"] == 1
    assert zoom.list().status_code == 200
    time.sleep(1.1)
    expired = zoom.list()
    assert expired.status_code == 401
    assert expired.json()["code"] == 124

    zoom.standin.token_lifetime = 3600  # faults can change it at run time
    zoom._token = None
    assert zoom.list().status_code == 200


def test_adding_a_registrant_answers_201_with_its_ids(zoom):
    response = zoom.add("amina@example.org")
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == int(MEETING)  # a JSON number, beyond 32 bits
    assert len(body["registrant_id"]) == 22
    assert body["join_url"].startswith(f"{zoom.standin.base_url}/w/{MEETING}?tk=")
    assert body["topic"] == f"Session {MEETING}"
    assert body["occurrences"] == []
    assert isinstance(body["participant_pin_code"], int)

    [registrant] = zoom.standin.registrants("meeting", MEETING)
    assert registrant["id"] == body["registrant_id"]
    assert registrant["status"] == "approved"

    page = zoom.http.get(body["join_url"], timeout=5)
    assert page.status_code == 200
    assert f"Joining Session {MEETING} as Amina Haddad" in page.text


def test_a_webinar_registrant_has_no_pin_and_a_configured_topic(zoom):
    zoom.standin.add_session("webinar", WEBINAR, topic="Day 1 — الافتتاح")
    body = zoom.add("amina@example.org", kind="webinars", zoom_id=WEBINAR).json()
    assert body["id"] == int(WEBINAR)
    assert body["topic"] == "Day 1 — الافتتاح"
    assert "participant_pin_code" not in body
    assert zoom.standin.registrants("webinars", WEBINAR)[0]["email"] == "amina@example.org"
    assert zoom.standin.registrants("meeting", WEBINAR) == []


def test_adding_a_known_email_returns_the_same_registrant_and_counts(zoom):
    first = zoom.add("amina@example.org").json()
    again = zoom.add("AMINA@example.org")
    assert again.status_code == 201
    assert again.json()["registrant_id"] == first["registrant_id"]
    assert again.json()["join_url"] == first["join_url"]
    assert len(zoom.standin.registrants("meeting", MEETING)) == 1
    assert zoom.standin.add_attempts(MEETING, "amina@example.org") == 2
    assert len(zoom.standin.events) == 1  # no webhook for the repeat


def test_the_fourth_add_of_a_registrant_in_a_day_is_refused(zoom):
    for _ in range(3):
        assert zoom.add("amina@example.org").status_code == 201
    refused = zoom.add("Amina@Example.org")
    assert refused.status_code == 429
    assert refused.json()["code"] == 429
    assert "(3)" in refused.json()["message"]
    assert "Amina@Example.org" in refused.json()["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 86400
    assert zoom.standin.add_attempts(MEETING, "amina@example.org") == 4
    # the rule is per meeting: another meeting takes the same person
    assert zoom.add("amina@example.org", zoom_id="81234567891").status_code == 201


def test_the_daily_rule_resets_at_midnight_utc(make_zoom):
    now = [1_700_000_000.5]  # 2023-11-14T22:13:20.5Z
    zoom = make_zoom(clock=lambda: now[0])
    for _ in range(3):
        zoom.add("amina@example.org")
    refused = zoom.add("amina@example.org")
    assert refused.headers["Retry-After"] == "6400"
    now[0] += 6400
    zoom._token = None  # the token expired meanwhile
    assert zoom.add("amina@example.org").status_code == 201
    assert zoom.standin.add_attempts(MEETING, "amina@example.org") == 1


def test_a_batch_takes_30_and_refuses_31(zoom):
    accepted = zoom.batch(emails(30))
    assert accepted.status_code == 201
    registrants = accepted.json()["registrants"]
    assert [r["email"] for r in registrants] == emails(30)
    assert all(r["registrant_id"] and r["join_url"] for r in registrants)
    assert all(isinstance(r["participant_pin_code"], int) for r in registrants)

    refused = zoom.batch(emails(31, "q"))
    assert refused.status_code == 400
    assert refused.json()["code"] == 300
    assert zoom.batch([]).status_code == 400
    assert len(zoom.standin.registrants("meeting", MEETING)) == 30


def test_a_batch_with_a_registrant_over_the_daily_rule_is_refused_whole(zoom):
    for _ in range(3):
        zoom.add("amina@example.org")
    refused = zoom.batch(["new@example.org", "amina@example.org"])
    assert refused.status_code == 429
    assert "amina@example.org" in refused.json()["message"]
    assert "Retry-After" in refused.headers
    assert [r["email"] for r in zoom.standin.registrants("meeting", MEETING)] == [
        "amina@example.org"
    ]
    assert zoom.standin.add_attempts(MEETING, "new@example.org") == 1


def test_capacity_is_enforced_with_3043(make_zoom):
    zoom = make_zoom(capacity=3)
    for email in emails(3):
        assert zoom.add(email).status_code == 201
    full = zoom.add("late@example.org")
    assert full.status_code == 400
    assert full.json() == {
        "code": 3043,
        "message": "Meeting has reached maximum attendee capacity.",
    }
    assert zoom.add(emails(1)[0]).status_code == 201  # a known registrant is still answered
    assert zoom.batch(["late@example.org"]).json()["code"] == 3043

    zoom.standin.add_session("webinar", WEBINAR)
    assert zoom.batch(emails(3), kind="webinars", zoom_id=WEBINAR).status_code == 201
    webinar_full = zoom.add("late@example.org", kind="webinars", zoom_id=WEBINAR)
    assert webinar_full.json()["message"] == "Webinar has reached maximum attendee capacity."

    zoom.status("cancel", [{"email": emails(1)[0]}])  # a cancellation frees a seat
    assert zoom.add("late@example.org").status_code == 201


def test_concurrent_adds_never_pass_capacity(make_zoom):
    zoom = make_zoom(capacity=5)
    zoom.token  # noqa: B018 - one token for every thread
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda e: zoom.add(e).status_code, emails(20)))
    assert statuses.count(201) == 5
    assert statuses.count(400) == 15
    assert len(zoom.standin.registrants("meeting", MEETING)) == 5


def test_listing_pages_through_650_registrants(make_zoom):
    zoom = make_zoom(rate_limits={"heavy": 100})
    everyone = emails(650)
    for start in range(0, 650, 30):
        assert zoom.batch(everyone[start : start + 30]).status_code == 201

    seen: list[dict] = []
    pages: list[int] = []
    token = ""
    while True:
        params = {"page_size": 300, **({"next_page_token": token} if token else {})}
        body = zoom.list(**params).json()
        assert body["total_records"] == 650
        assert body["page_size"] == 300
        pages.append(len(body["registrants"]))
        seen.extend(body["registrants"])
        token = body["next_page_token"]
        if not token:
            break
    assert pages == [300, 300, 50]
    assert [r["email"] for r in seen] == everyone
    assert len({r["id"] for r in seen}) == 650
    assert set(seen[0]) >= {"id", "email", "first_name", "last_name", "status", "create_time"}
    assert seen[0]["join_url"].startswith(zoom.standin.base_url)

    default = zoom.list().json()
    assert default["page_size"] == 30
    assert len(default["registrants"]) == 30
    assert zoom.list(next_page_token="bogus").status_code == 400


def test_cancel_and_deny_through_the_status_endpoint(zoom):
    ids = [r["registrant_id"] for r in zoom.batch(emails(3)).json()["registrants"]]
    assert zoom.status("cancel", [{"id": ids[0]}]).status_code == 204
    assert zoom.status("deny", [{"email": "P1@example.org"}]).status_code == 204

    approved = zoom.list(status="approved").json()["registrants"]
    assert [r["id"] for r in approved] == [ids[2]]
    denied = zoom.list(status="denied").json()["registrants"]
    assert [(r["id"], r["status"]) for r in denied] == [(ids[1], "denied")]
    assert [r["id"] for r in zoom.standin.registrants("meeting", MEETING, "cancelled")] == [ids[0]]
    assert zoom.list(status="cancelled").status_code == 400

    # a cancelled registrant who registers again is a new registrant
    again = zoom.add(emails(3)[0]).json()
    assert again["registrant_id"] not in ids
    # a denied one is answered as before
    assert zoom.add(emails(3)[1]).json()["registrant_id"] == ids[1]

    cancelled_link = zoom.standin.registrants("meeting", MEETING, "cancelled")[0]["join_url"]
    assert zoom.http.get(cancelled_link, timeout=5).status_code == 403
    assert zoom.status("approve", [{"id": ids[1]}]).status_code == 204
    assert zoom.standin.registrants("meeting", MEETING)[1]["status"] == "approved"
    too_many = zoom.status("cancel", [{"id": "x"}] * 31)
    assert too_many.status_code == 400
    assert too_many.json()["code"] == 300


def test_manual_approval_leaves_registrants_pending(zoom):
    zoom.standin.add_session("meeting", MEETING, approval_type=1)
    registrant_id = zoom.add("amina@example.org").json()["registrant_id"]
    assert zoom.list(status="pending").json()["registrants"][0]["id"] == registrant_id
    assert zoom.batch(["yusuf@example.org"]).status_code == 201  # auto_approve: true
    assert [r["email"] for r in zoom.list().json()["registrants"]] == ["yusuf@example.org"]
    zoom.status("approve", [{"id": registrant_id}])
    assert zoom.list().json()["total_records"] == 2


def test_unknown_sessions_and_invalid_bodies(zoom):
    unknown = zoom.add("amina@example.org", zoom_id="123")
    assert unknown.status_code == 404
    assert unknown.json() == {"code": 3001, "message": "Meeting does not exist: 123."}
    zoom.standin.delete_session("webinar", WEBINAR)
    gone = zoom.list(kind="webinars", zoom_id=WEBINAR)
    assert gone.json() == {"code": 3001, "message": f"Webinar does not exist: {WEBINAR}."}

    path = f"/meetings/{MEETING}/registrants"
    for body in (
        {"first_name": "A"},
        {"email": "not-an-email", "first_name": "A"},
        {"email": "a@b.org"},
    ):
        refused = zoom.call("POST", path, json=body)
        assert refused.status_code == 400
        assert refused.json()["code"] == 300
    assert zoom.call("POST", path, data=b"{not json").json()["code"] == 300
    assert zoom.standin.registrants("meeting", MEETING) == []


def test_per_second_limits_answer_429_without_retry_after(zoom):
    zoom.token  # noqa: B018 - the token endpoint is not rate limited anyway
    started = time.monotonic()
    responses = [zoom.add(email) for email in emails(40)]
    elapsed = time.monotonic() - started
    limited = [r for r in responses if r.status_code == 429]
    assert limited
    if elapsed < 1.0:  # the whole burst inside one window: exactly the budget passes
        assert sum(r.status_code == 201 for r in responses) == 30
    for response in limited:
        assert "Retry-After" not in response.headers
        assert response.headers["X-RateLimit-Category"] == "Light"
        assert response.json()["message"].startswith("You have reached the maximum per-second")
    assert zoom.list().status_code == 200  # another category has its own budget


def test_heavy_requests_are_limited_to_10_a_second(zoom):
    statuses = [zoom.batch([f"b{n}@example.org"]).status_code for n in range(12)]
    assert 429 in statuses
    assert statuses.count(201) <= 11


def test_webhooks_are_signed_and_carry_numeric_ids(make_zoom, receiver):
    zoom = make_zoom(webhook_url=receiver.url)
    added = zoom.add("fatima@example.org", first="فاطمة").json()
    assert zoom.standin.wait_for_webhooks(5)

    [(headers, body)] = receiver.received
    assert headers["content-type"] == "application/json"
    assert headers["x-zm-signature"] == sign(SECRET, headers["x-zm-request-timestamp"], body)
    event = json.loads(body)
    assert event["event"] == "meeting.registration_created"
    assert isinstance(event["event_ts"], int)
    assert event["payload"]["account_id"] == zoom.standin.account_id
    obj = event["payload"]["object"]
    assert obj["id"] == int(MEETING)
    assert isinstance(obj["id"], int)
    assert obj["type"] == 2
    assert obj["registrant"] == {
        "id": added["registrant_id"],
        "first_name": "فاطمة",
        "last_name": "Haddad",
        "email": "fatima@example.org",
        "status": "approved",
        "join_url": added["join_url"],
    }
    assert "فاطمة".encode() in body  # raw UTF-8, signed as sent
    assert zoom.standin.delivered("meeting.registration_created") == [event]


def test_webhooks_for_batches_status_changes_and_joins(make_zoom, receiver):
    zoom = make_zoom(webhook_url=receiver.url)
    zoom.standin.add_session("webinar", WEBINAR)
    first = zoom.add("amina@example.org", kind="webinars", zoom_id=WEBINAR).json()
    zoom.batch(["amina@example.org", "omar@example.org"], kind="webinars", zoom_id=WEBINAR)
    body = {"action": "cancel", "registrants": [{"id": first["registrant_id"]}]}
    zoom.call("PUT", f"/webinars/{WEBINAR}/registrants/status", json=body)
    zoom.standin.join(WEBINAR)
    zoom.standin.join(WEBINAR, registrant_id=first["registrant_id"], email="amina@example.org")
    assert zoom.standin.wait_for_webhooks(5)

    for headers, raw in receiver.received:
        assert headers["x-zm-signature"] == sign(SECRET, headers["x-zm-request-timestamp"], raw)
    events = receiver.events()
    assert [e["event"] for e in events] == [
        "webinar.registration_created",
        "webinar.registration_created",  # omar only: amina was known
        "webinar.registration_cancelled",
        "webinar.participant_joined",
        "webinar.participant_joined",
    ]
    assert events[1]["payload"]["object"]["registrant"]["email"] == "omar@example.org"
    assert "last_name" not in events[1]["payload"]["object"]["registrant"]
    cancelled = events[2]["payload"]
    assert cancelled["operator"] == "host@example.org"
    assert cancelled["operator_id"]
    assert cancelled["object"]["type"] == 5
    assert cancelled["object"]["registrant"]["id"] == first["registrant_id"]
    anonymous = events[3]["payload"]["object"]["participant"]
    assert "email" not in anonymous
    assert "registrant_id" not in anonymous
    assert anonymous["user_name"] == "Guest"
    known = events[4]["payload"]["object"]
    assert known["id"] == int(WEBINAR)
    assert known["participant"]["registrant_id"] == first["registrant_id"]
    assert known["participant"]["email"] == "amina@example.org"
    assert known["participant"]["user_name"] == "Amina Haddad"
    assert {"user_id", "id", "participant_uuid", "join_time"} <= set(known["participant"])


def test_webhooks_are_retried_on_5xx_but_not_on_4xx(make_zoom, receiver):
    zoom = make_zoom(webhook_url=receiver.url, webhook_retry_delays=(0.05, 0.05, 0.05))
    receiver.answers = [500, 503]
    zoom.add("amina@example.org")
    assert zoom.standin.wait_for_webhooks(5)
    assert [s["status"] for s in zoom.standin.webhooks_sent] == [500, 503, 200]
    assert [s["attempt"] for s in zoom.standin.webhooks_sent] == [1, 2, 3]
    assert len({body for _, body in receiver.received}) == 1  # the same event, re-sent

    receiver.answers = [400]
    zoom.add("omar@example.org")
    assert zoom.standin.wait_for_webhooks(5)
    assert [s["status"] for s in zoom.standin.webhooks_sent][3:] == [400]


def test_an_endpoint_is_validated_as_zoom_does(make_zoom):
    import hashlib
    import hmac

    class Validating(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def do_POST(self) -> None:
            event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            plain = event["payload"]["plainToken"]
            digest = hmac.new(SECRET.encode(), plain.encode(), hashlib.sha256).hexdigest()
            data = json.dumps({"plainToken": plain, "encryptedToken": digest}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Validating)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        zoom = make_zoom(webhook_url=f"http://127.0.0.1:{server.server_address[1]}/")
        assert zoom.standin.validate_endpoint()
    finally:
        server.shutdown()
        server.server_close()


def test_dropped_webhooks_are_recorded_not_sent(make_zoom, receiver):
    zoom = make_zoom(webhook_url=receiver.url)
    zoom.standin.faults.webhook_drop_rate = 1.0
    zoom.add("amina@example.org")
    assert zoom.standin.wait_for_webhooks(2)
    assert receiver.received == []
    [dropped] = zoom.standin.webhooks_dropped
    assert dropped["event"] == "meeting.registration_created"
    assert dropped["reason"] == "fault"


def test_faults_before_and_after_the_work(make_zoom, receiver):
    zoom = make_zoom(webhook_url=receiver.url)
    zoom.standin.faults.set(error_rate=1.0)
    before = zoom.add("amina@example.org")
    assert before.status_code in (500, 502, 503)
    assert before.json()["code"] == before.status_code
    assert zoom.standin.registrants("meeting", MEETING) == []
    assert zoom.standin.add_attempts(MEETING, "amina@example.org") == 0

    zoom.standin.faults.error_mode = "after"
    after = zoom.add("amina@example.org")
    assert after.status_code == 502
    [registrant] = zoom.standin.registrants("meeting", MEETING)
    assert zoom.standin.wait_for_webhooks(5)
    assert len(receiver.received) == 1  # the work was done, only the answer was lost

    zoom.standin.faults.reset()
    retried = zoom.add("amina@example.org").json()
    assert retried["registrant_id"] == registrant["id"]
    assert zoom.standin.add_attempts(MEETING, "amina@example.org") == 2
    assert zoom.standin.calls("add") == 3

    with pytest.raises(ValueError, match="error_mode"):
        zoom.standin.faults.error_mode = "sometimes"


def test_extra_429s_and_latency(zoom):
    zoom.standin.faults.extra_429_rate = 1.0
    limited = zoom.list()
    assert limited.status_code == 429
    assert "Retry-After" not in limited.headers
    assert limited.headers["X-RateLimit-Category"] == "Medium"

    zoom.standin.faults.set(extra_429_rate=0.0, latency=0.2)
    started = time.monotonic()
    assert zoom.list().status_code == 200
    assert time.monotonic() - started >= 0.2


def test_counters_and_reset(zoom):
    zoom.add("amina@example.org")
    zoom.list()
    assert zoom.standin.calls("add") == 1
    assert zoom.standin.calls("add", kind="webinar") == 0
    assert zoom.standin.calls("list") == 1
    assert [entry["status"] for entry in zoom.standin.requests_log] == [200, 201, 200]
    zoom.standin.reset()
    assert zoom.standin.calls("add") == 0
    assert zoom.standin.registrants("meeting", MEETING) == []
    assert zoom.standin.add_attempts(MEETING, "amina@example.org") == 0
    assert zoom.add("amina@example.org").status_code == 201  # tokens survive a reset


def test_join_urls_on_a_public_zoom_origin(make_zoom, receiver):
    zoom = make_zoom(join_base="https://us06web.zoom.us", webhook_url=receiver.url)
    added = zoom.add("amina@example.org").json()
    [batched] = zoom.batch(["yusuf@example.org"]).json()["registrants"]
    zoom.call(
        "POST",
        f"/webinars/{WEBINAR}/panelists",
        json={"panelists": [{"name": "Layla Haddad", "email": "layla@example.org"}]},
    )

    public = f"https://us06web.zoom.us/w/{MEETING}?tk="
    assert added["join_url"].startswith(public)
    assert batched["join_url"].startswith(public)
    assert all(r["join_url"].startswith(public) for r in zoom.list().json()["registrants"])
    [panelist] = zoom.standin.panelists(WEBINAR)
    assert panelist["join_url"].startswith(f"https://us06web.zoom.us/w/{WEBINAR}?tk=")
    assert zoom.standin.wait_for_webhooks(5)
    assert receiver.events()[0]["payload"]["object"]["registrant"]["join_url"] == added["join_url"]
    # the page is the stand-in's own, at the same path and token
    path = added["join_url"].removeprefix("https://us06web.zoom.us")
    assert zoom.http.get(f"{zoom.standin.base_url}{path}", timeout=5).status_code == 200
