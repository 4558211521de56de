"""Majlis: the switchboard. Routes and event handlers only.

Each handler parses its input, calls one use case and maps the outcome (or a
:class:`~chalicelib.problems.Problem`) to a response. Rules live in
``chalicelib.domain``, use cases in ``chalicelib.usecases``, AWS in
``chalicelib.adapters``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from chalice import AuthResponse, Chalice, Response

from chalicelib import auth, web
from chalicelib.adapters.streams import changes_in
from chalicelib.bootstrap import majlis
from chalicelib.logs import correlate, logger
from chalicelib.problems import PROBLEM_CONTENT_TYPE, Problem
from chalicelib.usecases import events, outbox, registrations

# Powertools logs instead of Chalice's own handler (JSON, correlation ids).
app = Chalice(app_name="majlis", configure_logs=False)

# Chalice needs literal ARNs here; the packaged template replaces them with the real
# ones (see infra/resources.yaml). The local pump goes by the queue name at the end.
TABLE_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/majlis/stream/packaged"
MAIL_QUEUE = "arn:aws:sqs:us-east-1:000000000000:majlis-mail"
SES_EVENTS_QUEUE = "arn:aws:sqs:us-east-1:000000000000:majlis-ses-events"

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Strict-Transport-Security": "max-age=31536000",
}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": "application/json", **SECURITY_HEADERS, **(headers or {})},
    )


def _problem(problem: Problem) -> Response:
    return Response(
        body=problem.body(),
        status_code=problem.status,
        headers={"Content-Type": PROBLEM_CONTENT_TYPE, **SECURITY_HEADERS, **problem.headers},
    )


def api(view: Callable[..., Response]) -> Callable[..., Response]:
    """Answer every failure of a route as a problem document; never leak a traceback."""

    @functools.wraps(view)
    def handle(**kwargs: Any) -> Response:
        correlate(app.current_request.context.get("requestId"))
        try:
            return view(**kwargs)
        except Problem as problem:
            return _problem(problem)
        except Exception:  # noqa: BLE001 - the last line: a problem, never a traceback
            logger.exception("unhandled error", extra={"route": view.__name__})
            return _problem(Problem(500, "Something went wrong on our side.", title="Error"))

    return handle


def _organizer(role: str, event_id: str) -> auth.Principal:
    context = app.current_request.context.get("authorizer") or {}
    return auth.require(auth.Principal.from_context(context), role, event_id)


def _body() -> tuple[bytes, str | None]:
    request = app.current_request
    return request.raw_body or b"", request.headers.get("content-type")


# -- organizers' tokens ----------------------------------------------------------------


@app.authorizer(ttl_seconds=60)
def organizer_token(auth_request: Any) -> AuthResponse:
    m = majlis()
    principal = auth.authenticate(m.tokens, auth_request.token, m.clock())
    if principal is None:
        # Denied: the gateway answers 401 (see the gateway responses in infra/).
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=principal.token_id, context=principal.context())


# -- events ----------------------------------------------------------------------------


@app.route("/events/{event_id}", methods=["GET"])
@api
def public_event(event_id: str) -> Response:
    return _json(
        events.public_event(majlis(), event_id), headers={"Cache-Control": "public, max-age=30"}
    )


@app.route("/events/{event_id}", methods=["PUT"], authorizer=organizer_token, content_types=["*/*"])
@api
def put_event(event_id: str) -> Response:
    _organizer("admin", event_id)
    saved = events.put_event(majlis(), event_id, web.read_json_object(*_body()))
    logger.info("event saved", extra={"event_id": event_id, "new_event": saved.created})
    return _json(saved.view(), 201 if saved.created else 200)


# -- registrations ---------------------------------------------------------------------


@app.route("/events/{event_id}/registrations", methods=["POST"], content_types=["*/*"])
@api
def register(event_id: str) -> Response:
    fields, kind = web.read_body(
        *_body(), lists=registrations.FORM_LISTS, bools=registrations.FORM_BOOLS
    )
    outcome = registrations.register(majlis(), event_id, fields, form=kind == web.FORM)
    logger.info(
        "registration",
        extra={"event_id": event_id, "status": outcome.status.value, "new": outcome.new},
    )
    return _json(outcome.view(), 201 if outcome.new else 200)


@app.route("/events/{event_id}/registrations", methods=["GET"], authorizer=organizer_token)
@api
def list_registrations(event_id: str) -> Response:
    _organizer("read", event_id)
    page = registrations.registrations(
        majlis(), event_id, dict(app.current_request.query_params or {})
    )
    return _json({"items": [r.organizer_view() for r in page.items], "next": page.cursor})


@app.route(
    "/events/{event_id}/registrations/{registration_id}",
    methods=["GET"],
    authorizer=organizer_token,
)
@api
def get_registration(event_id: str, registration_id: str) -> Response:
    _organizer("read", event_id)
    found = registrations.registration(majlis(), event_id, registration_id)
    return _json(found.organizer_view())


# -- links in emails ------------------------------------------------------------------


def _page(html: str, status: int) -> Response:
    from chalicelib.pages.render import security_headers

    return Response(body=html, status_code=status, headers=dict(security_headers()))


@app.route("/join/{token}", methods=["GET"])
def follow_join_link(token: str) -> Response:
    from chalicelib.pages.links import refused_page
    from chalicelib.usecases.join import JoinRefused, join

    correlate(app.current_request.context.get("requestId"))
    try:
        location = join(majlis(), token)
    except JoinRefused as refused:
        logger.info("join link refused", extra={"reason": refused.reason.value})
        return _page(*refused_page(refused, app.current_request.headers.get("accept-language")))
    return Response(
        body="",
        status_code=302,
        headers={
            "Location": location,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


# -- the outbox: table stream -> queues ------------------------------------------------


@app.on_dynamodb_record(stream_arn=TABLE_STREAM, batch_size=100, starting_position="TRIM_HORIZON")
def on_table_change(event: Any) -> dict[str, Any]:
    changes = changes_in(event.to_dict())
    correlate(changes[0].event_id if changes else None)
    failed_at = outbox.relay(majlis(), changes)
    logger.info("table changes", extra={"changes": len(changes), "retry_from": failed_at})
    return {"batchItemFailures": [{"itemIdentifier": failed_at}] if failed_at else []}


# -- workers ---------------------------------------------------------------------------


@app.on_sqs_message(queue_arn=MAIL_QUEUE, batch_size=10)
def mail_worker(event: Any) -> dict[str, Any]:
    # Imported here: rendering (Jinja2, Babel) is for the mail worker's cold start only.
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    from chalicelib.usecases.mail import MailJob, RetryLater, send_registration_mail

    def send(record: Any) -> str:
        job = json.loads(record.body)
        correlate(job.get("correlation_id") or record.message_id)
        log = {"registration_id": job.get("registration_id"), "seq": job.get("seq")}
        try:
            outcome = send_registration_mail(majlis(), MailJob.parse(job))
        except RetryLater as later:
            logger.info("mail job retried later", extra={**log, "reason": str(later)})
            raise
        except Exception:
            logger.exception("mail job failed", extra=log)
            raise
        logger.info("mail job", extra={**log, "outcome": outcome})
        return outcome

    return process_partial_response(
        event=event.to_dict(),
        record_handler=send,
        processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
        context=None,
    )


@app.on_sqs_message(queue_arn=SES_EVENTS_QUEUE, batch_size=10)
def on_ses_event(event: Any) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    from chalicelib.usecases.delivery import SesEvent, apply_ses_event

    def apply(record: Any) -> str:
        correlate(record.message_id)
        ses_event = SesEvent.parse(record.body)
        outcome = apply_ses_event(majlis(), ses_event)
        logger.info(
            "ses event",
            extra={
                "kind": ses_event.kind,
                "outcome": outcome,
                "registration_id": ses_event.registration_id,
            },
        )
        return outcome

    return process_partial_response(
        event=event.to_dict(),
        record_handler=apply,
        processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
        context=None,
    )
