"""A malformed job of each kind, put on its real queue (moto), is refused by its worker
each time it comes, with a reason in the log, until the queue's redrive policy gives it
to the dead-letter queue; the good jobs beside it go through once, and the operators'
``redrive --dry-run`` names what is there."""

from __future__ import annotations

import json
import logging
from collections import Counter

import boto3
import pytest

import app
from chalicelib import cli
from chalicelib.jobs import CampaignFanOut, CampaignMail, Export, RegistrationMail
from infra.local.lambdas import Lambdas
from tests.builders import person
from tests.conftest import with_zoom_queues
from tests.unit.test_jobs import MALFORMED

FUNCTIONS = {
    "majlis-mail": "mail_worker",
    "majlis-announcements": "announcement_worker",
    "majlis-campaigns": "campaign_fanout",
    "majlis-exports": "export_registrations",
    "majlis-zoom": "zoom_worker",
}


def _dead(queue: str) -> list[str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=f"{queue}-dlq")["QueueUrl"]
    found = []
    while more := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", []):
        found += [m["Body"] for m in more]
    return found


@pytest.fixture
def wired(aws):
    """Majlis on moto with every queue of the template (the zoom queue among them)."""
    return with_zoom_queues(aws)


@pytest.mark.parametrize("queue", sorted(FUNCTIONS))
def test_malformed_jobs_reach_their_dead_letters_with_a_reason(wired, clock, caplog, queue, capsys):
    from chalicelib.usecases.registrations import register

    aws = wired
    lam = Lambdas.of_table(app, aws.settings.table_name, FUNCTIONS[queue])
    source = lam.queues[FUNCTIONS[queue]]
    malformed = [json.dumps(body) for name, body, _ in MALFORMED if name == queue]
    for body in malformed:
        source.sqs.send_message(QueueUrl=source.url, MessageBody=body)
    # and one good job beside them
    if queue == "majlis-mail":
        done = register(aws, "conf", person(1, language="en"), form=False)
        good = RegistrationMail(registration_id=done.registration_id, seq=1)
    elif queue == "majlis-announcements":
        good = CampaignMail(campaign_id="01hzzzzzzzzzzzzzzzzzzzzzzz", registration_ids=["x"])
    elif queue == "majlis-campaigns":
        good = CampaignFanOut(campaign_id="01hzzzzzzzzzzzzzzzzzzzzzzz")  # none: stopped
    elif queue == "majlis-exports":
        good = Export(export_id="01hzzzzzzzzzzzzzzzzzzzzzzz")  # none: nothing to do
    else:
        good = None
    if good is not None:
        source.sqs.send_message(QueueUrl=source.url, MessageBody=good.message())
    caplog.set_level(logging.WARNING, logger="majlis")

    waits = lam.settle(clock, most=source.max_receives + 10)

    # Then the operators see what the dead letters hold, by kind, without the bodies
    # (a dry run leaves them in the queue)
    capsys.readouterr()
    assert cli.main(["redrive", f"{queue}-dlq", "--dry-run"]) == 0
    shown = capsys.readouterr().out
    assert f"found {len(malformed)} message(s)" in shown
    for body in (json.loads(m) for m in malformed):
        assert body["type"] in shown
        assert "ayesha@example.org" not in shown
    # And they are exactly the malformed jobs, each tried maxReceiveCount times
    assert sorted(_dead(queue)) == sorted(malformed)
    assert source.most_receives == source.max_receives
    assert waits >= source.max_receives - 1
    # And every refusal was logged with its reason, naming the kind and the field
    reasons = Counter(r.reason for r in caplog.records if r.getMessage() == "message refused")
    for name, body, field in MALFORMED:
        if name == queue:
            (reason,) = [r for r in reasons if repr(body["type"]) in r and field in r]
            assert reasons[reason] == source.max_receives
    # And the good job went through once
    if queue == "majlis-mail":
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        assert len(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages) == 1
