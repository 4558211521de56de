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

from chalice import AuthResponse, Chalice, Rate, Response

from chalicelib import auth, metrics, web
from chalicelib.adapters.streams import changes_in
from chalicelib.bootstrap import majlis
from chalicelib.logs import correlate, logger
from chalicelib.problems import PROBLEM_CONTENT_TYPE, Problem
from chalicelib.usecases import events, limits, outbox, registrations, stats, waitlist

# Powertools logs instead of Chalice's own handler (JSON, correlation ids).
app = Chalice(app_name="majlis", configure_logs=False)

# Chalice needs literal ARNs here; the packaged template replaces them with the real
# ones (see infra/resources.yaml). The local pump goes by the queue name at the end.
TABLE_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/majlis/stream/packaged"
MAIL_QUEUE = "arn:aws:sqs:us-east-1:000000000000:majlis-mail"
SES_EVENTS_QUEUE = "arn:aws:sqs:us-east-1:000000000000:majlis-ses-events"
ZOOM_QUEUE = "arn:aws:sqs:us-east-1:000000000000:majlis-zoom"
CAMPAIGN_QUEUE = "arn:aws:sqs:us-east-1:000000000000:majlis-campaigns"
EXPORT_QUEUE = "arn:aws:sqs:us-east-1:000000000000:majlis-exports"

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


def _allowed_origin(event_id: str) -> str | None:
    """The request's Origin, if the event lets that site embed its form (CORS)."""
    origin = app.current_request.headers.get("origin")
    if not origin:
        return None
    try:
        event = events.known_event(majlis(), event_id)
    except Problem:
        return None
    return origin if origin in event.allowed_origins else None


def with_cors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Let the event's allowed origins read the answer (errors included)."""

    @functools.wraps(view)
    def handle(**kwargs: Any) -> Response:
        response = view(**kwargs)
        origin = _allowed_origin(kwargs["event_id"])
        response.headers["Vary"] = "Origin"
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
        return response

    return handle


def _preflight(event_id: str) -> Response:
    origin = _allowed_origin(event_id)
    if origin is None:
        return _problem(Problem(403, "This site may not embed this event's form."))
    return Response(
        body="",
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        },
    )


def page(view: Callable[..., Response]) -> Callable[..., Response]:
    """A page route: one correlation id, and a kind page (never a traceback) on failure."""

    @functools.wraps(view)
    def handle(**kwargs: Any) -> Response:
        from chalicelib.pages import views

        correlate(app.current_request.context.get("requestId"))
        try:
            return view(**kwargs)
        except Exception:  # noqa: BLE001 - the last line: a page, never a traceback
            logger.exception("unhandled error", extra={"route": view.__name__})
            return _page(*views.problem_page(500, _browser_language(), base_url=_base_url()))

    return handle


def _organizer(role: str, event_id: str) -> auth.Principal:
    context = app.current_request.context.get("authorizer") or {}
    return auth.require(auth.Principal.from_context(context), role, event_id)


def _body() -> tuple[bytes, str | None]:
    request = app.current_request
    return request.raw_body or b"", request.headers.get("content-type")


def _client_address() -> str | None:
    """The caller's address as API Gateway saw it (what the rate limits count by)."""
    return (app.current_request.context.get("identity") or {}).get("sourceIp")


# -- every invocation ------------------------------------------------------------------


@app.middleware("all")
def flush_metrics(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Each invocation's metrics, written to its log when it ends (chalicelib/metrics.py)."""
    try:
        return get_response(event)
    finally:
        metrics.flush()


@app.middleware("sqs")
def measure_queue_lag(event: Any, get_response: Callable[[Any], Any]) -> Any:
    metrics.queue_lag(event.to_dict()["Records"])
    return get_response(event)


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

# Every route takes any Content-Type: one with a body reads it itself (chalicelib/web.py)
# and refuses what it cannot read with a problem document; one without a body has no use
# for it. (Chalice's own check answers 415 with a body of its own, even to a GET.)


@app.route("/events/{event_id}", methods=["GET"], content_types=["*/*"])
@with_cors
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


@app.route("/events/{event_id}", methods=["OPTIONS"], content_types=["*/*"])
def public_event_preflight(event_id: str) -> Response:
    return _preflight(event_id)


@app.route("/events/{event_id}/registrations", methods=["OPTIONS"], content_types=["*/*"])
def registrations_preflight(event_id: str) -> Response:
    return _preflight(event_id)


@app.route("/events/{event_id}/registrations", methods=["POST"], content_types=["*/*"])
@with_cors
@api
def register(event_id: str) -> Response:
    fields, kind = web.read_body(
        *_body(), lists=registrations.FORM_LISTS, bools=registrations.FORM_BOOLS
    )
    outcome = registrations.register(
        majlis(), event_id, fields, form=kind == web.FORM, address=_client_address()
    )
    logger.info(
        "registration",
        extra={"event_id": event_id, "status": outcome.status.value, "new": outcome.new},
    )
    return _json(outcome.view(), 201 if outcome.new else 200)


@app.route(
    "/events/{event_id}/registrations",
    methods=["GET"],
    authorizer=organizer_token,
    content_types=["*/*"],
)
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
    content_types=["*/*"],
)
@api
def get_registration(event_id: str, registration_id: str) -> Response:
    _organizer("read", event_id)
    found = registrations.registration(majlis(), event_id, registration_id)
    if found.erased_at is not None:
        raise Problem(410, "This registration was erased: only its counts remain.", title="Erased")
    return _json(found.organizer_view())


@app.route(
    "/events/{event_id}/registrations/{registration_id}",
    methods=["DELETE"],
    authorizer=organizer_token,
    content_types=["*/*"],
)
@api
def erase_registration(event_id: str, registration_id: str) -> Response:
    principal = _organizer("admin", event_id)
    registrations.erase(majlis(), event_id, registration_id, principal.token_id)
    logger.info(
        "registration erased", extra={"event_id": event_id, "registration_id": registration_id}
    )
    return Response(body="", status_code=204)


@app.route(
    "/events/{event_id}/stats", methods=["GET"], authorizer=organizer_token, content_types=["*/*"]
)
@api
def get_stats(event_id: str) -> Response:
    _organizer("read", event_id)
    return _json(stats.event_stats(majlis(), event_id))


# -- announcements ---------------------------------------------------------------------


@app.route(
    "/events/{event_id}/campaigns",
    methods=["POST"],
    authorizer=organizer_token,
    content_types=["*/*"],
)
@api
def create_campaign(event_id: str) -> Response:
    from chalicelib.usecases import campaigns

    _organizer("send", event_id)
    status, answer = campaigns.create(majlis(), event_id, web.read_json_object(*_body()))
    logger.info(
        "campaign created" if status == 202 else "campaign counted",
        extra={"event_id": event_id, "campaign_id": answer.get("campaign_id")},
    )
    return _json(answer, status)


@app.route(
    "/events/{event_id}/campaigns/{campaign_id}",
    methods=["GET"],
    authorizer=organizer_token,
    content_types=["*/*"],
)
@api
def get_campaign(event_id: str, campaign_id: str) -> Response:
    from chalicelib.usecases import campaigns

    _organizer("read", event_id)
    return _json(campaigns.progress(majlis(), event_id, campaign_id))


@app.route(
    "/events/{event_id}/campaigns/{campaign_id}/cancel",
    methods=["POST"],
    authorizer=organizer_token,
    content_types=["*/*"],
)
@api
def cancel_campaign(event_id: str, campaign_id: str) -> Response:
    from chalicelib.usecases import campaigns

    _organizer("send", event_id)
    answer = campaigns.cancel(majlis(), event_id, campaign_id)
    logger.info("campaign cancelled", extra={"event_id": event_id, "campaign_id": campaign_id})
    return _json(answer)


# -- exports -----------------------------------------------------------------------


@app.route(
    "/events/{event_id}/exports",
    methods=["POST"],
    authorizer=organizer_token,
    content_types=["*/*"],
)
@api
def start_export(event_id: str) -> Response:
    from chalicelib.usecases import exports

    _organizer("read", event_id)
    answer = exports.start(majlis(), event_id, dict(app.current_request.query_params or {}))
    logger.info("export started", extra={"event_id": event_id, **answer})
    return _json(answer, 202)


@app.route(
    "/events/{event_id}/exports/{export_id}",
    methods=["GET"],
    authorizer=organizer_token,
    content_types=["*/*"],
)
@api
def get_export(event_id: str, export_id: str) -> Response:
    from chalicelib.usecases import exports

    _organizer("read", event_id)
    return _json(exports.progress(majlis(), event_id, export_id))


# -- links in emails ------------------------------------------------------------------


def _page(html: str, status: int, headers: dict[str, str] | None = None) -> Response:
    from chalicelib.pages.render import security_headers

    return Response(
        body=html, status_code=status, headers={**dict(security_headers()), **(headers or {})}
    )


def _problem_page(problem: Problem, language: str) -> Response:
    """A page for a problem, keeping its headers (``Retry-After``)."""
    from chalicelib.pages import views

    return _page(
        *views.problem_page(problem.status, language, base_url=_base_url()), problem.headers
    )


@app.route("/join/{token}", methods=["GET"], content_types=["*/*"])
@page
def follow_join_link(token: str) -> Response:
    from chalicelib.usecases.access import LinkRefused, join

    try:
        location = join(majlis(), token)
    except LinkRefused as refused:
        return _link_refused(refused)
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


# -- pages ----------------------------------------------------------------------------

ASSETS = {"page.css": "text/css", "register.js": "text/javascript", "embed.js": "text/javascript"}


def _base_url() -> str:
    return majlis().settings.public_base_url.rstrip("/")


def _browser_language() -> str:
    """The language of a page about no one in particular: the browser's, else English."""
    from chalicelib import i18n

    accepted = app.current_request.headers.get("accept-language")
    return i18n.negotiate(accepted, list(i18n.LANGUAGES), "en")


def _page_language(event_languages: list[str], default: str) -> str:
    from chalicelib import i18n

    request = app.current_request
    asked = (request.query_params or {}).get("lang")
    if asked in event_languages:
        return asked
    return i18n.negotiate(request.headers.get("accept-language"), event_languages, default)


def _same_site() -> bool:
    """A browser POST to a page must come from our own pages (no cross-site forms).

    Mail providers' one-click unsubscribe POSTs come from their servers, with neither
    header; browsers send at least one of them.
    """
    headers = app.current_request.headers
    site = headers.get("sec-fetch-site")
    if site is not None:
        # Trusted when sent. (Our pages' no-referrer policy makes browsers send
        # "Origin: null" with their own forms, so Origin alone cannot tell.)
        return site in ("same-origin", "none")
    origin = headers.get("origin")
    return origin is None or origin == _origin_of(_base_url())


def _origin_of(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


@app.route("/assets/{name}", methods=["GET"], content_types=["*/*"])
def asset(name: str) -> Response:
    from chalicelib.pages.render import STATIC
    from chalicelib.pages.views import embed_script

    if name not in ASSETS:
        return _problem(Problem(404, "There is no such file."))
    return Response(
        body=embed_script() if name == "embed.js" else (STATIC / name).read_text(encoding="utf-8"),
        status_code=200,
        headers={
            "Content-Type": f"{ASSETS[name]}; charset=utf-8",
            "Cache-Control": "public, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        },
    )


@app.route("/events/{event_id}/register", methods=["GET"], content_types=["*/*"])
@page
def registration_page(event_id: str) -> Response:
    from chalicelib.pages import views

    event = _page_event(event_id)
    if isinstance(event, Response):
        return event
    language = _page_language(event.languages, event.default_language)
    return _page(*views.registration_page(event, language, majlis().clock(), base_url=_base_url()))


def _page_event(event_id: str) -> Any:
    from chalicelib.pages import views

    try:
        return events.known_event(majlis(), event_id)
    except Problem:
        return _page(*views.problem_page(404, _browser_language(), base_url=_base_url()))


@app.route("/events/{event_id}/register", methods=["POST"], content_types=["*/*"])
@page
def registration_form_post(event_id: str) -> Response:
    """The registration page without JavaScript: a form in, a page out."""
    from chalicelib.pages import views

    event = _page_event(event_id)
    if isinstance(event, Response):
        return event
    language = _page_language(event.languages, event.default_language)
    base_url = _base_url()
    if not _same_site():
        return _page(*views.problem_page(403, language, base_url=base_url))
    fields: dict[str, Any] = {}
    try:
        # "updates" is a hidden "false" plus the checkbox's "true": the last one counts.
        fields = web.read_page_form(*_body(), lists=registrations.FORM_LISTS | {"updates"})
        fields = web.form_booleans(fields, registrations.FORM_BOOLS)
        outcome = registrations.register(
            majlis(), event_id, fields, form=True, address=_client_address()
        )
    except Problem as problem:
        if problem.status == 409:
            return _page(*views.closed_page(event, language, base_url=base_url))
        if problem.status == 422:
            errors = views.field_errors_for(problem, language)
            return _page(
                *views.registration_page(
                    event,
                    language,
                    majlis().clock(),
                    base_url=base_url,
                    values=fields,
                    errors=errors,
                )
            )
        return _problem_page(problem, language)
    logger.info(
        "registration",
        extra={
            "event_id": event_id,
            "status": outcome.status.value,
            "new": outcome.new,
            "page": True,
        },
    )
    return _page(*views.thanks_page(event, language, outcome.status, base_url=base_url))


def _count_refusal(refused: Any) -> None:
    """Log a refused link and count it; raises a 429 Problem once over the limit."""
    logger.info("link refused", extra={"reason": refused.reason.value})
    limits.count_refused_link(majlis(), refused.reason, _client_address())


def _link_refused(refused: Any) -> Response:
    from chalicelib.pages.links import refused_page

    try:
        _count_refusal(refused)
    except Problem as problem:
        return _problem_page(problem, _browser_language())
    accept_language = app.current_request.headers.get("accept-language")
    return _page(*refused_page(refused, accept_language, _base_url()))


@app.route("/manage/{token}", methods=["GET"], content_types=["*/*"])
@page
def manage_page(token: str) -> Response:
    from chalicelib.pages import views
    from chalicelib.usecases import selfservice
    from chalicelib.usecases.access import LinkRefused

    try:
        managed = selfservice.manage(majlis(), token)
    except LinkRefused as refused:
        return _link_refused(refused)
    return _page(
        *views.manage_page(managed.registration, managed.event, base_url=_base_url(), token=token)
    )


@app.route("/manage/{token}", methods=["POST"], content_types=["*/*"])
@page
def manage_post(token: str) -> Response:
    from chalicelib.pages import views
    from chalicelib.usecases import selfservice
    from chalicelib.usecases.access import LinkRefused

    raw, content_type = _body()
    as_json = web.media_type(content_type)[0] == web.JSON
    base_url = _base_url()
    try:
        if not _same_site():
            raise Problem(403, "Use the page's own buttons.")
        if as_json:
            fields = web.read_json_object(raw, content_type)
        else:
            fields = web.read_page_form(raw, content_type, lists=registrations.FORM_LISTS)
            fields.pop("confirm", None)
        action, changes = selfservice.manage_action(fields)
        if action == "cancel":
            managed = selfservice.cancel(majlis(), token)
        else:
            if not as_json and "sessions" not in changes:
                changes["sessions"] = []  # a form with every box unticked
            managed = selfservice.update(majlis(), token, changes)
    except LinkRefused as refused:
        if as_json:
            try:
                _count_refusal(refused)
            except Problem as problem:
                return _problem(problem)
            return _problem(Problem(refused.reason.status, "This link is not valid."))
        return _link_refused(refused)
    except Problem as problem:
        if as_json:
            return _problem(problem)
        language = "en"
        try:
            managed = selfservice.manage(majlis(), token)
        except LinkRefused as refused:
            return _link_refused(refused)
        language = managed.registration.language
        if problem.status == 422:
            return _page(
                *views.manage_page(
                    managed.registration,
                    managed.event,
                    base_url=base_url,
                    token=token,
                    errors=views.field_errors_for(problem, language),
                )
            )
        return _problem_page(problem, language)
    registration = managed.registration
    logger.info(
        "self-service", extra={"action": action, "registration_id": registration.registration_id}
    )
    if as_json:
        return _json(
            {"registration_id": registration.registration_id, "status": registration.status.value}
        )
    if action == "cancel":
        return _page(*views.cancelled_page(registration, managed.event, base_url=base_url))
    from chalicelib import i18n

    saved = i18n.translations(registration.language).gettext(
        "Your changes are saved. We have sent you an email with your updated sessions."
    )
    return _page(
        *views.manage_page(
            registration, managed.event, base_url=base_url, token=token, message=saved
        )
    )


@app.route("/unsubscribe/{token}", methods=["GET"], content_types=["*/*"])
@page
def unsubscribe_page(token: str) -> Response:
    from chalicelib.pages import views
    from chalicelib.usecases import selfservice
    from chalicelib.usecases.access import LinkRefused

    try:
        managed = selfservice.unsubscribe_view(majlis(), token)
    except LinkRefused as refused:
        return _link_refused(refused)
    return _page(
        *views.unsubscribe_page(
            managed.registration, managed.event, base_url=_base_url(), token=token, done=False
        )
    )


@app.route("/unsubscribe/{token}", methods=["POST"], content_types=["*/*"])
@page
def unsubscribe_post(token: str) -> Response:
    """Also RFC 8058's one-click POST (``List-Unsubscribe=One-Click``), from mail providers."""
    from chalicelib.pages import views
    from chalicelib.usecases import selfservice
    from chalicelib.usecases.access import LinkRefused

    if not _same_site():
        return _page(*views.problem_page(403, "en", base_url=_base_url()))
    try:
        managed = selfservice.unsubscribe(majlis(), token)
    except LinkRefused as refused:
        return _link_refused(refused)
    logger.info("unsubscribed", extra={"registration_id": managed.registration.registration_id})
    return _page(
        *views.unsubscribe_page(
            managed.registration, managed.event, base_url=_base_url(), token=token, done=True
        )
    )


# -- the outbox: table stream -> queues ------------------------------------------------


@app.on_dynamodb_record(stream_arn=TABLE_STREAM, batch_size=100, starting_position="TRIM_HORIZON")
def on_table_change(event: Any) -> dict[str, Any]:
    changes = changes_in(event.to_dict())
    correlate(changes[0].event_id if changes else None)
    counted = stats.count(majlis(), changes)  # raises when it cannot: the batch comes again
    for event_id in waitlist.events_to_fill(changes):
        promoted = waitlist.promote(majlis(), event_id)
        if promoted:
            logger.info(
                "promoted from the waiting list", extra={"event_id": event_id, "promoted": promoted}
            )
    failed_at = outbox.relay(majlis(), changes)
    logger.info(
        "table changes",
        extra={"changes": len(changes), "counted": counted, "retry_from": failed_at},
    )
    return {"batchItemFailures": [{"itemIdentifier": failed_at}] if failed_at else []}


# -- workers ---------------------------------------------------------------------------


@app.on_sqs_message(
    queue_arn=MAIL_QUEUE,
    batch_size=10,
    # Enough workers to reach a high MaxSendRate at SES's latency; how fast they send
    # together is set by the shared pacer, not by their number.
    maximum_concurrency=20,
)
def mail_worker(event: Any) -> dict[str, Any]:
    # Imported here: rendering (Jinja2, Babel) is for the mail worker's cold start only.
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    from chalicelib.usecases.mail import (
        IN_FLIGHT,
        CampaignJob,
        MailJob,
        Pace,
        RetryLater,
        send_campaign_mail,
        send_registration_mail,
    )

    # This invocation's turns in the account's send rate, for as many emails as it
    # sends side by side.
    pace = Pace(majlis(), ahead=IN_FLIGHT)

    def seconds_left() -> float:
        return float(event.context.get_remaining_time_in_millis()) / 1000

    def send(record: Any) -> Any:
        job = json.loads(record.body)
        correlate(job.get("correlation_id") or record.message_id)
        if job.get("type") == "campaign_mail":
            log = {"campaign_id": job.get("campaign_id")}
        else:
            log = {"registration_id": job.get("registration_id"), "seq": job.get("seq")}
        try:
            if job.get("type") == "campaign_mail":
                outcome: Any = send_campaign_mail(
                    majlis(), CampaignJob.parse(job), seconds_left, pace
                )
            else:
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


@app.on_sqs_message(queue_arn=CAMPAIGN_QUEUE, batch_size=1)
def campaign_fanout(event: Any) -> None:
    from chalicelib.usecases import campaigns

    def seconds_left() -> float:
        return float(event.context.get_remaining_time_in_millis()) / 1000

    for record in event:
        job = json.loads(record.body)
        correlate(record.to_dict().get("messageId"))
        result = campaigns.fan_out(majlis(), str(job["campaign_id"]), seconds_left)
        logger.info(
            "campaign fan-out",
            extra={"campaign_id": job["campaign_id"], "outcome": result.outcome},
        )
        # Time is up, or not yet time: the job comes back to carry on.
        again = result.outcome in ("continue", "wait")
        if again and majlis().campaign_queue.send([job], delay_seconds=result.delay):
            raise RuntimeError("could not queue the campaign's next step")


@app.on_sqs_message(queue_arn=EXPORT_QUEUE, batch_size=1)
def export_registrations(event: Any) -> None:
    from chalicelib.usecases import exports

    for record in event:
        job = json.loads(record.body)
        correlate(str(job.get("export_id")))
        outcome = exports.write(majlis(), str(job["export_id"]))
        logger.info("export", extra={"export_id": job["export_id"], "outcome": outcome})


@app.schedule(Rate(5, unit=Rate.MINUTES))
def send_reminders(event: Any) -> dict[str, Any]:
    from dataclasses import asdict

    from chalicelib.usecases import reminders

    correlate(None)
    report = reminders.run(majlis())
    # Not "created": logging's own records have that attribute, and refuse it in extra.
    logger.info("reminders", extra={"reminders": report.created, "already": report.already})
    return asdict(report)


# -- Zoom ----------------------------------------------------------------------------


@app.route("/webhooks/zoom", methods=["POST"], content_types=["*/*"])
@api
def zoom_webhook() -> Response:
    from chalicelib.usecases import zoomhooks

    raw, _ = _body()
    web.check_size(raw)
    headers = {k.lower(): v for k, v in app.current_request.headers.items()}
    answer = zoomhooks.receive(majlis(), raw, headers, majlis().clock())
    return _json(answer.body, answer.status)


@app.on_sqs_message(
    queue_arn=ZOOM_QUEUE,
    batch_size=120,  # four of Zoom's batch adds (30 each) when an import is pending
    maximum_batching_window_in_seconds=2,
    maximum_concurrency=2,
)
def zoom_worker(event: Any) -> dict[str, Any]:
    from chalicelib.usecases import zoomworker

    records = event.to_dict()["Records"]
    correlate(records[0]["messageId"] if records else None)
    failed = zoomworker.handle(majlis(), records)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


@app.schedule(Rate(30, unit=Rate.MINUTES))
def reconcile_zoom(event: Any) -> dict[str, Any]:
    from dataclasses import asdict

    from chalicelib.usecases import zoomsync

    correlate(None)
    report = zoomsync.reconcile(majlis())
    logger.info("zoom reconciliation", extra={"report": asdict(report), "repairs": report.repairs})
    return asdict(report)


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
