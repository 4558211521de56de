"""Use cases of events: configure one, show its public view.

Saving an event again compares its programme with the stored one
(``domain/programme.py``): a material change (a session moved, retitled, relinked,
cancelled, added or removed) is saved together with its notice, a campaign to every
registrant it concerns, in one conditional write on the event's revision. The notice's
id is the revision's own, so a PUT sent twice, or two PUTs racing, tell each person of
each change once; the notice goes out through the campaigns' fan-out and sending (the
same pacing as announcements, one email per person).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from chalicelib.domain.errors import FieldError, Invalid, NotFound, invalid
from chalicelib.domain.events import EVENT_ID, Event
from chalicelib.ports import Services, StoreBusy

SAVE_ATTEMPTS = 4  # saves raced by another save are tried again against what it stored


@dataclass(frozen=True)
class Saved:
    event: Event
    created: bool
    warnings: list[str] = field(default_factory=list)
    notifying: int = 0  # people who will get an email about the change
    saved: bool = True  # False for a dry run
    notice_id: str | None = None  # the campaign telling them (its progress: …/campaigns/{id})

    def view(self) -> dict[str, Any]:
        view = {**self.event.organizer_view(), "warnings": self.warnings}
        view["notifying"] = self.notifying
        if self.notice_id:
            view["notice_id"] = self.notice_id
        if not self.saved:
            view["dry_run"] = True
        return view


def put_event(
    services: Services, event_id: str, body: dict[str, Any], dry_run: bool = False
) -> Saved:
    """``PUT /events/{id}``: store the event; tell registrants what changed for them.

    With ``dry_run``, nothing is stored or sent: the answer says what would be.
    """
    if not EVENT_ID.fullmatch(event_id):
        raise Invalid([FieldError("id", "invalid_id", "Event ids are 3-64 of a-z, 0-9 and '-'.")])
    if "id" in body and body["id"] != event_id:
        raise Invalid(
            [FieldError("id", "mismatch", "The body's id differs from the one in the path.")]
        )
    if "revision" in body:
        raise Invalid([FieldError("revision", "read_only", "Majlis counts revisions itself.")])
    try:
        event = Event.model_validate({**body, "id": event_id})
    except ValidationError as error:
        raise invalid(error) from None
    _zoom_ids_are_free(services, event)
    for _ in range(SAVE_ATTEMPTS):
        outcome = _save(services, event, dry_run)
        if outcome is not None:
            break
    else:
        raise StoreBusy()
    if dry_run:
        return outcome
    services.zoom_store.map_event(outcome.event)
    warnings = []
    if services.settings.check_sender_identity and not services.mailer.sender_verified(
        event.sender.email
    ):
        warnings.append(
            f"The sender {event.sender.email} is not a verified SES identity (address or "
            "domain): SES will refuse to send this event's emails until it is verified."
        )
    return Saved(
        outcome.event, outcome.created, warnings, outcome.notifying, notice_id=outcome.notice_id
    )


def _save(services: Services, event: Event, dry_run: bool) -> Saved | None:
    """One attempt at saving ``event`` against what is stored now; None when another
    save got there first (try again)."""
    from chalicelib.usecases import programme

    now = services.clock()
    stored = services.events.get(event.id, fresh=True)
    if stored is None:
        if dry_run or services.events.save(event, None, None, now):
            return Saved(event, created=True, saved=not dry_run)
        return None
    if event.model_copy(update={"revision": stored.revision}) == stored:
        return Saved(stored, created=False, saved=not dry_run)  # nothing to save
    revised = event.model_copy(update={"revision": stored.revision + 1})
    notice = programme.notice(stored, revised, now, programme.settled(services.settings))
    notifying = programme.recipients(services, notice) if notice else 0
    if dry_run:
        return Saved(revised, created=False, notifying=notifying, saved=False)
    if not services.events.save(revised, stored.revision, notice, now):
        return None
    notice_id = notice.campaign_id if notice else None
    return Saved(revised, created=False, notifying=notifying, notice_id=notice_id)


def _zoom_ids_are_free(services: Services, event: Event) -> None:
    """A Zoom meeting belongs to one event session: webhooks must know whose it is."""
    taken = []
    for index, session in enumerate(event.sessions):
        where = [(f"sessions.{index}.zoom.id", session.zoom)] if session.zoom else []
        where += [
            (f"sessions.{index}.rooms.{n}.zoom.id", room.zoom)
            for n, room in enumerate(session.rooms)
            if room.zoom is not None
        ]
        for where_, link in where:
            owner = services.zoom_store.session_for(link.id)
            if owner is None or owner.event_id == event.id:
                continue
            taken.append(
                FieldError(
                    where_,
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
