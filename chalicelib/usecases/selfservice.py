"""What registrants do themselves, through the links in their emails.

Manage: see their registration, change sessions, language or time zone (an email with
the updated calendar follows), or cancel (every link revoked, the seat freed, a last
email with the calendar cancellation). Unsubscribe: no more announcements; confirmations
and join links keep coming. Each acts only through a POST: a GET never changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from chalicelib.domain.errors import Conflict, FieldError, Invalid, invalid
from chalicelib.domain.events import Event
from chalicelib.domain.registrations import Registration, RegistrationChanges, Status
from chalicelib.ports import Services, Stale
from chalicelib.signed_links import Purpose
from chalicelib.usecases.access import LinkRefused, Refusal, registration_behind


@dataclass(frozen=True)
class Managed:
    registration: Registration
    event: Event


def _event_of(services: Services, registration: Registration) -> Event:
    event = services.events.get(registration.event_id)
    if event is None:
        raise LinkRefused(Refusal.INVALID, registration.language)
    return event


def manage(services: Services, token: str) -> Managed:
    """The registration behind a manage link, with its event. Raises LinkRefused."""
    registration = registration_behind(services, Purpose.MANAGE, token)
    return Managed(registration, _event_of(services, registration))


def cancel(services: Services, token: str) -> Managed:
    managed = manage(services, token)
    cancelled = services.registrations.cancel(managed.registration, services.clock())
    return Managed(cancelled, managed.event)


def update(services: Services, token: str, fields: dict[str, Any]) -> Managed:
    """Apply the changes a registrant asked for; nothing changes, nothing is sent."""
    managed = manage(services, token)
    registration, event = managed.registration, managed.event
    try:
        changes = RegistrationChanges.model_validate(fields, context={"event": event})
    except ValidationError as error:
        raise invalid(error) from None
    changed = changes.applied_to(registration)
    if not changed:
        return managed
    kept = changed.get("sessions", registration.sessions)
    # Only a registered person holds calendar entries to take back.
    dropped = (
        [s for s in registration.sessions if s not in kept]
        if registration.status is Status.REGISTERED
        else []
    )
    try:
        updated = services.registrations.change(registration, changed, dropped, services.clock())
    except Stale:
        # The link version moved under us: the page was showing an older state.
        raise Conflict("This registration changed meanwhile: please reload the page.") from None
    return Managed(updated, event)


def unsubscribe(services: Services, token: str) -> Managed:
    registration = registration_behind(services, Purpose.UNSUBSCRIBE, token)
    event = _event_of(services, registration)
    done = services.registrations.unsubscribe(registration.registration_id, services.clock())
    if done is None:
        raise LinkRefused(Refusal.INVALID, registration.language)
    return Managed(done, event)


def unsubscribe_view(services: Services, token: str) -> Managed:
    registration = registration_behind(services, Purpose.UNSUBSCRIBE, token)
    return Managed(registration, _event_of(services, registration))


def resend(services: Services, token: str) -> tuple[Managed, bool]:
    """Email the registrant their links again (at most once per resend interval);
    returns whether an email is on its way now (False: one was sent a moment ago)."""
    managed = manage(services, token)
    registration = managed.registration
    now = services.clock()
    not_since = now - timedelta(seconds=services.settings.resend_interval_seconds)
    due = registration.mail_requested_at <= not_since
    if due:
        # None: cancelled (or erased) since it was read, so no email is owed
        owed = services.registrations.request_mail(
            registration.registration_id, "resend", now, not_since
        )
        due = owed is not None
    return managed, due


def manage_action(fields: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``{"action": "cancel"}``, ``{"action": "resend"}`` or ``{"action": "update", …}``
    -> (action, changes)."""
    action = fields.get("action")
    rest = {k: v for k, v in fields.items() if k != "action"}
    if action in ("cancel", "resend"):
        if rest:
            raise Invalid(
                [FieldError(k, "unknown_field", f"Not part of a {action}.") for k in rest]
            )
        return str(action), {}
    if action == "update":
        return "update", rest
    raise Invalid(
        [FieldError("action", "invalid_choice", "The action is 'cancel', 'resend' or 'update'.")]
    )
