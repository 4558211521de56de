"""HTTP problems (RFC 9457): the one error type the API raises, and its rendering.

Use cases raise domain errors; ``app.py`` maps them to a :class:`Problem` through
:func:`problem_for`. Every problem document has ``type``, ``title``, ``status`` and
``detail``; validation problems add ``errors``: ``[{"field", "code", "message"}]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"

# status -> (slug of the problem type, title)
_KINDS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Request body could not be parsed"),
    401: ("unauthorized", "Organizer token missing or invalid"),
    403: ("forbidden", "Token not allowed for this event or action"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("registration-closed", "Registration is not open"),
    410: ("gone", "Link expired or revoked"),
    413: ("too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported content type"),
    422: ("validation", "Some fields are not valid"),
    429: ("rate-limited", "Too many requests"),
    503: ("unavailable", "Temporarily unavailable, please retry"),
}


def problem_type(status: int) -> str:
    slug = _KINDS.get(status, ("error", ""))[0]
    return f"urn:majlis:problem:{slug}"


@dataclass
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass
class Problem(Exception):
    status: int
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    title: str | None = None

    def __str__(self) -> str:  # pragma: no cover - for logs and tracebacks
        return f"{self.status} {self.detail}"

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": problem_type(self.status),
            "title": self.title or _KINDS.get(self.status, ("", "Error"))[1],
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            doc["errors"] = [e.as_dict() for e in self.errors]
        return doc

    def body(self) -> str:
        return json.dumps(self.document(), ensure_ascii=False)


def validation_problem(errors: list[FieldError]) -> Problem:
    return Problem(422, "The request has fields that are not valid.", errors=errors)


_GENERIC_MESSAGES = {
    "missing": ("required", "This field is required."),
    "extra_forbidden": ("unknown_field", "This field is not part of the request."),
    "string_type": ("invalid_type", "Must be text."),
    "bool_type": ("invalid_type", "Must be true or false."),
    "list_type": ("invalid_type", "Must be a list."),
    "dict_type": ("invalid_type", "Must be an object."),
    "model_type": ("invalid_type", "Must be an object."),
    "int_type": ("invalid_type", "Must be a whole number."),
    "int_parsing": ("invalid_type", "Must be a whole number."),
    "int_from_float": ("invalid_type", "Must be a whole number."),
    "literal_error": ("invalid_choice", "Not one of the allowed values."),
}


def field_errors(error: Any) -> list[FieldError]:
    """A pydantic ``ValidationError`` as the API's field errors (dotted field names)."""
    found = []
    for item in error.errors(include_url=False, include_input=False):
        location = [str(part) for part in item["loc"]]
        context = item.get("ctx") or {}
        if context.get("field"):
            location.append(str(context["field"]))
        code, message = _GENERIC_MESSAGES.get(item["type"], (item["type"], item["msg"]))
        if item["type"] in ("too_short", "too_long"):
            code, message = item["type"], item["msg"]
        found.append(FieldError(".".join(location), code, message))
    return found
