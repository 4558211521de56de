"""Double opt-in: a registration counts once the person confirms it from their email.

On an event with ``double_opt_in``, a registration is stored *pending*: it holds no
seat, gets no Zoom registrant and no announcement, and its only email is a short one
with a confirm link (signed, valid for the event's ``opt_in_hours``). Following the
link shows a button and changes nothing (mail scanners open links); the button's POST
confirms: the person takes a seat, or a place on the waiting list if the event filled
meanwhile, in one transaction, and is owed the confirmation with links and calendar
(the table's stream sends it and adds them to Zoom). A pending registration that is not
confirmed in time is deleted with its personal data (``expire``, every few minutes;
DynamoDB's TTL on the same items is the backstop).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib import metrics
from chalicelib.domain.registrations import Registration, Status
from chalicelib.ports import SeatsChanged, Services, StoreBusy
from chalicelib.signed_links import Purpose
from chalicelib.usecases import limits
from chalicelib.usecases.access import LinkRefused, Refusal, registration_behind

SEAT_ATTEMPTS = 6
EXPIRED_PER_RUN = 5_000


@dataclass(frozen=True)
class Confirmed:
    registration: Registration
    status: Status  # registered or waitlisted
    new: bool  # False: it was confirmed before (a second click)


def pending_behind(services: Services, token: str) -> Registration:
    """The registration a confirm link stands for, as it is now (gone: not confirmed in
    time, and forgotten). Raises LinkRefused."""
    return registration_behind(services, Purpose.CONFIRM, token, gone=Refusal.EXPIRED)


def confirm(services: Services, token: str, address: str | None = None) -> Confirmed:
    """Confirm the registration behind a confirm link; counts against ``address``'s
    limit. Raises LinkRefused, TooManyRequests."""
    limits.count(services, limits.confirms(services), address)
    registration = pending_behind(services, token)
    if registration.status is not Status.PENDING:
        return Confirmed(registration, registration.status, new=False)
    event = services.events.get(registration.event_id, fresh=True)
    if event is None:
        raise LinkRefused(Refusal.UNAVAILABLE, registration.language)
    if max(s.ends_at for s in event.sessions) <= services.clock():
        raise LinkRefused(Refusal.EXPIRED, registration.language)  # nothing left to attend
    capacity = event.capacity
    status = services.seat_hint.first_try(registration.event_id)
    for _ in range(SEAT_ATTEMPTS):
        try:
            done = services.registrations.confirm(registration, status, capacity, services.clock())
        except SeatsChanged:
            status = Status.REGISTERED if status is Status.WAITLISTED else Status.WAITLISTED
            continue
        if not done:  # confirmed meanwhile (another tab), or gone: as it is now
            current = pending_behind(services, token)
            if current.status is Status.PENDING:
                raise StoreBusy()
            return Confirmed(current, current.status, new=False)
        services.seat_hint.learn(registration.event_id, status)
        metrics.count("Confirmed")
        return Confirmed(registration, status, new=True)
    raise StoreBusy()


def expire(services: Services) -> int:
    """Forget the pending registrations not confirmed in time; returns how many."""
    expired = services.registrations.expire_pending(services.clock(), EXPIRED_PER_RUN)
    metrics.count("PendingExpired", expired)
    return expired
