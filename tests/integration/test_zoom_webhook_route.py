"""POST /webhooks/zoom through the API on moto: verified, answered, recorded once.

The Zoom secret lives in Secrets Manager (``majlis/zoom``); each test puts its value
before the first request (the ``aws`` fixture builds a fresh Majlis per test, so the
secret's 300-second cache never carries a value over).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import boto3
import pytest

from chalicelib.ports import Services
from chalicelib.usecases.zoomhooks import signature

SECRET = "route-webhook-secret"
VECTOR_SECRET = "secretValueTest"
VECTOR_TIMESTAMP = "1658940994"
VECTOR_BODY = (
    b'{"event":"session.started","payload":{"account_id":"{ACCOUNT_ID}","object":'
    b'{"start_time":"2022-07-27T16:56:34Z","id":"{SESSION_ID}"}},"event_ts":1658940994914}'
)
VECTOR_SIGNATURE = "v0=96e8a131e9983d4bc96627eee7c67f9506d0aeb8f767260a822fb3f2abe703d5"


def put_zoom_secret(webhook_secret: str) -> None:
    """The webhook secret token, in its own secret as an operator puts it."""
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId="majlis/zoom-webhook", SecretString=json.dumps({"secret_token": webhook_secret})
    )


@pytest.fixture
def hooks(api: Any) -> Any:
    put_zoom_secret(SECRET)
    return api


def now(aws: Services) -> str:
    return str(int(aws.clock().timestamp()))


def post(api: Any, body: bytes, headers: dict[str, str]) -> Any:
    return api.http.post(
        "/webhooks/zoom", body=body, headers={"Content-Type": "application/json", **headers}
    )


def signed(body: bytes, timestamp: str, secret: str = SECRET) -> dict[str, str]:
    return {
        "x-zm-request-timestamp": timestamp,
        "x-zm-signature": signature(secret, timestamp, body),
    }


def created_body(email: str = "new@example.org", name: str = "Amina") -> bytes:
    event = {
        "event": "webinar.registration_created",
        "event_ts": 1700000000000,
        "payload": {
            "account_id": "acct",
            "object": {
                "uuid": "u==",
                "id": 81234567890,
                "host_id": "host",
                "topic": "Education",
                "type": 5,
                "start_time": "2027-03-06T12:00:00Z",
                "duration": 120,
                "timezone": "Asia/Jerusalem",
                "registrant": {
                    "id": "zr-route-1",
                    "first_name": name,
                    "email": email,
                    "status": "approved",
                    "join_url": "https://us06web.zoom.us/w/81234567890?tk=abc",
                },
            },
        },
    }
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def hook_items() -> list[dict[str, Any]]:
    db = boto3.client("dynamodb", region_name="us-east-1")
    items = []
    for page in db.get_paginator("scan").paginate(TableName="majlis"):
        items += [i for i in page["Items"] if i["pk"]["S"].startswith("ZOOMHOOK#")]
    return items


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].startswith("application/problem+json")
    document = json.loads(response.body)
    assert document["status"] == status
    assert document["detail"]
    assert "Traceback" not in response.body.decode()
    return document


def test_the_designs_known_vector_is_refused_as_too_old(aws, api):
    put_zoom_secret(VECTOR_SECRET)
    response = post(
        api,
        VECTOR_BODY,
        {"x-zm-request-timestamp": VECTOR_TIMESTAMP, "x-zm-signature": VECTOR_SIGNATURE},
    )
    document = assert_problem(response, 401)
    assert "timestamp" in document["detail"].lower()
    assert hook_items() == []


def test_the_known_vector_body_signed_now_verifies(aws, api):
    put_zoom_secret(VECTOR_SECRET)
    response = post(api, VECTOR_BODY, signed(VECTOR_BODY, now(aws), VECTOR_SECRET))
    assert response.status_code == 200, response.body
    assert json.loads(response.body) == {"status": "received"}
    # session.started is not an event Majlis handles: acknowledged, not kept
    assert hook_items() == []


def test_a_signed_registration_event_is_recorded_once_in_the_table(aws, hooks):
    body = created_body(name="فاطمة 🌙")
    for _ in range(2):  # Zoom does not de-duplicate
        response = post(hooks, body, signed(body, now(aws)))
        assert response.status_code == 200, response.body
        assert json.loads(response.body) == {"status": "received"}
    [item] = hook_items()
    assert item["pk"]["S"] == f"ZOOMHOOK#{hashlib.sha256(body).hexdigest()}"
    assert item["sk"]["S"] == "HOOK"
    assert item["kind"]["S"] == "zoom_webhook"
    assert item["body"]["S"] == body.decode("utf-8")
    assert int(item["expires_at_epoch"]["N"]) > int(now(aws))


@pytest.mark.parametrize(
    "case",
    [
        "wrong signature",
        "signed with another secret",
        "no signature",
        "no timestamp",
        "no headers",
        "timestamp 301 s old",
        "timestamp 301 s ahead",
        "body re-serialised",
    ],
)
def test_what_zoom_did_not_sign_is_a_401_problem_and_nothing_is_stored(aws, hooks, case):
    body = created_body()
    ts = now(aws)
    good = signed(body, ts)
    requests = {
        "wrong signature": (body, {**good, "x-zm-signature": "v0=" + "0" * 64}),
        "signed with another secret": (body, signed(body, ts, "another-secret")),
        "no signature": (body, {"x-zm-request-timestamp": ts}),
        "no timestamp": (body, {"x-zm-signature": good["x-zm-signature"]}),
        "no headers": (body, {}),
        "timestamp 301 s old": (body, signed(body, str(int(ts) - 301))),
        "timestamp 301 s ahead": (body, signed(body, str(int(ts) + 301))),
        "body re-serialised": (json.dumps(json.loads(body)).encode(), good),
    }
    sent, headers = requests[case]
    refused = post(hooks, sent, headers)
    assert_problem(refused, 401)
    # Zoom's signature, not an organizer's token, is what is missing
    assert json.loads(refused.body)["type"] == "urn:majlis:problem:unsigned"
    assert "organizer" not in json.loads(refused.body)["title"].lower()
    assert hook_items() == []


def test_url_validation_is_answered(aws, hooks):
    body = json.dumps(
        {
            "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
            "event_ts": 1654503849680,
            "event": "endpoint.url_validation",
        }
    ).encode()
    response = post(hooks, body, signed(body, now(aws)))
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("application/json")
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert json.loads(response.body) == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": expected,
    }
    assert hook_items() == []


def test_a_body_over_64_kib_is_refused_with_413(aws, hooks):
    padding = "x" * (70 * 1024)
    body = json.dumps({"event": "webinar.registration_created", "padding": padding}).encode()
    assert len(body) > 70 * 1024
    response = post(hooks, body, signed(body, now(aws)))
    assert_problem(response, 413)
    assert hook_items() == []


def test_without_a_webhook_secret_configured_nothing_is_accepted(aws, api):
    # The secret as created by the infrastructure: no value at all.
    body = created_body()
    response = post(api, body, signed(body, now(aws), ""))
    assert_problem(response, 401)
    assert hook_items() == []


def test_not_json_but_signed_is_a_400_problem(aws, hooks):
    body = b"{not json"
    assert_problem(post(hooks, body, signed(body, now(aws))), 400)
    assert hook_items() == []


def test_once_relayed_to_the_zoom_queue_the_table_keeps_the_digest_and_not_the_body(aws, hooks):
    """A webhook may name a person (an address, names): the table holds its body only
    until the stream has put it on the zoom queue; what keeps a resend from being
    applied twice is its digest, kept 7 days."""
    import app
    from infra.local.lambdas import Lambdas
    from tests.conftest import with_zoom_queues

    with_zoom_queues(aws)
    stream = Lambdas.of_table(app, aws.settings.table_name, "on_table_change")
    body = created_body(email="erase-me@example.org")
    assert post(hooks, body, signed(body, now(aws))).status_code == 200
    assert stream.run_stream() == 2  # the webhook recorded, then its body dropped
    [item] = hook_items()
    assert item["pk"]["S"] == f"ZOOMHOOK#{hashlib.sha256(body).hexdigest()}"
    assert "body" not in item
    assert "erase-me" not in json.dumps(item)
    assert item["relayed_at"]["S"] and int(item["expires_at_epoch"]["N"]) > int(now(aws))
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName="majlis-zoom")["QueueUrl"]
    [queued] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(queued["Body"])["body"] == body.decode("utf-8")
    # Zoom sends it again: received, and nothing new is recorded or queued.
    assert post(hooks, body, signed(body, now(aws))).status_code == 200
    assert stream.run_stream() == 0
    assert [i["pk"] for i in hook_items()] == [item["pk"]]
