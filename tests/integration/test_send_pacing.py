"""Several mail workers at once share the account's MaxSendRate through DynamoDB (moto).

The SES stand-in here behaves as SES's limiter does: a bucket of ``rate`` tokens refilled
at ``rate`` per second, and a throttling error when a send finds it empty. The workers
must together keep close to the rate without ever being throttled.
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor

from chalicelib.adapters.dynamo.pacer import DynamoSendPacer
from chalicelib.jobs import CampaignMail
from chalicelib.ports import Throttled
from chalicelib.usecases import campaigns
from chalicelib.usecases.events import put_event
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import RetryLater, send_campaign_mail
from tests.builders import event_body, person, zoom_base_for
from tests.fakes import RateLimitedSes

EVENT = "paced"


def _slots(aws) -> dict[str, int]:
    """The pacer's counters: turns handed out per epoch second."""
    import boto3

    found = boto3.client("dynamodb").query(
        TableName=aws.settings.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "SENDRATE"}},
        ConsistentRead=True,
    )["Items"]
    return {item["sk"]["S"]: int(item["used"]["N"]) for item in found}


def test_concurrent_workers_together_stay_at_max_send_rate_unthrottled(aws, monkeypatch):
    rate, workers, people = 14, 4, 84
    ses = RateLimitedSes(rate)
    aws.mailer = ses
    put_event(aws, EVENT, event_body(zoom_base_for(EVENT), capacity=None))
    for n in range(people):
        register(aws, EVENT, person(n, language="en"), form=False)
    monkeypatch.setattr(campaigns, "PER_MESSAGE", people // workers)
    content = {"ar": {"subject": "s", "text": "t"}}
    _, answer = campaigns.create(aws, EVENT, {"name": "paced", "content": content})
    assert campaigns.fan_out(aws, answer["campaign_id"], lambda: 900).outcome == "queued"
    jobs = [CampaignMail.model_validate(job) for job in _drain_announcements(aws)]
    assert len(jobs) == workers

    def until_done(job: CampaignMail) -> dict[str, int]:
        """What the queue does with a job: delivered again when it asks to come back
        (announcements find no turn while the next seconds are taken)."""
        while True:
            try:
                return send_campaign_mail(aws, job)
            except RetryLater as later:
                time.sleep(later.seconds or 1)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(until_done, jobs))
    elapsed = time.monotonic() - started

    assert ses.throttled == 0
    # Everyone once: a job that came back finds those it sent already sent (duplicates)
    assert len(ses.sent_at) == people
    assert all(outcome.get("failed", 0) == 0 for outcome in outcomes)
    # No second ever handed out more turns than the rate, to all workers together.
    slots = _slots(aws)
    assert slots and max(slots.values()) <= rate
    assert sum(slots.values()) >= people
    # Close to the rate: here every DynamoDB call is moto's, in this one process, and
    # costs the workers more than DynamoDB would (make bench measures the fraction).
    achieved = people / elapsed
    assert 0.6 * rate <= achieved <= rate, f"{achieved:.1f}/s of {rate}/s"


def test_unpaced_sending_would_be_throttled():
    """The stand-in is strict enough to catch a sender that ignores the rate."""
    ses = RateLimitedSes(14)
    for n in range(30):
        with contextlib.suppress(Throttled):
            ses.send(b"", "a@example.org", f"{n}@example.org", {})
    assert ses.throttled >= 15


def test_a_full_second_sends_the_next_worker_to_the_next_second(aws):
    pacer = DynamoSendPacer(aws.settings.table_name)
    now = 1_900_000_000.0  # the start of a second
    first = pacer.reserve(10, 10, now)
    assert first == [now + i / 10 for i in range(10)]
    second = pacer.reserve(4, 10, now + 0.5)
    assert second == [now + 1 + i / 10 for i in range(4)]
    # A second half gone: its first reserver starts at the slot due LATE_OK (0.1 s) ago.
    later = pacer.reserve(3, 10, now + 5.55)
    assert later == [now + 5.5, now + 5.6, now + 5.7]


def test_announcements_take_turns_due_within_a_second_transactional_mail_beyond(aws):
    pacer = DynamoSendPacer(aws.settings.table_name)
    now = 1_900_000_000.0
    # Announcements take the turns due in the next second (at 10/s: this second's ten
    # and the next one's first), then find nothing for now
    assert pacer.reserve(10, 10, now, bulk=True) == [now + i / 10 for i in range(10)]
    assert pacer.reserve(5, 10, now, bulk=True) == [now + 1]
    assert pacer.reserve(5, 10, now, bulk=True) == []
    # A confirmation goes at the next turn after those, not behind the campaign
    assert pacer.reserve(1, 10, now + 0.05) == [now + 1.1]
    # A burst of confirmations reserves ahead; announcements find those turns taken
    # and wait until the burst has gone
    burst = pacer.reserve(8, 10, now + 0.05)
    assert burst == [now + 1 + i / 10 for i in range(2, 10)]
    assert pacer.reserve(5, 10, now + 0.5, bulk=True) == []
    assert pacer.reserve(5, 10, now + 1.15, bulk=True) == [now + 2, now + 2.1]


def _drain_announcements(aws) -> list[dict]:
    import json

    import boto3

    sqs = boto3.client("sqs")
    found = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=aws.settings.announcement_queue_url, MaxNumberOfMessages=10
        ).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            job = json.loads(message["Body"])
            if job.get("type") == "campaign_mail":
                found.append(job)
            sqs.delete_message(
                QueueUrl=aws.settings.announcement_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )


def test_a_reservation_is_one_write_sending_slower_or_faster_than_the_rate(aws):
    from chalicelib.adapters.aws import client

    writes: list[str] = []
    db = client("dynamodb")
    count = lambda **_: writes.append("UpdateItem")  # noqa: E731
    db.meta.events.register("before-call.dynamodb.UpdateItem", count)
    pacer = DynamoSendPacer(aws.settings.table_name)
    now = 1_900_000_100.0

    def reserve(wanted: int, at: float) -> tuple[list[float], int]:
        writes.clear()
        return pacer.reserve(wanted, 10, now + at), len(writes)

    try:
        # Slower than the rate: the counter stays behind the slot due now.
        assert reserve(1, 0.5) == ([now + 0.4], 1)  # a new second
        assert reserve(1, 0.9) == ([now + 0.8], 2)  # behind: learnt once
        assert reserve(1, 1.5) == ([now + 1.4], 1)
        assert reserve(1, 1.9) == ([now + 1.8], 1)  # behind: one write now
        # Faster than the rate: the counter runs ahead of the slot due now.
        assert reserve(2, 1.9) == ([now + 1.9], 2)  # ahead: learnt once; one slot left
        assert reserve(2, 1.9) == ([now + 2.0, now + 2.1], 2)  # second 1 full: learnt
        assert reserve(2, 1.9) == ([now + 2.2, now + 2.3], 1)
        assert reserve(2, 1.95) == ([now + 2.4, now + 2.5], 1)
    finally:
        db.meta.events.unregister("before-call.dynamodb.UpdateItem", count)
    assert _slots(aws)[str(int(now) + 2)] == 6
