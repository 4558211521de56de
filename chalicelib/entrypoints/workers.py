"""What Lambda runs for the table's stream, the queues and the schedules.

Every queue's function goes through :func:`consume`: Powertools' ``BatchProcessor``
over the batch, each message parsed into the job its queue carries
(``chalicelib/jobs.py``) and handed to one use case, and the messages that failed
reported back (partial batch failures), so only those come again. A message that is no
job of its queue fails alone, logged with why; its queue's redrive policy gives it to
the dead-letter queue in the end. A job that fails otherwise is logged with its
traceback and counted (``JobsFailed``, which has an alarm: a failure reported in a
partial batch response is not a Lambda error). Each ``*_batch`` function is the work on
one batch, given the wired services, so tests can run it on fakes.

Imports of the use cases sit inside the functions: each function's cold start loads
only what it runs (the mail worker's rendering is not the stream handler's).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from chalice import Blueprint, Rate

from chalicelib import metrics
from chalicelib.bootstrap import services
from chalicelib.logs import correlate, logger
from chalicelib.ports import Delivery, Services

# Lambda runs each function as ``app.<name>`` (app.py re-exports them): importing app
# registers the blueprints, which gives their handlers the app's middleware. Named by
# its own module, a handler would be imported alone and run without it (aws/chalice#1566).
workers = Blueprint("app")

# Chalice needs literal ARNs here; the packaged template replaces them with the real
# ones (see infra/resources.yaml). The local pump goes by the queue name at the end.
TABLE_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/majlis/stream/packaged"
MAIL_QUEUE = "arn:aws:sqs:us-east-1:000000000000:majlis-mail"
ANNOUNCEMENT_QUEUE = "arn:aws:sqs:us-east-1:000000000000:majlis-announcements"
SES_EVENTS_QUEUE = "arn:aws:sqs:us-east-1:000000000000:majlis-ses-events"
ZOOM_QUEUE = "arn:aws:sqs:us-east-1:000000000000:majlis-zoom"
CAMPAIGN_QUEUE = "arn:aws:sqs:us-east-1:000000000000:majlis-campaigns"
EXPORT_QUEUE = "arn:aws:sqs:us-east-1:000000000000:majlis-exports"

GATHERED = object()  # a handler's answer for a job it leaves to the batch's ``together``


class Again(Exception):
    """The batch's ``together`` step asks for this message again."""


def consume(
    records: list[dict[str, Any]],
    parse: Callable[[str], Any],
    handle: Callable[[Any, Delivery], Any],
    *,
    together: Callable[[list[tuple[Any, Delivery]]], Iterable[Delivery]] | None = None,
    expected: tuple[type[Exception], ...] = (),
) -> dict[str, Any]:
    """One batch of SQS records: each parsed and handled, the failures reported back.

    ``handle`` answers :data:`GATHERED` for a job that is better done with the others
    of its batch; ``together`` then gets them all and returns the deliveries that must
    come again. An exception among ``expected`` (a retry the handler asks for, and
    logs itself) is not a failure to report as one.
    """
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    gathered: list[tuple[Any, Delivery]] = []
    by_id: dict[str, Any] = {}

    def each(record: Any) -> Any:
        attributes = record.raw_event.get("attributes") or {}
        delivery = Delivery(
            message_id=record.message_id,
            receipt_handle=record.receipt_handle,
            receive_count=int(attributes.get("ApproximateReceiveCount") or 1),
        )
        correlate(record.message_id)
        try:
            job = parse(record.body)
        except (ValueError, KeyError, TypeError) as refused:  # JobRefused, or no SES event
            logger.warning(
                "message refused", extra={"message_id": record.message_id, "reason": str(refused)}
            )
            raise
        correlate(getattr(job, "correlation_id", None) or record.message_id)
        try:
            outcome = handle(job, delivery)
        except expected:
            raise
        except Exception:
            queue = str(record.raw_event.get("eventSourceARN", "")).rsplit(":", 1)[-1]
            logger.exception(
                "job failed",
                extra={"queue": queue, "message_id": record.message_id, **_ids(job)},
            )
            metrics.count("JobsFailed")
            raise
        if outcome is GATHERED:
            gathered.append((job, delivery))
            by_id[delivery.message_id] = record
        return outcome

    with processor(records=records, handler=each):
        processor.process()
        if gathered and together is not None:
            for delivery in together(gathered):
                again = Again(delivery.message_id)
                processor.failure_handler(by_id[delivery.message_id], (Again, again, None))
    return processor.response()


def _ids(job: Any) -> dict[str, Any]:
    """What a job is about, for its log line: its type and ids (never personal data)."""
    fields = (
        "type",
        "registration_id",
        "seq",
        "campaign_id",
        "export_id",
        "signin_id",
        "draft_id",
    )
    return {name: getattr(job, name) for name in fields if getattr(job, name, None) is not None}


def _job(kind: str) -> Callable[[str], Any]:
    from chalicelib import jobs

    return functools.partial(jobs.parse, jobs.QUEUES[kind])


def _seconds_left(event: Any) -> Callable[[], float]:
    def seconds_left() -> float:
        return float(event.context.get_remaining_time_in_millis()) / 1000

    return seconds_left


# -- the outbox: table stream -> queues ------------------------------------------------


@workers.on_dynamodb_record(
    stream_arn=TABLE_STREAM, batch_size=100, starting_position="TRIM_HORIZON"
)
def on_table_change(event: Any) -> dict[str, Any]:
    from chalicelib.adapters.dynamo.streams import changes_in
    from chalicelib.usecases import outbox, rooms, stats, waitlist

    wired = services()
    changes = changes_in(event.to_dict())
    correlate(changes[0].record_id if changes else None)
    counted = stats.count(wired, changes)  # raises when it cannot: the batch comes again
    # Seated before their jobs are queued: the confirmation names the room. Raises when
    # it cannot: the batch comes again (seating what is settled already moves nothing).
    seating = rooms.seat(wired, changes)
    for event_id in waitlist.events_to_fill(changes):
        promoted = waitlist.promote(wired, event_id)
        if promoted:
            logger.info(
                "promoted from the waiting list", extra={"event_id": event_id, "promoted": promoted}
            )
    failed_at = outbox.relay(wired, changes)
    logger.info(
        "table changes",
        extra={
            "changes": len(changes),
            "counted": counted,
            "seated": seating.seated,
            "freed": seating.freed,
            "unseated": seating.unseated,
            "retry_from": failed_at,
        },
    )
    return {"batchItemFailures": [{"itemIdentifier": failed_at}] if failed_at else []}


# -- emails ----------------------------------------------------------------------------


def mail_batch(
    wired: Services,
    records: list[dict[str, Any]],
    seconds_left: Callable[[], float],
    queue: str = "majlis-mail",
) -> dict[str, Any]:
    """A batch of the mail queue (confirmations, notices, reminders) or, with ``queue``
    "majlis-announcements", of announcements, which take their turns behind them."""
    # Imported here: rendering (Jinja2, Babel) is for the mail worker's cold start only.
    from chalicelib.jobs import CampaignMail, DraftMailJob, SignInMail
    from chalicelib.usecases.sending import (
        IN_FLIGHT,
        Pace,
        RetryLater,
        send_campaign_mail,
        send_registration_mail,
    )

    # This invocation's turns in the account's send rate, for as many emails as it
    # sends side by side.
    bulk = queue == "majlis-announcements"
    pace = Pace(wired, ahead=IN_FLIGHT, bulk=bulk)
    jobs_queue = wired.announcement_queue if bulk else wired.mail_queue
    events: dict[str, Any] = {}  # each event read once for the batch (sending.py)

    def send(job: Any, delivery: Delivery) -> Any:
        try:
            if isinstance(job, CampaignMail):
                outcome: Any = send_campaign_mail(wired, job, seconds_left, pace)
            elif isinstance(job, SignInMail):
                from chalicelib.usecases.organizermail import send_sign_in_mail

                outcome = send_sign_in_mail(wired, job)
            elif isinstance(job, DraftMailJob):
                from chalicelib.usecases.organizermail import send_draft_mail

                outcome = send_draft_mail(wired, job)
            else:
                outcome = send_registration_mail(wired, job, events)
        except RetryLater as later:
            logger.info("mail job retried later", extra={**_ids(job), "reason": str(later)})
            if later.seconds is not None:  # sooner than the queue's visibility timeout
                jobs_queue.retry_later(delivery.receipt_handle, later.seconds)
            raise
        logger.info("mail job", extra={**_ids(job), "outcome": outcome})
        return outcome

    return consume(records, _job(queue), send, expected=(RetryLater,))


@workers.on_sqs_message(
    queue_arn=MAIL_QUEUE,
    batch_size=10,
    # Enough workers to reach a high MaxSendRate at SES's latency; how fast they send
    # together is set by the shared pacer, not by their number.
    maximum_concurrency=20,
)
def mail_worker(event: Any) -> dict[str, Any]:
    return mail_batch(services(), event.to_dict()["Records"], _seconds_left(event))


@workers.on_sqs_message(
    queue_arn=ANNOUNCEMENT_QUEUE,
    batch_size=10,
    # Announcements' own workers: however many campaigns run, the mail worker's stay
    # free for confirmations, and the pacer keeps turns for them in every second.
    maximum_concurrency=20,
)
def announcement_worker(event: Any) -> dict[str, Any]:
    return mail_batch(
        services(), event.to_dict()["Records"], _seconds_left(event), "majlis-announcements"
    )


def campaign_batch(
    wired: Services, records: list[dict[str, Any]], seconds_left: Callable[[], float]
) -> dict[str, Any]:
    from chalicelib.usecases import campaigns

    def fan_out(job: Any, _: Delivery) -> str:
        result = campaigns.fan_out(wired, job.campaign_id, seconds_left)
        logger.info(
            "campaign fan-out", extra={"campaign_id": job.campaign_id, "outcome": result.outcome}
        )
        # Time is up, or not yet time: the job comes back to carry on.
        again = result.outcome in ("continue", "wait")
        if again and wired.campaign_queue.send([job], delay_seconds=result.delay):
            raise RuntimeError("could not queue the campaign's next step")
        return result.outcome

    return consume(records, _job("majlis-campaigns"), fan_out)


@workers.on_sqs_message(queue_arn=CAMPAIGN_QUEUE, batch_size=1)
def campaign_fanout(event: Any) -> dict[str, Any]:
    return campaign_batch(services(), event.to_dict()["Records"], _seconds_left(event))


def export_batch(wired: Services, records: list[dict[str, Any]]) -> dict[str, Any]:
    from chalicelib.jobs import Redrive
    from chalicelib.usecases import exports

    def write(job: Any, _: Delivery) -> str:
        if isinstance(job, Redrive):
            from chalicelib.usecases import operations

            outcome = operations.redrive(wired, job)
            logger.info("redrive", extra={"redrive_id": job.redrive_id, "outcome": outcome})
            return outcome
        correlate(job.export_id)
        outcome = exports.write(wired, job.export_id)
        logger.info("export", extra={"export_id": job.export_id, "outcome": outcome})
        return outcome

    return consume(records, _job("majlis-exports"), write)


@workers.on_sqs_message(queue_arn=EXPORT_QUEUE, batch_size=1)
def export_registrations(event: Any) -> dict[str, Any]:
    return export_batch(services(), event.to_dict()["Records"])


@workers.schedule(Rate(5, unit=Rate.MINUTES))
def send_reminders(event: Any) -> dict[str, Any]:
    """The clock's work: reminders due, and double opt-ins not confirmed in time."""
    from chalicelib.usecases import optin, reminders

    correlate(None)
    wired = services()
    try:
        report = reminders.run(wired)
    finally:
        expired = optin.expire(wired)  # whatever became of the reminders
    # Not "created": logging's own records have that attribute, and refuse it in extra.
    logger.info("reminders", extra={"reminders": report.created, "already": report.already})
    if expired:
        logger.info("unconfirmed registrations forgotten", extra={"expired": expired})
    return {**asdict(report), "expired": expired}


def ses_event_batch(wired: Services, records: list[dict[str, Any]]) -> dict[str, Any]:
    from chalicelib.usecases.delivery import SesEvent, apply_ses_event

    def apply(ses_event: SesEvent, _: Delivery) -> str:
        outcome = apply_ses_event(wired, ses_event)
        logger.info(
            "ses event",
            extra={
                "kind": ses_event.kind,
                "outcome": outcome,
                "registration_id": ses_event.registration_id,
            },
        )
        return outcome

    return consume(records, SesEvent.parse, apply)


@workers.on_sqs_message(queue_arn=SES_EVENTS_QUEUE, batch_size=10)
def on_ses_event(event: Any) -> dict[str, Any]:
    return ses_event_batch(services(), event.to_dict()["Records"])


# -- Zoom ----------------------------------------------------------------------------


def zoom_batch(wired: Services, records: list[dict[str, Any]]) -> dict[str, Any]:
    from chalicelib.jobs import ZoomWebhook
    from chalicelib.usecases import zoomworker

    def apply(job: Any, _: Delivery) -> Any:
        if isinstance(job, ZoomWebhook):
            return zoomworker.apply_webhook(wired, job)
        return GATHERED  # adds to one meeting go out together, 30 to a call

    return consume(
        records,
        _job("majlis-zoom"),
        apply,
        together=lambda gathered: zoomworker.sync(wired, gathered),
    )


@workers.on_sqs_message(
    queue_arn=ZOOM_QUEUE,
    batch_size=120,  # four of Zoom's batch adds (30 each) when an import is pending
    maximum_batching_window_in_seconds=2,
    maximum_concurrency=2,
)
def zoom_worker(event: Any) -> dict[str, Any]:
    return zoom_batch(services(), event.to_dict()["Records"])


@workers.schedule(Rate(30, unit=Rate.MINUTES))
def reconcile_zoom(event: Any) -> dict[str, Any]:
    from chalicelib.usecases import zoomsetup, zoomsync

    correlate(None)
    wired = services()
    report = zoomsync.reconcile(wired)
    logger.info("zoom reconciliation", extra={"report": asdict(report), "repairs": report.repairs})
    # Interpretation and panelists again: the organisers may have fixed Zoom's portal.
    setup = zoomsetup.reconcile(wired)
    logger.info("zoom setup again", extra={"setup": setup})
    return asdict(report)
