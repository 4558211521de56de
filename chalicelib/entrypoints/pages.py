"""The pages people see: the hosted registration form, and where the links in their
emails lead (join, manage, unsubscribe); the stylesheet and scripts they load.

A page answers in the person's language (theirs when we know who they are, else the
page's ``?lang=``, the browser's, the event's default), right to left for Arabic and
Urdu; any failure is a kind page, never a traceback. A GET never changes anything but a
join click's record; a HEAD answers as the GET would, without a body, and changes
nothing at all (link checkers probe every link of an email); a POST must come from our
own pages (the same-site check) except mail providers' one-click unsubscribes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from chalicelib.bootstrap import services
from chalicelib.domain.errors import FieldError
from chalicelib.entrypoints import bodies, http
from chalicelib.logs import correlate, logger
from chalicelib.usecases import limits, registrations

pages = Blueprint("app")

ASSETS = {
    "page.css": "text/css",
    "register.js": "text/javascript",
    "zones.js": "text/javascript",
    "embed.js": "text/javascript",
    # ALTCHA's widget (a module), its styles and its proof-of-work worker: make assets.
    "altcha.js": "text/javascript",
    "altcha.css": "text/css",
    "altcha-pbkdf2.js": "text/javascript",
    # The organisers' console: its styles and script, and Chart.js (make assets).
    "console.css": "text/css",
    "console.js": "text/javascript",
    "composer.js": "text/javascript",
    "chart.js": "text/javascript",
}
ANY = ["*/*"]
GET = ["GET", "HEAD"]  # what shows a page: HEAD answers as GET would, with no body


def _head() -> bool:
    return pages.current_request.method == "HEAD"


def page(view: Callable[..., Response]) -> Callable[..., Response]:
    """A page route: one correlation id, and a kind page (never a traceback) on failure;
    a HEAD gets the GET's status and headers without the body."""

    @functools.wraps(view)
    def handle(**kwargs: Any) -> Response:
        correlate(pages.current_request.context.get("requestId"))
        try:
            response = view(**kwargs)
        except http.ANSWERED as refused:  # a dependency busy, a refusal not handled below
            response = _failure(http.problem_for(refused))
        except Exception as error:  # noqa: BLE001 - the last line: a page, never a traceback
            failed = http.dependency_failure(error, view.__name__)
            if failed is None:
                logger.exception("unhandled error", extra={"route": view.__name__})
                failed = http.Problem(500, "Something went wrong on our side.")
            response = _failure(failed)
        if _head():
            response.body = ""
        # Every answer, the join redirect and the assets included: browsers keep to https
        # for a year once they have seen it over https (and ignore it over http, locally).
        response.headers.setdefault("Strict-Transport-Security", http.HSTS)
        return response

    return handle


def _failure(problem: http.Problem) -> Response:
    """A kind page, or a problem document for a script that posted JSON."""
    content_type = pages.current_request.headers.get("content-type") or ""
    if bodies.media_type(content_type)[0] == bodies.JSON:
        return http.problem_response(problem)
    return _problem_page(problem, _browser_language())


def _respond(html: str, status: int, headers: dict[str, str] | None = None) -> Response:
    from chalicelib.pages.render import security_headers

    return Response(
        body=html, status_code=status, headers={**dict(security_headers()), **(headers or {})}
    )


def _problem_page(problem: http.Problem, language: str) -> Response:
    """A page for a problem, keeping its headers (``Retry-After``)."""
    from chalicelib.pages import views

    return _respond(
        *views.problem_page(problem.status, language, base_url=_base_url()), problem.headers
    )


def _base_url() -> str:
    return services().settings.public_base_url.rstrip("/")


def _browser_language() -> str:
    """The language of a page about no one in particular: the browser's, else English."""
    from chalicelib import i18n

    accepted = pages.current_request.headers.get("accept-language")
    return i18n.negotiate(accepted, list(i18n.LANGUAGES), "en")


def _page_language(event_languages: list[str], default: str) -> str:
    from chalicelib import i18n

    request = pages.current_request
    asked = (request.query_params or {}).get("lang")
    if asked in event_languages:
        return asked
    return i18n.negotiate(request.headers.get("accept-language"), event_languages, default)


def _same_site() -> bool:
    """A browser POST to a page must come from our own pages (no cross-site forms).

    Mail providers' one-click unsubscribe POSTs come from their servers, with neither
    header; browsers send at least one of them.
    """
    headers = pages.current_request.headers
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


def _request_body() -> tuple[bytes, str | None]:
    request = pages.current_request
    return request.raw_body or b"", request.headers.get("content-type")


def _client_address() -> str | None:
    return (pages.current_request.context.get("identity") or {}).get("sourceIp")


# -- assets ----------------------------------------------------------------------------


@pages.route("/assets/{name}", methods=GET, content_types=ANY)
@page
def asset(name: str) -> Response:
    from chalicelib.pages.render import STATIC
    from chalicelib.pages.views import embed_script

    if name not in ASSETS:
        return http.problem_response(http.Problem(404, "There is no such file."))
    return Response(
        body=embed_script() if name == "embed.js" else (STATIC / name).read_text(encoding="utf-8"),
        status_code=200,
        headers={
            "Content-Type": f"{ASSETS[name]}; charset=utf-8",
            "Cache-Control": "public, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            # Public files: an organiser's page that embeds the form loads the widget as
            # a module and its worker's code with fetch, both of which CORS governs.
            "Access-Control-Allow-Origin": "*",
        },
    )


# -- the registration page -------------------------------------------------------------


def _page_event(event_id: str) -> Any:
    from chalicelib.domain.errors import Refused
    from chalicelib.pages import views
    from chalicelib.usecases import events

    try:
        return events.known_event(services(), event_id)
    except Refused:
        return _respond(*views.problem_page(404, _browser_language(), base_url=_base_url()))


@pages.route("/events/{event_id}/register", methods=GET, content_types=ANY)
@page
def registration_page(event_id: str) -> Response:
    from chalicelib.pages import views

    event = _page_event(event_id)
    if isinstance(event, Response):
        return event
    language = _page_language(event.languages, event.default_language)
    return _respond(
        *views.registration_page(event, language, services().clock(), base_url=_base_url())
    )


@pages.route("/events/{event_id}/register", methods=["POST"], content_types=ANY)
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
        return _respond(*views.problem_page(403, language, base_url=base_url))
    fields: dict[str, Any] = {}
    try:
        # "updates" is a hidden "false" plus the checkbox's "true": the last one counts.
        fields = bodies.read_page_form(
            *_request_body(), lists=registrations.FORM_LISTS | {"updates"}
        )
        fields = bodies.form_booleans(fields, registrations.FORM_BOOLS)
        fields = views.posted_sessions(fields)  # the time slots' radio groups
        outcome = registrations.register(
            services(), event_id, fields, form=True, address=_client_address()
        )
    except http.ANSWERED as refused:
        problem = http.problem_for(refused)
        if problem.status == 409:
            return _respond(*views.closed_page(event, language, base_url=base_url))
        if problem.status == 422:
            errors = views.field_errors_for(problem, language)
            return _respond(
                *views.registration_page(
                    event,
                    language,
                    services().clock(),
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
    return _respond(
        *views.thanks_page(
            event, language, outcome.status, base_url=base_url, timezone=outcome.timezone
        )
    )


@pages.route("/events/{event_id}/links", methods=GET, content_types=ANY)
@page
def lost_links_page(event_id: str) -> Response:
    """ "Lost your links?": a form for the address one registered with."""
    from chalicelib.pages import views

    event = _page_event(event_id)
    if isinstance(event, Response):
        return event
    language = _page_language(event.languages, event.default_language)
    return _respond(*views.lost_links_page(event, language, base_url=_base_url(), done=False))


@pages.route("/events/{event_id}/links", methods=["POST"], content_types=ANY)
@page
def lost_links_post(event_id: str) -> Response:
    """The address in (the page's form, or JSON from a script: this route sends no CORS
    headers, so no other site's page can post it); the same answer for every address,
    registered or not."""
    from chalicelib.pages import views

    raw, content_type = _request_body()
    as_json = bodies.media_type(content_type)[0] == bodies.JSON
    event = _page_event(event_id)
    if isinstance(event, Response):
        if as_json:
            return http.problem_response(http.Problem(404, "There is no event with this id."))
        return event
    language = _page_language(event.languages, event.default_language)
    base_url = _base_url()
    fields: dict[str, Any] = {}
    try:
        if not as_json and not _same_site():
            raise http.Problem(403, "Use the page's own form.", kind="cross-site")
        if as_json:
            fields = bodies.read_json_object(raw, content_type)
        else:
            fields = bodies.read_page_form(raw, content_type, lists=frozenset())
        unknown = sorted(set(fields) - {"email"})
        if unknown:
            raise http.validation_problem(
                [FieldError(name, "unknown_field", "Not part of this form.") for name in unknown]
            )
        registrations.lost_links(services(), event.id, fields.get("email"), _client_address())
    except http.ANSWERED as refused:
        problem = http.problem_for(refused)
        if as_json:
            return http.problem_response(problem)
        if problem.status == 422:
            errors = views.field_errors_for(problem, language)
            return _respond(
                *views.lost_links_page(
                    event, language, base_url=base_url, done=False, values=fields, errors=errors
                )
            )
        return _problem_page(problem, language)
    logger.info("links asked for again", extra={"event_id": event.id})
    if as_json:
        return http.json_response({"status": "sent"}, 202)
    return _respond(*views.lost_links_page(event, language, base_url=base_url, done=True))


# -- the links in emails ---------------------------------------------------------------


def _count_refusal(refused: Any) -> None:
    """Log a refused link and count it; raises TooManyRequests once over the limit."""
    logger.info("link refused", extra={"reason": refused.reason.value})
    limits.count_refused_link(services(), refused.reason, _client_address())


def _link_refused(refused: Any) -> Response:
    from chalicelib.domain.errors import TooManyRequests
    from chalicelib.pages.refusals import refused_page

    try:
        # A HEAD counts as a GET: a forged signature is a guess whatever the method
        _count_refusal(refused)
    except TooManyRequests as over:
        return _problem_page(http.problem_for(over), _browser_language())
    accept_language = pages.current_request.headers.get("accept-language")
    return _respond(*refused_page(refused, accept_language, _base_url()))


@pages.route("/join/{token}", methods=GET, content_types=ANY)
@page
def follow_join_link(token: str) -> Response:
    from chalicelib.usecases.access import LinkRefused, join, peek

    try:
        # A HEAD (a link checker) is told where the link leads; only a GET is a click.
        location = (
            peek(services(), token) if _head() else join(services(), token, _client_address())
        )
    except LinkRefused as refused:
        return _link_refused(refused)
    return Response(
        body="",
        status_code=302,
        headers={
            "Location": location,
            # Not Chalice's default (application/json): a redirect has no JSON to read.
            "Content-Type": "text/plain; charset=utf-8",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _join_links(managed: Any) -> dict[str, str]:
    """A registered person's join links, as their emails carry them (none while waiting)."""
    from chalicelib.domain.registrations import Status
    from chalicelib.signed_links import registration_links

    if managed.registration.status is not Status.REGISTERED:
        return {}
    wired = services()
    return registration_links(
        wired.keys.keys(), wired.settings.public_base_url, managed.event, managed.registration
    ).join


@pages.route("/manage/{token}", methods=GET, content_types=ANY)
@page
def manage_page(token: str) -> Response:
    from chalicelib.pages import views
    from chalicelib.usecases import selfservice
    from chalicelib.usecases.access import LinkRefused

    try:
        managed = selfservice.manage(services(), token)
    except LinkRefused as refused:
        return _link_refused(refused)
    return _respond(
        *views.manage_page(
            managed.registration,
            managed.event,
            base_url=_base_url(),
            token=token,
            now=services().clock(),
            join_links=_join_links(managed),
        )
    )


@pages.route("/manage/{token}", methods=["POST"], content_types=ANY)
@page
def manage_post(token: str) -> Response:
    from chalicelib import i18n
    from chalicelib.domain.errors import TooManyRequests
    from chalicelib.pages import views
    from chalicelib.usecases import selfservice
    from chalicelib.usecases.access import LinkRefused

    raw, content_type = _request_body()
    as_json = bodies.media_type(content_type)[0] == bodies.JSON
    base_url = _base_url()
    try:
        if not _same_site():
            raise http.Problem(403, "Use the page's own buttons.", kind="cross-site")
        if as_json:
            fields = bodies.read_json_object(raw, content_type)
        else:
            fields = bodies.read_page_form(raw, content_type, lists=registrations.FORM_LISTS)
            fields.pop("confirm", None)
            fields = views.posted_sessions(fields)  # the time slots' radio groups
        action, changes = selfservice.manage_action(fields)
        resent = False
        if action == "cancel":
            managed = selfservice.cancel(services(), token)
        elif action == "resend":
            managed, resent = selfservice.resend(services(), token)
        else:
            if not as_json and "sessions" not in changes:
                changes["sessions"] = []  # a form with every box unticked
            managed = selfservice.update(services(), token, changes)
    except LinkRefused as refused:
        if as_json:
            try:
                _count_refusal(refused)
            except TooManyRequests as over:
                return http.problem_response(over)
            return http.problem_response(
                http.Problem(refused.reason.status, "This link is not valid.")
            )
        return _link_refused(refused)
    except http.ANSWERED as refusal:
        problem = http.problem_for(refusal)
        if as_json:
            return http.problem_response(problem)
        try:
            managed = selfservice.manage(services(), token)
        except LinkRefused as refused:
            return _link_refused(refused)
        language = managed.registration.language
        if problem.status == 422:
            return _respond(
                *views.manage_page(
                    managed.registration,
                    managed.event,
                    base_url=base_url,
                    token=token,
                    now=services().clock(),
                    join_links=_join_links(managed),
                    errors=views.field_errors_for(problem, language),
                )
            )
        return _problem_page(problem, language)
    registration = managed.registration
    logger.info(
        "self-service", extra={"action": action, "registration_id": registration.registration_id}
    )
    if as_json:
        answer = {
            "registration_id": registration.registration_id,
            "status": registration.status.value,
        }
        if action == "resend":
            answer["resent"] = resent
        return http.json_response(answer)
    if action == "cancel":
        return _respond(*views.cancelled_page(registration, managed.event, base_url=base_url))
    gettext = i18n.translations(registration.language).gettext
    if action == "resend" and resent:
        saved = gettext("We have emailed you your links again.")
    elif action == "resend":
        saved = gettext(
            "We emailed you your links a few minutes ago. If they have not arrived, please "
            "check your spam folder."
        )
    else:
        saved = gettext(
            "Your changes are saved. We have sent you an email with your updated sessions."
        )
    return _respond(
        *views.manage_page(
            registration,
            managed.event,
            base_url=base_url,
            token=token,
            now=services().clock(),
            join_links=_join_links(managed),
            message=saved,
        )
    )


@pages.route("/confirm/{token}", methods=GET, content_types=ANY)
@page
def confirm_link(token: str) -> Response:
    """A double opt-in's link: a button, and nothing changed (mail scanners open links)."""
    from chalicelib.pages import views
    from chalicelib.usecases import optin
    from chalicelib.usecases.access import LinkRefused

    try:
        registration = optin.pending_behind(services(), token)
    except LinkRefused as refused:
        return _link_refused(refused)
    event = services().events.get(registration.event_id)
    if event is None:
        return _respond(*views.problem_page(404, registration.language, base_url=_base_url()))
    return _respond(*views.confirm_page(registration, event, base_url=_base_url(), token=token))


@pages.route("/confirm/{token}", methods=["POST"], content_types=ANY)
@page
def confirm_post(token: str) -> Response:
    from chalicelib.pages import views
    from chalicelib.usecases import optin
    from chalicelib.usecases.access import LinkRefused

    if not _same_site():
        return _respond(*views.problem_page(403, _browser_language(), base_url=_base_url()))
    try:
        confirmed = optin.confirm(services(), token, _client_address())
    except LinkRefused as refused:
        return _link_refused(refused)
    event = services().events.get(confirmed.registration.event_id)
    if event is None:
        return _respond(*views.problem_page(404, "en", base_url=_base_url()))
    logger.info(
        "confirmed",
        extra={
            "registration_id": confirmed.registration.registration_id,
            "status": confirmed.status.value,
            "new": confirmed.new,
        },
    )
    shown = confirmed.registration.model_copy(update={"status": confirmed.status})
    return _respond(*views.confirm_page(shown, event, base_url=_base_url(), token=token))


@pages.route("/unsubscribe/{token}", methods=GET, content_types=ANY)
@page
def unsubscribe_page(token: str) -> Response:
    from chalicelib.pages import views
    from chalicelib.usecases import selfservice
    from chalicelib.usecases.access import LinkRefused

    try:
        managed = selfservice.unsubscribe_view(services(), token)
    except LinkRefused as refused:
        return _link_refused(refused)
    return _respond(
        *views.unsubscribe_page(
            managed.registration, managed.event, base_url=_base_url(), token=token, done=False
        )
    )


@pages.route("/unsubscribe/{token}", methods=["POST"], content_types=ANY)
@page
def unsubscribe_post(token: str) -> Response:
    """Also RFC 8058's one-click POST (``List-Unsubscribe=One-Click``), from mail providers."""
    from chalicelib.pages import views
    from chalicelib.usecases import selfservice
    from chalicelib.usecases.access import LinkRefused

    if not _same_site():
        return _respond(*views.problem_page(403, "en", base_url=_base_url()))
    try:
        managed = selfservice.unsubscribe(services(), token)
    except LinkRefused as refused:
        return _link_refused(refused)
    logger.info("unsubscribed", extra={"registration_id": managed.registration.registration_id})
    return _respond(
        *views.unsubscribe_page(
            managed.registration, managed.event, base_url=_base_url(), token=token, done=True
        )
    )
