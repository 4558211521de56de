"""SES delivery events, fed exactly as AWS documents them, through SNS -> SQS -> handler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import app
from chalicelib.domain.registrations import EmailStatus
from chalicelib.jobs import RegistrationMail
from chalicelib.usecases.registrations import register
from chalicelib.usecases.sending import send_registration_mail
from tests.builders import person

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ses"
SAMPLE_MESSAGE_ID = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"


def _sample(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _through_sns(event: dict) -> str:
    """The SQS body SNS delivers (raw message delivery off): a notification envelope."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "5a7f0f3e-0000-0000-0000-000000000000",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:majlis-ses-events",
            "Message": json.dumps(event),
            "Timestamp": "2017-08-05T00:41:02.669Z",
            "SignatureVersion": "1",
        }
    )


def _deliver(*bodies: str) -> dict:
    records = [
        {
            "messageId": f"m{i}",
            "receiptHandle": f"h{i}",
            "body": body,
            "attributes": {},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:majlis-ses-events",
            "awsRegion": "us-east-1",
        }
        for i, body in enumerate(bodies)
    ]
    return app.on_ses_event({"Records": records}, None)


@pytest.fixture
def sent(aws):
    """A registration whose confirmation went out as the samples' SES message id."""
    registration_id = register(aws, "conf", person(1), form=False).registration_id
    aws.send_log.claim(registration_id, 1, "registered", aws.clock())
    aws.send_log.sent(registration_id, 1, SAMPLE_MESSAGE_ID, aws.clock())
    return registration_id


def test_a_permanent_bounce_marks_the_address_and_stops_mail(aws, sent):
    assert _deliver(_through_sns(_sample("bounce"))) == {"batchItemFailures": []}
    assert aws.registrations.get(sent).email_status is EmailStatus.BOUNCED
    # A later email owed to this registrant is suppressed, not sent.
    now = aws.clock()
    from datetime import timedelta

    later = now + timedelta(minutes=11)
    aws.registrations.request_mail(sent, "resend", later, later - timedelta(minutes=10))
    assert (
        send_registration_mail(aws, RegistrationMail(registration_id=sent, seq=2)) == "suppressed"
    )


def test_a_complaint_marks_complained_and_a_later_bounce_does_not_undo_it(aws, sent):
    _deliver(_through_sns(_sample("complaint")))
    assert aws.registrations.get(sent).email_status is EmailStatus.COMPLAINED
    _deliver(_through_sns(_sample("bounce")))
    assert aws.registrations.get(sent).email_status is EmailStatus.COMPLAINED


def test_a_transient_bounce_is_counted_not_suppressed(aws, sent):
    transient = _sample("bounce")
    transient["bounce"]["bounceType"] = "Transient"
    transient["bounce"]["bounceSubType"] = "MailboxFull"
    _deliver(_through_sns(transient), _through_sns(transient))
    found = aws.registrations.get(sent)
    assert found.email_status is EmailStatus.OK
    assert found.soft_bounces == 2


def test_delivery_changes_nothing(aws, sent):
    before = aws.registrations.get(sent)
    assert _deliver(_through_sns(_sample("delivery"))) == {"batchItemFailures": []}
    assert aws.registrations.get(sent) == before


def test_our_message_tag_matches_without_a_lookup(aws):
    # Given an email whose send record is unknown, but tagged with its registration
    registration_id = register(aws, "conf", person(2), form=False).registration_id
    event = _sample("complaint")
    event["mail"]["messageId"] = "not-in-the-send-log"
    event["mail"]["tags"]["registration"] = [registration_id]
    _deliver(_through_sns(event))
    assert aws.registrations.get(registration_id).email_status is EmailStatus.COMPLAINED


def test_raw_delivery_and_unknown_messages_are_handled(aws, sent):
    unknown = _sample("bounce")
    unknown["mail"]["messageId"] = "someone-elses"
    # Raw message delivery (the event itself as body) works too; unknown messages are ignored
    assert _deliver(json.dumps(unknown)) == {"batchItemFailures": []}
    assert aws.registrations.get(sent).email_status is EmailStatus.OK


def test_a_poison_message_fails_alone(aws, sent):
    result = _deliver(
        "{not json",
        json.dumps({"Type": "Notification", "Message": "[]"}),
        _through_sns(_sample("bounce")),
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]}
    assert aws.registrations.get(sent).email_status is EmailStatus.BOUNCED


def test_the_bounce_reason_never_puts_an_address_in_the_logs(aws, sent, capsys):
    _deliver(_through_sns(_sample("bounce")))
    assert "recipient@example.com" not in capsys.readouterr().out
