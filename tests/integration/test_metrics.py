"""Operational metrics: the EMF documents the real handlers write, on moto.

Each handler runs as Lambda runs it (the Chalice entry point, so its middleware flushes
the metrics at the end of the invocation); Powertools prints the documents to stdout,
where CloudWatch Logs would read them. Given a flow, when its handlers run, then the
documents carry the right metric names, values and dimensions, and nothing personal.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3
import pytest

import app
from chalicelib import bootstrap, metrics
from chalicelib.adapters.zoom_api import ZoomApi
from chalicelib.ports import ZoomCredentials
from chalicelib.usecases import campaigns
from chalicelib.usecases.events import put_event
from chalicelib.usecases.registrations import erase, register
from infra.local.lambdas import FakeLambdaContext, TableStream, sqs_record
from infra.local.zoom import ZoomStandIn
from tests.builders import event_body, person, zoom_base_for
from tests.conftest import with_zoom_queues

SES_SAMPLES = Path(__file__).parent.parent / "fixtures" / "ses"
DIMENSIONS = {"service", "queue", "kind"}  # the only dimensions a document may carry


def _forget_what_was_counted(capsys) -> None:
    """Write what was counted so far (by earlier tests, or a test's own setting up
    outside any handler) and drop it."""
    metrics.flush()
    capsys.readouterr()


@pytest.fixture(autouse=True)
def nothing_counted_before(capsys):
    _forget_what_was_counted(capsys)


def _documents(printed: str) -> list[dict[str, Any]]:
    """The EMF documents among printed lines, each checked against the format."""
    found = []
    for line in printed.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Majlis"
        for dimension_set in directive["Dimensions"]:
            assert "service" in dimension_set
            assert set(dimension_set) <= DIMENSIONS, dimension_set
            for name in dimension_set:
                assert isinstance(document[name], str) and "@" not in document[name]
        assert document["service"] == "majlis"
        for metric in directive["Metrics"]:
            assert metric["Unit"] in ("Count", "Seconds")
            assert metric["Name"] in document
        found.append(document)
    return found


def _emf_text(printed: str) -> str:
    return "\n".join(line for line in printed.splitlines() if '"_aws"' in line)


def _totals(documents: list[dict[str, Any]]) -> dict[tuple[str, str | None], float]:
    """Each metric's sum over the documents, by (name, its own dimension's value)."""
    totals: dict[tuple[str, str | None], float] = defaultdict(float)
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        own = document.get("queue") or document.get("kind")
        for metric in directive["Metrics"]:
            values = document[metric["Name"]]
            totals[(metric["Name"], own)] += sum(values if isinstance(values, list) else [values])
    return dict(totals)


def _values(documents: list[dict[str, Any]], name: str, own: str) -> list[float]:
    found: list[float] = []
    for document in documents:
        if name in document and own in (document.get("queue"), document.get("kind")):
            values = document[name]
            found += values if isinstance(values, list) else [values]
    return found


def _counters(documents: list[dict[str, Any]]) -> dict[str, float]:
    """The counters without a dimension of their own (QueueLag left out)."""
    return {name: value for (name, own), value in _totals(documents).items() if own is None}


def _queued(queue_name: str, *jobs: dict[str, Any]) -> list[dict[str, Any]]:
    """Put jobs on a real queue and take them off as Lambda's poller gives them."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    for job in jobs:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(job))
    messages: list[dict[str, Any]] = []
    for _ in range(10):
        messages += sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if len(messages) == len(jobs):
            break
    assert len(messages) == len(jobs)
    return [sqs_record(message, arn) for message in messages]


def _context(name: str) -> FakeLambdaContext:
    return FakeLambdaContext(function_name=name, deadline=time.monotonic() + 30)


# -- registrations and the waiting list -------------------------------------------------


def test_a_new_registration_is_counted_once_and_a_repeat_not_at_all(api, capsys):
    body = person(31, email="Mariam.Private@Example.org", first_name="Mariamsecret")
    response = api.http.post(
        "/events/conf/registrations",
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201
    printed = capsys.readouterr().out
    assert _counters(_documents(printed)) == {"Registrations": 1}
    assert "mariam" not in _emf_text(printed).lower()
    # The same address again: an email resent, no new registration.
    again = api.http.post(
        "/events/conf/registrations",
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    assert again.status_code == 200
    assert _documents(capsys.readouterr().out) == []


def _stream_position(table: str) -> TableStream:
    return TableStream.of_table(table)


def _stream_records_since(position: TableStream) -> list[dict[str, Any]]:
    return position.everything()


def _with_zoom_queues(aws: Any) -> Any:
    """The aws fixture's Majlis, with the real zoom queue and its dead letters."""
    return with_zoom_queues(aws)


def test_the_waiting_list_counts_who_waits_and_who_is_promoted(api, aws, capsys):
    aws = _with_zoom_queues(aws)  # the stream handler queues Zoom work too
    # Given an event with one seat, taken, and one person waiting
    put_event(aws, "one-seat", event_body(zoom_base_for("one-seat"), capacity=1))
    seated, waiting = (
        api.http.post(
            "/events/one-seat/registrations",
            body=json.dumps(person(n)),
            headers={"Content-Type": "application/json"},
        )
        for n in (41, 42)
    )
    assert seated.status_code == waiting.status_code == 201
    assert json.loads(waiting.body)["status"] == "waitlisted"
    assert _counters(_documents(capsys.readouterr().out)) == {"Registrations": 2, "Waitlisted": 1}
    # When the seated person is erased and the stream handler sees the freed seat
    position = _stream_position(aws.settings.table_name)
    erase(aws, "one-seat", json.loads(seated.body)["registration_id"], "tok-metrics")
    _forget_what_was_counted(capsys)
    records = _stream_records_since(position)
    assert records
    app.on_table_change({"Records": records}, _context("on_table_change"))
    # Then one promotion is counted
    assert _counters(_documents(capsys.readouterr().out)) == {"Promoted": 1}


# -- email -------------------------------------------------------------------------------


def test_the_mail_worker_counts_sent_and_failed_emails_and_each_fresh_message_lag(aws, capsys):
    sent = register(aws, "conf", person(51), form=False).registration_id
    put_event(
        aws,
        "unverified",
        event_body(
            zoom_base_for("unverified"), sender={"email": "events@unverified.example", "name": "X"}
        ),
    )
    refused = register(aws, "unverified", person(52), form=False).registration_id
    _forget_what_was_counted(capsys)
    fresh, late = _queued(
        "majlis-mail",
        {"type": "registration_mail", "registration_id": sent, "seq": 1},
        {"type": "registration_mail", "registration_id": refused, "seq": 1},
    )
    # One message sent 42 seconds ago; one delivered before (its wait is a retry's).
    fresh["attributes"]["SentTimestamp"] = str(int((time.time() - 42) * 1000))
    late["attributes"]["ApproximateReceiveCount"] = "2"
    answer = app.mail_worker({"Records": [fresh, late]}, _context("mail_worker"))
    assert answer == {"batchItemFailures": []}
    documents = _documents(capsys.readouterr().out)
    assert _counters(documents) == {"EmailsSent": 1, "EmailsFailed": 1}
    (lag,) = _values(documents, "QueueLag", "majlis-mail")
    assert 42 <= lag < 52


def test_an_announcement_counts_every_email_its_parallel_sends_made(aws, capsys):
    people = [register(aws, "conf", person(60 + n), form=False) for n in range(6)]
    status, answer = campaigns.create(
        aws, "conf", {"name": "Day 2", "content": {"ar": {"subject": "s", "text": "t"}}}
    )
    assert status == 202
    _forget_what_was_counted(capsys)
    (fan_out,) = _queued("majlis-campaigns", {"campaign_id": answer["campaign_id"]})
    app.campaign_fanout({"Records": [fan_out]}, _context("campaign_fanout"))
    documents = _documents(capsys.readouterr().out)
    assert _counters(documents) == {}
    (lag,) = _values(documents, "QueueLag", "majlis-campaigns")
    assert 0 <= lag < 10
    # The fan-out put the recipients on the announcements' queue, 50 to a message: one.
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName="majlis-announcements")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    (message,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    app.announcement_worker(
        {"Records": [sqs_record(message, arn)]}, _context("announcement_worker")
    )
    assert _counters(_documents(capsys.readouterr().out)) == {"EmailsSent": len(people)}


def _ses_event(name: str, message_id: str) -> dict[str, Any]:
    """One of AWS's sample SES events, about the email with ``message_id``."""
    event = json.loads((SES_SAMPLES / f"{name}.json").read_text())
    event["mail"]["messageId"] = message_id
    return event


def test_bounces_and_complaints_are_counted_as_ses_reports_them(aws, capsys):
    registration_id = register(aws, "conf", person(71), form=False).registration_id
    aws.send_log.claim(registration_id, 1, "registered", aws.clock())
    aws.send_log.sent(registration_id, 1, "msg-71", aws.clock())
    _forget_what_was_counted(capsys)
    records = _queued(
        "majlis-ses-events",
        _ses_event("bounce", "msg-71"),
        _ses_event("complaint", "msg-71"),
        _ses_event("delivery", "msg-71"),
        _ses_event("bounce", "someone-elses"),  # not ours to match, yet SES counts it
    )
    answer = app.on_ses_event({"Records": records}, _context("on_ses_event"))
    assert answer == {"batchItemFailures": []}
    printed = capsys.readouterr().out
    assert _counters(_documents(printed)) == {"EmailsBounced": 2, "EmailsComplained": 1}
    # The samples' recipient address is in the events; never in a metric.
    assert "example.com" not in _emf_text(printed)


# -- Zoom ----------------------------------------------------------------------------------


@pytest.fixture
def zoom_worker(aws: Any) -> Any:
    """Majlis on moto with the real zoom queues and the real Zoom client, on the stand-in."""
    with ZoomStandIn() as standin:
        credentials = ZoomCredentials(standin.account_id, standin.client_id, standin.client_secret)
        wired = dataclasses.replace(
            _with_zoom_queues(aws),
            zoom=ZoomApi(lambda: credentials, standin.api_url, standin.oauth_url),
        )
        bootstrap.use(wired)
        yield wired, standin


def test_zoom_errors_are_counted_by_kind(zoom_worker, capsys):
    wired, standin = zoom_worker
    education = event_body()["sessions"][0]["zoom"]["id"]
    people = [
        register(wired, "conf", person(80 + n, sessions=["education"]), form=False)
        for n in range(3)
    ]
    _forget_what_was_counted(capsys)

    def sync(registered: Any) -> dict[str, Any]:
        job = {"type": "zoom_sync", "registration_id": registered.registration_id}
        return app.zoom_worker({"Records": _queued("majlis-zoom", job)}, _context("zoom_worker"))

    standin.faults.set(extra_429_rate=1.0)  # Zoom's per-second limit
    assert sync(people[0])["batchItemFailures"]
    standin.faults.set(extra_429_rate=0.0, error_rate=1.0)  # Zoom is down
    assert sync(people[1])["batchItemFailures"]
    standin.faults.reset()
    standin.delete_session("webinar", education)  # Zoom refuses: no such webinar
    assert sync(people[2]) == {"batchItemFailures": []}  # to the dead letters
    documents = _documents(capsys.readouterr().out)
    errors = {own: n for (name, own), n in _totals(documents).items() if name == "ZoomErrors"}
    assert errors == {"rate_limited": 1, "unavailable": 1, "rejected": 1}
    assert len(_values(documents, "QueueLag", "majlis-zoom")) == 3


# -- the format itself ---------------------------------------------------------------------


def _scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "reminders-tick",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2027-03-01T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


def test_an_invocation_that_counts_nothing_writes_nothing_and_warns_nothing(api, capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert api.http.get("/events/conf").status_code == 200
        app.send_reminders(_scheduled_event(), _context("send_reminders"))
    assert _documents(capsys.readouterr().out) == []
    assert not [w for w in caught if "metrics" in str(w.message).lower()]


def test_a_dimension_is_a_plain_word_or_other(capsys):
    metrics.count("ZoomErrors", kind="Amina.Rahman@example.org")
    metrics.count("ZoomErrors", kind="rate_limited")
    metrics.flush()
    documents = _documents(capsys.readouterr().out)
    assert _totals(documents) == {("ZoomErrors", "other"): 1, ("ZoomErrors", "rate_limited"): 1}


def test_a_dimension_with_hundreds_of_values_is_written_whole_and_quietly(capsys):
    # Powertools writes a document by itself at 100 values: at 200, nothing is left over.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(200):
            metrics.count("ZoomErrors", kind="rate_limited")
        metrics.flush()
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert sum(len(d["ZoomErrors"]) for d in documents) == 200
    assert {d["kind"] for d in documents} == {"rate_limited"}
