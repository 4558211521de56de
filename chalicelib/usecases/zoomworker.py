"""The zoom worker: a batch from the zoom queue, applied and synced together.

Webhooks are applied one by one; registrations to sync are gathered so that adds to
one meeting go out 30 to a call. What Zoom asked to slow down for comes back later
(after its Retry-After, else an exponential backoff); what Zoom refused for good goes
to the dead-letter queue with its reason, where organisers and operators see it.
"""

from __future__ import annotations

from collections import defaultdict

from chalicelib.jobs import ZoomSync, ZoomWebhook
from chalicelib.logs import logger
from chalicelib.ports import Delivery, Services
from chalicelib.usecases import zoomhooks, zoomsync

MAX_BACKOFF = 900


def backoff(receive_count: int) -> int:
    return min(2 ** max(receive_count, 1), MAX_BACKOFF)


def apply_webhook(services: Services, job: ZoomWebhook) -> str:
    outcome = zoomhooks.apply(services, job.body)
    logger.info("zoom webhook", extra={"outcome": outcome})
    return outcome


def sync(services: Services, gathered: list[tuple[ZoomSync, Delivery]]) -> list[Delivery]:
    """Sync the registrations of a batch's sync jobs together; returns the deliveries to
    deliver again (each already told when: Zoom's Retry-After, else a backoff)."""
    by_registration: dict[str, list[tuple[ZoomSync, Delivery]]] = defaultdict(list)
    for job, delivery in gathered:
        by_registration[job.registration_id].append((job, delivery))
    if not by_registration:
        return []
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
    again = []
    for registration_id, after in outcome.retry.items():
        for _, delivery in by_registration[registration_id]:
            delay = int(after) + 1 if after else backoff(delivery.receive_count)
            services.zoom_queue.retry_later(delivery.receipt_handle, delay)
            again.append(delivery)
    return again
