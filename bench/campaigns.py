"""campaign_fanout and campaign_sending: a campaign to everyone.

``campaign_fanout``: its fan-out, calls per recipient, peak memory and wall time, on
moto and (at a larger size) on the in-memory stores, counting the calls those stand for.
``campaign_sending``: AWS calls per recipient to send it, on moto (SES included).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from bench.common import _aws_in_process, _campaign, _registrations


def _fan_out_measured(majlis: Any, campaign_id: str) -> dict[str, Any]:
    import tracemalloc

    from chalicelib.usecases import campaigns

    tracemalloc.start()
    start = time.perf_counter()
    steps = 0
    while campaigns.fan_out(majlis, campaign_id, lambda: 0).outcome == "continue":
        steps += 1  # each step a fresh invocation would take, from the checkpoint
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": seconds, "peak_mib": peak / 2**20, "steps": steps + 1}


def campaign_fanout(in_moto: int = 10_000, in_memory: int = 100_000) -> dict[str, Any]:
    """Fan-out of a campaign to everyone: calls per recipient, peak memory, wall time.

    At ``in_moto`` the stores are DynamoDB and SQS on moto (the calls are real calls);
    moto's index queries cost it far more than DynamoDB (its Query re-reads the whole
    index each page), so ``in_memory`` runs the same fan-out on the in-memory stores and
    counts the calls those stores stand for.
    """
    from collections import Counter

    _aws_in_process()
    from moto import mock_aws

    from chalicelib import bootstrap, config
    from chalicelib.adapters.aws import client
    from chalicelib.adapters.dynamo.schema import registration_item
    from chalicelib.domain.events import Event
    from chalicelib.usecases.events import put_event
    from infra.local.provision import Provisioner
    from tests.builders import event_body, zoom_base_for
    from tests.fakes import fake_majlis

    rows: dict[str, Any] = {}
    with mock_aws():
        provisioner = Provisioner("us-east-1")
        outputs = provisioner.create_all()
        os.environ.update(
            MAJLIS_TABLE_NAME=outputs["TableName"],
            MAJLIS_MAIL_QUEUE_URL=outputs["MailQueueUrl"],
            MAJLIS_ANNOUNCEMENT_QUEUE_URL=outputs["AnnouncementQueueUrl"],
            MAJLIS_CAMPAIGN_QUEUE_URL=outputs["CampaignQueueUrl"],
        )
        config.settings.cache_clear()
        majlis = bootstrap.on_aws(config.settings())
        put_event(majlis, "fanout", event_body(zoom_base_for("fanout"), capacity=None))
        db = client("dynamodb")
        people = _registrations("fanout", in_moto)
        for i in range(0, len(people), 25):
            chunk = people[i : i + 25]
            db.batch_write_item(
                RequestItems={
                    outputs["TableName"]: [
                        {"PutRequest": {"Item": registration_item(r)}} for r in chunk
                    ]
                }
            )
        campaign = _campaign("fanout")
        majlis.campaigns.create(campaign)
        calls: Counter[str] = Counter()
        for service in ("dynamodb", "sqs"):
            client(service).meta.events.register(
                "before-call", lambda model, **_: calls.update([model.name])
            )
        row = _fan_out_measured(majlis, campaign.campaign_id)
        row.update(
            recipients=in_moto,
            where="moto",
            per_recipient={op: n / in_moto for op, n in sorted(calls.items())},
            calls_per_recipient=sum(calls.values()) / in_moto,
        )
        rows[str(in_moto)] = row

    majlis = fake_majlis()
    body = {**event_body(zoom_base_for("fanout"), capacity=None), "id": "fanout"}
    majlis.events.put(Event.model_validate(body), majlis.clock())
    for registration in _registrations("fanout", in_memory):
        majlis.registrations.registrations[registration.registration_id] = registration
    campaign = _campaign("fanout")
    majlis.campaigns.create(campaign)
    row = _fan_out_measured(majlis, campaign.campaign_id)
    stored = majlis.campaigns.get(campaign.campaign_id)
    # What DynamoDB and SQS would be asked: per page a GetItem (the campaign), a Query
    # (500 items fit in 1 MB), an UpdateItem (the checkpoint); per 10 messages of 50
    # recipients a SendMessageBatch.
    pages = len(majlis.campaigns.advances)
    batches = -(-len(majlis.announcement_queue.jobs) // 10)
    row.update(
        recipients=in_memory,
        where="in-memory stores",
        queued=stored.queued if stored else 0,
        per_recipient={
            "GetItem": pages / in_memory,
            "Query": pages / in_memory,
            "UpdateItem": pages / in_memory,
            "SendMessageBatch": batches / in_memory,
        },
        calls_per_recipient=(3 * pages + batches) / in_memory,
    )
    rows[str(in_memory)] = row
    return rows


def campaign_sending(recipients: int = 400) -> dict[str, Any]:
    """AWS calls per recipient to send a campaign, on moto (SES included)."""
    from collections import Counter

    _aws_in_process()
    from moto import mock_aws

    from chalicelib import bootstrap, config
    from chalicelib.adapters.aws import client
    from chalicelib.adapters.dynamo.schema import registration_item
    from chalicelib.jobs import CampaignMail
    from chalicelib.usecases import campaigns
    from chalicelib.usecases.events import put_event
    from chalicelib.usecases.sending import send_campaign_mail
    from infra.local.provision import Provisioner
    from tests.builders import event_body, zoom_base_for

    with mock_aws():
        provisioner = Provisioner("us-east-1")
        outputs = provisioner.create_all()
        os.environ.update(
            MAJLIS_TABLE_NAME=outputs["TableName"],
            MAJLIS_MAIL_QUEUE_URL=outputs["MailQueueUrl"],
            MAJLIS_ANNOUNCEMENT_QUEUE_URL=outputs["AnnouncementQueueUrl"],
            MAJLIS_SES_MAX_SEND_RATE="200",
            MAJLIS_SES_MAX_24_HOUR_SEND="1000000",
        )
        client("sesv2").create_email_identity(EmailIdentity="example.org")
        config.settings.cache_clear()
        majlis = bootstrap.on_aws(config.settings())
        put_event(majlis, "send", event_body(zoom_base_for("send"), capacity=None))
        people = _registrations("send", recipients)
        for r in people:
            client("dynamodb").put_item(TableName=outputs["TableName"], Item=registration_item(r))
        campaign = _campaign("send")
        majlis.campaigns.create(campaign)
        campaigns.fan_out(majlis, campaign.campaign_id, lambda: 900)
        jobs = []
        sqs = client("sqs")
        while True:
            got = sqs.receive_message(
                QueueUrl=outputs["AnnouncementQueueUrl"], MaxNumberOfMessages=10
            )
            if not got.get("Messages"):
                break
            for message in got["Messages"]:
                jobs.append(CampaignMail.model_validate(json.loads(message["Body"])))
                sqs.delete_message(
                    QueueUrl=outputs["AnnouncementQueueUrl"],
                    ReceiptHandle=message["ReceiptHandle"],
                )
        calls: Counter[str] = Counter()
        for service in ("dynamodb", "sesv2", "ses", "sqs"):
            client(service).meta.events.register(
                "before-call", lambda model, **_: calls.update([model.name])
            )
        start = time.perf_counter()
        sent = sum(send_campaign_mail(majlis, job).get("sent", 0) for job in jobs)
        seconds = time.perf_counter() - start
    return {
        "recipients": recipients,
        "sent": sent,
        "seconds": seconds,
        "per_recipient": {op: n / recipients for op, n in sorted(calls.items())},
        "calls_per_recipient": sum(calls.values()) / recipients,
    }
