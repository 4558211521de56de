"""The transactional outbox: table changes become jobs on the queues.

The table's stream is the outbox. A new registration, or one that is owed another
email (``mail_seq`` went up), becomes a mail job. Jobs carry only ids and the sequence
number; the worker reads the registration itself, so a job replayed later cannot
send stale content.
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


def relay(majlis: Majlis, changes: list[Change]) -> str | None:
    """Queue the jobs of a batch of changes, in order.

    Returns None when all were queued, else the sequence number of the first change
    whose jobs did not all make it: the stream retries from there (later changes are
    retried too, which is harmless because workers are idempotent).
    """
    jobs: list[dict[str, Any]] = []
    owner: list[str] = []
    for change in changes:
        for job in jobs_for(change):
            jobs.append(job)
            owner.append(change.sequence_number)
    if not jobs:
        return None
    failed = majlis.mail_queue.send(jobs)
    if not failed:
        return None
    return owner[min(failed)]
