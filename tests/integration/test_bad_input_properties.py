"""Properties of the HTTP API under bad input: never a 500, always a problem document.

Everything here goes through the chalice test client on moto (the ``api`` fixture),
except one property of the event-id rule that only API Gateway's decoding of the path
can reach (the test client passes ``%0A`` through undecoded).

Hypothesis runs each property many times against one function-scoped set of fixtures,
so state carries over between examples: stored registrations are counted before and
after each request instead of expecting an empty table.
"""

from __future__ import annotations

import copy
import json
import re
import string
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import boto3
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from chalicelib import auth
from chalicelib.entrypoints.http import ANSWERED, problem_for
from chalicelib.ports import Services
from chalicelib.usecases.events import put_event
from tests.builders import LANGUAGES, SESSION_TITLES, event_body, person

MAX_BODY = 64 * 1024
REGISTER = "/events/conf/registrations"
PROBLEM = "application/problem+json"
EVENT_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")

FIELDS = (
    "email",
    "first_name",
    "last_name",
    "country",
    "language",
    "timezone",
    "sessions",
    "consent",
    "updates",
    "website",
)
EVENT_FIELDS = (*event_body(), "id")


def props(examples: int) -> settings:
    """Settings of a property; one set of fixtures serves all of its examples."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# -- strategies ------------------------------------------------------------------------

# Every code point, lone surrogates included (they survive JSON as "\ud800").
any_char = st.characters(categories=["L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Co", "Cs", "Cn"])
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "Amina\r\nBcc: x@example.org",
    "\t",
    "\u202e",
    "abc\u202edcba",
    "\u2066x\u2069",
    "\u2028",
    "\ud800",
    "\udfff",
    "a\ud83d",
    "😀",
    "👩🏽‍💻",
    "مرحبا بالعالم",
    "اردو",
    "\ufeff",
    "\u200d",
    "\U0010ffff",
    "null",
    "true",
    "0",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "%00",
    "${jndi:ldap://x}",
    "{{first_name}}",
]


def _repeat(piece: str, size: int) -> str:
    return (piece * size)[:size]


nasty_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(any_char, max_size=30),
    st.text(max_size=30),
)
long_text = st.builds(
    _repeat,
    st.one_of(st.sampled_from(["a", "ب", "😀", "\x00", "\ud800"]), nasty_text.filter(bool)),
    st.integers(min_value=90, max_value=70_000),
)
numbers = st.one_of(
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**63, -(2**63) - 1, 0, -1]),
    st.floats(),  # NaN and ±Infinity included: Python's json writes and reads them
)
scalars = st.one_of(st.none(), st.booleans(), numbers, nasty_text)


def _nest(leaf: Any, depth: int, as_list: bool) -> Any:
    for _ in range(depth):
        leaf = [leaf] if as_list else {"a": leaf}
    return leaf


deep_values = st.builds(_nest, scalars, st.integers(min_value=2, max_value=60), st.booleans())
json_keys = st.one_of(st.sampled_from(FIELDS), st.text(any_char, max_size=12))
json_values = st.recursive(
    st.one_of(scalars, long_text, deep_values),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(json_keys, children, max_size=4),
    ),
    max_leaves=8,
)

# Content types: the two accepted ones in several spellings (half the time, so that
# bodies get parsed), others, and junk.
accepted_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON; charset=UTF-8",
        "application/json;;;=",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
    ]
)
other_types = st.one_of(
    st.sampled_from(
        [
            None,
            "",
            "application/json; charset=latin-1",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/xml",
            "application/problem+json",
            "*/*",
        ]
    ),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
)


def _json_bytes(value: Any, ascii_only: bool) -> bytes:
    # Not ASCII-only: lone surrogates become invalid UTF-8 (a client's broken encoder).
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


@st.composite
def junk_requests(draw: st.DrawFn) -> tuple[str | None, bytes, bool]:
    """(content type, body, may be a success): never a valid registration.

    The only success allowed is the honeypot's ("website" filled): the body may then
    be answered 201 but nothing may be stored.
    """
    content_type = draw(
        draw(st.sampled_from([accepted_types, accepted_types, accepted_types, other_types]))
    )
    kind = draw(st.sampled_from(["bytes", "json", "object", "form"]))
    if kind == "bytes":
        body = draw(st.binary(max_size=300))
    elif kind == "json":
        value = draw(json_values.filter(lambda v: not isinstance(v, dict)))
        body = _json_bytes(value, draw(st.booleans()))
    elif kind == "object":
        value = draw(st.dictionaries(json_keys, json_values, max_size=8))
        if value.get("consent") is True:  # consent refused: never a valid registration
            value["consent"] = draw(json_values.filter(lambda v: v is not True))
        body = _json_bytes(value, draw(st.booleans()))
    else:
        pairs = draw(st.lists(st.tuples(json_keys, nasty_text), max_size=8))
        pairs = [(k, v) for k, v in pairs if k != "consent"]
        body = urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode("ascii")
    return content_type, body, b"website" in body


# Values a registration field may take: some valid (so successes happen), most not.
VALID = {
    "email": st.sampled_from(
        [
            "person1@example.org",
            "PERSON1@Example.org",
            "person2@example.org",
            " person3@example.org ",
            "amina@مثال.إختبار",
        ]
    ),
    "first_name": st.sampled_from(["Amina", "عائشة", " Ali ", "محمد‍علی", "😀"]),
    "last_name": st.sampled_from([None, "Rahman", "اردو"]),
    "country": st.sampled_from(["MY", "my", " pk ", "TR"]),
    "language": st.sampled_from([None, *LANGUAGES]),
    "timezone": st.sampled_from([None, "Asia/Kuala_Lumpur", "Europe/Istanbul"]),
    "sessions": st.lists(
        st.sampled_from(list(SESSION_TITLES)), min_size=1, max_size=3, unique=True
    ),
    "consent": st.just(True),
    "updates": st.booleans(),
    "website": st.sampled_from([None, ""]),
}
REQUIRED = ("email", "first_name", "country", "consent")
adversarial = st.one_of(scalars, long_text, deep_values, json_values)


def _field(name: str) -> st.SearchStrategy[Any]:
    return st.one_of(VALID[name], adversarial)


registration_objects = st.one_of(
    st.fixed_dictionaries(
        {name: _field(name) for name in REQUIRED},
        optional={name: _field(name) for name in FIELDS if name not in REQUIRED},
    ),
    st.fixed_dictionaries({}, optional={name: _field(name) for name in FIELDS}),
)


def _form_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else json.dumps(value)


def _form_body(fields: dict[str, Any]) -> bytes:
    pairs = []
    for name, value in fields.items():
        if name == "sessions" and isinstance(value, list):
            pairs.extend((name, _form_value(v)) for v in value)
        else:
            pairs.append((name, _form_value(value)))
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode("ascii")


def _is_honeypot(raw: bytes, form: bool) -> bool:
    """Whether the body, once parsed, has the honeypot filled (assuming it parses)."""
    text = raw.decode("utf-8", "replace")
    if form:
        return any(k == "website" and v for k, v in parse_qsl(text, keep_blank_values=True))
    return bool(json.loads(text).get("website"))


def _parses(raw: bytes, form: bool) -> bool:
    try:
        text = raw.decode("utf-8")
        if form:
            parse_qsl(text, keep_blank_values=True, errors="strict")
        else:
            json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _rfc3339(moment: datetime, minutes: int | None) -> str:
    """RFC 3339 text of a naive time read at a UTC offset (None: ``Z``)."""
    if minutes is None:
        return moment.isoformat(timespec="seconds") + "Z"
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{moment.isoformat(timespec='seconds')}{sign}{hours:02d}:{rest:02d}"


# Strings that look like what an event holds, so mutations go past the type checks.
event_strings = st.one_of(
    st.builds(
        _rfc3339,
        st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
        st.one_of(st.none(), st.integers(min_value=-1439, max_value=1439)),
    ),
    st.sampled_from(
        [
            *LANGUAGES,
            "de",
            "AR",
            "Asia/Jerusalem",
            "Mars/Olympus",
            "../../etc/passwd",
            "P1D",
            "PT1H",
            "P0D",
            "P999D",
            "PT",
            "https://us06web.zoom.us/j/1",
            "http://zoom.example/j/1",
            "https://conference.example.org",
            "events@example.org",
            "a@b",
            "81234567890",
            "webinar",
            "meeting",
            "opening",
            "Opening",
        ]
    ),
    nasty_text,
)
event_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, event_strings, long_text),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(EVENT_FIELDS), nasty_text), children, max_size=4),
    ),
    max_leaves=8,
)


@st.composite
def mutated(draw: st.DrawFn, base: Any, values: st.SearchStrategy[Any]) -> Any:
    """``base`` (a JSON document) with one value somewhere replaced, removed or added."""
    body = copy.deepcopy(base)
    node = body
    while True:
        key: Any = (
            draw(st.sampled_from(sorted(node)))
            if isinstance(node, dict)
            else draw(st.integers(min_value=0, max_value=len(node) - 1))
        )
        child = node[key]
        if isinstance(child, dict | list) and child and draw(st.booleans()):
            node = child
            continue
        action = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if action == "replace":
            node[key] = draw(values)
        elif action == "remove":
            del node[key]
        elif isinstance(node, dict):
            node[draw(nasty_text)] = draw(values)
        else:
            node.append(draw(values))
        return body


def mutated_events(values: st.SearchStrategy[Any] = event_values) -> st.SearchStrategy[Any]:
    """The reference event body with one value somewhere replaced, removed or added."""
    return mutated(event_body(), values)


def _string_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, str):
        return [path]
    if not isinstance(value, dict | list):
        return []
    items = value.items() if isinstance(value, dict) else enumerate(value)
    return [p for key, child in items for p in _string_paths(child, (*path, key))]


def _get(body: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        body = body[key]
    return body


def _set(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    _get(body, path[:-1])[path[-1]] = value
    return body


EVENT_STRING_PATHS = _string_paths(event_body())


# -- helpers ---------------------------------------------------------------------------


def registrations_stored(aws: Services) -> int:
    db = boto3.client("dynamodb", region_name="us-east-1")
    count, start = 0, None
    while True:
        page = db.scan(
            TableName=aws.settings.table_name,
            Select="COUNT",
            FilterExpression="#kind = :kind",
            ExpressionAttributeNames={"#kind": "kind"},
            ExpressionAttributeValues={":kind": {"S": "registration"}},
            **({"ExclusiveStartKey": start} if start else {}),
        )
        count += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return count


def post(api: Any, path: str, content_type: str | None, body: bytes) -> Any:
    headers = {} if content_type is None else {"content-type": content_type}
    return api.http.post(path, headers=headers, body=body)


def assert_problem(response: Any) -> dict[str, Any]:
    """A 4xx answer is an RFC 9457 problem document; returns it."""
    assert 400 <= response.status_code < 500, (response.status_code, response.body[:300])
    assert response.headers.get("Content-Type") == PROBLEM, response.headers
    document = json.loads(response.body)
    assert isinstance(document, dict)
    for member in ("type", "title", "detail"):
        assert isinstance(document.get(member), str), document
    assert document.get("status") == response.status_code, document
    if response.status_code == 422:
        assert document.get("errors"), document
        for error in document["errors"]:
            for member in ("field", "code", "message"):
                assert isinstance(error.get(member), str), error
    return document


def assert_registered(response: Any) -> None:
    assert response.headers.get("Content-Type") == "application/json"
    answer = json.loads(response.body)
    assert set(answer) == {"registration_id", "status"}, answer
    assert answer["status"] in ("registered", "waitlisted")


def organizer_headers(aws: Services, content_type: str | None = None) -> dict[str, str]:
    token = auth.mint(
        aws.tokens, events=["*"], roles=["read", "send", "admin"], label="t", now=aws.clock()
    )
    headers = {"Authorization": f"Bearer {token}"}
    if content_type is not None:
        headers["content-type"] = content_type
    return headers


# -- 1, 2: any body, any content type --------------------------------------------------


@props(250)
@given(request=junk_requests())
@example(request=("application/json", b"", False))
@example(request=("application/json", b"\xff\xfe{}", False))
@example(request=("application/json", b'"\\ud800"', False))
@example(request=("application/json", b'{"\\ud800": 1}', False))
@example(request=("application/json", b"1" * 5000, False))
@example(request=("application/json", b"NaN", False))
@example(request=("application/x-www-form-urlencoded", b"email=%ff", False))
@example(request=("application/x-www-form-urlencoded", b"first_name=a&first_name=b", False))
@example(request=("application/json", b"{" * (MAX_BODY + 1), False))
@example(request=("application/json", b'{"website": "https://spam.example"}', True))
def test_any_body_is_a_problem_and_stores_nothing(
    api: Any, aws: Services, request: tuple[str | None, bytes, bool]
) -> None:
    content_type, body, may_be_honeypot = request
    before = registrations_stored(aws)
    response = post(api, REGISTER, content_type, body)
    event(f"status {response.status_code}")
    if response.status_code in (200, 201) and may_be_honeypot:
        assert_registered(response)  # the honeypot answers as a success ...
    else:
        assert_problem(response)
    assert registrations_stored(aws) == before  # ... and stores nothing either way
    if len(body) > MAX_BODY:
        assert response.status_code == 413


# -- 3: the real fields with adversarial values ----------------------------------------


@props(200)
@given(fields=registration_objects, form=st.booleans(), ascii_only=st.booleans())
@example(fields=person(first_name="x" * 70_000), form=False, ascii_only=True)
@example(fields=person(first_name="\ud800"), form=False, ascii_only=True)
@example(fields=person(last_name="a\x00b"), form=True, ascii_only=True)
@example(fields=person(email="amina\u202e@example.org"), form=False, ascii_only=False)
@example(fields=person(sessions=[10**400]), form=False, ascii_only=True)
@example(fields=person(country=_nest("MY", 50, False)), form=False, ascii_only=True)
@example(fields=person(website="\ud800"), form=False, ascii_only=True)
@example(fields=person(email="a@\ud800.example"), form=False, ascii_only=True)
@example(fields=person(timezone="Asia/Kuala_Lumpur\r\n"), form=True, ascii_only=True)
def test_registration_fields_with_adversarial_values(
    api: Any, aws: Services, fields: dict[str, Any], form: bool, ascii_only: bool
) -> None:
    if form:
        content_type, body = "application/x-www-form-urlencoded", _form_body(fields)
    else:
        content_type, body = "application/json; charset=utf-8", _json_bytes(fields, ascii_only)
    before = registrations_stored(aws)
    response = post(api, REGISTER, content_type, body)
    status = response.status_code
    event(f"status {status}")
    assert status in (200, 201, 400, 413, 422), (status, response.body[:300])

    if len(body) > MAX_BODY:
        assert status == 413
    elif not _parses(body, form):
        assert status == 400
    else:
        assert status != 400, response.body
        if _is_honeypot(body, form):
            assert status == 201  # answered exactly as a success
    if status in (200, 201):
        assert_registered(response)
    else:
        assert_problem(response)
    stored = registrations_stored(aws)
    if status == 201 and not _is_honeypot(body, form):
        assert stored == before + 1
    else:
        assert stored == before


# -- 4: deep JSON ----------------------------------------------------------------------


@props(25)
@given(
    depth=st.integers(min_value=2_000, max_value=60_000),
    shape=st.sampled_from(["[", "[]", '{"a":', '{"a": ', "{}", '[{"a":']),
)
@example(depth=50_000, shape="[")
@example(depth=5_000, shape='{"a": ')
def test_deep_json_is_a_bad_request(api: Any, aws: Services, depth: int, shape: str) -> None:
    if shape == "[]":
        body = "[" * depth + "]" * depth
    elif shape == "{}":
        body = '{"a":' * depth + "1" + "}" * depth
    else:
        body = shape * depth
    raw = body.encode()
    before = registrations_stored(aws)
    response = post(api, REGISTER, "application/json", raw)
    assert_problem(response)
    assert response.status_code == (413 if len(raw) > MAX_BODY else 400)
    assert registrations_stored(aws) == before


# -- 5: path segments ------------------------------------------------------------------

URL_SAFE = string.ascii_letters + string.digits + "-._~"
segments = st.one_of(
    st.text(URL_SAFE, min_size=1, max_size=80),
    st.from_regex(EVENT_ID, fullmatch=True),
    st.binary(min_size=1, max_size=40).map(lambda raw: quote(raw, safe="")),
    st.text(any_char.filter(lambda c: c not in "/?#;%\t\r\n"), min_size=1, max_size=20).map(
        lambda text: quote(text, safe="", errors="surrogatepass")
    ),
    st.text(any_char.filter(lambda c: c not in "/?#;\t\r\n"), min_size=1, max_size=20),
    st.builds(_repeat, st.text(URL_SAFE, min_size=1, max_size=4), st.integers(2_990, 3_010)),
).filter(lambda segment: segment not in ("conf", ".", ".."))


@props(120)
@given(segment=segments, slash=st.booleans())
@example(segment="a" * 3000, slash=False)
@example(segment="conf%0A", slash=True)
@example(segment="%00", slash=False)
@example(segment="CONF", slash=False)
@example(segment="\ud800", slash=False)
def test_unknown_events_are_not_found(api: Any, aws: Services, segment: str, slash: bool) -> None:
    response = api.http.get(f"/events/{segment}" + ("/" if slash else ""))
    assert_problem(response)
    assert response.status_code == 404

    before = registrations_stored(aws)
    response = post(
        api,
        f"/events/{segment}/registrations",
        "application/json",
        json.dumps(person()).encode(),
    )
    assert_problem(response)
    assert response.status_code == 404
    assert registrations_stored(aws) == before


# -- 6: the organizer API --------------------------------------------------------------

FILTERS = ("status", "language", "country", "session", "limit", "cursor")
query_values = st.one_of(
    st.sampled_from(
        ["registered", "waitlisted,cancelled", "ar,ms", "MY,pk", "youth", "", ",", " , "]
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["1", "500", "501", "0", "-1", "1e3", "٣", "²", " 5 ", "1_0", "0x10"]),
    st.from_regex(r"[0-9a-hjkmnp-tv-z]{26}", fullmatch=True),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    st.builds(_repeat, st.text(min_size=1, max_size=5), st.integers(100, 5_000)),
)
query_names = st.one_of(st.sampled_from(FILTERS), st.text(min_size=1, max_size=15))


def test_listing_with_random_query_parameters(api: Any, aws: Services) -> None:
    for n in range(1, 4):
        response = post(api, REGISTER, "application/json", json.dumps(person(n)).encode())
        assert response.status_code == 201
    headers = organizer_headers(aws)

    @props(150)
    @given(params=st.lists(st.tuples(query_names, query_values), max_size=6))
    @example(params=[("cursor", "é" * 3000)])
    @example(params=[("cursor", "0" * 26 + "\n")])
    @example(params=[("limit", "99999999999999999999999")])
    @example(params=[("limit", "1"), ("cursor", "x")])
    @example(params=[("status", "registered,bogus"), ("unknown", "1")])
    def check(params: list[tuple[str, str]]) -> None:
        query = urlencode(params, quote_via=quote)
        response = api.http.get(f"{REGISTER}?{query}", headers=headers)
        assert response.status_code in (200, 422), (response.status_code, response.body[:300])
        if response.status_code == 422:
            assert_problem(response)
            return
        page = json.loads(response.body)
        assert set(page) == {"items", "next"}
        assert isinstance(page["items"], list)
        assert page["next"] is None or isinstance(page["next"], str)

    check()


put_bodies = st.one_of(
    mutated_events().map(lambda body: json.dumps(body).encode()),
    st.dictionaries(
        st.one_of(st.sampled_from(EVENT_FIELDS), nasty_text), event_values, max_size=8
    ).map(lambda body: json.dumps(body).encode()),
    event_values.map(lambda body: json.dumps(body).encode()),
    st.binary(max_size=200),
    st.sampled_from([b"[" * 50_000, b'{"a": ' * 5_000, b"{" * (MAX_BODY + 1)]),
)
put_ids = st.one_of(
    st.from_regex(EVENT_ID, fullmatch=True),
    st.just("conf"),
    st.text(URL_SAFE, min_size=1, max_size=70),
)
put_content_types = st.one_of(
    st.just("application/json"),
    st.sampled_from(["application/json; charset=utf-8", "text/plain", "", None]),
)


def test_putting_random_event_bodies(api: Any, aws: Services) -> None:
    @props(150)
    @given(event_id=put_ids, body=put_bodies, content_type=put_content_types)
    @example(event_id="conf2", body=json.dumps(event_body()).encode(), content_type=None)
    @example(
        event_id="conf2",
        body=json.dumps(event_body(capacity=10**400)).encode(),
        content_type="application/json",
    )
    @example(
        event_id="conf2",
        body=json.dumps(event_body(title=_nest("x", 50, False))).encode(),
        content_type="application/json",
    )
    def check(event_id: str, body: bytes, content_type: str | None) -> None:
        headers = organizer_headers(aws, content_type)
        response = api.http.put(f"/events/{event_id}", headers=headers, body=body)
        assert response.status_code in (200, 201, 400, 413, 415, 422), (
            response.status_code,
            response.body[:300],
        )
        if response.status_code >= 400:
            assert_problem(response)
        else:
            assert json.loads(response.body)["id"] == event_id

    check()


# -- properties that fail today: bugs in application code ------------------------------


TIME_PATHS = [
    ("sessions", 0, "starts_at"),
    ("sessions", 0, "ends_at"),
    ("registration", "opens_at"),
    ("registration", "closes_at"),
]


@props(60)
@given(
    path=st.sampled_from(TIME_PATHS),
    moment=st.one_of(
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(1, 1, 2)),
        st.datetimes(min_value=datetime(9999, 12, 30), max_value=datetime(9999, 12, 31, 23, 59)),
        st.datetimes(),
    ),
    minutes=st.integers(min_value=-1439, max_value=1439),
)
@example(path=TIME_PATHS[0], moment=datetime(1, 1, 1), minutes=60)
@example(path=TIME_PATHS[3], moment=datetime(9999, 12, 31, 23, 59, 59), minutes=-60)
def test_event_times_at_the_edges_of_the_calendar(
    api: Any, aws: Services, path: tuple[Any, ...], moment: datetime, minutes: int
) -> None:
    body = _set(event_body(), path, _rfc3339(moment, minutes))
    response = api.http.put(
        "/events/edges",
        headers=organizer_headers(aws, "application/json"),
        body=json.dumps(body).encode(),
    )
    assert response.status_code in (200, 201, 422), (response.status_code, response.body[:300])
    if response.status_code == 422:
        assert_problem(response)


@props(80)
@given(
    path=st.sampled_from(EVENT_STRING_PATHS),
    text=st.text(any_char, min_size=1, max_size=12),
    keep=st.booleans(),
)
@example(path=("sessions", 0, "join_url"), text="\ud800", keep=True)
def test_event_text_with_any_code_point(
    api: Any, aws: Services, path: tuple[Any, ...], text: str, keep: bool
) -> None:
    body = event_body()
    node = _get(body, path)
    _set(body, path, node + text if keep else text)
    response = api.http.put(
        "/events/codepoints",
        headers=organizer_headers(aws, "application/json"),
        body=json.dumps(body).encode(),
    )
    assert response.status_code in (200, 201, 422), (response.status_code, response.body[:300])
    if response.status_code == 422:
        assert_problem(response)


@props(40)
@given(
    event_id=st.one_of(
        st.from_regex(EVENT_ID, fullmatch=True).map(lambda valid: valid + "\n"),
        st.text(max_size=70).filter(lambda text: not EVENT_ID.fullmatch(text)),
    )
)
@example(event_id="abc\n")
def test_event_ids_outside_the_contract_are_refused(aws: Services, event_id: str) -> None:
    """Tested on the use case: the test client does not decode the path as AWS does."""
    try:
        put_event(aws, event_id, event_body())
    except ANSWERED as refused:
        status: int | None = problem_for(refused).status
    else:
        status = None
    assert status == 422, f"{event_id!r} was accepted as an event id"
    assert aws.events.get(event_id) is None


ANCHORED_PATHS = [
    ("sessions", 0, "id"),
    ("sessions", 7, "id"),
    ("reminders", 0),
    ("reminders", 1),
    ("allowed_origins", 0),
]


@props(40)
@given(
    path=st.sampled_from(ANCHORED_PATHS),
    suffix=st.sampled_from(["\n", "\n\n", " ", "\r\n", "\t", "\x00", "\u2028", "\u202e"]),
)
@example(path=("sessions", 0, "id"), suffix="\n")
def test_event_identifiers_follow_their_patterns_exactly(
    api: Any, aws: Services, path: tuple[Any, ...], suffix: str
) -> None:
    body = event_body()
    node = _get(body, path)
    _set(body, path, node + suffix)
    response = api.http.put(
        "/events/anchored",
        headers=organizer_headers(aws, "application/json"),
        body=json.dumps(body).encode(),
    )
    assert response.status_code == 422, (path, suffix, response.status_code)
    assert_problem(response)
