"""The transactional outbox: table changes become jobs on the queues.

The table's stream is the outbox. A new registration, or one that is owed another
email (``mail_seq`` went up), becomes a mail job; so do an organiser's new sign-in
link and a draft they send to themself. Jobs carry only ids and the sequence
number; the worker reads the registration itself, so a job replayed later cannot
send stale content. Registrations whose seat or sessions changed, recorded Zoom
webhooks and saved events (their rooms' interpretation and panelists) become jobs on
the zoom queue; a new campaign, a job on the campaign queue;
a new export, a job on the export queue.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.domain.kinds import ItemKind
from chalicelib.jobs import (
    CampaignFanOut,
    DraftMailJob,
    Export,
    Job,
    Redrive,
    RegistrationMail,
    SignInMail,
)
from chalicelib.ports import Change, JobQueue, Services


def jobs_for(change: Change) -> list[Job]:
    new, old = change.new, change.old
    if new.get("kind") == ItemKind.SIGN_IN and change.event_name == "INSERT":
        return [SignInMail(signin_id=new["signin_id"], correlation_id=change.record_id)]
    if new.get("kind") == ItemKind.DRAFT_MAIL and change.event_name == "INSERT":
        return [DraftMailJob(draft_id=new["draft_id"], correlation_id=change.record_id)]
    if new.get("kind") != ItemKind.REGISTRATION:
        return []
    seq = int(new.get("mail_seq", 0))
    if change.event_name == "INSERT" or (
        change.event_name == "MODIFY" and seq > int(old.get("mail_seq", 0))
    ):
        return [
            RegistrationMail(
                registration_id=new["registration_id"], seq=seq, correlation_id=change.record_id
            )
        ]
    return []


def campaign_jobs(change: Change) -> list[Job]:
    """A new campaign is fanned out (now, or when its ``send_at`` comes)."""
    if change.event_name == "INSERT" and change.new.get("kind") == ItemKind.CAMPAIGN:
        return [
            CampaignFanOut(campaign_id=change.new["campaign_id"], correlation_id=change.record_id)
        ]
    return []


def export_jobs(change: Change) -> list[Job]:
    """A new export, and an operator's request to move dead letters back (the export
    worker's role is the one that may)."""
    if change.event_name == "INSERT" and change.new.get("kind") == ItemKind.EXPORT:
        return [Export(export_id=change.new["export_id"])]
    if change.event_name == "INSERT" and change.new.get("kind") == ItemKind.REDRIVE:
        return [Redrive(redrive_id=change.new["redrive_id"])]
    return []


def _zoom_jobs(services: Services, change: Change) -> list[Job]:
    from chalicelib.jobs import ZoomSetup, ZoomSync
    from chalicelib.usecases.zoomsync import jobs_for_change

    jobs = jobs_for_change(change)
    if jobs and isinstance(jobs[0], ZoomSync | ZoomSetup):
        event = services.events.get(str(change.new.get("event_id", "")))
        if event is None or not any(s.has_zoom for s in event.sessions):
            return []  # no Zoom sessions (or rooms): nothing to keep in sync or set up
    return jobs


def relay(services: Services, changes: list[Change]) -> str | None:
    """Queue the jobs of a batch of changes: emails on the mail queue, Zoom work on the
    zoom queue.

    Returns None when all were queued, else the sequence number of the first change
    whose jobs did not all make it: the stream retries from there (later changes are
    retried too, which is harmless because workers are idempotent).
    """
    routes: list[tuple[JobQueue, Callable[[Change], list[Job]]]] = [
        (services.mail_queue, jobs_for),
        (services.zoom_queue, lambda change: _zoom_jobs(services, change)),
        (services.campaign_queue, campaign_jobs),
        (services.export_queue, export_jobs),
    ]
    first_failed: int | None = None
    for queue, planner in routes:
        jobs: list[Job] = []
        owner: list[int] = []
        for position, change in enumerate(changes):
            for job in planner(change):
                jobs.append(job)
                owner.append(position)
        for index in queue.send(jobs) if jobs else []:
            failed_at = owner[index]
            first_failed = failed_at if first_failed is None else min(first_failed, failed_at)
    from chalicelib.usecases.zoomhooks import forget_queued

    forget_queued(services, changes if first_failed is None else changes[:first_failed])
    return None if first_failed is None else changes[first_failed].sequence_number
