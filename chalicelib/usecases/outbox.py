"""The transactional outbox: table changes become jobs on the queues.

The table's stream is the outbox. A new registration, or one that is owed another
email (``mail_seq`` went up), becomes a mail job. Jobs carry only ids and the sequence
number; the worker reads the registration itself, so a job replayed later cannot
send stale content. Registrations whose seat or sessions changed, and recorded Zoom
webhooks, become jobs on the zoom queue; a new campaign, a job on the campaign queue;
a new export, a job on the export queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.bootstrap import Majlis


@dataclass(frozen=True)
class Change:
    """One stream record, with its images as plain dicts."""

    sequence_number: str
    event_name: str  # INSERT, MODIFY, REMOVE
    old: dict[str, Any]
    new: dict[str, Any]
    event_id: str = ""  # the stream record's id, used as the correlation id


def jobs_for(change: Change) -> list[dict[str, Any]]:
    new, old = change.new, change.old
    if new.get("kind") != "registration":
        return []
    seq = int(new.get("mail_seq", 0))
    if change.event_name == "INSERT" or (
        change.event_name == "MODIFY" and seq > int(old.get("mail_seq", 0))
    ):
        return [
            {
                "type": "registration_mail",
                "registration_id": new["registration_id"],
                "seq": seq,
                "correlation_id": change.event_id,
            }
        ]
    return []


def campaign_jobs(change: Change) -> list[dict[str, Any]]:
    """A new campaign is fanned out (now, or when its ``send_at`` comes)."""
    if change.event_name == "INSERT" and change.new.get("kind") == "campaign":
        return [
            {
                "type": "campaign_fanout",
                "campaign_id": change.new["campaign_id"],
                "correlation_id": change.event_id,
            }
        ]
    return []


def export_jobs(change: Change) -> list[dict[str, Any]]:
    if change.event_name == "INSERT" and change.new.get("kind") == "export":
        return [{"type": "export", "export_id": change.new["export_id"]}]
    return []


def _zoom_jobs(majlis: Majlis, change: Change) -> list[dict[str, Any]]:
    from chalicelib.usecases.zoomsync import jobs_for_change

    jobs = jobs_for_change(change)
    if jobs and jobs[0]["type"] == "zoom_sync":
        event = majlis.events.get(str(change.new.get("event_id", "")))
        if event is None or not any(s.zoom for s in event.sessions):
            return []  # no Zoom sessions: nothing to keep in sync
    return jobs


def relay(majlis: Majlis, changes: list[Change]) -> str | None:
    """Queue the jobs of a batch of changes: emails on the mail queue, Zoom work on the
    zoom queue.

    Returns None when all were queued, else the sequence number of the first change
    whose jobs did not all make it: the stream retries from there (later changes are
    retried too, which is harmless because workers are idempotent).
    """
    routes = [
        (majlis.mail_queue, lambda change: jobs_for(change)),
        (majlis.zoom_queue, lambda change: _zoom_jobs(majlis, change)),
        (majlis.campaign_queue, campaign_jobs),
        (majlis.export_queue, export_jobs),
    ]
    first_failed: int | None = None
    for queue, planner in routes:
        jobs: list[dict[str, Any]] = []
        owner: list[int] = []
        for position, change in enumerate(changes):
            for job in planner(change):
                jobs.append(job)
                owner.append(position)
        for index in queue.send(jobs) if jobs else []:
            failed_at = owner[index]
            first_failed = failed_at if first_failed is None else min(first_failed, failed_at)
    return None if first_failed is None else changes[first_failed].sequence_number
