"""Every message a queue carries is a typed job: it round-trips, and what is not one of
its queue's jobs is refused with a reason that names its kind and fields, never values."""

from __future__ import annotations

import json

import pytest

from chalicelib import jobs
from chalicelib.jobs import (
    QUEUES,
    CampaignFanOut,
    CampaignMail,
    Export,
    JobRefused,
    RegistrationMail,
    ZoomSync,
    ZoomWebhook,
    parse,
)

# One of each kind, on the queue that carries it.
EXAMPLES = [
    ("majlis-mail", RegistrationMail(registration_id="01j0", seq=3, correlation_id="s-1")),
    ("majlis-mail", CampaignMail(campaign_id="01c0", registration_ids=["01j0", "01j1"])),
    ("majlis-announcements", CampaignMail(campaign_id="01c1", registration_ids=["01j2"])),
    ("majlis-campaigns", CampaignFanOut(campaign_id="01c0", correlation_id="s-2")),
    ("majlis-exports", Export(export_id="01e0")),
    ("majlis-zoom", ZoomSync(registration_id="01j0")),
    ("majlis-zoom", ZoomSync(registration_id="01j0", reason="zoom webinar 1: rejected")),
    ("majlis-zoom", ZoomWebhook(body='{"event": "meeting.registration_created"}')),
]

# Each kind with something its queue cannot use, and the field at fault.
MALFORMED = [
    ("majlis-mail", {"type": "registration_mail", "registration_id": "01j0"}, "seq"),
    (
        "majlis-mail",
        {"type": "registration_mail", "registration_id": 7, "seq": 1},
        "registration_id",
    ),
    (
        "majlis-mail",
        {
            "type": "campaign_mail",
            "campaign_id": "c-7f3a",
            "registration_ids": "ayesha@example.org",
        },
        "registration_ids",
    ),
    ("majlis-mail", {"type": "export", "export_id": "01e0"}, "type"),
    # Confirmations never go the announcements' way
    (
        "majlis-announcements",
        {"type": "registration_mail", "registration_id": "01j0", "seq": 1},
        "type",
    ),
    ("majlis-campaigns", {"type": "campaign_fanout"}, "campaign_id"),
    ("majlis-exports", {"type": "export", "export_id": "01e0", "email": "a@b.org"}, "email"),
    ("majlis-zoom", {"type": "zoom_sync"}, "registration_id"),
    ("majlis-zoom", {"type": "zoom_webhook", "body": {"event": "x"}}, "body"),
    ("majlis-zoom", {"type": "mystery", "registration_id": "01j0"}, "type"),
]


@pytest.mark.parametrize(("queue", "job"), EXAMPLES, ids=lambda v: getattr(v, "type", v))
def test_every_job_round_trips_through_its_queue(queue, job):
    message = job.message()
    assert json.loads(message)["type"] == job.type
    assert parse(QUEUES[queue], message) == job


def test_every_kind_of_job_has_its_queue_and_an_example():
    carried = {
        model.model_fields["type"].default
        for model in (RegistrationMail, CampaignMail, CampaignFanOut, Export, ZoomSync, ZoomWebhook)
    }
    assert {job.type for _, job in EXAMPLES} == carried
    assert set(QUEUES) == {queue for queue, _ in EXAMPLES}


@pytest.mark.parametrize(("queue", "body", "field"), MALFORMED)
def test_a_malformed_job_is_refused_with_its_kind_and_field_but_no_value(queue, body, field):
    with pytest.raises(JobRefused) as refused:
        parse(QUEUES[queue], json.dumps(body))
    reason = refused.value.reason
    assert repr(body["type"]) in reason and field in reason, reason
    for value in body.values():
        if isinstance(value, str) and value != body["type"]:
            assert value not in reason, reason


def test_a_message_is_ascii_whatever_the_names_in_it() -> None:
    # SQS refuses U+FFFE and U+FFFF; a Zoom webhook's body may carry any name
    job = ZoomWebhook(body='{"first_name": "فاطمة \uffff 🌙"}')
    message = job.message()
    assert message.isascii()
    assert parse(QUEUES["majlis-zoom"], message) == job


@pytest.mark.parametrize("body", ["{not json", "[]", '"text"', "null", ""])
def test_what_is_not_a_json_object_is_refused(body):
    with pytest.raises(JobRefused, match="not"):
        parse(jobs.MailJob, body)
