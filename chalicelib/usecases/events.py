"""Use cases of events: configure one, show its public view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from chalicelib.domain.errors import FieldError, Invalid, NotFound, invalid
from chalicelib.domain.events import EVENT_ID, Event
from chalicelib.ports import Services


@dataclass(frozen=True)
class Saved:
    event: Event
    created: bool
    warnings: list[str] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {**self.event.organizer_view(), "warnings": self.warnings}


def put_event(services: Services, event_id: str, body: dict[str, Any]) -> Saved:
    if not EVENT_ID.fullmatch(event_id):
        raise Invalid([FieldError("id", "invalid_id", "Event ids are 3-64 of a-z, 0-9 and '-'.")])
    if "id" in body and body["id"] != event_id:
        raise Invalid(
            [FieldError("id", "mismatch", "The body's id differs from the one in the path.")]
        )
    try:
        event = Event.model_validate({**body, "id": event_id})
    except ValidationError as error:
        raise invalid(error) from None
    _zoom_ids_are_free(services, event)
    created = services.events.put(event, services.clock())
    services.zoom_store.map_event(event)
    warnings = []
    if services.settings.check_sender_identity and not services.mailer.sender_verified(
        event.sender.email
    ):
        warnings.append(
            f"The sender {event.sender.email} is not a verified SES identity (address or "
            "domain): SES will refuse to send this event's emails until it is verified."
        )
    return Saved(event, created, warnings)


def _zoom_ids_are_free(services: Services, event: Event) -> None:
    """A Zoom meeting belongs to one event session: webhooks must know whose it is."""
    taken = []
    for index, session in enumerate(event.sessions):
        if session.zoom is None:
            continue
        owner = services.zoom_store.session_for(session.zoom.id)
        if owner is not None and owner.event_id != event.id:
            taken.append(
                FieldError(
                    f"sessions.{index}.zoom.id",
                    "zoom_id_in_use",
                    f"This Zoom id belongs to a session of the event {owner.event_id!r}.",
                )
            )
    if taken:
        raise Invalid(taken)


def known_event(services: Services, event_id: str) -> Event:
    event = services.events.get(event_id) if EVENT_ID.fullmatch(event_id) else None
    if event is None:
        raise NotFound("There is no event with this id.")
    return event


def public_event(services: Services, event_id: str) -> dict[str, Any]:
    return known_event(services, event_id).public_view(services.clock())
