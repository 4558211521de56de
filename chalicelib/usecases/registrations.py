"""Use cases of registrations: register, look up, list.

The request path does one conditional write for a new registration (the event comes
from the container's cache): validate, then :meth:`RegistrationStore.add`, which also
counts the caller's address against its rate limit. Everything
else a registration sets off (its email, later Zoom) follows from the table's stream.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from chalicelib import metrics
from chalicelib.domain.addresses import parse_address
from chalicelib.domain.errors import (
    Conflict,
    Erased,
    FieldError,
    Invalid,
    NotFound,
    RegistrationClosed,
    invalid,
)
from chalicelib.domain.events import Event
from chalicelib.domain.ids import is_id, new_id
from chalicelib.domain.registrations import (
    Registration,
    RegistrationFilter,
    RegistrationForm,
    Status,
)
from chalicelib.domain.text import TextError
from chalicelib.domain.zones import default_zone
from chalicelib.ports import (
    AlreadyRegistered,
    Audit,
    OverLimit,
    Page,
    SeatsChanged,
    Services,
    StoreBusy,
)
from chalicelib.usecases import limits
from chalicelib.usecases.events import known_event

if TYPE_CHECKING:
    from chalicelib.challenges import Solved

FORM_LISTS = frozenset({"sessions"})
FORM_BOOLS = frozenset({"consent", "updates"})
_FORM_OPTIONAL = ("last_name", "language", "timezone")
SEAT_ATTEMPTS = 3
MAX_PAGE = 500


@dataclass(frozen=True)
class Registered:
    registration_id: str
    status: Status
    new: bool
    timezone: str = ""  # the zone their emails use (a thank-you page says it)

    def view(self) -> dict[str, str]:
        if self.status is Status.PENDING:  # the same for every address: it tells nothing
            return {"status": self.status.value}
        return {"registration_id": self.registration_id, "status": self.status.value}


def register(
    services: Services,
    event_id: str,
    fields: dict[str, Any],
    form: bool,
    address: str | None = None,
) -> Registered:
    """Register a person for an event from the fields of a parsed body; a new
    registration counts against ``address``'s rate limit."""
    event = known_event(services, event_id)
    now = services.clock()
    if fields.get("website"):
        # The honeypot: a bot gets the answer a person would, and nothing is stored.
        status = Status.PENDING if event.double_opt_in else Status.REGISTERED
        return Registered(new_id(), status, new=True, timezone=event.timezone)
    if not event.registration_open(now):
        raise RegistrationClosed("Registration for this event is not open.")
    if form:
        fields = {k: (None if k in _FORM_OPTIONAL and v == "" else v) for k, v in fields.items()}
    try:
        checked = RegistrationForm.model_validate(fields, context={"event": event})
    except ValidationError as error:
        # The challenge's verdict too, so that a form is put right in one go.
        raise Invalid(
            [*invalid(error).errors, *_challenge_errors(services, event, fields)]
        ) from None
    solved = _solved(services, event, fields) if event.challenge else None
    if form and checked.timezone is None:
        # A form sent without a zone (no JavaScript to find the browser's): the zone of
        # the person's country, when tzdata knows one, rather than the event's.
        checked = checked.model_copy(
            update={"timezone": default_zone(checked.country, event.timezone)}
        )
    registration = Registration.new(new_id(), event, checked, now)
    # A double opt-in's answer, whoever the address belongs to: nothing to tell apart.
    pending = Registered(
        registration.registration_id, Status.PENDING, new=True, timezone=registration.timezone
    )
    status = registration.status
    if status is not Status.PENDING:
        status = services.seat_hint.first_try(event.id)
    counted = limits.new_registration(services, event, address, solved)
    if event.blocks(registration.email_key):
        # Answered as a registration would be (counted too, so that even a 429 cannot
        # tell a block apart).
        limits.admit_all(services, counted)
        return replace(pending, status=status)
    for _ in range(SEAT_ATTEMPTS):
        try:
            services.registrations.add(
                registration.model_copy(update={"status": status}), event.capacity, counted
            )
        except AlreadyRegistered as existing:
            if not event.double_opt_in:
                # A solution is good once, whoever it registers (and is not counted
                # again when this registers anew below).
                used = limits.solution_use(counted)
                limits.admit_all(services, used)
                counted = [c for c in counted if c not in used]
                again = _send_again(services, existing.registration_id)
                if again:
                    return again
                continue  # cancelled in the meantime: register anew
            # Counted as a new one would be: the limits' answers must not tell either.
            limits.admit_all(services, counted)
            counted = []  # and once only, should it register anew below
            if _forgotten_if_expired(services, existing.registration_id, now):
                continue  # an expiry the sweep has not reached: register anew
            if _send_again(services, existing.registration_id):
                return pending
            continue
        except OverLimit as over:
            raise limits.refusal(over.counted) from None  # only a counted write is over
        except SeatsChanged:
            status = Status.REGISTERED if status is Status.WAITLISTED else Status.WAITLISTED
            continue
        if status is Status.PENDING:
            metrics.count("Pending")
            return pending
        services.seat_hint.learn(event.id, status)
        metrics.count("Registrations")
        if status is Status.WAITLISTED:
            metrics.count("Waitlisted")
        return Registered(
            registration.registration_id, status, new=True, timezone=registration.timezone
        )
    raise StoreBusy()  # the seats kept changing under each attempt


def challenge(services: Services, event_id: str) -> dict[str, Any]:
    """GET /events/{id}/challenge: a proof of work for one registration of the event."""
    from chalicelib import challenges

    event = known_event(services, event_id)
    if not event.challenge:
        raise NotFound("This event's registrations need no challenge.")
    work = challenges.Work(services.settings.challenge_cost, services.settings.challenge_counter)
    return challenges.new_challenge(services.keys.keys(), event.id, work, services.clock())


def _solved(services: Services, event: Event, fields: dict[str, Any]) -> Solved:
    """The registration's proof of work (chalicelib/challenges.py); raises Invalid."""
    from chalicelib import challenges

    return challenges.check(services.keys.keys(), event.id, fields.get("altcha"), services.clock())


def _challenge_errors(services: Services, event: Event, fields: dict[str, Any]) -> list[FieldError]:
    if not event.challenge:
        return []
    try:
        _solved(services, event, fields)
    except Invalid as refused:
        return refused.errors
    return []


def _forgotten_if_expired(services: Services, registration_id: str, now: datetime) -> bool:
    """Forget a pending registration whose time to confirm is over; whether it was."""
    found = services.registrations.get(registration_id, consistent=True)
    if found is None or found.status is not Status.PENDING or found.expires_at is None:
        return False
    if found.expires_at > now:
        return False
    return services.registrations.forget_pending(found)


def _send_again(services: Services, registration_id: str) -> Registered | None:
    """The email is already registered: send its email again (rate-limited)."""
    now = services.clock()
    interval = timedelta(seconds=services.settings.resend_interval_seconds)
    status = services.registrations.request_mail(registration_id, "resend", now, now - interval)
    if status is None:
        return None
    return Registered(registration_id, status, new=False)


def registration(services: Services, event_id: str, registration_id: str) -> Registration:
    known_event(services, event_id)
    found = services.registrations.get(registration_id) if is_id(registration_id) else None
    if found is None or found.event_id != event_id:
        raise NotFound("There is no such registration for this event.")
    return found


def registration_for_organizers(
    services: Services, event_id: str, registration_id: str
) -> Registration:
    """A registration as organisers see it; an erased one keeps only its counts."""
    found = registration(services, event_id, registration_id)
    if found.erased_at is not None:
        raise Erased("This registration was erased: only its counts remain.", title="Erased")
    return found


def _choices(
    params: dict[str, str], name: str, allowed: set[str] | None, upper: bool = False
) -> frozenset[str]:
    raw = params.get(name)
    if not raw:
        return frozenset()
    values = {v.strip().upper() if upper else v.strip() for v in raw.split(",") if v.strip()}
    if allowed is not None and not values <= allowed:
        bad = ", ".join(sorted(values - allowed))
        raise Invalid([FieldError(name, "invalid_choice", f"Unknown value: {bad}.")])
    return frozenset(values)


FILTERS = ("status", "language", "country", "session")


def registration_filter(
    event: Event, params: dict[str, str], also: tuple[str, ...] = ()
) -> RegistrationFilter:
    """The filters of a query string (``?status=registered&language=ur,ar``)."""
    unknown = set(params) - {*FILTERS, *also}
    if unknown:
        raise Invalid(
            [
                FieldError(name, "unknown_field", "Unknown query parameter.")
                for name in sorted(unknown)
            ]
        )
    return RegistrationFilter(
        status=frozenset(Status(s) for s in _choices(params, "status", {s.value for s in Status})),
        languages=_choices(params, "language", set(event.languages)),
        countries=_choices(params, "country", None, upper=True),
        sessions=_choices(params, "session", set(event.session_ids)),
        room=_room(event, params) if "room" in also else None,
    )


def _room(event: Event, params: dict[str, str]) -> tuple[str, str] | None:
    """``?room=<room key>`` with the one ``?session=`` it is a room of."""
    room = (params.get("room") or "").strip()
    if not room:
        return None
    session = event.session((params.get("session") or "").strip())
    if session is None or session.room(room) is None:
        raise Invalid(
            [FieldError("room", "unknown_room", "Choose a session, then one of its rooms.")]
        )
    return session.id, room


def registrations(services: Services, event_id: str, params: dict[str, str]) -> Page:
    """One page of an event's registrations, filtered as the query string asks."""
    event = known_event(services, event_id)
    where = registration_filter(event, params, also=("limit", "cursor", "room"))
    text = params.get("limit", "100")
    limit = int(text) if text.isascii() and text.isdigit() and len(text) < 5 else 0
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid([FieldError("limit", "out_of_range", f"Use 1 to {MAX_PAGE}.")])
    try:
        return services.registrations.page(event.id, where, limit, params.get("cursor") or None)
    except ValueError:
        raise Invalid(
            [FieldError("cursor", "invalid_cursor", "This cursor is not one we gave out.")]
        ) from None


def erase(services: Services, event_id: str, registration_id: str, by: str) -> None:
    """DELETE /events/{id}/registrations/{rid}: the personal data goes, the counts stay.

    The registration is cancelled if it was active (its seat goes to the waiting list,
    the stream cancels its Zoom registrants) and keeps no email, names or Zoom join
    URL; an audit record says who erased it and when, without personal data. Erasing
    again does nothing.
    """
    found = registration(services, event_id, registration_id)
    if found.erased_at is not None:
        return
    services.registrations.erase(found, Audit(action="erased", by=by), services.clock())


def lost_links(services: Services, event_id: str, email: Any, address: str | None) -> None:
    """ "Lost your links?": email them again to ``email`` if it is registered (at most
    once per resend interval), and say nothing either way — the answer is the same for
    every address, so it tells nobody who registered. Counts against ``address``'s
    limit. Raises Invalid for a field that is not an address, TooManyRequests."""
    event = known_event(services, event_id)
    if not isinstance(email, str) or not email.strip():
        raise Invalid([FieldError("email", "required", "This field is required.")])
    try:
        key = parse_address(email).key
    except TextError as error:
        raise Invalid([FieldError("email", error.code, error.message)]) from None
    limits.count(services, limits.lost_links(services), address)
    registration_id = services.registrations.find_by_email(event.id, key)
    if registration_id is not None:
        _send_again(services, registration_id)


def resend_links(services: Services, event_id: str, registration_id: str) -> bool:
    """An organiser sends a registrant their email again (with their links); False
    when one went out within the resend interval already."""
    found = registration_for_organizers(services, event_id, registration_id)
    if found.status is Status.CANCELLED:
        raise Conflict("This registration is cancelled: there are no links to send.")
    interval = timedelta(seconds=services.settings.resend_interval_seconds)
    if found.mail_requested_at > services.clock() - interval:
        return False  # one went out a short while ago (the public path says nothing)
    return _send_again(services, found.registration_id) is not None


def cancel_for_organizers(services: Services, event_id: str, registration_id: str) -> Registration:
    """An organiser cancels a registration: as if the person had, cancellation note
    included (their seat goes to the waiting list)."""
    found = registration_for_organizers(services, event_id, registration_id)
    return services.registrations.cancel(found, services.clock())
