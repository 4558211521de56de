"""The ways a request is refused, in the conference's terms.

Use cases raise these; nothing here knows HTTP. The entrypoints turn each into a problem
document or a page in one place (``entrypoints/http.py``), so that a new refusal needs a
class here and one line there. A dependency that fails (a store throttled or contended
past its retries) is not a refusal: adapters raise ``ports.StoreBusy`` for it, and the
entrypoints answer it the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class FieldError:
    """What is wrong with one field of a request (dotted for nested fields)."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class Refused(Exception):
    """A request Majlis will not carry out. ``detail`` says why, for the person asking;
    ``title`` overrides the kind's own title when a finer one helps."""

    def __init__(self, detail: str, *, title: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.title = title


class Unreadable(Refused):
    """The request cannot be read at all (not JSON, not UTF-8, not an object)."""


class Invalid(Refused):
    """Fields that do not hold: each with its field, code and message."""

    def __init__(
        self, errors: list[FieldError], detail: str = "The request has fields that are not valid."
    ) -> None:
        super().__init__(detail)
        self.errors = errors


class NoToken(Refused):
    """An organizer route without a valid organizer token."""


class NotPermitted(Refused):
    """An organizer token that may not do this, or not for this event."""


class Unsigned(Refused):
    """A webhook that its sender (Zoom) did not sign, or signed too long ago."""


class NotFound(Refused):
    """No such event, registration, campaign or export (or not this event's)."""


class RegistrationClosed(Refused):
    """The event takes no registrations now (before opening, after closing)."""


class Conflict(Refused):
    """What was asked no longer fits what is stored: it changed meanwhile, or is past
    the point where the change makes sense."""


class Erased(Refused):
    """The registration was erased: only its counts remain."""


class Gone(Refused):
    """A one-time thing already used, or past its time (an organiser's sign-in link)."""


class TooManyRequests(Refused):
    """Over a rate limit; ``retry_after`` is the seconds until the window ends."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


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
    """A pydantic ``ValidationError`` as field errors (dotted field names)."""
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


def invalid(error: Any) -> Invalid:
    """A pydantic ``ValidationError`` as a refusal."""
    return Invalid(field_errors(error))
