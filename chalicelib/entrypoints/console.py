"""The organisers' console (``/console/…``): pages on the same use cases as the API.

Signing in is by an emailed one-time link (``usecases/console.py``); a signed-in browser
holds an HttpOnly, SameSite=Strict cookie (``Secure`` when the public address is https).
Every page checks the session and the organiser's role on the event (a 403 page
otherwise); every POST must come from our own pages (the same-site check) and carry the
session's CSRF token. A page without a session sends the browser to the sign-in page.
Each action is audited.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

from chalice import Blueprint, Response

from chalicelib.bootstrap import services
from chalicelib.domain.errors import Gone, NotFound
from chalicelib.domain.organizers import EVERY_EVENT
from chalicelib.entrypoints import bodies, http
from chalicelib.entrypoints.pages import (
    GET,
    _base_url,
    _browser_language,
    _client_address,
    _problem_page,
    _request_body,
    _respond,
    _same_site,
    page,
)
from chalicelib.logs import logger

console = Blueprint("app")
ANY = ["*/*"]
COOKIE = "majlis_console"
COOKIE_PATH = "/console"
FORM_LISTS = frozenset({"status", "languages", "sessions"})  # the composer's audience


def _query() -> dict[str, str]:
    return dict(console.current_request.query_params or {})


def _cookie() -> str | None:
    header = console.current_request.headers.get("cookie")
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # noqa: BLE001 - a malformed Cookie header is no session
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else None


def _set_cookie(value: str, max_age: int) -> str:
    secure = "; Secure" if _base_url().startswith("https://") else ""
    return (
        f"{COOKIE}={value}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; "
        f"SameSite=Strict{secure}"
    )


def _redirect(location: str, cookie: str | None = None) -> Response:
    headers = {"Location": location, "Cache-Control": "no-store"}
    if cookie is not None:
        headers["Set-Cookie"] = cookie
    return Response(body="", status_code=303, headers=headers)


def _language(signed: Any | None) -> str:
    """The page's language: ?lang= (kept for the organiser), theirs, the browser's."""
    from chalicelib import i18n

    asked = _query().get("lang")
    if asked in i18n.LANGUAGES:
        return asked
    if signed is not None:
        return signed.organizer.language
    return _browser_language()


def _form() -> dict[str, Any]:
    """A console form: urlencoded, as large as a whole event's settings may be."""
    return bodies.read_body(
        *_request_body(),
        accept=(bodies.FORM,),
        lists=FORM_LISTS,
        most_bytes=bodies.CONSOLE_BODY,
        most_fields=bodies.CONSOLE_FORM_FIELDS,
    )[0]


def _forbidden(language: str, signed: Any = None, event_id: str | None = None) -> Response:
    """The console's 403 page: what the role does not allow, and who can change it."""
    from chalicelib.pages import console as views

    event = services().events.get(event_id) if event_id else None
    return _respond(*views.forbidden_page(signed, event, language, _base_url()))


def _signed_out(language: str, status: int = 403) -> Response:
    """The sign-in page, saying that the session has ended (a form posted after it)."""
    from chalicelib.pages import console as views

    return _respond(*views.sign_in_page(language, _base_url(), status=status, refused="ended"))


def signed_page(role: str | None = "read", post: bool = False) -> Callable[..., Any]:
    """A console page for a signed-in organiser with ``role`` on the route's event (no
    event: any signed-in organiser). The view gets ``signed`` and ``language``; a POST
    is checked for the same site and the session's CSRF token first."""

    def wrap(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def handle(**kwargs: Any) -> Response:
            from chalicelib.usecases import console as accounts

            wired = services()
            signed = accounts.signed_in(wired, _cookie())
            if signed is None:
                if post:
                    return _signed_out(_language(None))
                return _redirect(f"/console?lang={_language(None)}")
            language = _language(signed)
            if language != signed.organizer.language and "lang" in _query():
                signed = accounts.choose_language(wired, signed, language)
            event_id = kwargs.get("event_id")
            if (
                event_id is not None
                and role is not None
                and not signed.organizer.may(role, event_id)
            ):
                return _forbidden(language, signed, event_id)
            fields: dict[str, Any] = {}
            if post:
                fields = _form()
                if not _same_site() or not signed.csrf_ok(_one(fields.get("csrf"))):
                    return _problem_page(
                        http.Problem(403, "Use the console's own forms.", kind="cross-site"),
                        language,
                    )
                kwargs["fields"] = fields
            return view(signed=signed, language=language, **kwargs)

        return page(handle)

    return wrap


def _one(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[-1] if value else None
    return value if isinstance(value, str) else None


# -- signing in ------------------------------------------------------------------------


@console.route("/console", methods=GET, content_types=ANY)
@page
def console_home() -> Response:
    from chalicelib.pages import console as views
    from chalicelib.usecases import console as accounts

    if accounts.signed_in(services(), _cookie()) is not None:
        return _redirect("/console/events")
    return _respond(*views.sign_in_page(_language(None), _base_url()))


@console.route("/console/signin", methods=["POST"], content_types=ANY)
@page
def ask_sign_in() -> Response:
    """The address in; the same page for every address, invited or not."""
    from chalicelib.pages import console as views
    from chalicelib.pages.views import field_errors_for
    from chalicelib.usecases import console as accounts

    language = _language(None)
    if not _same_site():
        return _problem_page(
            http.Problem(403, "Use the console's own form.", kind="cross-site"), language
        )
    fields: dict[str, Any] = {}
    try:
        fields = _form()
        accounts.ask_sign_in(services(), _one(fields.get("email")), language, _client_address())
    except http.ANSWERED as refused:
        problem = http.problem_for(refused)
        if problem.status == 422:
            errors = field_errors_for(problem, language)
            return _respond(
                *views.sign_in_page(language, _base_url(), values=fields, errors=errors, status=422)
            )
        return _problem_page(problem, language)
    logger.info("console sign-in asked for")
    return _respond(*views.sign_in_page(language, _base_url(), done=True))


@console.route("/console/signin/{token}", methods=GET, content_types=ANY)
@page
def sign_in_link(token: str) -> Response:
    """A button, and nothing used up: mail scanners open links too."""
    from chalicelib.pages import console as views
    from chalicelib.usecases import console as accounts

    try:
        found = accounts.check_sign_in(services(), token)
    except (Gone, NotFound) as refused:
        return _link_refused(refused)
    language = found.language if "lang" not in _query() else _language(None)
    return _respond(*views.sign_in_link_page(language, _base_url(), token))


def _link_refused(refused: Exception) -> Response:
    """A used, expired or unknown sign-in link: the sign-in page saying so (410, 404)."""
    from chalicelib.pages import console as views

    gone = isinstance(refused, Gone)
    return _respond(
        *views.sign_in_page(
            _language(None),
            _base_url(),
            status=410 if gone else 404,
            refused="gone" if gone else "not_found",
        )
    )


@console.route("/console/signin/{token}", methods=["POST"], content_types=ANY)
@page
def sign_in(token: str) -> Response:
    from chalicelib.domain.organizers import SESSION_HOURS
    from chalicelib.usecases import console as accounts

    if not _same_site():
        return _problem_page(
            http.Problem(403, "Use the console's own form.", kind="cross-site"), _language(None)
        )
    try:
        cookie, signed = accounts.sign_in(services(), token)
    except (Gone, NotFound) as refused:
        return _link_refused(refused)
    logger.info("console signed in", extra={"organizer": signed.who})
    return _redirect("/console/events", _set_cookie(cookie, SESSION_HOURS * 3600))


@console.route("/console/signout", methods=["POST"], content_types=ANY)
@signed_page(role=None, post=True)
def sign_out(signed: Any, language: str, fields: dict[str, Any]) -> Response:
    from chalicelib.usecases import console as accounts

    accounts.sign_out(services(), signed)
    logger.info("console signed out", extra={"organizer": signed.who})
    return _redirect(f"/console?lang={language}", _set_cookie("", 0))


# -- events and their overview -----------------------------------------------------------


@console.route("/console/events", methods=GET, content_types=ANY)
@signed_page(role=None)
def events_list(signed: Any, language: str) -> Response:
    from chalicelib.pages import console as views

    wired = services()
    ids = signed.organizer.events(sorted(wired.events.ids()))
    found = [event for event in (wired.events.get(i) for i in ids) if event is not None]
    if len(found) == 1:
        return _redirect(f"/console/events/{found[0].id}?lang={language}")
    return _respond(*views.events_page(signed, found, language, _base_url()))


def _overview(event_id: str, language: str) -> tuple[Any, dict[str, Any]]:
    from chalicelib.domain.stats import report
    from chalicelib.pages import console as views
    from chalicelib.usecases.events import known_event

    wired = services()
    event = known_event(wired, event_id)
    counted = report(wired.stats.read(event_id))
    return event, views.overview_document(event, counted, language, wired.clock())


@console.route("/console/events/{event_id}", methods=GET, content_types=ANY)
@signed_page("read")
def overview(signed: Any, language: str, event_id: str) -> Response:
    from chalicelib.pages import console as views

    event, document = _overview(event_id, language)
    return _respond(*views.overview_page(signed, event, document, language, _base_url()))


@console.route("/console/events/{event_id}/overview.json", methods=GET, content_types=ANY)
@signed_page("read")
def overview_data(signed: Any, language: str, event_id: str) -> Response:
    _, document = _overview(event_id, language)
    return http.json_response(document, headers={"Cache-Control": "no-store"})


# -- registrants -----------------------------------------------------------------------

PAGE_SIZE = 50


@console.route("/console/events/{event_id}/registrants", methods=GET, content_types=ANY)
@signed_page("read")
def registrants(signed: Any, language: str, event_id: str) -> Response:
    from chalicelib.domain.addresses import parse_address
    from chalicelib.domain.text import TextError
    from chalicelib.pages import console as views
    from chalicelib.pages.views import field_errors_for
    from chalicelib.usecases import registrations as usecase
    from chalicelib.usecases.events import known_event

    wired = services()
    event = known_event(wired, event_id)
    params = {k: v for k, v in _query().items() if k != "lang"}
    filters = {
        k: params.get(k, "") for k in ("status", "language", "country", "session", "room", "email")
    }
    if "/" in params.get("room", ""):  # the page's room choice: "<session>/<room key>"
        params["session"], params["room"] = params["room"].split("/", 1)
    email = params.pop("email", "").strip()
    if email:
        try:
            key = parse_address(email).key
        except TextError:
            key = None
        found = wired.registrations.find_by_email(event.id, key) if key else None
        if found:
            return _redirect(f"/console/events/{event.id}/registrants/{found}?lang={language}")
        return _respond(
            *views.registrants_page(
                signed, event, [], None, filters, language, _base_url(), not_found=True
            )
        )
    query = {k: v for k, v in params.items() if v}
    try:
        found_page = usecase.registrations(wired, event.id, {**query, "limit": str(PAGE_SIZE)})
    except http.ANSWERED as refused:
        problem = http.problem_for(refused)
        if problem.status != 422:
            raise
        errors = field_errors_for(problem, language)
        return _respond(
            *views.registrants_page(
                signed, event, [], None, filters, language, _base_url(), errors=errors
            )
        )
    return _respond(
        *views.registrants_page(
            signed,
            event,
            found_page.items,
            found_page.cursor,
            {**filters, "cursor": query.get("cursor", "")},
            language,
            _base_url(),
        )
    )


def _registrant(event_id: str, registration_id: str) -> tuple[Any, Any]:
    from chalicelib.usecases import registrations as usecase
    from chalicelib.usecases.events import known_event

    wired = services()
    event = known_event(wired, event_id)
    return event, usecase.registration_for_organizers(wired, event.id, registration_id)


@console.route(
    "/console/events/{event_id}/registrants/{registration_id}", methods=GET, content_types=ANY
)
@signed_page("read")
def registrant(signed: Any, language: str, event_id: str, registration_id: str) -> Response:
    from chalicelib.pages import console as views

    event, found = _registrant(event_id, registration_id)
    notice = _query().get("done")
    return _respond(*views.registrant_page(signed, event, found, language, _base_url(), notice))


def _done(event_id: str, registration_id: str, language: str, what: str) -> Response:
    return _redirect(
        f"/console/events/{event_id}/registrants/{registration_id}?lang={language}&done={what}"
    )


@console.route(
    "/console/events/{event_id}/registrants/{registration_id}/resend",
    methods=["POST"],
    content_types=ANY,
)
@signed_page("send", post=True)
def resend(
    signed: Any, language: str, event_id: str, registration_id: str, fields: dict[str, Any]
) -> Response:
    from chalicelib.usecases import console as accounts
    from chalicelib.usecases import registrations as usecase

    sent = usecase.resend_links(services(), event_id, registration_id)
    accounts.audit(services(), event_id, signed, "resend", registration_id)
    return _done(event_id, registration_id, language, "resent" if sent else "resent_recently")


@console.route(
    "/console/events/{event_id}/registrants/{registration_id}/cancel",
    methods=["POST"],
    content_types=ANY,
)
@signed_page("admin", post=True)
def cancel(
    signed: Any, language: str, event_id: str, registration_id: str, fields: dict[str, Any]
) -> Response:
    from chalicelib.usecases import console as accounts
    from chalicelib.usecases import registrations as usecase

    usecase.cancel_for_organizers(services(), event_id, registration_id)
    accounts.audit(services(), event_id, signed, "cancel", registration_id)
    return _done(event_id, registration_id, language, "cancelled")


@console.route(
    "/console/events/{event_id}/registrants/{registration_id}/erase",
    methods=GET,
    content_types=ANY,
)
@signed_page("admin")
def erase_confirmation(signed: Any, language: str, event_id: str, registration_id: str) -> Response:
    from chalicelib.pages import console as views

    event, found = _registrant(event_id, registration_id)
    return _respond(*views.erase_page(signed, event, found, language, _base_url()))


@console.route(
    "/console/events/{event_id}/registrants/{registration_id}/erase",
    methods=["POST"],
    content_types=ANY,
)
@signed_page("admin", post=True)
def erase(
    signed: Any, language: str, event_id: str, registration_id: str, fields: dict[str, Any]
) -> Response:
    from chalicelib.usecases import console as accounts
    from chalicelib.usecases import registrations as usecase

    usecase.erase(services(), event_id, registration_id, signed.who)
    accounts.audit(services(), event_id, signed, "erase", registration_id)
    logger.info(
        "registration erased", extra={"event_id": event_id, "registration_id": registration_id}
    )
    return _redirect(f"/console/events/{event_id}/registrants?lang={language}&erased=1")


# -- organisers --------------------------------------------------------------------------


def _organizers_page(signed: Any, language: str, event_id: str, **context: Any) -> Response:
    from chalicelib.pages import console as views
    from chalicelib.usecases.events import known_event

    wired = services()
    event = known_event(wired, event_id)
    return _respond(
        *views.organizers_page(
            signed,
            event,
            wired.organizers.organizers_of(event.id),
            wired.organizers.audit_trail(event.id, 50),
            language,
            _base_url(),
            every_event=wired.organizers.organizers_of(EVERY_EVENT),
            **context,
        )
    )


@console.route("/console/events/{event_id}/organizers", methods=GET, content_types=ANY)
@signed_page("admin")
def organizers(signed: Any, language: str, event_id: str) -> Response:
    return _organizers_page(signed, language, event_id, notice=_query().get("done"))


@console.route("/console/events/{event_id}/organizers", methods=["POST"], content_types=ANY)
@signed_page("admin", post=True)
def invite(signed: Any, language: str, event_id: str, fields: dict[str, Any]) -> Response:
    from chalicelib.pages.views import field_errors_for
    from chalicelib.usecases import console as accounts

    try:
        accounts.invite(
            services(),
            event_id,
            _one(fields.get("email")),
            _one(fields.get("role")) or "",
            signed.who,
        )
    except http.ANSWERED as refused:
        problem = http.problem_for(refused)
        if problem.status != 422:
            raise
        return _organizers_page(
            signed, language, event_id, values=fields, errors=field_errors_for(problem, language)
        )
    return _redirect(f"/console/events/{event_id}/organizers?lang={language}&done=invited")


@console.route("/console/events/{event_id}/organizers/revoke", methods=["POST"], content_types=ANY)
@signed_page("admin", post=True)
def revoke(signed: Any, language: str, event_id: str, fields: dict[str, Any]) -> Response:
    from chalicelib.usecases import console as accounts

    key = _one(fields.get("organizer")) or ""
    if key == signed.organizer.key:
        return _forbidden(language, signed, event_id)  # an admin cannot lock themself out
    accounts.revoke(services(), event_id, key, signed.who)
    return _redirect(f"/console/events/{event_id}/organizers?lang={language}&done=revoked")


# -- announcements -----------------------------------------------------------------------


@console.route("/console/events/{event_id}/campaigns", methods=GET, content_types=ANY)
@signed_page("read")
def campaigns(signed: Any, language: str, event_id: str) -> Response:
    from chalicelib.pages import console as views
    from chalicelib.usecases import campaigns as usecase
    from chalicelib.usecases.events import known_event

    wired = services()
    event = known_event(wired, event_id)
    listed = usecase.of_event(wired, event.id)
    return _respond(
        *views.campaigns_page(signed, event, listed, language, _base_url(), _query().get("done"))
    )


@console.route("/console/events/{event_id}/campaigns/new", methods=GET, content_types=ANY)
@signed_page("send")
def composer(signed: Any, language: str, event_id: str) -> Response:
    from chalicelib.pages import console as views
    from chalicelib.usecases.events import known_event

    event = known_event(services(), event_id)
    return _respond(*views.composer_page(signed, event, {}, language, _base_url()))


def _campaign_body(event: Any, fields: dict[str, Any], now: Any) -> dict[str, Any]:
    """The composer's form as the API's campaign body (send_at in the event's zone)."""
    from datetime import UTC, datetime, timedelta

    from chalicelib.domain.errors import FieldError, Invalid
    from chalicelib.domain.zones import zone

    content: dict[str, dict[str, str]] = {}
    for code in event.languages:
        parts = {
            part: _one(fields.get(f"{part}.{code}")) or "" for part in ("subject", "text", "html")
        }
        if any(value.strip() for value in parts.values()):
            content[code] = {
                part: value for part, value in parts.items() if value.strip() or part != "html"
            }
    countries = [c.strip() for c in (_one(fields.get("countries")) or "").split(",") if c.strip()]
    body: dict[str, Any] = {
        "name": (_one(fields.get("name")) or "").strip(),
        "audience": {
            "status": _listed(fields.get("status")) or ["registered"],
            "languages": _listed(fields.get("languages")),
            "sessions": _listed(fields.get("sessions")),
            "countries": countries,
        },
        "content": content,
    }
    text = (_one(fields.get("send_at")) or "").strip()
    if text:
        try:
            local = datetime.fromisoformat(text)
        except ValueError:
            raise Invalid(
                [FieldError("send_at", "invalid_send_at", "Not a date and time.")]
            ) from None
        moment = local.replace(tzinfo=zone(event.timezone)).astimezone(UTC)
        if moment < now - timedelta(minutes=1):
            raise Invalid([FieldError("send_at", "past_send_at", "This time has passed.")])
        body["send_at"] = moment.isoformat().replace("+00:00", "Z")
    return body


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if v]


def _sample_reader(event: Any, fields: dict[str, Any]) -> tuple[str, str]:
    """The language and zone of the sample reader a preview or a test is drawn for."""
    language = _one(fields.get("preview_language")) or event.default_language
    return language, _one(fields.get("preview_zone")) or event.timezone


def _composer_refused(
    signed: Any, event: Any, fields: dict[str, Any], language: str, refused: Exception
) -> Response:
    """The composer again, with the fields a 422 named (anything else is raised on)."""
    from chalicelib.pages import console as views

    problem = http.problem_for(refused)
    if problem.status != 422:
        raise refused
    values = {k: v for k, v in fields.items() if k != "csrf"}
    errors = views.composer_errors(problem, language)
    return _respond(
        *views.composer_page(
            signed, event, values, language, _base_url(), errors=errors, status=422
        )
    )


@console.route("/console/events/{event_id}/campaigns/new", methods=["POST"], content_types=ANY)
@signed_page("send", post=True)
def compose(signed: Any, language: str, event_id: str, fields: dict[str, Any]) -> Response:
    """The composer's buttons: preview, count, review (the confirmation), send."""
    from datetime import datetime

    from chalicelib.pages import console as views
    from chalicelib.usecases import campaigns as usecase
    from chalicelib.usecases import console as accounts
    from chalicelib.usecases.events import known_event

    wired = services()
    event = known_event(wired, event_id)
    action = _one(fields.get("action")) or "preview"
    values = {k: v for k, v in fields.items() if k != "csrf"}
    try:
        body = _campaign_body(event, fields, wired.clock())
        if action == "edit":
            return _respond(*views.composer_page(signed, event, values, language, _base_url()))
        if action == "test":
            accounts.send_draft(
                wired,
                event.id,
                signed,
                body,
                *_sample_reader(event, fields),
            )
            return _respond(
                *views.composer_page(
                    signed, event, values, language, _base_url(), test_sent=signed.organizer.email
                )
            )
        if action == "preview":
            rendered = usecase.preview(
                wired,
                event.id,
                body,
                *_sample_reader(event, fields),
            )
            return _respond(
                *views.composer_page(signed, event, values, language, _base_url(), preview=rendered)
            )
        _, counted = usecase.create(wired, event.id, {**body, "dry_run": True})
        if action == "count":
            return _respond(
                *views.composer_page(signed, event, values, language, _base_url(), counted=counted)
            )
        if action == "review":
            send_at = body.get("send_at")
            when = datetime.fromisoformat(send_at.replace("Z", "+00:00")) if send_at else None
            return _respond(
                *views.confirm_send_page(
                    signed, event, values, counted, when, language, _base_url()
                )
            )
        _, created = usecase.create(wired, event.id, body)
    except http.ANSWERED as refused:
        return _composer_refused(signed, event, fields, language, refused)
    accounts.audit(wired, event.id, signed, "campaign", created["campaign_id"])
    logger.info(
        "campaign created", extra={"event_id": event.id, "campaign_id": created["campaign_id"]}
    )
    return _redirect(f"/console/events/{event.id}/campaigns?lang={language}&done=created")


@console.route("/console/events/{event_id}/campaigns/count", methods=["POST"], content_types=ANY)
@signed_page("send", post=True)
def count_audience(signed: Any, language: str, event_id: str, fields: dict[str, Any]) -> Response:
    """The composer's live count (its script posts the form as it changes): the API's dry
    run, said in a sentence for the page's live region."""
    from chalicelib import i18n
    from chalicelib.pages import console as views
    from chalicelib.usecases import campaigns as usecase
    from chalicelib.usecases.events import known_event

    wired = services()
    event = known_event(wired, event_id)
    try:
        body = _campaign_body(event, fields, wired.clock())
        body["content"] = body["content"] or {event.default_language: {"subject": "-", "text": "-"}}
        body["name"] = body["name"] or "-"
        _, counted = usecase.create(wired, event.id, {**body, "dry_run": True})
    except http.ANSWERED as refused:
        problem = http.problem_for(refused)
        if problem.status != 422:
            raise
        gettext = i18n.translations(language).gettext
        return http.json_response({"text": gettext("The audience cannot be counted yet.")}, 422)
    shown = views.counted_sentence(counted, event, language)
    return http.json_response({**counted, "text": shown}, headers={"Cache-Control": "no-store"})


# The HTML email as its own page: its inline styles allowed, nothing else (no script,
# sandboxed, no third party but images over https).
EMAIL_PREVIEW_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; sandbox"
)


@console.route("/console/events/{event_id}/campaigns/preview", methods=["POST"], content_types=ANY)
@signed_page("send", post=True)
def email_preview(signed: Any, language: str, event_id: str, fields: dict[str, Any]) -> Response:
    from chalicelib.usecases import campaigns as usecase
    from chalicelib.usecases.events import known_event

    wired = services()
    event = known_event(wired, event_id)
    try:
        body = _campaign_body(event, fields, wired.clock())
        rendered = usecase.preview(
            wired,
            event.id,
            body,
            *_sample_reader(event, fields),
        )
    except http.ANSWERED as refused:
        return _composer_refused(signed, event, fields, language, refused)
    return Response(
        body=rendered.html,
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": EMAIL_PREVIEW_POLICY,
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
        },
    )


@console.route(
    "/console/events/{event_id}/campaigns/{campaign_id}/cancel", methods=["POST"], content_types=ANY
)
@signed_page("send", post=True)
def cancel_campaign(
    signed: Any, language: str, event_id: str, campaign_id: str, fields: dict[str, Any]
) -> Response:
    from chalicelib.usecases import campaigns as usecase
    from chalicelib.usecases import console as accounts

    usecase.cancel(services(), event_id, campaign_id)
    accounts.audit(services(), event_id, signed, "campaign_cancel", campaign_id)
    return _redirect(f"/console/events/{event_id}/campaigns?lang={language}&done=cancelled")


# -- exports and operations --------------------------------------------------------------


@console.route("/console/events/{event_id}/operations", methods=GET, content_types=ANY)
@signed_page("read")
def operations(signed: Any, language: str, event_id: str) -> Response:
    from chalicelib.pages import console as views
    from chalicelib.usecases import stats
    from chalicelib.usecases.events import known_event

    wired = services()
    event = known_event(wired, event_id)
    zoom = stats.zoom_status(wired, event.id)
    held = wired.dead_letters.counts()
    asked = wired.organizers.redrives(10) if signed.organizer.operates else []
    return _respond(
        *views.operations_page(
            signed,
            event,
            zoom,
            language,
            _base_url(),
            dead_letters=held,
            redrives=asked,
            notice=_query().get("done"),
        )
    )


@console.route(
    "/console/events/{event_id}/dead-letters/{queue}/redrive", methods=["POST"], content_types=ANY
)
@signed_page("admin", post=True)
def redrive(
    signed: Any, language: str, event_id: str, queue: str, fields: dict[str, Any]
) -> Response:
    """An operator (admin of every event) moves a dead-letter queue's messages back."""
    from chalicelib.usecases import operations

    if not signed.organizer.operates:
        return _forbidden(language, signed, event_id)
    asked = operations.ask_redrive(services(), signed, queue)
    logger.info("redrive asked", extra={"queue": queue, "redrive_id": asked.redrive_id})
    return _redirect(f"/console/events/{event_id}/operations?lang={language}&done=redrive")


@console.route("/console/events/{event_id}/exports", methods=["POST"], content_types=ANY)
@signed_page("read", post=True)
def start_export(signed: Any, language: str, event_id: str, fields: dict[str, Any]) -> Response:
    from chalicelib.pages import console as views
    from chalicelib.pages.views import field_errors_for
    from chalicelib.usecases import console as accounts
    from chalicelib.usecases import exports, stats
    from chalicelib.usecases.events import known_event

    wired = services()
    event = known_event(wired, event_id)
    kind = _one(fields.get("kind")) or "registrations"
    params = {
        name: value
        for name in ("status", "language", "session")
        if (value := _one(fields.get(name)) or "")
    }
    if kind == "attendance":
        params["kind"] = "attendance"
    try:
        started = exports.start(wired, event.id, params)
    except http.ANSWERED as refused:
        problem = http.problem_for(refused)
        if problem.status != 422:
            raise
        zoom = stats.zoom_status(wired, event.id)
        errors = field_errors_for(problem, language)
        return _respond(
            *views.operations_page(
                signed,
                event,
                zoom,
                language,
                _base_url(),
                dead_letters=wired.dead_letters.counts(),
                errors=errors,
            )
        )
    accounts.audit(wired, event.id, signed, "export", started["export_id"])
    return _redirect(f"/console/events/{event.id}/exports/{started['export_id']}?lang={language}")


@console.route("/console/events/{event_id}/exports/{export_id}", methods=GET, content_types=ANY)
@signed_page("read")
def export_progress(signed: Any, language: str, event_id: str, export_id: str) -> Response:
    from chalicelib.pages import console as views
    from chalicelib.usecases import exports
    from chalicelib.usecases.events import known_event

    wired = services()
    event = known_event(wired, event_id)
    progress = exports.progress(wired, event.id, export_id)
    return _respond(*views.export_page(signed, event, progress, language, _base_url()))


# -- event settings ----------------------------------------------------------------------


@console.route("/console/events/{event_id}/settings", methods=GET, content_types=ANY)
@signed_page("admin")
def settings(signed: Any, language: str, event_id: str) -> Response:
    from chalicelib import i18n
    from chalicelib.pages import console as views
    from chalicelib.usecases.events import known_event

    event = known_event(services(), event_id)
    notice = None
    if _query().get("done") == "saved":
        told = (
            int(_query().get("notified", "0") or 0) if _query().get("notified", "").isdigit() else 0
        )
        ngettext = i18n.translations(language).ngettext
        notice = ngettext(
            "Saved. %(num)d person is being emailed about the change.",
            "Saved. %(num)d people are being emailed about the change.",
            told,
        ) % {"num": told}
    values = views.settings_values(event)
    return _respond(
        *views.settings_page(signed, event, values, language, _base_url(), notice=notice)
    )


def _utc_text(text: str, zone_name: str, field: str) -> str | None:
    """A datetime-local field, in the event's zone, as UTC (None when empty)."""
    from datetime import UTC, datetime

    from chalicelib.domain.errors import FieldError, Invalid
    from chalicelib.domain.zones import zone

    if not text.strip():
        return None
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid([FieldError(field, "invalid_datetime", "Not a date and time.")]) from None
    return local.replace(tzinfo=zone(zone_name)).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _event_body(event: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """The settings form over the stored event: the API's PUT body."""
    import json

    from chalicelib.domain.errors import FieldError, Invalid
    from chalicelib.domain.events import LANGUAGES
    from chalicelib.pages.console import ADVANCED_KEYS

    def text(name: str) -> str:
        return (_one(fields.get(name)) or "").strip()

    body = event.model_dump(
        mode="json", by_alias=True, exclude={"id", "revision"}, exclude_none=True
    )
    body["title"] = {code: text(f"title.{code}") for code in LANGUAGES if text(f"title.{code}")}
    capacity = text("capacity")
    if capacity and not capacity.isdigit():
        raise Invalid([FieldError("capacity", "not_a_number", "A whole number, or empty.")])
    body["capacity"] = int(capacity) if capacity else None
    body["languages"] = _listed(fields.get("languages"))
    body["default_language"] = text("default_language")
    for flag in ("double_opt_in", "challenge", "refuse_disposable"):
        body[flag] = text(flag) == "true"
    hours = text("opt_in_hours") or "24"
    body["opt_in_hours"] = int(hours) if hours.isdigit() else hours
    body["blocked"] = [line.strip() for line in text("blocked").splitlines() if line.strip()]
    body["reminders"] = [part.strip() for part in text("reminders").split(",") if part.strip()]
    window = {
        "opens_at": _utc_text(text("opens_at"), event.timezone, "registration.opens_at"),
        "closes_at": _utc_text(text("closes_at"), event.timezone, "registration.closes_at"),
    }
    body["registration"] = {k: v for k, v in window.items() if v}
    for index, session in enumerate(body["sessions"]):
        prefix = f"session.{index}"
        titles = {code: text(f"{prefix}.title.{code}") for code in LANGUAGES}
        session["title"] = {code: value for code, value in titles.items() if value}
        for part in ("starts_at", "ends_at"):
            moment = _utc_text(text(f"{prefix}.{part}"), event.timezone, f"sessions.{index}.{part}")
            if moment is not None:
                session[part] = moment
        session["status"] = text(f"{prefix}.status") or session.get("status", "scheduled")
        recording = text(f"{prefix}.recording_url")
        session.pop("recording_url", None)
        if recording:
            session["recording_url"] = recording
        session.pop("interpretation", None)
        session.pop("speakers", None)
        session.update(_people_of(fields, prefix, index, text))
        advanced = text(f"{prefix}.advanced")
        for key in ADVANCED_KEYS:
            session.pop(key, None)
        if advanced:
            try:
                parsed = json.loads(advanced)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict) or set(parsed) - set(ADVANCED_KEYS):
                raise Invalid(
                    [
                        FieldError(
                            f"sessions.{index}.advanced",
                            "invalid_json",
                            "A JSON object with rooms only.",
                        )
                    ]
                )
            session.update(parsed)
    return {k: v for k, v in body.items() if v is not None}


def _people_of(fields: dict[str, Any], prefix: str, index: int, text: Any) -> dict[str, Any]:
    """A session's interpretation and speakers from its form fields (the API's shape)."""
    from chalicelib.domain.errors import FieldError, Invalid
    from chalicelib.domain.events import LANGUAGES

    found: dict[str, Any] = {}
    source = text(f"{prefix}.interpretation.from")
    into = [code for code in LANGUAGES if text(f"{prefix}.into.{code}") == "on"]
    interpreters = []
    for line in text(f"{prefix}.interpreters").splitlines():
        parts = [part.strip() for part in line.split(",") if part.strip()]
        if not parts:
            continue
        if len(parts) != 3:
            raise Invalid(
                [
                    FieldError(
                        f"sessions.{index}.interpretation.interpreters",
                        "invalid_line",
                        "Each line: an address and two language codes, separated by commas.",
                    )
                ]
            )
        interpreters.append({"email": parts[0], "languages": parts[1:]})
    if source or into or interpreters:
        found["interpretation"] = {"from": source, "into": into, "interpreters": interpreters}
    speakers = []
    for line in text(f"{prefix}.speakers").splitlines():
        name, _, email = line.rpartition(",")
        if not line.strip():
            continue
        if not name.strip() or not email.strip():
            raise Invalid(
                [
                    FieldError(
                        f"sessions.{index}.speakers",
                        "invalid_line",
                        "Each line: a name, a comma, an address.",
                    )
                ]
            )
        speakers.append({"name": name.strip(), "email": email.strip()})
    if speakers:
        found["speakers"] = speakers
    return found


@console.route("/console/events/{event_id}/settings", methods=["POST"], content_types=ANY)
@signed_page("admin", post=True)
def save_settings(signed: Any, language: str, event_id: str, fields: dict[str, Any]) -> Response:
    from chalicelib.domain.errors import Conflict
    from chalicelib.pages import console as views
    from chalicelib.usecases import console as accounts
    from chalicelib.usecases.events import known_event, put_event

    wired = services()
    event = known_event(wired, event_id)
    fresh = wired.events.get(event.id, fresh=True) or event
    action = _one(fields.get("action")) or "review"
    values = {k: v for k, v in fields.items() if k != "csrf"}
    if action == "edit":
        return _respond(*views.settings_page(signed, fresh, values, language, _base_url()))
    try:
        if _one(fields.get("revision")) != str(fresh.revision):
            raise Conflict("Someone saved these settings meanwhile: reload the page to see theirs.")
        body = _event_body(fresh, fields)
        if action == "review":
            counted = put_event(wired, event.id, body, dry_run=True)
            return _respond(
                *views.confirm_settings_page(
                    signed, fresh, values, counted.notifying, language, _base_url()
                )
            )
        saved = put_event(wired, event.id, body)
    except http.ANSWERED as refused:
        problem = http.problem_for(refused)
        if problem.status not in (409, 422):
            raise
        if problem.status == 409:
            errors = {"revision": {"message": problem.detail, "details": ""}}
        else:
            errors = views.composer_errors(problem, language)
        return _respond(
            *views.settings_page(
                signed, fresh, values, language, _base_url(), errors=errors, status=problem.status
            )
        )
    accounts.audit(wired, event.id, signed, "settings", str(saved.event.revision))
    logger.info("event saved", extra={"event_id": event.id, "notifying": saved.notifying})
    return _redirect(
        f"/console/events/{event.id}/settings?lang={language}&done=saved&notified={saved.notifying}"
    )
