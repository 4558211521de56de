"""The zoom worker: a batch from the zoom queue, applied and synced together.

Webhooks are applied one by one; registrations to sync are gathered so that adds to
one meeting go out 30 to a call. What Zoom asked to slow down for comes back later
(after its Retry-After, else an exponential backoff); what Zoom refused for good goes
to the dead-letter queue with its reason, where organisers and operators see it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from chalicelib.bootstrap import Majlis
from chalicelib.logs import logger
from chalicelib.usecases import zoomhooks, zoomsync

MAX_BACKOFF = 900


def backoff(receive_count: int) -> int:
    return min(2 ** max(receive_count, 1), MAX_BACKOFF)


def handle(majlis: Majlis, records: list[dict[str, Any]]) -> list[str]:
    """Process SQS records; returns the message ids to deliver again."""
    failed: list[str] = []
    by_registration: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        try:
            job = json.loads(record["body"])
            if job.get("type") == "zoom_webhook":
                outcome = zoomhooks.apply(majlis, job["body"])
                logger.info("zoom webhook", extra={"outcome": outcome})
            elif job.get("type") == "zoom_sync":
                by_registration[str(job["registration_id"])].append(record)
            else:
                raise ValueError(f"unknown job type {job.get('type')!r}")
        except Exception:  # noqa: BLE001 - one bad message must not hold up the others
            logger.exception("zoom job failed", extra={"message_id": record["messageId"]})
            failed.append(record["messageId"])
    if not by_registration:
        return failed
    outcome = zoomsync.sync(majlis, list(by_registration))
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
        for record in by_registration[registration_id]:
            majlis.zoom_dead_letters.send([{**json.loads(record["body"]), "reason": reason}])
    for registration_id, after in outcome.retry.items():
        for record in by_registration[registration_id]:
            count = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
            delay = int(after) + 1 if after else backoff(count)
            majlis.zoom_queue.retry_later(record["receiptHandle"], delay)
            failed.append(record["messageId"])
    return failed
