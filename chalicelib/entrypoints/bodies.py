"""Turning HTTP request bodies into plain dicts, with the API's limits and errors.

JSON bodies must be UTF-8 objects; form bodies (``application/x-www-form-urlencoded``)
become a dict where the fields named in ``lists`` are lists and the rest must appear
at most once. Everything a client can get wrong here is a :class:`Problem` (400, 413,
415 or 422), never an exception that reaches the user as a 500.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.domain.errors import FieldError
from chalicelib.entrypoints.http import Problem, validation_problem

MAX_BODY = 64 * 1024
MAX_FORM_FIELDS = 200
# The organisers' console posts whole events (a title per language for every session):
# its forms may be larger.
CONSOLE_BODY = 1024 * 1024
CONSOLE_FORM_FIELDS = 5_000
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
_TRUE = frozenset({"true", "on", "1", "yes"})
_FALSE = frozenset({"false", "off", "0", "no"})


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """``"application/json; charset=UTF-8"`` -> ``("application/json", {"charset": "utf-8"})``."""
    if not content_type:
        return "", {}
    kind, _, rest = content_type.partition(";")
    params = {}
    for part in rest.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            params[name.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), params


def check_size(raw: bytes, most: int = MAX_BODY) -> None:
    if len(raw) > most:
        raise Problem(413, f"The body is larger than {most // 1024} KiB.")


def read_body(
    raw: bytes,
    content_type: str | None,
    *,
    accept: tuple[str, ...] = (JSON, FORM),
    lists: frozenset[str] = frozenset(),
    bools: frozenset[str] = frozenset(),
    most_bytes: int = MAX_BODY,
    most_fields: int = MAX_FORM_FIELDS,
) -> tuple[dict[str, Any], str]:
    """Parse a JSON or form body; returns the fields and which of the two it was."""
    check_size(raw, most_bytes)
    kind, params = media_type(content_type)
    charset = params.get("charset", "utf-8")
    if kind not in accept:
        raise Problem(415, f"Send {' or '.join(accept)}.")
    if charset not in ("utf-8", "utf8"):
        raise Problem(415, "Send the body in UTF-8.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "The body is not valid UTF-8.") from None
    if kind == JSON:
        return _json_object(text), JSON
    return _form_fields(text, lists=lists, bools=bools, most=most_fields), FORM


def read_json_object(raw: bytes, content_type: str | None) -> dict[str, Any]:
    return read_body(raw, content_type, accept=(JSON,))[0]


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Problem(400, "The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise Problem(400, "The body must be a JSON object.")
    return value


def _form_fields(
    text: str, *, lists: frozenset[str], bools: frozenset[str], most: int = MAX_FORM_FIELDS
) -> dict[str, Any]:
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            errors="strict",
            max_num_fields=most,
        )
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "The form body could not be read.") from None
    fields: dict[str, Any] = {}
    errors = []
    for name, value in pairs:
        if name in lists:
            fields.setdefault(name, []).append(value)
        elif name in fields:
            errors.append(FieldError(name, "repeated", "This field appears more than once."))
        elif name in bools:
            lowered = value.strip().lower()
            fields[name] = True if lowered in _TRUE else False if lowered in _FALSE else value
        else:
            fields[name] = value
    if errors:
        raise validation_problem(errors)
    return fields


def read_multipart(
    raw: bytes, content_type: str, lists: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The text fields of a ``multipart/form-data`` body (files are not accepted)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    check_size(raw)
    if "boundary=" not in content_type.lower():
        raise Problem(400, "The multipart body has no boundary.")
    document = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + raw
    )
    if not document.is_multipart():
        raise Problem(400, "The multipart body could not be read.")
    fields: dict[str, Any] = {}
    for part in document.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name or part.get_filename():
            continue
        payload = part.get_payload(decode=True) or b""
        try:
            value = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise Problem(400, "The form body is not valid UTF-8.") from None
        if name in lists:
            fields.setdefault(str(name), []).append(value)
        elif name in fields:
            raise validation_problem(
                [FieldError(str(name), "repeated", "This field appears more than once.")]
            )
        else:
            fields[str(name)] = value
    return fields


def read_page_form(raw: bytes, content_type: str | None, lists: frozenset[str]) -> dict[str, Any]:
    """A form posted by a browser (or a mail client's one-click): urlencoded or multipart."""
    kind, _ = media_type(content_type)
    if kind == "multipart/form-data":
        return read_multipart(raw, content_type or "", lists)
    return read_body(raw, content_type, accept=(FORM,), lists=lists)[0]


def form_booleans(fields: dict[str, Any], bools: frozenset[str]) -> dict[str, Any]:
    """Checkbox fields as booleans; a hidden "false" and a ticked "true" give True."""
    converted = dict(fields)
    for name in bools:
        value = converted.get(name)
        if isinstance(value, list):
            value = value[-1] if value else None
        if isinstance(value, str):
            lowered = value.strip().lower()
            value = True if lowered in _TRUE else False if lowered in _FALSE else value
        if value is not None:
            converted[name] = value
    return converted


def query_flag(params: dict[str, str], name: str) -> bool:
    """A yes-or-no query parameter (``?dry_run=true``); absent is no."""
    value = params.get(name)
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise validation_problem([FieldError(name, "invalid_type", "Must be true or false.")])
