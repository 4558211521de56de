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

from chalicelib.domain.campaigns import (
    ACTIVE,
    Campaign,
    CampaignBody,
    CampaignStatus,
    may_receive,
    wants_announcements,
)
from chalicelib.domain.errors import Conflict, FieldError, Invalid, NotFound, invalid
from chalicelib.domain.ids import new_id
from chalicelib.jobs import CampaignMail
from chalicelib.ports import Services
from chalicelib.usecases.events import known_event

PAGE = 500  # registrations read per fan-out step
PER_MESSAGE = 50  # recipients per mail-queue message
QUEUE_DELAY_MAX = 900  # SQS's longest delivery delay


def _body(event_id: str, body: dict[str, Any], services: Services) -> tuple[Any, CampaignBody]:
    event = known_event(services, event_id)
    try:
        parsed = CampaignBody.model_validate(body)
    except ValidationError as error:
        raise invalid(error) from None
    problems = parsed.problems(event)
    if problems:
        raise Invalid([FieldError(*problem) for problem in problems])
    return event, parsed


def _audience(
    services: Services, event: Any, parsed: CampaignBody
) -> tuple[Counter[str], Counter[str], int]:
    """(recipients by the language of the content they get, those of them who get the
    default language's because theirs has none — by their own language —, how many are
    suppressed)."""
    languages: Counter[str] = Counter()
    fallbacks: Counter[str] = Counter()
    suppressed = 0
    for registration in services.registrations.every(event.id, parsed.audience.where(), PAGE):
        if not wants_announcements(registration):
            suppressed += 1
        elif registration.language in parsed.content:
            languages[registration.language] += 1
        else:
            languages[event.default_language] += 1
            fallbacks[registration.language] += 1
    return languages, fallbacks, suppressed


def create(services: Services, event_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST /events/{id}/campaigns: (status, answer)."""
    event, parsed = _body(event_id, body, services)
    languages, fallbacks, suppressed = _audience(services, event, parsed)
    # Everyone the audience matches; those suppressed are among them (API.md: "skipped
    # and counted as suppressed"), and by_language counts those who will read it.
    recipients = sum(languages.values()) + suppressed
    if parsed.dry_run:
        return 200, {
            "recipients": recipients,
            "by_language": dict(sorted(languages.items())),
            # Whose own language has no content: they read the default language's.
            "fallbacks": dict(sorted(fallbacks.items())),
            "suppressed": suppressed,
        }
    campaign = _campaign(event.id, parsed, services.clock())
    services.campaigns.create(campaign)
    return 202, {
        "campaign_id": campaign.campaign_id,
        "recipients": recipients,
        "fallbacks": dict(sorted(fallbacks.items())),
    }


def _campaign(event_id: str, parsed: CampaignBody, now: Any) -> Campaign:
    """A new announcement of the event, as ``parsed`` says."""
    return Campaign(
        campaign_id=new_id(),
        event_id=event_id,
        name=parsed.name,
        audience=parsed.audience,
        content=parsed.content,
        send_at=parsed.send_at,
        created_at=now,
    )


def _owned(services: Services, event_id: str, campaign_id: str) -> Campaign:
    known_event(services, event_id)
    campaign = services.campaigns.get(campaign_id)
    if campaign is None or campaign.event_id != event_id:
        raise NotFound("There is no such campaign for this event.")
    return campaign


def progress(services: Services, event_id: str, campaign_id: str) -> dict[str, Any]:
    """GET /events/{id}/campaigns/{cid}: status and counts."""
    campaign = _owned(services, event_id, campaign_id)
    return _progress(campaign, services.stats.read(event_id))


def of_event(services: Services, event_id: str, most: int = 50) -> list[dict[str, Any]]:
    """The event's latest campaigns (announcements, reminders, change notices), newest
    first, each with its progress: two reads, however many campaigns."""
    known_event(services, event_id)
    counters = services.stats.read(event_id)
    listed = []
    for campaign in services.campaigns.of_event(event_id, most):
        answer = _progress(campaign, counters)
        answer["purpose"] = campaign.purpose
        answer["created_at"] = campaign.created_at
        listed.append(answer)
    return listed


def _progress(campaign: Campaign, counters: dict[str, int]) -> dict[str, Any]:
    campaign_id = campaign.campaign_id

    def counted(name: str) -> int:
        return counters.get(f"campaign.{campaign_id}.{name}", 0)

    sent, failed, skipped = counted("sent"), counted("failed"), counted("skipped")
    suppressed = campaign.suppressed + counted("suppressed")
    status = campaign.status
    finished = sent + failed + skipped + counted("suppressed")
    if status == CampaignStatus.SENDING and campaign.fanned_out and finished >= campaign.queued:
        status = CampaignStatus.DONE
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


def cancel(services: Services, event_id: str, campaign_id: str) -> dict[str, Any]:
    """POST …/cancel: stops the fan-out and every email not yet sent."""
    status = progress(services, event_id, campaign_id)["status"]
    if status != CampaignStatus.CANCELLED:
        stopped = status in ACTIVE and services.campaigns.set_status(
            campaign_id, CampaignStatus.CANCELLED, None, only_from=ACTIVE
        )
        if not stopped:
            raise Conflict(
                f"The campaign is {status}: there is nothing left to cancel.",
                title="Campaign already finished",
            )
    return progress(services, event_id, campaign_id)


# -- fan-out ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FanOut:
    outcome: str  # queued (all pages), continue (time is up), wait (send_at), stopped
    delay: int = 0  # for "wait": seconds until the job should come back


def fan_out(services: Services, campaign_id: str, time_left: Callable[[], float]) -> FanOut:
    """Queue the campaign's recipients page by page from its checkpoint.

    Returns when every page is queued, when less than a minute of the invocation is
    left (the caller queues the job again), or when the campaign is not to be sent now.
    Raises when the mail queue refuses a page: the job comes back and redoes that page.
    """
    while True:
        campaign = services.campaigns.get(campaign_id)
        if campaign is None or campaign.status not in ACTIVE:
            return FanOut("stopped")
        if campaign.fanned_out:
            return FanOut("queued")
        now = services.clock()
        if campaign.send_at is not None and campaign.send_at > now:
            wait = int((campaign.send_at - now).total_seconds()) + 1
            return FanOut("wait", min(wait, QUEUE_DELAY_MAX))
        event = services.events.get(campaign.event_id)
        if event is None:
            return FanOut("stopped")
        page = services.registrations.page(
            campaign.event_id, campaign.audience.where(), PAGE, campaign.cursor
        )
        wanted = [r.registration_id for r in page.items if may_receive(campaign, r)]
        jobs = [
            CampaignMail(
                campaign_id=campaign_id, registration_ids=wanted[start : start + PER_MESSAGE]
            )
            for start in range(0, len(wanted), PER_MESSAGE)
        ]
        # Reminders and programme changes go with the confirmations; announcements
        # have their own queue, sent behind them (sending.Pace).
        queue = services.mail_queue if campaign.transactional else services.announcement_queue
        if jobs and queue.send(jobs):
            raise RuntimeError("the mail queue refused part of a page; the page is redone")
        counts = {
            "recipients": len(page.items),
            "queued": len(wanted),
            "suppressed": len(page.items) - len(wanted),
        }
        if not services.campaigns.advance(campaign_id, campaign.cursor, page.cursor, counts):
            return FanOut("stopped")  # cancelled meanwhile, or another worker is ahead
        if page.cursor is None:
            return FanOut("queued")
        if time_left() < 60:
            return FanOut("continue")


# -- the console's composer ------------------------------------------------------------

SAMPLE_NAMES = {
    "ar": ("أمينة", "الحسن"),
    "ur": ("آمنہ", "حسن"),
    "tr": ("Ayşe", "Yılmaz"),
    "fr": ("Amina", "Benali"),
    "es": ("Amina", "García"),
    "ms": ("Aminah", "Hassan"),
    "en": ("Amina", "Hassan"),
}


def preview(
    services: Services, event_id: str, body: dict[str, Any], language: str, timezone: str
) -> Any:
    """The exact email a sample registrant reading ``language`` in ``timezone`` would
    get from this campaign (its content checked as creating it would): rendered by the
    mail templates, for a registrant who is not real (their links lead nowhere)."""
    from chalicelib.domain.registrations import Registration, Status
    from chalicelib.domain.zones import is_time_zone
    from chalicelib.mail.announcement import announcement_mail
    from chalicelib.signed_links import registration_links

    event, parsed = _body(event_id, {**body, "dry_run": True}, services)
    if language not in event.languages:
        raise Invalid([FieldError("language", "unknown_language", "Not a language of the event.")])
    now = services.clock()
    first, last = SAMPLE_NAMES.get(language, SAMPLE_NAMES["en"])
    chosen = parsed.audience.sessions or [s.id for s in event.sessions if not s.cancelled]
    sample = Registration(
        registration_id=new_id(),
        event_id=event.id,
        email="sample@example.org",
        email_key="sample@example.org",
        first_name=first,
        last_name=last,
        language=language,
        timezone=timezone if is_time_zone(timezone) else event.timezone,
        sessions=chosen,
        status=Status.REGISTERED,
        created_at=now,
        updated_at=now,
        mail_requested_at=now,
    )
    campaign = _campaign(event.id, parsed, now)
    links = registration_links(
        services.keys.keys(), services.settings.public_base_url, event, sample
    )
    return announcement_mail(event, campaign, sample, links, links.unsubscribe)
