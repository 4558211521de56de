"""Request bodies: size, content type, encoding, JSON shape and form fields (web.read_body).

Everything a client can get wrong is a Problem with the API's status, never an exception.
"""

from __future__ import annotations

import json

import pytest

from chalicelib.entrypoints.bodies import FORM, JSON, MAX_BODY, read_body, read_json_object
from chalicelib.usecases.registrations import FORM_BOOLS, FORM_LISTS
from tests.unit.support import field_codes, problem_of


def status_of(raw: bytes, content_type: str | None) -> int:
    return problem_of(lambda: read_body(raw, content_type)).status


def json_of_size(size: int) -> bytes:
    """A JSON object body of exactly ``size`` bytes."""
    skeleton = b'{"note": ""}'
    body = b'{"note": "' + b"x" * (size - len(skeleton)) + b'"}'
    assert len(body) == size
    return body


def form(text: str) -> dict[str, object]:
    fields, kind = read_body(text.encode(), FORM, lists=FORM_LISTS, bools=FORM_BOOLS)
    assert kind == FORM
    return fields


# -- size ---------------------------------------------------------------------------


def test_a_body_of_64_kib_is_read() -> None:
    # Given a JSON body of exactly 65536 bytes
    raw = json_of_size(65536)
    # When it is read, Then it is parsed whole
    fields, kind = read_body(raw, JSON)
    assert kind == JSON
    assert len(fields["note"]) == 65536 - len(b'{"note": ""}')
    assert MAX_BODY == 65536


def test_a_body_one_byte_over_64_kib_is_413() -> None:
    assert status_of(json_of_size(65537), JSON) == 413


def test_size_is_checked_before_anything_else() -> None:
    # Given an oversized body of a refused type that is not even UTF-8
    # Then the answer is about its size
    assert status_of(b"\xff" * 70_000, "text/plain") == 413


# -- content types ------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        'application/json;charset="utf-8"',
        "Application/JSON",
        "application/json; charset=utf8",
    ],
)
def test_json_content_types_are_accepted(content_type: str) -> None:
    assert read_body(b'{"a": 1}', content_type) == ({"a": 1}, JSON)


def test_a_form_is_accepted() -> None:
    raw = b"first_name=Amina&country=MY"
    assert read_body(raw, "application/x-www-form-urlencoded") == (
        {"first_name": "Amina", "country": "MY"},
        FORM,
    )
    assert read_body(raw, "application/x-www-form-urlencoded; charset=UTF-8")[1] == FORM


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "multipart/form-data; boundary=xyz",
        None,
        "",
        "application/xml",
        "application/json-patch+json",
        "application/jsonx",
    ],
)
def test_other_content_types_are_415(content_type: str | None) -> None:
    assert status_of(b'{"a": 1}', content_type) == 415


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=latin-1", "application/x-www-form-urlencoded; charset=utf-16"],
)
def test_a_charset_other_than_utf8_is_415(content_type: str) -> None:
    assert status_of(b'{"a": 1}', content_type) == 415


def test_an_organizer_endpoint_takes_only_json() -> None:
    assert problem_of(lambda: read_json_object(b"a=1", FORM)).status == 415
    assert read_json_object(b'{"a": 1}', JSON) == {"a": 1}


# -- encoding and JSON --------------------------------------------------------------


@pytest.mark.parametrize("raw", [b'{"name": "\xff"}', b'{"name": "\xc3"}', b"\xed\xa0\x80"])
def test_invalid_utf8_is_400(raw: bytes) -> None:
    assert status_of(raw, JSON) == 400
    assert status_of(raw, FORM) == 400


def test_percent_encoded_invalid_utf8_in_a_form_is_400() -> None:
    assert status_of(b"first_name=%ff%fe", FORM) == 400


@pytest.mark.parametrize("raw", [b"", b"{", b"{'a': 1}", b'{"a": 1,}', b"nul", b'{"a": 1} x'])
def test_invalid_json_is_400(raw: bytes) -> None:
    assert status_of(raw, JSON) == 400


@pytest.mark.parametrize("raw", [b"[]", b'[{"a": 1}]', b'"text"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object_is_400(raw: bytes) -> None:
    assert status_of(raw, JSON) == 400


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 65_000,
        b'{"a":' * 13_000,
        b"[" * 30_000 + b"]" * 30_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    ],
)
def test_deeply_nested_json_is_400_not_a_recursion_error(raw: bytes) -> None:
    assert len(raw) <= MAX_BODY
    assert status_of(raw, JSON) == 400


def test_deeply_nested_json_over_the_limit_is_413() -> None:
    assert status_of(b"[" * 100_000, JSON) == 413


def test_unicode_in_json_is_kept() -> None:
    raw = json.dumps({"first_name": "عبد\u200cالله"}, ensure_ascii=False).encode()
    assert read_body(raw, JSON)[0] == {"first_name": "عبد\u200cالله"}


# -- forms --------------------------------------------------------------------------


def test_a_repeated_scalar_field_is_422_repeated() -> None:
    problem = problem_of(lambda: form("email=a%40x.org&email=b%40x.org&country=MY"))
    assert problem.status == 422
    assert field_codes(problem) == [("email", "repeated")]


def test_a_repeated_bool_field_is_422_repeated() -> None:
    problem = problem_of(lambda: form("consent=on&consent=off"))
    assert field_codes(problem) == [("consent", "repeated")]


def test_list_fields_collect_every_value_in_order() -> None:
    assert form("sessions=youth&sessions=family&sessions=media") == {
        "sessions": ["youth", "family", "media"]
    }
    assert form("sessions=youth") == {"sessions": ["youth"]}


def test_form_values_are_decoded() -> None:
    fields = form("first_name=%D8%B9%D8%A8%D8%AF+%D8%A7%D9%84%D9%84%D9%87&email=a%2Bb%40x.org")
    assert fields == {"first_name": "عبد الله", "email": "a+b@x.org"}


def test_blank_values_are_kept() -> None:
    assert form("last_name=&website=") == {"last_name": "", "website": ""}


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("on", True),
        ("true", True),
        ("1", True),
        ("yes", True),
        ("TRUE", True),
        ("+Yes+", True),
        ("false", False),
        ("0", False),
        ("off", False),
        ("no", False),
        ("maybe", "maybe"),
        ("2", "2"),
        ("", ""),
    ],
)
def test_bool_fields_become_booleans_when_they_say_so(value: str, parsed: object) -> None:
    assert form(f"consent={value}&updates={value}") == {"consent": parsed, "updates": parsed}


def test_other_fields_are_not_turned_into_booleans() -> None:
    assert form("first_name=yes&country=no") == {"first_name": "yes", "country": "no"}
