"""HTTP answers: JSON and problem documents (RFC 9457), their headers, and the one mapping
from what a use case raises to what a client is told.

Every problem document has ``type``, ``title``, ``status`` and ``detail``; validation
problems add ``errors``: ``[{"field", "code", "message"}]``. Use cases raise the
refusals of ``domain/errors.py``; a store that stays throttled or contended raises
``ports.StoreBusy``. :func:`problem_for` is where each becomes a problem, and
:func:`json_routes` makes the wrapper every JSON route goes through.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Response

from chalicelib.domain import errors
from chalicelib.domain.errors import FieldError
from chalicelib.logs import correlate, logger
from chalicelib.ports import StoreBusy

PROBLEM_CONTENT_TYPE = "application/problem+json"

HSTS = "max-age=31536000"  # a year: every page and answer asks browsers for https
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": HSTS,
}

# slug of the problem type -> (status, title)
KINDS: dict[str, tuple[int, str]] = {
    "bad-request": (400, "Request body could not be parsed"),
    "unauthorized": (401, "Organizer token missing or invalid"),
    "unsigned": (401, "Request not signed by its sender"),
    "forbidden": (403, "Token not allowed for this event or action"),
    "cross-site": (403, "Request from another site refused"),
    "origin-not-allowed": (403, "This site may not embed the form"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "registration-closed": (409, "Registration is not open"),
    "conflict": (409, "Changed meanwhile"),
    "gone": (410, "Link expired or revoked"),
    "too-large": (413, "Request body too large"),
    "unsupported-media-type": (415, "Unsupported content type"),
    "validation": (422, "Some fields are not valid"),
    "rate-limited": (429, "Too many requests"),
    "error": (500, "Error"),
    "unavailable": (503, "Temporarily unavailable, please retry"),
}
# The kind a problem of a status has unless it says otherwise.
_BY_STATUS = {status: slug for slug, (status, _) in reversed(list(KINDS.items()))}

# What each refusal is, as a problem.
REFUSALS: dict[type[errors.Refused], str] = {
    errors.Unreadable: "bad-request",
    errors.NoToken: "unauthorized",
    errors.Unsigned: "unsigned",
    errors.NotPermitted: "forbidden",
    errors.NotFound: "not-found",
    errors.RegistrationClosed: "registration-closed",
    errors.Conflict: "conflict",
    errors.Erased: "gone",
    errors.Gone: "gone",
    errors.Invalid: "validation",
    errors.TooManyRequests: "rate-limited",
}

BUSY_SECONDS = 2  # Retry-After when a store stayed throttled or contended


def problem_type(slug: str) -> str:
    return f"urn:majlis:problem:{slug}"


def problem_types(status: int) -> frozenset[str]:
    """Every problem type a document of this status may have."""
    return frozenset(problem_type(s) for s, (code, _) in KINDS.items() if code == status)


@dataclass
class Problem(Exception):
    """A problem document, ready to answer. ``kind`` is its type's slug (by default the
    status's own)."""

    status: int
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    kind: str | None = None

    def __str__(self) -> str:  # pragma: no cover - for logs and tracebacks
        return f"{self.status} {self.detail}"

    def document(self) -> dict[str, Any]:
        slug = self.kind or _BY_STATUS.get(self.status, "error")
        doc: dict[str, Any] = {
            "type": problem_type(slug),
            "title": self.title or KINDS.get(slug, (0, "Error"))[1],
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            doc["errors"] = [e.as_dict() for e in self.errors]
        return doc

    def body(self) -> str:
        text = json.dumps(self.document(), ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate a client sent, echoed as a field name
            return json.dumps(self.document())
        return text


def validation_problem(field_errors: list[FieldError]) -> Problem:
    return problem_for(errors.Invalid(field_errors))


def busy() -> Problem:
    return Problem(
        503,
        "Many people are using Majlis right now; please try again in a moment.",
        headers={"Retry-After": str(BUSY_SECONDS)},
    )


def dependency_failure(error: BaseException, route: str) -> Problem | None:
    """The 503 for an AWS service failing for a while (throttled, a 5xx, a timeout, a
    connection error: ``adapters.aws.unavailable``), logged once with its cause; None
    for any other error."""
    from chalicelib.adapters.aws import unavailable

    cause = unavailable(error)
    if cause is None:
        return None
    logger.warning("dependency unavailable", extra={"route": route, "cause": cause})
    return busy()


def problem_for(error: Exception) -> Problem:
    """The problem document for a refusal, a busy store, or a problem already made.

    Anything else is not for the client to see: the caller logs it and answers 500.
    """
    if isinstance(error, Problem):
        return error
    if isinstance(error, StoreBusy):
        return busy()
    if isinstance(error, errors.Refused):
        slug = next(s for kind, s in REFUSALS.items() if isinstance(error, kind))
        problem = Problem(KINDS[slug][0], error.detail, title=error.title, kind=slug)
        if isinstance(error, errors.Invalid):
            problem.errors = error.errors
        if isinstance(error, errors.TooManyRequests):
            problem.headers["Retry-After"] = str(max(1, error.retry_after))
        return problem
    raise TypeError(f"not a refusal: {type(error).__name__}")


ANSWERED = (Problem, errors.Refused, StoreBusy)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": "application/json", **SECURITY_HEADERS, **(headers or {})},
    )


def problem_response(problem: Problem | Exception) -> Response:
    answer = problem_for(problem)
    return Response(
        body=answer.body(),
        status_code=answer.status,
        headers={"Content-Type": PROBLEM_CONTENT_TYPE, **SECURITY_HEADERS, **answer.headers},
    )


def json_routes(request_id: Callable[[], str | None]) -> Callable[..., Any]:
    """A JSON route: one correlation id, and every failure a problem document, never a
    traceback (``request_id`` gives the request's id when the route is called)."""

    def wrap(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def handle(**kwargs: Any) -> Response:
            correlate(request_id())
            try:
                return view(**kwargs)
            except ANSWERED as refused:
                return problem_response(refused)
            except Exception as error:  # noqa: BLE001 - the last line: never a traceback
                failed = dependency_failure(error, view.__name__)
                if failed is not None:
                    return problem_response(failed)
                logger.exception("unhandled error", extra={"route": view.__name__})
                return problem_response(Problem(500, "Something went wrong on our side."))

        return handle

    return wrap
