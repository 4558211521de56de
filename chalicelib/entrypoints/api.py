"""The JSON API (``../shared/API.md``): the public event and registration routes, the
organizers' routes behind their token, and Zoom's webhooks.

Each route reads its request, calls one use case and answers JSON; whatever it raises
becomes a problem document in ``http.py``. CORS lets an event's allowed origins embed
its form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import AuthResponse, Blueprint, Response

from chalicelib.bootstrap import services
from chalicelib.domain.errors import Refused
from chalicelib.domain.registrations import Status
from chalicelib.entrypoints import bodies, http
from chalicelib.entrypoints.http import json_response
from chalicelib.logs import logger
from chalicelib.usecases import events, registrations

# The organizers' modules are imported by their routes: a registration's cold start
# does without them.
if TYPE_CHECKING:
    from chalicelib import auth

# Lambda runs the authorizer as ``app.organizer_token`` (app.py re-exports it).
api = Blueprint("app")
json_route = http.json_routes(lambda: api.current_request.context.get("requestId"))


@api.authorizer(ttl_seconds=60)
def organizer_token(auth_request: Any) -> AuthResponse:
    from chalicelib import auth

    wired = services()
    try:
        principal = auth.authenticate(wired.tokens, auth_request.token, wired.clock())
    except Exception as error:
        # The tokens' store failing: the authorizer fails, and API Gateway answers its
        # AUTHORIZER_FAILURE response, a 503 with Retry-After (infra/resources.yaml).
        http.dependency_failure(error, "organizer_token")
        raise
    if principal is None:
        # Denied: the gateway answers 401 (see the gateway responses in infra/).
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=principal.token_id, context=principal.context())


def _organizer(role: str, event_id: str) -> auth.Principal:
    from chalicelib import auth

    context = api.current_request.context.get("authorizer") or {}
    return auth.require(auth.Principal.from_context(context), role, event_id)


def request_body() -> tuple[bytes, str | None]:
    request = api.current_request
    return request.raw_body or b"", request.headers.get("content-type")


def client_address() -> str | None:
    """The caller's address as API Gateway saw it (what the rate limits count by)."""
    return (api.current_request.context.get("identity") or {}).get("sourceIp")


def _query() -> dict[str, str]:
    return dict(api.current_request.query_params or {})


# -- CORS: an organiser's own site embeds the form ---------------------------------------


def _allowed_origin(event_id: str) -> str | None:
    """The request's Origin, if the event lets that site embed its form."""
    origin = api.current_request.headers.get("origin")
    if not origin:
        return None
    try:
        event = events.known_event(services(), event_id)
    except Refused:
        return None
    return origin if origin in event.allowed_origins else None


def with_cors(view: Any) -> Any:
    """Let the event's allowed origins read the answer (errors included)."""
    import functools

    @functools.wraps(view)
    def handle(**kwargs: Any) -> Response:
        from chalicelib.adapters.aws import unavailable

        response = view(**kwargs)
        try:
            origin = _allowed_origin(kwargs["event_id"])
        except Exception as error:
            if unavailable(error) is None:
                raise
            origin = None  # the store failing: the answer (a 503, logged) says so already
        response.headers["Vary"] = "Origin"
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
        return response

    return handle


def _preflight(event_id: str) -> Response:
    origin = _allowed_origin(event_id)
    if origin is None:
        return http.problem_response(
            http.Problem(
                403, "This site may not embed this event's form.", kind="origin-not-allowed"
            )
        )
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


# Every route takes any Content-Type: one with a body reads it itself (bodies.py) and
# refuses what it cannot read with a problem document; one without a body has no use
# for it. (Chalice's own check answers 415 with a body of its own, even to a GET.)
ANY = ["*/*"]


# -- events ----------------------------------------------------------------------------


@api.route("/events/{event_id}", methods=["GET"], content_types=ANY)
@with_cors
@json_route
def public_event(event_id: str) -> Response:
    return json_response(
        events.public_event(services(), event_id), headers={"Cache-Control": "public, max-age=30"}
    )


@api.route("/events/{event_id}", methods=["OPTIONS"], content_types=ANY)
@json_route
def public_event_preflight(event_id: str) -> Response:
    return _preflight(event_id)


@api.route("/events/{event_id}", methods=["PUT"], authorizer=organizer_token, content_types=ANY)
@json_route
def put_event(event_id: str) -> Response:
    _organizer("admin", event_id)
    dry_run = bodies.query_flag(_query(), "dry_run")
    saved = events.put_event(
        services(), event_id, bodies.read_json_object(*request_body()), dry_run=dry_run
    )
    logger.info(
        "event saved" if saved.saved else "event checked",
        extra={"event_id": event_id, "new_event": saved.created, "notifying": saved.notifying},
    )
    return json_response(saved.view(), 201 if saved.created and saved.saved else 200)


# -- registrations ---------------------------------------------------------------------


@api.route("/events/{event_id}/registrations", methods=["OPTIONS"], content_types=ANY)
@json_route
def registrations_preflight(event_id: str) -> Response:
    return _preflight(event_id)


@api.route("/events/{event_id}/challenge", methods=["GET"], content_types=ANY)
@with_cors
@json_route
def challenge(event_id: str) -> Response:
    """A proof of work for the event's form to solve (chalicelib/challenges.py)."""
    return json_response(
        registrations.challenge(services(), event_id), headers={"Cache-Control": "no-store"}
    )


@api.route("/events/{event_id}/challenge", methods=["OPTIONS"], content_types=ANY)
@json_route
def challenge_preflight(event_id: str) -> Response:
    return _preflight(event_id)


@api.route("/events/{event_id}/registrations", methods=["POST"], content_types=ANY)
@with_cors
@json_route
def register(event_id: str) -> Response:
    fields, kind = bodies.read_body(
        *request_body(), lists=registrations.FORM_LISTS, bools=registrations.FORM_BOOLS
    )
    outcome = registrations.register(
        services(), event_id, fields, form=kind == bodies.FORM, address=client_address()
    )
    logger.info(
        "registration",
        extra={"event_id": event_id, "status": outcome.status.value, "new": outcome.new},
    )
    if outcome.status is Status.PENDING:  # double opt-in: the same answer for everyone
        return json_response(outcome.view(), 202)
    return json_response(outcome.view(), 201 if outcome.new else 200)


@api.route(
    "/events/{event_id}/registrations",
    methods=["GET"],
    authorizer=organizer_token,
    content_types=ANY,
)
@json_route
def list_registrations(event_id: str) -> Response:
    _organizer("read", event_id)
    page = registrations.registrations(services(), event_id, _query())
    return json_response({"items": [r.organizer_view() for r in page.items], "next": page.cursor})


@api.route(
    "/events/{event_id}/registrations/{registration_id}",
    methods=["GET"],
    authorizer=organizer_token,
    content_types=ANY,
)
@json_route
def get_registration(event_id: str, registration_id: str) -> Response:
    _organizer("read", event_id)
    found = registrations.registration_for_organizers(services(), event_id, registration_id)
    return json_response(found.organizer_view())


@api.route(
    "/events/{event_id}/registrations/{registration_id}",
    methods=["DELETE"],
    authorizer=organizer_token,
    content_types=ANY,
)
@json_route
def erase_registration(event_id: str, registration_id: str) -> Response:
    principal = _organizer("admin", event_id)
    registrations.erase(services(), event_id, registration_id, principal.token_id)
    logger.info(
        "registration erased", extra={"event_id": event_id, "registration_id": registration_id}
    )
    return Response(body="", status_code=204)


@api.route(
    "/events/{event_id}/stats", methods=["GET"], authorizer=organizer_token, content_types=ANY
)
@json_route
def get_stats(event_id: str) -> Response:
    from chalicelib.usecases import stats

    _organizer("read", event_id)
    return json_response(stats.event_stats(services(), event_id))


@api.route(
    "/events/{event_id}/zoom", methods=["GET"], authorizer=organizer_token, content_types=ANY
)
@json_route
def get_zoom_status(event_id: str) -> Response:
    from chalicelib.usecases import stats

    _organizer("read", event_id)
    return json_response(stats.zoom_status(services(), event_id))


# -- announcements ---------------------------------------------------------------------


@api.route(
    "/events/{event_id}/campaigns", methods=["POST"], authorizer=organizer_token, content_types=ANY
)
@json_route
def create_campaign(event_id: str) -> Response:
    from chalicelib.usecases import campaigns

    _organizer("send", event_id)
    status, answer = campaigns.create(
        services(), event_id, bodies.read_json_object(*request_body())
    )
    logger.info(
        "campaign created" if status == 202 else "campaign counted",
        extra={"event_id": event_id, "campaign_id": answer.get("campaign_id")},
    )
    return json_response(answer, status)


@api.route(
    "/events/{event_id}/campaigns/{campaign_id}",
    methods=["GET"],
    authorizer=organizer_token,
    content_types=ANY,
)
@json_route
def get_campaign(event_id: str, campaign_id: str) -> Response:
    from chalicelib.usecases import campaigns

    _organizer("read", event_id)
    return json_response(campaigns.progress(services(), event_id, campaign_id))


@api.route(
    "/events/{event_id}/campaigns/{campaign_id}/cancel",
    methods=["POST"],
    authorizer=organizer_token,
    content_types=ANY,
)
@json_route
def cancel_campaign(event_id: str, campaign_id: str) -> Response:
    from chalicelib.usecases import campaigns

    _organizer("send", event_id)
    answer = campaigns.cancel(services(), event_id, campaign_id)
    logger.info("campaign cancelled", extra={"event_id": event_id, "campaign_id": campaign_id})
    return json_response(answer)


# -- exports -----------------------------------------------------------------------


@api.route(
    "/events/{event_id}/exports", methods=["POST"], authorizer=organizer_token, content_types=ANY
)
@json_route
def start_export(event_id: str) -> Response:
    from chalicelib.usecases import exports

    _organizer("read", event_id)
    answer = exports.start(services(), event_id, _query())
    logger.info("export started", extra={"event_id": event_id, **answer})
    return json_response(answer, 202)


@api.route(
    "/events/{event_id}/exports/{export_id}",
    methods=["GET"],
    authorizer=organizer_token,
    content_types=ANY,
)
@json_route
def get_export(event_id: str, export_id: str) -> Response:
    from chalicelib.usecases import exports

    _organizer("read", event_id)
    return json_response(exports.progress(services(), event_id, export_id))


# -- Zoom ----------------------------------------------------------------------------


@api.route("/webhooks/zoom", methods=["POST"], content_types=ANY)
@json_route
def zoom_webhook() -> Response:
    from chalicelib.usecases import zoomhooks

    raw, _ = request_body()
    bodies.check_size(raw)
    headers = {k.lower(): v for k, v in api.current_request.headers.items()}
    wired = services()
    answer = zoomhooks.receive(wired, raw, headers, wired.clock())
    return json_response(answer.body, answer.status)
