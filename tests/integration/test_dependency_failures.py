"""An AWS service failing for a while, on every HTTP route: a 503 with ``Retry-After``,
logged once with its cause, never a 500 and never a change half made.

Through the API on moto. Each failure enters the app's own boto3 clients before the
call leaves (so nothing reaches AWS), on every call of one service: DynamoDB throttled
or answering 500, a read timing out, a connection refused or dropped; Secrets Manager
the same when a container reads its secrets again. Caches are emptied first so that
each route has to reach the store. The organizer routes are tried twice: with the
token's store failing too (the authorizer fails: API Gateway's AUTHORIZER_FAILURE
response) and with only the route's own calls failing. Every request here would change
the table if it succeeded, or reads it; afterwards the table is as it was.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from chalicelib import auth, bootstrap
from chalicelib.adapters.aws import client
from chalicelib.adapters.dynamo.schema import from_attributes, to_attributes, token_key
from chalicelib.entrypoints.http import problem_type
from chalicelib.ports import Services
from chalicelib.signed_links import Purpose
from chalicelib.usecases import zoomhooks
from tests.builders import person
from tests.integration.test_bad_input_everywhere import (
    ZOOM_SECRET,
    Genuine,
    Known,
    campaign_body,
    registration_event,
)
from tests.integration.test_zoom_webhook_route import put_zoom_secret

FORM = "application/x-www-form-urlencoded"
ENDPOINT = "http://127.0.0.1:1"


def _throttled(operation: str) -> Exception:
    return ClientError(
        {
            "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        operation,
    )


def _server_error(operation: str) -> Exception:
    return ClientError(
        {
            "Error": {"Code": "InternalServerError", "Message": "Internal server error"},
            "ResponseMetadata": {"HTTPStatusCode": 500},
        },
        operation,
    )


FAILURES: dict[str, Callable[[str], Exception]] = {
    "throttled": _throttled,
    "5xx": _server_error,
    "timeout": lambda _: ReadTimeoutError(endpoint_url=ENDPOINT),
    "refused": lambda _: EndpointConnectionError(endpoint_url=ENDPOINT),
    "dropped": lambda _: ConnectionClosedError(endpoint_url=ENDPOINT),
}


class Outage:
    """Every call of a service fails (but those ``spared`` lets through)."""

    def __init__(self) -> None:
        self.hooks: list[tuple[str, Any]] = []
        self.failed: list[str] = []

    def start(
        self, service: str, kind: str, spared: Callable[[str, dict[str, Any]], bool] | None = None
    ) -> None:
        def fail(params: dict[str, Any], model: Any, **_: Any) -> None:
            if spared is not None and spared(model.name, params):
                return
            self.failed.append(model.name)
            raise FAILURES[kind](model.name)

        name = f"before-parameter-build.{service}"
        client(service).meta.events.register(name, fail)
        self.hooks.append((service, fail))

    def stop(self) -> None:
        for service, hook in self.hooks:
            client(service).meta.events.unregister(f"before-parameter-build.{service}", hook)
        self.hooks.clear()


@pytest.fixture
def outage() -> Iterator[Outage]:
    down = Outage()
    yield down
    down.stop()


@pytest.fixture(autouse=True)
def roomy_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAJLIS_REFUSED_LINKS_PER_MINUTE", "1000000")
    monkeypatch.setenv("MAJLIS_REGISTRATIONS_PER_MINUTE", "1000000")


def _forget_caches(aws: Services) -> None:
    """The app as a new container runs it: no event cached, no secret read yet (the
    same boto3 clients, where the failures enter)."""
    cold = bootstrap.on_aws(aws.settings)
    cold.clock = aws.clock
    bootstrap.use(cold)


def _table(aws: Services) -> list[dict[str, Any]]:
    """Everything in the table but the per-address request counters."""
    scan = boto3.client("dynamodb", region_name="us-east-1").get_paginator("scan")
    return sorted(
        (
            json.dumps(from_attributes(item), sort_keys=True, default=str)
            for page in scan.paginate(TableName=aws.settings.table_name, ConsistentRead=True)
            for item in page["Items"]
        ),
    )


def _queued() -> dict[str, int]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    found = {}
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        found[url] = int(attributes["ApproximateNumberOfMessages"])
    return found


def _form(fields: list[tuple[str, str]]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(fields).encode()


def _requests(
    aws: Services,
    genuine: Genuine,
    known: Known,
    bearer: dict[str, str],
    signed: dict[str, str] | None = None,
) -> dict[str, tuple[str, str, dict[str, str], bytes]]:
    """A request per route that changes the table if it succeeds (or reads it); with
    ``signed`` (a console session), the console's routes too."""
    conf = "/events/conf"
    as_json = {**bearer, "content-type": "application/json"}
    same_site = {"sec-fetch-site": "same-origin", "content-type": FORM}
    now = str(int(aws.clock().timestamp()))
    webhook = json.dumps(registration_event()).encode()
    manage = f"/manage/{genuine.token(Purpose.MANAGE)}"
    unsubscribe = f"/unsubscribe/{genuine.token(Purpose.UNSUBSCRIBE)}"
    signup = person(30, email="new.person@example.org")
    return {
        "event": ("GET", conf, {}, b""),
        "page": ("GET", f"{conf}/register", {}, b""),
        "preflight": (
            "OPTIONS",
            f"{conf}/registrations",
            {"origin": "https://conference.example.org"},
            b"",
        ),
        "register": (
            "POST",
            f"{conf}/registrations",
            {"content-type": "application/json"},
            json.dumps(signup).encode(),
        ),
        "form": (
            "POST",
            f"{conf}/register",
            same_site,
            _form(
                [
                    ("email", "form.person@example.org"),
                    ("first_name", "Amina"),
                    ("country", "PK"),
                    ("language", "ur"),
                    ("consent", "on"),
                    ("sessions", "education"),
                ]
            ),
        ),
        "challenge": ("GET", f"{conf}/challenge", {}, b""),
        "lost links page": ("GET", f"{conf}/links", {}, b""),
        "lost links": (
            "POST",
            f"{conf}/links",
            same_site,
            _form([("email", "person1@example.org")]),
        ),
        "join": ("GET", f"/join/{genuine.token(Purpose.JOIN)}", {}, b""),
        "join head": ("HEAD", f"/join/{genuine.token(Purpose.JOIN)}", {}, b""),
        "manage": ("GET", manage, {}, b""),
        "manage post": (
            "POST",
            manage,
            {"content-type": "application/json"},
            b'{"action": "update", "language": "ar"}',
        ),
        "unsubscribe": ("GET", unsubscribe, {}, b""),
        "unsubscribe post": ("POST", unsubscribe, {}, b""),
        "zoom": (
            "POST",
            "/webhooks/zoom",
            {
                "content-type": "application/json",
                "x-zm-request-timestamp": now,
                "x-zm-signature": zoomhooks.signature(ZOOM_SECRET, now, webhook),
            },
            webhook,
        ),
        "put event": ("PUT", conf, as_json, _retitled(aws)),
        "list": ("GET", f"{conf}/registrations", bearer, b""),
        "registration": ("GET", f"{conf}/registrations/{known.registration_id}", bearer, b""),
        "erase": ("DELETE", f"{conf}/registrations/{known.registration_id}", bearer, b""),
        "stats": ("GET", f"{conf}/stats", bearer, b""),
        "campaign": ("POST", f"{conf}/campaigns", as_json, json.dumps(campaign_body()).encode()),
        "campaign progress": ("GET", f"{conf}/campaigns/{known.campaign_id}", bearer, b""),
        "cancel": ("POST", f"{conf}/campaigns/{known.campaign_id}/cancel", bearer, b""),
        "export": ("POST", f"{conf}/exports", as_json, b"{}"),
        "export progress": ("GET", f"{conf}/exports/{known.export_id}", bearer, b""),
    } | (_console_requests(known, signed) if signed else {})


def _console_requests(
    known: Known, signed: dict[str, str]
) -> dict[str, tuple[str, str, dict[str, str], bytes]]:
    cookie = {"cookie": signed["cookie"]}
    same_site = {"sec-fetch-site": "same-origin", "content-type": FORM, **cookie}
    person_page = f"/console/events/conf/registrants/{known.registration_id}"
    return {
        "console ask": (
            "POST",
            "/console/signin",
            {"sec-fetch-site": "same-origin", "content-type": FORM},
            _form([("email", "organiser@example.org")]),
        ),
        "console sign in": (
            "POST",
            f"/console/signin/{signed['token']}",
            {"sec-fetch-site": "same-origin", "content-type": FORM},
            b"",
        ),
        "console overview": ("GET", "/console/events/conf", cookie, b""),
        "console registrants": ("GET", "/console/events/conf/registrants", cookie, b""),
        "console person": ("GET", person_page, cookie, b""),
        "console resend": (
            "POST",
            f"{person_page}/resend",
            same_site,
            _form([("csrf", signed["csrf"])]),
        ),
    }


def _retitled(aws: Services) -> bytes:
    event = aws.events.get("conf", fresh=True)
    body = event.model_dump(mode="json", exclude={"id", "revision"})
    body["title"] = {**body["title"], "en": "Retitled"}
    return json.dumps(body).encode()


ORGANIZER = {
    "put event",
    "list",
    "registration",
    "erase",
    "stats",
    "campaign",
    "campaign progress",
    "cancel",
    "export",
    "export progress",
}
# The console's pages behind a session (its read is let through, as the token's is).
CONSOLE = {"console overview", "console registrants", "console person", "console resend"}
PAGES = {
    *CONSOLE,
    "console ask",
    "console sign in",
    "page",
    "form",
    "lost links page",
    "lost links",
    "join",
    "join head",
    "manage",
    "unsubscribe",
    "unsubscribe post",
}
ROUTES = [
    *("event", "page", "preflight", "register", "form", "challenge"),
    *("lost links page", "lost links"),
    *("join", "join head", "manage", "manage post", "unsubscribe", "unsubscribe post", "zoom"),
    *sorted(ORGANIZER),
    *("console ask", "console sign in", *sorted(CONSOLE)),
]


@pytest.fixture
def bearer(aws: Services) -> dict[str, str]:
    token = auth.mint(aws.tokens, ["*"], list(auth.ROLES), "faults", aws.clock())
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
def signed(aws: Services) -> dict[str, str]:
    """An admin of ``conf`` signed in to the console, and a sign-in link still unused."""
    from chalicelib.usecases import console

    console.invite(aws, "conf", "admin@example.org", "admin", "faults")
    _, link = console.invite(aws, "conf", "organiser@example.org", "send", "faults")
    cookie, session = console.sign_in(aws, console.sign_in_token(aws, _first_link(aws)))
    return {
        "cookie": f"majlis_console={cookie}",
        "csrf": session.session.csrf,
        "token": console.sign_in_token(aws, link),
    }


def _first_link(aws: Services) -> Any:
    """The admin's invitation link (the first kept)."""
    from chalicelib.adapters.dynamo.schema import SIGN_IN, read_sign_in

    items = _items(aws, SIGN_IN)
    found = sorted((read_sign_in(item) for item in items), key=lambda link: link.signin_id)
    return found[0]


def _items(aws: Services, prefix: str) -> list[dict[str, Any]]:
    table = boto3.client("dynamodb").scan(TableName=aws.settings.table_name)["Items"]
    return [from_attributes(i) for i in table if i["pk"]["S"].startswith(prefix)]


def _session_read(operation: str, params: dict[str, Any]) -> bool:
    """The console session's read (let through: the page's own calls fail)."""
    return operation == "BatchGetItem"


def _token_read(bearer: dict[str, str]) -> Callable[[str, dict[str, Any]], bool]:
    """The authorizer's read of this token (let through: the route's own calls fail)."""
    key = to_attributes(token_key(auth.token_hash(bearer["authorization"].split()[1])))

    def spared(operation: str, params: dict[str, Any]) -> bool:
        return operation == "GetItem" and params.get("Key") == key

    return spared


def _assert_unavailable(response: Any, route: str) -> None:
    assert response.status_code == 503, (route, response.status_code, response.body[:300])
    assert response.headers.get("Retry-After", "").isdigit(), (route, response.headers)
    assert int(response.headers["Retry-After"]) >= 1
    if route in PAGES:
        assert response.headers["Content-Type"].startswith("text/html"), route
        if route != "join head":
            assert b'lang="' in response.body
    else:
        assert response.headers["Content-Type"] == "application/problem+json", route
        document = json.loads(response.body)
        assert document["type"] == problem_type("unavailable")
        assert document["status"] == 503


@pytest.mark.parametrize("route", ROUTES)
def test_dynamodb_failing_on_a_route_is_a_503_and_changes_nothing(
    aws,
    api,
    outage,
    genuine,
    known,
    bearer,
    signed,
    route,
    caplog,
):
    put_zoom_secret(ZOOM_SECRET)
    requests = _requests(aws, genuine, known, bearer, signed)
    method, path, headers, body = requests[route]
    variants = [None, _token_read(bearer)] if route in ORGANIZER else [None]
    if route in CONSOLE:
        variants = [None, _session_read]
    for kind in FAILURES:
        for spared in variants:
            _forget_caches(aws)
            before, queued = _table(aws), _queued()
            caplog.clear()
            outage.start("dynamodb", kind, spared)
            with caplog.at_level(logging.WARNING):
                response = api.http.request(method, path, headers=headers, body=body)
            outage.stop()
            assert outage.failed, (route, kind, "no DynamoDB call was made")
            _assert_unavailable(response, route)
            assert _table(aws) == before, (route, kind)
            assert _queued() == queued, (route, kind)
            said = [r for r in caplog.records if "dependency unavailable" in r.getMessage()]
            assert len(said) == 1, (route, kind, [r.getMessage() for r in caplog.records])
            assert not [r for r in caplog.records if r.levelno >= logging.ERROR], route
    # And once the store is back, the same request succeeds
    _forget_caches(aws)
    answered = api.http.request(method, path, headers=headers, body=body)
    assert answered.status_code < 500, (route, answered.status_code, answered.body[:300])


@pytest.mark.parametrize("route", ["join", "manage", "unsubscribe post", "zoom"])
def test_secrets_manager_failing_when_a_container_reads_its_secrets_is_a_503(
    aws,
    api,
    outage,
    genuine,
    bearer,
    route,
):
    put_zoom_secret(ZOOM_SECRET)
    requests = _requests(aws, genuine, Known("", "", ""), bearer)
    method, path, headers, body = requests[route]
    for kind in FAILURES:
        _forget_caches(aws)
        before = _table(aws)
        outage.start("secretsmanager", kind)
        response = api.http.request(method, path, headers=headers, body=body)
        outage.stop()
        assert outage.failed, (route, kind, "the secret was not read")
        _assert_unavailable(response, route)
        assert _table(aws) == before, (route, kind)


@pytest.mark.parametrize("route", ["challenge", "register"])
def test_secrets_manager_failing_on_a_challenge_s_routes_is_a_503(aws, api, outage, route):
    """The challenge is made and checked with the signing keys: a new container that
    cannot read them answers 503, and stores nothing."""
    import altcha

    from chalicelib.usecases.events import put_event
    from chalicelib.usecases.registrations import challenge
    from tests.builders import event_body, zoom_base_for

    put_event(aws, "guarded", event_body(zoom_base_for("guarded"), challenge=True))
    parsed = altcha.Challenge.from_dict(challenge(aws, "guarded"))
    payload = altcha.Payload(parsed, altcha.solve_challenge(parsed)).to_base64()
    path = "/events/guarded/" + ("challenge" if route == "challenge" else "registrations")
    method, body = ("GET", b"") if route == "challenge" else ("POST", b"")
    if route == "register":
        body = json.dumps(person(31, email="guarded@example.org", altcha=payload)).encode()
    for kind in FAILURES:
        _forget_caches(aws)
        before = _table(aws)
        outage.start("secretsmanager", kind)
        response = api.http.request(
            method, path, headers={"content-type": "application/json"}, body=body
        )
        outage.stop()
        assert outage.failed, (route, kind, "the secret was not read")
        _assert_unavailable(response, route)
        assert _table(aws) == before, (route, kind)
    # The keys back: the same solution registers
    _forget_caches(aws)
    answered = api.http.request(
        method, path, headers={"content-type": "application/json"}, body=body
    )
    assert answered.status_code in (200, 201), answered.body[:300]
