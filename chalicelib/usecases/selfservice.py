"""What registrants do themselves, through the links in their emails.

Manage: see their registration, change sessions, language or time zone (an email with
the updated calendar follows), or cancel (every link revoked, the seat freed, a last
email with the calendar cancellation). Unsubscribe: no more announcements; confirmations
and join links keep coming. Each acts only through a POST: a GET never changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from chalicelib.bootstrap import Majlis
from chalicelib.domain.events import Event
from chalicelib.domain.registrations import Registration, RegistrationChanges, Status
from chalicelib.links import Purpose
from chalicelib.ports import StoreBusy
from chalicelib.problems import FieldError, Problem, field_errors, validation_problem
from chalicelib.usecases.access import LinkRefused, Refusal, registration_behind


@dataclass(frozen=True)
class Managed:
    registration: Registration
    event: Event


def _event_of(majlis: Majlis, registration: Registration) -> Event:
    event = majlis.events.get(registration.event_id)
    if event is None:
        raise LinkRefused(Refusal.INVALID, registration.language)
    return event


def manage(majlis: Majlis, token: str) -> Managed:
    """The registration behind a manage link, with its event. Raises LinkRefused."""
    registration = registration_behind(majlis, Purpose.MANAGE, token)
    return Managed(registration, _event_of(majlis, registration))


def cancel(majlis: Majlis, token: str) -> Managed:
    managed = manage(majlis, token)
    try:
        cancelled = majlis.registrations.cancel(managed.registration, majlis.clock())
    except StoreBusy:
        raise Problem(503, "Please try again in a moment.", headers={"Retry-After": "2"}) from None
    return Managed(cancelled, managed.event)


def update(majlis: Majlis, token: str, fields: dict[str, Any]) -> Managed:
    """Apply the changes a registrant asked for; nothing changes, nothing is sent."""
    managed = manage(majlis, token)
    registration, event = managed.registration, managed.event
    try:
        changes = RegistrationChanges.model_validate(fields, context={"event": event})
    except ValidationError as error:
        raise validation_problem(field_errors(error)) from None
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
        updated = majlis.registrations.change(registration, changed, dropped, majlis.clock())
    except StoreBusy:
        raise Problem(409, "This registration changed meanwhile: please reload the page.") from None
    return Managed(updated, event)


def unsubscribe(majlis: Majlis, token: str) -> Managed:
    registration = registration_behind(majlis, Purpose.UNSUBSCRIBE, token)
    event = _event_of(majlis, registration)
    done = majlis.registrations.unsubscribe(registration.registration_id, majlis.clock())
    if done is None:
        raise LinkRefused(Refusal.INVALID, registration.language)
    return Managed(done, event)


def unsubscribe_view(majlis: Majlis, token: str) -> Managed:
    registration = registration_behind(majlis, Purpose.UNSUBSCRIBE, token)
    return Managed(registration, _event_of(majlis, registration))


def manage_action(fields: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``{"action": "cancel"}`` or ``{"action": "update", …}`` -> (action, changes)."""
    action = fields.get("action")
    rest = {k: v for k, v in fields.items() if k != "action"}
    if action == "cancel":
        if rest:
            raise validation_problem(
                [FieldError(k, "unknown_field", "Not part of a cancellation.") for k in rest]
            )
        return "cancel", {}
    if action == "update":
        return "update", rest
    raise validation_problem(
        [FieldError("action", "invalid_choice", "The action is 'cancel' or 'update'.")]
    )
