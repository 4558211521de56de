"""The mail worker as Lambda calls it: an SQS batch in, partial batch failures out."""

from __future__ import annotations

import json

import pytest

import app
from chalicelib.adapters import ses
from chalicelib.usecases.registrations import register
from tests.builders import person


def _sqs_event(*bodies: str) -> dict:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"h{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:majlis-mail",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def _job(registration_id: str, seq: int = 1) -> str:
    return json.dumps({"type": "registration_mail", "registration_id": registration_id, "seq": seq})


def _sent_count() -> int:
    """Messages moto's SES accepted (its v2 API keeps no sending statistics)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return len(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def test_a_poison_message_fails_alone_and_the_rest_is_sent(aws):
    registered = register(aws, "conf", person(1), form=False)
    result = app.mail_worker(
        _sqs_event("not json", _job(registered.registration_id), json.dumps({"type": "nope"})),
        None,
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m2"}]}
    assert _sent_count() == 1


def test_the_same_job_twice_in_one_batch_sends_once(aws):
    registered = register(aws, "conf", person(2), form=False)
    job = _job(registered.registration_id)
    assert app.mail_worker(_sqs_event(job, job), None) == {"batchItemFailures": []}
    assert _sent_count() == 1


def test_ses_throttling_is_retried_not_dropped(aws, monkeypatch: pytest.MonkeyPatch):
    registered = register(aws, "conf", person(3), form=False)
    original = ses.SesMailer.send
    monkeypatch.setattr(
        ses.SesMailer,
        "send",
        lambda self, *a, **k: (_ for _ in ()).throw(ses.Throttled("TooManyRequestsException")),
    )
    job = _job(registered.registration_id)
    assert app.mail_worker(_sqs_event(job), None) == {
        "batchItemFailures": [{"itemIdentifier": "m0"}]
    }
    assert _sent_count() == 0
    # The queue delivers it again later, when SES accepts it: sent exactly once.
    monkeypatch.setattr(ses.SesMailer, "send", original)
    assert app.mail_worker(_sqs_event(job), None) == {"batchItemFailures": []}
    assert app.mail_worker(_sqs_event(job), None) == {"batchItemFailures": []}
    assert _sent_count() == 1


def test_a_permanent_rejection_is_recorded_and_not_retried(aws):
    from chalicelib.adapters.aws import client
    from chalicelib.adapters.dynamo.schema import from_attributes, send_key, to_attributes
    from chalicelib.usecases.events import put_event
    from tests.builders import event_body

    # Given an event whose sender SES has never verified
    put_event(aws, "conf", event_body(sender={"email": "events@unverified.example", "name": "X"}))
    registered = register(aws, "conf", person(4), form=False)
    # When its confirmation job runs
    result = app.mail_worker(_sqs_event(_job(registered.registration_id)), None)
    # Then the job is done (not retried), nothing was sent, and the reason is kept
    assert result == {"batchItemFailures": []}
    assert _sent_count() == 0
    record = from_attributes(
        client("dynamodb").get_item(
            TableName=aws.settings.table_name,
            Key=to_attributes(send_key(registered.registration_id, 1)),
        )["Item"]
    )
    assert record["state"] == "failed"
    assert record["reason"].startswith("MessageRejected")
    # And a second delivery of the same job does not try again
    assert app.mail_worker(_sqs_event(_job(registered.registration_id)), None) == {
        "batchItemFailures": []
    }
    assert _sent_count() == 0


def test_a_campaign_job_out_of_time_comes_back_at_once_not_after_the_visibility_timeout(aws):
    """The mail worker's invocation ends before its job does: the rest of the job is
    visible again on the real queue within seconds (its visibility timeout is 180 s),
    and the next delivery sends it, once each."""
    import time

    import boto3

    from chalicelib.entrypoints.workers import mail_batch
    from chalicelib.usecases import campaigns
    from infra.local.lambdas import sqs_record
    from tests.unit.test_campaigns import CONTENT

    for n in range(3):
        register(aws, "conf", person(10 + n, language="en"), form=False)
    _, answer = campaigns.create(aws, "conf", {"name": "Day 2", "content": CONTENT})
    campaigns.fan_out(aws, answer["campaign_id"], lambda: 900)
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = aws.settings.announcement_queue_url  # an announcement's emails
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]

    def receive(wait: int) -> list[dict]:
        return sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, AttributeNames=["All"]
        ).get("Messages", [])

    first = receive(0)
    assert [json.loads(m["Body"])["type"] for m in first] == ["campaign_mail"]
    announcements = "majlis-announcements"
    out_of_time = mail_batch(aws, [sqs_record(m, arn) for m in first], lambda: 0.0, announcements)
    assert out_of_time == {"batchItemFailures": [{"itemIdentifier": first[0]["MessageId"]}]}
    assert _sent_count() == 0
    asked = time.monotonic()
    again = receive(5)
    assert time.monotonic() - asked < 5
    assert [m["MessageId"] for m in again] == [first[0]["MessageId"]]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert mail_batch(aws, [sqs_record(m, arn) for m in again], lambda: 900.0, announcements) == {
        "batchItemFailures": []
    }
    assert _sent_count() == 3
