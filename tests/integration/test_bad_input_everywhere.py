"""Bad input on every other route: links, pages, the Zoom webhook, organizers, headers.

``test_bad_input_properties.py`` covers the registration API's bodies and fields, deep
JSON, unknown event ids, the organizer listing's query and ``PUT`` event bodies; this
file takes its strategies and helpers and goes over the rest, through the chalice test
client on moto:

- the links in emails (``/join``, ``/manage``, ``/unsubscribe``) with spoiled tokens,
  any path segment and any body: a kind page with a 4xx status, nothing changed;
- ``/webhooks/zoom`` unsigned or badly signed (401), and signed with garbage: an
  acknowledgement or a problem, and nothing recorded that the zoom worker cannot apply;
- the public event, the hosted page and its form with any segment, query and body;
- every organizer route with a valid token and any id, query, body, content type and
  encoding: the normal answer or a problem document, nothing stored when refused;
- odd and oversized headers on each route: the normal answer or a 4xx.

"Nothing changed" is heard rather than guessed: the tests listen on the app's own AWS
clients and collect every successful call that is not a read (a write, a queued
message, an email). The test client does not decode the path as API Gateway does: a
``%2F`` reaches the route as it is.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlparse

import boto3
import pytest
from hypothesis import assume, event, example, given
from hypothesis import strategies as st

from chalicelib.adapters.aws import client
from chalicelib.domain.ids import new_id
from chalicelib.domain.registrations import RegistrationFilter
from chalicelib.entrypoints.http import problem_types
from chalicelib.ports import Services
from chalicelib.signed_links import ExpiredLink, InvalidLink, Keys, Link, Purpose, sign, verify
from chalicelib.usecases import zoomhooks
from tests.builders import LANGUAGES, NOW, event_body, person
from tests.integration.test_bad_input_properties import (
    MAX_BODY,
    accepted_types,
    adversarial,
    any_char,
    assert_problem,
    json_values,
    junk_requests,
    long_text,
    mutated,
    nasty_text,
    numbers,
    organizer_headers,
    other_types,
    props,
    query_names,
    query_values,
    scalars,
    segments,
)
from tests.integration.test_selfservice_routes import multipart
from tests.integration.test_zoom_webhook_route import put_zoom_secret

HTML = "text/html; charset=utf-8"
FORM = "application/x-www-form-urlencoded"
ZOOM_SECRET = "bad-input-webhook-secret"
FAR = datetime(2027, 12, 1, tzinfo=UTC)  # genuine tokens expire long after the tests' clock
ZOOM_IDS = [f"8123456789{index}" for index in range(8)]  # the sessions of event_body()
Test = TypeVar("Test", bound=Callable[..., Any])


def examples(*cases: dict[str, Any], **shared: Any) -> Callable[[Test], Test]:
    """One ``@example`` per case (a property's nasty edge cases), with ``shared`` in each."""

    def decorate(test: Test) -> Test:
        for case in reversed(cases):
            test = example(**{**shared, **case})(test)
        return test

    return decorate


def pick(*strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of ``strategies``, each as likely as the others (``st.one_of`` flattens nested
    choices and weighs each by how many it holds)."""
    return st.sampled_from(strategies).flatmap(lambda chosen: chosen)


# -- listening for changes -------------------------------------------------------------

SERVICES = ("dynamodb", "sqs", "ses", "sesv2", "s3")
READS = ("Get", "Query", "Scan", "Describe", "List", "BatchGet", "TransactGet", "Head")


def tables_of(params: dict[str, Any]) -> set[str]:
    """The DynamoDB tables one call's parameters name."""
    found = {params["TableName"]} if "TableName" in params else set()
    found |= set(params.get("RequestItems", {}))
    for item in params.get("TransactItems", []):
        found |= {action["TableName"] for action in item.values()}
    return found


class Changes:
    """Every successful call of the app's AWS clients that is not a read.

    The app makes all its calls through the clients ``adapters.aws.client`` caches. A
    failed conditional write changes nothing and is not counted, nor is a call that
    touches only the per-address request counters (counting a refused request is what a
    rate limit does, not a change to the conference's data).
    """

    def __init__(self, counters: str | None) -> None:
        self.counters = {counters} if counters else set()
        self.calls: list[str] = []

    def note(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["majlis_tables"] = tables_of(params)

    def hear(self, model: Any, parsed: Any, context: dict[str, Any], **_: Any) -> None:
        tables = context.get("majlis_tables") or set()
        counting = bool(tables) and tables <= self.counters
        if not model.name.startswith(READS) and "Error" not in (parsed or {}) and not counting:
            self.calls.append(model.name)

    def of(self, call: Callable[..., Any], *args: Any) -> tuple[Any, list[str]]:
        """What ``call(*args)`` returns, and the changes it made."""
        self.calls.clear()
        answer = call(*args)
        return answer, list(self.calls)


@pytest.fixture(autouse=True)
def roomy_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-address limits far above these tests' hundreds of requests from one address
    in one frozen minute: the answers here are about the input, not the rate."""
    monkeypatch.setenv("MAJLIS_REFUSED_LINKS_PER_MINUTE", "1000000")
    monkeypatch.setenv("MAJLIS_REGISTRATIONS_PER_MINUTE", "1000000")


@pytest.fixture
def changes(aws: Services) -> Iterator[Changes]:
    heard = Changes(getattr(aws.settings, "limits_table_name", None))
    for service in SERVICES:
        client(service).meta.events.register("provide-client-params", heard.note)
        client(service).meta.events.register("after-call", heard.hear)
    try:
        yield heard
    finally:
        for service in SERVICES:
            client(service).meta.events.unregister("provide-client-params", heard.note)
            client(service).meta.events.unregister("after-call", heard.hear)


def request(api: Any, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
    return api.http.request(method, path, headers=headers, body=body)


def test_what_is_heard_is_what_changes(api: Any, changes: Changes) -> None:
    """The listener hears a registration, so its silence elsewhere means something."""
    body = json.dumps(person(7)).encode()
    headers = {"content-type": "application/json"}
    response, heard = changes.of(request, api, "POST", "/events/conf/registrations", headers, body)
    assert response.status_code == 201
    assert "TransactWriteItems" in heard
    _, heard = changes.of(request, api, "GET", "/events/conf", {}, b"")
    assert heard == []


# -- answers ---------------------------------------------------------------------------


def assert_api_problem(response: Any) -> dict[str, Any]:
    """An RFC 9457 document whose type, title and status agree with the answer's status."""
    document = assert_problem(response)
    assert document["type"] in problem_types(response.status_code), document
    assert document["title"], document
    return document


def assert_kind_page(response: Any) -> str:
    """A page in a language we speak, with a 4xx status and no trace of the code."""
    assert 400 <= response.status_code < 500, (response.status_code, response.body[:300])
    assert response.headers.get("Content-Type") == HTML, response.headers
    html = response.body.decode("utf-8")
    assert any(f'<html lang="{language}"' in html for language in LANGUAGES), html[:300]
    assert "Traceback" not in html
    assert response.headers.get("Cache-Control") == "no-store"
    return html


def is_page(response: Any) -> bool:
    return response.headers.get("Content-Type") == HTML


def with_type(content_type: str | None, headers: dict[str, str] | None = None) -> dict[str, str]:
    found = dict(headers or {})
    if content_type is not None:
        found["content-type"] = content_type
    return found


def routed(path: str) -> list[str]:
    """The segments of ``path`` the gateway matches routes with."""
    route = urlparse(path).path
    if route != "/" and route.endswith("/"):
        route = route[:-1]  # as API Gateway and chalice local do
    return route.split("/")[1:]


# -- strategies ------------------------------------------------------------------------

# Path segments beyond the existing ones: empty, dots, slashes (raw and encoded), NUL,
# broken percent-encodings, very long, lookalikes of a token's own punctuation.
ODD_SEGMENTS = [
    *("", ".", "..", "...", "a/b", "/", "%2F", "%2f..%2f", "%2e%2e", "..%2F..%2Fetc%2Fpasswd"),
    *("%00", "\x00", "a\x00b", "%", "%%", "%zz", "%u0041", "😀", "\ud800", "مرحبا", "\u202e"),
    *("~", "~~~~.", "k1~", "k1~" + "0" * 26 + "~~1~zz.", "\ufeff", "null", "undefined"),
    *("." * 300, "a" * 5000, "~" * 400),
]
no_query = any_char.filter(lambda c: c not in "?#")
path_segments = st.one_of(
    segments,
    st.sampled_from(ODD_SEGMENTS),
    st.text(no_query, max_size=30),
    st.text(no_query, min_size=1, max_size=4).map(lambda piece: piece * 2000),
)
query_strings = st.one_of(
    st.just(""),
    st.lists(st.tuples(query_names, query_values), max_size=4).map(
        lambda pairs: "?" + urlencode(pairs, quote_via=quote)
    ),
    st.sampled_from(["?", "??", "?&&", "?=", "?lang=", "?lang=ar&lang=en", "?lang=%ff", "?#"]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40).map(
        lambda text: "?" + text
    ),
)
accept_languages = st.one_of(
    st.none(),
    st.sampled_from(["ar", "ur-PK,ur;q=0.9", "*", "q=1", "en;q=nan", "ar;q=1e999", ",,,", "-"]),
    nasty_text,
)
# Bodies a page or link route may be sent: anything the registration API may be sent,
# and multipart forms (a mail provider's one-click unsubscribe is one).
multipart_bodies = st.lists(
    st.tuples(st.sampled_from(["action", "List-Unsubscribe", "language", "x"]), nasty_text),
    max_size=4,
).map(lambda fields: multipart([(k, v.encode("utf-8", "replace").decode()) for k, v in fields]))
page_bodies = st.one_of(
    junk_requests().map(lambda request: request[:2]),
    multipart_bodies.map(lambda built: (built[1], built[0])),
    st.tuples(
        st.sampled_from(["multipart/form-data", "multipart/form-data; boundary=", "multipart/x"]),
        st.binary(max_size=200),
    ),
)


# -- 1: links in emails ----------------------------------------------------------------


@dataclass(frozen=True)
class Spoil:
    """How a genuine token is spoiled; applied inside a test, to that test's own links."""

    how: str
    at: int = 0
    text: str = ""


spoils = st.one_of(
    st.builds(
        Spoil, st.just("change"), st.integers(0, 200), st.characters(exclude_characters="?#")
    ),
    st.builds(Spoil, st.sampled_from(["cut", "drop", "encode"]), st.integers(0, 200)),
    st.builds(Spoil, st.just("extend"), text=st.text(no_query, min_size=1, max_size=20)),
    st.builds(Spoil, st.just("purpose"), text=st.sampled_from([p.value for p in Purpose])),
    st.sampled_from([Spoil("expired"), Spoil("revoked"), Spoil("unknown key")]),
    st.builds(Spoil, st.just("replace"), text=path_segments),
)


@dataclass
class Genuine:
    """One registrant's genuine tokens, and spoiled ones made from them."""

    keys: Keys
    registration_id: str
    version: int

    def token(
        self, purpose: Purpose, *, version: int | None = None, expires_at: datetime = FAR
    ) -> str:
        session = "education" if purpose is Purpose.JOIN else ""
        version = self.version if version is None else version
        return sign(self.keys, Link(purpose, self.registration_id, session, version, expires_at))

    def spoiled(self, purpose: Purpose, spoil: Spoil) -> tuple[str, int]:
        """(the token, the status it deserves: 404 not ours, 410 ours but no longer)."""
        token = self.token(purpose)
        at = spoil.at % len(token)
        if spoil.how == "change":
            assume(spoil.text != token[at])
            return token[:at] + spoil.text + token[at + 1 :], 404
        if spoil.how == "cut":
            return token[:at], 404
        if spoil.how == "drop":
            return token[at + 1 :], 404
        if spoil.how == "encode":
            return token[:at] + f"%{ord(token[at]):02X}" + token[at + 1 :], 404
        if spoil.how == "extend":
            return token + spoil.text, 404
        if spoil.how == "purpose":
            assume(spoil.text != purpose.value)
            return self.token(Purpose(spoil.text)), 404
        if spoil.how == "expired":
            return self.token(purpose, expires_at=NOW.replace(month=2)), 410
        if spoil.how == "revoked":
            return self.token(purpose, version=self.version + 1), 410
        if spoil.how == "unknown key":
            stranger = Keys(active="k9", secrets={"k9": "not one of ours"})
            return sign(stranger, Link(purpose, self.registration_id, "", 1, FAR)), 404
        return spoil.text, 404

    def opens(self, purpose: Purpose, token: str) -> bool:
        try:
            verify(self.keys, purpose, token, NOW)
        except (InvalidLink, ExpiredLink):
            return False
        return True


JOIN, MANAGE, UNSUBSCRIBE = Purpose.JOIN, Purpose.MANAGE, Purpose.UNSUBSCRIBE
LINK_ROUTES = [("GET", JOIN), ("GET", MANAGE), ("POST", MANAGE), ("GET", UNSUBSCRIBE)]
LINK_ROUTES.append(("POST", UNSUBSCRIBE))


@props(200)
@given(
    route=st.sampled_from(LINK_ROUTES),
    spoil=spoils,
    query=query_strings,
    body=page_bodies,
    language=accept_languages,
)
@examples(
    {"route": ("GET", JOIN), "spoil": Spoil("change", 40, "/")},
    {"route": ("GET", JOIN), "spoil": Spoil("extend", text="\x00")},
    {"route": ("GET", JOIN), "spoil": Spoil("extend", text="/")},
    {"route": ("GET", JOIN), "spoil": Spoil("purpose", text="manage")},
    {"route": ("GET", JOIN), "spoil": Spoil("expired"), "language": "fr"},
    {"route": ("GET", MANAGE), "spoil": Spoil("cut", 60), "language": "ar"},
    {"route": ("GET", MANAGE), "spoil": Spoil("purpose", text="unsubscribe")},
    {"route": ("GET", MANAGE), "spoil": Spoil("replace", text="")},
    {"route": ("GET", UNSUBSCRIBE), "spoil": Spoil("encode", 3)},
    {"route": ("GET", UNSUBSCRIBE), "spoil": Spoil("replace", text="\ud800")},
    {"route": ("POST", UNSUBSCRIBE), "spoil": Spoil("purpose", text="manage")},
    {"route": ("POST", UNSUBSCRIBE), "spoil": Spoil("replace", text="a" * 5000)},
    {"route": ("POST", MANAGE), "spoil": Spoil("replace", text="%00")},
    {
        "route": ("POST", MANAGE),
        "spoil": Spoil("revoked"),
        "body": ("application/json", b'{"action": "cancel"}'),
    },
    {
        "route": ("POST", MANAGE),
        "spoil": Spoil("replace", text="%2F..%2F"),
        "body": (FORM, b"action=cancel"),
    },
    {"route": ("POST", MANAGE), "spoil": Spoil("cut", 10), "body": ("application/json", b"\xff")},
    {"route": ("POST", MANAGE), "spoil": Spoil("cut", 10), "body": ("multipart/form-data", b"")},
    query="",
    body=(None, b""),
    language=None,
)
def test_spoiled_links_get_a_kind_page_and_change_nothing(
    api: Any,
    genuine: Genuine,
    changes: Changes,
    route: tuple[str, Purpose],
    spoil: Spoil,
    query: str,
    body: tuple[str | None, bytes],
    language: str | None,
) -> None:
    method, purpose = route
    token, deserved = genuine.spoiled(purpose, spoil)
    path = f"/{purpose.value}/{token}{query}"
    parts = routed(path)
    if deserved == 404:  # a change that left a genuine token (its last bits are unused)
        assume(len(parts) != 2 or not genuine.opens(purpose, parts[1]))
    content_type, raw = body if method == "POST" else (None, b"")
    headers = with_type(content_type, {} if language is None else {"accept-language": language})

    response, changed = changes.of(request, api, method, path, headers, raw)
    event(f"{method} {purpose.value} {response.status_code}")
    assert changed == [], changed
    if len(parts) != 2:
        assert_api_problem(response)  # no route for that path: the gateway's 404
        assert response.status_code == 404
        return
    json_in = (content_type or "").split(";")[0].strip().lower() == "application/json"
    if method == "POST" and purpose is MANAGE and json_in:
        # JSON in, JSON out: the body is read (and may be refused) before the link.
        assert_api_problem(response)
        assert response.status_code in (deserved, 400, 413, 415, 422)
        return
    assert_kind_page(response)
    assert response.status_code == deserved


def as_api_gateway_calls(
    method: str, resource: str, parameters: dict[str, str], body: str
) -> dict[str, Any]:
    """The app invoked as API Gateway invokes it, path parameters decoded (``%2F`` is a
    slash, ``%00`` a NUL): the test client hands them over as they were sent."""
    from chalice.local import LambdaContext

    import app

    proxy = {
        "requestContext": {
            "httpMethod": method,
            "resourcePath": resource,
            "identity": {"sourceIp": "192.0.2.1"},
            "path": resource,
            "requestId": new_id(),
        },
        "headers": {"content-type": "application/json"},
        "pathParameters": parameters,
        "multiValueQueryStringParameters": None,
        "stageVariables": {},
        "body": body,
    }
    return app.app(proxy, LambdaContext("api_handler", 256))


DECODED_ROUTES = [
    *(("GET", "/join/{token}"), ("GET", "/manage/{token}"), ("POST", "/manage/{token}")),
    *(("GET", "/unsubscribe/{token}"), ("POST", "/unsubscribe/{token}")),
    *(("GET", "/events/{event_id}"), ("GET", "/events/{event_id}/register")),
    *(("POST", "/events/{event_id}/register"), ("POST", "/events/{event_id}/registrations")),
]
decoded_segments = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40),
    st.sampled_from(["/", "a/b", "../..", ".", "..", "\x00", "conf/", "conf\n", " conf", "CONF"]),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=3).map(
        lambda piece: piece * 3000
    ),
)


@props(80)
@given(route=st.sampled_from(DECODED_ROUTES), segment=decoded_segments)
@examples(
    {"route": ("GET", "/join/{token}"), "segment": "a/b"},
    {"route": ("POST", "/manage/{token}"), "segment": "\x00"},
    {"route": ("GET", "/events/{event_id}/register"), "segment": "conf/"},
    {"route": ("POST", "/events/{event_id}/registrations"), "segment": "conf\n"},
    {"route": ("GET", "/events/{event_id}/register"), "segment": "conf"},
)
def test_decoded_path_parameters_are_not_found(
    aws: Services, changes: Changes, route: tuple[str, str], segment: str
) -> None:
    method, resource = route
    ours = segment == "conf" and "event_id" in resource  # the one id that is found
    assume(not (ours and method == "POST"))
    name = resource.split("{")[1].split("}")[0]
    # A body each route would take, so that only the path can be what is wrong.
    body = json.dumps(person(3) if resource.endswith("registrations") else {"action": "cancel"})
    answer, changed = changes.of(as_api_gateway_calls, method, resource, {name: segment}, body)
    event(f"{method} {resource} {answer['statusCode']}")
    assert changed == [], changed
    assert answer["statusCode"] == (200 if ours else 404), (route, segment[:40], answer)
    if ours:
        return
    if answer["headers"]["Content-Type"] == HTML:
        assert "<html lang=" in answer["body"]
    else:
        document = json.loads(answer["body"])
        assert answer["headers"]["Content-Type"] == "application/problem+json"
        assert document["status"] == 404 and document["type"] in problem_types(404)


manage_values = st.one_of(
    adversarial,
    st.sampled_from(["ar", "de", "UR", "Asia/Karachi", "Mars/Olympus", "Asia/Karachi\n"]),
    st.sampled_from([["education"], ["youth", "youth"], ["nope"], [], [10**400], {"youth": 1}]),
)
manage_fields = st.dictionaries(
    st.one_of(
        st.sampled_from(["language", "timezone", "sessions", "confirm", "email"]), nasty_text
    ),
    manage_values,
    max_size=4,
)
manage_actions = st.one_of(
    st.sampled_from(["update", "cancel", "CANCEL", "cancel ", "Update", "", None]), adversarial
)


def _form_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def manage_body(action: Any, fields: dict[str, Any], kind: str) -> tuple[str, bytes]:
    """(content type, body) of a manage POST; a cancellation always carries a stray field."""
    document = {**fields, "action": action}
    if action == "cancel":
        document["reason"] = "a field a cancellation does not take"
    if action is None:
        del document["action"]
    if kind == "json":
        return "application/json", json.dumps(document).encode("utf-8", "surrogatepass")
    pairs = [
        (name, _form_text(item))
        for name, value in document.items()
        for item in (value if isinstance(value, list) and name == "sessions" else [value])
    ]
    if kind == "form":
        body = urlencode(pairs, encoding="utf-8", errors="surrogatepass")
        return FORM, body.encode("ascii")
    printable = [
        (name.encode("utf-8", "replace").decode(), value.encode("utf-8", "replace").decode())
        for name, value in pairs
        if not set(name) & set('"\r\n')
    ]
    body, content_type = multipart(printable)
    return content_type, body


@props(100)
@given(
    action=manage_actions,
    fields=manage_fields,
    kind=st.sampled_from(["json", "form", "multipart"]),
)
@examples(
    {"action": "update", "fields": {"sessions": [10**400]}, "kind": "json"},
    {"action": "update", "fields": {"sessions": []}, "kind": "form"},
    {"action": "update", "fields": {"language": "\ud800"}, "kind": "json"},
    {"action": "update", "fields": {"language": {"a": {"a": "ar"}}}, "kind": "json"},
    {"action": "update", "fields": {"timezone": "Asia/Karachi\n"}, "kind": "form"},
    {"action": "cancel", "fields": {}, "kind": "form"},
    {"action": "cancel", "fields": {"\ud800": None}, "kind": "json"},  # echoed field name
    {"action": ["cancel"], "fields": {}, "kind": "json"},
)
def test_a_genuine_manage_link_with_any_body(
    api: Any,
    aws: Services,
    genuine: Genuine,
    changes: Changes,
    action: Any,
    fields: dict[str, Any],
    kind: str,
) -> None:
    content_type, body = manage_body(action, fields, kind)
    path = f"/manage/{genuine.token(MANAGE)}"
    headers = {"content-type": content_type}
    response, changed = changes.of(request, api, "POST", path, headers, body)
    event(f"{kind} {response.status_code}")
    assert response.status_code in (200, 400, 413, 415, 422), response.status_code
    if response.status_code != 200:
        assert changed == [], changed
        if kind == "json":
            assert_api_problem(response)
        else:
            assert_kind_page(response)
        return
    assert action == "update", (action, fields)  # never a cancellation
    stored = aws.registrations.get(genuine.registration_id, consistent=True)
    assert stored is not None and stored.status.value == "registered"
    conf = aws.events.get("conf")
    assert conf is not None and stored.language in conf.languages
    assert stored.sessions and set(stored.sessions) <= set(conf.session_ids)


@props(50)
@given(
    route=st.sampled_from([("GET", MANAGE), ("GET", UNSUBSCRIBE), ("POST", UNSUBSCRIBE)]),
    query=query_strings,
    language=accept_languages,
    body=page_bodies,
)
@examples(
    {"route": ("POST", UNSUBSCRIBE), "body": ("text/plain", b"\xff")},
    {"route": ("GET", MANAGE), "query": "?lang=" + "ar," * 3000, "language": "ar;q=" + "9" * 5000},
    query="",
    language=None,
    body=(None, b""),
)
def test_genuine_links_with_any_query_header_and_body(
    api: Any,
    genuine: Genuine,
    changes: Changes,
    route: tuple[str, Purpose],
    query: str,
    language: str | None,
    body: tuple[str | None, bytes],
) -> None:
    """A GET shows and changes nothing; the one-click POST takes any body."""
    method, purpose = route
    content_type, raw = body if method == "POST" else (None, b"")
    headers = with_type(content_type, {} if language is None else {"accept-language": language})
    path = f"/{purpose.value}/{genuine.token(purpose)}{query}"
    response, changed = changes.of(request, api, method, path, headers, raw)
    assert response.status_code == 200, (response.status_code, response.body[:300])
    assert response.headers["Content-Type"] == HTML
    assert '<html lang="ur" dir="rtl">' in response.body.decode()
    if method == "GET":
        assert changed == [], changed


# -- 2: the Zoom webhook ---------------------------------------------------------------


@pytest.fixture
def zoom(aws: Services) -> Services:
    """Majlis with a Zoom webhook secret (the next test's ``aws`` puts it back as created)."""
    put_zoom_secret(ZOOM_SECRET)
    return aws


def seconds(aws: Services) -> int:
    return int(aws.clock().timestamp())


def zoom_post(api: Any, body: bytes, headers: dict[str, str]) -> Any:
    return api.http.post("/webhooks/zoom", headers=headers, body=body)


webhook_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.sampled_from(
        [
            b"",
            b"{}",
            b'{"event": "endpoint.url_validation", "payload": {"plainToken": "x"}}',
            b'{"event": "webinar.registration_created", "event_ts": 1e999}',
            b"[" * 50_000,
            b"1" * 5_000,
            b"NaN",
            b"{" * (MAX_BODY + 1),
        ]
    ),
)
timestamps = st.one_of(
    st.none(),
    st.sampled_from(["", "0", "-1", "+1", " 1", "1e3", "0x10", "nan", "1658940994", str(2**64)]),
    st.sampled_from(["²", "١٦٥٨٩٤٠٩٩٤", "𝟏𝟔𝟓𝟖𝟗𝟒𝟎𝟗𝟗𝟒", "9" * 5_000]),
    st.text(max_size=20),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
)
# How a request's signature is wrong; each is made from the request itself.
FORGERIES = (
    *("missing", "empty", "random", "other secret", "other timestamp", "other body"),
    *("upper case", "truncated", "padded", "v1", "not ascii", "stale", "future"),
)


def forged(kind: str, body: bytes, timestamp: str, now: int, text: str) -> dict[str, str]:
    """Headers of a request whose signature (or timestamp) Zoom did not make."""
    if kind in ("stale", "future"):
        moved = str(now - 301 if kind == "stale" else now + 301)
        made = zoomhooks.signature(ZOOM_SECRET, moved, body)
        return {"x-zm-request-timestamp": moved, "x-zm-signature": made}
    good = zoomhooks.signature(ZOOM_SECRET, timestamp, body)
    signatures = {
        "empty": "",
        "random": text,
        "other secret": zoomhooks.signature("another app's secret", timestamp, body),
        "other timestamp": zoomhooks.signature(ZOOM_SECRET, str(now - 1), body),
        "other body": zoomhooks.signature(ZOOM_SECRET, timestamp, body + b" "),
        "upper case": "v0=" + good[3:].upper(),
        "truncated": good[:-1],
        "padded": good + " ",
        "v1": "v1=" + good[3:],
        "not ascii": good[:-1] + "é",
    }
    headers = {"x-zm-request-timestamp": timestamp}
    if kind != "missing":
        headers["x-zm-signature"] = signatures[kind]
    return headers


@props(120)
@given(
    body=webhook_bodies,
    forgery=st.sampled_from(FORGERIES),
    timestamp=timestamps,
    text=st.text(max_size=80),
    content_type=st.one_of(accepted_types, other_types),
)
@examples(
    {"timestamp": "²"},
    {"timestamp": "9" * 5_000},
    {"timestamp": "١٦٥٨٩٤٠٩٩٤"},
    {"forgery": "not ascii", "timestamp": None},
    {"forgery": "random", "text": "v0=é"},
    {"forgery": "random", "text": "v0=\ud800"},
    {"body": b"{" * (MAX_BODY + 1), "forgery": "missing", "content_type": None},
    body=b"{}",
    forgery="random",
    timestamp=None,
    text="v0=",
    content_type="application/json",
)
def test_unsigned_zoom_webhooks_are_refused(
    api: Any,
    zoom: Services,
    changes: Changes,
    body: bytes,
    forgery: str,
    timestamp: str | None,
    text: str,
    content_type: str | None,
) -> None:
    now = seconds(zoom)
    sent_at = str(now) if timestamp is None else timestamp
    headers = with_type(content_type, forged(forgery, body, sent_at, now, text))
    response, changed = changes.of(zoom_post, api, body, headers)
    event(f"{forgery} {response.status_code}")
    assert changed == [], changed
    assert_api_problem(response)
    assert response.status_code == (413 if len(body) > MAX_BODY else 401)


registrants = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=12), long_text, scalars),
        "registrant_id": st.one_of(st.text(max_size=12), long_text),
        "email": st.one_of(
            st.sampled_from(["zoom1@example.org", "Zoom2@Example.org", "a@b"]),
            nasty_text,
            long_text,
            scalars,
        ),
        "first_name": st.one_of(nasty_text, long_text, scalars),
        "last_name": scalars,
        "join_url": st.one_of(st.just("https://us06web.zoom.us/w/1?tk=x"), scalars),
        "join_time": scalars,
        "participant_uuid": st.one_of(nasty_text, long_text),
        "user_name": st.one_of(nasty_text, long_text, numbers),
    },
)
zoom_objects = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(
            st.sampled_from(ZOOM_IDS), st.sampled_from(ZOOM_IDS).map(int), scalars, long_text
        ),
        "registrant": st.one_of(registrants, json_values),
        "participant": st.one_of(registrants, json_values),
    },
)
zoom_kinds = st.one_of(
    st.sampled_from(sorted(zoomhooks.HANDLED)),
    st.just("endpoint.url_validation"),
    st.sampled_from(["meeting.started", "webinar.", "Webinar.registration_created"]),
    scalars,
)
zoom_events = st.fixed_dictionaries(
    {},
    optional={
        "event": zoom_kinds,
        "event_ts": st.one_of(st.integers(1_600_000_000_000, 1_900_000_000_000), numbers, scalars),
        "payload": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "account_id": scalars,
                    "object": st.one_of(zoom_objects, json_values),
                    "plainToken": st.one_of(st.text(max_size=40), scalars),
                },
            ),
            json_values,
        ),
    },
)


def registration_event(kind: str = "webinar.registration_created", **changes: Any) -> Any:
    """A handled event for one of our sessions, with ``changes`` (dotted keys) made to it."""
    document: Any = {
        "event": kind,
        "event_ts": 1_700_000_000_000,
        "payload": {"object": {"id": ZOOM_IDS[0], "registrant": {"id": "r1"}}},
    }
    for dotted, value in changes.items():
        *path, last = dotted.split(".")
        node = document
        for key in path:
            node = node[key]
        node[last] = value
    return document


# Bodies no JSON encoder writes, signed as they are.
RAW_BODIES = [
    *(b"[" * 50_000, b'{"a":' * 5_000, b"1" * 5_000, b"NaN", b"", b"\xff", b"{" * (MAX_BODY + 1)),
    b'{"event": "webinar.registration_created", "event_ts": 1e999, "payload": {"object": {}}}',
    b'{"event": "webinar.registration_created", "event_ts": NaN, "payload": {"object": {}}}',
    b'{"event": "endpoint.url_validation", "payload": {"plainToken": "\xff"}}',
    b'{"event": "meeting.participant_joined", "event": "endpoint.url_validation"}',
]


def zoom_event(kind: str, zoom_id: Any, person: dict[str, Any], event_ts: int) -> Any:
    """A handled event as Zoom sends it, for a meeting or webinar (ours or not)."""
    role = "participant" if kind.endswith("participant_joined") else "registrant"
    subject = {"id": zoom_id, "topic": "Education", role: person}
    return {"event": kind, "event_ts": event_ts, "payload": {"account_id": "a", "object": subject}}


zoom_people = st.fixed_dictionaries(
    {
        "id": st.text("abcdefghjkmnpqrstvwxyz0123456789", min_size=1, max_size=12),
        "email": st.sampled_from(["zoom1@example.org", "Zoom1@Example.org", "zoom2@example.org"]),
        "first_name": st.one_of(st.just("Amina"), nasty_text),
    },
    optional={"join_url": st.just("https://us06web.zoom.us/w/1?tk=x"), "last_name": nasty_text},
)
shaped_zoom_events = st.builds(
    zoom_event,
    st.sampled_from(sorted(zoomhooks.HANDLED)),
    st.one_of(st.sampled_from(ZOOM_IDS), st.sampled_from(ZOOM_IDS).map(int), st.just("1")),
    zoom_people,
    st.integers(min_value=1_600_000_000_000, max_value=1_900_000_000_000),
)


@props(150)
@given(
    document=pick(
        shaped_zoom_events,
        shaped_zoom_events.flatmap(lambda document: mutated(document, adversarial)),
        shaped_zoom_events.flatmap(lambda document: mutated(document, adversarial)),
        zoom_events,
        json_values,
        st.sampled_from(RAW_BODIES),
    ),
    ascii_only=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "utf-8-sig"]),
    content_type=st.one_of(accepted_types, other_types),
)
@examples(
    {"document": {"event": "endpoint.url_validation", "payload": [1]}},
    {"document": {"event": "endpoint.url_validation", "payload": {"plainToken": "\ud800"}}},
    {"document": {"event": "endpoint.url_validation", "payload": {"plainToken": 10**400}}},
    {"document": registration_event(payload="x")},
    {"document": registration_event(event_ts="soon")},
    {"document": registration_event(event_ts=10**400)},
    {"document": registration_event(event_ts=1e999)},
    {"document": registration_event(event_ts=True)},
    {"document": registration_event(**{"payload.object.registrant": "r1"})},
    {"document": registration_event(**{"payload.object.id": "9" * 3000})},
    {"document": registration_event(**{"payload.object.registrant.id": "r" * 3000})},
    {"document": registration_event("webinar.participant_joined", **{"payload.object": ["x"]})},
    {
        "document": registration_event(
            "meeting.participant_joined", **{"payload.object.participant": {"user_id": "u" * 3000}}
        )
    },
    {
        "document": registration_event(
            **{"payload.object.registrant": {"email": "zoom1@example.org", "first_name": "\ud800"}}
        ),
        "ascii_only": False,
    },
    {"document": registration_event(), "encoding": "utf-16"},
    {"document": registration_event(event={"a": None})},
    {"document": registration_event(event=["webinar.registration_created"])},
    *({"document": raw} for raw in RAW_BODIES),
    ascii_only=True,
    encoding="utf-8",
    content_type=None,
)
def test_signed_garbage_is_answered_and_never_poisons_the_zoom_queue(
    api: Any,
    zoom: Services,
    changes: Changes,
    document: Any,
    ascii_only: bool,
    encoding: str,
    content_type: str | None,
) -> None:
    """Signed by someone with the secret, shaped by no one: 200 or 4xx, and whatever is
    recorded, the zoom worker can apply (a record it cannot would come back forever)."""
    if isinstance(document, bytes):
        body = document
    else:
        body = json.dumps(document, ensure_ascii=ascii_only).encode(encoding, "surrogatepass")
    now = str(seconds(zoom))
    signature = zoomhooks.signature(ZOOM_SECRET, now, body)
    headers = {"x-zm-request-timestamp": now, "x-zm-signature": signature}
    response, changed = changes.of(zoom_post, api, body, with_type(content_type, headers))
    event(f"{response.status_code} {changed}")
    assert response.status_code in (200, 400, 413), (response.status_code, response.body[:300])
    if len(body) > MAX_BODY:
        assert response.status_code == 413
    if response.status_code != 200:
        assert_api_problem(response)
        assert changed == [], changed
        return
    assert response.headers["Content-Type"] == "application/json"
    answer = json.loads(response.body)
    if isinstance(document, dict) and document.get("event") == "endpoint.url_validation":
        assert set(answer) == {"plainToken", "encryptedToken"}, answer
    else:
        assert answer == {"status": "received"}
    assert set(changed) <= {"PutItem"}, changed
    if not changed:
        return
    key = {"pk": {"S": f"ZOOMHOOK#{hashlib.sha256(body).hexdigest()}"}, "sk": {"S": "HOOK"}}
    recorded = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=zoom.settings.table_name, Key=key
    )["Item"]["body"]["S"]
    event(f"applied: {zoomhooks.apply(zoom, recorded)}")  # as the zoom worker would, unfailing
    for registration in zoom.registrations.page("conf", RegistrationFilter(), 500, None).items:
        assert registration.sessions, registration  # and every registration still whole


# -- 3: the public event, the hosted page and its form ---------------------------------

event_ids = pick(st.just("conf"), path_segments)
origins = st.one_of(
    st.none(),
    st.sampled_from(["https://conference.example.org", "null", "http://127.0.0.1:8000", ""]),
    nasty_text,
)
PUBLIC_ROUTES = {
    "event": ("GET", "/events/{}"),
    "page": ("GET", "/events/{}/register"),
    "preflight": ("OPTIONS", "/events/{}/registrations"),
    "asset": ("GET", "/assets/{}"),
}


@props(100)
@given(
    route=st.sampled_from(sorted(PUBLIC_ROUTES)),
    segment=event_ids,
    query=query_strings,
    language=accept_languages,
    origin=origins,
)
@examples(
    {"route": "page", "query": "?lang=" + "ar" * 5000},
    {"route": "page", "query": "?lang=%00", "language": "ar;q=nan, en;q=inf"},
    {"route": "event", "query": "?lang=ur&lang=ar", "origin": "\x00"},
    {"route": "preflight", "origin": "https://conference.example.org\n"},
    {"route": "asset", "segment": "%2e%2e"},
    {"route": "asset", "segment": "page.css\x00"},
    segment="conf",
    query="",
    language=None,
    origin=None,
)
def test_the_public_event_and_its_page_with_any_segment_and_query(
    api: Any,
    changes: Changes,
    route: str,
    segment: str,
    query: str,
    language: str | None,
    origin: str | None,
) -> None:
    method, template = PUBLIC_ROUTES[route]
    path = template.format(segment) + query
    sent = {"accept-language": language, "origin": origin}
    headers = {name: value for name, value in sent.items() if value is not None}
    response, changed = changes.of(request, api, method, path, headers, b"")
    status = response.status_code
    event(f"{route} {status}")
    assert changed == []
    found = routed(path)
    ours = len(found) == template.count("/") and found[1] == "conf"
    if status in (200, 204):
        assert ours or route == "asset", (path, status)
        if route == "preflight":
            allowed = response.headers["Access-Control-Allow-Origin"]
            assert allowed == origin == "https://conference.example.org"
    elif route == "page" and is_page(response):
        assert_kind_page(response)
        assert status == 404 and not ours
    else:
        assert_api_problem(response)
        assert status in (403, 404), (path, status)


@props(100)
@given(
    segment=event_ids,
    form=page_bodies,
    site=st.sampled_from([None, "same-origin", "cross-site"]),
)
@examples(
    {"form": (FORM, b"consent=true&email=" + b"a" * MAX_BODY)},
    {"form": (FORM, b"sessions=%ff")},
    {"form": (FORM, b"updates=maybe&updates=" + b"x" * 100)},
    {"form": (FORM, b"email=a@b&" * 300)},
    {"form": ("multipart/form-data; boundary=x", b"--x\r\nContent-Type: text/plain\r\n\r\n")},
    {"form": ("application/json", b'{"email": "person9@example.org"}')},
    {"form": (FORM, b"website=https://spam.example")},
    {"segment": "a/b", "form": (FORM, b"")},
    segment="conf",
    site=None,
)
def test_the_registration_form_with_any_body(
    api: Any,
    changes: Changes,
    segment: str,
    form: tuple[str | None, bytes],
    site: str | None,
) -> None:
    content_type, body = form
    headers = with_type(content_type, {} if site is None else {"sec-fetch-site": site})
    path = f"/events/{segment}/register"
    response, changed = changes.of(request, api, "POST", path, headers, body)
    event(f"{'conf' if segment == 'conf' else 'unknown'} {response.status_code}")
    assert changed == [], changed
    if len(routed(path)) != 3:
        assert_api_problem(response)  # no route: the gateway's 404
        assert response.status_code == 404
        return
    if response.status_code == 200:  # only the honeypot answers as a success
        assert b"website" in body, body[:300]
        assert response.headers["Content-Type"] == HTML
        return
    assert_kind_page(response)
    if len(body) > MAX_BODY and segment == "conf" and site != "cross-site":
        assert response.status_code == 413


# -- 4: the organizer API with a valid token -------------------------------------------

ORGANIZER_ROUTES = [
    ("PUT", "/events/{event}"),
    ("GET", "/events/{event}/registrations"),
    ("GET", "/events/{event}/registrations/{id}"),
    ("DELETE", "/events/{event}/registrations/{id}"),
    ("GET", "/events/{event}/stats"),
    ("POST", "/events/{event}/campaigns"),
    ("GET", "/events/{event}/campaigns/{id}"),
    ("POST", "/events/{event}/campaigns/{id}/cancel"),
    ("POST", "/events/{event}/exports"),
    ("GET", "/events/{event}/exports/{id}"),
]
PUT_EVENT, _, GET_ONE, ERASE, STATS, CAMPAIGN, PROGRESS, CANCEL, EXPORT, EXPORTED = ORGANIZER_ROUTES


def campaign_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Day 2 programme",
        "audience": {"languages": ["ur", "ar"]},
        "content": {"ar": {"subject": "البرنامج", "text": "مرحبا {{first_name}}"}},
        "send_at": "2027-03-05T09:00:00Z",
    }
    body.update(overrides)
    return body


mutated_campaigns = st.builds(campaign_body, dry_run=st.booleans()).flatmap(
    lambda body: mutated(body, adversarial)
)


# JSON text a client encoded otherwise than in UTF-8, said or not in its charset.
ENCODINGS = ["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1256", "utf-8-sig", "utf-7"]
LITERALS = [
    *("1" * 401, "1" * 5000, "1e999", "-0", "-0.0", "NaN", "Infinity", "-Infinity"),
    *('{"name": 1e999}', '{"name": NaN}', '{"dry_run": -0}', '{"send_at": 1' + "0" * 400 + "}"),
    '{"audience": {"sessions": [Infinity]}}',
    '{"content": {"ar": {"subject": "x", "text": "y"}}, "name": "n", "send_at": -1e999}',
    *("[" * 50_000, '{"a":' * 5_000, "{" * (MAX_BODY + 1)),
]


@st.composite
def organizer_bodies(draw: st.DrawFn) -> tuple[str | None, bytes]:
    """(content type, body) of an organizer request."""
    kind = draw(st.sampled_from(["bytes", "json", "campaign", "literal", "multipart", "encoded"]))
    content_type = draw(pick(st.just("application/json"), accepted_types, other_types))
    if kind == "bytes":
        return content_type, draw(st.binary(max_size=300))
    if kind == "json":
        return content_type, json.dumps(draw(json_values)).encode("utf-8", "surrogatepass")
    if kind == "campaign":
        body = draw(mutated_campaigns)
        return content_type, json.dumps(body).encode("utf-8", "surrogatepass")
    if kind == "literal":
        return content_type, draw(st.sampled_from(LITERALS)).encode()
    if kind == "multipart":
        body, multipart_type = multipart([("name", "x"), ("dry_run", "true")])
        return draw(st.sampled_from([multipart_type, "multipart/form-data"])), body
    encoding = draw(st.sampled_from(ENCODINGS))
    document = draw(st.sampled_from([campaign_body(dry_run=True), event_body()]))
    charset = draw(st.sampled_from([None, encoding, "utf-8", "UTF-8", '"utf-8"', ""]))
    declared = "application/json" + ("" if charset is None else f"; charset={charset}")
    return declared, json.dumps(document, ensure_ascii=False).encode(encoding, "replace")


@dataclass(frozen=True)
class Known:
    """What exists in the table for the organizer routes to find."""

    registration_id: str
    campaign_id: str
    export_id: str

    def sub_id(self, template: str, which: str) -> str:
        """The id in a path: the known one of its kind, an unknown one, or ``which``."""
        if which == "unknown":
            return new_id()
        if which != "known":
            return which
        kind = template.split("/")[3] if template.count("/") > 3 else ""
        ids = {
            "registrations": self.registration_id,
            "campaigns": self.campaign_id,
            "exports": self.export_id,
        }
        return ids.get(kind, "")


@pytest.fixture
def bearer(aws: Services) -> dict[str, str]:
    """An organizer token with every role for every event, minted before any request."""
    return organizer_headers(aws)


sub_ids = pick(
    st.just("known"),
    st.just("known"),
    st.just("unknown"),
    path_segments,
    st.sampled_from([str(10**400), "-0", "NaN", "1e999", new_id().upper(), new_id() + "\n"]),
)


@props(250)
@given(
    route=st.sampled_from(ORGANIZER_ROUTES),
    event_id=pick(st.just("conf"), st.just("conf"), st.just("other-event"), path_segments),
    sub_id=sub_ids,
    query=query_strings,
    body=organizer_bodies(),
)
@examples(
    {"route": CAMPAIGN, "body": ("application/json; charset=latin-1", b'{"name": "caf\xe9"}')},
    {"route": CAMPAIGN, "body": ("application/json", '{"name": "x"}'.encode("utf-16"))},
    {"route": CAMPAIGN, "body": ("application/json", b'{"name": "\xff"}')},
    {"route": CAMPAIGN, "body": ("application/json", b'{"send_at": 1' + b"0" * 400 + b"}")},
    {"route": CAMPAIGN, "body": ("application/json", b'{"send_at": NaN, "dry_run": Infinity}')},
    {"route": CAMPAIGN, "body": ("application/json", b'{"send_at": "+275760-09-13T00:00:00Z"}')},
    {"route": CAMPAIGN, "body": ("application/json", b'{"send_at": "9999-12-31T23:59:59-23:59"}')},
    {"route": CAMPAIGN, "body": ("text/plain", json.dumps(campaign_body()).encode())},
    {"route": CAMPAIGN, "body": (None, json.dumps(campaign_body()).encode())},
    {"route": CAMPAIGN, "body": ("multipart/form-data; boundary=x", b"--x--")},
    {"route": PUT_EVENT, "body": ("application/json; charset=utf-16", b"\xff\xfe{\x00}\x00")},
    {"route": PUT_EVENT, "body": ("application/json", b"{" * (MAX_BODY + 1))},
    {"route": GET_ONE, "sub_id": "a" * 3000},
    {"route": ERASE, "sub_id": "\ud800"},
    {"route": PROGRESS, "sub_id": str(10**400)},
    {"route": CANCEL, "event_id": "other-event"},
    {"route": EXPORT, "query": "?status=registered&status=waitlisted"},
    {"route": EXPORT, "query": "?cursor=x&limit=10"},
    {"route": EXPORTED, "query": "?%ff=%ff"},
    {"route": STATS, "event_id": "a" * 5000},
    event_id="conf",
    sub_id="known",
    query="",
    body=(None, b""),
)
def test_organizer_routes_with_any_input(
    api: Any,
    aws: Services,
    known: Known,
    bearer: dict[str, str],
    changes: Changes,
    route: tuple[str, str],
    event_id: str,
    sub_id: str,
    query: str,
    body: tuple[str | None, bytes],
) -> None:
    method, template = route
    if method == "DELETE" and sub_id == "known":
        sub_id = "unknown"  # erasing someone is not bad input
    path = template.format(event=event_id, id=known.sub_id(template, sub_id)) + query
    content_type, raw = body if method in ("PUT", "POST") else (None, b"")
    headers = with_type(content_type, bearer)

    response, changed = changes.of(request, api, method, path, headers, raw)
    status = response.status_code
    event(f"{method} {template} {status}")
    assert status < 500, (status, response.body[:300])
    if status >= 400:
        assert_api_problem(response)
        assert changed == [], changed  # nothing stored, no campaign, no export
        ours = route in (PUT_EVENT, CAMPAIGN) and urlparse(path).path == template.format(
            event="conf"
        )
        if ours and len(raw) > MAX_BODY:
            assert status == 413
        return
    if method == "GET":
        assert changed == [], changed
    if status == 204:
        assert method == "DELETE"
        return
    assert response.headers["Content-Type"] == "application/json"
    answer = json.loads(response.body)
    assert isinstance(answer, dict)
    if route == CAMPAIGN and status == 202:
        assert aws.campaigns.get(answer["campaign_id"]) is not None


# -- 5: odd and oversized headers on every route ---------------------------------------

BIG = 16 * 1024
HEADER_NAMES = [
    *("accept-language", "origin", "cookie", "authorization", "content-type", "content-length"),
    *("sec-fetch-site", "x-zm-signature", "x-zm-request-timestamp", "user-agent", "referer"),
    *("x-forwarded-for", "host", "accept", "transfer-encoding", "expect", "x-amzn-trace-id"),
]


def _repeat_to(piece: str, size: int) -> str:
    return (piece * (size // len(piece) + 1))[:size]


def _many(count: int, size: int) -> dict[str, str]:
    return {f"x-majlis-{n}": "v" * size for n in range(count)}


big_values = st.builds(
    _repeat_to,
    st.sampled_from(["a", "é", "ب", "😀", "a,", "ar;q=0.5,", "=", " ", "Bearer ", "mjt_", "a=b; "]),
    st.integers(min_value=BIG, max_value=BIG + 64),
)
odd_headers = st.one_of(
    st.dictionaries(st.sampled_from(HEADER_NAMES), big_values, min_size=1, max_size=2),
    st.builds(_many, st.integers(min_value=100, max_value=600), st.integers(0, 64)),
    st.builds(
        lambda scheme, token: {"authorization": f"{scheme} {token}"},
        st.sampled_from(["Bearer", "bearer", "Basic", "", "Bearer  "]),
        st.one_of(big_values, st.sampled_from(["mjt_", "mjt_" + "a" * 96, "mjt_é"]), nasty_text),
    ),
    st.builds(lambda value: {"cookie": value}, st.one_of(big_values, nasty_text)),
    st.builds(
        lambda value: {"content-length": value},
        st.sampled_from(["0", "-1", "1", str(10**30), "abc", "65537", " 5", "1,2", "", "1e3"]),
    ),
    st.dictionaries(st.sampled_from(HEADER_NAMES), nasty_text, min_size=1, max_size=4),
)


def usual_requests(
    aws: Services, genuine: Genuine, known: Known, bearer: dict[str, str]
) -> dict[str, tuple[str, str, dict[str, str], bytes]]:
    """A request each route answers as usual without changing anything, by route name."""
    now = str(seconds(aws))
    validation = b'{"event": "endpoint.url_validation", "payload": {"plainToken": "p"}}'
    signed = {
        "content-type": "application/json",
        "x-zm-request-timestamp": now,
        "x-zm-signature": zoomhooks.signature(ZOOM_SECRET, now, validation),
    }
    as_json = {**bearer, "content-type": "application/json"}
    spoiled = genuine.token(JOIN)[:-3]
    manage = f"/manage/{genuine.token(MANAGE)}"
    conf = "/events/conf"
    allowed = {"origin": "https://conference.example.org"}
    dry_run = json.dumps(campaign_body(dry_run=True)).encode()
    return {
        "event": ("GET", conf, {}, b""),
        "page": ("GET", f"{conf}/register", {}, b""),
        "preflight": ("OPTIONS", f"{conf}/registrations", allowed, b""),
        "register": ("POST", f"{conf}/registrations", as_json, b'{"consent": false}'),
        "form": ("POST", f"{conf}/register", {"content-type": FORM}, b"consent=false"),
        "join": ("GET", f"/join/{spoiled}", {}, b""),
        "manage": ("GET", manage, {}, b""),
        "manage post": ("POST", manage, {"content-type": FORM}, b"action=nothing"),
        "unsubscribe": ("GET", f"/unsubscribe/{genuine.token(UNSUBSCRIBE)}", {}, b""),
        "unsubscribe post": ("POST", f"/unsubscribe/{spoiled}", {}, b""),
        "zoom": ("POST", "/webhooks/zoom", signed, validation),
        "list": ("GET", f"{conf}/registrations", bearer, b""),
        "registration": ("GET", f"{conf}/registrations/{known.registration_id}", bearer, b""),
        "erase": ("DELETE", f"{conf}/registrations/{new_id()}", bearer, b""),
        "stats": ("GET", f"{conf}/stats", bearer, b""),
        "put event": ("PUT", conf, as_json, b'{"title": {}}'),
        "campaign": ("POST", f"{conf}/campaigns", as_json, dry_run),
        "campaign progress": ("GET", f"{conf}/campaigns/{known.campaign_id}", bearer, b""),
        "cancel": ("POST", f"{conf}/campaigns/{new_id()}/cancel", bearer, b""),
        "export": ("POST", f"{conf}/exports?status=bogus", bearer, b""),
        "export progress": ("GET", f"{conf}/exports/{known.export_id}", bearer, b""),
    }


ROUTE_NAMES = [
    *("event", "page", "preflight", "register", "form", "join", "manage", "manage post"),
    *("unsubscribe", "unsubscribe post", "zoom", "list", "registration", "erase", "stats"),
    *("put event", "campaign", "campaign progress", "cancel", "export", "export progress"),
]


def test_odd_and_oversized_headers_on_every_route(
    api: Any,
    zoom: Services,
    genuine: Genuine,
    known: Known,
    bearer: dict[str, str],
    changes: Changes,
) -> None:
    routes = usual_requests(zoom, genuine, known, bearer)
    assert sorted(routes) == sorted(ROUTE_NAMES)
    usual = {}
    for name, (method, path, headers, body) in routes.items():
        response, changed = changes.of(request, api, method, path, headers, body)
        assert response.status_code < 500 and changed == [], (name, response.status_code)
        usual[name] = response.status_code

    @props(100)
    @given(name=st.sampled_from(ROUTE_NAMES), extra=odd_headers)
    @examples(
        {"name": "page", "extra": {"accept-language": _repeat_to("ar;q=0.5,", BIG)}},
        {"name": "zoom", "extra": {"x-zm-request-timestamp": "9" * BIG}},
        {"name": "zoom", "extra": {"x-zm-signature": _repeat_to("é", BIG)}},
        {"name": "list", "extra": {"authorization": "Bearer mjt_" + "a" * BIG}},
        {"name": "manage post", "extra": {"origin": _repeat_to("😀", BIG)}},
        {"name": "campaign", "extra": {"content-type": "application/json; charset=" + "a" * BIG}},
        {"name": "register", "extra": {"content-length": str(10**30)}},
        {"name": "stats", "extra": _many(500, 8)},
        {"name": "form", "extra": {"cookie": _repeat_to("a=b; ", BIG)}},
    )
    def check(name: str, extra: dict[str, str]) -> None:
        method, path, headers, body = routes[name]
        sent = {**headers, **extra}
        response, changed = changes.of(request, api, method, path, sent, body)
        status = response.status_code
        event(f"{name} {status}")
        assert changed == [], (name, changed)
        assert status == usual[name] or 400 <= status < 500, (name, status, response.body[:300])
        if status >= 400 and is_page(response):
            assert_kind_page(response)
        elif status >= 400:
            assert_api_problem(response)

    check()
