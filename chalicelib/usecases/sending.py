"""Sending emails: those a registration is owed (one per ``mail_seq``) and
announcements (one per campaign and recipient).

The send log holds one record per email. It is claimed before the SES call and
completed with the SES message id after it, so a job delivered twice sends once. A
claim left by a worker that died before its SES call is taken over when its lease
ends; one whose email did leave is completed by SES's Send event first (delivery.py).
Throttling gives the claim back and asks the queue to retry later; a permanent
rejection is recorded with its reason and never retried. Every email takes its turn
in the account's send rate (``Pace``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from chalicelib import metrics
from chalicelib.domain.addresses import parse_address
from chalicelib.domain.campaigns import ACTIVE, may_receive
from chalicelib.domain.events import Event
from chalicelib.domain.registrations import EmailStatus, Status
from chalicelib.jobs import CampaignMail, RegistrationMail
from chalicelib.logs import logger
from chalicelib.mail import mime
from chalicelib.mail.render import Rendered, registration_mail
from chalicelib.ports import (
    LATE_OK,
    CampaignEmail,
    Paused,
    Rejected,
    SendQuota,
    Services,
    Throttled,
    Unsure,
)
from chalicelib.signed_links import registration_links

LAST_SECONDS = 5.0  # a worker stops taking new recipients this close to its timeout
IN_FLIGHT = 8  # announcements waiting for their turn or at SES, per worker


class RetryLater(Exception):
    """The job cannot be done now; the queue should deliver it again later: after
    ``seconds`` when given, else when the queue's visibility timeout ends."""

    def __init__(self, reason: str, seconds: int | None = None) -> None:
        super().__init__(reason)
        self.seconds = seconds


SOON = 1  # seconds: a job waiting on a write about to be seen, or out of its time
BEHIND = 5  # seconds: an announcement waiting for transactional mail to leave turns
BEHIND_PATIENCE = 3.0  # seconds a worker waits for a turn before giving its job back


class Behind(Exception):
    """No turn for an announcement in the next seconds: transactional mail has them."""


def send_registration_mail(
    services: Services, job: RegistrationMail, events: dict[str, Event | None] | None = None
) -> str:
    """Send what the registration is owed for ``job.seq``; returns what happened.

    ``events`` holds the events this batch of jobs has read so far: each is read from
    the table once per batch, after the batch was received, so after every change that
    set off one of its jobs."""
    registration = services.registrations.get(job.registration_id, consistent=True)
    if registration is None:
        return "gone"
    if job.seq < registration.mail_seq:
        return "superseded"  # a newer job will send the current state
    if job.seq > registration.mail_seq:
        raise RetryLater("registration not yet visible at this sequence", SOON)
    if registration.status is Status.CANCELLED and registration.mail_reason != "cancelled":
        return "cancelled"  # only the cancellation note goes to a cancelled registration
    now = services.clock()
    if registration.email_status in (EmailStatus.BOUNCED, EmailStatus.COMPLAINED):
        services.send_log.not_sent(
            registration.registration_id, job.seq, registration.event_id, "suppressed", now
        )
        return "suppressed"
    # Fresh: its revision goes into the calendar's SEQUENCE.
    events = {} if events is None else events
    if registration.event_id not in events:
        events[registration.event_id] = services.events.get(registration.event_id, fresh=True)
    event = events[registration.event_id]
    if event is None:
        return "gone"
    claim = services.send_log.claim(
        registration.registration_id, job.seq, registration.status.value, now, event.id
    )
    if not claim.proceed:
        if claim.in_progress:
            # The visibility timeout, not sooner: if that worker died, its claim's lease
            # (15 minutes) must end before the queue gives up on this job (20 receives).
            raise RetryLater("another worker is sending this email")
        return "duplicate"
    links = registration_links(
        services.keys.keys(), services.settings.public_base_url, event, registration
    )
    register_url = (
        f"{services.settings.public_base_url.rstrip('/')}/events/{event.id}/register"
        f"?lang={registration.language}"
    )
    rendered = registration_mail(event, registration, links, now, register_url)
    raw, recipient = _message(event, registration, rendered, now)
    try:
        # Confirmations take their turn in the account's send rate like announcements.
        Pace(services).wait_turn(1)
        message_id = services.mailer.send(
            raw,
            sender=event.sender.email,
            recipient=recipient,
            tags={
                "event": event.id,
                "registration": registration.registration_id,
                "kind": registration.status.value,
                "seq": str(job.seq),
            },
        )
    except (Throttled, Paused) as later:
        services.send_log.release(registration.registration_id, job.seq)
        raise RetryLater(str(later) or "throttled") from None
    except Unsure as unsure:
        # The claim stays: SES's Send event completes it if the email left; if none
        # comes, its lease ends and the job that comes back then sends it.
        logger.warning("ses answer unknown", extra={"cause": str(unsure)})
        raise RetryLater(f"SES's answer is unknown ({unsure}): its events will tell") from None
    except Rejected as rejected:
        services.send_log.failed(registration.registration_id, job.seq, rejected.reason, now)
        metrics.count("EmailsFailed")
        return "rejected"
    services.send_log.sent(registration.registration_id, job.seq, message_id, now)
    metrics.count("EmailsSent")
    return "sent"


# -- announcements ---------------------------------------------------------------------


def _list_id(event_id: str, sender: str) -> str:
    return f"<{event_id}.{sender.rsplit('@', 1)[-1].lower()}>"


class Pace:
    """This worker's turns within the account's send rate, shared by all workers
    (``adapters/pacer.py``), reserved a few at a time; and the 24-hour quota."""

    def __init__(
        self,
        services: Services,
        ahead: int = 1,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        bulk: bool = False,
    ) -> None:
        self.services = services
        self.ahead = ahead  # turns reserved at once: as many as can be sent side by side
        self.bulk = bulk  # announcements: behind transactional mail (ports.SendPacer)
        self.now = now
        self.sleep = sleep
        self.turns: list[float] = []
        self.taken = 0
        self.quota: SendQuota | None = None

    def next_turn(self, still_to_send: int) -> float:
        """The epoch time at which this worker's next email may go. Raises Paused when
        today's quota is spent, Behind when an announcement finds no turn for now.

        The quota is read once per invocation and this worker's own sends are counted
        against it; other workers' are not, so together they may reach it a little
        early. SES then refuses with the same pause, and nothing is lost.
        """
        if self.quota is None:
            self.quota = self.services.mailer.quota()
        if self.taken >= self.quota.left_today:
            raise Paused("The 24-hour sending quota is reached; sending resumes as it frees.")
        rate = max(1, int(self.quota.max_send_rate))
        # Turns kept from an earlier reservation that have passed by more than LATE_OK
        # are given up: sent now, they would crowd the turns of other workers.
        if self.turns and self.turns[0] < self.now() - max(LATE_OK, 1 / rate):
            self.turns.clear()
        if not self.turns:
            # As many turns as this worker can use side by side (consecutive turns are
            # one slot apart), at most a quarter second's worth. A fresh reservation
            # starts at the slot due when it was asked for; it is used even when the
            # round trip took longer than a slot.
            wanted = max(1, min(still_to_send, self.ahead, rate // 4))
            # An announcement finding the next second's turns taken (by other workers'
            # announcements, or by confirmations) waits for them to pass, a little at a
            # time, and gives the job back only when transactional mail holds them on.
            patience = self.now() + BEHIND_PATIENCE
            while True:
                self.turns = self.services.pacer.reserve(wanted, rate, self.now(), bulk=self.bulk)
                if self.turns:
                    break
                if self.now() >= patience:
                    raise Behind("confirmations and notices are sending first")
                self.sleep(max(wanted / rate, 0.05))
        self.taken += 1
        return self.turns.pop(0)

    def wait_until(self, turn: float) -> None:
        delay = turn - self.now()
        if delay > 0:
            self.sleep(delay)

    def wait_turn(self, still_to_send: int) -> None:
        self.wait_until(self.next_turn(still_to_send))


def send_campaign_mail(
    services: Services,
    job: CampaignMail,
    seconds_left: Callable[[], float] = lambda: float("inf"),
    pace: Pace | None = None,
) -> dict[str, int]:
    """Send one campaign's email to each recipient of the job, once per recipient, at
    the account's pace.

    Recipients are prepared in order (send record claimed, email built, turn taken);
    each email then waits for its turn and goes out from a small pool, so one worker
    keeps up with many turns a second whatever SES's latency. Raises RetryLater when
    SES throttles or pauses, another worker holds a claim, or the invocation is nearly
    out of time: the job comes back, and those already sent are recognised by their
    send records.
    """
    campaign = services.campaigns.get(job.campaign_id)
    if campaign is None or campaign.status not in ACTIVE:
        return {"stopped": len(job.registration_ids)}
    event = services.events.get(campaign.event_id, fresh=True)
    if event is None:
        return {"gone": len(job.registration_ids)}
    key = CampaignEmail(campaign.campaign_id)
    people = services.registrations.get_many(job.registration_ids)
    pace = pace or Pace(services, ahead=IN_FLIGHT, bulk=not campaign.transactional)
    outcomes: Counter[str] = Counter()
    later: list[tuple[str, int | None]] = []  # why the job must come back, and when
    in_flight = threading.BoundedSemaphore(IN_FLIGHT)
    sending: list[Future[str]] = []

    def deliver(registration_id: str, turn: float, raw: bytes, recipient: str) -> str:
        try:
            pace.wait_until(turn)
            message_id = services.mailer.send(
                raw,
                sender=event.sender.email,
                recipient=recipient,
                tags={
                    "event": event.id,
                    "registration": registration_id,
                    "kind": campaign.purpose,
                    "campaign": campaign.campaign_id,
                },
            )
        except Throttled:
            services.send_log.release(registration_id, key)
            return "throttled"
        except Unsure as unsure:
            # Kept claimed until SES's Send event, or the end of the lease, says more.
            logger.warning("ses answer unknown", extra={"cause": str(unsure)})
            return "unsure"
        except Paused as paused:
            # The account cannot send for now: organisers see why, and the job waits.
            services.send_log.release(registration_id, key)
            services.campaigns.note(campaign.campaign_id, paused.reason)
            return "paused"
        except Rejected as rejected:
            services.send_log.failed(registration_id, key, rejected.reason, services.clock())
            metrics.count("EmailsFailed")
            return "failed"
        finally:
            in_flight.release()
        services.send_log.sent(registration_id, key, message_id, services.clock())
        metrics.count("EmailsSent")
        return "sent"

    with ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="ses") as pool:
        for position, registration_id in enumerate(job.registration_ids):
            if seconds_left() < LAST_SECONDS:
                later.append(("out of time: the rest of the job comes back", SOON))
                break
            registration = people.get(registration_id)
            now = services.clock()
            if registration is None or not campaign.reaches(registration):
                # Cancelled, erased or moved out of the audience since the fan-out, or
                # registered after the programme change the notice tells.
                services.send_log.not_sent(registration_id, key, event.id, "skipped", now)
                outcomes["skipped"] += 1
                continue
            if not may_receive(campaign, registration):
                services.send_log.not_sent(registration_id, key, event.id, "suppressed", now)
                outcomes["suppressed"] += 1
                continue
            claim = services.send_log.claim(registration_id, key, "campaign", now, event.id)
            if not claim.proceed:
                if claim.in_progress:
                    later.append(("another worker is sending to this recipient", None))
                    break
                outcomes["duplicate"] += 1
                continue
            raw, recipient = _announcement(services, event, campaign, registration, now)
            in_flight.acquire()  # a few emails ahead of the pool at most
            try:
                turn = pace.next_turn(len(job.registration_ids) - position)
            except Paused as paused:
                in_flight.release()
                services.send_log.release(registration_id, key)
                services.campaigns.note(campaign.campaign_id, paused.reason)
                later.append((paused.reason, None))
                break
            except Behind as behind:
                in_flight.release()
                services.send_log.release(registration_id, key)
                later.append((str(behind), BEHIND))
                break
            sending.append(pool.submit(deliver, registration_id, turn, raw, recipient))
    outcomes.update(future.result() for future in sending)
    if outcomes["sent"] and campaign.reason:  # sending again after a pause
        services.campaigns.note(campaign.campaign_id, None)
    if outcomes["throttled"] or outcomes["paused"]:
        later.append(("throttled or paused", None))
    if outcomes["unsure"]:
        later.append(("SES's answer is unknown: its events will tell", None))
    if later:
        # The soonest that suits every reason: a pause or a throttle waits out the
        # queue's visibility timeout; the rest of a job out of time comes back at once.
        waits = [seconds for _, seconds in later if seconds is not None]
        raise RetryLater(later[0][0], max(waits) if len(waits) == len(later) else None)
    return dict(outcomes)


def _announcement(
    services: Services, event: Any, campaign: Any, registration: Any, now: Any
) -> tuple[bytes, str]:
    """The campaign's MIME message for one recipient, and their ASCII address: an
    announcement (with the one-click unsubscribe headers), a reminder, or the notice of
    a programme change (both about the reader's own sessions: no unsubscribe)."""
    from chalicelib.mail.announcement import announcement_mail, reminder_mail

    links = registration_links(
        services.keys.keys(), services.settings.public_base_url, event, registration
    )
    if campaign.purpose == "reminder":
        rendered = reminder_mail(event, campaign, registration, links)
        headers = {}
    elif campaign.purpose == "change":
        from chalicelib.mail.change import change_mail

        rendered = change_mail(event, campaign, registration, links)
        headers = {}
    else:
        rendered = announcement_mail(event, campaign, registration, links, links.unsubscribe)
        headers = {
            "List-Unsubscribe": f"<{links.unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": _list_id(event.id, event.sender.email),
            "Precedence": "bulk",
        }
    return _message(event, registration, rendered, now, headers)


def _message(
    event: Any,
    registration: Any,
    rendered: Rendered,
    now: Any,
    headers: dict[str, str] | None = None,
) -> tuple[bytes, str]:
    """A rendered email as MIME from the event's sender to the registrant, and the
    registrant's ASCII address."""
    recipient = parse_address(registration.email).ascii
    raw = mime.build(
        mime.Mail(
            sender_name=event.sender.name,
            sender_address=event.sender.email,
            recipient_name=registration.full_name,
            recipient_address=recipient,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            language=rendered.language or registration.language,
            sent_at=now,
            reply_to=event.reply_to,
            headers=headers or {},
            calendar=rendered.calendar,
            cancellation=rendered.cancellation,
        )
    )
    return raw, recipient
