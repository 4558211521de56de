"""The zoom worker: a batch from the zoom queue, applied and synced together.

Webhooks are applied one by one; registrations to sync are gathered so that adds to
one meeting go out 30 to a call; events to set up (interpretation, panelists) once each
per batch. What Zoom asked to slow down for comes back later
(after its Retry-After, else an exponential backoff); what Zoom refused for good goes
to the dead-letter queue with its reason, where organisers and operators see it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from chalicelib.jobs import ZoomSetup, ZoomSync, ZoomWebhook
from chalicelib.logs import logger
from chalicelib.ports import Delivery, Services
from chalicelib.usecases import zoomhooks, zoomsetup, zoomsync

MAX_BACKOFF = 900


def backoff(receive_count: int) -> int:
    return min(2 ** max(receive_count, 1), MAX_BACKOFF)


def apply_webhook(services: Services, job: ZoomWebhook) -> str:
    outcome = zoomhooks.apply(services, job.body)
    logger.info("zoom webhook", extra={"outcome": outcome})
    return outcome


def set_up(services: Services, gathered: list[tuple[ZoomSetup, Delivery]]) -> list[Delivery]:
    """Set up each event of a batch's setup jobs once; returns the deliveries to deliver
    again (Zoom slowed us down or was not there)."""
    by_event: dict[str, list[Delivery]] = defaultdict(list)
    for job, delivery in gathered:
        by_event[job.event_id].append(delivery)
    again = []
    for event_id, deliveries in by_event.items():
        outcome = zoomsetup.apply(services, event_id)
        logger.info(
            "zoom setup",
            extra={
                "event_id": event_id,
                "rooms": outcome.rooms,
                "applied": outcome.applied,
                "problems": len(outcome.problems),
                "failed": outcome.failed,
                "retry": outcome.retry,
                "zoom_calls": outcome.calls,
            },
        )
        if outcome.retry:
            for delivery in deliveries:
                after = outcome.retry_after
                delay = int(after) + 1 if after else backoff(delivery.receive_count)
                services.zoom_queue.retry_later(delivery.receipt_handle, delay)
                again.append(delivery)
    return again


def sync(services: Services, gathered: list[tuple[Any, Delivery]]) -> list[Delivery]:
    """Sync the registrations of a batch's sync jobs together (and set up the events of
    its setup jobs); returns the deliveries to deliver again (each already told when:
    Zoom's Retry-After, else a backoff)."""
    setups = [(job, d) for job, d in gathered if isinstance(job, ZoomSetup)]
    again = set_up(services, setups) if setups else []
    by_registration: dict[str, list[tuple[ZoomSync, Delivery]]] = defaultdict(list)
    for job, delivery in gathered:
        if isinstance(job, ZoomSync):
            by_registration[job.registration_id].append((job, delivery))
    if not by_registration:
        return again
    outcome = zoomsync.sync(services, list(by_registration))
    logger.info(
        "zoom sync",
        extra={
            "synced": outcome.synced,
            "cancelled": outcome.cancelled,
            "skipped": outcome.skipped,
            "retry": len(outcome.retry),
            "dead": len(outcome.dead),
            "zoom_calls": outcome.calls,
        },
    )
    for registration_id, reason in outcome.dead.items():
        for job, _ in by_registration[registration_id]:
            services.zoom_dead_letters.send([job.model_copy(update={"reason": reason})])
    for registration_id, after in outcome.retry.items():
        for _, delivery in by_registration[registration_id]:
            delay = int(after) + 1 if after else backoff(delivery.receive_count)
            services.zoom_queue.retry_later(delivery.receipt_handle, delay)
            again.append(delivery)
    return again
