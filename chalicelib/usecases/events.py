"""Use cases of events: configure one, show its public view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from chalicelib.bootstrap import Majlis
from chalicelib.domain.events import EVENT_ID, Event
from chalicelib.problems import FieldError, Problem, field_errors, validation_problem


@dataclass(frozen=True)
class Saved:
    event: Event
    created: bool
    warnings: list[str] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {**self.event.organizer_view(), "warnings": self.warnings}


def put_event(majlis: Majlis, event_id: str, body: dict[str, Any]) -> Saved:
    if not EVENT_ID.fullmatch(event_id):
        raise validation_problem(
            [FieldError("id", "invalid_id", "Event ids are 3-64 of a-z, 0-9 and '-'.")]
        )
    if "id" in body and body["id"] != event_id:
        raise validation_problem(
            [FieldError("id", "mismatch", "The body's id differs from the one in the path.")]
        )
    try:
        event = Event.model_validate({**body, "id": event_id})
    except ValidationError as error:
        raise validation_problem(field_errors(error)) from None
    _zoom_ids_are_free(majlis, event)
    created = majlis.events.put(event, majlis.clock())
    majlis.zoom_store.map_event(event)
    warnings = []
    if majlis.settings.check_sender_identity and not majlis.mailer.sender_verified(
        event.sender.email
    ):
        warnings.append(
            f"The sender {event.sender.email} is not a verified SES identity (address or "
            "domain): SES will refuse to send this event's emails until it is verified."
        )
    return Saved(event, created, warnings)


def _zoom_ids_are_free(majlis: Majlis, event: Event) -> None:
    """A Zoom meeting belongs to one event session: webhooks must know whose it is."""
    taken = []
    for index, session in enumerate(event.sessions):
        if session.zoom is None:
            continue
        owner = majlis.zoom_store.session_for(session.zoom.id)
        if owner is not None and owner.event_id != event.id:
            taken.append(
                FieldError(
                    f"sessions.{index}.zoom.id",
                    "zoom_id_in_use",
                    f"This Zoom id belongs to a session of the event {owner.event_id!r}.",
                )
            )
    if taken:
        raise validation_problem(taken)


def known_event(majlis: Majlis, event_id: str) -> Event:
    event = majlis.events.get(event_id) if EVENT_ID.fullmatch(event_id) else None
    if event is None:
        raise Problem(404, "There is no event with this id.")
    return event


def public_event(majlis: Majlis, event_id: str) -> dict[str, Any]:
    return known_event(majlis, event_id).public_view(majlis.clock())
