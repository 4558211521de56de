"""Announcements: create (or count) a campaign, fan it out, send it, report progress.

Creating a campaign stores it; the table's stream puts a fan-out job on the campaign
queue (``outbox.py``). The fan-out pages through the event's registrations that match
the audience, from a checkpoint kept on the campaign: each page's recipients go to the
mail queue (``SendMessageBatch``, many recipients per message), then the checkpoint
moves on condition that it is where this worker found it. A worker that dies, or runs
out of time, leaves the checkpoint at the last page it finished: the next one starts
there, so nobody is skipped; a page queued twice sends once, because each email is a
send record claimed before the SES call (one per campaign and recipient).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from chalicelib.bootstrap import Majlis
from chalicelib.domain.campaigns import Campaign, CampaignBody
from chalicelib.domain.ids import new_id
from chalicelib.domain.registrations import EmailStatus, Registration
from chalicelib.problems import FieldError, Problem, field_errors, validation_problem
from chalicelib.usecases.events import known_event

PAGE = 500  # registrations read per fan-out step
PER_MESSAGE = 50  # recipients per mail-queue message
SEND_PREFIX = "CAMP#"  # a campaign email's send record: sk CAMP#{campaign id}
QUEUE_DELAY_MAX = 900  # SQS's longest delivery delay


def wants_announcements(registration: Registration) -> bool:
    return registration.updates and registration.email_status is EmailStatus.OK


def may_receive(campaign: Campaign, registration: Registration) -> bool:
    """Announcements skip whoever unsubscribed or said ``updates: false``; a reminder is
    about the registrant's own session and skips only addresses that bounced or
    complained."""
    if campaign.purpose == "reminder":
        return registration.email_status not in (EmailStatus.BOUNCED, EmailStatus.COMPLAINED)
    return wants_announcements(registration)


def _body(event_id: str, body: dict[str, Any], majlis: Majlis) -> tuple[Any, CampaignBody]:
    event = known_event(majlis, event_id)
    try:
        parsed = CampaignBody.model_validate(body)
    except ValidationError as error:
        raise validation_problem(field_errors(error)) from None
    problems = parsed.problems(event)
    if problems:
        raise validation_problem([FieldError(*problem) for problem in problems])
    return event, parsed


def _audience(majlis: Majlis, event: Any, parsed: CampaignBody) -> tuple[Counter[str], int]:
    """(recipients by the language of the content they get, how many are suppressed)."""
    languages: Counter[str] = Counter()
    suppressed = 0
    cursor: str | None = None
    where = parsed.audience.where()
    while True:
        page = majlis.registrations.page(event.id, where, PAGE, cursor)
        for registration in page.items:
            if not wants_announcements(registration):
                suppressed += 1
                continue
            language = (
                registration.language
                if registration.language in parsed.content
                else event.default_language
            )
            languages[language] += 1
        cursor = page.cursor
        if cursor is None:
            return languages, suppressed


def create(majlis: Majlis, event_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST /events/{id}/campaigns: (status, answer)."""
    event, parsed = _body(event_id, body, majlis)
    languages, suppressed = _audience(majlis, event, parsed)
    # Everyone the audience matches; those suppressed are among them (API.md: "skipped
    # and counted as suppressed"), and by_language counts those who will read it.
    recipients = sum(languages.values()) + suppressed
    if parsed.dry_run:
        return 200, {
            "recipients": recipients,
            "by_language": dict(sorted(languages.items())),
            "suppressed": suppressed,
        }
    campaign = Campaign(
        campaign_id=new_id(),
        event_id=event.id,
        name=parsed.name,
        audience=parsed.audience,
        content=parsed.content,
        send_at=parsed.send_at,
        created_at=majlis.clock(),
    )
    majlis.campaigns.create(campaign)
    return 202, {"campaign_id": campaign.campaign_id, "recipients": recipients}


def _owned(majlis: Majlis, event_id: str, campaign_id: str) -> Campaign:
    known_event(majlis, event_id)
    campaign = majlis.campaigns.get(campaign_id)
    if campaign is None or campaign.event_id != event_id:
        raise Problem(404, "There is no such campaign for this event.")
    return campaign


def progress(majlis: Majlis, event_id: str, campaign_id: str) -> dict[str, Any]:
    """GET /events/{id}/campaigns/{cid}: status and counts."""
    campaign = _owned(majlis, event_id, campaign_id)
    counters = majlis.stats.read(event_id)

    def counted(name: str) -> int:
        return counters.get(f"campaign.{campaign_id}.{name}", 0)

    sent, failed, skipped = counted("sent"), counted("failed"), counted("skipped")
    suppressed = campaign.suppressed + counted("suppressed")
    status = campaign.status
    finished = sent + failed + skipped + counted("suppressed")
    if status == "sending" and campaign.fanned_out and finished >= campaign.queued:
        status = "done"
    answer: dict[str, Any] = {
        "campaign_id": campaign_id,
        "name": campaign.name,
        "status": status,
        "counts": {
            "recipients": campaign.recipients,
            "queued": campaign.queued,
            "sent": sent,
            "failed": failed,
            "suppressed": suppressed,
            "bounced": counted("bounced"),
            "complained": counted("complained"),
        },
    }
    if campaign.send_at is not None:
        answer["send_at"] = campaign.send_at.isoformat().replace("+00:00", "Z")
    if campaign.reason:
        answer["reason"] = campaign.reason
    return answer


def cancel(majlis: Majlis, event_id: str, campaign_id: str) -> dict[str, Any]:
    """POST …/cancel: stops the fan-out and every email not yet sent."""
    status = progress(majlis, event_id, campaign_id)["status"]
    if status != "cancelled":
        stopped = status in ("scheduled", "sending") and majlis.campaigns.set_status(
            campaign_id, "cancelled", None, only_from=("scheduled", "sending")
        )
        if not stopped:
            raise Problem(
                409,
                f"The campaign is {status}: there is nothing left to cancel.",
                title="Campaign already finished",
            )
    return progress(majlis, event_id, campaign_id)


# -- fan-out ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FanOut:
    outcome: str  # queued (all pages), continue (time is up), wait (send_at), stopped
    delay: int = 0  # for "wait": seconds until the job should come back


def fan_out(majlis: Majlis, campaign_id: str, time_left: Callable[[], float]) -> FanOut:
    """Queue the campaign's recipients page by page from its checkpoint.

    Returns when every page is queued, when less than a minute of the invocation is
    left (the caller queues the job again), or when the campaign is not to be sent now.
    Raises when the mail queue refuses a page: the job comes back and redoes that page.
    """
    while True:
        campaign = majlis.campaigns.get(campaign_id)
        if campaign is None or campaign.status not in ("scheduled", "sending"):
            return FanOut("stopped")
        if campaign.fanned_out:
            return FanOut("queued")
        now = majlis.clock()
        if campaign.send_at is not None and campaign.send_at > now:
            wait = int((campaign.send_at - now).total_seconds()) + 1
            return FanOut("wait", min(wait, QUEUE_DELAY_MAX))
        event = majlis.events.get(campaign.event_id)
        if event is None:
            return FanOut("stopped")
        page = majlis.registrations.page(
            campaign.event_id, campaign.audience.where(), PAGE, campaign.cursor
        )
        wanted = [r.registration_id for r in page.items if may_receive(campaign, r)]
        jobs = [
            {
                "type": "campaign_mail",
                "campaign_id": campaign_id,
                "registration_ids": wanted[start : start + PER_MESSAGE],
            }
            for start in range(0, len(wanted), PER_MESSAGE)
        ]
        if jobs and majlis.mail_queue.send(jobs):
            raise RuntimeError("the mail queue refused part of a page; the page is redone")
        counts = {
            "recipients": len(page.items),
            "queued": len(wanted),
            "suppressed": len(page.items) - len(wanted),
        }
        if not majlis.campaigns.advance(campaign_id, campaign.cursor, page.cursor, counts):
            return FanOut("stopped")  # cancelled meanwhile, or another worker is ahead
        if page.cursor is None:
            return FanOut("queued")
        if time_left() < 60:
            return FanOut("continue")
